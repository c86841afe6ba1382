/*
 * Integration tests of the operator's experience (DESIGN §7): installing
 * and uninstalling, the manual pages, help, colour on a terminal, --json and
 * -q output, global options anywhere on the line, configuration precedence
 * and errors, doctor, bash completion, and how show describes a paused or a
 * never-started container.
 *
 * The real instctl binary ($INSTCTL_BIN, default build/instctl) against the
 * real engine with the stand-in image. Every case is its own TCase with its
 * own temporary directory, config file, database and store uuid; containers
 * and volumes are removed by label io.instctl.store=<uuid> in the checked
 * teardown and again in the unchecked one (which runs even when the case
 * failed). Run from the repository root (the install case runs make there).
 */
#include <check.h>
#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <glob.h>
#include <libgen.h>
#include <netinet/in.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

/* ---- the per-case environment ---- */

typedef struct op_env {
    bool ready;
    char dir[256];     /* temporary directory of the case */
    char conf[320];    /* DIR/instctl.conf */
    char db[320];      /* DIR/instctl.db */
    char backups[320]; /* DIR/backups (created) */
    char cron[320];    /* DIR/cron (a cron entry) */
    char pwfile[320];  /* DIR/admin.pw: the admin password of every create */
    char uuid[64];     /* store uuid, label io.instctl.store */
    char tag[16];      /* 8 random hex digits making names unique on the shared engine */
    char setup_error[512];
} op_env;

static op_env E;

/* Every command of the table, in the table's order (cmd/instctl/main.c, DESIGN §7). */
static const char *const all_commands[] = {
    "init",   "doctor",     "create",  "list",    "show",      "history",   "stats",
    "start",  "stop",       "restart", "suspend", "unsuspend", "terminate", "maintenance",
    "backup", "backups",    "restore", "update",  "action",    "reconcile", "billing-event",
    "host",   "completion", "help",    NULL,
};

static const char *bin_path(void)
{
    const char *bin = getenv("INSTCTL_BIN");
    return bin != NULL && bin[0] != '\0' ? bin : "build/instctl";
}

/* The engine's socket as a URI: DOCKER_HOST when it is unix://, else the default socket. */
static const char *engine_uri(void)
{
    const char *host = getenv("DOCKER_HOST");
    return host != NULL && strncmp(host, "unix://", 7) == 0 ? host : "unix:///var/run/docker.sock";
}

/* Writes the case's standard configuration to path, with extra lines appended. */
static bool write_conf(const char *path, const char *db, const char *extra)
{
    char text[4096];
    snprintf(text, sizeof text,
             "db = %s\nimage_template = instctl/odoo-standin:{version}\ncreate_timeout = 60\n"
             "backup_dir = %s\ncron_file = %s\n%s",
             db, E.backups, E.cron, extra != NULL ? extra : "");
    return tu_write_file(path, text);
}

static void env_setup(void)
{
    memset(&E, 0, sizeof E);
    /* the environment must not redirect the cases' configuration or database */
    unsetenv("INSTCTL_DB");
    unsetenv("INSTCTL_CONFIG");
    tu_random_hex(E.tag, 4);
    char *dir = tu_tmpdir("operator");
    if (dir == NULL) {
        snprintf(E.setup_error, sizeof E.setup_error, "mkdtemp: %s", strerror(errno));
        return;
    }
    snprintf(E.dir, sizeof E.dir, "%s", dir);
    free(dir);
    snprintf(E.conf, sizeof E.conf, "%s/instctl.conf", E.dir);
    snprintf(E.db, sizeof E.db, "%s/instctl.db", E.dir);
    snprintf(E.backups, sizeof E.backups, "%s/backups", E.dir);
    snprintf(E.cron, sizeof E.cron, "%s/cron", E.dir);
    snprintf(E.pwfile, sizeof E.pwfile, "%s/admin.pw", E.dir);
    char pw[32] = "pw";
    tu_random_hex(pw + 2, 8);
    strcat(pw, "\n");
    if (mkdir(E.backups, 0700) != 0 || !write_conf(E.conf, E.db, NULL) ||
        !tu_write_file(E.cron, "* * * * * root instctl reconcile\n") ||
        !tu_write_file(E.pwfile, pw)) {
        snprintf(E.setup_error, sizeof E.setup_error, "cannot prepare %s: %s", E.dir,
                 strerror(errno));
        return;
    }
    E.ready = tu_instctl_init(E.conf, E.uuid, sizeof E.uuid, E.setup_error, sizeof E.setup_error);
}

static void env_teardown(void)
{
    tu_docker_clean(E.uuid);
    if (E.dir[0] == '/')
        free(tu_shf(NULL, "rm -rf '%s'", E.dir));
}

static void checked_setup(void)
{
    ck_assert_msg(E.ready, "test environment: %s", E.setup_error);
}

static void checked_teardown(void)
{
    tu_docker_clean(E.uuid);
}

/* ---- running instctl ---- */

/* IC: instctl --config CONF args...; IC_IN the same with stdin from input. */
#define IC(...) tu_instctl_conf(E.conf, NULL, __VA_ARGS__, (const char *)NULL)
#define IC_IN(input, ...) tu_instctl_conf(E.conf, input, __VA_ARGS__, (const char *)NULL)

/* Raw: instctl args... exactly as given (no --config added). */
static tu_run raw_v(const char *first, ...)
{
    const char *argv[64];
    size_t n = 0;
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a != NULL && n < 63; a = va_arg(ap, const char *))
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    return tu_instctl(NULL, argv);
}
#define RAW(...) raw_v(__VA_ARGS__, (const char *)NULL)

/* Appends s single-quoted for sh to buf. */
static void sh_quote(char *buf, size_t len, const char *s)
{
    size_t used = strlen(buf);
    if (used + 1 < len)
        buf[used++] = '\'';
    for (; *s && used + 5 < len; s++) {
        if (*s == '\'') {
            memcpy(buf + used, "'\\''", 4);
            used += 4;
        } else {
            buf[used++] = *s;
        }
    }
    if (used + 1 < len)
        buf[used++] = '\'';
    buf[used] = '\0';
}

/*
 * The shell command line "env -u INSTCTL_DB -u INSTCTL_CONFIG [-u DOCKER_HOST] ENV... BIN ARGS..."
 * into buf: env entries are NAME=VALUE (set) or -NAME (unset); DOCKER_HOST is inherited unless
 * env names it.
 */
static void command_line(char *buf, size_t len, const char *const *env, const char *const *args)
{
    snprintf(buf, len, "env -u INSTCTL_DB -u INSTCTL_CONFIG ");
    for (size_t i = 0; env != NULL && env[i] != NULL; i++) {
        if (env[i][0] == '-') {
            strncat(buf, "-u ", len - strlen(buf) - 1);
            strncat(buf, env[i] + 1, len - strlen(buf) - 1);
        } else {
            sh_quote(buf, len, env[i]);
        }
        strncat(buf, " ", len - strlen(buf) - 1);
    }
    sh_quote(buf, len, bin_path());
    for (size_t i = 0; args[i] != NULL; i++) {
        strncat(buf, " ", len - strlen(buf) - 1);
        sh_quote(buf, len, args[i]);
    }
}

/* Runs instctl with the environment changes env (see command_line) and args. */
static tu_run run_env(const char *const *env, const char *const *args)
{
    char cmd[8192];
    command_line(cmd, sizeof cmd, env, args);
    return tu_sh(cmd);
}

/* Runs instctl on a pseudo-terminal (util-linux script); stdout is the terminal's output. */
static tu_run run_tty(const char *const *env, const char *const *args)
{
    char inner[8192], cmd[16384] = "script -qec ";
    command_line(inner, sizeof inner, env, args);
    sh_quote(cmd, sizeof cmd, inner);
    strncat(cmd, " /dev/null", sizeof cmd - strlen(cmd) - 1);
    return tu_sh(cmd);
}

/* ---- soft checks: a case reports every problem it found, not only the first ---- */

static char soft_buf[6000];
static int soft_n;

static void soft_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void soft_fail(const char *fmt, ...)
{
    size_t used = strlen(soft_buf);
    soft_n++;
    if (used + 200 >= sizeof soft_buf)
        return;
    va_list ap;
    va_start(ap, fmt);
    snprintf(soft_buf + used, sizeof soft_buf - used, "\n  - ");
    used = strlen(soft_buf);
    vsnprintf(soft_buf + used, sizeof soft_buf - used - 1, fmt, ap);
    va_end(ap);
}

#define SOFT(cond, ...)                                                                            \
    do {                                                                                           \
        if (!(cond))                                                                               \
            soft_fail(__VA_ARGS__);                                                                \
    } while (0)

static void soft_done(void)
{
    ck_assert_msg(soft_n == 0, "%d problem(s):%s", soft_n, soft_buf);
}

/* ---- instances ---- */

static void names(const char *suffix, char *name, size_t nlen, char *db, size_t dlen)
{
    snprintf(name, nlen, "op-%s-%s", E.tag, suffix);
    snprintf(db, dlen, "op_%s_%s", E.tag, suffix);
}

/* Creates suffix's instance, with extra options (NULL-terminated, may be NULL); the run. */
static tu_run create_run(const char *suffix, const char *const *extra)
{
    char name[64], db[64];
    names(suffix, name, sizeof name, db, sizeof db);
    const char *argv[32] = {"--config",
                            E.conf,
                            "create",
                            name,
                            "--database",
                            db,
                            "--admin-email",
                            "admin@example.com",
                            "--admin-password-file",
                            E.pwfile};
    size_t n = 10;
    for (size_t i = 0; extra != NULL && extra[i] != NULL && n < 31; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    return tu_instctl(NULL, argv);
}

/* Creates suffix's instance, asserts it is running; its name into name, its id into id. */
static void create_running(const char *suffix, char *name, size_t nlen, char id[40])
{
    char db[64];
    names(suffix, name, nlen, db, sizeof db);
    const char *q[] = {"-q", NULL};
    tu_run r = create_run(suffix, q);
    tu_trim(r.out);
    ck_assert_msg(r.status == 0 && strlen(r.out) == 36,
                  "create %s -q: exit %d\nstdout: %s\nstderr: %s", name, r.status, r.out, r.err);
    snprintf(id, 40, "%s", r.out);
    tu_run_free(&r);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT status FROM instances WHERE id = '%s'", id);
    char *st = tu_sql(E.db, sql);
    ck_assert_msg(strcmp(st, "running") == 0, "created %s is %s, want running", name, st);
    free(st);
}

/*
 * Creates suffix's instance so that it fails at once (an image that is not
 * there, --pull never): a row in status error, nothing in Docker. Its id.
 */
static void create_failing(const char *suffix, char id[40])
{
    const char *extra[] = {"--image", "instctl/odoo-standin:absent", "--pull", "never", "-q", NULL};
    tu_run r = create_run(suffix, extra);
    tu_trim(r.out);
    ck_assert_msg(r.status == 1 && strlen(r.out) == 36,
                  "create %s (image absent): exit %d\nstdout: %s\nstderr: %s", suffix, r.status,
                  r.out, r.err);
    snprintf(id, 40, "%s", r.out);
    tu_run_free(&r);
}

/* ---- JSON ---- */

/* true when jq accepts text as JSON (jq -e .: also not null or false). */
static bool jq_ok(const char *text)
{
    char path[400];
    snprintf(path, sizeof path, "%s/out.json", E.dir);
    if (!tu_write_file(path, text))
        return false;
    int st;
    free(tu_shf(&st, "jq -e . '%s' >/dev/null 2>&1", path));
    return st == 0;
}

static bool rfc3339_utc(const char *s)
{
    regex_t re;
    ck_assert(regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?Z$",
                      REG_EXTENDED | REG_NOSUB) == 0);
    bool ok = regexec(&re, s, 0, NULL, 0) == 0;
    regfree(&re);
    return ok;
}

static time_t parse_time(const char *s)
{
    struct tm tm = {0};
    if (s == NULL || strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) == NULL)
        return 0;
    return timegm(&tm);
}

/* Every "at" or "*_at" value anywhere in j is an RFC 3339 UTC string or null. */
static void check_times(const cJSON *j, const char *what)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, j)
    {
        if (c->string != NULL) {
            size_t n = strlen(c->string);
            bool is_time =
                strcmp(c->string, "at") == 0 || (n > 3 && strcmp(c->string + n - 3, "_at") == 0);
            if (is_time)
                SOFT(cJSON_IsNull(c) || (cJSON_IsString(c) && rfc3339_utc(c->valuestring)),
                     "%s: %s is not an RFC 3339 UTC time: %s", what, c->string,
                     cJSON_IsString(c) ? c->valuestring : "(not a string)");
        }
        if (cJSON_IsObject(c) || cJSON_IsArray(c))
            check_times(c, what);
    }
}

/* Parses a command's JSON output (jq and cJSON), checks its times; NULL (reported) when bad. */
static cJSON *json_of(const tu_run *r, const char *what)
{
    SOFT(jq_ok(r->out), "%s: jq does not accept the output (exit %d): %.300s | stderr %.300s", what,
         r->status, r->out, r->err);
    cJSON *j = cJSON_Parse(r->out);
    SOFT(j != NULL, "%s: not JSON: %.300s", what, r->out);
    if (j != NULL)
        check_times(j, what);
    return j;
}

/* Reports each of keys (NULL-terminated) that o lacks. */
static void check_keys(const cJSON *o, const char *const *keys, const char *what)
{
    if (!cJSON_IsObject(o)) {
        soft_fail("%s: not a JSON object", what);
        return;
    }
    for (size_t i = 0; keys[i] != NULL; i++)
        SOFT(cJSON_HasObjectItem(o, keys[i]), "%s: no key \"%s\"", what, keys[i]);
}

static const char *str_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const char *const instance_keys[] = {"id",
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
                                            NULL};

/*
 * Checks an instance object: every documented key, id and name, status (when
 * want_status), holds and allowed_actions arrays, created_at and updated_at
 * set, updated_at not before not_before (when not 0).
 */
static void check_instance(const cJSON *o, const char *what, const char *id, const char *name,
                           const char *want_status, time_t not_before)
{
    check_keys(o, instance_keys, what);
    if (!cJSON_IsObject(o))
        return;
    const char *v = str_of(o, "id");
    SOFT(v != NULL && strlen(v) == 36 && (id == NULL || strcmp(v, id) == 0),
         "%s: id is %s, want %s", what, v ? v : "(none)", id ? id : "a 36-character id");
    v = str_of(o, "name");
    SOFT(name == NULL || (v != NULL && strcmp(v, name) == 0), "%s: name is %s, want %s", what,
         v ? v : "(none)", name);
    v = str_of(o, "status");
    SOFT(want_status == NULL || (v != NULL && strcmp(v, want_status) == 0),
         "%s: status is %s, want %s", what, v ? v : "(none)", want_status);
    SOFT(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(o, "holds")), "%s: holds not an array",
         what);
    SOFT(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(o, "allowed_actions")),
         "%s: allowed_actions not an array", what);
    SOFT(str_of(o, "created_at") != NULL, "%s: created_at is not set (null)", what);
    const char *up = str_of(o, "updated_at");
    SOFT(up != NULL, "%s: updated_at is not set (null)", what);
    if (up != NULL && not_before != 0)
        SOFT(parse_time(up) >= not_before,
             "%s: updated_at %s is older than the command (started %ld s later): not the row "
             "as written",
             what, up, (long)(not_before - parse_time(up)));
}

/* ---- text helpers ---- */

/* Every line of s is a 36-character id (an empty s passes); *n the number of lines. */
static bool all_lines_ids(const char *s, size_t *n)
{
    *n = 0;
    const char *p = s;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);
        if (len != 36)
            return false;
        for (size_t i = 0; i < len; i++) {
            if (!isxdigit((unsigned char)p[i]) && p[i] != '-')
                return false;
        }
        (*n)++;
        p += len + (nl != NULL);
    }
    return true;
}

static bool has_escape(const char *s)
{
    return strstr(s, "\033[") != NULL;
}

/* s holds word wrapped in an SGR colour: ESC[<params>m word ESC[0m. */
static bool coloured(const char *s, const char *word)
{
    char pat[128];
    snprintf(pat, sizeof pat, "\033\\[[0-9;]+m%s\033\\[0m", word);
    regex_t re;
    ck_assert(regcomp(&re, pat, REG_EXTENDED | REG_NOSUB) == 0);
    bool ok = regexec(&re, s, 0, NULL, 0) == 0;
    regfree(&re);
    return ok;
}

/* The line of s that starts with prefix (malloc'd), or NULL. */
static char *line_starting(const char *s, const char *prefix)
{
    size_t n = strlen(prefix);
    for (const char *p = s; p != NULL && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, prefix, n) == 0)
            return strndup(p, strcspn(p, "\n"));
    }
    return NULL;
}

/* The doctor line (text output) whose check name is check, malloc'd, or NULL. */
static char *doctor_line(const char *out, const char *check)
{
    for (const char *p = out; p != NULL && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        const char *q = p;
        while (*q && !isspace((unsigned char)*q))
            q++;
        while (*q == ' ')
            q++;
        if (strncmp(q, check, strlen(check)) == 0 && q[strlen(check)] == ' ')
            return strndup(p, strcspn(p, "\n"));
    }
    return NULL;
}

/* ---- install ---- */

START_TEST(test_install_uninstall)
{
    char bin[1024], tmp[1024], build[1024], dest[400];
    snprintf(bin, sizeof bin, "%s", bin_path());
    snprintf(tmp, sizeof tmp, "%s", bin);
    snprintf(build, sizeof build, "%s", dirname(tmp));
    snprintf(dest, sizeof dest, "%s/dest", E.dir);
    ck_assert_msg(access("Makefile", R_OK) == 0 && access("man", R_OK) == 0,
                  "run the tests from the repository root (no Makefile here)");
    /* make must not rebuild the binary under test (-o), nor join a calling make's jobserver */
    int st;
    char *out = tu_shf(&st,
                       "env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -o '%s' install "
                       "DESTDIR='%s' PREFIX=/usr/local BUILD='%s' 2>&1",
                       bin, dest, build);
    ck_assert_msg(st == 0, "make install: exit %d: %s", st, out);
    free(out);

    /* exactly these files */
    char want[4096] = "etc/cron.d/instctl\netc/instctl/instctl.conf.example\n"
                      "usr/local/bin/instctl\nusr/local/lib/instctl/billing-webhook.cgi\n"
                      "usr/local/share/bash-completion/completions/instctl\n"
                      "usr/local/lib/systemd/system/instctl-watch.service\n"
                      "usr/local/lib/systemd/system/instctl-reconcile.service\n"
                      "usr/local/lib/systemd/system/instctl-reconcile.timer\n";
    glob_t g;
    ck_assert(glob("man/*.8", 0, NULL, &g) == 0 && g.gl_pathc > 0);
    for (size_t i = 0; i < g.gl_pathc; i++) {
        char line[256];
        snprintf(line, sizeof line, "usr/local/share/man/man8/%s\n", g.gl_pathv[i] + 4);
        strncat(want, line, sizeof want - strlen(want) - 1);
    }
    globfree(&g);
    char *want_sorted = NULL;
    {
        char path[450];
        snprintf(path, sizeof path, "%s/want.txt", E.dir);
        ck_assert(tu_write_file(path, want));
        want_sorted = tu_shf(NULL, "LC_ALL=C sort '%s'", path);
    }
    char *got = tu_shf(
        NULL, "cd '%s' && find . -type f -o -type l | sed 's|^\\./||' | LC_ALL=C sort", dest);
    ck_assert_msg(strcmp(got, want_sorted) == 0, "installed files:\n%s\nwant:\n%s", got,
                  want_sorted);
    free(got);
    free(want_sorted);

    /* modes, the binary itself, a usable completion script, config example and cron entry */
    struct {
        const char *path;
        unsigned mode;
    } modes[] = {
        {"usr/local/bin/instctl", 0755},
        {"usr/local/lib/instctl/billing-webhook.cgi", 0755},
        {"etc/cron.d/instctl", 0644},
        {"etc/instctl/instctl.conf.example", 0644},
        {"usr/local/share/bash-completion/completions/instctl", 0644},
        {"usr/local/share/man/man8/instctl.8", 0644},
        {"usr/local/lib/systemd/system/instctl-watch.service", 0644},
    };
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        char path[700];
        struct stat sb;
        snprintf(path, sizeof path, "%s/%s", dest, modes[i].path);
        ck_assert_msg(stat(path, &sb) == 0, "%s: %s", path, strerror(errno));
        ck_assert_msg((sb.st_mode & 07777) == modes[i].mode, "%s: mode %o, want %o", modes[i].path,
                      sb.st_mode & 07777, modes[i].mode);
    }
    free(tu_shf(&st, "cmp '%s' '%s/usr/local/bin/instctl'", bin, dest));
    ck_assert_msg(st == 0, "the installed binary is not %s", bin);
    out = tu_shf(&st,
                 "f='%s/usr/local/share/bash-completion/completions/instctl'; test -s \"$f\" && "
                 "bash -n \"$f\" 2>&1 && grep -c 'complete -F _instctl instctl' \"$f\"",
                 dest);
    ck_assert_msg(st == 0, "installed completion script empty or not valid bash: %s", out);
    free(out);
    out = tu_shf(&st, "grep -c 'instctl reconcile' '%s/etc/cron.d/instctl'", dest);
    ck_assert_msg(st == 0, "the installed cron entry does not run instctl reconcile");
    free(out);
    char example[500], exdb[400];
    snprintf(example, sizeof example, "%s/etc/instctl/instctl.conf.example", dest);
    snprintf(exdb, sizeof exdb, "%s/example.db", E.dir);
    tu_run r = RAW("--config", example, "--db", exdb, "init", "-q");
    ck_assert_msg(r.status == 0, "instctl does not accept the installed example config: exit %d %s",
                  r.status, r.err);
    tu_run_free(&r);

    /* uninstall removes them all */
    out = tu_shf(&st,
                 "env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -o '%s' uninstall "
                 "DESTDIR='%s' PREFIX=/usr/local BUILD='%s' 2>&1",
                 bin, dest, build);
    ck_assert_msg(st == 0, "make uninstall: exit %d: %s", st, out);
    free(out);
    got = tu_shf(NULL, "cd '%s' && find . -type f -o -type l | sed 's|^\\./||'", dest);
    ck_assert_msg(got[0] == '\0', "left after make uninstall:\n%s", got);
    free(got);
}
END_TEST

/* ---- manual pages ---- */

/* The whole of a text file (malloc'd), or NULL. */
static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        fwrite(chunk, 1, n, m);
    fclose(f);
    fclose(m);
    return buf;
}

START_TEST(test_man_pages_render)
{
    glob_t g;
    ck_assert(glob("man/*.8", 0, NULL, &g) == 0 && g.gl_pathc > 0);
    for (size_t i = 0; i < g.gl_pathc; i++) {
        const char *page = g.gl_pathv[i];
        int st;
        char *out = tu_shf(&st, "groff -ww -z -man -t '%s' 2>&1", page);
        SOFT(st == 0 && out[0] == '\0', "groff -ww -z -man -t %s: exit %d:\n%s", page, st, out);
        free(out);
        char errfile[400];
        snprintf(errfile, sizeof errfile, "%s/man.err", E.dir);
        out = tu_shf(&st, "MANWIDTH=80 man -l '%s' 2>'%s' | wc -l", page, errfile);
        char *err = read_text(errfile);
        SOFT(err != NULL && err[0] == '\0', "MANWIDTH=80 man -l %s writes to stderr:\n%s", page,
             err ? err : "(nothing captured)");
        SOFT(strtol(out, NULL, 10) > 5, "man -l %s renders nothing", page);
        free(err);
        free(out);

        /* every instctl-X(8) a page refers to is one of the pages */
        char *src = read_text(page);
        ck_assert_msg(src != NULL, "cannot read %s", page);
        regex_t re;
        regmatch_t m[2];
        ck_assert(regcomp(&re, "instctl((\\\\-[a-z]+)+) ?\\(8\\)", REG_EXTENDED) == 0);
        for (const char *p = src; regexec(&re, p, 2, m, 0) == 0; p += m[0].rm_eo) {
            char ref[128] = "man/instctl";
            size_t o = strlen(ref);
            for (regoff_t k = m[1].rm_so; k < m[1].rm_eo && o + 4 < sizeof ref; k++) {
                if (p[k] != '\\')
                    ref[o++] = p[k];
            }
            snprintf(ref + o, sizeof ref - o, ".8");
            SOFT(access(ref, R_OK) == 0, "%s refers to %s, which does not exist", page, ref);
        }
        regfree(&re);
        free(src);
    }
    globfree(&g);

    /* instctl(8) describes every command of the table */
    char *text = tu_shf(NULL, "MANWIDTH=200 man -l man/instctl.8 2>/dev/null | col -bx");
    for (size_t i = 0; all_commands[i] != NULL; i++) {
        char want[64];
        snprintf(want, sizeof want, "       %s", all_commands[i]);
        SOFT(strstr(text, want) != NULL, "instctl(8) has no entry for the command %s",
             all_commands[i]);
    }
    free(text);
    soft_done();
}
END_TEST

/* ---- help ---- */

/* The command names listed under "commands:" in a usage text, space-separated (malloc'd). */
static char *listed_commands(const char *text)
{
    char *out = calloc(1, 2048);
    const char *p = strstr(text, "commands:\n");
    if (p == NULL)
        return out;
    for (p += 10; *p == ' ' && p[1] == ' ' && islower((unsigned char)p[2]);) {
        const char *w = p + 2;
        size_t n = strcspn(w, " \n");
        size_t used = strlen(out);
        snprintf(out + used, 2048 - used, "%s%.*s", used ? " " : "", (int)n, w);
        p = strchr(p, '\n');
        if (p == NULL)
            break;
        p++;
    }
    return out;
}

/* out starts with "usage: instctl CMD" followed by a space or the end of the line. */
static bool usage_of(const char *out, const char *cmd)
{
    char want[96];
    snprintf(want, sizeof want, "usage: instctl %s", cmd);
    size_t n = strlen(want);
    return strncmp(out, want, n) == 0 && (out[n] == ' ' || out[n] == '\n');
}

START_TEST(test_help)
{
    tu_run r = RAW("--help");
    ck_assert_msg(r.status == 0, "instctl --help: exit %d: %s", r.status, r.err);
    char *listed = listed_commands(r.out);
    char words[2100];
    snprintf(words, sizeof words, " %s ", listed);
    for (size_t i = 0; all_commands[i] != NULL; i++) {
        char w[64];
        snprintf(w, sizeof w, " %s ", all_commands[i]);
        SOFT(strstr(words, w) != NULL, "instctl --help does not list %s", all_commands[i]);
    }
    tu_run_free(&r);

    r = IC("help");
    SOFT(r.status == 0, "instctl help: exit %d: %s", r.status, r.err);
    char *listed_help = listed_commands(r.out);
    SOFT(strcmp(listed_help, listed) == 0,
         "instctl help lists other commands than --help:\n  help:   %s\n  --help: %s", listed_help,
         listed);
    free(listed_help);
    tu_run_free(&r);

    /* every command --help, and help COMMAND off a terminal */
    char *save = NULL;
    for (char *cmd = strtok_r(listed, " ", &save); cmd != NULL; cmd = strtok_r(NULL, " ", &save)) {
        r = RAW(cmd, "--help");
        SOFT(r.status == 0 && usage_of(r.out, cmd) && r.err[0] == '\0',
             "instctl %s --help: exit %d, stdout \"%.60s\", stderr \"%.100s\"", cmd, r.status,
             r.out, r.err);
        tu_run_free(&r);
        r = IC("help", cmd);
        SOFT(r.status == 0 && usage_of(r.out, cmd), "instctl help %s: exit %d, stdout \"%.60s\"",
             cmd, r.status, r.out);
        tu_run_free(&r);
    }
    free(listed);

    r = RAW("frobnicate");
    SOFT(r.status == 2 && strstr(r.err, "frobnicate") != NULL,
         "unknown command: exit %d (want 2), stderr %.200s", r.status, r.err);
    tu_run_free(&r);
    r = IC("help", "frobnicate");
    SOFT(r.status == 2, "help of an unknown command: exit %d (want 2)", r.status);
    tu_run_free(&r);
    r = RAW(NULL);
    SOFT(r.status == 2 && strstr(r.err, "usage:") != NULL,
         "instctl without a command: exit %d (want 2), stderr %.100s", r.status, r.err);
    tu_run_free(&r);
    soft_done();
}
END_TEST

/* ---- colour ---- */

START_TEST(test_colour)
{
    int st;
    free(tu_shf(&st, "command -v script"));
    ck_assert_msg(st == 0, "script (util-linux) is needed");
    /* any status has its badge: an instance whose create failed at once (status error) */
    char name[64], db[64], id[40];
    names("tint", name, sizeof name, db, sizeof db);
    create_failing("tint", id);

    const char *list[] = {"--config", E.conf, "list", NULL};
    const char *show[] = {"--config", E.conf, "show", name, NULL};
    const char *const *cmds[] = {list, show};
    const char *what[] = {"list", "show"};
    const char *no_color_env[] = {"NO_COLOR=1", NULL};
    for (int i = 0; i < 2; i++) {
        tu_run r = run_tty(NULL, cmds[i]);
        SOFT(r.status == 0 && coloured(r.out, "error"),
             "%s on a terminal: exit %d, no colour around \"error\":\n%s", what[i], r.status,
             r.out);
        tu_run_free(&r);

        r = run_tty(no_color_env, cmds[i]);
        SOFT(r.status == 0 && strstr(r.out, "error") != NULL && !has_escape(r.out),
             "%s on a terminal with NO_COLOR=1: exit %d, escape in:\n%s", what[i], r.status, r.out);
        tu_run_free(&r);

        const char *args[8];
        size_t n = 0;
        for (; cmds[i][n] != NULL; n++)
            args[n] = cmds[i][n];
        args[n] = "--no-color";
        args[n + 1] = NULL;
        r = run_tty(NULL, args);
        SOFT(r.status == 0 && strstr(r.out, "error") != NULL && !has_escape(r.out),
             "%s --no-color on a terminal: exit %d, escape in:\n%s", what[i], r.status, r.out);
        tu_run_free(&r);

        args[n] = "--json";
        r = run_tty(NULL, args);
        SOFT(r.status == 0 && !has_escape(r.out), "%s --json on a terminal: escape in:\n%s",
             what[i], r.out);
        tu_run_free(&r);

        r = tu_instctl(NULL, cmds[i]);
        SOFT(r.status == 0 && strstr(r.out, "error") != NULL && !has_escape(r.out),
             "%s piped: exit %d, escape in:\n%s", what[i], r.status, r.out);
        tu_run_free(&r);
    }
    soft_done();
}
END_TEST

/* ---- JSON ---- */

/* A minimal unsigned billing event for instance id. */
static void billing_event(char *buf, size_t len, const char *event_id, const char *id)
{
    snprintf(buf, len,
             "{\"id\": \"%s\", \"object\": \"event\", \"type\": \"invoice.paid\", "
             "\"created\": %ld, \"data\": {\"object\": {\"object\": \"invoice\", "
             "\"metadata\": {\"instance_id\": \"%s\"}}}}",
             event_id, (long)time(NULL), id);
}

/* The read-only commands and the others that print a result object. */
START_TEST(test_json_commands)
{
    char name[64], db[64];
    names("json", name, sizeof name, db, sizeof db);

    tu_run r = IC("init", "--json");
    cJSON *j = json_of(&r, "init --json");
    const char *init_keys[] = {"db", "schema_version", "store_uuid", NULL};
    check_keys(j, init_keys, "init --json");
    SOFT(str_of(j, "store_uuid") && strcmp(str_of(j, "store_uuid"), E.uuid) == 0,
         "init --json: store_uuid is not %s", E.uuid);
    cJSON_Delete(j);
    tu_run_free(&r);

    r = IC("doctor", "--json");
    SOFT(r.status == 0, "doctor --json on a healthy setup: exit %d", r.status);
    j = json_of(&r, "doctor --json");
    const char *doctor_keys[] = {"checks", "ok", NULL};
    check_keys(j, doctor_keys, "doctor --json");
    const cJSON *checks = cJSON_GetObjectItemCaseSensitive(j, "checks"), *c;
    SOFT(cJSON_IsArray(checks) && cJSON_GetArraySize(checks) >= 7,
         "doctor --json: checks is not an array of the checks");
    const char *one_check_keys[] = {"check", "result", "detail", NULL};
    cJSON_ArrayForEach(c, checks)
    {
        check_keys(c, one_check_keys, "doctor --json: a check");
    }
    SOFT(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "ok")), "doctor --json: ok is not true");
    cJSON_Delete(j);
    tu_run_free(&r);

    time_t t0 = time(NULL);
    const char *json_flag[] = {"--json", NULL};
    r = create_run("json", json_flag);
    ck_assert_msg(r.status == 0, "create --json: exit %d: %s", r.status, r.err);
    j = json_of(&r, "create --json");
    check_instance(j, "create --json", NULL, name, "running", t0);
    char id[40] = "";
    if (str_of(j, "id") != NULL)
        snprintf(id, sizeof id, "%s", str_of(j, "id"));
    cJSON_Delete(j);
    tu_run_free(&r);
    ck_assert_msg(strlen(id) == 36, "create --json gave no id");

    r = IC("list", "--json");
    j = json_of(&r, "list --json");
    SOFT(cJSON_IsArray(j) && cJSON_GetArraySize(j) == 1, "list --json: not an array of 1: %.300s",
         r.out);
    if (cJSON_IsArray(j))
        check_instance(cJSON_GetArrayItem(j, 0), "list --json [0]", id, name, "running", 0);
    cJSON_Delete(j);
    tu_run_free(&r);

    r = IC("show", name, "--json");
    j = json_of(&r, "show --json");
    check_instance(j, "show --json", id, name, "running", 0);
    const cJSON *cont = cJSON_GetObjectItemCaseSensitive(j, "container");
    const char *container_keys[] = {"state", "exit_code", "health", "started_at", NULL};
    check_keys(cont, container_keys, "show --json: container");
    SOFT(str_of(cont, "state") && strcmp(str_of(cont, "state"), "running") == 0,
         "show --json: container.state is not running");
    SOFT(str_of(cont, "started_at") != NULL, "show --json: a running container has no started_at");
    cJSON_Delete(j);
    tu_run_free(&r);

    r = IC("history", name, "--json");
    j = json_of(&r, "history --json");
    SOFT(cJSON_IsArray(j) && cJSON_GetArraySize(j) >= 2, "history --json: want >= 2 rows: %.300s",
         r.out);
    const char *history_keys[] = {"at", "from", "to", "cause", "detail", NULL};
    cJSON_ArrayForEach(c, j)
    {
        check_keys(c, history_keys, "history --json: a row");
        SOFT(str_of(c, "at") != NULL, "history --json: a row without at");
    }
    cJSON_Delete(j);
    tu_run_free(&r);

    r = IC("stats", "--json");
    j = json_of(&r, "stats --json");
    const char *stats_keys[] = {"creating", "running", "stopped",    "suspended", "maintenance",
                                "updating", "error",   "terminated", "total",     NULL};
    check_keys(j, stats_keys, "stats --json");
    for (size_t i = 0; stats_keys[i] != NULL && cJSON_IsObject(j); i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, stats_keys[i]);
        int want = strcmp(stats_keys[i], "running") == 0 || strcmp(stats_keys[i], "total") == 0;
        SOFT(cJSON_IsNumber(v) && v->valueint == want, "stats --json: %s is not %d", stats_keys[i],
             want);
    }
    cJSON_Delete(j);
    tu_run_free(&r);

    r = IC("reconcile", "--json");
    SOFT(r.status == 0, "reconcile --json: exit %d: %s", r.status, r.err);
    j = json_of(&r, "reconcile --json");
    const char *reconcile_keys[] = {"instances", "kept",          "changed",   "would_change",
                                    "enforced",  "skipped",       "lost",      "extras",
                                    "orphans",   "leases_broken", "decisions", NULL};
    check_keys(j, reconcile_keys, "reconcile --json");
    SOFT(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(j, "decisions")),
         "reconcile --json: decisions is not an array");
    cJSON_Delete(j);
    tu_run_free(&r);

    char event[1024], event_id[64];
    snprintf(event_id, sizeof event_id, "evt_operator_%s", E.tag);
    billing_event(event, sizeof event, event_id, id);
    r = IC_IN(event, "billing-event", "--unsigned", "-", "--json");
    SOFT(r.status == 0, "billing-event --unsigned --json: exit %d: %s", r.status, r.err);
    j = json_of(&r, "billing-event --json");
    const char *billing_keys[] = {"id", "type", "outcome", NULL};
    check_keys(j, billing_keys, "billing-event --json");
    SOFT(str_of(j, "id") && strcmp(str_of(j, "id"), event_id) == 0,
         "billing-event --json: id is not %s", event_id);
    cJSON_Delete(j);
    tu_run_free(&r);

    r = IC("backups", name, "--json");
    j = json_of(&r, "backups --json (none yet)");
    SOFT(cJSON_IsArray(j) && cJSON_GetArraySize(j) == 0, "backups --json: want []: %.200s", r.out);
    cJSON_Delete(j);
    tu_run_free(&r);
    soft_done();
}
END_TEST

/* When the last command that wrote the row ended (its second). */
static time_t last_write;

/*
 * Runs an action with --json; checks exit 0 and the instance object it
 * prints, which must be the row as the action left it: its status and
 * updated_at those `show --json` reads right after. The action starts in a
 * second after the previous write, so an updated_at left over from before
 * the action differs from the one the action wrote.
 */
static void action_json(const char *id, const char *name, const char *want_status,
                        const char *const *args)
{
    const char *argv[16] = {"--config", E.conf};
    size_t n = 2;
    char what[128] = "";
    for (size_t i = 0; args[i] != NULL && n < 14; i++) {
        argv[n++] = args[i];
        strncat(what, i ? " " : "", sizeof what - strlen(what) - 1);
        strncat(what, args[i] == name ? "NAME" : args[i], sizeof what - strlen(what) - 1);
    }
    argv[n++] = "--json";
    argv[n] = NULL;
    strncat(what, " --json", sizeof what - strlen(what) - 1);
    while (time(NULL) <= last_write)
        usleep(20 * 1000);
    tu_run r = tu_instctl(NULL, argv);
    last_write = time(NULL);
    SOFT(r.status == 0, "%s: exit %d: %s", what, r.status, r.err);
    if (r.status == 0) {
        cJSON *j = json_of(&r, what);
        check_instance(j, what, id, name, want_status, 0);
        tu_run show = IC("show", id, "--json");
        cJSON *row = cJSON_Parse(show.out);
        const char *printed = str_of(j, "updated_at"), *stored = str_of(row, "updated_at");
        SOFT(printed != NULL && stored != NULL && strcmp(printed, stored) == 0,
             "%s: updated_at %s is not the row's %s (show --json after it): the object printed "
             "is not the row as written",
             what, printed ? printed : "null", stored ? stored : "null");
        cJSON_Delete(row);
        cJSON_Delete(j);
        tu_run_free(&show);
    }
    tu_run_free(&r);
}

START_TEST(test_json_actions)
{
    char name[64], id[40];
    create_running("acts", name, sizeof name, id);
    last_write = time(NULL);
    /* an order that starts a container only twice (restart, start): the engine is slow at it */
#define ACT(status, ...)                                                                           \
    do {                                                                                           \
        const char *a_[] = {__VA_ARGS__, NULL};                                                    \
        action_json(id, name, status, a_);                                                         \
    } while (0)
    ACT("running", "restart", name);
    ACT("stopped", "stop", name);
    ACT("suspended", "suspend", name);
    ACT("stopped", "unsuspend", name);
    ACT("maintenance", "maintenance", name, "on");
    ACT("stopped", "maintenance", name, "off");
    ACT("stopped", "backup", name);
    ACT("stopped", "restore", name);
    ACT("running", "start", name);
    ACT("stopped", "action", name, "stop");
    ACT("terminated", "terminate", name, "--no-final-backup");
#undef ACT

    tu_run r = IC("backups", name, "--json");
    cJSON *j = json_of(&r, "backups --json");
    /* the backup, and restore's safety backup of what it replaced (issue 13), newest first */
    SOFT(cJSON_IsArray(j) && cJSON_GetArraySize(j) == 2 &&
             str_of(cJSON_GetArrayItem(j, 0), "kind") &&
             strcmp(str_of(cJSON_GetArrayItem(j, 0), "kind"), "safety") == 0 &&
             str_of(cJSON_GetArrayItem(j, 1), "kind") &&
             strcmp(str_of(cJSON_GetArrayItem(j, 1), "kind"), "manual") == 0,
         "backups --json: want a safety and a manual backup: %.300s", r.out);
    const char *backup_keys[] = {"id", "path", "size", "sha256", "created_at", NULL};
    const cJSON *b;
    cJSON_ArrayForEach(b, j)
    {
        check_keys(b, backup_keys, "backups --json: a backup");
        const char *path = str_of(b, "path");
        struct stat sb;
        SOFT(path != NULL && stat(path, &sb) == 0 &&
                 (double)sb.st_size == cJSON_GetNumberValue(cJSON_GetObjectItem(b, "size")),
             "backups --json: %s missing or not of the size given", path ? path : "(no path)");
        SOFT(str_of(b, "sha256") && strlen(str_of(b, "sha256")) == 64,
             "backups --json: sha256 is not 64 hex digits");
    }
    cJSON_Delete(j);
    tu_run_free(&r);

    r = IC("list", "--all", "--json");
    j = json_of(&r, "list --all --json");
    SOFT(cJSON_IsArray(j) && cJSON_GetArraySize(j) == 1, "list --all --json: not one instance");
    if (cJSON_IsArray(j))
        check_instance(cJSON_GetArrayItem(j, 0), "list --all --json [0]", id, name, "terminated",
                       0);
    cJSON_Delete(j);
    tu_run_free(&r);
    soft_done();
}
END_TEST

/* ---- -q ---- */

START_TEST(test_quiet_ids)
{
    char name[64], id[40], failed_id[40];
    create_running("quiet", name, sizeof name, id); /* create -q printed exactly the id */
    create_failing("qfail", failed_id);
    size_t n;

    tu_run r = IC("list", "-q");
    ck_assert_msg(r.status == 0 && all_lines_ids(r.out, &n) && n == 2,
                  "list -q: exit %d, want two ids, one a line:\n%s", r.status, r.out);
    ck_assert_msg(strstr(r.out, id) != NULL && strstr(r.out, failed_id) != NULL,
                  "list -q lacks %s or %s:\n%s", id, failed_id, r.out);
    tu_run_free(&r);

    r = IC("show", name, "-q");
    ck_assert_msg(r.status == 0 && all_lines_ids(r.out, &n) && n == 1 &&
                      strncmp(r.out, id, 36) == 0,
                  "show NAME -q: exit %d, want %s:\n%s", r.status, id, r.out);
    tu_run_free(&r);

    r = IC("init", "-q");
    ck_assert_msg(r.status == 0 && all_lines_ids(r.out, &n) && n == 1 &&
                      strncmp(r.out, E.uuid, 36) == 0,
                  "init -q: want the store uuid:\n%s", r.out);
    tu_run_free(&r);

    r = IC("stop", name, "-q");
    ck_assert_msg(r.status == 0 && all_lines_ids(r.out, &n),
                  "stop -q: exit %d, prints more than ids:\n%s", r.status, r.out);
    tu_run_free(&r);
}
END_TEST

/* ---- global options anywhere ---- */

START_TEST(test_global_options_anywhere)
{
    char name[64], db[64], id[40];
    names("glob", name, sizeof name, db, sizeof db);
    create_failing("glob", id);

    tu_run a = RAW("show", name, "--json", "--config", E.conf);
    tu_run b = RAW("--config", E.conf, "--json", "show", name);
    char joined[400];
    snprintf(joined, sizeof joined, "--config=%s", E.conf);
    tu_run c = RAW("--json", "show", joined, name);
    cJSON *bj = b.status == 0 ? cJSON_Parse(b.out) : NULL;
    bool parsed = bj != NULL;
    cJSON_Delete(bj);
    ck_assert_msg(parsed, "--config X --json show NAME: exit %d: %s", b.status, b.err);
    ck_assert_msg(a.status == 0 && strcmp(a.out, b.out) == 0,
                  "show NAME --json --config X differs (exit %d):\n%s\nfrom\n%s", a.status, a.out,
                  b.out);
    ck_assert_msg(c.status == 0 && strcmp(c.out, b.out) == 0,
                  "--json show --config=X NAME differs (exit %d):\n%s\nfrom\n%s", c.status, c.out,
                  b.out);
    tu_run_free(&a);
    tu_run_free(&b);
    tu_run_free(&c);

    a = RAW("list", "-q", "--db", E.db);
    ck_assert_msg(a.status == 0 && strncmp(a.out, id, 36) == 0, "list -q --db DB: exit %d: %s%s",
                  a.status, a.out, a.err);
    tu_run_free(&a);
    a = RAW("list", "--no-color", "--config", E.conf, "--wait=5");
    ck_assert_msg(a.status == 0 && strstr(a.out, name) != NULL,
                  "list --no-color --config X --wait=5: exit %d: %s", a.status, a.err);
    tu_run_free(&a);

    /* --docker-host after the command is honoured: doctor fails on the engine */
    a = RAW("doctor", "--config", E.conf, "--docker-host", "unix:///nonexistent-op.sock");
    char *engine = doctor_line(a.out, "engine");
    ck_assert_msg(
        a.status != 0 && engine != NULL && strncmp(engine, "FAIL", 4) == 0 &&
            strstr(engine, "nonexistent-op.sock") != NULL,
        "doctor --docker-host (after the command) unix:///nonexistent-op.sock: exit %d:\n%s",
        a.status, a.out);
    free(engine);
    tu_run_free(&a);
}
END_TEST

/* ---- configuration precedence ---- */

/* The "db" of `init --json` run with env changes and args (the config path first). */
static char *init_db(const char *const *env, const char *const *args)
{
    tu_run r = run_env(env, args);
    ck_assert_msg(r.status == 0, "init --json: exit %d: %s", r.status, r.err);
    cJSON *j = cJSON_Parse(r.out);
    ck_assert_msg(j != NULL && str_of(j, "db") != NULL, "init --json: %s", r.out);
    char *db = strdup(str_of(j, "db"));
    cJSON_Delete(j);
    tu_run_free(&r);
    return db;
}

static bool exists(const char *path)
{
    return access(path, F_OK) == 0;
}

START_TEST(test_config_precedence_db)
{
    char conf[400], a[400], b[400], c[400], env_b[420];
    snprintf(conf, sizeof conf, "%s/prec.conf", E.dir);
    snprintf(a, sizeof a, "%s/a.db", E.dir);
    snprintf(b, sizeof b, "%s/b.db", E.dir);
    snprintf(c, sizeof c, "%s/c.db", E.dir);
    snprintf(env_b, sizeof env_b, "INSTCTL_DB=%s", b);
    ck_assert(write_conf(conf, a, NULL));
    const char *env[] = {env_b, NULL};

    const char *flag[] = {"--config", conf, "--db", c, "init", "--json", NULL};
    char *db = init_db(env, flag);
    ck_assert_msg(strcmp(db, c) == 0, "file a, env b, flag c: used %s", db);
    ck_assert_msg(exists(c) && !exists(b) && !exists(a), "file a, env b, flag c: not only c made");
    free(db);

    const char *noflag[] = {"--config", conf, "init", "--json", NULL};
    db = init_db(env, noflag);
    ck_assert_msg(strcmp(db, b) == 0, "file a, env b: used %s", db);
    ck_assert_msg(exists(b) && !exists(a), "file a, env b: a was made");
    free(db);

    db = init_db(NULL, noflag);
    ck_assert_msg(strcmp(db, a) == 0, "file a: used %s", db);
    ck_assert_msg(exists(a), "file a: a was not made");
    free(db);

    /* the flag after the command, and the environment over the file, once more */
    const char *after[] = {"init", "--json", "--db", c, "--config", conf, NULL};
    db = init_db(env, after);
    ck_assert_msg(strcmp(db, c) == 0, "init --json --db c --config X (env b): used %s", db);
    free(db);
}
END_TEST

START_TEST(test_config_precedence_config_file)
{
    char one[400], two[400], db1[400], db2[400], env_two[420];
    snprintf(one, sizeof one, "%s/one.conf", E.dir);
    snprintf(two, sizeof two, "%s/two.conf", E.dir);
    snprintf(db1, sizeof db1, "%s/one.db", E.dir);
    snprintf(db2, sizeof db2, "%s/two.db", E.dir);
    snprintf(env_two, sizeof env_two, "INSTCTL_CONFIG=%s", two);
    ck_assert(write_conf(one, db1, NULL) && write_conf(two, db2, NULL));
    const char *env[] = {env_two, NULL};

    const char *plain[] = {"init", "--json", NULL};
    char *db = init_db(env, plain);
    ck_assert_msg(strcmp(db, db2) == 0, "INSTCTL_CONFIG=two: used %s", db);
    free(db);
    const char *flag[] = {"--config", one, "init", "--json", NULL};
    db = init_db(env, flag);
    ck_assert_msg(strcmp(db, db1) == 0, "INSTCTL_CONFIG=two --config one: used %s", db);
    free(db);
}
END_TEST

/* Runs doctor with env changes and args; returns the engine line (malloc'd, "" when none). */
static char *doctor_engine(const char *const *env, const char *const *args, int *status)
{
    tu_run r = run_env(env, args);
    *status = r.status;
    char *line = doctor_line(r.out, "engine");
    tu_run_free(&r);
    return line != NULL ? line : strdup("");
}

START_TEST(test_config_precedence_docker_host)
{
    char conf[400], extra[600];
    snprintf(conf, sizeof conf, "%s/host.conf", E.dir);
    snprintf(extra, sizeof extra, "docker_host = %s\n", engine_uri());
    ck_assert(write_conf(conf, E.db, extra));
    const char *bad_env[] = {"DOCKER_HOST=unix:///nonexistent-env.sock", NULL};
    const char *no_env[] = {"-DOCKER_HOST", NULL};
    int st;

    const char *plain[] = {"--config", conf, "doctor", NULL};
    char *line = doctor_engine(no_env, plain, &st);
    ck_assert_msg(st == 0 && strncmp(line, "ok", 2) == 0,
                  "config docker_host = %s, no DOCKER_HOST: exit %d, engine line \"%s\"",
                  engine_uri(), st, line);
    free(line);

    line = doctor_engine(bad_env, plain, &st);
    ck_assert_msg(st != 0 && strncmp(line, "FAIL", 4) == 0 &&
                      strstr(line, "nonexistent-env.sock") != NULL,
                  "DOCKER_HOST=unix:///nonexistent-env.sock over the file: exit %d, engine line "
                  "\"%s\"",
                  st, line);
    free(line);

    const char *flag[] = {"--config", conf, "doctor", "--docker-host", engine_uri(), NULL};
    line = doctor_engine(bad_env, flag, &st);
    ck_assert_msg(st == 0 && strncmp(line, "ok", 2) == 0,
                  "--docker-host %s over DOCKER_HOST: exit %d, engine line \"%s\"", engine_uri(),
                  st, line);
    free(line);

    /* and the other way round: a bad file value under a good environment, a bad flag over both */
    char conf2[400], env_good[600];
    snprintf(conf2, sizeof conf2, "%s/host2.conf", E.dir);
    ck_assert(write_conf(conf2, E.db, "docker_host = unix:///nonexistent-file.sock\n"));
    snprintf(env_good, sizeof env_good, "DOCKER_HOST=%s", engine_uri());
    const char *good_env[] = {env_good, NULL};
    const char *plain2[] = {"--config", conf2, "doctor", NULL};
    line = doctor_engine(good_env, plain2, &st);
    ck_assert_msg(st == 0 && strncmp(line, "ok", 2) == 0,
                  "good DOCKER_HOST over a bad file docker_host: exit %d, engine line \"%s\"", st,
                  line);
    free(line);
    const char *flag2[] = {"--config", conf2, "--docker-host", "unix:///nonexistent-flag.sock",
                           "doctor",   NULL};
    line = doctor_engine(good_env, flag2, &st);
    ck_assert_msg(st != 0 && strstr(line, "nonexistent-flag.sock") != NULL,
                  "a bad --docker-host over a good DOCKER_HOST: exit %d, engine line \"%s\"", st,
                  line);
    free(line);
}
END_TEST

/* Keys the file does not set take the built-in defaults (seen in doctor's lines). */
START_TEST(test_config_builtin_defaults)
{
    char conf[400], text[600];
    snprintf(conf, sizeof conf, "%s/min.conf", E.dir);
    snprintf(text, sizeof text, "db = %s\n", E.db);
    ck_assert(tu_write_file(conf, text));
    const char *args[] = {"--config", conf, "doctor", NULL};
    tu_run r = run_env(NULL, args);
    char *backup = doctor_line(r.out, "backup directory");
    char *cron = doctor_line(r.out, "reconcile");
    char *image = doctor_line(r.out, "image");
    ck_assert_msg(backup && strstr(backup, "/var/lib/instctl/backups") != NULL,
                  "default backup_dir: %s", r.out);
    ck_assert_msg(cron && strstr(cron, "/etc/cron.d/instctl") != NULL, "default cron_file: %s",
                  r.out);
    ck_assert_msg(image && strstr(image, "odoo:17.0") != NULL && !strstr(image, "standin"),
                  "default image_template and default_odoo_version: %s", r.out);
    free(backup);
    free(cron);
    free(image);
    tu_run_free(&r);
}
END_TEST

/* ---- bad configuration ---- */

static const struct bad_config {
    const char *what;
    const char *body;  /* after "db = DB\n" (line 1); NULL: see kind */
    const char *kind;  /* "missing": --config names no file; "dir": a directory */
    const char *where; /* ":LINE" expected after the path */
    const char *key;   /* expected in the message */
} bad_configs[] = {
    {"an unknown key", "image_template = x:{version}\nfrobnicate_level = 3\n", NULL, ":3",
     "frobnicate_level"},
    {"a bad integer", "create_timeout = soon\n", NULL, ":2", "create_timeout"},
    {"a bad pull_policy", "# comment\n\npull_policy = sometimes\n", NULL, ":4", "pull_policy"},
    {"a line without '='", "backup_keep 7\n", NULL, ":2", "backup_keep"},
    {"a negative integer", "stop_timeout = -5\n", NULL, ":2", "stop_timeout"},
    {"a missing --config file", NULL, "missing", "", ""},
    {"a directory as config", NULL, "dir", "", ""},
};

START_TEST(test_bad_config)
{
    const struct bad_config *bc = &bad_configs[_i];
    char path[400], db[400];
    snprintf(db, sizeof db, "%s/bad-%d.db", E.dir, _i);
    if (bc->kind == NULL) {
        char text[1024];
        snprintf(path, sizeof path, "%s/bad-%d.conf", E.dir, _i);
        snprintf(text, sizeof text, "db = %s\n%s", db, bc->body);
        ck_assert(tu_write_file(path, text));
    } else if (strcmp(bc->kind, "missing") == 0) {
        snprintf(path, sizeof path, "%s/no-such.conf", E.dir);
    } else {
        snprintf(path, sizeof path, "%s/conf-%d.d", E.dir, _i);
        ck_assert(mkdir(path, 0700) == 0);
    }
    const char *cmds[][2] = {{"list", NULL}, {"init", NULL}, {"doctor", NULL}};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        const char *args[] = {"--config", path, cmds[i][0], NULL};
        tu_run r = run_env(NULL, args);
        char want[512];
        snprintf(want, sizeof want, "%s%s", path, bc->where);
        ck_assert_msg(r.status == 8, "%s: %s exits %d, want 8; stderr: %s", bc->what, cmds[i][0],
                      r.status, r.err);
        ck_assert_msg(strstr(r.err, want) != NULL && strstr(r.err, bc->key) != NULL,
                      "%s: stderr does not name %s and \"%s\": %s", bc->what, want, bc->key, r.err);
        ck_assert_msg(!exists(db), "%s: %s created the database anyway", bc->what, cmds[i][0]);
        tu_run_free(&r);
    }
    /* the same file named by INSTCTL_CONFIG */
    char env_conf[420];
    snprintf(env_conf, sizeof env_conf, "INSTCTL_CONFIG=%s", path);
    const char *env[] = {env_conf, NULL};
    const char *args[] = {"list", NULL};
    tu_run r = run_env(env, args);
    ck_assert_msg(r.status == 8 && strstr(r.err, path) != NULL,
                  "%s via INSTCTL_CONFIG: exit %d, stderr %s", bc->what, r.status, r.err);
    tu_run_free(&r);
}
END_TEST

/* ---- doctor ---- */

START_TEST(test_doctor_healthy)
{
    tu_run r = IC("doctor");
    ck_assert_msg(r.status == 0, "doctor on a healthy setup: exit %d\n%s%s", r.status, r.out,
                  r.err);
    const char *names_[] = {"database",        "engine",         "image",     "backup directory",
                            "database server", "webhook secret", "reconcile", "clock"};
    for (size_t i = 0; i < sizeof names_ / sizeof names_[0]; i++) {
        char *line = doctor_line(r.out, names_[i]);
        ck_assert_msg(line != NULL, "doctor has no %s line:\n%s", names_[i], r.out);
        free(line);
    }
    for (const char *p = r.out; *p; p = strchr(p, '\n') + 1) {
        size_t n = strcspn(p, "\n");
        ck_assert_msg(strncmp(p, "ok ", 3) == 0 || strncmp(p, "skip ", 5) == 0 ||
                          strncmp(p, "warn ", 5) == 0,
                      "doctor line neither ok, skip nor warn: %.*s", (int)n, p);
        if (p[n] == '\0')
            break;
    }
    char *server = doctor_line(r.out, "database server");
    ck_assert_msg(strncmp(server, "skip", 4) == 0, "no db_host, yet: %s", server);
    free(server);
    tu_run_free(&r);
}
END_TEST

/* Runs doctor with the extra config lines; asserts it fails on exactly the check named. */
static void doctor_fails_on(const char *extra, const char *const *flags, const char *check,
                            const char *mention)
{
    char conf[400];
    snprintf(conf, sizeof conf, "%s/doctor.conf", E.dir);
    ck_assert(write_conf(conf, E.db, extra));
    const char *args[16] = {"--config", conf, "doctor"};
    size_t n = 3;
    for (size_t i = 0; flags != NULL && flags[i] != NULL && n < 15; i++)
        args[n++] = flags[i];
    args[n] = NULL;
    tu_run r = run_env(NULL, args);
    ck_assert_msg(r.status != 0, "doctor exits 0 though %s should fail:\n%s", check, r.out);
    char *line = doctor_line(r.out, check);
    ck_assert_msg(line != NULL && strncmp(line, "FAIL", 4) == 0,
                  "doctor has no failing %s line:\n%s", check, r.out);
    ck_assert_msg(strstr(line, mention) != NULL, "the %s line does not name %s: %s", check, mention,
                  line);
    free(line);
    /* no other check fails */
    for (const char *p = r.out; *p; p = strchr(p, '\n') + 1) {
        size_t len = strcspn(p, "\n");
        if (strncmp(p, "FAIL", 4) == 0) {
            char *l = strndup(p, len);
            ck_assert_msg(strstr(l, check) != NULL, "another check fails too: %s", l);
            free(l);
        }
        if (p[len] == '\0')
            break;
    }
    tu_run_free(&r);

    /* --json agrees */
    args[n++] = "--json";
    args[n] = NULL;
    r = run_env(NULL, args);
    cJSON *j = cJSON_Parse(r.out);
    ck_assert_msg(r.status != 0 && j != NULL &&
                      cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j, "ok")),
                  "doctor --json: exit %d, ok not false: %s", r.status, r.out);
    bool found = false;
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(j, "checks"))
    {
        if (str_of(c, "check") && strcmp(str_of(c, "check"), check) == 0)
            found = str_of(c, "result") && strcmp(str_of(c, "result"), "fail") == 0;
    }
    ck_assert_msg(found, "doctor --json: %s is not \"fail\": %s", check, r.out);
    cJSON_Delete(j);
    tu_run_free(&r);
}

START_TEST(test_doctor_engine_unreachable)
{
    const char *flags[] = {"--docker-host", "unix:///nonexistent.sock", NULL};
    doctor_fails_on(NULL, flags, "engine", "nonexistent.sock");
}
END_TEST

START_TEST(test_doctor_db_server_closed)
{
    /* a bound socket that does not listen: connections to its port are refused */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    ck_assert(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
              getsockname(fd, (struct sockaddr *)&a, &len) == 0);
    char extra[128], mention[64];
    snprintf(extra, sizeof extra, "db_host = 127.0.0.1\ndb_port = %d\n", ntohs(a.sin_port));
    snprintf(mention, sizeof mention, "127.0.0.1:%d", ntohs(a.sin_port));
    doctor_fails_on(extra, NULL, "database server", mention);
    close(fd);
}
END_TEST

START_TEST(test_doctor_webhook_secret_missing)
{
    char extra[512], missing[400];
    snprintf(missing, sizeof missing, "%s/no-webhook-secret", E.dir);
    snprintf(extra, sizeof extra, "webhook_secret_file = %s\n", missing);
    doctor_fails_on(extra, NULL, "webhook secret", missing);
}
END_TEST

/* ---- completion ---- */

/* Sources the completion script and completes words (COMP_CWORD = the last); the replies. */
static char *complete_words(const char *script, const char *words)
{
    int st;
    char *out = tu_shf(&st,
                       "PATH='%s/bin':\"$PATH\" bash -c 'source \"%s\" && COMP_WORDS=(%s) && "
                       "COMP_CWORD=$((${#COMP_WORDS[@]} - 1)) && _instctl && "
                       "printf \"%%s\\n\" \"${COMPREPLY[@]}\" | LC_ALL=C sort | tr \"\\n\" \" \"'",
                       E.dir, script, words);
    ck_assert_msg(st == 0, "completing (%s): exit %d", words, st);
    return tu_trim(out);
}

START_TEST(test_completion)
{
    char script[400], bindir[400], link[450];
    snprintf(script, sizeof script, "%s/completion.bash", E.dir);
    snprintf(bindir, sizeof bindir, "%s/bin", E.dir);
    snprintf(link, sizeof link, "%s/instctl", bindir);
    char abs_bin[4096];
    ck_assert(realpath(bin_path(), abs_bin) != NULL);
    ck_assert(mkdir(bindir, 0700) == 0 && symlink(abs_bin, link) == 0);

    tu_run r = RAW("completion", "bash");
    ck_assert_msg(r.status == 0 && r.out[0] != '\0', "completion bash: exit %d: %s", r.status,
                  r.err);
    ck_assert(tu_write_file(script, r.out));
    tu_run_free(&r);
    int st;
    char *out = tu_shf(&st, "bash -n '%s' 2>&1", script);
    ck_assert_msg(st == 0, "the completion script is not valid bash: %s", out);
    free(out);

    /* instance names come from the database named by --config before the command */
    char id1[40], id2[40], words[1024];
    create_failing("alpha", id1);
    create_failing("beta", id2);

    out = complete_words(script, "instctl st");
    ck_assert_msg(strcmp(out, "start stats stop") == 0, "\"st\" completes to \"%s\"", out);
    free(out);
    out = complete_words(script, "instctl stop web1 --r");
    ck_assert_msg(strcmp(out, "--reason") == 0, "\"stop web1 --r\" completes to \"%s\"", out);
    free(out);
    out = complete_words(script, "instctl help back");
    ck_assert_msg(strcmp(out, "backup backups") == 0, "\"help back\" completes to \"%s\"", out);
    free(out);
    snprintf(words, sizeof words, "instctl --config %s show \"\"", E.conf);
    out = complete_words(script, words);
    char want[128];
    snprintf(want, sizeof want, "op-%s-alpha op-%s-beta", E.tag, E.tag);
    ck_assert_msg(strcmp(out, want) == 0, "\"--config X show \" completes to \"%s\", want \"%s\"",
                  out, want);
    free(out);
    snprintf(words, sizeof words, "instctl --config %s stop op-%s-a", E.conf, E.tag);
    out = complete_words(script, words);
    snprintf(want, sizeof want, "op-%s-alpha", E.tag);
    ck_assert_msg(strcmp(out, want) == 0, "\"--config X stop op-TAG-a\" completes to \"%s\"", out);
    free(out);
}
END_TEST

/* ---- show: a paused container, a never-started one ---- */

START_TEST(test_show_container_states)
{
    char name[64], id[40];
    create_running("pause", name, sizeof name, id);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT container_id FROM instances WHERE id = '%s'", id);
    char *cid = tu_sql(E.db, sql);
    int st;
    free(tu_shf(&st, "docker pause '%s' >/dev/null 2>&1", cid));
    ck_assert_msg(st == 0, "docker pause %s failed", cid);

    tu_run r = IC("show", name);
    tu_run rj = IC("show", name, "--json");
    free(tu_shf(NULL, "docker unpause '%s' >/dev/null 2>&1", cid));
    char *status = line_starting(r.out, "status:");
    ck_assert_msg(r.status == 0 && status != NULL &&
                      strstr(status, "running — container paused (transient)") != NULL,
                  "show of a paused container: exit %d:\n%s", r.status, r.out);
    free(status);
    cJSON *j = cJSON_Parse(rj.out);
    const cJSON *cont = cJSON_GetObjectItemCaseSensitive(j, "container");
    ck_assert_msg(str_of(cont, "state") && strcmp(str_of(cont, "state"), "paused") == 0 &&
                      str_of(j, "status") && strcmp(str_of(j, "status"), "running") == 0,
                  "show --json of a paused container: %s", rj.out);
    cJSON_Delete(j);
    tu_run_free(&r);
    tu_run_free(&rj);
    free(cid);

    /* restore leaves a stopped instance on a new container that never ran */
    const char *steps[][3] = {
        {"backup", name, NULL}, {"stop", name, NULL}, {"restore", name, NULL}};
    for (size_t i = 0; i < 3; i++) {
        r = IC(steps[i][0], steps[i][1], "-q");
        ck_assert_msg(r.status == 0, "%s: exit %d: %s", steps[i][0], r.status, r.err);
        tu_run_free(&r);
    }
    cid = tu_sql(E.db, sql);
    char *started =
        tu_shf(NULL, "docker inspect -f '{{.State.Status}} {{.State.StartedAt}}' '%s'", cid);
    ck_assert_msg(strncmp(started, "created 0001-01-01", 18) == 0,
                  "the restored container should never have started: %s", started);
    free(started);
    free(cid);

    r = IC("show", name);
    ck_assert_msg(r.status == 0 && strstr(r.out, "0001-01-01") == NULL,
                  "show of a never-started container prints Docker's zero time:\n%s", r.out);
    char *cline = line_starting(r.out, "container:");
    ck_assert_msg(cline != NULL && strstr(cline, " created") != NULL,
                  "show does not say the container is created:\n%s", r.out);
    free(cline);
    tu_run_free(&r);
    r = IC("show", name, "--json");
    j = cJSON_Parse(r.out);
    cont = cJSON_GetObjectItemCaseSensitive(j, "container");
    ck_assert_msg(strstr(r.out, "0001-01-01") == NULL &&
                      cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(cont, "started_at")) &&
                      str_of(cont, "state") && strcmp(str_of(cont, "state"), "created") == 0,
                  "show --json of a never-started container: want state created, started_at "
                  "null:\n%s",
                  r.out);
    cJSON_Delete(j);
    tu_run_free(&r);
    r = IC("list");
    ck_assert_msg(r.status == 0 && strstr(r.out, "0001-01-01") == NULL,
                  "list prints Docker's zero time:\n%s", r.out);
    tu_run_free(&r);
}
END_TEST

/* ---- issue 13: no surprises at a shell ---- */

/* Every command but init and create refuses a database that does not exist (exit 8, the path). */
START_TEST(test_missing_database)
{
    char db[400];
    snprintf(db, sizeof db, "%s/typo/instctl.db", E.dir);
    const char *const cmds[][4] = {
        {"list", NULL},      {"stats", NULL},
        {"show", "x", NULL}, {"history", "x", NULL},
        {"stop", "x", NULL}, {"backups", "x", NULL},
        {"reconcile", NULL}, {"maintenance", "x", "on", NULL},
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        const char *args[8] = {"--config", E.conf, "--db", db};
        size_t n = 4;
        for (size_t k = 0; cmds[i][k] != NULL; k++)
            args[n++] = cmds[i][k];
        args[n] = NULL;
        tu_run r = tu_instctl(NULL, args);
        SOFT(r.status == 8 && strstr(r.err, db) != NULL && strstr(r.err, "does not exist"),
             "%s on a missing database: exit %d (want 8), stderr %s", cmds[i][0], r.status, r.err);
        SOFT(strchr(r.err, '\n') == r.err + strlen(r.err) - 1, "%s: more than one line: %s",
             cmds[i][0], r.err);
        tu_run_free(&r);
        SOFT(!exists(db), "%s created the mistyped database %s", cmds[i][0], db);
    }
    /* doctor says so in its database line */
    tu_run r = IC("--db", db, "doctor");
    char *line = doctor_line(r.out, "database");
    SOFT(line != NULL && strncmp(line, "FAIL", 4) == 0 && strstr(line, "does not exist"),
         "doctor on a missing database: %s", line ? line : r.out);
    free(line);
    tu_run_free(&r);
    SOFT(!exists(db), "doctor created the mistyped database %s", db);
    /* create may make it (here the create itself fails: the image is absent) */
    const char *args[] = {"--config",
                          E.conf,
                          "--db",
                          db,
                          "create",
                          "newdb",
                          "--database",
                          "newdb",
                          "--admin-email",
                          "a@example.com",
                          "--admin-password-file",
                          E.pwfile,
                          "--image",
                          "instctl/odoo-standin:absent",
                          "--pull",
                          "never",
                          NULL};
    r = tu_instctl(NULL, args);
    SOFT(exists(db), "create did not create the database: exit %d %s", r.status, r.err);
    tu_run_free(&r);
    soft_done();
}
END_TEST

/* New databases are 0600, and so are the -wal and -shm files SQLite makes beside them. */
START_TEST(test_database_modes)
{
    struct stat st;
    ck_assert(stat(E.db, &st) == 0);
    ck_assert_msg((st.st_mode & 0777) == 0600, "%s: mode %o, want 600", E.db, st.st_mode & 0777);
    sqlite3 *db = NULL;
    ck_assert(sqlite3_open_v2(E.db, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK);
    ck_assert(sqlite3_exec(db, "BEGIN IMMEDIATE; CREATE TABLE mode_probe (x); COMMIT;", NULL, NULL,
                           NULL) == SQLITE_OK);
    const char *sides[] = {"-wal", "-shm"};
    for (size_t i = 0; i < 2; i++) {
        char path[400];
        snprintf(path, sizeof path, "%s%s", E.db, sides[i]);
        ck_assert_msg(stat(path, &st) == 0, "%s: %s", path, strerror(errno));
        ck_assert_msg((st.st_mode & 0777) == 0600, "%s: mode %o, want 600", path,
                      st.st_mode & 0777);
    }
    sqlite3_close(db);
}
END_TEST

/*
 * Not root: a database and an engine socket this user may not use say
 * "permission denied: PATH (...)", not SQLite's "unable to open database
 * file". Runs a copy of the binary as nobody.
 */
START_TEST(test_permission_denied)
{
    int st;
    char pub[320], bin[400], conf[400];
    snprintf(pub, sizeof pub, "%s-pub", E.dir);
    snprintf(bin, sizeof bin, "%s/instctl", pub);
    snprintf(conf, sizeof conf, "%s/instctl.conf", pub);
    free(tu_shf(&st, "mkdir -p '%s' && cp '%s' '%s' && chmod 0755 '%s' '%s'", pub, bin_path(), bin,
                pub, bin));
    ck_assert_msg(st == 0, "cannot copy the binary to %s", pub);
    ck_assert(write_conf(conf, E.db, NULL));
    chmod(conf, 0644);
    /* the database is root's 0600 in root's 0700 directory; the socket is root's (and docker's) */
    char *out = tu_shf(&st,
                       "setpriv --reuid=65534 --regid=65534 --clear-groups env -u INSTCTL_DB "
                       "-u INSTCTL_CONFIG '%s' --config '%s' --docker-host '%s' doctor 2>&1",
                       bin, conf, engine_uri());
    char *dbline = doctor_line(out, "database"), *engine = doctor_line(out, "engine");
    SOFT(dbline != NULL && strstr(dbline, "permission denied: ") != NULL &&
             strstr(dbline, "read and write access") && !strstr(dbline, "unable to open"),
         "doctor as nobody, database line: %s", dbline ? dbline : out);
    SOFT(engine != NULL && strstr(engine, "permission denied: ") != NULL &&
             strstr(engine, engine_uri() + 7) != NULL,
         "doctor as nobody, engine line: %s", engine ? engine : out);
    free(dbline);
    free(engine);
    free(out);
    out = tu_shf(&st,
                 "setpriv --reuid=65534 --regid=65534 --clear-groups env -u INSTCTL_DB "
                 "-u INSTCTL_CONFIG '%s' --config '%s' list 2>&1",
                 bin, conf);
    SOFT(st == 8 && strncmp(out, "instctl: permission denied: ", 28) == 0 && !strchr(out, '\n'),
         "list as nobody: exit %d (want 8): %s", st, out);
    free(out);
    free(tu_shf(NULL, "rm -rf '%s'", pub));
    soft_done();
}
END_TEST

/* Free text with newlines and escape codes is escaped in text output, kept exact in --json. */
START_TEST(test_escaped_text)
{
    char id[40], name[64], db[64], sql[1024];
    create_failing("esc", id);
    names("esc", name, sizeof name, db, sizeof db);
    snprintf(sql, sizeof sql,
             "UPDATE instances SET error_message = 'bad' || char(10) || 'line' || char(27) || "
             "'[2J' WHERE id = '%s';"
             "INSERT INTO status_events (instance_id, from_status, to_status, cause, detail, at) "
             "VALUES ('%s', 'error', 'error', 'action', 'why' || char(13) || char(10) || "
             "char(27) || ']0;owned' || char(7) || 'end', 1700000000);",
             id, id);
    ck_assert(tu_sql_exec(E.db, sql));
    tu_run r = IC("history", name);
    SOFT(r.status == 0 && !has_escape(r.out) && strchr(r.out, '\r') == NULL &&
             strchr(r.out, '\a') == NULL && strstr(r.out, "why\\r\\n\\e]0;owned\\x07end") != NULL,
         "history does not escape the detail: exit %d\n%s", r.status, r.out);
    tu_run_free(&r);
    r = IC("show", name);
    char *err = line_starting(r.out, "error:");
    SOFT(err != NULL && strstr(err, "bad\\nline\\e[2J") != NULL && !has_escape(r.out),
         "show does not escape the error message:\n%s", r.out);
    free(err);
    tu_run_free(&r);
    r = IC("show", name, "--json");
    cJSON *j = cJSON_Parse(r.out);
    SOFT(j != NULL && str_of(j, "error_message") &&
             strcmp(str_of(j, "error_message"), "bad\nline\033[2J") == 0,
         "show --json does not carry the exact message: %s", r.out);
    cJSON_Delete(j);
    tu_run_free(&r);
    soft_done();
}
END_TEST

/* The Makefile's VERSION (the one definition). */
static void makefile_version(char *buf, size_t len)
{
    char *v = tu_shf(NULL, "sed -n 's/^VERSION *= *//p' Makefile");
    snprintf(buf, len, "%s", v);
    free(v);
}

/* An unknown command: one line naming the closest command, exit 2; --version. */
START_TEST(test_unknown_command_version)
{
    const char *const typos[][2] = {
        {"strat", "start"}, {"lsit", "list"}, {"histroy", "history"}, {"version", "--version"}};
    for (size_t i = 0; i < sizeof typos / sizeof typos[0]; i++) {
        char want[160];
        snprintf(want, sizeof want,
                 "instctl: unknown command \"%s\"; did you mean %s? See 'instctl help'.\n",
                 typos[i][0], typos[i][1]);
        tu_run r = RAW(typos[i][0]);
        SOFT(r.status == 2 && strcmp(r.err, want) == 0 && r.out[0] == '\0',
             "instctl %s: exit %d, stderr \"%s\", want \"%s\"", typos[i][0], r.status, r.err, want);
        tu_run_free(&r);
    }
    tu_run r = RAW("zzzzzzzz\033[31m");
    SOFT(r.status == 2 && strcmp(r.err, "instctl: unknown command \"zzzzzzzz\\e[31m\". See "
                                        "'instctl help'.\n") == 0,
         "a far, escaped unknown command: exit %d, stderr \"%s\"", r.status, r.err);
    tu_run_free(&r);
    char version[32], want[64];
    makefile_version(version, sizeof version);
    snprintf(want, sizeof want, "instctl %s\n", version);
    r = RAW("--version");
    SOFT(version[0] && r.status == 0 && strcmp(r.out, want) == 0,
         "instctl --version: exit %d, \"%s\", want \"%s\"", r.status, r.out, want);
    tu_run_free(&r);
    r = RAW("list", "--version", "--db", "/nonexistent/x.db");
    SOFT(r.status == 0 && strcmp(r.out, want) == 0, "--version after a command: exit %d \"%s\"",
         r.status, r.out);
    tu_run_free(&r);
    soft_done();
}
END_TEST

/* "1.2 MiB" for people, bytes in --json: backup's note, backups' table and JSON. */
static bool human_size(const char *s)
{
    regex_t re;
    ck_assert(regcomp(&re, "(^|[ ,])[0-9]+(\\.[0-9] (KiB|MiB|GiB|TiB)| B)([ ,]|$)",
                      REG_EXTENDED | REG_NOSUB) == 0);
    bool ok = regexec(&re, s, 0, NULL, 0) == 0;
    regfree(&re);
    return ok;
}

START_TEST(test_sizes)
{
    char name[64], id[40];
    create_running("size", name, sizeof name, id);
    tu_run r = IC("backup", name);
    SOFT(r.status == 0 && human_size(r.out) && strstr(r.out, "bytes") == NULL,
         "backup's note has no human size: exit %d: %s%s", r.status, r.out, r.err);
    tu_run_free(&r);
    r = IC("backups", name);
    char *row = r.out != NULL ? strchr(r.out, '\n') : NULL;
    SOFT(r.status == 0 && row != NULL && human_size(row), "backups table: %s", r.out);
    tu_run_free(&r);
    r = IC("backups", name, "--json");
    cJSON *j = cJSON_Parse(r.out);
    const cJSON *b = cJSON_GetArrayItem(j, 0);
    const cJSON *size = cJSON_GetObjectItemCaseSensitive(b, "size");
    struct stat st;
    SOFT(cJSON_IsNumber(size) && str_of(b, "path") && stat(str_of(b, "path"), &st) == 0 &&
             (long long)size->valuedouble == (long long)st.st_size,
         "backups --json size is not the file's bytes: %s", r.out);
    cJSON_Delete(j);
    tu_run_free(&r);
    soft_done();
}
END_TEST

/* doctor: a backup directory not created yet warns; free space below the largest newest backup
 * warns. */
START_TEST(test_doctor_backup_dir)
{
    char conf[400], extra[512], later[400];
    snprintf(later, sizeof later, "%s/not/yet", E.dir);
    snprintf(conf, sizeof conf, "%s/later.conf", E.dir);
    snprintf(extra, sizeof extra, "backup_dir = %s\n", later); /* the later line wins */
    ck_assert(write_conf(conf, E.db, extra));
    const char *args[] = {"--config", conf, "doctor", NULL};
    tu_run r = run_env(NULL, args);
    char *line = doctor_line(r.out, "backup directory");
    SOFT(r.status == 0 && line != NULL && strncmp(line, "warn", 4) == 0 && strstr(line, later) &&
             strstr(line, "does not exist yet"),
         "doctor with a backup directory not created yet: exit %d, %s", r.status,
         line ? line : r.out);
    free(line);
    tu_run_free(&r);
    SOFT(!exists(later), "doctor created %s", later);

    /* an instance whose newest backup is larger than any disk */
    char id[40], name[64], db[64], sql[512];
    create_failing("huge", id);
    names("huge", name, sizeof name, db, sizeof db);
    snprintf(sql, sizeof sql,
             "INSERT INTO backups VALUES ('00000000-0000-4000-8000-00000000b16b', '%s', "
             "'/nonexistent.tar', %lld, 'x', '[]', 'manual', 1700000000)",
             id, 3LL << 50);
    ck_assert(tu_sql_exec(E.db, sql));
    r = IC("doctor");
    line = doctor_line(r.out, "backup directory");
    SOFT(r.status == 0 && line != NULL && strncmp(line, "warn", 4) == 0 &&
             strstr(line, "less than the newest backup of") && strstr(line, name) &&
             strstr(line, "3.0 PiB"),
         "doctor with too little space: exit %d, %s", r.status, line ? line : r.out);
    free(line);
    tu_run_free(&r);
    soft_done();
}
END_TEST

/*
 * doctor's reconcile check (issue 13): the cron entry or the systemd timer
 * passes, named; neither warns naming both and how to enable each. The
 * timer is asked through a fake `systemctl` first on PATH (it answers
 * is-enabled and is-active for instctl-reconcile.timer from $ENABLED and
 * $ACTIVE); PATH without systemctl is a machine without systemd.
 */
START_TEST(test_doctor_reconcile_schedule)
{
    char conf[400], extra[512], nocron[400], bin[400], empty[400], script[600], calls[400];
    snprintf(nocron, sizeof nocron, "%s/no-cron", E.dir);
    snprintf(bin, sizeof bin, "%s/fake-systemd", E.dir);
    snprintf(empty, sizeof empty, "%s/no-systemd", E.dir);
    snprintf(calls, sizeof calls, "%s/systemctl.calls", E.dir);
    snprintf(script, sizeof script,
             "#!/bin/sh\necho \"$*\" >> '%s'\n[ \"$3\" = instctl-reconcile.timer ] || exit 9\n"
             "case $1 in is-enabled) exit $ENABLED;; is-active) exit $ACTIVE;; esac\nexit 9\n",
             calls);
    ck_assert(mkdir(bin, 0755) == 0 && mkdir(empty, 0755) == 0);
    char sc[500];
    snprintf(sc, sizeof sc, "%s/systemctl", bin);
    ck_assert(tu_write_file(sc, script) && chmod(sc, 0755) == 0);
    snprintf(conf, sizeof conf, "%s/nocron.conf", E.dir);
    snprintf(extra, sizeof extra, "cron_file = %s\n", nocron); /* the later line wins */
    ck_assert(write_conf(conf, E.db, extra));
    char path_fake[600], path_none[600];
    snprintf(path_fake, sizeof path_fake, "PATH=%s:/usr/bin:/bin", bin);
    snprintf(path_none, sizeof path_none, "PATH=%s", empty);
    const struct {
        const char *what, *conf, *path, *enabled, *active, *result;
        const char *mentions[3];
    } cases[] = {
        {"cron entry, no systemd",
         E.conf,
         path_none,
         "1",
         "1",
         "ok ",
         {"cron entry", E.cron, "no systemctl"}},
        {"cron entry, timer not enabled",
         E.conf,
         path_fake,
         "1",
         "3",
         "ok ",
         {"cron entry", E.cron, "instctl-reconcile.timer not enabled, not active"}},
        {"no cron entry, timer enabled and active",
         conf,
         path_fake,
         "0",
         "0",
         "ok ",
         {"instctl-reconcile.timer enabled, active", nocron, NULL}},
        {"no cron entry, timer enabled, not active",
         conf,
         path_fake,
         "0",
         "3",
         "warn ",
         {"enabled, not active", "systemctl enable --now instctl-reconcile.timer", nocron}},
        {"neither",
         conf,
         path_fake,
         "1",
         "3",
         "warn ",
         {"no cron entry", nocron, "systemctl enable --now instctl-reconcile.timer"}},
        {"no cron entry, no systemd",
         conf,
         path_none,
         "1",
         "1",
         "warn ",
         {"cron/instctl", nocron, "no systemctl for instctl-reconcile.timer"}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char en[32], ac[32];
        snprintf(en, sizeof en, "ENABLED=%s", cases[i].enabled);
        snprintf(ac, sizeof ac, "ACTIVE=%s", cases[i].active);
        const char *env[] = {cases[i].path, en, ac, NULL};
        const char *args[] = {"--config", cases[i].conf, "doctor", NULL};
        tu_run r = run_env(env, args);
        char *line = doctor_line(r.out, "reconcile");
        bool named = line != NULL;
        for (size_t m = 0; named && m < 3 && cases[i].mentions[m]; m++)
            named = strstr(line, cases[i].mentions[m]) != NULL;
        SOFT(r.status == 0 && named && strncmp(line, cases[i].result, strlen(cases[i].result)) == 0,
             "doctor, %s: exit %d, reconcile line %.400s", cases[i].what, r.status,
             line ? line : r.out);
        free(line);
        tu_run_free(&r);
    }
    char *n = tu_read_file(calls);
    SOFT(n != NULL && strstr(n, "is-enabled --quiet instctl-reconcile.timer") &&
             strstr(n, "is-active --quiet instctl-reconcile.timer"),
         "doctor did not ask systemctl: %s", n ? n : "(no calls)");
    free(n);
    soft_done();
}
END_TEST

/* reconcile --dry-run shows the status it would write and counts would_change, writing nothing. */
START_TEST(test_reconcile_dry_run_shows_change)
{
    char name[64], id[40], sql[256];
    create_running("dry", name, sizeof name, id);
    snprintf(sql, sizeof sql, "SELECT container_id FROM instances WHERE id = '%s'", id);
    char *cid = tu_sql(E.db, sql);
    int st;
    free(tu_shf(&st, "docker stop -t 1 '%s' >/dev/null 2>&1", cid));
    ck_assert_msg(st == 0, "docker stop %s failed", cid);
    free(cid);
    tu_run r = IC("reconcile", "--dry-run");
    char *line = line_starting(r.err, "instance=");
    SOFT(r.status == 0 && line != NULL && strstr(line, id) &&
             strstr(line, "status=running to=stopped ") &&
             strstr(line, " verdict=change applied=dry-run "),
         "reconcile --dry-run decision: exit %d: %s", r.status, r.err);
    free(line);
    line = line_starting(r.err, "reconcile ");
    SOFT(line != NULL && strstr(line, " would_change=1 ") && !strstr(line, "changed="),
         "reconcile --dry-run summary: %s", line ? line : r.err);
    free(line);
    tu_run_free(&r);
    snprintf(sql, sizeof sql, "SELECT status FROM instances WHERE id = '%s'", id);
    char *status = tu_sql(E.db, sql);
    SOFT(strcmp(status, "running") == 0, "--dry-run wrote %s", status);
    free(status);
    r = IC("reconcile", "--dry-run", "--json");
    cJSON *j = cJSON_Parse(r.out);
    const cJSON *wc = cJSON_GetObjectItemCaseSensitive(j, "would_change");
    SOFT(cJSON_IsNumber(wc) && wc->valuedouble == 1, "reconcile --dry-run --json: %s", r.out);
    cJSON_Delete(j);
    tu_run_free(&r);
    r = IC("reconcile");
    line = line_starting(r.err, "reconcile ");
    SOFT(line != NULL && strstr(line, " changed=1 ") && !strstr(line, "would_change"),
         "reconcile summary: %s", line ? line : r.err);
    free(line);
    tu_run_free(&r);
    soft_done();
}
END_TEST

/* ---- the Debian package: built, installed, used and purged ---- */

/* Files of the package that must be there after install and gone after purge. */
static const char *const deb_files[] = {
    "/usr/bin/instctl",
    "/usr/share/man/man8/instctl.8.gz",
    "/usr/share/bash-completion/completions/instctl",
    "/etc/cron.d/instctl",
    "/etc/instctl/instctl.conf.example",
    "/usr/lib/instctl/billing-webhook.cgi",
    NULL,
};

START_TEST(test_deb_package)
{
    int st;
    char *have = tu_shf(&st, "dpkg-query -W -f='${Status}' instctl 2>/dev/null");
    ck_assert_msg(strstr(have, "installed") == NULL || strstr(have, "not-installed"),
                  "the package instctl is installed on this machine (%s): this test installs and "
                  "purges it; remove it first",
                  have);
    free(have);
    char version[32], out_dir[400];
    makefile_version(version, sizeof version);
    snprintf(out_dir, sizeof out_dir, "%s/deb", E.dir);
    char *out = tu_shf(&st,
                       "env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s deb BUILD='%s' 2>&1; "
                       "git status --porcelain --ignored debian 2>&1",
                       out_dir);
    ck_assert_msg(st == 0, "make deb: exit %d:\n%s", st, out);
    ck_assert_msg(strstr(out, "lintian reports errors") == NULL, "%s", out);
    ck_assert_msg(strstr(out, "?? debian") == NULL && strstr(out, "!! debian") == NULL,
                  "make deb left build files in debian/:\n%s", out);
    free(out);
    char deb[500];
    snprintf(deb, sizeof deb, "%s/instctl_%s_amd64.deb", out_dir, version);
    ck_assert_msg(exists(deb), "make deb made no %s", deb);

    out = tu_shf(&st,
                 "DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y "
                 "--no-install-recommends '%s' 2>&1",
                 deb);
    SOFT(st == 0, "apt-get install %s: exit %d:\n%s", deb, st, out);
    free(out);
    for (size_t i = 0; deb_files[i] != NULL; i++)
        SOFT(exists(deb_files[i]), "the package did not install %s", deb_files[i]);
    out = tu_shf(&st, "/usr/bin/instctl --version");
    char want[64];
    snprintf(want, sizeof want, "instctl %s", version);
    SOFT(st == 0 && strcmp(out, want) == 0, "installed instctl --version: exit %d \"%s\"", st, out);
    free(out);
    /* doctor on this case's configuration: it runs and prints its checks */
    out = tu_shf(&st, "env -u INSTCTL_DB -u INSTCTL_CONFIG /usr/bin/instctl --config '%s' doctor",
                 E.conf);
    char *db = doctor_line(out, "database"), *engine = doctor_line(out, "engine");
    SOFT((st == 0 || st == 1) && db != NULL && engine != NULL && strncmp(db, "ok", 2) == 0,
         "installed instctl doctor: exit %d:\n%s", st, out);
    free(db);
    free(engine);
    free(out);

    out = tu_shf(&st, "DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 purge -y "
                      "instctl 2>&1");
    SOFT(st == 0, "apt-get purge instctl: exit %d:\n%s", st, out);
    free(out);
    for (size_t i = 0; deb_files[i] != NULL; i++)
        SOFT(!exists(deb_files[i]), "%s is left after apt-get purge", deb_files[i]);
    SOFT(!exists("/usr/lib/instctl") && !exists("/etc/instctl"),
         "directories left after apt-get purge");
    have = tu_shf(NULL, "dpkg-query -W -f='${Status}' instctl 2>/dev/null");
    SOFT(strstr(have, "installed") == NULL || strstr(have, "not-installed"),
         "dpkg still lists instctl: %s", have);
    free(have);
    soft_done();
}
END_TEST

/* ---- the suite ---- */

static TCase *add_case(Suite *s, const char *name, const TTest *test, int timeout)
{
    TCase *tc = tcase_create(name);
    tcase_add_unchecked_fixture(tc, env_setup, env_teardown);
    tcase_add_checked_fixture(tc, checked_setup, checked_teardown);
    tcase_set_timeout(tc, timeout);
    if (test != NULL)
        tcase_add_test(tc, test);
    suite_add_tcase(s, tc);
    return tc;
}

Suite *suite_operator(void)
{
    Suite *s = suite_create("operator");
    add_case(s, "install_uninstall", test_install_uninstall, 120);
    add_case(s, "man_pages_render", test_man_pages_render, 60);
    add_case(s, "help", test_help, 60);
    add_case(s, "colour", test_colour, 120);
    add_case(s, "json_commands", test_json_commands, 120);
    add_case(s, "json_actions", test_json_actions, 240);
    add_case(s, "quiet_ids", test_quiet_ids, 120);
    add_case(s, "global_options_anywhere", test_global_options_anywhere, 120);
    add_case(s, "config_precedence_db", test_config_precedence_db, 60);
    add_case(s, "config_precedence_config_file", test_config_precedence_config_file, 60);
    add_case(s, "config_precedence_docker_host", test_config_precedence_docker_host, 60);
    add_case(s, "config_builtin_defaults", test_config_builtin_defaults, 60);
    TCase *tc = add_case(s, "bad_config", NULL, 60);
    tcase_add_loop_test(tc, test_bad_config, 0, (int)(sizeof bad_configs / sizeof bad_configs[0]));
    add_case(s, "doctor_healthy", test_doctor_healthy, 60);
    add_case(s, "doctor_engine_unreachable", test_doctor_engine_unreachable, 60);
    add_case(s, "doctor_db_server_closed", test_doctor_db_server_closed, 60);
    add_case(s, "doctor_webhook_secret_missing", test_doctor_webhook_secret_missing, 60);
    add_case(s, "completion", test_completion, 60);
    add_case(s, "show_container_states", test_show_container_states, 120);
    add_case(s, "missing_database", test_missing_database, 60);
    add_case(s, "database_modes", test_database_modes, 60);
    add_case(s, "permission_denied", test_permission_denied, 60);
    add_case(s, "escaped_text", test_escaped_text, 60);
    add_case(s, "unknown_command_version", test_unknown_command_version, 60);
    add_case(s, "sizes", test_sizes, 120);
    add_case(s, "doctor_backup_dir", test_doctor_backup_dir, 60);
    add_case(s, "doctor_reconcile_schedule", test_doctor_reconcile_schedule, 60);
    add_case(s, "reconcile_dry_run_shows_change", test_reconcile_dry_run_shows_change, 120);
    add_case(s, "deb_package", test_deb_package, 900);
    return s;
}
