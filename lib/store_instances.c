/*
 * The instances table: reading a row, resolving a reference, listing,
 * inserting, recording an operation's step (the journal) and writing its
 * outcome (row, history, billing event and lease release in one
 * transaction).
 */
#include "store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The column's text into dst, cut to len - 1 bytes; "" for NULL. */
static void copy_col(sqlite3_stmt *st, int col, char *dst, size_t len)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    size_t n = t != NULL ? (size_t)sqlite3_column_bytes(st, col) : 0;
    n = n < len ? n : len - 1;
    if (n > 0)
        memcpy(dst, t, n);
    dst[n] = '\0';
}

static int status_col(sqlite3_stmt *st, int col)
{
    InstanceStatus v;
    const char *t = (const char *)sqlite3_column_text(st, col);
    return t != NULL && instance_status_parse(t, &v) ? (int)v : -1;
}

void read_instance(sqlite3_stmt *st, lc_instance *o)
{
    memset(o, 0, sizeof *o);
    copy_col(st, 0, o->id, sizeof o->id);
    copy_col(st, 1, o->name, sizeof o->name);
    copy_col(st, 2, o->admin_email, sizeof o->admin_email);
    copy_col(st, 3, o->database_name, sizeof o->database_name);
    copy_col(st, 4, o->odoo_version, sizeof o->odoo_version);
    copy_col(st, 5, o->image, sizeof o->image);
    copy_col(st, 6, o->container_id, sizeof o->container_id);
    copy_col(st, 7, o->container_name, sizeof o->container_name);
    copy_col(st, 8, o->volume_name, sizeof o->volume_name);
    o->status = (InstanceStatus)status_col(st, 9);
    o->hold_billing = sqlite3_column_int(st, 10) != 0;
    o->hold_operator = sqlite3_column_int(st, 11) != 0;
    o->suspended_from = status_col(st, 12);
    o->previous_status = status_col(st, 13);
    copy_col(st, 14, o->error_message, sizeof o->error_message);
    o->version = sqlite3_column_int64(st, 15);
    copy_col(st, 16, o->lease.host, sizeof o->lease.host);
    o->lease.pid = (long)sqlite3_column_int64(st, 17);
    o->lease.start = (unsigned long long)sqlite3_column_int64(st, 18);
    copy_col(st, 19, o->lease.boot, sizeof o->lease.boot);
    o->lease_deadline = (time_t)sqlite3_column_int64(st, 20);
    copy_col(st, 21, o->op_step, sizeof o->op_step);
    o->op_deadline = (time_t)sqlite3_column_int64(st, 22);
    char state[32];
    copy_col(st, 23, state, sizeof state);
    o->obs.state = state[0] ? container_state_parse(state) : CONTAINER_UNKNOWN;
    o->obs.exit_code = sqlite3_column_int(st, 24);
    copy_col(st, 25, o->obs.health, sizeof o->obs.health);
    o->obs.restart_count = sqlite3_column_int(st, 26);
    o->obs.restart_base = sqlite3_column_int(st, 27);
    o->obs.restart_window_start = (time_t)sqlite3_column_int64(st, 28);
    o->obs.first_seen = (time_t)sqlite3_column_int64(st, 29);
    o->obs.observed_at = (time_t)sqlite3_column_int64(st, 30);
    o->obs_started_at = (time_t)sqlite3_column_int64(st, 31);
    o->created_at = (time_t)sqlite3_column_int64(st, 32);
    o->updated_at = (time_t)sqlite3_column_int64(st, 33);
    o->final_backup_pending = sqlite3_column_int(st, 34) != 0;
    char kind[32];
    copy_col(st, 35, kind, sizeof kind);
    lc_action_id_parse(kind, &o->op.kind);
    o->op.from = status_col(st, 36);
    if (!lc_journal_decode((const char *)sqlite3_column_text(st, 37), &o->op))
        o->op.kind = ACT_NONE;
    const char *source = (const char *)sqlite3_column_text(st, 38);
    o->error_from_op = source != NULL && strcmp(source, "operation") == 0;
    copy_col(st, 39, o->host, sizeof o->host);
    o->odoo_port = sqlite3_column_int(st, 40);
}

int bind_text_or_null(sqlite3_stmt *st, int idx, const char *text)
{
    if (text == NULL || text[0] == '\0')
        return sqlite3_bind_null(st, idx);
    return sqlite3_bind_text(st, idx, text, -1, SQLITE_TRANSIENT);
}

int bind_status_or_null(sqlite3_stmt *st, int idx, int status)
{
    if (status < 0)
        return sqlite3_bind_null(st, idx);
    return sqlite3_bind_text(st, idx, instance_status_name((InstanceStatus)status), -1,
                             SQLITE_STATIC);
}

static lc_err fetch_one(lc_store *s, sqlite3_stmt *st, const char *ref, lc_instance *out,
                        lc_diag *d)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        read_instance(st, out);
        sqlite3_reset(st);
        return LC_OK;
    }
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        return lc_fail(d, LC_ENOTFOUND, "instance %s not found", ref);
    return STORE_ERR(s, d, "read instance");
}

lc_err store_get(lc_store *s, const char *id, lc_instance *out, lc_diag *d)
{
    sqlite3_stmt *st = stmt(s, STMT_GET, d);
    if (st == NULL)
        return LC_ESTORE;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    return fetch_one(s, st, id, out, d);
}

static lc_err resolve_prefix(lc_store *s, const char *ref, lc_instance *out, lc_diag *d)
{
    sqlite3_stmt *st = stmt(s, STMT_BY_PREFIX, d);
    if (st == NULL)
        return LC_ESTORE;
    sqlite3_bind_text(st, 1, ref, -1, SQLITE_TRANSIENT);
    lc_err e = fetch_one(s, st, ref, out, d);
    if (e != LC_OK)
        return e;
    sqlite3_step(st);
    bool second = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_reset(st);
    if (second)
        return lc_fail(d, LC_EUSAGE, "instance id prefix %s is ambiguous; give more characters",
                       ref);
    return LC_OK;
}

lc_err store_resolve(lc_store *s, const char *ref, lc_instance *out, lc_diag *d)
{
    if (ref == NULL || ref[0] == '\0')
        return lc_fail(d, LC_EUSAGE, "missing instance (give an id, id prefix or name)");
    lc_err e = store_get(s, ref, out, d);
    if (e != LC_ENOTFOUND)
        return e;
    sqlite3_stmt *st = stmt(s, STMT_BY_NAME, d);
    if (st == NULL)
        return LC_ESTORE;
    sqlite3_bind_text(st, 1, ref, -1, SQLITE_TRANSIENT);
    e = fetch_one(s, st, ref, out, d);
    bool hex = strlen(ref) >= 4 && strspn(ref, "0123456789abcdef-") == strlen(ref);
    if (!hex || (e != LC_OK && e != LC_ENOTFOUND))
        return e;
    if (e == LC_ENOTFOUND)
        return resolve_prefix(s, ref, out, d);
    lc_instance other;
    if (resolve_prefix(s, ref, &other, NULL) != LC_ENOTFOUND && strcmp(other.id, out->id) != 0)
        return lc_fail(d, LC_EUSAGE,
                       "%s is both the name of instance %.8s and a prefix of instance %.8s's id; "
                       "give the full id",
                       ref, out->id, other.id);
    return LC_OK;
}

static void read_instance_row(sqlite3_stmt *st, void *row)
{
    read_instance(st, row);
}

lc_err store_list(lc_store *s, bool all, int only, lc_instance **out, size_t *n, lc_diag *d)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = stmt(s, STMT_LIST, d);
    if (st == NULL)
        return LC_ESTORE;
    sqlite3_bind_int(st, 1, all || only == INSTANCE_TERMINATED);
    bind_status_or_null(st, 2, only);
    return collect_rows(s, st, sizeof **out, read_instance_row, (void **)out, n, "list instances",
                        d);
}

lc_err store_list_each(lc_store *s, bool all, int only, bool brief, lc_row_fn fn, void *arg,
                       lc_diag *d)
{
    sqlite3_stmt *st = stmt(s, brief ? STMT_LIST_BRIEF : STMT_LIST, d);
    if (st == NULL)
        return LC_ESTORE;
    sqlite3_bind_int(st, 1, all || only == INSTANCE_TERMINATED);
    bind_status_or_null(st, 2, only);
    lc_instance row;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        read_instance(st, &row);
        if (!fn(arg, &row)) {
            sqlite3_reset(st);
            return LC_OK;
        }
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? LC_OK : STORE_ERR(s, d, "list instances");
}

lc_err store_list_widths(lc_store *s, int *name, int *host, int *hosts, lc_diag *d)
{
    *name = *host = *hosts = 0;
    sqlite3_stmt *st = stmt(s, STMT_LIST_WIDTHS, d);
    if (st == NULL)
        return LC_ESTORE;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *name = sqlite3_column_int(st, 0);
        *host = sqlite3_column_int(st, 1);
        *hosts = sqlite3_column_int(st, 2);
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? LC_OK : STORE_ERR(s, d, "list instances");
}

static bool live_row_exists(lc_store *s, stmt_id which, const char *value)
{
    sqlite3_stmt *st = stmt(s, which, NULL);
    if (st == NULL)
        return false;
    sqlite3_bind_text(st, 1, value, -1, SQLITE_TRANSIENT);
    bool found = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_reset(st);
    return found;
}

static lc_err insert_row(lc_store *s, const lc_instance *in, int lease_seconds, lc_diag *d)
{
    sqlite3_stmt *st = stmt(s, STMT_INSERT, d);
    if (st == NULL)
        return LC_ESTORE;
    time_t now = time(NULL);
    const char *text[] = {in->id,           in->name,  in->admin_email,    in->database_name,
                          in->odoo_version, in->image, in->container_name, in->volume_name,
                          s->self.host};
    for (int i = 0; i < 9; i++)
        sqlite3_bind_text(st, i + 1, text[i], -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 10, s->self.pid);
    sqlite3_bind_int64(st, 11, (sqlite3_int64)s->self.start);
    sqlite3_bind_text(st, 12, s->self.boot, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 13, (sqlite3_int64)(now + lease_seconds));
    bind_text_or_null(st, 14, in->op_step);
    sqlite3_bind_int64(st, 15, (sqlite3_int64)in->op_deadline);
    sqlite3_bind_int64(st, 16, (sqlite3_int64)now);
    sqlite3_bind_text(st, 17, in->host[0] ? in->host : LC_HOST_LOCAL, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? LC_OK : STORE_ERR(s, d, "insert instance");
}

lc_err store_insert(lc_store *s, const lc_instance *in, int lease_seconds, lc_diag *d)
{
    lc_err e = store_begin(s, d);
    if (e != LC_OK)
        return e;
    if (live_row_exists(s, STMT_LIVE_NAME, in->name))
        e = lc_fail(d, LC_EUSAGE, "name %s is already used by a live instance", in->name);
    else if (live_row_exists(s, STMT_LIVE_DB, in->database_name))
        e = lc_fail(d, LC_EUSAGE, "database name %s is already used by a live instance",
                    in->database_name);
    if (e == LC_OK)
        e = insert_row(s, in, lease_seconds, d);
    if (e == LC_OK)
        e = history_add(s, in->id, -1, INSTANCE_CREATING, "action", "create", d);
    if (e == LC_OK)
        return store_commit(s, d);
    store_rollback(s);
    return e;
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

lc_err store_save(lc_store *s, const lc_instance *in, InstanceStatus from, const char *cause,
                  const char *detail, bool release, lc_diag *d)
{
    lc_outcome w = {.from = from, .cause = cause, .detail = detail, .release = release};
    return store_write_outcome(s, in, &w, d);
}

lc_err store_write_outcome(lc_store *s, const lc_instance *in, const lc_outcome *w, lc_diag *d)
{
    lc_err e = store_begin(s, d);
    if (e != LC_OK)
        return e;
    e = save_row(s, in, d);
    if (e == LC_OK && w->ev != NULL)
        e = billing_add(s, w->ev, d);
    if (e == LC_OK && (in->status != w->from || w->history))
        e = history_add(s, in->id, (int)w->from, in->status, w->cause, w->detail, d);
    if (e == LC_OK && w->release)
        e = lease_clear(s, in->id, &s->self, d);
    if (e == LC_OK)
        return store_commit(s, d);
    store_rollback(s);
    return e;
}

lc_err store_stats(lc_store *s, const char *host, long counts[INSTANCE_STATUS_COUNT], lc_diag *d)
{
    memset(counts, 0, sizeof(long) * INSTANCE_STATUS_COUNT);
    sqlite3_stmt *st = stmt(s, host != NULL ? STMT_STATS_HOST : STMT_STATS, d);
    if (st == NULL)
        return LC_ESTORE;
    if (host != NULL)
        sqlite3_bind_text(st, 1, host, -1, SQLITE_TRANSIENT);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        InstanceStatus v;
        if (instance_status_parse((const char *)sqlite3_column_text(st, 0), &v))
            counts[v] = (long)sqlite3_column_int64(st, 1);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? LC_OK : STORE_ERR(s, d, "count instances");
}
