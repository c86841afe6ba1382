/*
 * Test runner: one binary per test kind (unit, integration). Its suites are
 * the `Suite *suite_*(void)` functions the Makefile collected into SUITES_H.
 * With no filter (argv[1] or CK_RUN_SUITE names a suite, CK_RUN_CASE a
 * case) it runs them one at a time, printing Check's report and "suite
 * NAME: N tests, N failed, S s" after each (so a slow CI run shows where its
 * time went); filtered, in one runner. Last, "<kind>: N passed, N failed"
 * for run-tests.sh.
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define X(f) Suite *f(void);
#include SUITES_H
#undef X

typedef Suite *(*suite_fn)(void);

static const struct {
    const char *name; /* the function's name, suite_<name> */
    suite_fn make;
} suites[] = {
#define X(f) {#f, f},
#include SUITES_H
#undef X
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    /* Integration cases drive a real engine: give each one minutes, not 4 s. */
    setenv("CK_DEFAULT_TIMEOUT", "600", 0);
    if (argc > 1)
        setenv("CK_RUN_SUITE", argv[1], 1);
    bool filtered = getenv("CK_RUN_SUITE") != NULL || getenv("CK_RUN_CASE") != NULL;
    size_t nsuites = sizeof suites / sizeof suites[0];
    int run = 0, failed = 0;
    for (size_t i = 0; i < nsuites; i++) {
        double t0 = now_s();
        SRunner *sr = srunner_create(suites[i].make());
        for (size_t j = i + 1; filtered && j < nsuites; j++)
            srunner_add_suite(sr, suites[j].make());
        srunner_run_all(sr, CK_NORMAL);
        int n = srunner_ntests_run(sr), f = srunner_ntests_failed(sr);
        srunner_free(sr);
        if (!filtered)
            printf("suite %s: %d tests, %d failed, %.0f s\n", suites[i].name + strlen("suite_"), n,
                   f, now_s() - t0);
        fflush(stdout);
        run += n;
        failed += f;
        if (filtered)
            break;
    }
    printf("%s: %d passed, %d failed\n", RUNNER_NAME, run - failed, failed);
    return failed == 0 ? 0 : 1;
}
