/*
 * The crash matrix (issue 9): every action is interrupted at every Engine
 * request it makes, and the next command and one reconcile pass must leave
 * the instance whole. Run on the real engine through tests/tools/faultproxy
 * with a real PostgreSQL server (one for the suite, a database per cell).
 *
 * For each action, its requests are discovered first: the action runs once
 * through the proxy with --log, and each request becomes a step (method and
 * target as a regular expression with ids, names and the database
 * replaced; a GET repeated back to back, a polling loop, is one step). Each
 * step is then run in each mode: the proxy holds the request before
 * forwarding it (`hold`: the side effect has not happened) or after the
 * engine answered (`hold-after`: it has, but instctl never learns it; not
 * for a GET, which changes nothing: its hold-after cell would be its hold
 * cell again); once the proxy logs "HOLD", instctl gets SIGKILL (kill -9,
 * the OOM killer) or, for the long actions (create, backup, restore,
 * update), also SIGINT to its process group (Ctrl-C). A row may take only the requests its command
 * makes beyond another command (restore_safety: restore's safety backup,
 * what restore --no-safety-backup does not make). Then, straight against
 * the engine, `instctl --json show` and one `instctl reconcile`,
 * and the checks: tu_check_instance (status one of the eight, agreeing with
 * Docker, one container, the row's volume only, no lease, the history one
 * chain, the row's database), a create killed into error saying so in its
 * message, no temporary file in the backup directory or
 * in instctl's TMPDIR, no pg_dump/pg_restore left running, and after
 * SIGINT an exit within 15 s, by instctl itself (not killed by the
 * signal), with a status of DESIGN §7 or 130.
 *
 * A cell is one store of its own (own config, database and uuid) and one
 * instance, so cells run in parallel worker processes (CRASH_JOBS, default
 * 4) without seeing each other. The discoveries and the cells of every
 * action share one pool of workers (one case, crash_matrix), so a short
 * action's few cells do not wait for a long one's. CRASH_FILTER=substring
 * runs only the cells whose name contains it (e.g. "restore/", "update/09",
 * "kill-after"; only the actions that can have such a cell are discovered,
 * and a filter that keeps no cell fails); CRASH_SHOW=1 adds what each cell
 * left (show, history, Docker's lists); CRASH_LIST=1 discovers the actions
 * and names their cells without running them. Every failing cell is
 * printed with each assertion that failed; then, per action,
 * "crash matrix: <action>: S steps x M modes = N cells, F failed", and the
 * whole size, "crash matrix: A actions x S steps = N cells (F failed, T s)".
 */
#include <check.h>
#include <cjson/cJSON.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

#define MAX_STEPS 64
#define MAX_ARGS 12

/* One action of the matrix: how to bring an instance to its starting status, what to run. */
/* How long a cell waits for instctl to reach its held request, in seconds; also the
 * store's create_timeout. Generous: a loaded machine (or the sanitizers) can take
 * a minute to create and start an instance, and a quiet one never waits this long. */
#define REACH_S 180
#define STR_(x) #x
#define STR(x) STR_(x)
#define REACH_TEXT_S STR(REACH_S)
#define REACH_TEXT REACH_TEXT_S " s"

typedef struct crash_action {
    const char *name;           /* also the TCase name, crash_<name> */
    const char *prep[3];        /* commands after create ("stop @name", ...) */
    bool no_instance;           /* create: nothing made first */
    bool long_running;          /* also interrupted with SIGINT */
    const char *args[MAX_ARGS]; /* the command; @name, @db, @pw are replaced */
} crash_action;

static const crash_action actions[] = {
    {"create",
     {0},
     true,
     true,
     {"create", "@name", "--database", "@db", "--admin-email", "admin@example.com",
      "--admin-password-file", "@pw"}},
    {"start", {"stop @name"}, false, false, {"start", "@name"}},
    {"stop", {0}, false, false, {"stop", "@name"}},
    {"restart", {0}, false, false, {"restart", "@name"}},
    {"suspend", {0}, false, false, {"suspend", "@name"}},
    {"unsuspend", {"suspend @name"}, false, false, {"unsuspend", "@name"}},
    {"terminate", {0}, false, false, {"terminate", "@name"}},
    {"backup", {0}, false, true, {"backup", "@name"}},
    /* restore proper, with --no-safety-backup: the row keeps the steps it had before the
     * safety backup (CI time); the backup row has a backup's requests, restore_safety below
     * the safety backup's inside a restore */
    {"restore",
     {"backup @name", "stop @name"},
     false,
     true,
     {"restore", "@name", "--no-safety-backup"}},
    /* restore killed during its safety backup (issue 13), the steps restore makes beyond
     * restore --no-safety-backup, kill modes only: whatever the safety backup left, the next
     * command and one reconcile leave the instance whole, on the volume it had */
    {"restore_safety", {"backup @name", "stop @name"}, false, false, {"restore", "@name"}},
    {"update", {0}, false, true, {"update", "@name", "--odoo-version", "18.0", "--major"}},
    {"maintenance_on", {0}, false, false, {"maintenance", "@name", "on"}},
    {"maintenance_off", {"maintenance @name on"}, false, false, {"maintenance", "@name", "off"}},
};
#define NACTIONS (sizeof actions / sizeof actions[0])

/* Rows whose steps are only the requests their command makes beyond this command's: those
 * between the head and the tail the two have in common; same_volume: each cell also checks
 * that the instance still has the volume it had before (nothing replaced yet). */
static const struct {
    const char *action;
    const char *beyond[MAX_ARGS];
    bool same_volume;
} beyond_rows[] = {
    {"restore_safety", {"restore", "@name", "--no-safety-backup"}, true},
};
#define NBEYOND (sizeof beyond_rows / sizeof beyond_rows[0])

/* The index in beyond_rows of action a's row, NBEYOND when it has none. */
static size_t beyond_of(const crash_action *a)
{
    size_t b = 0;
    while (b < NBEYOND && strcmp(beyond_rows[b].action, a->name) != 0)
        b++;
    return b;
}

/* How the request is held and how instctl is stopped. */
typedef struct crash_mode {
    const char *name;
    const char *hold; /* faultproxy action */
    int sig;
    bool group; /* to the process group, as a terminal's Ctrl-C */
} crash_mode;

static const crash_mode modes[] = {
    {"kill-before", "hold", SIGKILL, false},
    {"kill-after", "hold-after", SIGKILL, false},
    {"int-before", "hold", SIGINT, true},
    {"int-after", "hold-after", SIGINT, true},
};

/* One Engine request of an action: the proxy's fault spec selects it. */
typedef struct crash_step {
    char method[16];
    char regex[1024];  /* the target, ids and names as patterns */
    char label[512];   /* the target for people: <id>, <db>, <x> */
    char selector[16]; /* nth=N (every match counts) or run=N (a GET polling loop counts once) */
} crash_step;

static tu_pg PG;
static pid_t pg_owner;
static bool pg_tried, pg_ok;

/* With CRASH_TRACE set, where a cell's time goes, on stderr. */
static void trace(const char *what, double t0)
{
    if (getenv("CRASH_TRACE") != NULL)
        fprintf(stderr, "[crash %d %6.2fs] %s\n", (int)getpid(), tu_now_s() - t0, what);
}

/* ---- PostgreSQL: one server for the suite, in the runner process ---- */

static void pg_down(void)
{
    if (getpid() == pg_owner)
        tu_pg_stop(&PG);
}

/* Unchecked fixture: starts the server once; the cases assert it is up. */
static void pg_up(void)
{
    if (pg_tried)
        return;
    pg_tried = true;
    pg_owner = getpid();
    double t0 = tu_now_s();
    pg_ok = tu_pg_start(&PG);
    trace("PostgreSQL started", t0);
    atexit(pg_down);
}

static void db_create(const char *db)
{
    char sql[256];
    snprintf(sql, sizeof sql, "CREATE DATABASE %s OWNER %s", db, PG.user);
    free(tu_pg_query(&PG, "postgres", sql));
}

/* Drops db and any database named after it. */
static void db_drop(const char *db)
{
    char sql[512], *save = NULL;
    snprintf(sql, sizeof sql, "SELECT datname FROM pg_database WHERE starts_with(datname, '%s')",
             db);
    char *dbs = tu_pg_query(&PG, "postgres", sql);
    for (char *d = dbs != NULL ? strtok_r(dbs, "\n", &save) : NULL; d != NULL;
         d = strtok_r(NULL, "\n", &save)) {
        snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)", d);
        free(tu_pg_query(&PG, "postgres", sql));
    }
    free(dbs);
}

/* ---- targets as patterns ---- */

static bool hex_run(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
            return false;
    return !isalnum((unsigned char)s[n]);
}

/*
 * The target with its API version, 64-hex ids, the cell's database name
 * and 8-hex name parts replaced: as an anchored regex and as a label.
 */
static void normalize(const char *target, const char *db, char *re, size_t rlen, char *label,
                      size_t llen)
{
    size_t r = 0, l = 0;
    const char *p = target;
    r += (size_t)snprintf(re, rlen, "^");
    if (strncmp(p, "/v", 2) == 0 && isdigit((unsigned char)p[2])) {
        r += (size_t)snprintf(re + r, rlen - r, "/v[0-9.]+");
        p += 2 + strspn(p + 2, "0123456789.");
    }
    while (*p != '\0' && r + 32 < rlen && l + 16 < llen) {
        const char *rpat = NULL, *lpat = NULL;
        size_t skip = 0;
        if (hex_run(p, 64))
            rpat = "[0-9a-f]{64}", lpat = "<id>", skip = 64;
        else if (strncmp(p, db, strlen(db)) == 0)
            rpat = "cr[0-9a-f]{8}", lpat = "<db>", skip = strlen(db);
        else if (p > target && p[-1] == '_' && hex_run(p, 8))
            rpat = "[0-9a-f]{8}", lpat = "<x>", skip = 8;
        if (rpat != NULL) {
            r += (size_t)snprintf(re + r, rlen - r, "%s", rpat);
            l += (size_t)snprintf(label + l, llen - l, "%s", lpat);
            p += skip;
            continue;
        }
        if (strchr(".[]{}()*+?^$|\\", *p) != NULL)
            re[r++] = '\\';
        re[r++] = *p;
        label[l++] = *p++;
    }
    snprintf(re + r, rlen - r, "$");
    label[l] = '\0';
}

/*
 * The steps of a proxy log of one run: each request, except a GET that
 * repeats the one before it (a polling loop); a GET is selected by its run
 * of consecutive matches, anything else by its count of matches.
 */
static size_t parse_steps(const char *log, const char *db, crash_step *steps, size_t cap)
{
    size_t n = 0;
    char prev[1100] = "";
    char keys[MAX_STEPS * 2][1100];
    int counts[MAX_STEPS * 2] = {0};
    size_t nkeys = 0;
    char *copy = strdup(log), *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line != NULL && n < cap;
         line = strtok_r(NULL, "\n", &save)) {
        crash_step st = {0};
        char target[4096];
        if (sscanf(line, "%15s %4095s", st.method, target) != 2 || strcmp(st.method, "HOLD") == 0)
            continue;
        normalize(target, db, st.regex, sizeof st.regex, st.label, sizeof st.label);
        char key[1100];
        snprintf(key, sizeof key, "%s %s", st.method, st.regex);
        bool get = strcmp(st.method, "GET") == 0, repeat = strcmp(key, prev) == 0;
        snprintf(prev, sizeof prev, "%s", key);
        if (get && repeat)
            continue;
        size_t k = 0;
        while (k < nkeys && strcmp(keys[k], key) != 0)
            k++;
        if (k == nkeys && nkeys < MAX_STEPS * 2)
            snprintf(keys[nkeys++], sizeof keys[0], "%s", key);
        int c = ++counts[k];
        snprintf(st.selector, sizeof st.selector, "%s=%d", get ? "run" : "nth", c);
        steps[n++] = st;
    }
    free(copy);
    return n;
}

/* ---- one instance in one store ---- */

typedef struct crash_env {
    tu_store s;
    char name[40], db[16], id[40], tmp[300];
    char why[1024];
} crash_env;

/* instctl --config CONF [--docker-host HOST] args with @name, @db, @pw replaced, into argv. */
static void build_args(const crash_env *e, const char *host, const char *const *args,
                       const char **argv, size_t cap)
{
    const char *a[MAX_ARGS + 8];
    size_t n = 0;
    a[n++] = "--config";
    a[n++] = e->s.conf;
    if (host != NULL) {
        a[n++] = "--docker-host";
        a[n++] = host;
    }
    for (size_t i = 0; i < MAX_ARGS && args[i] != NULL; i++)
        a[n++] = strcmp(args[i], "@name") == 0 ? e->name
                 : strcmp(args[i], "@db") == 0 ? e->db
                 : strcmp(args[i], "@pw") == 0 ? e->s.adminpw
                                               : args[i];
    a[n] = NULL;
    tu_instctl_argv(argv, cap, a);
}

/* Runs instctl (no proxy) with the words of cmd; false with why set when it fails. */
static bool prep_cmd(crash_env *e, const char *cmd)
{
    char buf[128], *save = NULL;
    const char *args[MAX_ARGS + 1] = {0}, *argv[MAX_ARGS + 8];
    size_t n = 0;
    snprintf(buf, sizeof buf, "%s", cmd);
    for (char *w = strtok_r(buf, " ", &save); w != NULL && n < MAX_ARGS;
         w = strtok_r(NULL, " ", &save))
        args[n++] = w;
    build_args(e, NULL, args, argv, sizeof argv / sizeof argv[0]);
    tu_run r = tu_instctl(NULL, argv + 1);
    bool ok = r.status == 0;
    if (!ok)
        snprintf(e->why, sizeof e->why, "setup: instctl %s: exit %d: %s", cmd, r.status, r.err);
    tu_run_free(&r);
    return ok;
}

static const char extra_conf_fmt[] =
    "create_timeout = " REACH_TEXT_S "\nstop_timeout = 2\n"
    "db_host = 127.0.0.1\ndb_port = %d\ndb_user = %s\ndb_password_file = %s\n";

/* A store, a database and (unless a->no_instance) the instance in its starting status. */
static bool env_make(crash_env *e, const crash_action *a)
{
    memset(e, 0, sizeof *e);
    char conf[1024], hex[20];
    snprintf(conf, sizeof conf, extra_conf_fmt, PG.port, PG.user, PG.password_file);
    if (!tu_store_make(&e->s, "crash", conf, e->why, sizeof e->why))
        return false;
    tu_random_hex(hex, 4);
    snprintf(e->db, sizeof e->db, "cr%s", hex);
    snprintf(e->name, sizeof e->name, "crash-%s", hex);
    snprintf(e->tmp, sizeof e->tmp, "%s/tmp", e->s.dir);
    mkdir(e->tmp, 0700);
    db_create(e->db);
    if (a->no_instance)
        return true;
    const char *cargs[] = {"create",
                           "@name",
                           "--database",
                           "@db",
                           "--admin-email",
                           "admin@example.com",
                           "--admin-password-file",
                           "@pw",
                           NULL};
    const char *argv[MAX_ARGS + 8];
    build_args(e, NULL, cargs, argv, sizeof argv / sizeof argv[0]);
    tu_run r = tu_instctl(NULL, argv + 1);
    if (r.status != 0)
        snprintf(e->why, sizeof e->why, "setup: create: exit %d: %s", r.status, r.err);
    tu_run_free(&r);
    if (e->why[0] != '\0')
        return false;
    for (size_t i = 0; i < 3 && a->prep[i] != NULL && a->prep[i][0] != '\0'; i++)
        if (!prep_cmd(e, a->prep[i]))
            return false;
    return true;
}

static void env_clean(const crash_env *e)
{
    tu_store_clean(&e->s);
    if (e->db[0] != '\0')
        db_drop(e->db);
}

/* env_make, once more after a failure: a loaded engine may fail a setup step (health in time). */
static bool env_make_retry(crash_env *e, const crash_action *a)
{
    if (env_make(e, a))
        return true;
    env_clean(e);
    return env_make(e, a);
}

/* The instance's id by name ("" when there is no row). */
static void find_id(crash_env *e)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT id FROM instances WHERE name = '%s' ORDER BY rowid DESC",
             e->name);
    char *id = tu_sql(e->s.db, sql);
    snprintf(e->id, sizeof e->id, "%s", id);
    free(id);
}

/* The volume of the instance's row ("" when there is none), malloc'd. */
static char *row_volume(const crash_env *e)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT volume_name FROM instances WHERE name = '%s' ORDER BY rowid DESC", e->name);
    return tu_sql(e->s.db, sql);
}

/* ---- what a crash must not leave ---- */

/* Files whose name starts with '.' under dir (backup.c's temporary files), or anything in TMPDIR.
 */
static void check_files(const crash_env *e, FILE *rep)
{
    char *left = tu_shf(NULL, "find '%s' -name '.*' 2>/dev/null | head -5", e->s.backups);
    if (left[0] != '\0')
        fprintf(rep, "no temporary file in the backup directory: %s\n", left);
    free(left);
    left = tu_shf(NULL, "ls -A '%s' | head -5", e->tmp);
    if (left[0] != '\0')
        fprintf(rep, "no temporary file in instctl's TMPDIR: %s\n", left);
    free(left);
}

/* pg_dump / pg_restore processes naming the cell's database: reported, then ended (ours). */
static void check_processes(const crash_env *e, FILE *rep)
{
    DIR *d = opendir("/proc");
    struct dirent *de;
    while (d != NULL && (de = readdir(d)) != NULL) {
        if (!isdigit((unsigned char)de->d_name[0]))
            continue;
        char path[300], buf[4096] = "";
        snprintf(path, sizeof path, "/proc/%s/cmdline", de->d_name);
        FILE *f = fopen(path, "rb");
        size_t n = f != NULL ? fread(buf, 1, sizeof buf - 1, f) : 0;
        if (f != NULL)
            fclose(f);
        bool mine = false;
        for (size_t i = 0; i < n; i += strlen(buf + i) + 1)
            mine = mine || strcmp(buf + i, e->db) == 0;
        const char *base = strrchr(buf, '/') != NULL ? strrchr(buf, '/') + 1 : buf;
        if (mine && (strcmp(base, "pg_dump") == 0 || strcmp(base, "pg_restore") == 0)) {
            fprintf(rep, "no child process left running: %s (pid %s)\n", base, de->d_name);
            kill(atoi(de->d_name), SIGKILL);
        }
    }
    if (d != NULL)
        closedir(d);
}

/* Nothing in Docker for a store whose create wrote no row. */
static void check_no_row(const crash_env *e, FILE *rep)
{
    cJSON *c = tu_engine_labelled(e->s.uuid, NULL, false);
    cJSON *v = tu_engine_labelled(e->s.uuid, NULL, true);
    int containers = cJSON_GetArraySize(c), volumes = cJSON_GetArraySize(v);
    if (c == NULL || v == NULL || containers != 0 || volumes != 0)
        fprintf(rep, "nothing left without a row: %d container(s), %d volume(s) of the store\n",
                containers, volumes);
    cJSON_Delete(c);
    cJSON_Delete(v);
}

/* With CRASH_SHOW set: what the cell left, `show` and Docker's lists, into the report. */
static void show_state(const crash_env *e, FILE *rep)
{
    char *o = tu_shf(NULL,
                     "%s --config %s show %s 2>&1; %s --config %s history %s 2>&1; docker ps -a "
                     "--filter label=io.instctl.store=%s --format '{{.ID}} {{.Names}} {{.State}} "
                     "{{.Mounts}}'; docker volume ls -q --filter label=io.instctl.store=%s",
                     getenv("INSTCTL_BIN") ? getenv("INSTCTL_BIN") : "build/instctl", e->s.conf,
                     e->id[0] ? e->id : e->name,
                     getenv("INSTCTL_BIN") ? getenv("INSTCTL_BIN") : "build/instctl", e->s.conf,
                     e->id[0] ? e->id : e->name, e->s.uuid, e->s.uuid);
    fprintf(rep, "state left (CRASH_SHOW):\n%s\n", o);
    free(o);
}

/* ---- one cell ---- */

/* waitpid for up to timeout_s: the raw wait status, or -1 while pid still runs. */
static int wait_raw(pid_t pid, double timeout_s)
{
    double until = tu_now_s() + timeout_s;
    int st;
    while (waitpid(pid, &st, WNOHANG) != pid) {
        if (tu_now_s() > until)
            return -1;
        usleep(10 * 1000);
    }
    return st;
}

/*
 * Sends the signal once the proxy holds the step; records how instctl
 * ended. After SIGINT it must exit by itself within 15 s (not die of the
 * signal) with a status of DESIGN §7 or 130, the shell's status of an
 * interrupted command.
 */
static void interrupt(pid_t pid, const crash_mode *m, const char *err_path, FILE *rep)
{
    kill(m->group ? -pid : pid, m->sig);
    int st = wait_raw(pid, m->sig == SIGKILL ? 10 : 15);
    if (st < 0) {
        fprintf(rep, "SIGINT stops the action: instctl still runs 15 s later\n");
        kill(-pid, SIGKILL);
        wait_raw(pid, 10);
        return;
    }
    bool documented = WIFEXITED(st) && (WEXITSTATUS(st) <= 8 || WEXITSTATUS(st) == 130);
    if (m->sig == SIGINT && !documented) {
        char *err = tu_read_file(err_path);
        if (WIFSIGNALED(st))
            fprintf(rep, "SIGINT is handled: instctl died of signal %d (stderr: %.300s)\n",
                    WTERMSIG(st), err);
        else
            fprintf(rep, "SIGINT ends with a documented exit status: %d (stderr: %.300s)\n",
                    WEXITSTATUS(st), err);
        free(err);
    }
}

/* The next command and one reconcile pass, straight to the engine. */
static void next_command(crash_env *e, bool may_lack_row, FILE *rep)
{
    find_id(e);
    const char *ref = e->id[0] != '\0' ? e->id : e->name;
    tu_run r =
        tu_instctl(NULL, (const char *[]){"--config", e->s.conf, "--json", "show", ref, NULL});
    if (r.status != 0 && !(r.status == 4 && may_lack_row && e->id[0] == '\0'))
        fprintf(rep, "next command: show exits %d: %.300s\n", r.status, r.err);
    tu_run_free(&r);
    r = tu_instctl(NULL, (const char *[]){"--config", e->s.conf, "reconcile", NULL});
    if (r.status != 0)
        fprintf(rep, "one reconcile pass: exit %d: %.400s\n", r.status, r.err);
    tu_run_free(&r);
    find_id(e);
}

/*
 * A create killed mid-way that ends in error says so (issue 13): its message
 * names the interruption, and the reconcile pass that recovered it did not
 * replace it with what Docker lacks ("container ... not found").
 */
static void check_create_message(const crash_env *e, const crash_action *a, const crash_mode *m,
                                 FILE *rep)
{
    if (!a->no_instance || m->sig != SIGKILL || e->id[0] == '\0')
        return;
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT status || '|' || ifnull(error_message, '') FROM instances WHERE id = '%s'",
             e->id);
    char *row = tu_sql(e->s.db, sql);
    const char *want = "error|create interrupted (its process died) at step ";
    if (strncmp(row, "error|", 6) == 0 && strncmp(row, want, strlen(want)) != 0)
        fprintf(rep, "the error message names the interruption: status|message is %s\n", row);
    free(row);
}

static void run_cell(const crash_action *a, const crash_step *st, const crash_mode *m, FILE *rep)
{
    crash_env e;
    double t0 = tu_now_s();
    bool made = env_make_retry(&e, a);
    trace("instance made", t0);
    if (!made) {
        fprintf(rep, "%s\n", e.why);
        env_clean(&e);
        return;
    }
    char sock[400], log[400], err[400], host[420], fault[1200], tmpenv[320];
    snprintf(sock, sizeof sock, "%s/engine.sock", e.s.dir);
    snprintf(log, sizeof log, "%s/proxy.log", e.s.dir);
    snprintf(err, sizeof err, "%s/instctl.err", e.s.dir);
    snprintf(host, sizeof host, "unix://%s", sock);
    snprintf(fault, sizeof fault, "%s:~%s:%s:%s", st->method, st->regex, m->hold, st->selector);
    snprintf(tmpenv, sizeof tmpenv, "TMPDIR=%s", e.tmp);
    size_t b = beyond_of(a);
    char *volume = b < NBEYOND && beyond_rows[b].same_volume ? row_volume(&e) : NULL;
    int proxy = tu_proxy_start(sock, (const char *[]){fault, NULL}, log);
    const char *argv[MAX_ARGS + 8];
    build_args(&e, host, a->args, argv, sizeof argv / sizeof argv[0]);
    pid_t pid = proxy > 0 ? tu_spawn(argv, (const char *[]){tmpenv, NULL}, NULL, err) : -1;
    int exited;
    if (proxy <= 0 || pid <= 0) {
        fprintf(rep, "setup: the proxy or instctl did not start\n");
    } else if (!tu_wait_line(log, "HOLD ", REACH_S, pid, &exited)) {
        char *text = tu_read_file(err);
        fprintf(rep, "step reached: instctl %s before the request was held (stderr: %.300s)\n",
                exited >= 0 ? "exited" : "still ran " REACH_TEXT, text);
        free(text);
        if (exited < 0) {
            kill(-pid, SIGKILL);
            tu_wait_exit(pid, 10);
        }
    } else {
        interrupt(pid, m, err, rep);
    }
    tu_proxy_stop(proxy);
    trace("interrupted", t0);
    next_command(&e, a->no_instance, rep);
    trace("next command and reconcile", t0);
    if (e.id[0] != '\0')
        tu_check_instance(&e.s, e.id, &PG, rep);
    else if (!a->no_instance)
        fprintf(rep, "the instance's row is gone\n");
    else
        check_no_row(&e, rep);
    check_create_message(&e, a, m, rep);
    if (volume != NULL) {
        char *now = row_volume(&e);
        if (strcmp(volume, now) != 0)
            fprintf(rep, "the instance keeps its volume %s: it has %s\n", volume, now);
        free(now);
        free(volume);
    }
    check_files(&e, rep);
    check_processes(&e, rep);
    if (getenv("CRASH_SHOW") != NULL)
        show_state(&e, rep);
    trace("checked", t0);
    env_clean(&e);
    trace("cleaned", t0);
}

/* ---- the matrix: one pool of workers for every action's discovery and cells ---- */

/*
 * Runs args of action a once through the proxy with --log; its steps into
 * steps (MAX_STEPS), their count; 0 with the reason in why on failure.
 */
static size_t discover_args(const crash_action *a, const char *const *args, crash_step *steps,
                            char *why, size_t len)
{
    crash_env e;
    if (!env_make_retry(&e, a)) {
        snprintf(why, len, "discovery of %s: %s", a->name, e.why);
        env_clean(&e);
        return 0;
    }
    char sock[400], log[400], host[420];
    snprintf(sock, sizeof sock, "%s/engine.sock", e.s.dir);
    snprintf(log, sizeof log, "%s/proxy.log", e.s.dir);
    snprintf(host, sizeof host, "unix://%s", sock);
    int proxy = tu_proxy_start(sock, NULL, log);
    const char *argv[MAX_ARGS + 8];
    build_args(&e, host, args, argv, sizeof argv / sizeof argv[0]);
    tu_run r = proxy > 0 ? tu_instctl(NULL, argv + 1) : (tu_run){0};
    tu_proxy_stop(proxy);
    char *text = tu_read_file(log);
    size_t n = parse_steps(text, e.db, steps, MAX_STEPS);
    free(text);
    if (proxy <= 0)
        snprintf(why, len, "discovery of %s: faultproxy did not start", a->name);
    else if (r.status != 0)
        snprintf(why, len, "discovery: instctl %s exits %d: %.500s", a->name, r.status, r.err);
    else if (n == 0)
        snprintf(why, len, "discovery: %s made no Engine request", a->name);
    tu_run_free(&r);
    env_clean(&e);
    return why[0] == '\0' ? n : 0;
}

static bool same_step(const crash_step *x, const crash_step *y)
{
    return strcmp(x->method, y->method) == 0 && strcmp(x->label, y->label) == 0;
}

/*
 * Discovers the action's steps and writes them (crash_step records) to
 * path; on failure writes nothing there and the reason to why. The steps
 * are those of its command, or for a row of beyond_rows only those between
 * the head and the tail its command has in common with the other command's
 * (compared by method and label; the selectors stay the command's own).
 */
static void discover(const crash_action *a, const char *path, char *why, size_t len)
{
    crash_step steps[MAX_STEPS], base[MAX_STEPS];
    size_t n = discover_args(a, a->args, steps, why, len), b = beyond_of(a), head = 0, tail = 0;
    if (n > 0 && b < NBEYOND) {
        size_t m = discover_args(a, beyond_rows[b].beyond, base, why, len);
        while (head < m && head < n && same_step(&steps[head], &base[head]))
            head++;
        while (tail < m - head && tail < n - head &&
               same_step(&steps[n - 1 - tail], &base[m - 1 - tail]))
            tail++;
        if (m > 0 && n - head - tail == 0)
            snprintf(why, len, "discovery: %s makes no request beyond %s", a->name,
                     beyond_rows[b].beyond[2]);
    }
    FILE *f = why[0] == '\0' ? fopen(path, "w") : NULL;
    if (f != NULL) {
        fwrite(steps + head, sizeof steps[0], n - head - tail, f);
        fclose(f);
    }
}

/* One action in the matrix: its steps once discovered, its cells' counts. */
typedef struct crash_row {
    const crash_action *a;
    bool wanted, discovered;
    crash_step steps[MAX_STEPS];
    size_t nsteps, ncells, failed;
} crash_row;

/* One task of the pool: a row's discovery (step == SIZE_MAX) or one cell. */
typedef struct crash_task {
    crash_row *row;
    size_t step, mode;
    char name[700];
    pid_t worker;
    double started;
} crash_task;

#define DISCOVERY SIZE_MAX
#define MAX_TASKS (NACTIONS * (MAX_STEPS * 4 + 1))

/* Forks a worker for the task; its report (a cell's findings, a discovery's steps) goes to path. */
static pid_t task_start(crash_task *t, const char *path)
{
    fflush(stdout);
    t->started = tu_now_s();
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    if (t->step == DISCOVERY) {
        char why[1024] = "";
        char rep[160];
        snprintf(rep, sizeof rep, "%s.why", path);
        discover(t->row->a, path, why, sizeof why);
        if (why[0] != '\0')
            tu_write_file(rep, why);
        _exit(0);
    }
    FILE *rep = fopen(path, "w");
    if (rep != NULL) {
        run_cell(t->row->a, &t->row->steps[t->step], &modes[t->mode], rep);
        fclose(rep);
    }
    _exit(0);
}

/* Waits for one worker of tasks[0..n); its index. A worker that hangs is killed: reported lost. */
static size_t task_reap(crash_task *tasks, size_t n)
{
    for (;;) {
        for (size_t i = 0; i < n; i++) {
            if (tasks[i].worker <= 0)
                continue;
            if (tu_now_s() - tasks[i].started > REACH_S + 240)
                kill(tasks[i].worker, SIGKILL);
            if (tu_wait_exit(tasks[i].worker, 0) >= 0) {
                tasks[i].worker = 0;
                return i;
            }
        }
        usleep(20 * 1000);
    }
}

/* The report of a finished cell: printed, and counted as failed when not empty. */
static bool cell_report(const crash_task *c, const char *path, FILE *summary)
{
    char *text = tu_read_file(path);
    bool failed = text[0] != '\0' || access(path, F_OK) != 0;
    if (failed) {
        printf("FAIL %s\n", c->name);
        fprintf(summary, "%s\n", c->name);
        if (access(path, F_OK) != 0)
            printf("    the cell's worker was lost\n");
        for (char *l = text, *nl; l != NULL && *l != '\0'; l = nl != NULL ? nl + 1 : NULL) {
            nl = strchr(l, '\n');
            printf("    %.*s\n", nl != NULL ? (int)(nl - l) : (int)strlen(l), l);
        }
    }
    fflush(stdout);
    free(text);
    unlink(path);
    return failed;
}

/*
 * Whether the cell of step st in mode m is the cell of the same step held
 * before it reached the engine: a GET changes nothing there, so holding its
 * answer leaves the engine and instctl as holding the request does.
 */
static bool same_as_before(const crash_step *st, const crash_mode *m)
{
    return strcmp(st->method, "GET") == 0 && strcmp(m->hold, "hold-after") == 0;
}

/* A finished discovery: the row's steps and its cells appended to tasks (those CRASH_FILTER keeps).
 */
static size_t discovery_done(crash_row *row, const char *path, crash_task *tasks, size_t n,
                             FILE *summary)
{
    char why_path[160];
    snprintf(why_path, sizeof why_path, "%s.why", path);
    char *why = tu_read_file(why_path);
    FILE *f = fopen(path, "r");
    if (f != NULL) {
        row->nsteps = fread(row->steps, sizeof row->steps[0], MAX_STEPS, f);
        fclose(f);
    }
    unlink(path);
    unlink(why_path);
    row->discovered = row->nsteps > 0;
    if (!row->discovered) {
        printf("FAIL %s: %s\n", row->a->name, why[0] ? why : "discovery's worker was lost");
        fprintf(summary, "%s (discovery)\n", row->a->name);
        row->failed++;
    }
    free(why);
    const char *filter = getenv("CRASH_FILTER");
    size_t nmodes = row->a->long_running ? 4 : 2;
    for (size_t s = 0; s < row->nsteps; s++)
        for (size_t m = 0; m < nmodes; m++) {
            crash_task *c = &tasks[n];
            snprintf(c->name, sizeof c->name, "%s/%02zu %s %s %s", row->a->name, s + 1,
                     row->steps[s].method, row->steps[s].label, modes[m].name);
            c->row = row, c->step = s, c->mode = m, c->worker = 0;
            if (same_as_before(&row->steps[s], &modes[m]))
                continue;
            if (filter == NULL || strstr(c->name, filter) != NULL)
                n++, row->ncells++;
        }
    return n;
}

/*
 * Whether CRASH_FILTER may keep a cell of action a: a filter with a '/' only
 * when the text before it ends the name ("restore/", "update/09", "on/01");
 * one that names part of a mode ("int-", "kill-after") only when a has that
 * mode; any other may.
 */
static bool row_wanted(const crash_action *a)
{
    const char *filter = getenv("CRASH_FILTER"), *slash;
    if (filter == NULL)
        return true;
    if ((slash = strchr(filter, '/')) != NULL) {
        size_t k = (size_t)(slash - filter), len = strlen(a->name);
        return k <= len && strncmp(a->name + len - k, filter, k) == 0;
    }
    bool a_mode = false, any_mode = false;
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        bool match = strstr(modes[m].name, filter) != NULL;
        any_mode |= match;
        a_mode |= match && m < (a->long_running ? 4u : 2u);
    }
    return a_mode || !any_mode;
}

static void print_rows(const crash_row *rows, double t0)
{
    const char *filter = getenv("CRASH_FILTER");
    size_t na = 0, ns = 0, nc = 0, nf = 0;
    for (size_t i = 0; i < NACTIONS; i++) {
        const crash_row *r = &rows[i];
        if (!r->wanted)
            continue;
        printf("crash matrix: %s: %zu steps x %d modes = %zu cells%s, %zu failed\n", r->a->name,
               r->nsteps, r->a->long_running ? 4 : 2, r->ncells,
               filter != NULL ? " (CRASH_FILTER)" : "", r->failed);
        na++, ns += r->nsteps, nc += r->ncells, nf += r->failed;
    }
    printf("crash matrix: %zu actions x %zu steps = %zu cells (%zu failed, %.0f s)\n", na, ns, nc,
           nf, tu_now_s() - t0);
    fflush(stdout); /* Check ends a failed case with _exit */
}

START_TEST(test_crash_matrix)
{
    ck_assert_msg(pg_ok, "PostgreSQL: tu_pg_start failed (see stderr)");
    static crash_row rows[NACTIONS];
    static crash_task tasks[MAX_TASKS];
    double t0 = tu_now_s();
    size_t n = 0, next = 0, running = 0, failed = 0;
    for (size_t i = 0; i < NACTIONS; i++) {
        rows[i] = (crash_row){.a = &actions[i], .wanted = row_wanted(&actions[i])};
        if (rows[i].wanted)
            tasks[n++] = (crash_task){.row = &rows[i], .step = DISCOVERY};
    }
    bool list_only = getenv("CRASH_LIST") != NULL;
    const char *jobs_env = getenv("CRASH_JOBS");
    size_t jobs = jobs_env != NULL && atoi(jobs_env) > 0 ? (size_t)atoi(jobs_env) : 4;
    char *failed_list = NULL, dir[64] = "/tmp/instctl-crash-XXXXXX", path[128];
    size_t flen = 0;
    FILE *summary = open_memstream(&failed_list, &flen);
    ck_assert_ptr_nonnull(mkdtemp(dir));
    while (next < n || running > 0) {
        if (next < n && running < jobs && list_only && tasks[next].step != DISCOVERY) {
            printf("cell %s\n", tasks[next++].name); /* CRASH_LIST: named, not run */
            continue;
        }
        if (next < n && running < jobs) {
            snprintf(path, sizeof path, "%s/%zu", dir, next);
            tasks[next].worker = task_start(&tasks[next], path);
            next++, running++;
            continue;
        }
        size_t i = task_reap(tasks, next);
        running--;
        snprintf(path, sizeof path, "%s/%zu", dir, i);
        if (tasks[i].step == DISCOVERY) {
            n = discovery_done(tasks[i].row, path, tasks, n, summary);
            failed += !tasks[i].row->discovered;
        } else if (cell_report(&tasks[i], path, summary)) {
            tasks[i].row->failed++, failed++;
        }
    }
    rmdir(dir);
    fclose(summary);
    print_rows(rows, t0);
    size_t cells = 0;
    for (size_t i = 0; i < NACTIONS; i++)
        cells += rows[i].ncells;
    ck_assert_msg(cells > 0, "the crash matrix ran no cell (CRASH_FILTER=%s)",
                  getenv("CRASH_FILTER") ? getenv("CRASH_FILTER") : "");
    ck_assert_msg(failed == 0, "%zu crash matrix cells failed (each listed above):\n%.3000s",
                  failed, failed_list);
    free(failed_list);
}
END_TEST

Suite *suite_crash(void)
{
    Suite *s = suite_create("crash");
    TCase *tc = tcase_create("crash_matrix");
    tcase_add_unchecked_fixture(tc, pg_up, NULL);
    tcase_set_timeout(tc, 4800);
    tcase_add_test(tc, test_crash_matrix);
    suite_add_tcase(s, tc);
    return s;
}
