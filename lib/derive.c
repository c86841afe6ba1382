/*
 * derive_instance_status_from_docker (DESIGN §3): the reconciliation table.
 *
 * The observation is first sorted into one of the table's columns (classify),
 * the observation columns for the next pass are computed (remember: crash-loop
 * window, first-seen time), then one function per status row decides. Two
 * rules cut across the rows: a running/stopped instance whose container
 * restarted LC_CRASH_LOOP_RESTARTS times within the window goes to error and
 * is stopped, and a creating/updating instance past its deadline goes to
 * error whatever the container does. An unknown container state keeps
 * everything else as it is and is noted.
 */
#include "derive.h"

#include <stddef.h>

/* A limit from in->limits, or its default when unset. */
static long limit(const lc_derive_in *in, size_t offset, long fallback)
{
    if (in->limits == NULL)
        return fallback;
    int v = *(const int *)(const void *)((const char *)in->limits + offset);
    return v > 0 ? v : fallback;
}

#define LIMIT(in, field, fallback) limit((in), offsetof(lc_derive_limits, field), (fallback))

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef enum column {
    COL_RUNNING,
    COL_TRANSIENT, /* paused, restarting, removing */
    COL_STOPPED,   /* exited clean, created */
    COL_FAILED,    /* exited with OOMKilled or State.Error, dead */
    COL_MISSING,
    COL_UNKNOWN,
} column;

typedef void row_fn(const lc_derive_in *in, column c, lc_derive_out *out);

__attribute__((format(printf, 3, 4))) static void fmt(char *buf, size_t len, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    vsnprintf(buf, len, f, ap);
    va_end(ap);
}

static column classify(const lc_observation *o)
{
    switch (o->state) {
    case CONTAINER_RUNNING:
        return COL_RUNNING;
    case CONTAINER_PAUSED:
    case CONTAINER_RESTARTING:
    case CONTAINER_REMOVING:
        return COL_TRANSIENT;
    case CONTAINER_CREATED:
        return COL_STOPPED;
    case CONTAINER_EXITED:
        return o->oom_killed || o->error[0] ? COL_FAILED : COL_STOPPED;
    case CONTAINER_DEAD:
        return COL_FAILED;
    case CONTAINER_MISSING:
        return COL_MISSING;
    case CONTAINER_UNKNOWN:
        break;
    }
    return COL_UNKNOWN;
}

static const char *cname(const lc_derive_in *in)
{
    if (in->container_name && in->container_name[0])
        return in->container_name;
    return in->obs->name[0] ? in->obs->name : "(unnamed)";
}

static lc_obs_memory remember(const lc_derive_in *in)
{
    const lc_observation *o = in->obs;
    const lc_obs_memory *p = &in->prev;
    lc_obs_memory m = {.state = o->state, .exit_code = o->exit_code, .observed_at = in->now};
    fmt(m.health, sizeof m.health, "%s", o->health);
    m.first_seen = p->state == o->state && p->first_seen ? p->first_seen : in->now;
    if (o->state == CONTAINER_MISSING)
        return m;
    m.restart_count = o->restart_count;
    if (p->restart_window_start == 0 ||
        in->now - p->restart_window_start >
            LIMIT(in, crash_loop_window_s, LC_CRASH_LOOP_WINDOW_S) ||
        o->restart_count < p->restart_count) {
        m.restart_window_start = in->now;
        m.restart_base = o->restart_count;
    } else {
        m.restart_window_start = p->restart_window_start;
        m.restart_base = p->restart_base;
    }
    return m;
}

static void describe(const lc_derive_in *in, column c, lc_derive_out *out)
{
    const lc_observation *o = in->obs;
    const char *state = container_state_name(o->state);
    if (c == COL_UNKNOWN) {
        fmt(out->reason, sizeof out->reason, "unknown container state \"%s\"", o->state_raw);
        out->note = true;
    } else if (c == COL_TRANSIENT) {
        fmt(out->reason, sizeof out->reason, "container %s (transient)", state);
    } else if (o->state == CONTAINER_EXITED) {
        fmt(out->reason, sizeof out->reason, "container exited with code %d%s", o->exit_code,
            o->oom_killed ? " (OOMKilled)" : "");
    } else if (c == COL_MISSING) {
        fmt(out->reason, sizeof out->reason, "container %s not found", cname(in));
    } else {
        fmt(out->reason, sizeof out->reason, "container %s", state);
    }
}

static void change(lc_derive_out *out, InstanceStatus to)
{
    out->verdict = VERDICT_CHANGE;
    out->status = to;
}

__attribute__((format(printf, 2, 3))) static void to_error(lc_derive_out *out, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    vsnprintf(out->error_message, sizeof out->error_message, f, ap);
    va_end(ap);
    change(out, INSTANCE_ERROR);
    out->set_message = true;
    fmt(out->reason, sizeof out->reason, "%s", out->error_message);
}

static void failed_error(const lc_derive_in *in, lc_derive_out *out)
{
    const lc_observation *o = in->obs;
    if (o->state == CONTAINER_DEAD) {
        if (o->error[0])
            to_error(out, "container %s dead: %s", cname(in), o->error);
        else
            to_error(out, "container %s dead", cname(in));
        out->needs_confirm = true;
    } else if (o->oom_killed) {
        to_error(out, "container %s exited: OOMKilled", cname(in));
    } else {
        to_error(out, "container %s exited: %s", cname(in), o->error);
    }
}

static void missing_error(const lc_derive_in *in, lc_derive_out *out)
{
    to_error(out, "container %s not found", cname(in));
    out->needs_confirm = true;
}

/*
 * A kept row whose container is gone: the message names it. Not when a
 * failed or interrupted operation wrote the message (DESIGN §2: it stays
 * until an operator acts): that one says why the row is what it is ("create
 * interrupted at step S"), which an operator cannot learn elsewhere, while
 * the container state is the observation `show` prints beside it. Noted
 * when the container is newly seen missing.
 */
static void note_missing(const lc_derive_in *in, lc_derive_out *out)
{
    if (in->error_from_op && in->error_message && in->error_message[0]) {
        out->note = in->prev.state != CONTAINER_MISSING;
        fmt(out->reason, sizeof out->reason,
            "container %s not found; message kept (written by an operation): %s", cname(in),
            in->error_message);
        return;
    }
    char msg[sizeof out->error_message];
    fmt(msg, sizeof msg, "container %s not found", cname(in));
    if (in->error_message && strcmp(in->error_message, msg) == 0)
        return;
    memcpy(out->error_message, msg, sizeof msg);
    out->set_message = true;
    out->note = true;
}

static bool stuck_removing(const lc_derive_in *in, lc_derive_out *out)
{
    if (in->obs->state != CONTAINER_REMOVING ||
        in->now - out->next.first_seen <= LIMIT(in, removing_grace_s, LC_REMOVING_GRACE_S))
        return false;
    to_error(out, "container %s stuck in removing", cname(in));
    return true;
}

static bool crash_loop(const lc_derive_in *in, column c, lc_derive_out *out)
{
    int rise = in->obs->restart_count - out->next.restart_base;
    if (c == COL_MISSING || c == COL_UNKNOWN ||
        rise < LIMIT(in, crash_loop_restarts, LC_CRASH_LOOP_RESTARTS))
        return false;
    to_error(out, "crash loop: restarted %d times in %lld s", rise,
             (long long)(in->now - out->next.restart_window_start));
    out->enforce = ENFORCE_STOP;
    return true;
}

static void row_running(const lc_derive_in *in, column c, lc_derive_out *out)
{
    if (crash_loop(in, c, out))
        return;
    switch (c) {
    case COL_TRANSIENT:
        out->note = !stuck_removing(in, out);
        break;
    case COL_STOPPED:
        change(out, INSTANCE_STOPPED);
        break;
    case COL_FAILED:
        failed_error(in, out);
        break;
    case COL_MISSING:
        missing_error(in, out);
        break;
    case COL_RUNNING:
    case COL_UNKNOWN:
        break;
    }
}

static void row_stopped(const lc_derive_in *in, column c, lc_derive_out *out)
{
    if (crash_loop(in, c, out))
        return;
    switch (c) {
    case COL_RUNNING:
        change(out, INSTANCE_RUNNING);
        break;
    case COL_TRANSIENT:
        stuck_removing(in, out);
        break;
    case COL_FAILED:
        failed_error(in, out);
        break;
    case COL_MISSING:
        missing_error(in, out);
        break;
    case COL_STOPPED:
    case COL_UNKNOWN:
        break;
    }
}

static void row_error(const lc_derive_in *in, column c, lc_derive_out *out)
{
    if (c == COL_MISSING) {
        note_missing(in, out);
        return;
    }
    if (c != COL_RUNNING)
        return;
    if (in->error_from_op) {
        out->note = true;
        fmt(out->reason, sizeof out->reason,
            "container running, but the error was written by a failed operation: an operator "
            "clears it");
        return;
    }
    time_t up = in->obs->started_at ? in->now - in->obs->started_at : 0;
    if (up < LIMIT(in, error_recovery_up_s, LC_ERROR_RECOVERY_UP_S)) {
        fmt(out->reason, sizeof out->reason, "container up %lld s, recovery after %ld s",
            (long long)up, LIMIT(in, error_recovery_up_s, LC_ERROR_RECOVERY_UP_S));
        return;
    }
    change(out, INSTANCE_RUNNING);
    out->set_message = true;
    fmt(out->reason, sizeof out->reason, "container up %lld s, error cleared", (long long)up);
}

static void row_suspended(const lc_derive_in *in, column c, lc_derive_out *out)
{
    if (c == COL_MISSING) {
        note_missing(in, out);
    } else if (c == COL_RUNNING) {
        out->verdict = VERDICT_ENFORCE;
        out->enforce = ENFORCE_STOP;
        fmt(out->reason, sizeof out->reason, "container running while suspended: stop it");
    }
}

static void row_maintenance(const lc_derive_in *in, column c, lc_derive_out *out)
{
    if (c == COL_MISSING)
        note_missing(in, out);
}

static void row_busy(const lc_derive_in *in, column c, lc_derive_out *out)
{
    const lc_observation *o = in->obs;
    if (in->op_deadline && in->now >= in->op_deadline) {
        if (in->op_step && in->op_step[0])
            to_error(out, "timed out at step %s", in->op_step);
        else
            to_error(out, "timed out");
        return;
    }
    /*
     * A create whose process died with a step in flight may not have made
     * the Odoo database: running would be a status nobody earned.
     */
    if (in->status == INSTANCE_CREATING && !in->lease_live && in->op_step && in->op_step[0]) {
        to_error(out, "create interrupted at step %s", in->op_step);
        return;
    }
    if (c != COL_RUNNING)
        return;
    if (o->health[0] && strcmp(o->health, "healthy") != 0) {
        fmt(out->reason, sizeof out->reason, "container running, health %s", o->health);
    } else if (in->lease_live) {
        fmt(out->reason, sizeof out->reason, "container running, operation in flight");
    } else {
        change(out, in->status == INSTANCE_CREATING ? INSTANCE_RUNNING : in->previous_status);
        fmt(out->reason, sizeof out->reason, "container running%s, no operation in flight",
            o->health[0] ? " and healthy" : "");
    }
}

static void row_terminated(const lc_derive_in *in, column c, lc_derive_out *out)
{
    if (c == COL_MISSING || c == COL_UNKNOWN)
        return;
    out->verdict = VERDICT_ENFORCE;
    out->enforce = ENFORCE_REMOVE;
    fmt(out->reason, sizeof out->reason, "leftover container %s: remove it",
        container_state_name(in->obs->state));
}

static row_fn *const rows[INSTANCE_STATUS_COUNT] = {
    [INSTANCE_CREATING] = row_busy,
    [INSTANCE_RUNNING] = row_running,
    [INSTANCE_STOPPED] = row_stopped,
    [INSTANCE_SUSPENDED] = row_suspended,
    [INSTANCE_MAINTENANCE] = row_maintenance,
    [INSTANCE_UPDATING] = row_busy,
    [INSTANCE_ERROR] = row_error,
    [INSTANCE_TERMINATED] = row_terminated,
};

void derive_instance_status_from_docker(const lc_derive_in *in, lc_derive_out *out)
{
    static const lc_observation gone = {.state = CONTAINER_MISSING};
    lc_derive_in d = *in;
    if (!d.obs)
        d.obs = &gone;
    column c = classify(d.obs);

    memset(out, 0, sizeof *out);
    out->verdict = VERDICT_KEEP;
    out->status = d.status;
    out->enforce = ENFORCE_NONE;
    out->next = remember(&d);
    describe(&d, c, out);
    if ((unsigned)d.status < INSTANCE_STATUS_COUNT)
        rows[d.status](&d, c, out);
}

const char *lc_verdict_name(lc_verdict v)
{
    switch (v) {
    case VERDICT_KEEP:
        return "keep";
    case VERDICT_CHANGE:
        return "change";
    case VERDICT_ENFORCE:
        return "enforce";
    }
    return "?";
}
