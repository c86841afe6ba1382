/*
 * start, stop, restart and terminate (DESIGN §2): check the action table,
 * take the lease, act on the container, record the outcome.
 */
#include "ops_internal.h"

#include <stdio.h>
#include <string.h>

static lc_err not_allowed(const lc_action *a, const lc_instance *in, lc_diag *d)
{
    char allowed[256];
    if (lc_allowed_actions(in->status, ", ", allowed, sizeof allowed) == 0)
        snprintf(allowed, sizeof allowed, "none");
    return lc_fail(d, LC_ENOTALLOWED, "cannot %s instance %s: its status is %s (allowed: %s)",
                   a->name, in->name, instance_status_name(in->status), allowed);
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

static lc_err do_start(lc_ops *o, lc_instance *in, bool restart, lc_diag *d)
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

static lc_err do_stop(lc_ops *o, lc_instance *in, lc_diag *d)
{
    if (in->container_id[0] == '\0')
        return LC_OK;
    lc_err e = engine_container_stop(o->engine, in->container_id, o->cfg->stop_timeout, d);
    return e == LC_ENOTFOUND ? LC_OK : e;
}

/* terminate: the status is written first; removal failures are left to reconcile. */
static lc_err do_terminate(lc_ops *o, lc_instance *in, InstanceStatus from, const char *detail,
                           lc_diag *d)
{
    in->status = INSTANCE_TERMINATED;
    in->op_step[0] = '\0';
    in->op_deadline = 0;
    lc_err e = store_save(o->store, in, from, "action", detail, false, d);
    if (e != LC_OK)
        return e;
    if (in->container_id[0] != '\0')
        e = engine_container_remove(o->engine, in->container_id, true, d);
    if (e == LC_ENOTFOUND)
        e = LC_OK;
    if (e == LC_OK)
        e = engine_volume_remove(o->engine, in->volume_name, d);
    return e;
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

/* Runs the action under the lease and records how it ended. */
static lc_err run_locked(lc_ops *o, const lc_action *a, const char *detail, lc_instance *in,
                         lc_diag *d)
{
    InstanceStatus from = in->status;
    lc_err e;
    if (strcmp(a->name, "terminate") == 0) {
        e = do_terminate(o, in, from, detail, d);
        from = INSTANCE_TERMINATED;
    } else if (strcmp(a->name, "stop") == 0) {
        e = do_stop(o, in, d);
    } else {
        e = do_start(o, in, strcmp(a->name, "restart") == 0, d);
    }
    if (e == LC_EENGINE && from != INSTANCE_TERMINATED) {
        store_lease_release(o->store, in->id, NULL);
        return e;
    }
    if (e == LC_OK) {
        in->status = (InstanceStatus)a->target;
        in->error_message[0] = '\0';
    } else if (a->target == INSTANCE_RUNNING) {
        in->status = INSTANCE_ERROR;
        snprintf(in->error_message, sizeof in->error_message, "%s failed: %s", a->name, d->msg);
    }
    lc_diag sd;
    lc_err se = store_save(o->store, in, from, "action", detail, true, &sd);
    if (se != LC_OK)
        return e != LC_OK ? e : lc_fail(d, se, "%s", sd.msg);
    return e == LC_OK ? LC_OK : lc_prefix(d, LC_EFAILED, "%s %s", a->name, in->name);
}

lc_err ops_run_action(lc_ops *o, const char *ref, const lc_action *a, const lc_action_options *opt,
                      lc_instance *out, bool *already, lc_diag *d)
{
    *already = false;
    lc_err e = store_resolve(o->store, ref, out, d);
    if (e != LC_OK)
        return e;
    lc_action_verdict v = lc_action_check(a, out->status);
    if (v == ACTION_NOT_ALLOWED)
        return not_allowed(a, out, d);
    if (v == ACTION_ALREADY) {
        *already = true;
        return LC_OK;
    }
    e = engine_ping(o->engine, d);
    if (e == LC_OK)
        e = ops_take_lease(o, out->id, out, d);
    if (e != LC_OK)
        return e;
    v = lc_action_check(a, out->status);
    if (v != ACTION_ALLOWED) {
        store_lease_release(o->store, out->id, NULL);
        *already = v == ACTION_ALREADY;
        return v == ACTION_ALREADY ? LC_OK : not_allowed(a, out, d);
    }
    char detail[600];
    return run_locked(o, a, detail_for(a, opt, detail, sizeof detail), out, d);
}
