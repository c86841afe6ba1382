/*
 * derive_instance_status_from_docker: one case per cell of the DESIGN §3
 * table (8 statuses x 11 container observations), then the rules around it:
 * crash loop, removing grace, error recovery, operation deadlines, holds,
 * terminated leftovers and the observation columns carried to the next pass.
 */
#include <check.h>
#include <string.h>

#include "derive.h"

#define NOW ((time_t)1780000000)
#define SAME (-1)

enum kind {
    K_RUNNING,
    K_PAUSED,
    K_RESTARTING,
    K_REMOVING,
    K_EXITED,
    K_CREATED,
    K_OOM,
    K_ERROR,
    K_DEAD,
    K_MISSING,
    K_UNKNOWN,
    K_COUNT
};

static const char *const kind_names[K_COUNT] = {
    "running",    "paused",       "restarting", "removing", "exited clean", "created",
    "exited OOM", "exited Error", "dead",       "missing",  "unknown",
};

typedef struct fixture {
    lc_observation obs;
    lc_derive_in in;
    lc_derive_out out;
} fixture;

static void observe(lc_observation *o, enum kind k)
{
    static const lc_container_state states[K_COUNT] = {
        CONTAINER_RUNNING, CONTAINER_PAUSED,  CONTAINER_RESTARTING, CONTAINER_REMOVING,
        CONTAINER_EXITED,  CONTAINER_CREATED, CONTAINER_EXITED,     CONTAINER_EXITED,
        CONTAINER_DEAD,    CONTAINER_MISSING, CONTAINER_UNKNOWN,
    };
    memset(o, 0, sizeof *o);
    o->state = states[k];
    if (k == K_MISSING)
        return;
    strcpy(o->name, "odoo_x");
    strcpy(o->state_raw, k == K_UNKNOWN ? "hibernating" : container_state_name(o->state));
    o->started_at = NOW - 3600;
    o->exit_code = k == K_EXITED ? 3 : k == K_OOM ? 137 : k == K_ERROR ? 127 : 0;
    o->oom_killed = k == K_OOM;
    if (k == K_ERROR)
        strcpy(o->error, "OCI runtime exec failed");
}

/* A row in status s whose container is observed as k, seen the same way a minute ago. */
static void setup(fixture *f, InstanceStatus s, enum kind k)
{
    memset(f, 0, sizeof *f);
    observe(&f->obs, k);
    f->in.status = s;
    f->in.previous_status = INSTANCE_RUNNING;
    f->in.hold_billing = f->in.hold_operator = s == INSTANCE_SUSPENDED;
    f->in.op_deadline = NOW + 300;
    /* a creating row whose operation left no step: the design's promotion case */
    f->in.op_step = s == INSTANCE_CREATING ? NULL : "start";
    f->in.container_name = "odoo_x";
    f->in.error_message = "boom";
    f->in.obs = &f->obs;
    f->in.prev.state = f->obs.state;
    f->in.prev.first_seen = NOW - 60;
    f->in.prev.observed_at = NOW - 60;
    f->in.prev.restart_window_start = NOW - 100;
    f->in.now = NOW;
}

static lc_derive_out *run(fixture *f)
{
    memset(&f->out, 0x5a, sizeof f->out);
    derive_instance_status_from_docker(&f->in, &f->out);
    return &f->out;
}

/* One more pass: the observation columns stored by the last one become prev. */
static lc_derive_out *pass(fixture *f, time_t now, int restart_count)
{
    f->in.now = now;
    f->obs.restart_count = restart_count;
    run(f);
    f->in.prev = f->out.next;
    return &f->out;
}

typedef struct expect {
    lc_verdict verdict;
    int status; /* SAME: the row's status */
    lc_enforcement enforce;
    const char *message; /* NULL: set_message false; else set_message and this exact text */
    bool confirm;
    bool note; /* checked for keeps only */
} expect;

#define KEEP                                                                                       \
    {                                                                                              \
        VERDICT_KEEP, SAME, ENFORCE_NONE, NULL, false, false                                       \
    }
#define NOTED                                                                                      \
    {                                                                                              \
        VERDICT_KEEP, SAME, ENFORCE_NONE, NULL, false, true                                        \
    }
#define NOTED_MSG(m)                                                                               \
    {                                                                                              \
        VERDICT_KEEP, SAME, ENFORCE_NONE, m, false, true                                           \
    }
#define TO(s)                                                                                      \
    {                                                                                              \
        VERDICT_CHANGE, s, ENFORCE_NONE, NULL, false, false                                        \
    }
#define TO_MSG(s, m)                                                                               \
    {                                                                                              \
        VERDICT_CHANGE, s, ENFORCE_NONE, m, false, false                                           \
    }
#define ERR(m, c)                                                                                  \
    {                                                                                              \
        VERDICT_CHANGE, INSTANCE_ERROR, ENFORCE_NONE, m, c, false                                  \
    }
#define ENF(e)                                                                                     \
    {                                                                                              \
        VERDICT_ENFORCE, SAME, e, NULL, false, false                                               \
    }

#define OOM_MSG "container odoo_x exited: OOMKilled"
#define ERR_MSG "container odoo_x exited: OCI runtime exec failed"
#define DEAD_MSG "container odoo_x dead"
#define GONE_MSG "container odoo_x not found"

/* Columns in enum kind order; the deadline (NOW + 300) has not passed. */
static const expect table[INSTANCE_STATUS_COUNT][K_COUNT] = {
    [INSTANCE_RUNNING] = {KEEP, NOTED, NOTED, NOTED, TO(INSTANCE_STOPPED), TO(INSTANCE_STOPPED),
                          ERR(OOM_MSG, false), ERR(ERR_MSG, false), ERR(DEAD_MSG, true),
                          ERR(GONE_MSG, true), NOTED},
    [INSTANCE_STOPPED] = {TO(INSTANCE_RUNNING), KEEP, KEEP, KEEP, KEEP, KEEP, ERR(OOM_MSG, false),
                          ERR(ERR_MSG, false), ERR(DEAD_MSG, true), ERR(GONE_MSG, true), NOTED},
    [INSTANCE_ERROR] = {TO_MSG(INSTANCE_RUNNING, ""), KEEP, KEEP, KEEP, KEEP, KEEP, KEEP, KEEP,
                        KEEP, NOTED_MSG(GONE_MSG), NOTED},
    [INSTANCE_SUSPENDED] = {ENF(ENFORCE_STOP), KEEP, KEEP, KEEP, KEEP, KEEP, KEEP, KEEP, KEEP,
                            NOTED_MSG(GONE_MSG), NOTED},
    [INSTANCE_MAINTENANCE] = {KEEP, KEEP, KEEP, KEEP, KEEP, KEEP, KEEP, KEEP, KEEP,
                              NOTED_MSG(GONE_MSG), NOTED},
    [INSTANCE_CREATING] = {TO(INSTANCE_RUNNING), KEEP, KEEP, KEEP, KEEP, KEEP, KEEP, KEEP, KEEP,
                           KEEP, NOTED},
    [INSTANCE_UPDATING] = {TO(INSTANCE_RUNNING), KEEP, KEEP, KEEP, KEEP, KEEP, KEEP, KEEP, KEEP,
                           KEEP, NOTED},
    [INSTANCE_TERMINATED] = {ENF(ENFORCE_REMOVE), ENF(ENFORCE_REMOVE), ENF(ENFORCE_REMOVE),
                             ENF(ENFORCE_REMOVE), ENF(ENFORCE_REMOVE), ENF(ENFORCE_REMOVE),
                             ENF(ENFORCE_REMOVE), ENF(ENFORCE_REMOVE), ENF(ENFORCE_REMOVE), KEEP,
                             NOTED},
};

START_TEST(test_cell)
{
    InstanceStatus s = (InstanceStatus)(_i / K_COUNT);
    enum kind k = (enum kind)(_i % K_COUNT);
    const expect *e = &table[s][k];
    const char *row = instance_status_name(s), *col = kind_names[k];
    fixture f;
    setup(&f, s, k);
    lc_derive_out *o = run(&f);

    ck_assert_msg(o->verdict == e->verdict, "%s/%s: verdict %s, want %s", row, col,
                  lc_verdict_name(o->verdict), lc_verdict_name(e->verdict));
    InstanceStatus want = e->status == SAME ? s : (InstanceStatus)e->status;
    ck_assert_msg(o->status == want, "%s/%s: status %s, want %s", row, col,
                  instance_status_name(o->status), instance_status_name(want));
    ck_assert_msg(o->enforce == e->enforce, "%s/%s: enforce %d", row, col, (int)o->enforce);
    ck_assert_msg(o->set_message == (e->message != NULL), "%s/%s: set_message %d", row, col,
                  o->set_message);
    if (e->message)
        ck_assert_msg(strcmp(o->error_message, e->message) == 0, "%s/%s: message \"%s\"", row, col,
                      o->error_message);
    ck_assert_msg(o->needs_confirm == e->confirm, "%s/%s: needs_confirm %d", row, col,
                  o->needs_confirm);
    if (e->verdict == VERDICT_KEEP)
        ck_assert_msg(o->note == e->note, "%s/%s: note %d", row, col, o->note);
    ck_assert_msg(o->reason[0] && strlen(o->reason) < sizeof o->reason, "%s/%s: reason", row, col);
    ck_assert_int_eq(o->next.observed_at, NOW);
    ck_assert_int_eq(o->next.state, f.obs.state);
}
END_TEST

/* ---- crash loop ---- */

static void crash_setup(fixture *f, InstanceStatus s, enum kind k, int count)
{
    setup(f, s, k);
    f->in.prev.restart_window_start = NOW - 300;
    f->in.prev.restart_base = 10;
    f->in.prev.restart_count = 12;
    f->obs.restart_count = count;
}

START_TEST(test_crash_below_limit)
{
    fixture f;
    crash_setup(&f, INSTANCE_RUNNING, K_RUNNING, 14);
    lc_derive_out *o = run(&f);
    ck_assert_int_eq(o->verdict, VERDICT_KEEP);
    ck_assert_int_eq(o->enforce, ENFORCE_NONE);
    ck_assert_int_eq(o->next.restart_base, 10);
    ck_assert_int_eq(o->next.restart_window_start, NOW - 300);
    ck_assert_int_eq(o->next.restart_count, 14);
}
END_TEST

START_TEST(test_crash_at_limit)
{
    fixture f;
    crash_setup(&f, INSTANCE_RUNNING, K_RUNNING, 15);
    lc_derive_out *o = run(&f);
    ck_assert_int_eq(o->verdict, VERDICT_CHANGE);
    ck_assert_int_eq(o->status, INSTANCE_ERROR);
    ck_assert_int_eq(o->enforce, ENFORCE_STOP);
    ck_assert(o->set_message);
    ck_assert_str_eq(o->error_message, "crash loop: restarted 5 times in 300 s");
    ck_assert(!o->needs_confirm);
}
END_TEST

START_TEST(test_crash_past_limit)
{
    fixture f;
    crash_setup(&f, INSTANCE_RUNNING, K_RESTARTING, 16);
    lc_derive_out *o = run(&f);
    ck_assert_int_eq(o->status, INSTANCE_ERROR);
    ck_assert_int_eq(o->enforce, ENFORCE_STOP);
    ck_assert_str_eq(o->error_message, "crash loop: restarted 6 times in 300 s");
}
END_TEST

START_TEST(test_crash_stopped_status)
{
    fixture f;
    crash_setup(&f, INSTANCE_STOPPED, K_EXITED, 15);
    lc_derive_out *o = run(&f);
    ck_assert_int_eq(o->status, INSTANCE_ERROR);
    ck_assert_int_eq(o->enforce, ENFORCE_STOP);
}
END_TEST

START_TEST(test_crash_only_running_stopped)
{
    static const InstanceStatus others[] = {INSTANCE_ERROR, INSTANCE_SUSPENDED,
                                            INSTANCE_MAINTENANCE, INSTANCE_CREATING};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        fixture f;
        crash_setup(&f, others[i], K_RESTARTING, 20);
        lc_derive_out *o = run(&f);
        ck_assert_int_eq(o->verdict, VERDICT_KEEP);
        ck_assert_int_eq(o->enforce, ENFORCE_NONE);
    }
}
END_TEST

START_TEST(test_crash_unknown_state_keeps)
{
    fixture f;
    crash_setup(&f, INSTANCE_RUNNING, K_UNKNOWN, 20);
    lc_derive_out *o = run(&f);
    ck_assert_int_eq(o->verdict, VERDICT_KEEP);
    ck_assert(o->note);
    ck_assert_ptr_nonnull(strstr(o->reason, "hibernating"));
}
END_TEST

START_TEST(test_crash_spread_over_window)
{
    fixture f;
    setup(&f, INSTANCE_RUNNING, K_RUNNING);
    f.in.prev.restart_window_start = 0;
    for (int n = 0; n <= 5; n++) {
        lc_derive_out *o = pass(&f, NOW + 150 * n, n);
        ck_assert_msg(o->verdict == VERDICT_KEEP, "restart %d at +%d s", n, 150 * n);
    }
    ck_assert_int_eq(f.in.prev.restart_window_start, NOW + 750);
    ck_assert_int_eq(f.in.prev.restart_base, 5);
}
END_TEST

START_TEST(test_crash_quick_restarts)
{
    fixture f;
    setup(&f, INSTANCE_RUNNING, K_RESTARTING);
    f.in.prev.restart_window_start = 0;
    for (int n = 0; n < 5; n++)
        ck_assert_int_eq(pass(&f, NOW + 60 * n, n)->verdict, VERDICT_KEEP);
    lc_derive_out *o = pass(&f, NOW + 300, 5);
    ck_assert_int_eq(o->status, INSTANCE_ERROR);
    ck_assert_str_eq(o->error_message, "crash loop: restarted 5 times in 300 s");
}
END_TEST

START_TEST(test_crash_count_reset)
{
    fixture f;
    setup(&f, INSTANCE_RUNNING, K_RUNNING);
    f.in.prev.restart_window_start = NOW - 60;
    f.in.prev.restart_base = 0;
    f.in.prev.restart_count = 20;
    lc_derive_out *o = pass(&f, NOW, 3);
    ck_assert_int_eq(o->verdict, VERDICT_KEEP);
    ck_assert_int_eq(o->next.restart_window_start, NOW);
    ck_assert_int_eq(o->next.restart_base, 3);
    ck_assert_int_eq(pass(&f, NOW + 60, 7)->verdict, VERDICT_KEEP);
    o = pass(&f, NOW + 120, 8);
    ck_assert_int_eq(o->status, INSTANCE_ERROR);
    ck_assert_str_eq(o->error_message, "crash loop: restarted 5 times in 120 s");
}
END_TEST

START_TEST(test_crash_first_observation)
{
    fixture f;
    setup(&f, INSTANCE_RUNNING, K_RUNNING);
    f.in.prev.restart_window_start = 0;
    f.obs.restart_count = 50;
    lc_derive_out *o = run(&f);
    ck_assert_int_eq(o->verdict, VERDICT_KEEP);
    ck_assert_int_eq(o->next.restart_base, 50);
    ck_assert_int_eq(o->next.restart_window_start, NOW);
}
END_TEST

/* ---- removing grace ---- */

START_TEST(test_removing_within_grace)
{
    fixture f;
    setup(&f, INSTANCE_RUNNING, K_REMOVING);
    f.in.prev.first_seen = NOW - LC_REMOVING_GRACE_S;
    lc_derive_out *o = run(&f);
    ck_assert_int_eq(o->verdict, VERDICT_KEEP);
    ck_assert(o->note);
    ck_assert_str_eq(o->reason, "container removing (transient)");
    ck_assert_int_eq(o->next.first_seen, NOW - LC_REMOVING_GRACE_S);
}
END_TEST

START_TEST(test_removing_past_grace)
{
    static const InstanceStatus changed[] = {INSTANCE_RUNNING, INSTANCE_STOPPED};
    for (size_t i = 0; i < 2; i++) {
        fixture f;
        setup(&f, changed[i], K_REMOVING);
        f.in.prev.first_seen = NOW - LC_REMOVING_GRACE_S - 1;
        lc_derive_out *o = run(&f);
        ck_assert_int_eq(o->verdict, VERDICT_CHANGE);
        ck_assert_int_eq(o->status, INSTANCE_ERROR);
        ck_assert(o->set_message);
        ck_assert_str_eq(o->error_message, "container odoo_x stuck in removing");
        ck_assert(!o->needs_confirm);
    }
}
END_TEST

START_TEST(test_removing_past_grace_other_statuses)
{
    static const InstanceStatus kept[] = {INSTANCE_ERROR, INSTANCE_SUSPENDED, INSTANCE_MAINTENANCE};
    for (size_t i = 0; i < 3; i++) {
        fixture f;
        setup(&f, kept[i], K_REMOVING);
        f.in.prev.first_seen = NOW - 5000;
        ck_assert_int_eq(run(&f)->verdict, VERDICT_KEEP);
    }
}
END_TEST

START_TEST(test_removing_newly_seen)
{
    fixture f;
    setup(&f, INSTANCE_RUNNING, K_REMOVING);
    f.in.prev.state = CONTAINER_RUNNING;
    f.in.prev.first_seen = NOW - 5000;
    lc_derive_out *o = run(&f);
    ck_assert_int_eq(o->verdict, VERDICT_KEEP);
    ck_assert_int_eq(o->next.first_seen, NOW);
}
END_TEST

/* ---- error recovery ---- */

static lc_derive_out *error_up(fixture *f, time_t up)
{
    setup(f, INSTANCE_ERROR, K_RUNNING);
    f->obs.started_at = NOW - up;
    return run(f);
}

START_TEST(test_error_up_10s)
{
    fixture f;
    lc_derive_out *o = error_up(&f, 10);
    ck_assert_int_eq(o->verdict, VERDICT_KEEP);
    ck_assert_int_eq(o->status, INSTANCE_ERROR);
    ck_assert(!o->set_message);
}
END_TEST

START_TEST(test_error_up_70s)
{
    fixture f;
    lc_derive_out *o = error_up(&f, 70);
    ck_assert_int_eq(o->verdict, VERDICT_CHANGE);
    ck_assert_int_eq(o->status, INSTANCE_RUNNING);
    ck_assert(o->set_message);
    ck_assert_str_eq(o->error_message, "");
    ck_assert(!o->needs_confirm);
}
END_TEST

START_TEST(test_error_up_exactly_60s)
{
    fixture f;
    ck_assert_int_eq(error_up(&f, LC_ERROR_RECOVERY_UP_S)->status, INSTANCE_RUNNING);
    ck_assert_int_eq(error_up(&f, LC_ERROR_RECOVERY_UP_S - 1)->status, INSTANCE_ERROR);
}
END_TEST

START_TEST(test_error_never_started)
{
    fixture f;
    setup(&f, INSTANCE_ERROR, K_RUNNING);
    f.obs.started_at = 0;
    ck_assert_int_eq(run(&f)->verdict, VERDICT_KEEP);
}
END_TEST

START_TEST(test_error_missing_message_already_noted)
{
    fixture f;
    setup(&f, INSTANCE_ERROR, K_MISSING);
    f.in.error_message = GONE_MSG;
    lc_derive_out *o = run(&f);
    ck_assert_int_eq(o->verdict, VERDICT_KEEP);
    ck_assert(!o->set_message);
    ck_assert(!o->note);
    f.in.error_message = NULL;
    o = run(&f);
    ck_assert(o->set_message);
    ck_assert_str_eq(o->error_message, GONE_MSG);
}
END_TEST

/* A message a failed or interrupted operation wrote is kept when the container is gone (issue 13):
 * the observation is noted once, when it is new, and named in the reason. */
START_TEST(test_error_missing_op_message_kept)
{
    static const InstanceStatus kept[] = {INSTANCE_ERROR, INSTANCE_SUSPENDED, INSTANCE_MAINTENANCE};
    for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++) {
        fixture f;
        setup(&f, kept[i], K_MISSING);
        f.in.error_message = "create interrupted (its process died) at step container";
        f.in.error_from_op = true;
        f.in.prev.state = CONTAINER_UNKNOWN;
        lc_derive_out *o = run(&f);
        ck_assert_int_eq(o->verdict, VERDICT_KEEP);
        ck_assert_int_eq(o->status, kept[i]);
        ck_assert(!o->set_message);
        ck_assert(o->note);
        ck_assert_ptr_nonnull(strstr(o->reason, GONE_MSG));
        ck_assert_ptr_nonnull(strstr(o->reason, "create interrupted"));
        ck_assert_int_eq(o->next.state, CONTAINER_MISSING);
        f.in.prev = o->next;
        o = run(&f);
        ck_assert(!o->set_message);
        ck_assert(!o->note);
    }
}
END_TEST

/* ---- creating / updating ---- */

START_TEST(test_creating_no_lease)
{
    fixture f;
    setup(&f, INSTANCE_CREATING, K_RUNNING);
    lc_derive_out *o = run(&f);
    ck_assert_int_eq(o->verdict, VERDICT_CHANGE);
    ck_assert_int_eq(o->status, INSTANCE_RUNNING);
    ck_assert(!o->set_message);
}
END_TEST

START_TEST(test_creating_live_lease)
{
    fixture f;
    setup(&f, INSTANCE_CREATING, K_RUNNING);
    f.in.lease_live = true;
    lc_derive_out *o = run(&f);
    ck_assert_int_eq(o->verdict, VERDICT_KEEP);
    ck_assert_int_eq(o->status, INSTANCE_CREATING);
}
END_TEST

START_TEST(test_creating_health)
{
    static const struct {
        const char *health;
        InstanceStatus want;
    } cases[] = {
        {"healthy", INSTANCE_RUNNING},
        {"starting", INSTANCE_CREATING},
        {"unhealthy", INSTANCE_CREATING},
    };
    for (size_t i = 0; i < 3; i++) {
        fixture f;
        setup(&f, INSTANCE_CREATING, K_RUNNING);
        strcpy(f.obs.health, cases[i].health);
        lc_derive_out *o = run(&f);
        ck_assert_msg(o->status == cases[i].want, "health %s", cases[i].health);
        ck_assert_str_eq(o->next.health, cases[i].health);
    }
}
END_TEST

START_TEST(test_creating_after_deadline)
{
    fixture f;
    setup(&f, INSTANCE_CREATING, K_RUNNING);
    strcpy(f.obs.health, "healthy");
    f.in.op_deadline = NOW;
    f.in.op_step = "start";
    lc_derive_out *o = run(&f);
    ck_assert_int_eq(o->verdict, VERDICT_CHANGE);
    ck_assert_int_eq(o->status, INSTANCE_ERROR);
    ck_assert(o->set_message);
    ck_assert_str_eq(o->error_message, "timed out at step start");
    ck_assert(!o->needs_confirm);
}
END_TEST

START_TEST(test_creating_after_deadline_no_step)
{
    static const enum kind kinds[] = {K_MISSING, K_UNKNOWN, K_EXITED};
    for (size_t i = 0; i < 3; i++) {
        fixture f;
        setup(&f, INSTANCE_CREATING, kinds[i]);
        f.in.op_deadline = NOW - 1;
        f.in.op_step = i == 0 ? NULL : "";
        lc_derive_out *o = run(&f);
        ck_assert_int_eq(o->status, INSTANCE_ERROR);
        ck_assert_str_eq(o->error_message, "timed out");
    }
}
END_TEST

/* A create whose process died with a step in flight never becomes running by itself. */
START_TEST(test_creating_interrupted)
{
    static const enum kind kinds[] = {K_RUNNING, K_EXITED, K_MISSING};
    for (size_t i = 0; i < 3; i++) {
        fixture f;
        setup(&f, INSTANCE_CREATING, kinds[i]);
        f.in.op_step = "database";
        lc_derive_out *o = run(&f);
        ck_assert_int_eq(o->verdict, VERDICT_CHANGE);
        ck_assert_int_eq(o->status, INSTANCE_ERROR);
        ck_assert_str_eq(o->error_message, "create interrupted at step database");
        f.in.lease_live = true;
        ck_assert_int_eq(run(&f)->verdict, VERDICT_KEEP);
    }
}
END_TEST

START_TEST(test_creating_no_deadline)
{
    fixture f;
    setup(&f, INSTANCE_CREATING, K_MISSING);
    f.in.op_deadline = 0;
    f.in.now = NOW + 1000000;
    ck_assert_int_eq(run(&f)->verdict, VERDICT_KEEP);
}
END_TEST

START_TEST(test_updating_previous_status)
{
    static const InstanceStatus prev[] = {INSTANCE_RUNNING, INSTANCE_STOPPED};
    for (size_t i = 0; i < 2; i++) {
        fixture f;
        setup(&f, INSTANCE_UPDATING, K_RUNNING);
        strcpy(f.obs.health, "healthy");
        f.in.previous_status = prev[i];
        lc_derive_out *o = run(&f);
        ck_assert_int_eq(o->verdict, VERDICT_CHANGE);
        ck_assert_int_eq(o->status, prev[i]);
        ck_assert(!o->set_message);
    }
}
END_TEST

START_TEST(test_updating_lease_and_deadline)
{
    fixture f;
    setup(&f, INSTANCE_UPDATING, K_RUNNING);
    f.in.lease_live = true;
    ck_assert_int_eq(run(&f)->verdict, VERDICT_KEEP);
    f.in.op_deadline = NOW;
    f.in.op_step = "pull";
    lc_derive_out *o = run(&f);
    ck_assert_int_eq(o->status, INSTANCE_ERROR);
    ck_assert_str_eq(o->error_message, "timed out at step pull");
}
END_TEST

/* ---- suspended, terminated ---- */

START_TEST(test_suspended_holds)
{
    static const bool holds[][2] = {{true, true}, {true, false}, {false, true}};
    for (size_t i = 0; i < 3; i++) {
        fixture f;
        setup(&f, INSTANCE_SUSPENDED, K_RUNNING);
        f.in.hold_billing = holds[i][0];
        f.in.hold_operator = holds[i][1];
        lc_derive_out *o = run(&f);
        ck_assert_int_eq(o->verdict, VERDICT_ENFORCE);
        ck_assert_int_eq(o->status, INSTANCE_SUSPENDED);
        ck_assert_int_eq(o->enforce, ENFORCE_STOP);
        ck_assert(!o->set_message);
        setup(&f, INSTANCE_SUSPENDED, K_EXITED);
        f.in.hold_billing = holds[i][0];
        f.in.hold_operator = holds[i][1];
        o = run(&f);
        ck_assert_int_eq(o->verdict, VERDICT_KEEP);
        ck_assert_int_eq(o->enforce, ENFORCE_NONE);
    }
}
END_TEST

START_TEST(test_terminated_leftover)
{
    fixture f;
    setup(&f, INSTANCE_TERMINATED, K_EXITED);
    lc_derive_out *o = run(&f);
    ck_assert_int_eq(o->verdict, VERDICT_ENFORCE);
    ck_assert_int_eq(o->status, INSTANCE_TERMINATED);
    ck_assert_int_eq(o->enforce, ENFORCE_REMOVE);
    ck_assert(!o->set_message);
    ck_assert_str_eq(o->reason, "leftover container exited: remove it");
    setup(&f, INSTANCE_TERMINATED, K_MISSING);
    o = run(&f);
    ck_assert_int_eq(o->verdict, VERDICT_KEEP);
    ck_assert(!o->set_message);
    ck_assert(!o->note);
}
END_TEST

/* ---- observation columns, messages, names ---- */

START_TEST(test_next_memory)
{
    fixture f;
    setup(&f, INSTANCE_RUNNING, K_RUNNING);
    strcpy(f.obs.health, "healthy");
    f.obs.restart_count = 2;
    f.in.prev.restart_count = 2;
    lc_derive_out *o = run(&f);
    ck_assert_int_eq(o->next.state, CONTAINER_RUNNING);
    ck_assert_int_eq(o->next.first_seen, NOW - 60);
    ck_assert_int_eq(o->next.restart_count, 2);
    ck_assert_int_eq(o->next.restart_window_start, NOW - 100);
    ck_assert_str_eq(o->next.health, "healthy");
    ck_assert_int_eq(o->next.observed_at, NOW);

    setup(&f, INSTANCE_RUNNING, K_OOM);
    f.in.prev.state = CONTAINER_RUNNING;
    o = run(&f);
    ck_assert_int_eq(o->next.state, CONTAINER_EXITED);
    ck_assert_int_eq(o->next.exit_code, 137);
    ck_assert_int_eq(o->next.first_seen, NOW);
}
END_TEST

START_TEST(test_exit_code_noted)
{
    fixture f;
    setup(&f, INSTANCE_RUNNING, K_EXITED);
    lc_derive_out *o = run(&f);
    ck_assert_int_eq(o->status, INSTANCE_STOPPED);
    ck_assert_str_eq(o->reason, "container exited with code 3");
    ck_assert(!o->set_message);
}
END_TEST

START_TEST(test_transient_reason)
{
    fixture f;
    setup(&f, INSTANCE_RUNNING, K_PAUSED);
    ck_assert_str_eq(run(&f)->reason, "container paused (transient)");
}
END_TEST

START_TEST(test_dead_with_error)
{
    fixture f;
    setup(&f, INSTANCE_STOPPED, K_DEAD);
    strcpy(f.obs.error, "driver failed");
    lc_derive_out *o = run(&f);
    ck_assert_str_eq(o->error_message, "container odoo_x dead: driver failed");
    ck_assert(o->needs_confirm);
}
END_TEST

START_TEST(test_long_message_truncated)
{
    char name[400];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    fixture f;
    setup(&f, INSTANCE_RUNNING, K_ERROR);
    memset(f.obs.error, 'e', sizeof f.obs.error - 1);
    f.in.container_name = name;
    lc_derive_out *o = run(&f);
    ck_assert_uint_eq(strlen(o->error_message), sizeof o->error_message - 1);
    ck_assert_uint_eq(strlen(o->reason), sizeof o->reason - 1);
    ck_assert(strncmp(o->error_message, "container nnn", 13) == 0);
}
END_TEST

START_TEST(test_name_from_observation)
{
    fixture f;
    setup(&f, INSTANCE_RUNNING, K_DEAD);
    f.in.container_name = NULL;
    ck_assert_str_eq(run(&f)->error_message, DEAD_MSG);
}
END_TEST

START_TEST(test_no_observation_is_missing)
{
    fixture f;
    setup(&f, INSTANCE_RUNNING, K_RUNNING);
    f.in.obs = NULL;
    lc_derive_out *o = run(&f);
    ck_assert_int_eq(o->status, INSTANCE_ERROR);
    ck_assert_str_eq(o->error_message, GONE_MSG);
    ck_assert(o->needs_confirm);
    ck_assert_int_eq(o->next.state, CONTAINER_MISSING);
}
END_TEST

START_TEST(test_verdict_names)
{
    ck_assert_str_eq(lc_verdict_name(VERDICT_KEEP), "keep");
    ck_assert_str_eq(lc_verdict_name(VERDICT_CHANGE), "change");
    ck_assert_str_eq(lc_verdict_name(VERDICT_ENFORCE), "enforce");
}
END_TEST

Suite *suite_derive(void)
{
    Suite *s = suite_create("derive");
    TCase *tc = tcase_create("table");
    tcase_add_loop_test(tc, test_cell, 0, INSTANCE_STATUS_COUNT * K_COUNT);
    suite_add_tcase(s, tc);

    tc = tcase_create("crash loop");
    tcase_add_test(tc, test_crash_below_limit);
    tcase_add_test(tc, test_crash_at_limit);
    tcase_add_test(tc, test_crash_past_limit);
    tcase_add_test(tc, test_crash_stopped_status);
    tcase_add_test(tc, test_crash_only_running_stopped);
    tcase_add_test(tc, test_crash_unknown_state_keeps);
    tcase_add_test(tc, test_crash_spread_over_window);
    tcase_add_test(tc, test_crash_quick_restarts);
    tcase_add_test(tc, test_crash_count_reset);
    tcase_add_test(tc, test_crash_first_observation);
    suite_add_tcase(s, tc);

    tc = tcase_create("rules");
    tcase_add_test(tc, test_removing_within_grace);
    tcase_add_test(tc, test_removing_past_grace);
    tcase_add_test(tc, test_removing_past_grace_other_statuses);
    tcase_add_test(tc, test_removing_newly_seen);
    tcase_add_test(tc, test_error_up_10s);
    tcase_add_test(tc, test_error_up_70s);
    tcase_add_test(tc, test_error_up_exactly_60s);
    tcase_add_test(tc, test_error_never_started);
    tcase_add_test(tc, test_error_missing_message_already_noted);
    tcase_add_test(tc, test_error_missing_op_message_kept);
    tcase_add_test(tc, test_creating_no_lease);
    tcase_add_test(tc, test_creating_live_lease);
    tcase_add_test(tc, test_creating_health);
    tcase_add_test(tc, test_creating_after_deadline);
    tcase_add_test(tc, test_creating_after_deadline_no_step);
    tcase_add_test(tc, test_creating_no_deadline);
    tcase_add_test(tc, test_creating_interrupted);
    tcase_add_test(tc, test_updating_previous_status);
    tcase_add_test(tc, test_updating_lease_and_deadline);
    tcase_add_test(tc, test_suspended_holds);
    tcase_add_test(tc, test_terminated_leftover);
    tcase_add_test(tc, test_next_memory);
    tcase_add_test(tc, test_exit_code_noted);
    tcase_add_test(tc, test_transient_reason);
    tcase_add_test(tc, test_dead_with_error);
    tcase_add_test(tc, test_long_message_truncated);
    tcase_add_test(tc, test_name_from_observation);
    tcase_add_test(tc, test_no_observation_is_missing);
    tcase_add_test(tc, test_verdict_names);
    suite_add_tcase(s, tc);
    return s;
}
