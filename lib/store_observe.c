/*
 * The observation columns of the instances table and reconcile's
 * compare-and-set write (DESIGN §3): what the last pass saw, never the status
 * unless the verdict changes it.
 */
#include "store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

lc_err store_observe(lc_store *s, const char *id, const lc_obs_memory *obs, time_t started_at,
                     lc_diag *d)
{
    sqlite3_stmt *st = stmt(s, STMT_OBSERVE, d);
    if (st == NULL)
        return LC_ESTORE;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    if (obs->state != CONTAINER_UNKNOWN)
        sqlite3_bind_text(st, 2, container_state_name(obs->state), -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, obs->exit_code);
    bind_text_or_null(st, 4, obs->health);
    sqlite3_bind_int(st, 5, obs->restart_count);
    sqlite3_bind_int(st, 6, obs->restart_base);
    sqlite3_bind_int64(st, 7, (sqlite3_int64)obs->restart_window_start);
    sqlite3_bind_int64(st, 8, (sqlite3_int64)obs->first_seen);
    sqlite3_bind_int64(st, 9, (sqlite3_int64)obs->observed_at);
    sqlite3_bind_int64(st, 10, (sqlite3_int64)started_at);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? LC_OK : STORE_ERR(s, d, "write observation");
}

static lc_err reconcile_status(lc_store *s, const char *id, long long version,
                               const lc_derive_out *out, const char *old_message, bool *applied,
                               lc_diag *d)
{
    sqlite3_stmt *st = stmt(s, STMT_RECONCILE_STATUS, d);
    if (st == NULL)
        return LC_ESTORE;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, version);
    sqlite3_bind_text(st, 3, instance_status_name(out->status), -1, SQLITE_STATIC);
    bind_text_or_null(st, 4, out->set_message ? out->error_message : old_message);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)time(NULL));
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return STORE_ERR(s, d, "reconcile write");
    *applied = sqlite3_changes(s->db) == 1;
    return LC_OK;
}

lc_err store_reconcile_write(lc_store *s, const char *id, long long version,
                             const lc_derive_out *out, bool *applied, lc_diag *d)
{
    lc_instance cur;
    *applied = false;
    lc_err e = store_get(s, id, &cur, d);
    if (e != LC_OK)
        return e;
    if (cur.lease.pid > 0 && !lc_lease_live(&cur, time(NULL))) {
        e = lease_clear(s, id, &cur.lease, d);
        if (e != LC_OK)
            return e;
        memset(&cur.lease, 0, sizeof cur.lease);
    }
    bool status_write = out->verdict == VERDICT_CHANGE || out->set_message;
    if (status_write) {
        e = reconcile_status(s, id, version, out, cur.error_message, applied, d);
        if (e == LC_OK && *applied && out->status != cur.status)
            e = history_add(s, id, (int)cur.status, out->status, "reconcile", out->reason, d);
    } else {
        *applied = cur.version == version && !lc_lease_live(&cur, time(NULL));
    }
    if (e == LC_OK && *applied)
        e = store_observe(s, id, &out->next, cur.obs_started_at, d);
    return e;
}
