/* The metrics table (issue 12): figures kept between runs for the metrics file. */
#include "store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

lc_err store_metric_set(lc_store *s, const char *name, double value, lc_diag *d)
{
    sqlite3_stmt *st = stmt(s, STMT_METRIC_SET, d);
    if (st == NULL)
        return LC_ESTORE;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(st, 2, value);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)time(NULL));
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? LC_OK : STORE_ERR(s, d, "set figure");
}

static void read_metric(sqlite3_stmt *st, void *row)
{
    lc_metric_row *m = row;
    const char *name = (const char *)sqlite3_column_text(st, 0);
    snprintf(m->name, sizeof m->name, "%s", name != NULL ? name : "");
    m->value = sqlite3_column_double(st, 1);
}

lc_err store_metrics(lc_store *s, lc_metric_row **out, size_t *n, lc_diag *d)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = stmt(s, STMT_METRIC_ALL, d);
    if (st == NULL)
        return LC_ESTORE;
    return collect_rows(s, st, sizeof **out, read_metric, (void **)out, n, "read figures", d);
}

static void read_backup_age(sqlite3_stmt *st, void *row)
{
    lc_backup_age *a = row;
    const char *id = (const char *)sqlite3_column_text(st, 0);
    const char *name = (const char *)sqlite3_column_text(st, 1);
    snprintf(a->id, sizeof a->id, "%s", id != NULL ? id : "");
    snprintf(a->name, sizeof a->name, "%s", name != NULL ? name : "");
    a->newest = (time_t)sqlite3_column_int64(st, 2);
    a->size = sqlite3_column_type(st, 3) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 3);
}

lc_err store_backup_ages(lc_store *s, lc_backup_age **out, size_t *n, lc_diag *d)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = stmt(s, STMT_BACKUP_AGES, d);
    if (st == NULL)
        return LC_ESTORE;
    return collect_rows(s, st, sizeof **out, read_backup_age, (void **)out, n, "read backup ages",
                        d);
}
