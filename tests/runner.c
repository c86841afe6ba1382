/*
 * Test runner: one binary per test kind (unit, integration). Its suites are
 * the `Suite *suite_*(void)` functions the Makefile collected into SUITES_H.
 * Prints Check's report, then "<kind>: N passed, N failed" for run-tests.sh.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define X(f) Suite *f(void);
#include SUITES_H
#undef X

int main(int argc, char **argv)
{
    /* Integration cases drive a real engine: give each one minutes, not 4 s. */
    setenv("CK_DEFAULT_TIMEOUT", "600", 0);
    SRunner *sr = srunner_create(NULL);
#define X(f) srunner_add_suite(sr, f());
#include SUITES_H
#undef X
    if (argc > 1)
        setenv("CK_RUN_SUITE", argv[1], 1);
    srunner_run_all(sr, CK_NORMAL);
    int run = srunner_ntests_run(sr);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    printf("%s: %d passed, %d failed\n", RUNNER_NAME, run - failed, failed);
    return failed == 0 ? 0 : 1;
}
