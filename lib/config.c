/* Reading /etc/instctl/instctl.conf: `key = value`, '#' comments. */
#include "config.h"

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

typedef enum { KEY_TEXT, KEY_INT, KEY_POLICY } key_kind;

typedef struct key_def {
    const char *key;
    key_kind kind;
    size_t offset, size;
} key_def;

#define TEXT(k, f)                                                                                 \
    {                                                                                              \
        k, KEY_TEXT, offsetof(lc_config, f), sizeof(((lc_config *)0)->f)                           \
    }
#define INT(k, f)                                                                                  \
    {                                                                                              \
        k, KEY_INT, offsetof(lc_config, f), 0                                                      \
    }

static const key_def keys[] = {
    TEXT("db", db),
    TEXT("docker_host", docker_host),
    TEXT("image_template", image_template),
    TEXT("default_odoo_version", default_version),
    {"pull_policy", KEY_POLICY, offsetof(lc_config, pull_policy),
     sizeof(((lc_config *)0)->pull_policy)},
    TEXT("network", network),
    TEXT("data_path", data_path),
    TEXT("db_host", db_host),
    INT("db_port", db_port),
    TEXT("db_user", db_user),
    TEXT("db_password_file", db_password_file),
    TEXT("master_password_file", master_password_file),
    INT("create_timeout", create_timeout),
    INT("stop_timeout", stop_timeout),
    INT("lease_seconds", lease_seconds),
    TEXT("webhook_secret_file", webhook_secret_file),
    INT("webhook_tolerance", webhook_tolerance),
    TEXT("backup_dir", backup_dir),
    INT("backup_keep", backup_keep),
    TEXT("cron_file", cron_file),
    INT("crash_loop_restarts", limits.crash_loop_restarts),
    INT("crash_loop_window", limits.crash_loop_window_s),
    INT("removing_grace", limits.removing_grace_s),
    INT("error_recovery", limits.error_recovery_up_s),
};

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

static lc_err set_key(lc_config *c, const key_def *k, const char *value, const char *where,
                      lc_diag *d)
{
    char *field = (char *)c + k->offset;
    if (k->kind == KEY_INT) {
        char *end;
        errno = 0;
        long v = strtol(value, &end, 10);
        if (errno || *end || end == value || v < 0 || v > 86400)
            return lc_fail(d, LC_ECONFIG, "%s: %s: expected a whole number 0..86400, got \"%s\"",
                           where, k->key, value);
        *(int *)(void *)field = (int)v;
        return LC_OK;
    }
    if (k->kind == KEY_POLICY && strcmp(value, "missing") != 0 && strcmp(value, "never") != 0)
        return lc_fail(d, LC_ECONFIG, "%s: %s: expected missing or never, got \"%s\"", where,
                       k->key, value);
    if (strlen(value) >= k->size)
        return lc_fail(d, LC_ECONFIG, "%s: %s: value too long", where, k->key);
    snprintf(field, k->size, "%s", value);
    return LC_OK;
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
