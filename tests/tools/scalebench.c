/*
 * scalebench: reconcile and `list` at 10,000 instances against a recorded
 * engine answer (issue 12), part of `make bench` (tests/bench.sh).
 *
 * It makes a store of BENCH_SCALE (10000) rows (instctl init, then one SQL
 * transaction) and the container list the engine would answer for them:
 * the running element of tests/fixtures/engine-list.json (recorded from a
 * real engine) with each container's Id, name, labels and state put in;
 * 70% running, 20% exited (row stopped), 10% paused (row running). The list
 * is served over a Unix socket by tests/tools/fakeengine, which answers
 * inspects from tests/fixtures/engine-inspect-running.json.
 *
 * Measured, each in a child spawned while this process is still small (so
 * its peak RSS is its own): the first pass (settles every row), then
 * BENCH_REPEAT (5) steady passes (median CPU = user + sys, median wall, the
 * largest peak RSS, rows written), `list` and `list --json` (median wall,
 * peak RSS), and the Python reconcile tests/tools/pyreconcile.py with
 * Debian's python3-docker over the same socket and store, in its default
 * form (containers.list(all=True): one inspect per container) and with
 * sparse=True. Targets are printed PASS/FAIL; the exit status is 0 when it
 * ran.
 *
 * Environment: INSTCTL_BIN (required), BUILD (build), BENCH_SCALE (10000),
 * BENCH_REPEAT (5), BENCH_DIR (${TMPDIR:-/tmp}/instctl-scale), PYTHON
 * (python3; the Python part is skipped with a note when it or its docker
 * module is missing), BENCH_PYTHON (all; "sparse" skips the default form,
 * which makes 10,000 inspects and takes minutes; "none" skips both),
 * BENCH_KEEP=1 keeps the directory for profiling.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TARGET_CPU_MS 300.0
#define TARGET_RSS_MB 64.0
#define TARGET_LIST_MS 50.0
#define TARGET_JSON_MS 150.0

typedef struct result {
    double wall_ms, cpu_ms, rss_mb;
    int status;
} result;

static char dir[512], db[600], sock[600], listfile[600], host[640];
static const char *instctl, *build;
static long scale, repeat;

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static long env_long(const char *name, long def)
{
    const char *v = getenv(name);
    return v != NULL && atol(v) > 0 ? atol(v) : def;
}

/* Runs argv with stdout to out (NULL: /dev/null), stderr to err; wall, CPU and peak RSS. */
static result run(const char *const *argv, const char *out, const char *err)
{
    result r = {.status = -1};
    double t0 = now_ms();
    pid_t pid = fork();
    if (pid == 0) {
        int o = open(out != NULL ? out : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(err != NULL ? err : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
            _exit(126);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    struct rusage ru;
    int st;
    if (pid < 0 || wait4(pid, &st, 0, &ru) != pid)
        return r;
    r.wall_ms = now_ms() - t0;
    r.cpu_ms = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
               (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
    r.rss_mb = (double)ru.ru_maxrss / 1024.0;
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return r;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Repeats argv n times: median wall and CPU, largest RSS; status of the last. */
static result repeated(const char *const *argv, long n, const char *out)
{
    double wall[64] = {0}, cpu[64] = {0};
    result r = {0}, one = {0};
    n = n > 64 ? 64 : n;
    for (long i = 0; i < n; i++) {
        one = run(argv, out, NULL);
        wall[i] = one.wall_ms;
        cpu[i] = one.cpu_ms;
        r.rss_mb = one.rss_mb > r.rss_mb ? one.rss_mb : r.rss_mb;
    }
    qsort(wall, (size_t)n, sizeof *wall, cmp);
    qsort(cpu, (size_t)n, sizeof *cpu, cmp);
    r.wall_ms = wall[n / 2];
    r.cpu_ms = cpu[n / 2];
    r.status = one.status;
    return r;
}

static char *first_line(const char *path)
{
    static char line[256];
    FILE *f = fopen(path, "r");
    line[0] = '\0';
    if (f != NULL && fgets(line, sizeof line, f) != NULL)
        line[strcspn(line, "\n")] = '\0';
    if (f != NULL)
        fclose(f);
    return line;
}

static const char *const states[] = {"running", "exited", "paused"};

static int kind(long i)
{
    return i % 10 < 7 ? 0 : i % 10 < 9 ? 1 : 2;
}

static void ids(long i, char id[37], char cid[65])
{
    snprintf(id, 37, "%08lx-0000-4000-8000-%012lx", i, i * 7919);
    snprintf(cid, 65, "%016lx%016lx%016lx%016lx", i * 2654435761UL, i, ~(unsigned long)i, i + 1);
}

/* The rows, in one transaction. */
static bool make_rows(const char *uuid)
{
    (void)uuid;
    sqlite3 *h;
    sqlite3_stmt *st;
    if (sqlite3_open(db, &h) != SQLITE_OK ||
        sqlite3_exec(h, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(h,
                           "INSERT INTO instances (id, name, admin_email, database_name,"
                           " odoo_version, image, container_id, container_name, volume_name,"
                           " status, version, created_at, updated_at) VALUES (?1, ?2,"
                           " 'ops@example.com', ?3, '17.0', 'instctl/odoo-standin:17.0', ?4, ?5,"
                           " ?6, ?7, 1, ?8, ?8)",
                           -1, &st, NULL) != SQLITE_OK)
        return false;
    for (long i = 0; i < scale; i++) {
        char id[37], cid[65], name[64], dbname[64], cname[96], vol[96];
        ids(i, id, cid);
        snprintf(name, sizeof name, "tenant-%05ld", i);
        snprintf(dbname, sizeof dbname, "tenant_%05ld", i);
        snprintf(cname, sizeof cname, "odoo_%s_%.8s", name, id);
        snprintf(vol, sizeof vol, "odoo_%s_%.8s_data", name, id);
        const char *text[] = {
            id, name, dbname, cid, cname, vol, kind(i) == 1 ? "stopped" : "running"};
        for (int k = 0; k < 7; k++)
            sqlite3_bind_text(st, k + 1, text[k], -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 8, (sqlite3_int64)time(NULL) - 86400);
        if (sqlite3_step(st) != SQLITE_DONE)
            return false;
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    bool ok = sqlite3_exec(h, "COMMIT", NULL, NULL, NULL) == SQLITE_OK;
    sqlite3_close(h);
    return ok;
}

/* The engine's answer: the recorded running element, once per container. */
static bool make_answer(const char *uuid)
{
    FILE *in = fopen("tests/fixtures/engine-list.json", "r");
    char buf[16384];
    size_t n = in != NULL ? fread(buf, 1, sizeof buf - 1, in) : 0;
    if (in != NULL)
        fclose(in);
    buf[n] = '\0';
    cJSON *all = cJSON_Parse(buf), *tmpl = NULL, *c;
    cJSON_ArrayForEach(c, all)
    {
        if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(c, "State")), "running") == 0)
            tmpl = c;
    }
    FILE *out = fopen(listfile, "w");
    if (tmpl == NULL || out == NULL)
        return false;
    fputc('[', out);
    for (long i = 0; i < scale; i++) {
        char id[37], cid[65], name[128];
        ids(i, id, cid);
        snprintf(name, sizeof name, "/odoo_tenant-%05ld_%.8s", i, id);
        cJSON *e = cJSON_Duplicate(tmpl, 1), *labels = cJSON_CreateObject();
        cJSON_AddStringToObject(labels, "io.instctl.instance", id);
        cJSON_AddStringToObject(labels, "io.instctl.managed", "true");
        cJSON_AddStringToObject(labels, "io.instctl.store", uuid);
        cJSON_ReplaceItemInObject(e, "Id", cJSON_CreateString(cid));
        cJSON_ReplaceItemInObject(e, "Names", cJSON_CreateStringArray((const char *[]){name}, 1));
        cJSON_ReplaceItemInObject(e, "Labels", labels);
        cJSON_ReplaceItemInObject(e, "State", cJSON_CreateString(states[kind(i)]));
        char *text = cJSON_PrintUnformatted(e);
        fprintf(out, "%s%s", i ? "," : "", text);
        free(text);
        cJSON_Delete(e);
    }
    fputs("]\n", out);
    cJSON_Delete(all);
    return fclose(out) == 0;
}

static pid_t start_engine(void)
{
    char bin[600];
    snprintf(bin, sizeof bin, "%s/tests/fakeengine", build);
    pid_t pid = fork();
    if (pid == 0) {
        execl(bin, bin, "--listen", sock, "--list", listfile, "--inspect",
              "tests/fixtures/engine-inspect-running.json", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200 && access(sock, F_OK) != 0; i++)
        usleep(25000);
    return access(sock, F_OK) == 0 ? pid : -1;
}

static void print(const char *what, const result *r)
{
    printf("scale: %-34s wall %7.1f ms  cpu %7.1f ms  peak rss %6.1f MB%s\n", what, r->wall_ms,
           r->cpu_ms, r->rss_mb, r->status == 0 ? "" : "  (FAILED: exit status)");
}

static void target(const char *what, double got, double limit, const char *unit)
{
    printf("scale: target %-28s %8.1f %s <= %6.1f %s  %s\n", what, got, unit, limit, unit,
           got <= limit ? "PASS" : "FAIL");
}

static void python(const char *mode, const result *ours)
{
    const char *py = getenv("PYTHON") != NULL ? getenv("PYTHON") : "python3";
    const char *argv[] = {py, "tests/tools/pyreconcile.py", sock, db, mode, NULL};
    char out[700], label[64];
    snprintf(out, sizeof out, "%s/py-%s.out", dir, mode);
    result r = repeated(argv, strcmp(mode, "default") == 0 ? 1 : 3, out);
    if (r.status != 0) {
        printf("scale: python3-docker %s: not run (exit %d; install python3-docker)\n", mode,
               r.status);
        return;
    }
    snprintf(label, sizeof label, "python3-docker reconcile (%s)", mode);
    print(label, &r);
    printf("scale:   %s; instctl is %.1fx faster (wall), %.1fx less CPU, %.1fx less memory\n",
           first_line(out), r.wall_ms / ours->wall_ms, r.cpu_ms / ours->cpu_ms,
           r.rss_mb / ours->rss_mb);
}

int main(void)
{
    instctl = getenv("INSTCTL_BIN");
    build = getenv("BUILD") != NULL ? getenv("BUILD") : "build";
    scale = env_long("BENCH_SCALE", 10000);
    repeat = env_long("BENCH_REPEAT", 5);
    const char *tmp = getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";
    snprintf(dir, sizeof dir, "%s", getenv("BENCH_DIR") ? getenv("BENCH_DIR") : "");
    if (dir[0] == '\0')
        snprintf(dir, sizeof dir, "%s/instctl-scale", tmp);
    if (instctl == NULL) {
        fprintf(stderr, "scalebench: INSTCTL_BIN must name the built instctl\n");
        return 1;
    }
    snprintf(db, sizeof db, "%s/instctl.db", dir);
    snprintf(sock, sizeof sock, "%s/engine.sock", dir);
    snprintf(listfile, sizeof listfile, "%s/containers.json", dir);
    snprintf(host, sizeof host, "unix://%s", sock);
    char cmd[1200], uuidf[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", dir, dir);
    snprintf(uuidf, sizeof uuidf, "%s/uuid", dir);
    if (system(cmd) != 0)
        return 1;
    const char *init[] = {instctl, "--db", db, "init", "-q", NULL};
    if (run(init, uuidf, NULL).status != 0 || !make_rows(NULL))
        return fprintf(stderr, "scalebench: cannot make the store in %s\n", dir), 1;
    char uuid[64];
    snprintf(uuid, sizeof uuid, "%s", first_line(uuidf));
    if (!make_answer(uuid))
        return fprintf(stderr, "scalebench: cannot write %s\n", listfile), 1;
    struct stat sb;
    stat(listfile, &sb);
    pid_t engine = start_engine();
    if (engine < 0)
        return fprintf(stderr, "scalebench: fakeengine did not start\n"), 1;
    printf("scale: %ld instances, recorded engine answer %.1f MB served by fakeengine\n", scale,
           (double)sb.st_size / 1e6);
    const char *pass[] = {instctl, "--db", db, "--docker-host", host, "reconcile", "-q", NULL};
    const char *json[] = {instctl,     "--db", db,  "--docker-host", host, "--json",
                          "reconcile", "-q",   NULL};
    result first = run(pass, NULL, NULL);
    print("reconcile, first pass (settles rows)", &first);
    char jout[700];
    snprintf(jout, sizeof jout, "%s/steady.json", dir);
    result steady = repeated(json, repeat, jout);
    print("reconcile, steady pass (median)", &steady);
    char *text = NULL;
    size_t tl;
    FILE *jf = fopen(jout, "r");
    if (jf != NULL && (text = malloc(1 << 24)) != NULL) {
        tl = fread(text, 1, (1 << 24) - 1, jf);
        text[tl] = '\0';
    }
    if (jf != NULL)
        fclose(jf);
    cJSON *j = text != NULL ? cJSON_Parse(text) : NULL;
    const cJSON *w = cJSON_GetObjectItem(j, "written");
    if (cJSON_IsNumber(w))
        printf("scale:   a steady pass wrote %.0f rows of %ld\n", w->valuedouble, scale);
    else
        printf("scale:   a steady pass wrote every row (this build does not report it)\n");
    cJSON_Delete(j);
    free(text);
    const char *list[] = {instctl, "--db", db, "list", NULL};
    const char *listj[] = {instctl, "--db", db, "--json", "list", NULL};
    result l = repeated(list, repeat, NULL), lj = repeated(listj, repeat, NULL);
    print("list (median)", &l);
    print("list --json (median)", &lj);
    target("reconcile CPU", steady.cpu_ms, TARGET_CPU_MS, "ms");
    target("reconcile peak RSS", steady.rss_mb, TARGET_RSS_MB, "MB");
    target("list wall", l.wall_ms, TARGET_LIST_MS, "ms");
    target("list --json wall", lj.wall_ms, TARGET_JSON_MS, "ms");
    const char *py = getenv("BENCH_PYTHON") != NULL ? getenv("BENCH_PYTHON") : "all";
    if (strcmp(py, "none") != 0)
        python("sparse", &steady);
    if (strcmp(py, "all") == 0)
        python("default", &steady);
    kill(engine, SIGTERM);
    waitpid(engine, NULL, 0);
    if (getenv("BENCH_KEEP") == NULL || strcmp(getenv("BENCH_KEEP"), "1") != 0) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            return 1;
    }
    return 0;
}
