/*
 * The SQLite store: opening, pragmas, forward-only migrations and the table
 * of prepared statements. One file per table after that: store_instances.c
 * (rows, the operation journal, outcomes), store_lease.c (leases),
 * store_history.c (status_events), store_observe.c (observation columns and
 * reconcile's compare-and-set), store_billing.c, store_backups.c,
 * store_hosts.c, store_metrics.c.
 */
#include "store_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define STATUS_CHECK(col)                                                                          \
    "CHECK (" col " IN ('creating','running','stopped','suspended','maintenance','updating',"      \
    "'error','terminated'))"

/* Migration N brings user_version from N-1 to N. Never edit a shipped one. */
/* clang-format off */
static const char *const migrations[] = {
    /* 1: the first schema */
    "CREATE TABLE store_meta (id INTEGER PRIMARY KEY CHECK (id = 1), uuid TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL);"
    "CREATE TABLE instances ("
    "  id TEXT PRIMARY KEY, name TEXT NOT NULL, admin_email TEXT NOT NULL,"
    "  database_name TEXT NOT NULL, odoo_version TEXT NOT NULL, image TEXT NOT NULL,"
    "  container_id TEXT, container_name TEXT NOT NULL, volume_name TEXT NOT NULL,"
    "  status TEXT NOT NULL " STATUS_CHECK("status") ","
    "  hold_billing INTEGER NOT NULL DEFAULT 0, hold_operator INTEGER NOT NULL DEFAULT 0,"
    "  suspended_from TEXT " STATUS_CHECK("suspended_from") ","
    "  previous_status TEXT " STATUS_CHECK("previous_status") ","
    "  error_message TEXT, version INTEGER NOT NULL DEFAULT 1,"
    "  lease_host TEXT, lease_pid INTEGER, lease_start INTEGER, lease_boot TEXT,"
    "  lease_deadline INTEGER, op_step TEXT, op_deadline INTEGER,"
    "  obs_state TEXT, obs_exit_code INTEGER, obs_health TEXT, obs_restart_count INTEGER,"
    "  obs_restart_base INTEGER, obs_restart_window_start INTEGER, obs_first_seen INTEGER,"
    "  obs_at INTEGER, obs_started_at INTEGER,"
    "  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
    "CREATE UNIQUE INDEX instances_live_name ON instances(name) WHERE status <> 'terminated';"
    "CREATE UNIQUE INDEX instances_live_database ON instances(database_name)"
    "  WHERE status <> 'terminated';"
    "CREATE TABLE status_events ("
    "  id INTEGER PRIMARY KEY, instance_id TEXT NOT NULL REFERENCES instances(id),"
    "  from_status TEXT " STATUS_CHECK("from_status") ","
    "  to_status TEXT NOT NULL " STATUS_CHECK("to_status") ","
    "  cause TEXT NOT NULL CHECK (cause IN ('action','reconcile','billing')),"
    "  detail TEXT, at INTEGER NOT NULL);"
    "CREATE INDEX status_events_instance ON status_events(instance_id, id);",

    /* 2: billing events (DESIGN §4) */
    "CREATE TABLE billing_events ("
    "  id TEXT PRIMARY KEY, type TEXT NOT NULL, instance_id TEXT,"
    "  created INTEGER NOT NULL,"
    "  outcome TEXT NOT NULL CHECK (outcome IN ('applied','noop','stale','ignored')),"
    "  detail TEXT, received_at INTEGER NOT NULL);"
    "CREATE INDEX billing_events_instance ON billing_events(instance_id, outcome, created);",

    /* 3: backups (DESIGN §6) and terminate's pending final backup */
    "CREATE TABLE backups ("
    "  id TEXT PRIMARY KEY, instance_id TEXT NOT NULL REFERENCES instances(id),"
    "  path TEXT NOT NULL, size INTEGER NOT NULL, sha256 TEXT NOT NULL,"
    "  parts TEXT NOT NULL, kind TEXT NOT NULL CHECK (kind IN ('manual','pre-update','final')),"
    "  created_at INTEGER NOT NULL);"
    "CREATE INDEX backups_instance ON backups(instance_id, created_at);"
    "ALTER TABLE instances ADD COLUMN final_backup_pending INTEGER NOT NULL DEFAULT 0;",

    /* 4: the operation journal (DESIGN §2): kind, status it began from, the objects it works
     * on; and who wrote an error (a failed operation's error is never lifted by reconcile) */
    "ALTER TABLE instances ADD COLUMN op_kind TEXT;"
    "ALTER TABLE instances ADD COLUMN op_from TEXT " STATUS_CHECK("op_from") ";"
    "ALTER TABLE instances ADD COLUMN op_objects TEXT;"
    "ALTER TABLE instances ADD COLUMN error_source TEXT"
    "  CHECK (error_source IN ('operation','reconcile'));",

    /* 5: several Docker hosts (DESIGN §7a, issue 11); every existing row is on `local`,
     * whose engine is the configuration's docker_host (its docker_host here stays '') */
    "CREATE TABLE hosts ("
    "  name TEXT PRIMARY KEY, docker_host TEXT NOT NULL DEFAULT '',"
    "  tls_ca TEXT, tls_cert TEXT, tls_key TEXT, address TEXT,"
    "  max_instances INTEGER NOT NULL DEFAULT 0 CHECK (max_instances >= 0),"
    "  drained INTEGER NOT NULL DEFAULT 0 CHECK (drained IN (0, 1)),"
    "  created_at INTEGER NOT NULL,"
    "  CHECK ((name = 'local') = (docker_host = '')));"
    "CREATE UNIQUE INDEX hosts_docker_host ON hosts(docker_host) WHERE docker_host <> '';"
    "INSERT INTO hosts (name, created_at) VALUES ('local', CAST(strftime('%s', 'now') AS INTEGER));"
    "ALTER TABLE instances ADD COLUMN host TEXT NOT NULL DEFAULT 'local';"
    "CREATE INDEX instances_host ON instances(host, status);",

    /* 6: watch and metrics: figures kept between runs (the pass time, watch's lag) */
    "CREATE TABLE metrics (name TEXT PRIMARY KEY, value REAL NOT NULL, at INTEGER NOT NULL);"
    "CREATE INDEX instances_list ON instances(name, created_at);",

    /* 7: Odoo's published port on a remote host (issue 11, phase 2: the reverse proxy's target) */
    "ALTER TABLE instances ADD COLUMN odoo_port INTEGER NOT NULL DEFAULT 0;",

    /* 8: backup kinds of restore --from (imported) and restore's safety backup (issue 13) */
    "CREATE TABLE backups_new ("
    "  id TEXT PRIMARY KEY, instance_id TEXT NOT NULL REFERENCES instances(id),"
    "  path TEXT NOT NULL, size INTEGER NOT NULL, sha256 TEXT NOT NULL, parts TEXT NOT NULL,"
    "  kind TEXT NOT NULL"
    "    CHECK (kind IN ('manual','pre-update','final','imported','safety','clone')),"
    "  created_at INTEGER NOT NULL);"
    "INSERT INTO backups_new SELECT id, instance_id, path, size, sha256, parts, kind, created_at"
    "  FROM backups;"
    "DROP TABLE backups;"
    "ALTER TABLE backups_new RENAME TO backups;"
    "CREATE INDEX backups_instance ON backups(instance_id, created_at);",
};
/* clang-format on */
#define MIGRATION_COUNT ((int)(sizeof migrations / sizeof migrations[0]))
_Static_assert(MIGRATION_COUNT == LC_SCHEMA_VERSION, "a migration per schema version");

static const char *const stmt_sql[STMT_COUNT] = {
    [STMT_GET] = "SELECT " INSTANCE_COLUMNS " FROM instances WHERE id = ?1",
    [STMT_BY_NAME] = "SELECT " INSTANCE_COLUMNS " FROM instances WHERE name = ?1"
                     " ORDER BY status = 'terminated', updated_at DESC, rowid DESC LIMIT 1",
    [STMT_BY_PREFIX] = "SELECT " INSTANCE_COLUMNS " FROM instances"
                       " WHERE substr(id, 1, length(?1)) = ?1 LIMIT 2",
    [STMT_LIST] = "SELECT " INSTANCE_COLUMNS " FROM instances"
                  " WHERE (?1 OR status <> 'terminated') AND (?2 IS NULL OR status = ?2)"
                  " ORDER BY name, created_at",
    [STMT_LIST_BRIEF] = "SELECT " INSTANCE_COLUMNS_BRIEF " FROM instances"
                        " WHERE (?1 OR status <> 'terminated') AND (?2 IS NULL OR status = ?2)"
                        " ORDER BY name, created_at",
    [STMT_LIST_WIDTHS] = "SELECT (SELECT max(length(name)) FROM instances),"
                         " (SELECT max(length(name)) FROM hosts), (SELECT count(*) FROM hosts)",
    [STMT_INSERT] = "INSERT INTO instances (id, name, admin_email, database_name, odoo_version,"
                    " image, container_name, volume_name, status, version, lease_host, lease_pid,"
                    " lease_start, lease_boot, lease_deadline, op_step, op_deadline, created_at,"
                    " updated_at, op_kind, op_from, host) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,"
                    "'creating',1,?9,?10,?11,?12,?13,?14,?15,?16,?16,'create','creating',?17)",
    [STMT_HISTORY_ADD] = "INSERT INTO status_events (instance_id, from_status, to_status, cause,"
                         " detail, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [STMT_HISTORY] = "SELECT at, from_status, to_status, cause, detail FROM status_events"
                     " WHERE instance_id = ?1 ORDER BY id",
    [STMT_STATS] = "SELECT status, count(*) FROM instances GROUP BY status",
    [STMT_STATS_HOST] = "SELECT status, count(*) FROM instances WHERE status <> 'terminated' AND"
                        " coalesce(nullif(host, ''), '" LC_HOST_LOCAL "') = ?1 GROUP BY status",
    [STMT_LEASE_SET] = "UPDATE instances SET lease_host = ?2, lease_pid = ?3, lease_start = ?4,"
                       " lease_boot = ?5, lease_deadline = ?6, version = version + 1"
                       " WHERE id = ?1",
    [STMT_LEASE_EXTEND] = "UPDATE instances SET lease_deadline = ?2 WHERE id = ?1"
                          " AND lease_pid = ?3 AND lease_start = ?4 AND lease_boot = ?5",
    [STMT_LEASE_CLEAR] = "UPDATE instances SET lease_host = NULL, lease_pid = NULL,"
                         " lease_start = NULL, lease_boot = NULL, lease_deadline = NULL"
                         " WHERE id = ?1 AND lease_pid = ?2 AND lease_start = ?3"
                         " AND lease_boot = ?4",
    [STMT_LEASE_ADOPT] = "UPDATE instances SET lease_host = ?2, lease_pid = ?3, lease_start = ?4,"
                         " lease_boot = ?5, lease_deadline = ?6"
                         " WHERE id = ?1 AND lease_pid = ?7 AND lease_start = ?8"
                         " AND lease_boot = ?9",
    [STMT_SAVE] = "UPDATE instances SET status = ?2, container_id = ?3, container_name = ?4,"
                  " volume_name = ?5, image = ?6, odoo_version = ?7, hold_billing = ?8,"
                  " hold_operator = ?9, suspended_from = ?10, previous_status = ?11,"
                  " error_message = ?12, op_step = ?13, op_deadline = ?14, updated_at = ?15,"
                  " final_backup_pending = ?19, op_kind = ?20, op_from = ?21, op_objects = ?22,"
                  " error_source = ?23, host = ?24, odoo_port = ?25,"
                  " version = version + 1"
                  " WHERE id = ?1 AND lease_pid = ?16 AND lease_start = ?17 AND lease_boot = ?18",
    [STMT_LIVE_NAME] = "SELECT id FROM instances WHERE name = ?1 AND status <> 'terminated'",
    [STMT_LIVE_DB] = "SELECT id FROM instances WHERE database_name = ?1"
                     " AND status <> 'terminated'",
    [STMT_RECONCILE_STATUS] =
        "UPDATE instances SET status = ?3, error_message = ?4, updated_at = ?5,"
        " op_step = CASE WHEN ?3 IN ('creating','updating') THEN op_step END,"
        " op_deadline = CASE WHEN ?3 IN ('creating','updating') THEN op_deadline END,"
        " error_source = CASE WHEN ?3 = status THEN error_source"
        "   WHEN ?3 = 'error' THEN 'reconcile' END,"
        " version = version + 1"
        " WHERE id = ?1 AND version = ?2 AND (lease_pid IS NULL OR lease_deadline < ?5)",
    [STMT_BILLING_SEEN] = "SELECT outcome FROM billing_events WHERE id = ?1",
    [STMT_BILLING_LAST] = "SELECT max(created) FROM billing_events"
                          " WHERE instance_id = ?1 AND outcome IN ('applied', 'noop')",
    [STMT_BILLING_ADD] = "INSERT INTO billing_events (id, type, instance_id, created, outcome,"
                         " detail, received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [STMT_BACKUP_ADD] = "INSERT INTO backups (id, instance_id, path, size, sha256, parts, kind,"
                        " created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [STMT_BACKUP_LIST] =
        "SELECT id, instance_id, path, size, sha256, kind, created_at"
        " FROM backups WHERE instance_id = ?1 ORDER BY created_at DESC, rowid DESC",
    [STMT_BACKUP_GET] = "SELECT id, instance_id, path, size, sha256, kind, created_at FROM backups"
                        " WHERE instance_id = ?1 AND substr(id, 1, length(?2)) = ?2 LIMIT 2",
    [STMT_BACKUP_DELETE] = "DELETE FROM backups WHERE id = ?1",
    [STMT_METRIC_SET] = "INSERT INTO metrics (name, value, at) VALUES (?1, ?2, ?3)"
                        " ON CONFLICT (name) DO UPDATE SET value = ?2, at = ?3",
    [STMT_METRIC_ALL] = "SELECT name, value FROM metrics ORDER BY name",
    /* b.size is the newest backup's: SQLite takes bare columns from the max() row */
    [STMT_BACKUP_AGES] = "SELECT i.id, i.name, max(b.created_at), b.size FROM instances i"
                         " LEFT JOIN backups b ON b.instance_id = i.id"
                         " WHERE i.status <> 'terminated' GROUP BY i.id ORDER BY i.name",
    [STMT_OBSERVE] = "UPDATE instances SET obs_state = ?2, obs_exit_code = ?3, obs_health = ?4,"
                     " obs_restart_count = ?5, obs_restart_base = ?6,"
                     " obs_restart_window_start = ?7, obs_first_seen = ?8, obs_at = ?9,"
                     " obs_started_at = ?10 WHERE id = ?1",
    [STMT_JOURNAL] =
        "UPDATE instances SET op_kind = ?2, op_from = ?3, op_step = ?4,"
        " op_deadline = ?5, op_objects = ?6, container_id = ?7, volume_name = ?8,"
        " image = ?9, odoo_version = ?10, updated_at = ?11, host = ?15,"
        " odoo_port = ?16"
        " WHERE id = ?1 AND lease_pid = ?12 AND lease_start = ?13 AND lease_boot = ?14",
    /* hosts (store_hosts.c) */
    [STMT_HOST_ADD] = "INSERT INTO hosts (name, docker_host, tls_ca, tls_cert, tls_key, address,"
                      " max_instances, drained, created_at) VALUES (?1,?2,?3,?4,?5,?6,?7,0,?8)",
    [STMT_HOST_GET] = "SELECT " HOST_COLUMNS " FROM hosts h WHERE name = ?1",
    [STMT_HOST_LIST] = "SELECT " HOST_COLUMNS " FROM hosts h ORDER BY name <> 'local', name",
    [STMT_HOST_DRAIN] = "UPDATE hosts SET drained = ?2 WHERE name = ?1",
    [STMT_HOST_REMOVE] = "DELETE FROM hosts WHERE name = ?1",
};

sqlite3_stmt *stmt(lc_store *s, stmt_id id, lc_diag *d)
{
    if (s->stmts[id] == NULL &&
        sqlite3_prepare_v3(s->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &s->stmts[id],
                           NULL) != SQLITE_OK) {
        STORE_ERR(s, d, "prepare");
        return NULL;
    }
    sqlite3_reset(s->stmts[id]);
    sqlite3_clear_bindings(s->stmts[id]);
    return s->stmts[id];
}

lc_err collect_rows(lc_store *s, sqlite3_stmt *st, size_t size, row_reader read, void **out,
                    size_t *n, const char *what, lc_diag *d)
{
    size_t cap = 0;
    int rc;
    lc_err e = LC_OK;
    *out = NULL;
    *n = 0;
    while (e == LC_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            void *grown = realloc(*out, cap * size);
            if (grown == NULL) {
                e = lc_fail(d, LC_ENOMEM, "%s: out of memory", what);
                break;
            }
            *out = grown;
        }
        read(st, (char *)*out + (*n)++ * size);
    }
    if (e == LC_OK && rc != SQLITE_DONE)
        e = STORE_ERR(s, d, what);
    sqlite3_reset(st);
    if (e != LC_OK) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return e;
}

lc_err exec_sql(lc_store *s, const char *sql, lc_diag *d)
{
    char *err = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &err) != SQLITE_OK) {
        lc_fail(d, LC_ESTORE, "database %s: %s", s->path, err != NULL ? err : "error");
        sqlite3_free(err);
        return LC_ESTORE;
    }
    return LC_OK;
}

int store_schema_version(lc_store *s)
{
    sqlite3_stmt *st;
    int v = -1;
    if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW)
            v = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
    }
    return v;
}

void lc_new_uuid(char out[37])
{
    unsigned char b[16];
    FILE *f = fopen("/dev/urandom", "rb");
    if (f == NULL || fread(b, 1, sizeof b, f) != sizeof b) {
        for (size_t i = 0; i < sizeof b; i++)
            b[i] = (unsigned char)(rand() ^ time(NULL));
    }
    if (f != NULL)
        fclose(f);
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

static lc_err migrate_one(lc_store *s, int to, lc_diag *d)
{
    char sql[64];
    lc_err e = exec_sql(s, "BEGIN IMMEDIATE", d);
    if (e == LC_OK)
        e = exec_sql(s, migrations[to - 1], d);
    if (e == LC_OK && to == 1) {
        char uuid[37], ins[160];
        lc_new_uuid(uuid);
        snprintf(ins, sizeof ins, "INSERT INTO store_meta VALUES (1, '%s', %lld)", uuid,
                 (long long)time(NULL));
        e = exec_sql(s, ins, d);
    }
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", to);
    if (e == LC_OK)
        e = exec_sql(s, sql, d);
    if (e == LC_OK)
        return exec_sql(s, "COMMIT", d);
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return lc_prefix(d, e, "migration to schema %d", to);
}

static lc_err migrate(lc_store *s, lc_diag *d)
{
    int v = store_schema_version(s);
    if (v > MIGRATION_COUNT)
        return lc_fail(d, LC_ESTORE,
                       "database %s has schema version %d, newer than this instctl (%d); "
                       "use a newer instctl",
                       s->path, v, MIGRATION_COUNT);
    for (int to = v + 1; to <= MIGRATION_COUNT; to++) {
        lc_err e = migrate_one(s, to, d);
        if (e != LC_OK)
            return e;
    }
    return LC_OK;
}

static lc_err read_uuid(lc_store *s, lc_diag *d)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "SELECT uuid FROM store_meta WHERE id = 1", -1, &st, NULL) !=
        SQLITE_OK)
        return STORE_ERR(s, d, "read store uuid");
    lc_err e = LC_ESTORE;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) != NULL) {
        snprintf(s->uuid, sizeof s->uuid, "%s", (const char *)sqlite3_column_text(st, 0));
        e = LC_OK;
    } else {
        lc_fail(d, e, "database %s: no store uuid", s->path);
    }
    sqlite3_finalize(st);
    return e;
}

/* Creates the parent directories of path (mode 0750); 0 or the errno of the first failure. */
static int make_parent(const char *path)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL || slash == dir)
        return 0;
    *slash = '\0';
    for (char *p = dir + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(dir, 0750) != 0 && errno != EEXIST)
                return errno;
            *p = c;
            if (c == '\0')
                return 0;
        }
    }
}

/* The one line for a database this user may not use (SQLite says "unable to open"). */
static lc_err denied(const char *what, int err, lc_diag *d)
{
    if (err == EACCES || err == EPERM)
        return lc_fail(d, LC_ESTORE,
                       "permission denied: %s (instctl needs read and write access to the "
                       "database and its directory; run as root or as their owner)",
                       what);
    return lc_fail(d, LC_ESTORE, "database %s: %s", what, strerror(err));
}

/*
 * Before SQLite sees path: a missing database is refused unless
 * STORE_CREATE, in which case it is created empty with mode 0600 (SQLite
 * gives its -wal and -shm files the same mode); the database, its -wal and
 * -shm files and its directory must be readable and writable.
 */
static lc_err check_path(const char *path, unsigned flags, lc_diag *d)
{
    char dir[4096], side[4200];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL)
        snprintf(dir, sizeof dir, ".");
    else
        slash[slash == dir ? 1 : 0] = '\0';
    struct stat st;
    bool exists = stat(path, &st) == 0;
    if (!exists && errno != ENOENT)
        return denied(path, errno, d);
    if (!exists && !(flags & STORE_CREATE))
        return lc_fail(d, LC_ESTORE,
                       "database %s does not exist (a mistyped --db or db? 'instctl init' "
                       "creates it)",
                       path);
    if (!exists) {
        int err = make_parent(path);
        if (err != 0)
            return denied(dir, err, d);
        int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 && errno != EEXIST)
            return denied(errno == EACCES ? dir : path, errno, d);
        if (fd >= 0)
            close(fd);
    }
    static const char *const suffixes[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(side, sizeof side, "%s%s", path, suffixes[i]);
        if (access(side, R_OK | W_OK) != 0 && (i == 0 || errno != ENOENT))
            return denied(side, errno, d);
    }
    if (access(dir, W_OK | X_OK) != 0)
        return denied(dir, errno, d);
    return LC_OK;
}

static lc_err configure(lc_store *s, lc_diag *d)
{
    sqlite3_busy_timeout(s->db, 5000);
    if (store_schema_version(s) > MIGRATION_COUNT)
        return lc_fail(d, LC_ESTORE,
                       "database %s has schema version %d, newer than this instctl (%d); "
                       "use a newer instctl",
                       s->path, store_schema_version(s), MIGRATION_COUNT);
    lc_err e = exec_sql(s, "PRAGMA foreign_keys = ON", d);
    if (e == LC_OK)
        e = exec_sql(s, "PRAGMA journal_mode = WAL", d);
    if (e == LC_OK)
        e = exec_sql(s, "PRAGMA synchronous = NORMAL", d);
    /* Reads map the file instead of copying pages into a 2 MB cache: a scan of
     * 10,000 rows through the name index re-read evicted pages (issue 12). */
    if (e == LC_OK)
        e = exec_sql(s, "PRAGMA mmap_size = 268435456", d);
    if (e == LC_OK)
        e = migrate(s, d);
    if (e == LC_OK)
        e = read_uuid(s, d);
    return e;
}

static lc_err open_db(lc_store *s, lc_diag *d)
{
    /* check_path made a new database (mode 0600) already: SQLite never creates one */
    if (sqlite3_open_v2(s->path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK)
        return lc_fail(d, LC_ESTORE, "database %s: %s", s->path,
                       s->db != NULL ? sqlite3_errmsg(s->db) : strerror(errno));
    lc_err e = configure(s, d);
    if (e == LC_OK)
        lc_lease_self(&s->self);
    return e;
}

static void close_db(lc_store *s)
{
    for (int i = 0; i < STMT_COUNT; i++) {
        sqlite3_finalize(s->stmts[i]);
        s->stmts[i] = NULL;
    }
    sqlite3_close(s->db);
    s->db = NULL;
}

lc_err store_open(const char *path, unsigned flags, lc_store **out, lc_diag *d)
{
    *out = NULL;
    lc_store *s = calloc(1, sizeof *s);
    if (s == NULL || (s->path = strdup(path)) == NULL) {
        free(s);
        return lc_fail(d, LC_ENOMEM, "out of memory");
    }
    lc_err e = check_path(path, flags, d);
    if (e == LC_OK)
        e = open_db(s, d);
    if (e != LC_OK) {
        store_close(s);
        return e;
    }
    *out = s;
    return LC_OK;
}

void store_close(lc_store *s)
{
    if (s == NULL)
        return;
    close_db(s);
    free(s->path);
    free(s);
}

void store_before_fork(lc_store *s)
{
    close_db(s);
}

lc_err store_after_fork(lc_store *s, lc_diag *d)
{
    return open_db(s, d);
}

const char *store_uuid(const lc_store *s)
{
    return s->uuid;
}

const char *store_path(const lc_store *s)
{
    return s->path;
}

lc_err store_begin(lc_store *s, lc_diag *d)
{
    return exec_sql(s, "BEGIN IMMEDIATE", d);
}

lc_err store_commit(lc_store *s, lc_diag *d)
{
    return exec_sql(s, "COMMIT", d);
}

void store_rollback(lc_store *s)
{
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}
