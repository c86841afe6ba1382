/*
 * Integration tests of the lifecycle slice (DESIGN §2, §5, §7): the real
 * instctl binary against the real Docker engine with the stand-in Odoo image.
 *
 * Every test case is its own TCase with its own temporary directory, config
 * file, database and store uuid, and unique instance names and databases,
 * since the engine is shared. The environment is made by an unchecked
 * fixture (in the runner process) and cleaned by label
 * io.instctl.store=<uuid> both in a checked teardown and in the unchecked
 * teardown: Check skips checked teardowns when a test fails in fork mode,
 * the unchecked one always runs.
 *
 * Each case checks the three views: the database (SQL, `show --json`), the
 * history (`history --json`) and Docker's own (`docker inspect`).
 */
#include <check.h>
#include <cjson/cJSON.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ops.h"
#include "store.h"
#include "testutil.h"

/* ---- the per-case environment ---- */

typedef struct lc_env {
    bool ready;
    char dir[256];  /* temporary directory holding config and database */
    char conf[320]; /* DIR/instctl.conf */
    char db[320];   /* DIR/instctl.db */
    char uuid[64];  /* store uuid, label io.instctl.store */
    char tag[16];   /* 8 random hex digits making names unique on the shared engine */
    char setup_error[512];
} lc_env;

static lc_env E;

static void env_setup(void)
{
    memset(&E, 0, sizeof E);
    tu_random_hex(E.tag, 4);
    char *dir = tu_tmpdir("lifecycle");
    if (dir == NULL) {
        snprintf(E.setup_error, sizeof E.setup_error, "mkdtemp: %s", strerror(errno));
        return;
    }
    snprintf(E.dir, sizeof E.dir, "%s", dir);
    free(dir);
    snprintf(E.conf, sizeof E.conf, "%s/instctl.conf", E.dir);
    snprintf(E.db, sizeof E.db, "%s/instctl.db", E.dir);
    char text[1024];
    snprintf(text, sizeof text,
             "db = %s\nimage_template = instctl/odoo-standin:{version}\ncreate_timeout = 60\n",
             E.db);
    if (!tu_write_file(E.conf, text)) {
        snprintf(E.setup_error, sizeof E.setup_error, "cannot write %s", E.conf);
        return;
    }
    E.ready = tu_instctl_init(E.conf, E.uuid, sizeof E.uuid, E.setup_error, sizeof E.setup_error);
}

static void env_teardown(void)
{
    tu_docker_clean(E.uuid);
    if (E.dir[0] != '\0') {
        char *o = tu_shf(NULL, "rm -rf '%s' '%s.pw'", E.dir, E.dir);
        free(o);
    }
}

/* Checked fixture: runs in the test's process; the teardown only when the test passed. */
static void checked_setup(void)
{
    ck_assert_msg(E.ready, "test environment: %s", E.setup_error);
}

static void checked_teardown(void)
{
    tu_docker_clean(E.uuid);
}

/* ---- running instctl ---- */

#define IC(...) tu_instctl_conf(E.conf, NULL, __VA_ARGS__, (const char *)NULL)
#define IC_IN(input, ...) tu_instctl_conf(E.conf, input, __VA_ARGS__, (const char *)NULL)

/*
 * ic_clean: like IC_IN, but the child closes every descriptor above 2
 * before exec. tu_instctl's child keeps its own copies of the pipe ends
 * (it does not close them after dup2), so a process instctl leaves behind
 * (create --no-wait's detached child) would hold tu_instctl until it ends.
 * Returns the status; *out and *err (malloc'd) when not NULL.
 */
static int ic_clean(const char *input, char **out, char **err, ...)
{
    const char *bin = getenv("INSTCTL_BIN");
    const char *argv[64];
    size_t n = 0;
    argv[n++] = bin != NULL ? bin : "build/instctl";
    argv[n++] = "--config";
    argv[n++] = E.conf;
    va_list ap;
    va_start(ap, err);
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL && n < 63)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    char tmpl_out[] = "/tmp/instctl-test-out-XXXXXX", tmpl_err[] = "/tmp/instctl-test-err-XXXXXX";
    int fo = mkstemp(tmpl_out), fe = mkstemp(tmpl_err), in[2];
    ck_assert(fo >= 0 && fe >= 0 && pipe(in) == 0);
    unlink(tmpl_out);
    unlink(tmpl_err);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(fo, 1);
        dup2(fe, 2);
        close_range(3, ~0U, 0);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(in[0]);
    if (input != NULL && write(in[1], input, strlen(input)) < 0)
        perror("write");
    close(in[1]);
    int st;
    waitpid(pid, &st, 0);
    char **dst[2] = {out, err};
    int fds[2] = {fo, fe};
    for (int i = 0; i < 2; i++) {
        if (dst[i] != NULL) {
            off_t len = lseek(fds[i], 0, SEEK_END);
            *dst[i] = calloc(1, (size_t)len + 1);
            if (pread(fds[i], *dst[i], (size_t)len, 0) < 0)
                (*dst[i])[0] = '\0';
        }
        close(fds[i]);
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ---- the three views ---- */

static long sql_long(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static long sql_long(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *v = tu_vsqlf(E.db, fmt, ap);
    va_end(ap);
    long n = v[0] ? strtol(v, NULL, 10) : -1;
    free(v);
    return n;
}

/* Writes to the database directly (what an operator with sqlite3 would do). */
static void sql_exec(const char *sql)
{
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open(E.db, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    char *err = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
    ck_assert_msg(rc == SQLITE_OK, "sqlite3 %s: %s", sql, err ? err : "?");
    sqlite3_close(db);
}

/* The status column of the live row named name (else the newest row of that name). */
static char *db_status(const char *name)
{
    return tu_sqlf(E.db,
                   "SELECT status FROM instances WHERE name = '%s'"
                   " ORDER BY status = 'terminated', updated_at DESC LIMIT 1",
                   name);
}

static char *db_field(const char *name, const char *col)
{
    return tu_sqlf(E.db,
                   "SELECT %s FROM instances WHERE name = '%s'"
                   " ORDER BY status = 'terminated', updated_at DESC LIMIT 1",
                   col, name);
}

#define ASSERT_DB_STATUS(name, want)                                                               \
    do {                                                                                           \
        char *st_ = db_status(name);                                                               \
        ck_assert_msg(strcmp(st_, want) == 0, "instance %s: status in the DB is \"%s\", want %s",  \
                      name, st_, want);                                                            \
        free(st_);                                                                                 \
    } while (0)

/* How many containers (or volumes) carry this environment's store label. */
static long labelled(const char *what)
{
    char *o;
    if (strcmp(what, "containers") == 0)
        o = tu_shf(NULL, "docker ps -aq --filter label=io.instctl.store=%s | wc -l", E.uuid);
    else
        o = tu_shf(NULL, "docker volume ls -q --filter label=io.instctl.store=%s | wc -l", E.uuid);
    long n = strtol(o, NULL, 10);
    free(o);
    return n;
}

/*
 * The history as one string: "from>to(cause)" per row, from "-" when null,
 * separated by spaces (e.g. "-creating" is never produced: "->creating(action)").
 */
static char *history_str(const char *name)
{
    tu_run r = IC("history", name, "--json");
    ck_assert_msg(r.status == 0, "history %s: exit %d: %s", name, r.status, r.err);
    cJSON *j = cJSON_Parse(r.out);
    ck_assert_msg(cJSON_IsArray(j), "history --json is not an array: %s", r.out);
    char *buf = calloc(1, 4096);
    const cJSON *row;
    cJSON_ArrayForEach(row, j)
    {
        const cJSON *from = cJSON_GetObjectItemCaseSensitive(row, "from");
        const cJSON *to = cJSON_GetObjectItemCaseSensitive(row, "to");
        const cJSON *cause = cJSON_GetObjectItemCaseSensitive(row, "cause");
        ck_assert(cJSON_IsString(to) && cJSON_IsString(cause));
        ck_assert(cJSON_IsString(from) || cJSON_IsNull(from));
        ck_assert(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(row, "at")));
        size_t used = strlen(buf);
        snprintf(buf + used, 4096 - used, "%s%s>%s(%s)", used ? " " : "",
                 cJSON_IsString(from) ? from->valuestring : "-", to->valuestring,
                 cause->valuestring);
    }
    cJSON_Delete(j);
    tu_run_free(&r);
    return buf;
}

#define ASSERT_HISTORY(name, want)                                                                 \
    do {                                                                                           \
        char *h_ = history_str(name);                                                              \
        ck_assert_msg(strcmp(h_, want) == 0, "history of %s:\n  got  %s\n  want %s", name, h_,     \
                      want);                                                                       \
        free(h_);                                                                                  \
    } while (0)

static long history_rows(const char *name)
{
    return sql_long("SELECT count(*) FROM status_events WHERE instance_id ="
                    " (SELECT id FROM instances WHERE name = '%s'"
                    " ORDER BY status = 'terminated', updated_at DESC LIMIT 1)",
                    name);
}

/* Polls the DB until the instance has status want; false after timeout_s. */
static bool wait_status(const char *name, const char *want, double timeout_s)
{
    double until = tu_now_s() + timeout_s;
    for (;;) {
        char *st = db_status(name);
        bool ok = strcmp(st, want) == 0;
        free(st);
        if (ok)
            return true;
        if (tu_now_s() > until)
            return false;
        usleep(200 * 1000);
    }
}

/* ---- fixtures of a case: names, passwords, a created instance ---- */

static void names(const char *suffix, char *name, size_t nlen, char *db, size_t dlen)
{
    snprintf(name, nlen, "lc-%s-%s", E.tag, suffix);
    snprintf(db, dlen, "lc_%s_%s", E.tag, suffix);
}

/* Writes a password file outside the database directory; returns its path (static per call). */
static void password_file(const char *password, char *path, size_t len)
{
    snprintf(path, len, "%s.pw", E.dir);
    char text[512];
    snprintf(text, sizeof text, "%s\n", password);
    ck_assert(tu_write_file(path, text));
}

static void email_for(const char *name, char *out, size_t len)
{
    snprintf(out, len, "admin+%s@example.com", name);
}

/* Creates name/db and asserts it ended running; returns the row's container name. */
static void create_running(const char *name, const char *db, char *container, size_t clen)
{
    char pw[64], pwfile[320], email[128];
    snprintf(pw, sizeof pw, "pw");
    tu_random_hex(pw + 2, 12);
    password_file(pw, pwfile, sizeof pwfile);
    email_for(name, email, sizeof email);
    tu_run r = IC("create", name, "--database", db, "--admin-email", email, "--admin-password-file",
                  pwfile);
    ck_assert_msg(r.status == 0, "create %s: exit %d\nstdout: %s\nstderr: %s", name, r.status,
                  r.out, r.err);
    tu_run_free(&r);
    ASSERT_DB_STATUS(name, "running");
    char *cn = db_field(name, "container_name");
    snprintf(container, clen, "%s", cn);
    free(cn);
    ck_assert_str_ne(container, "");
    TU_ASSERT_DOCKER_STATE(container, "running");
}

/* Reads a file inside a container (docker exec cat); NULL when it cannot. */
static char *container_file(const char *container, const char *path)
{
    int st;
    char *o = tu_shf(&st, "docker exec '%s' cat '%s' 2>/dev/null", container, path);
    if (st != 0) {
        free(o);
        return NULL;
    }
    return o;
}

/* The value of key in a form-encoded line, URL-decoded into out; false when absent. */
static bool form_value(const char *line, const char *key, char *out, size_t len)
{
    size_t klen = strlen(key);
    const char *p = line;
    while (p != NULL && *p) {
        if (strncmp(p, key, klen) == 0 && p[klen] == '=') {
            const char *v = p + klen + 1;
            size_t o = 0;
            while (*v && *v != '&' && o + 1 < len) {
                if (*v == '%' && isxdigit((unsigned char)v[1]) && isxdigit((unsigned char)v[2])) {
                    char hex[3] = {v[1], v[2], '\0'};
                    out[o++] = (char)strtol(hex, NULL, 16);
                    v += 3;
                } else {
                    out[o++] = *v == '+' ? ' ' : *v;
                    v++;
                }
            }
            out[o] = '\0';
            return true;
        }
        p = strchr(p, '&');
        if (p != NULL)
            p++;
    }
    return false;
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (const char *p = s; *p; p++)
        n += *p == '\n';
    return n + (s[0] && s[strlen(s) - 1] != '\n');
}

/* Asserts the stand-in got exactly one database-create request for db with login email. */
static void assert_database_created(const char *container, const char *db, const char *email,
                                    const char *password)
{
    char *log = container_file(container, "/var/lib/odoo/standin/database-create.log");
    ck_assert_msg(log != NULL, "no database-create.log in %s", container);
    ck_assert_msg(count_lines(log) == 1, "want one database-create request, log:\n%s", log);
    char v[512];
    ck_assert_msg(form_value(log, "name", v, sizeof v), "no name= in %s", log);
    ck_assert_str_eq(v, db);
    ck_assert_msg(form_value(log, "login", v, sizeof v), "no login= in %s", log);
    ck_assert_str_eq(v, email);
    if (password != NULL) {
        ck_assert_msg(form_value(log, "password", v, sizeof v), "no password= in %s", log);
        ck_assert_str_eq(v, password);
    }
    free(log);
}

/* ---- cases ---- */

START_TEST(test_create_history)
{
    char name[64], db[64], email[128], container[160], pwfile[320];
    names("web", name, sizeof name, db, sizeof db);
    email_for(name, email, sizeof email);
    char pw[64] = "pw";
    tu_random_hex(pw + 2, 12);
    password_file(pw, pwfile, sizeof pwfile);

    tu_run r = IC("create", name, "--database", db, "--admin-email", email, "--admin-password-file",
                  pwfile);
    ck_assert_msg(r.status == 0, "create: exit %d\n%s%s", r.status, r.out, r.err);
    char *id = db_field(name, "id");
    ck_assert_uint_eq(strlen(id), 36);
    ck_assert_msg(strstr(r.out, id) != NULL, "create's output does not name id %s: %s", id, r.out);
    tu_run_free(&r);

    /* the DB */
    ASSERT_DB_STATUS(name, "running");
    char *msg = db_field(name, "error_message");
    ck_assert_str_eq(msg, "");
    free(msg);
    char *step = db_field(name, "op_step");
    ck_assert_msg(step[0] == '\0', "op_step left at \"%s\" after create", step);
    free(step);
    ck_assert_int_eq(sql_long("SELECT count(*) FROM instances WHERE lease_pid IS NOT NULL"), 0);

    /* the history */
    ASSERT_HISTORY(name, "->creating(action) creating>running(action)");

    /* Docker: odoo_<db>_<first 8 of id>, running, the row's id, labelled */
    char want[160];
    snprintf(want, sizeof want, "odoo_%s_%.8s", db, id);
    char *cn = db_field(name, "container_name");
    ck_assert_str_eq(cn, want);
    regex_t re;
    ck_assert_int_eq(regcomp(&re, "^odoo_[a-z0-9_]+_[0-9a-f]{8}$", REG_EXTENDED | REG_NOSUB), 0);
    ck_assert_msg(regexec(&re, cn, 0, NULL, 0) == 0, "container name %s", cn);
    regfree(&re);
    snprintf(container, sizeof container, "%s", cn);
    free(cn);
    TU_ASSERT_DOCKER_STATE(container, "running");
    char *cid = db_field(name, "container_id");
    char *docker_id = tu_docker_inspect(container, "{{.Id}}");
    ck_assert_str_eq(cid, docker_id);
    free(cid);
    free(docker_id);
    char *lab = tu_docker_inspect(container, "{{index .Config.Labels \"io.instctl.store\"}} "
                                             "{{index .Config.Labels \"io.instctl.instance\"}} "
                                             "{{index .Config.Labels \"io.instctl.managed\"}}");
    char wantlab[160];
    snprintf(wantlab, sizeof wantlab, "%s %s true", E.uuid, id);
    ck_assert_str_eq(lab, wantlab);
    free(lab);
    char *vol = db_field(name, "volume_name");
    ck_assert_msg(tu_docker_volume_exists(vol), "volume %s missing", vol);
    free(vol);
    ck_assert_int_eq(labelled("containers"), 1);
    ck_assert_int_eq(labelled("volumes"), 1);

    /* the stand-in got the database-create request: database name, login, password */
    assert_database_created(container, db, email, pw);

    /* stats and list agree */
    r = IC("stats", "--json");
    ck_assert_int_eq(r.status, 0);
    cJSON *j = cJSON_Parse(r.out);
    ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(j, "running")->valueint, 1);
    ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(j, "creating")->valueint, 0);
    ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(j, "total")->valueint, 1);
    cJSON_Delete(j);
    tu_run_free(&r);
    r = IC("list", "--json");
    ck_assert_int_eq(r.status, 0);
    j = cJSON_Parse(r.out);
    ck_assert_int_eq(cJSON_GetArraySize(j), 1);
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(j, 0), "id")->valuestring,
                     id);
    cJSON_Delete(j);
    tu_run_free(&r);
    free(id);
}
END_TEST

START_TEST(test_create_no_wait)
{
    char name[64], db[64], email[128];
    names("nw", name, sizeof name, db, sizeof db);
    email_for(name, email, sizeof email);
    char pw[64] = "pw", input[80];
    tu_random_hex(pw + 2, 12);
    snprintf(input, sizeof input, "%s\n", pw);

    double t0 = tu_now_s();
    char *out = NULL, *err = NULL;
    int rc = ic_clean(input, &out, &err, "create", name, "--database", db, "--admin-email", email,
                      "--admin-password-file", "-", "--no-wait", "--json", (const char *)NULL);
    double took = tu_now_s() - t0;
    char *st_now = db_status(name);
    ck_assert_msg(rc == 0, "create --no-wait: exit %d\n%s%s", rc, out, err);
    cJSON *j = cJSON_Parse(out);
    ck_assert_msg(j != NULL, "create --json output does not parse: %s", out);
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(j, "status")->valuestring, "creating");
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(j, "name")->valuestring, name);
    cJSON_Delete(j);
    free(out);
    free(err);
    /* right after return, the row is still creating (the stand-in needs ~1 s to be healthy) */
    ck_assert_msg(strcmp(st_now, "creating") == 0,
                  "status right after create --no-wait returned (%.2f s): %s", took, st_now);
    free(st_now);
    char *step = db_field(name, "op_step");
    ck_assert_msg(strcmp(step, "running") == 0 || strcmp(step, "database") == 0 ||
                      strcmp(step, "start") == 0 || step[0] == '\0',
                  "op_step %s", step);
    free(step);

    /* the container exists already and the detached child finishes by itself */
    char *cn = db_field(name, "container_name");
    char *ds = tu_docker_state(cn);
    ck_assert_msg(strcmp(ds, "running") == 0 || strcmp(ds, "created") == 0,
                  "container %s is %s right after create --no-wait", cn, ds);
    free(ds);
    ck_assert_msg(wait_status(name, "running", 30), "create --no-wait never reached running: %s",
                  db_field(name, "status || ' ' || coalesce(error_message, '')"));
    TU_ASSERT_DOCKER_STATE(cn, "running");
    ASSERT_HISTORY(name, "->creating(action) creating>running(action)");
    assert_database_created(cn, db, email, pw);
    /* the lease the detached child adopted is released */
    ck_assert_int_eq(sql_long("SELECT count(*) FROM instances WHERE lease_pid IS NOT NULL"), 0);
    free(cn);
}
END_TEST

START_TEST(test_stop_start_restart)
{
    char name[64], db[64], cn[160];
    names("ssr", name, sizeof name, db, sizeof db);
    create_running(name, db, cn, sizeof cn);

    tu_run r = IC("stop", name);
    ck_assert_msg(r.status == 0, "stop: exit %d: %s", r.status, r.err);
    ck_assert_msg(strstr(r.out, "stopped") != NULL, "stop says: %s", r.out);
    tu_run_free(&r);
    ASSERT_DB_STATUS(name, "stopped");
    TU_ASSERT_DOCKER_STATE(cn, "exited");
    ASSERT_HISTORY(name, "->creating(action) creating>running(action) running>stopped(action)");

    r = IC("start", name);
    ck_assert_msg(r.status == 0, "start: exit %d: %s", r.status, r.err);
    tu_run_free(&r);
    ASSERT_DB_STATUS(name, "running");
    TU_ASSERT_DOCKER_STATE(cn, "running");
    char *health = tu_docker_inspect(cn, "{{.State.Health.Status}}");
    ck_assert_msg(strcmp(health, "healthy") == 0, "start returned with health %s", health);
    free(health);
    ASSERT_HISTORY(name, "->creating(action) creating>running(action) running>stopped(action) "
                         "stopped>running(action)");

    char *started1 = tu_docker_inspect(cn, "{{.State.StartedAt}}");
    char *cid1 = db_field(name, "container_id");
    sleep(1); /* StartedAt has sub-second precision, but be sure it moves */
    r = IC("restart", name, "--reason", "test restart");
    ck_assert_msg(r.status == 0, "restart: exit %d: %s", r.status, r.err);
    tu_run_free(&r);
    ASSERT_DB_STATUS(name, "running");
    TU_ASSERT_DOCKER_STATE(cn, "running");
    char *started2 = tu_docker_inspect(cn, "{{.State.StartedAt}}");
    ck_assert_msg(strcmp(started1, started2) != 0, "restart did not restart %s (StartedAt %s)", cn,
                  started2);
    char *cid2 = db_field(name, "container_id");
    ck_assert_str_eq(cid1, cid2); /* same container, restarted */
    free(started1);
    free(started2);
    free(cid1);
    free(cid2);
    /* running -> running is not a status change: no history row, or one saying so */
    char *h = history_str(name);
    const char *base = "->creating(action) creating>running(action) running>stopped(action) "
                       "stopped>running(action)";
    ck_assert_msg(strcmp(h, base) == 0 ||
                      (strncmp(h, base, strlen(base)) == 0 &&
                       strcmp(h + strlen(base), " running>running(action)") == 0),
                  "history after restart: %s", h);
    free(h);
    ck_assert_int_eq(sql_long("SELECT count(*) FROM instances WHERE lease_pid IS NOT NULL"), 0);

    /* `action NAME stop` is the same action */
    r = IC("action", name, "stop");
    ck_assert_msg(r.status == 0, "action stop: exit %d: %s", r.status, r.err);
    tu_run_free(&r);
    ASSERT_DB_STATUS(name, "stopped");
    TU_ASSERT_DOCKER_STATE(cn, "exited");
}
END_TEST

START_TEST(test_already)
{
    char name[64], db[64], cn[160];
    names("alr", name, sizeof name, db, sizeof db);
    create_running(name, db, cn, sizeof cn);
    long rows = history_rows(name);
    char *version = db_field(name, "version");
    char *updated = db_field(name, "updated_at");
    char *started = tu_docker_inspect(cn, "{{.State.StartedAt}}");

    tu_run r = IC("start", name);
    ck_assert_msg(r.status == 0, "start on running: exit %d: %s", r.status, r.err);
    ck_assert_msg(strstr(r.out, "already running") != NULL, "start on running says: %s", r.out);
    tu_run_free(&r);
    ck_assert_int_eq(history_rows(name), rows);
    char *v2 = db_field(name, "version");
    char *u2 = db_field(name, "updated_at");
    ck_assert_str_eq(v2, version); /* nothing written */
    ck_assert_str_eq(u2, updated);
    char *s2 = tu_docker_inspect(cn, "{{.State.StartedAt}}");
    ck_assert_str_eq(s2, started); /* the container was not touched */
    ASSERT_DB_STATUS(name, "running");
    free(v2);
    free(u2);
    free(s2);

    /* --json says so too */
    r = IC("start", name, "--json");
    ck_assert_int_eq(r.status, 0);
    cJSON *j = cJSON_Parse(r.out);
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "already")));
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(j, "status")->valuestring, "running");
    cJSON_Delete(j);
    tu_run_free(&r);

    /* stop on stopped: the same */
    r = IC("stop", name);
    ck_assert_int_eq(r.status, 0);
    tu_run_free(&r);
    rows = history_rows(name);
    r = IC("stop", name);
    ck_assert_msg(r.status == 0, "stop on stopped: exit %d: %s", r.status, r.err);
    ck_assert_msg(strstr(r.out, "already stopped") != NULL, "stop on stopped says: %s", r.out);
    tu_run_free(&r);
    ck_assert_int_eq(history_rows(name), rows);
    ASSERT_DB_STATUS(name, "stopped");
    TU_ASSERT_DOCKER_STATE(cn, "exited");
    free(version);
    free(updated);
    free(started);
}
END_TEST

START_TEST(test_terminate)
{
    char name[64], db[64], cn[160];
    names("term", name, sizeof name, db, sizeof db);
    create_running(name, db, cn, sizeof cn);
    char *id = db_field(name, "id");
    char *vol = db_field(name, "volume_name");
    ck_assert(tu_docker_volume_exists(vol));

    tu_run r = IC("terminate", name, "--reason", "customer left");
    ck_assert_msg(r.status == 0, "terminate: exit %d: %s%s", r.status, r.out, r.err);
    tu_run_free(&r);
    ASSERT_DB_STATUS(name, "terminated");
    ASSERT_HISTORY(name, "->creating(action) creating>running(action) running>terminated(action)");
    char *detail = tu_sqlf(E.db,
                           "SELECT detail FROM status_events WHERE instance_id = '%s'"
                           " ORDER BY id DESC LIMIT 1",
                           id);
    ck_assert_msg(strstr(detail, "customer left") != NULL, "terminate's history detail: %s",
                  detail);
    free(detail);
    TU_ASSERT_DOCKER_STATE(cn, "missing");
    ck_assert_msg(!tu_docker_volume_exists(vol), "volume %s survived terminate", vol);
    ck_assert_int_eq(labelled("containers"), 0);
    ck_assert_int_eq(labelled("volumes"), 0);

    /* the row stays: list --all shows it, list does not */
    ck_assert_int_eq(sql_long("SELECT count(*) FROM instances WHERE id = '%s'", id), 1);
    r = IC("list", "--all", "--json");
    ck_assert_int_eq(r.status, 0);
    cJSON *j = cJSON_Parse(r.out);
    ck_assert_int_eq(cJSON_GetArraySize(j), 1);
    cJSON *row = cJSON_GetArrayItem(j, 0);
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(row, "id")->valuestring, id);
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(row, "status")->valuestring, "terminated");
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(row, "allowed_actions")),
                     0);
    cJSON_Delete(j);
    tu_run_free(&r);
    r = IC("list", "--all");
    ck_assert_int_eq(r.status, 0);
    ck_assert_msg(strstr(r.out, name) != NULL && strstr(r.out, "terminated") != NULL,
                  "list --all: %s", r.out);
    tu_run_free(&r);
    r = IC("list", "--json");
    ck_assert_int_eq(r.status, 0);
    j = cJSON_Parse(r.out);
    ck_assert_int_eq(cJSON_GetArraySize(j), 0);
    cJSON_Delete(j);
    tu_run_free(&r);

    /* terminal: start and stop are not allowed (exit 3, naming the status); terminate is a no-op */
    long rows = history_rows(name);
    r = IC("start", name);
    ck_assert_msg(r.status == 3, "start on terminated: exit %d: %s", r.status, r.err);
    ck_assert_msg(strstr(r.err, "terminated") != NULL, "start on terminated says: %s", r.err);
    tu_run_free(&r);
    r = IC("stop", name);
    ck_assert_msg(r.status == 3, "stop on terminated: exit %d: %s", r.status, r.err);
    tu_run_free(&r);
    r = IC("restart", name);
    ck_assert_msg(r.status == 3, "restart on terminated: exit %d: %s", r.status, r.err);
    tu_run_free(&r);
    r = IC("terminate", name);
    ck_assert_msg(r.status == 0, "terminate on terminated: exit %d: %s", r.status, r.err);
    ck_assert_msg(strstr(r.out, "already terminated") != NULL, "terminate again says: %s", r.out);
    tu_run_free(&r);
    ck_assert_int_eq(history_rows(name), rows);
    ASSERT_DB_STATUS(name, "terminated");
    TU_ASSERT_DOCKER_STATE(cn, "missing");
    ck_assert_int_eq(labelled("containers"), 0);

    /* name and database are unique among live rows only: both may be used again */
    char cn2[160];
    create_running(name, db, cn2, sizeof cn2);
    char *id2 = db_field(name, "id");
    ck_assert_str_ne(id2, id);
    ck_assert_str_ne(cn2, cn);
    r = IC("show", name, "--json");
    ck_assert_int_eq(r.status, 0);
    j = cJSON_Parse(r.out);
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(j, "id")->valuestring, id2);
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(j, "status")->valuestring, "running");
    cJSON_Delete(j);
    tu_run_free(&r);
    ck_assert_int_eq(sql_long("SELECT count(*) FROM instances WHERE name = '%s'", name), 2);
    free(id);
    free(id2);
    free(vol);
}
END_TEST

START_TEST(test_error_recreate)
{
    char name[64], db[64], cn[160];
    names("err", name, sizeof name, db, sizeof db);
    create_running(name, db, cn, sizeof cn);
    char *id = db_field(name, "id");
    char *old_cid = db_field(name, "container_id");
    char *vol = db_field(name, "volume_name");

    /* an instance in error whose container an operator removed */
    char sql[512];
    snprintf(sql, sizeof sql,
             "UPDATE instances SET status = 'error', error_message = 'test: broken'"
             " WHERE id = '%s'",
             id);
    sql_exec(sql);
    int st;
    free(tu_shf(&st, "docker rm -f '%s' >/dev/null 2>&1", cn));
    ck_assert_int_eq(st, 0);
    TU_ASSERT_DOCKER_STATE(cn, "missing");
    ck_assert(tu_docker_volume_exists(vol));

    tu_run r = IC("start", name);
    ck_assert_msg(r.status == 0, "start of error with the container gone: exit %d: %s%s", r.status,
                  r.out, r.err);
    tu_run_free(&r);
    ASSERT_DB_STATUS(name, "running");
    char *msg = db_field(name, "error_message");
    ck_assert_msg(msg[0] == '\0', "error_message kept after a successful start: %s", msg);
    free(msg);
    ASSERT_HISTORY(name, "->creating(action) creating>running(action) error>running(action)");

    /* recreated from the row: same name, new id, same volume (the stand-in's data is there) */
    char *new_cid = db_field(name, "container_id");
    ck_assert_str_ne(new_cid, old_cid);
    char *cn_now = db_field(name, "container_name");
    ck_assert_str_eq(cn_now, cn);
    free(cn_now);
    TU_ASSERT_DOCKER_STATE(cn, "running");
    char *docker_id = tu_docker_inspect(cn, "{{.Id}}");
    ck_assert_str_eq(docker_id, new_cid);
    free(docker_id);
    char *mount = tu_docker_inspect(cn, "{{range .Mounts}}{{.Name}}:{{.Destination}}{{end}}");
    char want[256];
    snprintf(want, sizeof want, "%s:/var/lib/odoo", vol);
    ck_assert_str_eq(mount, want);
    free(mount);
    char *lab = tu_docker_inspect(cn, "{{index .Config.Labels \"io.instctl.instance\"}}");
    ck_assert_str_eq(lab, id);
    free(lab);
    char *log = container_file(cn, "/var/lib/odoo/standin/database-create.log");
    ck_assert_msg(log != NULL && strstr(log, db) != NULL, "the recreated container lost the data");
    free(log);
    ck_assert_int_eq(labelled("containers"), 1);
    ck_assert_int_eq(labelled("volumes"), 1);

    /* error with container AND volume gone: start fails, error "container and volume missing" */
    sql_exec(sql);
    free(tu_shf(&st, "docker rm -f '%s' >/dev/null 2>&1 && docker volume rm '%s' >/dev/null 2>&1",
                cn, vol));
    ck_assert_int_eq(st, 0);
    long rows = history_rows(name);
    r = IC("start", name);
    ck_assert_msg(r.status == 1, "start with container and volume gone: exit %d: %s", r.status,
                  r.err);
    ck_assert_msg(strstr(r.err, "container and volume missing") != NULL, "stderr: %s", r.err);
    tu_run_free(&r);
    ASSERT_DB_STATUS(name, "error");
    msg = db_field(name, "error_message");
    ck_assert_msg(strstr(msg, "container and volume missing") != NULL, "error_message: %s", msg);
    free(msg);
    ck_assert_int_eq(history_rows(name), rows); /* error -> error is no change */
    TU_ASSERT_DOCKER_STATE(cn, "missing");
    ck_assert_msg(!tu_docker_volume_exists(vol), "start made a fresh empty volume %s", vol);
    ck_assert_int_eq(labelled("containers"), 0);
    free(id);
    free(old_cid);
    free(new_cid);
    free(vol);
}
END_TEST

static const char *const all_statuses[] = {"creating",    "running",  "stopped", "suspended",
                                           "maintenance", "updating", "error",   "terminated"};

START_TEST(test_stats_zero)
{
    tu_run r = IC("stats");
    ck_assert_msg(r.status == 0, "stats: exit %d: %s", r.status, r.err);
    /* all 8, in order, zeros included, then the total */
    char *p = r.out;
    for (size_t i = 0; i < 9; i++) {
        const char *want = i < 8 ? all_statuses[i] : "total";
        char word[32];
        long n = -1;
        int used = 0;
        ck_assert_msg(sscanf(p, " %31s %ld%n", word, &n, &used) == 2, "stats line %zu of:\n%s", i,
                      r.out);
        ck_assert_str_eq(word, want);
        ck_assert_int_eq(n, 0);
        p += used;
    }
    ck_assert_msg(tu_trim(p)[0] == '\0', "extra stats output: %s", p);
    tu_run_free(&r);

    r = IC("stats", "--json");
    ck_assert_msg(r.status == 0, "stats --json: exit %d: %s", r.status, r.err);
    cJSON *j = cJSON_Parse(r.out);
    ck_assert_msg(cJSON_IsObject(j), "stats --json: %s", r.out);
    ck_assert_int_eq(cJSON_GetArraySize(j), 10); /* the 8 statuses, total, hosts (issue 11) */
    ck_assert(cJSON_IsObject(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "hosts"), "local")));
    for (size_t i = 0; i < 8; i++) {
        cJSON *v = cJSON_GetObjectItemCaseSensitive(j, all_statuses[i]);
        ck_assert_msg(cJSON_IsNumber(v), "stats --json lacks %s", all_statuses[i]);
        ck_assert_int_eq(v->valueint, 0);
    }
    cJSON *total = cJSON_GetObjectItemCaseSensitive(j, "total");
    ck_assert(cJSON_IsNumber(total));
    ck_assert_int_eq(total->valueint, 0);
    cJSON_Delete(j);
    tu_run_free(&r);

    /* --json before the command gives the same */
    const char *argv[] = {"--json", "--config", E.conf, "stats", NULL};
    r = tu_instctl(NULL, argv);
    ck_assert_int_eq(r.status, 0);
    j = cJSON_Parse(r.out);
    ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(j, "total")->valueint, 0);
    cJSON_Delete(j);
    tu_run_free(&r);
}
END_TEST

/* ---- the admin password goes nowhere but Odoo ---- */

static bool buf_has(const char *buf, size_t len, const char *needle)
{
    return memmem(buf, len, needle, strlen(needle)) != NULL;
}

static char *read_all(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY);
    *len = 0;
    if (fd < 0)
        return NULL;
    size_t cap = 65536;
    char *buf = malloc(cap);
    ssize_t n;
    while ((n = read(fd, buf + *len, cap - *len)) > 0) {
        *len += (size_t)n;
        if (*len == cap) {
            char *grown = realloc(buf, cap *= 2);
            if (grown == NULL)
                break;
            buf = grown;
        }
    }
    close(fd);
    return buf;
}

/*
 * The scanner: a child that reads /proc/ * /cmdline and environ of every
 * process until `stop` closes, then writes "leaks seen scans" to `out`:
 * how many times the password was in a process's argv or environment, how
 * many times it saw a process whose argv held `marker` (instctl's own, to
 * prove it looked while create ran), and how many passes it made.
 */
static void scanner(const char *password, const char *marker, int stop, int out)
{
    long leaks = 0, seen = 0, scans = 0;
    char leak_where[256] = "";
    pid_t self = getpid();
    for (;;) {
        struct pollfd p = {.fd = stop, .events = POLLIN};
        if (poll(&p, 1, 0) > 0)
            break;
        DIR *d = opendir("/proc");
        struct dirent *de;
        while (d != NULL && (de = readdir(d)) != NULL) {
            if (!isdigit((unsigned char)de->d_name[0]) || atol(de->d_name) == self)
                continue;
            const char *files[] = {"cmdline", "environ"};
            for (int f = 0; f < 2; f++) {
                char path[300];
                snprintf(path, sizeof path, "/proc/%s/%s", de->d_name, files[f]);
                size_t len;
                char *buf = read_all(path, &len);
                if (buf == NULL)
                    continue;
                if (buf_has(buf, len, password)) {
                    leaks++;
                    for (size_t i = 0; i + 1 < len; i++)
                        buf[i] = buf[i] ? buf[i] : ' ';
                    snprintf(leak_where, sizeof leak_where, "%s: %.*s", path,
                             (int)(len < 180 ? len : 180), buf);
                }
                if (f == 0 && buf_has(buf, len, marker) && buf_has(buf, len, "create"))
                    seen++;
                free(buf);
            }
        }
        if (d != NULL)
            closedir(d);
        scans++;
    }
    char res[512];
    int n = snprintf(res, sizeof res, "%ld %ld %ld %s", leaks, seen, scans, leak_where);
    if (write(out, res, (size_t)n) < 0)
        _exit(2);
    _exit(0);
}

START_TEST(test_password_secrecy)
{
    char name[64], db[64], email[128], pwfile[320];
    names("sec", name, sizeof name, db, sizeof db);
    email_for(name, email, sizeof email);
    char pw[64] = "Zq";
    tu_random_hex(pw + 2, 16); /* unique, URL-safe: the form encoding leaves it as is */
    password_file(pw, pwfile, sizeof pwfile);

    int stop[2], res[2];
    ck_assert_int_eq(pipe(stop), 0);
    ck_assert_int_eq(pipe(res), 0);
    pid_t scan = fork();
    ck_assert_int_ge(scan, 0);
    if (scan == 0) {
        close(stop[1]);
        close(res[0]);
        scanner(pw, name, stop[0], res[1]);
    }
    close(stop[0]);
    close(res[1]);
    usleep(100 * 1000);

    tu_run r = IC("create", name, "--database", db, "--admin-email", email, "--admin-password-file",
                  pwfile);
    close(stop[1]);
    char result[512] = "";
    ssize_t got = read(res[0], result, sizeof result - 1);
    result[got > 0 ? got : 0] = '\0';
    close(res[0]);
    int wst;
    waitpid(scan, &wst, 0);
    ck_assert_msg(r.status == 0, "create: exit %d: %s", r.status, r.err);
    long leaks = -1, seen = -1, scans = -1;
    int used = 0;
    ck_assert_msg(sscanf(result, "%ld %ld %ld%n", &leaks, &seen, &scans, &used) == 3,
                  "scanner said \"%s\"", result);
    ck_assert_msg(leaks == 0,
                  "the admin password was in a process's argv/environment %ld times: %s", leaks,
                  result + used);
    ck_assert_msg(seen > 0, "the scanner never saw instctl running (%ld passes)", scans);

    /* not on instctl's stdout/stderr, in text or JSON, nor in show/history/list output */
    ck_assert_msg(strstr(r.out, pw) == NULL && strstr(r.err, pw) == NULL,
                  "create printed the admin password");
    tu_run_free(&r);
    const char *const views[][3] = {{"show", name, "--json"},
                                    {"show", name, NULL},
                                    {"list", "--json", NULL},
                                    {"history", name, "--json"}};
    for (size_t i = 0; i < sizeof views / sizeof views[0]; i++) {
        r = IC(views[i][0], views[i][1], views[i][2]);
        ck_assert_int_eq(r.status, 0);
        ck_assert_msg(strstr(r.out, pw) == NULL && strstr(r.err, pw) == NULL,
                      "%s printed the admin password", views[i][0]);
        tu_run_free(&r);
    }

    /* no file of the database directory holds it: the DB, its -wal and -shm */
    DIR *d = opendir(E.dir);
    ck_assert(d != NULL);
    struct dirent *de;
    int files = 0;
    bool saw_db = false;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char path[600];
        snprintf(path, sizeof path, "%s/%s", E.dir, de->d_name);
        size_t len;
        char *buf = read_all(path, &len);
        if (buf == NULL)
            continue;
        files++;
        saw_db = saw_db || strcmp(de->d_name, "instctl.db") == 0;
        ck_assert_msg(!buf_has(buf, len, pw), "the admin password is in %s", path);
        free(buf);
    }
    closedir(d);
    ck_assert(saw_db && files >= 2);

    /* the container does not carry it (env, command, labels) nor log it */
    char *cn = db_field(name, "container_name");
    char *insp = tu_shf(NULL, "docker inspect '%s'", cn);
    ck_assert_msg(strlen(insp) > 100 && strstr(insp, pw) == NULL,
                  "docker inspect shows the admin password");
    free(insp);
    char *logs = tu_shf(NULL, "docker logs '%s' 2>&1", cn);
    ck_assert_msg(strstr(logs, pw) == NULL, "the container's log has the admin password");
    free(logs);
    char *env = container_file(cn, "/var/lib/odoo/standin/env.log");
    ck_assert(env != NULL);
    ck_assert_msg(strstr(env, pw) == NULL, "env.log has the admin password");
    free(env);

    /* ... and it reached Odoo's database-create endpoint */
    assert_database_created(cn, db, email, pw);
    free(cn);
}
END_TEST

START_TEST(test_engine_unreachable)
{
    char name[64], db[64], email[128], pwfile[320], cn[160];
    names("eng", name, sizeof name, db, sizeof db);
    email_for(name, email, sizeof email);
    password_file("pwEngineTest1", pwfile, sizeof pwfile);
    const char *bad = "--docker-host=unix:///nonexistent.sock";

    /* create: exit 6, no row, no container */
    tu_run r = IC(bad, "create", name, "--database", db, "--admin-email", email,
                  "--admin-password-file", pwfile);
    ck_assert_msg(r.status == 6, "create with no engine: exit %d: %s", r.status, r.err);
    ck_assert_msg(strstr(r.err, "nonexistent.sock") != NULL || strstr(r.err, "engine") != NULL ||
                      strstr(r.err, "Docker") != NULL,
                  "create with no engine says: %s", r.err);
    tu_run_free(&r);
    ck_assert_int_eq(sql_long("SELECT count(*) FROM instances"), 0);
    ck_assert_int_eq(sql_long("SELECT count(*) FROM status_events"), 0);
    ck_assert_int_eq(labelled("containers"), 0);
    ck_assert_int_eq(labelled("volumes"), 0);
    /* the option in its two spellings, after the command too */
    r = IC("create", name, "--database", db, "--admin-email", email, "--admin-password-file",
           pwfile, "--docker-host", "unix:///nonexistent.sock");
    ck_assert_msg(r.status == 6, "create ... --docker-host X: exit %d: %s", r.status, r.err);
    tu_run_free(&r);
    ck_assert_int_eq(sql_long("SELECT count(*) FROM instances"), 0);

    create_running(name, db, cn, sizeof cn);
    const char *snap_sql = "SELECT status || '|' || version || '|' || updated_at || '|' ||"
                           " coalesce(lease_pid, '-') || '|' || coalesce(error_message, '')"
                           " FROM instances";

    /* stop: exit 6, status, history, version and lease unchanged; the container still runs */
    char *before = tu_sql(E.db, snap_sql);
    long rows = history_rows(name);
    r = IC(bad, "stop", name);
    ck_assert_msg(r.status == 6, "stop with no engine: exit %d: %s", r.status, r.err);
    tu_run_free(&r);
    char *after = tu_sql(E.db, snap_sql);
    ck_assert_str_eq(after, before);
    ck_assert_int_eq(history_rows(name), rows);
    TU_ASSERT_DOCKER_STATE(cn, "running");
    free(before);
    free(after);

    /* restart: the same */
    before = tu_sql(E.db, snap_sql);
    r = IC(bad, "restart", name);
    ck_assert_msg(r.status == 6, "restart with no engine: exit %d: %s", r.status, r.err);
    tu_run_free(&r);
    after = tu_sql(E.db, snap_sql);
    ck_assert_str_eq(after, before);
    free(before);
    free(after);

    /* start from stopped: exit 6, nothing written, the container stays exited */
    r = IC("stop", name);
    ck_assert_int_eq(r.status, 0);
    tu_run_free(&r);
    before = tu_sql(E.db, snap_sql);
    rows = history_rows(name);
    r = IC(bad, "start", name);
    ck_assert_msg(r.status == 6, "start with no engine: exit %d: %s", r.status, r.err);
    tu_run_free(&r);
    after = tu_sql(E.db, snap_sql);
    ck_assert_str_eq(after, before);
    ck_assert_int_eq(history_rows(name), rows);
    ASSERT_DB_STATUS(name, "stopped");
    TU_ASSERT_DOCKER_STATE(cn, "exited");
    free(before);
    free(after);

    /* DOCKER_HOST in the environment is honoured the same way */
    setenv("DOCKER_HOST", "unix:///nonexistent.sock", 1);
    r = IC("start", name);
    unsetenv("DOCKER_HOST");
    ck_assert_msg(r.status == 6, "start with DOCKER_HOST unreachable: exit %d: %s", r.status,
                  r.err);
    tu_run_free(&r);
    ASSERT_DB_STATUS(name, "stopped");
    ck_assert_int_eq(history_rows(name), rows);
}
END_TEST

/* Asserts one create is refused with exit 2 and leaves nothing anywhere. */
static void assert_create_refused(const char *name, const char *db, const char *email,
                                  const char *pwfile, const char *host)
{
    tu_run r = host != NULL ? IC(host, "create", name, "--database", db, "--admin-email", email,
                                 "--admin-password-file", pwfile)
                            : IC("create", name, "--database", db, "--admin-email", email,
                                 "--admin-password-file", pwfile);
    ck_assert_msg(r.status == 2, "create \"%s\" --database \"%s\" --admin-email \"%s\"%s: exit %d",
                  name, db, email, host ? " (no engine)" : "", r.status);
    ck_assert_msg(r.err[0] != '\0', "no message for an invalid create");
    tu_run_free(&r);
    ck_assert_int_eq(sql_long("SELECT count(*) FROM instances"), 0);
    ck_assert_int_eq(sql_long("SELECT count(*) FROM status_events"), 0);
}

START_TEST(test_bad_input)
{
    char name[64], db[64], email[128], pwfile[320];
    names("bad", name, sizeof name, db, sizeof db);
    email_for(name, email, sizeof email);
    password_file("pwBadInput1", pwfile, sizeof pwfile);
    char longname[301];
    memset(longname, 'a', 300);
    longname[300] = '\0';
    char name64[65];
    memset(name64, 'b', 64);
    name64[64] = '\0';
    const char *bad_names[] = {"Café 1", "a/b",    longname, name64,       "",
                               "-lead",  "trail-", "UPPER",  "with space", "dot.name"};
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++)
        assert_create_refused(bad_names[i], db, email, pwfile, NULL);
    const char *bad_emails[] = {"not-an-email",   "a@b", "@example.com", "a b@example.com",
                                "a@@example.com", ""};
    for (size_t i = 0; i < sizeof bad_emails / sizeof bad_emails[0]; i++)
        assert_create_refused(name, db, bad_emails[i], pwfile, NULL);
    /* Odoo's DBNAME_PATTERN [a-zA-Z0-9][a-zA-Z0-9_.-]+, and never the server's own */
    const char *bad_dbs[] = {
        ".abc",     "_x",
        "a;drop",   "has space",
        "postgres", "template1",
        "",         "d234567890123456789012345678901234567890123456789012345678901234"};
    for (size_t i = 0; i < sizeof bad_dbs / sizeof bad_dbs[0]; i++)
        assert_create_refused(name, bad_dbs[i], email, pwfile, NULL);
    /* validated before any Docker call: exit 2, not 6, with no engine */
    assert_create_refused("Café 1", db, email, pwfile, "--docker-host=unix:///nonexistent.sock");
    assert_create_refused(name, ".abc", email, pwfile, "--docker-host=unix:///nonexistent.sock");
    /* a bad version, a bad pull policy, a missing option */
    tu_run r = IC("create", name, "--database", db, "--admin-email", email, "--admin-password-file",
                  pwfile, "--odoo-version", "17");
    ck_assert_msg(r.status == 2, "--odoo-version 17: exit %d", r.status);
    tu_run_free(&r);
    r = IC("create", name, "--database", db, "--admin-email", email, "--admin-password-file",
           pwfile, "--pull", "always");
    ck_assert_msg(r.status == 2, "--pull always: exit %d", r.status);
    tu_run_free(&r);
    r = IC("create", name, "--database", db, "--admin-password-file", pwfile);
    ck_assert_msg(r.status == 2, "create without --admin-email: exit %d", r.status);
    tu_run_free(&r);
    /* no password (no file, no terminal) is a usage error too */
    r = IC("create", name, "--database", db, "--admin-email", email);
    ck_assert_msg(r.status == 2, "create without a password: exit %d", r.status);
    tu_run_free(&r);
    ck_assert_int_eq(sql_long("SELECT count(*) FROM instances"), 0);
    ck_assert_int_eq(labelled("containers"), 0);
    ck_assert_int_eq(labelled("volumes"), 0);
}
END_TEST

/* Runs `instctl create name --database db ...` in a child; returns its pid. */
static pid_t bg_create(const char *name, const char *db, const char *email, const char *pwfile)
{
    pid_t pid = fork();
    if (pid == 0) {
        tu_run r = IC("create", name, "--database", db, "--admin-email", email,
                      "--admin-password-file", pwfile);
        _exit(r.status);
    }
    return pid;
}

static int wait_exit(pid_t pid);

START_TEST(test_duplicate_name)
{
    char name[64], db[64], cn[160], email[128], pwfile[320];
    names("dup", name, sizeof name, db, sizeof db);
    email_for(name, email, sizeof email);
    password_file("pwDuplicate1", pwfile, sizeof pwfile);
    char db2[64], name2[64];
    snprintf(db2, sizeof db2, "%s_2", db);
    snprintf(name2, sizeof name2, "%s-2", name);

    /* two creates of one name at once: one wins, the other is refused (exit 2, not 8) */
    pid_t a = bg_create(name, db, email, pwfile);
    pid_t b = bg_create(name, db2, email, pwfile);
    ck_assert(a > 0 && b > 0);
    int ra = wait_exit(a), rb = wait_exit(b);
    ck_assert_msg((ra == 0 && rb == 2) || (ra == 2 && rb == 0),
                  "two creates of %s at once exited %d and %d", name, ra, rb);
    ck_assert_int_eq(sql_long("SELECT count(*) FROM instances"), 1);
    ASSERT_DB_STATUS(name, "running");
    char *won = db_field(name, "database_name");
    if (strcmp(won, db) != 0) { /* the second won: swap, so db is the live one's */
        snprintf(db2, sizeof db2, "%s", db);
        snprintf(db, sizeof db, "%s", won);
    }
    free(won);
    char *cnp = db_field(name, "container_name");
    snprintf(cn, sizeof cn, "%s", cnp);
    free(cnp);
    TU_ASSERT_DOCKER_STATE(cn, "running");
    ck_assert_int_eq(labelled("containers"), 1);
    ck_assert_int_eq(labelled("volumes"), 1);
    char *id = db_field(name, "id");
    char *version = db_field(name, "version");

    /* the same name, another database */
    tu_run r = IC("create", name, "--database", db2, "--admin-email", email,
                  "--admin-password-file", pwfile);
    ck_assert_msg(r.status == 2, "second create of name %s: exit %d: %s", name, r.status, r.err);
    ck_assert_msg(strstr(r.err, name) != NULL, "the refusal does not name %s: %s", name, r.err);
    tu_run_free(&r);
    /* another name, the same database */
    r = IC("create", name2, "--database", db, "--admin-email", email, "--admin-password-file",
           pwfile);
    ck_assert_msg(r.status == 2, "second create of database %s: exit %d: %s", db, r.status, r.err);
    tu_run_free(&r);

    /* nothing half-made: one row, one container, one volume; the first untouched */
    ck_assert_int_eq(sql_long("SELECT count(*) FROM instances"), 1);
    ck_assert_int_eq(sql_long("SELECT count(*) FROM status_events"), 2);
    ck_assert_int_eq(labelled("containers"), 1);
    ck_assert_int_eq(labelled("volumes"), 1);
    ASSERT_DB_STATUS(name, "running");
    char *id2 = db_field(name, "id");
    char *v2 = db_field(name, "version");
    ck_assert_str_eq(id2, id);
    ck_assert_str_eq(v2, version);
    TU_ASSERT_DOCKER_STATE(cn, "running");
    char *other = tu_shf(
        NULL, "docker ps -a --format '{{.Names}}' | grep -cE '^odoo_%s_[0-9a-f]{8}$' || true", db2);
    ck_assert_str_eq(other, "0");
    free(other);
    free(id);
    free(id2);
    free(version);
    free(v2);
}
END_TEST

START_TEST(test_missing_image)
{
    char name[64], db[64], email[128], pwfile[320];
    names("img", name, sizeof name, db, sizeof db);
    email_for(name, email, sizeof email);
    password_file("pwMissingImage1", pwfile, sizeof pwfile);
    const char *image = "instctl/does-not-exist:1";
    free(tu_shf(NULL, "docker image rm -f %s >/dev/null 2>&1; true", image));

    double t0 = tu_now_s();
    tu_run r = IC("create", name, "--database", db, "--admin-email", email, "--admin-password-file",
                  pwfile, "--image", image, "--pull", "never");
    double took = tu_now_s() - t0;
    ck_assert_msg(r.status == 1, "create with a missing image: exit %d: %s", r.status, r.err);
    ck_assert_msg(strstr(r.err, image) != NULL, "stderr does not name the image: %s", r.err);
    tu_run_free(&r);
    ck_assert_msg(took < 10, "a missing image did not fail fast (%.1f s)", took);
    ASSERT_DB_STATUS(name, "error");
    char *msg = db_field(name, "error_message");
    ck_assert_msg(strstr(msg, "step image") != NULL, "error_message does not name the step: %s",
                  msg);
    ck_assert_msg(strstr(msg, image) != NULL, "error_message does not name the image: %s", msg);
    free(msg);
    char *img = db_field(name, "image");
    ck_assert_str_eq(img, image);
    free(img);
    ASSERT_HISTORY(name, "->creating(action) creating>error(action)");
    ck_assert_int_eq(sql_long("SELECT count(*) FROM instances WHERE lease_pid IS NOT NULL"), 0);
    /* failed at the first step: no container, no volume */
    ck_assert_int_eq(labelled("containers"), 0);
    ck_assert_int_eq(labelled("volumes"), 0);
    char *cn = db_field(name, "container_name");
    TU_ASSERT_DOCKER_STATE(cn, "missing");
    free(cn);

    /* show --json reports it */
    r = IC("show", name, "--json");
    ck_assert_int_eq(r.status, 0);
    cJSON *j = cJSON_Parse(r.out);
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(j, "status")->valuestring, "error");
    ck_assert(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "error_message")));
    ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "container_id")));
    cJSON_Delete(j);
    tu_run_free(&r);
}
END_TEST

/* ---- two stops at once ---- */

/* Runs instctl with args in a child; returns its pid. The child exits with instctl's status. */
static pid_t ic_background(const char *a1, const char *a2, const char *a3)
{
    pid_t pid = fork();
    if (pid == 0) {
        tu_run r = IC(a1, a2, a3);
        _exit(r.status);
    }
    return pid;
}

static int wait_exit(pid_t pid)
{
    int st;
    if (waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

START_TEST(test_stop_lease)
{
    char name[64], db[64], cn[160];
    names("lease", name, sizeof name, db, sizeof db);
    create_running(name, db, cn, sizeof cn);
    char *id = db_field(name, "id");

    /* this process holds the instance's lease */
    lc_store *s = NULL;
    lc_diag d = {{0}};
    ck_assert_msg(store_open(E.db, 0, &s, &d) == LC_OK, "store_open: %s", d.msg);
    lc_instance fresh;
    ck_assert_msg(store_lease_take(s, id, 60, &fresh, &d) == LC_OK, "lease: %s", d.msg);
    ck_assert_int_eq(sql_long("SELECT lease_pid FROM instances WHERE id = '%s'", id), getpid());

    /* stop without --wait: busy, exit 5, a message, nothing changed */
    long rows = history_rows(name);
    tu_run r = IC("stop", name);
    ck_assert_msg(r.status == 5, "stop while the lease is held: exit %d: %s", r.status, r.err);
    ck_assert_msg(strstr(r.err, "busy") != NULL, "stop while busy says: %s", r.err);
    tu_run_free(&r);
    ASSERT_DB_STATUS(name, "running");
    TU_ASSERT_DOCKER_STATE(cn, "running");
    ck_assert_int_eq(history_rows(name), rows);
    ck_assert_int_eq(sql_long("SELECT lease_pid FROM instances WHERE id = '%s'", id), getpid());

    /* --wait=20 stop waits for the lease, then stops */
    double t0 = tu_now_s();
    pid_t bg = ic_background("--wait=20", "stop", name);
    ck_assert_int_gt(bg, 0);
    usleep(1000 * 1000);
    int st;
    ck_assert_msg(waitpid(bg, &st, WNOHANG) == 0, "--wait stop did not wait for the lease");
    ASSERT_DB_STATUS(name, "running");
    TU_ASSERT_DOCKER_STATE(cn, "running");
    ck_assert_msg(store_lease_release(s, id, &d) == LC_OK, "release: %s", d.msg);
    int rc = wait_exit(bg);
    double took = tu_now_s() - t0;
    ck_assert_msg(rc == 0, "--wait=20 stop after the lease was released: exit %d", rc);
    ck_assert_msg(took >= 1.0 && took < 15, "--wait stop took %.1f s", took);
    ASSERT_DB_STATUS(name, "stopped");
    TU_ASSERT_DOCKER_STATE(cn, "exited");
    ASSERT_HISTORY(name, "->creating(action) creating>running(action) running>stopped(action)");
    ck_assert_int_eq(sql_long("SELECT count(*) FROM instances WHERE lease_pid IS NOT NULL"), 0);
    store_close(s);

    /* a lease whose holder died is broken: stop succeeds at once */
    r = IC("start", name);
    ck_assert_int_eq(r.status, 0);
    tu_run_free(&r);
    pid_t holder = fork();
    if (holder == 0) {
        lc_store *hs = NULL;
        lc_diag hd;
        lc_instance hf;
        int ok = store_open(E.db, 0, &hs, &hd) == LC_OK &&
                 store_lease_take(hs, id, 120, &hf, &hd) == LC_OK;
        _exit(ok ? 0 : 1); /* dies holding the lease */
    }
    ck_assert_int_eq(wait_exit(holder), 0);
    ck_assert_int_eq(sql_long("SELECT lease_pid FROM instances WHERE id = '%s'", id), holder);
    ck_assert_int_gt(sql_long("SELECT lease_deadline FROM instances WHERE id = '%s'", id),
                     (long)time(NULL) + 60);
    t0 = tu_now_s();
    r = IC("stop", name);
    took = tu_now_s() - t0;
    ck_assert_msg(r.status == 0, "stop with a dead holder's lease: exit %d: %s", r.status, r.err);
    tu_run_free(&r);
    ck_assert_msg(took < 5, "stop with a dead holder's lease took %.1f s", took);
    ASSERT_DB_STATUS(name, "stopped");
    TU_ASSERT_DOCKER_STATE(cn, "exited");
    ck_assert_int_eq(sql_long("SELECT count(*) FROM instances WHERE lease_pid IS NOT NULL"), 0);
    ASSERT_HISTORY(name, "->creating(action) creating>running(action) running>stopped(action) "
                         "stopped>running(action) running>stopped(action)");
    free(id);
}
END_TEST

START_TEST(test_stop_race)
{
    char name[64], db[64], cn[160];
    names("race", name, sizeof name, db, sizeof db);
    create_running(name, db, cn, sizeof cn);

    /* without --wait: each exits 0 (stopped it, or found it stopped) or 5 (busy) */
    pid_t a = ic_background("stop", name, NULL);
    pid_t b = ic_background("stop", name, NULL);
    int ra = wait_exit(a), rb = wait_exit(b);
    ck_assert_msg((ra == 0 || ra == 5) && (rb == 0 || rb == 5) && (ra == 0 || rb == 0),
                  "two stops at once exited %d and %d", ra, rb);
    ASSERT_DB_STATUS(name, "stopped");
    TU_ASSERT_DOCKER_STATE(cn, "exited");
    ASSERT_HISTORY(name, "->creating(action) creating>running(action) running>stopped(action)");

    /* with --wait: both exit 0, one stop recorded */
    tu_run r = IC("start", name);
    ck_assert_int_eq(r.status, 0);
    tu_run_free(&r);
    pid_t w[3];
    for (int i = 0; i < 3; i++)
        w[i] = ic_background("--wait=30", "stop", name);
    for (int i = 0; i < 3; i++) {
        int rc = wait_exit(w[i]);
        ck_assert_msg(rc == 0, "stop --wait #%d exited %d", i, rc);
    }
    ASSERT_DB_STATUS(name, "stopped");
    TU_ASSERT_DOCKER_STATE(cn, "exited");
    ASSERT_HISTORY(name, "->creating(action) creating>running(action) running>stopped(action) "
                         "stopped>running(action) running>stopped(action)");
    ck_assert_int_eq(sql_long("SELECT count(*) FROM instances WHERE lease_pid IS NOT NULL"), 0);
}
END_TEST

/* Sleeps until the wall clock is half-way through a second. */
static void align_half_second(void)
{
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    long ns = (wall.tv_nsec < 500000000L ? 500000000L : 1500000000L) - wall.tv_nsec;
    usleep((useconds_t)(ns / 1000));
}

/*
 * --wait=S waits S seconds for another holder's lease before exit 5. Each
 * run starts half-way through a wall-clock second, so a deadline kept in
 * whole seconds (time(NULL) + S) shows: it gives up at a second boundary,
 * about half a second early. The row is a create in flight (creating, its
 * lease held by this process), which only terminate may act on.
 */
START_TEST(test_wait_deadline)
{
    char name[64], db[64];
    names("wait", name, sizeof name, db, sizeof db);
    lc_store *s = NULL;
    lc_diag d = {{0}};
    ck_assert_msg(store_open(E.db, 0, &s, &d) == LC_OK, "store_open: %s", d.msg);
    lc_instance in;
    memset(&in, 0, sizeof in);
    lc_new_uuid(in.id);
    snprintf(in.name, sizeof in.name, "%s", name);
    snprintf(in.admin_email, sizeof in.admin_email, "a@example.com");
    snprintf(in.database_name, sizeof in.database_name, "%s", db);
    snprintf(in.odoo_version, sizeof in.odoo_version, "17.0");
    snprintf(in.image, sizeof in.image, "instctl/odoo-standin:17.0");
    lc_container_name_for(db, in.id, in.container_name, sizeof in.container_name);
    snprintf(in.volume_name, sizeof in.volume_name, "%s_g1", in.container_name);
    in.status = INSTANCE_CREATING;
    in.suspended_from = in.previous_status = -1;
    snprintf(in.op_step, sizeof in.op_step, "image");
    in.op_deadline = time(NULL) + 120;
    ck_assert_msg(store_insert(s, &in, 120, &d) == LC_OK, "store_insert: %s", d.msg);
    ck_assert_int_eq(sql_long("SELECT lease_pid FROM instances WHERE id = '%s'", in.id), getpid());

    /* no --wait: busy at once */
    double t0 = tu_now_s();
    tu_run r = IC("terminate", name);
    ck_assert_msg(r.status == 5, "terminate while create holds the lease: exit %d: %s", r.status,
                  r.err);
    ck_assert_msg(strstr(r.err, "busy") != NULL, "terminate while busy says: %s", r.err);
    tu_run_free(&r);
    ck_assert_msg(tu_now_s() - t0 < 5, "terminate without --wait waited");

    const char *waits[] = {"--wait=1", "--wait=2"};
    for (int i = 0; i < 2; i++) {
        align_half_second();
        t0 = tu_now_s();
        r = IC(waits[i], "terminate", name);
        double waited = tu_now_s() - t0;
        ck_assert_msg(r.status == 5, "%s terminate while the lease is held: exit %d: %s", waits[i],
                      r.status, r.err);
        tu_run_free(&r);
        ck_assert_msg(waited >= i + 1 - 0.05, "%s gave up after %.2f s", waits[i], waited);
        ck_assert_msg(waited < i + 1 + 5, "%s waited %.2f s", waits[i], waited);
    }
    ASSERT_DB_STATUS(name, "creating");
    ck_assert_int_eq(history_rows(name), 1);
    ck_assert_int_eq(sql_long("SELECT lease_pid FROM instances WHERE id = '%s'", in.id), getpid());
    ck_assert_int_eq(labelled("containers"), 0);
    store_close(s);
}
END_TEST

/* ---- show --json and the error exits ---- */

static bool is_rfc3339(const char *s)
{
    regex_t re;
    regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?Z$",
            REG_EXTENDED | REG_NOSUB);
    bool ok = regexec(&re, s, 0, NULL, 0) == 0;
    regfree(&re);
    return ok;
}

static bool has_string(const cJSON *arr, const char *s)
{
    const cJSON *v;
    cJSON_ArrayForEach(v, arr)
    {
        if (cJSON_IsString(v) && strcmp(v->valuestring, s) == 0)
            return true;
    }
    return false;
}

START_TEST(test_show_json)
{
    char name[64], db[64], cn[160];
    names("show", name, sizeof name, db, sizeof db);
    create_running(name, db, cn, sizeof cn);
    char *id = db_field(name, "id");
    char *cid = db_field(name, "container_id");

    /* the global option after the command */
    tu_run r = IC("show", name, "--json");
    ck_assert_msg(r.status == 0, "show --json: exit %d: %s", r.status, r.err);
    cJSON *j = cJSON_Parse(r.out);
    ck_assert_msg(cJSON_IsObject(j), "show --json does not parse: %s", r.out);
    const char *keys[] = {"id",
                          "name",
                          "status",
                          "database_name",
                          "odoo_version",
                          "image",
                          "container_name",
                          "container_id",
                          "error_message",
                          "holds",
                          "suspended_from",
                          "allowed_actions",
                          "created_at",
                          "updated_at",
                          "container"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        ck_assert_msg(cJSON_HasObjectItem(j, keys[i]), "show --json lacks \"%s\": %s", keys[i],
                      r.out);
#define STR(k) cJSON_GetObjectItemCaseSensitive(j, k)->valuestring
    ck_assert_str_eq(STR("id"), id);
    ck_assert_str_eq(STR("name"), name);
    ck_assert_str_eq(STR("status"), "running");
    ck_assert_str_eq(STR("database_name"), db);
    ck_assert_str_eq(STR("odoo_version"), "17.0");
    ck_assert_str_eq(STR("image"), "instctl/odoo-standin:17.0");
    ck_assert_str_eq(STR("container_name"), cn);
    ck_assert_str_eq(STR("container_id"), cid);
    ck_assert_msg(is_rfc3339(STR("created_at")), "created_at %s", STR("created_at"));
    ck_assert_msg(is_rfc3339(STR("updated_at")), "updated_at %s", STR("updated_at"));
#undef STR
    ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "error_message")));
    ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "suspended_from")));
    cJSON *holds = cJSON_GetObjectItemCaseSensitive(j, "holds");
    ck_assert(cJSON_IsArray(holds) && cJSON_GetArraySize(holds) == 0);
    cJSON *allowed = cJSON_GetObjectItemCaseSensitive(j, "allowed_actions");
    ck_assert(cJSON_IsArray(allowed));
    ck_assert(has_string(allowed, "stop") && has_string(allowed, "restart") &&
              has_string(allowed, "terminate"));
    ck_assert_msg(!has_string(allowed, "start"), "start is allowed from running?");
    /* no database server (db_host) in this store: rotate-credentials is not offered, and
     * refused with exit 2 before anything is recorded */
    ck_assert_msg(!has_string(allowed, "rotate-credentials"), "rotate-credentials offered");
    long events = sql_long("SELECT count(*) FROM status_events");
    tu_run rot = IC("rotate-credentials", name);
    ck_assert_msg(rot.status == 2 && strstr(rot.err, "no database server configured") != NULL,
                  "rotate-credentials without db_host: exit %d: %s", rot.status, rot.err);
    tu_run_free(&rot);
    ck_assert_int_eq(sql_long("SELECT count(*) FROM status_events"), events);
    rot = IC("show", name);
    ck_assert_msg(rot.status == 0 && strstr(rot.out, "rotate-credentials") == NULL,
                  "show offers rotate-credentials: %s", rot.out);
    tu_run_free(&rot);
    cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "container");
    ck_assert(cJSON_IsObject(c));
    const char *ckeys[] = {"state", "exit_code", "health", "started_at"};
    for (size_t i = 0; i < 4; i++)
        ck_assert_msg(cJSON_HasObjectItem(c, ckeys[i]), "container lacks \"%s\"", ckeys[i]);
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(c, "state")->valuestring, "running");
    ck_assert(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(c, "exit_code")));
    ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(c, "exit_code")->valueint, 0);
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(c, "health")->valuestring, "healthy");
    const char *started = cJSON_GetObjectItemCaseSensitive(c, "started_at")->valuestring;
    ck_assert_msg(started != NULL && is_rfc3339(started), "started_at %s", started);
    cJSON_Delete(j);
    tu_run_free(&r);

    /* by id and by an id prefix, --json before the command: the same instance */
    const char *argv1[] = {"--json", "--config", E.conf, "show", id, NULL};
    r = tu_instctl(NULL, argv1);
    ck_assert_int_eq(r.status, 0);
    j = cJSON_Parse(r.out);
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(j, "name")->valuestring, name);
    cJSON_Delete(j);
    tu_run_free(&r);
    char prefix[9];
    snprintf(prefix, sizeof prefix, "%.8s", id);
    r = IC("show", prefix, "--json");
    ck_assert_int_eq(r.status, 0);
    j = cJSON_Parse(r.out);
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(j, "id")->valuestring, id);
    cJSON_Delete(j);
    tu_run_free(&r);

    /* stopped: the container object follows Docker */
    r = IC("stop", name);
    ck_assert_int_eq(r.status, 0);
    tu_run_free(&r);
    r = IC("show", name, "--json");
    ck_assert_int_eq(r.status, 0);
    j = cJSON_Parse(r.out);
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(j, "status")->valuestring, "stopped");
    c = cJSON_GetObjectItemCaseSensitive(j, "container");
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(c, "state")->valuestring, "exited");
    allowed = cJSON_GetObjectItemCaseSensitive(j, "allowed_actions");
    ck_assert(has_string(allowed, "start") && !has_string(allowed, "stop"));
    cJSON_Delete(j);
    tu_run_free(&r);

    /* the container vanished behind instctl's back: show says missing, the status is kept */
    free(tu_shf(NULL, "docker rm -f '%s' >/dev/null 2>&1", cn));
    r = IC("show", name, "--json");
    ck_assert_int_eq(r.status, 0);
    j = cJSON_Parse(r.out);
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(j, "status")->valuestring, "stopped");
    c = cJSON_GetObjectItemCaseSensitive(j, "container");
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(c, "state")->valuestring, "missing");
    cJSON_Delete(j);
    tu_run_free(&r);
    ASSERT_DB_STATUS(name, "stopped");
    free(id);
    free(cid);
}
END_TEST

START_TEST(test_not_found_usage)
{
    const char *cmds[] = {"show", "start", "stop", "restart", "terminate", "history"};
    char ghost[64];
    snprintf(ghost, sizeof ghost, "lc-%s-ghost", E.tag);
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        tu_run r = IC(cmds[i], ghost);
        ck_assert_msg(r.status == 4, "%s of an unknown instance: exit %d: %s", cmds[i], r.status,
                      r.err);
        ck_assert_msg(strstr(r.err, ghost) != NULL, "%s does not name %s: %s", cmds[i], ghost,
                      r.err);
        tu_run_free(&r);
    }
    tu_run r = IC("show", "00000000-0000-4000-8000-000000000000", "--json");
    ck_assert_int_eq(r.status, 4);
    tu_run_free(&r);
    r = IC("action", ghost, "stop");
    ck_assert_int_eq(r.status, 4);
    tu_run_free(&r);

    r = IC("frobnicate");
    ck_assert_msg(r.status == 2, "unknown command: exit %d", r.status);
    ck_assert_msg(strstr(r.err, "frobnicate") != NULL, "unknown command says: %s", r.err);
    tu_run_free(&r);
    r = IC("action", ghost, "frobnicate");
    ck_assert_msg(r.status == 2, "unknown action: exit %d", r.status);
    tu_run_free(&r);
    r = IC("list", "--status", "paused");
    ck_assert_msg(r.status == 2, "list --status paused: exit %d", r.status);
    tu_run_free(&r);
    r = IC("show");
    ck_assert_msg(r.status == 2, "show without an instance: exit %d", r.status);
    tu_run_free(&r);
    r = IC("stop", ghost, "extra");
    ck_assert_msg(r.status == 2, "stop with two instances: exit %d", r.status);
    tu_run_free(&r);
    ck_assert_int_eq(sql_long("SELECT count(*) FROM instances"), 0);
}
END_TEST

/* ---- the suite ---- */

static void add_case(Suite *s, const char *name, const TTest *test)
{
    TCase *tc = tcase_create(name);
    tcase_add_unchecked_fixture(tc, env_setup, env_teardown);
    tcase_add_checked_fixture(tc, checked_setup, checked_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test);
    suite_add_tcase(s, tc);
}

Suite *suite_lifecycle(void)
{
    Suite *s = suite_create("lifecycle");
    add_case(s, "create_history", test_create_history);
    add_case(s, "create_no_wait", test_create_no_wait);
    add_case(s, "stop_start_restart", test_stop_start_restart);
    add_case(s, "already", test_already);
    add_case(s, "terminate", test_terminate);
    add_case(s, "error_recreate", test_error_recreate);
    add_case(s, "stats_zero", test_stats_zero);
    add_case(s, "password_secrecy", test_password_secrecy);
    add_case(s, "engine_unreachable", test_engine_unreachable);
    add_case(s, "bad_input", test_bad_input);
    add_case(s, "duplicate_name", test_duplicate_name);
    add_case(s, "missing_image", test_missing_image);
    add_case(s, "stop_lease", test_stop_lease);
    add_case(s, "stop_race", test_stop_race);
    add_case(s, "wait_deadline", test_wait_deadline);
    add_case(s, "show_json", test_show_json);
    add_case(s, "not_found_usage", test_not_found_usage);
    return s;
}
