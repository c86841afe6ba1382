/*
 * move (issue 11, phase 2) on the real second engine (tcp://127.0.0.1:2376,
 * mutual TLS, see check_hosts.c): both ways with a file written into the
 * volume before the move read back after it; and the crash matrix: a move
 * killed with SIGKILL at each step (the local engine reached through
 * faultproxy, which holds the step's request so the kill lands inside it),
 * then `instctl show` and `instctl reconcile`, leaves exactly one live copy:
 * one container and one volume labelled for the instance over both engines,
 * on the row's host, with the file.
 */
#include <check.h>
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#define ENGINE2_URL "tcp://127.0.0.1:2376"

static struct {
    char dir[256], conf[320], db[320], engine2[256], tls[300], pw[320], sock[320];
    int proxy;
} E;

static void write_conf(void)
{
    char text[2048];
    snprintf(text, sizeof text,
             "db = %s\nbackup_dir = %s/backups\ncron_file = %s/cron\ndocker_host = unix://%s\n"
             "image_template = instctl/odoo-standin:{version}\npull_policy = never\n",
             E.db, E.dir, E.dir, E.sock);
    ck_assert(tu_write_file(E.conf, text));
}

/* The local engine through faultproxy with these faults (NULL-terminated; none: plain). */
static void proxy(const char *fault)
{
    if (E.proxy > 0)
        tu_proxy_stop(E.proxy);
    const char *faults[] = {fault, NULL};
    E.proxy = tu_proxy_start(E.sock, faults, NULL);
    ck_assert_msg(E.proxy > 0, "faultproxy did not start");
}

static void setup(void)
{
    char *dir = tu_tmpdir("move");
    const char *e2 = getenv("ENGINE2_DIR");
    snprintf(E.dir, sizeof E.dir, "%s", dir);
    free(dir);
    snprintf(E.engine2, sizeof E.engine2, "%s", e2 && e2[0] ? e2 : "/var/lib/instctl-test/engine2");
    snprintf(E.tls, sizeof E.tls, "%s/tls", E.engine2);
    snprintf(E.conf, sizeof E.conf, "%s/instctl.conf", E.dir);
    snprintf(E.db, sizeof E.db, "%s/instctl.db", E.dir);
    snprintf(E.pw, sizeof E.pw, "%s/admin.pw", E.dir);
    snprintf(E.sock, sizeof E.sock, "%s/docker.sock", E.dir);
    char cron[400];
    snprintf(cron, sizeof cron, "%s/cron", E.dir);
    ck_assert(tu_write_file(cron, "*/5 * * * * root instctl reconcile\n"));
    ck_assert(chmod(cron, 0400) == 0);
    ck_assert(tu_write_file(E.pw, "secret-admin\n"));
    E.proxy = 0;
    write_conf();
    proxy(NULL);
    const char *argv[] = {"--config", E.conf, "init", "-q", NULL}; /* the store must exist */
    tu_run r = tu_instctl(NULL, argv);
    ck_assert_msg(r.status == 0, "init: exit %d: %s", r.status, r.err);
    tu_run_free(&r);
}

/* Removes this case's containers and volumes from both engines, and the directory. */
static void teardown(void)
{
    if (E.proxy > 0)
        tu_proxy_stop(E.proxy);
    E.proxy = 0;
    char *uuid = tu_sql(E.db, "SELECT uuid FROM store_meta");
    char cmd[2048];
    snprintf(
        cmd, sizeof cmd,
        "L='label=io.instctl.store=%s'; for D in unix:///var/run/docker.sock unix://%s/docker.sock;"
        " do docker -H \"$D\" ps -aq --filter \"$L\" | xargs -r docker -H \"$D\" rm -f;"
        " docker -H \"$D\" volume ls -q --filter \"$L\" | xargs -r docker -H \"$D\" volume rm;"
        " done; rm -rf '%s'",
        uuid != NULL && uuid[0] ? uuid : "none", E.engine2, E.dir);
    free(uuid);
    tu_run r = tu_sh(cmd);
    tu_run_free(&r);
}

/* IC: instctl --config CONF args... */
#define IC(...) tu_instctl_conf(E.conf, NULL, __VA_ARGS__, (const char *)NULL)

static void ok(tu_run r, const char *what)
{
    ck_assert_msg(r.status == 0, "%s: exit %d: %s%s", what, r.status, r.out, r.err);
    tu_run_free(&r);
}

/* The docker -H argument of a host of this store. */
static const char *engine_of(const char *host)
{
    static char e2[300];
    snprintf(e2, sizeof e2, "unix://%s/docker.sock", E.engine2);
    return strcmp(host, "e2") == 0 ? e2 : "unix:///var/run/docker.sock";
}

/* Makes instance name on host (running, or stopped), with a file in its volume; its id into id. */
static void make(const char *name, const char *host, bool running, char id[64])
{
    ok(IC("host", "add", "e2", "--docker-host", ENGINE2_URL, "--tls-dir", E.tls), "host add");
    char db[64];
    snprintf(db, sizeof db, "%sdb", name);
    tu_run r = IC("create", name, "--database", db, "--admin-email", "a@b.co",
                  "--admin-password-file", E.pw, "--host", host, "-q");
    ck_assert_msg(r.status == 0, "create: %s", r.err);
    snprintf(id, 64, "%.*s", (int)strcspn(r.out, "\n"), r.out);
    tu_run_free(&r);
    char *cname = tu_sql(E.db, "SELECT container_name FROM instances");
    free(tu_sh_ok("docker -H %s exec %s sh -c 'echo moved-%s > /var/lib/odoo/marker'",
                  engine_of(host), cname, name));
    free(cname);
    if (!running)
        ok(IC("stop", name), "stop");
}

/* Containers (not backup helpers) or volumes labelled for instance id on host's engine. */
static int count_on(const char *host, const char *id, bool volumes)
{
    char *out =
        volumes
            ? tu_sh_ok("docker -H %s volume ls -q --filter label=io.instctl.instance=%s | wc -l",
                       engine_of(host), id)
            : tu_sh_ok("docker -H %s ps -aq --filter label=io.instctl.instance=%s"
                       " --filter label=io.instctl.managed=true | while read c; do"
                       " docker -H %s inspect -f '{{index .Config.Labels \"io.instctl.role\"}}'"
                       " $c; done | grep -vc helper || true",
                       engine_of(host), id, engine_of(host));
    int n = atoi(out);
    free(out);
    return n;
}

/* Exactly one live copy: one container and one volume over both engines, on the row's host. */
static void assert_one_copy(const char *id, const char *name, bool running, const char *what)
{
    char *host = tu_sql(E.db, "SELECT host FROM instances");
    const char *other = strcmp(host, "e2") == 0 ? "local" : "e2";
    ck_assert_msg(count_on(host, id, false) == 1 && count_on(other, id, false) == 0,
                  "%s: containers: %d on %s (the row's), %d on %s", what, count_on(host, id, false),
                  host, count_on(other, id, false), other);
    ck_assert_msg(count_on(host, id, true) == 1 && count_on(other, id, true) == 0,
                  "%s: volumes: %d on %s (the row's), %d on %s", what, count_on(host, id, true),
                  host, count_on(other, id, true), other);
    char *status = tu_sql(E.db, "SELECT status || '|' || ifnull(op_kind, '') FROM instances");
    char want[64];
    snprintf(want, sizeof want, "%s|", running ? "running" : "stopped");
    ck_assert_msg(strcmp(status, want) == 0, "%s: status|op %s, expected %s", what, status, want);
    char *cid = tu_sql(E.db, "SELECT container_id FROM instances");
    if (!running)
        free(tu_sh_ok("docker -H %s start %s >/dev/null", engine_of(host), cid));
    char *marker = tu_sh_ok("docker -H %s exec %s cat /var/lib/odoo/marker", engine_of(host), cid);
    char expect[80];
    snprintf(expect, sizeof expect, "moved-%s", name);
    ck_assert_msg(strcmp(marker, expect) == 0, "%s: the file reads \"%s\"", what, marker);
    free(marker);
    free(cid);
    free(status);
    free(host);
}

START_TEST(test_move_both_ways)
{
    char id[64];
    make("mv", "local", true, id);
    tu_run r = IC("move", "mv", "--to", "e2");
    ck_assert_msg(r.status == 0, "move to e2: exit %d: %s", r.status, r.err);
    ck_assert_msg(strstr(r.out, "moved from host local to host e2; downtime ") != NULL, "%s",
                  r.out);
    tu_run_free(&r);
    assert_one_copy(id, "mv", true, "after local -> e2");
    r = IC("show", "mv", "--json");
    cJSON *j = cJSON_Parse(r.out);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(j, "host")), "e2");
    const cJSON *port = cJSON_GetObjectItem(j, "odoo_port");
    ck_assert_msg(cJSON_IsNumber(port) && port->valueint > 0, "odoo_port: %s", r.out);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port->valueint);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(j, "odoo_url")), url);
    cJSON_Delete(j);
    tu_run_free(&r);
    free(tu_sh_ok("wget -q -O - %s/web/health", url)); /* Odoo answers at the published address */

    r = IC("move", "mv", "--to", "local");
    ck_assert_msg(r.status == 0, "move back: exit %d: %s", r.status, r.err);
    tu_run_free(&r);
    assert_one_copy(id, "mv", true, "after e2 -> local");
    r = IC("move", "mv", "--to", "local");
    ck_assert_msg(r.status == 0 && strstr(r.out, "already on host local"), "%s", r.out);
    tu_run_free(&r);
    r = IC("move", "mv", "--to", "nowhere");
    ck_assert_int_eq(r.status, 4);
    tu_run_free(&r);
    r = IC("move", "mv");
    ck_assert_int_eq(r.status, 2);
    tu_run_free(&r);
    ok(IC("suspend", "mv"), "suspend");
    r = IC("move", "mv", "--to", "e2");
    ck_assert_int_eq(r.status, 3); /* running and stopped only */
    tu_run_free(&r);
}
END_TEST

/* One row of the crash matrix: the direction, the request held, the step it is killed in. */
typedef struct crash_case {
    const char *from, *to;
    bool running;
    const char *fault; /* on the local engine */
    const char *step;
} crash_case;

static const crash_case crash_cases[] = {
    {"e2", "local", true, "GET:/images/:delay=4000", "begin"},
    {"local", "e2", true, "POST:/stop:delay=4000", "stop"},
    {"local", "e2", true, "GET:/archive:delay=4000", "backup"},
    {"e2", "local", true, "POST:/volumes/create:delay=4000", "volume"},
    {"e2", "local", false, "POST:/containers/create?name=odoo_:delay=4000", "container"},
    {"e2", "local", true, "POST:/start:delay=4000", "start"},
    {"e2", "local", true, "GET:/json:delay=1500", "running"},
    {"local", "e2", true, "DELETE:/containers/:delay=4000", "remove"},
    {"local", "e2", false, "DELETE:/volumes/:delay=4000", "remove"},
};

/* Runs `instctl move`, SIGKILLs it once the store shows step (within 60 s); whether it did. */
static bool move_killed_at(const char *name, const char *to, const char *step)
{
    const char *bin = getenv("INSTCTL_BIN");
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 1);
        dup2(null, 2);
        execl(bin != NULL ? bin : "build/instctl", "instctl", "--config", E.conf, "move", name,
              "--to", to, (char *)NULL);
        _exit(127);
    }
    bool killed = false;
    for (int i = 0; i < 6000 && !killed; i++) {
        char *now = tu_sql(E.db, "SELECT ifnull(op_step, '') FROM instances");
        if (strcmp(now, step) == 0) {
            kill(pid, SIGKILL);
            killed = true;
        }
        free(now);
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return killed;
        nanosleep(&(struct timespec){0, 10 * 1000000}, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return killed;
}

START_TEST(test_move_killed)
{
    const crash_case *c = &crash_cases[_i];
    char id[64], what[128];
    make("mk", c->from, c->running, id);
    proxy(c->fault);
    ck_assert_msg(move_killed_at("mk", c->to, c->step), "%s -> %s: never at step %s", c->from,
                  c->to, c->step);
    proxy(NULL);
    sleep(5); /* the held request reaches the engine after all: let it, before recovering */
    char *step =
        tu_sql(E.db, "SELECT ifnull(op_kind, '') || ':' || ifnull(op_step, '') FROM instances");
    snprintf(what, sizeof what, "killed at %s (%s -> %s)", step, c->from, c->to);
    free(step);
    tu_run r = IC("show", "mk");
    ck_assert_msg(r.status == 0, "%s: show: %s", what, r.err);
    tu_run_free(&r);
    r = IC("reconcile");
    ck_assert_msg(r.status == 0, "%s: reconcile: exit %d: %s", what, r.status, r.err);
    tu_run_free(&r);
    assert_one_copy(id, "mk", c->running, what);
}
END_TEST

Suite *suite_move(void)
{
    Suite *s = suite_create("move");
    TCase *t = tcase_create("both_ways");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 300);
    tcase_add_test(t, test_move_both_ways);
    suite_add_tcase(s, t);
    t = tcase_create("killed");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 300);
    tcase_add_loop_test(t, test_move_killed, 0, (int)(sizeof crash_cases / sizeof crash_cases[0]));
    suite_add_tcase(s, t);
    return s;
}
