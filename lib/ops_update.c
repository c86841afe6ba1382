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

/* The image for a version: the current repository with the version as tag. */
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

/* The image for an update: --image, else the current repository with the version as tag. */
static void target_of(const lc_instance *in, const lc_action_options *opt, char *out, size_t len)
{
    if (opt->image != NULL)
        snprintf(out, len, "%s", opt->image);
    else
        image_for(in->image, opt->odoo_version, out, len);
}

lc_err ops_update_check(const lc_instance *in, const lc_action_options *opt, lc_action_result *res,
                        lc_diag *d)
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
    char target[256];
    target_of(in, opt, target, sizeof target);
    if (e == LC_OK && res != NULL && strcmp(opt->odoo_version, in->odoo_version) == 0 &&
        strcmp(target, in->image) == 0) {
        res->already = true;
        snprintf(res->note, sizeof res->note, "already on %s (%s)", in->odoo_version, in->image);
    }
    return e;
}

typedef struct update_state {
    lc_instance old;  /* the row as it was */
    char target[256]; /* the image updated to */
    bool new_started;
    lc_backup_row backup;
} update_state;

/*
 * The new container beside the old one, in the order of DESIGN §2: the old
 * one stopped and moved aside, the new one made under the instance's name
 * from the new image on the same volume and started; once it runs the row
 * is pointed at it (the switch, recorded), and only then the old one goes.
 */
static lc_err swap_in(lc_ops *o, lc_instance *in, update_state *u, const char *version, lc_diag *d)
{
    lc_err e = LC_OK;
    lc_observation obs;
    snprintf(in->op.old_container, sizeof in->op.old_container, "%s", u->old.container_id);
    snprintf(in->op.aside_name, sizeof in->op.aside_name, "%s_pre_update", in->container_name);
    if (u->old.container_id[0] != '\0') {
        e = ops_step(o, in, "stop", d);
        if (e == LC_OK)
            e = engine_container_stop(o->engine, u->old.container_id, o->cfg->stop_timeout, d);
        if (e == LC_OK)
            e = engine_container_rename(o->engine, u->old.container_id, in->op.aside_name, d);
    }
    lc_instance next = *in;
    snprintf(next.image, sizeof next.image, "%s", u->target);
    next.container_id[0] = '\0';
    if (e == LC_OK && (e = ops_step(o, in, "container", d)) == LC_OK)
        e = ops_make_container(o, &next, d);
    if (e == LC_OK && (e = ops_step(o, in, "start", d)) == LC_OK) {
        e = engine_container_start(o->engine, next.container_id, d);
        u->new_started = e == LC_OK;
    }
    if (e == LC_OK && (e = ops_step(o, in, "running", d)) == LC_OK)
        e = ops_wait_running(o, &next, in->op_deadline, &obs, d);
    if (e != LC_OK)
        return e;
    snprintf(in->container_id, sizeof in->container_id, "%s", next.container_id);
    snprintf(in->image, sizeof in->image, "%s", u->target);
    snprintf(in->odoo_version, sizeof in->odoo_version, "%s", version);
    in->op.switched = true;
    if ((e = ops_step(o, in, "switch", d)) != LC_OK)
        return e;
    ops_record_start(o, in, &obs);
    lc_diag ignore;
    if (u->old.container_id[0] != '\0')
        engine_container_remove(o->engine, u->old.container_id, true, &ignore);
    return LC_OK;
}

/*
 * After a failure before the switch: the new container goes, the old one
 * gets its name back (ops_recover_cleanup), and when the new one ran on the
 * volume the pre-update backup's data comes back; the old container runs
 * again if it ran before.
 */
static lc_err roll_back(lc_ops *o, lc_instance *in, update_state *u, lc_diag *d)
{
    lc_err e = ops_recover_cleanup(o, in, d);
    if (e == LC_OK && u->new_started) {
        in->op = (lc_op_journal){.kind = ACT_UPDATE, .from = in->op.from};
        /* the instance's own backup: made under its database, nothing to move */
        e = ops_restore_into_new_volume(o, in, u->backup.path, NULL, d);
    }
    lc_observation obs;
    if (e == LC_OK && u->old.status == INSTANCE_RUNNING) {
        e = engine_container_start(o->engine, in->container_id, d);
        if (e == LC_OK)
            e = ops_wait_running(o, in, time(NULL) + o->cfg->create_timeout, &obs, d);
    }
    return e;
}

/* Ends the update: the previous status, on the new image when it worked. */
static lc_err finish(lc_ops *o, lc_instance *in, update_state *u, lc_err e, lc_diag *d)
{
    in->status = u->old.status;
    in->previous_status = -1;
    if (e == LC_OK) {
        lc_diag ignore;
        if (in->status == INSTANCE_STOPPED)
            engine_container_stop(o->engine, in->container_id, o->cfg->stop_timeout, &ignore);
        in->error_message[0] = '\0';
        return LC_OK;
    }
    if (e == LC_EINTR || e == LC_ESTORE || e == LC_EBUSY)
        return e;
    char why[600];
    snprintf(why, sizeof why, "%s", d->msg);
    lc_diag rd = {{0}};
    lc_err re = in->op.switched ? LC_OK : roll_back(o, in, u, &rd);
    if (re == LC_OK) {
        snprintf(in->error_message, sizeof in->error_message,
                 "update to %s failed at step %s: %s (rolled back)", u->target, in->op_step, why);
    } else {
        in->status = INSTANCE_ERROR;
        in->error_from_op = true;
        snprintf(in->error_message, sizeof in->error_message,
                 "update failed at step %s: %s; rollback failed: %s", in->op_step, why, rd.msg);
    }
    return lc_fail(d, LC_EFAILED, "%s", in->error_message);
}

/* The image updated to, present locally (pulled when the policy allows), before any backup. */
static lc_err target_image(lc_ops *o, const lc_action_options *opt, update_state *u, lc_diag *d)
{
    target_of(&u->old, opt, u->target, sizeof u->target);
    bool present = false;
    lc_err e = engine_image_exists(o->engine, u->target, &present, d);
    if (e == LC_OK && !present && strcmp(o->cfg->pull_policy, "never") == 0)
        return lc_fail(d, LC_EFAILED, "image %s is not present and the pull policy is never",
                       u->target);
    if (e == LC_OK && !present)
        e = engine_image_pull(o->engine, u->target, d);
    return e;
}

ACTION_HANDLER(ops_act_update)
{
    lc_err e = ops_update_check(in, ctx->opt, NULL, d);
    if (e != LC_OK)
        return e;
    update_state u = {.old = *in};
    in->previous_status = (int)in->status;
    in->status = INSTANCE_UPDATING;
    in->op_deadline = time(NULL) + o->cfg->create_timeout;
    e = ops_checkpoint(o, in, ctx, d);
    if (e == LC_OK)
        e = ops_step(o, in, "image", d);
    if (e == LC_OK)
        e = target_image(o, ctx->opt, &u, d);
    if (e == LC_OK && (e = ops_step(o, in, "backup", d)) == LC_OK)
        e = ops_backup_now(o, in, "pre-update", &u.backup, d);
    if (e == LC_OK)
        snprintf(in->op.backup_path, sizeof in->op.backup_path, "%s", u.backup.path);
    if (e == LC_OK)
        e = swap_in(o, in, &u, ctx->opt->odoo_version, d);
    e = finish(o, in, &u, e, d);
    if (e == LC_OK) {
        snprintf(res->note, sizeof res->note, "now %s (%s)", in->odoo_version, in->image);
        ctx->record = true;
        snprintf(ctx->note, sizeof ctx->note, "%s (%s) -> %s (%s)", u.old.odoo_version, u.old.image,
                 in->odoo_version, in->image);
    }
    return e;
}
