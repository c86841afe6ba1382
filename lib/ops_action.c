/*
 * The handlers of the lifecycle actions (DESIGN §2): start, stop, restart,
 * suspend, unsuspend, maintenance, end-maintenance, terminate. They run
 * under the lease path of ops_lease.c (which takes, keeps and releases the
 * lease and writes the outcome); each records its step before its side
 * effect and sets the status it ends in.
 */
#include "ops_internal.h"

#include <stdio.h>
#include <string.h>

/* Recreates a vanished container from the row when its volume is still there. */
static lc_err ensure_container(lc_ops *o, lc_instance *in, lc_diag *d)
{
    lc_observation obs;
    lc_err e = LC_OK;
    if (in->container_id[0] != '\0')
        e = engine_container_inspect(o->engine, in->container_id, &obs, d);
    if (e != LC_OK || (in->container_id[0] != '\0' && obs.state != CONTAINER_MISSING))
        return e;
    bool volume = false;
    e = engine_volume_exists(o->engine, in->volume_name, &volume, d);
    if (e != LC_OK)
        return e;
    if (!volume)
        return lc_fail(d, LC_EFAILED, "container and volume missing");
    snprintf(in->op.old_container, sizeof in->op.old_container, "%s", in->container_id);
    if ((e = ops_step(o, in, "container", d)) != LC_OK)
        return e;
    in->container_id[0] = '\0';
    e = ops_make_container(o, in, d);
    return e == LC_OK ? LC_OK : lc_prefix(d, e, "recreate container %s", in->container_name);
}

/* start / restart / unsuspend to running: running (and healthy) or error naming the failure. */
static lc_err to_running(lc_ops *o, lc_instance *in, bool restart, const char *what, lc_diag *d)
{
    lc_observation obs;
    lc_err e = ensure_container(o, in, d);
    if (e == LC_OK)
        e = ops_step(o, in, restart ? "restart" : "start", d);
    if (e == LC_OK && restart)
        e = engine_container_restart(o->engine, in->container_id, o->cfg->stop_timeout, d);
    else if (e == LC_OK)
        e = engine_container_start(o->engine, in->container_id, d);
    if (e == LC_OK)
        e = ops_step(o, in, "running", d);
    if (e == LC_OK)
        e = ops_wait_running(o, in, time(NULL) + o->cfg->create_timeout, &obs, d);
    if (e == LC_OK) {
        ops_record_start(o, in, &obs);
        in->status = INSTANCE_RUNNING;
        in->error_message[0] = '\0';
        in->error_from_op = false;
        return LC_OK;
    }
    if (e == LC_EENGINE || e == LC_EINTR || e == LC_ESTORE || e == LC_EBUSY)
        return e;
    in->status = INSTANCE_ERROR;
    in->error_from_op = true;
    snprintf(in->error_message, sizeof in->error_message, "%s failed: %s", what, d->msg);
    return LC_EFAILED;
}

static lc_err stop_container(lc_ops *o, lc_instance *in, lc_diag *d)
{
    if (in->container_id[0] == '\0')
        return LC_OK;
    lc_err e = ops_step(o, in, "stop", d);
    if (e == LC_OK)
        e = engine_container_stop(o->engine, in->container_id, o->cfg->stop_timeout, d);
    return e == LC_ENOTFOUND ? LC_OK : e;
}

ACTION_HANDLER(ops_act_start)
{
    (void)ctx;
    (void)res;
    return to_running(o, in, false, "start", d);
}

ACTION_HANDLER(ops_act_restart)
{
    (void)ctx;
    (void)res;
    return to_running(o, in, true, "restart", d);
}

ACTION_HANDLER(ops_act_stop)
{
    (void)ctx;
    (void)res;
    lc_err e = stop_container(o, in, d);
    if (e != LC_OK)
        return e;
    in->status = INSTANCE_STOPPED;
    in->error_message[0] = '\0';
    ops_observe_now(o, in);
    return LC_OK;
}

/*
 * terminate: the status is written first (a business decision), with the
 * final backup marked pending until it is taken; the volume and the
 * database go only after it succeeded. A billing cancellation ends there:
 * the final backup and the removal run in the next reconcile pass, not
 * inside the webhook's HTTP request. Failures are left to reconcile.
 */
ACTION_HANDLER(ops_act_terminate)
{
    bool backup = ctx->opt == NULL || !ctx->opt->no_final_backup;
    in->status = INSTANCE_TERMINATED;
    in->final_backup_pending = backup;
    in->op.no_final_backup = !backup;
    lc_err e = ops_checkpoint(o, in, ctx, d);
    if (e != LC_OK)
        return e;
    if (ctx->billing) {
        in->final_backup_pending = true;
        snprintf(res->note, sizeof res->note,
                 "final backup and removal run in the next reconcile pass");
        return LC_OK;
    }
    if ((e = ops_step(o, in, "remove", d)) != LC_OK)
        return e;
    e = ops_finish_termination(o, in, backup, d);
    ops_observe_now(o, in);
    if (e == LC_EINTR)
        return e;
    if (e != LC_OK) {
        in->final_backup_pending = true;
        snprintf(res->note, sizeof res->note, "%s",
                 in->error_message[0] ? in->error_message : "removal failed; reconcile retries it");
        return lc_prefix(d, LC_EFAILED, "status written");
    }
    return LC_OK;
}

static bool *hold_of(lc_instance *in, const act_ctx *ctx)
{
    return ctx->billing ? &in->hold_billing : &in->hold_operator;
}

/* suspend: sets this side's hold; the status is written before the container is stopped. */
ACTION_HANDLER(ops_act_suspend)
{
    InstanceStatus from = in->status;
    *hold_of(in, ctx) = true;
    if (from != INSTANCE_SUSPENDED) {
        in->suspended_from = (int)from;
        in->status = INSTANCE_SUSPENDED;
    } else {
        snprintf(res->note, sizeof res->note, "%s hold added",
                 ctx->billing ? "billing" : "operator");
        ctx->record = true;
        snprintf(ctx->note, sizeof ctx->note, "%s", res->note);
    }
    lc_err e = ops_checkpoint(o, in, ctx, d);
    if (e == LC_OK)
        e = stop_container(o, in, d);
    if (e == LC_OK || e == LC_EINTR || e == LC_ESTORE)
        return e;
    snprintf(res->note, sizeof res->note,
             "suspended; stopping the container failed, reconcile will stop it");
    return lc_prefix(d, LC_EFAILED, "status written");
}

/* unsuspend: clears this side's hold; the last hold cleared restores the status. */
ACTION_HANDLER(ops_act_unsuspend)
{
    *hold_of(in, ctx) = false;
    if (in->hold_billing || in->hold_operator) {
        snprintf(res->note, sizeof res->note, "the %s hold remains",
                 in->hold_billing ? "billing (cleared by a payment)" : "operator");
        ctx->record = true;
        snprintf(ctx->note, sizeof ctx->note, "%s hold cleared; %s",
                 ctx->billing ? "billing" : "operator", res->note);
        return LC_OK;
    }
    bool was_running = in->suspended_from == INSTANCE_RUNNING;
    in->suspended_from = -1;
    if (was_running)
        return to_running(o, in, false, "unsuspend", d);
    in->status = INSTANCE_STOPPED;
    return LC_OK;
}

ACTION_HANDLER(ops_act_maintenance)
{
    (void)o;
    (void)ctx;
    (void)res;
    (void)d;
    in->status = INSTANCE_MAINTENANCE;
    return LC_OK;
}

/* end-maintenance: running when the container runs, else stopped (the engine decides). */
ACTION_HANDLER(ops_act_end_maintenance)
{
    (void)ctx;
    lc_observation obs = {.state = CONTAINER_MISSING};
    lc_err e = LC_OK;
    if (in->container_id[0] != '\0')
        e = engine_container_inspect(o->engine, in->container_id, &obs, d);
    if (e != LC_OK)
        return e;
    in->status = obs.state == CONTAINER_RUNNING ? INSTANCE_RUNNING : INSTANCE_STOPPED;
    snprintf(res->note, sizeof res->note, "container %s", container_state_name(obs.state));
    return LC_OK;
}
