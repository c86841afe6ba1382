/*
 * update (DESIGN §2): a new image for the instance, same major version
 * unless --major; a backup first; the old container stopped and kept aside
 * while the new one starts on the same volume; on failure everything is
 * rolled back and the previous status kept with error_message. Only a
 * failed rollback leaves error.
 */
#include "ops_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The image for the new version: the current repository with the version as tag. */
static void image_for(const char *current, const char *version, char *out, size_t len)
{
    const char *slash = strrchr(current, '/');
    const char *colon = strrchr(current, ':');
    size_t repo = colon != NULL && (slash == NULL || colon > slash) ? (size_t)(colon - current)
                                                                    : strlen(current);
    snprintf(out, len, "%.*s:%s", (int)repo, current, version);
}

static long major_of(const char *version)
{
    return strtol(version, NULL, 10);
}

lc_err ops_update_check(const lc_instance *in, const lc_action_options *opt, lc_diag *d)
{
    if (opt == NULL || opt->odoo_version == NULL)
        return lc_fail(d, LC_EUSAGE, "update needs --odoo-version");
    lc_err e = lc_validate_version(opt->odoo_version, d);
    if (e == LC_OK && opt->image != NULL)
        e = lc_validate_image(opt->image, d);
    if (e == LC_OK && major_of(opt->odoo_version) != major_of(in->odoo_version) && !opt->major)
        e = lc_fail(d, LC_EUSAGE,
                    "update of %s from %s to %s changes the major version: give --major "
                    "(migrating the database is the operator's job)",
                    in->name, in->odoo_version, opt->odoo_version);
    return e;
}

typedef struct update_state {
    lc_instance old;      /* the row as it was */
    char aside_name[200]; /* the old container's name while the new one runs */
    char target[256];     /* the image updated to */
    bool renamed, new_started;
    lc_backup_row backup;
} update_state;

/* Moves the old container aside and starts a new one from the new image on the same volume. */
/* Records the step in flight on the row as it was (old image), keeping the lease. */
static void checkpoint(lc_ops *o, lc_instance *in, const update_state *u, const char *step)
{
    ops_step(o, in, step);
    lc_instance row = u->old;
    row.status = INSTANCE_UPDATING;
    row.previous_status = u->old.previous_status;
    row.op_deadline = in->op_deadline;
    snprintf(row.op_step, sizeof row.op_step, "%s", step);
    store_save(o->store, &row, INSTANCE_UPDATING, "action", NULL, false, NULL);
}

/*
 * Undoes what an interrupted update left: a new container holding the
 * instance's name is removed, and the old one gets its name back.
 */
static lc_err heal(lc_ops *o, const update_state *u, lc_diag *d)
{
    lc_observation by_name, old;
    lc_err e = engine_container_inspect(o->engine, u->old.container_name, &by_name, d);
    if (e == LC_OK && by_name.state != CONTAINER_MISSING &&
        strcmp(by_name.id, u->old.container_id) != 0)
        e = engine_container_remove(o->engine, by_name.id, true, d);
    if (e == LC_OK)
        e = engine_container_inspect(o->engine, u->old.container_id, &old, d);
    if (e == LC_OK && old.state != CONTAINER_MISSING &&
        strcmp(old.name, u->old.container_name) != 0)
        e = engine_container_rename(o->engine, u->old.container_id, u->old.container_name, d);
    return e;
}

static lc_err swap_in(lc_ops *o, lc_instance *in, update_state *u, lc_diag *d)
{
    lc_err e = LC_OK;
    lc_observation obs;
    if (u->old.container_id[0] != '\0') {
        checkpoint(o, in, u, "stop");
        e = heal(o, u, d);
        if (e == LC_OK)
            e = engine_container_stop(o->engine, u->old.container_id, o->cfg->stop_timeout, d);
        if (e == LC_OK)
            e = engine_container_rename(o->engine, u->old.container_id, u->aside_name, d);
        u->renamed = e == LC_OK;
    }
    if (e == LC_OK) {
        checkpoint(o, in, u, "container");
        in->container_id[0] = '\0';
        e = ops_make_container(o, in, d);
    }
    if (e == LC_OK) {
        checkpoint(o, in, u, "start");
        e = engine_container_start(o->engine, in->container_id, d);
        u->new_started = e == LC_OK;
    }
    if (e == LC_OK) {
        checkpoint(o, in, u, "running");
        e = ops_wait_running(o, in, in->op_deadline, &obs, d);
    }
    if (e == LC_OK)
        ops_record_start(o, in, &obs);
    return e;
}

/* Puts the old container (and, when the new one ran, the backup's data) back. */
static lc_err roll_back(lc_ops *o, lc_instance *in, update_state *u, lc_diag *d)
{
    lc_diag ignore;
    if (in->container_id[0] != '\0' && strcmp(in->container_id, u->old.container_id) != 0)
        engine_container_remove(o->engine, in->container_id, true, &ignore);
    lc_err e = LC_OK;
    if (u->renamed)
        e = engine_container_rename(o->engine, u->old.container_id, u->old.container_name, d);
    snprintf(in->image, sizeof in->image, "%s", u->old.image);
    snprintf(in->odoo_version, sizeof in->odoo_version, "%s", u->old.odoo_version);
    snprintf(in->container_id, sizeof in->container_id, "%s", u->old.container_id);
    if (e == LC_OK && u->new_started)
        e = ops_restore_into_new_volume(o, in, u->backup.path, d);
    lc_observation obs;
    if (e == LC_OK && u->old.previous_status == INSTANCE_RUNNING) {
        e = engine_container_start(o->engine, in->container_id, d);
        if (e == LC_OK)
            e = ops_wait_running(o, in, time(NULL) + o->cfg->create_timeout, &obs, d);
    }
    return e;
}

/* Ends the update: previous status, on the new image when it worked. */
static lc_err conclude(lc_ops *o, lc_instance *in, update_state *u, lc_err e, lc_diag *d)
{
    char why[600];
    snprintf(why, sizeof why, "%s", d->msg);
    lc_diag rd = {{0}};
    lc_err re = e == LC_OK ? LC_OK : roll_back(o, in, u, &rd);
    in->status = (InstanceStatus)u->old.previous_status;
    if (e == LC_OK && in->status == INSTANCE_STOPPED)
        engine_container_stop(o->engine, in->container_id, o->cfg->stop_timeout, &rd);
    if (e == LC_OK) {
        lc_diag ignore;
        if (u->old.container_id[0] != '\0')
            engine_container_remove(o->engine, u->old.container_id, true, &ignore);
        in->error_message[0] = '\0';
    } else if (re == LC_OK) {
        snprintf(in->error_message, sizeof in->error_message,
                 "update to %s failed at step %s: %s (rolled back)", u->target, in->op_step, why);
    } else {
        in->status = INSTANCE_ERROR;
        snprintf(in->error_message, sizeof in->error_message,
                 "update failed at step %s: %s; rollback failed: %s", in->op_step, why, rd.msg);
    }
    in->op_step[0] = '\0';
    in->op_deadline = 0;
    in->previous_status = -1;
    lc_diag sd;
    lc_err se = store_save(o->store, in, INSTANCE_UPDATING, "action", e == LC_OK ? "update" : why,
                           true, &sd);
    if (e == LC_OK)
        return se == LC_OK ? LC_OK : lc_fail(d, se, "%s", sd.msg);
    return lc_fail(d, LC_EFAILED, "%s", in->error_message);
}

/* The image updated to, present locally (pulled when the policy allows), before any backup. */
static lc_err target_image(lc_ops *o, lc_instance *in, const lc_action_options *opt,
                           update_state *u, lc_diag *d)
{
    if (opt->image != NULL)
        snprintf(u->target, sizeof u->target, "%s", opt->image);
    else
        image_for(u->old.image, opt->odoo_version, u->target, sizeof u->target);
    ops_step(o, in, "image");
    bool present = false;
    lc_err e = engine_image_exists(o->engine, u->target, &present, d);
    if (e == LC_OK && !present && strcmp(o->cfg->pull_policy, "never") == 0)
        return lc_fail(d, LC_EFAILED, "image %s is not present and the pull policy is never",
                       u->target);
    if (e == LC_OK && !present)
        e = engine_image_pull(o->engine, u->target, d);
    return e;
}

lc_err ops_act_update(lc_ops *o, lc_instance *in, const act_ctx *ctx, lc_action_result *res,
                      lc_diag *d)
{
    lc_err e = ops_update_check(in, ctx->opt, d);
    if (e != LC_OK) {
        store_lease_release(o->store, in->id, NULL);
        return e;
    }
    update_state u = {.old = *in};
    u.old.previous_status = (int)in->status;
    snprintf(u.aside_name, sizeof u.aside_name, "%s_pre_update", in->container_name);
    in->previous_status = (int)in->status;
    in->status = INSTANCE_UPDATING;
    in->op_deadline = time(NULL) + o->cfg->create_timeout;
    ops_step(o, in, "image");
    e = store_save(o->store, in, (InstanceStatus)u.old.previous_status, "action", ctx->detail,
                   false, d);
    if (e != LC_OK)
        return e;
    e = target_image(o, in, ctx->opt, &u, d);
    if (e == LC_OK) {
        checkpoint(o, in, &u, "backup");
        e = ops_backup_now(o, in, "pre-update", &u.backup, d);
    }
    if (e == LC_OK) {
        snprintf(in->odoo_version, sizeof in->odoo_version, "%s", ctx->opt->odoo_version);
        snprintf(in->image, sizeof in->image, "%s", u.target);
    }
    if (e == LC_OK)
        e = swap_in(o, in, &u, d);
    e = conclude(o, in, &u, e, d);
    if (e == LC_OK)
        snprintf(res->note, sizeof res->note, "now %s (%s)", in->odoo_version, in->image);
    return e;
}
