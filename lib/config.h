/*
 * Configuration (DESIGN §7, issue 6): `key = value` lines in
 * /etc/instctl/instctl.conf. Precedence: flag > environment > file >
 * built-in default; the CLI applies the first two over what config_load read.
 */
#ifndef LC_CONFIG_H
#define LC_CONFIG_H

#include "derive.h"
#include "lc.h"

#define LC_DEFAULT_CONFIG "/etc/instctl/instctl.conf"
#define LC_DEFAULT_DB "/var/lib/instctl/instctl.db"

typedef struct lc_config {
    char db[4096];               /* db: SQLite database path */
    char docker_host[4096];      /* docker_host: unix:///path, "" = DOCKER_HOST or default */
    char image_template[256];    /* image_template: "{version}" replaced, default odoo:{version} */
    char default_version[33];    /* default_odoo_version: 17.0 */
    char pull_policy[16];        /* pull_policy: missing | never */
    char network[128];           /* network: container network, "" = engine default */
    char data_path[256];         /* data_path: volume mount point, /var/lib/odoo */
    char db_host[256];           /* db_host: PostgreSQL host for the containers, "" = none */
    int db_port;                 /* db_port: 5432 */
    char db_user[64];            /* db_user: odoo */
    char db_password_file[4096]; /* db_password_file: placed in containers as PASSWORD_FILE */
    char master_password_file[4096]; /* master_password_file: Odoo's master password */
    int create_timeout;              /* create_timeout: seconds for create to reach running */
    int stop_timeout;                /* stop_timeout: seconds Docker waits before SIGKILL */
    int lease_seconds;               /* lease_seconds: lease length, extended by long steps */
    char webhook_secret_file[4096]; /* webhook_secret_file: billing events must be signed with it */
    int webhook_tolerance;          /* webhook_tolerance: seconds a signature's t may be off */
    char backup_dir[4096];          /* backup_dir: <dir>/<instance id>/<UTC time>.tar */
    int backup_keep;                /* backup_keep: backups kept per instance by --prune, 0 = all */
    char cron_file[4096];           /* cron_file: where doctor looks for the reconcile entry */
    char metrics_file[4096];        /* metrics_file: Prometheus textfile, "" = none */
    lc_derive_limits limits;        /* crash_loop_restarts, crash_loop_window, removing_grace,
                                       error_recovery (reconcile's rules; seconds) */
} lc_config;

/* config_defaults: fills *c with the built-in defaults. */
void config_defaults(lc_config *c);

/*
 * config_load: reads path over *c. A missing file is LC_OK when `optional`
 * (the default path), else LC_ECONFIG. An unknown key, a line without '=',
 * or a bad value is LC_ECONFIG naming file, line and key.
 */
lc_err config_load(lc_config *c, const char *path, int optional, lc_diag *d);

/* config_image_for: the image for version: template with {version} replaced. */
void config_image_for(const lc_config *c, const char *version, char *out, size_t len);

#endif
