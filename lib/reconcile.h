/*
 * One reconcile pass (DESIGN §3): read the rows, list this store's
 * containers once, inspect only where a verdict needs detail or a
 * missing/dead verdict needs confirming, write every status change in one
 * transaction with compare-and-set, then enforce under leases.
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
    bool dry_run;    /* decide and report; write and enforce nothing */
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
    InstanceStatus to;     /* after (== status unless a change was applied) */
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
 * (its rows untouched: no write, no enforcement; the others reconciled);
 * LC_EENGINE when no host answered (nothing written); LC_ESTORE when the
 * database failed. *r is filled in every case and must be released with
 * reconcile_report_free.
 */
lc_err reconcile_run(lc_store *s, lc_engine *e, const lc_config *cfg,
                     const lc_reconcile_options *opt, lc_reconcile_report *r, lc_diag *d);

void reconcile_report_free(lc_reconcile_report *r);

#endif
