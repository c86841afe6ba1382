/*
 * Concurrency (issue 9): 20 workers run random actions with --wait on 5
 * instances of one store while 3 loops run `instctl reconcile`, for 30 s
 * (CONC_SECONDS), each instctl its own process on the real engine. Then:
 * no exit 8 (database or configuration error), no "database is locked" in
 * any stderr, no instctl killed by a signal, and after one more reconcile
 * pass every instance holds tu_check_instance's invariants (status agreeing
 * with Docker, one container, no lease, the history one chain). Prints the
 * exit statuses per action.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

#define NINST 5
#define NWORKERS 20
#define NLOOPS 3

static tu_store S;
static char names[NINST][40], ids[NINST][40];

/*
 * The actions drawn from: the state machine's except create, terminate,
 * move and rotate-credentials; allowed is the name `show` lists it under.
 */
static const struct {
    const char *allowed;
    const char *args[5];
} actions[] = {
    {"start", {"start", "@"}},
    {"stop", {"stop", "@"}},
    {"restart", {"restart", "@"}},
    {"suspend", {"suspend", "@"}},
    {"unsuspend", {"unsuspend", "@"}},
    {"backup", {"backup", "@"}},
    {"restore", {"restore", "@"}},
    {"maintenance", {"maintenance", "@", "on"}},
    {"end-maintenance", {"maintenance", "@", "off"}},
    {"update", {"update", "@", "--odoo-version", "18.0", "--major"}},
    {"update", {"update", "@", "--odoo-version", "17.0", "--major"}},
};
#define NACTIONS (sizeof actions / sizeof actions[0])

/* One line per instctl run: "A <action index> <exit>", then "E <stderr line>" for a bad one. */
static void record(FILE *f, int action, const tu_run *r)
{
    fprintf(f, "A %d %d\n", action, r->status);
    const char *locked = strstr(r->err, "database is locked");
    if (r->status == 8 || r->status >= 128 || locked != NULL)
        fprintf(f, "E exit %d: %.*s\n", r->status, (int)strcspn(r->err, "\n"), r->err);
}

/*
 * Mostly (4 in 5) an action `show` lists as allowed right now (it may no
 * longer be when it runs), else any; its index in actions.
 */
static int pick(int inst)
{
    int any = rand() % (int)NACTIONS;
    if (rand() % 5 == 0)
        return any;
    tu_run r =
        tu_instctl(NULL, (const char *[]){"--config", S.conf, "--json", "show", names[inst], NULL});
    int allowed[NACTIONS] = {0}, n = 0;
    for (size_t a = 0; a < NACTIONS; a++) {
        char quoted[64];
        snprintf(quoted, sizeof quoted, "\"%s\"", actions[a].allowed);
        const char *list = strstr(r.out, "\"allowed_actions\"");
        const char *end = list != NULL ? strchr(list, ']') : NULL;
        const char *hit = list != NULL ? strstr(list, quoted) : NULL;
        if (hit != NULL && hit < end)
            allowed[n++] = (int)a;
    }
    tu_run_free(&r);
    return n > 0 ? allowed[rand() % n] : any;
}

/* A worker: random actions on random instances until the deadline; results to path. */
static void worker(unsigned seed, double until, const char *path)
{
    FILE *f = fopen(path, "w");
    srand(seed);
    while (f != NULL && tu_now_s() < until) {
        int i = rand() % NINST, a = pick(i);
        const char *argv[16] = {"--config", S.conf, "--wait=20"};
        size_t n = 3;
        for (size_t k = 0; k < 5 && actions[a].args[k] != NULL; k++)
            argv[n++] = strcmp(actions[a].args[k], "@") == 0 ? names[i] : actions[a].args[k];
        argv[n] = NULL;
        tu_run r = tu_instctl(NULL, argv);
        record(f, a, &r);
        tu_run_free(&r);
    }
    if (f != NULL)
        fclose(f);
}

/* A reconcile loop until the deadline; its runs recorded as action -1. */
static void reconcile_loop(double until, const char *path)
{
    FILE *f = fopen(path, "w");
    while (f != NULL && tu_now_s() < until) {
        tu_run r = tu_instctl(NULL, (const char *[]){"--config", S.conf, "reconcile", NULL});
        record(f, -1, &r);
        tu_run_free(&r);
    }
    if (f != NULL)
        fclose(f);
}

static char store_error[512];

/* Unchecked (in the runner process, which then knows the uuid to clean up after a failure). */
static void store_setup(void)
{
    store_error[0] = '\0';
    if (!tu_store_make(&S, "concurrency", "create_timeout = 120\nstop_timeout = 2\n", store_error,
                       sizeof store_error) &&
        store_error[0] == '\0')
        snprintf(store_error, sizeof store_error, "tu_store_make failed");
}

/* The instances, each with a backup for restore. */
static void make_instances(void)
{
    ck_assert_msg(store_error[0] == '\0', "store: %s", store_error);
    char tag[12];
    tu_random_hex(tag, 4);
    for (int i = 0; i < NINST; i++) {
        char db[40];
        snprintf(names[i], sizeof names[i], "conc-%s-%d", tag, i);
        snprintf(db, sizeof db, "conc_%s_%d", tag, i);
        tu_run r =
            tu_instctl(NULL, (const char *[]){"--config", S.conf, "create", names[i], "--database",
                                              db, "--admin-email", "admin@example.com",
                                              "--admin-password-file", S.adminpw, NULL});
        ck_assert_msg(r.status == 0, "create %s: exit %d: %s", names[i], r.status, r.err);
        tu_run_free(&r);
        r = tu_instctl(NULL, (const char *[]){"--config", S.conf, "backup", names[i], NULL});
        ck_assert_msg(r.status == 0, "backup %s: exit %d: %s", names[i], r.status, r.err);
        tu_run_free(&r);
        char sql[200];
        snprintf(sql, sizeof sql, "SELECT id FROM instances WHERE name = '%s'", names[i]);
        char *id = tu_sql(S.db, sql);
        snprintf(ids[i], sizeof ids[i], "%s", id);
        free(id);
    }
}

static void store_teardown(void)
{
    tu_store_clean(&S);
}

/* Reads a result file into the counts; its "E" lines to bad. */
static void tally(const char *path, int counts[][10], FILE *bad)
{
    char *text = tu_read_file(path), *save = NULL;
    for (char *l = strtok_r(text, "\n", &save); l != NULL; l = strtok_r(NULL, "\n", &save)) {
        int a, st;
        if (sscanf(l, "A %d %d", &a, &st) == 2)
            counts[a + 1][st >= 0 && st <= 8 ? st : 9]++;
        else if (l[0] == 'E')
            fprintf(bad, "%s\n", l + 2);
    }
    free(text);
}

static void print_counts(int counts[][10])
{
    printf("concurrency: exit statuses per action (0..8, other)\n");
    for (int a = 0; a <= (int)NACTIONS; a++) {
        char label[64] = "reconcile";
        for (size_t k = 0, l = 0; a > 0 && k < 5 && actions[a - 1].args[k] != NULL; k++)
            if (strcmp(actions[a - 1].args[k], "@") != 0 &&
                strcmp(actions[a - 1].args[k], "--odoo-version") != 0)
                l += (size_t)snprintf(label + l, sizeof label - l, "%s%s", l ? " " : "",
                                      actions[a - 1].args[k]);
        printf("  %-28s", label);
        for (int s = 0; s < 10; s++)
            printf(" %4d", counts[a][s]);
        printf("\n");
    }
}

START_TEST(test_concurrency)
{
    make_instances();
    const char *secs = getenv("CONC_SECONDS");
    double until = tu_now_s() + (secs != NULL && atof(secs) > 0 ? atof(secs) : 30);
    char dir[64] = "/tmp/instctl-conc-XXXXXX", path[128];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    pid_t pids[NWORKERS + NLOOPS];
    fflush(stdout);
    for (int w = 0; w < NWORKERS + NLOOPS; w++) {
        snprintf(path, sizeof path, "%s/%d", dir, w);
        pids[w] = fork();
        if (pids[w] == 0) {
            if (w < NWORKERS)
                worker((unsigned)(getpid() * 7919 + w), until, path);
            else
                reconcile_loop(until, path);
            _exit(0);
        }
    }
    for (int w = 0; w < NWORKERS + NLOOPS; w++)
        tu_wait_exit(pids[w], 600);
    int counts[NACTIONS + 1][10] = {{0}};
    char *bad = NULL;
    size_t blen = 0;
    FILE *b = open_memstream(&bad, &blen);
    for (int w = 0; w < NWORKERS + NLOOPS; w++) {
        snprintf(path, sizeof path, "%s/%d", dir, w);
        tally(path, counts, b);
        unlink(path);
    }
    rmdir(dir);
    fclose(b);
    print_counts(counts);
    fflush(stdout);
    int ok = 0;
    for (size_t a = 1; a <= NACTIONS; a++)
        ok += counts[a][0];
    ck_assert_msg(bad[0] == '\0', "exit 8, a signal or \"database is locked\":\n%.3000s", bad);
    free(bad);
    ck_assert_msg(ok > 0, "no action succeeded in the run");
    tu_run r = tu_instctl(NULL, (const char *[]){"--config", S.conf, "reconcile", NULL});
    ck_assert_msg(r.status == 0, "the final reconcile pass: exit %d: %s", r.status, r.err);
    tu_run_free(&r);
    char *report = NULL;
    size_t rlen = 0;
    FILE *rep = open_memstream(&report, &rlen);
    int failed = 0;
    for (int i = 0; i < NINST; i++) {
        fprintf(rep, "%s:\n", names[i]);
        failed += tu_check_instance(&S, ids[i], NULL, rep);
    }
    fclose(rep);
    char *st = tu_sql_rows(S.db, "SELECT name, status FROM instances ORDER BY name");
    printf("concurrency: at the end:\n%s", st);
    free(st);
    printf("concurrency: %d instance invariant(s) violated at the end%s%s\n", failed,
           failed ? "\n" : "", failed ? report : "");
    fflush(stdout); /* Check ends a failed case with _exit */
    ck_assert_msg(failed == 0, "%d invariant(s) violated:\n%.3000s", failed, report);
    free(report);
}
END_TEST

Suite *suite_concurrency(void)
{
    Suite *s = suite_create("concurrency");
    TCase *tc = tcase_create("concurrency");
    tcase_add_unchecked_fixture(tc, store_setup, store_teardown);
    tcase_set_timeout(tc, 900);
    tcase_add_test(tc, test_concurrency);
    suite_add_tcase(s, tc);
    return s;
}
