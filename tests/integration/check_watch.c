/*
 * `instctl watch` on the real engine (issue 12, DESIGN §3a): docker stop,
 * kill, rm -f, pause and start behind instctl's back reach the row as the
 * pass would write them (each polled up to 5 s, the lag printed; the
 * target is 2 s), and a dry-run pass afterwards wants nothing more; a
 * restart by the container's policy is never written `stopped`; events lost
 * while the stream was cut by tests/tools/faultproxy are caught by the
 * relist on reconnect; watch and reconcile passes at the same time conflict
 * on nothing; watch survives the engine's socket going away and coming
 * back, writing nothing meanwhile; one watch per store, SIGTERM ends it;
 * the metrics file parses under the Prometheus text rules with every status.
 */
#include <check.h>
#include <cjson/cJSON.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "testutil.h"

#define POLL_LIMIT_MS 5000
#define TARGET_MS 2000

typedef struct store {
    char dir[256], conf[300], db[300], pw[300], uuid[40], prom[300], proxy[300], log[300];
} store;

typedef struct inst {
    char id[40], cid[80];
} inst;

static store S;
static int watch_pid = -1, proxy_pid = -1;
static char sweep_list[] = "/tmp/instctl-check-watch.sweep";

static void clean_store(const char *uuid, const char *dir)
{
    tu_docker_clean(uuid);
    free(tu_shf(NULL, "rm -rf '%s'", dir));
}

static tu_run ictl(const char *host, const char *const *args)
{
    const char *argv[40] = {"--config", S.conf};
    size_t n = 2;
    if (host != NULL) {
        argv[n++] = "--docker-host";
        argv[n++] = host;
    }
    for (size_t i = 0; n < 39 && args[i] != NULL; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    return tu_instctl(NULL, argv);
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

static void setup(void)
{
    char *dir = tu_tmpdir("watch");
    ck_assert_ptr_nonnull(dir);
    memset(&S, 0, sizeof S);
    snprintf(S.dir, sizeof S.dir, "%s", dir);
    free(dir);
    snprintf(S.conf, sizeof S.conf, "%s/instctl.conf", S.dir);
    snprintf(S.db, sizeof S.db, "%s/instctl.db", S.dir);
    snprintf(S.pw, sizeof S.pw, "%s/admin-password", S.dir);
    snprintf(S.prom, sizeof S.prom, "%s/instctl.prom", S.dir);
    snprintf(S.proxy, sizeof S.proxy, "%s/proxy.sock", S.dir);
    snprintf(S.log, sizeof S.log, "%s/watch.log", S.dir);
    char conf[1024];
    snprintf(conf, sizeof conf,
             "db = %s\nimage_template = instctl/odoo-standin:{version}\ncreate_timeout = 60\n"
             "stop_timeout = 1\nmetrics_file = %s\n",
             S.db, S.prom);
    ck_assert(tu_write_file(S.conf, conf) && tu_write_file(S.pw, "s3cret-admin\n"));
    tu_run r = ictl(NULL, ARGS("init", "-q"));
    ck_assert_msg(r.status == 0, "init: %d %s", r.status, r.err);
    r.out[strcspn(r.out, "\n")] = '\0';
    snprintf(S.uuid, sizeof S.uuid, "%s", r.out);
    tu_run_free(&r);
    FILE *f = fopen(sweep_list, "a");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "%s %s\n", S.uuid, S.dir);
    fclose(f);
    watch_pid = proxy_pid = -1;
}

static int stop_watch(void)
{
    int status = -1;
    if (watch_pid > 0) {
        kill(watch_pid, SIGTERM);
        waitpid(watch_pid, &status, 0);
    }
    watch_pid = -1;
    return status;
}

static void teardown(void)
{
    stop_watch();
    if (proxy_pid > 0)
        tu_proxy_stop(proxy_pid);
    proxy_pid = -1;
    clean_store(S.uuid, S.dir);
    unlink(sweep_list);
}

static void sweep(void)
{
    FILE *f = fopen(sweep_list, "r");
    char uuid[64], dir[300];
    while (f != NULL && fscanf(f, "%63s %299s", uuid, dir) == 2)
        clean_store(uuid, dir);
    if (f != NULL)
        fclose(f);
    unlink(sweep_list);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *text = calloc(1, 1 << 20);
    ck_assert_ptr_nonnull(text);
    if (f != NULL) {
        size_t n = fread(text, 1, (1 << 20) - 1, f);
        text[n] = '\0';
        fclose(f);
    }
    return text;
}

/* Waits up to ms for the watch log to hold `count` lines with needle; true when it did. */
static bool log_has(const char *needle, int count, int ms)
{
    for (int waited = 0;; waited += 20) {
        char *text = slurp(S.log);
        int n = 0;
        for (const char *p = text; (p = strstr(p, needle)) != NULL; p++)
            n++;
        free(text);
        if (n >= count)
            return true;
        if (waited >= ms)
            return false;
        usleep(20000);
    }
}

/* Starts watch (through host when not NULL) and waits for its first relist. */
static void start_watch(const char *host)
{
    const char *bin = getenv("INSTCTL_BIN") ? getenv("INSTCTL_BIN") : "build/instctl";
    watch_pid = fork();
    ck_assert_int_ge(watch_pid, 0);
    if (watch_pid == 0) {
        if (freopen(S.log, "a", stderr) == NULL || freopen("/dev/null", "w", stdout) == NULL)
            _exit(126);
        if (host != NULL)
            execl(bin, bin, "--config", S.conf, "--docker-host", host, "watch", (char *)NULL);
        else
            execl(bin, bin, "--config", S.conf, "watch", (char *)NULL);
        _exit(127);
    }
    ck_assert_msg(log_has("watch relist", 1, 10000), "watch did not relist:\n%s", slurp(S.log));
}

static inst create(const char *name)
{
    tu_run r = ictl(NULL, ARGS("create", name, "--database", name, "--admin-email", "a@b.co",
                               "--admin-password-file", S.pw, "-q"));
    ck_assert_msg(r.status == 0, "create %s: %d %s", name, r.status, r.err);
    tu_run_free(&r);
    inst in;
    char q[256];
    snprintf(q, sizeof q, "SELECT id FROM instances WHERE name = '%s'", name);
    char *v = tu_sql(S.db, q);
    snprintf(in.id, sizeof in.id, "%s", v);
    free(v);
    snprintf(q, sizeof q, "SELECT container_id FROM instances WHERE name = '%s'", name);
    v = tu_sql(S.db, q);
    snprintf(in.cid, sizeof in.cid, "%s", v);
    free(v);
    ck_assert_uint_eq(strlen(in.cid), 64);
    return in;
}

static char *status(const inst *in)
{
    char q[256];
    snprintf(q, sizeof q, "SELECT status FROM instances WHERE id = '%s'", in->id);
    return tu_sql(S.db, q);
}

static double ms_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

/*
 * Polls the row for want up to POLL_LIMIT_MS after t1 (the change was made
 * by then); prints the time from t0 (just before the change was asked for)
 * and returns it in ms.
 */
static double poll_status(const inst *in, const char *what, const char *want,
                          const struct timespec *t0, const struct timespec *t1)
{
    char *got = NULL;
    do {
        free(got);
        got = status(in);
        if (strcmp(got, want) == 0)
            break;
        usleep(10000);
    } while (ms_since(t1) < POLL_LIMIT_MS);
    double lag = ms_since(t0), asked = ms_since(t0) - ms_since(t1);
    ck_assert_msg(strcmp(got, want) == 0, "after %s: %s, want %s (after %.0f ms)\n%s", what, got,
                  want, lag, slurp(S.log));
    free(got);
    printf("watch: %-18s -> %-8s seen %4.0f ms after it was asked (which took %4.0f ms; "
           "target %d ms)\n",
           what, want, lag, asked, TARGET_MS);
    return lag;
}

/* Runs `docker <verb> <container>` behind instctl's back, then polls the row for want. */
static double behind_back(const inst *in, const char *verb, const char *want)
{
    struct timespec t0, t1;
    char what[64];
    clock_gettime(CLOCK_MONOTONIC, &t0);
    free(tu_shf(NULL, "docker %s %s >/dev/null 2>&1", verb, in->cid));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    snprintf(what, sizeof what, "docker %s", verb);
    return poll_status(in, what, want, &t0, &t1);
}

/* A dry-run pass now agrees with what watch wrote: it would change nothing. */
static void pass_agrees(void)
{
    tu_run r = ictl(NULL, ARGS("--json", "reconcile", "--dry-run", "--no-enforce"));
    ck_assert_msg(r.status == 0, "reconcile --dry-run: %d %s", r.status, r.err);
    cJSON *j = cJSON_Parse(r.out);
    ck_assert_ptr_nonnull(j);
    const cJSON *dc;
    cJSON_ArrayForEach(dc, cJSON_GetObjectItemCaseSensitive(j, "decisions"))
    {
        const char *from = cJSON_GetObjectItemCaseSensitive(dc, "status")->valuestring;
        const char *to = cJSON_GetObjectItemCaseSensitive(dc, "to")->valuestring;
        const char *verdict = cJSON_GetObjectItemCaseSensitive(dc, "verdict")->valuestring;
        ck_assert_msg(strcmp(verdict, "change") != 0 && strcmp(from, to) == 0,
                      "the pass would still write %s -> %s:\n%s", from, to, r.out);
    }
    cJSON_Delete(j);
    tu_run_free(&r);
}

START_TEST(behind_instctls_back)
{
    inst a = create("wa");
    start_watch(NULL);
    behind_back(&a, "stop -t 1", "stopped");
    pass_agrees();
    behind_back(&a, "start", "running");
    pass_agrees();
    behind_back(&a, "kill", "stopped");
    pass_agrees();
    behind_back(&a, "start", "running");
    behind_back(&a, "pause", "running");
    ck_assert_msg(log_has("event=pause", 1, POLL_LIMIT_MS), "pause not handled:\n%s", slurp(S.log));
    pass_agrees();
    free(tu_shf(NULL, "docker unpause %s", a.cid));
    behind_back(&a, "rm -f", "error");
    ck_assert_msg(log_has("event=destroy", 1, POLL_LIMIT_MS), "%s", slurp(S.log));
    pass_agrees();
    ck_assert_int_eq(stop_watch(), 0);
    ck_assert(log_has("watch stopped", 1, 0));
}
END_TEST

static int restart_count(const inst *in)
{
    char *v = tu_shf(NULL, "docker inspect -f '{{.RestartCount}}' %s", in->cid);
    int n = atoi(v);
    free(v);
    return n;
}

/* The container's process ends by itself twice; Docker restarts it (die, then start later). */
START_TEST(restart_by_policy_is_not_stopped)
{
    inst a = create("wr");
    start_watch(NULL);
    for (int i = 1; i <= 2; i++) {
        free(tu_shf(NULL, "docker exec %s kill 1", a.cid));
        int waited = 0;
        while (restart_count(&a) < i && waited++ < 150)
            usleep(100000);
        ck_assert_msg(restart_count(&a) >= i, "the container did not restart");
    }
    sleep(3); /* past watch's restart window */
    char q[256];
    snprintf(q, sizeof q,
             "SELECT count(*) FROM status_events WHERE instance_id = '%s' AND to_status = "
             "'stopped'",
             a.id);
    char *n = tu_sql(S.db, q), *st = status(&a);
    ck_assert_msg(strcmp(n, "0") == 0, "written stopped %s times:\n%s", n, slurp(S.log));
    ck_assert_str_eq(st, "running");
    free(n);
    free(st);
    pass_agrees();
}
END_TEST

/* The first stream is cut mid-event; its events are lost; the relist on reconnect finds them. */
START_TEST(relist_catches_events_lost_in_a_cut)
{
    inst a = create("wc");
    char host[320];
    snprintf(host, sizeof host, "unix://%s", S.proxy);
    proxy_pid = tu_proxy_start(
        S.proxy,
        (const char *const[]){"GET:/events:cut=40:nth=1", "GET:/events:delay=3000:nth=2", NULL},
        NULL);
    ck_assert_int_gt(proxy_pid, 0);
    start_watch(host);
    free(tu_shf(NULL, "docker stop -t 1 %s", a.cid));
    ck_assert_msg(log_has("watch disconnected", 1, POLL_LIMIT_MS), "%s", slurp(S.log));
    ck_assert_msg(log_has("event=relist", 1, POLL_LIMIT_MS), "not caught by a relist:\n%s",
                  slurp(S.log));
    char *st = status(&a);
    ck_assert_str_eq(st, "stopped");
    free(st);
    ck_assert(!log_has("event=die", 1, 0)); /* the die never reached watch */
    pass_agrees();
}
END_TEST

START_TEST(engine_away_and_back)
{
    inst a = create("we");
    char host[320];
    snprintf(host, sizeof host, "unix://%s", S.proxy);
    proxy_pid = tu_proxy_start(S.proxy, NULL, NULL);
    ck_assert_int_gt(proxy_pid, 0);
    start_watch(host);
    ck_assert_int_eq(tu_proxy_stop(proxy_pid), 0);
    proxy_pid = -1;
    free(tu_shf(NULL, "docker stop -t 1 %s", a.cid));
    char q[256];
    snprintf(q, sizeof q, "SELECT version || status FROM instances WHERE id = '%s'", a.id);
    char *before = tu_sql(S.db, q);
    ck_assert_msg(log_has("watch disconnected", 2, POLL_LIMIT_MS), "%s", slurp(S.log));
    char *during = tu_sql(S.db, q);
    ck_assert_str_eq(during, before); /* nothing written while the engine is away */
    ck_assert_int_eq(kill(watch_pid, 0), 0);
    proxy_pid = tu_proxy_start(S.proxy, NULL, NULL);
    ck_assert_int_gt(proxy_pid, 0);
    ck_assert_msg(log_has("watch connected", 2, 10000), "no reconnect:\n%s", slurp(S.log));
    ck_assert_msg(log_has("event=relist", 1, POLL_LIMIT_MS), "%s", slurp(S.log));
    char *st = status(&a);
    ck_assert_str_eq(st, "stopped");
    free(st);
    free(before);
    free(during);
    behind_back(&a, "start", "running");
    ck_assert_int_eq(stop_watch(), 0);
}
END_TEST

START_TEST(with_reconcile_at_once)
{
    inst v[3] = {create("wp0"), create("wp1"), create("wp2")};
    start_watch(NULL);
    for (int round = 0; round < 2; round++) {
        const char *verb = round == 0 ? "stop -t 1" : "start";
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        char *out = tu_shf(NULL,
                           "for c in %s %s %s; do docker %s $c >/dev/null & done; "
                           "for i in 1 2 3 4; do %s --config %s reconcile -q || echo failed; done; "
                           "wait",
                           v[0].cid, v[1].cid, v[2].cid, verb,
                           getenv("INSTCTL_BIN") ? getenv("INSTCTL_BIN") : "build/instctl", S.conf);
        ck_assert_msg(strstr(out, "failed") == NULL, "a reconcile pass failed");
        free(out);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        for (int i = 0; i < 3; i++)
            poll_status(&v[i], verb, round == 0 ? "stopped" : "running", &t0, &t1);
    }
    char *text = slurp(S.log);
    ck_assert_msg(strstr(text, "result=failed") == NULL, "%s", text);
    ck_assert_msg(strstr(text, "result=partial") == NULL, "%s", text);
    free(text);
    tu_run r = ictl(NULL, ARGS("reconcile"));
    ck_assert_msg(r.status == 0, "%s", r.err);
    tu_run_free(&r);
    pass_agrees();
}
END_TEST

START_TEST(one_watch_per_store)
{
    start_watch(NULL);
    tu_run r = ictl(NULL, ARGS("watch"));
    ck_assert_int_eq(r.status, 5);
    ck_assert_msg(strstr(r.err, "watch.lock") != NULL, "%s", r.err);
    tu_run_free(&r);
    int st = stop_watch();
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}
END_TEST

START_TEST(metrics_file_parses)
{
    inst a = create("wm");
    tu_run r = ictl(NULL, ARGS("reconcile"));
    ck_assert_int_eq(r.status, 0);
    tu_run_free(&r);
    start_watch(NULL);
    behind_back(&a, "stop -t 1", "stopped");
    ck_assert_int_eq(stop_watch(), 0);
    char *text = slurp(S.prom), why[512];
    ck_assert_msg(tu_prom_check(text, why, sizeof why), "%s\n%s", why, text);
    static const char *const statuses[] = {"creating",    "running",  "stopped", "suspended",
                                           "maintenance", "updating", "error",   "terminated"};
    for (size_t i = 0; i < 8; i++) {
        char line[128];
        snprintf(line, sizeof line, "instctl_instances{status=\"%s\"} %d\n", statuses[i],
                 i == 2 ? 1 : 0);
        ck_assert_msg(strstr(text, line) != NULL, "no %s in\n%s", line, text);
    }
    ck_assert_ptr_nonnull(strstr(text, "instctl_watch_relists_total "));
    ck_assert_ptr_null(strstr(text, "instctl_watch_events_total 0\n"));
    ck_assert_ptr_nonnull(strstr(text, "instctl_backup_newest_age_seconds{instance="));
    free(text);
}
END_TEST

static void add(Suite *s, const char *name, const TTest *t)
{
    TCase *tc = tcase_create(name);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_unchecked_fixture(tc, NULL, sweep);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, t);
    suite_add_tcase(s, tc);
}

Suite *suite_watch(void)
{
    Suite *s = suite_create("watch");
    add(s, "behind_back", behind_instctls_back);
    add(s, "restart_policy", restart_by_policy_is_not_stopped);
    add(s, "cut", relist_catches_events_lost_in_a_cut);
    add(s, "engine_away", engine_away_and_back);
    add(s, "with_reconcile", with_reconcile_at_once);
    add(s, "one_watch", one_watch_per_store);
    add(s, "metrics", metrics_file_parses);
    return s;
}
