/*
 * derive_instance_status_from_docker (DESIGN §3): the pure mapping from an
 * instance's business status and what Docker reports about its container to
 * the verdict reconcile acts on. No I/O; `now` is an argument.
 */
#ifndef LC_DERIVE_H
#define LC_DERIVE_H

#include <stdbool.h>
#include <time.h>

#include "types.h"
#include "status.h"

#define LC_CRASH_LOOP_RESTARTS 5   /* restart count rise that makes a crash loop */
#define LC_CRASH_LOOP_WINDOW_S 600 /* ... within this many seconds */
#define LC_REMOVING_GRACE_S 600    /* `removing` longer than this is an error */
#define LC_ERROR_RECOVERY_UP_S 60  /* error -> running once up this long */

/*
 * The observation columns carried from one pass to the next (instances.obs_*).
 * All times are Unix seconds, 0 = never/unset.
 */
typedef struct lc_obs_memory {
    lc_container_state state;    /* last observed state, CONTAINER_UNKNOWN when none */
    int exit_code;               /* last observed exit code */
    char health[16];             /* last observed health */
    int restart_count;           /* last observed RestartCount */
    int restart_base;            /* RestartCount when the current window began */
    time_t restart_window_start; /* when the current crash-loop window began */
    time_t first_seen;           /* when `state` was first observed (removing grace) */
    time_t observed_at;          /* when this observation was made */
} lc_obs_memory;

/* The limits of the rules around the table (seconds, restarts); 0 = the default above. */
typedef struct lc_derive_limits {
    int crash_loop_restarts;
    int crash_loop_window_s;
    int removing_grace_s;
    int error_recovery_up_s;
} lc_derive_limits;

typedef struct lc_derive_in {
    InstanceStatus status;
    InstanceStatus previous_status; /* for updating: the status to go back to */
    bool hold_billing, hold_operator;
    time_t op_deadline;         /* creating/updating operation deadline, 0 = none */
    const char *op_step;        /* the step in flight ("start"), may be NULL */
    bool lease_live;            /* an action holds a live lease right now */
    const char *container_name; /* for messages */
    const char *error_message;  /* the row's current message, may be NULL */
    bool error_from_op;         /* that message was written by a failed operation: never lifted, nor
                                   replaced when the container is missing */
    const lc_observation *obs;  /* now; obs->state == CONTAINER_MISSING when gone */
    lc_obs_memory prev;         /* the row's observation columns */
    time_t now;
    const lc_derive_limits *limits; /* NULL = the defaults */
} lc_derive_in;

typedef enum lc_verdict {
    VERDICT_KEEP,    /* status stays */
    VERDICT_CHANGE,  /* status becomes out->status */
    VERDICT_ENFORCE, /* status stays; Docker is made to match it (out->enforce) */
} lc_verdict;

typedef enum lc_enforcement {
    ENFORCE_NONE,
    ENFORCE_STOP,   /* stop the container (suspended, crash loop) */
    ENFORCE_REMOVE, /* remove the container (terminated leftovers) */
} lc_enforcement;

typedef struct lc_derive_out {
    lc_verdict verdict;
    InstanceStatus status; /* the status after this pass */
    bool set_message;      /* write error_message (an empty one clears it) */
    char error_message[256];
    lc_enforcement enforce; /* with VERDICT_ENFORCE, or with a CHANGE that also stops */
    bool note;              /* log this decision even when it is a plain keep */
    bool needs_confirm;     /* verdict rests on missing/dead: confirm by a fresh inspect */
    char reason[256];       /* for the logfmt line: "container paused (transient)" */
    lc_obs_memory next;     /* the observation columns to store */
} lc_derive_out;

/*
 * derive_instance_status_from_docker: applies the table and rules of DESIGN
 * §3 to *in and fills *out completely. Never fails; an unknown container
 * state keeps the status and sets note.
 */
void derive_instance_status_from_docker(const lc_derive_in *in, lc_derive_out *out);

/* lc_verdict_name: "keep", "change", "enforce". */
const char *lc_verdict_name(lc_verdict v);

#endif
