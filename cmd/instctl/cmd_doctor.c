/*
 * doctor: checks what instctl depends on, one line each, from the
 * configuration (so a test can point it anywhere), and tenant isolation
 * (DESIGN §6a: instance roles, PUBLIC access, private files). Exit 0 only if
 * every check passes; a warning (clock not synchronised, a backup directory
 * not created yet or short of space, neither the cron entry nor the systemd
 * timer running reconcile) does not fail it.
 */
#include "cli.h"
#include "tenant.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <spawn.h>
#include <sys/timex.h>
#include <sys/wait.h>
#include <unistd.h>

#define RECONCILE_TIMER "instctl-reconcile.timer"
#define RECONCILE_CHECK "reconcile"

static int run_doctor(cli *c, int argc, char **argv);

const cmd_entry cmd_doctor = {
    .name = "doctor",
    .usage = "",
    .summary =
        "check the database, engine, image, backup directory, secrets, cron or timer and clock",
    .flags = 0,
    .run = run_doctor,
};

typedef struct doctor {
    cli *c;
    cJSON *json;
    int failed;
} doctor;

static void report(doctor *dr, const char *name, check_result r, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void report(doctor *dr, const char *name, check_result r, const char *fmt, ...)
{
    static const char *const words[] = {"ok", "warn", "FAIL", "skip"};
    char detail[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    if (r == CHECK_FAIL)
        dr->failed++;
    if (dr->json != NULL) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "check", name);
        cJSON_AddStringToObject(o, "result", r == CHECK_FAIL ? "fail" : words[r]);
        cJSON_AddStringToObject(o, "detail", detail);
        cJSON_AddItemToArray(cJSON_GetObjectItem(dr->json, "checks"), o);
    } else if (!dr->c->quiet || r == CHECK_FAIL) {
        printf("%-5s %-16s %s\n", words[r], name, detail);
    }
}

/* Opens the database (never creating it); the store for later checks, or NULL. */
static lc_store *check_database(doctor *dr)
{
    lc_diag d = {{0}};
    lc_store *s;
    if (store_open(dr->c->cfg.db, 0, &s, &d) != LC_OK) {
        report(dr, "database", CHECK_FAIL, "%s", d.msg);
        return NULL;
    }
    report(dr, "database", CHECK_OK, "%s (schema %d, store %s)", dr->c->cfg.db,
           store_schema_version(s), store_uuid(s));
    return s;
}

static void check_engine(doctor *dr, lc_engine *e)
{
    lc_diag d = {{0}};
    if (engine_ping(e, &d) != LC_OK) {
        report(dr, "engine", CHECK_FAIL, "%s", d.msg);
        return;
    }
    report(dr, "engine", CHECK_OK, "%s answers, API %s", engine_socket_path(e),
           engine_api_version(e));
    char image[256];
    bool present = false;
    config_image_for(&dr->c->cfg, dr->c->cfg.default_version, image, sizeof image);
    lc_err err = engine_image_exists(e, image, &present, &d);
    if (err != LC_OK)
        report(dr, "image", CHECK_FAIL, "%s: %s", image, d.msg);
    else if (!present && strcmp(dr->c->cfg.pull_policy, "never") == 0)
        report(dr, "image", CHECK_FAIL, "%s is not present and pull_policy is never", image);
    else
        report(dr, "image", present ? CHECK_OK : CHECK_WARN, "%s %s", image,
               present ? "present" : "not present (pulled on first create)");
}

/* The largest of the live instances' newest backups (the next one needs about as much); -1 if none.
 */
static long long largest_newest_backup(lc_store *s, char *name, size_t len)
{
    lc_backup_age *v = NULL;
    size_t n = 0;
    long long max = -1;
    if (s == NULL || store_backup_ages(s, &v, &n, NULL) != LC_OK)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (v[i].size > max) {
            max = v[i].size;
            snprintf(name, len, "%s", v[i].name);
        }
    }
    free(v);
    return max;
}

/*
 * The backup directory, or while it does not exist yet (the first backup
 * creates it: a warning) its nearest existing parent, must be writable;
 * warns when its free space is below the largest newest backup.
 */
static void check_backup_dir(doctor *dr, lc_store *s)
{
    const char *dir = dr->c->cfg.backup_dir;
    char at[4096], size[32], free_text[32], who[64] = "", detail[900] = "";
    struct stat st;
    snprintf(at, sizeof at, "%s", dir);
    while (stat(at, &st) != 0 && errno == ENOENT) {
        char *slash = strrchr(at, '/');
        if (slash == NULL)
            snprintf(at, sizeof at, ".");
        else
            slash[slash == at ? 1 : 0] = '\0';
    }
    bool exists = strcmp(at, dir) == 0;
    struct statvfs vfs;
    if (access(at, W_OK | X_OK) != 0 || statvfs(at, &vfs) != 0) {
        report(dr, "backup directory", CHECK_FAIL, "%s%s: %s", exists ? "" : "cannot create ",
               exists ? dir : at, strerror(errno));
        return;
    }
    long long avail = (long long)vfs.f_bavail * (long long)vfs.f_frsize;
    long long need = largest_newest_backup(s, who, sizeof who);
    lc_format_size(avail, free_text, sizeof free_text);
    lc_format_size(need, size, sizeof size);
    if (!exists)
        snprintf(detail, sizeof detail, "%s does not exist yet (the first backup creates it); ",
                 dir);
    size_t used = strlen(detail);
    snprintf(detail + used, sizeof detail - used, "%s writable, %s free", exists ? dir : at,
             free_text);
    used = strlen(detail);
    if (need > avail)
        snprintf(detail + used, sizeof detail - used, ", less than the newest backup of %s (%s)",
                 text_safe(who), size);
    report(dr, "backup directory", exists && need <= avail ? CHECK_OK : CHECK_WARN, "%s", detail);
}

/* A TCP connection to host:port within 3 s. */
static bool tcp_reachable(const char *host, int port, char *why, size_t len)
{
    char service[16];
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    snprintf(service, sizeof service, "%d", port);
    int rc = getaddrinfo(host, service, &hints, &res);
    if (rc != 0) {
        snprintf(why, len, "%s", gai_strerror(rc));
        return false;
    }
    bool ok = false;
    for (struct addrinfo *ai = res; ai != NULL && !ok; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK, ai->ai_protocol);
        if (fd < 0)
            continue;
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int err = 0;
        socklen_t elen = sizeof err;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
            (errno == EINPROGRESS && poll(&p, 1, 3000) == 1 &&
             getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == 0 && err == 0))
            ok = true;
        else
            snprintf(why, len, "%s", strerror(err ? err : errno ? errno : ETIMEDOUT));
        close(fd);
    }
    freeaddrinfo(res);
    return ok;
}

/* True when a database server is configured and answers. */
static bool check_db_server(doctor *dr)
{
    const lc_config *cfg = &dr->c->cfg;
    char why[256] = "unreachable";
    if (cfg->db_host[0] == '\0') {
        report(dr, "database server", CHECK_SKIP, "none configured (db_host)");
        return false;
    }
    if (tcp_reachable(cfg->db_host, cfg->db_port, why, sizeof why)) {
        report(dr, "database server", CHECK_OK, "%s:%d reachable", cfg->db_host, cfg->db_port);
        return true;
    }
    report(dr, "database server", CHECK_FAIL, "%s:%d: %s", cfg->db_host, cfg->db_port, why);
    return false;
}

static void check_file(doctor *dr, const char *name, const char *key, const char *path,
                       bool required)
{
    if (path[0] == '\0') {
        report(dr, name, required ? CHECK_FAIL : CHECK_SKIP, "none configured (%s)", key);
        return;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    char byte;
    bool ok = fd >= 0 && read(fd, &byte, 1) == 1;
    if (fd >= 0)
        close(fd);
    struct stat st;
    if (ok && stat(path, &st) == 0 && (st.st_mode & 077) != 0)
        report(dr, name, CHECK_WARN, "%s readable by group or others (chmod 0400)", path);
    else if (ok)
        report(dr, name, CHECK_OK, "%s readable", path);
    else
        report(dr, name, CHECK_FAIL, "%s: %s", path, fd < 0 ? strerror(errno) : "empty");
}

/* A file holding secrets or instances' data: FAIL when others may read it, warn for the group. */
static void check_private(doctor *dr, const char *name, const char *path)
{
    struct stat st;
    if (path[0] == '\0' || stat(path, &st) != 0)
        return;
    if (st.st_mode & 004)
        report(dr, name, CHECK_FAIL, "%s is readable by others (chmod 0600)", path);
    else if (st.st_mode & 040)
        report(dr, name, CHECK_WARN, "%s is readable by its group (chmod 0600)", path);
    else
        report(dr, name, CHECK_OK, "%s not readable by others", path);
}

/* One tenant-isolation query as the admin login; its rows (one per line) into out. */
static bool tenant_query(doctor *dr, const char *name, const char *sql, char *out, size_t cap)
{
    lc_diag d = {{0}};
    const lc_config *cfg = &dr->c->cfg;
    lc_pg pg = {.host = cfg->db_host,
                .port = cfg->db_port,
                .user = cfg->db_user,
                .password_file = cfg->db_password_file};
    if (tenant_psql(&pg, "postgres", sql, out, cap, &d) != LC_OK) {
        report(dr, name, CHECK_FAIL, "%s", d.msg);
        return false;
    }
    for (char *p = out; *p != '\0'; p++)
        if (*p == '\n' && p[1] != '\0')
            *p = ' ';
    out[strcspn(out, "\n")] = '\0';
    return true;
}

/* DESIGN §6a: instance roles are plain logins; PUBLIC cannot connect to their databases. */
static void check_tenants(doctor *dr)
{
    char out[2048];
    if (tenant_query(dr, "tenant roles",
                     "SELECT rolname FROM pg_roles WHERE rolname ~ '^odoo_[0-9a-f]{12}$' "
                     "AND (rolsuper OR rolcreaterole OR rolreplication OR rolbypassrls);\n",
                     out, sizeof out))
        report(dr, "tenant roles", out[0] ? CHECK_FAIL : CHECK_OK, "%s%s",
               out[0] ? "superuser or CREATEROLE: "
                      : "no instance role is superuser or can "
                        "create roles",
               out);
    if (tenant_query(dr, "tenant databases",
                     "SELECT datname FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba "
                     "WHERE r.rolname ~ '^odoo_[0-9a-f]{12}$' "
                     "AND has_database_privilege('public', d.oid, 'CONNECT');\n",
                     out, sizeof out))
        report(dr, "tenant databases", out[0] ? CHECK_FAIL : CHECK_OK, "%s%s",
               out[0] ? "PUBLIC may connect to: " : "PUBLIC cannot connect to instance databases",
               out);
}

/*
 * `systemctl is-X --quiet instctl-reconcile.timer` through PATH, its output
 * dropped: 1 yes, 0 no (systemd not running answers no), -1 when there is no
 * systemctl to ask.
 */
static int timer_is(const char *what)
{
    const char *argv[] = {"systemctl", what, "--quiet", RECONCILE_TIMER, NULL};
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int st;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return -1;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 1 : 0;
}

/*
 * The reconcile safety net (DESIGN §3a): the cron entry (cron_file) or the
 * systemd timer that `make install` and the package install beside it.
 * Either passes, named; neither warns, saying how to enable each (README).
 */
static void check_reconcile_schedule(doctor *dr)
{
    const char *cron = dr->c->cfg.cron_file;
    int fd = cron[0] ? open(cron, O_RDONLY | O_CLOEXEC) : -1;
    char byte;
    bool cron_ok = fd >= 0 && read(fd, &byte, 1) == 1;
    if (fd >= 0)
        close(fd);
    int enabled = timer_is("is-enabled"), active = enabled < 0 ? -1 : timer_is("is-active");
    char timer[128];
    if (enabled < 0)
        snprintf(timer, sizeof timer, "no systemctl for %s", RECONCILE_TIMER);
    else
        snprintf(timer, sizeof timer, "%s %s, %s", RECONCILE_TIMER,
                 enabled ? "enabled" : "not enabled", active ? "active" : "not active");
    if (cron_ok)
        report(dr, RECONCILE_CHECK, CHECK_OK, "cron entry %s (%s)", cron, timer);
    else if (enabled > 0 && active > 0)
        report(dr, RECONCILE_CHECK, CHECK_OK, "%s (no cron entry %s)", timer, cron);
    else
        report(dr, RECONCILE_CHECK, CHECK_WARN,
               "nothing runs instctl reconcile: no cron entry %s (make install puts cron/instctl "
               "there) and %s%s",
               cron, timer, enabled < 0 ? "" : " (systemctl enable --now " RECONCILE_TIMER ")");
}

static void check_clock(doctor *dr)
{
    struct timex tx = {0};
    int state = adjtimex(&tx);
    if (state == TIME_ERROR || (tx.status & STA_UNSYNC))
        report(dr, "clock", CHECK_WARN,
               "not NTP-synchronised; webhook signatures allow %d s of skew",
               dr->c->cfg.webhook_tolerance);
    else
        report(dr, "clock", CHECK_OK, "synchronised (estimated error %ld us)", tx.esterror);
}

static int run_doctor(cli *c, int argc, char **argv)
{
    if (argc > 1)
        return usage_error(&cmd_doctor, "unexpected argument \"%s\"", argv[1]);
    doctor dr = {.c = c};
    if (c->json) {
        dr.json = cJSON_CreateObject();
        cJSON_AddArrayToObject(dr.json, "checks");
    }
    lc_engine *e = NULL;
    lc_store *s = check_database(&dr);
    if (engine_open(c->cfg.docker_host[0] ? c->cfg.docker_host : NULL, &e, &c->diag) != LC_OK)
        report(&dr, "engine", CHECK_FAIL, "%s", c->diag.msg);
    else
        check_engine(&dr, e);
    engine_close(e);
    doctor_check_hosts(c, &dr, report);
    check_backup_dir(&dr, s);
    store_close(s);
    bool db_server = check_db_server(&dr);
    check_file(&dr, "webhook secret", "webhook_secret_file", c->cfg.webhook_secret_file, false);
    check_reconcile_schedule(&dr);
    check_private(&dr, "store file", c->cfg.db);
    check_private(&dr, "db password", c->cfg.db_password_file);
    check_private(&dr, "master password", c->cfg.master_password_file);
    if (db_server)
        check_tenants(&dr);
    check_clock(&dr);
    if (dr.json != NULL) {
        cJSON_AddBoolToObject(dr.json, "ok", dr.failed == 0);
        print_json(dr.json);
    }
    return dr.failed == 0 ? 0 : 1;
}
