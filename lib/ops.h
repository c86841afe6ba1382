/*
 * The lifecycle actions (DESIGN §2): create, start, stop, restart,
 * terminate. Each takes the instance's lease in a short transaction, makes
 * its Docker calls outside any transaction, and writes status, history and
 * the lease release in one transaction at the end.
 */
#ifndef LC_OPS_H
#define LC_OPS_H

#include <stdbool.h>

#include "backup.h"
#include "billing.h"
#include "config.h"
#include "engine.h"
#include "status.h"
#include "store.h"

/* The most Docker hosts one lc_ops keeps an engine client open for at once. */
#define LC_OPS_MAX_ENGINES 32

/* One cached engine client of a host other than local (ops_engine_for). */
typedef struct lc_ops_engine {
    char host[64];
    lc_engine *engine; /* owned by the lc_ops; ops_close_engines frees it */
} lc_ops_engine;

typedef struct lc_ops {
    lc_store *store;
    lc_engine *engine; /* the engine in use: the current row's host's (ops_use_host) */
    lc_engine *local;  /* the local host's (the configuration's docker_host), borrowed; NULL:
                          the first ops_engine_for takes `engine` as local's */
    lc_ops_engine engines[LC_OPS_MAX_ENGINES]; /* the other hosts' clients, opened on first use */
    size_t n_engines;
    const lc_config *cfg;
    int wait_seconds; /* how long to wait for another holder's lease; 0 = fail at once (exit 5) */
    void (*progress)(void *arg, const char *step); /* called as each step begins; may be NULL */
    void *progress_arg;
    lc_progress_fn transfer; /* bytes moved by backup and restore; may be NULL */
    void *transfer_arg;
} lc_ops;

typedef struct lc_create_request {
    const char *name;
    const char *database;
    const char *admin_email;
    const char *odoo_version;   /* NULL = cfg default */
    const char *image;          /* NULL = cfg image_template for the version */
    const char *pull_policy;    /* NULL = cfg pull_policy; "missing" | "never" */
    const char *admin_password; /* sent only to Odoo's database-create endpoint */
    bool no_wait;               /* return once the container is started */
    const char *host; /* the Docker host the row records (placement's choice); NULL = local */
} lc_create_request;

/*
 * ops_create: validates (LC_EUSAGE, nothing written), checks the engine
 * answers (LC_EENGINE, nothing written), inserts the row in `creating`, then
 * runs the steps image, volume, container, secrets, start, running, database.
 * A failing step leaves status error with "create failed at step S: ..." and
 * returns LC_EFAILED. An error row of the same name left by a create that
 * failed before any Docker object existed is retired first (issue 13). With no_wait, a detached
 * child process finishes the steps after `start` under the lease while this call returns LC_OK with
 * the row still creating. *out holds the row as it ended.
 */
lc_err ops_create(lc_ops *o, const lc_create_request *req, lc_instance *out, lc_diag *d);

/* ops_action options. */
typedef struct lc_action_options {
    const char *reason;       /* --reason, recorded in the history detail */
    const char *backup_id;    /* restore: --backup (id or prefix); NULL = the newest */
    const char *odoo_version; /* update: --odoo-version */
    const char *image;        /* update: --image; NULL = the current repository, new tag */
    bool major;               /* update: --major allows another major version */
    bool no_final_backup;     /* terminate: --no-final-backup */
    const char *to;           /* move: --to HOST */
    const char *from_file;    /* restore: --from FILE, a backup file to import and restore */
    bool no_safety_backup;    /* restore: --no-safety-backup */
    const char *new_name;     /* clone: the new instance's name */
    bool neutralize;          /* clone: --neutralize */
} lc_action_options;

/* What an action did besides its status. */
typedef struct lc_action_result {
    bool already;   /* nothing to do: the target was the current status (or hold) */
    char note[256]; /* what else to tell the operator, "" when nothing */
} lc_action_result;

/*
 * ops_run_action: the lease path (DESIGN §2). Runs action id on the
 * instance named by ref (id, prefix or name): first finishes or rolls back an
 * operation whose holder died, then takes the lease (waiting up to
 * o->wait_seconds), records the operation, runs its handler and writes the
 * outcome, history and lease release in one transaction at one exit point. res->already is set when
 * there was nothing to do (nothing written, LC_OK). Errors: LC_ENOTFOUND, LC_ENOTALLOWED (d names
 * the status and the allowed actions), LC_EBUSY, LC_EENGINE when the engine does not answer before
 * anything is done (nothing written), LC_EFAILED (status recorded as it ended; suspend and
 * terminate write their status even when Docker then fails, and reconcile enforces it), LC_EINTR (a
 * signal stopped it at a safe point; rolled back as an interrupted operation). *out: the row
 * afterwards.
 */
lc_err ops_run_action(lc_ops *o, const char *ref, lc_action_id id, const lc_action_options *opt,
                      lc_instance *out, lc_action_result *res, lc_diag *d);

typedef enum lc_billing_outcome {
    BILLING_OUT_APPLIED,   /* the change was made; the id stored with it */
    BILLING_OUT_NOOP,      /* already in the target state; recorded */
    BILLING_OUT_STALE,     /* older than the last event applied to the instance; recorded */
    BILLING_OUT_IGNORED,   /* a type we do not act on, or no instance id; recorded */
    BILLING_OUT_DUPLICATE, /* this event id was handled before; nothing done */
} lc_billing_outcome;

/* lc_billing_outcome_name: "applied", "noop", "stale", "ignored", "duplicate". */
const char *lc_billing_outcome_name(lc_billing_outcome o);

/*
 * ops_billing_event: applies one parsed, already authenticated billing
 * event (DESIGN §4): payment failed sets the billing hold, paid clears it,
 * cancelled terminates. The instance is found by its exact id only (never
 * a name or prefix: a wrong metadata value must not hit another instance).
 * Stale: older than the newest event applied or found already in effect. The event id is stored in
 * the same transaction as the change, or alone for a no-op, stale or ignored event. Not stored when
 * the result is an error: LC_ENOTFOUND (unknown instance), LC_EBUSY
 * (creating, updating or a live lease: the sender should retry),
 * LC_EENGINE (engine unreachable before anything was done). LC_EFAILED when
 * Docker failed after the status was written (stored; reconcile enforces).
 * *outcome and detail (len bytes) say what happened; *out is the row.
 */
lc_err ops_billing_event(lc_ops *o, const lc_billing_event *ev, lc_billing_outcome *outcome,
                         char *detail, size_t len, lc_instance *out, lc_diag *d);

/*
 * ops_prune_backups: under the instance's lease, removes all but the newest
 * `keep` backups (files and rows) of the instance named ref; keep 0 keeps
 * all. *removed counts them. LC_EFAILED when a file cannot be removed.
 */
lc_err ops_prune_backups(lc_ops *o, const char *ref, int keep, size_t *removed, lc_diag *d);

/*
 * ops_retry_termination: for a terminated row whose final backup is
 * pending (reconcile's retry): takes the lease, backs up, then drops the
 * volume and the database. LC_EBUSY when the lease is held.
 */
lc_err ops_retry_termination(lc_ops *o, const char *id, lc_diag *d);

/*
 * ops_recover_if_dead: when row *in records an operation whose holder is
 * dead (or gone without a lease), takes the lease, recovers it and saves
 * (history cause `cause`), releasing the lease; *in is the row afterwards.
 * LC_OK when there was nothing to do. *recovered says whether it did.
 */
lc_err ops_recover_if_dead(lc_ops *o, lc_instance *in, const char *cause, bool *recovered,
                           lc_diag *d);

/*
 * ops_engine_for_host: THE place that picks an engine for a Docker host
 * (issue 11). host "" or "local": o->local (the configuration's engine);
 * any other: the cached client, else one opened from its hosts row
 * (lc_host_engine_open) and cached until ops_close_engines. *out borrowed.
 * Errors: LC_ENOTFOUND (no such host), LC_ECONFIG (bad TLS material),
 * LC_ENOMEM / LC_EFAILED when the cache is full.
 */
lc_err ops_engine_for_host(lc_ops *o, const char *host, lc_engine **out, lc_diag *d);

/* ops_engine_for: ops_engine_for_host for the host row in records. */
lc_err ops_engine_for(lc_ops *o, const lc_instance *in, lc_engine **out, lc_diag *d);

/* ops_use_host: o->engine becomes the engine of in's host (every command on a row calls it). */
lc_err ops_use_host(lc_ops *o, const lc_instance *in, lc_diag *d);

/* ops_close_engines: closes the cached engines of other hosts; o->engine goes back to local. */
void ops_close_engines(lc_ops *o);

/* lc_container_name_for: "odoo_<database>_<first 8 of id>". */
void lc_container_name_for(const char *database, const char *id, char *out, size_t len);

#endif
