/*
 * The actions of the action table as commands: start, stop, restart,
 * terminate, and `action ID ACTION [ARGS...]`, which runs any of them.
 */
#include "cli.h"

#include <getopt.h>
#include <string.h>

static int run_named(cli *c, int argc, char **argv);
static int run_action(cli *c, int argc, char **argv);

/* An action's command: its usage names the options it accepts. */
#define ACTION_CMD(var, word, args, text)                                                          \
    const cmd_entry var = {                                                                        \
        .name = word,                                                                              \
        .usage = "ID|NAME " args,                                                                  \
        .summary = text,                                                                           \
        .flags = NEEDS_STORE | NEEDS_ENGINE | WRITES,                                              \
        .run = run_named,                                                                          \
    }

/* clang-format off */
ACTION_CMD(cmd_start, "start", "[--reason TEXT]",
           "start an instance (recreating a vanished container)");
ACTION_CMD(cmd_stop, "stop", "[--reason TEXT]", "stop an instance");
ACTION_CMD(cmd_restart, "restart", "[--reason TEXT]", "restart an instance");
ACTION_CMD(cmd_terminate, "terminate", "[--reason TEXT] [--no-final-backup]",
           "terminate an instance for good (final backup first); the row stays for audit");
ACTION_CMD(cmd_suspend, "suspend", "[--reason TEXT]",
           "suspend an instance (operator hold) and stop its container");
ACTION_CMD(cmd_unsuspend, "unsuspend", "[--reason TEXT]",
           "clear the operator hold; resumes when no hold is left");
ACTION_CMD(cmd_backup, "backup", "[--reason TEXT]",
           "back up the data volume and the database; the status stays");
ACTION_CMD(cmd_restore, "restore", "[--backup BACKUP_ID] [--reason TEXT]",
           "restore a backup (default the newest) into a new volume; ends stopped");
ACTION_CMD(cmd_update, "update", "--odoo-version V [--image IMG] [--major] [--reason TEXT]",
           "move to a new image: backup first, rollback on failure");
/* clang-format on */

const cmd_entry cmd_action = {
    .name = "action",
    .usage = "ID|NAME ACTION [--reason TEXT] [--backup BACKUP_ID] [--odoo-version V]\n"
             "              [--image IMG] [--major] [--no-final-backup]",
    .summary = "run the named action with the same arguments",
    .flags = NEEDS_STORE | NEEDS_ENGINE | WRITES,
    .run = run_action,
};

void report_action(cli *c, const lc_instance *in, const lc_action_result *res)
{
    progress_end();
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

/* Every option an action takes; a command accepts those its usage names. */
static const struct option action_opts[] = {{"reason", required_argument, NULL, 'r'},
                                            {"backup", required_argument, NULL, 'b'},
                                            {"odoo-version", required_argument, NULL, 'v'},
                                            {"image", required_argument, NULL, 'i'},
                                            {"major", no_argument, NULL, 'M'},
                                            {"no-final-backup", no_argument, NULL, 'F'},
                                            {0}};

static bool takes(const cmd_entry *cmd, int ch)
{
    for (const struct option *o = action_opts; o->name != NULL; o++) {
        char flag[40];
        snprintf(flag, sizeof flag, "--%s", o->name);
        if (o->val == ch)
            return strstr(cmd->usage, flag) != NULL;
    }
    return false;
}

static int parse_action_opts(const cmd_entry *cmd, int argc, char **argv, lc_action_options *opt)
{
    int ch;
    optind = 0;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":", action_opts, NULL)) != -1) {
        if (ch == ':')
            return usage_error(cmd, "option \"%s\" needs a value", argv[optind - 1]);
        if (ch == '?' || !takes(cmd, ch))
            return usage_error(cmd, "%s does not take option \"%s\"", cmd->name, argv[optind - 1]);
        switch (ch) {
        case 'r':
            opt->reason = optarg;
            break;
        case 'b':
            opt->backup_id = optarg;
            break;
        case 'v':
            opt->odoo_version = optarg;
            break;
        case 'i':
            opt->image = optarg;
            break;
        case 'M':
            opt->major = true;
            break;
        default:
            opt->no_final_backup = true;
            break;
        }
    }
    if (optind >= argc)
        return usage_error(cmd, "missing instance");
    if (optind + 1 < argc)
        return usage_error(cmd, "unexpected argument \"%s\"", argv[optind + 1]);
    return 0;
}

/* Parses "ID|NAME [OPTIONS]" for cmd and runs action a. */
static int run_with(cli *c, const cmd_entry *cmd, const lc_action *a, int argc, char **argv)
{
    lc_action_options opt = {0};
    if (parse_action_opts(cmd, argc, argv, &opt))
        return 2;
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
    const cmd_entry *cmd = cmd_find(a->name);
    bool own = cmd != NULL && strncmp(cmd->usage, "ID|NAME [", 9) == 0;
    return run_with(c, own ? cmd : &cmd_action, a, argc - 1, argv + 1);
}
