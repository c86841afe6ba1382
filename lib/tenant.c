/*
 * One PostgreSQL role per instance (DESIGN §6a): role names, random
 * passwords and their SCRAM verifiers, the per-instance Odoo configuration,
 * and the psql scripts that manage roles; see tenant.h.
 */
#include "tenant.h"

#include "pgtools.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

#define SCRAM_ITERATIONS 4096
#define SCRIPT_CAP 8192

void tenant_role_name(const char *instance_id, char out[LC_TENANT_ROLE_LEN])
{
    size_t n = (size_t)snprintf(out, LC_TENANT_ROLE_LEN, "odoo_");
    for (const char *p = instance_id; p != NULL && *p != '\0' && n < LC_TENANT_ROLE_LEN - 1; p++)
        if (isxdigit((unsigned char)*p))
            out[n++] = (char)tolower((unsigned char)*p);
    out[n] = '\0';
}

lc_err tenant_random_password(char *out, size_t cap, lc_diag *d)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char b[64];
    size_t n = 0;
    if (cap <= LC_TENANT_PASSWORD_LEN)
        return lc_fail(d, LC_EUSAGE, "password buffer too small");
    while (n < LC_TENANT_PASSWORD_LEN) {
        if (RAND_bytes(b, sizeof b) != 1)
            return lc_fail(d, LC_EFAILED, "no random bytes for a password (RAND_bytes failed)");
        for (size_t i = 0; i < sizeof b && n < LC_TENANT_PASSWORD_LEN; i++)
            if (b[i] < 248) /* 248 = 4 * 62: no bias */
                out[n++] = alphabet[b[i] % 62];
    }
    out[n] = '\0';
    OPENSSL_cleanse(b, sizeof b);
    return LC_OK;
}

static bool hmac256(const unsigned char *key, size_t klen, const char *msg, unsigned char out[32])
{
    unsigned int len = 32;
    return HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg, strlen(msg), out, &len) !=
           NULL;
}

lc_err tenant_scram_verifier(const char *password, char *out, size_t cap, lc_diag *d)
{
    size_t len = strlen(password);
    if (len == 0 || len > LC_TENANT_PASSWORD_MAX)
        return lc_fail(d, LC_EUSAGE, "password of %zu bytes refused (1 to %d)", len,
                       LC_TENANT_PASSWORD_MAX);
    for (size_t i = 0; i < len; i++)
        if (password[i] < 0x21 || password[i] > 0x7e)
            return lc_fail(d, LC_EUSAGE, "password refused: printable ASCII only");
    unsigned char salt[16], salted[32], client[32], stored[32], server[32];
    unsigned char b64salt[32], b64stored[48], b64server[48];
    bool ok = RAND_bytes(salt, sizeof salt) == 1 &&
              PKCS5_PBKDF2_HMAC(password, (int)len, salt, sizeof salt, SCRAM_ITERATIONS,
                                EVP_sha256(), sizeof salted, salted) == 1 &&
              hmac256(salted, sizeof salted, "Client Key", client) &&
              SHA256(client, sizeof client, stored) != NULL &&
              hmac256(salted, sizeof salted, "Server Key", server);
    OPENSSL_cleanse(salted, sizeof salted);
    OPENSSL_cleanse(client, sizeof client);
    if (!ok)
        return lc_fail(d, LC_EFAILED, "SCRAM verifier: libcrypto failed");
    EVP_EncodeBlock(b64salt, salt, sizeof salt);
    EVP_EncodeBlock(b64stored, stored, sizeof stored);
    EVP_EncodeBlock(b64server, server, sizeof server);
    int n = snprintf(out, cap, "SCRAM-SHA-256$%d:%s$%s:%s", SCRAM_ITERATIONS, b64salt, b64stored,
                     b64server);
    if (n < 0 || (size_t)n >= cap)
        return lc_fail(d, LC_EUSAGE, "SCRAM verifier: buffer too small");
    return LC_OK;
}

/* A value Odoo's configuration parser keeps as it is: no control characters or end spaces. */
static bool conf_value_ok(const char *v)
{
    size_t n = v != NULL ? strlen(v) : 0;
    if (n == 0 || v[0] == ' ' || v[n - 1] == ' ')
        return false;
    for (size_t i = 0; i < n; i++)
        if (iscntrl((unsigned char)v[i]))
            return false;
    return true;
}

lc_err tenant_render_conf(const tenant_conf *c, char *out, size_t cap, lc_diag *d)
{
    const char *values[] = {c->db_host,      c->db_user,  c->db_password,
                            c->admin_passwd, c->data_dir, c->database};
    const char *keys[] = {"db_host",      "db_user",  "db_password",
                          "admin_passwd", "data_dir", "database"};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
        if (!conf_value_ok(values[i]))
            return lc_fail(d, LC_EUSAGE, "Odoo configuration: %s is empty or not one line",
                           keys[i]);
    if (!pg_name_ok(c->database))
        return lc_fail(d, LC_EUSAGE, "Odoo configuration: database name \"%s\" refused",
                       c->database);
    char filter[2 * 64 + 3];
    size_t f = 0;
    filter[f++] = '^';
    for (const char *p = c->database; *p != '\0'; p++) {
        if (*p == '.') /* the only character of Odoo's database names special in a regex */
            filter[f++] = '\\';
        filter[f++] = *p;
    }
    filter[f++] = '$';
    filter[f] = '\0';
    int n = snprintf(out, cap,
                     "[options]\n"
                     "db_host = %s\n"
                     "db_port = %d\n"
                     "db_user = %s\n"
                     "db_password = %s\n"
                     "dbfilter = %s\n"
                     "list_db = %s\n"
                     "proxy_mode = True\n"
                     "admin_passwd = %s\n"
                     "data_dir = %s\n",
                     c->db_host, c->db_port, c->db_user, c->db_password, filter,
                     c->list_db ? "True" : "False", c->admin_passwd, c->data_dir);
    if (n < 0 || (size_t)n >= cap)
        return lc_fail(d, LC_EUSAGE, "Odoo configuration: longer than %zu bytes", cap);
    return LC_OK;
}

bool tenant_conf_value(const char *text, const char *key, char *out, size_t cap)
{
    size_t klen = strlen(key);
    for (const char *line = text; line != NULL && *line != '\0';) {
        const char *end = strchr(line, '\n');
        size_t llen = end != NULL ? (size_t)(end - line) : strlen(line);
        if (llen > klen + 3 && strncmp(line, key, klen) == 0 &&
            strncmp(line + klen, " = ", 3) == 0) {
            size_t vlen = llen - klen - 3;
            if (vlen >= cap)
                return false;
            memcpy(out, line + klen + 3, vlen);
            out[vlen] = '\0';
            return true;
        }
        line = end != NULL ? end + 1 : NULL;
    }
    return false;
}

bool tenant_psql_set(char *buf, size_t cap, const char *name, const char *value)
{
    size_t used = strlen(buf);
    for (const char *p = name; *p != '\0'; p++)
        if (!islower((unsigned char)*p) && *p != '_')
            return false;
    int n = snprintf(buf + used, cap - used, "\\set %s '", name);
    if (n < 0 || (size_t)n >= cap - used)
        return false;
    used += (size_t)n;
    for (const char *p = value; *p != '\0'; p++) {
        if (used + 3 >= cap)
            return false;
        if (*p == '\'' || *p == '\\') /* psql: '' and \\ inside a quoted argument */
            buf[used++] = *p;
        buf[used++] = *p;
    }
    if (used + 3 > cap)
        return false;
    memcpy(buf + used, "'\n", 3);
    return true;
}

lc_err tenant_psql(const lc_pg *pg, const char *database, const char *script, char *out, size_t cap,
                   lc_diag *d)
{
    char port[16];
    if (pg->host == NULL || pg->host[0] == '\0' || pg->user == NULL || pg->user[0] == '\0')
        return lc_fail(d, LC_EUSAGE, "database server: no host or user");
    if (!pg_name_ok(database))
        return lc_fail(d, LC_EUSAGE, "database name \"%s\" refused", database ? database : "");
    snprintf(port, sizeof port, "%d", pg->port);
    const char *argv[] = {"psql", "-X",     "-q", "-A", "-t", "-w",     "-v", "ON_ERROR_STOP=1",
                          "-h",   pg->host, "-p", port, "-U", pg->user, "-d", database,
                          "-f",   "-",      NULL};
    pg_io io = {.input = script, .output = out, .output_cap = out != NULL ? cap : 0};
    return pg_run_tool_io(pg, argv, &io, d);
}

/* Role attributes first, then the database (when it exists) and what is in it. */
static const char apply_script[] =
    "SELECT format('CREATE ROLE %I', :'role')"
    " WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role')\n"
    "\\gexec\n"
    "ALTER ROLE :\"role\" WITH LOGIN NOCREATEROLE NOCREATEDB PASSWORD :'pw';\n"
    "SELECT format('ALTER ROLE %I WITH NOSUPERUSER NOREPLICATION NOBYPASSRLS', :'role')"
    " FROM pg_roles WHERE rolname = current_user AND rolsuper\n"
    "\\gexec\n"
    "SELECT format('GRANT %I TO %I', :'role', current_user) FROM pg_roles"
    " WHERE rolname = current_user AND NOT rolsuper"
    " AND NOT pg_has_role(current_user, :'role', 'MEMBER')\n"
    "\\gexec\n"
    "SELECT EXISTS (SELECT FROM pg_database WHERE datname = :'db') AS db_exists\n"
    "\\gset\n"
    "\\if :db_exists\n"
    "SELECT format('ALTER DATABASE %I OWNER TO %I', :'db', :'role')\n"
    "\\gexec\n"
    "SELECT format('REVOKE CONNECT ON DATABASE %I FROM PUBLIC', :'db')\n"
    "\\gexec\n"
    "\\connect :\"db\"\n"
    "SELECT format('ALTER %s %s OWNER TO %I', CASE c.relkind WHEN 'v' THEN 'VIEW'"
    " WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'f' THEN 'FOREIGN TABLE'"
    " WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, c.oid::regclass, :'role')"
    " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE c.relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)"
    " AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'"
    " AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')"
    " AND NOT EXISTS (SELECT FROM pg_depend x WHERE x.classid = 'pg_class'::regclass"
    " AND x.objid = c.oid AND x.deptype IN ('a', 'i', 'e'))\n"
    "\\gexec\n"
    "SELECT format('ALTER ROUTINE %s OWNER TO %I', p.oid::regprocedure, :'role')"
    " FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
    " WHERE p.proowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)"
    " AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'"
    " AND NOT EXISTS (SELECT FROM pg_depend x WHERE x.classid = 'pg_proc'::regclass"
    " AND x.objid = p.oid AND x.deptype = 'e')\n"
    "\\gexec\n"
    "SELECT format('ALTER SCHEMA %I OWNER TO %I', nspname, :'role') FROM pg_namespace"
    " WHERE nspowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)"
    " AND nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'\n"
    "\\gexec\n"
    "\\echo db_exists=yes\n"
    "\\else\n"
    "\\echo db_exists=no\n"
    "\\endif\n";

lc_err tenant_role_apply(const lc_pg *pg, const char *role, const char *verifier,
                         const char *database, bool *db_exists, lc_diag *d)
{
    char script[SCRIPT_CAP] = "", out[256] = "";
    *db_exists = false;
    if (!pg_name_ok(database))
        return lc_fail(d, LC_EUSAGE, "database name \"%s\" refused", database);
    bool ok = tenant_psql_set(script, sizeof script, "role", role) &&
              tenant_psql_set(script, sizeof script, "pw", verifier) &&
              tenant_psql_set(script, sizeof script, "db", database) &&
              strlen(script) + sizeof apply_script < sizeof script;
    if (ok)
        strcat(script, apply_script);
    lc_err e = ok ? tenant_psql(pg, "postgres", script, out, sizeof out, d)
                  : lc_fail(d, LC_EUSAGE, "role %s: script too long", role);
    OPENSSL_cleanse(script, sizeof script);
    if (e != LC_OK)
        return lc_prefix(d, e, "role %s", role);
    *db_exists = strstr(out, "db_exists=yes") != NULL;
    return LC_OK;
}

/* Runs one statement about role on the "postgres" database. */
static lc_err role_statement(const lc_pg *pg, const char *role, const char *sql, lc_diag *d)
{
    char script[1024] = "";
    if (!tenant_psql_set(script, sizeof script, "role", role) ||
        strlen(script) + strlen(sql) + 2 > sizeof script)
        return lc_fail(d, LC_EUSAGE, "role %s: script too long", role);
    strcat(script, sql);
    strcat(script, "\n");
    lc_err e = tenant_psql(pg, "postgres", script, NULL, 0, d);
    return e == LC_OK ? LC_OK : lc_prefix(d, e, "role %s", role);
}

lc_err tenant_role_createdb(const lc_pg *pg, const char *role, bool allow, lc_diag *d)
{
    return role_statement(
        pg, role, allow ? "ALTER ROLE :\"role\" CREATEDB;" : "ALTER ROLE :\"role\" NOCREATEDB;", d);
}

lc_err tenant_role_drop(const lc_pg *pg, const char *role, lc_diag *d)
{
    return role_statement(pg, role, "DROP ROLE IF EXISTS :\"role\";", d);
}
