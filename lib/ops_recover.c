/*
 * Finishing or rolling back an operation (DESIGN §2): whoever finds an
 * operation whose holder died (the next command on the instance, or
 * reconcile), or the holder itself after a signal or a failure, asks Docker
 * what exists, lets lc_recovery_decide (journal.c) say what to keep, and
 * carries the plan out here.
 */
#include "ops_internal.h"
#include "pgtools.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void ops_clean_temp(lc_ops *o, const char *instance_id)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", o->cfg->backup_dir, instance_id);
    DIR *dh = opendir(path);
    struct dirent *de;
    while (dh != NULL && (de = readdir(dh)) != NULL) {
        size_t n = strlen(de->d_name);
        bool tmp = de->d_name[0] == '.' && n > 4 && strcmp(de->d_name + n - 4, ".tmp") == 0;
        bool dump = strncmp(de->d_name, ".restore-", 9) == 0;
        if (tmp || dump)
            unlinkat(dirfd(dh), de->d_name, 0);
    }
    if (dh != NULL)
        closedir(dh);
}

/* Every container labelled for the instance on engine (this store's label scope). */
static lc_err instance_containers(lc_ops *o, lc_engine *engine, const lc_instance *in,
                                  lc_recovery_container *out, size_t cap, size_t *n, lc_diag *d)
{
    lc_container_summary *cs = NULL;
    size_t ncs = 0;
    *n = 0;
    lc_err e = engine_container_list(engine, store_uuid(o->store), &cs, &ncs, d);
    if (e != LC_OK)
        return e == LC_ENOMEM ? e : LC_EENGINE;
    for (size_t i = 0; i < ncs && *n < cap; i++) {
        if (strcmp(cs[i].instance, in->id) != 0)
            continue;
        lc_recovery_container *c = &out[(*n)++];
        snprintf(c->id, sizeof c->id, "%s", cs[i].id);
        snprintf(c->name, sizeof c->name, "%s", cs[i].name);
        c->state = cs[i].state;
    }
    free(cs);
    return LC_OK;
}

static lc_err plan_for(lc_ops *o, const lc_instance *in, bool interrupted, const char *why,
                       lc_recovery_plan *plan, lc_diag *d)
{
    lc_recovery_container cs[LC_RECOVERY_MAX_REMOVE + 1];
    size_t n;
    lc_err e = instance_containers(o, o->engine, in, cs, sizeof cs / sizeof cs[0], &n, d);
    if (e != LC_OK)
        return e;
    lc_recovery_in ri = {.op = &in->op,
                         .step = in->op_step,
                         .status = in->status,
                         .container_id = in->container_id,
                         .container_name = in->container_name,
                         .volume_name = in->volume_name,
                         .containers = cs,
                         .n_containers = n,
                         .interrupted = interrupted,
                         .why = why};
    lc_recovery_decide(&ri, plan);
    return LC_OK;
}

/*
 * A move's other copy (issue 11): every container labelled for the
 * instance on the other host, then its volume. LC_EENGINE when that host
 * cannot be asked (the journal stays for the next try).
 */
static lc_err remove_other_copy(lc_ops *o, const lc_instance *in, const lc_recovery_plan *p,
                                lc_diag *d)
{
    lc_engine *other;
    lc_recovery_container cs[LC_RECOVERY_MAX_REMOVE];
    size_t n = 0;
    lc_err e = ops_engine_for_host(o, p->other_host, &other, d);
    if (e == LC_OK)
        e = instance_containers(o, other, in, cs, sizeof cs / sizeof cs[0], &n, d);
    if (e != LC_OK)
        return lc_prefix(d, e, "host %s", p->other_host);
    lc_diag ed;
    for (size_t i = 0; i < n; i++) {
        lc_err re = engine_container_remove(other, cs[i].id, true, &ed);
        if (re != LC_OK && re != LC_ENOTFOUND && e == LC_OK)
            e = lc_fail(d, re, "host %s: remove container %.12s: %s", p->other_host, cs[i].id,
                        ed.msg);
    }
    if (e == LC_OK && p->other_volume[0] != '\0') {
        e = engine_volume_remove(other, p->other_volume, &ed);
        if (e == LC_ENOTFOUND)
            e = LC_OK;
        if (e != LC_OK)
            lc_fail(d, e, "host %s: remove volume %s: %s", p->other_host, p->other_volume, ed.msg);
    }
    return e;
}

/* Carries out the Docker side of a plan; the first failure is returned, the rest still tried. */
static lc_err execute(lc_ops *o, lc_instance *in, const lc_recovery_plan *p, lc_diag *d)
{
    lc_err first = LC_OK;
    lc_diag ed;
    if (p->other_host[0] != '\0')
        first = remove_other_copy(o, in, p, d);
    for (size_t i = 0; i < p->n_remove; i++) {
        lc_err e = engine_container_remove(o->engine, p->remove[i], true, &ed);
        if (e != LC_OK && e != LC_ENOTFOUND && first == LC_OK)
            first = lc_fail(d, e, "remove container %.12s: %s", p->remove[i], ed.msg);
    }
    if (p->keep[0] != '\0' && p->rename_keep &&
        engine_container_rename(o->engine, p->keep, in->container_name, &ed) != LC_OK &&
        first == LC_OK)
        first =
            lc_fail(d, LC_EFAILED, "rename container back to %s: %s", in->container_name, ed.msg);
    snprintf(in->container_id, sizeof in->container_id, "%s", p->keep);
    if (p->stop_keep)
        engine_container_stop(o->engine, p->keep, o->cfg->stop_timeout, &ed);
    if (p->start_keep && engine_container_start(o->engine, p->keep, &ed) != LC_OK && first == LC_OK)
        first = lc_fail(d, LC_EFAILED, "start container %s again: %s", in->container_name, ed.msg);
    if (p->remove_volume[0] != '\0') {
        lc_err e = engine_volume_remove(o->engine, p->remove_volume, &ed);
        if (e != LC_OK && e != LC_ENOTFOUND && first == LC_OK)
            first = lc_fail(d, e, "remove volume %s: %s", p->remove_volume, ed.msg);
    }
    lc_pg pg;
    ops_admin_pg(o, &pg);
    if (p->database_back &&
        pg_switch_back(&pg, in->database_name, in->op.new_database, in->op.aside_database, &ed) !=
            LC_OK &&
        first == LC_OK)
        first = lc_fail(d, LC_EFAILED, "put database %s back: %s", in->database_name, ed.msg);
    if (p->drop_database[0] != '\0' && first == LC_OK &&
        pg_drop_database(&pg, p->drop_database, &ed) != LC_OK)
        first = lc_fail(d, LC_EFAILED, "drop database %s: %s", p->drop_database, ed.msg);
    ops_clean_temp(o, in->id);
    return first;
}

lc_err ops_recover_cleanup(lc_ops *o, lc_instance *in, lc_diag *d)
{
    lc_recovery_plan plan;
    lc_err e = plan_for(o, in, false, d->msg, &plan, d);
    if (e != LC_OK)
        return e;
    if (in->op.kind != ACT_MOVE) /* a failed move starts the source again when it ran */
        plan.start_keep = plan.stop_keep = false;
    if (lc_journal_makes_row(&in->op))
        plan.stop_keep = true;
    return execute(o, in, &plan, d);
}

lc_err ops_recover(lc_ops *o, lc_instance *in, bool interrupted, const char *why, lc_diag *d)
{
    lc_recovery_plan plan;
    lc_err e = plan_for(o, in, interrupted, why, &plan, d);
    if (e != LC_OK)
        return e;
    e = execute(o, in, &plan, d);
    in->status = plan.status;
    if (plan.set_message) {
        snprintf(in->error_message, sizeof in->error_message, "%s", plan.error_message);
        in->error_from_op = plan.error_from_op;
    }
    if (plan.continue_termination && e == LC_OK) {
        lc_diag td;
        if (ops_finish_termination(o, in, in->final_backup_pending, &td) != LC_OK)
            in->final_backup_pending = true;
    }
    if (in->op.kind == ACT_UPDATE && !plan.finished)
        in->previous_status = -1;
    return e;
}

lc_err ops_recover_if_dead(lc_ops *o, lc_instance *in, const char *cause, bool *recovered,
                           lc_diag *d)
{
    *recovered = false;
    if (in->op.kind == ACT_NONE || (in->lease.pid > 0 && lc_lease_holder_alive(&in->lease)))
        return LC_OK;
    lc_err e = store_lease_take(o->store, in->id, o->cfg->lease_seconds, in, d);
    if (e == LC_OK && (e = ops_use_host(o, in, d)) != LC_OK)
        store_lease_release(o->store, in->id, NULL);
    if (e != LC_OK)
        return e;
    if (in->op.kind == ACT_NONE) { /* someone else finished it meanwhile */
        store_lease_release(o->store, in->id, NULL);
        return LC_OK;
    }
    InstanceStatus from = in->status;
    char detail[300];
    snprintf(detail, sizeof detail, "%s interrupted at step %s: recovered",
             lc_action_id_name(in->op.kind), in->op_step[0] ? in->op_step : "begin");
    e = ops_recover(o, in, false, "", d);
    if (e != LC_OK) {
        store_lease_release(o->store, in->id, NULL);
        return e;
    }
    in->op = (lc_op_journal){.kind = ACT_NONE, .from = -1};
    in->op_step[0] = '\0';
    in->op_deadline = 0;
    e = store_save(o->store, in, from, cause, detail, true, d);
    *recovered = e == LC_OK;
    lc_instance now;
    if (e == LC_OK && store_get(o->store, in->id, &now, d) == LC_OK)
        *in = now;
    return e;
}
