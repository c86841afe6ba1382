/*
 * watch (DESIGN §3a, issue 12): follows the engine's GET /events for this
 * store's containers and re-derives one instance per event that can change
 * a verdict, with the pass's own steps (reconcile_instance: the same derive,
 * the same compare-and-set write, enforcement under the instance's lease).
 * Docker's event buffer is lossy, so watch relists (a full reconcile pass,
 * under the pass lock) once the stream is open, after every stream error,
 * and on a slow timer. A die that no kill or stop announced (the process
 * ended by itself) waits a short window for the start of a restart by
 * policy, so such a restart is never written as `stopped`. While the engine
 * is away it writes nothing and reconnects with backoff. One watch per
 * store (a lock file beside the database); SIGTERM or SIGINT ends it.
 */
#include "cli.h"
#include "metrics.h"
#include "reconcile.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RESTART_WINDOW_S 2.0 /* a die without kill/stop waits this long for a start */
#define KILL_MEMORY_S 30.0   /* a kill (docker stop, kill) explains the next die this long */
#define MEMORY 256           /* containers remembered for both */
#define BACKOFF_MIN_S 0.25
#define BACKOFF_MAX_S 5.0
#define METRICS_EVERY_S 5.0

static int run_watch(cli *c, int argc, char **argv);

const cmd_entry cmd_watch = {
    .name = "watch",
    .usage = "[--relist-interval SECONDS]",
    .summary = "follow the engine's events and keep statuses current within a second",
    .flags = NEEDS_STORE | NEEDS_ENGINE | WRITES,
    .run = run_watch,
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* A container seen lately: when a kill/stop was seen, or when its deferred die is due. */
typedef struct seen {
    char id[65];
    char instance[64];
    double at; /* monotonic seconds; 0 = free slot */
    long long time_ns;
} seen;

typedef struct watcher {
    cli *c;
    lc_engine *work; /* inspects, relists and enforcement while c->engine streams */
    lc_reconcile_options opt;
    double relist_every, next_relist, next_metrics;
    bool relist_due, connected, broken, dirty;
    seen killed[MEMORY], dies[MEMORY], applied_die[MEMORY];
    double lag, lag_max;
    double events, relists; /* counters, carried over from the store */
} watcher;

static double mono(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static long long wall_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static seen *find_seen(seen *v, const char *id)
{
    for (size_t i = 0; i < MEMORY; i++) {
        if (v[i].at != 0 && strcmp(v[i].id, id) == 0)
            return &v[i];
    }
    return NULL;
}

/* Remembers the event's container (its own entry, else a free slot, else the oldest). */
static void remember(seen *v, const lc_event *ev, double at)
{
    seen *s = find_seen(v, ev->id);
    for (size_t i = 0; s == NULL && i < MEMORY; i++) {
        if (v[i].at == 0)
            s = &v[i];
    }
    if (s == NULL) {
        s = &v[0];
        for (size_t i = 1; i < MEMORY; i++)
            s = v[i].at < s->at ? &v[i] : s;
    }
    snprintf(s->id, sizeof s->id, "%s", ev->id);
    snprintf(s->instance, sizeof s->instance, "%s", ev->instance);
    s->at = at;
    s->time_ns = ev->time_ns;
}

static void logfmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logfmt(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("watch ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void store_figures(watcher *w)
{
    const struct {
        const char *name;
        double v;
    } f[] = {
        {LC_METRIC_WATCH_LAG, w->lag},
        {LC_METRIC_WATCH_LAG_MAX, w->lag_max},
        {LC_METRIC_WATCH_EVENTS, w->events},
        {LC_METRIC_WATCH_RELISTS, w->relists},
        {LC_METRIC_WATCH_UP, w->connected ? 1 : 0},
    };
    lc_store *s = w->c->store;
    lc_diag d = {{0}};
    lc_err e = store_begin(s, &d);
    for (size_t i = 0; e == LC_OK && i < sizeof f / sizeof f[0]; i++)
        e = store_metric_set(s, f[i].name, f[i].v, &d);
    if (e == LC_OK)
        e = store_commit(s, &d);
    else
        store_rollback(s);
    if (e == LC_OK)
        e = metrics_update_file(s, w->c->cfg.metrics_file, &d);
    if (e != LC_OK)
        logfmt("metrics=failed reason=\"%s\"", d.msg);
    w->dirty = false;
    w->lag_max = 0;
    w->next_metrics = mono() + METRICS_EVERY_S;
}

/* Re-derives one instance after an event; time_ns is the event's time (for the lag). */
static void apply(watcher *w, const char *instance, const char *action, long long time_ns)
{
    lc_reconcile_report r;
    lc_diag d = {{0}};
    lc_err e = reconcile_instance(w->c->store, w->work, &w->c->cfg, &w->opt, instance, &r, &d);
    double lag = time_ns > 0 ? (double)(wall_ns() - time_ns) / 1e9 : 0;
    for (size_t i = 0; i < r.n_decisions; i++) {
        const lc_decision *dc = &r.decisions[i];
        logfmt("instance=%s name=%s status=%s to=%s event=%s verdict=%s applied=%s lag_ms=%.0f "
               "reason=\"%s\"",
               dc->instance, dc->name, instance_status_name(dc->status),
               instance_status_name(dc->to), action,
               dc->kind == DECISION_SKIPPED ? "skip" : lc_verdict_name(dc->verdict),
               dc->applied ? "yes" : "no", lag * 1000, dc->reason);
    }
    if (r.changed > 0) {
        w->lag = lag;
        w->lag_max = lag > w->lag_max ? lag : w->lag_max;
        w->dirty = true;
    }
    if (e == LC_ESTORE || (e == LC_EPARTIAL && r.enforced == 0))
        w->relist_due = true; /* the engine or the store failed us: settle it by a relist */
    if (e != LC_OK && e != LC_ENOTFOUND)
        logfmt("instance=%s event=%s result=%s reason=\"%s\"", instance, action,
               e == LC_EPARTIAL ? "partial" : "failed", d.msg);
    reconcile_report_free(&r);
}

/* The events that can change a verdict (and kill, which explains a die): the engine's filter. */
static const char *const actions[] = {"start",  "die",           "stop",    "kill",
                                      "oom",    "pause",         "unpause", "destroy",
                                      "rename", "health_status", NULL};

/* The action without its detail: "health_status: healthy" -> "health_status". */
static bool relevant(const lc_event *ev, char *base, size_t len)
{
    snprintf(base, len, "%.*s", (int)strcspn(ev->action, ":"), ev->action);
    if (strcmp(ev->type, "container") != 0 || ev->instance[0] == '\0')
        return false;
    for (size_t i = 0; actions[i] != NULL; i++) {
        if (strcmp(base, actions[i]) == 0)
            return true;
    }
    return false;
}

static bool on_event(void *arg, const lc_event *ev)
{
    watcher *w = arg;
    char base[64];
    if (stop_requested)
        return false;
    if (!relevant(ev, base, sizeof base))
        return true;
    w->events++;
    double now = mono();
    seen *k = find_seen(w->killed, ev->id), *die = find_seen(w->dies, ev->id);
    if (strcmp(base, "kill") == 0) {
        remember(w->killed, ev, now);
        return true; /* the die (or nothing, for a harmless signal) follows */
    }
    bool explained = k != NULL && now - k->at <= KILL_MEMORY_S;
    if (strcmp(base, "die") == 0 && k != NULL)
        k->at = 0; /* a kill explains one die */
    if (strcmp(base, "die") == 0 && !explained) {
        remember(w->dies, ev, now + RESTART_WINDOW_S); /* ended by itself: a restart may follow */
        return true;
    }
    seen *applied = find_seen(w->applied_die, ev->id);
    if (strcmp(base, "stop") == 0 && applied != NULL && now - applied->at < KILL_MEMORY_S) {
        applied->at = 0; /* docker stop: kill, die (applied), stop: nothing new */
        return true;
    }
    if (strcmp(base, "die") == 0)
        remember(w->applied_die, ev, now);
    if (die != NULL && strcmp(base, "start") == 0) {
        logfmt("instance=%s event=die+start verdict=keep reason=\"restarted by its policy\"",
               ev->instance);
        die->at = 0;
    }
    apply(w, ev->instance, base, ev->time_ns);
    return !stop_requested;
}

/* Deferred dies whose window passed without a start. */
static void due_dies(watcher *w, double now)
{
    for (size_t i = 0; i < MEMORY; i++) {
        if (w->dies[i].at != 0 && w->dies[i].at <= now) {
            w->dies[i].at = 0;
            apply(w, w->dies[i].instance, "die", w->dies[i].time_ns);
        }
    }
}

/* A full pass under the pass lock; false when the engine failed it (reconnect). */
static bool relist(watcher *w)
{
    int fd;
    lc_diag d = {{0}};
    if (reconcile_lock(w->c->store, "reconcile", false, &fd, &d) != LC_OK)
        return true; /* a pass is running: try again on the next tick */
    lc_reconcile_report r;
    lc_err e = reconcile_run(w->c->store, w->work, &w->c->cfg, &w->opt, &r, &d);
    close(fd);
    w->relists++;
    w->relist_due = e != LC_OK && e != LC_EPARTIAL;
    w->next_relist = mono() + w->relist_every;
    for (size_t i = 0; i < r.n_decisions; i++) {
        const lc_decision *dc = &r.decisions[i];
        if (dc->kind == DECISION_INSTANCE && dc->to != dc->status)
            logfmt("instance=%s name=%s status=%s to=%s event=relist reason=\"%s\"", dc->instance,
                   dc->name, instance_status_name(dc->status), instance_status_name(dc->to),
                   dc->reason);
    }
    logfmt("relist instances=%zu changed=%zu written=%zu skipped=%zu ms=%ld result=%s%s%s%s",
           r.instances, r.changed, r.written, r.skipped, r.ms,
           e == LC_OK         ? "ok"
           : e == LC_EPARTIAL ? "partial"
                              : "failed",
           e != LC_OK ? " reason=\"" : "", e != LC_OK ? d.msg : "", e != LC_OK ? "\"" : "");
    reconcile_report_free(&r);
    store_figures(w);
    return e != LC_EENGINE;
}

static bool on_tick(void *arg, bool connected)
{
    watcher *w = arg;
    if (stop_requested)
        return false;
    if (!connected)
        return true;
    double now = mono();
    if (!w->connected) {
        w->connected = true;
        logfmt("connected engine=%s", engine_socket_path(w->c->engine));
    }
    due_dies(w, now);
    if ((w->relist_due || now >= w->next_relist) && !relist(w))
        return false;
    if (w->dirty && now >= w->next_metrics)
        store_figures(w);
    return !stop_requested;
}

/* Sleeps s seconds unless a signal ends watch first. */
static void pause_s(double s)
{
    struct timespec t = {.tv_sec = (time_t)s, .tv_nsec = (long)((s - (double)(time_t)s) * 1e9)};
    while (!stop_requested && nanosleep(&t, &t) != 0 && errno == EINTR)
        ;
}

static int parse(int argc, char **argv, double *every)
{
    static const struct option opts[] = {{"relist-interval", required_argument, NULL, 'i'}, {0}};
    int ch;
    optind = 0;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        char *end;
        long v = ch == 'i' ? strtol(optarg, &end, 10) : 0;
        if (ch != 'i' || *end != '\0' || v < 1 || v > 86400)
            return usage_error(&cmd_watch, "--relist-interval needs seconds (1..86400)");
        *every = (double)v;
    }
    if (optind < argc)
        return usage_error(&cmd_watch, "unexpected argument \"%s\"", argv[optind]);
    return 0;
}

/* The counters as the store has them, so they keep counting across restarts. */
static void load_counters(watcher *w)
{
    lc_metric_row *m;
    size_t n;
    if (store_metrics(w->c->store, &m, &n, NULL) != LC_OK)
        return;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(m[i].name, LC_METRIC_WATCH_EVENTS) == 0)
            w->events = m[i].value;
        if (strcmp(m[i].name, LC_METRIC_WATCH_RELISTS) == 0)
            w->relists = m[i].value;
    }
    free(m);
}

/* Follows the stream until a signal, reconnecting with backoff. */
static void follow(watcher *w)
{
    lc_event_handlers h = {.on_event = on_event, .on_tick = on_tick, .arg = w, .actions = actions};
    double backoff = BACKOFF_MIN_S;
    while (!stop_requested) {
        lc_diag d = {{0}};
        w->relist_due = true;
        lc_err e = engine_events(w->c->engine, store_uuid(w->c->store), &h, &d);
        if (stop_requested)
            break;
        if (w->connected)
            backoff = BACKOFF_MIN_S;
        logfmt("disconnected result=%s reconnect_in_ms=%.0f reason=\"%s\"", lc_strerror(e),
               backoff * 1000, d.msg);
        if (w->connected) {
            w->connected = false;
            store_figures(w);
        }
        pause_s(backoff);
        backoff = backoff * 2 > BACKOFF_MAX_S ? BACKOFF_MAX_S : backoff * 2;
    }
}

static int run_watch(cli *c, int argc, char **argv)
{
    watcher *w = calloc(1, sizeof *w);
    if (w == NULL)
        return fail(c, lc_fail(&c->diag, LC_ENOMEM, "out of memory"));
    w->c = c;
    w->relist_every = 300;
    int rc = parse(argc, argv, &w->relist_every), fd = -1;
    lc_err e = rc == 0 ? reconcile_lock(c->store, "watch", false, &fd, &c->diag) : LC_OK;
    if (rc == 0 && e == LC_OK)
        e = engine_open(c->cfg.docker_host[0] ? c->cfg.docker_host : NULL, &w->work, &c->diag);
    if (rc != 0 || e != LC_OK) {
        if (fd >= 0)
            close(fd);
        free(w);
        return rc != 0 ? rc : fail(c, e);
    }
    static char line_buffer[8192];
    setvbuf(stderr, line_buffer, _IOLBF, sizeof line_buffer);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    load_counters(w);
    logfmt("started store=%s relist_interval_s=%.0f", store_uuid(c->store), w->relist_every);
    follow(w);
    w->connected = false;
    store_figures(w);
    logfmt("stopped");
    engine_close(w->work);
    close(fd);
    free(w);
    return 0;
}
