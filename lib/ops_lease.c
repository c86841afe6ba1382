/*
 * The one lease path (DESIGN §2, §5): resolve the instance, finish or roll
 * back an operation whose holder died, take the lease, record the
 * operation, keep the lease alive, run the action's handler, and write
 * outcome, history and release in one transaction at one exit point
 * (ops_conclude). Every action, billing event and create goes through it.
 */
#include "ops_internal.h"

#include <stdio.h>
#include <string.h>

lc_err ops_not_allowed(const lc_ops *o, const char *action, const lc_instance *in, lc_diag *d)
{
    char allowed[256];
    if (lc_allowed_actions(o->cfg, in->status, ", ", allowed, sizeof allowed) == 0)
        snprintf(allowed, sizeof allowed, "none");
    return lc_fail(d, LC_ENOTALLOWED, "cannot %s instance %s: its status is %s (allowed: %s)",
                   action, in->name, instance_status_name(in->status), allowed);
}

lc_err ops_checkpoint(lc_ops *o, lc_instance *in, act_ctx *ctx, lc_diag *d)
{
    lc_outcome w = {.from = ctx->saved, .cause = ctx->cause, .detail = ctx->detail, .ev = ctx->ev};
    lc_err e = store_write_outcome(o->store, in, &w, d);
    if (e == LC_OK) {
        ctx->saved = in->status;
        ctx->ev = NULL;
    }
    return e;
}

/* Whether the journal names objects a cleanup may still have to deal with. */
static bool has_objects(const lc_op_journal *j)
{
    return j->old_container[0] || j->aside_name[0] || j->new_volume[0] || j->old_volume[0] ||
           j->new_host[0] || lc_journal_makes_row(j) || j->kind == ACT_TERMINATE;
}

/*
 * The one exit point. An interrupted operation is rolled back (or finished)
 * as one whose holder died; a failed one has its leftovers cleaned with the
 * status its handler chose; then the row, its history and the lease release
 * are written in one transaction. When Docker could not be asked, a journal
 * with objects stays for the next command or reconcile pass to finish.
 */
lc_err ops_conclude(lc_ops *o, lc_instance *in, act_ctx *ctx, lc_err e, lc_diag *d)
{
    char why[sizeof d->msg];
    snprintf(why, sizeof why, "%s", e == LC_OK || e == LC_EINTR ? "" : d->msg);
    lc_diag rd = {{0}};
    lc_err re = LC_OK;
    int sig = lc_interrupted;
    bool switched = in->op.switched;
    if (e == LC_EINTR) {
        /* the rollback's own Docker calls must run: a second signal stops it, the first not */
        lc_interrupt_clear();
        re = ops_recover(o, in, true, "", &rd);
        if (lc_interrupted == 0)
            lc_interrupted = sig != 0 ? sig : SIGINT;
    } else if (e != LC_OK && e != LC_EENGINE && has_objects(&in->op))
        re = ops_recover_cleanup(o, in, &rd);
    bool keep_journal = (e == LC_EENGINE || re != LC_OK) && has_objects(&in->op);
    if (!keep_journal) {
        in->op = (lc_op_journal){.kind = ACT_NONE, .from = -1};
        in->op_step[0] = '\0';
        in->op_deadline = 0;
    }
    char detail[900];
    snprintf(detail, sizeof detail, "%s%s%s", ctx->detail != NULL ? ctx->detail : "",
             ctx->note[0] && ctx->detail != NULL ? ": " : "", ctx->note);
    lc_outcome w = {.from = ctx->saved,
                    .cause = ctx->cause,
                    .detail = detail,
                    .release = true,
                    .history = ctx->record && e == LC_OK,
                    .ev = ctx->ev};
    lc_diag sd;
    lc_err se = store_write_outcome(o->store, in, &w, &sd);
    if (e == LC_EINTR)
        return lc_fail(d, LC_EINTR, "%s: interrupted by signal %d; %s", in->name,
                       (int)lc_interrupted,
                       re != LC_OK ? "left for the next command to finish"
                       : switched  ? "finished"
                                   : "rolled back");
    if (se != LC_OK && e == LC_OK)
        return lc_fail(d, se, "%s", sd.msg);
    return e;
}

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
    if (a->id == ACT_SUSPEND && in->status == INSTANCE_SUSPENDED && hold)
        snprintf(res->note, sizeof res->note, "already suspended (%s hold)", side);
    else if (a->id == ACT_UNSUSPEND && in->status == INSTANCE_SUSPENDED && !hold)
        snprintf(res->note, sizeof res->note, "no %s hold to clear; still suspended by the %s hold",
                 side, billing ? "operator" : "billing");
    else if (a->id == ACT_END_MAINTENANCE && in->status != INSTANCE_MAINTENANCE &&
             in->status != INSTANCE_TERMINATED && in->status != INSTANCE_UPDATING &&
             in->status != INSTANCE_CREATING)
        snprintf(res->note, sizeof res->note, "not in maintenance");
    else if (lc_action_check(a, in->status) == ACTION_ALREADY)
        snprintf(res->note, sizeof res->note, "already %s%s",
                 in->status == INSTANCE_MAINTENANCE ? "in " : "", instance_status_name(in->status));
    else
        return false;
    res->already = true;
    return true;
}

/* The handler's verdict as the caller reports it. */
static lc_err outcome(const lc_action *a, const lc_instance *in, lc_err e, lc_diag *d)
{
    if (e == LC_OK || e == LC_EINTR || e == LC_EENGINE || e == LC_EUSAGE || e == LC_ENOTFOUND ||
        e == LC_EINPUT || e == LC_ESTORE || e == LC_EBUSY)
        return e;
    return lc_prefix(d, LC_EFAILED, "%s %s", lc_action_name(a), in->name);
}

lc_err ops_locked_action(lc_ops *o, const lc_action *a, lc_instance *in, act_ctx *ctx,
                         lc_action_result *res, lc_diag *d)
{
    memset(res, 0, sizeof *res);
    if (nothing_to_do(a, in, ctx->billing, res)) {
        store_lease_release(o->store, in->id, NULL);
        return LC_OK;
    }
    if (lc_action_check(a, in->status) != ACTION_ALLOWED) {
        store_lease_release(o->store, in->id, NULL);
        return ops_not_allowed(o, lc_action_name(a), in, d);
    }
    const char *unmet = lc_action_unmet(a, o->cfg);
    if (unmet != NULL) {
        store_lease_release(o->store, in->id, NULL);
        return lc_fail(d, LC_EUSAGE, "%s %s: %s", lc_action_name(a), in->name, unmet);
    }
    ctx->saved = in->status;
    in->op = (lc_op_journal){.kind = a->id, .from = (int)in->status};
    lc_err e = ops_step(o, in, "begin", d);
    if (e != LC_OK) {
        store_lease_release(o->store, in->id, NULL);
        return e;
    }
    ops_keepalive k;
    ops_keepalive_start(o, in->id, &k);
    e = a->run(o, in, ctx, res, d);
    /* a signal that cut a step short, even the removal of the old objects after the switch
     * (which a handler may not report): the operation is finished or rolled back as recorded */
    if (e != LC_EINTR && lc_interrupt_pending() && (e != LC_OK || in->op.switched))
        e = LC_EINTR;
    e = ops_conclude(o, in, ctx, e, d);
    ops_keepalive_stop(&k);
    return outcome(a, in, e, d);
}

static const char *detail_for(const lc_action *a, const lc_action_options *opt, char *buf,
                              size_t len)
{
    if (opt != NULL && opt->reason != NULL && opt->reason[0] != '\0')
        snprintf(buf, len, "%s: %s", lc_action_name(a), opt->reason);
    else
        snprintf(buf, len, "%s", lc_action_name(a));
    return buf;
}

lc_err ops_run_action(lc_ops *o, const char *ref, lc_action_id id, const lc_action_options *opt,
                      lc_instance *out, lc_action_result *res, lc_diag *d)
{
    const lc_action *a = lc_action_get(id);
    memset(res, 0, sizeof *res);
    if (a == NULL)
        return lc_fail(d, LC_EUSAGE, "no such action");
    lc_err e = store_resolve(o->store, ref, out, d);
    bool recovered = false;
    if (e == LC_OK)
        e = ops_use_host(o, out, d);
    if (e == LC_OK)
        e = ops_recover_if_dead(o, out, "action", &recovered, d);
    if (e != LC_OK)
        return e;
    if (nothing_to_do(a, out, false, res))
        return LC_OK;
    if (lc_action_check(a, out->status) == ACTION_NOT_ALLOWED)
        return ops_not_allowed(o, lc_action_name(a), out, d);
    if (id == ACT_UPDATE && (e = ops_update_check(out, opt, res, d)) != LC_OK)
        return e;
    if (id == ACT_MOVE && (e = ops_move_check(o, out, opt, res, d)) != LC_OK)
        return e;
    if (res->already)
        return LC_OK;
    e = engine_ping(o->engine, d);
    if (e == LC_OK)
        e = ops_take_lease(o, out->id, out, d);
    if (e != LC_OK)
        return e;
    char detail[600];
    act_ctx ctx = {
        .cause = "action", .detail = detail_for(a, opt, detail, sizeof detail), .opt = opt};
    e = ops_locked_action(o, a, out, &ctx, res, d);
    ops_use_host(o, out, NULL); /* a move changed it */
    lc_instance now;
    if (store_get(o->store, out->id, &now, NULL) == LC_OK)
        *out = now;
    return e;
}
