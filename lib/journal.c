/*
 * The operation journal's encoding and the pure resume-or-roll-back
 * decision for an operation whose holder died or was interrupted (DESIGN
 * §2). See journal.h.
 */
#include "journal.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

/* The journal's string fields, one table for encoding and decoding. */
#define J_FIELDS(X)                                                                                \
    X(old_container)                                                                               \
    X(aside_name)                                                                                  \
    X(new_volume)                                                                                  \
    X(old_volume)                                                                                  \
    X(backup_path)                                                                                 \
    X(new_database)                                                                                \
    X(aside_database)                                                                              \
    X(old_host)                                                                                    \
    X(new_host)

bool lc_journal_encode(const lc_op_journal *j, char *buf, size_t len)
{
    cJSON *o = cJSON_CreateObject();
    if (o == NULL)
        return false;
#define ENC(f)                                                                                     \
    if (j->f[0] != '\0')                                                                           \
        cJSON_AddStringToObject(o, #f, j->f);
    J_FIELDS(ENC)
#undef ENC
    if (j->switched)
        cJSON_AddBoolToObject(o, "switched", true);
    if (j->no_final_backup)
        cJSON_AddBoolToObject(o, "no_final_backup", true);
    bool ok = cJSON_PrintPreallocated(o, buf, (int)len, false) != 0;
    cJSON_Delete(o);
    if (!ok && len > 0)
        buf[0] = '\0';
    return ok;
}

static void take_string(const cJSON *o, const char *key, char *dst, size_t len)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    snprintf(dst, len, "%s", cJSON_IsString(v) ? v->valuestring : "");
}

bool lc_journal_decode(const char *json, lc_op_journal *j)
{
    lc_action_id kind = j->kind;
    int from = j->from;
    memset(j, 0, sizeof *j);
    j->kind = kind;
    j->from = from;
    if (json == NULL || json[0] == '\0')
        return true;
    cJSON *o = cJSON_Parse(json);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return false;
    }
#define DEC(f) take_string(o, #f, j->f, sizeof j->f);
    J_FIELDS(DEC)
#undef DEC
    j->switched = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "switched"));
    j->no_final_backup = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "no_final_backup"));
    cJSON_Delete(o);
    return true;
}

bool lc_journal_makes_row(const lc_op_journal *j)
{
    return j->kind == ACT_CREATE || (j->kind == ACT_CLONE && j->from == INSTANCE_CREATING);
}

/* The container the row keeps: its own, else (none recorded yet) the one under its name. */
static const lc_recovery_container *keeper(const lc_recovery_in *in)
{
    for (size_t i = 0; in->container_id[0] != '\0' && i < in->n_containers; i++) {
        if (strcmp(in->containers[i].id, in->container_id) == 0)
            return &in->containers[i];
    }
    if (in->container_id[0] != '\0' && in->op->kind == ACT_UPDATE)
        return NULL; /* the row's container is gone; the new one is not the row's */
    for (size_t i = 0; i < in->n_containers; i++) {
        if (strcmp(in->containers[i].name, in->container_name) == 0)
            return &in->containers[i];
    }
    return NULL;
}

/* How it ended, for the message and the history. */
static const char *ending(const lc_recovery_in *in)
{
    if (in->why != NULL && in->why[0] != '\0')
        return "failed";
    return in->interrupted ? "interrupted" : "interrupted (its process died)";
}

static void decide_status(const lc_recovery_in *in, bool running, lc_recovery_plan *out)
{
    const lc_op_journal *j = in->op;
    InstanceStatus from = j->from >= 0 ? (InstanceStatus)j->from : in->status;
    const char *step = in->step[0] ? in->step : "begin";
    bool failed = in->why != NULL && in->why[0] != '\0';
    out->status = in->status;
    if (lc_journal_makes_row(j)) {
        out->status = INSTANCE_ERROR;
        out->set_message = out->error_from_op = true;
        out->stop_keep = true;
        snprintf(out->error_message, sizeof out->error_message, "%s %s at step %s%s%s",
                 lc_action_id_name(j->kind), ending(in), step, failed ? ": " : "",
                 failed ? in->why : "");
        return;
    }
    switch (j->kind) {
    case ACT_UPDATE:
        out->finished = j->switched;
        out->status = from;
        out->start_keep = from == INSTANCE_RUNNING && !running;
        out->stop_keep = from != INSTANCE_RUNNING && running;
        out->set_message = true;
        if (!j->switched)
            snprintf(out->error_message, sizeof out->error_message,
                     "update %s at step %s%s%s (rolled back)", ending(in), step, failed ? ": " : "",
                     failed ? in->why : "");
        break;
    case ACT_RESTORE:
        out->finished = j->switched;
        out->status = j->switched ? INSTANCE_STOPPED : from;
        out->stop_keep = j->switched && running;
        break;
    case ACT_MOVE:
        out->finished = j->switched;
        out->status = from;
        out->start_keep = from == INSTANCE_RUNNING && !running;
        break;
    case ACT_TERMINATE:
        out->finished = true;
        out->status = INSTANCE_TERMINATED;
        out->continue_termination = true;
        break;
    default:
        /* the row was not changed yet (or was written first: suspend); reconcile converges */
        out->finished = false;
        break;
    }
}

/* A move's copy that goes: the new host's before the switch, the old host's after it. */
static void move_other_copy(const lc_op_journal *j, lc_recovery_plan *out)
{
    const char *host = j->switched ? j->old_host : j->new_host;
    const char *volume = j->switched ? j->old_volume : j->new_volume;
    if (host[0] == '\0' || strcmp(j->old_host, j->new_host) == 0)
        return;
    snprintf(out->other_host, sizeof out->other_host, "%s", host);
    snprintf(out->other_volume, sizeof out->other_volume, "%s", volume);
}

void lc_recovery_decide(const lc_recovery_in *in, lc_recovery_plan *out)
{
    memset(out, 0, sizeof *out);
    const lc_op_journal *j = in->op;
    const lc_recovery_container *k = keeper(in);
    if (j->kind == ACT_TERMINATE)
        k = NULL; /* terminated: no container is kept */
    if (k != NULL) {
        snprintf(out->keep, sizeof out->keep, "%s", k->id);
        out->rename_keep = strcmp(k->name, in->container_name) != 0;
    }
    for (size_t i = 0; i < in->n_containers && out->n_remove < LC_RECOVERY_MAX_REMOVE; i++) {
        if (k == NULL || strcmp(in->containers[i].id, k->id) != 0)
            snprintf(out->remove[out->n_remove++], sizeof out->remove[0], "%s",
                     in->containers[i].id);
    }
    if (j->kind == ACT_MOVE)
        move_other_copy(j, out);
    else if (!j->switched && j->new_volume[0] != '\0' &&
             strcmp(j->new_volume, in->volume_name) != 0)
        snprintf(out->remove_volume, sizeof out->remove_volume, "%s", j->new_volume);
    else if (j->switched && j->old_volume[0] != '\0' && strcmp(j->old_volume, in->volume_name) != 0)
        snprintf(out->remove_volume, sizeof out->remove_volume, "%s", j->old_volume);
    if (!j->switched && j->new_database[0] != '\0') {
        out->database_back = j->aside_database[0] != '\0';
        snprintf(out->drop_database, sizeof out->drop_database, "%s", j->new_database);
    } else if (j->switched && j->aside_database[0] != '\0') {
        snprintf(out->drop_database, sizeof out->drop_database, "%s", j->aside_database);
    }
    bool running = k != NULL && (k->state == CONTAINER_RUNNING || k->state == CONTAINER_RESTARTING);
    decide_status(in, running, out);
    if (k == NULL)
        out->start_keep = out->stop_keep = false;
    snprintf(out->detail, sizeof out->detail, "%s %s at step %s: %s", lc_action_id_name(j->kind),
             ending(in), in->step[0] ? in->step : "begin",
             out->finished ? "finished" : "rolled back");
}
