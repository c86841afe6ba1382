/*
 * bench: the reconcile benchmark behind `make bench` (run by tests/bench.sh).
 *
 * Creates BENCH_INSTANCES (1000) instances on the real engine: rows through
 * the store library (store_insert, then store_save once the container is
 * up; no Odoo HTTP step), containers through the engine client, labelled
 * with the store uuid and instance id exactly as instctl labels them, with
 * no health check and network "none". 70% are left running, 20% exited
 * (status stopped) and 10% paused (status running). A loaded engine fails a
 * step now and then (runc: "unable to freeze"), so each is retried; one that
 * keeps failing leaves its instance in the state reached, recorded as
 * instctl would record it, and the setup says how many.
 *
 * Then, in one run: a first `instctl reconcile --json` pass settles the
 * observation columns, and the measured steady-state pass is timed (wall,
 * user+sys CPU and peak RSS of the child from wait4), with its Engine API
 * request count (the JSON "requests" field). The floor it is compared with
 * is measured separately: one raw GET /containers/json?all=1 with the same
 * label filter over the same socket (libcurl, fresh connection), and one
 * SQLite read of every row (store_list). The targets are printed PASS/FAIL.
 *
 * Children are spawned by a launcher process forked first thing, while this
 * process is still small: Linux carries the RSS of the image a child was
 * forked from into its ru_maxrss when it calls exec, so spawning from the
 * full benchmark process would inflate the figure.
 *
 * Everything is removed at the end (containers and volumes by the store
 * label, then the database), and at the start whatever an interrupted run
 * left: the directory holds the store uuid in store.uuid before any
 * container is made.
 *
 * Environment: INSTCTL_BIN (required); BENCH_INSTANCES (1000); BENCH_WORKERS
 * (4 processes creating/removing containers, each with its own engine
 * client); BENCH_IMAGE (instctl/odoo-standin:17.0); BENCH_DIR
 * (${TMPDIR:-/tmp}/instctl-bench); BENCH_REPEAT (5 extra steady-state rounds
 * for a median); BENCH_KEEP=1 leaves containers and database in place
 * (for profiling; the next run, or `bench --cleanup-only`, removes them).
 *
 * BENCH_HOSTS=2 (issue 11) runs the same over two Docker hosts: the store
 * gets host e2 (tcp://127.0.0.1:2376 with mutual TLS, the second test
 * engine of `make engine2`, ENGINE2_DIR), the instances alternate between
 * local and e2 (BENCH_INSTANCES in all), the benchmark's own setup, raw
 * lists and cleanup reach e2 through its Unix socket. The floor is then the
 * slower host's raw list plus the SQLite read, and the requests target is
 * hosts + changed.
 *
 * Exit status: 0 when the benchmark ran (a missed target is printed as
 * FAIL, not an exit status), 1 when it could not run, 2 on a bad setting.
 */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "engine.h"
#include "ops.h"
#include "store.h"

#define MAX_WORKERS 32
#define MAX_ARGS 16
#define TARGET_WALL_FACTOR 1.3
#define TARGET_RSS_KB (32L * 1024)

/* The Docker hosts of the run (BENCH_HOSTS): their Unix sockets; local first. */
static char host_sock[2][4096];
static int n_hosts = 1;
static int only_host = -1; /* run_parallel: every job on this host (cleanup), -1: i % n_hosts */
static char engine2_dir[2048];

/* ---- small helpers ---- */

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static long env_long(const char *name, long def, long min, long max)
{
    const char *v = getenv(name);
    if (v == NULL || v[0] == '\0')
        return def;
    char *end;
    long n = strtol(v, &end, 10);
    if (*end != '\0' || n < min || n > max) {
        fprintf(stderr, "bench: %s=%s: expected a number from %ld to %ld\n", name, v, min, max);
        exit(2);
    }
    return n;
}

static bool write_full(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t k = write(fd, c, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return false;
        c += k;
        n -= (size_t)k;
    }
    return true;
}

static bool read_full(int fd, void *p, size_t n)
{
    char *c = p;
    while (n > 0) {
        ssize_t k = read(fd, c, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return false;
        c += k;
        n -= (size_t)k;
    }
    return true;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 65536, n = 0, k;
    char *buf = malloc(cap);
    if (buf == NULL) {
        fclose(f);
        return NULL;
    }
    while ((k = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += k;
        if (n + 1 < cap)
            continue;
        char *grown = realloc(buf, cap * 2);
        if (grown == NULL) {
            free(buf);
            fclose(f);
            return NULL;
        }
        buf = grown;
        cap *= 2;
    }
    fclose(f);
    buf[n] = '\0';
    if (len != NULL)
        *len = n;
    return buf;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---- the launcher: spawns and waits for commands from a small process ---- */

typedef struct child_result {
    int spawned;    /* 1 when fork and wait4 worked */
    int status;     /* wait status */
    double wall_ms; /* fork to wait4 return */
    double user_ms, sys_ms;
    long maxrss_kb;
} child_result;

static int launch_req = -1, launch_resp = -1;
static pid_t launcher_pid = -1;

/* Request: u32 length, then NUL-terminated stdout path, stderr path, argv... */
static void launcher_loop(int rfd, int wfd)
{
    for (;;) {
        uint32_t len;
        if (!read_full(rfd, &len, sizeof len) || len == 0 || len > 65536)
            _exit(0);
        char *buf = malloc(len);
        if (buf == NULL || !read_full(rfd, buf, len))
            _exit(1);
        char *parts[MAX_ARGS + 3] = {NULL};
        size_t np = 0;
        for (size_t off = 0; off < len && np < MAX_ARGS + 2; off += strlen(buf + off) + 1)
            parts[np++] = buf + off;
        child_result r = {0};
        double t0 = now_ms();
        pid_t pid = np >= 3 ? fork() : -1;
        if (pid == 0) {
            int in = open("/dev/null", O_RDONLY);
            int out = open(parts[0], O_WRONLY | O_CREAT | O_TRUNC, 0600);
            int err = open(parts[1], O_WRONLY | O_CREAT | O_TRUNC, 0600);
            if (in < 0 || out < 0 || err < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 ||
                dup2(err, 2) < 0)
                _exit(126);
            execv(parts[2], parts + 2);
            _exit(127);
        }
        struct rusage ru;
        int st = 0;
        pid_t w = -1;
        while (pid > 0 && (w = wait4(pid, &st, 0, &ru)) < 0 && errno == EINTR)
            ;
        if (w == pid) {
            r.wall_ms = now_ms() - t0;
            r.spawned = 1;
            r.status = st;
            r.user_ms = (double)ru.ru_utime.tv_sec * 1e3 + (double)ru.ru_utime.tv_usec / 1e3;
            r.sys_ms = (double)ru.ru_stime.tv_sec * 1e3 + (double)ru.ru_stime.tv_usec / 1e3;
            r.maxrss_kb = ru.ru_maxrss;
        }
        free(buf);
        if (!write_full(wfd, &r, sizeof r))
            _exit(1);
    }
}

static bool launcher_start(void)
{
    int req[2], resp[2];
    if (pipe2(req, O_CLOEXEC) < 0 || pipe2(resp, O_CLOEXEC) < 0)
        return false;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return false;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        close(req[1]);
        close(resp[0]);
        launcher_loop(req[0], resp[1]);
        _exit(0);
    }
    close(req[0]);
    close(resp[1]);
    launch_req = req[1];
    launch_resp = resp[0];
    launcher_pid = pid;
    return true;
}

static void launcher_stop(void)
{
    if (launcher_pid <= 0)
        return;
    uint32_t zero = 0;
    write_full(launch_req, &zero, sizeof zero);
    close(launch_req);
    close(launch_resp);
    waitpid(launcher_pid, NULL, 0);
    launcher_pid = -1;
}

/* Runs argv (argv[0] a path) with stdout and stderr to files; false when it could not be run. */
static bool launch(const char *out, const char *err, const char *const *argv, child_result *r)
{
    char buf[16384];
    size_t len = 0;
    const char *parts[MAX_ARGS + 2] = {out, err};
    size_t np = 2;
    for (size_t i = 0; argv[i] != NULL && np < MAX_ARGS + 2; i++)
        parts[np++] = argv[i];
    for (size_t i = 0; i < np; i++) {
        size_t k = strlen(parts[i]) + 1;
        if (len + k > sizeof buf)
            return false;
        memcpy(buf + len, parts[i], k);
        len += k;
    }
    uint32_t n = (uint32_t)len;
    memset(r, 0, sizeof *r);
    return write_full(launch_req, &n, sizeof n) && write_full(launch_req, buf, len) &&
           read_full(launch_resp, r, sizeof *r) && r->spawned;
}

/* ---- raw HTTP to the engine over its socket (libcurl, fresh connection each call) ---- */

typedef struct growbuf {
    char *p;
    size_t len, cap;
} growbuf;

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    growbuf *b = ud;
    size_t n = size * nmemb;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 65536;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *grown = realloc(b->p, cap);
        if (grown == NULL)
            return 0;
        b->p = grown;
        b->cap = cap;
    }
    memcpy(b->p + b->len, ptr, n);
    b->len += n;
    b->p[b->len] = '\0';
    return n;
}

/* method path (with /v1.xx) over socket; the HTTP status, or -1 with why filled. */
static long http(const char *sock, const char *method, const char *path, growbuf *body, double *ms,
                 char *why, size_t whylen)
{
    char url[4096], err[CURL_ERROR_SIZE] = "";
    growbuf local = {0};
    if (body == NULL)
        body = &local;
    body->len = 0;
    snprintf(url, sizeof url, "http://localhost%s", path);
    CURL *c = curl_easy_init();
    if (c == NULL) {
        snprintf(why, whylen, "curl_easy_init failed");
        return -1;
    }
    curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    }
    double t0 = now_ms();
    CURLcode rc = curl_easy_perform(c);
    if (ms != NULL)
        *ms = now_ms() - t0;
    long status = -1;
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    else
        snprintf(why, whylen, "%s: %s", sock, err[0] ? err : curl_easy_strerror(rc));
    if (rc == CURLE_OK && status >= 300)
        snprintf(why, whylen, "%s %s: HTTP %ld: %.200s", method, path, status,
                 body->p != NULL ? body->p : "");
    curl_easy_cleanup(c);
    free(local.p);
    return status;
}

/* The URL-encoded filters value: {"label":[managed=true, store=<uuid>]} as the engine client sends
 * it. */
static char *label_filter(const char *uuid, bool managed)
{
    char m[64], s[128], json[512];
    snprintf(m, sizeof m, "%s=true", LC_LABEL_MANAGED);
    snprintf(s, sizeof s, "%s=%s", LC_LABEL_STORE, uuid);
    if (managed)
        snprintf(json, sizeof json, "{\"label\":[\"%s\",\"%s\"]}", m, s);
    else
        snprintf(json, sizeof json, "{\"label\":[\"%s\"]}", s);
    CURL *c = curl_easy_init();
    char *esc = c != NULL ? curl_easy_escape(c, json, 0) : NULL;
    char *out = esc != NULL ? strdup(esc) : NULL;
    curl_free(esc);
    curl_easy_cleanup(c);
    return out;
}

/* ---- parallel workers, each with its own engine client ---- */

typedef lc_err (*job_fn)(lc_engine *e, size_t i, void *ctx, char *text, size_t len);
typedef void (*done_fn)(size_t i, bool ok, const char *text, void *ctx);

/*
 * Runs job(i) for i in [0, n) over `workers` processes; done() is called in
 * this process for each result as it arrives. False when a worker died or
 * some results are missing.
 */
static bool run_parallel(size_t n, int workers, job_fn job, done_fn done, void *ctx)
{
    int fds[2];
    pid_t pids[MAX_WORKERS];
    int started = 0;
    if (n == 0)
        return true;
    if ((size_t)workers > n)
        workers = (int)n;
    if (pipe2(fds, O_CLOEXEC) < 0)
        return false;
    fflush(NULL);
    for (int w = 0; w < workers; w++) {
        pid_t pid = fork();
        if (pid < 0)
            break;
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGTERM);
            close(fds[0]);
            lc_engine *es[2] = {NULL, NULL};
            lc_diag d = {{0}};
            lc_err oe = LC_OK;
            for (int h = 0; h < n_hosts && oe == LC_OK; h++) {
                char url[4200];
                snprintf(url, sizeof url, "unix://%s", host_sock[h]);
                oe = engine_open(n_hosts > 1 ? url : NULL, &es[h], &d);
            }
            for (size_t i = (size_t)w; i < n; i += (size_t)workers) {
                char text[1100] = "", line[1200];
                lc_engine *e = es[only_host >= 0 ? only_host : (int)(i % (size_t)n_hosts)];
                bool ok = oe == LC_OK && job(e, i, ctx, text, sizeof text) == LC_OK;
                if (oe != LC_OK)
                    snprintf(text, sizeof text, "engine client: %s", d.msg);
                for (char *p = text; *p; p++)
                    *p = *p == '\n' ? ' ' : *p;
                int k = snprintf(line, sizeof line, "%zu %d %s\n", i, ok ? 1 : 0, text);
                if (!write_full(fds[1], line, (size_t)k))
                    _exit(1);
            }
            engine_close(es[0]);
            engine_close(es[1]);
            _exit(0);
        }
        pids[started++] = pid;
    }
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    size_t got = 0, cap = 0;
    char *line = NULL;
    while (f != NULL && getline(&line, &cap, f) > 0) {
        size_t i;
        int ok, off = 0;
        if (sscanf(line, "%zu %d %n", &i, &ok, &off) < 2 || i >= n)
            continue;
        line[strcspn(line, "\n")] = '\0';
        done(i, ok == 1, line + off, ctx);
        got++;
    }
    free(line);
    if (f != NULL)
        fclose(f);
    else
        close(fds[0]);
    bool clean = started == workers;
    for (int w = 0; w < started; w++) {
        int st;
        while (waitpid(pids[w], &st, 0) < 0 && errno == EINTR)
            ;
        clean = clean && WIFEXITED(st) && WEXITSTATUS(st) == 0;
    }
    return clean && got == n;
}

/* ---- the benchmark's state ---- */

/* The states the benchmark makes; KIND_CREATED only when a start failed even after retries. */
enum kind { KIND_RUNNING, KIND_EXITED, KIND_PAUSED, KIND_CREATED, KIND_COUNT };
static const char *const kind_names[KIND_COUNT] = {"running", "exited", "paused", "created"};

/* 70% running, 20% exited, 10% paused, interleaved. */
static enum kind kind_of(size_t i)
{
    size_t r = i % 10;
    return r < 7 ? KIND_RUNNING : r < 9 ? KIND_EXITED : KIND_PAUSED;
}

typedef struct bench {
    const char *instctl;
    const char *image;
    size_t n;
    int workers, repeat;
    bool keep;
    char dir[3000], db[3100], marker[3100], conf[3100], out[3100], err[3100], lockpath[3100];
    char sock[4096], api[16], uuid[37];
    lc_instance *rows;
    lc_store *store;
    /* progress of a parallel phase */
    const char *verb;
    size_t done, failed;
    double t0;
    char first_error[1100];
    char **ids; /* removal targets */
    /* what the creation phase achieved */
    size_t made[KIND_COUNT], retries, off_plan;
    char off_plan_first[1100];
} bench;

static void progress(bench *b, bool ok, const char *text)
{
    b->done++;
    if (!ok) {
        if (b->failed++ == 0)
            snprintf(b->first_error, sizeof b->first_error, "%s", text);
    }
    if (b->done % 100 == 0)
        printf("  %s %zu (%.1f s)\n", b->verb, b->done, (now_ms() - b->t0) / 1e3);
}

/* ---- cleanup by store label ---- */

static lc_err remove_container_job(lc_engine *e, size_t i, void *ctx, char *text, size_t len)
{
    bench *b = ctx;
    lc_diag d = {{0}};
    lc_err err = engine_container_remove(e, b->ids[i], true, &d);
    if (err == LC_ENOTFOUND)
        err = LC_OK;
    snprintf(text, len, "%s", err == LC_OK ? "" : d.msg);
    return err;
}

static lc_err remove_volume_job(lc_engine *e, size_t i, void *ctx, char *text, size_t len)
{
    bench *b = ctx;
    lc_diag d = {{0}};
    lc_err err = engine_volume_remove(e, b->ids[i], &d);
    snprintf(text, len, "%s", err == LC_OK ? "" : d.msg);
    return err;
}

static void removed(size_t i, bool ok, const char *text, void *ctx)
{
    (void)i;
    progress(ctx, ok, text);
}

static void free_ids(bench *b, size_t n)
{
    for (size_t i = 0; b->ids != NULL && i < n; i++)
        free(b->ids[i]);
    free(b->ids);
    b->ids = NULL;
}

/* Lists what carries this store's label: containers (Id) or volumes (Name) into b->ids. */
static bool list_labelled(bench *b, const char *uuid, bool volumes, size_t *n)
{
    char path[2048], why[512] = "";
    char *filter = label_filter(uuid, false);
    growbuf body = {0};
    *n = 0;
    if (filter == NULL)
        return false;
    snprintf(path, sizeof path, "/v%s/%s?%sfilters=%s", b->api,
             volumes ? "volumes" : "containers/json", volumes ? "" : "all=1&", filter);
    free(filter);
    long st = http(b->sock, "GET", path, &body, NULL, why, sizeof why);
    cJSON *root = st == 200 ? cJSON_ParseWithLength(body.p, body.len) : NULL;
    free(body.p);
    cJSON *arr = volumes ? cJSON_GetObjectItemCaseSensitive(root, "Volumes") : root;
    if (st != 200 || (arr == NULL && !volumes) ||
        (arr != NULL && !cJSON_IsArray(arr) && !cJSON_IsNull(arr))) {
        fprintf(stderr, "bench: listing %s: %s\n", volumes ? "volumes" : "containers",
                why[0] ? why : "unparsable answer");
        cJSON_Delete(root);
        return false;
    }
    size_t count = cJSON_IsArray(arr) ? (size_t)cJSON_GetArraySize(arr) : 0;
    b->ids = calloc(count ? count : 1, sizeof *b->ids);
    const cJSON *it, *list = cJSON_IsArray(arr) ? arr : NULL;
    cJSON_ArrayForEach(it, list)
    {
        const char *v =
            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, volumes ? "Name" : "Id"));
        if (v != NULL && b->ids != NULL)
            b->ids[(*n)++] = strdup(v);
    }
    cJSON_Delete(root);
    return b->ids != NULL;
}

/* Removes every container and volume labelled io.instctl.store=uuid on one host. */
static bool cleanup_host(bench *b, const char *uuid)
{
    bool ok = true;
    for (int vol = 0; vol < 2; vol++) {
        size_t n;
        if (!list_labelled(b, uuid, vol == 1, &n))
            return false;
        if (n > 0) {
            printf("cleanup: removing %zu %s of store %s\n", n, vol ? "volume(s)" : "container(s)",
                   uuid);
            b->verb = vol ? "removed volumes" : "removed containers";
            b->done = b->failed = 0;
            b->t0 = now_ms();
            bool all = run_parallel(n, b->workers, vol ? remove_volume_job : remove_container_job,
                                    removed, b);
            if (!all || b->failed > 0) {
                fprintf(stderr, "bench: cleanup: %zu of %zu failed%s%s\n", b->failed, n,
                        b->failed ? ": " : "", b->first_error);
                ok = false;
            } else {
                printf("cleanup: removed %zu %s in %.1f s\n", n, vol ? "volume(s)" : "container(s)",
                       (now_ms() - b->t0) / 1e3);
            }
        }
        free_ids(b, n);
    }
    return ok;
}

/* Removes every container and volume labelled io.instctl.store=uuid on every host. */
static bool cleanup_store(bench *b, const char *uuid)
{
    bool ok = true;
    for (int h = 0; h < n_hosts; h++) {
        snprintf(b->sock, sizeof b->sock, "%s", host_sock[h]);
        only_host = h;
        ok = cleanup_host(b, uuid) && ok;
    }
    only_host = -1;
    snprintf(b->sock, sizeof b->sock, "%s", host_sock[0]);
    return ok;
}

/* Removes the benchmark directory's files (only the names it makes) and the directory. */
static void remove_dir(const bench *b)
{
    const char *names[] = {
        "bench.db",     "bench.db-wal", "bench.db-shm", "bench.db.reconcile.lock",
        "instctl.conf", "out.json",     "err.log",      "store.uuid"};
    char path[3200];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", b->dir, names[i]);
        unlink(path);
    }
    rmdir(b->dir);
}

/* What a previous, interrupted run left: its store uuid from the marker or its database. */
static bool cleanup_previous(bench *b)
{
    char uuid[64] = "";
    FILE *f = fopen(b->marker, "r");
    if (f != NULL) {
        if (fgets(uuid, sizeof uuid, f) == NULL)
            uuid[0] = '\0';
        fclose(f);
        uuid[strcspn(uuid, "\r\n")] = '\0';
    }
    if (uuid[0] == '\0' && access(b->db, F_OK) == 0) {
        lc_store *s;
        lc_diag d = {{0}};
        if (store_open(b->db, STORE_CREATE, &s, &d) == LC_OK) {
            snprintf(uuid, sizeof uuid, "%s", store_uuid(s));
            store_close(s);
        }
    }
    if (uuid[0] != '\0') {
        printf("cleanup: a previous run left %s (store %s)\n", b->dir, uuid);
        if (!cleanup_store(b, uuid))
            return false;
    }
    remove_dir(b);
    return true;
}

/* ---- setup: rows, then containers ---- */

typedef struct create_ctx {
    bench *b;
} create_ctx;

/* POST /containers/{id}/pause or /unpause (the engine client has neither). */
static lc_err pause_container(lc_engine *e, const char *id, const char *verb, lc_diag *d)
{
    char path[256], why[512] = "";
    snprintf(path, sizeof path, "/v%s/containers/%s/%s", engine_api_version(e), id, verb);
    long st = http(engine_socket_path(e), "POST", path, NULL, NULL, why, sizeof why);
    if (st == 204 || st == 304)
        return LC_OK;
    return lc_fail(d, LC_EDOCKER, "%s %s: %s", verb, id, why);
}

#define STEP_TRIES 5

static enum kind state_kind(lc_container_state s)
{
    return s == CONTAINER_RUNNING  ? KIND_RUNNING
           : s == CONTAINER_PAUSED ? KIND_PAUSED
           : s == CONTAINER_EXITED ? KIND_EXITED
                                   : KIND_CREATED;
}

/*
 * Brings container id to state `want` (running, exited or paused) from where
 * it is, retrying a failed step up to STEP_TRIES times: a loaded engine fails
 * now and then (runc's "unable to freeze" on pause). Before each retry the
 * container is inspected, so a step that worked despite its error is not
 * repeated. Returns the state reached; d holds the last error when it is not
 * `want`.
 */
static enum kind reach(lc_engine *e, const char *id, enum kind want, int *retries, lc_diag *d)
{
    enum kind at = KIND_CREATED;
    int fails = 0;
    bool retry = false;
    while (at != want && fails < STEP_TRIES) {
        lc_err err = LC_OK;
        if (retry) {
            (*retries)++;
            usleep((useconds_t)fails * 300 * 1000);
        }
        enum kind next = want;
        if (at == KIND_CREATED || at == KIND_EXITED) {
            err = engine_container_start(e, id, d);
            next = KIND_RUNNING;
        } else if (want == KIND_EXITED) {
            err = engine_container_stop(e, id, 10, d);
        } else if (at == KIND_RUNNING) { /* want paused */
            err = pause_container(e, id, "pause", d);
        } else { /* paused, want running */
            err = pause_container(e, id, "unpause", d);
        }
        lc_observation o;
        lc_diag di = {{0}};
        retry = err != LC_OK;
        if (!retry) {
            at = next;
            continue;
        }
        fails++;
        if (engine_container_inspect(e, id, &o, &di) == LC_OK)
            at = state_kind(o.state);
    }
    return at;
}

/* Result text: "<state reached> <retries> <id> [<last error when off plan>]". */
static lc_err create_job(lc_engine *e, size_t i, void *ctx, char *text, size_t len)
{
    bench *b = ctx;
    const lc_instance *in = &b->rows[i];
    lc_container_spec spec = {
        .name = in->container_name,
        .image = b->image,
        .store_uuid = b->uuid,
        .instance_id = in->id,
        .network = "none",
        .no_healthcheck = true,
    };
    char id[65] = "";
    int retries = 0;
    lc_diag d = {{0}};
    lc_err err = LC_EFAILED;
    for (int t = 0; t < STEP_TRIES && err != LC_OK; t++) {
        lc_observation o;
        lc_diag di = {{0}};
        if (t > 0) {
            retries++;
            usleep((useconds_t)t * 300 * 1000);
        }
        err = engine_container_create(e, &spec, id, &d);
        /* An attempt that created it but failed to say so: the name is taken by it. */
        if (err != LC_OK && engine_container_inspect(e, in->container_name, &o, &di) == LC_OK &&
            o.state != CONTAINER_MISSING && strcmp(o.instance, in->id) == 0) {
            snprintf(id, sizeof id, "%s", o.id);
            err = LC_OK;
        }
    }
    if (err != LC_OK) {
        snprintf(text, len, "create: %s", d.msg);
        return err;
    }
    enum kind want = kind_of(i);
    memset(&d, 0, sizeof d);
    enum kind at = reach(e, id, want, &retries, &d);
    snprintf(text, len, "%d %d %s %s", (int)at, retries, id, at == want ? "" : d.msg);
    return LC_OK;
}

static void created(size_t i, bool ok, const char *text, void *ctx)
{
    bench *b = ctx;
    lc_instance *in = &b->rows[i];
    int at = -1, retries = 0, off = 0;
    char id[65] = "";
    if (ok && (sscanf(text, "%d %d %64s %n", &at, &retries, id, &off) < 3 || at < 0 ||
               at >= KIND_COUNT)) {
        ok = false;
        text = "unparsable worker answer";
    }
    if (ok) {
        lc_diag d = {{0}};
        b->made[at]++;
        b->retries += (size_t)retries;
        if (at != (int)kind_of(i) && b->off_plan++ == 0)
            snprintf(b->off_plan_first, sizeof b->off_plan_first, "%s: %s instead of %s: %s",
                     in->name, kind_names[at], kind_names[kind_of(i)], text + off);
        snprintf(in->container_id, sizeof in->container_id, "%s", id);
        /* As instctl would record it: paused is running (transient), created is stopped. */
        in->status = at == KIND_EXITED || at == KIND_CREATED ? INSTANCE_STOPPED : INSTANCE_RUNNING;
        in->op_step[0] = '\0';
        in->op_deadline = 0;
        if (store_save(b->store, in, INSTANCE_CREATING, "action", "bench: container made", true,
                       &d) != LC_OK) {
            ok = false;
            text = d.msg;
        }
    }
    progress(b, ok, text);
}

static bool insert_rows(bench *b)
{
    double t0 = now_ms();
    b->rows = calloc(b->n, sizeof *b->rows);
    if (b->rows == NULL)
        return false;
    for (size_t i = 0; i < b->n; i++) {
        lc_instance *in = &b->rows[i];
        lc_diag d = {{0}};
        lc_new_uuid(in->id);
        snprintf(in->host, sizeof in->host, "%s", i % (size_t)n_hosts ? "e2" : LC_HOST_LOCAL);
        snprintf(in->name, sizeof in->name, "bench%04zu", i);
        snprintf(in->database_name, sizeof in->database_name, "bench%04zu", i);
        snprintf(in->admin_email, sizeof in->admin_email, "bench%04zu@example.com", i);
        snprintf(in->odoo_version, sizeof in->odoo_version, "17.0");
        snprintf(in->image, sizeof in->image, "%s", b->image);
        lc_container_name_for(in->database_name, in->id, in->container_name,
                              sizeof in->container_name);
        in->status = INSTANCE_CREATING;
        in->suspended_from = -1;
        in->previous_status = -1;
        snprintf(in->op_step, sizeof in->op_step, "container");
        in->op_deadline = time(NULL) + 3600;
        if (store_insert(b->store, in, 3600, &d) != LC_OK) {
            fprintf(stderr, "bench: store_insert %s: %s\n", in->name, d.msg);
            return false;
        }
    }
    printf("setup: %zu rows inserted (store_insert, one transaction each) in %.1f s\n", b->n,
           (now_ms() - t0) / 1e3);
    return true;
}

static bool create_containers(bench *b)
{
    size_t count[KIND_COUNT] = {0};
    for (size_t i = 0; i < b->n; i++)
        count[kind_of(i)]++;
    printf("setup: creating %zu containers from %s with %d workers (no health check, network "
           "none; %zu running, %zu exited, %zu paused)\n",
           b->n, b->image, b->workers, count[KIND_RUNNING], count[KIND_EXITED], count[KIND_PAUSED]);
    b->verb = "created";
    b->done = b->failed = 0;
    b->t0 = now_ms();
    bool all = run_parallel(b->n, b->workers, create_job, created, b);
    double s = (now_ms() - b->t0) / 1e3;
    if (!all || b->failed > 0) {
        fprintf(stderr, "bench: creating containers: %zu of %zu failed (%.1f s): %s\n", b->failed,
                b->n, s, b->first_error[0] ? b->first_error : "a worker died");
        return false;
    }
    printf("setup: %zu containers made and rows saved in %.1f s (%.1f per second)\n", b->n, s,
           (double)b->n / (s > 0 ? s : 1));
    printf("setup: made %zu running, %zu exited, %zu paused, %zu created; %zu step(s) retried\n",
           b->made[KIND_RUNNING], b->made[KIND_EXITED], b->made[KIND_PAUSED], b->made[KIND_CREATED],
           b->retries);
    if (b->off_plan > 0)
        printf("setup: %zu container(s) not in their planned state, recorded as they are (first: "
               "%s)\n",
               b->off_plan, b->off_plan_first);
    return true;
}

/* ---- measurements ---- */

typedef struct pass_result {
    child_result c;
    bool ok;
    int exit_code;
    double instances, kept, changed, enforced, skipped, lost, requests, ms, decisions;
    char result[32];
    char summary[512]; /* the stderr summary line */
    char hosts[256];   /* per host: "local list 12 ms 1 req; e2 ..." from the JSON */
} pass_result;

static double json_num(const cJSON *j, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

/* The last line of the stderr file starting with prefix. */
static void last_line(const char *path, const char *prefix, char *out, size_t len)
{
    size_t n;
    char *text = slurp(path, &n);
    out[0] = '\0';
    for (char *line = text != NULL ? strtok(text, "\n") : NULL; line != NULL;
         line = strtok(NULL, "\n")) {
        if (strncmp(line, prefix, strlen(prefix)) == 0)
            snprintf(out, len, "%s", line);
    }
    free(text);
}

/* One `instctl --db DB --config CONF --json reconcile [extra]` through the launcher. */
static bool instctl_run(bench *b, const char *cmd, const char *extra, pass_result *p)
{
    const char *argv[] = {b->instctl, "--db", b->db, "--config", b->conf,
                          "--json",   cmd,    extra, NULL};
    memset(p, 0, sizeof *p);
    if (!launch(b->out, b->err, argv, &p->c)) {
        fprintf(stderr, "bench: could not run %s\n", b->instctl);
        return false;
    }
    p->exit_code = WIFEXITED(p->c.status) ? WEXITSTATUS(p->c.status) : 128 + WTERMSIG(p->c.status);
    last_line(b->err, strcmp(cmd, "reconcile") == 0 ? "reconcile " : "", p->summary,
              sizeof p->summary);
    char *json = slurp(b->out, NULL);
    cJSON *j = json != NULL ? cJSON_Parse(json) : NULL;
    free(json);
    if (strcmp(cmd, "reconcile") != 0) {
        p->ok = p->exit_code == 0;
        cJSON_Delete(j);
        return p->ok;
    }
    p->ok = cJSON_IsObject(j);
    if (!p->ok) {
        char tail[512];
        last_line(b->err, "", tail, sizeof tail);
        fprintf(stderr, "bench: instctl reconcile exited %d without a JSON report: %s\n",
                p->exit_code, tail);
        cJSON_Delete(j);
        return false;
    }
    p->instances = json_num(j, "instances");
    p->kept = json_num(j, "kept");
    p->changed = json_num(j, "changed");
    p->enforced = json_num(j, "enforced");
    p->skipped = json_num(j, "skipped");
    p->lost = json_num(j, "lost");
    p->requests = json_num(j, "requests");
    p->ms = json_num(j, "ms");
    p->decisions = (double)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "decisions"));
    const cJSON *h;
    size_t used = 0;
    cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(j, "hosts"))
    {
        if (used < sizeof p->hosts)
            used += (size_t)snprintf(
                p->hosts + used, sizeof p->hosts - used, "%s%s list %.0f ms, %.0f request(s)",
                used ? "; " : "", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(h, "name")),
                json_num(h, "list_ms"), json_num(h, "requests"));
    }
    const char *res = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "result"));
    snprintf(p->result, sizeof p->result, "%s", res != NULL ? res : "?");
    cJSON_Delete(j);
    return true;
}

static void print_pass(const char *what, const pass_result *p)
{
    printf("%s.wall_ms = %.1f\n", what, p->c.wall_ms);
    printf("%s.cpu_ms = %.1f (user %.1f + sys %.1f)\n", what, p->c.user_ms + p->c.sys_ms,
           p->c.user_ms, p->c.sys_ms);
    printf("%s.peak_rss_kb = %ld (%.1f MB)\n", what, p->c.maxrss_kb, (double)p->c.maxrss_kb / 1024);
    printf("%s.requests = %.0f\n", what, p->requests);
    printf("%s.changed = %.0f\n", what, p->changed);
    printf(
        "%s.instances = %.0f (kept %.0f, enforced %.0f, skipped %.0f, lost %.0f, decisions %.0f)\n",
        what, p->instances, p->kept, p->enforced, p->skipped, p->lost, p->decisions);
    printf("%s.internal_ms = %.0f (the pass's own \"ms\", without process start and store open)\n",
           what, p->ms);
    printf("%s.exit = %d (result %s)\n", what, p->exit_code, p->result);
    if (p->hosts[0])
        printf("%s.hosts = %s\n", what, p->hosts);
    if (p->summary[0])
        printf("%s.summary: %s\n", what, p->summary);
}

typedef struct raw_result {
    double ms;
    size_t bytes;
    int count;
    int states[KIND_COUNT];
} raw_result;

/* One raw GET /containers/json?all=1 with the reconcile's label filter, fresh connection. */
static bool raw_list(bench *b, raw_result *r)
{
    char path[2048], why[512] = "";
    char *filter = label_filter(b->uuid, true);
    growbuf body = {0};
    memset(r, 0, sizeof *r);
    if (filter == NULL)
        return false;
    snprintf(path, sizeof path, "/v%s/containers/json?all=1&filters=%s", b->api, filter);
    free(filter);
    long st = http(b->sock, "GET", path, &body, &r->ms, why, sizeof why);
    if (st != 200) {
        fprintf(stderr, "bench: raw list: %s\n", why);
        free(body.p);
        return false;
    }
    r->bytes = body.len;
    cJSON *root = cJSON_ParseWithLength(body.p, body.len);
    free(body.p);
    r->count = cJSON_IsArray(root) ? cJSON_GetArraySize(root) : -1;
    const cJSON *it, *list = cJSON_IsArray(root) ? root : NULL;
    cJSON_ArrayForEach(it, list)
    {
        const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "State"));
        for (int k = 0; s != NULL && k < KIND_COUNT; k++)
            r->states[k] += strcmp(s, kind_names[k]) == 0;
    }
    cJSON_Delete(root);
    return true;
}

/*
 * raw_list on every host, one after the other: *r is the slower host's
 * list (its time), with the containers and states of all; per[h] each
 * host's time.
 */
static bool raw_list_hosts(bench *b, raw_result *r, double per[2])
{
    bool ok = true;
    raw_result one;
    memset(r, 0, sizeof *r);
    for (int h = 0; h < n_hosts && ok; h++) {
        snprintf(b->sock, sizeof b->sock, "%s", host_sock[h]);
        ok = raw_list(b, &one);
        per[h] = one.ms;
        r->ms = one.ms > r->ms ? one.ms : r->ms;
        r->bytes += one.bytes;
        r->count += one.count;
        for (int k = 0; k < KIND_COUNT; k++)
            r->states[k] += one.states[k];
    }
    snprintf(b->sock, sizeof b->sock, "%s", host_sock[0]);
    return ok;
}

typedef struct sql_result {
    double open_ms, list_ms;
    size_t rows;
} sql_result;

/* store_open (timed apart) then one store_list of every row, as reconcile reads them. */
static bool sqlite_read(bench *b, sql_result *r)
{
    lc_store *s;
    lc_instance *rows = NULL;
    lc_diag d = {{0}};
    memset(r, 0, sizeof *r);
    double t0 = now_ms();
    if (store_open(b->db, STORE_CREATE, &s, &d) != LC_OK) {
        fprintf(stderr, "bench: store_open: %s\n", d.msg);
        return false;
    }
    double t1 = now_ms();
    lc_err e = store_list(s, true, -1, &rows, &r->rows, &d);
    double t2 = now_ms();
    free(rows);
    store_close(s);
    if (e != LC_OK) {
        fprintf(stderr, "bench: store_list: %s\n", d.msg);
        return false;
    }
    r->open_ms = t1 - t0;
    r->list_ms = t2 - t1;
    return true;
}

/* The engine client's own list (request and parsing) on a fresh client, in this process. */
static bool client_list(bench *b, double *list_ms, size_t *n)
{
    lc_engine *e;
    lc_container_summary *cs = NULL;
    lc_diag d = {{0}};
    if (engine_open(NULL, &e, &d) != LC_OK)
        return false;
    double t0 = now_ms();
    lc_err err = engine_container_list(e, b->uuid, &cs, n, &d);
    *list_ms = now_ms() - t0;
    free(cs);
    engine_close(e);
    return err == LC_OK;
}

static void target(const char *name, bool pass, const char *fmt, double a, double bnd)
{
    printf("TARGET %-44s ", name);
    printf(fmt, a, bnd);
    printf("  %s\n", pass ? "PASS" : "FAIL");
}

static bool measure(bench *b)
{
    pass_result first, steady, dry, stats;
    raw_result raw;
    sql_result sql;
    child_result truec;
    double client_ms = 0;
    size_t client_n = 0;

    char load[128] = "?";
    FILE *lf = fopen("/proc/loadavg", "r");
    if (lf != NULL) {
        if (fgets(load, sizeof load, lf) == NULL)
            snprintf(load, sizeof load, "?");
        fclose(lf);
        load[strcspn(load, "\n")] = '\0';
    }
    printf("\nmeasuring: load average %s (other work on the machine skews the timings)\n", load);
    printf("\n== first pass (settles the observation columns) ==\n");
    if (!instctl_run(b, "reconcile", NULL, &first))
        return false;
    print_pass("first", &first);

    printf("\n== steady-state pass (measured) ==\n");
    double per[2] = {0, 0};
    if (!instctl_run(b, "reconcile", NULL, &steady) || !raw_list_hosts(b, &raw, per) ||
        !sqlite_read(b, &sql))
        return false;
    print_pass("reconcile", &steady);
    printf("raw_list.ms = %.1f (GET /containers/json?all=1 + label filter, fresh connection)\n",
           raw.ms);
    if (n_hosts > 1)
        printf("raw_list.per_host_ms = local %.1f, e2 %.1f (each alone, one after the other; "
               "the slower is the floor)\n",
               per[0], per[1]);
    printf("raw_list.bytes = %zu\n", raw.bytes);
    printf("raw_list.containers = %d (running %d, exited %d, paused %d, created %d)\n", raw.count,
           raw.states[KIND_RUNNING], raw.states[KIND_EXITED], raw.states[KIND_PAUSED],
           raw.states[KIND_CREATED]);
    printf("sqlite_read.ms = %.1f (store_list of %zu rows)\n", sql.list_ms, sql.rows);
    printf("sqlite_open.ms = %.1f (store_open, not in the floor)\n", sql.open_ms);

    double floor_ms = raw.ms + sql.list_ms;
    printf("\n== targets (steady-state pass) ==\n");
    target("requests <= hosts + changed", steady.requests <= n_hosts + steady.changed,
           "%.0f <= %.0f", steady.requests, n_hosts + steady.changed);
    target(n_hosts > 1 ? "wall <= 1.3 x (slower host's raw list + SQLite read)"
                       : "wall <= 1.3 x (raw list + SQLite read)",
           steady.c.wall_ms <= TARGET_WALL_FACTOR * floor_ms, "%.1f ms <= %.1f ms",
           steady.c.wall_ms, TARGET_WALL_FACTOR * floor_ms);
    target("peak RSS <= 32 MB", steady.c.maxrss_kb <= TARGET_RSS_KB, "%.0f kB <= %.0f kB",
           (double)steady.c.maxrss_kb, (double)TARGET_RSS_KB);

    printf("\n== context (not targets) ==\n");
    const char *true_argv[] = {"/bin/true", NULL};
    if (launch("/dev/null", "/dev/null", true_argv, &truec))
        printf("launcher.floor_rss_kb = %ld (ru_maxrss of /bin/true spawned the same way)\n",
               truec.maxrss_kb);
    if (client_list(b, &client_ms, &client_n))
        printf("client.list_ms = %.1f (engine_container_list on a fresh client: request and "
               "parsing of %zu)\n",
               client_ms, client_n);
    if (instctl_run(b, "reconcile", "--dry-run", &dry)) {
        printf("dry_run.wall_ms = %.1f (reconcile --dry-run: no writes)\n", dry.c.wall_ms);
        printf("dry_run.cpu_ms = %.1f (user %.1f + sys %.1f)\n", dry.c.user_ms + dry.c.sys_ms,
               dry.c.user_ms, dry.c.sys_ms);
        printf("dry_run.internal_ms = %.0f\n", dry.ms);
        printf("dry_run.peak_rss_kb = %ld\n", dry.c.maxrss_kb);
    }
    const char *bare_argv[] = {b->instctl, NULL};
    child_result bare;
    if (launch("/dev/null", "/dev/null", bare_argv, &bare))
        printf("startup.wall_ms = %.1f (instctl with no command: exec, dynamic linking, usage; "
               "cpu %.1f, rss %ld kB)\n",
               bare.wall_ms, bare.user_ms + bare.sys_ms, bare.maxrss_kb);
    if (instctl_run(b, "stats", NULL, &stats))
        printf("stats.wall_ms = %.1f (instctl stats: process start + store open + one query)\n",
               stats.c.wall_ms);

    struct stat st;
    char wal[3200];
    snprintf(wal, sizeof wal, "%s-wal", b->db);
    printf("db.bytes = %lld, wal.bytes = %lld\n",
           stat(b->db, &st) == 0 ? (long long)st.st_size : -1LL,
           stat(wal, &st) == 0 ? (long long)st.st_size : -1LL);

    if (b->repeat > 0) {
        double w[64], cpu[64], rl[64], sq[64], in[64], dw[64], rss = 0;
        int k = 0;
        for (int i = 0; i < b->repeat && i < 64; i++) {
            pass_result p, pd;
            raw_result r;
            sql_result q;
            double per_r[2];
            if (!instctl_run(b, "reconcile", NULL, &p) || !raw_list_hosts(b, &r, per_r) ||
                !sqlite_read(b, &q) || !instctl_run(b, "reconcile", "--dry-run", &pd))
                break;
            w[k] = p.c.wall_ms;
            cpu[k] = p.c.user_ms + p.c.sys_ms;
            in[k] = p.ms;
            rl[k] = r.ms;
            sq[k] = q.list_ms;
            dw[k] = pd.c.wall_ms;
            rss = (double)p.c.maxrss_kb > rss ? (double)p.c.maxrss_kb : rss;
            k++;
        }
        printf("\n== median of %d more steady-state rounds ==\n", k);
        printf("median.reconcile.wall_ms = %.1f\n", median(w, (size_t)k));
        printf("median.reconcile.cpu_ms = %.1f\n", median(cpu, (size_t)k));
        printf("median.reconcile.internal_ms = %.1f\n", median(in, (size_t)k));
        printf("median.dry_run.wall_ms = %.1f\n", median(dw, (size_t)k));
        printf("median.raw_list.ms = %.1f\n", median(rl, (size_t)k));
        printf("median.sqlite_read.ms = %.1f\n", median(sq, (size_t)k));
        printf("max.reconcile.peak_rss_kb = %.0f\n", rss);
        if (k > 0) {
            double mw = median(w, (size_t)k), mf = median(rl, (size_t)k) + median(sq, (size_t)k);
            printf("median check (informative): wall %.1f ms vs 1.3 x floor %.1f ms: %s\n", mw,
                   TARGET_WALL_FACTOR * mf, mw <= TARGET_WALL_FACTOR * mf ? "within" : "over");
        }
    }
    return true;
}

/* ---- main ---- */

static bool prepare_engine(bench *b)
{
    lc_engine *e;
    lc_diag d = {{0}};
    bool exists = false;
    if (engine_open(NULL, &e, &d) != LC_OK || engine_ping(e, &d) != LC_OK) {
        fprintf(stderr, "bench: Docker engine: %s\n", d.msg);
        return false;
    }
    snprintf(b->sock, sizeof b->sock, "%s", engine_socket_path(e));
    snprintf(b->api, sizeof b->api, "%s", engine_api_version(e));
    snprintf(host_sock[0], sizeof host_sock[0], "%s", b->sock);
    lc_err err = engine_image_exists(e, b->image, &exists, &d);
    engine_close(e);
    if (err == LC_OK && exists && n_hosts > 1) {
        char url[4200];
        snprintf(host_sock[1], sizeof host_sock[1], "%s/docker.sock", engine2_dir);
        snprintf(url, sizeof url, "unix://%s", host_sock[1]);
        err = engine_open(url, &e, &d);
        if (err == LC_OK)
            err = engine_image_exists(e, b->image, &exists, &d);
        if (err == LC_OK)
            engine_close(e);
    }
    if (err != LC_OK || !exists) {
        fprintf(stderr, "bench: image %s: %s\n", b->image,
                err != LC_OK ? d.msg : "not there (make standin builds it)");
        return false;
    }
    return true;
}

static bool write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return false;
    bool ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok;
}

static int run(bench *b)
{
    lc_diag d = {{0}};
    if (mkdir(b->dir, 0700) < 0) {
        fprintf(stderr, "bench: mkdir %s: %s\n", b->dir, strerror(errno));
        return 1;
    }
    if (!write_file(b->conf, "# instctl bench: built-in defaults\n"))
        return 1;
    if (store_open(b->db, STORE_CREATE, &b->store, &d) != LC_OK) {
        fprintf(stderr, "bench: store_open %s: %s\n", b->db, d.msg);
        return 1;
    }
    snprintf(b->uuid, sizeof b->uuid, "%s", store_uuid(b->store));
    char line[64];
    snprintf(line, sizeof line, "%s\n", b->uuid);
    if (!write_file(b->marker, line)) {
        fprintf(stderr, "bench: cannot write %s\n", b->marker);
        return 1;
    }
    printf("setup: store %s at %s\n", b->uuid, b->db);
    if (n_hosts > 1) {
        lc_host h = {.name = "e2", .docker_host = "tcp://127.0.0.1:2376"};
        snprintf(h.tls_ca, sizeof h.tls_ca, "%s/tls/ca.pem", engine2_dir);
        snprintf(h.tls_cert, sizeof h.tls_cert, "%s/tls/cert.pem", engine2_dir);
        snprintf(h.tls_key, sizeof h.tls_key, "%s/tls/key.pem", engine2_dir);
        if (store_host_add(b->store, &h, &d) != LC_OK) {
            fprintf(stderr, "bench: host e2: %s\n", d.msg);
            return 1;
        }
        printf("setup: host e2 (tcp://127.0.0.1:2376, mutual TLS); instances alternate local, "
               "e2\n");
    }
    bool ok = insert_rows(b) && create_containers(b);
    store_close(b->store);
    b->store = NULL;
    free(b->rows);
    b->rows = NULL;
    if (!ok)
        return 1;
    return measure(b) ? 0 : 1;
}

int main(int argc, char **argv)
{
    static bench b;
    setvbuf(stdout, NULL, _IOLBF, 0);
    bool cleanup_only = argc == 2 && strcmp(argv[1], "--cleanup-only") == 0;
    if (argc > 1 && !cleanup_only) {
        fprintf(stderr, "usage: bench [--cleanup-only]\n");
        return 2;
    }
    /* First, while this process is small: see the comment at the top. */
    if (!launcher_start()) {
        perror("bench: launcher");
        return 1;
    }
    b.instctl = getenv("INSTCTL_BIN");
    if (b.instctl == NULL || access(b.instctl, X_OK) != 0) {
        fprintf(stderr, "bench: INSTCTL_BIN must name the instctl binary (make bench sets it)\n");
        return 2;
    }
    b.n = (size_t)env_long("BENCH_INSTANCES", 1000, 1, 100000);
    b.workers = (int)env_long("BENCH_WORKERS", 4, 1, MAX_WORKERS);
    b.repeat = (int)env_long("BENCH_REPEAT", 5, 0, 64);
    b.keep = env_long("BENCH_KEEP", 0, 0, 1) == 1;
    n_hosts = (int)env_long("BENCH_HOSTS", 1, 1, 2);
    snprintf(engine2_dir, sizeof engine2_dir, "%s",
             getenv("ENGINE2_DIR") && getenv("ENGINE2_DIR")[0] ? getenv("ENGINE2_DIR")
                                                               : "/var/lib/instctl-test/engine2");
    b.image = getenv("BENCH_IMAGE") && getenv("BENCH_IMAGE")[0] ? getenv("BENCH_IMAGE")
                                                                : "instctl/odoo-standin:17.0";
    const char *tmp = getenv("TMPDIR") && getenv("TMPDIR")[0] ? getenv("TMPDIR") : "/tmp";
    if (getenv("BENCH_DIR") && getenv("BENCH_DIR")[0])
        snprintf(b.dir, sizeof b.dir, "%s", getenv("BENCH_DIR"));
    else
        snprintf(b.dir, sizeof b.dir, "%s/instctl-bench", tmp);
    snprintf(b.db, sizeof b.db, "%s/bench.db", b.dir);
    snprintf(b.marker, sizeof b.marker, "%s/store.uuid", b.dir);
    snprintf(b.conf, sizeof b.conf, "%s/instctl.conf", b.dir);
    snprintf(b.out, sizeof b.out, "%s/out.json", b.dir);
    snprintf(b.err, sizeof b.err, "%s/err.log", b.dir);
    snprintf(b.lockpath, sizeof b.lockpath, "%s.lock", b.dir);
    if (!lc_curl_init()) {
        fprintf(stderr, "bench: curl_global_init failed\n");
        return 1;
    }

    int lock = open(b.lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock < 0 || flock(lock, LOCK_EX | LOCK_NB) < 0) {
        fprintf(stderr, "bench: %s: %s\n", b.lockpath,
                lock < 0 ? strerror(errno) : "another benchmark is running");
        return 1;
    }
    if (!prepare_engine(&b))
        return 1;
    if (cleanup_only)
        printf("bench: cleanup only, engine API %s at %s\n", b.api, b.sock);
    else
        printf("bench: %zu instances, image %s, engine API %s at %s, %ld CPU(s)\n", b.n, b.image,
               b.api, b.sock, sysconf(_SC_NPROCESSORS_ONLN));
    if (!cleanup_previous(&b))
        return 1;
    if (cleanup_only) {
        launcher_stop();
        return 0;
    }

    double t0 = now_ms();
    int rc = run(&b);
    if (rc != 0)
        fprintf(stderr, "bench: the benchmark could not run; cleaning up\n");

    printf("\n");
    if (b.keep && b.uuid[0] != '\0') {
        printf("cleanup: BENCH_KEEP=1: store %s left in %s (the next run removes it)\n", b.uuid,
               b.dir);
    } else if (b.uuid[0] != '\0') {
        if (!cleanup_store(&b, b.uuid))
            rc = 1;
        else
            remove_dir(&b);
    } else {
        remove_dir(&b);
    }
    launcher_stop();
    printf("bench: done in %.0f s\n", (now_ms() - t0) / 1e3);
    return rc;
}
