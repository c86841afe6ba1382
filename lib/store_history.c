/* The status_events table (DESIGN §5): the history, one chain of status changes per instance. */
#include "store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

lc_err history_add(lc_store *s, const char *id, int from, InstanceStatus to, const char *cause,
                   const char *detail, lc_diag *d)
{
    sqlite3_stmt *st = stmt(s, STMT_HISTORY_ADD, d);
    if (st == NULL)
        return LC_ESTORE;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    bind_status_or_null(st, 2, from);
    bind_status_or_null(st, 3, (int)to);
    sqlite3_bind_text(st, 4, cause, -1, SQLITE_TRANSIENT);
    bind_text_or_null(st, 5, detail);
    sqlite3_bind_int64(st, 6, (sqlite3_int64)time(NULL));
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? LC_OK : STORE_ERR(s, d, "add history");
}

static void read_history(sqlite3_stmt *st, void *row)
{
    lc_history *h = row;
    InstanceStatus v;
    const char *from = (const char *)sqlite3_column_text(st, 1);
    const char *cause = (const char *)sqlite3_column_text(st, 3);
    const char *detail = (const char *)sqlite3_column_text(st, 4);
    h->at = (time_t)sqlite3_column_int64(st, 0);
    h->from = from != NULL && instance_status_parse(from, &v) ? (int)v : -1;
    instance_status_parse((const char *)sqlite3_column_text(st, 2), &h->to);
    snprintf(h->cause, sizeof h->cause, "%s", cause != NULL ? cause : "");
    snprintf(h->detail, sizeof h->detail, "%s", detail != NULL ? detail : "");
}

lc_err store_history(lc_store *s, const char *id, lc_history **out, size_t *n, lc_diag *d)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = stmt(s, STMT_HISTORY, d);
    if (st == NULL)
        return LC_ESTORE;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    return collect_rows(s, st, sizeof **out, read_history, (void **)out, n, "read history", d);
}
