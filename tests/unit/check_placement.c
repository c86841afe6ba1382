/*
 * Placement (lib/placement.c, DESIGN §7a, issue 11): which host a new
 * instance goes to, as a table of cases. Each case is a set of candidate
 * hosts, a request (a named host, a memory limit) and the expected pick, or
 * the expected error and a phrase its message must hold.
 */
#include <check.h>
#include <string.h>

#include "placement.h"

#define MiB (1024LL * 1024)
#define GiB (1024 * MiB)
#define MAX_HOSTS 4

/* A host: name, drained, reachable, instances, max_instances, mem_total, mem_reserved. */
#define H(n, dr, up, inst, max, tot, res)                                                          \
    {                                                                                              \
        n, dr, up, inst, max, tot, res                                                             \
    }
#define UP(n, inst) H(n, false, true, inst, 0, 0, 0)

static const struct {
    const char *what;
    lc_place_host hosts[MAX_HOSTS]; /* ends at the first entry without a name */
    lc_place_request req;
    lc_err err;
    const char *pick; /* the chosen host when err is LC_OK */
    const char *says; /* a phrase of the message otherwise */
} cases[] = {
    {"one host", {UP("local", 0)}, {0}, LC_OK, "local", NULL},
    {"fewest instances", {UP("local", 5), UP("b", 2), UP("c", 3)}, {0}, LC_OK, "b", NULL},
    {"tie goes to the earlier entry", {UP("local", 2), UP("b", 2)}, {0}, LC_OK, "local", NULL},
    {"drained skipped",
     {UP("local", 5), H("b", true, true, 0, 0, 0, 0)},
     {0},
     LC_OK,
     "local",
     NULL},
    {"unreachable skipped",
     {H("local", false, false, 0, 0, 0, 0), UP("b", 9)},
     {0},
     LC_OK,
     "b",
     NULL},
    {"full skipped", {H("local", false, true, 3, 3, 0, 0), UP("b", 7)}, {0}, LC_OK, "b", NULL},
    {"below the limit is eligible",
     {H("local", false, true, 2, 3, 0, 0), UP("b", 7)},
     {0},
     LC_OK,
     "local",
     NULL},
    {"memory share with a limit",
     {H("local", false, true, 1, 0, 4 * GiB, 3 * GiB),
      H("b", false, true, 6, 0, 16 * GiB, 4 * GiB)},
     {NULL, 512 * MiB},
     LC_OK,
     "b",
     NULL},
    {"instances without a limit",
     {H("local", false, true, 1, 0, 4 * GiB, 3 * GiB),
      H("b", false, true, 6, 0, 16 * GiB, 4 * GiB)},
     {0},
     LC_OK,
     "local",
     NULL},
    {"limit does not fit",
     {H("local", false, true, 0, 0, 4 * GiB, 3800 * MiB), H("b", false, true, 9, 0, 0, 0)},
     {NULL, 512 * MiB},
     LC_OK,
     "b",
     NULL},
    {"known memory before unknown",
     {H("local", false, true, 0, 0, 0, 0), H("b", false, true, 9, 0, 8 * GiB, 7 * GiB)},
     {NULL, 512 * MiB},
     LC_OK,
     "b",
     NULL},
    {"equal memory share: fewer instances",
     {H("local", false, true, 4, 0, 8 * GiB, 2 * GiB), H("b", false, true, 1, 0, 8 * GiB, 2 * GiB)},
     {NULL, 512 * MiB},
     LC_OK,
     "b",
     NULL},
    {"named host", {UP("local", 0), UP("b", 9)}, {"b", 0}, LC_OK, "b", NULL},
    {"named host drained",
     {UP("local", 0), H("b", true, true, 0, 0, 0, 0)},
     {"b", 0},
     LC_ENOTALLOWED,
     NULL,
     "host b cannot take a new instance: b drained"},
    {"named host not answering",
     {UP("local", 0), H("b", false, false, 0, 0, 0, 0)},
     {"b", 0},
     LC_ENOTALLOWED,
     NULL,
     "b not answering"},
    {"named host full",
     {H("local", false, true, 20, 20, 0, 0)},
     {"local", 0},
     LC_ENOTALLOWED,
     NULL,
     "local full (20 of 20)"},
    {"named host short of memory",
     {H("local", false, true, 0, 0, 1 * GiB, 768 * MiB)},
     {"local", 512 * MiB},
     LC_ENOTALLOWED,
     NULL,
     "local short of memory (256 MiB free of 1024 MiB)"},
    {"named host unknown",
     {UP("local", 0)},
     {"nope", 0},
     LC_ENOTFOUND,
     NULL,
     "host nope not found"},
    {"no host eligible",
     {H("local", true, true, 0, 0, 0, 0), H("b", false, false, 0, 0, 0, 0),
      H("c", false, true, 1, 1, 0, 0)},
     {0},
     LC_ENOTALLOWED,
     NULL,
     "no host can take a new instance: local drained, b not answering, c full (1 of 1)"},
    {"no hosts at all",
     {{0}},
     {0},
     LC_ENOTALLOWED,
     NULL,
     "no host can take a new instance (no hosts)"},
};
#define CASES ((int)(sizeof cases / sizeof cases[0]))

START_TEST(test_pick)
{
    size_t n = 0, chosen = 99;
    while (n < MAX_HOSTS && cases[_i].hosts[n].name != NULL)
        n++;
    lc_diag d = {{0}};
    lc_err e = placement_pick(cases[_i].hosts, n, &cases[_i].req, &chosen, &d);
    ck_assert_msg(e == cases[_i].err, "%s: error %d, expected %d (%s)", cases[_i].what, e,
                  cases[_i].err, d.msg);
    if (e == LC_OK) {
        ck_assert_msg(chosen < n, "%s: index %zu of %zu", cases[_i].what, chosen, n);
        ck_assert_msg(strcmp(cases[_i].hosts[chosen].name, cases[_i].pick) == 0,
                      "%s: picked %s, expected %s", cases[_i].what, cases[_i].hosts[chosen].name,
                      cases[_i].pick);
    } else {
        ck_assert_msg(strstr(d.msg, cases[_i].says) != NULL, "%s: message \"%s\" lacks \"%s\"",
                      cases[_i].what, d.msg, cases[_i].says);
    }
}
END_TEST

Suite *suite_placement(void)
{
    Suite *s = suite_create("placement");
    TCase *t = tcase_create("pick");
    tcase_add_loop_test(t, test_pick, 0, CASES);
    suite_add_tcase(s, t);
    return s;
}
