/*
 * Several Docker hosts (issue 11, phase 1), on the real second engine that
 * scripts/start-second-engine.sh runs (tcp://127.0.0.1:2376, mutual TLS,
 * ENGINE2_DIR, default /var/lib/instctl-test/engine2): host add over TLS,
 * and refused without a client certificate, with one the engine does not
 * accept, with a wrong CA and over plain TCP (one clear line, the right
 * exit, nothing written); list, show, drain, undrain, remove; create
 * --host; an existing store migrated forward onto `local`; doctor with two
 * hosts; and the second engine stopped (list still answers, the host shown
 * unreachable). The case that stops the engine starts it again in its
 * teardown, which runs even when the case failed.
 */
#include <check.h>
#include <cjson/cJSON.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"
#include "testutil.h"

#define ENGINE2_URL "tcp://127.0.0.1:2376"

typedef struct hosts_env {
    char dir[256];
    char conf[320];
    char db[320];
    char engine2[256]; /* ENGINE2_DIR */
    char tls[300];     /* its client TLS directory */
    char pw[320];
} hosts_env;

static hosts_env E;

static void setup(void)
{
    char *dir = tu_tmpdir("hosts");
    const char *e2 = getenv("ENGINE2_DIR");
    snprintf(E.dir, sizeof E.dir, "%s", dir);
    free(dir);
    snprintf(E.engine2, sizeof E.engine2, "%s", e2 && e2[0] ? e2 : "/var/lib/instctl-test/engine2");
    snprintf(E.tls, sizeof E.tls, "%s/tls", E.engine2);
    snprintf(E.conf, sizeof E.conf, "%s/instctl.conf", E.dir);
    snprintf(E.db, sizeof E.db, "%s/instctl.db", E.dir);
    snprintf(E.pw, sizeof E.pw, "%s/admin.pw", E.dir);
    char text[2048], cron[400];
    snprintf(cron, sizeof cron, "%s/cron", E.dir);
    ck_assert(tu_write_file(cron, "*/5 * * * * root instctl reconcile\n"));
    ck_assert(chmod(cron, 0400) == 0);
    ck_assert(tu_write_file(E.pw, "secret-admin\n"));
    snprintf(text, sizeof text,
             "db = %s\nbackup_dir = %s\ncron_file = %s\n"
             "image_template = instctl/odoo-standin:{version}\npull_policy = never\n",
             E.db, E.dir, cron);
    ck_assert(tu_write_file(E.conf, text));
    /* the store, as an operator makes it first ('instctl init'); a missing one is refused */
    const char *const init[] = {"--config", E.conf, "init", NULL};
    tu_run r = tu_instctl(NULL, init);
    ck_assert_msg(r.status == 0, "init: exit %d: %s", r.status, r.err);
    tu_run_free(&r);
}

/* Removes this case's containers and volumes from both engines, and the directory. */
static void teardown(void)
{
    char *uuid = tu_sql(E.db, "SELECT uuid FROM store_meta");
    if (uuid != NULL && uuid[0] != '\0')
        tu_docker_clean(uuid);
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "D='unix://%s/docker.sock'; L='label=io.instctl.store=%s';"
             " docker -H \"$D\" ps -aq --filter \"$L\" | xargs -r docker -H \"$D\" rm -f;"
             " docker -H \"$D\" volume ls -q --filter \"$L\" | xargs -r docker -H \"$D\" volume rm;"
             " rm -rf '%s'",
             E.engine2, uuid != NULL && uuid[0] ? uuid : "none", E.dir);
    free(uuid);
    tu_run r = tu_sh(cmd);
    tu_run_free(&r);
}

/* IC: instctl --config CONF args... */
#define IC(...) tu_instctl_conf(E.conf, NULL, __VA_ARGS__, (const char *)NULL)

/* The stderr of a refused command is exactly one line naming what and why. */
static void assert_one_line(const tu_run *r, const char *what, const char *says)
{
    ck_assert_msg(strstr(r->err, says) != NULL, "%s: stderr lacks \"%s\":\n%s", what, says, r->err);
    size_t len = strlen(r->err);
    ck_assert_msg(len > 0 && strchr(r->err, '\n') == r->err + len - 1,
                  "%s: not exactly one line:\n%s", what, r->err);
    ck_assert_msg(strstr(r->err, "tcp://127.0.0.1:") != NULL, "%s: the host is not named: %s", what,
                  r->err);
}

static void add_e2(void)
{
    tu_run r = IC("host", "add", "e2", "--docker-host", ENGINE2_URL, "--tls-dir", E.tls,
                  "--max-instances", "5");
    ck_assert_msg(r.status == 0, "host add e2: exit %d: %s", r.status, r.err);
    ck_assert_msg(strstr(r.out, "host e2 added: " ENGINE2_URL ", Docker ") != NULL, "%s", r.out);
    tu_run_free(&r);
}

/* The hosts of `host list --json` (cJSON_Delete). */
static cJSON *host_list(void)
{
    tu_run r = IC("host", "list", "--json");
    ck_assert_msg(r.status == 0, "host list --json: exit %d: %s", r.status, r.err);
    cJSON *j = cJSON_Parse(r.out);
    ck_assert_msg(cJSON_IsArray(j), "host list --json: not an array: %s", r.out);
    tu_run_free(&r);
    return j;
}

static const cJSON *find_host(const cJSON *list, const char *name)
{
    const cJSON *h;
    cJSON_ArrayForEach(h, list)
    {
        if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(h, "name")), name) == 0)
            return h;
    }
    ck_abort_msg("host %s not listed", name);
    return NULL;
}

START_TEST(test_add_over_tls)
{
    add_e2();
    cJSON *list = host_list();
    ck_assert_int_eq(cJSON_GetArraySize(list), 2);
    const cJSON *local = find_host(list, "local"), *e2 = find_host(list, "e2");
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(local, "reachable")));
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(e2, "reachable")));
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(e2, "docker_host")), ENGINE2_URL);
    ck_assert_int_eq(cJSON_GetObjectItem(e2, "max_instances")->valueint, 5);
    ck_assert_int_eq(cJSON_GetObjectItem(e2, "instances")->valueint, 0);
    const cJSON *engine = cJSON_GetObjectItem(e2, "engine");
    ck_assert_msg(strlen(cJSON_GetStringValue(cJSON_GetObjectItem(engine, "version"))) > 0,
                  "no engine version");
    ck_assert(cJSON_GetObjectItem(engine, "mem_total")->valuedouble > 0);
    char want[400];
    snprintf(want, sizeof want, "%s/ca.pem", E.tls);
    ck_assert_str_eq(
        cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(e2, "tls"), "ca")), want);
    cJSON_Delete(list);

    tu_run r = IC("host", "list");
    ck_assert_int_eq(r.status, 0);
    ck_assert_msg(strstr(r.out, "e2 ") != NULL && strstr(r.out, ENGINE2_URL) != NULL &&
                      strstr(r.out, "0/5") != NULL,
                  "host list:\n%s", r.out);
    tu_run_free(&r);
    r = IC("host", "show", "e2", "--json");
    ck_assert_msg(r.status == 0 && strstr(r.out, "\"reachable\":\ttrue") != NULL, "%d %s %s",
                  r.status, r.out, r.err);
    tu_run_free(&r);

    /* the same name or the same engine twice is refused */
    r = IC("host", "add", "e2", "--docker-host", ENGINE2_URL, "--tls-dir", E.tls);
    ck_assert_int_eq(r.status, 2);
    ck_assert_msg(strstr(r.err, "host e2 already exists") != NULL, "%s", r.err);
    tu_run_free(&r);
    r = IC("host", "add", "e3", "--docker-host", ENGINE2_URL, "--tls-dir", E.tls);
    ck_assert_int_eq(r.status, 2);
    ck_assert_msg(strstr(r.err, "another host already uses " ENGINE2_URL) != NULL, "%s", r.err);
    tu_run_free(&r);
}
END_TEST

/* A CA of its own and a client certificate it signed, in E.dir/other: not the engine's. */
static void make_other_ca(void)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "set -e; cd '%s'; mkdir other; cd other;"
             " openssl req -x509 -new -newkey rsa:2048 -nodes -days 2 -subj '/CN=other CA'"
             "  -keyout ca-key.pem -out ca.pem 2>/dev/null;"
             " openssl req -new -newkey rsa:2048 -nodes -subj '/CN=stranger' -keyout key.pem"
             "  -out c.csr 2>/dev/null;"
             " echo 'extendedKeyUsage = clientAuth' > c.ext;"
             " openssl x509 -req -days 2 -in c.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial"
             "  -extfile c.ext -out cert.pem 2>/dev/null",
             E.dir);
    tu_run r = tu_sh(cmd);
    ck_assert_msg(r.status == 0, "openssl: %s", r.err);
    tu_run_free(&r);
}

START_TEST(test_refused)
{
    char other[300], ca[400], cert[400], key[400], oca[400], ocert[400], okey[400];
    make_other_ca();
    snprintf(other, sizeof other, "%s/other", E.dir);
    snprintf(ca, sizeof ca, "%s/ca.pem", E.tls);
    snprintf(cert, sizeof cert, "%s/cert.pem", E.tls);
    snprintf(key, sizeof key, "%s/key.pem", E.tls);
    snprintf(oca, sizeof oca, "%s/ca.pem", other);
    snprintf(ocert, sizeof ocert, "%s/cert.pem", other);
    snprintf(okey, sizeof okey, "%s/key.pem", other);
    const struct {
        const char *what;
        const char *args[12];
        int status;
        const char *says;
    } cases[] = {
        {"no client certificate", {"--tls-ca", ca}, 2, "no TLS client certificate given"},
        {"a client certificate the engine does not accept",
         {"--tls-ca", ca, "--tls-cert", ocert, "--tls-key", okey},
         6,
         "the TLS session was refused"},
        {"a wrong CA",
         {"--tls-ca", oca, "--tls-cert", cert, "--tls-key", key},
         6,
         "its TLS certificate cannot be verified with the CA"},
        {"plain tcp://", {NULL}, 2, "plain TCP is refused"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *argv[24] = {"--config", E.conf,          "host",     "add",
                                "e2",       "--docker-host", ENGINE2_URL};
        size_t n = 7;
        for (size_t k = 0; cases[i].args[k] != NULL; k++)
            argv[n++] = cases[i].args[k];
        argv[n] = NULL;
        tu_run r = tu_instctl(NULL, argv);
        ck_assert_msg(r.status == cases[i].status, "%s: exit %d, expected %d: %s", cases[i].what,
                      r.status, cases[i].status, r.err);
        assert_one_line(&r, cases[i].what, cases[i].says);
        tu_run_free(&r);
        char *count = tu_sql(E.db, "SELECT count(*) FROM hosts");
        ck_assert_msg(strcmp(count, "1") == 0, "%s: %s hosts written", cases[i].what, count);
        free(count);
    }
    /* a plain TCP port (no TLS there at all) is refused too */
    tu_run r = IC("host", "add", "e2", "--docker-host", "tcp://127.0.0.1:9", "--tls-dir", E.tls);
    ck_assert_int_eq(r.status, 6);
    assert_one_line(&r, "a closed port", "cannot reach the Docker engine at tcp://127.0.0.1:9");
    tu_run_free(&r);
}
END_TEST

START_TEST(test_drain_create_remove)
{
    add_e2();
    tu_run r = IC("host", "drain", "e2");
    ck_assert_msg(r.status == 0, "drain: %s", r.err);
    tu_run_free(&r);
    cJSON *list = host_list();
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(find_host(list, "e2"), "drained")));
    cJSON_Delete(list);
    r = IC("create", "r1", "--database", "r1db", "--admin-email", "a@b.co", "--admin-password-file",
           E.pw, "--host", "e2");
    ck_assert_int_eq(r.status, 3);
    ck_assert_msg(strstr(r.err, "host e2 cannot take a new instance: e2 drained") != NULL, "%s",
                  r.err);
    tu_run_free(&r);
    r = IC("host", "undrain", "e2");
    ck_assert_int_eq(r.status, 0);
    tu_run_free(&r);

    /* created on the second engine: the row records its host, the container is there */
    r = IC("create", "r1", "--database", "r1db", "--admin-email", "a@b.co", "--admin-password-file",
           E.pw, "--host", "e2", "--json");
    ck_assert_msg(r.status == 0, "create --host e2: exit %d: %s", r.status, r.err);
    cJSON *in = cJSON_Parse(r.out);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(in, "host")), "e2");
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(in, "status")), "running");
    char cmd[600];
    snprintf(cmd, sizeof cmd, "docker -H unix://%s/docker.sock inspect -f '{{.State.Status}}' %s",
             E.engine2, cJSON_GetStringValue(cJSON_GetObjectItem(in, "container_id")));
    cJSON_Delete(in);
    tu_run_free(&r);
    r = tu_sh(cmd);
    ck_assert_msg(r.status == 0 && strcmp(r.out, "running\n") == 0, "on engine2: %s %s", r.out,
                  r.err);
    tu_run_free(&r);
    char *host = tu_sql(E.db, "SELECT host FROM instances WHERE name = 'r1'");
    ck_assert_str_eq(host, "e2");
    free(host);

    r = IC("host", "remove", "e2");
    ck_assert_int_eq(r.status, 3);
    ck_assert_msg(strstr(r.err, "host e2 still has 1 instance") != NULL, "%s", r.err);
    tu_run_free(&r);
    r = IC("host", "remove", "local");
    ck_assert_int_eq(r.status, 3);
    tu_run_free(&r);
    r = IC("host", "remove", "nope");
    ck_assert_int_eq(r.status, 4);
    tu_run_free(&r);
    /* once its rows are terminated (phase 2 terminates remotely), the host can go */
    ck_assert(tu_sql_exec(E.db, "UPDATE instances SET status = 'terminated'"));
    r = IC("host", "remove", "e2");
    ck_assert_msg(r.status == 0, "remove: %s", r.err);
    tu_run_free(&r);
    char *count = tu_sql(E.db, "SELECT count(*) FROM hosts");
    ck_assert_str_eq(count, "1");
    free(count);
}
END_TEST

/* A schema-4 store with rows (as an older instctl left it) is migrated with every row on local. */
START_TEST(test_migrated_forward)
{
    ck_assert(tu_sql_exec(
        E.db, "DROP TABLE metrics; DROP INDEX instances_list;"
              " DROP INDEX instances_host; ALTER TABLE instances DROP COLUMN host;"
              " ALTER TABLE instances DROP COLUMN odoo_port;"
              " DROP TABLE hosts; PRAGMA user_version = 4;"
              " INSERT INTO instances (id, name, admin_email, database_name, odoo_version, image,"
              " container_name, volume_name, status, created_at, updated_at) VALUES"
              " ('00000000-0000-4000-8000-000000000001', 'old1', 'a@b.co', 'old1db', '17.0',"
              "  'odoo:17.0', 'c1', 'v1', 'stopped', 0, 0),"
              " ('00000000-0000-4000-8000-000000000002', 'old2', 'a@b.co', 'old2db', '17.0',"
              "  'odoo:17.0', 'c2', 'v2', 'terminated', 0, 0)"));
    char *v = tu_sql(E.db, "PRAGMA user_version");
    ck_assert_str_eq(v, "4");
    free(v);
    cJSON *list = host_list();
    ck_assert_int_eq(cJSON_GetArraySize(list), 1);
    ck_assert_int_eq(cJSON_GetObjectItem(find_host(list, "local"), "instances")->valueint, 1);
    cJSON_Delete(list);
    char *rows = tu_sql_rows(E.db, "SELECT name, host FROM instances ORDER BY name");
    ck_assert_str_eq(rows, "old1|local\nold2|local\n");
    free(rows);
    v = tu_sql(E.db, "PRAGMA user_version");
    ck_assert_int_eq(atoi(v), LC_SCHEMA_VERSION); /* every migration after 4 ran */
    free(v);
    tu_run r = IC("show", "old1", "--json");
    ck_assert_msg(strstr(r.out, "\"host\":\t\"local\"") != NULL, "%s %s", r.out, r.err);
    tu_run_free(&r);
}
END_TEST

/* The doctor line of check name (text output), malloc'd, or NULL. */
static int doctor_lines(const char *out, const char *check, const char *result)
{
    int n = 0;
    char want[128];
    snprintf(want, sizeof want, "%-5s %-16s", result, check);
    for (const char *p = strstr(out, want); p != NULL; p = strstr(p + 1, want))
        n += p == out || p[-1] == '\n';
    return n;
}

START_TEST(test_doctor_two_hosts)
{
    add_e2();
    tu_run r = IC("doctor");
    ck_assert_msg(doctor_lines(r.out, "host e2", "ok") == 3, "doctor:\n%s", r.out);
    ck_assert_msg(strstr(r.out, ENGINE2_URL " answers over verified TLS, API 1.") != NULL, "%s",
                  r.out);
    ck_assert_msg(strstr(r.out, "clock skew") != NULL, "%s", r.out);
    ck_assert_msg(r.status == 0, "doctor: exit %d:\n%s%s", r.status, r.out, r.err);
    tu_run_free(&r);
}
END_TEST

static void stop_engine2(void)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd,
             "pid=$(cat '%s/docker.pid') && kill \"$pid\" &&"
             " while kill -0 \"$pid\" 2>/dev/null; do sleep 0.2; done",
             E.engine2);
    tu_run r = tu_sh(cmd);
    ck_assert_msg(r.status == 0, "stopping the second engine: %s", r.err);
    tu_run_free(&r);
}

/* Unchecked teardown: the second engine runs again whatever happened. */
static void start_engine2(void)
{
    tu_run r = tu_sh("scripts/start-second-engine.sh");
    if (r.status != 0)
        fprintf(stderr, "start-second-engine.sh: exit %d: %s\n", r.status, r.err);
    tu_run_free(&r);
}

START_TEST(test_engine_stopped)
{
    add_e2();
    stop_engine2();
    tu_run r = IC("host", "list");
    ck_assert_msg(r.status == 0, "host list with a host down: exit %d: %s", r.status, r.err);
    ck_assert_msg(strstr(r.out, "unreachable") != NULL, "%s", r.out);
    ck_assert_msg(strstr(r.err, "host e2: cannot reach the Docker engine at " ENGINE2_URL) != NULL,
                  "%s", r.err);
    tu_run_free(&r);
    cJSON *list = host_list();
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(find_host(list, "local"), "reachable")));
    const cJSON *e2 = find_host(list, "e2");
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(e2, "reachable")));
    ck_assert_msg(strstr(cJSON_GetStringValue(cJSON_GetObjectItem(e2, "error")), ENGINE2_URL),
                  "error lacks the URL");
    cJSON_Delete(list);
    r = IC("doctor");
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(doctor_lines(r.out, "host e2", "FAIL") == 1, "%s", r.out);
    ck_assert_msg(doctor_lines(r.out, "engine", "ok") == 1, "%s", r.out);
    tu_run_free(&r);
    start_engine2();
    list = host_list();
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(find_host(list, "e2"), "reachable")));
    cJSON_Delete(list);
}
END_TEST

/* `docker -H <engine2> inspect -f {{.State.Status}} ID` (malloc'd, newline cut), "" when gone. */
static char *state_on_e2(const char *cid)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "docker -H unix://%s/docker.sock inspect -f '{{.State.Status}}' %s",
             E.engine2, cid);
    tu_run r = tu_sh(cmd);
    char *out = strdup(r.status == 0 ? r.out : "");
    out[strcspn(out, "\n")] = '\0';
    tu_run_free(&r);
    return out;
}

static char *field(const char *name, const char *column)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT ifnull(%s, '') FROM instances WHERE name = '%s'", column,
             name);
    return tu_sql(E.db, sql);
}

static void create_on(const char *name, const char *host)
{
    char db[64];
    snprintf(db, sizeof db, "%sdb", name);
    tu_run r = host != NULL ? IC("create", name, "--database", db, "--admin-email", "a@b.co",
                                 "--admin-password-file", E.pw, "--host", host)
                            : IC("create", name, "--database", db, "--admin-email", "a@b.co",
                                 "--admin-password-file", E.pw);
    ck_assert_msg(r.status == 0, "create %s: exit %d: %s", name, r.status, r.err);
    tu_run_free(&r);
}

/* Placement without --host: the least used host, so four creates end two and two. */
START_TEST(test_placement_balanced)
{
    add_e2();
    for (int i = 0; i < 4; i++) {
        char name[16];
        snprintf(name, sizeof name, "p%d", i);
        create_on(name, NULL);
    }
    char *rows = tu_sql_rows(E.db, "SELECT host, count(*) FROM instances GROUP BY host ORDER BY 1");
    ck_assert_msg(strcmp(rows, "e2|2\nlocal|2\n") == 0, "placement: %s", rows);
    free(rows);
    tu_run r = IC("list", "--host", "e2", "-q");
    ck_assert_msg(r.status == 0 && strlen(r.out) == 2 * 37, "list --host e2: %s %s", r.out, r.err);
    tu_run_free(&r);
    r = IC("list");
    ck_assert_msg(strstr(r.out, "HOST") != NULL && strstr(r.out, " e2 ") != NULL, "%s", r.out);
    tu_run_free(&r);
    r = IC("list", "--host", "nope");
    ck_assert_int_eq(r.status, 4);
    tu_run_free(&r);
    r = IC("stats", "--json");
    cJSON *j = cJSON_Parse(r.out);
    const cJSON *e2 = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "hosts"), "e2");
    ck_assert_msg(cJSON_GetObjectItem(e2, "running")->valueint == 2, "stats: %s", r.out);
    cJSON_Delete(j);
    tu_run_free(&r);
}
END_TEST

/* Every action on an instance of the second engine reaches that engine. */
START_TEST(test_remote_actions)
{
    add_e2();
    create_on("ra", "e2");
    const struct {
        const char *args[6];
        const char *state; /* the container's state on engine2 afterwards */
    } steps[] = {
        {{"stop", "ra"}, "exited"},
        {{"start", "ra"}, "running"},
        {{"restart", "ra"}, "running"},
        {{"suspend", "ra"}, "exited"},
        {{"unsuspend", "ra"}, "running"},
        {{"backup", "ra"}, "running"},
        {{"maintenance", "ra", "on"}, "running"},
        {{"maintenance", "ra", "off"}, "running"},
        {{"stop", "ra"}, "exited"},
        {{"restore", "ra"}, "created"},
        {{"start", "ra"}, "running"},
        {{"update", "ra", "--odoo-version", "18.0", "--major"}, "running"},
        {{"terminate", "ra"}, ""},
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        const char *const *a = steps[i].args;
        tu_run r = IC(a[0], a[1], a[2], a[3], a[4], a[5]);
        ck_assert_msg(r.status == 0, "%s: exit %d: %s", a[0], r.status, r.err);
        tu_run_free(&r);
        char *cid = field("ra", "container_id");
        char *host = field("ra", "host");
        ck_assert_str_eq(host, "e2");
        char *st = state_on_e2(cid[0] ? cid : "none");
        ck_assert_msg(strcmp(st, steps[i].state) == 0, "after %s: %s on engine2, expected %s", a[0],
                      st, steps[i].state);
        free(st);
        free(host);
        free(cid);
    }
    char *image = field("ra", "image");
    ck_assert_str_eq(image, "instctl/odoo-standin:18.0");
    free(image);
}
END_TEST

/* Two stores on the same two engines: a pass of one never touches the other's containers. */
START_TEST(test_two_stores)
{
    add_e2();
    create_on("t1", "e2");
    create_on("t2", "local");
    hosts_env first = E;
    char conf2[400], db2[400], text[2048];
    snprintf(conf2, sizeof conf2, "%s/second.conf", E.dir);
    snprintf(db2, sizeof db2, "%s/second.db", E.dir);
    snprintf(text, sizeof text,
             "db = %s\nbackup_dir = %s\ncron_file = %s/cron\n"
             "image_template = instctl/odoo-standin:{version}\npull_policy = never\n",
             db2, E.dir, E.dir);
    ck_assert(tu_write_file(conf2, text));
    snprintf(E.conf, sizeof E.conf, "%s", conf2);
    snprintf(E.db, sizeof E.db, "%s", db2);
    tu_run r = IC("init", "-q");
    ck_assert_msg(r.status == 0, "second store's init: %d %s", r.status, r.err);
    tu_run_free(&r);
    add_e2();
    r = IC("reconcile", "--json");
    ck_assert_msg(r.status == 0, "second store's reconcile: %d %s", r.status, r.err);
    cJSON *j = cJSON_Parse(r.out);
    ck_assert_int_eq(cJSON_GetObjectItem(j, "orphans")->valueint, 0);
    ck_assert_int_eq(cJSON_GetObjectItem(j, "enforced")->valueint, 0);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "hosts")), 2);
    cJSON_Delete(j);
    tu_run_free(&r);
    E = first;
    char *cid = field("t1", "container_id");
    char *st = state_on_e2(cid);
    ck_assert_str_eq(st, "running");
    free(st);
    free(cid);
    r = IC("reconcile");
    ck_assert_msg(r.status == 0, "first store's reconcile: %d %s", r.status, r.err);
    tu_run_free(&r);
    char *rows = tu_sql_rows(E.db, "SELECT name, status FROM instances ORDER BY name");
    ck_assert_str_eq(rows, "t1|running\nt2|running\n");
    free(rows);
}
END_TEST

/* Reconcile with both hosts, then with the second engine stopped: its rows untouched, exit 1. */
START_TEST(test_reconcile_host_down)
{
    add_e2();
    create_on("rl", "local");
    create_on("re", "e2");
    tu_run r = IC("reconcile", "--json");
    ck_assert_msg(r.status == 0, "reconcile: %d %s", r.status, r.err);
    ck_assert_msg(strstr(r.err, "reconcile_host host=e2 answered=yes") != NULL, "%s", r.err);
    cJSON *j = cJSON_Parse(r.out);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "hosts")), 2);
    ck_assert_int_le(cJSON_GetObjectItem(j, "requests")->valueint, 2);
    cJSON_Delete(j);
    tu_run_free(&r);
    char *before = tu_sql_rows(E.db, "SELECT * FROM instances WHERE name = 're'");
    char *cid = field("rl", "container_id");
    char cmd[300];
    snprintf(cmd, sizeof cmd, "docker stop -t 1 %s", cid);
    r = tu_sh(cmd); /* behind instctl's back, on the host that answers */
    tu_run_free(&r);
    free(cid);
    stop_engine2();
    r = IC("reconcile");
    ck_assert_msg(r.status == 1, "reconcile with e2 down: exit %d: %s", r.status, r.err);
    ck_assert_msg(strstr(r.err, "reconcile_host host=e2 answered=no") != NULL, "%s", r.err);
    ck_assert_msg(strstr(r.err, "host e2 not answering (1 instance(s) untouched)") != NULL, "%s",
                  r.err);
    ck_assert_msg(strstr(r.err, "result=partial") != NULL, "%s", r.err);
    tu_run_free(&r);
    char *after = tu_sql_rows(E.db, "SELECT * FROM instances WHERE name = 're'");
    ck_assert_msg(strcmp(before, after) == 0, "the row on e2 changed:\n%s\n%s", before, after);
    free(before);
    free(after);
    char *st = field("rl", "status");
    ck_assert_msg(strcmp(st, "running") != 0, "the local row was not reconciled: %s", st);
    free(st);
    start_engine2();
}
END_TEST

Suite *suite_hosts(void)
{
    Suite *s = suite_create("hosts");
    const struct {
        const char *name;
        const TTest *test;
    } cases[] = {
        {"add", test_add_over_tls},
        {"refused", test_refused},
        {"drain_create_remove", test_drain_create_remove},
        {"migrated", test_migrated_forward},
        {"doctor", test_doctor_two_hosts},
        {"engine_stopped", test_engine_stopped},
        {"placement", test_placement_balanced},
        {"remote_actions", test_remote_actions},
        {"two_stores", test_two_stores},
        {"reconcile_host_down", test_reconcile_host_down},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        TCase *t = tcase_create(cases[i].name);
        tcase_add_checked_fixture(t, setup, teardown);
        tcase_set_timeout(t, 300);
        if (strcmp(cases[i].name, "engine_stopped") == 0 ||
            strcmp(cases[i].name, "reconcile_host_down") == 0)
            tcase_add_unchecked_fixture(t, NULL, start_engine2);
        tcase_add_test(t, cases[i].test);
        suite_add_tcase(s, t);
    }
    return s;
}
