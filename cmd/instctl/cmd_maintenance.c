/* maintenance ID on|off: the operator's maintenance window (DESIGN §2). */
#include "cli.h"

#include <getopt.h>
#include <string.h>

static int run_maintenance(cli *c, int argc, char **argv);

const cmd_entry cmd_maintenance = {
    .name = "maintenance",
    .usage = "ID|NAME on|off [--reason TEXT]",
    .summary = "start or end maintenance (reconcile leaves the instance alone meanwhile)",
    .flags = NEEDS_STORE | NEEDS_ENGINE | WRITES,
    .run = run_maintenance,
};

static int run_maintenance(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"reason", required_argument, NULL, 'r'}, {0}};
    lc_action_options opt = {0};
    int ch;
    optind = 0;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (ch != 'r')
            return usage_error(&cmd_maintenance, "bad option");
        opt.reason = optarg;
    }
    if (argc - optind != 2)
        return usage_error(&cmd_maintenance, "expected ID|NAME and on or off");
    const char *mode = argv[optind + 1];
    if (strcmp(mode, "on") != 0 && strcmp(mode, "off") != 0)
        return usage_error(&cmd_maintenance, "expected on or off, got \"%s\"", mode);
    const lc_action *a =
        lc_action_find(strcmp(mode, "on") == 0 ? "maintenance" : "end-maintenance");
    lc_instance in;
    lc_action_result res;
    lc_err e = ops_run_action(&c->ops, argv[optind], a, &opt, &in, &res, &c->diag);
    if (e != LC_OK)
        return fail(c, e);
    report_action(c, &in, &res);
    return 0;
}
