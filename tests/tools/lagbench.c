/*
 * lagbench: status lag with `instctl watch` running (issue 12), part of
 * `make bench` (tests/bench.sh). Creates BENCH_LAG_INSTANCES (8) instances
 * of the stand-in image with `instctl create`, starts `instctl watch`, then
 * makes BENCH_LAG_OPS (100) changes behind instctl's back on random
 * instances: a running one is stopped (docker stop, through the Engine
 * API) or killed (docker kill), a stopped one started. For each, the lag
 * runs from the time of the engine's own event (die, or start: timeNano on
 * this tool's own /events stream) to the moment the row shows the new
 * status (polled every 2 ms through the store library). Prints p50, p90,
 * p99 and the largest, and the target (p99 <= 1 s) PASS/FAIL. Removes
 * everything it made. Exit status 0 when it ran.
 *
 * Environment: INSTCTL_BIN (required), BENCH_LAG_INSTANCES (8),
 * BENCH_LAG_OPS (100), BENCH_IMAGE_TEMPLATE (instctl/odoo-standin:{version}).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "store.h"

#define MAX_INST 64
#define MAX_OPS 1000
#define RING 4096
#define TARGET_P99_MS 1000.0

typedef struct seen_event {
    char id[65];
    char action[16];
    long long time_ns;
} seen_event;

static seen_event ring[RING];
static size_t nring;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static volatile int stop_events;
static char dir[256], conf[300], db[300], uuid[64];

static long long wall_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static bool on_event(void *arg, const lc_event *ev)
{
    (void)arg;
    pthread_mutex_lock(&mu);
    seen_event *s = &ring[nring++ % RING];
    snprintf(s->id, sizeof s->id, "%s", ev->id);
    snprintf(s->action, sizeof s->action, "%s", ev->action);
    s->time_ns = ev->time_ns;
    pthread_mutex_unlock(&mu);
    return !stop_events;
}

static bool on_tick(void *arg, bool connected)
{
    (void)arg, (void)connected;
    return !stop_events;
}

static void *events_thread(void *arg)
{
    (void)arg;
    lc_engine *e;
    if (engine_open(NULL, &e, NULL) != LC_OK)
        return NULL;
    lc_event_handlers h = {.on_event = on_event, .on_tick = on_tick};
    engine_events(e, uuid, &h, NULL);
    engine_close(e);
    return NULL;
}

/* The time of the newest event `action` of container id after `after` (ns), 0 if none yet. */
static long long event_time(const char *id, const char *action, long long after)
{
    long long t = 0;
    pthread_mutex_lock(&mu);
    for (size_t i = nring > RING ? nring - RING : 0; i < nring; i++) {
        const seen_event *s = &ring[i % RING];
        if (s->time_ns >= after && strcmp(s->id, id) == 0 && strcmp(s->action, action) == 0)
            t = s->time_ns;
    }
    pthread_mutex_unlock(&mu);
    return t;
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    return system(cmd);
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void cleanup(void)
{
    if (uuid[0] != '\0')
        sh("docker ps -aq --filter label=%s=%s | xargs -r docker rm -f >/dev/null 2>&1; "
           "docker volume ls -q --filter label=%s=%s | xargs -r docker volume rm -f >/dev/null "
           "2>&1",
           LC_LABEL_STORE, uuid, LC_LABEL_STORE, uuid);
    sh("rm -rf '%s'", dir);
}

static pid_t start_watch(const char *bin)
{
    pid_t pid = fork();
    if (pid == 0) {
        char log[320];
        snprintf(log, sizeof log, "%s/watch.log", dir);
        if (freopen(log, "w", stderr) == NULL || freopen("/dev/null", "w", stdout) == NULL)
            _exit(126);
        execl(bin, bin, "--config", conf, "watch", (char *)NULL);
        _exit(127);
    }
    sleep(2);
    return pid;
}

int main(void)
{
    const char *bin = getenv("INSTCTL_BIN");
    long n = getenv("BENCH_LAG_INSTANCES") ? atol(getenv("BENCH_LAG_INSTANCES")) : 8;
    long ops = getenv("BENCH_LAG_OPS") ? atol(getenv("BENCH_LAG_OPS")) : 100;
    const char *tmpl = getenv("BENCH_IMAGE_TEMPLATE") ? getenv("BENCH_IMAGE_TEMPLATE")
                                                      : "instctl/odoo-standin:{version}";
    if (bin == NULL || n < 1 || n > MAX_INST || ops < 1 || ops > MAX_OPS) {
        fprintf(stderr, "lagbench: INSTCTL_BIN must be set; 1..%d instances, 1..%d ops\n", MAX_INST,
                MAX_OPS);
        return 1;
    }
    snprintf(dir, sizeof dir, "%s/instctl-lag", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    snprintf(conf, sizeof conf, "%s/instctl.conf", dir);
    snprintf(db, sizeof db, "%s/instctl.db", dir);
    sh("rm -rf '%s' && mkdir -p '%s' && printf 's3cret\\n' > '%s/pw'", dir, dir, dir);
    FILE *f = fopen(conf, "w");
    if (f == NULL)
        return 1;
    fprintf(f, "db = %s\nimage_template = %s\ncreate_timeout = 120\nstop_timeout = 1\n", db, tmpl);
    fclose(f);
    lc_store *s;
    lc_diag d = {{0}};
    if (store_open(db, STORE_CREATE, &s, &d) != LC_OK) {
        fprintf(stderr, "lagbench: %s\n", d.msg);
        return 1;
    }
    snprintf(uuid, sizeof uuid, "%s", store_uuid(s));
    printf("lag: creating %ld instances (instctl create)...\n", n);
    fflush(stdout);
    char ids[MAX_INST][37], cids[MAX_INST][65];
    bool running[MAX_INST];
    for (long i = 0; i < n; i++) {
        if (sh("%s --config %s create lag%02ld --database lag%02ld --admin-email a@b.co "
               "--admin-password-file %s/pw -q > %s/id 2>/dev/null",
               bin, conf, i, i, dir, dir) != 0) {
            fprintf(stderr, "lagbench: create lag%02ld failed\n", i);
            cleanup();
            return 1;
        }
        lc_instance in;
        char name[16];
        snprintf(name, sizeof name, "lag%02ld", i);
        store_resolve(s, name, &in, NULL);
        snprintf(ids[i], 37, "%s", in.id);
        snprintf(cids[i], 65, "%s", in.container_id);
        running[i] = true;
    }
    pthread_t th;
    pthread_create(&th, NULL, events_thread, NULL);
    pid_t watch = start_watch(bin);
    lc_engine *e;
    engine_open(NULL, &e, NULL);
    double lag[MAX_OPS] = {0};
    long done = 0, missed = 0;
    srand(12);
    for (long k = 0; k < ops; k++) {
        long i = rand() % n;
        long long t0 = wall_ns();
        const char *action = running[i] ? "die" : "start";
        InstanceStatus want = running[i] ? INSTANCE_STOPPED : INSTANCE_RUNNING;
        if (!running[i])
            engine_container_start(e, cids[i], NULL);
        else if (k % 2 == 0)
            engine_container_stop(e, cids[i], 1, NULL);
        else
            sh("docker kill %s >/dev/null 2>&1", cids[i]);
        running[i] = !running[i];
        lc_instance in = {0};
        long long seen = 0;
        for (int w = 0; w < 5000; w++) {
            if (store_get(s, ids[i], &in, NULL) == LC_OK && in.status == want) {
                seen = wall_ns();
                break;
            }
            usleep(2000);
        }
        long long ev = 0;
        for (int w = 0; w < 500 && (ev = event_time(cids[i], action, t0 - 1000000000LL)) == 0; w++)
            usleep(2000);
        if (seen == 0 || ev == 0) {
            missed++;
            continue;
        }
        lag[done++] = (double)(seen - ev) / 1e6;
    }
    stop_events = 1;
    kill(watch, SIGTERM);
    waitpid(watch, NULL, 0);
    engine_close(e);
    store_close(s);
    pthread_join(th, NULL);
    qsort(lag, (size_t)done, sizeof *lag, cmp);
    if (done > 0) {
        double p99 = lag[(size_t)((double)(done - 1) * 0.99)];
        printf("lag: %ld changes behind instctl's back (stop/kill/start), %ld not seen\n", done,
               missed);
        printf("lag: event -> row  p50 %.0f ms  p90 %.0f ms  p99 %.0f ms  max %.0f ms\n",
               lag[done / 2], lag[(size_t)((double)(done - 1) * 0.9)], p99, lag[done - 1]);
        printf("lag: target p99 <= %.0f ms  %s\n", TARGET_P99_MS,
               p99 <= TARGET_P99_MS && missed == 0 ? "PASS" : "FAIL");
    }
    cleanup();
    return done > 0 ? 0 : 1;
}
