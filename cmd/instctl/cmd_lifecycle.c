/*
 * The actions of the action table (lib/action.c) as commands: one command
 * per row, its usage, summary and options generated from the row, options
 * parsed with argp, and `action ID ACTION [ARGS...]`, which runs any of
 * them. `maintenance ID on|off` is the same two rows under one word.
 */
#include "cli.h"

#include <argp.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "action.h"

static int run_named(cli *c, int argc, char **argv);
static int run_action(cli *c, int argc, char **argv);
static int run_maintenance(cli *c, int argc, char **argv);

#define ACTION_CMD(var, id)                                                                        \
    cmd_entry var = {.action = id, .flags = NEEDS_STORE | NEEDS_ENGINE | WRITES, .run = run_named}

ACTION_CMD(cmd_start, ACT_START);
ACTION_CMD(cmd_stop, ACT_STOP);
ACTION_CMD(cmd_restart, ACT_RESTART);
ACTION_CMD(cmd_suspend, ACT_SUSPEND);
ACTION_CMD(cmd_unsuspend, ACT_UNSUSPEND);
ACTION_CMD(cmd_backup, ACT_BACKUP);
ACTION_CMD(cmd_restore, ACT_RESTORE);
ACTION_CMD(cmd_update, ACT_UPDATE);
ACTION_CMD(cmd_end_maintenance, ACT_END_MAINTENANCE);
ACTION_CMD(cmd_terminate, ACT_TERMINATE);
ACTION_CMD(cmd_rotate_credentials, ACT_ROTATE_CREDENTIALS);
ACTION_CMD(cmd_move, ACT_MOVE);
ACTION_CMD(cmd_clone, ACT_CLONE);

cmd_entry cmd_maintenance = {
    .name = "maintenance",
    .usage = "ID|NAME on|off [--reason TEXT]",
    .summary = "start or end maintenance (reconcile leaves the instance alone meanwhile)",
    .action = ACT_MAINTENANCE,
    .flags = NEEDS_STORE | NEEDS_ENGINE | WRITES,
    .run = run_maintenance,
};

cmd_entry cmd_action = {
    .name = "action",
    .usage = "ID|NAME ACTION [OPTIONS of that action]",
    .summary = "run the named action with the same arguments",
    .flags = NEEDS_STORE | NEEDS_ENGINE | WRITES,
    .run = run_action,
};

static cmd_entry *const action_cmds[] = {
    &cmd_start,
    &cmd_stop,
    &cmd_restart,
    &cmd_suspend,
    &cmd_unsuspend,
    &cmd_backup,
    &cmd_restore,
    &cmd_update,
    &cmd_end_maintenance,
    &cmd_terminate,
    &cmd_rotate_credentials,
    &cmd_move,
    &cmd_clone,
};

void cmd_actions_init(void)
{
    static char usage[sizeof action_cmds / sizeof action_cmds[0]][256];
    for (size_t i = 0; i < sizeof action_cmds / sizeof action_cmds[0]; i++) {
        const lc_action *a = lc_action_get(action_cmds[i]->action);
        char opts[200];
        lc_action_usage(a, opts, sizeof opts);
        snprintf(usage[i], sizeof usage[i], "ID|NAME %s%s", a->id == ACT_CLONE ? "NEW " : "", opts);
        action_cmds[i]->name = lc_action_name(a);
        action_cmds[i]->summary = a->summary;
        action_cmds[i]->usage = usage[i];
    }
}

void report_action(cli *c, const lc_instance *in, const lc_action_result *res)
{
    progress_end();
    if (c->json) {
        cJSON *j = instance_json(&c->cfg, in);
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

/* What argp fills: the options, and the operands (the instance, then on|off for maintenance). */
typedef struct parsed {
    lc_action_options opt;
    const char *operand[2];
    int n_operands, max_operands;
    const char *second; /* what the second operand is, for "missing ..." */
} parsed;

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
    parsed *p = state->input;
    switch (key) {
    case OPT_REASON + 1:
        p->opt.reason = arg;
        return 0;
    case OPT_BACKUP + 1:
        p->opt.backup_id = arg;
        return 0;
    case OPT_ODOO_VERSION + 1:
        p->opt.odoo_version = arg;
        return 0;
    case OPT_IMAGE + 1:
        p->opt.image = arg;
        return 0;
    case OPT_MAJOR + 1:
        p->opt.major = true;
        return 0;
    case OPT_NO_FINAL_BACKUP + 1:
        p->opt.no_final_backup = true;
        return 0;
    case OPT_TO + 1:
        p->opt.to = arg;
        return 0;
    case OPT_FROM + 1:
        p->opt.from_file = arg;
        return 0;
    case OPT_NO_SAFETY_BACKUP + 1:
        p->opt.no_safety_backup = true;
        return 0;
    case OPT_NEUTRALIZE + 1:
        p->opt.neutralize = true;
        return 0;
    case ARGP_KEY_ARG:
        if (p->n_operands >= p->max_operands) {
            argp_error(state, "unexpected argument \"%s\"", arg);
            return EINVAL;
        }
        p->operand[p->n_operands++] = arg;
        return 0;
    case ARGP_KEY_END:
        if (p->n_operands < p->max_operands) {
            argp_error(state, "missing %s", p->n_operands == 0 ? "instance (ID|NAME)" : p->second);
            return EINVAL;
        }
        return 0;
    default:
        return ARGP_ERR_UNKNOWN;
    }
}

/*
 * Parses argv (argv[0] the command word) with argp options generated from
 * the accepted option bits. One path for usage errors: one line on stderr
 * naming the option or argument, with the command's usage; returns 2.
 */
static int parse_args(const cmd_entry *cmd, unsigned accepted, int argc, char **argv, parsed *p)
{
    struct argp_option opts[OPT_COUNT + 1];
    size_t n = 0;
    for (int i = 0; i < OPT_COUNT; i++) {
        if (accepted & (1u << i))
            opts[n++] = (struct argp_option){.name = lc_options[i].name,
                                             .key = i + 1,
                                             .arg = lc_options[i].arg,
                                             .doc = lc_options[i].doc};
    }
    opts[n] = (struct argp_option){0};
    struct argp argp = {.options = opts, .parser = parse_opt};
    char prog[64], *errs = NULL;
    size_t errlen = 0;
    snprintf(prog, sizeof prog, "instctl %s", cmd->name);
    FILE *err = open_memstream(&errs, &errlen);
    char *argv0 = argv[0];
    argv[0] = prog;
    FILE *saved = stderr;
    if (err != NULL)
        stderr = err; /* argp's own messages: keep only the first line */
    error_t rc =
        argp_parse(&argp, argc, argv, ARGP_NO_EXIT | ARGP_NO_HELP | ARGP_IN_ORDER, NULL, p);
    stderr = saved;
    argv[0] = argv0;
    if (err != NULL)
        fclose(err);
    if (rc != 0) {
        if (errs != NULL)
            errs[strcspn(errs, "\n")] = '\0';
        fprintf(stderr, "%s (usage: instctl %s %s)\n",
                errs != NULL && errs[0] ? errs : "instctl: invalid arguments", cmd->name,
                cmd->usage);
    }
    free(errs);
    return rc == 0 ? 0 : 2;
}

static int run_id(cli *c, lc_action_id id, const parsed *p)
{
    lc_instance in;
    lc_action_result res;
    lc_err e = ops_run_action(&c->ops, p->operand[0], id, &p->opt, &in, &res, &c->diag);
    if (e == LC_OK)
        report_action(c, &in, &res);
    else if (e == LC_EFAILED && res.note[0] && !c->quiet)
        fprintf(stderr, "instctl: %s: %s\n", in.name, res.note);
    return e == LC_OK ? 0 : fail(c, e);
}

static int run_with(cli *c, const cmd_entry *cmd, const lc_action *a, int argc, char **argv)
{
    bool clone = a->id == ACT_CLONE; /* clone SRC NEW */
    parsed p = {.max_operands = clone ? 2 : 1, .second = "new instance name (NEW)"};
    if (parse_args(cmd, a->options, argc, argv, &p))
        return 2;
    p.opt.new_name = clone ? p.operand[1] : NULL;
    return run_id(c, a->id, &p);
}

static int run_named(cli *c, int argc, char **argv)
{
    const cmd_entry *cmd = cmd_find(argv[0]);
    return run_with(c, cmd, lc_action_get(cmd->action), argc, argv);
}

static int run_maintenance(cli *c, int argc, char **argv)
{
    parsed p = {.max_operands = 2, .second = "on|off"};
    if (parse_args(&cmd_maintenance, OPT(REASON), argc, argv, &p))
        return 2;
    bool on = strcmp(p.operand[1], "on") == 0;
    if (!on && strcmp(p.operand[1], "off") != 0)
        return usage_error(&cmd_maintenance, "expected on or off, got \"%s\"", p.operand[1]);
    return run_id(c, on ? ACT_MAINTENANCE : ACT_END_MAINTENANCE, &p);
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
    const cmd_entry *cmd = cmd_find(lc_action_name(a));
    return run_with(c, cmd != NULL ? cmd : &cmd_action, a, argc - 1, argv + 1);
}
