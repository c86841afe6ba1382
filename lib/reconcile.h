/*
 * One reconcile pass (DESIGN §3): list this store's containers once per
 * Docker host, read the rows one at a time, inspect only where a verdict
 * needs detail or a missing/dead verdict needs confirming, write every
 * status change in one transaction with compare-and-set, then enforce
 * under leases.
 */
#ifndef LC_RECONCILE_H
#define LC_RECONCILE_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "derive.h"
#include "engine.h"
#include "store.h"

typedef struct lc_reconcile_options {
    bool dry_run;    /* decide and report (what would change); write and enforce nothing */
    bool no_enforce; /* write status changes, but leave containers alone */
} lc_reconcile_options;

typedef enum lc_decision_kind {
    DECISION_INSTANCE, /* a row's verdict */
    DECISION_EXTRA,    /* a container labelled for an instance that is not the row's */
    DECISION_ORPHAN,   /* a container labelled for no known row: reported only */
    DECISION_SKIPPED,  /* inspect failed or a lease was held: nothing decided */
    DECISION_LEASE,    /* a dead holder's lease was broken */
} lc_decision_kind;

/* One line of the pass's log (every decision other than a plain keep). */
typedef struct lc_decision {
    lc_decision_kind kind;
    char instance[37];
    char name[64];
    char container[160];
    InstanceStatus status; /* before */
    InstanceStatus to;     /* after (== status unless a change was applied, or would be) */
    lc_verdict verdict;
    lc_enforcement enforce;
    bool applied; /* written / enforced (false under --dry-run or a lost CAS) */
    char reason[320];
} lc_decision;

/* One Docker host as the pass saw it (issue 11). */
typedef struct lc_reconcile_host {
    char name[64];
    bool answered;          /* its container list came back */
    char error[256];        /* why not, "" when it answered */
    size_t containers;      /* containers of this store listed on it */
    size_t instances;       /* rows on it (left untouched when it did not answer) */
    unsigned long requests; /* Engine API requests to it during the pass */
    long list_ms;           /* its container list's time, milliseconds */
} lc_reconcile_host;

typedef struct lc_reconcile_report {
    size_t instances, kept, changed, enforced, skipped, lost, extras, orphans, leases_broken;
    size_t would_change;    /* under dry_run: the status changes a real pass would write */
    size_t written;         /* rows written (a steady pass writes only changed ones) */
    size_t untouched;       /* rows on hosts that did not answer */
    unsigned long requests; /* Engine API requests made by the pass, every host */
    long ms;                /* wall time of the pass, milliseconds */
    lc_decision *decisions; /* malloc'd; reconcile_report_free */
    size_t n_decisions;
    lc_reconcile_host *hosts; /* malloc'd, one per Docker host of the store, local first */
    size_t n_hosts, hosts_down;
} lc_reconcile_report;

/*
 * reconcile_run: one pass over every row of store s. e is the local host's
 * engine (the configuration's); every other Docker host of the store gets
 * its own client, and the hosts' container lists are fetched in parallel,
 * one thread per host (issue 11). A row is judged against its own host's
 * list and engine. Returns LC_OK; LC_EPARTIAL when some instances were
 * skipped (failed inspect, failed enforcement) or some host did not answer
 * (its rows untouched: no write, no enforcement; the others reconciled;
 * the pass time is not recorded); LC_EENGINE when no host answered
 * (nothing written); LC_ESTORE when the database failed. *r is filled in
 * every case and must be released with reconcile_report_free.
 */
lc_err reconcile_run(lc_store *s, lc_engine *e, const lc_config *cfg,
                     const lc_reconcile_options *opt, lc_reconcile_report *r, lc_diag *d);

/*
 * reconcile_instance: watch's re-derivation of one instance (DESIGN §3a):
 * the same steps as a pass for that row alone (break a dead holder's
 * lease, inspect its container, derive, compare-and-set write, enforce
 * under its lease), without the list, extras or final backups, which stay
 * with the pass, on the row's own Docker host (e when it is local).
 * Errors as reconcile_run, plus LC_ENOTFOUND for no such row;
 * an inspect that fails is LC_EPARTIAL with nothing written.
 */
lc_err reconcile_instance(lc_store *s, lc_engine *e, const lc_config *cfg,
                          const lc_reconcile_options *opt, const char *instance_id,
                          lc_reconcile_report *r, lc_diag *d);

void reconcile_report_free(lc_reconcile_report *r);

/*
 * reconcile_lock: takes the flock on "<database>.<suffix>.lock" beside the
 * store ("reconcile": one pass at a time; "watch": one watch per store),
 * waiting for it when wait, into *fd (close to release). LC_EBUSY when
 * another process holds it and !wait; LC_ESTORE when the file fails.
 */
lc_err reconcile_lock(const lc_store *s, const char *suffix, bool wait, int *fd, lc_diag *d);

#endif
