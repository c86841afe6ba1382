/*
 * pg_dump / pg_restore / dropdb as child processes (fork + execvpe, no
 * shell), the password in a PGPASSFILE that exists only in memory (a
 * memfd, /dev/fd/N), so nothing is left on disk even when instctl is
 * killed. The child runs in its own process group and dies with its parent;
 * a signal that stops instctl (lc_interrupted) kills the group. See pgtools.h.
 */
#include "pgtools.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define STDERR_KEEP 8192
#define EXEC_FAILED "instctl: exec failed"

/* The first line of the password file (without its line end) into buf. */
static lc_err read_password(const char *file, char *buf, size_t cap, lc_diag *d)
{
    FILE *f = fopen(file, "r");
    if (f == NULL)
        return lc_fail(d, LC_EFAILED, "database password file %s: %s", file, strerror(errno));
    buf[0] = '\0';
    bool ok = fgets(buf, (int)cap, f) != NULL || !ferror(f);
    fclose(f);
    if (!ok)
        return lc_fail(d, LC_EFAILED, "database password file %s: read error", file);
    buf[strcspn(buf, "\r\n")] = '\0';
    return LC_OK;
}

/* Writes s with ':' and '\' escaped as a .pgpass field; false on a write error. */
static bool put_field(FILE *f, const char *s)
{
    for (; *s != '\0'; s++)
        if ((*s == ':' || *s == '\\') ? fputc('\\', f) == EOF || fputc(*s, f) == EOF
                                      : fputc(*s, f) == EOF)
            return false;
    return true;
}

/* A 0600 in-memory PGPASSFILE for pg, inherited by the child: its fd into *fd, its path into path. */
static lc_err make_passfile(const lc_pg *pg, int *fd, char *path, size_t cap, lc_diag *d)
{
    char password[1024], port[16];
    lc_err err = read_password(pg->password_file, password, sizeof password, d);
    if (err != LC_OK)
        return err;
    *fd = memfd_create("instctl-pgpass", 0);
    FILE *f = *fd >= 0 && fchmod(*fd, 0600) == 0 ? fdopen(dup(*fd), "w") : NULL;
    if (f == NULL) {
        int saved = errno;
        if (*fd >= 0)
            close(*fd);
        explicit_bzero(password, sizeof password);
        return lc_fail(d, LC_EFAILED, "in-memory password file: %s", strerror(saved));
    }
    snprintf(path, cap, "/dev/fd/%d", *fd);
    snprintf(port, sizeof port, "%d", pg->port);
    bool ok = put_field(f, pg->host) && fputc(':', f) != EOF && put_field(f, port) &&
              fputs(":*:", f) != EOF && put_field(f, pg->user) && fputc(':', f) != EOF &&
              put_field(f, password) && fputc('\n', f) != EOF;
    explicit_bzero(password, sizeof password);
    if (fclose(f) != 0 || !ok) {
        close(*fd);
        return lc_fail(d, LC_EFAILED, "in-memory password file: write error");
    }
    return LC_OK;
}

static bool env_is(const char *entry, const char *name)
{
    size_t n = strlen(name);
    return strncmp(entry, name, n) == 0 && entry[n] == '=';
}

/*
 * The child's environment: ours without PGPASSFILE/PGPASSWORD when a
 * passfile is given, plus PGPASSFILE and a default PGCONNECT_TIMEOUT.
 * Strings are borrowed (passfile_env must outlive it); NULL when out of memory.
 */
static char **child_env(const char *passfile_env)
{
    size_t n = 0;
    while (environ[n] != NULL)
        n++;
    char **env = calloc(n + 3, sizeof *env);
    if (env == NULL)
        return NULL;
    size_t k = 0;
    bool timeout = false;
    for (size_t i = 0; i < n; i++) {
        if (passfile_env != NULL &&
            (env_is(environ[i], "PGPASSFILE") || env_is(environ[i], "PGPASSWORD")))
            continue;
        timeout = timeout || env_is(environ[i], "PGCONNECT_TIMEOUT");
        env[k++] = environ[i];
    }
    if (passfile_env != NULL)
        env[k++] = (char *)passfile_env;
    if (!timeout)
        env[k++] = "PGCONNECT_TIMEOUT=10";
    return env;
}

/*
 * In the child: its own process group, killed when instctl dies, stdin and
 * stdout to /dev/null, stderr to errfd, then exec. Never returns.
 */
static void exec_child(const char *const *argv, char **env, int errfd)
{
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
        dup2(null, 0);
        dup2(null, 1);
    }
    dup2(errfd, 2);
    execvpe(argv[0], (char *const *)argv, env);
    static const char msg[] = "\n" EXEC_FAILED "\n";
    ssize_t w = write(2, msg, sizeof msg - 1);
    (void)w;
    _exit(127);
}

/* Reads fd to its end, keeping the last STDERR_KEEP - 1 bytes in buf (NUL-terminated). */
static void read_tail(int fd, char *buf, pid_t child)
{
    size_t len = 0;
    char chunk[4096];
    ssize_t n;
    while ((n = read(fd, chunk, sizeof chunk)) != 0) {
        if (n < 0 && errno == EINTR && lc_interrupt_pending() && child > 0)
            kill(-child, SIGKILL); /* the whole group: pg_dump and what it started */
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        if (len + (size_t)n >= STDERR_KEEP) {
            size_t drop = len + (size_t)n - (STDERR_KEEP - 1);
            drop = drop > len ? len : drop;
            memmove(buf, buf + drop, len - drop);
            len -= drop;
        }
        size_t take = (size_t)n > STDERR_KEEP - 1 ? STDERR_KEEP - 1 : (size_t)n;
        memcpy(buf + len, chunk + (size_t)n - take, take);
        len += take;
    }
    buf[len] = '\0';
}

/*
 * The line to report: the last one starting with "<tool>: " (libpq adds
 * hints such as 'password retrieved from file ...' after the error), else
 * the last non-empty line. Trims text in place.
 */
static const char *last_line(const char *tool, char *text)
{
    size_t n = strlen(text), tlen = strlen(tool);
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' '))
        text[--n] = '\0';
    for (char *end = text + n; end > text;) {
        char *start = end;
        while (start > text && start[-1] != '\n')
            start--;
        if (strncmp(start, tool, tlen) == 0 && start[tlen] == ':' && start[tlen + 1] == ' ') {
            start[strcspn(start, "\n")] = '\0';
            return start;
        }
        end = start > text ? start - 1 : text;
    }
    char *nl = strrchr(text, '\n');
    return nl != NULL ? nl + 1 : text;
}

/* The tool's outcome from its wait status and stderr. */
static lc_err outcome(const char *tool, int status, char *errtext, lc_diag *d)
{
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return LC_OK;
    const char *line = last_line(tool, errtext);
    if (WIFSIGNALED(status))
        return lc_fail(d, LC_EFAILED, "%s killed by signal %d%s%s", tool, WTERMSIG(status),
                       line[0] != '\0' ? ": " : "", line);
    if (WEXITSTATUS(status) == 127 && strcmp(line, EXEC_FAILED) == 0)
        return lc_fail(d, LC_EFAILED, "%s: cannot run it (install postgresql-client)", tool);
    return lc_fail(d, LC_EFAILED, "%s exited with status %d%s%s", tool, WEXITSTATUS(status),
                   line[0] != '\0' ? ": " : "", line);
}

/* Forks, execs argv with env, captures stderr and waits. */
static lc_err spawn(const char *const *argv, char **env, lc_diag *d)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        return lc_fail(d, LC_EFAILED, "%s: pipe: %s", argv[0], strerror(errno));
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return lc_fail(d, LC_EFAILED, "%s: fork: %s", argv[0], strerror(errno));
    }
    if (pid == 0)
        exec_child(argv, env, p[1]);
    close(p[1]);
    char *errtext = malloc(STDERR_KEEP);
    if (errtext != NULL)
        read_tail(p[0], errtext, pid);
    close(p[0]);
    int status = 0;
    pid_t w;
    while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
        if (lc_interrupt_pending())
            kill(-pid, SIGKILL);
    lc_err err;
    if (lc_interrupt_pending())
        err = lc_fail(d, LC_EINTR, "%s stopped: interrupted", argv[0]);
    else if (w != pid) /* e.g. SIGCHLD ignored by the caller: the exit status is lost */
        err = lc_fail(d, LC_EFAILED, "%s: wait: %s", argv[0], strerror(errno));
    else if (errtext == NULL)
        err = lc_fail(d, LC_ENOMEM, "%s: out of memory", argv[0]);
    else
        err = outcome(argv[0], status, errtext, d);
    free(errtext);
    return err;
}

lc_err pg_run_tool(const lc_pg *pg, const char *const *argv, lc_diag *d)
{
    char passfile[64] = "", passenv[128];
    int passfd = -1;
    bool with_pass = pg->password_file != NULL && pg->password_file[0] != '\0';
    if (with_pass) {
        lc_err err = make_passfile(pg, &passfd, passfile, sizeof passfile, d);
        if (err != LC_OK)
            return lc_prefix(d, err, "%s", argv[0]);
        snprintf(passenv, sizeof passenv, "PGPASSFILE=%s", passfile);
    }
    char **env = child_env(with_pass ? passenv : NULL);
    lc_err err =
        env != NULL ? spawn(argv, env, d) : lc_fail(d, LC_ENOMEM, "%s: out of memory", argv[0]);
    free(env);
    if (passfd >= 0)
        close(passfd);
    return err;
}

/* Checks the server parameters and the database name; fills port. */
static lc_err check_args(const lc_pg *pg, const char *database, char port[16], lc_diag *d)
{
    if (pg->host == NULL || pg->host[0] == '\0' || pg->user == NULL || pg->user[0] == '\0')
        return lc_fail(d, LC_EUSAGE, "database server: no host or user");
    if (pg->port < 1 || pg->port > 65535)
        return lc_fail(d, LC_EUSAGE, "database server: port %d out of range", pg->port);
    if (database == NULL || database[0] == '\0' || database[0] == '-' ||
        strchr(database, '=') != NULL)
        return lc_fail(d, LC_EUSAGE, "database name \"%s\" refused", database ? database : "");
    snprintf(port, 16, "%d", pg->port);
    return LC_OK;
}

lc_err pg_dump_to(const lc_pg *pg, const char *database, const char *file, lc_diag *d)
{
    char port[16];
    lc_err err = check_args(pg, database, port, d);
    if (err != LC_OK)
        return err;
    const char *argv[] = {"pg_dump", "-Fc",    "-w", "-h",     pg->host, "-p", port,
                          "-U",      pg->user, "-d", database, "-f",     file, NULL};
    return pg_run_tool(pg, argv, d);
}

lc_err pg_restore_from(const lc_pg *pg, const char *database, const char *file, lc_diag *d)
{
    char port[16];
    lc_err err = check_args(pg, database, port, d);
    if (err != LC_OK)
        return err;
    const char *argv[] = {"pg_restore", "--no-owner", "-w",     "-h", pg->host, "-p",
                          port,         "-U",         pg->user, "-d", database, file, NULL};
    return pg_run_tool(pg, argv, d);
}

/* psql -X -q -1 -v ON_ERROR_STOP=1 -w ... -d postgres -c sql: one transaction on the server. */
static lc_err run_sql(const lc_pg *pg, const char *sql, lc_diag *d)
{
    char port[16];
    lc_err err = check_args(pg, "postgres", port, d);
    if (err != LC_OK)
        return err;
    const char *argv[] = {"psql", "-X", "-q",     "-1", "-v",       "ON_ERROR_STOP=1",
                          "-w",   "-h", pg->host, "-p", port,       "-U",
                          pg->user, "-d", "postgres", "-c", sql, NULL};
    return pg_run_tool(pg, argv, d);
}

lc_err pg_create_database(const lc_pg *pg, const char *database, lc_diag *d)
{
    char port[16];
    lc_err err = check_args(pg, database, port, d);
    if (err != LC_OK)
        return err;
    const char *argv[] = {"createdb", "-w",     "-h",     pg->host, "-p",
                          port,       "-U",     pg->user, database, NULL};
    return pg_run_tool(pg, argv, d);
}

/*
 * The SQL of a conditional rename pair, run as one transaction: when `when`
 * exists, a -> b then c -> a (ALTER DATABASE is transactional; names are
 * validated identifiers, quoted).
 */
static lc_err swap(const lc_pg *pg, const char *when, const char *a, const char *b, const char *c,
                   lc_diag *d)
{
    char port[16], sql[1024];
    const char *names[] = {when, a, b, c};
    for (size_t i = 0; i < 4; i++) {
        lc_err err = check_args(pg, names[i], port, d);
        if (err == LC_OK && strpbrk(names[i], "\"'\\$") != NULL)
            err = lc_fail(d, LC_EUSAGE, "database name %s cannot be quoted", names[i]);
        if (err != LC_OK)
            return err;
    }
    snprintf(sql, sizeof sql,
             "DO $instctl$ BEGIN IF EXISTS (SELECT 1 FROM pg_database WHERE datname = '%s') THEN"
             " IF EXISTS (SELECT 1 FROM pg_database WHERE datname = '%s') THEN"
             " EXECUTE 'ALTER DATABASE \"%s\" RENAME TO \"%s\"'; END IF;"
             " EXECUTE 'ALTER DATABASE \"%s\" RENAME TO \"%s\"'; END IF; END $instctl$",
             when, a, a, b, c, a);
    return run_sql(pg, sql, d);
}

lc_err pg_switch_database(const lc_pg *pg, const char *live, const char *staging,
                          const char *aside, lc_diag *d)
{
    return swap(pg, staging, live, aside, staging, d);
}

lc_err pg_switch_back(const lc_pg *pg, const char *live, const char *staging, const char *aside,
                      lc_diag *d)
{
    return swap(pg, aside, live, staging, aside, d);
}

lc_err pg_drop_database(const lc_pg *pg, const char *database, lc_diag *d)
{
    char port[16];
    if (pg->host == NULL || pg->host[0] == '\0')
        return LC_OK;
    lc_err err = check_args(pg, database, port, d);
    if (err != LC_OK)
        return err;
    const char *argv[] = {"dropdb", "--if-exists", "-w",     "-h",     pg->host, "-p",
                          port,     "-U",          pg->user, database, NULL};
    return pg_run_tool(pg, argv, d);
}
