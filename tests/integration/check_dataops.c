/*
 * Integration tests of the data operations (DESIGN §2 backup, restore,
 * update, maintenance, terminate; §6 Backups): the real instctl binary
 * ($INSTCTL_BIN) against the real Docker engine with the stand-in Odoo
 * image, and, where a database is involved, a real PostgreSQL server.
 *
 * Every case is its own TCase with its own temporary directory, config
 * file, store (uuid from `instctl init -q`) and unique names, since the
 * engine is shared. The environment is made by an unchecked fixture (in the
 * runner process) and cleaned by label io.instctl.store=<uuid>, together
 * with the PostgreSQL server, both in a checked teardown and in the
 * unchecked one: Check skips checked teardowns when a forked test fails.
 *
 * PostgreSQL: initdb is slow (seconds to tens of seconds on a loaded
 * machine), so the first case needing a server runs tu_pg_start once, stops
 * that server and keeps its data directory (role and password included) as
 * a template; every case then starts its own server from a copy of it, on
 * its own loopback port, in its own temporary directory. The test creates
 * the instance's database itself (standing in for Odoo's own create; the
 * stand-in image does not touch PostgreSQL), owned by the role instctl
 * connects as, with a table t holding one row.
 *
 * Files in the volume are read with `docker cp` through the instance's
 * container (it works on stopped and never-started containers and keeps
 * owners in the tar headers). INSTCTL_TEST_TRACE=1 prints every command run
 * and how long it took (tests/testutil.c).
 */
#include <arpa/inet.h>
#include <check.h>
#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <pwd.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backup.h"
#include "tenant.h"
#include "testutil.h"

#define DATA "/var/lib/odoo"
#define IMAGE17 "instctl/odoo-standin:17.0"
#define IMAGE18 "instctl/odoo-standin:18.0"

/* ---- the per-case environment ---- */

typedef struct dop_env {
    bool ready;
    char dir[256];     /* temporary directory: config, database, backups */
    char conf[320];    /* DIR/instctl.conf */
    char db[320];      /* DIR/instctl.db */
    char backups[320]; /* DIR/backups (backup_dir) */
    char adminpw[320]; /* DIR/admin.pw, the admin password file for create */
    char uuid[64];     /* store uuid, label io.instctl.store */
    char uuid2[64];    /* a second store's uuid (restore --from another store), "" when none */
    char tag[16];      /* 8 random hex digits making names unique on the shared engine */
    char setup_error[512];
    tu_pg pg;
} dop_env;

static dop_env E;

/* ---- a PostgreSQL server per case, from a template made once ---- */

static tu_pg pg_tmpl;
static pid_t pg_tmpl_owner;
static bool pg_tmpl_tried, pg_tmpl_ok;

/* atexit in the runner process (forked test processes inherit it: they leave it alone). */
static void pg_template_remove(void)
{
    if (getpid() == pg_tmpl_owner)
        tu_pg_stop(&pg_tmpl);
}

/* The template data directory: a cluster with the password role, server stopped. */
static bool pg_template(char *why, size_t len)
{
    if (pg_tmpl_tried) {
        if (!pg_tmpl_ok)
            snprintf(why, len, "the PostgreSQL template could not be made (see stderr)");
        return pg_tmpl_ok;
    }
    pg_tmpl_tried = true;
    pg_tmpl_owner = getpid();
    if (!tu_pg_start(&pg_tmpl)) {
        snprintf(why, len, "tu_pg_start failed (PostgreSQL installed? scripts/install-deps.sh)");
        return false;
    }
    atexit(pg_template_remove);
    int st;
    char *o = tu_shf(&st, "cd / && runuser -u postgres -- %s/pg_ctl -D %s/data -m fast -w stop",
                     pg_tmpl.bin, pg_tmpl.dir);
    free(o);
    pg_tmpl.running = st != 0;
    pg_tmpl_ok = st == 0;
    if (!pg_tmpl_ok)
        snprintf(why, len, "stopping the template server failed");
    return pg_tmpl_ok;
}

/* Starts a server from a copy of the template in a new temporary directory. */
static bool pg_start_copy(tu_pg *pg, char *why, size_t len)
{
    memset(pg, 0, sizeof *pg);
    if (!pg_template(why, len))
        return false;
    struct passwd *pw = getpwnam("postgres");
    snprintf(pg->bin, sizeof pg->bin, "%s", pg_tmpl.bin);
    snprintf(pg->user, sizeof pg->user, "%s", pg_tmpl.user);
    struct stat sb;
    bool shm = stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) && access("/dev/shm", W_OK) == 0;
    snprintf(pg->dir, sizeof pg->dir, "%s/instctl-pg-XXXXXX", shm ? "/dev/shm" : "/tmp");
    if (pw == NULL || mkdtemp(pg->dir) == NULL || chown(pg->dir, pw->pw_uid, pw->pw_gid) != 0 ||
        (pg->port = tu_free_port()) == 0) {
        snprintf(why, len, "PostgreSQL directory or port: %s", strerror(errno));
        pg->dir[0] = '\0';
        return false;
    }
    snprintf(pg->password_file, sizeof pg->password_file, "%s/password", pg->dir);
    int st;
    char *o = tu_shf(&st,
                     "cp -a %s/data %s/data && cp %s %s && chmod 600 %s && cd / && "
                     "runuser -u postgres -- %s/pg_ctl -D %s/data -l %s/log -w -t 60 "
                     "-o '-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off' start >/dev/null",
                     pg_tmpl.dir, pg->dir, pg_tmpl.password_file, pg->password_file,
                     pg->password_file, pg->bin, pg->dir, pg->dir, pg->port, pg->dir);
    free(o);
    char pid[256];
    snprintf(pid, sizeof pid, "%s/data/postmaster.pid", pg->dir);
    pg->running = access(pid, F_OK) == 0;
    if (st != 0) {
        snprintf(why, len, "starting PostgreSQL from the template failed (exit %d)", st);
        tu_pg_stop(pg);
        return false;
    }
    return true;
}

/* Stops this case's server if it still runs (the other fixture may have) and removes it. */
static void pg_cleanup(void)
{
    if (E.pg.dir[0] == '\0')
        return;
    char pid[256];
    snprintf(pid, sizeof pid, "%s/data/postmaster.pid", E.pg.dir);
    if (access(pid, F_OK) != 0)
        E.pg.running = false;
    tu_pg_stop(&E.pg);
}

/* ---- fixtures ---- */

/* Removes every container and volume of this store, and the read-only mount of the backups. */
static void env_cleanup_docker(void)
{
    tu_docker_clean(E.uuid);
    if (E.uuid2[0] != '\0')
        tu_docker_clean(E.uuid2);
    if (E.backups[0] != '\0')
        free(tu_shf(NULL, "umount '%s' 2>/dev/null; true", E.backups));
}

static void env_setup(bool with_pg, int keep)
{
    memset(&E, 0, sizeof E);
    tu_random_hex(E.tag, 4);
    char *dir = tu_tmpdir("dataops");
    if (dir == NULL) {
        snprintf(E.setup_error, sizeof E.setup_error, "mkdtemp: %s", strerror(errno));
        return;
    }
    snprintf(E.dir, sizeof E.dir, "%s", dir);
    free(dir);
    snprintf(E.conf, sizeof E.conf, "%s/instctl.conf", E.dir);
    snprintf(E.db, sizeof E.db, "%s/instctl.db", E.dir);
    snprintf(E.backups, sizeof E.backups, "%s/backups", E.dir);
    snprintf(E.adminpw, sizeof E.adminpw, "%s/admin.pw", E.dir);
    if (with_pg && !pg_start_copy(&E.pg, E.setup_error, sizeof E.setup_error))
        return;
    char text[2048], pgconf[1024] = "", keepconf[64] = "";
    if (with_pg)
        snprintf(pgconf, sizeof pgconf,
                 "db_host = 127.0.0.1\ndb_port = %d\ndb_user = %s\ndb_password_file = %s\n",
                 E.pg.port, E.pg.user, E.pg.password_file);
    if (keep >= 0)
        snprintf(keepconf, sizeof keepconf, "backup_keep = %d\n", keep);
    snprintf(text, sizeof text,
             "db = %s\nimage_template = instctl/odoo-standin:{version}\ncreate_timeout = 60\n"
             "backup_dir = %s\n%s%s",
             E.db, E.backups, pgconf, keepconf);
    char pw[32] = "pw";
    tu_random_hex(pw + 2, 12);
    if (!tu_write_file(E.conf, text) || !tu_write_file(E.adminpw, pw)) {
        snprintf(E.setup_error, sizeof E.setup_error, "cannot write %s", E.conf);
        return;
    }
    E.ready = tu_instctl_init(E.conf, E.uuid, sizeof E.uuid, E.setup_error, sizeof E.setup_error);
}

static void setup_plain(void)
{
    env_setup(false, -1);
}

static void setup_pg(void)
{
    env_setup(true, -1);
}

static void setup_keep2(void)
{
    env_setup(false, 2);
}

static void env_teardown(void)
{
    env_cleanup_docker();
    pg_cleanup();
    if (E.dir[0] == '/')
        free(tu_shf(NULL, "rm -rf '%s'", E.dir));
}

/* Checked fixture: runs in the test's process; the teardown only when the test passed. */
static void checked_setup(void)
{
    ck_assert_msg(E.ready, "test environment: %s", E.setup_error);
}

static void checked_teardown(void)
{
    env_cleanup_docker();
    pg_cleanup();
}

/* ---- running instctl ---- */

/* IC: instctl --config CONF args... */
#define IC(...) tu_instctl_conf(E.conf, NULL, __VA_ARGS__, (const char *)NULL)

/* Runs instctl and asserts its exit status. */
#define IC_EXPECT(want, ...)                                                                       \
    do {                                                                                           \
        tu_run r_ = IC(__VA_ARGS__);                                                               \
        ck_assert_msg(r_.status == (want), "instctl %s: exit %d, want %d\nstdout: %s\nstderr: %s", \
                      #__VA_ARGS__, r_.status, (want), r_.out, r_.err);                            \
        tu_run_free(&r_);                                                                          \
    } while (0)

/* ---- the store's view ---- */

/* A column of the live row named name (else the newest row of that name). */
static char *field(const char *name, const char *col)
{
    return tu_sqlf(E.db,
                   "SELECT %s FROM instances WHERE name = '%s'"
                   " ORDER BY status = 'terminated', updated_at DESC LIMIT 1",
                   col, name);
}

#define ASSERT_FIELD(name, col, want)                                                              \
    do {                                                                                           \
        char *v_ = field(name, col);                                                               \
        ck_assert_msg(strcmp(v_, want) == 0, "%s of %s is \"%s\", want \"%s\"", col, name, v_,     \
                      want);                                                                       \
        free(v_);                                                                                  \
    } while (0)

static long history_rows(const char *id)
{
    char *v = tu_sqlf(E.db, "SELECT count(*) FROM status_events WHERE instance_id = '%s'", id);
    long n = strtol(v, NULL, 10);
    free(v);
    return n;
}

/*
 * What an action that changes nothing must leave alone: status, image,
 * version, container, volume, message, history length (as one string).
 */
static char *row_state(const char *name)
{
    char sql[1024];
    snprintf(sql, sizeof sql,
             "SELECT status, image, odoo_version, ifnull(container_id, ''), volume_name,"
             " ifnull(error_message, ''), ifnull(op_step, ''), ifnull(lease_pid, 'no lease'),"
             " (SELECT count(*) FROM status_events e WHERE e.instance_id = i.id),"
             " (SELECT count(*) FROM backups b WHERE b.instance_id = i.id)"
             " FROM instances i WHERE name = '%s'",
             name);
    return tu_sql_rows(E.db, sql);
}

/* No instance of the store is left holding a lease. */
#define ASSERT_NO_LEASE()                                                                          \
    do {                                                                                           \
        char *l_ = tu_sql(E.db, "SELECT count(*) FROM instances WHERE lease_pid IS NOT NULL");     \
        ck_assert_msg(strcmp(l_, "0") == 0, "%s instance(s) left with a lease", l_);               \
        free(l_);                                                                                  \
    } while (0)

/* ---- Docker's view ---- */

/* How many containers (or volumes, when volumes) are labelled for this store and instance id. */
static long labelled_for(const char *id, bool volumes)
{
    char *o = tu_shf(NULL,
                     "docker %s -q --filter label=io.instctl.store=%s "
                     "--filter label=io.instctl.instance=%s | wc -l",
                     volumes ? "volume ls" : "ps -a", E.uuid, id);
    long n = strtol(o, NULL, 10);
    free(o);
    return n;
}

/* Waits until Docker reports the container healthy; false after timeout_s. */
static bool wait_healthy(const char *container, double timeout_s)
{
    double until = tu_now_s() + timeout_s;
    for (;;) {
        char *h =
            tu_docker_inspect(container, "{{if .State.Health}}{{.State.Health.Status}}{{end}}");
        bool ok = strcmp(h, "healthy") == 0;
        free(h);
        if (ok)
            return true;
        if (tu_now_s() > until)
            return false;
        usleep(250 * 1000);
    }
}

/* ---- instances and their data ---- */

static void names(const char *suffix, char *name, size_t nlen, char *db, size_t dlen)
{
    snprintf(name, nlen, "dop-%s-%s", E.tag, suffix);
    snprintf(db, dlen, "dop_%s_%s", E.tag, suffix);
}

/* Creates name/db (default version 17.0), asserts it runs; its container name into container. */
static void create_running(const char *name, const char *db, char *container, size_t clen)
{
    char email[128];
    snprintf(email, sizeof email, "admin+%s@example.com", name);
    tu_run r = IC("create", name, "--database", db, "--admin-email", email, "--admin-password-file",
                  E.adminpw);
    ck_assert_msg(r.status == 0, "create %s: exit %d\nstdout: %s\nstderr: %s", name, r.status,
                  r.out, r.err);
    tu_run_free(&r);
    ASSERT_FIELD(name, "status", "running");
    char *cn = field(name, "container_name");
    snprintf(container, clen, "%s", cn);
    free(cn);
    ck_assert_str_ne(container, "");
    TU_ASSERT_DOCKER_STATE(container, "running");
}

/* Writes text (no quotes) into DATA/file inside the running container, as its user (101). */
static void put_file(const char *container, const char *file, const char *text)
{
    free(tu_sh_ok("docker exec '%s' sh -c 'echo %s > " DATA "/%s'", container, text, file));
}

/*
 * A file's content under DATA through the instance's container (running or
 * not: `docker cp` reads the mounted volume), "MISSING" when it is absent.
 */
static char *data_cat(const char *container, const char *file)
{
    return tu_sh_ok("docker cp '%s:" DATA
                    "/%s' - 2>/dev/null | tar -xOf - 2>/dev/null || echo MISSING",
                    container, file);
}

/* Every entry under DATA in the container as `tar -tv --numeric-owner` lines. */
static char *data_listing(const char *container)
{
    return tu_sh_ok("docker cp '%s:" DATA "' - | tar -tvf - --numeric-owner", container);
}

/* ---- the instance's PostgreSQL database ---- */

/* Creates db owned by the role instctl uses, with table t holding (1, value). */
static void pg_make_db(const char *db, const char *value)
{
    char sql[512];
    snprintf(sql, sizeof sql, "CREATE DATABASE %s OWNER %s", db, E.pg.user);
    char *o = tu_pg_query(&E.pg, "postgres", sql);
    ck_assert_msg(o != NULL, "psql: %s failed", sql);
    free(o);
    snprintf(sql, sizeof sql,
             "SET ROLE %s; CREATE TABLE t (k integer PRIMARY KEY, v text NOT NULL);"
             " INSERT INTO t VALUES (1, '%s')",
             E.pg.user, value);
    o = tu_pg_query(&E.pg, db, sql);
    ck_assert_msg(o != NULL, "psql: %s failed", sql);
    free(o);
}

static void pg_set(const char *db, const char *value)
{
    char sql[256];
    snprintf(sql, sizeof sql, "UPDATE t SET v = '%s' WHERE k = 1", value);
    char *o = tu_pg_query(&E.pg, db, sql);
    ck_assert_msg(o != NULL, "psql: %s failed", sql);
    free(o);
}

/* The row's value (and how many rows t has, which must be 1). */
static char *pg_value(const char *db)
{
    char *n = tu_pg_query(&E.pg, db, "SELECT count(*) FROM t");
    ck_assert_msg(n != NULL, "psql: cannot read table t of %s", db);
    ck_assert_msg(strcmp(n, "1") == 0, "table t of %s has %s rows, want 1", db, n);
    free(n);
    char *v = tu_pg_query(&E.pg, db, "SELECT v FROM t WHERE k = 1");
    ck_assert_msg(v != NULL, "psql: cannot read the row of %s", db);
    return v;
}

#define ASSERT_PG_VALUE(db, want)                                                                  \
    do {                                                                                           \
        char *pv_ = pg_value(db);                                                                  \
        ck_assert_msg(strcmp(pv_, want) == 0, "database %s: row is \"%s\", want \"%s\"", db, pv_,  \
                      want);                                                                       \
        free(pv_);                                                                                 \
    } while (0)

static bool pg_db_exists(const char *db)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM pg_database WHERE datname = '%s'", db);
    char *o = tu_pg_query(&E.pg, "postgres", sql);
    ck_assert_msg(o != NULL, "psql: %s failed", sql);
    bool yes = strcmp(o, "1") == 0;
    free(o);
    return yes;
}

/* ---- backups ---- */

/* `instctl backups NAME --json`, asserted to succeed and to be an array. */
static cJSON *backups_json(const char *name)
{
    tu_run r = IC("backups", name, "--json");
    ck_assert_msg(r.status == 0, "backups %s --json: exit %d: %s%s", name, r.status, r.out, r.err);
    cJSON *j = cJSON_Parse(r.out);
    ck_assert_msg(cJSON_IsArray(j), "backups --json is not an array: %s", r.out);
    tu_run_free(&r);
    return j;
}

static const char *jstr(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    ck_assert_msg(cJSON_IsString(v), "key \"%s\" is missing or not a string", key);
    return v->valuestring;
}

static bool matches(const char *s, const char *re)
{
    regex_t rx;
    ck_assert_int_eq(regcomp(&rx, re, REG_EXTENDED | REG_NOSUB), 0);
    bool ok = regexec(&rx, s, 0, NULL, 0) == 0;
    regfree(&rx);
    return ok;
}

static char *sha256_of(const char *path)
{
    return tu_sh_ok("sha256sum '%s' | cut -c1-64", path);
}

/*
 * Checks one element of `backups --json`: the documented keys (id, path,
 * size, sha256, created_at) with sane values, the kind, a file under
 * backup_dir/<instance id>/ whose size and sha256sum are the recorded ones,
 * and which backup_verify accepts (holding a database dump when with_dump).
 */
static void check_backup(const cJSON *b, const char *instance_id, const char *kind, bool with_dump)
{
    const char *id = jstr(b, "id"), *path = jstr(b, "path"), *sha = jstr(b, "sha256");
    const char *at = jstr(b, "created_at");
    const cJSON *size = cJSON_GetObjectItemCaseSensitive(b, "size");
    ck_assert_msg(cJSON_IsNumber(size), "size is not a number");
    ck_assert_msg(strlen(id) >= 8, "backup id \"%s\"", id);
    ck_assert_msg(matches(sha, "^[0-9a-f]{64}$"), "sha256 \"%s\"", sha);
    ck_assert_msg(matches(at, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"),
                  "created_at \"%s\" is not RFC 3339 UTC", at);
    ck_assert_str_eq(jstr(b, "kind"), kind);
    char prefix[512];
    snprintf(prefix, sizeof prefix, "%s/%s/", E.backups, instance_id);
    ck_assert_msg(strncmp(path, prefix, strlen(prefix)) == 0, "backup path %s is not under %s",
                  path, prefix);
    struct stat sb;
    ck_assert_msg(stat(path, &sb) == 0, "backup file %s: %s", path, strerror(errno));
    ck_assert_msg((double)sb.st_size == size->valuedouble, "backup %s is %lld bytes, recorded %.0f",
                  path, (long long)sb.st_size, size->valuedouble);
    char *actual = sha256_of(path);
    ck_assert_msg(strcmp(actual, sha) == 0, "sha256sum of %s is %s, recorded %s", path, actual,
                  sha);
    free(actual);
    lc_backup_info info;
    lc_diag d = {""};
    ck_assert_msg(backup_verify(path, &info, &d) == LC_OK, "backup_verify %s: %s", path, d.msg);
    ck_assert_str_eq(info.sha256, sha);
    ck_assert_str_eq(info.instance, instance_id);
    ck_assert_msg(backup_find_part(&info, "volume.tar") != NULL, "%s has no volume.tar", path);
    if (with_dump)
        ck_assert_msg(backup_find_part(&info, "database.dump") != NULL, "%s has no database.dump",
                      path);
}

/* Where the content of the part called name starts in the tar at path; *size its size. */
static long long tar_part_offset(const char *path, const char *name, long long *size)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
    unsigned char h[512];
    long long off = 0, found = -1;
    while (fseeko(f, off, SEEK_SET) == 0 && fread(h, 1, sizeof h, f) == sizeof h && h[0] != 0) {
        char entry[101], octal[13];
        memcpy(entry, h, 100);
        entry[100] = '\0';
        memcpy(octal, h + 124, 12);
        octal[12] = '\0';
        long long n = strtoll(octal, NULL, 8);
        if (strcmp(entry, name) == 0 && (h[156] == '0' || h[156] == '\0')) {
            found = off + 512;
            *size = n;
            break;
        }
        off += 512 + (n + 511) / 512 * 512;
    }
    fclose(f);
    return found;
}

/* Flips every bit of one byte at offset of the file at path. */
static void flip_byte(const char *path, long long offset)
{
    FILE *f = fopen(path, "r+b");
    ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
    ck_assert(fseeko(f, offset, SEEK_SET) == 0);
    int c = fgetc(f);
    ck_assert(c != EOF);
    ck_assert(fseeko(f, offset, SEEK_SET) == 0);
    ck_assert(fputc(c ^ 0xff, f) != EOF);
    ck_assert_int_eq(fclose(f), 0);
}

/* How many *.tar files are under backup_dir/<id>/. */
static long tar_files(const char *id)
{
    char *o = tu_shf(NULL, "ls '%s/%s' 2>/dev/null | grep -c '\\.tar$'", E.backups, id);
    long n = strtol(o, NULL, 10);
    free(o);
    return n;
}

/* ---- cases ---- */

/*
 * backup, change the file and the row (and add a file), stop, restore: the
 * volume is a new generation holding exactly the old files (owned by 101),
 * the row has its old value, the status is stopped; the recorded SHA-256 is
 * the file's; `backups --json` has the documented keys.
 */
START_TEST(test_backup_restore_roundtrip)
{
    char name[64], db[64], container[160], before[64], after[64];
    names("rt", name, sizeof name, db, sizeof db);
    create_running(name, db, container, sizeof container);
    char *id = field(name, "id");
    snprintf(before, sizeof before, "before-%s", E.tag);
    snprintf(after, sizeof after, "after-%s", E.tag);
    pg_make_db(db, before);
    put_file(container, "f", before);

    IC_EXPECT(0, "backup", name);
    ASSERT_FIELD(name, "status", "running");
    TU_ASSERT_DOCKER_STATE(container, "running");
    cJSON *list = backups_json(name);
    ck_assert_int_eq(cJSON_GetArraySize(list), 1);
    check_backup(cJSON_GetArrayItem(list, 0), id, "manual", true);
    char backup_id[64];
    snprintf(backup_id, sizeof backup_id, "%s", jstr(cJSON_GetArrayItem(list, 0), "id"));
    cJSON_Delete(list);

    put_file(container, "f", after);
    put_file(container, "added", "new-file");
    pg_set(db, after);
    char *changed = data_cat(container, "f");
    ck_assert_str_eq(changed, after);
    free(changed);
    ASSERT_PG_VALUE(db, after);

    IC_EXPECT(0, "stop", name);
    ASSERT_FIELD(name, "status", "stopped");
    char *old_volume = field(name, "volume_name");
    char *old_cid = field(name, "container_id");

    IC_EXPECT(0, "restore", name);

    /* the store: stopped, a new volume generation, a new container */
    ASSERT_FIELD(name, "status", "stopped");
    ASSERT_FIELD(name, "ifnull(error_message, '')", "");
    ASSERT_FIELD(name, "ifnull(op_step, '')", "");
    char *volume = field(name, "volume_name");
    char *cid = field(name, "container_id");
    ck_assert_msg(strcmp(volume, old_volume) != 0, "restore kept the volume %s", volume);
    tu_run r = IC("show", name, "--json");
    ck_assert_int_eq(r.status, 0);
    cJSON *show = cJSON_Parse(r.out);
    ck_assert_msg(show != NULL, "show --json: %s", r.out);
    ck_assert_str_eq(jstr(show, "status"), "stopped");
    cJSON_Delete(show);
    tu_run_free(&r);

    /* Docker: the old volume and container are gone, the new container does not run */
    ck_assert_msg(!tu_docker_volume_exists(old_volume), "old volume %s still exists", old_volume);
    ck_assert_msg(tu_docker_volume_exists(volume), "new volume %s does not exist", volume);
    TU_ASSERT_DOCKER_STATE(old_cid, "missing");
    char *state = tu_docker_state(cid);
    ck_assert_msg(strcmp(state, "created") == 0 || strcmp(state, "exited") == 0,
                  "restored container is %s", state);
    free(state);
    char *mounts = tu_docker_inspect(cid, "{{range .Mounts}}{{.Name}}:{{.Destination}} {{end}}");
    char want_mount[256];
    snprintf(want_mount, sizeof want_mount, "%s:" DATA, volume);
    ck_assert_msg(strstr(mounts, want_mount) != NULL, "container mounts \"%s\", want %s", mounts,
                  want_mount);
    free(mounts);
    ck_assert_int_eq(labelled_for(id, false), 1);
    ck_assert_int_eq(labelled_for(id, true), 1);

    /* the data: the old file content, the added file gone, everything owned by 101 */
    char *f = data_cat(cid, "f");
    ck_assert_msg(strcmp(f, before) == 0, "restored f is \"%s\", want \"%s\"", f, before);
    free(f);
    char *listing = data_listing(cid);
    bool has_f = false, has_added = false;
    int entries = 0;
    for (char *line = strtok(listing, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        char mode[16], owner[32], entry[256];
        ck_assert_msg(sscanf(line, "%15s %31s %*s %*s %*s %255s", mode, owner, entry) == 3,
                      "tar listing line: %s", line);
        ck_assert_msg(strcmp(owner, "101/101") == 0, "not owned by 101:101: %s", line);
        has_f |= strcmp(entry, "odoo/f") == 0;
        has_added |= strcmp(entry, "odoo/added") == 0;
        entries++;
    }
    free(listing);
    ck_assert_msg(has_f && entries >= 2, "f is not in the restored volume");
    ck_assert_msg(!has_added, "the file added after the backup is back");
    ASSERT_PG_VALUE(db, before);

    /* and the instance runs on it */
    IC_EXPECT(0, "start", name);
    ASSERT_FIELD(name, "status", "running");
    TU_ASSERT_DOCKER_STATE(cid, "running");
    f = data_cat(cid, "f");
    ck_assert_str_eq(f, before);
    free(f);

    /* the backup is still listed, untouched, with the safety backup of what was replaced */
    list = backups_json(name);
    ck_assert_int_eq(cJSON_GetArraySize(list), 2);
    const cJSON *safety = cJSON_GetArrayItem(list, 0), *manual = cJSON_GetArrayItem(list, 1);
    ck_assert_str_eq(jstr(manual, "id"), backup_id);
    check_backup(manual, id, "manual", true);
    check_backup(safety, id, "safety", true);
    char *saved = tu_sh_ok("tar -xOf '%s' volume.tar | tar -xOf - odoo/f", jstr(safety, "path"));
    ck_assert_msg(strcmp(saved, after) == 0, "f in the safety backup is \"%s\", want \"%s\"", saved,
                  after);
    free(saved);
    cJSON_Delete(list);
    free(volume);
    free(cid);
    free(old_volume);
    free(old_cid);
    free(id);
    ASSERT_NO_LEASE();
}
END_TEST

/*
 * One byte flipped in the middle of the volume part: restore is refused
 * (exit 7) and changes nothing: container, volume, database row, status.
 */
START_TEST(test_restore_corrupt_refused)
{
    char name[64], db[64], container[160], before[64], after[64];
    names("cor", name, sizeof name, db, sizeof db);
    create_running(name, db, container, sizeof container);
    char *id = field(name, "id");
    snprintf(before, sizeof before, "before-%s", E.tag);
    snprintf(after, sizeof after, "after-%s", E.tag);
    pg_make_db(db, before);
    put_file(container, "f", before);
    IC_EXPECT(0, "backup", name);
    cJSON *list = backups_json(name);
    ck_assert_int_eq(cJSON_GetArraySize(list), 1);
    char path[4096];
    snprintf(path, sizeof path, "%s", jstr(cJSON_GetArrayItem(list, 0), "path"));
    cJSON_Delete(list);

    /* changes a restore would undo */
    put_file(container, "f", after);
    pg_set(db, after);
    IC_EXPECT(0, "stop", name);

    long long size = 0, off = tar_part_offset(path, "volume.tar", &size);
    ck_assert_msg(off > 0 && size > 0, "no volume.tar part in %s", path);
    char *sha_before = sha256_of(path);
    flip_byte(path, off + size / 2);
    char *sha_after = sha256_of(path);
    ck_assert_str_ne(sha_before, sha_after);
    free(sha_before);
    free(sha_after);

    char *row = row_state(name);
    char *volume = field(name, "volume_name");
    char *cid = field(name, "container_id");
    tu_run r = IC("restore", name);
    ck_assert_msg(r.status == 7, "restore of a corrupt backup: exit %d, want 7\n%s%s", r.status,
                  r.out, r.err);
    ck_assert_msg(strstr(r.err, "corrupt") != NULL || strstr(r.err, "checksum") != NULL,
                  "the refusal does not say why: %s", r.err);
    tu_run_free(&r);

    char *row2 = row_state(name);
    ck_assert_msg(strcmp(row, row2) == 0, "the row changed:\n  before %s\n  after  %s", row, row2);
    ASSERT_FIELD(name, "status", "stopped");
    ASSERT_FIELD(name, "ifnull(op_step, '')", "");
    TU_ASSERT_DOCKER_STATE(cid, "exited");
    ck_assert_msg(tu_docker_volume_exists(volume), "volume %s is gone", volume);
    ck_assert_int_eq(labelled_for(id, true), 1);
    ck_assert_int_eq(labelled_for(id, false), 1);
    char *f = data_cat(cid, "f");
    ck_assert_msg(strcmp(f, after) == 0, "f is \"%s\", want the unrestored \"%s\"", f, after);
    free(f);
    ASSERT_PG_VALUE(db, after);
    free(row);
    free(row2);
    free(volume);
    free(cid);
    free(id);
    ASSERT_NO_LEASE();
}
END_TEST

/*
 * restore refused: while running (exit 3, naming the status), and, once
 * stopped, with a backup id that does not exist (exit 4); nothing changes.
 */
START_TEST(test_restore_refused)
{
    char name[64], db[64], container[160];
    names("ref", name, sizeof name, db, sizeof db);
    create_running(name, db, container, sizeof container);
    IC_EXPECT(0, "backup", name);

    char *row = row_state(name);
    tu_run r = IC("restore", name);
    ck_assert_msg(r.status == 3, "restore while running: exit %d, want 3\n%s%s", r.status, r.out,
                  r.err);
    ck_assert_msg(strstr(r.err, "running") != NULL, "the refusal does not name the status: %s",
                  r.err);
    tu_run_free(&r);
    char *row2 = row_state(name);
    ck_assert_msg(strcmp(row, row2) == 0, "the row changed:\n  before %s\n  after  %s", row, row2);
    free(row);
    free(row2);
    TU_ASSERT_DOCKER_STATE(container, "running");

    IC_EXPECT(0, "stop", name);
    row = row_state(name);
    r = IC("restore", name, "--backup", "ffffffff-0000-4000-8000-00000000dead");
    ck_assert_msg(r.status == 4, "restore --backup <unknown>: exit %d, want 4\n%s%s", r.status,
                  r.out, r.err);
    tu_run_free(&r);
    row2 = row_state(name);
    ck_assert_msg(strcmp(row, row2) == 0, "the row changed:\n  before %s\n  after  %s", row, row2);
    free(row);
    free(row2);
    TU_ASSERT_DOCKER_STATE(container, "exited");
    ASSERT_NO_LEASE();
}
END_TEST

/* The newest backup of name of this kind: its path (malloc'd), asserted to exist. */
static char *backup_path_of(const char *name, const char *kind)
{
    cJSON *list = backups_json(name);
    char *path = NULL;
    for (int i = 0; i < cJSON_GetArraySize(list) && path == NULL; i++) {
        const cJSON *b = cJSON_GetArrayItem(list, i);
        if (strcmp(jstr(b, "kind"), kind) == 0)
            path = strdup(jstr(b, "path"));
    }
    cJSON_Delete(list);
    ck_assert_msg(path != NULL, "%s has no %s backup", name, kind);
    return path;
}

/* How many backups `backups NAME` lists. */
static int backup_count(const char *name)
{
    cJSON *list = backups_json(name);
    int n = cJSON_GetArraySize(list);
    cJSON_Delete(list);
    return n;
}

/* The instance's file f and its database's row both hold want (through its container). */
static void assert_data(const char *name, const char *db, const char *want)
{
    char *cid = field(name, "container_id");
    char *f = data_cat(cid, "f");
    ck_assert_msg(strcmp(f, want) == 0, "f of %s is \"%s\", want \"%s\"", name, f, want);
    free(f);
    free(cid);
    ASSERT_PG_VALUE(db, want);
}

/* ---- Odoo's filestore (issue 13: it follows the database name) ---- */

#define N50 "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"
#define D40 "dddddddddddddddddddddddddddddddddddddddd"
/*
 * Attachments as Odoo stores them (filestore/<db>/<2 hex>/<sha1>), plus two
 * names longer than a ustar name field (Docker's archive carries them in a
 * PAX path record or ustar's prefix split): the first fits no ustar header,
 * the second fits the prefix split under a database name like dop_TAG_xx
 * but not under one ten characters longer (the rename then has to add a
 * PAX record when Docker wrote a plain ustar header).
 */
static const char *const attachments[] = {
    "ab/ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12",
    "cd/" N50 N50 N50,
    D40 D40 D40 "/" N50 D40,
};

/* Puts the attachments into Odoo's filestore of db in the container's volume, holding text. */
static void put_attachments(const char *container, const char *db, const char *text)
{
    for (size_t i = 0; i < sizeof attachments / sizeof attachments[0]; i++)
        free(tu_sh_ok("docker exec '%s' sh -c 'f=" DATA "/filestore/%s/%s && mkdir -p \"${f%%/*}\" "
                      "&& echo %s > \"$f\"'",
                      container, db, attachments[i], text));
}

/*
 * The volume of container cid: Odoo's filestore holds the directory of db
 * and no other, with every attachment holding want.
 */
static void assert_filestore(const char *cid, const char *db, const char *want)
{
    char *dirs = tu_sh_ok("docker cp '%s:" DATA "/filestore' - | tar -tf - | cut -d/ -f2 | "
                          "grep -v '^$' | sort -u | tr '\\n' ' '",
                          cid);
    ck_assert_msg(strcmp(dirs, db) == 0, "filestore of %s holds \"%s\", want \"%s\"", cid, dirs,
                  db);
    free(dirs);
    for (size_t i = 0; i < sizeof attachments / sizeof attachments[0]; i++) {
        char file[512];
        snprintf(file, sizeof file, "filestore/%s/%s", db, attachments[i]);
        char *got = data_cat(cid, file);
        ck_assert_msg(strcmp(got, want) == 0, "%s in %s holds \"%s\", want \"%s\"", file, cid, got,
                      want);
        free(got);
    }
}

/* The backup at from as a backup from before manifests named the database, at out. */
static void old_format_backup(const char *from, const char *out)
{
    free(tu_sh_ok("d=$(mktemp -d) && cd \"$d\" && tar -xf '%s' && "
                  "sed 's/,\"database\":\"[^\"]*\"//' manifest.json > m && mv m manifest.json && "
                  "! grep -q '\"database\"' manifest.json && "
                  "tar --format=ustar -cf '%s' volume.tar $(ls database.dump 2>/dev/null) "
                  "manifest.json && cd / && rm -rf \"$d\"",
                  from, out));
}

/* How many history rows of instance id (in the store at db) have a detail holding text. */
static char *history_with(const char *db, const char *id, const char *text)
{
    return tu_sqlf(db,
                   "SELECT count(*) FROM status_events WHERE instance_id = '%s'"
                   " AND instr(detail, '%s') > 0",
                   id, text);
}

/*
 * restore --from FILE (issue 13): another instance's backup is verified,
 * imported into this instance's backups (a file under its directory, kind
 * imported, listed by `backups`) and restored, after a safety backup of
 * what it replaced; a corrupt or missing file is exit 7 naming it, with
 * nothing imported; the same file restores into an instance of another
 * store (there with --no-safety-backup: nothing but the import is added).
 * Odoo's filestore follows the database name each time (filestore/<A's
 * db>/ becomes filestore/<B's db>/, in the other store <C's db>/, and the
 * history says so); a backup from before manifests named the database is
 * renamed too when its instance is a row of the store (B), and left as it
 * is, the history saying so, in another store (C).
 */
START_TEST(test_restore_from_file)
{
    char a[64], adb[64], b[64], bdb[64], ca[160], cb[160], va[64], vb[64];
    names("fa", a, sizeof a, adb, sizeof adb);
    names("fb", b, sizeof b, bdb, sizeof bdb);
    snprintf(va, sizeof va, "a-%s", E.tag);
    snprintf(vb, sizeof vb, "b-%s", E.tag);
    create_running(a, adb, ca, sizeof ca);
    create_running(b, bdb, cb, sizeof cb);
    pg_make_db(adb, va);
    put_file(ca, "f", va);
    put_attachments(ca, adb, va);
    pg_make_db(bdb, vb);
    put_file(cb, "f", vb);
    IC_EXPECT(0, "backup", a);
    char *from = backup_path_of(a, "manual");
    IC_EXPECT(0, "stop", b);

    /* a corrupt copy and a missing file: exit 7, one line naming the file, nothing imported */
    char bad[512], missing[512];
    snprintf(bad, sizeof bad, "%s/bad.tar", E.dir);
    snprintf(missing, sizeof missing, "%s/missing.tar", E.dir);
    free(tu_sh_ok("cp '%s' '%s'", from, bad));
    long long size = 0, off = tar_part_offset(bad, "volume.tar", &size);
    ck_assert(off > 0 && size > 0);
    flip_byte(bad, off + size / 2);
    char *row = row_state(b);
    const char *files[] = {bad, missing};
    for (int i = 0; i < 2; i++) {
        tu_run r = IC("restore", b, "--from", files[i]);
        ck_assert_msg(r.status == 7, "restore --from %s: exit %d, want 7\n%s%s", files[i], r.status,
                      r.out, r.err);
        ck_assert_msg(strstr(r.err, files[i]) != NULL &&
                          strchr(r.err, '\n') == r.err + strlen(r.err) - 1,
                      "not one line naming %s: %s", files[i], r.err);
        tu_run_free(&r);
        char *row2 = row_state(b);
        ck_assert_msg(strcmp(row, row2) == 0, "the row changed:\n  before %s\n  after  %s", row,
                      row2);
        free(row2);
    }
    free(row);
    ck_assert_int_eq(backup_count(b), 0);

    /* A's backup into B: imported, a safety backup of B's data, B holds A's data */
    char *bid = field(b, "id");
    IC_EXPECT(0, "restore", b, "--from", from);
    ASSERT_FIELD(b, "status", "stopped");
    ck_assert_int_eq(backup_count(b), 2);
    char *imported = backup_path_of(b, "imported");
    char prefix[512];
    snprintf(prefix, sizeof prefix, "%s/%s/", E.backups, bid);
    ck_assert_msg(strncmp(imported, prefix, strlen(prefix)) == 0, "imported %s is not under %s",
                  imported, prefix);
    char *s1 = sha256_of(imported), *s2 = sha256_of(from);
    ck_assert_str_eq(s1, s2);
    free(s1);
    free(s2);
    char *safety = backup_path_of(b, "safety");
    char *saved = tu_sh_ok("tar -xOf '%s' volume.tar | tar -xOf - odoo/f", safety);
    ck_assert_str_eq(saved, vb);
    free(saved);
    assert_data(b, bdb, va);
    char *bcid = field(b, "container_id");
    assert_filestore(bcid, bdb, va);
    free(bcid);
    char renamed[256];
    snprintf(renamed, sizeof renamed, "filestore %s renamed to %s", adb, bdb);
    char *hr = history_with(E.db, bid, renamed);
    ck_assert_msg(strcmp(hr, "1") == 0, "history of %s: %s rows say \"%s\"", b, hr, renamed);
    free(hr);
    ASSERT_PG_VALUE(adb, va);
    IC_EXPECT(0, "start", b);
    ASSERT_FIELD(b, "status", "running");
    char *hist = tu_sqlf(E.db,
                         "SELECT count(*) FROM status_events WHERE instance_id = '%s'"
                         " AND detail LIKE '%%imported%%'",
                         bid);
    ck_assert_str_eq(hist, "1");
    free(hist);

    /* another store: its own config, database and backup directory, the same servers */
    char conf2[512], text[2048], c[64], cdb[64], cc[160], vc[64];
    snprintf(conf2, sizeof conf2, "%s/other.conf", E.dir);
    snprintf(text, sizeof text,
             "db = %s/other.db\nimage_template = instctl/odoo-standin:{version}\n"
             "create_timeout = 60\nbackup_dir = %s/other-backups\ndb_host = 127.0.0.1\n"
             "db_port = %d\ndb_user = %s\ndb_password_file = %s\n",
             E.dir, E.dir, E.pg.port, E.pg.user, E.pg.password_file);
    ck_assert(tu_write_file(conf2, text));
    char *uuid2 = tu_sh_ok("'%s' --config '%s' init -q",
                           getenv("INSTCTL_BIN") ? getenv("INSTCTL_BIN") : "build/instctl", conf2);
    snprintf(E.uuid2, sizeof E.uuid2, "%s", uuid2);
    free(uuid2);
    names("fc", c, sizeof c, cdb, sizeof cdb);
    snprintf(cdb, sizeof cdb, "dop_%s_fc_filestore",
             E.tag); /* longer: attachments[2] moves to PAX */
    snprintf(vc, sizeof vc, "c-%s", E.tag);
    const char *bin = getenv("INSTCTL_BIN") ? getenv("INSTCTL_BIN") : "build/instctl";
    free(tu_sh_ok("'%s' --config '%s' create %s --database %s --admin-email a@example.com "
                  "--admin-password-file '%s' -q && '%s' --config '%s' stop %s -q",
                  bin, conf2, c, cdb, E.adminpw, bin, conf2, c));
    pg_make_db(cdb, vc);
    free(tu_sh_ok("'%s' --config '%s' restore %s --from '%s' --no-safety-backup -q", bin, conf2, c,
                  from));
    char *n = tu_sh_ok("'%s' --config '%s' backups %s --json | grep -o '\"kind\":[^,]*' | "
                       "tr '\\n' ' '",
                       bin, conf2, c);
    ck_assert_msg(strstr(n, "imported") != NULL && strstr(n, "safety") == NULL,
                  "the other store's backups: %s", n);
    free(n);
    ASSERT_PG_VALUE(cdb, va);
    char db2[512], q[256];
    snprintf(db2, sizeof db2, "%s/other.db", E.dir);
    snprintf(q, sizeof q, "SELECT container_id FROM instances WHERE name = '%s'", c);
    char *ccid = tu_sql(db2, q);
    snprintf(cc, sizeof cc, "%s", ccid);
    free(ccid);
    char *f = data_cat(cc, "f");
    ck_assert_msg(strcmp(f, va) == 0, "f of %s (other store) is \"%s\", want \"%s\"", c, f, va);
    free(f);
    assert_filestore(cc, cdb, va);

    /* a backup from before manifests named the database: B (A is a row here) renamed, C kept */
    char old[512];
    snprintf(old, sizeof old, "%s/old-format.tar", E.dir);
    old_format_backup(from, old);
    IC_EXPECT(0, "stop", b);
    IC_EXPECT(0, "restore", b, "--from", old, "--no-safety-backup");
    bcid = field(b, "container_id");
    assert_filestore(bcid, bdb, va);
    free(bcid);
    hr = history_with(E.db, bid, renamed);
    ck_assert_str_eq(hr, "2");
    free(hr);
    free(tu_sh_ok("'%s' --config '%s' restore %s --from '%s' --no-safety-backup -q", bin, conf2, c,
                  old));
    ccid = tu_sql(db2, q);
    snprintf(cc, sizeof cc, "%s", ccid);
    free(ccid);
    assert_filestore(cc, adb, va);
    snprintf(q, sizeof q, "SELECT id FROM instances WHERE name = '%s'", c);
    char *cid = tu_sql(db2, q);
    hr = history_with(db2, cid, "filestore left as is");
    ck_assert_str_eq(hr, "1");
    free(hr);
    free(cid);
    free(imported);
    free(safety);
    free(bid);
    free(from);
    ASSERT_NO_LEASE();
}
END_TEST

/*
 * A terminated customer revived (issue 13): a new instance restored --from
 * the old one's final backup holds its data again (file and database row).
 */
START_TEST(test_revive_terminated)
{
    char old[64], odb[64], nw[64], ndb[64], co[160], cn[160], value[64];
    names("old", old, sizeof old, odb, sizeof odb);
    names("new", nw, sizeof nw, ndb, sizeof ndb);
    snprintf(value, sizeof value, "customer-%s", E.tag);
    create_running(old, odb, co, sizeof co);
    pg_make_db(odb, value);
    put_file(co, "f", value);
    IC_EXPECT(0, "terminate", old);
    ASSERT_FIELD(old, "status", "terminated");
    char *final = backup_path_of(old, "final");
    ck_assert_msg(!pg_db_exists(odb), "database %s survived terminate", odb);

    create_running(nw, ndb, cn, sizeof cn);
    pg_make_db(ndb, "empty");
    IC_EXPECT(0, "stop", nw);
    IC_EXPECT(0, "restore", nw, "--from", final);
    IC_EXPECT(0, "start", nw);
    ASSERT_FIELD(nw, "status", "running");
    assert_data(nw, ndb, value);
    ck_assert_int_eq(backup_count(nw), 2); /* imported, safety */
    free(final);
    ASSERT_NO_LEASE();
}
END_TEST

/* The owner of database db. */
static char *pg_db_owner(const char *db)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '%s'", db);
    char *o = tu_pg_query(&E.pg, "postgres", sql);
    ck_assert_msg(o != NULL, "psql: %s failed", sql);
    return o;
}

/*
 * clone SRC NEW (issue 13): with no backup of SRC one is taken now (kind
 * clone); NEW runs on its own volume holding SRC's files, its own database
 * named NEW holding SRC's rows and owned by NEW's own role; --neutralize
 * ran `odoo neutralize -d NEW` in NEW (the stand-in's log, in NEW's volume
 * only); Odoo's filestore of SRC's database is NEW's filestore/NEW/ (and
 * nothing under SRC's name); SRC is untouched and both histories say so. --backup ID clones
 * that backup (no neutralization); a NEW name in use is exit 2, no row.
 */
START_TEST(test_clone)
{
    char src[64], sdb[64], cs[160], stg[64], stg2[64], value[64], later[64];
    names("src", src, sizeof src, sdb, sizeof sdb);
    snprintf(stg, sizeof stg, "dop-%s-stg", E.tag);
    snprintf(stg2, sizeof stg2, "dop-%s-stg2", E.tag);
    snprintf(value, sizeof value, "prod-%s", E.tag);
    snprintf(later, sizeof later, "later-%s", E.tag);
    create_running(src, sdb, cs, sizeof cs);
    pg_make_db(sdb, value);
    put_file(cs, "f", value);
    put_attachments(cs, sdb, value);
    char *src_row = row_state(src);

    tu_run r = IC("clone", src, stg, "--neutralize");
    ck_assert_msg(r.status == 0, "clone: exit %d\n%s%s", r.status, r.out, r.err);
    ck_assert_msg(strstr(r.out, stg) != NULL, "clone does not name %s: %s", stg, r.out);
    tu_run_free(&r);

    /* the new instance: running, its own objects, SRC's data */
    ASSERT_FIELD(stg, "status", "running");
    ASSERT_FIELD(stg, "database_name", stg);
    ASSERT_FIELD(stg, "ifnull(op_step, '')", "");
    char *sid = field(src, "id"), *nid = field(stg, "id");
    char *svol = field(src, "volume_name"), *nvol = field(stg, "volume_name");
    char *ncid = field(stg, "container_id");
    ck_assert_str_ne(svol, nvol);
    ck_assert_msg(tu_docker_volume_exists(nvol), "volume %s is missing", nvol);
    TU_ASSERT_DOCKER_STATE(ncid, "running");
    ck_assert_int_eq(labelled_for(nid, false), 1); /* the neutralize helper is gone */
    assert_data(stg, stg, value);
    assert_filestore(ncid, stg, value);
    char role[LC_TENANT_ROLE_LEN];
    tenant_role_name(nid, role);
    char *owner = pg_db_owner(stg);
    ck_assert_msg(strcmp(owner, role) == 0, "database %s is owned by %s, want its role %s", stg,
                  owner, role);
    free(owner);
    char *log = data_cat(ncid, "standin/neutralize.log");
    char want[128];
    snprintf(want, sizeof want, "-d %s", stg);
    ck_assert_msg(strstr(log, want) != NULL, "neutralize.log of %s: \"%s\"", stg, log);
    free(log);

    /* SRC: unchanged but for the clone's backup and its history row */
    ASSERT_FIELD(src, "status", "running");
    TU_ASSERT_DOCKER_STATE(cs, "running");
    log = data_cat(cs, "standin/neutralize.log");
    ck_assert_str_eq(log, "MISSING");
    free(log);
    ASSERT_PG_VALUE(sdb, value);
    assert_filestore(cs, sdb, value);
    cJSON *list = backups_json(src);
    ck_assert_int_eq(cJSON_GetArraySize(list), 1);
    check_backup(cJSON_GetArrayItem(list, 0), sid, "clone", true);
    char backup_id[64];
    snprintf(backup_id, sizeof backup_id, "%s", jstr(cJSON_GetArrayItem(list, 0), "id"));
    cJSON_Delete(list);
    char *h = tu_sqlf(E.db,
                      "SELECT count(*) FROM status_events WHERE instance_id = '%s'"
                      " AND detail LIKE '%%cloned to %s%%'",
                      sid, stg);
    ck_assert_str_eq(h, "1");
    free(h);
    h = tu_sqlf(E.db,
                "SELECT group_concat(ifnull(from_status, '-') || '>' || to_status, ' ')"
                " FROM status_events WHERE instance_id = '%s'",
                nid);
    ck_assert_msg(strstr(h, "creating>running") != NULL, "history of %s: %s", stg, h);
    free(h);
    free(src_row);

    /* --backup ID: that backup, not the data of now; no neutralization */
    put_file(cs, "f", later);
    IC_EXPECT(0, "clone", src, stg2, "--backup", backup_id);
    ASSERT_FIELD(stg2, "status", "running");
    assert_data(stg2, stg2, value);
    char *c2 = field(stg2, "container_id");
    assert_filestore(c2, stg2, value);
    log = data_cat(c2, "standin/neutralize.log");
    ck_assert_str_eq(log, "MISSING");
    free(log);
    free(c2);

    /* a name in use: exit 2, no row, SRC unchanged */
    char *before = tu_sqlf(E.db, "SELECT count(*) FROM instances");
    r = IC("clone", src, stg);
    ck_assert_msg(r.status == 2, "clone to a used name: exit %d, want 2\n%s%s", r.status, r.out,
                  r.err);
    ck_assert_msg(strstr(r.err, stg) != NULL, "the refusal does not name %s: %s", stg, r.err);
    tu_run_free(&r);
    char *after = tu_sqlf(E.db, "SELECT count(*) FROM instances");
    ck_assert_str_eq(before, after);
    free(before);
    free(after);
    ASSERT_FIELD(src, "status", "running");
    free(sid);
    free(nid);
    free(svol);
    free(nvol);
    free(ncid);
    ASSERT_NO_LEASE();
}
END_TEST

/*
 * clone interrupted once NEW's row records a step after its volume: by
 * Ctrl-C (exit 130, NEW error "clone interrupted at step S" as an
 * interrupted create) and by kill -9 (one reconcile recovers it from the
 * journal: NEW error, "clone interrupted ... at step S" in its history);
 * each time no lease is left, NEW's step is
 * cleared, SRC runs with no clone in its history, and terminate NEW removes
 * what was made.
 */
START_TEST(test_clone_interrupted)
{
    char src[64], sdb[64], cs[160];
    names("isrc", src, sizeof src, sdb, sizeof sdb);
    create_running(src, sdb, cs, sizeof cs);
    pg_make_db(sdb, "v");
    IC_EXPECT(0, "backup", src);
    const char *bin = getenv("INSTCTL_BIN") ? getenv("INSTCTL_BIN") : "build/instctl";
    const struct {
        const char *sig, *exit;
    } ways[] = {{"INT", "130"}, {"KILL", "137"}};
    for (size_t w = 0; w < sizeof ways / sizeof ways[0]; w++) {
        char nw[64];
        snprintf(nw, sizeof nw, "dop-%s-inew%zu", E.tag, w);
        int st;
        char *out =
            tu_shf(&st,
                   "'%s' --config '%s' clone %s %s >/dev/null 2>&1 & pid=$!; i=0; "
                   "until sqlite3 -cmd '.timeout 5000' '%s' \"SELECT op_step FROM instances "
                   "WHERE name = '%s'\" 2>/dev/null | grep -qE '^(database|container|start|"
                   "running)$'; do i=$((i+1)); [ $i -gt 1200 ] && break; sleep 0.1; done; "
                   "kill -%s $pid; wait $pid; echo $?",
                   bin, E.conf, src, nw, E.db, nw, ways[w].sig);
        ck_assert_msg(strcmp(out, ways[w].exit) == 0, "clone, SIG%s: exit %s, want %s", ways[w].sig,
                      out, ways[w].exit);
        free(out);
        bool killed = strcmp(ways[w].sig, "KILL") == 0;
        if (killed)
            IC_EXPECT(0, "reconcile");
        ASSERT_FIELD(nw, "status", "error");
        char *nid = field(nw, "id");
        /* the message says why, both ways: after kill -9 the reconcile pass that recovers
         * the clone (history) does not replace it with what Docker lacks (no container yet,
         * issue 13), and `show` prints it */
        char *msg = field(nw, "error_message");
        const char *want =
            killed ? "clone interrupted (its process died) at step " : "clone interrupted at step ";
        ck_assert_msg(strncmp(msg, want, strlen(want)) == 0, "error_message of %s (SIG%s): %s", nw,
                      ways[w].sig, msg);
        tu_run r = IC("show", nw);
        ck_assert_msg(r.status == 0 && strstr(r.out, msg) != NULL, "show %s (SIG%s): %s%s", nw,
                      ways[w].sig, r.out, r.err);
        tu_run_free(&r);
        free(msg);
        if (killed) {
            char *h = tu_sqlf(E.db,
                              "SELECT group_concat(detail, ' | ') FROM status_events"
                              " WHERE instance_id = '%s'",
                              nid);
            ck_assert_msg(strstr(h, "clone interrupted at step") != NULL, "history of %s: %s", nw,
                          h);
            free(h);
            IC_EXPECT(0, "reconcile"); /* a second pass keeps it too */
            msg = field(nw, "error_message");
            ck_assert_msg(strncmp(msg, want, strlen(want)) == 0, "second pass: %s", msg);
            free(msg);
        }
        ASSERT_FIELD(nw, "ifnull(op_step, '')", "");
        ASSERT_NO_LEASE();
        ck_assert_int_le(labelled_for(nid, false), 1);
        ASSERT_FIELD(src, "status", "running");
        TU_ASSERT_DOCKER_STATE(cs, "running");
        char *sid = field(src, "id");
        char *h = tu_sqlf(E.db,
                          "SELECT count(*) FROM status_events WHERE instance_id = '%s'"
                          " AND detail LIKE '%%cloned%%'",
                          sid);
        ck_assert_str_eq(h, "0");
        free(h);
        IC_EXPECT(0, "terminate", nw, "--no-final-backup");
        ck_assert_int_eq(labelled_for(nid, false), 0);
        ck_assert_int_eq(labelled_for(nid, true), 0);
        free(nid);
        free(sid);
    }
}
END_TEST

/*
 * A create that failed before any Docker object existed (an image that is
 * not there, --pull never) leaves an error row; the same create again is
 * tried again (the image error, not "name already used"), and once the
 * image is right it runs; the failed rows stay terminated for the audit.
 */
START_TEST(test_create_retry)
{
    char name[64], db[64], email[128];
    names("retry", name, sizeof name, db, sizeof db);
    snprintf(email, sizeof email, "admin+%s@example.com", name);
    for (int i = 0; i < 2; i++) {
        tu_run r =
            IC("create", name, "--database", db, "--admin-email", email, "--admin-password-file",
               E.adminpw, "--image", "instctl/odoo-standin:no-such-tag", "--pull", "never");
        ck_assert_msg(r.status == 1, "create #%d with a missing image: exit %d\n%s%s", i + 1,
                      r.status, r.out, r.err);
        ck_assert_msg(strstr(r.err, "step image") != NULL, "create #%d: %s", i + 1, r.err);
        tu_run_free(&r);
        ASSERT_FIELD(name, "status", "error");
    }
    char *rows = tu_sqlf(E.db,
                         "SELECT group_concat(status, ' ') FROM (SELECT status FROM instances"
                         " WHERE name = '%s' ORDER BY status)",
                         name);
    ck_assert_str_eq(rows, "error terminated");
    free(rows);
    char container[160];
    create_running(name, db, container, sizeof container);
    char *n = tu_sqlf(
        E.db, "SELECT count(*) FROM instances WHERE name = '%s' AND status = 'terminated'", name);
    ck_assert_str_eq(n, "2");
    free(n);
    ASSERT_NO_LEASE();
}
END_TEST

/*
 * update 17.0 -> 18.0: refused without --major (nothing changes, no
 * backup); with it the data (file and row) is kept, the instance runs on
 * the 18.0 image and only the new container is left.
 */
START_TEST(test_update_major)
{
    char name[64], db[64], container[160], value[64];
    names("upd", name, sizeof name, db, sizeof db);
    create_running(name, db, container, sizeof container);
    char *id = field(name, "id");
    snprintf(value, sizeof value, "kept-%s", E.tag);
    pg_make_db(db, value);
    put_file(container, "f", value);
    ASSERT_FIELD(name, "odoo_version", "17.0");
    char *old_cid = field(name, "container_id");
    char *image = tu_docker_inspect(old_cid, "{{.Config.Image}}");
    ck_assert_str_eq(image, IMAGE17);
    free(image);

    /* without --major */
    char *row = row_state(name);
    tu_run r = IC("update", name, "--odoo-version", "18.0");
    ck_assert_msg(r.status == 2 || r.status == 3,
                  "update to another major without --major: exit %d, want 2 or 3\n%s%s", r.status,
                  r.out, r.err);
    ck_assert_msg(strstr(r.err, "--major") != NULL, "the refusal does not mention --major: %s",
                  r.err);
    tu_run_free(&r);
    char *row2 = row_state(name);
    ck_assert_msg(strcmp(row, row2) == 0, "the row changed:\n  before %s\n  after  %s", row, row2);
    free(row);
    free(row2);
    TU_ASSERT_DOCKER_STATE(old_cid, "running");
    ck_assert_int_eq(tar_files(id), 0);

    /* with --major */
    long hist = history_rows(id);
    IC_EXPECT(0, "update", name, "--odoo-version", "18.0", "--major");
    ASSERT_FIELD(name, "status", "running");
    ASSERT_FIELD(name, "odoo_version", "18.0");
    ASSERT_FIELD(name, "image", IMAGE18);
    ASSERT_FIELD(name, "ifnull(error_message, '')", "");
    ASSERT_FIELD(name, "ifnull(op_step, '')", "");
    char *cid = field(name, "container_id");
    char *cname = field(name, "container_name");
    ck_assert_str_ne(cid, old_cid);
    TU_ASSERT_DOCKER_STATE(cid, "running");
    image = tu_docker_inspect(cid, "{{.Config.Image}}");
    ck_assert_msg(strcmp(image, IMAGE18) == 0, "the new container runs %s, want " IMAGE18, image);
    free(image);
    char *dname = tu_docker_inspect(cid, "{{.Name}}");
    ck_assert_msg(strcmp(dname + (dname[0] == '/'), cname) == 0, "container named %s, row says %s",
                  dname, cname);
    free(dname);
    TU_ASSERT_DOCKER_STATE(old_cid, "missing");
    ck_assert_int_eq(labelled_for(id, false), 1);
    /* history: running -> updating -> running */
    char *hrows = tu_sql_rows(E.db, "SELECT ifnull(from_status, '-') || '>' || to_status"
                                    " FROM status_events ORDER BY id");
    ck_assert_msg(history_rows(id) == hist + 2, "update wrote %ld history rows, want 2:\n%s",
                  history_rows(id) - hist, hrows);
    ck_assert_msg(strstr(hrows, "running>updating\nupdating>running\n") != NULL, "history:\n%s",
                  hrows);
    free(hrows);

    /* the data */
    char *f = data_cat(cid, "f");
    ck_assert_msg(strcmp(f, value) == 0, "after the update f is \"%s\", want \"%s\"", f, value);
    free(f);
    ASSERT_PG_VALUE(db, value);

    /* the pre-update backup */
    cJSON *list = backups_json(name);
    ck_assert_int_eq(cJSON_GetArraySize(list), 1);
    check_backup(cJSON_GetArrayItem(list, 0), id, "pre-update", true);
    cJSON_Delete(list);
    free(cid);
    free(cname);
    free(old_cid);
    free(id);
    ASSERT_NO_LEASE();
}
END_TEST

/*
 * update to a tag the engine does not have (and cannot pull): exit 1, back
 * to running with an error_message, the old container serving (same id,
 * running, healthy), version, image and data unchanged.
 */
static void update_missing_tag(const char *suffix, const char *version)
{
    char name[64], db[64], container[160], value[64];
    names(suffix, name, sizeof name, db, sizeof db);
    create_running(name, db, container, sizeof container);
    char *id = field(name, "id");
    snprintf(value, sizeof value, "kept-%s", E.tag);
    pg_make_db(db, value);
    put_file(container, "f", value);
    char *cid = field(name, "container_id");
    char *volume = field(name, "volume_name");
    long hist = history_rows(id);

    tu_run r = IC("update", name, "--odoo-version", version);
    ck_assert_msg(r.status == 1, "update to %s: exit %d, want 1\nstdout: %s\nstderr: %s", version,
                  r.status, r.out, r.err);
    tu_run_free(&r);

    ASSERT_FIELD(name, "status", "running");
    ASSERT_FIELD(name, "odoo_version", "17.0");
    ASSERT_FIELD(name, "image", IMAGE17);
    ASSERT_FIELD(name, "container_id", cid);
    ASSERT_FIELD(name, "ifnull(op_step, '')", "");
    char *msg = field(name, "ifnull(error_message, '')");
    ck_assert_msg(strstr(msg, version) != NULL, "error_message \"%s\" does not name %s", msg,
                  version);
    free(msg);
    ck_assert_msg(history_rows(id) == hist + 2, "update wrote %ld history rows, want 2",
                  history_rows(id) - hist);
    TU_ASSERT_DOCKER_STATE(cid, "running");
    ck_assert_msg(wait_healthy(cid, 20), "the old container is not healthy");
    char *image = tu_docker_inspect(cid, "{{.Config.Image}}");
    ck_assert_str_eq(image, IMAGE17);
    free(image);
    char *dname = tu_docker_inspect(cid, "{{.Name}}");
    ck_assert_msg(strcmp(dname + (dname[0] == '/'), container) == 0,
                  "the old container is named %s, want %s", dname, container);
    free(dname);
    ck_assert_int_eq(labelled_for(id, false), 1);
    ck_assert_int_eq(labelled_for(id, true), 1);
    ASSERT_FIELD(name, "volume_name", volume);
    char *f = data_cat(cid, "f");
    ck_assert_msg(strcmp(f, value) == 0, "f is \"%s\", want \"%s\"", f, value);
    free(f);
    ASSERT_PG_VALUE(db, value);
    /* the missing image is found before any pre-update backup is taken */
    cJSON *list = backups_json(name);
    ck_assert_int_eq(cJSON_GetArraySize(list), 0);
    cJSON_Delete(list);
    free(volume);
    free(cid);
    free(id);
}

/* The tag named in the issue, as an operator would type it. */
START_TEST(test_update_missing_tag)
{
    update_missing_tag("tag", "17.0-doesnotexist");
    ASSERT_NO_LEASE();
}
END_TEST

/*
 * maintenance: on twice says "already" (exit 0); while on, reconcile
 * changes nothing even after `docker stop` and then `docker rm -f` of the
 * container; off ends stopped, the container missing.
 */
START_TEST(test_maintenance)
{
    char name[64], db[64], container[160];
    names("mnt", name, sizeof name, db, sizeof db);
    create_running(name, db, container, sizeof container);
    char *id = field(name, "id");
    char *cid = field(name, "container_id");
    char *volume = field(name, "volume_name");

    IC_EXPECT(0, "maintenance", name, "on");
    ASSERT_FIELD(name, "status", "maintenance");
    TU_ASSERT_DOCKER_STATE(cid, "running");
    long hist = history_rows(id);
    tu_run r = IC("maintenance", name, "on");
    ck_assert_msg(r.status == 0, "maintenance on twice: exit %d\n%s%s", r.status, r.out, r.err);
    ck_assert_msg(strstr(r.out, "already") != NULL || strstr(r.err, "already") != NULL,
                  "maintenance on twice does not say \"already\": %s%s", r.out, r.err);
    tu_run_free(&r);
    ck_assert_int_eq(history_rows(id), hist);

    /* the container stopped behind instctl's back */
    free(tu_sh_ok("docker stop -t 5 '%s' >/dev/null", cid));
    r = IC("reconcile");
    ck_assert_msg(r.status == 0, "reconcile: exit %d\n%s%s", r.status, r.out, r.err);
    tu_run_free(&r);
    ASSERT_FIELD(name, "status", "maintenance");
    ASSERT_FIELD(name, "container_id", cid);
    ck_assert_int_eq(history_rows(id), hist);
    TU_ASSERT_DOCKER_STATE(cid, "exited");

    /* and removed */
    free(tu_sh_ok("docker rm -f '%s' >/dev/null", cid));
    r = IC("reconcile");
    ck_assert_msg(r.status == 0, "reconcile: exit %d\n%s%s", r.status, r.out, r.err);
    tu_run_free(&r);
    ASSERT_FIELD(name, "status", "maintenance");
    ck_assert_int_eq(history_rows(id), hist);
    ck_assert_int_eq(labelled_for(id, false), 0);
    ck_assert_msg(tu_docker_volume_exists(volume), "volume %s is gone", volume);

    IC_EXPECT(0, "maintenance", name, "off");
    ASSERT_FIELD(name, "status", "stopped");
    ck_assert_int_eq(history_rows(id), hist + 1);
    ck_assert_int_eq(labelled_for(id, false), 0);
    free(volume);
    free(cid);
    free(id);
    ASSERT_NO_LEASE();
}
END_TEST

/*
 * terminate: a final backup that checks out (kind final, holding the file
 * and a dump), then container, volume and database gone.
 */
START_TEST(test_terminate_final_backup)
{
    char name[64], db[64], container[160], value[64];
    names("term", name, sizeof name, db, sizeof db);
    create_running(name, db, container, sizeof container);
    char *id = field(name, "id");
    snprintf(value, sizeof value, "final-%s", E.tag);
    pg_make_db(db, value);
    put_file(container, "f", value);
    char *cid = field(name, "container_id");
    char *volume = field(name, "volume_name");

    IC_EXPECT(0, "terminate", name);
    ASSERT_FIELD(name, "status", "terminated");
    ASSERT_FIELD(name, "final_backup_pending", "0");
    ASSERT_FIELD(name, "ifnull(error_message, '')", "");

    cJSON *list = backups_json(name);
    ck_assert_int_eq(cJSON_GetArraySize(list), 1);
    const cJSON *b = cJSON_GetArrayItem(list, 0);
    check_backup(b, id, "final", true);
    /* the file is in the backup's volume part */
    char *content = tu_sh_ok("tar -xOf '%s' volume.tar | tar -xOf - odoo/f", jstr(b, "path"));
    ck_assert_msg(strcmp(content, value) == 0, "f in the final backup is \"%s\", want \"%s\"",
                  content, value);
    free(content);
    cJSON_Delete(list);

    TU_ASSERT_DOCKER_STATE(cid, "missing");
    ck_assert_int_eq(labelled_for(id, false), 0);
    ck_assert_msg(!tu_docker_volume_exists(volume), "volume %s is still there", volume);
    ck_assert_int_eq(labelled_for(id, true), 0);
    ck_assert_msg(!pg_db_exists(db), "database %s is still there", db);
    free(volume);
    free(cid);
    free(id);
    ASSERT_NO_LEASE();
}
END_TEST

/*
 * terminate with the backup directory on a read-only mount: terminated,
 * exit 1, "final backup pending", volume and database kept; once the
 * directory is writable, reconcile takes the backup and drops both.
 */
START_TEST(test_terminate_backup_pending)
{
    char name[64], db[64], container[160], value[64];
    names("pend", name, sizeof name, db, sizeof db);
    create_running(name, db, container, sizeof container);
    char *id = field(name, "id");
    snprintf(value, sizeof value, "pending-%s", E.tag);
    pg_make_db(db, value);
    put_file(container, "f", value);
    char *volume = field(name, "volume_name");

    ck_assert_int_eq(mkdir(E.backups, 0700), 0);
    free(tu_sh_ok("mount -t tmpfs -o ro,size=16m tmpfs '%s'", E.backups));
    int st;
    free(tu_shf(&st, "touch '%s/probe' 2>/dev/null", E.backups));
    ck_assert_msg(st != 0, "the read-only mount is writable");

    tu_run r = IC("terminate", name);
    ck_assert_msg(r.status == 1, "terminate with an unwritable backup_dir: exit %d, want 1\n%s%s",
                  r.status, r.out, r.err);
    tu_run_free(&r);
    ASSERT_FIELD(name, "status", "terminated");
    ASSERT_FIELD(name, "final_backup_pending", "1");
    char *msg = field(name, "ifnull(error_message, '')");
    ck_assert_msg(strstr(msg, "final backup pending") != NULL,
                  "error_message \"%s\" does not say \"final backup pending\"", msg);
    free(msg);
    ck_assert_msg(tu_docker_volume_exists(volume), "volume %s was dropped without a final backup",
                  volume);
    ck_assert_msg(pg_db_exists(db), "database %s was dropped without a final backup", db);
    ASSERT_PG_VALUE(db, value);
    cJSON *list = backups_json(name);
    ck_assert_int_eq(cJSON_GetArraySize(list), 0);
    cJSON_Delete(list);

    /* the directory fixed: reconcile retries */
    free(tu_sh_ok("mount -o remount,rw '%s'", E.backups));
    r = IC("reconcile");
    ck_assert_msg(r.status == 0, "reconcile: exit %d\n%s%s", r.status, r.out, r.err);
    tu_run_free(&r);
    ASSERT_FIELD(name, "status", "terminated");
    ASSERT_FIELD(name, "final_backup_pending", "0");
    ASSERT_FIELD(name, "ifnull(error_message, '')", "");
    list = backups_json(name);
    ck_assert_int_eq(cJSON_GetArraySize(list), 1);
    check_backup(cJSON_GetArrayItem(list, 0), id, "final", true);
    cJSON_Delete(list);
    ck_assert_msg(!tu_docker_volume_exists(volume), "volume %s is still there", volume);
    ck_assert_int_eq(labelled_for(id, true), 0);
    ck_assert_int_eq(labelled_for(id, false), 0);
    ck_assert_msg(!pg_db_exists(db), "database %s is still there", db);

    /* a second pass has nothing left to do */
    r = IC("reconcile");
    ck_assert_msg(r.status == 0, "second reconcile: exit %d\n%s%s", r.status, r.out, r.err);
    tu_run_free(&r);
    list = backups_json(name);
    ck_assert_int_eq(cJSON_GetArraySize(list), 1);
    cJSON_Delete(list);
    free(volume);
    free(id);
    ASSERT_NO_LEASE();
}
END_TEST

/* backup_keep = 2, four backups, `backups --prune`: the newest two kept, the others' files gone. */
START_TEST(test_prune)
{
    char name[64], db[64], container[160];
    names("prn", name, sizeof name, db, sizeof db);
    create_running(name, db, container, sizeof container);
    char *id = field(name, "id");
    char ids[4][64], paths[4][4096];
    for (int i = 0; i < 4; i++) {
        IC_EXPECT(0, "backup", name);
        cJSON *list = backups_json(name);
        ck_assert_int_eq(cJSON_GetArraySize(list), i + 1);
        const cJSON *newest = cJSON_GetArrayItem(list, 0);
        snprintf(ids[i], sizeof ids[i], "%s", jstr(newest, "id"));
        snprintf(paths[i], sizeof paths[i], "%s", jstr(newest, "path"));
        for (int j = 0; j < i; j++)
            ck_assert_msg(strcmp(ids[i], ids[j]) != 0 && strcmp(paths[i], paths[j]) != 0,
                          "backup %d is not the newest in the list", i + 1);
        cJSON_Delete(list);
    }
    ck_assert_int_eq(tar_files(id), 4);

    tu_run r = IC("backups", name, "--prune", "--json");
    ck_assert_msg(r.status == 0, "backups --prune: exit %d\n%s%s", r.status, r.out, r.err);
    cJSON *list = cJSON_Parse(r.out);
    ck_assert_msg(cJSON_IsArray(list), "backups --prune --json: %s", r.out);
    tu_run_free(&r);
    ck_assert_int_eq(cJSON_GetArraySize(list), 2);
    ck_assert_str_eq(jstr(cJSON_GetArrayItem(list, 0), "id"), ids[3]);
    ck_assert_str_eq(jstr(cJSON_GetArrayItem(list, 1), "id"), ids[2]);
    cJSON_Delete(list);

    list = backups_json(name);
    ck_assert_int_eq(cJSON_GetArraySize(list), 2);
    for (int i = 0; i < 2; i++)
        check_backup(cJSON_GetArrayItem(list, i), id, "manual", false);
    cJSON_Delete(list);
    for (int i = 0; i < 4; i++) {
        bool there = access(paths[i], F_OK) == 0;
        ck_assert_msg(there == (i >= 2), "backup %d (%s): file %s", i + 1, paths[i],
                      there ? "still there" : "deleted");
    }
    ck_assert_int_eq(tar_files(id), 2);

    /* pruning again removes nothing */
    IC_EXPECT(0, "backups", name, "--prune");
    ck_assert_int_eq(tar_files(id), 2);
    ASSERT_FIELD(name, "status", "running");
    free(id);
    ASSERT_NO_LEASE();
}
END_TEST

/* ---- the suite ---- */

/* A case with its own environment; seconds its timeout (three instances need more than one). */
static void add_case_timeout(Suite *s, const char *name, const TTest *test, SFun setup,
                             double seconds)
{
    TCase *tc = tcase_create(name);
    tcase_add_unchecked_fixture(tc, setup, env_teardown);
    tcase_add_checked_fixture(tc, checked_setup, checked_teardown);
    tcase_set_timeout(tc, seconds);
    tcase_add_test(tc, test);
    suite_add_tcase(s, tc);
}

static void add_case(Suite *s, const char *name, const TTest *test, SFun setup)
{
    add_case_timeout(s, name, test, setup, 150);
}

Suite *suite_dataops(void)
{
    Suite *s = suite_create("dataops");
    add_case(s, "backup_restore_roundtrip", test_backup_restore_roundtrip, setup_pg);
    add_case(s, "restore_corrupt_refused", test_restore_corrupt_refused, setup_pg);
    add_case(s, "restore_refused", test_restore_refused, setup_plain);
    add_case_timeout(s, "restore_from_file", test_restore_from_file, setup_pg, 400);
    add_case(s, "revive_terminated", test_revive_terminated, setup_pg);
    add_case_timeout(s, "clone", test_clone, setup_pg, 400);
    add_case_timeout(s, "clone_interrupted", test_clone_interrupted, setup_pg, 400);
    add_case(s, "create_retry", test_create_retry, setup_plain);
    add_case(s, "update_major", test_update_major, setup_pg);
    add_case(s, "update_missing_tag", test_update_missing_tag, setup_pg);
    add_case(s, "maintenance", test_maintenance, setup_plain);
    add_case(s, "terminate_final_backup", test_terminate_final_backup, setup_pg);
    add_case(s, "terminate_backup_pending", test_terminate_backup_pending, setup_pg);
    add_case(s, "prune", test_prune, setup_keep2);
    return s;
}
