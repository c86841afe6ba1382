/*
 * The Prometheus textfile: collected from the store, formatted by one table
 * of exported figures, written atomically (temporary file + rename).
 */
#include "metrics.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* One exported series: a stored figure under a metric name (and label). */
typedef struct series {
    const char *stored; /* name in the store's metrics table */
    const char *metric;
    const char *type;
    const char *help;
    const char *label; /* "" or `key="value"` */
} series;

/* Series of one family stand together; HELP and TYPE are printed once for it. */
static const series table[] = {
    {LC_METRIC_PASS_SECONDS, "instctl_reconcile_last_duration_seconds", "gauge",
     "Wall time of the last reconcile pass (cron, timer or watch's relist).", ""},
    {LC_METRIC_PASS_AT, "instctl_reconcile_last_success_timestamp_seconds", "gauge",
     "When the last reconcile pass wrote its results (Unix time).", ""},
    {LC_METRIC_DECISIONS "keep", "instctl_reconcile_decisions", "gauge",
     "Decisions of the last reconcile pass by verdict.", "verdict=\"keep\""},
    {LC_METRIC_DECISIONS "change", "instctl_reconcile_decisions", "gauge", "",
     "verdict=\"change\""},
    {LC_METRIC_DECISIONS "enforce", "instctl_reconcile_decisions", "gauge", "",
     "verdict=\"enforce\""},
    {LC_METRIC_DECISIONS "skip", "instctl_reconcile_decisions", "gauge", "", "verdict=\"skip\""},
    {LC_METRIC_DECISIONS "lost", "instctl_reconcile_decisions", "gauge", "", "verdict=\"lost\""},
    {LC_METRIC_WATCH_LAG, "instctl_watch_event_lag_seconds", "gauge",
     "Lag of the last event watch applied: from the engine's event time to the row written.", ""},
    {LC_METRIC_WATCH_LAG_MAX, "instctl_watch_event_lag_max_seconds", "gauge",
     "Largest event lag since the metrics file was last written by watch.", ""},
    {LC_METRIC_WATCH_EVENTS, "instctl_watch_events_total", "counter",
     "Engine events watch has handled.", ""},
    {LC_METRIC_WATCH_RELISTS, "instctl_watch_relists_total", "counter",
     "Full relists watch has run (on connect, after a stream error, on its timer).", ""},
    {LC_METRIC_WATCH_UP, "instctl_watch_connected", "gauge",
     "1 while watch follows the engine's event stream, 0 while it is away.", ""},
};

lc_err metrics_collect(lc_store *s, time_t now, lc_metrics *m, lc_diag *d)
{
    memset(m, 0, sizeof *m);
    m->now = now;
    lc_err e = store_stats(s, NULL, m->by_status, d);
    if (e == LC_OK)
        e = store_metrics(s, &m->figures, &m->n_figures, d);
    if (e == LC_OK)
        e = store_backup_ages(s, &m->ages, &m->n_ages, d);
    if (e != LC_OK)
        metrics_free(m);
    return e;
}

void metrics_free(lc_metrics *m)
{
    free(m->figures);
    free(m->ages);
    m->figures = NULL;
    m->ages = NULL;
    m->n_figures = m->n_ages = 0;
}

static double figure(const lc_metrics *m, const char *name)
{
    for (size_t i = 0; i < m->n_figures; i++) {
        if (strcmp(m->figures[i].name, name) == 0)
            return m->figures[i].value;
    }
    return 0;
}

static void family(FILE *f, const char *metric, const char *type, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", metric, help, metric, type);
}

/* A label value with \, " and newline escaped as the text format wants. */
static void label_value(FILE *f, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            fputc('\\', f);
        if (*v == '\n')
            fputs("\\n", f);
        else
            fputc(*v, f);
    }
}

static void backup_ages(const lc_metrics *m, FILE *f)
{
    family(f, "instctl_backup_newest_age_seconds", "gauge",
           "Age of each live instance's newest backup (+Inf when it has none).");
    for (size_t i = 0; i < m->n_ages; i++) {
        const lc_backup_age *a = &m->ages[i];
        fputs("instctl_backup_newest_age_seconds{instance=\"", f);
        label_value(f, a->id);
        fputs("\",name=\"", f);
        label_value(f, a->name);
        if (a->newest == 0)
            fputs("\"} +Inf\n", f);
        else
            fprintf(f, "\"} %lld\n", (long long)(m->now - a->newest));
    }
}

void metrics_format(const lc_metrics *m, FILE *f)
{
    family(f, "instctl_instances", "gauge", "Instances by status.");
    for (int i = 0; i < INSTANCE_STATUS_COUNT; i++)
        fprintf(f, "instctl_instances{status=\"%s\"} %ld\n",
                instance_status_name((InstanceStatus)i), m->by_status[i]);
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        const series *t = &table[i];
        if (i == 0 || strcmp(table[i - 1].metric, t->metric) != 0)
            family(f, t->metric, t->type, t->help);
        double v = figure(m, t->stored);
        fprintf(f, v == (double)(long long)v ? "%s%s%s%s %.0f\n" : "%s%s%s%s %.6f\n", t->metric,
                t->label[0] ? "{" : "", t->label, t->label[0] ? "}" : "", v);
    }
    backup_ages(m, f);
}

lc_err metrics_write(const char *path, const lc_metrics *m, lc_diag *d)
{
    char tmp[4200];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= sizeof tmp)
        return lc_fail(d, LC_ECONFIG, "metrics file %s: path too long", path);
    FILE *f = fopen(tmp, "w");
    if (f == NULL)
        return lc_fail(d, LC_ECONFIG, "metrics file %s: %s", tmp, strerror(errno));
    metrics_format(m, f);
    bool ok = fflush(f) == 0 && fchmod(fileno(f), 0644) == 0 && fsync(fileno(f)) == 0;
    int err = errno;
    ok = fclose(f) == 0 && ok;
    if (ok && rename(tmp, path) == 0)
        return LC_OK;
    err = ok ? errno : err;
    unlink(tmp);
    return lc_fail(d, LC_ECONFIG, "metrics file %s: %s", path, strerror(err));
}

lc_err metrics_update_file(lc_store *s, const char *path, lc_diag *d)
{
    if (path == NULL || path[0] == '\0')
        return LC_OK;
    lc_metrics m;
    lc_err e = metrics_collect(s, time(NULL), &m, d);
    if (e == LC_OK)
        e = metrics_write(path, &m, d);
    metrics_free(&m);
    return e;
}
