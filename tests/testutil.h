/*
 * Helpers shared by the test suites: running the instctl binary and
 * capturing its output, temporary directories, one-value SQLite queries,
 * fixture files, and Docker's own view through the engine client.
 */
#ifndef TESTUTIL_H
#define TESTUTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

/* The result of one command: exit status (or 128+signal) and its output. */
typedef struct tu_run {
    int status;
    char *out; /* stdout, NUL-terminated, malloc'd */
    char *err; /* stderr, NUL-terminated, malloc'd */
} tu_run;

/*
 * tu_instctl: runs $INSTCTL_BIN (default build/instctl) with argv (NULL-
 * terminated, without argv[0]), stdin from `input` when not NULL (else
 * /dev/null). Free with tu_run_free.
 */
tu_run tu_instctl(const char *input, const char *const *argv);
/*
 * tu_instctl_vconf: runs instctl with "--config conf" then the NULL-
 * terminated string arguments in ap (at most 60), stdin from input.
 */
tu_run tu_instctl_vconf(const char *conf, const char *input, va_list ap);
/* tu_sh: runs `sh -c cmd`, capturing like tu_instctl. */
tu_run tu_sh(const char *cmd);
void tu_run_free(tu_run *r);

/* tu_tmpdir: a new directory under /tmp (static buffer per call, malloc'd). */
char *tu_tmpdir(const char *tag);

/* tu_fixture: reads tests/fixtures/<name> into a malloc'd buffer; *len its size. */
char *tu_fixture(const char *name, size_t *len);

/* tu_sql: the first column of the first row of sql on db_path as a malloc'd string ("" when none).
 */
char *tu_sql(const char *db_path, const char *sql);

/* tu_write_file: writes text to path; true on success. */
bool tu_write_file(const char *path, const char *text);

/* ---- added for the reconcile suites ---- */

/* tu_sql_exec: runs sql (one or more statements) read-write on db_path; true on success. */
bool tu_sql_exec(const char *db_path, const char *sql);

/*
 * tu_sql_rows: every row of sql on db_path, columns joined by '|' and rows
 * by '\n' (NULL as "NULL"), as a malloc'd string: a dump to compare before
 * and after. "" when there are no rows or the query fails.
 */
char *tu_sql_rows(const char *db_path, const char *sql);

/*
 * tu_proxy_start: starts $BUILD/tests/faultproxy (BUILD defaults to "build")
 * listening on sock, forwarding to the engine's socket (DOCKER_HOST when it
 * is unix://, else /var/run/docker.sock), with one --fault per element of
 * faults (NULL-terminated, may be NULL) and --log log when not NULL. Waits
 * up to 5 s for the socket to appear. Returns the pid, or -1.
 */
int tu_proxy_start(const char *sock, const char *const *faults, const char *log);
/* tu_proxy_stop: SIGTERM and wait; returns the exit status (0 for a clean stop). */
int tu_proxy_stop(int pid);

#endif

/* ---- added for the backup suites: a throwaway PostgreSQL server ---- */

/* A PostgreSQL server of Debian's postgresql package, run by tu_pg_start. */
typedef struct tu_pg {
    char bin[128];           /* /usr/lib/postgresql/<version>/bin */
    char dir[128];           /* temporary directory (owned by postgres): data/, log, socket */
    int port;                /* TCP port on 127.0.0.1 */
    char user[32];           /* a LOGIN CREATEDB role with a password (scram-sha-256) */
    char password_file[192]; /* holds that password (0600, root's), inside dir */
    bool running;
} tu_pg;

/*
 * tu_pg_start: initdb (as the postgres user, via runuser) in a new
 * temporary directory and starts the server on a free loopback port with
 * its socket in that directory: local socket connections trust the
 * "postgres" superuser, TCP connections need a password. Creates the role
 * pg->user with the password in pg->password_file. False (reason on
 * stderr) when the binaries are missing (scripts/install-deps.sh) or a
 * step fails; whatever was started is stopped again.
 */
bool tu_pg_start(tu_pg *pg);

/* tu_pg_stop: stops the server (fast) and removes its directory. Safe to call twice. */
void tu_pg_stop(tu_pg *pg);

/*
 * tu_pg_query: runs sql (one or more statements) with psql as the postgres
 * superuser over the server's socket on database db; returns the unaligned,
 * tuples-only output with trailing newlines trimmed (malloc'd), or NULL when
 * psql fails (its stderr goes to ours).
 */
char *tu_pg_query(const tu_pg *pg, const char *db, const char *sql);

/* ---- added for the watch suites: the Prometheus text format ---- */

/*
 * tu_prom_check: checks text against the Prometheus text exposition format
 * (0.0.4): every line a "# HELP name text", "# TYPE name kind" or a sample
 * `name{label="value",...} value` with valid names, escapes and a float
 * value (or +Inf, -Inf, NaN); TYPE at most once per family and before its
 * samples; a family's samples together. False with the line and the
 * reason in why.
 */
bool tu_prom_check(const char *text, char *why, size_t len);
