/*
 * Internals shared by the store's files: the open handle, the table of
 * prepared statements, and the error macro that records file and line.
 */
#ifndef LC_STORE_INTERNAL_H
#define LC_STORE_INTERNAL_H

#include <sqlite3.h>

#include "store.h"

/* Every statement the store runs, prepared once and kept in lc_store.stmts. */
typedef enum stmt_id {
    STMT_GET,
    STMT_BY_NAME,
    STMT_BY_PREFIX,
    STMT_LIST,
    STMT_LIST_BRIEF,
    STMT_LIST_WIDTHS,
    STMT_INSERT,
    STMT_HISTORY_ADD,
    STMT_HISTORY,
    STMT_STATS,
    STMT_STATS_HOST,
    STMT_LEASE_SET,
    STMT_LEASE_EXTEND,
    STMT_LEASE_CLEAR,
    STMT_LEASE_ADOPT,
    STMT_SAVE,
    STMT_LIVE_NAME,
    STMT_LIVE_DB,
    STMT_RECONCILE_STATUS,
    STMT_BILLING_SEEN,
    STMT_BILLING_LAST,
    STMT_BILLING_ADD,
    STMT_BACKUP_ADD,
    STMT_BACKUP_LIST,
    STMT_BACKUP_GET,
    STMT_BACKUP_DELETE,
    STMT_OBSERVE,
    STMT_JOURNAL,
    STMT_HOST_ADD,
    STMT_HOST_GET,
    STMT_HOST_LIST,
    STMT_HOST_DRAIN,
    STMT_HOST_REMOVE,
    STMT_METRIC_SET,
    STMT_METRIC_ALL,
    STMT_BACKUP_AGES,
    STMT_COUNT
} stmt_id;

struct lc_store {
    sqlite3 *db;
    char *path;
    char uuid[37];
    sqlite3_stmt *stmts[STMT_COUNT];
    lc_lease_holder self;
};

/*
 * When the row's container was last seen as it is: a steady pass writes
 * only rows that changed, so it is the later of the row's obs_at and the
 * last pass's time (metrics 'reconcile_pass_at').
 */
#define OBS_AT                                                                                     \
    "CASE WHEN obs_at IS NULL THEN NULL ELSE max(obs_at, coalesce((SELECT value FROM metrics"      \
    " WHERE name = 'reconcile_pass_at'), 0)) END"

/*
 * The columns read_instance() reads, in order, after the id: X(sql, brief),
 * brief 1 for the columns a table of rows shows (store_list_each's brief
 * mode: list, completion); the others are selected as NULL there, which
 * read_instance reads as empty, so SQLite decodes 8 columns instead of 41.
 */
/* clang-format off */
#define INSTANCE_COLUMN_TABLE(X)                                                                   \
    X("name", 1) X("admin_email", 0) X("database_name", 0) X("odoo_version", 1) X("image", 0)      \
    X("container_id", 0) X("container_name", 0) X("volume_name", 0) X("status", 1)                 \
    X("hold_billing", 0) X("hold_operator", 0) X("suspended_from", 0) X("previous_status", 0)      \
    X("error_message", 0) X("version", 0) X("lease_host", 0) X("lease_pid", 0)                     \
    X("lease_start", 0) X("lease_boot", 0) X("lease_deadline", 0) X("op_step", 0)                  \
    X("op_deadline", 0) X("obs_state", 1) X("obs_exit_code", 1) X("obs_health", 0)                 \
    X("obs_restart_count", 0) X("obs_restart_base", 0) X("obs_restart_window_start", 0)            \
    X("obs_first_seen", 0) X(OBS_AT, 1) X("obs_started_at", 0) X("created_at", 0)                  \
    X("updated_at", 0) X("final_backup_pending", 0) X("op_kind", 0) X("op_from", 0)                \
    X("op_objects", 0) X("error_source", 0) X("host", 1) X("odoo_port", 0)
/* clang-format on */
#define COLUMN_FULL(sql, brief) ", " sql
#define COLUMN_BRIEF(sql, brief) COLUMN_BRIEF_##brief(sql)
#define COLUMN_BRIEF_1(sql) ", " sql
#define COLUMN_BRIEF_0(sql) ", NULL"

/* The SELECT column list read_instance() expects, every column. */
#define INSTANCE_COLUMNS "id" INSTANCE_COLUMN_TABLE(COLUMN_FULL)
/* The same list with only a table's columns (the others NULL). */
#define INSTANCE_COLUMNS_BRIEF "id" INSTANCE_COLUMN_TABLE(COLUMN_BRIEF)

/*
 * The SELECT column list of a hosts row (alias h) read_host() expects; the
 * last one counts the rows that still occupy the host: live instances and
 * terminated ones whose volume waits for a final backup.
 */
#define HOST_COLUMNS                                                                               \
    "h.name, h.docker_host, h.tls_ca, h.tls_cert, h.tls_key, h.address, h.max_instances, "         \
    "h.drained, h.created_at, (SELECT count(*) FROM instances i WHERE i.host = h.name AND "        \
    "(i.status <> 'terminated' OR i.final_backup_pending))"

/* STORE_ERR: LC_ESTORE with SQLite's message and where it happened. */
#define STORE_ERR(s, d, what)                                                                      \
    lc_fail((d), LC_ESTORE, "database %s: %s (%s:%d)", (what), sqlite3_errmsg((s)->db), __FILE__,  \
            __LINE__)

/* stmt: the prepared statement id, reset and unbound; NULL on error (d filled). */
sqlite3_stmt *stmt(lc_store *s, stmt_id id, lc_diag *d);

/* read_instance: the current row of st (INSTANCE_COLUMNS) into *out. */
void read_instance(sqlite3_stmt *st, lc_instance *out);

/* bind_text_or_null: binds "" as NULL. */
int bind_text_or_null(sqlite3_stmt *st, int idx, const char *text);

/* bind_status_or_null: binds a status name, or NULL for -1. */
int bind_status_or_null(sqlite3_stmt *st, int idx, int status);

/* history_add: one status_events row; inside the caller's transaction. */
lc_err history_add(lc_store *s, const char *id, int from, InstanceStatus to, const char *cause,
                   const char *detail, lc_diag *d);

/* row_reader: reads the current row of st into *row (an element of the caller's array). */
typedef void (*row_reader)(sqlite3_stmt *st, void *row);

/*
 * collect_rows: steps st (prepared and bound by the caller) to its end, each
 * row read by read into a malloc'd array of elements of size bytes: *out
 * (free() it; NULL when empty), *n. Resets st. LC_ENOMEM, or LC_ESTORE
 * naming what, with nothing returned (*out NULL, *n 0).
 */
lc_err collect_rows(lc_store *s, sqlite3_stmt *st, size_t size, row_reader read, void **out,
                    size_t *n, const char *what, lc_diag *d);

/* bind_holder: binds a lease holder's pid, start time and boot id at first.. first + 2. */
void bind_holder(sqlite3_stmt *st, int first, const lc_lease_holder *h);

/* lease_clear: clears the lease h holds on row id (store_lease.c); inside or outside a transaction.
 */
lc_err lease_clear(lc_store *s, const char *id, const lc_lease_holder *h, lc_diag *d);

/* billing_add: one billing_events row; inside the caller's transaction. */
lc_err billing_add(lc_store *s, const lc_billing_record *ev, lc_diag *d);

/* exec_sql: runs SQL without results; LC_ESTORE on failure. */
lc_err exec_sql(lc_store *s, const char *sql, lc_diag *d);

#endif
