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
#include <stdio.h>

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
/*
 * tu_instctl_conf: the same with the arguments as NULL-terminated varargs:
 * instctl --config conf args..., stdin from input (NULL: /dev/null).
 * Free with tu_run_free. Suites wrap it as IC(...) / IC_IN(input, ...)
 * with their case's config.
 */
tu_run tu_instctl_conf(const char *conf, const char *input, ...);
/*
 * tu_sh: runs `sh -c cmd`, capturing like tu_instctl. Every command run
 * through tu_sh and tu_instctl* is printed with its duration on stderr when
 * INSTCTL_TEST_TRACE is set.
 */
tu_run tu_sh(const char *cmd);
void tu_run_free(tu_run *r);

/* tu_tmpdir: a new directory under /tmp (static buffer per call, malloc'd). */
char *tu_tmpdir(const char *tag);

/* tu_fixture: reads tests/fixtures/<name> into a malloc'd buffer; *len its size. */
char *tu_fixture(const char *name, size_t *len);

/* tu_sql: the first column of the first row of sql on db_path as a malloc'd string ("" when none).
 */
char *tu_sql(const char *db_path, const char *sql);
/*
 * tu_sqlf: tu_sql of the printf-formatted query (at most 4095 bytes; the
 * caller quotes what it formats in); a malloc'd string, "" when no row.
 * tu_vsqlf: the same with a va_list.
 */
char *tu_sqlf(const char *db_path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *tu_vsqlf(const char *db_path, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

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

/* ---- added for the backup suites: a throwaway PostgreSQL server ---- */

/* A PostgreSQL server of Debian's postgresql package, run by tu_pg_start. */
typedef struct tu_pg {
    char bin[128];           /* /usr/lib/postgresql/<version>/bin */
    char dir[128];           /* temporary directory (owned by postgres): data/, log, socket */
    int port;                /* TCP port on 127.0.0.1 */
    char user[32];           /* a LOGIN CREATEDB CREATEROLE role with a password (scram-sha-256) */
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

/* ---- added for the crash and concurrency suites ---- */

#include <sys/types.h>

/* tu_now_s: a monotonic clock in seconds. */
double tu_now_s(void);

/* tu_random_hex: 2 * nbytes random lower-case hex digits and a NUL into out (nbytes <= 32). */
void tu_random_hex(char *out, size_t nbytes);

/*
 * tu_shf: runs the formatted command with `sh -c`; returns its stdout with
 * trailing white space trimmed (malloc'd), its exit status into *status
 * when not NULL (stderr is dropped).
 */
char *tu_shf(int *status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* tu_vshf: tu_shf on a va_list; with err not NULL, *err gets stderr (malloc'd) instead of dropping
 * it. */
char *tu_vshf(int *status, char **err, const char *fmt, va_list ap);

/*
 * tu_sh_ok: runs the formatted command with `sh -c`; it must exit 0, else
 * the test fails (Check assertion) naming the command, its exit status,
 * stdout and stderr. Returns its stdout with trailing white space trimmed
 * (malloc'd; the caller frees it). A caller that wants one line of a
 * longer output picks it itself.
 */
char *tu_sh_ok(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* tu_trim: removes trailing white space from s in place; returns s. */
char *tu_trim(char *s);

/* tu_uuid: a new random uuid (36 characters and a NUL, from the kernel) into out; asserts. */
void tu_uuid(char out[40]);

/* tu_free_port: a TCP port on 127.0.0.1 free right now, 0 when none. */
int tu_free_port(void);

/*
 * tu_instctl_init: `instctl --config conf init -q`, which must print the
 * store's uuid (36 characters): true with it in uuid (ulen bytes); false
 * with exit status, stdout and stderr in why (len bytes).
 */
bool tu_instctl_init(const char *conf, char *uuid, size_t ulen, char *why, size_t len);

/* A store of its own: directory, config file, database, backup directory, uuid. */
typedef struct tu_store {
    char dir[256];     /* temporary directory */
    char conf[320];    /* DIR/instctl.conf */
    char db[320];      /* DIR/instctl.db */
    char backups[320]; /* DIR/backups (backup_dir) */
    char adminpw[320]; /* DIR/admin.pw, an admin password file for create */
    char uuid[40];     /* store uuid, label io.instctl.store */
} tu_store;

/*
 * tu_store_make: a new temporary directory named after tag with a config
 * (db, image_template of the stand-in images, backup_dir, then the lines of
 * extra_conf when not NULL), an admin password file, and `instctl init -q`.
 * False with the reason in why when a step fails.
 */
bool tu_store_make(tu_store *s, const char *tag, const char *extra_conf, char *why, size_t len);

/*
 * tu_engine: one request to the Docker engine (DOCKER_HOST when unix://,
 * else /var/run/docker.sock) with libcurl, no docker CLI: method, path
 * (e.g. "/containers/json?all=1"). Returns the HTTP status (-1 when the
 * engine cannot be reached) and, when json is not NULL, the parsed answer
 * into *json (NULL when it is not JSON; cJSON_Delete).
 */
struct cJSON;
int tu_engine(const char *method, const char *path, struct cJSON **json);

/*
 * tu_engine_labelled: the containers (volumes when volumes) labelled
 * io.instctl.store=uuid and, when instance is not NULL,
 * io.instctl.instance=instance, as the engine lists them (a cJSON array
 * of /containers/json?all=1 or /volumes "Volumes" elements; cJSON_Delete).
 * NULL when the engine does not answer.
 */
struct cJSON *tu_engine_labelled(const char *uuid, const char *instance, bool volumes);

/*
 * tu_docker_clean: removes (forced, with their anonymous volumes) every
 * container and then every volume labelled io.instctl.store=uuid on the
 * engine tu_engine reaches; nothing when uuid is "". Failures are ignored
 * (a cleanup that must not fail a test).
 */
void tu_docker_clean(const char *uuid);

/* tu_store_clean: tu_docker_clean of the store's uuid, then removes DIR (when under /tmp/). */
void tu_store_clean(const tu_store *s);

/*
 * Docker's own view through the docker CLI (an independent witness of what
 * instctl did). tu_docker_state: the container's State.Status, or "missing"
 * when Docker does not know it. tu_docker_inspect: `docker inspect -f tmpl`
 * of the container, trimmed, "" when it is missing. Both malloc'd.
 * tu_docker_volume_exists: whether Docker has the volume.
 */
char *tu_docker_state(const char *container);
char *tu_docker_inspect(const char *container, const char *tmpl);
bool tu_docker_volume_exists(const char *volume);

/*
 * TU_ASSERT_DOCKER_STATE: fails the test (Check; include check.h) unless
 * Docker's State.Status of container is want ("missing" when absent).
 */
#define TU_ASSERT_DOCKER_STATE(container, want)                                                    \
    do {                                                                                           \
        char *ds_ = tu_docker_state(container);                                                    \
        ck_assert_msg(strcmp(ds_, want) == 0, "container %s: Docker says \"%s\", want %s",         \
                      container, ds_, want);                                                       \
        free(ds_);                                                                                 \
    } while (0)

/*
 * tu_spawn: starts argv (argv[0] looked up in PATH) in the background in a
 * new process group, stdin from /dev/null, stdout and stderr appended to
 * out and err (NULL: /dev/null), with the NAME=VALUE strings of env
 * (NULL-terminated, may be NULL) added to the environment. The pid, or -1.
 */
pid_t tu_spawn(const char *const *argv, const char *const *env, const char *out, const char *err);

/* tu_instctl_argv: argv[0] = $INSTCTL_BIN (default build/instctl), then args, into argv (cap n). */
void tu_instctl_argv(const char **argv, size_t n, const char *const *args);

/*
 * tu_wait_exit: waits up to timeout_s for pid; its status as tu_run gives
 * it (exit status or 128+signal), or -1 when it is still running.
 */
int tu_wait_exit(pid_t pid, double timeout_s);

/*
 * tu_wait_line: waits up to timeout_s until a line of the file at path
 * starts with prefix; false on timeout or, when watch > 0, as soon as
 * process watch has exited (then its status goes to *exited, else -1).
 */
bool tu_wait_line(const char *path, const char *prefix, double timeout_s, pid_t watch, int *exited);

/* tu_read_file: the whole file as a malloc'd string ("" when it cannot be read). */
char *tu_read_file(const char *path);

/*
 * tu_check_instance: the invariants every instance of store s must hold
 * between operations, from the outside (`instctl --json show` and
 * `--json history`, the SQLite row, Docker through the docker CLI and, when
 * pg is not NULL, PostgreSQL): the status is one of the eight, not an
 * operation left in flight (creating, updating), and agrees with Docker
 * (running: the container runs; stopped, suspended, error: it does not
 * (issue 9: an interrupted create is error with its container stopped);
 * terminated: no container); no lease on the row; one container labelled for a live
 * instance (none for a terminated one), the row's id and name, mounting the
 * row's volume; no volume labelled for it but the row's (none once
 * terminated), and the row's volume present (while the status needs a
 * container, or when another volume labelled for it exists); the history one chain ending at the
 * status; with pg, the row's database present while live, absent once terminated, and no other
 * database named after it. Appends one line "invariant: detail" per
 * violation to report; returns how many.
 */
int tu_check_instance(const tu_store *s, const char *id, const tu_pg *pg, FILE *report);

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

#endif
