/*
 * Integration tests of tenant isolation (DESIGN §6a, issue 10): the real
 * instctl binary, the real Docker engine with the stand-in Odoo image
 * (which creates the database with psql as the role in its configuration,
 * as Odoo does), and a real PostgreSQL server listening on the Docker
 * bridge's gateway so containers reach it. The admin login is the
 * server's instctl_test role (LOGIN CREATEDB CREATEROLE, not superuser);
 * the server logs every statement, so the log can be searched for secrets.
 *
 * One server and one store for the suite (an unchecked fixture in the
 * runner process); each case uses its own instance and database names.
 * Everything labelled with the store's uuid is removed at the end.
 */
#include <check.h>
#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define STANDIN "instctl/odoo-standin-tenant"

static tu_pg pg;
static char dir[256], conf[320], dbpath[320], uuid[64], gateway[64], setup_error[512];

/* Runs a formatted shell command; its trimmed stdout (malloc'd), *status its exit, *err stderr. */
static char *shf(int *status, char **err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static char *shf(int *status, char **err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *out = tu_vshf(status, err, fmt, ap);
    va_end(ap);
    return out;
}

/* IC: instctl --config CONF args... */
#define IC(...) tu_instctl_conf(conf, NULL, __VA_ARGS__, (const char *)NULL)

/* ---- the suite's server and store ---- */

static bool pg_on_bridge(void)
{
    int st;
    /* the bridge's own address on this host (IPAM does not always list a Gateway) */
    char *gw = shf(&st, NULL,
                   "ip -4 -o addr show \"$(docker network inspect bridge -f "
                   "'{{index .Options \"com.docker.network.bridge.name\"}}')\" | "
                   "awk '{print $4}' | cut -d/ -f1 | head -n 1");
    snprintf(gateway, sizeof gateway, "%s", gw);
    free(gw);
    if (st != 0 || gateway[0] == '\0') {
        fprintf(stderr, "tenant: no gateway of the bridge network (exit %d)\n", st);
        return false;
    }
    char *err = NULL;
    char *o = shf(&st, &err,
                  "cd / && echo 'host all all 0.0.0.0/0 scram-sha-256' >> %s/data/pg_hba.conf && "
                  "runuser -u postgres -- %s/pg_ctl -D %s/data -l %s/log -w -t 60 -m fast "
                  "-o '-c listen_addresses=127.0.0.1,%s -p %d -k %s -c fsync=off "
                  "-c log_statement=all' restart >/dev/null",
                  pg.dir, pg.bin, pg.dir, pg.dir, gateway, pg.port, pg.dir);
    if (st != 0)
        fprintf(stderr, "tenant: restarting PostgreSQL on %s: exit %d: %s%s\n", gateway, st, o,
                err);
    free(o);
    free(err);
    return st == 0;
}

static void suite_setup(void)
{
    char *t = tu_tmpdir("tenant");
    snprintf(dir, sizeof dir, "%s", t != NULL ? t : "");
    free(t);
    bool started = dir[0] != 0 && tu_pg_start(&pg);
    /* this checkout's stand-in under its own name: the shared tags may be another branch's */
    int st;
    char *err = NULL;
    free(shf(&st, &err, "STANDIN_REPO=%s sh scripts/build-standin.sh", STANDIN));
    if (st != 0)
        fprintf(stderr, "tenant: build-standin.sh: %s\n", err);
    free(err);
    if (!started || st != 0 || !pg_on_bridge()) {
        snprintf(setup_error, sizeof setup_error, "PostgreSQL on the bridge could not be started");
        return;
    }
    snprintf(conf, sizeof conf, "%s/instctl.conf", dir);
    snprintf(dbpath, sizeof dbpath, "%s/instctl.db", dir);
    char text[2048];
    snprintf(text, sizeof text,
             "db = %s\nimage_template = " STANDIN ":{version}\ncreate_timeout = 300\n"
             "backup_dir = %s/backups\ndb_host = %s\ndb_port = %d\ndb_user = %s\n"
             "db_password_file = %s\n",
             dbpath, dir, gateway, pg.port, pg.user, pg.password_file);
    tu_write_file(conf, text);
    tu_run r = IC("init", "-q");
    snprintf(uuid, sizeof uuid, "%s", tu_trim(r.out));
    if (r.status != 0)
        snprintf(setup_error, sizeof setup_error, "init: %s", r.err);
    tu_run_free(&r);
}

static void suite_teardown(void)
{
    if (uuid[0] != '\0')
        free(shf(NULL, NULL,
                 "docker ps -aq --filter label=io.instctl.store=%s | xargs -r docker rm -f "
                 ">/dev/null 2>&1; docker volume ls -q --filter label=io.instctl.store=%s | "
                 "xargs -r docker volume rm -f >/dev/null 2>&1; true",
                 uuid, uuid));
    tu_pg_stop(&pg);
    if (dir[0] == '/')
        free(shf(NULL, NULL, "rm -rf %s", dir));
}

#define READY() ck_assert_msg(setup_error[0] == '\0', "%s", setup_error)

/* ---- helpers ---- */

typedef struct inst {
    char id[40], role[20], container[160], volume[160], db[64];
    char pw[128], master[128]; /* from the container's configuration */
    char conf[2048];
} inst;

static void read_conf(inst *in)
{
    char *c =
        shf(NULL, NULL, "docker cp '%s:/run/instctl/odoo.conf' - | tar -xOf -", in->container);
    snprintf(in->conf, sizeof in->conf, "%s", c);
    free(c);
    const char *p = strstr(in->conf, "db_password = ");
    ck_assert_msg(p != NULL, "no db_password in the configuration of %s", in->container);
    sscanf(p + 14, "%127s", in->pw);
    p = strstr(in->conf, "admin_passwd = ");
    ck_assert_msg(p != NULL, "no admin_passwd in %s", in->conf);
    sscanf(p + 15, "%127s", in->master);
}

static void create(const char *name, const char *db, inst *in)
{
    char email[128], pwfile[320];
    snprintf(email, sizeof email, "admin@%s.example", name);
    snprintf(pwfile, sizeof pwfile, "%s/admin.pw", dir);
    tu_write_file(pwfile, "Admin-Pass-Of-Test-1");
    tu_run r = IC("create", name, "--database", db, "--admin-email", email, "--admin-password-file",
                  pwfile, "--json");
    ck_assert_msg(r.status == 0, "create %s --database %s: exit %d: %s", name, db, r.status, r.err);
    cJSON *j = cJSON_Parse(r.out);
    ck_assert_ptr_nonnull(j);
    memset(in, 0, sizeof *in);
    snprintf(in->id, sizeof in->id, "%s", cJSON_GetStringValue(cJSON_GetObjectItem(j, "id")));
    snprintf(in->container, sizeof in->container, "%s",
             cJSON_GetStringValue(cJSON_GetObjectItem(j, "container_name")));
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(j, "status")), "running");
    cJSON_Delete(j);
    tu_run_free(&r);
    snprintf(in->db, sizeof in->db, "%s", db);
    size_t n = (size_t)snprintf(in->role, sizeof in->role, "odoo_");
    for (const char *p = in->id; *p && n < 17; p++)
        if (*p != '-')
            in->role[n++] = *p;
    in->role[n] = '\0';
    read_conf(in);
}

/* psql as role with password pw on db; exit status, stderr into err (malloc'd). */
static int as_role(const char *role, const char *pw, const char *db, const char *sql, char **out,
                   char **err)
{
    char passfile[320];
    snprintf(passfile, sizeof passfile, "%s/pgpass-%s", dir, role);
    char line[512];
    snprintf(line, sizeof line, "*:*:*:%s:%s\n", role, pw);
    tu_write_file(passfile, line);
    free(shf(NULL, NULL, "chmod 600 %s", passfile));
    int st;
    char *o = shf(&st, err,
                  "PGPASSFILE=%s PGCONNECT_TIMEOUT=5 psql -X -w -At -v ON_ERROR_STOP=1 "
                  "-h 127.0.0.1 -p %d -U %s -d '%s' -c \"%s\"",
                  passfile, pg.port, role, db, sql);
    if (out != NULL)
        *out = o;
    else
        free(o);
    return st;
}

static void expect_role_error(const inst *in, const char *db, const char *sql, const char *want)
{
    char *err = NULL;
    int st = as_role(in->role, in->pw, db, sql, NULL, &err);
    ck_assert_msg(st != 0 && strstr(err, want) != NULL,
                  "%s on %s: %s: exit %d, stderr \"%s\", want \"%s\"", in->role, db, sql, st, err,
                  want);
    free(err);
}

static char *q(const char *sql)
{
    char *o = tu_pg_query(&pg, "postgres", sql);
    ck_assert_msg(o != NULL, "%s failed", sql);
    return o;
}

static void expect_q(const char *want, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void expect_q(const char *want, const char *fmt, ...)
{
    char sql[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    char *o = q(sql);
    ck_assert_msg(strcmp(o, want) == 0, "%s: \"%s\", want \"%s\"", sql, o, want);
    free(o);
}

/* The secrets must not be in s; what names where s came from. */
static void no_secret(const char *what, const char *s, const inst *in)
{
    ck_assert_msg(strstr(s, in->pw) == NULL, "%s holds the role password of %s", what, in->role);
    ck_assert_msg(strstr(s, in->master) == NULL, "%s holds the master password of %s", what,
                  in->role);
    ck_assert_msg(strstr(s, "Admin-Pass-Of-Test-1") == NULL, "%s holds the admin password", what);
}

/* ---- cases ---- */

START_TEST(test_isolation)
{
    READY();
    inst a, b;
    create("tena", "tenant-a", &a);
    create("tenb", "tenant.b", &b);
    ck_assert_str_ne(a.role, b.role);

    /* roles: login, no superuser, no CREATEROLE, no CREATEDB after create; own their database */
    expect_q("t|f|f|f",
             "SELECT rolcanlogin, rolsuper, rolcreaterole, rolcreatedb FROM pg_roles "
             "WHERE rolname = '%s'",
             a.role);
    expect_q(a.role, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '%s'", a.db);
    expect_q("f", "SELECT has_database_privilege('public', '%s', 'CONNECT')", a.db);
    ck_assert_msg(
        strstr(a.conf, "list_db = False\n") && strstr(a.conf, "dbfilter = ^tenant-a$\n") &&
            strstr(b.conf, "dbfilter = ^tenant\\.b$\n") && strstr(a.conf, "proxy_mode = True\n"),
        "configuration:\n%s\n%s", a.conf, b.conf);
    char *mode = shf(NULL, NULL, "docker exec -u 0 %s stat -c '%%a %%u' /run/instctl/odoo.conf",
                     a.container);
    ck_assert_str_eq(mode, "400 101");
    free(mode);

    /* A's password (read from A's container) works for A's database only */
    char *out = NULL;
    ck_assert_int_eq(as_role(a.role, a.pw, a.db, "SELECT current_user", &out, NULL), 0);
    ck_assert_str_eq(out, a.role);
    free(out);
    expect_role_error(&a, b.db, "SELECT 1", "permission denied for database \"tenant.b\"");
    expect_role_error(&a, "postgres", "CREATE DATABASE sneaky",
                      "permission denied to create database");
    expect_role_error(&a, "postgres", "CREATE ROLE sneaky", "permission denied to create role");
    char *err = NULL;
    ck_assert_int_ne(as_role(b.role, a.pw, b.db, "SELECT 1", NULL, &err), 0);
    ck_assert_msg(strstr(err, "password authentication failed") != NULL, "%s", err);
    free(err);

    /* no secret in docker inspect, ps, the store, the history, or the server's log */
    char *insp = shf(NULL, NULL,
                     "docker inspect -f '{{json .Config.Env}} {{json .Config.Cmd}} {{json .Args}} "
                     "{{json .Config.Entrypoint}} {{json .Path}}' %s",
                     a.container);
    no_secret("docker inspect", insp, &a);
    ck_assert_msg(strstr(insp, "ODOO_RC=/run/instctl/odoo.conf") != NULL, "%s", insp);
    free(insp);
    char *ps = shf(NULL, NULL, "ps -eo args");
    no_secret("ps -eo args", ps, &a);
    free(ps);
    char *store = shf(NULL, NULL, "cat %s %s-wal 2>/dev/null | strings", dbpath, dbpath);
    no_secret("the instctl database", store, &a);
    free(store);
    tu_run h = IC("history", "tena", "--json");
    ck_assert_int_eq(h.status, 0);
    no_secret("history", h.out, &a);
    tu_run_free(&h);
    char *log = shf(NULL, NULL, "cat %s/log", pg.dir);
    no_secret("the PostgreSQL log", log, &a);
    free(log);

    /* terminate drops the database, then the role */
    tu_run r = IC("terminate", "tenb", "--no-final-backup");
    ck_assert_msg(r.status == 0, "terminate: %s", r.err);
    tu_run_free(&r);
    expect_q("0", "SELECT count(*) FROM pg_roles WHERE rolname = '%s'", b.role);
    expect_q("0", "SELECT count(*) FROM pg_database WHERE datname = '%s'", b.db);
}
END_TEST

START_TEST(test_rotate_credentials)
{
    READY();
    inst a;
    create("rot", "rot_db", &a);
    char old_pw[128];
    snprintf(old_pw, sizeof old_pw, "%s", a.pw);
    tu_run r = IC("rotate-credentials", "rot");
    ck_assert_msg(r.status == 0, "rotate-credentials: exit %d: %s", r.status, r.err);
    tu_run_free(&r);
    read_conf(&a);
    ck_assert_str_ne(a.pw, old_pw);
    char *err = NULL;
    ck_assert_int_ne(as_role(a.role, old_pw, a.db, "SELECT 1", NULL, &err), 0);
    ck_assert_msg(strstr(err, "password authentication failed") != NULL, "%s", err);
    free(err);
    ck_assert_int_eq(as_role(a.role, a.pw, a.db, "SELECT 1", NULL, NULL), 0);
    r = IC("show", "rot", "--json");
    cJSON *j = cJSON_Parse(r.out);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(j, "status")), "running");
    cJSON_Delete(j);
    tu_run_free(&r);
    char *state = shf(NULL, NULL, "docker inspect -f '{{.State.Status}}' %s", a.container);
    ck_assert_str_eq(state, "running");
    free(state);
}
END_TEST

/* An instance from before roles: database owned by the shared login, no role. */
START_TEST(test_rotate_gives_legacy_instance_a_role)
{
    READY();
    inst a;
    create("legacy", "legacy_db", &a);
    char sql[1024];
    snprintf(sql, sizeof sql,
             "ALTER DATABASE legacy_db OWNER TO %s; GRANT CONNECT ON DATABASE legacy_db TO "
             "PUBLIC",
             pg.user);
    free(q(sql));
    char *o = tu_pg_query(&pg, "legacy_db", "SET ROLE instctl_test; CREATE TABLE t (k int)");
    ck_assert_ptr_nonnull(o);
    free(o);
    snprintf(sql, sizeof sql, "DROP OWNED BY %s; DROP ROLE %s", a.role, a.role);
    o = tu_pg_query(&pg, "legacy_db", sql);
    ck_assert_ptr_nonnull(o);
    free(o);
    expect_q("0", "SELECT count(*) FROM pg_roles WHERE rolname = '%s'", a.role);

    tu_run r = IC("rotate-credentials", "legacy");
    ck_assert_msg(r.status == 0, "rotate-credentials: exit %d: %s", r.status, r.err);
    tu_run_free(&r);
    read_conf(&a);
    expect_q(a.role, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'legacy_db'");
    expect_q("f", "SELECT has_database_privilege('public', 'legacy_db', 'CONNECT')");
    char *owner = NULL;
    ck_assert_int_eq(as_role(a.role, a.pw, a.db,
                             "SELECT tableowner FROM pg_tables WHERE tablename = 't'", &owner,
                             NULL),
                     0);
    ck_assert_str_eq(owner, a.role);
    free(owner);
}
END_TEST

/* acme-test, acme.prod, a1_b-c.d: container, volume, database, backup and restore. */
START_TEST(test_names_end_to_end)
{
    READY();
    const char *dbs[] = {"acme-test", "acme.prod", "a1_b-c.d"};
    const char *names[] = {"acme1", "acme2", "acme3"};
    for (int i = 0; i < 3; i++) {
        inst a;
        create(names[i], dbs[i], &a);
        ck_assert_msg(strstr(a.container, dbs[i]) != NULL, "container %s", a.container);
        char *vol = shf(NULL, NULL, "docker inspect -f '{{range .Mounts}}{{.Name}}{{end}}' %s",
                        a.container);
        ck_assert_msg(strstr(vol, dbs[i]) != NULL, "volume %s", vol);
        free(vol);
        ck_assert_int_eq(as_role(a.role, a.pw, a.db,
                                 "CREATE TABLE t (k int PRIMARY KEY, v text); "
                                 "INSERT INTO t VALUES (1, 'before')",
                                 NULL, NULL),
                         0);
        tu_run r = IC("backup", names[i]);
        ck_assert_msg(r.status == 0, "backup %s: %s", dbs[i], r.err);
        tu_run_free(&r);
        ck_assert_int_eq(as_role(a.role, a.pw, a.db, "UPDATE t SET v = 'after'", NULL, NULL), 0);
        r = IC("stop", names[i]);
        ck_assert_int_eq(r.status, 0);
        tu_run_free(&r);
        r = IC("restore", names[i]);
        ck_assert_msg(r.status == 0, "restore %s: %s", dbs[i], r.err);
        tu_run_free(&r);
        expect_q(a.role, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '%s'",
                 dbs[i]);
        r = IC("show", names[i], "--json");
        cJSON *j = cJSON_Parse(r.out);
        snprintf(a.container, sizeof a.container, "%s",
                 cJSON_GetStringValue(cJSON_GetObjectItem(j, "container_name")));
        cJSON_Delete(j);
        tu_run_free(&r);
        read_conf(&a); /* the restored container got new credentials */
        char *v = NULL;
        ck_assert_int_eq(as_role(a.role, a.pw, a.db,
                                 "SELECT v || ' ' || tableowner FROM t, pg_tables WHERE "
                                 "tablename = 't'",
                                 &v, NULL),
                         0);
        char want[64];
        snprintf(want, sizeof want, "before %s", a.role);
        ck_assert_str_eq(v, want);
        free(v);
    }
}
END_TEST

START_TEST(test_refused_names)
{
    READY();
    const char *bad[] = {"-x", ".x", "a b", "a;b", "postgres", "template1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tu_run r = IC("create", "refused", "--database", bad[i], "--admin-email", "a@b.example",
                      "--admin-password-file", conf);
        ck_assert_msg(r.status == 2, "create --database \"%s\": exit %d, want 2: %s", bad[i],
                      r.status, r.err);
        ck_assert_msg(strstr(r.err, "database name") != NULL, "%s", r.err);
        tu_run_free(&r);
    }
    tu_run r = IC("show", "refused");
    ck_assert_int_eq(r.status, 4);
    tu_run_free(&r);
}
END_TEST

Suite *suite_tenant(void)
{
    Suite *s = suite_create("tenant");
    TCase *t = tcase_create("tenant");
    tcase_set_timeout(t, 600);
    tcase_add_unchecked_fixture(t, suite_setup, suite_teardown);
    tcase_add_test(t, test_refused_names);
    tcase_add_test(t, test_isolation);
    tcase_add_test(t, test_rotate_credentials);
    tcase_add_test(t, test_rotate_gives_legacy_instance_a_role);
    tcase_add_test(t, test_names_end_to_end);
    suite_add_tcase(s, t);
    return s;
}
