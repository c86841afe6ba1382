/*
 * The actions of the action table as commands: start, stop, restart,
 * terminate, and `action ID ACTION [ARGS...]`, which runs any of them.
 */
#include "cli.h"

#include <getopt.h>
#include <string.h>

static int run_named(cli *c, int argc, char **argv);
static int run_action(cli *c, int argc, char **argv);

#define ACTION_CMD(var, word, text)                                                                \
    const cmd_entry var = {                                                                        \
        .name = word,                                                                              \
        .usage = "ID|NAME [--reason TEXT]",                                                        \
        .summary = text,                                                                           \
        .flags = NEEDS_STORE | NEEDS_ENGINE | WRITES,                                              \
        .run = run_named,                                                                          \
    }

ACTION_CMD(cmd_start, "start", "start an instance (recreating a vanished container)");
ACTION_CMD(cmd_stop, "stop", "stop an instance");
ACTION_CMD(cmd_restart, "restart", "restart an instance");
ACTION_CMD(cmd_terminate, "terminate", "terminate an instance for good; the row stays for audit");
ACTION_CMD(cmd_suspend, "suspend", "suspend an instance (operator hold) and stop its container");
ACTION_CMD(cmd_unsuspend, "unsuspend", "clear the operator hold; resumes when no hold is left");

const cmd_entry cmd_action = {
    .name = "action",
    .usage = "ID|NAME ACTION [--reason TEXT]",
    .summary = "run the named action with the same arguments",
    .flags = NEEDS_STORE | NEEDS_ENGINE | WRITES,
    .run = run_action,
};

void report_action(cli *c, const lc_instance *in, const lc_action_result *res)
{
    if (c->json) {
        cJSON *j = instance_json(in);
        cJSON_AddBoolToObject(j, "already", res->already);
        if (res->note[0])
            cJSON_AddStringToObject(j, "note", res->note);
        print_json(j);
    } else if (c->quiet) {
        return;
    } else if (res->already) {
        printf("%s: %s\n", in->name, res->note);
    } else {
        char badge[64];
        printf("%s: %s%s%s\n", in->name, status_badge(c, in->status, badge, sizeof badge),
               res->note[0] ? " — " : "", res->note);
    }
}

/* Parses "ID|NAME [--reason TEXT]" for cmd and runs action a. */
static int run_with(cli *c, const cmd_entry *cmd, const lc_action *a, int argc, char **argv)
{
    static const struct option opts[] = {{"reason", required_argument, NULL, 'r'}, {0}};
    lc_action_options opt = {0};
    int ch;
    optind = 0;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (ch != 'r')
            return usage_error(cmd, "bad option");
        opt.reason = optarg;
    }
    if (optind >= argc)
        return usage_error(cmd, "missing instance");
    if (optind + 1 < argc)
        return usage_error(cmd, "unexpected argument \"%s\"", argv[optind + 1]);
    lc_instance in;
    lc_action_result res;
    lc_err e = ops_run_action(&c->ops, argv[optind], a, &opt, &in, &res, &c->diag);
    if (e == LC_OK)
        report_action(c, &in, &res);
    else if (e == LC_EFAILED && res.note[0] && !c->quiet)
        fprintf(stderr, "instctl: %s: %s\n", in.name, res.note);
    return e == LC_OK ? 0 : fail(c, e);
}

static int run_named(cli *c, int argc, char **argv)
{
    const cmd_entry *cmd = cmd_find(argv[0]);
    return run_with(c, cmd, lc_action_find(argv[0]), argc, argv);
}

static int run_action(cli *c, int argc, char **argv)
{
    if (argc < 3)
        return usage_error(&cmd_action, "missing %s", argc < 2 ? "instance" : "action");
    const lc_action *a = lc_action_find(argv[2]);
    if (a == NULL)
        return usage_error(&cmd_action, "unknown action \"%s\"", argv[2]);
    /* drop ACTION so the rest parses as "<action> ID [ARGS...]" */
    char *ref = argv[1];
    argv[1] = argv[0];
    argv[2] = ref;
    return run_with(c, cmd_find(a->name), a, argc - 1, argv + 1);
}
