/*
 * The actions on an existing instance (DESIGN §2): start, stop, restart,
 * suspend, unsuspend, terminate. The table of allowed statuses is in
 * status.c; what each action does to Docker and to the row is here.
 */
#include "ops_internal.h"

#include <stdio.h>
#include <string.h>

lc_err ops_not_allowed(const char *action, const lc_instance *in, lc_diag *d)
{
    char allowed[256];
    if (lc_allowed_actions(in->status, ", ", allowed, sizeof allowed) == 0)
        snprintf(allowed, sizeof allowed, "none");
    return lc_fail(d, LC_ENOTALLOWED, "cannot %s instance %s: its status is %s (allowed: %s)",
                   action, in->name, instance_status_name(in->status), allowed);
}

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
    e = ops_make_container(o, in, d);
    return e == LC_OK ? LC_OK : lc_prefix(d, e, "recreate container %s", in->container_name);
}

static lc_err bring_up(lc_ops *o, lc_instance *in, bool restart, lc_diag *d)
{
    lc_err e = ensure_container(o, in, d);
    if (e == LC_OK && restart)
        e = engine_container_restart(o->engine, in->container_id, o->cfg->stop_timeout, d);
    else if (e == LC_OK)
        e = engine_container_start(o->engine, in->container_id, d);
    lc_observation obs;
    if (e == LC_OK)
        e = ops_wait_running(o, in, time(NULL) + o->cfg->create_timeout, &obs, d);
    if (e == LC_OK)
        ops_record_start(o, in, &obs);
    return e;
}

static lc_err stop_container(lc_ops *o, const lc_instance *in, lc_diag *d)
{
    if (in->container_id[0] == '\0')
        return LC_OK;
    lc_err e = engine_container_stop(o->engine, in->container_id, o->cfg->stop_timeout, d);
    return e == LC_ENOTFOUND ? LC_OK : e;
}

/*
 * Records how an action ended and releases the lease. A failure to reach
 * running leaves error; other failures keep the status the caller set.
 */
static lc_err finish(lc_ops *o, lc_instance *in, InstanceStatus from, const act_ctx *ctx,
                     const char *what, lc_err e, lc_diag *d)
{
    lc_diag sd;
    lc_err se = store_save_event(o->store, in, from, ctx->cause, ctx->detail, true, ctx->ev, &sd);
    if (se != LC_OK)
        return e != LC_OK ? e : lc_fail(d, se, "%s", sd.msg);
    return e == LC_OK ? LC_OK : lc_prefix(d, LC_EFAILED, "%s %s", what, in->name);
}

static lc_err to_running(lc_ops *o, lc_instance *in, InstanceStatus from, const act_ctx *ctx,
                         const char *what, bool restart, lc_diag *d)
{
    lc_err e = bring_up(o, in, restart, d);
    if (e == LC_EENGINE && ctx->ev == NULL) {
        store_lease_release(o->store, in->id, NULL);
        return e;
    }
    in->status = e == LC_OK ? INSTANCE_RUNNING : INSTANCE_ERROR;
    if (e == LC_OK)
        in->error_message[0] = '\0';
    else
        snprintf(in->error_message, sizeof in->error_message, "%s failed: %s", what, d->msg);
    return finish(o, in, from, ctx, what, e, d);
}

static lc_err act_start(lc_ops *o, lc_instance *in, const act_ctx *ctx, lc_action_result *res,
                        lc_diag *d)
{
    (void)res;
    return to_running(o, in, in->status, ctx, "start", false, d);
}

static lc_err act_restart(lc_ops *o, lc_instance *in, const act_ctx *ctx, lc_action_result *res,
                          lc_diag *d)
{
    (void)res;
    return to_running(o, in, in->status, ctx, "restart", true, d);
}

static lc_err act_stop(lc_ops *o, lc_instance *in, const act_ctx *ctx, lc_action_result *res,
                       lc_diag *d)
{
    (void)res;
    lc_err e = stop_container(o, in, d);
    if (e == LC_EENGINE) {
        store_lease_release(o->store, in->id, NULL);
        return e;
    }
    InstanceStatus from = in->status;
    if (e == LC_OK) {
        in->status = INSTANCE_STOPPED;
        in->error_message[0] = '\0';
        ops_observe_now(o, in);
    }
    return finish(o, in, from, ctx, "stop", e, d);
}

/*
 * terminate: the status is written first (a business decision), with the
 * final backup marked pending until it is taken; the volume and the
 * database go only after it succeeded. Failures are left to reconcile.
 */
static lc_err act_terminate(lc_ops *o, lc_instance *in, const act_ctx *ctx, lc_action_result *res,
                            lc_diag *d)
{
    InstanceStatus from = in->status;
    bool backup = ctx->opt == NULL || !ctx->opt->no_final_backup;
    in->status = INSTANCE_TERMINATED;
    in->op_step[0] = '\0';
    in->op_deadline = 0;
    in->final_backup_pending = backup;
    lc_err e = store_save_event(o->store, in, from, ctx->cause, ctx->detail, false, ctx->ev, d);
    if (e != LC_OK)
        return e;
    e = ops_finish_termination(o, in, backup, d);
    ops_observe_now(o, in);
    lc_diag sd;
    store_save(o->store, in, INSTANCE_TERMINATED, ctx->cause, ctx->detail, true, &sd);
    if (e != LC_OK)
        snprintf(res->note, sizeof res->note, "%s",
                 in->final_backup_pending ? "final backup pending; reconcile retries it"
                                          : "removal failed; reconcile retries it");
    return e == LC_OK ? LC_OK : lc_prefix(d, LC_EFAILED, "terminate %s (status written)", in->name);
}

static bool *hold_of(lc_instance *in, const act_ctx *ctx)
{
    return ctx->billing ? &in->hold_billing : &in->hold_operator;
}

/* suspend: sets this side's hold; the status is written before the container is stopped. */
static lc_err act_suspend(lc_ops *o, lc_instance *in, const act_ctx *ctx, lc_action_result *res,
                          lc_diag *d)
{
    InstanceStatus from = in->status;
    *hold_of(in, ctx) = true;
    if (from != INSTANCE_SUSPENDED) {
        in->suspended_from = (int)from;
        in->status = INSTANCE_SUSPENDED;
    } else {
        snprintf(res->note, sizeof res->note, "%s hold added",
                 ctx->billing ? "billing" : "operator");
    }
    lc_err e = store_save_event(o->store, in, from, ctx->cause, ctx->detail, false, ctx->ev, d);
    if (e == LC_OK)
        e = stop_container(o, in, d);
    store_lease_release(o->store, in->id, NULL);
    if (e != LC_OK)
        snprintf(res->note, sizeof res->note,
                 "suspended; stopping the container failed, "
                 "reconcile will stop it");
    return e == LC_OK ? LC_OK : lc_prefix(d, LC_EFAILED, "suspend %s (status written)", in->name);
}

/* unsuspend: clears this side's hold; the last hold cleared restores the status. */
static lc_err act_unsuspend(lc_ops *o, lc_instance *in, const act_ctx *ctx, lc_action_result *res,
                            lc_diag *d)
{
    *hold_of(in, ctx) = false;
    if (in->hold_billing || in->hold_operator) {
        snprintf(res->note, sizeof res->note, "the %s hold remains",
                 in->hold_billing ? "billing (cleared by a payment)" : "operator");
        return finish(o, in, in->status, ctx, "unsuspend", LC_OK, d);
    }
    bool was_running = in->suspended_from == INSTANCE_RUNNING;
    in->suspended_from = -1;
    if (was_running)
        return to_running(o, in, INSTANCE_SUSPENDED, ctx, "unsuspend", false, d);
    in->status = INSTANCE_STOPPED;
    return finish(o, in, INSTANCE_SUSPENDED, ctx, "unsuspend", LC_OK, d);
}

static lc_err act_maintenance(lc_ops *o, lc_instance *in, const act_ctx *ctx, lc_action_result *res,
                              lc_diag *d)
{
    (void)res;
    InstanceStatus from = in->status;
    in->status = INSTANCE_MAINTENANCE;
    return finish(o, in, from, ctx, "maintenance", LC_OK, d);
}

/* end-maintenance: running when the container runs, else stopped (the engine decides). */
static lc_err act_end_maintenance(lc_ops *o, lc_instance *in, const act_ctx *ctx,
                                  lc_action_result *res, lc_diag *d)
{
    lc_observation obs = {.state = CONTAINER_MISSING};
    lc_err e = LC_OK;
    if (in->container_id[0] != '\0')
        e = engine_container_inspect(o->engine, in->container_id, &obs, d);
    if (e != LC_OK) {
        store_lease_release(o->store, in->id, NULL);
        return e;
    }
    in->status = obs.state == CONTAINER_RUNNING ? INSTANCE_RUNNING : INSTANCE_STOPPED;
    snprintf(res->note, sizeof res->note, "container %s", container_state_name(obs.state));
    return finish(o, in, INSTANCE_MAINTENANCE, ctx, "end-maintenance", LC_OK, d);
}

typedef lc_err (*action_fn)(lc_ops *, lc_instance *, const act_ctx *, lc_action_result *,
                            lc_diag *);

static const struct {
    const char *name;
    action_fn run;
} handlers[] = {
    {"start", act_start},
    {"stop", act_stop},
    {"restart", act_restart},
    {"terminate", act_terminate},
    {"suspend", act_suspend},
    {"unsuspend", act_unsuspend},
    {"maintenance", act_maintenance},
    {"end-maintenance", act_end_maintenance},
    {"backup", ops_act_backup},
    {"restore", ops_act_restore},
    {"update", ops_act_update},
};

/*
 * Whether there is nothing to do: the target status, or this side's hold, is
 * already there (suspend), or this side holds nothing to clear (unsuspend).
 * res->note says so.
 */
static bool nothing_to_do(const lc_action *a, const lc_instance *in, bool billing,
                          lc_action_result *res)
{
    bool hold = billing ? in->hold_billing : in->hold_operator;
    const char *side = billing ? "billing" : "operator";
    if (strcmp(a->name, "suspend") == 0 && in->status == INSTANCE_SUSPENDED && hold)
        snprintf(res->note, sizeof res->note, "already suspended (%s hold)", side);
    else if (strcmp(a->name, "unsuspend") == 0 && in->status == INSTANCE_SUSPENDED && !hold)
        snprintf(res->note, sizeof res->note, "no %s hold to clear; still suspended by the %s hold",
                 side, billing ? "operator" : "billing");
    else if (lc_action_check(a, in->status) == ACTION_ALREADY)
        snprintf(res->note, sizeof res->note, "already %s%s",
                 in->status == INSTANCE_MAINTENANCE ? "in " : "", instance_status_name(in->status));
    else
        return false;
    res->already = true;
    return true;
}

lc_err ops_locked_action(lc_ops *o, const char *name, lc_instance *in, const act_ctx *ctx,
                         lc_action_result *res, lc_diag *d)
{
    const lc_action *a = lc_action_find(name);
    memset(res, 0, sizeof *res);
    if (a != NULL && nothing_to_do(a, in, ctx->billing, res)) {
        store_lease_release(o->store, in->id, NULL);
        return LC_OK;
    }
    if (a == NULL || lc_action_check(a, in->status) != ACTION_ALLOWED) {
        store_lease_release(o->store, in->id, NULL);
        return ops_not_allowed(name, in, d);
    }
    for (size_t i = 0; i < sizeof handlers / sizeof handlers[0]; i++) {
        if (strcmp(handlers[i].name, name) != 0)
            continue;
        ops_keepalive k;
        ops_keepalive_start(o, in->id, &k);
        lc_err e = handlers[i].run(o, in, ctx, res, d);
        ops_keepalive_stop(&k);
        return e;
    }
    store_lease_release(o->store, in->id, NULL);
    return lc_fail(d, LC_EUSAGE, "action %s has no implementation", name);
}

static const char *detail_for(const lc_action *a, const lc_action_options *opt, char *buf,
                              size_t len)
{
    if (opt != NULL && opt->reason != NULL && opt->reason[0] != '\0')
        snprintf(buf, len, "%s: %s", a->name, opt->reason);
    else
        snprintf(buf, len, "%s", a->name);
    return buf;
}

lc_err ops_run_action(lc_ops *o, const char *ref, const lc_action *a, const lc_action_options *opt,
                      lc_instance *out, lc_action_result *res, lc_diag *d)
{
    memset(res, 0, sizeof *res);
    lc_err e = store_resolve(o->store, ref, out, d);
    if (e != LC_OK)
        return e;
    if (nothing_to_do(a, out, false, res))
        return LC_OK;
    if (lc_action_check(a, out->status) == ACTION_NOT_ALLOWED)
        return ops_not_allowed(a->name, out, d);
    if (strcmp(a->name, "update") == 0 && (e = ops_update_check(out, opt, d)) != LC_OK)
        return e;
    e = engine_ping(o->engine, d);
    if (e == LC_OK)
        e = ops_take_lease(o, out->id, out, d);
    if (e != LC_OK)
        return e;
    char detail[600];
    act_ctx ctx = {
        .cause = "action", .detail = detail_for(a, opt, detail, sizeof detail), .opt = opt};
    e = ops_locked_action(o, a->name, out, &ctx, res, d);
    lc_instance now;
    if (store_get(o->store, out->id, &now, NULL) == LC_OK)
        *out = now;
    return e;
}
