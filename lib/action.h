/*
 * The action table (DESIGN §2): one row per action on an existing instance,
 * with its id, summary, the options it accepts, the statuses it is allowed
 * from, its "already" status, its target and its handler. The CLI (dispatch,
 * argp option parsing, usage, help, completion), `show` and billing read it;
 * after parsing, actions are named by id only.
 */
#ifndef LC_ACTION_H
#define LC_ACTION_H

#include <stdbool.h>
#include <stddef.h>

#include "ops.h"
#include "status.h"

/* The options an action may accept (the fields of lc_action_options). */
typedef enum lc_option_id {
    OPT_REASON,
    OPT_BACKUP,
    OPT_ODOO_VERSION,
    OPT_IMAGE,
    OPT_MAJOR,
    OPT_NO_FINAL_BACKUP,
    OPT_TO,
    OPT_FROM,
    OPT_NO_SAFETY_BACKUP,
    OPT_NEUTRALIZE,
    OPT_COUNT
} lc_option_id;

#define OPT(x) (1u << OPT_##x)

/* One option: its long name, the name of its value (NULL for a flag) and a line of help. */
typedef struct lc_option {
    const char *name;
    const char *arg;
    const char *doc;
} lc_option;

/* lc_options: indexed by lc_option_id. */
extern const lc_option lc_options[OPT_COUNT];

struct act_ctx;
typedef lc_err (*lc_action_fn)(lc_ops *o, lc_instance *in, struct act_ctx *ctx,
                               lc_action_result *res, lc_diag *d);

/* What an action needs of the setup besides an allowed status (lc_action.needs bits). */
typedef enum lc_action_need {
    NEED_DB_SERVER = 1u << 0, /* a database server (db_host): the instance's role lives there */
} lc_action_need;

typedef struct lc_action {
    lc_action_id id;
    const char *summary;   /* one line for help */
    unsigned options;      /* OPT() bits it accepts */
    unsigned allowed_from; /* bit (1u << status) per status it may run from */
    int already;           /* status in which it is a no-op "already ...", or -1 */
    int target;            /* status it ends in, or -1 when it keeps or derives the status */
    lc_action_fn run;      /* the handler; runs under the lease, see ops_internal.h */
    unsigned needs;        /* lc_action_need bits; 0 for most rows */
} lc_action;

/* lc_actions: the table, ACT_NONE-terminated, in the order help lists them. */
extern const lc_action lc_actions[];

/* lc_action_get: the row of id, or NULL for ACT_NONE/ACT_CREATE (not an action on a row). */
const lc_action *lc_action_get(lc_action_id id);
/* lc_action_find: the row named word (parsing only), or NULL. */
const lc_action *lc_action_find(const char *word);
/* lc_action_name: the command word of a row. */
const char *lc_action_name(const lc_action *a);

typedef enum lc_action_verdict {
    ACTION_ALLOWED,
    ACTION_ALREADY,     /* target equals the current status: exit 0, write nothing */
    ACTION_NOT_ALLOWED, /* exit 3 */
} lc_action_verdict;

/* lc_action_check: whether action a may run from status s. */
lc_action_verdict lc_action_check(const lc_action *a, InstanceStatus s);

/*
 * lc_action_unmet: what a needs that cfg lacks, as a phrase for an error
 * ("no database server configured (db_host)"), or NULL when cfg has it all
 * (or cfg is NULL: the setup is not consulted). Static string.
 */
const char *lc_action_unmet(const lc_action *a, const lc_config *cfg);

/*
 * lc_allowed_actions: writes the command words of the actions an operator
 * can run from s with the setup cfg (lc_action_check allows it and
 * lc_action_unmet finds nothing; cfg NULL: status only), separated by sep,
 * into buf (always NUL-terminated); returns the count. `show`'s text and
 * JSON and the "not allowed" error list these.
 */
size_t lc_allowed_actions(const lc_config *cfg, InstanceStatus s, const char *sep, char *buf,
                          size_t buflen);

/* lc_action_usage: "[--reason TEXT] [--backup BACKUP_ID]" for a's options, into buf. */
void lc_action_usage(const lc_action *a, char *buf, size_t len);

#endif
