/*
 * Tenant isolation (DESIGN §6a, issue 10): one PostgreSQL role per
 * instance, managed through the admin login of the configuration with
 * PostgreSQL's own psql (scripts on stdin, never a secret in argv), random
 * passwords, SCRAM verifiers computed here so the server never sees a
 * password, and the per-instance Odoo configuration file.
 *
 * Pure parts (no I/O): tenant_role_name, tenant_render_conf. The rest runs
 * psql through pgtools (pg_run_tool_io) or reads /dev/urandom via
 * RAND_bytes.
 */
#ifndef LC_TENANT_H
#define LC_TENANT_H

#include <stdbool.h>
#include <stddef.h>

#include "backup.h"
#include "lc.h"

#define LC_TENANT_ROLE_LEN 18      /* "odoo_" + 12 hex digits + NUL */
#define LC_TENANT_PASSWORD_LEN 32  /* characters of a random password ([A-Za-z0-9]) */
#define LC_TENANT_PASSWORD_MAX 256 /* the longest password instctl carries, in bytes */
#define LC_TENANT_CONF_NAME "odoo.conf"

/*
 * tenant_role_name: the instance's PostgreSQL role, "odoo_" followed by the
 * first 12 hexadecimal digits of instance_id without its dashes (lower
 * case). out holds LC_TENANT_ROLE_LEN bytes. Pure.
 */
void tenant_role_name(const char *instance_id, char out[LC_TENANT_ROLE_LEN]);

/*
 * tenant_random_password: LC_TENANT_PASSWORD_LEN characters from
 * [A-Za-z0-9] drawn from RAND_bytes (the kernel's random source), NUL
 * terminated; cap must exceed LC_TENANT_PASSWORD_LEN. LC_EFAILED when no
 * randomness is available.
 */
lc_err tenant_random_password(char *out, size_t cap, lc_diag *d);

/*
 * tenant_scram_verifier: PostgreSQL's SCRAM-SHA-256 verifier of password
 * (RFC 5802/7677 with a random 16-byte salt, 4096 iterations):
 * "SCRAM-SHA-256$4096:salt$StoredKey:ServerKey", what ALTER ROLE ...
 * PASSWORD stores as is. password must be printable ASCII (SASLprep is then
 * the identity) and at most LC_TENANT_PASSWORD_MAX bytes: LC_EUSAGE
 * otherwise, never truncated. cap >= 160.
 */
lc_err tenant_scram_verifier(const char *password, char *out, size_t cap, lc_diag *d);

/* What the per-instance Odoo configuration holds. */
typedef struct tenant_conf {
    const char *db_host;
    int db_port;
    const char *db_user;      /* the instance's role */
    const char *db_password;  /* the role's password */
    const char *database;     /* the instance's database: dbfilter ^<escaped>$ */
    const char *admin_passwd; /* Odoo's master password for this instance */
    const char *data_dir;     /* the data volume's mount point */
    bool list_db;             /* true only while Odoo has to create the database */
} tenant_conf;

/*
 * tenant_render_conf: the Odoo configuration file ("[options]" then
 * "key = value" lines: db_host, db_port, db_user, db_password, dbfilter,
 * list_db, proxy_mode, admin_passwd, data_dir) into out (cap bytes, NUL
 * terminated). Pure. LC_EUSAGE when a value is empty, holds a control
 * character or spaces at either end (Odoo's parser would change it), the
 * database breaks pg_name_ok, or the text does not fit in cap.
 */
lc_err tenant_render_conf(const tenant_conf *c, char *out, size_t cap, lc_diag *d);

/*
 * tenant_conf_value: the value of key in a configuration rendered by
 * tenant_render_conf (text), copied into out; false when absent or longer
 * than cap - 1. Pure.
 */
bool tenant_conf_value(const char *text, const char *key, char *out, size_t cap);

/*
 * tenant_role_apply: through the admin login pg, on the server's
 * "postgres" database: creates role when missing; makes it LOGIN
 * NOCREATEROLE NOCREATEDB (and NOSUPERUSER NOREPLICATION NOBYPASSRLS when
 * the admin login is a superuser: only one may say so) with password verifier
 * (tenant_scram_verifier); grants it to the admin login when that is not a
 * superuser (so it may act as the role's owner). When database exists: makes
 * role its owner, revokes CONNECT on it from PUBLIC, and hands role every
 * table, view, sequence, function and schema in it the admin login owns
 * (a restore's objects; an instance from before roles). *db_exists says
 * whether it exists. LC_EFAILED with psql's error line.
 */
lc_err tenant_role_apply(const lc_pg *pg, const char *role, const char *verifier,
                         const char *database, bool *db_exists, lc_diag *d);

/* tenant_role_createdb: ALTER ROLE role CREATEDB (allow) or NOCREATEDB. LC_EFAILED from psql. */
lc_err tenant_role_createdb(const lc_pg *pg, const char *role, bool allow, lc_diag *d);

/*
 * tenant_role_drop: DROP ROLE IF EXISTS role (after its database was
 * dropped: a role that still owns objects is not dropped, LC_EFAILED).
 */
lc_err tenant_role_drop(const lc_pg *pg, const char *role, lc_diag *d);

/*
 * tenant_psql: runs script (psql variables set with tenant_psql_set first)
 * on database with `psql -X -q -At -w -v ON_ERROR_STOP=1 -f -` as the admin
 * login; its output into out (cap bytes; out may be NULL). LC_EUSAGE for a
 * bad database name, LC_EFAILED with psql's error line.
 */
lc_err tenant_psql(const lc_pg *pg, const char *database, const char *script, char *out, size_t cap,
                   lc_diag *d);

/*
 * tenant_psql_set: appends `\set name 'value'` (value quoted for psql) to
 * buf (cap bytes); false when it does not fit or name is not [a-z_]+.
 */
bool tenant_psql_set(char *buf, size_t cap, const char *name, const char *value);

#endif
