/*
 * The data operations around backups (DESIGN §2, §6): backup, restore into
 * a new volume generation, retention, and terminate's final backup.
 */
#include "ops_internal.h"
#include "pgtools.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

/* mkdir -p dir (mode 0700 for what it creates). */
static lc_err make_dirs(const char *dir, lc_diag *d)
{
    char path[4096];
    snprintf(path, sizeof path, "%s", dir);
    for (char *p = path + 1;; p++) {
        bool end = *p == '\0';
        if (*p != '/' && !end)
            continue;
        *p = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST)
            return lc_fail(d, LC_EFAILED, "backup directory %s: %s", path, strerror(errno));
        if (end)
            return LC_OK;
        *p = '/';
    }
}

void ops_target(lc_ops *o, const lc_instance *in, lc_backup_target *t)
{
    const lc_config *c = o->cfg;
    *t = (lc_backup_target){
        .instance_id = in->id,
        .image = in->image,
        .volume = in->volume_name,
        .data_path = c->data_path,
        .store_uuid = store_uuid(o->store),
        .database = in->database_name,
    };
    ops_admin_pg(o, &t->pg);
}

static void parts_json(const lc_backup_info *info, char *buf, size_t len)
{
    size_t used = (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < info->nparts && used < len; i++)
        used += (size_t)snprintf(
            buf + used, len - used, "%s{\"name\":\"%s\",\"size\":%lld,\"sha256\":\"%s\"}",
            i ? "," : "", info->parts[i].name, info->parts[i].size, info->parts[i].sha256);
    if (used < len)
        snprintf(buf + used, len - used, "]");
}

lc_err ops_backup_now(lc_ops *o, const lc_instance *in, const char *kind, lc_backup_row *row,
                      lc_diag *d)
{
    lc_backup_target t;
    lc_backup_info info;
    ops_target(o, in, &t);
    lc_err e = make_dirs(o->cfg->backup_dir, d);
    ops_clean_temp(o, in->id);
    if (e == LC_OK)
        e = backup_write(o->engine, &t, o->cfg->backup_dir, o->transfer, o->transfer_arg, &info, d);
    if (e != LC_OK)
        return e;
    char parts[1024];
    parts_json(&info, parts, sizeof parts);
    memset(row, 0, sizeof *row);
    snprintf(row->instance_id, sizeof row->instance_id, "%s", in->id);
    snprintf(row->path, sizeof row->path, "%s", info.path);
    snprintf(row->sha256, sizeof row->sha256, "%s", info.sha256);
    snprintf(row->kind, sizeof row->kind, "%s", kind);
    row->size = info.size;
    row->created_at = info.created_at ? info.created_at : time(NULL);
    return store_backup_add(o->store, row, parts, d);
}

ACTION_HANDLER(ops_act_backup)
{
    lc_backup_row row;
    lc_err e = ops_step(o, in, "backup", d);
    if (e == LC_OK)
        e = ops_backup_now(o, in, "manual", &row, d);
    if (e == LC_OK) {
        char size[32];
        lc_format_size(row.size, size, sizeof size);
        snprintf(res->note, sizeof res->note, "backup %.8s, %s, %s", row.id, size, row.path);
        ctx->record = true;
        snprintf(ctx->note, sizeof ctx->note, "backup %.8s taken", row.id);
    }
    return e;
}

/* The next generation of a volume name: "x_g3" -> "x_g4" (no suffix -> "_g2"). */
static void next_volume(const char *volume, char *out, size_t len)
{
    const char *g = strrchr(volume, '_');
    char *end;
    long gen = g != NULL && g[1] == 'g' ? strtol(g + 2, &end, 10) : 0;
    if (g == NULL || g[1] != 'g' || *end != '\0' || gen < 1)
        snprintf(out, len, "%s_g2", volume);
    else
        snprintf(out, len, "%.*s_g%ld", (int)(g - volume), volume, gen + 1);
}

/*
 * The name of an empty next-generation volume: a leftover of an interrupted
 * restore is removed first (never reused half-filled), or skipped when it
 * cannot be.
 */
lc_err ops_fresh_volume(lc_engine *engine, const lc_instance *in, char *out, size_t len, lc_diag *d)
{
    char current[sizeof in->volume_name];
    snprintf(current, sizeof current, "%s", in->volume_name);
    for (int tries = 0; tries < 20; tries++) {
        bool exists = false;
        next_volume(current, out, len);
        lc_err e = engine_volume_exists(engine, out, &exists, d);
        if (e != LC_OK)
            return e;
        lc_diag ignore;
        if (!exists || engine_volume_remove(engine, out, &ignore) == LC_OK)
            return LC_OK;
        snprintf(current, sizeof current, "%s", out);
    }
    return lc_fail(d, LC_EFAILED, "no free volume name after %s", in->volume_name);
}

/*
 * Replaces the instance's container by one (not started) on the new volume,
 * in the order of DESIGN §2: the old container moved aside, the new one
 * made under the instance's name, the row pointed at both (the switch,
 * recorded), and only then the old container and volume removed.
 */
static lc_err switch_volume(lc_ops *o, lc_instance *in, const char *new_volume, lc_diag *d)
{
    snprintf(in->op.old_container, sizeof in->op.old_container, "%s", in->container_id);
    snprintf(in->op.old_volume, sizeof in->op.old_volume, "%s", in->volume_name);
    snprintf(in->op.aside_name, sizeof in->op.aside_name, "%s_pre_restore", in->container_name);
    lc_err e = ops_step(o, in, "aside", d);
    if (e == LC_OK && in->container_id[0] != '\0') {
        e = engine_container_stop(o->engine, in->container_id, o->cfg->stop_timeout, d);
        if (e == LC_OK || e == LC_ENOTFOUND)
            e = engine_container_rename(o->engine, in->container_id, in->op.aside_name, d);
        if (e == LC_ENOTFOUND)
            e = LC_OK;
    }
    /* the database first: the new container's credentials are applied to the restored one
     * (its owner becomes the instance's role); the recorded swap is undone when not switched */
    lc_pg pg;
    ops_admin_pg(o, &pg);
    if (e == LC_OK && in->op.new_database[0] != '\0' && (e = ops_step(o, in, "swap", d)) == LC_OK)
        e = pg_switch_database(&pg, in->database_name, in->op.new_database, in->op.aside_database,
                               d);
    lc_instance next = *in;
    snprintf(next.volume_name, sizeof next.volume_name, "%s", new_volume);
    next.container_id[0] = '\0';
    if (e == LC_OK)
        e = ops_step(o, in, "container", d);
    if (e == LC_OK)
        e = ops_make_container(o, &next, d);
    if (e != LC_OK)
        return e;
    snprintf(in->container_id, sizeof in->container_id, "%s", next.container_id);
    snprintf(in->volume_name, sizeof in->volume_name, "%s", new_volume);
    in->op.switched = true;
    if ((e = ops_step(o, in, "switch", d)) != LC_OK)
        return e;
    lc_diag ignore;
    if (in->op.old_container[0] != '\0')
        engine_container_remove(o->engine, in->op.old_container, true, &ignore);
    engine_volume_remove(o->engine, in->op.old_volume, &ignore);
    if (in->op.aside_database[0] != '\0')
        pg_drop_database(&pg, in->op.aside_database, &ignore);
    return LC_OK;
}

/*
 * The database part of a restore: the dump goes into a new database
 * (instctl_restore_<id8>), never into the live one; switch_volume renames
 * it in. Leftovers of an earlier attempt with these names are dropped first.
 */
static lc_err restore_database(lc_ops *o, lc_instance *in, const char *path, lc_diag *d)
{
    lc_pg pg;
    lc_backup_target t;
    ops_admin_pg(o, &pg);
    ops_target(o, in, &t);
    if (pg.host == NULL || pg.host[0] == '\0')
        return LC_OK;
    snprintf(in->op.new_database, sizeof in->op.new_database, "instctl_restore_%.8s", in->id);
    snprintf(in->op.aside_database, sizeof in->op.aside_database, "instctl_aside_%.8s", in->id);
    lc_err e = ops_step(o, in, "database", d);
    if (e == LC_OK)
        e = pg_drop_database(&pg, in->op.new_database, d);
    if (e == LC_OK)
        e = pg_drop_database(&pg, in->op.aside_database, d);
    if (e == LC_OK)
        e = pg_create_database(&pg, in->op.new_database, d);
    t.database = in->op.new_database;
    if (e == LC_OK)
        e = backup_restore_database(path, &t, d);
    return e;
}

lc_err ops_restore_into_new_volume(lc_ops *o, lc_instance *in, const char *path, lc_diag *d)
{
    char new_volume[sizeof in->volume_name];
    lc_backup_target t;
    ops_target(o, in, &t);
    lc_err e = ops_fresh_volume(o->engine, in, new_volume, sizeof new_volume, d);
    if (e != LC_OK)
        return e;
    snprintf(in->op.new_volume, sizeof in->op.new_volume, "%s", new_volume);
    if ((e = ops_step(o, in, "volume", d)) != LC_OK)
        return e;
    e = engine_volume_create(o->engine, new_volume, store_uuid(o->store), in->id, d);
    if (e == LC_OK)
        e = backup_restore_volume(o->engine, path, &t, new_volume, o->transfer, o->transfer_arg, d);
    if (e == LC_OK)
        e = restore_database(o, in, path, d);
    if (e == LC_OK)
        e = switch_volume(o, in, new_volume, d);
    return e;
}

/* The backup to restore: --backup ID (or prefix), else the newest; verified. */
static lc_err pick_backup(lc_ops *o, const lc_instance *in, const act_ctx *ctx, lc_backup_row *row,
                          lc_diag *d)
{
    const char *want = ctx->opt != NULL ? ctx->opt->backup_id : NULL;
    lc_err e;
    if (want != NULL) {
        e = store_backup_get(o->store, in->id, want, row, d);
    } else {
        lc_backup_row *all;
        size_t n;
        e = store_backup_list(o->store, in->id, &all, &n, d);
        if (e == LC_OK && n == 0)
            e = lc_fail(d, LC_ENOTFOUND, "instance %s has no backup", in->name);
        if (e == LC_OK)
            *row = all[0];
        free(all);
    }
    if (e != LC_OK)
        return e;
    lc_backup_info info;
    e = backup_verify(row->path, &info, d);
    if (e == LC_OK && strcmp(info.sha256, row->sha256) != 0)
        e = lc_fail(d, LC_EINPUT, "backup %s: file checksum differs from the recorded one",
                    row->path);
    return e;
}

ACTION_HANDLER(ops_act_restore)
{
    lc_backup_row row;
    lc_err e = pick_backup(o, in, ctx, &row, d);
    if (e != LC_OK)
        return e;
    e = ops_restore_into_new_volume(o, in, row.path, d);
    if (e == LC_OK) {
        in->status = INSTANCE_STOPPED;
        in->error_message[0] = '\0';
        snprintf(res->note, sizeof res->note, "restored backup %.8s of %s", row.id, row.path);
        ctx->record = true;
        snprintf(ctx->note, sizeof ctx->note, "backup %.8s restored", row.id);
        return LC_OK;
    }
    if (e == LC_EINTR || e == LC_EENGINE || e == LC_ESTORE || e == LC_EBUSY)
        return e;
    if (strcmp(in->op_step, "volume") != 0) {
        in->status = INSTANCE_ERROR;
        in->error_from_op = true;
        snprintf(in->error_message, sizeof in->error_message, "restore failed at step %s: %s",
                 in->op_step, d->msg);
    }
    return LC_EFAILED;
}

/* Removes all but the newest keep backups of in (keep 0 keeps all). */
static lc_err prune_locked(lc_ops *o, const lc_instance *in, int keep, size_t *removed, lc_diag *d)
{
    lc_backup_row *all;
    size_t n;
    lc_err e = store_backup_list(o->store, in->id, &all, &n, d);
    for (size_t i = (size_t)keep; e == LC_OK && keep > 0 && i < n; i++) {
        if (unlink(all[i].path) != 0 && access(all[i].path, F_OK) == 0) {
            e = lc_fail(d, LC_EFAILED, "backup %s: cannot remove", all[i].path);
            break;
        }
        e = store_backup_delete(o->store, all[i].id, d);
        if (e == LC_OK)
            (*removed)++;
    }
    free(all);
    return e;
}

lc_err ops_prune_backups(lc_ops *o, const char *ref, int keep, size_t *removed, lc_diag *d)
{
    lc_instance in;
    *removed = 0;
    lc_err e = store_resolve(o->store, ref, &in, d);
    if (e == LC_OK)
        e = ops_take_lease(o, in.id, &in, d);
    if (e != LC_OK)
        return e;
    e = prune_locked(o, &in, keep, removed, d);
    store_lease_release(o->store, in.id, NULL);
    return e;
}

/* After a successful final backup: the volume, the database, then its role go. */
static lc_err drop_data(lc_ops *o, lc_instance *in, lc_diag *d)
{
    lc_pg pg;
    ops_admin_pg(o, &pg);
    lc_err e = engine_volume_remove(o->engine, in->volume_name, d);
    if (e == LC_OK)
        e = pg_drop_database(&pg, in->database_name, d);
    if (e == LC_OK)
        e = ops_drop_role(o, in, d);
    return e;
}

/* Whether the instance already has its final backup (taken once; a retry redoes only what failed).
 */
static bool has_final_backup(lc_ops *o, const lc_instance *in)
{
    lc_backup_row *all = NULL;
    size_t n = 0;
    bool found = false;
    if (store_backup_list(o->store, in->id, &all, &n, NULL) == LC_OK) {
        for (size_t i = 0; i < n && !found; i++)
            found = strcmp(all[i].kind, "final") == 0 && access(all[i].path, R_OK) == 0;
    }
    free(all);
    return found;
}

lc_err ops_finish_termination(lc_ops *o, lc_instance *in, bool final_backup, lc_diag *d)
{
    bool volume = true;
    lc_err e = engine_volume_exists(o->engine, in->volume_name, &volume, d);
    if (e == LC_OK && in->container_id[0] != '\0')
        e = engine_container_remove(o->engine, in->container_id, true, d);
    if (e == LC_ENOTFOUND)
        e = LC_OK;
    if (e != LC_OK)
        return e;
    bool have_final = final_backup && has_final_backup(o, in);
    if (final_backup && !volume && !have_final) {
        /* nothing left to back up; the database is never dropped without a backup (with the
         * final backup taken, a volume already gone was removed by an interrupted attempt) */
        in->final_backup_pending = false;
        snprintf(in->error_message, sizeof in->error_message,
                 "no final backup: volume %s was already gone%s", in->volume_name,
                 o->cfg->db_host[0] ? "; database kept" : "");
        return LC_OK;
    }
    lc_backup_row row;
    if (final_backup && !have_final)
        e = ops_backup_now(o, in, "final", &row, d);
    if (e == LC_OK)
        e = drop_data(o, in, d);
    in->final_backup_pending = e != LC_OK;
    if (e == LC_EINTR)
        return e;
    if (e != LC_OK)
        snprintf(in->error_message, sizeof in->error_message, "%s: %s (volume and database kept)",
                 has_final_backup(o, in) || !final_backup ? "removal pending"
                                                          : "final backup pending",
                 d->msg);
    else
        in->error_message[0] = '\0';
    return e;
}

lc_err ops_retry_termination(lc_ops *o, const char *id, lc_diag *d)
{
    lc_instance in;
    lc_err e = store_lease_take(o->store, id, o->cfg->lease_seconds, &in, d);
    if (e == LC_OK && (e = ops_use_host(o, &in, d)) != LC_OK)
        store_lease_release(o->store, id, NULL);
    if (e != LC_OK)
        return e;
    if (in.status != INSTANCE_TERMINATED || !in.final_backup_pending) {
        store_lease_release(o->store, id, NULL);
        return LC_OK;
    }
    act_ctx ctx = {.cause = "reconcile", .detail = "final backup and removal", .saved = in.status};
    in.op = (lc_op_journal){.kind = ACT_TERMINATE, .from = (int)in.status};
    e = ops_step(o, &in, "remove", d);
    ops_keepalive k;
    ops_keepalive_start(o, id, &k);
    if (e == LC_OK)
        e = ops_finish_termination(o, &in, true, d);
    if (e != LC_OK && e != LC_EINTR)
        in.final_backup_pending = true;
    lc_diag cd = *d;
    lc_err ce = ops_conclude(o, &in, &ctx, e == LC_EINTR ? LC_EINTR : LC_OK, &cd);
    ops_keepalive_stop(&k);
    return e != LC_OK ? e : ce;
}
