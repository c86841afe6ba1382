/* The backups table: recording, listing, finding and forgetting backups. */
#include "store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void read_backup(sqlite3_stmt *st, lc_backup_row *b)
{
    memset(b, 0, sizeof *b);
    const char *text[] = {
        (const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1),
        (const char *)sqlite3_column_text(st, 2), (const char *)sqlite3_column_text(st, 4),
        (const char *)sqlite3_column_text(st, 5)};
    snprintf(b->id, sizeof b->id, "%s", text[0] ? text[0] : "");
    snprintf(b->instance_id, sizeof b->instance_id, "%s", text[1] ? text[1] : "");
    snprintf(b->path, sizeof b->path, "%s", text[2] ? text[2] : "");
    snprintf(b->sha256, sizeof b->sha256, "%s", text[3] ? text[3] : "");
    snprintf(b->kind, sizeof b->kind, "%s", text[4] ? text[4] : "");
    b->size = sqlite3_column_int64(st, 3);
    b->created_at = (time_t)sqlite3_column_int64(st, 6);
}

lc_err store_backup_add(lc_store *s, lc_backup_row *row, const char *parts_json, lc_diag *d)
{
    sqlite3_stmt *st = stmt(s, STMT_BACKUP_ADD, d);
    if (st == NULL)
        return LC_ESTORE;
    if (row->id[0] == '\0')
        lc_new_uuid(row->id);
    const char *text[] = {row->id, row->instance_id, row->path};
    for (int i = 0; i < 3; i++)
        sqlite3_bind_text(st, i + 1, text[i], -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, row->size);
    sqlite3_bind_text(st, 5, row->sha256, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 6, parts_json != NULL ? parts_json : "[]", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 7, row->kind, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 8, (sqlite3_int64)row->created_at);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? LC_OK : STORE_ERR(s, d, "record backup");
}

static void read_backup_row(sqlite3_stmt *st, void *row)
{
    read_backup(st, row);
}

lc_err store_backup_list(lc_store *s, const char *instance_id, lc_backup_row **out, size_t *n,
                         lc_diag *d)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = stmt(s, STMT_BACKUP_LIST, d);
    if (st == NULL)
        return LC_ESTORE;
    sqlite3_bind_text(st, 1, instance_id, -1, SQLITE_TRANSIENT);
    return collect_rows(s, st, sizeof **out, read_backup_row, (void **)out, n, "list backups", d);
}

lc_err store_backup_get(lc_store *s, const char *instance_id, const char *id, lc_backup_row *out,
                        lc_diag *d)
{
    sqlite3_stmt *st = stmt(s, STMT_BACKUP_GET, d);
    if (st == NULL)
        return LC_ESTORE;
    sqlite3_bind_text(st, 1, instance_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        read_backup(st, out);
    bool second = rc == SQLITE_ROW && sqlite3_step(st) == SQLITE_ROW;
    sqlite3_reset(st);
    if (rc == SQLITE_DONE || id[0] == '\0')
        return lc_fail(d, LC_ENOTFOUND, "backup %s not found for this instance", id);
    if (rc != SQLITE_ROW)
        return STORE_ERR(s, d, "read backup");
    return second ? lc_fail(d, LC_EUSAGE, "backup id prefix %s is ambiguous", id) : LC_OK;
}

lc_err store_backup_delete(lc_store *s, const char *id, lc_diag *d)
{
    sqlite3_stmt *st = stmt(s, STMT_BACKUP_DELETE, d);
    if (st == NULL)
        return LC_ESTORE;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? LC_OK : STORE_ERR(s, d, "forget backup");
}
