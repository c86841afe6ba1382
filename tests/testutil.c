/* Helpers shared by the test suites; see testutil.h. */
#include "testutil.h"
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

static tu_run run_argv(const char *input, char *const *argv)
{
    tu_run r = {.status = -1};
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

/* A TCP port on 127.0.0.1 free right now, 0 when none. */
static int free_port(void)
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
    snprintf(sql, sizeof sql, "CREATE ROLE %s LOGIN CREATEDB PASSWORD '%s'", pg->user, password);
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
        (pg->port = free_port()) == 0) {
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
