/* The operations layer's internals: the lease path, steps, recovery and the action handlers. */
#ifndef LC_OPS_INTERNAL_H
#define LC_OPS_INTERNAL_H

#include <pthread.h>

#include "action.h"
#include "ops.h"

#define LC_SECRET_DIR "/run/instctl"
#define LC_SECRET_NAME "db_password"
#define LC_ODOO_RC_NAME "odoo.conf" /* the per-instance Odoo configuration (tenant.h) */

/*
 * ops_step: records the step about to run (and the journal's objects, the
 * row's container, volume and image as they stand) in the store under the
 * caller's lease BEFORE its side effect, then reports progress. Returns
 * LC_EINTR when a signal asked to stop (the safe point), LC_ESTORE/LC_EBUSY
 * when the record cannot be written (the side effect must not happen).
 */
lc_err ops_step(lc_ops *o, lc_instance *in, const char *step, lc_diag *d);

/*
 * ops_new_row_creating: the part of a new row (create, clone) that the
 * making of an instance decides: container name (from its database name
 * and id, lc_container_name_for) and first volume generation (_g1);
 * status creating with no hold history; first step first_step, the
 * deadline create_timeout seconds from now, and the journal's operation
 * kind (ACT_CREATE or ACT_CLONE: recovery rolls both back as a create).
 * in's id and database name must be set.
 */
void ops_new_row_creating(const lc_ops *o, lc_instance *in, lc_action_id kind,
                          const char *first_step);

/*
 * ops_take_lease: store_lease_take, retried every 200 ms for up to
 * o->wait_seconds while another live holder has it.
 */
lc_err ops_take_lease(lc_ops *o, const char *id, lc_instance *fresh, lc_diag *d);

/*
 * ops_make_container: creates the container for row *in from its image and
 * volume (labels, env, network), places the secret files, and writes the new
 * id into in->container_id.
 */
lc_err ops_make_container(lc_ops *o, lc_instance *in, lc_diag *d);

/*
 * ops_odoo_command: runs `odoo ARGS...` (args NULL-terminated, args[0] the
 * subcommand, e.g. "neutralize") to its end in a helper container made like
 * the instance's (image, volume, configuration and credentials), then
 * removes it. LC_EFAILED when it exits non-zero or outlasts create_timeout,
 * LC_EINTR after a signal, engine errors as they come.
 */
lc_err ops_odoo_command(lc_ops *o, const lc_instance *in, const char *const *args, lc_diag *d);

/* ops_image_owner: the uid:gid the image runs as (numeric Config.User, or its /etc/passwd). */
lc_err ops_image_owner(lc_ops *o, const lc_instance *in, unsigned *uid, unsigned *gid, lc_diag *d);

/* ---- tenant credentials (ops_credentials.c, DESIGN §6a) ---- */

/* ops_admin_pg: the admin login of the configuration as an lc_pg. */
void ops_admin_pg(const lc_ops *o, lc_pg *pg);

/*
 * ops_place_credentials: with a database server configured, sets a fresh
 * random password on the instance's role (created when missing, made owner
 * of its database when that exists, CONNECT revoked from PUBLIC) and places
 * the per-instance Odoo configuration (tenant_render_conf: that password, a
 * new random master password, dbfilter, list_db only while create has
 * still to ask Odoo for the database, i.e. status creating before step
 * "lock") in in->container_id as /run/instctl/odoo.conf, mode 0400, owned by
 * the image's user. LC_OK doing nothing without a database server. Called at
 * every container creation (ops_make_container) and by rotate-credentials;
 * a running Odoo needs a restart to use it.
 */
lc_err ops_place_credentials(lc_ops *o, lc_instance *in, lc_diag *d);

/* ops_read_master_password: admin_passwd from the configuration in the container (create). */
lc_err ops_read_master_password(lc_ops *o, const lc_instance *in, char *out, size_t cap,
                                lc_diag *d);

/* ops_role_createdb: grants (allow) or revokes CREATEDB of the instance's role. */
lc_err ops_role_createdb(lc_ops *o, const lc_instance *in, bool allow, lc_diag *d);

/* ops_drop_role: drops the instance's role (after its database); LC_OK without a server. */
lc_err ops_drop_role(lc_ops *o, const lc_instance *in, lc_diag *d);

/*
 * ops_wait_running: polls inspect until State.Status is running (and healthy
 * when the image has a HEALTHCHECK); LC_EFAILED when it exits or deadline
 * (Unix seconds) passes. *obs holds the last inspect.
 */
lc_err ops_wait_running(lc_ops *o, lc_instance *in, time_t deadline, lc_observation *obs,
                        lc_diag *d);

/*
 * ops_record_start: stores the observation baseline after an instctl start
 * (crash-loop window) and takes Odoo's published port into in->odoo_port
 * (Docker chooses it at each start; saved with the row).
 */
void ops_record_start(lc_ops *o, lc_instance *in, const lc_observation *obs);

/*
 * A lease keepalive: a thread with its own SQLite connection extends the
 * caller's lease on instance id every third of lease_seconds while a long
 * operation runs (a backup of a large volume, a pg_dump, an image pull).
 */
typedef struct ops_keepalive {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop, running;
    char id[37];
    char path[4096];
    int seconds;
} ops_keepalive;

void ops_keepalive_start(lc_ops *o, const char *id, ops_keepalive *k);
void ops_keepalive_stop(ops_keepalive *k);

/*
 * ops_odoo_endpoint: where instctl calls Odoo (issue 11): on a host with a
 * published port, that host's address (lc_host_address) and the port;
 * else the container's address (obs->ip) and 8069. Address into addr;
 * returns the port.
 */
int ops_odoo_endpoint(lc_ops *o, const lc_instance *in, const lc_observation *obs, char *addr,
                      size_t len);

/* ops_observe_now: inspects the row's container and stores it as the last observation. */
void ops_observe_now(lc_ops *o, const lc_instance *in);

/* Who asked for an action, and what to record with it. */
typedef struct act_ctx {
    const char *cause;            /* action | billing | reconcile */
    const char *detail;           /* history detail */
    const lc_billing_record *ev;  /* stored with the first write of a change, or NULL */
    bool billing;                 /* the billing side (its hold) rather than the operator's */
    const lc_action_options *opt; /* the command's options, may be NULL */
    InstanceStatus saved;         /* the status as last written with its history */
    bool record;                  /* the data, holds or version changed: a history row even when
                                     the status stays (handlers set it; ops_conclude writes it) */
    char note[200];               /* what changed, for that history row ("backup 1a2b3c4d") */
} act_ctx;

/*
 * ops_checkpoint: writes the row's status (with its history row from
 * ctx->saved, and ctx->ev when set) keeping the lease; for the decisions
 * written before their side effects (suspend, terminate, updating).
 */
lc_err ops_checkpoint(lc_ops *o, lc_instance *in, act_ctx *ctx, lc_diag *d);

/*
 * ops_locked_action: THE lease path's second half. The caller holds the
 * lease on *in (fresh). Decides "already"/not allowed (releasing the
 * lease), else records the operation (kind, status it began from), keeps the
 * lease alive, runs the handler and ends at ops_conclude. Used by the CLI
 * path (ops_run_action) and billing events.
 */
lc_err ops_locked_action(lc_ops *o, const lc_action *a, lc_instance *in, act_ctx *ctx,
                         lc_action_result *res, lc_diag *d);

/*
 * ops_recover: ends the operation recorded on *in (whose lease the caller
 * holds) as lc_recovery_decide says: containers removed or renamed back, a
 * leftover volume removed, the backup directory's temporary files removed,
 * a termination continued; *in updated (status, message, container, journal
 * cleared). interrupted: a signal stopped it; why: the failure, or "".
 * The caller saves the row. Errors: LC_EENGINE when Docker cannot be asked
 * (nothing done; the journal stays for the next try).
 */
lc_err ops_recover(lc_ops *o, lc_instance *in, bool interrupted, const char *why, lc_diag *d);

/*
 * ops_recover_cleanup: after a failed operation whose handler chose its
 * status: only the leftovers go (containers other than the row's, a volume
 * not switched to, temporary files; a failed create's container stopped).
 */
lc_err ops_recover_cleanup(lc_ops *o, lc_instance *in, lc_diag *d);

/*
 * ops_conclude: the one exit point of an operation under the lease (used by
 * ops_locked_action and create): rolls back an interrupted one, cleans up a
 * failed one, clears the journal and writes row, history and lease release
 * in one transaction. Returns e, or LC_EINTR / a store error.
 */
lc_err ops_conclude(lc_ops *o, lc_instance *in, act_ctx *ctx, lc_err e, lc_diag *d);

/* ops_clean_temp: removes the instance's temporary backup and restore files. */
void ops_clean_temp(lc_ops *o, const char *instance_id);

/* ops_not_allowed: LC_ENOTALLOWED naming the status and the allowed actions. */
lc_err ops_not_allowed(const lc_ops *o, const char *action, const lc_instance *in, lc_diag *d);

/* ops_target: what backup_write/restore need for instance in. */
void ops_target(lc_ops *o, const lc_instance *in, lc_backup_target *t);

/* ops_backup_now: writes a backup of kind (manual | pre-update | final) and records it in *row. */
lc_err ops_backup_now(lc_ops *o, const lc_instance *in, const char *kind, lc_backup_row *row,
                      lc_diag *d);

/*
 * ops_restore_into_new_volume: fills the next volume generation from the
 * backup at path, restores its database dump, replaces the container by one
 * (not started) on the new volume, then removes the old volume. in's
 * volume_name and container_id follow; in->op_step names the step reached.
 * volume_database: the database the backup's volume was made under; when
 * set and not in's, Odoo's filestore follows in's name (backup.h, issue 13);
 * NULL or "" leaves the volume as it is.
 */
lc_err ops_restore_into_new_volume(lc_ops *o, lc_instance *in, const char *path,
                                   const char *volume_database, lc_diag *d);

/*
 * ops_finish_termination: for a terminated row: removes the container, then
 * (when final_backup) takes the final backup and only after it succeeded
 * drops the volume and the database. Sets in->final_backup_pending and
 * in->error_message accordingly; the caller saves the row.
 */
lc_err ops_finish_termination(lc_ops *o, lc_instance *in, bool final_backup, lc_diag *d);

/*
 * ops_update_check: update's arguments (DESIGN §2): a valid version, a valid
 * image, the same major unless --major. LC_EUSAGE, before any Docker call.
 * An update to the version and image the instance already runs sets
 * res->already (when res is not NULL) and its note.
 */
lc_err ops_update_check(const lc_instance *in, const lc_action_options *opt, lc_action_result *res,
                        lc_diag *d);

/*
 * The handlers of the action table (lib/action.c). Each runs under the
 * lease with the operation recorded, calls ops_step before each side
 * effect, sets in->status / error_message to how it ended and returns:
 * LC_OK; LC_EFAILED (status as it ended); LC_EENGINE before any change;
 * LC_EINTR at a safe point after a signal (ops_conclude rolls back).
 * None of them saves the final row or releases the lease: ops_conclude does.
 */
#define ACTION_HANDLER(fn)                                                                         \
    lc_err fn(lc_ops *o, lc_instance *in, act_ctx *ctx, lc_action_result *res, lc_diag *d)
ACTION_HANDLER(ops_act_start);
ACTION_HANDLER(ops_act_stop);
ACTION_HANDLER(ops_act_restart);
ACTION_HANDLER(ops_act_suspend);
ACTION_HANDLER(ops_act_unsuspend);
ACTION_HANDLER(ops_act_backup);
ACTION_HANDLER(ops_act_restore);
ACTION_HANDLER(ops_act_update);
ACTION_HANDLER(ops_act_maintenance);
ACTION_HANDLER(ops_act_end_maintenance);
ACTION_HANDLER(ops_act_terminate);
ACTION_HANDLER(ops_act_rotate_credentials);
ACTION_HANDLER(ops_act_move);

/*
 * ops_move_check: move's argument (issue 11), before the lease: --to names
 * a host (LC_EUSAGE when missing, LC_ENOTFOUND when unknown) that takes
 * new instances by placement's rules (LC_ENOTALLOWED: drained or full).
 * The instance's own host sets res->already and its note.
 */
lc_err ops_move_check(lc_ops *o, const lc_instance *in, const lc_action_options *opt,
                      lc_action_result *res, lc_diag *d);

/*
 * ops_fresh_volume: the name of an empty next generation of in's volume on
 * engine e (a leftover of an interrupted restore or move removed first).
 */
lc_err ops_fresh_volume(lc_engine *e, const lc_instance *in, char *out, size_t len, lc_diag *d);
ACTION_HANDLER(ops_act_clone);

#endif
