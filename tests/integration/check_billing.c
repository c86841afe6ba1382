/*
 * Billing events on the real engine (DESIGN §2 holds, §4): the real instctl
 * binary ($INSTCTL_BIN) with the stand-in Odoo image. Payment failed
 * suspends, paid resumes to the status before the suspension, repeated and
 * late events change nothing, the operator's hold and the billing hold are
 * independent, a cancellation terminates, busy instances make the sender
 * retry without the id being stored, and a forged or unsigned event changes
 * nothing at all. Each case checks the database (SQL), the history and
 * Docker's own view (docker inspect).
 *
 * Every case is its own TCase with its own temporary directory, config
 * (db = DIR/instctl.db), store uuid (from `instctl init -q`) and instance
 * name. Creating an instance takes several seconds on a busy engine, so the
 * environments are made ahead by a small pool: `instctl create` runs in the
 * background for the next few cases while the current one runs. A case's
 * unchecked setup (in the runner process) takes one environment and waits
 * for its create; the checked teardown removes the containers and volumes
 * labelled io.instctl.store=<uuid> and checks none is left; the unchecked
 * teardown (which Check runs even when the test failed) repeats the cleanup
 * when the checked one did not finish, and removes the directory.
 *
 * The environment and helpers named bi_* are also used by check_webhook.c.
 */
#include <check.h>
#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "billing.h"
#include "testutil.h"

/* The instance id written in tests/fixtures/stripe-*.json, replaced by the real one. */
#define FIXTURE_INSTANCE "5f0c2a8e-3b1d-4e7a-9c6f-2d8b1a4e7c30"

/* ---- the per-case environment ---- */

typedef struct bi_env {
    bool ready;
    bool with_instance;
    char dir[256];  /* temporary directory: config, database, logs */
    char conf[320]; /* DIR/instctl.conf */
    char db[320];   /* DIR/instctl.db */
    char uuid[64];  /* store uuid: label io.instctl.store */
    char tag[16];   /* 8 hex digits making names unique on the shared engine */
    char name[64];  /* the instance's name, "" without one */
    char id[64];    /* its id */
    char container[80];
    pid_t creator; /* the background `instctl create`, 0 once reaped */
    char setup_error[1024];
} bi_env;

static bi_env E; /* the current case's */

void bi_stop_servers(void);

/* The instctl binary as an absolute path (CGI programs run in another directory). */
const char *bi_instctl_bin(void)
{
    static char path[4096];
    const char *bin = getenv("INSTCTL_BIN");
    if (bin == NULL)
        bin = "build/instctl";
    if (realpath(bin, path) == NULL)
        snprintf(path, sizeof path, "%s", bin);
    return path;
}

/* Makes the directory, config and store; starts `instctl create` in the background. */
static void env_prepare(bi_env *e, bool with_instance)
{
    memset(e, 0, sizeof *e);
    e->with_instance = with_instance;
    tu_random_hex(e->tag, 4);
    char *dir = tu_tmpdir("billing");
    if (dir == NULL) {
        snprintf(e->setup_error, sizeof e->setup_error, "mkdtemp: %s", strerror(errno));
        return;
    }
    snprintf(e->dir, sizeof e->dir, "%s", dir);
    free(dir);
    snprintf(e->conf, sizeof e->conf, "%s/instctl.conf", e->dir);
    snprintf(e->db, sizeof e->db, "%s/instctl.db", e->dir);
    char text[1024], path[400];
    snprintf(text, sizeof text,
             "db = %s\nimage_template = instctl/odoo-standin:{version}\ncreate_timeout = 60\n",
             e->db);
    snprintf(path, sizeof path, "%s/admin.pw", e->dir);
    if (!tu_write_file(e->conf, text) || !tu_write_file(path, "admin-secret\n")) {
        snprintf(e->setup_error, sizeof e->setup_error, "cannot write in %s", e->dir);
        return;
    }
    if (!tu_instctl_init(e->conf, e->uuid, sizeof e->uuid, e->setup_error, sizeof e->setup_error))
        return;
    if (!with_instance) {
        e->ready = true;
        return;
    }
    char database[64], log[400];
    snprintf(e->name, sizeof e->name, "bill-%s", e->tag);
    snprintf(database, sizeof database, "bill_%s", e->tag);
    snprintf(log, sizeof log, "%s/create.log", e->dir);
    const char *bin = bi_instctl_bin();
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int null = open("/dev/null", O_RDONLY);
        if (fd < 0 || null < 0)
            _exit(126);
        dup2(null, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        for (int i = 3; i < 1024; i++)
            close(i);
        execl(bin, bin, "--config", e->conf, "create", e->name, "--database", database,
              "--admin-email", "billing-test@example.com", "--admin-password-file", path,
              (char *)NULL);
        _exit(127);
    }
    if (pid < 0)
        snprintf(e->setup_error, sizeof e->setup_error, "fork: %s", strerror(errno));
    else
        e->creator = pid;
}

/* Waits for the background create; fills id and container. */
static void env_finish(bi_env *e)
{
    if (e->creator <= 0)
        return;
    int st;
    pid_t pid = e->creator;
    char name[64];
    snprintf(name, sizeof name, "%s", e->name);
    e->creator = 0;
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        char *log = tu_shf(NULL, "cat '%s/create.log'", e->dir);
        snprintf(e->setup_error, sizeof e->setup_error, "instctl create %s: status %d: %s", name,
                 st, log);
        free(log);
        return;
    }
    char *id = tu_sqlf(e->db, "SELECT id FROM instances WHERE name = '%s'", e->name);
    char *c = tu_sqlf(e->db, "SELECT container_id FROM instances WHERE name = '%s'", e->name);
    char *s = tu_sqlf(e->db, "SELECT status FROM instances WHERE name = '%s'", e->name);
    snprintf(e->id, sizeof e->id, "%s", id);
    snprintf(e->container, sizeof e->container, "%s", c);
    if (strlen(e->id) != 36 || e->container[0] == '\0' || strcmp(s, "running") != 0)
        snprintf(e->setup_error, sizeof e->setup_error, "created %s: id \"%s\" status %s", name, id,
                 s);
    else
        e->ready = true;
    free(id);
    free(c);
    free(s);
}

static void env_remove(bi_env *e)
{
    if (e->creator > 0) { /* never taken: let it finish so nothing appears after the cleanup */
        waitpid(e->creator, NULL, 0);
        e->creator = 0;
    }
    tu_docker_clean(e->uuid);
    if (e->dir[0] != '\0')
        free(tu_shf(NULL, "rm -rf '%s'", e->dir));
    memset(e, 0, sizeof *e);
}

/* ---- the pool of environments made ahead, one per suite ---- */

#define POOL_SUITES 4
#define POOL_MAX 32
#define POOL_AHEAD 5 /* creates running ahead of the case being run */

typedef struct bi_pool {
    const char *suite;
    const char *tcases[POOL_MAX]; /* the suite's cases that take an instance */
    int n_tcases;
    int expected; /* how many of them this run will run; -1 until counted */
    int made, taken;
    bi_env envs[POOL_MAX];
} bi_pool;

static bi_pool pools[POOL_SUITES];
static int n_pools;
static pid_t pool_owner;

static bi_pool *pool_for(const char *suite)
{
    for (int i = 0; i < n_pools; i++) {
        if (strcmp(pools[i].suite, suite) == 0)
            return &pools[i];
    }
    if (n_pools == POOL_SUITES)
        return NULL;
    pools[n_pools].suite = suite;
    pools[n_pools].expected = -1;
    return &pools[n_pools++];
}

/* bi_register: a TCase of suite that takes an environment with an instance. */
void bi_register(const char *suite, const char *tcase)
{
    bi_pool *p = pool_for(suite);
    if (p != NULL && p->n_tcases < POOL_MAX)
        p->tcases[p->n_tcases++] = tcase;
}

/* At exit of the runner: environments made ahead for cases that did not run. */
static void pool_atexit(void)
{
    if (getpid() != pool_owner) /* a forked test process exiting */
        return;
    for (int i = 0; i < n_pools; i++) {
        for (int j = pools[i].taken; j < pools[i].made; j++)
            env_remove(&pools[i].envs[j]);
    }
}

/* How many of the pool's cases this run will run (Check's CK_RUN_SUITE and CK_RUN_CASE). */
static int pool_count_expected(const bi_pool *p)
{
    const char *suite = getenv("CK_RUN_SUITE"), *tcase = getenv("CK_RUN_CASE");
    if (suite != NULL && suite[0] != '\0' && strcmp(suite, p->suite) != 0)
        return 0;
    int n = 0;
    for (int i = 0; i < p->n_tcases; i++)
        n += tcase == NULL || tcase[0] == '\0' || strcmp(tcase, p->tcases[i]) == 0;
    return n;
}

/* The next environment of suite's pool, its create finished; more started ahead. */
static bi_env *pool_take(const char *suite)
{
    bi_pool *p = pool_for(suite);
    if (p == NULL || p->taken >= POOL_MAX)
        return NULL;
    if (pool_owner == 0) {
        pool_owner = getpid();
        atexit(pool_atexit);
    }
    if (p->expected < 0)
        p->expected = pool_count_expected(p);
    int want = p->taken + 1 + POOL_AHEAD;
    if (want > p->expected)
        want = p->expected;
    if (want < p->taken + 1)
        want = p->taken + 1;
    while (p->made < want && p->made < POOL_MAX)
        env_prepare(&p->envs[p->made++], true);
    bi_env *e = &p->envs[p->taken++];
    env_finish(e);
    return e;
}

/* ---- fixtures (exported for check_webhook.c) ---- */

/* bi_setup_instance: unchecked setup of a case of suite: an environment with a running instance. */
void bi_setup_instance(const char *suite)
{
    bi_env *e = pool_take(suite);
    if (e == NULL) {
        memset(&E, 0, sizeof E);
        snprintf(E.setup_error, sizeof E.setup_error, "more than %d cases", POOL_MAX);
        return;
    }
    E = *e;
    memset(e, 0, sizeof *e); /* E owns it now */
}

static void setup_instance(void)
{
    bi_setup_instance("billing_integration");
}

/* Unchecked setup: an environment without an instance. */
void bi_setup_bare(void)
{
    env_prepare(&E, false);
}

/* Checked setup: the environment must be there. */
void bi_checked_setup(void)
{
    ck_assert_msg(E.ready, "test environment: %s", E.setup_error);
}

/* Checked teardown: nothing labelled for this store may be left. */
void bi_checked_teardown(void)
{
    bi_stop_servers();
    tu_docker_clean(E.uuid);
    char *left = tu_shf(NULL,
                        "docker ps -aq --filter label=io.instctl.store=%s; "
                        "docker volume ls -q --filter label=io.instctl.store=%s",
                        E.uuid, E.uuid);
    ck_assert_msg(left[0] == '\0', "left behind for store %s: %s", E.uuid, left);
    free(left);
    char path[400];
    snprintf(path, sizeof path, "%s/.cleaned", E.dir);
    tu_write_file(path, "");
}

/* Unchecked teardown: whatever the test left (the checked teardown does not run after a failure).
 */
void bi_unchecked_teardown(void)
{
    char path[400];
    struct stat sb;
    bi_stop_servers();
    snprintf(path, sizeof path, "%s/.cleaned", E.dir);
    if (E.dir[0] != '\0' && stat(path, &sb) == 0)
        E.uuid[0] = '\0'; /* already clean */
    env_remove(&E);
}

const char *bi_dir(void)
{
    return E.dir;
}
const char *bi_conf(void)
{
    return E.conf;
}
const char *bi_db(void)
{
    return E.db;
}
const char *bi_tag(void)
{
    return E.tag;
}
const char *bi_id(void)
{
    return E.id;
}
const char *bi_name(void)
{
    return E.name;
}

/*
 * Servers a case started (check_webhook.c): their pids are kept in DIR/pids,
 * one a line, so that the runner process can stop them when the test failed.
 */
void bi_note_server(int pid)
{
    char path[400];
    snprintf(path, sizeof path, "%s/pids", E.dir);
    FILE *f = fopen(path, "a");
    if (f != NULL) {
        fprintf(f, "%d\n", pid);
        fclose(f);
    }
}

void bi_stop_servers(void)
{
    char path[400];
    snprintf(path, sizeof path, "%s/pids", E.dir);
    FILE *f = E.dir[0] != '\0' ? fopen(path, "r") : NULL;
    int pid;
    while (f != NULL && fscanf(f, "%d", &pid) == 1) {
        if (pid > 0 && kill(pid, SIGTERM) == 0) {
            for (int i = 0; i < 200 && kill(pid, 0) == 0; i++) {
                waitpid(pid, NULL, WNOHANG); /* reaps it when it is ours */
                nanosleep(&(struct timespec){0, 10 * 1000000}, NULL);
            }
            if (kill(pid, 0) == 0)
                kill(pid, SIGKILL);
            waitpid(pid, NULL, WNOHANG);
        }
    }
    if (f != NULL) {
        fclose(f);
        unlink(path);
    }
}

/* ---- helpers: instctl, SQL, Docker ---- */

/* bi_ic: instctl --config CONF args... (NULL-terminated), stdin from input. */
tu_run bi_ic(const char *input, ...)
{
    va_list ap;
    va_start(ap, input);
    tu_run r = tu_instctl_vconf(E.conf, input, ap);
    va_end(ap);
    return r;
}

#define IC(...) bi_ic(NULL, __VA_ARGS__, (const char *)NULL)
#define IC_IN(input, ...) bi_ic(input, __VA_ARGS__, (const char *)NULL)

/* Asserts the exit status of r, showing its output when it differs. */
#define EXPECT_EXIT(r, want)                                                                       \
    ck_assert_msg((r).status == (want), "exit %d, want %d\nstdout: %s\nstderr: %s", (r).status,    \
                  (want), (r).out, (r).err)

/* bi_sql: the first column of the first row on the case's database ("" when none), malloc'd. */
char *bi_sql(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *v = tu_vsqlf(E.db, fmt, ap);
    va_end(ap);
    return v;
}

/* bi_sql_exec: runs sql read-write on the case's database; true on success. */
bool bi_sql_exec(const char *sql)
{
    return tu_sql_exec(E.db, sql);
}

/* Every row of sql, columns joined by '|', rows by '\n' (malloc'd). */
static char *sql_dump(const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *st = NULL;
    size_t len = 0, cap = 1024;
    char *out = malloc(cap);
    out[0] = '\0';
    if (sqlite3_open_v2(E.db, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_busy_timeout(db, 5000);
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
            snprintf(out, cap, "(%s)", sqlite3_errmsg(db));
    }
    while (st != NULL && sqlite3_step(st) == SQLITE_ROW) {
        for (int i = 0; i < sqlite3_column_count(st); i++) {
            const char *v = (const char *)sqlite3_column_text(st, i);
            size_t need = len + strlen(v != NULL ? v : "NULL") + 3;
            if (need > cap) {
                cap = need * 2;
                char *grown = realloc(out, cap);
                ck_assert(grown != NULL);
                out = grown;
            }
            len += (size_t)snprintf(out + len, cap - len, "%s%s", i > 0 ? "|" : "",
                                    v != NULL ? v : "NULL");
        }
        out[len++] = '\n';
        out[len] = '\0';
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
}

/*
 * bi_snapshot: everything a billing event could change: the instance row
 * (status, holds, version, times, lease), its history and the billing events.
 */
char *bi_snapshot(void)
{
    char *a = sql_dump("SELECT id, status, hold_billing, hold_operator, suspended_from,"
                       " error_message, version, updated_at, lease_pid, container_id"
                       " FROM instances ORDER BY id");
    char *b = sql_dump("SELECT * FROM status_events ORDER BY id");
    char *c = sql_dump("SELECT * FROM billing_events ORDER BY id");
    size_t n = strlen(a) + strlen(b) + strlen(c) + 64;
    char *s = malloc(n);
    snprintf(s, n, "instances:\n%shistory:\n%sbilling_events:\n%s", a, b, c);
    free(a);
    free(b);
    free(c);
    return s;
}

/* bi_status: the instance's status in the database. */
char *bi_status(void)
{
    return bi_sql("SELECT status FROM instances WHERE id = '%s'", E.id);
}

/* bi_history_rows: how many history rows the instance has. */
int bi_history_rows(void)
{
    char *v = bi_sql("SELECT count(*) FROM status_events WHERE instance_id = '%s'", E.id);
    int n = atoi(v);
    free(v);
    return n;
}

/* bi_billing_rows: billing_events rows with this event id. */
int bi_billing_rows(const char *event_id)
{
    char *v = bi_sql("SELECT count(*) FROM billing_events WHERE id = '%s'", event_id);
    int n = atoi(v);
    free(v);
    return n;
}

/* bi_container_state: Docker's State.Status of the instance's container, "missing" when gone. */
char *bi_container_state(void)
{
    int st;
    char *s = tu_shf(&st, "docker inspect -f '{{.State.Status}}' '%s' 2>/dev/null", E.container);
    if (st != 0) {
        free(s);
        s = strdup("missing");
    }
    return s;
}

static char *container_started_at(void)
{
    return tu_shf(NULL, "docker inspect -f '{{.State.StartedAt}}' '%s' 2>/dev/null", E.container);
}

#define ASSERT_STATUS(want)                                                                        \
    do {                                                                                           \
        char *s_ = bi_status();                                                                    \
        ck_assert_msg(strcmp(s_, (want)) == 0, "status %s, want %s", s_, (want));                  \
        free(s_);                                                                                  \
    } while (0)

#define ASSERT_CONTAINER(want)                                                                     \
    do {                                                                                           \
        char *c_ = bi_container_state();                                                           \
        ck_assert_msg(strcmp(c_, (want)) == 0, "container %s, want %s", c_, (want));               \
        free(c_);                                                                                  \
    } while (0)

/* The value of one SQL expression over the instance row, compared with want. */
#define ASSERT_ROW(expr, want)                                                                     \
    do {                                                                                           \
        char *v_ = bi_sql("SELECT " expr " FROM instances WHERE id = '%s'", E.id);                 \
        ck_assert_msg(strcmp(v_, (want)) == 0, "%s = \"%s\", want \"%s\"", expr, v_, (want));      \
        free(v_);                                                                                  \
    } while (0)

/* The last history row "from|to|cause|detail". */
static char *last_history(void)
{
    return bi_sql("SELECT coalesce(from_status, 'NULL') || '|' || to_status || '|' || cause || '|'"
                  " || coalesce(detail, '') FROM status_events WHERE instance_id = '%s'"
                  " ORDER BY id DESC LIMIT 1",
                  E.id);
}

static char *billing_outcome(const char *event_id)
{
    return bi_sql("SELECT outcome FROM billing_events WHERE id = '%s'", event_id);
}

#define ASSERT_OUTCOME(event_id, want)                                                             \
    do {                                                                                           \
        char *o_ = billing_outcome(event_id);                                                      \
        ck_assert_msg(strcmp(o_, (want)) == 0, "event %s recorded as \"%s\", want %s", (event_id), \
                      o_, (want));                                                                 \
        free(o_);                                                                                  \
    } while (0)

/* ---- events ---- */

/* bi_event_id: a unique event id for this case, "evt_<tag>_<n>". */
const char *bi_event_id(int n)
{
    static char ids[16][48];
    char *id = ids[n & 15];
    snprintf(id, sizeof ids[0], "evt_%s_%d", E.tag, n);
    return id;
}

/* The flat shape (malloc'd). */
static char *flat_event(const char *id, const char *type, long created, const char *instance)
{
    char buf[512];
    snprintf(buf, sizeof buf,
             "{\"id\": \"%s\", \"type\": \"%s\", \"created\": %ld, \"instance\": \"%s\"}", id, type,
             created, instance);
    return strdup(buf);
}

/*
 * bi_stripe_event: fixture tests/fixtures/NAME with its instance id replaced
 * by instance, and "id" and "created" set (created < 0 keeps the fixture's);
 * printed as Stripe does, indented. malloc'd.
 */
char *bi_stripe_event(const char *fixture, const char *id, long created, const char *instance)
{
    size_t len = 0;
    char *raw = tu_fixture(fixture, &len);
    ck_assert_msg(raw != NULL, "fixture %s (run from the repository root)", fixture);
    ck_assert_uint_eq(strlen(instance), strlen(FIXTURE_INSTANCE));
    for (char *p = strstr(raw, FIXTURE_INSTANCE); p != NULL; p = strstr(p, FIXTURE_INSTANCE))
        memcpy(p, instance, strlen(instance));
    cJSON *j = cJSON_ParseWithLength(raw, len);
    ck_assert_msg(j != NULL, "fixture %s is not JSON", fixture);
    free(raw);
    cJSON_ReplaceItemInObjectCaseSensitive(j, "id", cJSON_CreateString(id));
    if (created >= 0)
        cJSON_ReplaceItemInObjectCaseSensitive(j, "created", cJSON_CreateNumber((double)created));
    char *out = cJSON_Print(j);
    cJSON_Delete(j);
    return out;
}

/* bi_sign: a Stripe-Signature header for body at time t with secret. */
void bi_sign(char *header, size_t len, const char *secret, time_t t, const char *body)
{
    char hex[65];
    billing_sign((const unsigned char *)secret, strlen(secret), t, body, strlen(body), hex);
    snprintf(header, len, "t=%lld,v1=%s", (long long)t, hex);
}

/* Sends body with --unsigned on stdin; returns the run. */
static tu_run send_unsigned(const char *body)
{
    return IC_IN(body, "billing-event", "--unsigned", "-");
}

/* Sends body and expects exit 0 and the outcome word in the output. */
static void send_ok(const char *body, const char *outcome)
{
    tu_run r = send_unsigned(body);
    EXPECT_EXIT(r, 0);
    ck_assert_msg(strstr(r.out, outcome) != NULL, "output lacks \"%s\": %s", outcome, r.out);
    tu_run_free(&r);
}

static void send_flat_ok(int n, const char *type, long created, const char *outcome)
{
    char *body = flat_event(bi_event_id(n), type, created, E.id);
    send_ok(body, outcome);
    free(body);
}

/* Adds a line to the case's config. */
static void config_add(const char *line)
{
    FILE *f = fopen(E.conf, "a");
    ck_assert(f != NULL);
    fprintf(f, "%s\n", line);
    ck_assert_int_eq(fclose(f), 0);
}

/* ---- the cases ---- */

/* Payment failed (invoice before 2025): suspended, the container stopped, history by billing. */
START_TEST(payment_failed_suspends)
{
    int rows = bi_history_rows();
    const char *id = bi_event_id(1);
    char *body = bi_stripe_event("stripe-invoice-payment-failed-2024-06-20.json", id, -1, E.id);
    tu_run r = send_unsigned(body);
    EXPECT_EXIT(r, 0);
    ck_assert_msg(strstr(r.out, "applied") != NULL && strstr(r.out, E.name) != NULL, "%s", r.out);
    tu_run_free(&r);
    ASSERT_STATUS("suspended");
    ASSERT_ROW("hold_billing", "1");
    ASSERT_ROW("hold_operator", "0");
    ASSERT_ROW("suspended_from", "running");
    ASSERT_CONTAINER("exited");
    ck_assert_int_eq(bi_history_rows(), rows + 1);
    char *h = last_history();
    char want[256];
    snprintf(want, sizeof want, "running|suspended|billing|invoice.payment_failed %s", id);
    ck_assert_str_eq(h, want);
    free(h);
    /* recorded with the change: instance and Stripe's created */
    char *rec = bi_sql("SELECT type || '|' || instance_id || '|' || created || '|' || outcome"
                       " FROM billing_events WHERE id = '%s'",
                       id);
    snprintf(want, sizeof want, "invoice.payment_failed|%s|1726000021|applied", E.id);
    ck_assert_str_eq(rec, want);
    free(rec);
    /* show: the billing hold */
    r = IC("show", E.name, "--json");
    EXPECT_EXIT(r, 0);
    cJSON *j = cJSON_Parse(r.out);
    ck_assert_msg(j != NULL, "%s", r.out);
    ck_assert_str_eq(cJSON_GetObjectItem(j, "status")->valuestring, "suspended");
    cJSON *holds = cJSON_GetObjectItem(j, "holds");
    ck_assert_int_eq(cJSON_GetArraySize(holds), 1);
    ck_assert_str_eq(cJSON_GetArrayItem(holds, 0)->valuestring, "billing");
    cJSON_Delete(j);
    tu_run_free(&r);

    /* the next failed invoice (a retry attempt, another event id): recorded no-op */
    rows = bi_history_rows();
    char *retry = bi_stripe_event("stripe-invoice-payment-failed-2024-06-20.json", bi_event_id(2),
                                  1726259221, E.id);
    send_ok(retry, "noop");
    ASSERT_OUTCOME(bi_event_id(2), "noop");
    ck_assert_int_eq(bi_history_rows(), rows);
    ASSERT_STATUS("suspended");
    free(retry);
    free(body);
}
END_TEST

/*
 * Paid resumes to the status before the suspension (2025 invoice shape):
 * running -> suspended -> running, then stopped -> suspended -> stopped.
 */
START_TEST(paid_restores_previous_status)
{
    char *failed = bi_stripe_event("stripe-invoice-payment-failed-2025-03-31.json", bi_event_id(1),
                                   1743700821, E.id);
    char *paid =
        bi_stripe_event("stripe-invoice-paid-2025-03-31.json", bi_event_id(2), 1743960025, E.id);
    send_ok(failed, "applied");
    ASSERT_STATUS("suspended");
    ASSERT_CONTAINER("exited");
    send_ok(paid, "applied");
    ASSERT_STATUS("running");
    ASSERT_ROW("hold_billing", "0");
    ASSERT_ROW("coalesce(suspended_from, 'NULL')", "NULL");
    ASSERT_CONTAINER("running");
    char *h = last_history();
    char want[256];
    snprintf(want, sizeof want, "suspended|running|billing|invoice.paid %s", bi_event_id(2));
    ck_assert_str_eq(h, want);
    free(h);

    /* stopped before the suspension: back to stopped, the container not started */
    tu_run r = IC("stop", E.name);
    EXPECT_EXIT(r, 0);
    tu_run_free(&r);
    ASSERT_STATUS("stopped");
    send_flat_ok(3, "payment_failed", 1743970000, "applied");
    ASSERT_STATUS("suspended");
    ASSERT_ROW("suspended_from", "stopped");
    send_flat_ok(4, "invoice.payment_succeeded", 1743980000, "applied");
    ASSERT_STATUS("stopped");
    ASSERT_CONTAINER("exited");
    h = last_history();
    snprintf(want, sizeof want, "suspended|stopped|billing|invoice.payment_succeeded %s",
             bi_event_id(4));
    ck_assert_str_eq(h, want);
    free(h);
    free(failed);
    free(paid);
}
END_TEST

/* The same paid event again: exit 0, no second start, nothing written. */
START_TEST(repeated_paid_is_duplicate)
{
    char *failed =
        bi_stripe_event("stripe-invoice-payment-failed-2024-06-20.json", bi_event_id(1), -1, E.id);
    char *paid = bi_stripe_event("stripe-invoice-paid-2024-06-20.json", bi_event_id(2), -1, E.id);
    send_ok(failed, "applied");
    send_ok(paid, "applied");
    ASSERT_STATUS("running");
    int rows = bi_history_rows();
    char *started = container_started_at();
    char *before = bi_snapshot();
    for (int i = 0; i < 2; i++) {
        tu_run r = send_unsigned(paid);
        EXPECT_EXIT(r, 0);
        ck_assert_msg(strstr(r.out, "duplicate") != NULL, "%s", r.out);
        tu_run_free(&r);
    }
    ck_assert_int_eq(bi_history_rows(), rows);
    ck_assert_int_eq(bi_billing_rows(bi_event_id(2)), 1);
    char *after = bi_snapshot();
    ck_assert_str_eq(after, before);
    char *started2 = container_started_at();
    ck_assert_msg(strcmp(started, started2) == 0, "container started again: %s then %s", started,
                  started2);
    ASSERT_CONTAINER("running");
    /* the failed event again is a duplicate too: still running */
    tu_run r = send_unsigned(failed);
    EXPECT_EXIT(r, 0);
    ck_assert_msg(strstr(r.out, "duplicate") != NULL, "%s", r.out);
    tu_run_free(&r);
    ASSERT_STATUS("running");
    free(before);
    free(after);
    free(started);
    free(started2);
    free(failed);
    free(paid);
}
END_TEST

/* failed(100), paid(300), then the late failed(200): stale, stays running. */
START_TEST(late_event_is_stale)
{
    send_flat_ok(1, "payment_failed", 100, "applied");
    ASSERT_STATUS("suspended");
    send_flat_ok(2, "payment_succeeded", 300, "applied");
    ASSERT_STATUS("running");
    int rows = bi_history_rows();
    send_flat_ok(3, "payment_failed", 200, "stale");
    ASSERT_STATUS("running");
    ASSERT_ROW("hold_billing", "0");
    ASSERT_CONTAINER("running");
    ck_assert_int_eq(bi_history_rows(), rows);
    ASSERT_OUTCOME(bi_event_id(1), "applied");
    ASSERT_OUTCOME(bi_event_id(2), "applied");
    ASSERT_OUTCOME(bi_event_id(3), "stale");
    /* a newer failed one still applies */
    send_flat_ok(4, "payment_failed", 400, "applied");
    ASSERT_STATUS("suspended");
}
END_TEST

/* The operator's hold is the operator's: a payment does not clear it. */
START_TEST(operator_hold_survives_paid)
{
    tu_run r = IC("suspend", E.name, "--reason", "abuse report");
    EXPECT_EXIT(r, 0);
    tu_run_free(&r);
    ASSERT_STATUS("suspended");
    ASSERT_ROW("hold_operator", "1");
    ASSERT_ROW("hold_billing", "0");
    ASSERT_CONTAINER("exited");
    char *h = last_history();
    ck_assert_str_eq(h, "running|suspended|action|suspend: abuse report");
    free(h);

    /* paid without a billing hold: recorded no-op, still suspended */
    int rows = bi_history_rows();
    char *paid = bi_stripe_event("stripe-invoice-paid-2025-03-31.json", bi_event_id(1), -1, E.id);
    send_ok(paid, "noop");
    ASSERT_OUTCOME(bi_event_id(1), "noop");
    ASSERT_STATUS("suspended");
    ASSERT_CONTAINER("exited");
    ck_assert_int_eq(bi_history_rows(), rows);

    /* failed then paid: the billing hold comes and goes, the operator's stays */
    send_flat_ok(2, "invoice.payment_failed", 1743990000, "applied");
    ASSERT_ROW("hold_billing", "1");
    ASSERT_ROW("hold_operator", "1");
    ASSERT_STATUS("suspended");
    send_flat_ok(3, "invoice.paid", 1743990100, "applied");
    ASSERT_ROW("hold_billing", "0");
    ASSERT_ROW("hold_operator", "1");
    ASSERT_STATUS("suspended");
    ASSERT_CONTAINER("exited");

    /* until unsuspend */
    r = IC("unsuspend", E.name);
    EXPECT_EXIT(r, 0);
    tu_run_free(&r);
    ASSERT_STATUS("running");
    ASSERT_ROW("hold_operator", "0");
    ASSERT_CONTAINER("running");
    h = last_history();
    ck_assert_str_eq(h, "suspended|running|action|unsuspend");
    free(h);
    free(paid);
}
END_TEST

/* Billing hold + operator hold: unsuspend alone clears only the operator's. */
START_TEST(both_holds_unsuspend_alone)
{
    send_flat_ok(1, "payment_failed", 1764400000, "applied");
    ASSERT_STATUS("suspended");
    tu_run r = IC("suspend", E.name);
    EXPECT_EXIT(r, 0);
    ck_assert_msg(strstr(r.out, "operator hold added") != NULL, "%s", r.out);
    tu_run_free(&r);
    ASSERT_ROW("hold_billing", "1");
    ASSERT_ROW("hold_operator", "1");
    ASSERT_ROW("suspended_from", "running");

    r = IC("unsuspend", E.name);
    EXPECT_EXIT(r, 0);
    ck_assert_msg(strstr(r.out, "billing") != NULL, "does not say the billing hold remains: %s",
                  r.out);
    tu_run_free(&r);
    ASSERT_STATUS("suspended");
    ASSERT_ROW("hold_billing", "1");
    ASSERT_ROW("hold_operator", "0");
    ASSERT_CONTAINER("exited");

    /* unsuspend again: no operator hold to clear, exit 0, nothing written */
    int rows = bi_history_rows();
    char *before = bi_snapshot();
    r = IC("unsuspend", E.name);
    EXPECT_EXIT(r, 0);
    tu_run_free(&r);
    char *after = bi_snapshot();
    ck_assert_str_eq(after, before);
    ck_assert_int_eq(bi_history_rows(), rows);
    ASSERT_STATUS("suspended");

    /* the payment resumes it, to running as it was */
    send_flat_ok(2, "payment_succeeded", 1764400100, "applied");
    ASSERT_STATUS("running");
    ASSERT_CONTAINER("running");
    free(before);
    free(after);
}
END_TEST

/*
 * A cancellation terminates (even a suspended instance, even when older) at
 * once; its final backup and the removal of the container run in the next
 * reconcile pass, not inside the webhook's request.
 */
START_TEST(cancellation_terminates)
{
    send_flat_ok(1, "invoice.payment_failed", 1735689700, "applied");
    ASSERT_STATUS("suspended");
    /* the subscription deletion was created before that failed invoice: terminate always applies */
    char *del = bi_stripe_event("stripe-customer-subscription-deleted.json", bi_event_id(2),
                                1735689612, E.id);
    tu_run r = send_unsigned(del);
    EXPECT_EXIT(r, 0);
    ck_assert_msg(strstr(r.out, "applied") != NULL, "%s", r.out);
    tu_run_free(&r);
    ASSERT_STATUS("terminated");
    ASSERT_CONTAINER("exited");
    ASSERT_OUTCOME(bi_event_id(2), "applied");
    r = IC("reconcile");
    EXPECT_EXIT(r, 0);
    tu_run_free(&r);
    ASSERT_CONTAINER("missing");
    char *h = last_history();
    char want[256];
    snprintf(want, sizeof want, "suspended|terminated|billing|customer.subscription.deleted %s",
             bi_event_id(2));
    ck_assert_str_eq(h, want);
    free(h);
    /* the row stays for audit */
    r = IC("show", E.id, "--json");
    EXPECT_EXIT(r, 0);
    ck_assert_msg(strstr(r.out, "\"terminated\"") != NULL, "%s", r.out);
    tu_run_free(&r);
    free(del);
}
END_TEST

/* Paid (or failed) for a terminated instance: exit 0, recorded no-op, stays terminated. */
START_TEST(paid_after_terminated)
{
    tu_run r = IC("terminate", E.name);
    EXPECT_EXIT(r, 0);
    tu_run_free(&r);
    ASSERT_STATUS("terminated");
    ASSERT_CONTAINER("missing");
    int rows = bi_history_rows();
    char *paid = bi_stripe_event("stripe-invoice-paid-2024-06-20.json", bi_event_id(1), -1, E.id);
    send_ok(paid, "noop");
    ASSERT_OUTCOME(bi_event_id(1), "noop");
    send_flat_ok(2, "payment_failed", 1764400000, "noop");
    send_flat_ok(3, "subscription_cancelled", 1764400100, "noop");
    ASSERT_STATUS("terminated");
    ASSERT_CONTAINER("missing");
    ck_assert_int_eq(bi_history_rows(), rows);
    /* no container came back under this store */
    char *left = tu_shf(NULL, "docker ps -aq --filter label=io.instctl.store=%s", E.uuid);
    ck_assert_msg(left[0] == '\0', "containers: %s", left);
    free(left);
    free(paid);
}
END_TEST

/*
 * An event while the instance is creating (or updating): exit 5, the id NOT
 * stored, nothing changed; the same event again once it is running applies.
 */
START_TEST(busy_instance_retry)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "UPDATE instances SET status = 'creating', op_step = 'database',"
             " op_deadline = strftime('%%s', 'now') + 600 WHERE id = '%s'",
             E.id);
    ck_assert(bi_sql_exec(sql));
    const char *id = bi_event_id(1);
    char *body = bi_stripe_event("stripe-invoice-payment-failed-2025-03-31.json", id, -1, E.id);
    char *before = bi_snapshot();
    tu_run r = send_unsigned(body);
    EXPECT_EXIT(r, 5);
    ck_assert_msg(strstr(r.err, "creating") != NULL, "%s", r.err);
    tu_run_free(&r);
    ck_assert_int_eq(bi_billing_rows(id), 0);
    char *after = bi_snapshot();
    ck_assert_str_eq(after, before);
    free(after);
    ASSERT_CONTAINER("running");

    /* updating: the same */
    snprintf(
        sql, sizeof sql,
        "UPDATE instances SET status = 'updating', previous_status = 'running' WHERE id = '%s'",
        E.id);
    ck_assert(bi_sql_exec(sql));
    free(before);
    before = bi_snapshot();
    r = send_unsigned(body);
    EXPECT_EXIT(r, 5);
    tu_run_free(&r);
    ck_assert_int_eq(bi_billing_rows(id), 0);
    after = bi_snapshot();
    ck_assert_str_eq(after, before);
    free(after);

    /* running, but another host's action holds the lease: the same */
    snprintf(sql, sizeof sql,
             "UPDATE instances SET status = 'running', previous_status = NULL, op_step = NULL,"
             " op_deadline = NULL, lease_host = 'billing-test-other-host', lease_pid = 4242,"
             " lease_start = 1, lease_boot = 'other-boot',"
             " lease_deadline = strftime('%%s', 'now') + 600 WHERE id = '%s'",
             E.id);
    ck_assert(bi_sql_exec(sql));
    free(before);
    before = bi_snapshot();
    r = send_unsigned(body);
    EXPECT_EXIT(r, 5);
    ck_assert_msg(strstr(r.err, "busy") != NULL, "%s", r.err);
    tu_run_free(&r);
    ck_assert_int_eq(bi_billing_rows(id), 0);
    after = bi_snapshot();
    ck_assert_str_eq(after, before);
    free(after);

    /* the operation ended: the retry applies */
    snprintf(sql, sizeof sql,
             "UPDATE instances SET lease_host = NULL, lease_pid = NULL, lease_start = NULL,"
             " lease_boot = NULL, lease_deadline = NULL WHERE id = '%s'",
             E.id);
    ck_assert(bi_sql_exec(sql));
    r = send_unsigned(body);
    EXPECT_EXIT(r, 0);
    ck_assert_msg(strstr(r.out, "applied") != NULL, "%s", r.out);
    tu_run_free(&r);
    ASSERT_OUTCOME(id, "applied");
    ASSERT_STATUS("suspended");
    ASSERT_CONTAINER("exited");
    free(before);
    free(body);
}
END_TEST

/* With a webhook secret configured, a bad signature is refused (exit 7) and nothing changes. */
START_TEST(forged_signature_changes_nothing)
{
    char secret_path[400], line[512];
    snprintf(secret_path, sizeof secret_path, "%s/webhook.secret", E.dir);
    ck_assert(tu_write_file(secret_path, "whsec_it_4mY9pQ2sT7vX1zB6\n"));
    snprintf(line, sizeof line, "webhook_secret_file = %s", secret_path);
    config_add(line);

    const char *id = bi_event_id(1);
    char *body = bi_stripe_event("stripe-invoice-payment-failed-2024-06-20.json", id, -1, E.id);
    char *before = bi_snapshot();
    time_t now = time(NULL);
    char forged[128], good[128], expired[128];
    bi_sign(forged, sizeof forged, "whsec_it_4mY9pQ2sT7vX1zB7", now, body);
    bi_sign(good, sizeof good, "whsec_it_4mY9pQ2sT7vX1zB6", now, body);
    bi_sign(expired, sizeof expired, "whsec_it_4mY9pQ2sT7vX1zB6", now - 400, body);
    char *tampered = strdup(body);
    char *p = strstr(tampered, "invoice.payment_failed");
    ck_assert(p != NULL);
    memcpy(p, "invoice.payment_failex", 22);

    struct {
        const char *what, *input, *sig;
        bool unsigned_flag;
    } tries[] = {
        {"wrong secret", body, forged, false},
        {"tampered body", tampered, good, false},
        {"expired", body, expired, false},
        {"no signature", body, NULL, false},
        {"--unsigned with a secret configured", body, NULL, true},
        {"garbage header", body, "t=abc,v1=xyz", false},
    };
    for (size_t i = 0; i < sizeof tries / sizeof tries[0]; i++) {
        tu_run r = tries[i].sig != NULL
                       ? IC_IN(tries[i].input, "billing-event", "--signature", tries[i].sig, "-")
                   : tries[i].unsigned_flag
                       ? IC_IN(tries[i].input, "billing-event", "--unsigned", "-")
                       : IC_IN(tries[i].input, "billing-event", "-");
        ck_assert_msg(r.status == 7, "%s: exit %d: %s%s", tries[i].what, r.status, r.out, r.err);
        tu_run_free(&r);
        char *after = bi_snapshot();
        ck_assert_msg(strcmp(after, before) == 0, "%s changed:\n%s\nwas:\n%s", tries[i].what, after,
                      before);
        free(after);
    }
    ASSERT_STATUS("running");
    ASSERT_CONTAINER("running");
    ck_assert_int_eq(bi_billing_rows(id), 0);

    /* the genuine one applies */
    tu_run r = IC_IN(body, "billing-event", "--signature", good, "-");
    EXPECT_EXIT(r, 0);
    tu_run_free(&r);
    ASSERT_STATUS("suspended");
    ASSERT_OUTCOME(id, "applied");
    free(before);
    free(tampered);
    free(body);
}
END_TEST

/* suspend twice: the second says "already", exit 0, writes nothing. */
START_TEST(suspend_twice_already)
{
    tu_run r = IC("suspend", E.name);
    EXPECT_EXIT(r, 0);
    tu_run_free(&r);
    ASSERT_STATUS("suspended");
    ASSERT_CONTAINER("exited");
    int rows = bi_history_rows();
    char *before = bi_snapshot();
    r = IC("suspend", E.name);
    EXPECT_EXIT(r, 0);
    ck_assert_msg(strstr(r.out, "already") != NULL, "%s", r.out);
    tu_run_free(&r);
    char *after = bi_snapshot();
    ck_assert_str_eq(after, before);
    ck_assert_int_eq(bi_history_rows(), rows);
    char *h = last_history();
    ck_assert_str_eq(h, "running|suspended|action|suspend");
    free(h);
    free(before);
    free(after);
}
END_TEST

/* unsuspend on a running instance: not allowed, exit 3, naming the status; nothing changes. */
START_TEST(unsuspend_running_not_allowed)
{
    char *before = bi_snapshot();
    tu_run r = IC("unsuspend", E.name);
    EXPECT_EXIT(r, 3);
    ck_assert_msg(strstr(r.err, "running") != NULL, "%s", r.err);
    tu_run_free(&r);
    char *after = bi_snapshot();
    ck_assert_str_eq(after, before);
    ASSERT_CONTAINER("running");
    free(before);
    free(after);
}
END_TEST

/*
 * Paid while the container is gone (removed behind instctl's back during the
 * suspension): DESIGN §2 resumes to running by recreating it from the row.
 */
START_TEST(paid_recreates_missing_container)
{
    send_flat_ok(1, "payment_failed", 1764400000, "applied");
    ASSERT_STATUS("suspended");
    free(tu_shf(NULL, "docker rm -f '%s' >/dev/null 2>&1", E.container));
    ASSERT_CONTAINER("missing");
    send_flat_ok(2, "payment_succeeded", 1764400100, "applied");
    ASSERT_STATUS("running");
    char *c = bi_sql("SELECT container_id FROM instances WHERE id = '%s'", E.id);
    ck_assert_msg(c[0] != '\0' && strcmp(c, E.container) != 0, "container id %s (was %s)", c,
                  E.container);
    snprintf(E.container, sizeof E.container, "%s", c);
    free(c);
    ASSERT_CONTAINER("running");
    /* on the same volume, labelled for this store */
    char *labels =
        tu_shf(NULL, "docker inspect -f '{{index .Config.Labels \"io.instctl.store\"}}' '%s'",
               E.container);
    ck_assert_str_eq(labels, E.uuid);
    free(labels);
}
END_TEST

/*
 * An event names its instance by id (DESIGN §4: "the instance id"): not by
 * name, nor by an id prefix as an operator may at the shell. Metadata with a
 * name or a cut-off id must not suspend or terminate some instance that
 * happens to match.
 */
START_TEST(event_matches_exact_id_only)
{
    char prefix[16];
    snprintf(prefix, sizeof prefix, "%.8s", E.id);
    const char *refs[] = {E.name, prefix};
    char *before = bi_snapshot();
    for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++) {
        char *body =
            flat_event(bi_event_id((int)i + 1), "subscription_cancelled", 1764400000, refs[i]);
        tu_run r = send_unsigned(body);
        ck_assert_msg(r.status == 4, "instance \"%s\": exit %d, want 4 (not found): %s%s", refs[i],
                      r.status, r.out, r.err);
        tu_run_free(&r);
        free(body);
        char *after = bi_snapshot();
        ck_assert_msg(strcmp(after, before) == 0, "instance \"%s\" changed:\n%s", refs[i], after);
        free(after);
    }
    ASSERT_STATUS("running");
    ASSERT_CONTAINER("running");
    free(before);
}
END_TEST

/* ---- cases without an instance ---- */

/* An instance id nobody knows: exit 4, not stored (the sender retries; a later create may fix it).
 */
START_TEST(unknown_instance)
{
    const char *id = bi_event_id(1);
    char *body = bi_stripe_event("stripe-invoice-payment-failed-2024-06-20.json", id, -1,
                                 "00000000-0000-4000-8000-000000000000");
    tu_run r = send_unsigned(body);
    EXPECT_EXIT(r, 4);
    tu_run_free(&r);
    ck_assert_int_eq(bi_billing_rows(id), 0);
    /* a name that does not exist (flat shape) */
    char *flat = flat_event(bi_event_id(2), "payment_succeeded", 5, "no-such-instance");
    r = send_unsigned(flat);
    EXPECT_EXIT(r, 4);
    tu_run_free(&r);
    ck_assert_int_eq(bi_billing_rows(bi_event_id(2)), 0);
    free(flat);
    free(body);
}
END_TEST

/* No instance id, or a type not acted on: ignored, exit 0, recorded; again: duplicate. */
START_TEST(ignored_events_recorded)
{
    const char *id = bi_event_id(1);
    char *body = bi_stripe_event("stripe-invoice-paid-no-instance.json", id, -1, FIXTURE_INSTANCE);
    send_ok(body, "ignored");
    char *rec = bi_sql("SELECT outcome || '|' || coalesce(instance_id, 'NULL') || '|' || type"
                       " FROM billing_events WHERE id = '%s'",
                       id);
    ck_assert_str_eq(rec, "ignored|NULL|invoice.paid");
    free(rec);
    send_ok(body, "duplicate");
    ck_assert_int_eq(bi_billing_rows(id), 1);

    /* a type we do not act on: ignored, before any lookup (the instance need not exist) */
    char *other = flat_event(bi_event_id(2), "invoice.upcoming", 7, "whatever-instance");
    send_ok(other, "ignored");
    ASSERT_OUTCOME(bi_event_id(2), "ignored");
    free(other);
    free(body);
}
END_TEST

/* Refused input: exit 7, nothing stored. */
START_TEST(bad_input_refused)
{
    /* unsigned without a secret and without --unsigned */
    char *body =
        flat_event(bi_event_id(1), "payment_failed", 1, "00000000-0000-4000-8000-0000000000aa");
    tu_run r = IC_IN(body, "billing-event", "-");
    EXPECT_EXIT(r, 7);
    ck_assert_msg(strstr(r.err, "--unsigned") != NULL, "%s", r.err);
    tu_run_free(&r);
    /* a signature is no use without a secret */
    char sig[128];
    bi_sign(sig, sizeof sig, "whsec_any", time(NULL), body);
    r = IC_IN(body, "billing-event", "--signature", sig, "-");
    EXPECT_EXIT(r, 7);
    tu_run_free(&r);
    /* not JSON, no id, no type */
    const char *bad[] = {"not json", "[1,2]", "{\"type\":\"payment_failed\"}", "{\"id\":\"evt_x\"}",
                         ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = send_unsigned(bad[i]);
        ck_assert_msg(r.status == 7, "\"%s\": exit %d: %s", bad[i], r.status, r.err);
        tu_run_free(&r);
    }
    /* larger than 4 MiB, from a file */
    char path[400];
    snprintf(path, sizeof path, "%s/huge.json", E.dir);
    FILE *f = fopen(path, "w");
    ck_assert(f != NULL);
    fputs("{\"id\":\"evt_huge\",\"type\":\"payment_failed\",\"pad\":\"", f);
    for (int i = 0; i < 5 * 1024; i++) {
        char kb[1024];
        memset(kb, 'x', sizeof kb);
        fwrite(kb, 1, sizeof kb, f);
    }
    fputs("\"}", f);
    ck_assert_int_eq(fclose(f), 0);
    r = IC("billing-event", "--unsigned", path);
    EXPECT_EXIT(r, 7);
    tu_run_free(&r);
    char *n = bi_sql("SELECT count(*) FROM billing_events");
    ck_assert_str_eq(n, "0");
    free(n);

    /* 1 MiB is not too large: a valid event with a large field goes through (ignored type) */
    f = fopen(path, "w");
    ck_assert(f != NULL);
    fprintf(f, "{\"id\":\"%s\",\"type\":\"invoice.finalized\",\"pad\":\"", bi_event_id(9));
    for (int i = 0; i < 1024 - 1; i++) {
        char kb[1024];
        memset(kb, 'y', sizeof kb);
        fwrite(kb, 1, sizeof kb, f);
    }
    fputs("\"}", f);
    ck_assert_int_eq(fclose(f), 0);
    r = IC("billing-event", "--unsigned", path);
    EXPECT_EXIT(r, 0);
    tu_run_free(&r);
    ASSERT_OUTCOME(bi_event_id(9), "ignored");
    free(body);
}
END_TEST

/* ---- the suite ---- */

Suite *suite_billing_integration(void)
{
    const struct {
        const char *name;
        const TTest *test;
        bool instance;
    } cases[] = {
        {"payment_failed_suspends", payment_failed_suspends, true},
        {"paid_restores_previous_status", paid_restores_previous_status, true},
        {"repeated_paid_is_duplicate", repeated_paid_is_duplicate, true},
        {"late_event_is_stale", late_event_is_stale, true},
        {"operator_hold_survives_paid", operator_hold_survives_paid, true},
        {"both_holds_unsuspend_alone", both_holds_unsuspend_alone, true},
        {"cancellation_terminates", cancellation_terminates, true},
        {"paid_after_terminated", paid_after_terminated, true},
        {"busy_instance_retry", busy_instance_retry, true},
        {"forged_signature_changes_nothing", forged_signature_changes_nothing, true},
        {"suspend_twice_already", suspend_twice_already, true},
        {"unsuspend_running_not_allowed", unsuspend_running_not_allowed, true},
        {"paid_recreates_missing_container", paid_recreates_missing_container, true},
        {"event_matches_exact_id_only", event_matches_exact_id_only, true},
        {"unknown_instance", unknown_instance, false},
        {"ignored_events_recorded", ignored_events_recorded, false},
        {"bad_input_refused", bad_input_refused, false},
    };
    Suite *s = suite_create("billing_integration");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        TCase *tc = tcase_create(cases[i].name);
        tcase_set_timeout(tc, 300);
        if (cases[i].instance) {
            bi_register("billing_integration", cases[i].name);
            tcase_add_unchecked_fixture(tc, setup_instance, bi_unchecked_teardown);
        } else {
            tcase_add_unchecked_fixture(tc, bi_setup_bare, bi_unchecked_teardown);
        }
        tcase_add_checked_fixture(tc, bi_checked_setup, bi_checked_teardown);
        tcase_add_test(tc, cases[i].test);
        suite_add_tcase(s, tc);
    }
    return s;
}
