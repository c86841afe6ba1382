/*
 * One reconcile pass: rows first, then ONE container list per Docker host
 * filtered by this store's label (the hosts listed in parallel, each thread
 * with its own engine client; the store stays in the calling thread),
 * inspects only where needed, status writes under compare-and-set in one
 * transaction (only rows whose observation or status changed), then
 * enforcement under leases. The rows of a host that did not answer are left
 * untouched. The same per-instance steps (observe_and_derive,
 * write_instance, enforce_instance) serve watch's one-instance
 * re-derivation (reconcile_instance), on the row's own host.
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

typedef struct pending {
    size_t row;
    lc_observation obs;
    lc_derive_out out;
    bool skipped, applied;
} pending;

/* One Docker host's container list, fetched by its own thread. */
typedef struct host_list {
    lc_engine *e; /* borrowed from the pass's lc_ops */
    const char *store_uuid;
    lc_container_summary *cs; /* sorted by id */
    size_t ncs;
    lc_err err;
    lc_diag diag;
    long ms;
    unsigned long requests0;
    pthread_t thread;
    bool started;
} host_list;

#define NO_HOST ((size_t)-1)

typedef struct pass {
    lc_store *s;
    lc_ops ops; /* the engines of every host (ops_engine_for_host), recovery, retries */
    const lc_config *cfg;
    const lc_reconcile_options *opt;
    lc_reconcile_report *r;
    lc_instance *rows;
    size_t nrows;
    host_list *hl; /* one per host (parallel to r->hosts in a full pass) */
    size_t nhl;
    size_t *row_host; /* per row: its index in hl, NO_HOST when its host is unknown */
    pending *pend;
    size_t *by_id; /* row indexes sorted by id */
    time_t now;
    bool inspect_all; /* watch: each row's container is inspected, there is no list */
} pass;

static lc_decision *add_decision(pass *p, lc_decision_kind kind, const lc_instance *in,
                                 const char *container)
{
    lc_reconcile_report *r = p->r;
    if ((r->n_decisions & (r->n_decisions - 1)) == 0) { /* 0, 1, 2, 4...: room doubles */
        lc_decision *grown =
            realloc(r->decisions, (r->n_decisions ? r->n_decisions * 2 : 1) * sizeof *grown);
        if (grown == NULL)
            return NULL;
        r->decisions = grown;
    }
    lc_decision *dc = &r->decisions[r->n_decisions++];
    memset(dc, 0, sizeof *dc);
    dc->kind = kind;
    if (in != NULL) {
        snprintf(dc->instance, sizeof dc->instance, "%s", in->id);
        snprintf(dc->name, sizeof dc->name, "%s", in->name);
        dc->status = dc->to = in->status;
    }
    snprintf(dc->container, sizeof dc->container, "%s", container != NULL ? container : "");
    return dc;
}

static int by_id(const void *a, const void *b)
{
    return strcmp(((const lc_container_summary *)a)->id, ((const lc_container_summary *)b)->id);
}

/* Whether row i's host answered (its rows are judged; the others are left untouched). */
static bool host_up(const pass *p, size_t i)
{
    return p->row_host[i] != NO_HOST && p->hl[p->row_host[i]].err == LC_OK;
}

/* The engine of row i's host. */
static lc_engine *row_engine(const pass *p, size_t i)
{
    return p->hl[p->row_host[i]].e;
}

/* The container id in row i's host's list, or NULL. */
static const lc_container_summary *find_container(const pass *p, size_t i, const char *id)
{
    const host_list *h = &p->hl[p->row_host[i]];
    if (id[0] == '\0' || h->ncs == 0)
        return NULL;
    lc_container_summary key = {0};
    snprintf(key.id, sizeof key.id, "%s", id);
    return bsearch(&key, h->cs, h->ncs, sizeof *h->cs, by_id);
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

static void derive_row(pass *p, const lc_instance *in, pending *pd)
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
        .obs = &pd->obs,
        .prev = in->obs,
        .now = p->now,
        .limits = &p->cfg->limits,
    };
    derive_instance_status_from_docker(&di, &pd->out);
}

static void skip(pass *p, const lc_instance *in, pending *pd, const char *why)
{
    pd->skipped = true;
    p->r->skipped++;
    lc_decision *dc = add_decision(p, DECISION_SKIPPED, in, in->container_name);
    if (dc != NULL)
        snprintf(dc->reason, sizeof dc->reason, "%s", why);
}

/* Inspects the row's container into pd->obs; false (and skipped) on failure. */
static bool inspect(pass *p, const lc_instance *in, pending *pd)
{
    lc_diag d = {{0}};
    if (in->container_id[0] == '\0')
        return true;
    lc_err e = engine_container_inspect(row_engine(p, pd->row), in->container_id, &pd->obs, &d);
    if (e == LC_OK)
        return true;
    skip(p, in, pd, d.msg);
    return false;
}

/*
 * Step 1 of an instance: what Docker says (the list entry, or an inspect
 * where the verdict needs detail or confirmation, or always for watch) and
 * the derive verdict, into p->pend[i]. Marks it skipped when an inspect fails.
 */
static void observe_and_derive(pass *p, size_t i)
{
    const lc_instance *in = &p->rows[i];
    pending *pd = &p->pend[i];
    pd->row = i;
    from_list(in, p->inspect_all ? NULL : find_container(p, i, in->container_id), &pd->obs);
    bool inspected = p->inspect_all || needs_inspect(in, &pd->obs);
    if (inspected && !inspect(p, in, pd))
        return;
    derive_row(p, in, pd);
    if (pd->out.needs_confirm && !inspected && in->container_id[0] != '\0') {
        if (!inspect(p, in, pd))
            return;
        derive_row(p, in, pd);
    }
}

/* An operation whose holder died is finished or rolled back at once (DESIGN §2). */
static void recover_operation(pass *p, lc_instance *in)
{
    lc_decision *dc = add_decision(p, DECISION_LEASE, in, in->container_name);
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

static void break_dead_leases(pass *p)
{
    for (size_t i = 0; i < p->nrows; i++) {
        lc_instance *in = &p->rows[i];
        if (!host_up(p, i))
            continue;
        bool dead = in->lease.pid <= 0 || !lc_lease_holder_alive(&in->lease);
        if (in->op.kind != ACT_NONE && dead) {
            recover_operation(p, in);
            continue;
        }
        if (in->lease.pid <= 0 || !dead)
            continue;
        lc_decision *dc = add_decision(p, DECISION_LEASE, in, in->container_name);
        if (dc != NULL)
            snprintf(dc->reason, sizeof dc->reason, "lease of dead pid %ld on %s broken",
                     in->lease.pid, in->lease.host);
        p->r->leases_broken++;
        if (!p->opt->dry_run && store_lease_break(p->s, in->id, &in->lease, NULL) == LC_OK) {
            if (dc != NULL)
                dc->applied = true;
        }
        memset(&in->lease, 0, sizeof in->lease);
    }
}

static void record(pass *p, const lc_instance *in, pending *pd)
{
    const lc_derive_out *o = &pd->out;
    if (o->verdict == VERDICT_KEEP)
        p->r->kept++;
    if (o->verdict == VERDICT_KEEP && !o->note && !o->set_message)
        return;
    lc_decision *dc = add_decision(p, DECISION_INSTANCE, in, in->container_name);
    if (dc == NULL)
        return;
    dc->verdict = o->verdict;
    dc->enforce = o->enforce;
    dc->to = pd->applied || p->opt->dry_run ? o->status : in->status;
    if (p->opt->dry_run && o->verdict == VERDICT_CHANGE)
        p->r->would_change++;
    dc->applied = pd->applied;
    snprintf(dc->reason, sizeof dc->reason, "%s", o->reason);
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
 * Step 2 of an instance, inside the caller's transaction: the
 * compare-and-set write of its verdict and observation. A plain keep whose
 * observation is unchanged writes nothing (the pass time in the store says
 * when it was seen).
 */
static lc_err write_instance(pass *p, size_t i, lc_diag *d)
{
    pending *pd = &p->pend[i];
    const lc_instance *in = &p->rows[i];
    const lc_derive_out *o = &pd->out;
    if (pd->skipped)
        return LC_OK;
    if (o->verdict == VERDICT_KEEP && o->enforce == ENFORCE_NONE && !o->set_message &&
        same_observation(&in->obs, &o->next)) {
        pd->applied = true;
        return LC_OK;
    }
    p->r->written++;
    lc_err e = store_reconcile_write(p->s, in->id, in->version, o, &pd->applied, d);
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
    for (size_t i = 0; e == LC_OK && i < p->nrows; i++)
        e = write_instance(p, i, d);
    if (e == LC_OK && !p->inspect_all && p->r->hosts_down == 0) /* rows unseen: no pass time */
        e = store_metric_set(p->s, LC_METRIC_PASS_AT, (double)p->now, d);
    if (e == LC_OK)
        return store_commit(p->s, d);
    store_rollback(p->s);
    return e;
}

/* Stops or removes one container on engine under the instance's lease; false on failure. */
static bool enforce_one(pass *p, lc_engine *engine, const lc_instance *in, const char *container,
                        lc_enforcement what, InstanceStatus expect, char *why, size_t len)
{
    lc_diag d = {{0}};
    lc_instance fresh;
    lc_err e = store_lease_take(p->s, in->id, ENFORCE_LEASE_S, &fresh, &d);
    if (e == LC_OK && fresh.status != expect) {
        store_lease_release(p->s, in->id, NULL);
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
        store_lease_release(p->s, in->id, NULL);
    if (e != LC_OK)
        snprintf(why, len, "%s", d.msg);
    return e == LC_OK;
}

/* Step 3 of an instance, after the commit: its enforcement under its lease, as decided. */
static void enforce_instance(pass *p, size_t i)
{
    pending *pd = &p->pend[i];
    const lc_instance *in = &p->rows[i];
    if (pd->skipped || pd->out.enforce == ENFORCE_NONE)
        return;
    lc_decision *dc = NULL;
    for (size_t k = 0; k < p->r->n_decisions; k++) {
        if (strcmp(p->r->decisions[k].instance, in->id) == 0 &&
            p->r->decisions[k].kind == DECISION_INSTANCE)
            dc = &p->r->decisions[k];
    }
    char why[256] = "";
    bool ok = !p->opt->dry_run && !p->opt->no_enforce && pd->applied &&
              enforce_one(p, row_engine(p, i), in, in->container_id, pd->out.enforce,
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

static int by_row_id(const void *a, const void *b, void *arg)
{
    const lc_instance *rows = arg;
    return strcmp(rows[*(const size_t *)a].id, rows[*(const size_t *)b].id);
}

/* The row index with this id (bsearch over p->by_id), or -1. */
static long row_index(const pass *p, const char *id)
{
    size_t lo = 0, hi = p->nrows;
    while (id[0] != '\0' && lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(p->rows[p->by_id[mid]].id, id);
        if (c == 0)
            return (long)p->by_id[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static const lc_instance *row_by_id(const pass *p, const char *id)
{
    long i = row_index(p, id);
    return i >= 0 ? &p->rows[i] : NULL;
}

/* Whether c, listed on host h, is its row's own container (on the row's own host). */
static bool is_rows_container(const pass *p, size_t h, const lc_container_summary *c)
{
    long i = row_index(p, c->instance);
    return i >= 0 && p->row_host[i] == h && strcmp(p->rows[i].container_id, c->id) == 0;
}

/* One listed container c of host h that is not its row's own: an extra or an orphan. */
static void extra(pass *p, size_t h, const lc_container_summary *c)
{
    if (is_rows_container(p, h, c))
        return;
    const lc_instance *in = row_by_id(p, c->instance);
    lc_decision *dc = add_decision(p, in != NULL ? DECISION_EXTRA : DECISION_ORPHAN, in, c->name);
    if (in == NULL) {
        p->r->orphans++;
        if (dc != NULL)
            snprintf(dc->reason, sizeof dc->reason,
                     "container labelled for unknown instance %s (left alone)", c->instance);
        return;
    }
    p->r->extras++;
    const pending *pd = &p->pend[row_index(p, c->instance)];
    InstanceStatus now = pd->applied ? pd->out.status : in->status;
    bool busy = now == INSTANCE_CREATING || now == INSTANCE_UPDATING || lc_lease_live(in, p->now) ||
                in->op.kind != ACT_NONE;
    char why[256] = "";
    bool ok = !busy && !p->opt->dry_run && !p->opt->no_enforce &&
              enforce_one(p, p->hl[h].e, in, c->id, ENFORCE_REMOVE, now, why, sizeof why);
    if (why[0] != '\0')
        p->r->skipped++;
    if (ok)
        p->r->enforced++;
    if (dc == NULL)
        return;
    dc->enforce = ENFORCE_REMOVE;
    dc->verdict = VERDICT_ENFORCE;
    dc->applied = ok;
    dc->status = dc->to = now;
    snprintf(dc->reason, sizeof dc->reason, "extra container%s%s%s",
             busy ? " (operation in flight, kept)" : "", why[0] ? ": " : "", why);
}

/*
 * Containers labelled for an instance but not the row's own (on any host
 * that answered, a copy on a host the row is not on included): removed
 * when no operation runs.
 */
static void extras(pass *p)
{
    for (size_t h = 0; h < p->nhl; h++) {
        for (size_t k = 0; p->hl[h].err == LC_OK && k < p->hl[h].ncs; k++)
            extra(p, h, &p->hl[h].cs[k]);
    }
}

/* Terminated rows whose final backup is pending: back up, then drop volume and database. */
static void retry_terminations(pass *p)
{
    for (size_t i = 0; i < p->nrows; i++) {
        const lc_instance *in = &p->rows[i];
        if (in->status != INSTANCE_TERMINATED || !in->final_backup_pending || !host_up(p, i))
            continue;
        lc_decision *dc = add_decision(p, DECISION_INSTANCE, in, in->container_name);
        lc_diag d = {{0}};
        bool ok = !p->opt->dry_run && !p->opt->no_enforce &&
                  ops_retry_termination(&p->ops, in->id, &d) == LC_OK;
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

/* The index of rows sorted by id, and a pending slot per row. */
static lc_err prepare(pass *p, lc_diag *d)
{
    p->pend = calloc(p->nrows ? p->nrows : 1, sizeof *p->pend);
    p->by_id = calloc(p->nrows ? p->nrows : 1, sizeof *p->by_id);
    if (p->pend == NULL || p->by_id == NULL)
        return lc_fail(d, LC_ENOMEM, "out of memory");
    for (size_t i = 0; i < p->nrows; i++)
        p->by_id[i] = i;
    qsort_r(p->by_id, p->nrows, sizeof *p->by_id, by_row_id, p->rows);
    p->now = time(NULL);
    return LC_OK;
}

/* The steps every instance goes through, for the rows of p (all of them, or watch's one). */
static lc_err settle_rows(pass *p, lc_diag *d)
{
    break_dead_leases(p);
    for (size_t i = 0; i < p->nrows; i++) {
        if (host_up(p, i)) {
            observe_and_derive(p, i);
            continue;
        }
        p->pend[i].row = i; /* its host did not answer: untouched */
        p->pend[i].skipped = true;
        p->r->untouched++;
    }
    lc_err e = write_all(p, d);
    if (e != LC_OK)
        return e;
    for (size_t i = 0; i < p->nrows; i++) {
        if (!p->pend[i].skipped)
            record(p, &p->rows[i], &p->pend[i]);
    }
    for (size_t i = 0; i < p->nrows; i++)
        enforce_instance(p, i);
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

/* Row i's index in the report's hosts, NO_HOST when its host is not one of them. */
static size_t host_of(const pass *p, size_t i)
{
    const char *host = p->rows[i].host[0] ? p->rows[i].host : LC_HOST_LOCAL;
    for (size_t h = 0; h < p->r->n_hosts; h++) {
        if (strcmp(p->r->hosts[h].name, host) == 0)
            return h;
    }
    return NO_HOST;
}

/* Each row's host index; the report's per-host figures; LC_EENGINE when no host answered. */
static lc_err place_rows(pass *p, lc_diag *d)
{
    size_t answered = 0;
    p->row_host = calloc(p->nrows ? p->nrows : 1, sizeof *p->row_host);
    if (p->row_host == NULL)
        return lc_fail(d, LC_ENOMEM, "out of memory");
    for (size_t i = 0; i < p->nrows; i++) {
        p->row_host[i] = host_of(p, i);
        if (p->row_host[i] != NO_HOST)
            p->r->hosts[p->row_host[i]].instances++;
    }
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
    if (answered > 0)
        return LC_OK;
    lc_err e = p->nhl > 0 && p->hl[0].err == LC_ENOMEM ? LC_ENOMEM : LC_EENGINE;
    if (p->r->n_hosts == 1)
        return lc_fail(d, e, "%s", p->hl[0].diag.msg);
    return lc_fail(d, e, "no Docker host answered (host %s: %s)",
                   p->nhl > 0 ? p->r->hosts[0].name : LC_HOST_LOCAL,
                   p->nhl > 0 ? p->hl[0].diag.msg : "no hosts");
}

static lc_err run_pass(pass *p, lc_diag *d)
{
    lc_err e = store_list(p->s, true, -1, &p->rows, &p->nrows, d);
    if (e == LC_OK)
        e = list_hosts(p, d);
    if (e == LC_OK)
        e = place_rows(p, d);
    if (e == LC_OK)
        e = prepare(p, d);
    if (e == LC_OK)
        e = settle_rows(p, d);
    if (e != LC_OK)
        return e;
    extras(p);
    retry_terminations(p);
    return p->r->skipped > 0 || p->r->hosts_down > 0 ? LC_EPARTIAL : LC_OK;
}

/* Watch's one row, on its own host's engine (no list: its container is inspected). */
static lc_err run_one(pass *p, const char *instance_id, lc_diag *d)
{
    p->rows = malloc(sizeof *p->rows);
    p->hl = calloc(1, sizeof *p->hl);
    p->row_host = calloc(1, sizeof *p->row_host);
    if (p->rows == NULL || p->hl == NULL || p->row_host == NULL)
        return lc_fail(d, LC_ENOMEM, "out of memory");
    lc_err e = store_get(p->s, instance_id, p->rows, d);
    if (e != LC_OK)
        return e;
    p->nrows = 1;
    p->inspect_all = true;
    e = ops_engine_for_host(&p->ops, p->rows->host, &p->hl[0].e, d);
    if (e != LC_OK)
        return e;
    p->nhl = 1;
    p->hl[0].requests0 = engine_request_count(p->hl[0].e);
    e = prepare(p, d);
    if (e == LC_OK)
        e = settle_rows(p, d);
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
    lc_err err = one != NULL ? run_one(p, one, d) : run_pass(p, d);
    p->r->instances = p->nrows;
    for (size_t h = 0; h < p->nhl; h++) {
        unsigned long n =
            p->hl[h].e != NULL ? engine_request_count(p->hl[h].e) - p->hl[h].requests0 : 0;
        if (h < p->r->n_hosts)
            p->r->hosts[h].requests = n;
        p->r->requests += n;
        free(p->hl[h].cs);
    }
    p->r->ms = elapsed_ms(&t0);
    if (err == LC_EPARTIAL)
        partial_message(p->r, d);
    ops_close_engines(&p->ops);
    free(p->rows);
    free(p->hl);
    free(p->row_host);
    free(p->pend);
    free(p->by_id);
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
