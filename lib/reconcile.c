/*
 * One reconcile pass: ONE container list per Docker host filtered by this
 * store's label (the hosts listed in parallel, each thread with its own
 * engine client; the store stays in the calling thread), then the rows
 * read one at a time (store_list_each), each judged as it comes: inspects
 * only where needed, and only the rows with something left to do kept
 * (issue 12: a steady pass over 10,000 rows holds none of them). Then
 * rows with a dead lease holder are recovered and judged, the status
 * writes go under compare-and-set in one transaction, enforcement under
 * leases, and the listed containers no row claimed are extras or orphans.
 * The rows of a host that did not answer are left untouched. The same
 * per-instance steps (settle, write_instance, enforce_instance) serve
 * watch's one-instance re-derivation (reconcile_instance), on the row's
 * own host.
 */
#include "reconcile.h"

#include "metrics.h"
#include "ops.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#define ENFORCE_LEASE_S 60

/*
 * What the pass keeps of a row after its verdict: only the rows with
 * something left to do (a write, a decision to log, an enforcement). A
 * steady row (a plain keep, same observation) keeps nothing, so 10,000 rows
 * never sit in memory together (issue 12).
 */
typedef struct pending {
    char id[37];
    char name[64];
    char container_id[65];
    char container_name[160];
    InstanceStatus status; /* the row's, before this pass */
    long long version;     /* the row's, for the compare-and-set write */
    size_t host;           /* its index in the pass's hosts */
    lc_derive_out out;
    bool write;    /* the row's status, message or observation columns change */
    bool applied;  /* written (or nothing to write) */
    long decision; /* its line in the report, -1 when none */
} pending;

/* One Docker host's container list, fetched by its own thread. */
typedef struct host_list {
    lc_engine *e; /* borrowed from the pass's lc_ops */
    const char *store_uuid;
    lc_container_summary *cs; /* sorted by id */
    bool *claimed;            /* per cs: it is the container of a row on this host */
    size_t ncs;
    lc_err err;
    lc_diag diag;
    long ms;
    unsigned long requests0;
    pthread_t thread;
    bool started;
} host_list;

#define NO_HOST ((size_t)-1)

/* Row ids the pass comes back to after its scan of the rows. */
typedef struct id_list {
    char (*id)[37];
    size_t n;
} id_list;

typedef struct pass {
    lc_store *s;
    lc_ops ops; /* the engines of every host (ops_engine_for_host), recovery, retries */
    const lc_config *cfg;
    const lc_reconcile_options *opt;
    lc_reconcile_report *r;
    host_list *hl; /* one per host (parallel to r->hosts in a full pass) */
    size_t nhl;
    pending *pend; /* the rows with something left to do */
    size_t npend;
    id_list dead;  /* rows whose lease holder is dead: recovered, then settled */
    id_list final; /* terminated rows whose final backup is pending */
    bool oom;
    time_t now;
    bool inspect_all; /* watch: each row's container is inspected, there is no list */
} pass;

/*
 * Array v of n elements of size bytes with room for one more: v itself, or
 * v grown (doubled when n is 0 or a power of 2); NULL (v intact) when
 * memory runs out.
 */
static void *room(void *v, size_t n, size_t size)
{
    return (n & (n - 1)) != 0 ? v : realloc(v, (n ? n * 2 : 1) * size);
}

static void id_add(pass *p, id_list *l, const char *id)
{
    char(*grown)[37] = room(l->id, l->n, sizeof *l->id);
    if (grown == NULL) {
        p->oom = true;
        return;
    }
    l->id = grown;
    snprintf(l->id[l->n++], sizeof *l->id, "%s", id);
}

/* A new line of the report for instance id (NULL: none), or NULL when memory runs out. */
static lc_decision *add_decision(pass *p, lc_decision_kind kind, const char *id, const char *name,
                                 InstanceStatus status, const char *container)
{
    lc_reconcile_report *r = p->r;
    lc_decision *grown = room(r->decisions, r->n_decisions, sizeof *r->decisions);
    if (grown == NULL)
        return NULL;
    r->decisions = grown;
    lc_decision *dc = &r->decisions[r->n_decisions++];
    memset(dc, 0, sizeof *dc);
    dc->kind = kind;
    if (id != NULL) {
        snprintf(dc->instance, sizeof dc->instance, "%s", id);
        snprintf(dc->name, sizeof dc->name, "%s", name);
        dc->status = dc->to = status;
    }
    snprintf(dc->container, sizeof dc->container, "%s", container != NULL ? container : "");
    return dc;
}

static lc_decision *row_decision(pass *p, lc_decision_kind kind, const lc_instance *in)
{
    return add_decision(p, kind, in->id, in->name, in->status, in->container_name);
}

static int by_id(const void *a, const void *b)
{
    return strcmp(((const lc_container_summary *)a)->id, ((const lc_container_summary *)b)->id);
}

/* The row's index in the pass's hosts, NO_HOST when its host is not one of them. */
static size_t host_index(const pass *p, const lc_instance *in)
{
    if (p->inspect_all)
        return 0;
    const char *host = in->host[0] ? in->host : LC_HOST_LOCAL;
    for (size_t h = 0; h < p->r->n_hosts; h++) {
        if (strcmp(p->r->hosts[h].name, host) == 0)
            return h;
    }
    return NO_HOST;
}

/* Whether host h answered (its rows are judged; the others are left untouched). */
static bool host_up(const pass *p, size_t h)
{
    return h != NO_HOST && p->hl[h].err == LC_OK;
}

/* Container id in host h's list, marked as its row's own; NULL when not listed. */
static const lc_container_summary *claim_container(pass *p, size_t h, const char *id)
{
    host_list *hl = &p->hl[h];
    if (id[0] == '\0' || hl->ncs == 0)
        return NULL;
    lc_container_summary key = {0};
    snprintf(key.id, sizeof key.id, "%s", id);
    const lc_container_summary *c = bsearch(&key, hl->cs, hl->ncs, sizeof *hl->cs, by_id);
    if (c != NULL)
        hl->claimed[c - hl->cs] = true;
    return c;
}

/* Copies src into dst of size len, cut to fit (a pass copies these 10,000 times). */
static void copy(char *dst, size_t len, const char *src)
{
    size_t n = strnlen(src, len - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* The observation the list alone gives, the rest carried from the last pass. */
static void from_list(const lc_instance *in, const lc_container_summary *c, lc_observation *o)
{
    memset(o, 0, sizeof *o);
    o->state = c != NULL ? c->state : CONTAINER_MISSING;
    copy(o->state_raw, sizeof o->state_raw,
         c != NULL ? c->state_raw : container_state_name(CONTAINER_MISSING));
    copy(o->id, sizeof o->id, in->container_id);
    copy(o->name, sizeof o->name, in->container_name);
    o->exit_code = in->obs.exit_code;
    o->restart_count = in->obs.restart_count;
    o->started_at = in->obs_started_at;
    copy(o->health, sizeof o->health, in->obs.health);
}

/* Whether the verdict for this row needs the detail only inspect gives. */
static bool needs_inspect(const lc_instance *in, const lc_observation *o)
{
    lc_container_state st = o->state, was = in->obs.state;
    InstanceStatus s = in->status;
    if (st == CONTAINER_MISSING || st == CONTAINER_UNKNOWN || s == INSTANCE_TERMINATED)
        return false;
    if (st == CONTAINER_RESTARTING)
        return true;
    if (st == CONTAINER_RUNNING)
        return s == INSTANCE_CREATING || s == INSTANCE_UPDATING || s == INSTANCE_ERROR ||
               was == CONTAINER_RESTARTING;
    if (st == CONTAINER_EXITED || st == CONTAINER_DEAD)
        return s == INSTANCE_RUNNING || (s == INSTANCE_STOPPED && st == CONTAINER_DEAD) ||
               (was != CONTAINER_UNKNOWN && was != st);
    return false;
}

static void derive_row(pass *p, const lc_instance *in, const lc_observation *obs,
                       lc_derive_out *out)
{
    lc_derive_in di = {
        .status = in->status,
        .previous_status =
            in->previous_status >= 0 ? (InstanceStatus)in->previous_status : INSTANCE_STOPPED,
        .hold_billing = in->hold_billing,
        .hold_operator = in->hold_operator,
        .op_deadline = in->op_deadline,
        .op_step = in->op_step,
        .lease_live = lc_lease_live(in, p->now),
        .container_name = in->container_name,
        .error_message = in->error_message,
        .error_from_op = in->error_from_op,
        .obs = obs,
        .prev = in->obs,
        .now = p->now,
        .limits = &p->cfg->limits,
    };
    derive_instance_status_from_docker(&di, out);
}

/* Inspects the row's container on host h into *obs; false (a skipped decision) on failure. */
static bool inspect(pass *p, const lc_instance *in, size_t h, lc_observation *obs)
{
    lc_diag d = {{0}};
    if (in->container_id[0] == '\0')
        return true;
    lc_err e = engine_container_inspect(p->hl[h].e, in->container_id, obs, &d);
    if (e == LC_OK)
        return true;
    p->r->skipped++;
    lc_decision *dc = row_decision(p, DECISION_SKIPPED, in);
    if (dc != NULL)
        snprintf(dc->reason, sizeof dc->reason, "%s", d.msg);
    return false;
}

/*
 * Step 1 of an instance on host h: what Docker says (the list entry, or an
 * inspect where the verdict needs detail or confirmation, or always for
 * watch) and the derive verdict into *out. False when an inspect failed
 * (the row is skipped).
 */
static bool observe_and_derive(pass *p, const lc_instance *in, size_t h, lc_derive_out *out)
{
    lc_observation obs;
    from_list(in, p->inspect_all ? NULL : claim_container(p, h, in->container_id), &obs);
    bool inspected = p->inspect_all || needs_inspect(in, &obs);
    if (inspected && !inspect(p, in, h, &obs))
        return false;
    derive_row(p, in, &obs, out);
    if (out->needs_confirm && !inspected && in->container_id[0] != '\0') {
        if (!inspect(p, in, h, &obs))
            return false;
        derive_row(p, in, &obs, out);
    }
    return true;
}

/* Whether the observation columns derive wants are what the row holds (the time aside). */
static bool same_observation(const lc_obs_memory *a, const lc_obs_memory *b)
{
    bool windows = a->restart_window_start == b->restart_window_start ||
                   (a->restart_count == a->restart_base && b->restart_count == b->restart_base);
    return a->state == b->state && a->exit_code == b->exit_code &&
           strcmp(a->health, b->health) == 0 && a->restart_count == b->restart_count &&
           a->restart_base == b->restart_base && a->first_seen == b->first_seen && windows;
}

/*
 * Steps 1 and 2 of a row on host h: its verdict, kept in p->pend when
 * anything is left to do. A plain keep whose observation is unchanged
 * keeps nothing and writes nothing (the pass time in the store says when
 * it was seen).
 */
static void settle(pass *p, const lc_instance *in, size_t h)
{
    pending pd = {.host = h, .decision = -1};
    if (!observe_and_derive(p, in, h, &pd.out))
        return;
    const lc_derive_out *o = &pd.out;
    if (o->verdict == VERDICT_KEEP)
        p->r->kept++;
    pd.write = o->verdict != VERDICT_KEEP || o->enforce != ENFORCE_NONE || o->set_message ||
               !same_observation(&in->obs, &o->next);
    if (!pd.write && !o->note)
        return;
    pending *grown = room(p->pend, p->npend, sizeof *p->pend);
    if (grown == NULL) {
        p->oom = true;
        return;
    }
    p->pend = grown;
    copy(pd.id, sizeof pd.id, in->id);
    copy(pd.name, sizeof pd.name, in->name);
    copy(pd.container_id, sizeof pd.container_id, in->container_id);
    copy(pd.container_name, sizeof pd.container_name, in->container_name);
    pd.status = in->status;
    pd.version = in->version;
    p->pend[p->npend++] = pd;
}

/* Whether the row's lease or operation is held by a process that is gone. */
static bool holder_dead(const lc_instance *in)
{
    bool dead = in->lease.pid <= 0 || !lc_lease_holder_alive(&in->lease);
    return dead && (in->op.kind != ACT_NONE || in->lease.pid > 0);
}

/*
 * The scan: each row as it is read (store_list_each), on its own host.
 * Rows of a host that did not answer are counted and left untouched; rows
 * with a dead holder wait for recover_dead; the rest are settled.
 */
static bool visit(void *arg, const lc_instance *in)
{
    pass *p = arg;
    size_t h = host_index(p, in);
    p->r->instances++;
    if (h != NO_HOST && h < p->r->n_hosts)
        p->r->hosts[h].instances++;
    if (!host_up(p, h)) {
        p->r->untouched++;
        return true;
    }
    if (in->status == INSTANCE_TERMINATED && in->final_backup_pending && !p->inspect_all)
        id_add(p, &p->final, in->id);
    if (holder_dead(in))
        id_add(p, &p->dead, in->id);
    else
        settle(p, in, h);
    return !p->oom;
}

/* An operation whose holder died is finished or rolled back at once (DESIGN §2). */
static void recover_operation(pass *p, lc_instance *in)
{
    lc_decision *dc = row_decision(p, DECISION_LEASE, in);
    char what[80];
    snprintf(what, sizeof what, "%s interrupted at step %s", lc_action_id_name(in->op.kind),
             in->op_step[0] ? in->op_step : "begin");
    lc_diag d = {{0}};
    bool done = false;
    lc_err e = p->opt->dry_run ? LC_OK : ops_recover_if_dead(&p->ops, in, "reconcile", &done, &d);
    p->r->leases_broken++;
    if (dc == NULL)
        return;
    dc->applied = done;
    dc->to = in->status;
    snprintf(dc->reason, sizeof dc->reason, "%s: %s%s", what,
             p->opt->dry_run ? "would be recovered"
             : done          ? "recovered"
                             : "not recovered: ",
             e == LC_OK ? "" : d.msg);
}

/* A dead holder's lease without an operation: broken. */
static void break_lease(pass *p, lc_instance *in)
{
    lc_decision *dc = row_decision(p, DECISION_LEASE, in);
    if (dc != NULL)
        snprintf(dc->reason, sizeof dc->reason, "lease of dead pid %ld on %s broken", in->lease.pid,
                 in->lease.host);
    p->r->leases_broken++;
    if (!p->opt->dry_run && store_lease_break(p->s, in->id, &in->lease, NULL) == LC_OK) {
        if (dc != NULL)
            dc->applied = true;
    }
    memset(&in->lease, 0, sizeof in->lease);
}

/*
 * The rows the scan found with a dead holder: recovered or freed, then
 * settled as read anew (on the host the row is on now: a recovered move
 * may have changed it; a host that did not answer leaves it untouched).
 */
static void recover_dead(pass *p)
{
    for (size_t i = 0; i < p->dead.n && !p->oom; i++) {
        lc_instance in;
        if (store_get(p->s, p->dead.id[i], &in, NULL) != LC_OK)
            continue;
        if (holder_dead(&in) && in.op.kind != ACT_NONE)
            recover_operation(p, &in);
        else if (holder_dead(&in))
            break_lease(p, &in);
        size_t h = host_index(p, &in);
        if (host_up(p, h))
            settle(p, &in, h);
    }
}

/* Step 2's write of one row, inside the caller's transaction: compare-and-set. */
static lc_err write_instance(pass *p, pending *pd, lc_diag *d)
{
    const lc_derive_out *o = &pd->out;
    if (!pd->write) {
        pd->applied = true;
        return LC_OK;
    }
    p->r->written++;
    lc_err e = store_reconcile_write(p->s, pd->id, pd->version, o, &pd->applied, d);
    bool wanted = o->verdict == VERDICT_CHANGE || o->set_message;
    if (e == LC_OK && wanted && !pd->applied)
        p->r->lost++;
    else if (e == LC_OK && o->verdict == VERDICT_CHANGE)
        p->r->changed++;
    return e;
}

/* Every write of the pass in one transaction, and the pass time when it is a full pass. */
static lc_err write_all(pass *p, lc_diag *d)
{
    if (p->opt->dry_run)
        return LC_OK;
    lc_err e = store_begin(p->s, d);
    for (size_t i = 0; e == LC_OK && i < p->npend; i++)
        e = write_instance(p, &p->pend[i], d);
    if (e == LC_OK && !p->inspect_all && p->r->hosts_down == 0) /* rows unseen: no pass time */
        e = store_metric_set(p->s, LC_METRIC_PASS_AT, (double)p->now, d);
    if (e == LC_OK)
        return store_commit(p->s, d);
    store_rollback(p->s);
    return e;
}

/* The report's line for a verdict that is more than a plain keep. */
static void record(pass *p, pending *pd)
{
    const lc_derive_out *o = &pd->out;
    if (o->verdict == VERDICT_KEEP && !o->note && !o->set_message)
        return;
    lc_decision *dc =
        add_decision(p, DECISION_INSTANCE, pd->id, pd->name, pd->status, pd->container_name);
    if (dc == NULL)
        return;
    pd->decision = (long)(dc - p->r->decisions);
    dc->verdict = o->verdict;
    dc->enforce = o->enforce;
    dc->to = pd->applied || p->opt->dry_run ? o->status : pd->status;
    if (p->opt->dry_run && o->verdict == VERDICT_CHANGE)
        p->r->would_change++;
    dc->applied = pd->applied;
    snprintf(dc->reason, sizeof dc->reason, "%s", o->reason);
}

/* Stops or removes one container on engine under the instance's lease; false on failure. */
static bool enforce_one(pass *p, lc_engine *engine, const char *id, const char *container,
                        lc_enforcement what, InstanceStatus expect, char *why, size_t len)
{
    lc_diag d = {{0}};
    lc_instance fresh;
    lc_err e = store_lease_take(p->s, id, ENFORCE_LEASE_S, &fresh, &d);
    if (e == LC_OK && fresh.status != expect) {
        store_lease_release(p->s, id, NULL);
        snprintf(why, len, "status became %s meanwhile", instance_status_name(fresh.status));
        return false;
    }
    if (e == LC_OK && what == ENFORCE_STOP)
        e = engine_container_stop(engine, container, p->cfg->stop_timeout, &d);
    else if (e == LC_OK)
        e = engine_container_remove(engine, container, true, &d);
    if (e == LC_ENOTFOUND)
        e = LC_OK;
    if (e != LC_EBUSY)
        store_lease_release(p->s, id, NULL);
    if (e != LC_OK)
        snprintf(why, len, "%s", d.msg);
    return e == LC_OK;
}

/* Step 3 of an instance, after the commit: its enforcement under its lease, as decided. */
static void enforce_instance(pass *p, const pending *pd)
{
    if (pd->out.enforce == ENFORCE_NONE)
        return;
    lc_decision *dc = pd->decision >= 0 ? &p->r->decisions[pd->decision] : NULL;
    char why[256] = "";
    bool ok = !p->opt->dry_run && !p->opt->no_enforce && pd->applied &&
              enforce_one(p, p->hl[pd->host].e, pd->id, pd->container_id, pd->out.enforce,
                          pd->out.status, why, sizeof why);
    if (ok)
        p->r->enforced++;
    else if (why[0] != '\0')
        p->r->skipped++;
    if (dc != NULL && why[0] != '\0')
        snprintf(dc->reason + strlen(dc->reason), sizeof dc->reason - strlen(dc->reason),
                 "; enforcement failed: %s", why);
    if (dc != NULL && pd->out.verdict == VERDICT_ENFORCE)
        dc->applied = ok;
}

/* A container labelled for an unknown instance: reported, left alone. */
static void orphan(pass *p, const lc_container_summary *c)
{
    p->r->orphans++;
    lc_decision *dc = add_decision(p, DECISION_ORPHAN, NULL, "", INSTANCE_CREATING, c->name);
    if (dc != NULL)
        snprintf(dc->reason, sizeof dc->reason,
                 "container labelled for unknown instance %s (left alone)", c->instance);
}

/*
 * One listed container c of host h that no row claimed as its own: an
 * extra of the instance it is labelled for (removed unless an operation
 * runs), or an orphan. The row is read after the pass's writes.
 */
static void extra(pass *p, size_t h, const lc_container_summary *c)
{
    lc_instance in;
    lc_diag d = {{0}};
    lc_err e = c->instance[0] ? store_get(p->s, c->instance, &in, &d) : LC_ENOTFOUND;
    if (e == LC_ENOTFOUND) {
        orphan(p, c);
        return;
    }
    p->r->extras++;
    bool busy = e != LC_OK || in.status == INSTANCE_CREATING || in.status == INSTANCE_UPDATING ||
                lc_lease_live(&in, p->now) || in.op.kind != ACT_NONE;
    char why[256] = "";
    if (e != LC_OK)
        snprintf(why, sizeof why, "%s", d.msg);
    bool ok = !busy && !p->opt->dry_run && !p->opt->no_enforce &&
              enforce_one(p, p->hl[h].e, in.id, c->id, ENFORCE_REMOVE, in.status, why, sizeof why);
    if (why[0] != '\0')
        p->r->skipped++;
    if (ok)
        p->r->enforced++;
    lc_decision *dc = add_decision(p, DECISION_EXTRA, c->instance, e == LC_OK ? in.name : "",
                                   e == LC_OK ? in.status : INSTANCE_CREATING, c->name);
    if (dc == NULL)
        return;
    dc->enforce = ENFORCE_REMOVE;
    dc->verdict = VERDICT_ENFORCE;
    dc->applied = ok;
    snprintf(dc->reason, sizeof dc->reason, "extra container%s%s%s",
             busy && e == LC_OK ? " (operation in flight, kept)" : "", why[0] ? ": " : "", why);
}

/*
 * Containers labelled for an instance but not the row's own (on any host
 * that answered, a copy on a host the row is not on included): removed
 * when no operation runs.
 */
static void extras(pass *p)
{
    for (size_t h = 0; h < p->nhl; h++) {
        for (size_t k = 0; p->hl[h].err == LC_OK && k < p->hl[h].ncs; k++) {
            if (!p->hl[h].claimed[k])
                extra(p, h, &p->hl[h].cs[k]);
        }
    }
}

/* Terminated rows whose final backup is pending: back up, then drop volume and database. */
static void retry_terminations(pass *p)
{
    for (size_t i = 0; i < p->final.n; i++) {
        lc_instance in;
        if (store_get(p->s, p->final.id[i], &in, NULL) != LC_OK)
            continue;
        lc_decision *dc = row_decision(p, DECISION_INSTANCE, &in);
        lc_diag d = {{0}};
        bool ok = !p->opt->dry_run && !p->opt->no_enforce &&
                  ops_retry_termination(&p->ops, in.id, &d) == LC_OK;
        if (ok)
            p->r->enforced++;
        else if (d.msg[0] != '\0')
            p->r->skipped++;
        if (dc == NULL)
            continue;
        dc->verdict = VERDICT_ENFORCE;
        dc->applied = ok;
        snprintf(dc->reason, sizeof dc->reason, "final backup pending%s%s",
                 ok         ? ": taken, volume and database dropped"
                 : d.msg[0] ? ": retry failed: "
                            : "",
                 ok ? "" : d.msg);
    }
}

static long elapsed_ms(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (long)((t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000);
}

/* The steps after the scan: dead holders, the writes, the report's lines, enforcement. */
static lc_err finish_rows(pass *p, lc_diag *d)
{
    recover_dead(p);
    if (p->oom)
        return lc_fail(d, LC_ENOMEM, "out of memory");
    lc_err e = write_all(p, d);
    if (e != LC_OK)
        return e;
    for (size_t i = 0; i < p->npend; i++)
        record(p, &p->pend[i]);
    for (size_t i = 0; i < p->npend; i++)
        enforce_instance(p, &p->pend[i]);
    return LC_OK;
}

/* A host's list thread: its own engine client, no store. */
static void *list_host(void *arg)
{
    host_list *h = arg;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    h->err = engine_container_list(h->e, h->store_uuid, &h->cs, &h->ncs, &h->diag);
    if (h->err != LC_OK && h->err != LC_ENOMEM)
        h->err = LC_EENGINE;
    if (h->err == LC_OK && h->ncs > 1) /* an empty list may be NULL, which qsort must not get */
        qsort(h->cs, h->ncs, sizeof *h->cs, by_id);
    if (h->err == LC_OK && (h->claimed = calloc(h->ncs ? h->ncs : 1, sizeof *h->claimed)) == NULL)
        h->err = LC_ENOMEM;
    h->ms = elapsed_ms(&t0);
    return NULL;
}

/*
 * The hosts of the store, each with its engine (local: the caller's) and
 * its container list, fetched in parallel. A host whose engine cannot be
 * opened or does not answer keeps its error; its rows are left untouched.
 */
static lc_err list_hosts(pass *p, lc_diag *d)
{
    lc_host *hosts = NULL;
    size_t n = 0;
    lc_err e = store_host_list(p->s, &hosts, &n, d);
    if (e != LC_OK)
        return e;
    p->r->hosts = calloc(n ? n : 1, sizeof *p->r->hosts);
    p->hl = calloc(n ? n : 1, sizeof *p->hl);
    if (p->r->hosts == NULL || p->hl == NULL) {
        free(hosts);
        return lc_fail(d, LC_ENOMEM, "out of memory");
    }
    p->r->n_hosts = p->nhl = n;
    for (size_t i = 0; i < n; i++) {
        host_list *h = &p->hl[i];
        snprintf(p->r->hosts[i].name, sizeof p->r->hosts[i].name, "%s", hosts[i].name);
        h->store_uuid = store_uuid(p->s);
        h->err = ops_engine_for_host(&p->ops, hosts[i].name, &h->e, &h->diag);
        if (h->err != LC_OK)
            continue;
        h->requests0 = engine_request_count(h->e);
        h->started = n > 1 && pthread_create(&h->thread, NULL, list_host, h) == 0;
        if (!h->started)
            list_host(h);
    }
    for (size_t i = 0; i < n; i++) {
        if (p->hl[i].started)
            pthread_join(p->hl[i].thread, NULL);
    }
    free(hosts);
    return LC_OK;
}

/* The report's per-host figures; how many hosts answered. */
static size_t mark_hosts(pass *p)
{
    size_t answered = 0;
    for (size_t h = 0; h < p->r->n_hosts; h++) {
        lc_reconcile_host *rh = &p->r->hosts[h];
        rh->answered = p->hl[h].err == LC_OK;
        rh->containers = p->hl[h].ncs;
        rh->list_ms = p->hl[h].ms;
        answered += rh->answered;
        if (!rh->answered) {
            p->r->hosts_down++;
            snprintf(rh->error, sizeof rh->error, "%s", p->hl[h].diag.msg);
        }
    }
    return answered;
}

/* LC_EENGINE (or LC_ENOMEM) naming the first host's error: no host answered. */
static lc_err none_answered(const pass *p, lc_diag *d)
{
    lc_err e = p->nhl > 0 && p->hl[0].err == LC_ENOMEM ? LC_ENOMEM : LC_EENGINE;
    if (p->r->n_hosts == 1)
        return lc_fail(d, e, "%s", p->hl[0].diag.msg);
    return lc_fail(d, e, "no Docker host answered (host %s: %s)",
                   p->nhl > 0 ? p->r->hosts[0].name : LC_HOST_LOCAL,
                   p->nhl > 0 ? p->hl[0].diag.msg : "no hosts");
}

static lc_err run_pass(pass *p, lc_diag *d)
{
    lc_err e = list_hosts(p, d);
    if (e != LC_OK)
        return e;
    size_t answered = mark_hosts(p);
    e = store_list_each(p->s, true, -1, false, visit, p, d);
    if (e == LC_OK && p->oom)
        e = lc_fail(d, LC_ENOMEM, "out of memory");
    if (e == LC_OK && answered == 0)
        e = none_answered(p, d);
    if (e == LC_OK)
        e = finish_rows(p, d);
    if (e != LC_OK)
        return e;
    extras(p);
    retry_terminations(p);
    return p->r->skipped > 0 || p->r->hosts_down > 0 ? LC_EPARTIAL : LC_OK;
}

/* Watch's one row, on its own host's engine (no list: its container is inspected). */
static lc_err run_one(pass *p, const char *instance_id, lc_diag *d)
{
    p->hl = calloc(1, sizeof *p->hl);
    if (p->hl == NULL)
        return lc_fail(d, LC_ENOMEM, "out of memory");
    lc_instance in;
    lc_err e = store_get(p->s, instance_id, &in, d);
    if (e != LC_OK)
        return e;
    p->inspect_all = true;
    e = ops_engine_for_host(&p->ops, in.host, &p->hl[0].e, d);
    if (e != LC_OK)
        return e;
    p->nhl = 1;
    p->hl[0].requests0 = engine_request_count(p->hl[0].e);
    visit(p, &in);
    e = finish_rows(p, d);
    if (e != LC_OK)
        return e;
    return p->r->skipped > 0 ? LC_EPARTIAL : LC_OK;
}

/* The partial pass's one line: the hosts that did not answer, and the skipped count. */
static void partial_message(const lc_reconcile_report *r, lc_diag *d)
{
    size_t used = 0;
    d->msg[0] = '\0';
    for (size_t h = 0; h < r->n_hosts && used < sizeof d->msg; h++) {
        if (!r->hosts[h].answered)
            used += (size_t)snprintf(d->msg + used, sizeof d->msg - used,
                                     "%shost %s not answering (%zu instance(s) untouched): %s",
                                     used ? "; " : "", r->hosts[h].name, r->hosts[h].instances,
                                     r->hosts[h].error);
    }
    if (r->skipped > 0 && used < sizeof d->msg)
        snprintf(d->msg + used, sizeof d->msg - used, "%s%zu instance(s) skipped", used ? "; " : "",
                 r->skipped);
}

/* Runs a full pass or watch's one instance, and fills the report's totals. */
static lc_err run(pass *p, const char *one, lc_diag *d)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    memset(p->r, 0, sizeof *p->r);
    p->now = time(NULL);
    lc_err err = one != NULL ? run_one(p, one, d) : run_pass(p, d);
    for (size_t h = 0; h < p->nhl; h++) {
        unsigned long n =
            p->hl[h].e != NULL ? engine_request_count(p->hl[h].e) - p->hl[h].requests0 : 0;
        if (h < p->r->n_hosts)
            p->r->hosts[h].requests = n;
        p->r->requests += n;
        free(p->hl[h].cs);
        free(p->hl[h].claimed);
    }
    p->r->ms = elapsed_ms(&t0);
    if (err == LC_EPARTIAL)
        partial_message(p->r, d);
    ops_close_engines(&p->ops);
    free(p->hl);
    free(p->pend);
    free(p->dead.id);
    free(p->final.id);
    return err;
}

/* The pass's figures for the metrics file, kept in the store (best effort). */
static void record_figures(lc_store *s, const lc_reconcile_report *r)
{
    const struct {
        const char *name;
        double v;
    } f[] = {
        {LC_METRIC_PASS_SECONDS, (double)r->ms / 1000.0},
        {LC_METRIC_DECISIONS "keep", (double)r->kept},
        {LC_METRIC_DECISIONS "change", (double)r->changed},
        {LC_METRIC_DECISIONS "enforce", (double)r->enforced},
        {LC_METRIC_DECISIONS "skip", (double)r->skipped},
        {LC_METRIC_DECISIONS "lost", (double)r->lost},
    };
    if (store_begin(s, NULL) != LC_OK)
        return;
    lc_err e = LC_OK;
    for (size_t i = 0; e == LC_OK && i < sizeof f / sizeof f[0]; i++)
        e = store_metric_set(s, f[i].name, f[i].v, NULL);
    if (e == LC_OK)
        store_commit(s, NULL);
    else
        store_rollback(s);
}

lc_err reconcile_run(lc_store *s, lc_engine *e, const lc_config *cfg,
                     const lc_reconcile_options *opt, lc_reconcile_report *r, lc_diag *d)
{
    pass p = {.s = s,
              .ops = {.store = s, .engine = e, .local = e, .cfg = cfg},
              .cfg = cfg,
              .opt = opt,
              .r = r};
    lc_err err = run(&p, NULL, d);
    if (!opt->dry_run && (err == LC_OK || err == LC_EPARTIAL))
        record_figures(s, r);
    return err;
}

lc_err reconcile_instance(lc_store *s, lc_engine *e, const lc_config *cfg,
                          const lc_reconcile_options *opt, const char *instance_id,
                          lc_reconcile_report *r, lc_diag *d)
{
    pass p = {.s = s,
              .ops = {.store = s, .engine = e, .local = e, .cfg = cfg},
              .cfg = cfg,
              .opt = opt,
              .r = r};
    return run(&p, instance_id, d);
}

void reconcile_report_free(lc_reconcile_report *r)
{
    free(r->hosts);
    r->hosts = NULL;
    r->n_hosts = 0;
    free(r->decisions);
    r->decisions = NULL;
    r->n_decisions = 0;
}

lc_err reconcile_lock(const lc_store *s, const char *suffix, bool wait, int *fd, lc_diag *d)
{
    char path[4200];
    snprintf(path, sizeof path, "%s.%s.lock", store_path(s), suffix);
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (*fd < 0)
        return lc_fail(d, LC_ESTORE, "lock file %s: %s", path, strerror(errno));
    if (flock(*fd, LOCK_EX | (wait ? 0 : LOCK_NB)) == 0)
        return LC_OK;
    int err = errno;
    close(*fd);
    *fd = -1;
    if (err == EWOULDBLOCK)
        return lc_fail(d, LC_EBUSY, "lock %s is held by another process", path);
    return lc_fail(d, LC_ESTORE, "lock file %s: %s", path, strerror(err));
}
