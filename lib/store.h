/*
 * The SQLite store (DESIGN §5): schema and forward-only migrations, the
 * instance rows, their history, leases and the observation columns that
 * reconcile keeps. One lc_store per process; not thread-safe.
 */
#ifndef LC_STORE_H
#define LC_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "derive.h"
#include "journal.h"
#include "lc.h"
#include "status.h"

#define LC_SCHEMA_VERSION 8

/* Who holds a lease: enough to tell whether that process still lives. */
typedef struct lc_lease_holder {
    char host[256];
    long pid;
    unsigned long long
        start;     /* process start time, clock ticks after boot (/proc/PID/stat field 22) */
    char boot[40]; /* /proc/sys/kernel/random/boot_id */
} lc_lease_holder;

typedef struct lc_instance {
    char id[37]; /* UUID */
    char name[64];
    char admin_email[256];
    char database_name[64];
    char odoo_version[33];
    char image[256];
    char container_id[65]; /* "" before the container exists */
    char container_name[160];
    char volume_name[160];
    InstanceStatus status;
    bool hold_billing, hold_operator;
    int suspended_from;  /* InstanceStatus or -1 */
    int previous_status; /* InstanceStatus to return to after updating, or -1 */
    char error_message[512];
    long long version;     /* bumped by every lease taken and every status write */
    lc_lease_holder lease; /* lease.pid == 0: no lease */
    time_t lease_deadline;
    char op_step[32];   /* the step in flight ("volume"), "" when none */
    time_t op_deadline; /* creating/updating deadline, 0 = none */
    lc_obs_memory obs;  /* observation columns (never the status) */
    time_t obs_started_at;
    time_t created_at, updated_at;
    bool final_backup_pending; /* terminated, volume and database kept until a final backup */
    lc_op_journal op;   /* the operation in flight (op.kind ACT_NONE: none); op_step is its step */
    bool error_from_op; /* error_message was written by a failed operation, not by reconcile */
    char host[64];      /* the Docker host it runs on (hosts.name); "" = LC_HOST_LOCAL */
    int odoo_port;      /* Odoo's 8069 as published on a remote host's address; 0 = not published */
} lc_instance;

typedef struct lc_history {
    time_t at;
    int from; /* InstanceStatus or -1 for the first row */
    InstanceStatus to;
    char cause[16]; /* action | reconcile | billing */
    char detail[256];
} lc_history;

typedef struct lc_store lc_store;

/* store_open flags. */
enum {
    STORE_CREATE = 1 << 0, /* create a missing database (init, create); else it must exist */
};

/*
 * store_open: opens the database at path (absolute or relative to the
 * working directory), sets WAL, foreign keys and a 5 s busy timeout,
 * applies pending migrations (one transaction each) and reads the store
 * uuid. With STORE_CREATE in flags a missing database is created, mode
 * 0600 (its -wal and -shm files too), with its parent directories (0750);
 * without it a missing database is an error, so a mistyped path never
 * yields an empty store. LC_ESTORE naming the path when it does not exist,
 * "permission denied: PATH (...)" when this user cannot read and write the
 * database, its -wal/-shm files or its directory (SQLite would only say
 * "unable to open database file"), when SQLite fails, or when the schema
 * is newer than this build.
 */
lc_err store_open(const char *path, unsigned flags, lc_store **out, lc_diag *d);
void store_close(lc_store *s);

/*
 * store_before_fork / store_after_fork: SQLite connections must not cross
 * fork(), so the connection is closed before it and opened again after it,
 * in parent and child alike; the handle s stays valid. store_after_fork
 * also takes the calling process's identity for leases. LC_ESTORE when
 * reopening fails (the handle is then unusable).
 */
void store_before_fork(lc_store *s);
lc_err store_after_fork(lc_store *s, lc_diag *d);

/* lc_new_uuid: a random (version 4) UUID, 36 characters plus NUL, from /dev/urandom. */
void lc_new_uuid(char out[37]);

/* store_uuid: this store's uuid (labels io.instctl.store); owned by s. */
const char *store_uuid(const lc_store *s);
/* store_path: the database file path; owned by s. */
const char *store_path(const lc_store *s);

/* lc_lease_self: the identity of the calling process. */
void lc_lease_self(lc_lease_holder *h);
/*
 * lc_lease_holder_alive: false when h is known dead (same host and boot, and
 * the pid is gone or has another start time; or same host and another boot);
 * true otherwise, including another host, which cannot be checked.
 */
bool lc_lease_holder_alive(const lc_lease_holder *h);
/* lc_lease_live: the row has a lease whose deadline is after now and whose holder is alive. */
bool lc_lease_live(const lc_instance *in, time_t now);

/* store_get: the row with exactly this id; LC_ENOTFOUND when none. */
lc_err store_get(lc_store *s, const char *id, lc_instance *out, lc_diag *d);

/*
 * store_resolve: ref is an id, a unique id prefix (>= 4 characters) or a
 * name (the live instance of that name, else the most recently terminated).
 * LC_ENOTFOUND when nothing matches, LC_EUSAGE when a prefix is ambiguous.
 */
lc_err store_resolve(lc_store *s, const char *ref, lc_instance *out, lc_diag *d);

/*
 * store_list: rows ordered by name; terminated ones only when all is true;
 * only status `only` when only >= 0. *out malloc'd (free()), *n entries.
 */
lc_err store_list(lc_store *s, bool all, int only, lc_instance **out, size_t *n, lc_diag *d);

/*
 * store_list_each: the rows of store_list handed to fn one at a time (the
 * row is valid during the call only), so 10,000 rows never sit in memory
 * together; fn returns false to stop early (still LC_OK). brief: only id,
 * name, odoo_version, status, host and the observation's state, exit code
 * and time are read (the rest left empty), what a table of rows shows.
 */
typedef bool (*lc_row_fn)(void *arg, const lc_instance *row);
lc_err store_list_each(lc_store *s, bool all, int only, bool brief, lc_row_fn fn, void *arg,
                       lc_diag *d);

/*
 * store_list_widths: what a table of the rows needs before it streams
 * (store_list_each) rather than holding 10,000 rows to learn it, without
 * reading a row: *name the longest instance name (characters) of any row,
 * terminated ones included (the name index alone answers), *host the
 * longest Docker host name and *hosts how many hosts the store has. 0 for
 * none.
 */
lc_err store_list_widths(lc_store *s, int *name, int *host, int *hosts, lc_diag *d);

/*
 * store_insert: a new row in status creating, its first history row, and a
 * lease held by the caller, in one transaction. LC_EUSAGE when the name or
 * the database name is taken by a live instance.
 */
lc_err store_insert(lc_store *s, const lc_instance *in, int lease_seconds, lc_diag *d);

/*
 * store_lease_take: takes the lease on row id for lease_seconds (bumping
 * the version) unless another live holder has it: LC_EBUSY with the holder
 * named. A lease whose holder is dead or whose deadline passed is broken.
 * On success *fresh holds the row as of the lease.
 */
lc_err store_lease_take(lc_store *s, const char *id, int lease_seconds, lc_instance *fresh,
                        lc_diag *d);
/*
 * store_lease_adopt: makes the caller the holder of the lease that `from`
 * holds on row id (a detached child taking over its parent's operation).
 * LC_EBUSY when `from` no longer holds it.
 */
lc_err store_lease_adopt(lc_store *s, const char *id, const lc_lease_holder *from, int seconds,
                         lc_diag *d);
/*
 * store_lease_break: clears the lease that `dead` holds on row id (the
 * caller checked the holder is dead); the version is not bumped.
 */
lc_err store_lease_break(lc_store *s, const char *id, const lc_lease_holder *dead, lc_diag *d);
/* store_holder: the identity this handle writes into leases. */
const lc_lease_holder *store_holder(const lc_store *s);
/* store_lease_extend: moves the caller's lease deadline to now + seconds. */
lc_err store_lease_extend(lc_store *s, const char *id, int seconds, lc_diag *d);
/* store_lease_release: drops the caller's lease without other changes. */
lc_err store_lease_release(lc_store *s, const char *id, lc_diag *d);

/*
 * store_save: writes the mutable fields of *in (status, container id/name,
 * volume, image, version, holds, suspended_from, previous_status, message,
 * op step and deadline) in one transaction, plus a history row (cause,
 * detail) when the status differs from `from`; releases the caller's lease
 * when release is true. Only the lease holder may save: LC_EBUSY otherwise.
 */
lc_err store_save(lc_store *s, const lc_instance *in, InstanceStatus from, const char *cause,
                  const char *detail, bool release, lc_diag *d);

/*
 * store_journal: records the operation in flight on row in->id under the
 * caller's lease: op kind, the status it began from, step, deadline, the
 * journal's objects, and the container, volume, image and version the row
 * points at. Never the status, holds or message (those go with their
 * history through store_save). LC_EBUSY when the caller lost the lease.
 */
lc_err store_journal(lc_store *s, const lc_instance *in, lc_diag *d);

/* One received billing event as stored (DESIGN §4); strings are borrowed. */
typedef struct lc_billing_record {
    const char *id;          /* the event id (Stripe's evt_...) */
    const char *type;        /* the event type as sent */
    const char *instance_id; /* NULL when the event named no instance */
    time_t created;          /* the event's `created`, Unix seconds */
    const char *outcome;     /* applied | noop | stale | ignored */
    const char *detail;      /* why, for people; may be NULL */
} lc_billing_record;

/* How an operation's outcome is written (store_write_outcome). */
typedef struct lc_outcome {
    InstanceStatus from;         /* the status as last written with its history */
    const char *cause;           /* action | reconcile | billing */
    const char *detail;          /* history detail, may be NULL */
    bool release;                /* release the caller's lease in the same transaction */
    bool history;                /* a history row even when the status stays: the instance's
                                    data, holds or version changed (backup, restore, update, holds) */
    const lc_billing_record *ev; /* a billing event stored with the change, or NULL */
} lc_outcome;

/*
 * store_write_outcome: store_save's row write plus, in the same
 * transaction, the history row (when the status differs from w->from, or
 * w->history), the billing event row (so an event is stored exactly when its
 * change is) and the lease release. LC_EBUSY when the caller lost the lease.
 */
lc_err store_write_outcome(lc_store *s, const lc_instance *in, const lc_outcome *w, lc_diag *d);

/* store_billing_seen: *outcome gets the stored outcome of event id ("" when never seen). */
lc_err store_billing_seen(lc_store *s, const char *id, char *outcome, size_t len, lc_diag *d);

/*
 * store_billing_last_applied: the newest `created` of the events applied to
 * the instance or found already in effect (noop), 0 if none: a paid event
 * that found no hold still makes an older payment failure stale.
 */
lc_err store_billing_last_applied(lc_store *s, const char *instance_id, time_t *created,
                                  lc_diag *d);

/* store_billing_record: stores an event that changes nothing (noop, stale, ignored). */
lc_err store_billing_record(lc_store *s, const lc_billing_record *ev, lc_diag *d);

/* One row of the backups table. */
typedef struct lc_backup_row {
    char id[37];
    char instance_id[37];
    char path[4096];
    long long size;  /* bytes */
    char sha256[65]; /* of the whole file */
    char kind[16];   /* manual | pre-update | final | imported | safety | clone */
    time_t created_at;
} lc_backup_row;

/* store_backup_add: records a written backup (row->id is generated when empty). */
lc_err store_backup_add(lc_store *s, lc_backup_row *row, const char *parts_json, lc_diag *d);

/* store_backup_list: the instance's backups, newest first; *out malloc'd (free()). */
lc_err store_backup_list(lc_store *s, const char *instance_id, lc_backup_row **out, size_t *n,
                         lc_diag *d);

/*
 * store_backup_get: the backup with this id (or unique id prefix) of the
 * instance; LC_ENOTFOUND when none.
 */
lc_err store_backup_get(lc_store *s, const char *instance_id, const char *id, lc_backup_row *out,
                        lc_diag *d);

/* store_backup_delete: forgets one backup row (the caller removed the file). */
lc_err store_backup_delete(lc_store *s, const char *id, lc_diag *d);

/* store_history: the row's history, oldest first; *out malloc'd (free()). */
lc_err store_history(lc_store *s, const char *id, lc_history **out, size_t *n, lc_diag *d);

/*
 * store_stats: counts[status] for all 8 statuses (zeros included), of every
 * row when host is NULL, else of the rows on that Docker host ("local" for
 * the local one) that are not terminated (issue 11's per-host figures),
 * counted by SQLite without reading a row out.
 */
lc_err store_stats(lc_store *s, const char *host, long counts[INSTANCE_STATUS_COUNT], lc_diag *d);

/* store_schema_version: PRAGMA user_version of the open database. */
int store_schema_version(lc_store *s);

/* Reconcile's writes, grouped into one transaction by begin/commit. */
lc_err store_begin(lc_store *s, lc_diag *d);
lc_err store_commit(lc_store *s, lc_diag *d);
void store_rollback(lc_store *s);

/*
 * store_reconcile_write: applies a derive verdict to row id only if its
 * version is still `version` and no live lease is held (compare-and-set):
 * the observation columns always, and when out->verdict is a change the
 * status, message and a history row (cause reconcile). *applied is false
 * when the compare-and-set lost (an action committed meanwhile).
 */
lc_err store_reconcile_write(lc_store *s, const char *id, long long version,
                             const lc_derive_out *out, bool *applied, lc_diag *d);

/* store_observe: writes only the observation columns (no version check). */
lc_err store_observe(lc_store *s, const char *id, const lc_obs_memory *obs, time_t started_at,
                     lc_diag *d);

/* ---- Docker hosts (DESIGN §7a, issue 11): store_hosts.c ---- */

/* The host whose engine is the configuration's docker_host; every row is on it by default. */
#define LC_HOST_LOCAL "local"

/* One row of the hosts table. Strings are "" when unset. */
typedef struct lc_host {
    char name[64];
    char docker_host[1024]; /* unix:///path or tcp://HOST:PORT; "" for local (configuration) */
    char tls_ca[1024];      /* TLS material of a tcp:// engine: CA, client certificate, key */
    char tls_cert[1024];
    char tls_key[1024];
    char address[256]; /* where its published ports are reached; "" = the URL's host part */
    int max_instances; /* 0 = no limit */
    bool drained;      /* no new placements */
    time_t created_at; /* Unix seconds */
    long instances;    /* read only: rows on it that are live or wait for a final backup */
} lc_host;

/*
 * lc_validate_host_name: 1 to 63 of [a-z0-9_.-], starting with a letter or
 * digit. LC_EUSAGE naming the bad name otherwise.
 */
lc_err lc_validate_host_name(const char *name, lc_diag *d);

/*
 * store_host_add: a new hosts row from *h (name validated; max_instances
 * >= 0; drained and instances ignored; created_at = now). LC_EUSAGE when
 * the name, or another host's docker_host, is taken, or a field is bad
 * (the local row exists from the migration on).
 */
lc_err store_host_add(lc_store *s, const lc_host *h, lc_diag *d);

/* store_host_get: the host named name into *out; LC_ENOTFOUND when none. */
lc_err store_host_get(lc_store *s, const char *name, lc_host *out, lc_diag *d);

/*
 * store_host_list: every host, local first then by name, each with its
 * instance count. *out malloc'd (free()), *n entries (at least local).
 */
lc_err store_host_list(lc_store *s, lc_host **out, size_t *n, lc_diag *d);

/* store_host_set_drained: sets or clears the drained flag; LC_ENOTFOUND when no such host. */
lc_err store_host_set_drained(lc_store *s, const char *name, bool drained, lc_diag *d);

/*
 * store_host_remove: deletes the host, in one transaction with the check
 * that nothing is on it. LC_ENOTFOUND when no such host; LC_ENOTALLOWED
 * for local (it is the configuration's docker_host) and for a host that
 * still has instances (live, or terminated awaiting a final backup).
 */
lc_err store_host_remove(lc_store *s, const char *name, lc_diag *d);

/* ---- figures kept between runs for the metrics file (issue 12) ---- */

/* The name under which a full reconcile pass records when it ran (Unix s). */
#define LC_METRIC_PASS_AT "reconcile_pass_at"

/* store_metric_set: sets figure name to value (with the time it was set). */
lc_err store_metric_set(lc_store *s, const char *name, double value, lc_diag *d);

/* One stored figure. */
typedef struct lc_metric_row {
    char name[64];
    double value;
} lc_metric_row;

/* store_metrics: every stored figure, by name; *out malloc'd (free()). */
lc_err store_metrics(lc_store *s, lc_metric_row **out, size_t *n, lc_diag *d);

/* The newest backup of one live instance (created_at 0: none). */
typedef struct lc_backup_age {
    char id[37];
    char name[64];
    time_t newest;
    long long size; /* bytes of the newest backup, -1 when there is none */
} lc_backup_age;

/*
 * store_backup_ages: every live (not terminated) instance with its newest
 * backup's time and size, by name, in one query; *out malloc'd (free()).
 */
lc_err store_backup_ages(lc_store *s, lc_backup_age **out, size_t *n, lc_diag *d);

#endif
