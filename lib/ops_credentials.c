/*
 * Tenant credentials (DESIGN §6a, issue 10): at every container creation
 * the instance's PostgreSQL role gets a fresh random password, and the
 * container gets the per-instance Odoo configuration holding it (its own
 * master password, dbfilter, list_db) under /run/instctl; nothing stores
 * either. rotate-credentials does the same on demand and restarts Odoo.
 */
#include "ops_internal.h"
#include "tenant.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONF_CAP 4096

void ops_admin_pg(const lc_ops *o, lc_pg *pg)
{
    *pg = (lc_pg){.host = o->cfg->db_host,
                  .port = o->cfg->db_port,
                  .user = o->cfg->db_user,
                  .password_file = o->cfg->db_password_file};
}

/* The configuration text for in: a fresh role password set on the server first. */
static lc_err render_for(lc_ops *o, const lc_instance *in, char *conf, size_t cap, lc_diag *d)
{
    char role[LC_TENANT_ROLE_LEN], pw[LC_TENANT_PASSWORD_LEN + 1],
        master[LC_TENANT_PASSWORD_LEN + 1];
    char verifier[256];
    lc_pg pg;
    bool exists = false;
    ops_admin_pg(o, &pg);
    tenant_role_name(in->id, role);
    lc_err e = tenant_random_password(pw, sizeof pw, d);
    if (e == LC_OK)
        e = tenant_random_password(master, sizeof master, d);
    if (e == LC_OK)
        e = tenant_scram_verifier(pw, verifier, sizeof verifier, d);
    if (e == LC_OK)
        e = tenant_role_apply(&pg, role, verifier, in->database_name, &exists, d);
    /* list_db only while create has still to ask Odoo for the database */
    bool list_db = in->status == INSTANCE_CREATING && strcmp(in->op_step, "lock") != 0;
    tenant_conf tc = {.db_host = o->cfg->db_host,
                      .db_port = o->cfg->db_port,
                      .db_user = role,
                      .db_password = pw,
                      .database = in->database_name,
                      .admin_passwd = master,
                      .data_dir = o->cfg->data_path,
                      .list_db = list_db};
    if (e == LC_OK)
        e = tenant_render_conf(&tc, conf, cap, d);
    OPENSSL_cleanse(pw, sizeof pw);
    OPENSSL_cleanse(master, sizeof master);
    return e;
}

lc_err ops_place_credentials(lc_ops *o, lc_instance *in, lc_diag *d)
{
    if (o->cfg->db_host[0] == '\0')
        return LC_OK;
    if (in->container_id[0] == '\0')
        return lc_fail(d, LC_EFAILED, "instance %s has no container for its credentials", in->name);
    char *conf = calloc(1, CONF_CAP);
    if (conf == NULL)
        return lc_fail(d, LC_ENOMEM, "out of memory");
    unsigned uid, gid;
    lc_err e = ops_image_owner(o, in, &uid, &gid, d);
    if (e == LC_OK)
        e = render_for(o, in, conf, CONF_CAP, d);
    if (e == LC_OK)
        e = engine_put_file(o->engine, in->container_id, LC_SECRET_DIR, LC_TENANT_CONF_NAME, conf,
                            strlen(conf), 0400, uid, gid, d);
    OPENSSL_cleanse(conf, CONF_CAP);
    free(conf);
    return e;
}

lc_err ops_read_master_password(lc_ops *o, const lc_instance *in, char *out, size_t cap, lc_diag *d)
{
    char *conf = NULL;
    size_t len = 0;
    lc_err e = engine_get_file(o->engine, in->container_id, LC_SECRET_DIR "/" LC_TENANT_CONF_NAME,
                               &conf, &len, d);
    if (e != LC_OK)
        return lc_prefix(d, e, "Odoo configuration of %s", in->name);
    bool ok = tenant_conf_value(conf, "admin_passwd", out, cap);
    OPENSSL_cleanse(conf, len);
    free(conf);
    return ok ? LC_OK
              : lc_fail(d, LC_EFAILED, "Odoo configuration of %s has no admin_passwd", in->name);
}

lc_err ops_role_createdb(lc_ops *o, const lc_instance *in, bool allow, lc_diag *d)
{
    lc_pg pg;
    char role[LC_TENANT_ROLE_LEN];
    ops_admin_pg(o, &pg);
    tenant_role_name(in->id, role);
    return tenant_role_createdb(&pg, role, allow, d);
}

lc_err ops_drop_role(lc_ops *o, const lc_instance *in, lc_diag *d)
{
    lc_pg pg;
    char role[LC_TENANT_ROLE_LEN];
    if (o->cfg->db_host[0] == '\0')
        return LC_OK;
    ops_admin_pg(o, &pg);
    tenant_role_name(in->id, role);
    return tenant_role_drop(&pg, role, d);
}

/* Places new credentials in the container and, when it ran, restarts it onto them. */
/*
 * rotate-credentials (DESIGN §6a): a new password on the role (the role
 * created, and made owner of the database, for an instance from before
 * roles) and a new Odoo configuration in the container, restarted onto it
 * when it runs. Its row needs a database server (NEED_DB_SERVER).
 */
ACTION_HANDLER(ops_act_rotate_credentials)
{
    lc_observation obs;
    lc_err e = engine_container_inspect(o->engine, in->container_id, &obs, d);
    if (e == LC_OK && obs.state == CONTAINER_MISSING)
        e = lc_fail(d, LC_EFAILED, "container %s is missing (start recreates it)",
                    in->container_name);
    if (e == LC_OK && (e = ops_step(o, in, "credentials", d)) == LC_OK)
        e = ops_place_credentials(o, in, d);
    if (e == LC_OK) {
        ctx->record = true;
        snprintf(ctx->note, sizeof ctx->note, "credentials rotated");
        snprintf(res->note, sizeof res->note, "credentials rotated%s",
                 obs.state == CONTAINER_RUNNING ? ", Odoo restarted" : "");
    }
    if (e != LC_OK || obs.state != CONTAINER_RUNNING)
        return e;
    if ((e = ops_step(o, in, "restart", d)) == LC_OK)
        e = engine_container_restart(o->engine, in->container_id, o->cfg->stop_timeout, d);
    if (e == LC_OK && (e = ops_step(o, in, "running", d)) == LC_OK)
        e = ops_wait_running(o, in, time(NULL) + o->cfg->create_timeout, &obs, d);
    if (e == LC_OK)
        ops_record_start(o, in, &obs);
    return e;
}
