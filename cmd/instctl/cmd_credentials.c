/*
 * rotate-credentials ID|NAME (DESIGN §6a, issue 10): a new password on the
 * instance's PostgreSQL role and a new Odoo configuration in its container,
 * restarted onto them when it runs. Nothing is printed that holds a secret.
 */
#include "cli.h"

static int run_rotate(cli *c, int argc, char **argv);

const cmd_entry cmd_rotate_credentials = {
    .name = "rotate-credentials",
    .usage = "ID|NAME",
    .summary = "set a new database password and Odoo master password for an instance",
    .flags = NEEDS_STORE | NEEDS_ENGINE | WRITES,
    .run = run_rotate,
};

static int run_rotate(cli *c, int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-')
        return usage_error(&cmd_rotate_credentials, "expected ID|NAME");
    lc_instance in;
    lc_err e = ops_rotate_credentials(&c->ops, argv[1], &in, &c->diag);
    if (e != LC_OK)
        return fail(c, e);
    lc_action_result res = {.already = false};
    snprintf(res.note, sizeof res.note, "credentials rotated%s",
             in.status == INSTANCE_RUNNING ? ", Odoo restarted" : "");
    report_action(c, &in, &res);
    return 0;
}
