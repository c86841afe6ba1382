/*
 * The data operations around backups (DESIGN §2, §6): backup, restore into
 * a new volume generation, retention, and terminate's final backup.
 */
#include "ops_internal.h"

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

/*
 * Removes what interrupted backups and restores left in the instance's
 * backup directory (.<time>.tar.tmp, .restore-*.dump). Safe: the caller
 * holds the instance's lease, so no other backup of it is running.
 */
static void clean_stale(const char *dir, const char *instance_id)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, instance_id);
    DIR *dh = opendir(path);
    struct dirent *de;
    while (dh != NULL && (de = readdir(dh)) != NULL) {
        size_t n = strlen(de->d_name);
        bool tmp = de->d_name[0] == '.' && n > 8 && strcmp(de->d_name + n - 8, ".tar.tmp") == 0;
        bool dump = strncmp(de->d_name, ".restore-", 9) == 0;
        if (tmp || dump)
            unlinkat(dirfd(dh), de->d_name, 0);
    }
    if (dh != NULL)
        closedir(dh);
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
        .pg = {.host = c->db_host,
               .port = c->db_port,
               .user = c->db_user,
               .password_file = c->db_password_file},
    };
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
    clean_stale(o->cfg->backup_dir, in->id);
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

lc_err ops_act_backup(lc_ops *o, lc_instance *in, const act_ctx *ctx, lc_action_result *res,
                      lc_diag *d)
{
    (void)ctx;
    lc_backup_row row;
    lc_err e = ops_backup_now(o, in, "manual", &row, d);
    store_lease_release(o->store, in->id, NULL);
    if (e == LC_OK) {
        char size[32];
        lc_format_size(row.size, size, sizeof size);
        snprintf(res->note, sizeof res->note, "backup %.8s, %s, %s", row.id, size, row.path);
    }
    return e == LC_OK ? LC_OK
                      : lc_prefix(d, e == LC_EENGINE ? e : LC_EFAILED, "backup %s", in->name);
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
static lc_err fresh_volume(lc_ops *o, const lc_instance *in, char *out, size_t len, lc_diag *d)
{
    char current[sizeof in->volume_name];
    snprintf(current, sizeof current, "%s", in->volume_name);
    for (int tries = 0; tries < 20; tries++) {
        bool exists = false;
        next_volume(current, out, len);
        lc_err e = engine_volume_exists(o->engine, out, &exists, d);
        if (e != LC_OK)
            return e;
        lc_diag ignore;
        if (!exists || engine_volume_remove(o->engine, out, &ignore) == LC_OK)
            return LC_OK;
        snprintf(current, sizeof current, "%s", out);
    }
    return lc_fail(d, LC_EFAILED, "no free volume name after %s", in->volume_name);
}

/* Replaces the instance's container by one on the new volume, not started. */
static lc_err switch_volume(lc_ops *o, lc_instance *in, const char *new_volume, lc_diag *d)
{
    char old_volume[sizeof in->volume_name];
    snprintf(old_volume, sizeof old_volume, "%s", in->volume_name);
    lc_err e = LC_OK;
    if (in->container_id[0] != '\0')
        e = engine_container_remove(o->engine, in->container_id, true, d);
    if (e != LC_OK && e != LC_ENOTFOUND)
        return e;
    snprintf(in->volume_name, sizeof in->volume_name, "%s", new_volume);
    in->container_id[0] = '\0';
    e = ops_make_container(o, in, d);
    if (e != LC_OK)
        return e;
    lc_diag ignore;
    engine_volume_remove(o->engine, old_volume, &ignore);
    return LC_OK;
}

lc_err ops_restore_into_new_volume(lc_ops *o, lc_instance *in, const char *path, lc_diag *d)
{
    char new_volume[sizeof in->volume_name];
    lc_backup_target t;
    ops_target(o, in, &t);
    ops_step(o, in, "volume");
    lc_err e = fresh_volume(o, in, new_volume, sizeof new_volume, d);
    if (e == LC_OK)
        e = engine_volume_create(o->engine, new_volume, store_uuid(o->store), in->id, d);
    if (e == LC_OK)
        e = backup_restore_volume(o->engine, path, &t, new_volume, o->transfer, o->transfer_arg, d);
    if (e != LC_OK) {
        lc_diag ignore;
        engine_volume_remove(o->engine, new_volume, &ignore);
        return e;
    }
    ops_step(o, in, "database");
    e = backup_restore_database(path, &t, d);
    if (e == LC_OK) {
        ops_step(o, in, "switch");
        e = switch_volume(o, in, new_volume, d);
    }
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

lc_err ops_act_restore(lc_ops *o, lc_instance *in, const act_ctx *ctx, lc_action_result *res,
                       lc_diag *d)
{
    lc_backup_row row;
    lc_err e = pick_backup(o, in, ctx, &row, d);
    if (e != LC_OK) {
        store_lease_release(o->store, in->id, NULL);
        return e;
    }
    InstanceStatus from = in->status;
    e = ops_restore_into_new_volume(o, in, row.path, d);
    if (e == LC_OK) {
        in->status = INSTANCE_STOPPED;
        in->error_message[0] = '\0';
        snprintf(res->note, sizeof res->note, "restored backup %.8s of %s", row.id, row.path);
    } else if (strcmp(in->op_step, "volume") != 0) {
        in->status = INSTANCE_ERROR;
        snprintf(in->error_message, sizeof in->error_message, "restore failed at step %s: %s",
                 in->op_step, d->msg);
    }
    in->op_step[0] = '\0';
    lc_diag sd;
    lc_err se = store_save_event(o->store, in, from, ctx->cause, ctx->detail, true, NULL, &sd);
    if (e == LC_OK && se != LC_OK)
        return lc_fail(d, se, "%s", sd.msg);
    return e == LC_OK ? LC_OK : lc_prefix(d, LC_EFAILED, "restore %s", in->name);
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

/* After a successful final backup: the volume and the database go. */
static lc_err drop_data(lc_ops *o, lc_instance *in, lc_diag *d)
{
    lc_pg pg = {.host = o->cfg->db_host,
                .port = o->cfg->db_port,
                .user = o->cfg->db_user,
                .password_file = o->cfg->db_password_file};
    lc_err e = engine_volume_remove(o->engine, in->volume_name, d);
    if (e == LC_OK)
        e = pg_drop_database(&pg, in->database_name, d);
    return e;
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
    if (final_backup && !volume) {
        /* nothing left to back up; the database is never dropped without a backup */
        in->final_backup_pending = false;
        snprintf(in->error_message, sizeof in->error_message,
                 "no final backup: volume %s was already gone%s", in->volume_name,
                 o->cfg->db_host[0] ? "; database kept" : "");
        return LC_OK;
    }
    lc_backup_row row;
    e = final_backup ? ops_backup_now(o, in, "final", &row, d) : LC_OK;
    if (e == LC_OK)
        e = drop_data(o, in, d);
    in->final_backup_pending = final_backup && e != LC_OK;
    if (e != LC_OK)
        snprintf(in->error_message, sizeof in->error_message,
                 "final backup pending: %s (volume and database kept)", d->msg);
    else
        in->error_message[0] = '\0';
    return e;
}

lc_err ops_retry_termination(lc_ops *o, const char *id, lc_diag *d)
{
    lc_instance in;
    lc_err e = store_lease_take(o->store, id, o->cfg->lease_seconds, &in, d);
    if (e != LC_OK)
        return e;
    if (in.status != INSTANCE_TERMINATED || !in.final_backup_pending) {
        store_lease_release(o->store, id, NULL);
        return LC_OK;
    }
    ops_keepalive k;
    ops_keepalive_start(o, id, &k);
    e = ops_finish_termination(o, &in, true, d);
    ops_keepalive_stop(&k);
    lc_diag sd;
    lc_err se = store_save(o->store, &in, INSTANCE_TERMINATED, "reconcile", NULL, true, &sd);
    return e != LC_OK ? e : se == LC_OK ? LC_OK : lc_fail(d, se, "%s", sd.msg);
}
