/*
 * The lifecycle actions (DESIGN §2): create, start, stop, restart,
 * terminate. Each takes the instance's lease in a short transaction, makes
 * its Docker calls outside any transaction, and writes status, history and
 * the lease release in one transaction at the end.
 */
#ifndef LC_OPS_H
#define LC_OPS_H

#include <stdbool.h>

#include "config.h"
#include "engine.h"
#include "status.h"
#include "store.h"

typedef struct lc_ops {
    lc_store *store;
    lc_engine *engine;
    const lc_config *cfg;
    int wait_seconds; /* how long to wait for another holder's lease; 0 = fail at once (exit 5) */
    void (*progress)(void *arg, const char *step); /* called as each step begins; may be NULL */
    void *progress_arg;
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
} lc_create_request;

/*
 * ops_create: validates (LC_EUSAGE, nothing written), checks the engine
 * answers (LC_EENGINE, nothing written), inserts the row in `creating`, then
 * runs the steps image, volume, container, secrets, start, running, database.
 * A failing step leaves status error with "create failed at step S: ..." and
 * returns LC_EFAILED. With no_wait, a detached child process finishes the
 * steps after `start` under the lease while this call returns LC_OK with the
 * row still creating. *out holds the row as it ended.
 */
lc_err ops_create(lc_ops *o, const lc_create_request *req, lc_instance *out, lc_diag *d);

/* ops_action options. */
typedef struct lc_action_options {
    const char *reason; /* --reason, recorded in the history detail */
} lc_action_options;

/*
 * ops_run_action: runs action a on the instance named by ref (id, prefix or
 * name). *already is set when the target was the current status (nothing
 * written, LC_OK). Errors: LC_ENOTFOUND, LC_ENOTALLOWED (d names the status
 * and the allowed actions), LC_EBUSY, LC_EENGINE (nothing written),
 * LC_EFAILED (status recorded as it ended; for terminate the status is
 * terminated and reconcile finishes the removal). *out: the row afterwards.
 */
lc_err ops_run_action(lc_ops *o, const char *ref, const lc_action *a, const lc_action_options *opt,
                      lc_instance *out, bool *already, lc_diag *d);

/* lc_container_name_for: "odoo_<database>_<first 8 of id>". */
void lc_container_name_for(const char *database, const char *id, char *out, size_t len);

#endif
