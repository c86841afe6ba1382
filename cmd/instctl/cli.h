/*
 * The instctl command line: the command table, the shared state the
 * dispatcher sets up once per run, and the output helpers every command uses.
 */
#ifndef INSTCTL_CLI_H
#define INSTCTL_CLI_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>

#include "config.h"
#include "engine.h"
#include "lc.h"
#include "ops.h"
#include "store.h"

/* What the dispatcher sets up before a command runs (git's RUN_SETUP). */
enum {
    NEEDS_STORE = 1 << 0,   /* open (and migrate) the database; it must exist */
    NEEDS_ENGINE = 1 << 1,  /* an Engine API client (connects lazily) */
    WRITES = 1 << 2,        /* changes state; listed as such in help */
    ANY_CONFIG = 1 << 3,    /* runs on the defaults when the configuration is unusable */
    CREATES_STORE = 1 << 4, /* with NEEDS_STORE: create the database when missing (init, create) */
};

typedef struct cli {
    lc_config cfg;
    lc_store *store;
    lc_engine *engine;
    lc_ops ops;
    bool json, color, quiet;
    int wait_seconds;
    lc_diag diag;
    const char *docker_host_arg; /* --docker-host as given on the command line, NULL when not */
} cli;

typedef struct cmd_entry {
    const char *name;
    const char *usage;   /* after "instctl NAME " */
    const char *summary; /* one line */
    unsigned flags;
    int (*run)(cli *c, int argc, char **argv); /* argv[0] is the command name */
    lc_action_id action; /* an action's command: name, usage and summary come from its row */
} cmd_entry;

/* The NULL-terminated command table (main.c). */
extern const cmd_entry *const commands[];

extern const cmd_entry cmd_init, cmd_create, cmd_list, cmd_show, cmd_history, cmd_stats, cmd_help,
    cmd_reconcile, cmd_billing_event, cmd_doctor, cmd_completion, cmd_backups, cmd_host, cmd_watch;
/* The action commands: filled from the action table by cmd_actions_init (cmd_lifecycle.c). */
extern cmd_entry cmd_start, cmd_stop, cmd_restart, cmd_terminate, cmd_suspend, cmd_unsuspend,
    cmd_action, cmd_maintenance, cmd_end_maintenance, cmd_backup, cmd_restore, cmd_update,
    cmd_rotate_credentials, cmd_move, cmd_clone;
void cmd_actions_init(void);

/* doctor's verdicts and report line (cmd_doctor.c); the per-host checks live in cmd_host.c. */
typedef enum { CHECK_OK, CHECK_WARN, CHECK_FAIL, CHECK_SKIP } check_result;
typedef struct doctor doctor;
typedef void (*doctor_report_fn)(doctor *dr, const char *name, check_result r, const char *fmt,
                                 ...);
/* doctor_check_hosts: reports each host but local: answers (TLS), API, image, clock skew. */
void doctor_check_hosts(cli *c, doctor *dr, doctor_report_fn report);

/* fail: prints "instctl: <detail>" to stderr and returns the exit status for e. */
int fail(cli *c, lc_err e);
/* usage_error: prints the message and the command's usage line; returns 2. */
int usage_error(const cmd_entry *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* cmd_find: the table entry named name, or NULL. */
const cmd_entry *cmd_find(const char *name);
/* parse_opts: getopt_long over argv for a command; returns 0 or 2 after printing usage. */

/* Output. */
/*
 * text_escape: s for a terminal into buf (len bytes, always terminated,
 * cut at a whole character): control characters become \n \r \t \e or
 * \xHH, UTF-8 C1 controls \u0080..\u009f, characters in also get a
 * backslash; everything else (UTF-8 included) is kept. Returns the length.
 * Every piece of free text (names, --reason, error messages, anything from
 * the store or the engine) goes through it in text output; cJSON escapes
 * --json.
 */
size_t text_escape(const char *s, const char *also, char *buf, size_t len);
/* text_safe: text_escape(s, "") into one of 8 static buffers used in turn (2 KiB each). */
const char *text_safe(const char *s);
const char *status_badge(const cli *c, InstanceStatus s, char *buf, size_t len);
/* instance_json: the row as show/list --json print it; allowed_actions as cfg permits (NULL: status
 * only). */
cJSON *instance_json(const lc_config *cfg, const lc_instance *in);
/* print_json: prints and frees j; returns 0. */
int print_json(cJSON *j);
void format_age(time_t t, time_t now, char *buf, size_t len);

/* report_action: prints an action's outcome (text, --json, or nothing with -q). */
void report_action(cli *c, const lc_instance *in, const lc_action_result *res);

/*
 * Progress on a terminal: progress_step (arg: the command's name) prints a
 * step per line, progress_bytes rewrites one line with bytes moved,
 * progress_end finishes that line. Set up by the dispatcher only when
 * stderr is a terminal and neither -q nor --json was given.
 */
void progress_step(void *arg, const char *step);
void progress_bytes(void *arg, const char *what, long long done, long long total);
void progress_end(void);

/* The text of a command's --help. */
void print_cmd_help(FILE *f, const cmd_entry *cmd);

#endif
