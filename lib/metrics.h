/*
 * The Prometheus textfile (issue 12, DESIGN §3a): instances by status, the
 * last reconcile pass, watch's figures and each live instance's newest
 * backup, for node_exporter's textfile collector. Written atomically (a
 * temporary file in the same directory, then rename) by `reconcile` after
 * each pass and by `watch`, from what the store holds, so either writer
 * produces the whole file.
 */
#ifndef LC_METRICS_H
#define LC_METRICS_H

#include <stdio.h>
#include <time.h>

#include "lc.h"
#include "status.h"
#include "store.h"

/* Names of the figures kept in the store (store_metric_set) and exported. */
#define LC_METRIC_PASS_SECONDS "reconcile_duration_s"
#define LC_METRIC_DECISIONS "decisions_" /* + keep|change|enforce|skip|lost */
#define LC_METRIC_WATCH_LAG "watch_lag_s"
#define LC_METRIC_WATCH_LAG_MAX "watch_lag_max_s"
#define LC_METRIC_WATCH_RELISTS "watch_relists"
#define LC_METRIC_WATCH_EVENTS "watch_events"
#define LC_METRIC_WATCH_UP "watch_connected"

/* Everything the file says, read from the store by metrics_collect. */
typedef struct lc_metrics {
    long by_status[INSTANCE_STATUS_COUNT];
    lc_metric_row *figures; /* malloc'd */
    size_t n_figures;
    lc_backup_age *ages; /* malloc'd; live instances */
    size_t n_ages;
    time_t now; /* for the backup ages */
} lc_metrics;

/* metrics_collect: fills *m from store s at time now (free with metrics_free). LC_ESTORE. */
lc_err metrics_collect(lc_store *s, time_t now, lc_metrics *m, lc_diag *d);
void metrics_free(lc_metrics *m);

/*
 * metrics_format: the text exposition format (0.0.4): one HELP and TYPE per
 * family, every status with its count (zeros included), figures not yet
 * recorded as 0, an instance without a backup as +Inf.
 */
void metrics_format(const lc_metrics *m, FILE *f);

/*
 * metrics_write: writes metrics_format to path through a temporary file
 * beside it (mode 0644) and rename, so a reader never sees half a file.
 * LC_ECONFIG naming the path and errno when it cannot be written.
 */
lc_err metrics_write(const char *path, const lc_metrics *m, lc_diag *d);

/* metrics_update_file: metrics_collect then metrics_write; nothing when path is "". */
lc_err metrics_update_file(lc_store *s, const char *path, lc_diag *d);

#endif
