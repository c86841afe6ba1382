/*
 * The operation journal (DESIGN §2, "each step recorded before it
 * happens"): what an action in flight is about to create or remove, stored
 * on the instance's row with its lease, and the pure decision of how an
 * operation whose holder died (or was interrupted) is finished or rolled
 * back. No I/O here: ops_recover.c gathers what Docker shows and carries
 * the plan out.
 */
#ifndef LC_JOURNAL_H
#define LC_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "status.h"

/* The objects an operation in flight works on. All "" / false when unused. */
typedef struct lc_op_journal {
    lc_action_id kind;       /* ACT_NONE: no operation in flight */
    int from;                /* the status when it began (InstanceStatus), -1 unknown */
    char old_container[65];  /* the row's container when it began */
    char aside_name[160];    /* the name the old container was moved aside to */
    char new_volume[160];    /* a volume being made and filled, not yet the row's */
    char old_volume[160];    /* the row's volume before a switch, removed after it */
    char backup_path[1024];  /* update: the pre-update backup */
    char new_database[64];   /* restore: the database being filled, switched in by rename */
    char aside_database[64]; /* restore: the live database's name while it is switched out */
    char old_host[64];       /* move: the Docker host it leaves (the row's until the switch) */
    char new_host[64];       /* move: the Docker host it goes to (the row's after the switch) */
    bool switched;           /* the row points at the new container / volume */
    bool no_final_backup;    /* terminate --no-final-backup */
} lc_op_journal;

/*
 * lc_journal_makes_row: whether the operation is making its row's instance
 * (create, or the new instance of a clone: kind clone begun from creating);
 * such an operation ends in error when it does not finish (DESIGN §2).
 */
bool lc_journal_makes_row(const lc_op_journal *j);

/*
 * lc_journal_encode: the journal's objects as a JSON object (kind and step
 * are columns of their own) into buf (always NUL-terminated); false when it
 * does not fit. lc_journal_decode: the reverse; an empty or NULL text gives
 * an empty journal; false on malformed JSON (the journal is then emptied).
 */
bool lc_journal_encode(const lc_op_journal *j, char *buf, size_t len);
bool lc_journal_decode(const char *json, lc_op_journal *j);

/* One container labelled for the instance, as the engine listed it. */
typedef struct lc_recovery_container {
    char id[65];
    char name[128];
    lc_container_state state;
} lc_recovery_container;

/* The row and what Docker shows of it, the inputs of the decision. */
typedef struct lc_recovery_in {
    const lc_op_journal *op;
    const char *step;                        /* the step recorded last ("start"), "" when none */
    InstanceStatus status;                   /* the row's status now */
    const char *container_id;                /* the row's container_id now ("" none) */
    const char *container_name;              /* the row's container name */
    const char *volume_name;                 /* the row's volume */
    const lc_recovery_container *containers; /* every container labelled for the instance */
    size_t n_containers;
    bool interrupted; /* the holder was interrupted (a signal), not dead */
    const char *why;  /* the failure that ended it, "" when it died or was interrupted */
} lc_recovery_in;

#define LC_RECOVERY_MAX_REMOVE 8

typedef struct lc_recovery_plan {
    bool finished;         /* finished (true) or rolled back (false) */
    InstanceStatus status; /* the status to write */
    bool set_message;      /* write error_message */
    char error_message[512];
    bool error_from_op;         /* an error an operation wrote: reconcile never lifts it */
    char keep[65];              /* the row's container afterwards ("" = none) */
    bool rename_keep;           /* give it the row's container name back */
    bool start_keep, stop_keep; /* what to do with it */
    char remove[LC_RECOVERY_MAX_REMOVE][65]; /* containers to remove (force) */
    size_t n_remove;
    char remove_volume[160];   /* a volume to remove, "" none */
    bool database_back;        /* restore not switched: put the live database back, drop the new */
    char drop_database[64];    /* a database to drop afterwards ("" none) */
    bool continue_termination; /* terminate: carry on with the removal */
    char other_host[64];       /* move: the host whose copy goes ("" none): every container
                                  labelled for the instance there, and other_volume */
    char other_volume[160];    /* move: the volume removed on other_host ("" none) */
    char detail[300];          /* the history detail */
} lc_recovery_plan;

/*
 * lc_recovery_decide: how to end the operation in *in (DESIGN §2): create
 * -> error "create interrupted at step S" with its container stopped;
 * update -> the old container back under its name with the previous status
 * and the new one removed, or finished when the switch was recorded;
 * restore -> the old volume and database kept unless the switch was
 * recorded (the database renamed back when it was already swapped); move
 * (issue 11) -> before the switch the copy on the new host (its containers
 * and new volume) goes and the source is kept, started again when it ran;
 * after it the copy on the old host goes (finished); backup ->
 * status kept (its temporary files are removed by the caller); terminate ->
 * continued; the others keep the row's status (reconcile then converges it
 * with Docker). In every case only the row's container (or, when the row
 * has none yet, the container under the row's name) is kept; every other
 * container labelled for the instance is removed. Pure; fills *out.
 */
void lc_recovery_decide(const lc_recovery_in *in, lc_recovery_plan *out);

#endif
