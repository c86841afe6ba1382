/*
 * Docker hosts in the store (DESIGN §7a, issue 11): adding, reading,
 * listing with their instance counts, draining and removing a host. The
 * host `local` comes from migration 4 and stands for the configuration's
 * docker_host; instances.host names the host every row runs on.
 */
#include "store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

lc_err lc_validate_host_name(const char *name, lc_diag *d)
{
    static const char ok[] = "abcdefghijklmnopqrstuvwxyz0123456789_.-";
    size_t n = name != NULL ? strlen(name) : 0;
    if (n == 0 || n > 63 || strspn(name, ok) != n || strchr("_.-", name[0]) != NULL)
        return lc_fail(d, LC_EUSAGE,
                       "invalid host name \"%s\": 1 to 63 of a-z 0-9 _ . -, starting with a "
                       "letter or digit",
                       name != NULL ? name : "");
    return LC_OK;
}

static void copy_text(sqlite3_stmt *st, int col, char *dst, size_t len)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    snprintf(dst, len, "%s", t != NULL ? (const char *)t : "");
}

/* The current row of st (HOST_COLUMNS) into *h. */
static void read_host(sqlite3_stmt *st, lc_host *h)
{
    memset(h, 0, sizeof *h);
    copy_text(st, 0, h->name, sizeof h->name);
    copy_text(st, 1, h->docker_host, sizeof h->docker_host);
    copy_text(st, 2, h->tls_ca, sizeof h->tls_ca);
    copy_text(st, 3, h->tls_cert, sizeof h->tls_cert);
    copy_text(st, 4, h->tls_key, sizeof h->tls_key);
    copy_text(st, 5, h->address, sizeof h->address);
    h->max_instances = sqlite3_column_int(st, 6);
    h->drained = sqlite3_column_int(st, 7) != 0;
    h->created_at = (time_t)sqlite3_column_int64(st, 8);
    h->instances = (long)sqlite3_column_int64(st, 9);
}

lc_err store_host_add(lc_store *s, const lc_host *h, lc_diag *d)
{
    lc_err e = lc_validate_host_name(h->name, d);
    if (e != LC_OK)
        return e;
    if (h->docker_host[0] == '\0' || h->max_instances < 0)
        return lc_fail(d, LC_EUSAGE, "host %s: %s", h->name,
                       h->max_instances < 0 ? "max instances must be 0 (no limit) or more"
                                            : "no Docker host URL");
    sqlite3_stmt *st = stmt(s, STMT_HOST_ADD, d);
    if (st == NULL)
        return LC_ESTORE;
    const char *text[] = {h->name, h->docker_host, h->tls_ca, h->tls_cert, h->tls_key, h->address};
    for (int i = 0; i < 6; i++)
        bind_text_or_null(st, i + 1, text[i]);
    sqlite3_bind_text(st, 2, h->docker_host, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 7, h->max_instances);
    sqlite3_bind_int64(st, 8, (sqlite3_int64)time(NULL));
    int rc = sqlite3_step(st);
    const char *msg = sqlite3_errmsg(s->db);
    if (rc == SQLITE_CONSTRAINT && strstr(msg, "docker_host") != NULL)
        e = lc_fail(d, LC_EUSAGE, "host %s: another host already uses %s", h->name, h->docker_host);
    else if (rc == SQLITE_CONSTRAINT)
        e = lc_fail(d, LC_EUSAGE, "host %s already exists", h->name);
    else if (rc != SQLITE_DONE)
        e = STORE_ERR(s, d, "add host");
    sqlite3_reset(st);
    return e;
}

lc_err store_host_get(lc_store *s, const char *name, lc_host *out, lc_diag *d)
{
    sqlite3_stmt *st = stmt(s, STMT_HOST_GET, d);
    if (st == NULL)
        return LC_ESTORE;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    lc_err e = LC_OK;
    if (rc == SQLITE_ROW)
        read_host(st, out);
    else if (rc == SQLITE_DONE)
        e = lc_fail(d, LC_ENOTFOUND, "host %s not found (see instctl host list)", name);
    else
        e = STORE_ERR(s, d, "read host");
    sqlite3_reset(st);
    return e;
}

static void read_host_row(sqlite3_stmt *st, void *row)
{
    read_host(st, row);
}

lc_err store_host_list(lc_store *s, lc_host **out, size_t *n, lc_diag *d)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = stmt(s, STMT_HOST_LIST, d);
    if (st == NULL)
        return LC_ESTORE;
    return collect_rows(s, st, sizeof **out, read_host_row, (void **)out, n, "list hosts", d);
}

lc_err store_host_set_drained(lc_store *s, const char *name, bool drained, lc_diag *d)
{
    sqlite3_stmt *st = stmt(s, STMT_HOST_DRAIN, d);
    if (st == NULL)
        return LC_ESTORE;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 2, drained ? 1 : 0);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return STORE_ERR(s, d, "drain host");
    if (sqlite3_changes(s->db) == 0)
        return lc_fail(d, LC_ENOTFOUND, "host %s not found (see instctl host list)", name);
    return LC_OK;
}

/* Inside the caller's transaction: refuses local and an occupied host, else deletes. */
static lc_err remove_checked(lc_store *s, const char *name, lc_diag *d)
{
    lc_host h;
    lc_err e = store_host_get(s, name, &h, d);
    if (e != LC_OK)
        return e;
    if (strcmp(name, LC_HOST_LOCAL) == 0)
        return lc_fail(d, LC_ENOTALLOWED,
                       "host local is the configuration's docker_host and cannot be removed");
    if (h.instances > 0)
        return lc_fail(d, LC_ENOTALLOWED,
                       "host %s still has %ld instance%s; move or terminate %s first", name,
                       h.instances, h.instances == 1 ? "" : "s", h.instances == 1 ? "it" : "them");
    sqlite3_stmt *st = stmt(s, STMT_HOST_REMOVE, d);
    if (st == NULL)
        return LC_ESTORE;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? LC_OK : STORE_ERR(s, d, "remove host");
}

lc_err store_host_remove(lc_store *s, const char *name, lc_diag *d)
{
    lc_err e = store_begin(s, d);
    if (e != LC_OK)
        return e;
    e = remove_checked(s, name, d);
    if (e == LC_OK)
        return store_commit(s, d);
    store_rollback(s);
    return e;
}
