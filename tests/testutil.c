/* Helpers shared by the test suites; see testutil.h. */
#include "testutil.h"
#include <check.h>
#include <ctype.h>
#include <errno.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void drain(int outfd, int errfd, tu_run *r)
{
    size_t cap[2] = {4096, 4096}, len[2] = {0, 0};
    char *buf[2] = {malloc(cap[0]), malloc(cap[1])};
    struct pollfd p[2] = {{.fd = outfd, .events = POLLIN}, {.fd = errfd, .events = POLLIN}};
    int open_fds = 2;
    while (open_fds > 0) {
        if (poll(p, 2, -1) < 0)
            break;
        for (int i = 0; i < 2; i++) {
            if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            if (len[i] + 4096 + 1 > cap[i]) {
                cap[i] *= 2;
                buf[i] = realloc(buf[i], cap[i]);
            }
            ssize_t n = read(p[i].fd, buf[i] + len[i], 4096);
            if (n <= 0) {
                close(p[i].fd);
                p[i].fd = -1;
                open_fds--;
            } else {
                len[i] += (size_t)n;
            }
        }
    }
    buf[0][len[0]] = '\0';
    buf[1][len[1]] = '\0';
    r->out = buf[0];
    r->err = buf[1];
}

/* With INSTCTL_TEST_TRACE set, each command run and its duration go to stderr. */
static void trace(char *const *argv, double t0)
{
    if (getenv("INSTCTL_TEST_TRACE") == NULL)
        return;
    char line[256] = "";
    for (size_t i = 0; argv[i] != NULL && strlen(line) + 2 < sizeof line; i++)
        snprintf(line + strlen(line), sizeof line - strlen(line), "%s%s", i > 0 ? " " : "",
                 argv[i]);
    fprintf(stderr, "[test %6.2fs] %s\n", tu_now_s() - t0, line);
}

static tu_run run_argv(const char *input, char *const *argv)
{
    tu_run r = {.status = -1};
    double t0 = tu_now_s();
    int o[2], e[2], in[2];
    if (pipe(o) || pipe(e) || pipe(in))
        abort();
    pid_t pid = fork();
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(o[1], 1);
        dup2(e[1], 2);
        close_range(3, ~0U, 0);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(in[0]);
    close(o[1]);
    close(e[1]);
    if (input != NULL && write(in[1], input, strlen(input)) < 0)
        perror("write");
    close(in[1]);
    drain(o[0], e[0], &r);
    int st;
    waitpid(pid, &st, 0);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    trace(argv, t0);
    return r;
}

tu_run tu_instctl(const char *input, const char *const *argv)
{
    const char *bin = getenv("INSTCTL_BIN");
    char *args[64];
    size_t n = 0;
    args[n++] = (char *)(bin != NULL ? bin : "build/instctl");
    for (size_t i = 0; argv[i] != NULL && n < 63; i++)
        args[n++] = (char *)argv[i];
    args[n] = NULL;
    return run_argv(input, args);
}

tu_run tu_instctl_vconf(const char *conf, const char *input, va_list ap)
{
    const char *argv[64];
    size_t n = 0;
    argv[n++] = "--config";
    argv[n++] = conf;
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL && n < 63)
        argv[n++] = a;
    argv[n] = NULL;
    return tu_instctl(input, argv);
}

tu_run tu_instctl_conf(const char *conf, const char *input, ...)
{
    va_list ap;
    va_start(ap, input);
    tu_run r = tu_instctl_vconf(conf, input, ap);
    va_end(ap);
    return r;
}

tu_run tu_sh(const char *cmd)
{
    char *args[] = {"sh", "-c", (char *)cmd, NULL};
    return run_argv(NULL, args);
}

void tu_run_free(tu_run *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

char *tu_tmpdir(const char *tag)
{
    char tmpl[256];
    snprintf(tmpl, sizeof tmpl, "/tmp/instctl-test-%s-XXXXXX", tag);
    char *dir = mkdtemp(tmpl);
    return dir != NULL ? strdup(dir) : NULL;
}

char *tu_fixture(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "tests/fixtures/%s", name);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)size + 1);
    size_t got = fread(buf, 1, (size_t)size, f);
    fclose(f);
    buf[got] = '\0';
    if (len != NULL)
        *len = got;
    return buf;
}

char *tu_sql(const char *db_path, const char *sql)
{
    sqlite3 *db;
    char *result = strdup("");
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return result;
    }
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) != NULL) {
            free(result);
            result = strdup((const char *)sqlite3_column_text(st, 0));
        }
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return result;
}

char *tu_vsqlf(const char *db_path, const char *fmt, va_list ap)
{
    char sql[4096];
    vsnprintf(sql, sizeof sql, fmt, ap);
    return tu_sql(db_path, sql);
}

char *tu_sqlf(const char *db_path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *v = tu_vsqlf(db_path, fmt, ap);
    va_end(ap);
    return v;
}

bool tu_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return false;
    bool ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok;
}

/* ---- added for the reconcile suites ---- */

bool tu_sql_exec(const char *db_path, const char *sql)
{
    sqlite3 *db;
    bool ok = sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK;
    if (ok) {
        sqlite3_busy_timeout(db, 5000);
        ok = sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK;
    }
    sqlite3_close(db);
    return ok;
}

char *tu_sql_rows(const char *db_path, const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *st = NULL;
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_busy_timeout(db, 5000);
        sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    }
    while (st != NULL && sqlite3_step(st) == SQLITE_ROW) {
        for (int i = 0; i < sqlite3_column_count(st); i++) {
            const char *v = (const char *)sqlite3_column_text(st, i);
            fprintf(f, "%s%s", i > 0 ? "|" : "", v != NULL ? v : "NULL");
        }
        fputc('\n', f);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    fclose(f);
    return out;
}

int tu_proxy_start(const char *sock, const char *const *faults, const char *log)
{
    const char *build = getenv("BUILD"), *host = getenv("DOCKER_HOST");
    char bin[1024];
    snprintf(bin, sizeof bin, "%s/tests/faultproxy", build != NULL ? build : "build");
    const char *upstream = "/var/run/docker.sock";
    if (host != NULL && strncmp(host, "unix://", 7) == 0)
        upstream = host + 7;
    const char *args[80] = {bin, "--listen", sock, "--upstream", upstream};
    size_t n = 5;
    for (size_t i = 0; faults != NULL && faults[i] != NULL && n < 76; i++) {
        args[n++] = "--fault";
        args[n++] = faults[i];
    }
    if (log != NULL) {
        args[n++] = "--log";
        args[n++] = log;
    }
    args[n] = NULL;
    unlink(sock);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        execv(bin, (char *const *)args);
        _exit(127);
    }
    struct stat sb;
    for (int i = 0; i < 500; i++) {
        if (stat(sock, &sb) == 0 && S_ISSOCK(sb.st_mode))
            return (int)pid;
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return -1;
        nanosleep(&(struct timespec){0, 10 * 1000000}, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

int tu_proxy_stop(int pid)
{
    int st;
    if (pid <= 0 || kill(pid, SIGTERM) != 0 || waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ---- added for the backup suites: a throwaway PostgreSQL server ---- */

#include <arpa/inet.h>
#include <errno.h>
#include <glob.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

int tu_free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = 0;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* The newest /usr/lib/postgresql/<version>/bin holding initdb, into bin. */
static bool pg_bindir(char *bin, size_t len)
{
    glob_t g;
    if (glob("/usr/lib/postgresql/*/bin/initdb", 0, NULL, &g) != 0)
        return false;
    snprintf(bin, len, "%.*s", (int)(strlen(g.gl_pathv[g.gl_pathc - 1]) - strlen("/initdb")),
             g.gl_pathv[g.gl_pathc - 1]);
    globfree(&g);
    return true;
}

/* Runs cmd with sh; false (command and its stderr on ours) when it fails. */
static bool sh_quiet(const char *cmd)
{
    tu_run r = tu_sh(cmd);
    bool ok = r.status == 0;
    if (!ok)
        fprintf(stderr, "tu_pg: %s: exit %d: %s%s\n", cmd, r.status, r.out, r.err);
    tu_run_free(&r);
    return ok;
}

/* initdb and start as postgres, from / (the postgres user may not read the cwd). */
static bool pg_init_and_start(const tu_pg *pg)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "cd / && runuser -u postgres -- %s/initdb -D %s/data -U postgres -E UTF8 "
             "--auth-local=trust --auth-host=scram-sha-256 --no-sync >/dev/null",
             pg->bin, pg->dir);
    if (!sh_quiet(cmd))
        return false;
    snprintf(cmd, sizeof cmd,
             "cd / && runuser -u postgres -- %s/pg_ctl -D %s/data -l %s/log -w -t 60 "
             "-o '-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off' start >/dev/null",
             pg->bin, pg->dir, pg->dir, pg->port, pg->dir);
    return sh_quiet(cmd);
}

/* The password role and its password file. */
static bool pg_make_role(tu_pg *pg)
{
    char password[64], sql[256];
    snprintf(pg->user, sizeof pg->user, "instctl_test");
    snprintf(password, sizeof password, "pw-%d-%ld", (int)getpid(), (long)time(NULL));
    snprintf(pg->password_file, sizeof pg->password_file, "%s/password", pg->dir);
    snprintf(sql, sizeof sql, "CREATE ROLE %s LOGIN CREATEDB CREATEROLE PASSWORD '%s'", pg->user,
             password);
    char *out = tu_pg_query(pg, "postgres", sql);
    bool ok = out != NULL && tu_write_file(pg->password_file, password) &&
              chmod(pg->password_file, 0600) == 0;
    free(out);
    return ok;
}

bool tu_pg_start(tu_pg *pg)
{
    memset(pg, 0, sizeof *pg);
    struct passwd *pw = getpwnam("postgres");
    if (!pg_bindir(pg->bin, sizeof pg->bin) || pw == NULL) {
        fprintf(stderr, "tu_pg: no PostgreSQL server (run scripts/install-deps.sh)\n");
        return false;
    }
    snprintf(pg->dir, sizeof pg->dir, "/tmp/instctl-pg-XXXXXX");
    if (mkdtemp(pg->dir) == NULL || chown(pg->dir, pw->pw_uid, pw->pw_gid) != 0 ||
        (pg->port = tu_free_port()) == 0) {
        fprintf(stderr, "tu_pg: temporary directory or port: %s\n", strerror(errno));
        pg->dir[0] = '\0';
        return false;
    }
    pg->running = pg_init_and_start(pg);
    if (!pg->running || !pg_make_role(pg)) {
        tu_pg_stop(pg);
        return false;
    }
    return true;
}

void tu_pg_stop(tu_pg *pg)
{
    char cmd[1024];
    if (pg->running) {
        snprintf(cmd, sizeof cmd,
                 "cd / && runuser -u postgres -- %s/pg_ctl -D %s/data -m fast -w stop >/dev/null",
                 pg->bin, pg->dir);
        sh_quiet(cmd);
        pg->running = false;
    }
    if (pg->dir[0] == '/') {
        snprintf(cmd, sizeof cmd, "rm -rf %s", pg->dir);
        sh_quiet(cmd);
        pg->dir[0] = '\0';
    }
}

char *tu_pg_query(const tu_pg *pg, const char *db, const char *sql)
{
    char port[16];
    snprintf(port, sizeof port, "%d", pg->port);
    const char *argv[] = {"psql",  "-X", "-q", "-v", "ON_ERROR_STOP=1", "-tA", "-h",
                          pg->dir, "-p", port, "-U", "postgres",        "-d",  db,
                          "-c",    sql,  NULL};
    tu_run r = run_argv(NULL, (char *const *)argv);
    if (r.status != 0) {
        fprintf(stderr, "tu_pg_query %s: exit %d: %s", sql, r.status, r.err);
        tu_run_free(&r);
        return NULL;
    }
    free(r.err);
    size_t n = strlen(r.out);
    while (n > 0 && r.out[n - 1] == '\n')
        r.out[--n] = '\0';
    return r.out;
}

/* ---- added for the crash and concurrency suites ---- */

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdarg.h>

/* The string member key of j, "" when absent or null. */
static const char *jstr(const cJSON *j, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    return cJSON_IsString(v) ? v->valuestring : "";
}

double tu_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void tu_random_hex(char *out, size_t nbytes)
{
    unsigned char b[32] = {0};
    FILE *f = fopen("/dev/urandom", "rb");
    if (f == NULL || fread(b, 1, nbytes, f) != nbytes) {
        for (size_t i = 0; i < nbytes; i++)
            b[i] = (unsigned char)(rand() ^ getpid());
    }
    if (f != NULL)
        fclose(f);
    for (size_t i = 0; i < nbytes; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
    out[2 * nbytes] = '\0';
}

char *tu_trim(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* Runs cmd with `sh -c`: its trimmed stdout; *status its exit, *err its stderr (else dropped). */
static char *sh_capture(const char *cmd, int *status, char **err)
{
    tu_run r = tu_sh(cmd);
    if (status != NULL)
        *status = r.status;
    if (err != NULL)
        *err = r.err;
    else
        free(r.err);
    return tu_trim(r.out);
}

char *tu_vshf(int *status, char **err, const char *fmt, va_list ap)
{
    char cmd[8192];
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    return sh_capture(cmd, status, err);
}

char *tu_shf(int *status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *out = tu_vshf(status, NULL, fmt, ap);
    va_end(ap);
    return out;
}

char *tu_sh_ok(const char *fmt, ...)
{
    char cmd[8192], *err = NULL;
    int status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    char *out = sh_capture(cmd, &status, &err);
    ck_assert_msg(status == 0, "%s: exit %d\nstdout: %s\nstderr: %s", cmd, status, out, err);
    free(err);
    return out;
}

void tu_uuid(char out[40])
{
    FILE *f = fopen("/proc/sys/kernel/random/uuid", "r");
    ck_assert(f != NULL && fgets(out, 40, f) != NULL);
    fclose(f);
    out[strcspn(out, "\n")] = '\0';
}

bool tu_instctl_init(const char *conf, char *uuid, size_t ulen, char *why, size_t len)
{
    tu_run r = tu_instctl(NULL, (const char *[]){"--config", conf, "init", "-q", NULL});
    tu_trim(r.out);
    bool ok = r.status == 0 && strlen(r.out) == 36;
    if (ok)
        snprintf(uuid, ulen, "%s", r.out);
    else
        snprintf(why, len, "instctl init -q: exit %d, out \"%s\" err %s", r.status, r.out, r.err);
    tu_run_free(&r);
    return ok;
}

bool tu_store_make(tu_store *s, const char *tag, const char *extra_conf, char *why, size_t len)
{
    memset(s, 0, sizeof *s);
    char *dir = tu_tmpdir(tag), text[4096], pw[32] = "pw";
    if (dir == NULL) {
        snprintf(why, len, "mkdtemp: %s", strerror(errno));
        return false;
    }
    snprintf(s->dir, sizeof s->dir, "%s", dir);
    free(dir);
    snprintf(s->conf, sizeof s->conf, "%s/instctl.conf", s->dir);
    snprintf(s->db, sizeof s->db, "%s/instctl.db", s->dir);
    snprintf(s->backups, sizeof s->backups, "%s/backups", s->dir);
    snprintf(s->adminpw, sizeof s->adminpw, "%s/admin.pw", s->dir);
    snprintf(text, sizeof text,
             "db = %s\nimage_template = instctl/odoo-standin:{version}\n"
             "backup_dir = %s\n%s",
             s->db, s->backups, extra_conf != NULL ? extra_conf : "");
    tu_random_hex(pw + 2, 12);
    if (!tu_write_file(s->conf, text) || !tu_write_file(s->adminpw, pw)) {
        snprintf(why, len, "cannot write %s", s->conf);
        return false;
    }
    return tu_instctl_init(s->conf, s->uuid, sizeof s->uuid, why, len);
}

static size_t engine_body(char *p, size_t size, size_t n, void *f)
{
    return fwrite(p, size, n, (FILE *)f);
}

int tu_engine(const char *method, const char *path, cJSON **json)
{
    const char *host = getenv("DOCKER_HOST");
    const char *sock =
        host != NULL && strncmp(host, "unix://", 7) == 0 ? host + 7 : "/var/run/docker.sock";
    char url[4096], *body = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&body, &len);
    snprintf(url, sizeof url, "http://docker%s", path);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, engine_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
    long code = -1;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(c);
    fclose(f);
    if (json != NULL)
        *json = code > 0 ? cJSON_Parse(body) : NULL;
    free(body);
    return (int)code;
}

cJSON *tu_engine_labelled(const char *uuid, const char *instance, bool volumes)
{
    char filters[512], *q, path[1024];
    if (instance != NULL)
        snprintf(filters, sizeof filters,
                 "{\"label\":[\"io.instctl.store=%s\",\"io.instctl.instance=%s\"]}", uuid,
                 instance);
    else
        snprintf(filters, sizeof filters, "{\"label\":[\"io.instctl.store=%s\"]}", uuid);
    CURL *c = curl_easy_init();
    q = curl_easy_escape(c, filters, 0);
    snprintf(path, sizeof path, "%s?%sfilters=%s", volumes ? "/volumes" : "/containers/json",
             volumes ? "" : "all=1&", q);
    curl_free(q);
    curl_easy_cleanup(c);
    cJSON *j = NULL;
    if (tu_engine("GET", path, &j) != 200) {
        cJSON_Delete(j);
        return NULL;
    }
    if (!volumes)
        return j;
    cJSON *v = cJSON_DetachItemFromObjectCaseSensitive(j, "Volumes");
    cJSON_Delete(j);
    return cJSON_IsArray(v) ? v : (cJSON_Delete(v), cJSON_CreateArray());
}

void tu_docker_clean(const char *uuid)
{
    char path[512];
    cJSON *list = uuid[0] != '\0' ? tu_engine_labelled(uuid, NULL, false) : NULL;
    for (cJSON *e = list != NULL ? list->child : NULL; e != NULL; e = e->next) {
        snprintf(path, sizeof path, "/containers/%s?force=1&v=1", jstr(e, "Id"));
        tu_engine("DELETE", path, NULL);
    }
    cJSON_Delete(list);
    list = uuid[0] != '\0' ? tu_engine_labelled(uuid, NULL, true) : NULL;
    for (cJSON *e = list != NULL ? list->child : NULL; e != NULL; e = e->next) {
        snprintf(path, sizeof path, "/volumes/%s?force=1", jstr(e, "Name"));
        tu_engine("DELETE", path, NULL);
    }
    cJSON_Delete(list);
}

void tu_store_clean(const tu_store *s)
{
    tu_docker_clean(s->uuid);
    if (strncmp(s->dir, "/tmp/", 5) == 0)
        free(tu_shf(NULL, "rm -rf '%s'", s->dir));
}

char *tu_docker_state(const char *container)
{
    int st;
    char *s = tu_shf(&st, "docker inspect -f '{{.State.Status}}' '%s' 2>/dev/null", container);
    if (st != 0) {
        free(s);
        return strdup("missing");
    }
    return s;
}

char *tu_docker_inspect(const char *container, const char *tmpl)
{
    return tu_shf(NULL, "docker inspect -f '%s' '%s' 2>/dev/null", tmpl, container);
}

bool tu_docker_volume_exists(const char *volume)
{
    int st;
    free(tu_shf(&st, "docker volume inspect '%s' >/dev/null 2>&1", volume));
    return st == 0;
}

pid_t tu_spawn(const char *const *argv, const char *const *env, const char *out, const char *err)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    setpgid(0, 0);
    int in = open("/dev/null", O_RDONLY);
    int o = open(out != NULL ? out : "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0644);
    int e = open(err != NULL ? err : "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (in < 0 || o < 0 || e < 0)
        _exit(127);
    dup2(in, 0);
    dup2(o, 1);
    dup2(e, 2);
    close_range(3, ~0U, 0);
    for (size_t i = 0; env != NULL && env[i] != NULL; i++)
        putenv((char *)env[i]);
    signal(SIGINT, SIG_DFL);
    execvp(argv[0], (char *const *)argv);
    _exit(127);
}

void tu_instctl_argv(const char **argv, size_t n, const char *const *args)
{
    const char *bin = getenv("INSTCTL_BIN");
    size_t k = 0;
    argv[k++] = bin != NULL ? bin : "build/instctl";
    for (size_t i = 0; args[i] != NULL && k + 1 < n; i++)
        argv[k++] = args[i];
    argv[k] = NULL;
}

int tu_wait_exit(pid_t pid, double timeout_s)
{
    double until = tu_now_s() + timeout_s;
    for (;;) {
        int st;
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        if (w < 0 || tu_now_s() > until)
            return -1;
        nanosleep(&(struct timespec){0, 10 * 1000000}, NULL);
    }
}

char *tu_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    char chunk[4096];
    size_t n;
    while (f != NULL && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        fwrite(chunk, 1, n, m);
    if (f != NULL)
        fclose(f);
    fclose(m);
    return buf;
}

/* True when a line of text starts with prefix. */
static bool has_line(const char *text, const char *prefix)
{
    size_t n = strlen(prefix);
    for (const char *l = text; l != NULL && *l != '\0'; l = strchr(l, '\n'), l = l ? l + 1 : l)
        if (strncmp(l, prefix, n) == 0)
            return true;
    return false;
}

bool tu_wait_line(const char *path, const char *prefix, double timeout_s, pid_t watch, int *exited)
{
    double until = tu_now_s() + timeout_s;
    if (exited != NULL)
        *exited = -1;
    for (;;) {
        char *text = tu_read_file(path);
        bool found = has_line(text, prefix);
        free(text);
        if (found)
            return true;
        int st = watch > 0 ? tu_wait_exit(watch, 0) : -1;
        if (st >= 0 || tu_now_s() > until) {
            if (exited != NULL)
                *exited = st;
            return false;
        }
        nanosleep(&(struct timespec){0, 10 * 1000000}, NULL);
    }
}

static bool is_status(const char *s)
{
    static const char *const eight[] = {"creating",    "running",  "stopped", "suspended",
                                        "maintenance", "updating", "error",   "terminated"};
    for (size_t i = 0; i < sizeof eight / sizeof eight[0]; i++)
        if (strcmp(s, eight[i]) == 0)
            return true;
    return false;
}

/* The history of id: one chain (each from is the previous to) ending at status. */
static int check_history(const tu_store *s, const char *id, const char *status, FILE *rep)
{
    tu_run r =
        tu_instctl(NULL, (const char *[]){"--config", s->conf, "--json", "history", id, NULL});
    cJSON *h = r.status == 0 ? cJSON_Parse(r.out) : NULL;
    int n = 0;
    if (!cJSON_IsArray(h)) {
        fprintf(rep, "history: exit %d, %s\n", r.status,
                r.status == 0 ? "not a JSON array" : r.err);
        n++;
    }
    const char *prev = NULL;
    int i = 0;
    for (const cJSON *e = h != NULL ? h->child : NULL; e != NULL; e = e->next, i++) {
        const char *from = jstr(e, "from"), *to = jstr(e, "to");
        if (prev != NULL && strcmp(from, prev) != 0 && n++ < 100)
            fprintf(rep, "history one chain: event %d goes %s -> %s after an event ending at %s\n",
                    i + 1, from[0] ? from : "null", to, prev);
        prev = to;
    }
    if (prev != NULL && strcmp(prev, status) != 0 && ++n)
        fprintf(rep, "history one chain: the last event ends at %s, the status is %s\n", prev,
                status);
    cJSON_Delete(h);
    tu_run_free(&r);
    return n;
}

/* One labelled container against the row: its id, name, volume and state. */
static int check_container(const cJSON *c, const cJSON *row, const char *volume, FILE *rep)
{
    const char *status = jstr(row, "status"), *cid = jstr(row, "container_id");
    const char *c_id = jstr(c, "Id"), *state = jstr(c, "State");
    const cJSON *names = cJSON_GetObjectItemCaseSensitive(c, "Names");
    const char *c_name = cJSON_IsArray(names) && cJSON_IsString(names->child)
                             ? names->child->valuestring + (names->child->valuestring[0] == '/')
                             : "";
    if (strcmp(c_id, cid) != 0 || strcmp(c_name, jstr(row, "container_name")) != 0) {
        fprintf(rep,
                "the container is the row's: %.12s %s (%s) is labelled for the instance, the row "
                "says %.12s %s\n",
                c_id, c_name, state, cid[0] ? cid : "(none)", jstr(row, "container_name"));
        return 1;
    }
    int n = 0;
    bool mounted = false;
    const cJSON *m, *mounts = cJSON_GetObjectItemCaseSensitive(c, "Mounts");
    cJSON_ArrayForEach(m, mounts) mounted = mounted || strcmp(jstr(m, "Name"), volume) == 0;
    if (!mounted && ++n)
        fprintf(rep, "the container mounts the row's volume: %s does not mount %s\n", c_name,
                volume);
    bool runs = strcmp(state, "running") == 0 || strcmp(state, "restarting") == 0;
    if (strcmp(status, "running") == 0 && !runs && ++n)
        fprintf(rep, "status agrees with Docker: status running, container %s\n", state);
    if ((strcmp(status, "stopped") == 0 || strcmp(status, "suspended") == 0) && runs && ++n)
        fprintf(rep, "status agrees with Docker: status %s, container %s\n", status, state);
    if (strcmp(status, "error") == 0 && runs && ++n)
        fprintf(rep,
                "status agrees with Docker: status error, container %s (an interrupted or "
                "failed operation leaves its container stopped)\n",
                state);
    return n;
}

/* Docker's side: the containers and volumes labelled for id against the row. */
static int check_docker(const tu_store *s, const char *id, const cJSON *row, const char *volume,
                        FILE *rep)
{
    const char *status = jstr(row, "status"), *cid = jstr(row, "container_id");
    bool live = strcmp(status, "terminated") != 0;
    bool needs = strcmp(status, "running") == 0 || strcmp(status, "stopped") == 0 ||
                 strcmp(status, "suspended") == 0 || strcmp(status, "maintenance") == 0;
    int n = 0, count = 0;
    bool row_seen = false, vol_seen = false;
    cJSON *list = tu_engine_labelled(s->uuid, id, false), *c;
    if (list == NULL) {
        fprintf(rep, "Docker: the engine does not list containers\n");
        return 1;
    }
    cJSON_ArrayForEach(c, list)
    {
        count++;
        row_seen = row_seen || strcmp(jstr(c, "Id"), cid) == 0;
        n += check_container(c, row, volume, rep);
    }
    cJSON_Delete(list);
    if (!live && count > 0 && ++n)
        fprintf(rep, "no container once terminated: %d labelled for it\n", count);
    if (live && count > 1 && ++n)
        fprintf(rep, "one container per live instance: %d labelled for it\n", count);
    if (needs && !row_seen && ++n)
        fprintf(rep, "status agrees with Docker: status %s, the row's container %.12s is missing\n",
                status, cid[0] ? cid : "(none)");
    list = tu_engine_labelled(s->uuid, id, true);
    cJSON_ArrayForEach(c, list)
    {
        const char *v = jstr(c, "Name");
        if (!live && ++n)
            fprintf(rep, "no volume once terminated: %s is left\n", v);
        else if (strcmp(v, volume) != 0 && ++n)
            fprintf(rep, "no volume but the row's: %s is labelled for it, the row says %s\n", v,
                    volume);
        vol_seen = vol_seen || strcmp(v, volume) == 0;
    }
    bool others = cJSON_GetArraySize(list) > (vol_seen ? 1 : 0);
    cJSON_Delete(list);
    if (live && !vol_seen && (needs || others) && ++n)
        fprintf(rep, "the row's volume exists: %s is missing (status %s)%s\n", volume, status,
                others ? ", another volume labelled for it is left" : "");
    return n;
}

/* With a PostgreSQL server: the row's database while live, none named after it. */
static int check_pg(const tu_pg *pg, const char *database, bool live, FILE *rep)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT datname FROM pg_database WHERE starts_with(datname, '%s') ORDER BY 1",
             database);
    char *dbs = tu_pg_query(pg, "postgres", sql);
    int n = 0;
    if (dbs == NULL) {
        fprintf(rep, "database: cannot list PostgreSQL's databases\n");
        return 1;
    }
    bool seen = false;
    char *save = NULL;
    for (char *d = strtok_r(dbs, "\n", &save); d != NULL; d = strtok_r(NULL, "\n", &save)) {
        if (strcmp(d, database) == 0)
            seen = true;
        else if (++n)
            fprintf(rep, "no database but the row's: %s is left beside %s\n", d, database);
    }
    free(dbs);
    if (live && !seen && ++n)
        fprintf(rep, "the row's database exists: %s is missing\n", database);
    if (!live && seen && ++n)
        fprintf(rep, "no database once terminated: %s is left\n", database);
    return n;
}

int tu_check_instance(const tu_store *s, const char *id, const tu_pg *pg, FILE *rep)
{
    tu_run r = tu_instctl(NULL, (const char *[]){"--config", s->conf, "--json", "show", id, NULL});
    cJSON *row = r.status == 0 ? cJSON_Parse(r.out) : NULL;
    if (row == NULL) {
        fprintf(rep, "show: exit %d: %s\n", r.status, r.err);
        tu_run_free(&r);
        return 1;
    }
    tu_run_free(&r);
    int n = 0;
    const char *status = jstr(row, "status");
    if (!is_status(status) && ++n)
        fprintf(rep, "status one of the eight: \"%s\"\n", status);
    if ((strcmp(status, "creating") == 0 || strcmp(status, "updating") == 0) && ++n)
        fprintf(rep, "not left in flight: status %s\n", status);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT ifnull(lease_pid, '') FROM instances WHERE id = '%s'", id);
    char *lease = tu_sql(s->db, sql);
    if (lease[0] != '\0' && ++n)
        fprintf(rep, "no lease left: lease_pid %s\n", lease);
    free(lease);
    snprintf(sql, sizeof sql, "SELECT volume_name FROM instances WHERE id = '%s'", id);
    char *volume = tu_sql(s->db, sql);
    n += check_docker(s, id, row, volume, rep);
    free(volume);
    n += check_history(s, id, status, rep);
    if (pg != NULL)
        n += check_pg(pg, jstr(row, "database_name"), strcmp(status, "terminated") != 0, rep);
    cJSON_Delete(row);
    return n;
}

/* ---- the Prometheus text format checker ---- */

static bool prom_name(const char **p, bool metric)
{
    const char *s = *p;
    if (!(isalpha((unsigned char)*s) || *s == '_' || (metric && *s == ':')))
        return false;
    while (isalnum((unsigned char)*s) || *s == '_' || (metric && *s == ':'))
        s++;
    *p = s;
    return true;
}

/* {name="value",...}: names valid, values with only \\, \" and \n escapes. */
static bool prom_labels(const char **p)
{
    const char *s = *p + 1;
    while (*s != '}') {
        if (!prom_name(&s, false) || *s++ != '=' || *s++ != '"')
            return false;
        for (; *s != '"'; s++) {
            if (*s == '\0' || *s == '\n')
                return false;
            if (*s == '\\' && (s[1] != '\\' && s[1] != '"' && s[1] != 'n'))
                return false;
            if (*s == '\\')
                s++;
        }
        s++;
        if (*s == ',')
            s++;
        else if (*s != '}')
            return false;
    }
    *p = s + 1;
    return true;
}

static bool prom_value(const char *s)
{
    if (strcmp(s, "+Inf") == 0 || strcmp(s, "-Inf") == 0 || strcmp(s, "NaN") == 0)
        return true;
    char *end;
    errno = 0;
    strtod(s, &end);
    return end != s && (*end == '\0' || *end == ' ') && errno == 0;
}

/* One line; families[] collects the names whose samples have ended. */
static const char *prom_line(const char *line, char *family, char (*done)[128], size_t *ndone,
                             char (*typed)[128], size_t *ntyped)
{
    char name[128];
    const char *p = line;
    if (strncmp(line, "# HELP ", 7) == 0 || strncmp(line, "# TYPE ", 7) == 0) {
        p = line + 7;
        const char *n0 = p;
        if (!prom_name(&p, true) || *p != ' ')
            return "bad metric name in a comment";
        snprintf(name, sizeof name, "%.*s", (int)(p - n0), n0);
        if (line[2] == 'T') {
            static const char *const kinds[] = {"counter", "gauge",   "histogram",
                                                "summary", "untyped", NULL};
            bool known = false;
            for (size_t i = 0; kinds[i] != NULL; i++)
                known = known || strcmp(p + 1, kinds[i]) == 0;
            for (size_t i = 0; i < *ntyped; i++)
                if (strcmp(typed[i], name) == 0)
                    return "a second TYPE for one family";
            for (size_t i = 0; i < *ndone; i++)
                if (strcmp(done[i], name) == 0)
                    return "TYPE after the family's samples";
            if (strcmp(family, name) == 0)
                return "TYPE after the family's samples";
            if (!known)
                return "unknown metric type";
            snprintf(typed[(*ntyped)++], 128, "%s", name);
        }
        return NULL;
    }
    if (line[0] == '#')
        return NULL;
    if (!prom_name(&p, true))
        return "bad metric name";
    snprintf(name, sizeof name, "%.*s", (int)(p - line), line);
    if (*p == '{' && !prom_labels(&p))
        return "bad labels";
    if (*p++ != ' ' || !prom_value(p))
        return "bad value";
    if (strcmp(name, family) != 0) {
        for (size_t i = 0; i < *ndone; i++)
            if (strcmp(done[i], name) == 0)
                return "a family's samples are not together";
        if (family[0] != '\0')
            snprintf(done[(*ndone)++], 128, "%s", family);
        snprintf(family, 128, "%s", name);
    }
    return NULL;
}

bool tu_prom_check(const char *text, char *why, size_t len)
{
    static char done[256][128], typed[256][128];
    char family[128] = "", line[4096];
    size_t ndone = 0, ntyped = 0;
    for (const char *p = text; *p != '\0';) {
        size_t n = strcspn(p, "\n");
        if (p[n] != '\n') {
            snprintf(why, len, "last line without a newline");
            return false;
        }
        snprintf(line, sizeof line, "%.*s", (int)n, p);
        const char *bad = ndone < 255 && ntyped < 255
                              ? prom_line(line, family, done, &ndone, typed, &ntyped)
                              : "too many families";
        if (bad != NULL) {
            snprintf(why, len, "%s: %s", bad, line);
            return false;
        }
        p += n + 1;
    }
    return true;
}
