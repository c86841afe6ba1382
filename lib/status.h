/*
 * The two vocabularies of DESIGN §1 (instance status, container state) and
 * the action table of §2: the single source of truth for which action is
 * allowed from which status, read by the CLI, `show`, completion and help.
 */
#ifndef LC_STATUS_H
#define LC_STATUS_H

#include <stdbool.h>
#include <stddef.h>

#include "lc.h"

/* The eight instance statuses; the only values ever stored as a status. */
typedef enum InstanceStatus {
    INSTANCE_CREATING,
    INSTANCE_RUNNING,
    INSTANCE_STOPPED,
    INSTANCE_SUSPENDED,
    INSTANCE_MAINTENANCE,
    INSTANCE_UPDATING,
    INSTANCE_ERROR,
    INSTANCE_TERMINATED,
} InstanceStatus;

#define INSTANCE_STATUS_COUNT 8

/* What Docker reports (State.Status), plus MISSING; never stored as a status. */
typedef enum lc_container_state {
    CONTAINER_UNKNOWN, /* a value this build does not know; changes nothing */
    CONTAINER_CREATED,
    CONTAINER_RUNNING,
    CONTAINER_PAUSED,
    CONTAINER_RESTARTING,
    CONTAINER_REMOVING,
    CONTAINER_EXITED,
    CONTAINER_DEAD,
    CONTAINER_MISSING, /* the engine answered and the container is not there */
} lc_container_state;

/* instance_status_name: lower-case wire name ("running"); static string. */
const char *instance_status_name(InstanceStatus s);

/* instance_status_parse: wire name -> status; false when name is not one of the 8. */
bool instance_status_parse(const char *name, InstanceStatus *out);

/* container_state_name / container_state_parse: Docker's State.Status words. */
const char *container_state_name(lc_container_state s);
lc_container_state container_state_parse(const char *docker_state);

/*
 * The actions of DESIGN §2 by id: the vocabulary of the action table
 * (lib/action.c, which holds each action's statuses, options and handler)
 * and of the operation journal (instances.op_kind).
 */
typedef enum lc_action_id {
    ACT_NONE,
    ACT_CREATE,
    ACT_START,
    ACT_STOP,
    ACT_RESTART,
    ACT_SUSPEND,
    ACT_UNSUSPEND,
    ACT_BACKUP,
    ACT_RESTORE,
    ACT_UPDATE,
    ACT_MAINTENANCE,
    ACT_END_MAINTENANCE,
    ACT_TERMINATE,
    ACT_ROTATE_CREDENTIALS,
    ACT_MOVE,
    ACT_CLONE,
    ACT_COUNT
} lc_action_id;

/* lc_action_id_name: the command word ("end-maintenance"); "" for ACT_NONE; static string. */
const char *lc_action_id_name(lc_action_id id);
/* lc_action_id_parse: word -> id; false (and *out ACT_NONE) when it names no action. */
bool lc_action_id_parse(const char *word, lc_action_id *out);

/*
 * Validation (DESIGN §6), done before any Docker call. Each returns LC_OK or
 * LC_EUSAGE with d naming the value and the rule it breaks.
 *  - name: 1..63 chars, [a-z0-9] then [a-z0-9-], no trailing '-' (DNS label).
 *  - database: Odoo's DBNAME_PATTERN: 2..63 chars, [a-zA-Z0-9] then
 *    [a-zA-Z0-9_.-]; not postgres, template0 or template1 (any case).
 *  - email: one '@', non-empty local part and a dotted domain, 3..254 chars,
 *    no spaces or control characters.
 *  - version: MAJOR.MINOR, digits, e.g. "17.0", optionally with a build
 *    suffix of lower-case letters, digits, '.', '_', '-' ("17.0-20261101");
 *    at most 32 characters.
 *  - image: non-empty, no whitespace, at most 255 chars.
 */
lc_err lc_validate_name(const char *name, lc_diag *d);
lc_err lc_validate_database(const char *db, lc_diag *d);
lc_err lc_validate_email(const char *email, lc_diag *d);
lc_err lc_validate_version(const char *version, lc_diag *d);
lc_err lc_validate_image(const char *image, lc_diag *d);

#endif
