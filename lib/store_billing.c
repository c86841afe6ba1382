/* Billing events in the store: seen ids, the last applied event, and records. */
#include "store_internal.h"

#include <stdio.h>
#include <string.h>

lc_err billing_add(lc_store *s, const lc_billing_record *ev, lc_diag *d)
{
    sqlite3_stmt *st = stmt(s, STMT_BILLING_ADD, d);
    if (st == NULL)
        return LC_ESTORE;
    sqlite3_bind_text(st, 1, ev->id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, ev->type, -1, SQLITE_TRANSIENT);
    bind_text_or_null(st, 3, ev->instance_id);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)ev->created);
    sqlite3_bind_text(st, 5, ev->outcome, -1, SQLITE_TRANSIENT);
    bind_text_or_null(st, 6, ev->detail);
    sqlite3_bind_int64(st, 7, (sqlite3_int64)time(NULL));
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? LC_OK : STORE_ERR(s, d, "record billing event");
}

lc_err store_billing_record(lc_store *s, const lc_billing_record *ev, lc_diag *d)
{
    lc_err e = store_begin(s, d);
    if (e == LC_OK)
        e = billing_add(s, ev, d);
    if (e == LC_OK)
        return store_commit(s, d);
    store_rollback(s);
    return e;
}

lc_err store_billing_seen(lc_store *s, const char *id, char *outcome, size_t len, lc_diag *d)
{
    sqlite3_stmt *st = stmt(s, STMT_BILLING_SEEN, d);
    if (st == NULL)
        return LC_ESTORE;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    const unsigned char *t = rc == SQLITE_ROW ? sqlite3_column_text(st, 0) : NULL;
    snprintf(outcome, len, "%s", t != NULL ? (const char *)t : "");
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? LC_OK : STORE_ERR(s, d, "read billing event");
}

lc_err store_billing_last_applied(lc_store *s, const char *instance_id, time_t *created, lc_diag *d)
{
    sqlite3_stmt *st = stmt(s, STMT_BILLING_LAST, d);
    if (st == NULL)
        return LC_ESTORE;
    sqlite3_bind_text(st, 1, instance_id, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    *created = rc == SQLITE_ROW ? (time_t)sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? LC_OK : STORE_ERR(s, d, "read billing events");
}
