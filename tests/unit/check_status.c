/*
 * The vocabularies and the action table (DESIGN §1-2) and the validation of
 * user-supplied values (DESIGN §6). The expected verdicts below are copied
 * by hand from the DESIGN §2 table, not from lib/status.c: every action of
 * DESIGN §2 is listed, and each (action in lc_actions, status) pair is a case.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "action.h"
#include "config.h"
#include "status.h"

/* ---- the action table ---------------------------------------------------- */

enum { A = ACTION_ALLOWED, AL = ACTION_ALREADY, NA = ACTION_NOT_ALLOWED, ANY = -1 };

typedef struct expect_row {
    const char *action;
    int target; /* status it ends in, -1 keeps the status, -2 depends */
    /* verdict per status: creating, running, stopped, suspended, maintenance, updating, error,
     * terminated */
    int verdict[INSTANCE_STATUS_COUNT];
} expect_row;

/*
 * DESIGN §2. Allowed: the "allowed actions" column. Already: an action whose
 * target is the current status (start on running, stop on stopped, terminate
 * on terminated, maintenance on maintenance). Everything else: not allowed.
 * suspend on suspended "adds a hold", so it is allowed (or a no-op with the
 * same hold, which lc_action_check cannot see): ANY.
 */
static const expect_row expected[] = {
    /*                         creat run stop  susp maint updat error termd */
    {"start", INSTANCE_RUNNING, {NA, AL, A, NA, NA, NA, A, NA}},
    {"stop", INSTANCE_STOPPED, {NA, A, AL, NA, NA, NA, NA, NA}},
    {"restart", INSTANCE_RUNNING, {NA, A, NA, NA, NA, NA, A, NA}},
    {"terminate", INSTANCE_TERMINATED, {A, A, A, A, A, NA, A, AL}},
    {"backup", -1, {NA, A, A, NA, A, NA, NA, NA}},
    {"restore", INSTANCE_STOPPED, {NA, NA, A, NA, A, NA, A, NA}},
    {"suspend", INSTANCE_SUSPENDED, {NA, A, A, A, A, NA, A, NA}},
    {"unsuspend", -2, {NA, NA, NA, A, NA, NA, NA, NA}},
    {"update", -2, {NA, A, A, NA, NA, NA, NA, NA}},
    {"maintenance", INSTANCE_MAINTENANCE, {NA, A, A, NA, AL, NA, NA, NA}},
    {"end-maintenance", -2, {NA, NA, NA, NA, A, NA, NA, NA}},
    {"rotate-credentials", -1, {NA, A, A, NA, NA, NA, NA, NA}},
    {"move", -2, {NA, A, A, NA, NA, NA, NA, NA}},
    {"clone", -1, {NA, A, A, A, A, NA, NA, NA}}, /* issue 13: SRC keeps its status */
};
#define EXPECTED_COUNT ((int)(sizeof expected / sizeof expected[0]))

/* The four actions this build must have (DESIGN §2, issue scope). */
static const char *const required_actions[] = {"start", "stop", "restart", "terminate"};

static const char *verdict_name(int v)
{
    return v == A ? "allowed" : v == AL ? "already" : v == NA ? "not allowed" : "any";
}

static const expect_row *expected_for(const char *action)
{
    for (int i = 0; i < EXPECTED_COUNT; i++) {
        if (strcmp(expected[i].action, action) == 0)
            return &expected[i];
    }
    return NULL;
}

/* One case per (action in lc_actions, status): the verdict of the hand-written table. */
START_TEST(test_action_verdict)
{
    const lc_action *a = &lc_actions[_i / INSTANCE_STATUS_COUNT];
    InstanceStatus s = (InstanceStatus)(_i % INSTANCE_STATUS_COUNT);
    const expect_row *row = expected_for(lc_action_name(a));
    ck_assert_msg(row != NULL, "action %s is not in DESIGN §2", lc_action_name(a));
    int want = row->verdict[s];
    if (want == ANY)
        return;
    int got = (int)lc_action_check(a, s);
    ck_assert_msg(got == want, "%s from %s: expected %s, got %s", row->action,
                  instance_status_name(s), verdict_name(want), verdict_name(got));
}
END_TEST

START_TEST(test_required_actions)
{
    for (size_t i = 0; i < sizeof required_actions / sizeof required_actions[0]; i++)
        ck_assert_msg(lc_action_find(required_actions[i]) != NULL, "action %s missing",
                      required_actions[i]);
}
END_TEST

/* Every action in the library's table is an action of DESIGN §2, with its target. */
START_TEST(test_actions_are_design_actions)
{
    int n = 0;
    for (const lc_action *a = lc_actions; a->id != ACT_NONE; a++, n++) {
        const expect_row *row = expected_for(lc_action_name(a));
        ck_assert_msg(row != NULL, "action %s is not in DESIGN §2", lc_action_name(a));
        ck_assert_ptr_nonnull(a->summary);
        ck_assert_msg(a->summary[0] != '\0', "action %s has no summary", lc_action_name(a));
        if (row->target != -2)
            ck_assert_msg(a->target == row->target, "action %s: target %d, expected %d",
                          lc_action_name(a), a->target, row->target);
        ck_assert_ptr_eq(lc_action_find(lc_action_name(a)), a);
    }
    ck_assert_int_ge(n, 4);
}
END_TEST

START_TEST(test_action_find_unknown)
{
    ck_assert_ptr_null(lc_action_find("explode"));
    ck_assert_ptr_null(lc_action_find(""));
    ck_assert_ptr_null(lc_action_find("Start"));
    ck_assert_ptr_null(lc_action_find(NULL));
}
END_TEST

/* The allowed-actions list of each status, in table order, from the hand-written table. */
START_TEST(test_allowed_actions)
{
    InstanceStatus s = (InstanceStatus)_i;
    char want[512] = "", got[512];
    size_t want_n = 0;
    for (const lc_action *a = lc_actions; a->id != ACT_NONE; a++) {
        const expect_row *row = expected_for(lc_action_name(a));
        if (row == NULL || row->verdict[s] != A)
            continue;
        snprintf(want + strlen(want), sizeof want - strlen(want), "%s%s", want_n ? ", " : "",
                 lc_action_name(a));
        want_n++;
    }
    memset(got, 'x', sizeof got);
    size_t n = lc_allowed_actions(NULL, s, ", ", got, sizeof got);
    ck_assert_msg(n == want_n, "%s: %zu actions, expected %zu", instance_status_name(s), n, want_n);
    ck_assert_msg(strcmp(got, want) == 0, "%s: \"%s\", expected \"%s\"", instance_status_name(s),
                  got, want);
}
END_TEST

/* has_word: whether the space-separated list holds word as a whole item. */
static bool has_word(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = list; (p = strstr(p, word)) != NULL; p++) {
        if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
            return true;
    }
    return false;
}

/* The four actions of this build, spelled out for the statuses with the most. */
START_TEST(test_allowed_actions_literal)
{
    char buf[256];
    ck_assert_uint_eq(lc_allowed_actions(NULL, INSTANCE_UPDATING, " ", buf, sizeof buf), 0);
    ck_assert_str_eq(buf, "");
    ck_assert_uint_eq(lc_allowed_actions(NULL, INSTANCE_TERMINATED, " ", buf, sizeof buf), 0);
    ck_assert_str_eq(buf, "");
    ck_assert_uint_eq(lc_allowed_actions(NULL, INSTANCE_CREATING, "|", buf, sizeof buf), 1);
    ck_assert_str_eq(buf, "terminate");
    lc_allowed_actions(NULL, INSTANCE_RUNNING, " ", buf, sizeof buf);
    ck_assert_msg(has_word(buf, "stop") && has_word(buf, "restart") && has_word(buf, "terminate") &&
                      !has_word(buf, "start"),
                  "running: \"%s\"", buf);
    lc_allowed_actions(NULL, INSTANCE_STOPPED, " ", buf, sizeof buf);
    ck_assert_msg(has_word(buf, "start") && has_word(buf, "terminate") && !has_word(buf, "stop") &&
                      !has_word(buf, "restart"),
                  "stopped: \"%s\"", buf);
    lc_allowed_actions(NULL, INSTANCE_ERROR, " ", buf, sizeof buf);
    ck_assert_msg(has_word(buf, "start") && has_word(buf, "restart") &&
                      has_word(buf, "terminate") && !has_word(buf, "stop"),
                  "error: \"%s\"", buf);
}
END_TEST

/* A short buffer is still NUL-terminated, holds a prefix, and the count is the full count. */
START_TEST(test_allowed_actions_short_buffer)
{
    char full[256], small[8];
    size_t n = lc_allowed_actions(NULL, INSTANCE_RUNNING, ", ", full, sizeof full);
    memset(small, 'x', sizeof small);
    ck_assert_uint_eq(lc_allowed_actions(NULL, INSTANCE_RUNNING, ", ", small, sizeof small), n);
    ck_assert_ptr_nonnull(memchr(small, '\0', sizeof small));
    ck_assert_msg(strncmp(full, small, strlen(small)) == 0, "\"%s\" is not a prefix of \"%s\"",
                  small, full);
    char one = 'x';
    ck_assert_uint_eq(lc_allowed_actions(NULL, INSTANCE_RUNNING, ", ", &one, 1), n);
    ck_assert_int_eq(one, '\0');
}
END_TEST

/* A row's needs of the setup (NEED_DB_SERVER): rotate-credentials is listed only with db_host. */
START_TEST(test_allowed_actions_needs_setup)
{
    lc_config cfg;
    config_defaults(&cfg);
    cfg.db_host[0] = '\0';
    char buf[512];
    const lc_action *rot = lc_action_get(ACT_ROTATE_CREDENTIALS);
    ck_assert_ptr_nonnull(rot);
    ck_assert_str_eq(lc_action_unmet(rot, &cfg), "no database server configured (db_host)");
    ck_assert_ptr_null(lc_action_unmet(rot, NULL));
    ck_assert_ptr_null(lc_action_unmet(lc_action_get(ACT_STOP), &cfg));
    size_t without = lc_allowed_actions(&cfg, INSTANCE_RUNNING, " ", buf, sizeof buf);
    ck_assert_msg(strstr(buf, "rotate-credentials") == NULL, "listed without db_host: %s", buf);
    snprintf(cfg.db_host, sizeof cfg.db_host, "db.example");
    ck_assert_ptr_null(lc_action_unmet(rot, &cfg));
    size_t with = lc_allowed_actions(&cfg, INSTANCE_RUNNING, " ", buf, sizeof buf);
    ck_assert_msg(strstr(buf, "rotate-credentials") != NULL, "missing with db_host: %s", buf);
    ck_assert_uint_eq(with, without + 1);
    ck_assert_uint_eq(lc_allowed_actions(NULL, INSTANCE_RUNNING, " ", buf, sizeof buf), with);
}
END_TEST

/* ---- the two vocabularies ------------------------------------------------ */

static const char *const status_words[INSTANCE_STATUS_COUNT] = {
    "creating", "running", "stopped", "suspended", "maintenance", "updating", "error", "terminated",
};

START_TEST(test_status_round_trip)
{
    InstanceStatus s = (InstanceStatus)_i, back = (InstanceStatus)-1;
    ck_assert_str_eq(instance_status_name(s), status_words[_i]);
    ck_assert_msg(instance_status_parse(status_words[_i], &back), "%s not parsed",
                  status_words[_i]);
    ck_assert_int_eq(back, s);
}
END_TEST

static const char *const not_statuses[] = {
    "paused",   "starting", "stopping", "restarting", "container_missing", "missing",
    "Running",  "RUNNING",  "",         " running",   "running ",          "runnin",
    "runningg", "exited",   "unknown",  "invalid",    "terminated\n",      "error:",
};

START_TEST(test_status_parse_rejects)
{
    InstanceStatus out = INSTANCE_MAINTENANCE;
    ck_assert_msg(!instance_status_parse(not_statuses[_i], &out), "\"%s\" parsed as a status",
                  not_statuses[_i]);
    ck_assert_int_eq(out, INSTANCE_MAINTENANCE);
}
END_TEST

START_TEST(test_status_parse_null_and_name_out_of_range)
{
    InstanceStatus out;
    ck_assert(!instance_status_parse(NULL, &out));
    const char *n = instance_status_name((InstanceStatus)INSTANCE_STATUS_COUNT);
    ck_assert_ptr_nonnull(n);
    for (int i = 0; i < INSTANCE_STATUS_COUNT; i++)
        ck_assert_str_ne(n, status_words[i]);
}
END_TEST

static const struct {
    const char *word;
    lc_container_state state;
} docker_words[] = {
    {"created", CONTAINER_CREATED},   {"running", CONTAINER_RUNNING},
    {"paused", CONTAINER_PAUSED},     {"restarting", CONTAINER_RESTARTING},
    {"removing", CONTAINER_REMOVING}, {"exited", CONTAINER_EXITED},
    {"dead", CONTAINER_DEAD},
};

START_TEST(test_container_state_parse)
{
    ck_assert_int_eq(container_state_parse(docker_words[_i].word), docker_words[_i].state);
    ck_assert_str_eq(container_state_name(docker_words[_i].state), docker_words[_i].word);
}
END_TEST

START_TEST(test_container_state_unknown)
{
    static const char *const odd[] = {"hibernating", "Running", "RUNNING", "",       "stopped",
                                      "starting",    "up",      "exited ", "unknown"};
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++)
        ck_assert_msg(container_state_parse(odd[i]) == CONTAINER_UNKNOWN,
                      "\"%s\" parsed as a known state", odd[i]);
    ck_assert_int_eq(container_state_parse(NULL), CONTAINER_UNKNOWN);
    ck_assert_str_eq(container_state_name(CONTAINER_MISSING), "missing");
    ck_assert_ptr_nonnull(container_state_name(CONTAINER_UNKNOWN));
    ck_assert_ptr_nonnull(container_state_name((lc_container_state)99));
}
END_TEST

/* ---- validation ---------------------------------------------------------- */

typedef lc_err (*validator)(const char *, lc_diag *);

typedef struct vcase {
    const char *value; /* NULL: use `repeat` copies of `fill` */
    bool ok;
    int repeat;
    char fill;
} vcase;

static void check_vcase(const char *what, validator fn, const vcase *c)
{
    char big[400];
    const char *v = c->value;
    if (v == NULL) {
        memset(big, c->fill, (size_t)c->repeat);
        big[c->repeat] = '\0';
        v = big;
    }
    lc_diag d = {{0}};
    lc_err e = fn(v, &d);
    if (c->ok) {
        ck_assert_msg(e == LC_OK, "%s \"%.70s\" (%zu chars) refused: %s", what, v, strlen(v),
                      d.msg);
    } else {
        ck_assert_msg(e == LC_EUSAGE, "%s \"%.70s\" (%zu chars): expected LC_EUSAGE, got %d", what,
                      v, strlen(v), (int)e);
        ck_assert_msg(d.msg[0] != '\0', "%s \"%.70s\": no message", what, v);
    }
}

static const vcase name_cases[] = {
    {"web1", true, 0, 0},    {"a", true, 0, 0},     {"a-b-1", true, 0, 0}, {"1web", true, 0, 0},
    {"0", true, 0, 0},       {"a--b", true, 0, 0},  {NULL, true, 63, 'a'}, {"", false, 0, 0},
    {"Café 1", false, 0, 0}, {"café", false, 0, 0}, {"a/b", false, 0, 0},  {"-a", false, 0, 0},
    {"a-", false, 0, 0},     {"A", false, 0, 0},    {"webA", false, 0, 0}, {NULL, false, 64, 'a'},
    {NULL, false, 300, 'a'}, {"a b", false, 0, 0},  {"a_b", false, 0, 0},  {"a.b", false, 0, 0},
    {"a\n", false, 0, 0},    {" a", false, 0, 0},   {"-", false, 0, 0},    {"a\tb", false, 0, 0},
};

START_TEST(test_validate_name)
{
    check_vcase("name", lc_validate_name, &name_cases[_i]);
}
END_TEST

/* Odoo's DBNAME_PATTERN ^[a-zA-Z0-9][a-zA-Z0-9_.-]+$, 63 bytes, not the server's own databases. */
static const vcase database_cases[] = {
    {"web1", true, 0, 0},      {"ab", true, 0, 0},         {"a_b_1", true, 0, 0},
    {"db_", true, 0, 0},       {"odoo17", true, 0, 0},     {NULL, true, 63, 'd'},
    {"1db", true, 0, 0},       {"Db", true, 0, 0},         {"acme-test", true, 0, 0},
    {"acme.prod", true, 0, 0}, {"a1_b-c.d", true, 0, 0},   {"x-", true, 0, 0},
    {"9.9", true, 0, 0},       {"postgres1", true, 0, 0},  {"", false, 0, 0},
    {"a", false, 0, 0},        {"_db", false, 0, 0},       {"-x", false, 0, 0},
    {".x", false, 0, 0},       {"a b", false, 0, 0},       {"a;b", false, 0, 0},
    {"a/b", false, 0, 0},      {"db'x", false, 0, 0},      {"db\"x", false, 0, 0},
    {"café", false, 0, 0},     {NULL, false, 64, 'd'},     {NULL, false, 300, 'd'},
    {"db\n", false, 0, 0},     {"a=b", false, 0, 0},       {"a$b", false, 0, 0},
    {"postgres", false, 0, 0}, {"template0", false, 0, 0}, {"template1", false, 0, 0},
    {"POSTGRES", false, 0, 0}, {"Template1", false, 0, 0},
};

START_TEST(test_validate_database)
{
    check_vcase("database", lc_validate_database, &database_cases[_i]);
}
END_TEST

static const vcase email_cases[] = {
    {"a@b.co", true, 0, 0},
    {"admin@example.com", true, 0, 0},
    {"first.last+tag@mail.example.org", true, 0, 0},
    {"ops@sub-domain.example.co.uk", true, 0, 0},
    {"", false, 0, 0},
    {"admin", false, 0, 0},
    {"a@b", false, 0, 0},
    {"@example.com", false, 0, 0},
    {"admin@", false, 0, 0},
    {"a@@example.com", false, 0, 0},
    {"a@b@example.com", false, 0, 0},
    {"ad min@example.com", false, 0, 0},
    {"admin@exa mple.com", false, 0, 0},
    {"admin@example.com ", false, 0, 0},
    {" admin@example.com", false, 0, 0},
    {"admin@example.com\n", false, 0, 0},
    {"admin\t@example.com", false, 0, 0},
    {"admin@.com", false, 0, 0},
    {"admin@example.", false, 0, 0},
    {"a\x01"
     "b@example.com",
     false, 0, 0},
};

START_TEST(test_validate_email)
{
    check_vcase("email", lc_validate_email, &email_cases[_i]);
}
END_TEST

/* 254 characters is the longest address, 255 is refused. */
START_TEST(test_validate_email_length)
{
    char buf[300];
    lc_diag d;
    const char *domain = "@example.com";
    for (size_t total = 250; total <= 256; total++) {
        size_t local = total - strlen(domain);
        memset(buf, 'a', local);
        strcpy(buf + local, domain);
        ck_assert_uint_eq(strlen(buf), total);
        lc_err e = lc_validate_email(buf, &d);
        ck_assert_msg(e == (total <= 254 ? LC_OK : LC_EUSAGE), "%zu-char email: got %d", total,
                      (int)e);
    }
    ck_assert_int_eq(lc_validate_email(NULL, &d), LC_EUSAGE);
}
END_TEST

static const vcase version_cases[] = {
    {"17.0", true, 0, 0},    {"16.0", true, 0, 0},    {"8.0", true, 0, 0},
    {"18.1", true, 0, 0},    {"17", false, 0, 0},     {"17.0.1", false, 0, 0},
    {"v17", false, 0, 0},    {"v17.0", false, 0, 0},  {"", false, 0, 0},
    {"17.", false, 0, 0},    {".0", false, 0, 0},     {"17.a", false, 0, 0},
    {"17,0", false, 0, 0},   {"17..0", false, 0, 0},  {" 17.0", false, 0, 0},
    {"17.0 ", false, 0, 0},  {"17.0\n", false, 0, 0}, {"-1.0", false, 0, 0},
    {"+17.0", false, 0, 0},  {"17.-0", false, 0, 0},  {"17.0-20261101", true, 0, 0},
    {"latest", false, 0, 0}, {NULL, false, 40, '1'},
};

START_TEST(test_validate_version)
{
    check_vcase("version", lc_validate_version, &version_cases[_i]);
}
END_TEST

static const vcase image_cases[] = {
    {"odoo:17.0", true, 0, 0},
    {"odoo", true, 0, 0},
    {"registry.example.com:5000/team/odoo:17.0-20261101", true, 0, 0},
    {"odoo@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", true, 0, 0},
    {NULL, true, 255, 'i'},
    {"", false, 0, 0},
    {"odoo 17", false, 0, 0},
    {" odoo:17.0", false, 0, 0},
    {"odoo:17.0 ", false, 0, 0},
    {"odoo:17.0\n", false, 0, 0},
    {"\todoo", false, 0, 0},
    {NULL, false, 256, 'i'},
    {NULL, false, 300, 'i'},
};

START_TEST(test_validate_image)
{
    check_vcase("image", lc_validate_image, &image_cases[_i]);
}
END_TEST

START_TEST(test_validate_null)
{
    lc_diag d;
    ck_assert_int_eq(lc_validate_name(NULL, &d), LC_EUSAGE);
    ck_assert_int_eq(lc_validate_database(NULL, &d), LC_EUSAGE);
    ck_assert_int_eq(lc_validate_version(NULL, &d), LC_EUSAGE);
    ck_assert_int_eq(lc_validate_image(NULL, &d), LC_EUSAGE);
    /* d may be NULL: the verdict alone */
    ck_assert_int_eq(lc_validate_name("A", NULL), LC_EUSAGE);
    ck_assert_int_eq(lc_validate_name("a", NULL), LC_OK);
}
END_TEST

/* The message names the value it refused. */
START_TEST(test_validate_message_names_value)
{
    lc_diag d = {{0}};
    lc_validate_name("Bad Name", &d);
    ck_assert_ptr_nonnull(strstr(d.msg, "Bad Name"));
    lc_validate_database("x y", &d);
    ck_assert_ptr_nonnull(strstr(d.msg, "x y"));
    lc_validate_email("nobody", &d);
    ck_assert_ptr_nonnull(strstr(d.msg, "nobody"));
    lc_validate_version("v17", &d);
    ck_assert_ptr_nonnull(strstr(d.msg, "v17"));
    lc_validate_image("a b", &d);
    ck_assert_ptr_nonnull(strstr(d.msg, "a b"));
}
END_TEST

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

Suite *suite_status(void)
{
    Suite *s = suite_create("status");
    TCase *t = tcase_create("actions");
    int actions = 0;
    while (lc_actions[actions].id != ACT_NONE)
        actions++;
    tcase_add_loop_test(t, test_action_verdict, 0, actions * INSTANCE_STATUS_COUNT);
    tcase_add_test(t, test_required_actions);
    tcase_add_test(t, test_actions_are_design_actions);
    tcase_add_test(t, test_action_find_unknown);
    tcase_add_loop_test(t, test_allowed_actions, 0, INSTANCE_STATUS_COUNT);
    tcase_add_test(t, test_allowed_actions_literal);
    tcase_add_test(t, test_allowed_actions_short_buffer);
    tcase_add_test(t, test_allowed_actions_needs_setup);
    suite_add_tcase(s, t);

    t = tcase_create("vocabulary");
    tcase_add_loop_test(t, test_status_round_trip, 0, INSTANCE_STATUS_COUNT);
    tcase_add_loop_test(t, test_status_parse_rejects, 0, N(not_statuses));
    tcase_add_test(t, test_status_parse_null_and_name_out_of_range);
    tcase_add_loop_test(t, test_container_state_parse, 0, N(docker_words));
    tcase_add_test(t, test_container_state_unknown);
    suite_add_tcase(s, t);

    t = tcase_create("validation");
    tcase_add_loop_test(t, test_validate_name, 0, N(name_cases));
    tcase_add_loop_test(t, test_validate_database, 0, N(database_cases));
    tcase_add_loop_test(t, test_validate_email, 0, N(email_cases));
    tcase_add_test(t, test_validate_email_length);
    tcase_add_loop_test(t, test_validate_version, 0, N(version_cases));
    tcase_add_loop_test(t, test_validate_image, 0, N(image_cases));
    tcase_add_test(t, test_validate_null);
    tcase_add_test(t, test_validate_message_names_value);
    suite_add_tcase(s, t);
    return s;
}
