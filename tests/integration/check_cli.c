/*
 * Option parsing of every action command, generated from the action table
 * (argp): each option an action accepts is parsed (the command then goes on
 * to look the instance up: exit 4), each one it does not accept, an unknown
 * option, a missing value, a missing or extra instance are one line naming
 * the option or argument and exit 2. Also: the man pages list the same
 * allowed-from sets as the table.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "action.h"
#include "testutil.h"

static char db[256];

static void setup(void)
{
    char *dir = tu_tmpdir("cli");
    snprintf(db, sizeof db, "%s/cli.db", dir);
    free(dir);
    const char *argv[] = {"--db", db, "--config", "/dev/null", "init", NULL};
    tu_run r = tu_instctl(NULL, argv);
    ck_assert_msg(r.status == 0, "init: %s", r.err);
    tu_run_free(&r);
}

static int lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static tu_run run(const char *const *args)
{
    const char *argv[16] = {"--db", db, "--config", "/dev/null"};
    size_t n = 4;
    for (size_t i = 0; args[i] != NULL && n < 15; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    return tu_instctl(NULL, argv);
}

/* One case per (action, option): accepted ones parse, the others are refused by name. */
START_TEST(test_every_option_of_every_action)
{
    const lc_action *a = &lc_actions[_i / OPT_COUNT];
    int opt = _i % OPT_COUNT;
    const char *word = lc_action_name(a);
    const lc_option *o = &lc_options[opt];
    char flag[64];
    snprintf(flag, sizeof flag, "--%s", o->name);
    const char *args[6] = {word, "no-such-instance", flag, o->arg ? "17.0" : NULL, NULL};
    if (a->id == ACT_CLONE) /* clone SRC NEW [options] */
        args[2] = "new-name", args[3] = flag, args[4] = o->arg ? "17.0" : NULL;
    if (a->id == ACT_MAINTENANCE || a->id == ACT_END_MAINTENANCE)
        args[0] = "action", args[1] = "no-such-instance", args[2] = word, args[3] = flag,
        args[4] = NULL; /* maintenance's own word takes on|off; `action` takes the row's options */
    const char *full[8];
    size_t n = 0;
    for (size_t i = 0; args[i] != NULL; i++)
        full[n++] = args[i];
    if ((a->id == ACT_MAINTENANCE || a->id == ACT_END_MAINTENANCE) && o->arg)
        full[n++] = "17.0";
    full[n] = NULL;
    tu_run r = run(full);
    if (a->options & (1u << opt)) {
        ck_assert_msg(r.status == 4, "%s %s: exit %d, stderr %s", word, flag, r.status, r.err);
        ck_assert_msg(strstr(r.err, "not found") != NULL, "%s %s: %s", word, flag, r.err);
    } else {
        ck_assert_msg(r.status == 2, "%s %s: exit %d, stderr %s", word, flag, r.status, r.err);
        ck_assert_msg(strstr(r.err, flag) != NULL && lines(r.err) == 1, "%s %s: %s", word, flag,
                      r.err);
    }
    tu_run_free(&r);
}
END_TEST

typedef struct bad_case {
    const char *args[6];
    const char *names; /* what the one line must name */
} bad_case;

static const bad_case bad[] = {
    {{"start", "x", "--frobnicate", NULL}, "--frobnicate"},
    {{"start", "x", "--reason", NULL}, "--reason"},
    {{"update", "x", "--odoo-version", NULL}, "--odoo-version"},
    {{"terminate", "x", "--no-final-backup=yes", NULL}, "--no-final-backup"},
    {{"restore", NULL}, "missing instance"},
    {{"stop", "a", "b", NULL}, "unexpected argument \"b\""},
    {{"maintenance", "x", NULL}, "missing on|off"},
    {{"maintenance", "x", "sometimes", NULL}, "sometimes"},
    {{"action", "x", "explode", NULL}, "explode"},
};

START_TEST(test_usage_errors)
{
    tu_run r = run(bad[_i].args);
    ck_assert_msg(r.status == 2, "%s: exit %d (%s)", bad[_i].names, r.status, r.err);
    ck_assert_msg(strstr(r.err, bad[_i].names) != NULL, "%s: %s", bad[_i].names, r.err);
    ck_assert_msg(lines(r.err) <= 2, "%s: %s", bad[_i].names, r.err);
    tu_run_free(&r);
}
END_TEST

/*
 * The man page instctl(8) lists, per action, "allowed from: S1, S2": the
 * same set as the table.
 */
START_TEST(test_man_allowed_from)
{
    size_t len;
    char *page = tu_fixture("../../man/instctl.8", &len); /* tests/fixtures/../../man */
    ck_assert_ptr_nonnull(page);
    for (const lc_action *a = lc_actions; a->id != ACT_NONE; a++) {
        char want[256] = "";
        for (int s = 0; s < INSTANCE_STATUS_COUNT; s++) {
            if (a->allowed_from & (1u << s))
                snprintf(want + strlen(want), sizeof want - strlen(want), "%s%s",
                         want[0] ? ", " : "", instance_status_name((InstanceStatus)s));
        }
        char line[400];
        snprintf(line, sizeof line, "%s: allowed from %s.", lc_action_name(a), want);
        ck_assert_msg(strstr(page, line) != NULL, "instctl.8 lacks \"%s\"", line);
    }
    free(page);
}
END_TEST

Suite *suite_cli(void)
{
    Suite *s = suite_create("cli");
    TCase *t = tcase_create("argp");
    tcase_add_checked_fixture(t, setup, NULL);
    int actions = 0;
    while (lc_actions[actions].id != ACT_NONE)
        actions++;
    tcase_add_loop_test(t, test_every_option_of_every_action, 0, actions * OPT_COUNT);
    tcase_add_loop_test(t, test_usage_errors, 0, (int)(sizeof bad / sizeof bad[0]));
    tcase_add_test(t, test_man_allowed_from);
    suite_add_tcase(s, t);
    return s;
}
