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

/* Grows *v (elements of size) to hold one more than n; false when out of memory. */
static bool grow(void **v, size_t n, size_t *cap, size_t size)
{
    if (n < *cap)
        return true;
    size_t c = *cap ? *cap * 2 : 16;
    void *g = realloc(*v, c * size);
    if (g == NULL)
        return false;
    *v = g;
    *cap = c;
    return true;
}

lc_err store_metrics(lc_store *s, lc_metric_row **out, size_t *n, lc_diag *d)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = stmt(s, STMT_METRIC_ALL, d);
    if (st == NULL)
        return LC_ESTORE;
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (!grow((void **)out, *n, &cap, sizeof **out)) {
            sqlite3_reset(st);
            return lc_fail(d, LC_ENOMEM, "out of memory reading figures");
        }
        lc_metric_row *m = &(*out)[(*n)++];
        const char *name = (const char *)sqlite3_column_text(st, 0);
        snprintf(m->name, sizeof m->name, "%s", name != NULL ? name : "");
        m->value = sqlite3_column_double(st, 1);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? LC_OK : STORE_ERR(s, d, "read figures");
}

lc_err store_backup_ages(lc_store *s, lc_backup_age **out, size_t *n, lc_diag *d)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = stmt(s, STMT_BACKUP_AGES, d);
    if (st == NULL)
        return LC_ESTORE;
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (!grow((void **)out, *n, &cap, sizeof **out)) {
            sqlite3_reset(st);
            return lc_fail(d, LC_ENOMEM, "out of memory reading backups");
        }
        lc_backup_age *a = &(*out)[(*n)++];
        const char *id = (const char *)sqlite3_column_text(st, 0);
        const char *name = (const char *)sqlite3_column_text(st, 1);
        snprintf(a->id, sizeof a->id, "%s", id != NULL ? id : "");
        snprintf(a->name, sizeof a->name, "%s", name != NULL ? name : "");
        a->newest = (time_t)sqlite3_column_int64(st, 2);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? LC_OK : STORE_ERR(s, d, "read backup ages");
}
