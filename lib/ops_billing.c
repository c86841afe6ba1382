/*
 * Billing events applied to instances (DESIGN §4): idempotent by event id,
 * stale events recorded but not applied (terminate always applies), busy
 * instances refused so the sender retries.
 */
#include "ops_internal.h"

#include <stdio.h>
#include <string.h>

const char *lc_billing_outcome_name(lc_billing_outcome o)
{
    switch (o) {
    case BILLING_OUT_APPLIED:
        return "applied";
    case BILLING_OUT_NOOP:
        return "noop";
    case BILLING_OUT_STALE:
        return "stale";
    case BILLING_OUT_IGNORED:
        return "ignored";
    case BILLING_OUT_DUPLICATE:
        return "duplicate";
    }
    return "ignored";
}

static lc_action_id action_for(lc_billing_kind k)
{
    return k == BILLING_HOLD ? ACT_SUSPEND : k == BILLING_RELEASE ? ACT_UNSUSPEND : ACT_TERMINATE;
}

static lc_err record(lc_ops *o, const lc_billing_event *ev, const char *instance,
                     lc_billing_outcome outcome, const char *why, lc_diag *d)
{
    lc_billing_record r = {.id = ev->id,
                           .type = ev->type,
                           .instance_id = instance,
                           .created = ev->created,
                           .outcome = lc_billing_outcome_name(outcome),
                           .detail = why};
    return store_billing_record(o->store, &r, d);
}

/* Why this event changes nothing for the instance as it is, or NULL when it applies. */
static const char *noop_reason(const lc_billing_event *ev, const lc_instance *in)
{
    if (in->status == INSTANCE_TERMINATED)
        return "instance is terminated";
    if (ev->kind == BILLING_HOLD && in->status == INSTANCE_SUSPENDED && in->hold_billing)
        return "billing hold already set";
    if (ev->kind == BILLING_RELEASE && !(in->status == INSTANCE_SUSPENDED && in->hold_billing))
        return "no billing hold to clear";
    return NULL;
}

static lc_err busy(const lc_instance *in, time_t now, lc_diag *d)
{
    if (in->status == INSTANCE_CREATING || in->status == INSTANCE_UPDATING)
        return lc_fail(d, LC_EBUSY, "instance %s is %s; retry later", in->name,
                       instance_status_name(in->status));
    if (lc_lease_live(in, now))
        return lc_fail(d, LC_EBUSY, "instance %s is busy (pid %ld holds its lease); retry later",
                       in->name, in->lease.pid);
    return LC_OK;
}

static lc_err stale(lc_ops *o, const lc_billing_event *ev, const lc_instance *in, bool *is_stale,
                    lc_diag *d)
{
    time_t last = 0;
    *is_stale = false;
    if (ev->kind == BILLING_TERMINATE || ev->created == 0)
        return LC_OK;
    lc_err e = store_billing_last_applied(o->store, in->id, &last, d);
    *is_stale = e == LC_OK && ev->created < last;
    return e;
}

/* Applies the event under the instance's lease; the id is stored with the change. */
static lc_err apply(lc_ops *o, const lc_billing_event *ev, lc_instance *in,
                    lc_billing_outcome *outcome, char *detail, size_t len, lc_diag *d)
{
    bool recovered = false;
    lc_err e = ops_use_host(o, in, d);
    if (e == LC_OK)
        e = engine_ping(o->engine, d);
    if (e == LC_OK)
        e = ops_recover_if_dead(o, in, "billing", &recovered, d);
    if (e == LC_OK)
        e = store_lease_take(o->store, in->id, o->cfg->lease_seconds, in, d);
    if (e != LC_OK)
        return e;
    const char *why = noop_reason(ev, in);
    if (why != NULL || in->status == INSTANCE_CREATING || in->status == INSTANCE_UPDATING) {
        store_lease_release(o->store, in->id, NULL);
        if (why == NULL)
            return busy(in, time(NULL), d);
        *outcome = BILLING_OUT_NOOP;
        snprintf(detail, len, "%s", why);
        return record(o, ev, in->id, BILLING_OUT_NOOP, why, d);
    }
    char hist[400];
    snprintf(hist, sizeof hist, "%s %s", ev->type, ev->id);
    lc_billing_record r = {.id = ev->id,
                           .type = ev->type,
                           .instance_id = in->id,
                           .created = ev->created,
                           .outcome = "applied",
                           .detail = lc_action_id_name(action_for(ev->kind))};
    act_ctx ctx = {.cause = "billing", .detail = hist, .ev = &r, .billing = true};
    lc_action_result res;
    e = ops_locked_action(o, lc_action_get(action_for(ev->kind)), in, &ctx, &res, d);
    *outcome = res.already ? BILLING_OUT_NOOP : BILLING_OUT_APPLIED;
    snprintf(detail, len, "%s%s%s", lc_action_id_name(action_for(ev->kind)),
             res.note[0] ? ": " : "", res.note);
    if (e == LC_OK && res.already)
        return record(o, ev, in->id, BILLING_OUT_NOOP, res.note, d);
    return e;
}

lc_err ops_billing_event(lc_ops *o, const lc_billing_event *ev, lc_billing_outcome *outcome,
                         char *detail, size_t len, lc_instance *out, lc_diag *d)
{
    char seen[16];
    memset(out, 0, sizeof *out);
    detail[0] = '\0';
    lc_err e = store_billing_seen(o->store, ev->id, seen, sizeof seen, d);
    if (e != LC_OK)
        return e;
    if (seen[0] != '\0') {
        *outcome = BILLING_OUT_DUPLICATE;
        snprintf(detail, len, "event %s already handled (%s)", ev->id, seen);
        return LC_OK;
    }
    if (ev->kind == BILLING_IGNORE || ev->instance[0] == '\0') {
        *outcome = BILLING_OUT_IGNORED;
        snprintf(detail, len, "%s",
                 ev->instance[0] ? "event type not acted on" : "no instance id in the event");
        return record(o, ev, ev->instance[0] ? ev->instance : NULL, BILLING_OUT_IGNORED, detail, d);
    }
    if (ev->created == 0 && ev->kind != BILLING_TERMINATE)
        return lc_fail(d, LC_EINPUT,
                       "billing event %s: no \"created\" time, so it cannot be ordered against "
                       "earlier events; refused",
                       ev->id);
    e = store_get(o->store, ev->instance, out, d);
    bool is_stale = false;
    if (e == LC_OK)
        e = stale(o, ev, out, &is_stale, d);
    if (e != LC_OK)
        return e;
    const char *why =
        is_stale ? "older than the last event applied or already in effect" : noop_reason(ev, out);
    if (why != NULL) {
        *outcome = is_stale ? BILLING_OUT_STALE : BILLING_OUT_NOOP;
        snprintf(detail, len, "%s", why);
        return record(o, ev, out->id, *outcome, why, d);
    }
    e = busy(out, time(NULL), d);
    return e != LC_OK ? e : apply(o, ev, out, outcome, detail, len, d);
}
