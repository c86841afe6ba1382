/*
 * Writes that follow an action or a reconcile pass: saving an action's
 * outcome under its lease, reconcile's compare-and-set, observations, and
 * the read-only history and stats queries.
 */
#include "store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void bind_holder(sqlite3_stmt *st, int first, const lc_lease_holder *h)
{
    sqlite3_bind_int64(st, first, h->pid);
    sqlite3_bind_int64(st, first + 1, (sqlite3_int64)h->start);
    sqlite3_bind_text(st, first + 2, h->boot, -1, SQLITE_TRANSIENT);
}

static lc_err save_row(lc_store *s, const lc_instance *in, lc_diag *d)
{
    sqlite3_stmt *st = stmt(s, STMT_SAVE, d);
    if (st == NULL)
        return LC_ESTORE;
    sqlite3_bind_text(st, 1, in->id, -1, SQLITE_TRANSIENT);
    bind_status_or_null(st, 2, (int)in->status);
    bind_text_or_null(st, 3, in->container_id);
    const char *text[] = {in->container_name, in->volume_name, in->image, in->odoo_version};
    for (int i = 0; i < 4; i++)
        sqlite3_bind_text(st, 4 + i, text[i], -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 8, in->hold_billing);
    sqlite3_bind_int(st, 9, in->hold_operator);
    bind_status_or_null(st, 10, in->suspended_from);
    bind_status_or_null(st, 11, in->previous_status);
    bind_text_or_null(st, 12, in->error_message);
    bind_text_or_null(st, 13, in->op_step);
    if (in->op_deadline)
        sqlite3_bind_int64(st, 14, (sqlite3_int64)in->op_deadline);
    sqlite3_bind_int64(st, 15, (sqlite3_int64)time(NULL));
    bind_holder(st, 16, &s->self);
    sqlite3_bind_int(st, 19, in->final_backup_pending);
    sqlite3_bind_text(st, 24, in->host[0] ? in->host : LC_HOST_LOCAL, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 25, in->odoo_port);
    char objects[2048];
    if (in->op.kind != ACT_NONE) {
        sqlite3_bind_text(st, 20, lc_action_id_name(in->op.kind), -1, SQLITE_STATIC);
        bind_status_or_null(st, 21, in->op.from);
        if (lc_journal_encode(&in->op, objects, sizeof objects))
            bind_text_or_null(st, 22, objects);
    }
    if (in->status == INSTANCE_ERROR || in->error_message[0] != '\0')
        sqlite3_bind_text(st, 23, in->error_from_op ? "operation" : "reconcile", -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return STORE_ERR(s, d, "save instance");
    if (sqlite3_changes(s->db) != 1)
        return lc_fail(d, LC_EBUSY, "instance %s: lease lost before saving", in->name);
    return LC_OK;
}

lc_err store_journal(lc_store *s, const lc_instance *in, lc_diag *d)
{
    sqlite3_stmt *st = stmt(s, STMT_JOURNAL, d);
    if (st == NULL)
        return LC_ESTORE;
    char objects[2048];
    sqlite3_bind_text(st, 1, in->id, -1, SQLITE_TRANSIENT);
    if (in->op.kind != ACT_NONE) {
        sqlite3_bind_text(st, 2, lc_action_id_name(in->op.kind), -1, SQLITE_STATIC);
        bind_status_or_null(st, 3, in->op.from);
        if (!lc_journal_encode(&in->op, objects, sizeof objects))
            return lc_fail(d, LC_ESTORE, "instance %s: operation journal too long", in->name);
        bind_text_or_null(st, 6, objects);
    }
    bind_text_or_null(st, 4, in->op_step);
    if (in->op_deadline)
        sqlite3_bind_int64(st, 5, (sqlite3_int64)in->op_deadline);
    bind_text_or_null(st, 7, in->container_id);
    const char *text[] = {in->volume_name, in->image, in->odoo_version};
    for (int i = 0; i < 3; i++)
        sqlite3_bind_text(st, 8 + i, text[i], -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 11, (sqlite3_int64)time(NULL));
    bind_holder(st, 12, &s->self);
    sqlite3_bind_text(st, 15, in->host[0] ? in->host : LC_HOST_LOCAL, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 16, in->odoo_port);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return STORE_ERR(s, d, "record step");
    if (sqlite3_changes(s->db) != 1)
        return lc_fail(d, LC_EBUSY, "instance %s: lease lost before step %s", in->name,
                       in->op_step);
    return LC_OK;
}

static lc_err lease_clear(lc_store *s, const char *id, const lc_lease_holder *h, lc_diag *d)
{
    sqlite3_stmt *st = stmt(s, STMT_LEASE_CLEAR, d);
    if (st == NULL)
        return LC_ESTORE;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    bind_holder(st, 2, h);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? LC_OK : STORE_ERR(s, d, "release lease");
}

lc_err store_save(lc_store *s, const lc_instance *in, InstanceStatus from, const char *cause,
                  const char *detail, bool release, lc_diag *d)
{
    return store_save_event(s, in, from, cause, detail, release, NULL, d);
}

lc_err store_save_event(lc_store *s, const lc_instance *in, InstanceStatus from, const char *cause,
                        const char *detail, bool release, const lc_billing_record *ev, lc_diag *d)
{
    lc_err e = store_begin(s, d);
    if (e != LC_OK)
        return e;
    e = save_row(s, in, d);
    if (e == LC_OK && ev != NULL)
        e = billing_add(s, ev, d);
    if (e == LC_OK && in->status != from)
        e = history_add(s, in->id, (int)from, in->status, cause, detail, d);
    if (e == LC_OK && release)
        e = lease_clear(s, in->id, &s->self, d);
    if (e == LC_OK)
        return store_commit(s, d);
    store_rollback(s);
    return e;
}

lc_err store_lease_release(lc_store *s, const char *id, lc_diag *d)
{
    return lease_clear(s, id, &s->self, d);
}

lc_err store_lease_break(lc_store *s, const char *id, const lc_lease_holder *dead, lc_diag *d)
{
    return lease_clear(s, id, dead, d);
}

lc_err store_lease_extend(lc_store *s, const char *id, int seconds, lc_diag *d)
{
    sqlite3_stmt *st = stmt(s, STMT_LEASE_EXTEND, d);
    if (st == NULL)
        return LC_ESTORE;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)(time(NULL) + seconds));
    sqlite3_bind_int64(st, 3, s->self.pid);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)s->self.start);
    sqlite3_bind_text(st, 5, s->self.boot, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return STORE_ERR(s, d, "extend lease");
    return sqlite3_changes(s->db) == 1 ? LC_OK : lc_fail(d, LC_EBUSY, "lease lost");
}

lc_err store_history(lc_store *s, const char *id, lc_history **out, size_t *n, lc_diag *d)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = stmt(s, STMT_HISTORY, d);
    if (st == NULL)
        return LC_ESTORE;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            lc_history *grown = realloc(*out, cap * sizeof **out);
            if (grown == NULL) {
                sqlite3_reset(st);
                return lc_fail(d, LC_ENOMEM, "out of memory reading history");
            }
            *out = grown;
        }
        lc_history *h = &(*out)[(*n)++];
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
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? LC_OK : STORE_ERR(s, d, "read history");
}

lc_err store_stats(lc_store *s, long counts[INSTANCE_STATUS_COUNT], lc_diag *d)
{
    memset(counts, 0, sizeof(long) * INSTANCE_STATUS_COUNT);
    sqlite3_stmt *st = stmt(s, STMT_STATS, d);
    if (st == NULL)
        return LC_ESTORE;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        InstanceStatus v;
        if (instance_status_parse((const char *)sqlite3_column_text(st, 0), &v))
            counts[v] = (long)sqlite3_column_int64(st, 1);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? LC_OK : STORE_ERR(s, d, "count instances");
}

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
