/*
 * The action table of DESIGN §2: the single source of truth for which
 * action runs from which status, which options it takes and what runs it.
 * suspend on suspended adds a hold; with the same hold already set it is a
 * no-op, decided with the holds in ops_action.c.
 */
#include "action.h"

#include <stdio.h>
#include <string.h>

#include "ops_internal.h"

const lc_option lc_options[OPT_COUNT] = {
    [OPT_REASON] = {"reason", "TEXT", "why, recorded in the history"},
    [OPT_BACKUP] = {"backup", "BACKUP_ID",
                    "the backup to restore (id or prefix; default the newest)"},
    [OPT_ODOO_VERSION] = {"odoo-version", "V", "the Odoo version to update to"},
    [OPT_IMAGE] = {"image", "IMG",
                   "the image to update to (default: the current repository, tag V)"},
    [OPT_MAJOR] = {"major", NULL, "allow another major version (the database migration is yours)"},
    [OPT_NO_FINAL_BACKUP] = {"no-final-backup", NULL, "skip the final backup"},
    [OPT_TO] = {"to", "HOST", "the Docker host to move the instance to"},
    [OPT_FROM] = {"from", "FILE",
                  "a backup file (any instance's or store's): verified, imported, restored"},
    [OPT_NO_SAFETY_BACKUP] = {"no-safety-backup", NULL,
                              "skip the backup of the data about to be replaced"},
    [OPT_NEUTRALIZE] = {"neutralize", NULL,
                        "run Odoo's neutralization (mail, scheduled actions, payments off)"},
};

#define ST(s) (1u << INSTANCE_##s)
#define LIVE (ST(RUNNING) | ST(STOPPED) | ST(SUSPENDED) | ST(MAINTENANCE) | ST(ERROR))

/* clang-format off */
const lc_action lc_actions[] = {
    {ACT_START, "start the instance's container (recreating a vanished one)",
     OPT(REASON), ST(STOPPED) | ST(ERROR), INSTANCE_RUNNING, INSTANCE_RUNNING, ops_act_start, 0},
    {ACT_STOP, "stop the instance's container",
     OPT(REASON), ST(RUNNING), INSTANCE_STOPPED, INSTANCE_STOPPED, ops_act_stop, 0},
    {ACT_RESTART, "restart the instance's container",
     OPT(REASON), ST(RUNNING) | ST(ERROR), -1, INSTANCE_RUNNING, ops_act_restart, 0},
    {ACT_SUSPEND, "suspend: add the operator hold and stop the container",
     OPT(REASON), LIVE, -1, INSTANCE_SUSPENDED, ops_act_suspend, 0},
    {ACT_UNSUSPEND, "clear the operator hold; with no hold left, back to running or stopped",
     OPT(REASON), ST(SUSPENDED), -1, -1, ops_act_unsuspend, 0},
    {ACT_BACKUP, "back up the data volume and the database; the status stays",
     OPT(REASON), ST(RUNNING) | ST(STOPPED) | ST(MAINTENANCE), -1, -1, ops_act_backup, 0},
    {ACT_RESTORE, "restore a backup (default the newest) into a new volume; ends stopped",
     OPT(REASON) | OPT(BACKUP) | OPT(FROM) | OPT(NO_SAFETY_BACKUP), ST(STOPPED) | ST(MAINTENANCE) | ST(ERROR), -1, INSTANCE_STOPPED,
     ops_act_restore, 0},
    {ACT_UPDATE, "move to a new image, with a backup first and a rollback on failure",
     OPT(REASON) | OPT(ODOO_VERSION) | OPT(IMAGE) | OPT(MAJOR), ST(RUNNING) | ST(STOPPED), -1, -1,
     ops_act_update, 0},
    {ACT_MAINTENANCE, "put the instance in maintenance (reconcile leaves it alone)",
     OPT(REASON), ST(RUNNING) | ST(STOPPED), INSTANCE_MAINTENANCE, INSTANCE_MAINTENANCE,
     ops_act_maintenance, 0},
    {ACT_END_MAINTENANCE, "end maintenance: running if the container runs, else stopped",
     OPT(REASON), ST(MAINTENANCE), -1, -1, ops_act_end_maintenance, 0},
    {ACT_TERMINATE, "delete the instance for good (final backup first); the row stays for audit",
     OPT(REASON) | OPT(NO_FINAL_BACKUP), ST(CREATING) | LIVE, INSTANCE_TERMINATED,
     INSTANCE_TERMINATED, ops_act_terminate, 0},
    {ACT_ROTATE_CREDENTIALS, "set a new database password and Odoo master password; restarts Odoo",
     OPT(REASON), ST(RUNNING) | ST(STOPPED), -1, -1, ops_act_rotate_credentials, NEED_DB_SERVER},
    {ACT_MOVE, "move to another Docker host with its data; the old copy goes after the switch",
     OPT(REASON) | OPT(TO), ST(RUNNING) | ST(STOPPED), -1, -1, ops_act_move, 0},
    {ACT_CLONE, "a new instance NEW (own volume, database and role) from a backup of this one",
     OPT(REASON) | OPT(BACKUP) | OPT(NEUTRALIZE),
     ST(RUNNING) | ST(STOPPED) | ST(SUSPENDED) | ST(MAINTENANCE), -1, -1, ops_act_clone, 0},
    {ACT_NONE, NULL, 0, 0, -1, -1, NULL, 0},
};
/* clang-format on */

const lc_action *lc_action_get(lc_action_id id)
{
    for (const lc_action *a = lc_actions; a->id != ACT_NONE; a++) {
        if (a->id == id)
            return a;
    }
    return NULL;
}

const lc_action *lc_action_find(const char *word)
{
    lc_action_id id;
    return lc_action_id_parse(word, &id) ? lc_action_get(id) : NULL;
}

const char *lc_action_name(const lc_action *a)
{
    return lc_action_id_name(a->id);
}

lc_action_verdict lc_action_check(const lc_action *a, InstanceStatus s)
{
    if (a->allowed_from & (1u << s))
        return ACTION_ALLOWED;
    if (a->already >= 0 && (InstanceStatus)a->already == s)
        return ACTION_ALREADY;
    return ACTION_NOT_ALLOWED;
}

const char *lc_action_unmet(const lc_action *a, const lc_config *cfg)
{
    if (cfg != NULL && (a->needs & NEED_DB_SERVER) && cfg->db_host[0] == '\0')
        return "no database server configured (db_host)";
    return NULL;
}

size_t lc_allowed_actions(const lc_config *cfg, InstanceStatus s, const char *sep, char *buf,
                          size_t buflen)
{
    size_t n = 0, used = 0;
    bool full = false;
    if (buflen > 0)
        buf[0] = '\0';
    for (const lc_action *a = lc_actions; a->id != ACT_NONE; a++) {
        if (lc_action_check(a, s) != ACTION_ALLOWED || lc_action_unmet(a, cfg) != NULL)
            continue;
        n++;
        size_t need = strlen(n > 1 ? sep : "") + strlen(lc_action_name(a));
        if (full || used + need >= buflen) {
            full = true;
            continue;
        }
        used += (size_t)snprintf(buf + used, buflen - used, "%s%s", n > 1 ? sep : "",
                                 lc_action_name(a));
    }
    return n;
}

void lc_action_usage(const lc_action *a, char *buf, size_t len)
{
    size_t used = 0;
    if (len > 0)
        buf[0] = '\0';
    for (int i = 0; i < OPT_COUNT && used < len; i++) {
        if (!(a->options & (1u << i)))
            continue;
        const lc_option *op = &lc_options[i];
        bool required = i == OPT_ODOO_VERSION || i == OPT_TO;
        used += (size_t)snprintf(buf + used, len - used, "%s%s--%s%s%s%s", used ? " " : "",
                                 required ? "" : "[", op->name, op->arg ? " " : "",
                                 op->arg ? op->arg : "", required ? "" : "]");
    }
}
