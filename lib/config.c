/* Reading /etc/instctl/instctl.conf: `key = value`, '#' comments. */
#include "config.h"
#include "status.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void config_defaults(lc_config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->db, sizeof c->db, "%s", LC_DEFAULT_DB);
    snprintf(c->image_template, sizeof c->image_template, "odoo:{version}");
    snprintf(c->default_version, sizeof c->default_version, "17.0");
    snprintf(c->pull_policy, sizeof c->pull_policy, "missing");
    snprintf(c->data_path, sizeof c->data_path, "/var/lib/odoo");
    snprintf(c->db_user, sizeof c->db_user, "odoo");
    c->db_port = 5432;
    c->create_timeout = 300;
    c->stop_timeout = 10;
    c->lease_seconds = 120;
    c->webhook_tolerance = 300;
    snprintf(c->backup_dir, sizeof c->backup_dir, "/var/lib/instctl/backups");
    c->backup_keep = 7;
    snprintf(c->cron_file, sizeof c->cron_file, "/etc/cron.d/instctl");
    c->limits = (lc_derive_limits){.crash_loop_restarts = LC_CRASH_LOOP_RESTARTS,
                                   .crash_loop_window_s = LC_CRASH_LOOP_WINDOW_S,
                                   .removing_grace_s = LC_REMOVING_GRACE_S,
                                   .error_recovery_up_s = LC_ERROR_RECOVERY_UP_S};
}

typedef enum {
    KEY_TEXT,     /* any text, may be empty */
    KEY_PATH,     /* an absolute path, required */
    KEY_OPTPATH,  /* an absolute path, or empty for none */
    KEY_INT,      /* a whole number in [min, max] */
    KEY_POLICY,   /* missing | never */
    KEY_VERSION,  /* an Odoo version (lc_validate_version) */
    KEY_TEMPLATE, /* an image reference holding {version} */
    KEY_HOST,     /* unix:///path, a bare /path, or empty for the default */
} key_kind;

typedef struct key_def {
    const char *key;
    key_kind kind;
    size_t offset, size;
    long min, max;
} key_def;

#define FIELD(k, kind, f)                                                                          \
    {                                                                                              \
        k, kind, offsetof(lc_config, f), sizeof(((lc_config *)0)->f), 0, 0                         \
    }
#define INT(k, f, lo, hi)                                                                          \
    {                                                                                              \
        k, KEY_INT, offsetof(lc_config, f), 0, lo, hi                                              \
    }

/* clang-format off */
static const key_def keys[] = {
    FIELD("db", KEY_PATH, db),
    FIELD("docker_host", KEY_HOST, docker_host),
    FIELD("image_template", KEY_TEMPLATE, image_template),
    FIELD("default_odoo_version", KEY_VERSION, default_version),
    FIELD("pull_policy", KEY_POLICY, pull_policy),
    FIELD("network", KEY_TEXT, network),
    FIELD("data_path", KEY_PATH, data_path),
    FIELD("db_host", KEY_TEXT, db_host),
    INT("db_port", db_port, 1, 65535),
    FIELD("db_user", KEY_TEXT, db_user),
    FIELD("db_password_file", KEY_OPTPATH, db_password_file),
    FIELD("master_password_file", KEY_OPTPATH, master_password_file),
    INT("create_timeout", create_timeout, 1, 86400),
    INT("stop_timeout", stop_timeout, 0, 3600),
    INT("lease_seconds", lease_seconds, 10, 86400),
    FIELD("webhook_secret_file", KEY_OPTPATH, webhook_secret_file),
    INT("webhook_tolerance", webhook_tolerance, 1, 86400),
    FIELD("backup_dir", KEY_PATH, backup_dir),
    INT("backup_keep", backup_keep, 0, 100000),
    FIELD("cron_file", KEY_PATH, cron_file),
    FIELD("metrics_file", KEY_OPTPATH, metrics_file),
    INT("crash_loop_restarts", limits.crash_loop_restarts, 1, 1000),
    INT("crash_loop_window", limits.crash_loop_window_s, 1, 86400),
    INT("removing_grace", limits.removing_grace_s, 1, 86400),
    INT("error_recovery", limits.error_recovery_up_s, 1, 86400),
};
/* clang-format on */

/* Why value does not fit the key's kind, or NULL when it does. */
static const char *misfit(const key_def *k, const char *value)
{
    switch (k->kind) {
    case KEY_TEXT:
    case KEY_INT:
        return NULL;
    case KEY_PATH:
        return value[0] == '/' ? NULL : "expected an absolute path";
    case KEY_OPTPATH:
        return value[0] == '\0' || value[0] == '/' ? NULL : "expected an absolute path or nothing";
    case KEY_POLICY:
        return strcmp(value, "missing") == 0 || strcmp(value, "never") == 0
                   ? NULL
                   : "expected missing or never";
    case KEY_VERSION:
        return lc_validate_version(value, NULL) == LC_OK ? NULL : "expected a version like 17.0";
    case KEY_TEMPLATE:
        return lc_validate_image(value, NULL) == LC_OK && strstr(value, "{version}") != NULL
                   ? NULL
                   : "expected an image reference holding {version}, e.g. odoo:{version}";
    case KEY_HOST:
        return value[0] == '\0' || value[0] == '/' || strncmp(value, "unix:///", 8) == 0
                   ? NULL
                   : "expected unix:///path/to/docker.sock (only Unix sockets are supported)";
    }
    return NULL;
}

static lc_err set_int(lc_config *c, const key_def *k, const char *value, const char *where,
                      lc_diag *d)
{
    char *end;
    errno = 0;
    long v = strtol(value, &end, 10);
    if (errno || *end || end == value || v < k->min || v > k->max)
        return lc_fail(d, LC_ECONFIG, "%s: %s: expected a whole number %ld..%ld, got \"%s\"", where,
                       k->key, k->min, k->max, value);
    *(int *)(void *)((char *)c + k->offset) = (int)v;
    return LC_OK;
}

static lc_err set_key(lc_config *c, const key_def *k, const char *value, const char *where,
                      lc_diag *d)
{
    if (k->kind == KEY_INT)
        return set_int(c, k, value, where, d);
    const char *why = misfit(k, value);
    if (why != NULL)
        return lc_fail(d, LC_ECONFIG, "%s: %s: %s, got \"%s\"", where, k->key, why, value);
    if (strlen(value) >= k->size)
        return lc_fail(d, LC_ECONFIG, "%s: %s: value too long", where, k->key);
    snprintf((char *)c + k->offset, k->size, "%s", value);
    return LC_OK;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

static lc_err parse_line(lc_config *c, char *line, const char *where, lc_diag *d)
{
    char *hash = strchr(line, '#');
    if (hash != NULL)
        *hash = '\0';
    char *s = trim(line);
    if (*s == '\0')
        return LC_OK;
    char *eq = strchr(s, '=');
    if (eq == NULL)
        return lc_fail(d, LC_ECONFIG, "%s: expected key = value, got \"%.60s\"", where, s);
    *eq = '\0';
    char *key = trim(s), *value = trim(eq + 1);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (strcmp(keys[i].key, key) == 0)
            return set_key(c, &keys[i], value, where, d);
    }
    return lc_fail(d, LC_ECONFIG, "%s: unknown key \"%.60s\"", where, key);
}

lc_err config_load(lc_config *c, const char *path, int optional, lc_diag *d)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        if (optional && errno == ENOENT)
            return LC_OK;
        return lc_fail(d, LC_ECONFIG, "config %s: %s", path, strerror(errno));
    }
    char line[8192], where[4200];
    lc_err e = LC_OK;
    for (int n = 1; e == LC_OK && fgets(line, sizeof line, f) != NULL; n++) {
        snprintf(where, sizeof where, "%s:%d", path, n);
        e = parse_line(c, line, where, d);
    }
    if (e == LC_OK && ferror(f))
        e = lc_fail(d, LC_ECONFIG, "config %s: %s", path, strerror(errno));
    fclose(f);
    return e;
}

void config_image_for(const lc_config *c, const char *version, char *out, size_t len)
{
    const char *mark = strstr(c->image_template, "{version}");
    if (mark == NULL) {
        snprintf(out, len, "%s", c->image_template);
        return;
    }
    snprintf(out, len, "%.*s%s%s", (int)(mark - c->image_template), c->image_template, version,
             mark + strlen("{version}"));
}
