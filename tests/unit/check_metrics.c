/*
 * The metrics textfile (issue 12): what metrics_format writes parses under
 * the Prometheus text format rules (tu_prom_check), carries all eight
 * statuses with zeros, the stored figures and the backup ages; the file is
 * replaced atomically and a bad path fails cleanly. The checker itself is
 * checked on lines it must refuse.
 */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "metrics.h"
#include "testutil.h"

static char *format(const lc_metrics *m)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ck_assert_ptr_nonnull(f);
    metrics_format(m, f);
    fclose(f);
    return text;
}

static void assert_prom(const char *text)
{
    char why[512];
    ck_assert_msg(tu_prom_check(text, why, sizeof why), "%s\n%s", why, text);
}

START_TEST(every_status_with_zeros)
{
    lc_metrics m = {.now = 1000};
    m.by_status[INSTANCE_RUNNING] = 3;
    char *text = format(&m);
    assert_prom(text);
    for (int i = 0; i < INSTANCE_STATUS_COUNT; i++) {
        char line[128];
        snprintf(line, sizeof line, "instctl_instances{status=\"%s\"} %d\n",
                 instance_status_name((InstanceStatus)i), i == INSTANCE_RUNNING ? 3 : 0);
        ck_assert_msg(strstr(text, line) != NULL, "no %s in\n%s", line, text);
    }
    ck_assert_ptr_nonnull(strstr(text, "instctl_reconcile_last_success_timestamp_seconds 0\n"));
    ck_assert_ptr_nonnull(strstr(text, "instctl_watch_relists_total 0\n"));
    free(text);
}
END_TEST

START_TEST(figures_and_backup_ages)
{
    lc_metric_row figures[] = {
        {LC_METRIC_PASS_AT, 1796142007},   {LC_METRIC_PASS_SECONDS, 0.25},
        {LC_METRIC_DECISIONS "change", 2}, {LC_METRIC_WATCH_LAG, 0.0125},
        {LC_METRIC_WATCH_RELISTS, 7},
    };
    lc_backup_age ages[] = {
        {"11111111-0000-4000-8000-000000000000", "acme", 400, 1048576},
        {"22222222-0000-4000-8000-000000000000", "we\"ird\\name", 0, -1},
    };
    lc_metrics m = {.figures = figures, .n_figures = 5, .ages = ages, .n_ages = 2, .now = 1000};
    char *text = format(&m);
    assert_prom(text);
    static const char *const want[] = {
        "instctl_reconcile_last_success_timestamp_seconds 1796142007\n",
        "instctl_reconcile_last_duration_seconds 0.250000\n",
        "instctl_reconcile_decisions{verdict=\"change\"} 2\n",
        "instctl_reconcile_decisions{verdict=\"keep\"} 0\n",
        "instctl_watch_event_lag_seconds 0.012500\n",
        "instctl_watch_relists_total 7\n",
        "# TYPE instctl_watch_relists_total counter\n",
        "{instance=\"11111111-0000-4000-8000-000000000000\",name=\"acme\"} 600\n",
        "name=\"we\\\"ird\\\\name\"} +Inf\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        ck_assert_msg(strstr(text, want[i]) != NULL, "no %s in\n%s", want[i], text);
    free(text);
}
END_TEST

START_TEST(checker_refuses)
{
    static const char *const bad[] = {
        "9bad 1\n",
        "a{b=\"c} 1\n",
        "a{b=\"\\x\"} 1\n",
        "a 1\nb 2\na 3\n",
        "a one\n",
        "a 1",
        "# TYPE a gauge\n# TYPE a gauge\na 1\n",
        "a 1\n# TYPE a gauge\n",
        "# TYPE a meter\n",
    };
    char why[256];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(!tu_prom_check(bad[i], why, sizeof why), "accepted: %s", bad[i]);
    ck_assert(
        tu_prom_check("# HELP a x\n# TYPE a gauge\na{b=\"\\n\"} +Inf\na 1e-3\n", why, sizeof why));
}
END_TEST

static size_t entries(const char *dir)
{
    size_t n = 0;
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* A store's own figures through metrics_update_file; the file is replaced, nothing else left. */
START_TEST(written_atomically_from_a_store)
{
    char *dir = tu_tmpdir("metrics");
    char db[300], path[300], bad[300];
    snprintf(db, sizeof db, "%s/db/instctl.db", dir);
    snprintf(path, sizeof path, "%s/instctl.prom", dir);
    snprintf(bad, sizeof bad, "%s/none/instctl.prom", dir);
    lc_store *s;
    lc_diag d = {""};
    ck_assert_msg(store_open(db, STORE_CREATE, &s, &d) == LC_OK, "%s", d.msg);
    ck_assert(tu_write_file(path, "old\n"));
    ck_assert_int_eq(store_metric_set(s, LC_METRIC_WATCH_EVENTS, 42, &d), LC_OK);
    ck_assert_int_eq(metrics_update_file(s, path, &d), LC_OK);
    ck_assert_int_eq(metrics_update_file(s, "", &d), LC_OK);
    char *text = tu_sql(db, "SELECT 1"); /* the store is readable meanwhile */
    free(text);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    assert_prom(buf);
    ck_assert_ptr_nonnull(strstr(buf, "instctl_watch_events_total 42\n"));
    ck_assert_ptr_nonnull(strstr(buf, "instctl_instances{status=\"terminated\"} 0\n"));
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0644);
    ck_assert_uint_eq(entries(dir), 2); /* db/ and the file: no temporary left */
    ck_assert_int_eq(metrics_update_file(s, bad, &d), LC_ECONFIG);
    ck_assert_ptr_nonnull(strstr(d.msg, "none"));
    store_close(s);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    tu_run r = tu_sh(cmd);
    tu_run_free(&r);
    free(dir);
}
END_TEST

Suite *suite_metrics(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("format");
    tcase_add_test(tc, every_status_with_zeros);
    tcase_add_test(tc, figures_and_backup_ages);
    tcase_add_test(tc, checker_refuses);
    tcase_add_test(tc, written_atomically_from_a_store);
    suite_add_tcase(s, tc);
    return s;
}
