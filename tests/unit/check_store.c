/*
 * The SQLite store (DESIGN §5): a fresh database and its pragmas, the CHECK
 * constraints on every status column, refusing a newer schema, inserting and
 * resolving rows, uniqueness among live rows, saving under the lease with
 * history only on a change, listing and stats, leases between processes and
 * reconcile's compare-and-set write.
 *
 * Each test gets its own temporary directory. Tests that fork close their
 * store first: an SQLite connection must not cross a fork.
 */
#include <check.h>
#include <ftw.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store.h"
#include "store_internal.h" /* the handle's sqlite3 *, for per-connection pragmas */
#include "testutil.h"

#define ID_A "aaaa1111-0000-4000-8000-00000000000a"
#define ID_B "aaaa2222-0000-4000-8000-00000000000b"
#define ID_C "cccc3333-0000-4000-8000-00000000000c"
#define ID_D "dddd4444-0000-4000-8000-00000000000d"

static char tmp_dir[300];
static char db_path[512];

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/*
 * The runner's process makes one directory per test case (unchecked fixture,
 * removed even when a test fails); each test, in its own process, works in a
 * new directory inside it.
 */
static char base_dir[256];

static void base_setup(void)
{
    char *dir = tu_tmpdir("store");
    ck_assert_ptr_nonnull(dir);
    snprintf(base_dir, sizeof base_dir, "%s", dir);
    free(dir);
}

static void base_teardown(void)
{
    nftw(base_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void setup(void)
{
    snprintf(tmp_dir, sizeof tmp_dir, "%s/t-XXXXXX", base_dir);
    ck_assert_ptr_nonnull(mkdtemp(tmp_dir));
    snprintf(db_path, sizeof db_path, "%s/state/instctl.db", tmp_dir);
}

static void teardown(void)
{
    nftw(tmp_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static lc_store *open_store(void)
{
    lc_store *s = NULL;
    lc_diag d = {{0}};
    lc_err e = store_open(db_path, STORE_CREATE, &s, &d);
    ck_assert_msg(e == LC_OK, "store_open %s: %s", db_path, d.msg);
    ck_assert_ptr_nonnull(s);
    return s;
}

/* raw_exec: runs sql on its own connection; SQLite's primary result code. */
static int raw_exec(const char *path, const char *sql)
{
    sqlite3 *db;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(db, 5000);
        rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    }
    sqlite3_close(db);
    return rc & 0xff;
}

/* query: the first column of the first row, as text ("" when none); static buffer. */
static const char *query(const char *sql)
{
    static char buf[512];
    char *v = tu_sql(db_path, sql);
    snprintf(buf, sizeof buf, "%s", v);
    free(v);
    return buf;
}

static long query_long(const char *fmt, const char *arg)
{
    char sql[512];
    snprintf(sql, sizeof sql, fmt, arg);
    return atol(query(sql));
}

static long history_count(const char *id)
{
    return query_long("SELECT count(*) FROM status_events WHERE instance_id = '%s'", id);
}

static void make_instance(lc_instance *in, const char *id, const char *name, const char *db)
{
    memset(in, 0, sizeof *in);
    snprintf(in->id, sizeof in->id, "%s", id);
    snprintf(in->name, sizeof in->name, "%s", name);
    snprintf(in->admin_email, sizeof in->admin_email, "admin@%s.example.com", name);
    snprintf(in->database_name, sizeof in->database_name, "%s", db);
    snprintf(in->odoo_version, sizeof in->odoo_version, "17.0");
    snprintf(in->image, sizeof in->image, "odoo:17.0");
    snprintf(in->container_name, sizeof in->container_name, "odoo_%s_%.8s", db, id);
    snprintf(in->volume_name, sizeof in->volume_name, "odoo_%s_%.8s_1", db, id);
    snprintf(in->op_step, sizeof in->op_step, "volume");
    in->op_deadline = time(NULL) + 300;
    in->suspended_from = -1;
    in->previous_status = -1;
}

static void insert(lc_store *s, const char *id, const char *name, const char *db)
{
    lc_instance in;
    lc_diag d = {{0}};
    make_instance(&in, id, name, db);
    lc_err e = store_insert(s, &in, 60, &d);
    ck_assert_msg(e == LC_OK, "insert %s: %s", name, d.msg);
}

/* set_status: takes the lease, writes status `to` with store_save, releases it when asked. */
static void set_status(lc_store *s, const char *id, InstanceStatus to, bool release)
{
    lc_instance in;
    lc_diag d = {{0}};
    lc_err e = store_lease_take(s, id, 60, &in, &d);
    ck_assert_msg(e == LC_OK, "lease %s: %s", id, d.msg);
    InstanceStatus from = in.status;
    in.status = to;
    e = store_save(s, &in, from, "action", "test", release, &d);
    ck_assert_msg(e == LC_OK, "save %s: %s", id, d.msg);
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* ---- a fresh database ---------------------------------------------------- */

static bool is_uuid_v4(const char *u)
{
    if (strlen(u) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (u[i] != '-')
                return false;
        } else if (!strchr("0123456789abcdef", u[i])) {
            return false;
        }
    }
    return u[14] == '4' && strchr("89ab", u[19]) != NULL;
}

START_TEST(test_fresh_database)
{
    lc_store *s = open_store();
    ck_assert_int_eq(store_schema_version(s), LC_SCHEMA_VERSION);
    ck_assert_str_eq(store_path(s), db_path);
    ck_assert_msg(is_uuid_v4(store_uuid(s)), "store uuid \"%s\"", store_uuid(s));

    /* foreign keys are per connection: ask the store's own */
    sqlite3_stmt *st;
    ck_assert_int_eq(sqlite3_prepare_v2(s->db, "PRAGMA foreign_keys", -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    ck_assert_int_eq(sqlite3_column_int(st, 0), 1);
    sqlite3_finalize(st);
    int rc = sqlite3_exec(s->db,
                          "INSERT INTO status_events (instance_id, from_status, to_status, cause,"
                          " at) VALUES ('no-such-instance', NULL, 'creating', 'action', 0)",
                          NULL, NULL, NULL);
    ck_assert_msg((rc & 0xff) == SQLITE_CONSTRAINT, "orphan history row: rc %d", rc);
    store_close(s);

    char v[16];
    snprintf(v, sizeof v, "%d", LC_SCHEMA_VERSION);
    ck_assert_str_eq(query("PRAGMA user_version"), v);
    ck_assert_str_eq(query("PRAGMA journal_mode"), "wal");
    ck_assert_str_eq(query("SELECT count(*) FROM store_meta"), "1");
}
END_TEST

START_TEST(test_uuid_stable_on_reopen)
{
    char first[37];
    lc_store *s = open_store();
    snprintf(first, sizeof first, "%s", store_uuid(s));
    insert(s, ID_A, "web1", "web1db");
    store_close(s);

    s = open_store();
    ck_assert_str_eq(store_uuid(s), first);
    ck_assert_int_eq(store_schema_version(s), LC_SCHEMA_VERSION);
    lc_instance in;
    lc_diag d;
    ck_assert_int_eq(store_get(s, ID_A, &in, &d), LC_OK);
    store_close(s);

    /* another database is another store */
    char other[600];
    snprintf(other, sizeof other, "%s/other.db", tmp_dir);
    lc_store *o = NULL;
    ck_assert_int_eq(store_open(other, STORE_CREATE, &o, &d), LC_OK);
    ck_assert(is_uuid_v4(store_uuid(o)));
    ck_assert_str_ne(store_uuid(o), first);
    store_close(o);
}
END_TEST

/* ---- CHECK constraints on every status column ---------------------------- */

static const char *const bad_status_words[] = {
    "paused", "starting", "stopping", "restarting", "container_missing", "Running", "",
};
#define BAD_WORDS ((int)(sizeof bad_status_words / sizeof bad_status_words[0]))

/* The statements, each with %s where the bad status goes; %s is never a valid status. */
static const char *const bad_status_sql[] = {
    "INSERT INTO instances (id, name, admin_email, database_name, odoo_version, image,"
    " container_name, volume_name, status, created_at, updated_at) VALUES ('x', 'x', 'a@b.co',"
    " 'x', '17.0', 'odoo:17.0', 'c', 'v', '%s', 0, 0)",
    "UPDATE instances SET status = '%s' WHERE id = '" ID_A "'",
    "UPDATE instances SET suspended_from = '%s' WHERE id = '" ID_A "'",
    "UPDATE instances SET previous_status = '%s' WHERE id = '" ID_A "'",
    "INSERT INTO status_events (instance_id, from_status, to_status, cause, at)"
    " VALUES ('" ID_A "', 'running', '%s', 'action', 0)",
    "INSERT INTO status_events (instance_id, from_status, to_status, cause, at)"
    " VALUES ('" ID_A "', '%s', 'running', 'action', 0)",
    "UPDATE status_events SET to_status = '%s' WHERE instance_id = '" ID_A "'",
};
#define BAD_SQL ((int)(sizeof bad_status_sql / sizeof bad_status_sql[0]))

START_TEST(test_schema_refuses_status)
{
    const char *word = bad_status_words[_i % BAD_WORDS];
    const char *fmt = bad_status_sql[_i / BAD_WORDS];
    lc_store *s = open_store();
    insert(s, ID_A, "web1", "web1db");
    store_close(s);

    char sql[1024];
    snprintf(sql, sizeof sql, fmt, word);
    int rc = raw_exec(db_path, sql);
    ck_assert_msg(rc == SQLITE_CONSTRAINT, "\"%s\" accepted (rc %d): %s", word, rc, sql);
    ck_assert_str_eq(query("SELECT status FROM instances WHERE id = '" ID_A "'"), "creating");
    ck_assert_str_eq(query("SELECT count(*) FROM instances"), "1");
    ck_assert_str_eq(query("SELECT group_concat(to_status) FROM status_events"), "creating");
}
END_TEST

/* The same statements with each of the 8 statuses go through (the constraint is not too tight). */
START_TEST(test_schema_accepts_statuses)
{
    static const char *const ok[] = {"creating",    "running",  "stopped", "suspended",
                                     "maintenance", "updating", "error",   "terminated"};
    lc_store *s = open_store();
    insert(s, ID_A, "web1", "web1db");
    store_close(s);
    for (int i = 0; i < 8; i++) {
        char sql[1024];
        snprintf(sql, sizeof sql, bad_status_sql[1], ok[i]);
        ck_assert_int_eq(raw_exec(db_path, sql), SQLITE_OK);
        snprintf(sql, sizeof sql, bad_status_sql[4], ok[i]);
        ck_assert_int_eq(raw_exec(db_path, sql), SQLITE_OK);
    }
}
END_TEST

/* ---- a database newer than this build ------------------------------------ */

static void assert_newer_refused(const char *path, int version)
{
    size_t before_len, after_len;
    char *before = read_all(path, &before_len);
    lc_store *s = NULL;
    lc_diag d = {{0}};
    lc_err e = store_open(path, STORE_CREATE, &s, &d);
    ck_assert_int_eq(e, LC_ESTORE);
    ck_assert_ptr_null(s);
    char num[16];
    snprintf(num, sizeof num, "%d", version);
    ck_assert_msg(strstr(d.msg, "newer") != NULL && strstr(d.msg, num) != NULL,
                  "message \"%s\" does not explain", d.msg);
    char *after = read_all(path, &after_len);
    ck_assert_msg(before_len == after_len && memcmp(before, after, before_len) == 0,
                  "%s was modified (%zu -> %zu bytes)", path, before_len, after_len);
    free(before);
    free(after);
    char *v = tu_sql(path, "PRAGMA user_version");
    ck_assert_int_eq(atoi(v), version);
    free(v);
}

/* A store written by a newer instctl (WAL, schema LC_SCHEMA_VERSION + 1). */
START_TEST(test_newer_schema_refused)
{
    lc_store *s = open_store();
    insert(s, ID_A, "web1", "web1db");
    store_close(s);
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", LC_SCHEMA_VERSION + 1);
    ck_assert_int_eq(raw_exec(db_path, sql), SQLITE_OK);
    assert_newer_refused(db_path, LC_SCHEMA_VERSION + 1);
    ck_assert_str_eq(query("SELECT name FROM instances"), "web1");
}
END_TEST

/* A newer database still in rollback-journal mode is not switched to WAL either. */
START_TEST(test_newer_schema_rollback_journal_untouched)
{
    char path[600];
    snprintf(path, sizeof path, "%s/newer.db", tmp_dir);
    ck_assert_int_eq(raw_exec(path, "CREATE TABLE future (x INTEGER); PRAGMA user_version = 42"),
                     SQLITE_OK);
    char *mode = tu_sql(path, "PRAGMA journal_mode");
    ck_assert_str_eq(mode, "delete");
    free(mode);
    assert_newer_refused(path, 42);
    mode = tu_sql(path, "PRAGMA journal_mode");
    ck_assert_str_eq(mode, "delete");
    free(mode);
    char *tables = tu_sql(path, "SELECT group_concat(name) FROM sqlite_master");
    ck_assert_str_eq(tables, "future");
    free(tables);
}
END_TEST

/* ---- rows ---------------------------------------------------------------- */

START_TEST(test_insert_then_get)
{
    lc_store *s = open_store();
    lc_instance want, got;
    lc_diag d = {{0}};
    make_instance(&want, ID_A, "web1", "web1db");
    time_t before = time(NULL);
    ck_assert_int_eq(store_insert(s, &want, 60, &d), LC_OK);
    ck_assert_int_eq(store_get(s, ID_A, &got, &d), LC_OK);
    ck_assert_str_eq(got.id, ID_A);
    ck_assert_str_eq(got.name, "web1");
    ck_assert_str_eq(got.admin_email, want.admin_email);
    ck_assert_str_eq(got.database_name, "web1db");
    ck_assert_str_eq(got.odoo_version, "17.0");
    ck_assert_str_eq(got.image, "odoo:17.0");
    ck_assert_str_eq(got.container_id, "");
    ck_assert_str_eq(got.container_name, want.container_name);
    ck_assert_str_eq(got.volume_name, want.volume_name);
    ck_assert_int_eq(got.status, INSTANCE_CREATING);
    ck_assert(!got.hold_billing && !got.hold_operator);
    ck_assert_int_eq(got.suspended_from, -1);
    ck_assert_int_eq(got.previous_status, -1);
    ck_assert_str_eq(got.op_step, "volume");
    ck_assert_int_eq(got.op_deadline, want.op_deadline);
    ck_assert_int_ge(got.created_at, before);
    ck_assert_int_eq(got.updated_at, got.created_at);
    /* the caller holds the lease */
    ck_assert_int_eq(got.lease.pid, (long)getpid());
    ck_assert_int_ge(got.lease_deadline, before + 60);
    ck_assert(lc_lease_live(&got, time(NULL)));

    /* one history row: (none) -> creating, cause action */
    lc_history *h;
    size_t n;
    ck_assert_int_eq(store_history(s, ID_A, &h, &n, &d), LC_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(h[0].from, -1);
    ck_assert_int_eq(h[0].to, INSTANCE_CREATING);
    ck_assert_str_eq(h[0].cause, "action");
    free(h);

    ck_assert_int_eq(store_get(s, ID_B, &got, &d), LC_ENOTFOUND);
    ck_assert_int_eq(store_get(s, "aaaa", &got, &d), LC_ENOTFOUND); /* get is exact */
    store_close(s);
}
END_TEST

static const struct {
    const char *ref;
    lc_err want;
    const char *id; /* the row expected when LC_OK */
} resolve_cases[] = {
    {ID_A, LC_OK, ID_A},
    {ID_B, LC_OK, ID_B},
    {ID_C, LC_OK, ID_C},
    {"aaaa1", LC_OK, ID_A},
    {"aaaa2222", LC_OK, ID_B},
    {"aaaa2222-0000-4000", LC_OK, ID_B},
    {"cccc", LC_OK, ID_C},
    {"web1", LC_OK, ID_A},
    {"web2", LC_OK, ID_B},
    {"beef", LC_OK, ID_C}, /* a name that looks like a prefix is a name */
    {"aaaa", LC_EUSAGE, NULL},
    {"aaaa-", LC_ENOTFOUND, NULL},
    {"aaa", LC_ENOTFOUND, NULL}, /* a prefix needs 4 characters */
    {"cc", LC_ENOTFOUND, NULL},
    {"zzzz", LC_ENOTFOUND, NULL},
    {"dddd", LC_ENOTFOUND, NULL},
    {"web", LC_ENOTFOUND, NULL},
    {"web1 ", LC_ENOTFOUND, NULL},
    {"", LC_EUSAGE, NULL},
};

START_TEST(test_resolve)
{
    lc_store *s = open_store();
    insert(s, ID_A, "web1", "web1db");
    insert(s, ID_B, "web2", "web2db");
    insert(s, ID_C, "beef", "beefdb");
    lc_instance got;
    lc_diag d = {{0}};
    lc_err e = store_resolve(s, resolve_cases[_i].ref, &got, &d);
    ck_assert_msg(e == resolve_cases[_i].want, "resolve \"%s\": %d, expected %d (%s)",
                  resolve_cases[_i].ref, (int)e, (int)resolve_cases[_i].want, d.msg);
    if (e == LC_OK)
        ck_assert_str_eq(got.id, resolve_cases[_i].id);
    else
        ck_assert_msg(d.msg[0] != '\0', "no message");
    store_close(s);
}
END_TEST

/* A name means the live instance, else the most recently terminated one. */
START_TEST(test_resolve_name_live_then_terminated)
{
    lc_store *s = open_store();
    lc_instance got;
    lc_diag d = {{0}};
    insert(s, ID_A, "web1", "firstdb");
    set_status(s, ID_A, INSTANCE_TERMINATED, true);
    ck_assert_int_eq(store_resolve(s, "web1", &got, &d), LC_OK);
    ck_assert_str_eq(got.id, ID_A); /* only a terminated one: that one */

    insert(s, ID_B, "web1", "seconddb");
    ck_assert_int_eq(store_resolve(s, "web1", &got, &d), LC_OK);
    ck_assert_str_eq(got.id, ID_B); /* the live one */
    set_status(s, ID_B, INSTANCE_RUNNING, true);
    ck_assert_int_eq(store_resolve(s, "web1", &got, &d), LC_OK);
    ck_assert_str_eq(got.id, ID_B);

    /* both terminated, B last (in the same second as A's termination) */
    set_status(s, ID_B, INSTANCE_TERMINATED, true);
    ck_assert_int_eq(store_resolve(s, "web1", &got, &d), LC_OK);
    ck_assert_msg(strcmp(got.id, ID_B) == 0, "web1 resolved to %s, the first terminated", got.id);
    store_close(s);
}
END_TEST

/* Which terminated row is the most recent follows the rows' times. */
START_TEST(test_resolve_most_recently_terminated)
{
    lc_store *s = open_store();
    lc_instance got;
    lc_diag d = {{0}};
    insert(s, ID_A, "web1", "firstdb");
    set_status(s, ID_A, INSTANCE_TERMINATED, true);
    insert(s, ID_B, "web1", "seconddb");
    set_status(s, ID_B, INSTANCE_TERMINATED, true);
    store_close(s);

    ck_assert_int_eq(raw_exec(db_path,
                              "UPDATE instances SET updated_at = 1000 WHERE id = '" ID_A
                              "'; UPDATE instances SET updated_at = 2000 WHERE id = '" ID_B "'"),
                     SQLITE_OK);
    s = open_store();
    ck_assert_int_eq(store_resolve(s, "web1", &got, &d), LC_OK);
    ck_assert_str_eq(got.id, ID_B);
    store_close(s);

    ck_assert_int_eq(
        raw_exec(db_path, "UPDATE instances SET updated_at = 3000 WHERE id = '" ID_A "'"),
        SQLITE_OK);
    s = open_store();
    ck_assert_int_eq(store_resolve(s, "web1", &got, &d), LC_OK);
    ck_assert_str_eq(got.id, ID_A);
    store_close(s);
}
END_TEST

START_TEST(test_unique_among_live_rows)
{
    lc_store *s = open_store();
    lc_instance in;
    lc_diag d = {{0}};
    insert(s, ID_A, "web1", "onedb");

    make_instance(&in, ID_B, "web1", "twodb");
    ck_assert_int_eq(store_insert(s, &in, 60, &d), LC_EUSAGE);
    ck_assert_msg(strstr(d.msg, "web1") != NULL, "\"%s\"", d.msg);
    make_instance(&in, ID_C, "web3", "onedb");
    ck_assert_int_eq(store_insert(s, &in, 60, &d), LC_EUSAGE);
    ck_assert_msg(strstr(d.msg, "onedb") != NULL, "\"%s\"", d.msg);
    ck_assert_str_eq(query("SELECT count(*) FROM instances"), "1");
    ck_assert_str_eq(query("SELECT count(*) FROM status_events"), "1");

    /* still refused while A is in any live status */
    set_status(s, ID_A, INSTANCE_ERROR, false);
    make_instance(&in, ID_B, "web1", "twodb");
    ck_assert_int_eq(store_insert(s, &in, 60, &d), LC_EUSAGE);

    set_status(s, ID_A, INSTANCE_TERMINATED, true);
    make_instance(&in, ID_B, "web1", "twodb");
    ck_assert_msg(store_insert(s, &in, 60, &d) == LC_OK, "name of a terminated row: %s", d.msg);
    make_instance(&in, ID_C, "web3", "onedb");
    ck_assert_msg(store_insert(s, &in, 60, &d) == LC_OK, "database of a terminated row: %s", d.msg);
    /* and B is now the live web1 */
    make_instance(&in, ID_D, "web1", "fourdb");
    ck_assert_int_eq(store_insert(s, &in, 60, &d), LC_EUSAGE);
    ck_assert_str_eq(query("SELECT count(*) FROM instances"), "3");
    store_close(s);
}
END_TEST

START_TEST(test_save_history_only_on_change)
{
    lc_store *s = open_store();
    lc_instance in, got;
    lc_diag d = {{0}};
    insert(s, ID_A, "web1", "web1db");
    ck_assert_int_eq(store_get(s, ID_A, &in, &d), LC_OK);
    long long v0 = in.version;

    /* same status: the fields change, no history row */
    snprintf(in.container_id, sizeof in.container_id, "%064d", 7);
    snprintf(in.op_step, sizeof in.op_step, "container");
    ck_assert_int_eq(store_save(s, &in, INSTANCE_CREATING, "action", "step", false, &d), LC_OK);
    ck_assert_int_eq(history_count(ID_A), 1);
    ck_assert_int_eq(store_get(s, ID_A, &got, &d), LC_OK);
    ck_assert_str_eq(got.container_id, in.container_id);
    ck_assert_str_eq(got.op_step, "container");
    ck_assert_int_gt(got.version, v0);
    ck_assert_int_eq(got.lease.pid, (long)getpid()); /* not released */

    /* a change: one history row with from, to, cause and detail */
    in.status = INSTANCE_RUNNING;
    in.op_step[0] = '\0';
    in.op_deadline = 0;
    ck_assert_int_eq(store_save(s, &in, INSTANCE_CREATING, "action", "create", true, &d), LC_OK);
    ck_assert_int_eq(history_count(ID_A), 2);
    lc_history *h;
    size_t n;
    ck_assert_int_eq(store_history(s, ID_A, &h, &n, &d), LC_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(h[1].from, INSTANCE_CREATING);
    ck_assert_int_eq(h[1].to, INSTANCE_RUNNING);
    ck_assert_str_eq(h[1].cause, "action");
    ck_assert_str_eq(h[1].detail, "create");
    ck_assert_int_ge(h[1].at, h[0].at);
    free(h);
    ck_assert_int_eq(store_get(s, ID_A, &got, &d), LC_OK);
    ck_assert_int_eq(got.status, INSTANCE_RUNNING);
    ck_assert_int_eq(got.lease.pid, 0); /* released */
    ck_assert_str_eq(got.op_step, "");
    ck_assert_int_eq(got.op_deadline, 0);

    /* running -> running with a message: still two rows */
    ck_assert_int_eq(store_lease_take(s, ID_A, 60, &in, &d), LC_OK);
    snprintf(in.error_message, sizeof in.error_message, "noted");
    ck_assert_int_eq(store_save(s, &in, INSTANCE_RUNNING, "action", "again", true, &d), LC_OK);
    ck_assert_int_eq(history_count(ID_A), 2);
    ck_assert_int_eq(store_get(s, ID_A, &got, &d), LC_OK);
    ck_assert_str_eq(got.error_message, "noted");
    store_close(s);
}
END_TEST

START_TEST(test_save_without_lease)
{
    lc_store *s = open_store();
    lc_instance in, got;
    lc_diag d = {{0}};
    insert(s, ID_A, "web1", "web1db");
    set_status(s, ID_A, INSTANCE_RUNNING, true); /* saved and released */
    ck_assert_int_eq(store_get(s, ID_A, &in, &d), LC_OK);
    long long v = in.version;

    in.status = INSTANCE_STOPPED;
    snprintf(in.error_message, sizeof in.error_message, "should not land");
    d.msg[0] = '\0';
    ck_assert_int_eq(store_save(s, &in, INSTANCE_RUNNING, "action", "stop", true, &d), LC_EBUSY);
    ck_assert_msg(d.msg[0] != '\0', "no message");
    ck_assert_int_eq(store_get(s, ID_A, &got, &d), LC_OK);
    ck_assert_int_eq(got.status, INSTANCE_RUNNING);
    ck_assert_str_eq(got.error_message, "");
    ck_assert_int_eq(got.version, v);
    ck_assert_int_eq(history_count(ID_A), 2);
    store_close(s);
}
END_TEST

static void names_of(lc_store *s, bool all, int only, char *out, size_t len)
{
    lc_instance *rows;
    size_t n;
    lc_diag d = {{0}};
    ck_assert_msg(store_list(s, all, only, &rows, &n, &d) == LC_OK, "list: %s", d.msg);
    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        snprintf(out + strlen(out), len - strlen(out), "%s%s", i ? "," : "", rows[i].name);
    free(rows);
}

START_TEST(test_list)
{
    lc_store *s = open_store();
    char names[256];
    names_of(s, true, -1, names, sizeof names);
    ck_assert_str_eq(names, "");

    insert(s, ID_C, "web-c", "cdb");
    set_status(s, ID_C, INSTANCE_RUNNING, true);
    insert(s, ID_A, "web-a", "adb");
    set_status(s, ID_A, INSTANCE_STOPPED, true);
    insert(s, ID_B, "web-b", "bdb");
    set_status(s, ID_B, INSTANCE_TERMINATED, true);
    insert(s, ID_D, "web-d", "ddb"); /* creating */

    names_of(s, false, -1, names, sizeof names);
    ck_assert_str_eq(names, "web-a,web-c,web-d");
    names_of(s, true, -1, names, sizeof names);
    ck_assert_str_eq(names, "web-a,web-b,web-c,web-d");
    names_of(s, false, INSTANCE_STOPPED, names, sizeof names);
    ck_assert_str_eq(names, "web-a");
    names_of(s, true, INSTANCE_RUNNING, names, sizeof names);
    ck_assert_str_eq(names, "web-c");
    names_of(s, true, INSTANCE_TERMINATED, names, sizeof names);
    ck_assert_str_eq(names, "web-b");
    names_of(s, false, INSTANCE_CREATING, names, sizeof names);
    ck_assert_str_eq(names, "web-d");
    names_of(s, true, INSTANCE_ERROR, names, sizeof names);
    ck_assert_str_eq(names, "");

    /* list rows are whole rows */
    lc_instance *rows;
    size_t n;
    lc_diag d;
    ck_assert_int_eq(store_list(s, false, INSTANCE_RUNNING, &rows, &n, &d), LC_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(rows[0].id, ID_C);
    ck_assert_str_eq(rows[0].database_name, "cdb");
    ck_assert_int_eq(rows[0].status, INSTANCE_RUNNING);
    free(rows);
    store_close(s);
}
END_TEST

START_TEST(test_stats)
{
    lc_store *s = open_store();
    long counts[INSTANCE_STATUS_COUNT];
    lc_diag d = {{0}};
    for (int i = 0; i < INSTANCE_STATUS_COUNT; i++)
        counts[i] = -7;
    ck_assert_int_eq(store_stats(s, NULL, counts, &d), LC_OK);
    for (int i = 0; i < INSTANCE_STATUS_COUNT; i++)
        ck_assert_msg(counts[i] == 0, "%s: %ld on an empty store",
                      instance_status_name((InstanceStatus)i), counts[i]);

    insert(s, ID_A, "web-a", "adb");
    set_status(s, ID_A, INSTANCE_RUNNING, true);
    insert(s, ID_B, "web-b", "bdb");
    set_status(s, ID_B, INSTANCE_RUNNING, true);
    insert(s, ID_C, "web-c", "cdb");
    set_status(s, ID_C, INSTANCE_TERMINATED, true);
    insert(s, ID_D, "web-d", "ddb");
    static const long want[INSTANCE_STATUS_COUNT] = {
        [INSTANCE_CREATING] = 1, [INSTANCE_RUNNING] = 2, [INSTANCE_TERMINATED] = 1};
    for (int i = 0; i < INSTANCE_STATUS_COUNT; i++)
        counts[i] = -7;
    ck_assert_int_eq(store_stats(s, NULL, counts, &d), LC_OK);
    for (int i = 0; i < INSTANCE_STATUS_COUNT; i++)
        ck_assert_msg(counts[i] == want[i], "%s: %ld, expected %ld",
                      instance_status_name((InstanceStatus)i), counts[i], want[i]);
    store_close(s);
}
END_TEST

/* ---- leases between processes -------------------------------------------- */

typedef struct holder {
    pid_t pid;
    int release_fd; /* closing it lets the child exit */
} holder;

/*
 * spawn_holder: a child process that opens its own store, takes the lease on
 * id for `seconds`, reports it on a pipe and then stays alive until
 * release_fd is closed (stay = true) or exits at once (stay = false).
 */
static holder spawn_holder(const char *id, int seconds, bool stay)
{
    int ready[2], hold[2];
    ck_assert_int_eq(pipe(ready), 0);
    ck_assert_int_eq(pipe(hold), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(ready[0]);
        close(hold[1]);
        lc_store *s = NULL;
        lc_instance in;
        lc_diag d;
        char ok = 'n';
        if (store_open(db_path, STORE_CREATE, &s, &d) == LC_OK &&
            store_lease_take(s, id, seconds, &in, &d) == LC_OK)
            ok = 'y';
        store_close(s);
        if (write(ready[1], &ok, 1) != 1)
            _exit(2);
        close(ready[1]);
        char c;
        if (stay)
            while (read(hold[0], &c, 1) > 0)
                ;
        _exit(0);
    }
    close(ready[1]);
    close(hold[0]);
    char ok = 0;
    ck_assert_int_eq(read(ready[0], &ok, 1), 1);
    close(ready[0]);
    ck_assert_msg(ok == 'y', "the child could not take the lease");
    holder h = {.pid = pid, .release_fd = hold[1]};
    return h;
}

static void end_holder(holder *h)
{
    int st;
    close(h->release_fd);
    ck_assert_int_eq(waitpid(h->pid, &st, 0), h->pid);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* A row with no lease, the store closed (ready for a fork). */
static void prepare_row(void)
{
    lc_store *s = open_store();
    insert(s, ID_A, "web1", "web1db");
    set_status(s, ID_A, INSTANCE_RUNNING, true);
    store_close(s);
}

START_TEST(test_lease_busy_while_holder_lives)
{
    prepare_row();
    holder h = spawn_holder(ID_A, 60, true);
    lc_store *s = open_store();
    lc_instance in;
    lc_diag d = {{0}};
    ck_assert_int_eq(store_get(s, ID_A, &in, &d), LC_OK);
    ck_assert_int_eq(in.lease.pid, (long)h.pid);
    long long v = in.version;

    ck_assert_int_eq(store_lease_take(s, ID_A, 60, &in, &d), LC_EBUSY);
    char pid[32];
    snprintf(pid, sizeof pid, "%ld", (long)h.pid);
    ck_assert_msg(strstr(d.msg, pid) != NULL, "\"%s\" does not name the holder", d.msg);

    /* nor may this process save over the other's lease */
    ck_assert_int_eq(store_get(s, ID_A, &in, &d), LC_OK);
    ck_assert_int_eq(in.version, v);
    in.status = INSTANCE_STOPPED;
    ck_assert_int_eq(store_save(s, &in, INSTANCE_RUNNING, "action", "stop", true, &d), LC_EBUSY);
    ck_assert_int_eq(store_get(s, ID_A, &in, &d), LC_OK);
    ck_assert_int_eq(in.status, INSTANCE_RUNNING);
    ck_assert_int_eq(in.lease.pid, (long)h.pid);
    store_close(s);
    end_holder(&h);
}
END_TEST

START_TEST(test_lease_of_dead_holder_is_taken)
{
    prepare_row();
    holder h = spawn_holder(ID_A, 600, false);
    end_holder(&h); /* the child has exited: its lease is still in the row */
    lc_store *s = open_store();
    lc_instance in;
    lc_diag d = {{0}};
    ck_assert_int_eq(store_get(s, ID_A, &in, &d), LC_OK);
    ck_assert_int_eq(in.lease.pid, (long)h.pid);
    ck_assert_int_gt(in.lease_deadline, time(NULL) + 500);
    long long v = in.version;

    lc_err e = store_lease_take(s, ID_A, 60, &in, &d);
    ck_assert_msg(e == LC_OK, "dead holder's lease not broken: %s", d.msg);
    ck_assert_int_eq(in.lease.pid, (long)getpid());
    ck_assert_int_gt(in.version, v);
    store_close(s);
}
END_TEST

START_TEST(test_lease_past_deadline_is_taken)
{
    prepare_row();
    holder h = spawn_holder(ID_A, -5, true); /* alive, deadline 5 s ago */
    lc_store *s = open_store();
    lc_instance in;
    lc_diag d = {{0}};
    lc_err e = store_lease_take(s, ID_A, 60, &in, &d);
    ck_assert_msg(e == LC_OK, "expired lease not broken: %s", d.msg);
    ck_assert_int_eq(in.lease.pid, (long)getpid());
    store_close(s);
    end_holder(&h);
}
END_TEST

START_TEST(test_lease_take_bumps_version)
{
    lc_store *s = open_store();
    lc_instance in, again;
    lc_diag d = {{0}};
    insert(s, ID_A, "web1", "web1db");
    ck_assert_int_eq(store_get(s, ID_A, &in, &d), LC_OK);
    ck_assert_int_eq(store_lease_take(s, ID_A, 60, &again, &d), LC_OK); /* own lease: re-taken */
    ck_assert_int_eq(again.version, in.version + 1);
    ck_assert_int_eq(again.lease.pid, (long)getpid());
    ck_assert_int_eq(store_lease_take(s, ID_B, 60, &again, &d), LC_ENOTFOUND);
    store_close(s);
}
END_TEST

START_TEST(test_holder_alive_self)
{
    lc_lease_holder h;
    lc_lease_self(&h);
    ck_assert_int_eq(h.pid, (long)getpid());
    ck_assert_str_ne(h.host, "");
    ck_assert_str_ne(h.boot, "");
    ck_assert_uint_gt(h.start, 0);
    ck_assert(lc_lease_holder_alive(&h));
}
END_TEST

START_TEST(test_holder_alive_dead_pid)
{
    lc_lease_holder h;
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        _exit(0);
    ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
    lc_lease_self(&h);
    h.pid = pid;
    ck_assert(!lc_lease_holder_alive(&h));
    h.pid = 0;
    ck_assert(!lc_lease_holder_alive(&h));
}
END_TEST

START_TEST(test_holder_alive_reused_pid)
{
    lc_lease_holder h;
    lc_lease_self(&h);
    h.start += 12345; /* this pid, but another process started at another time */
    ck_assert(!lc_lease_holder_alive(&h));
    lc_lease_self(&h);
    h.pid = 1; /* init lives, but it is not the process that took the lease */
    ck_assert(!lc_lease_holder_alive(&h));
}
END_TEST

START_TEST(test_holder_alive_other_boot)
{
    lc_lease_holder h;
    lc_lease_self(&h);
    snprintf(h.boot, sizeof h.boot, "00000000-0000-4000-8000-000000000000");
    ck_assert(!lc_lease_holder_alive(&h));
}
END_TEST

START_TEST(test_holder_alive_other_host)
{
    lc_lease_holder h;
    lc_lease_self(&h);
    snprintf(h.host, sizeof h.host, "another-host.invalid");
    ck_assert(lc_lease_holder_alive(&h));
    /* whatever its pid, start and boot say: it cannot be checked from here */
    h.pid = 999999;
    h.start = 1;
    snprintf(h.boot, sizeof h.boot, "other-boot");
    ck_assert(lc_lease_holder_alive(&h));
}
END_TEST

START_TEST(test_lease_live)
{
    lc_instance in;
    time_t now = time(NULL);
    memset(&in, 0, sizeof in);
    ck_assert(!lc_lease_live(&in, now)); /* no lease */
    lc_lease_self(&in.lease);
    in.lease_deadline = now + 30;
    ck_assert(lc_lease_live(&in, now));
    in.lease_deadline = now - 1;
    ck_assert(!lc_lease_live(&in, now));
    in.lease_deadline = now + 30;
    in.lease.start++;
    ck_assert(!lc_lease_live(&in, now));
}
END_TEST

/* ---- reconcile's compare-and-set ----------------------------------------- */

/* A running row, no lease; *version its version. The store stays open. */
static lc_store *running_row(long long *version)
{
    lc_store *s = open_store();
    lc_instance in;
    lc_diag d;
    insert(s, ID_A, "web1", "web1db");
    set_status(s, ID_A, INSTANCE_RUNNING, true);
    ck_assert_int_eq(store_get(s, ID_A, &in, &d), LC_OK);
    ck_assert_int_eq(in.lease.pid, 0);
    *version = in.version;
    return s;
}

static void change_to_error(lc_derive_out *out)
{
    memset(out, 0, sizeof *out);
    out->verdict = VERDICT_CHANGE;
    out->status = INSTANCE_ERROR;
    out->set_message = true;
    snprintf(out->error_message, sizeof out->error_message, "container odoo_x not found");
    snprintf(out->reason, sizeof out->reason, "container missing");
    out->next.state = CONTAINER_MISSING;
    out->next.observed_at = time(NULL);
}

static void keep_running(lc_derive_out *out)
{
    memset(out, 0, sizeof *out);
    out->verdict = VERDICT_KEEP;
    out->status = INSTANCE_RUNNING;
    out->next.state = CONTAINER_RUNNING;
    out->next.restart_count = 3;
    snprintf(out->next.health, sizeof out->next.health, "healthy");
    out->next.observed_at = time(NULL);
}

/* assert_untouched: status running, same version, no observation, two history rows. */
static void assert_untouched(lc_store *s, long long version)
{
    lc_instance in;
    lc_diag d;
    ck_assert_int_eq(store_get(s, ID_A, &in, &d), LC_OK);
    ck_assert_int_eq(in.status, INSTANCE_RUNNING);
    ck_assert_str_eq(in.error_message, "");
    ck_assert_int_eq(in.version, version);
    ck_assert_int_eq(in.obs.state, CONTAINER_UNKNOWN);
    ck_assert_int_eq(in.obs.observed_at, 0);
    ck_assert_int_eq(history_count(ID_A), 2);
}

START_TEST(test_reconcile_change_wins)
{
    long long v;
    lc_store *s = running_row(&v);
    lc_derive_out out;
    lc_diag d = {{0}};
    bool applied = false;
    change_to_error(&out);
    ck_assert_int_eq(store_begin(s, &d), LC_OK);
    ck_assert_msg(store_reconcile_write(s, ID_A, v, &out, &applied, &d) == LC_OK, "%s", d.msg);
    ck_assert_int_eq(store_commit(s, &d), LC_OK);
    ck_assert(applied);

    lc_instance in;
    ck_assert_int_eq(store_get(s, ID_A, &in, &d), LC_OK);
    ck_assert_int_eq(in.status, INSTANCE_ERROR);
    ck_assert_str_eq(in.error_message, "container odoo_x not found");
    ck_assert_int_gt(in.version, v);
    ck_assert_int_eq(in.obs.state, CONTAINER_MISSING);
    ck_assert_int_eq(in.obs.observed_at, out.next.observed_at);
    lc_history *h;
    size_t n;
    ck_assert_int_eq(store_history(s, ID_A, &h, &n, &d), LC_OK);
    ck_assert_uint_eq(n, 3);
    ck_assert_int_eq(h[2].from, INSTANCE_RUNNING);
    ck_assert_int_eq(h[2].to, INSTANCE_ERROR);
    ck_assert_str_eq(h[2].cause, "reconcile");
    ck_assert_str_eq(h[2].detail, "container missing");
    free(h);
    store_close(s);
}
END_TEST

START_TEST(test_reconcile_change_loses_to_version)
{
    long long v;
    lc_store *s = running_row(&v);
    lc_derive_out out;
    lc_diag d = {{0}};
    bool applied = true;
    change_to_error(&out);
    ck_assert_int_eq(store_reconcile_write(s, ID_A, v - 1, &out, &applied, &d), LC_OK);
    ck_assert(!applied);
    assert_untouched(s, v);
    store_close(s);
}
END_TEST

START_TEST(test_reconcile_change_loses_to_live_lease)
{
    long long v;
    lc_store *s = running_row(&v);
    store_close(s);
    holder h = spawn_holder(ID_A, 60, true);
    s = open_store();
    lc_instance in;
    lc_diag d = {{0}};
    ck_assert_int_eq(store_get(s, ID_A, &in, &d), LC_OK); /* read after the lease: current */
    lc_derive_out out;
    bool applied = true;
    change_to_error(&out);
    ck_assert_int_eq(store_reconcile_write(s, ID_A, in.version, &out, &applied, &d), LC_OK);
    ck_assert(!applied);
    assert_untouched(s, in.version);
    store_close(s);
    end_holder(&h);
}
END_TEST

/* This process's own live lease counts too: reconcile never writes under an action. */
START_TEST(test_reconcile_change_loses_to_own_lease)
{
    long long v;
    lc_store *s = running_row(&v);
    lc_instance in;
    lc_diag d = {{0}};
    ck_assert_int_eq(store_lease_take(s, ID_A, 60, &in, &d), LC_OK);
    lc_derive_out out;
    bool applied = true;
    change_to_error(&out);
    ck_assert_int_eq(store_reconcile_write(s, ID_A, in.version, &out, &applied, &d), LC_OK);
    ck_assert(!applied);
    assert_untouched(s, in.version);
    store_close(s);
}
END_TEST

/* A lease whose holder died is not a live lease: the write goes through. */
START_TEST(test_reconcile_change_wins_over_dead_lease)
{
    long long v;
    lc_store *s = running_row(&v);
    store_close(s);
    holder h = spawn_holder(ID_A, 600, false);
    end_holder(&h);
    s = open_store();
    lc_instance in;
    lc_diag d = {{0}};
    ck_assert_int_eq(store_get(s, ID_A, &in, &d), LC_OK);
    ck_assert(!lc_lease_live(&in, time(NULL)));
    lc_derive_out out;
    bool applied = false;
    change_to_error(&out);
    ck_assert_int_eq(store_reconcile_write(s, ID_A, in.version, &out, &applied, &d), LC_OK);
    ck_assert_msg(applied, "a dead holder's lease blocked the reconcile write");
    ck_assert_int_eq(store_get(s, ID_A, &in, &d), LC_OK);
    ck_assert_int_eq(in.status, INSTANCE_ERROR);
    store_close(s);
}
END_TEST

START_TEST(test_reconcile_keep_writes_observation)
{
    long long v;
    lc_store *s = running_row(&v);
    lc_derive_out out;
    lc_diag d = {{0}};
    bool applied = false;
    keep_running(&out);
    ck_assert_int_eq(store_reconcile_write(s, ID_A, v, &out, &applied, &d), LC_OK);
    ck_assert(applied);
    lc_instance in;
    ck_assert_int_eq(store_get(s, ID_A, &in, &d), LC_OK);
    ck_assert_int_eq(in.status, INSTANCE_RUNNING);
    ck_assert_int_eq(in.obs.state, CONTAINER_RUNNING);
    ck_assert_int_eq(in.obs.restart_count, 3);
    ck_assert_str_eq(in.obs.health, "healthy");
    ck_assert_int_eq(in.obs.observed_at, out.next.observed_at);
    ck_assert_int_eq(history_count(ID_A), 2);
    store_close(s);
}
END_TEST

START_TEST(test_reconcile_keep_loses)
{
    long long v;
    lc_store *s = running_row(&v);
    lc_derive_out out;
    lc_diag d = {{0}};
    bool applied = true;
    keep_running(&out);
    ck_assert_int_eq(store_reconcile_write(s, ID_A, v + 1, &out, &applied, &d), LC_OK);
    ck_assert(!applied);
    assert_untouched(s, v);

    lc_instance in;
    ck_assert_int_eq(store_lease_take(s, ID_A, 60, &in, &d), LC_OK);
    applied = true;
    ck_assert_int_eq(store_reconcile_write(s, ID_A, in.version, &out, &applied, &d), LC_OK);
    ck_assert(!applied);
    assert_untouched(s, in.version);
    store_close(s);
}
END_TEST

START_TEST(test_reconcile_unknown_row)
{
    lc_store *s = open_store();
    lc_derive_out out;
    lc_diag d = {{0}};
    bool applied = true;
    change_to_error(&out);
    ck_assert_int_eq(store_reconcile_write(s, ID_A, 1, &out, &applied, &d), LC_ENOTFOUND);
    ck_assert(!applied);
    store_close(s);
}
END_TEST

Suite *suite_store(void)
{
    Suite *s = suite_create("store");
    TCase *t = tcase_create("schema");
    tcase_add_unchecked_fixture(t, base_setup, base_teardown);
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, test_fresh_database);
    tcase_add_test(t, test_uuid_stable_on_reopen);
    tcase_add_loop_test(t, test_schema_refuses_status, 0, BAD_WORDS * BAD_SQL);
    tcase_add_test(t, test_schema_accepts_statuses);
    tcase_add_test(t, test_newer_schema_refused);
    tcase_add_test(t, test_newer_schema_rollback_journal_untouched);
    suite_add_tcase(s, t);

    t = tcase_create("rows");
    tcase_add_unchecked_fixture(t, base_setup, base_teardown);
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, test_insert_then_get);
    tcase_add_loop_test(t, test_resolve, 0, (int)(sizeof resolve_cases / sizeof resolve_cases[0]));
    tcase_add_test(t, test_resolve_name_live_then_terminated);
    tcase_add_test(t, test_resolve_most_recently_terminated);
    tcase_add_test(t, test_unique_among_live_rows);
    tcase_add_test(t, test_save_history_only_on_change);
    tcase_add_test(t, test_save_without_lease);
    tcase_add_test(t, test_list);
    tcase_add_test(t, test_stats);
    suite_add_tcase(s, t);

    t = tcase_create("leases");
    tcase_add_unchecked_fixture(t, base_setup, base_teardown);
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, test_lease_busy_while_holder_lives);
    tcase_add_test(t, test_lease_of_dead_holder_is_taken);
    tcase_add_test(t, test_lease_past_deadline_is_taken);
    tcase_add_test(t, test_lease_take_bumps_version);
    tcase_add_test(t, test_holder_alive_self);
    tcase_add_test(t, test_holder_alive_dead_pid);
    tcase_add_test(t, test_holder_alive_reused_pid);
    tcase_add_test(t, test_holder_alive_other_boot);
    tcase_add_test(t, test_holder_alive_other_host);
    tcase_add_test(t, test_lease_live);
    suite_add_tcase(s, t);

    t = tcase_create("reconcile_write");
    tcase_add_unchecked_fixture(t, base_setup, base_teardown);
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, test_reconcile_change_wins);
    tcase_add_test(t, test_reconcile_change_loses_to_version);
    tcase_add_test(t, test_reconcile_change_loses_to_live_lease);
    tcase_add_test(t, test_reconcile_change_loses_to_own_lease);
    tcase_add_test(t, test_reconcile_change_wins_over_dead_lease);
    tcase_add_test(t, test_reconcile_keep_writes_observation);
    tcase_add_test(t, test_reconcile_keep_loses);
    tcase_add_test(t, test_reconcile_unknown_row);
    suite_add_tcase(s, t);
    return s;
}
