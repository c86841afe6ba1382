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

lc_err ops_restore_into_new_volume(lc_ops *o, lc_instance *in, const char *path,
                                   const char *volume_database, lc_diag *d)
{
    char new_volume[sizeof in->volume_name];
    lc_backup_target t;
    ops_target(o, in, &t);
    t.volume_database = volume_database;
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

/* The verification of a recorded backup: its file intact and the one recorded; *info its manifest.
 */
static lc_err verify_row(const lc_backup_row *row, lc_backup_info *info, lc_diag *d)
{
    lc_err e = backup_verify(row->path, info, d);
    if (e == LC_OK && strcmp(info->sha256, row->sha256) != 0)
        e = lc_fail(d, LC_EINPUT, "backup %s: file checksum differs from the recorded one",
                    row->path);
    return e;
}

/*
 * The database the volume of the backup info describes was made under
 * (issue 13: Odoo's filestore/<database>/ follows the new name): the
 * manifest's; for a backup from before manifests recorded it, that of the
 * manifest's instance when it is a row of this store (a row keeps its
 * database name for life); else "" (another store's old backup: unknown,
 * the filestore is left as it is and the history says so).
 */
static void volume_database(lc_ops *o, const lc_backup_info *info, char *out, size_t cap)
{
    lc_instance owner;
    lc_diag ignore;
    if (info->database[0] != '\0')
        snprintf(out, cap, "%s", info->database);
    else if (store_get(o->store, info->instance, &owner, &ignore) == LC_OK)
        snprintf(out, cap, "%s", owner.database_name);
    else
        out[0] = '\0';
}

/* What a restore into database db did with a volume made under vdb, for history: "" for nothing. */
static void filestore_note(const char *vdb, const char *db, char *out, size_t cap)
{
    if (vdb[0] == '\0')
        snprintf(out, cap, "; filestore left as is: the backup does not name its database");
    else if (strcmp(vdb, db) != 0)
        snprintf(out, cap, "; filestore %s renamed to %s", vdb, db);
    else
        out[0] = '\0';
}

/* A bad --from file as one line naming it: LC_EINPUT, the cause without a repeated path. */
static lc_err bad_file(const char *file, lc_diag *d)
{
    char cause[sizeof d->msg];
    const char *m = d->msg;
    size_t n = strlen(file);
    if (strncmp(m, "backup ", 7) == 0 && strncmp(m + 7, file, n) == 0 && m[7 + n] == ':')
        m += 7 + n + 1;
    else if (strncmp(m, file, n) == 0 && m[n] == ':')
        m += n + 1;
    snprintf(cause, sizeof cause, "%s", m + strspn(m, " "));
    return lc_fail(d, LC_EINPUT, "--from %s: %s", file, cause);
}

/* Writes all n bytes of buf to fd; false with errno on failure. */
static bool write_all(int fd, const char *buf, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, buf, n);
        if (w < 0 && errno != EINTR)
            return false;
        if (w > 0) {
            buf += w;
            n -= (size_t)w;
        }
    }
    return true;
}

/* Copies from into to (a new file), fsynced. LC_EFAILED naming the file and the cause. */
static lc_err copy_file(const char *from, const char *to, lc_diag *d)
{
    int in = open(from, O_RDONLY | O_CLOEXEC);
    int out = in < 0 ? -1 : open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    bool ok = out >= 0;
    char buf[65536];
    ssize_t r = 0;
    while (ok && (r = read(in, buf, sizeof buf)) != 0)
        ok = (r > 0 || errno == EINTR) && write_all(out, buf, r > 0 ? (size_t)r : 0);
    ok = ok && fsync(out) == 0;
    int err = errno;
    if (out >= 0 && close(out) != 0 && ok) {
        ok = false;
        err = errno;
    }
    if (in >= 0)
        close(in);
    return ok ? LC_OK : lc_fail(d, LC_EFAILED, "import %s to %s: %s", from, to, strerror(err));
}

/*
 * restore --from FILE (issue 13): the foreign backup verified (any instance's
 * or store's; a bad one is LC_EINPUT naming the file, nothing imported),
 * copied under this instance's backup directory (temporary file, fsync,
 * rename, directory fsync) and recorded as a backup of kind "imported", with
 * the manifest's time. The same file imported before is that row again.
 */
static lc_err import_backup(lc_ops *o, lc_instance *in, const char *file, lc_backup_row *row,
                            lc_diag *d)
{
    lc_backup_info info;
    lc_err e = backup_verify(file, &info, d);
    if (e != LC_OK)
        return e == LC_ENOMEM ? e : bad_file(file, d);
    lc_backup_row *all;
    size_t n;
    if ((e = store_backup_list(o->store, in->id, &all, &n, d)) != LC_OK)
        return e;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(all[i].sha256, info.sha256) == 0 && access(all[i].path, R_OK) == 0) {
            *row = all[i];
            free(all);
            return LC_OK;
        }
    }
    free(all);
    char dir[4200], tmp[4300], final[4300];
    snprintf(dir, sizeof dir, "%s/%s", o->cfg->backup_dir, in->id);
    snprintf(tmp, sizeof tmp, "%s/.import-%.16s.tmp", dir, info.sha256);
    snprintf(final, sizeof final, "%s/imported-%.16s.tar", dir, info.sha256);
    if ((e = ops_step(o, in, "import", d)) != LC_OK || (e = make_dirs(dir, d)) != LC_OK)
        return e;
    unlink(tmp);
    e = copy_file(file, tmp, d);
    if (e == LC_OK && rename(tmp, final) != 0)
        e = lc_fail(d, LC_EFAILED, "import %s: rename to %s: %s", file, final, strerror(errno));
    if (e == LC_OK)
        e = bf_fsync_dir(dir, d); /* the rename durable before the row names the file */
    if (e != LC_OK) {
        unlink(tmp);
        return e;
    }
    char parts[1024];
    parts_json(&info, parts, sizeof parts);
    memset(row, 0, sizeof *row);
    snprintf(row->instance_id, sizeof row->instance_id, "%s", in->id);
    snprintf(row->path, sizeof row->path, "%s", final);
    snprintf(row->sha256, sizeof row->sha256, "%s", info.sha256);
    snprintf(row->kind, sizeof row->kind, "imported");
    row->size = info.size;
    row->created_at = info.created_at ? info.created_at : time(NULL);
    return store_backup_add(o->store, row, parts, d);
}

/*
 * The backup to restore: --from FILE (imported), --backup ID (or prefix),
 * else the newest; verified, *info its manifest.
 */
static lc_err pick_backup(lc_ops *o, lc_instance *in, const act_ctx *ctx, lc_backup_row *row,
                          lc_backup_info *info, lc_diag *d)
{
    const char *want = ctx->opt != NULL ? ctx->opt->backup_id : NULL;
    const char *from = ctx->opt != NULL ? ctx->opt->from_file : NULL;
    lc_err e;
    if (from != NULL && want != NULL) {
        e = lc_fail(d, LC_EUSAGE, "--from and --backup exclude each other");
    } else if (from != NULL) {
        e = import_backup(o, in, from, row, d);
    } else if (want != NULL) {
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
    return e == LC_OK ? verify_row(row, info, d) : e;
}

/*
 * The safety backup of restore (issue 13): what the restore is about to
 * replace, taken first when the instance's volume exists (kind "safety", a
 * backup like any other), unless --no-safety-backup.
 */
static lc_err safety_backup(lc_ops *o, lc_instance *in, const act_ctx *ctx, lc_diag *d)
{
    bool exists = false;
    if (ctx->opt != NULL && ctx->opt->no_safety_backup)
        return LC_OK;
    lc_err e = engine_volume_exists(o->engine, in->volume_name, &exists, d);
    if (e != LC_OK || !exists)
        return e;
    lc_backup_row row;
    if ((e = ops_step(o, in, "safety-backup", d)) == LC_OK)
        e = ops_backup_now(o, in, "safety", &row, d);
    if (e != LC_OK && e != LC_EINTR)
        return lc_prefix(d, e, "safety backup (--no-safety-backup skips it)");
    return e;
}

/* The steps of a restore before which nothing of the instance has changed. */
static bool before_change(const char *step)
{
    static const char *const steps[] = {"begin", "import", "safety-backup", "volume"};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        if (strcmp(step, steps[i]) == 0)
            return true;
    return false;
}

ACTION_HANDLER(ops_act_restore)
{
    lc_backup_row row;
    lc_backup_info info;
    char vdb[sizeof info.database], fs[200];
    lc_err e = pick_backup(o, in, ctx, &row, &info, d);
    if (e == LC_OK)
        e = safety_backup(o, in, ctx, d);
    if (e == LC_OK) {
        volume_database(o, &info, vdb, sizeof vdb);
        e = ops_restore_into_new_volume(o, in, row.path, vdb, d);
    }
    if (e == LC_OK) {
        in->status = INSTANCE_STOPPED;
        in->error_message[0] = '\0';
        filestore_note(vdb, in->database_name, fs, sizeof fs);
        snprintf(res->note, sizeof res->note, "restored backup %.8s of %s%s", row.id, row.path, fs);
        ctx->record = true;
        snprintf(ctx->note, sizeof ctx->note, "backup %.8s restored%s%s", row.id,
                 strcmp(row.kind, "imported") == 0 ? " (imported)" : "", fs);
        return LC_OK;
    }
    if (e == LC_EINTR || e == LC_EENGINE || e == LC_ESTORE || e == LC_EBUSY || e == LC_EINPUT ||
        e == LC_ENOTFOUND || e == LC_EUSAGE)
        return e;
    if (!before_change(in->op_step)) {
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

/* ---- clone (issue 13) ---- */

/*
 * The backup a clone starts from: --backup ID, else src's newest (both
 * verified, *info their manifest), else one taken now (kind clone; *info
 * then names src and its database).
 */
static lc_err clone_source(lc_ops *o, lc_instance *src, const act_ctx *ctx, lc_backup_row *row,
                           lc_backup_info *info, lc_diag *d)
{
    lc_backup_row *all = NULL;
    size_t n = 0;
    lc_err e = LC_OK;
    if (ctx->opt->backup_id == NULL &&
        (e = store_backup_list(o->store, src->id, &all, &n, d)) == LC_OK && n == 0) {
        free(all);
        memset(info, 0, sizeof *info);
        snprintf(info->instance, sizeof info->instance, "%s", src->id);
        snprintf(info->database, sizeof info->database, "%s", src->database_name);
        if ((e = ops_step(o, src, "backup", d)) == LC_OK)
            e = ops_backup_now(o, src, "clone", row, d);
        return e;
    }
    if (e == LC_OK && n > 0)
        *row = all[0];
    free(all);
    if (e == LC_OK && ctx->opt->backup_id != NULL)
        e = store_backup_get(o->store, src->id, ctx->opt->backup_id, row, d);
    return e == LC_OK ? verify_row(row, info, d) : e;
}

/*
 * The new row of a clone: src's image, version and admin email, its own
 * name, database (named from the name, as create's rule allows), container
 * name and first volume generation; creating, with the clone recorded as
 * the operation that makes it.
 */
static void clone_row(lc_ops *o, const lc_instance *src, const char *name, lc_instance *nw)
{
    memset(nw, 0, sizeof *nw);
    lc_new_uuid(nw->id);
    snprintf(nw->name, sizeof nw->name, "%s", name);
    snprintf(nw->admin_email, sizeof nw->admin_email, "%s", src->admin_email);
    snprintf(nw->database_name, sizeof nw->database_name, "%s", name);
    snprintf(nw->odoo_version, sizeof nw->odoo_version, "%s", src->odoo_version);
    snprintf(nw->image, sizeof nw->image, "%s", src->image);
    snprintf(nw->host, sizeof nw->host, "%s", src->host);
    ops_new_row_creating(o, nw, ACT_CLONE, "volume");
}

/*
 * The new instance's steps: volume (its filestore moved from vdb's name to
 * its database's), database, container, neutralize, start, running.
 */
static lc_err clone_steps(lc_ops *o, lc_instance *nw, const char *path, const char *vdb,
                          bool neutralize, lc_diag *d)
{
    lc_backup_target t;
    lc_pg pg;
    ops_target(o, nw, &t);
    t.volume_database = vdb;
    ops_admin_pg(o, &pg);
    lc_err e = ops_step(o, nw, "volume", d);
    if (e == LC_OK)
        e = engine_volume_create(o->engine, nw->volume_name, store_uuid(o->store), nw->id, d);
    if (e == LC_OK)
        e = backup_restore_volume(o->engine, path, &t, nw->volume_name, o->transfer,
                                  o->transfer_arg, d);
    if (e == LC_OK && pg.host != NULL && pg.host[0] != '\0' &&
        (e = ops_step(o, nw, "database", d)) == LC_OK) {
        e = pg_create_database(&pg, nw->database_name, d);
        if (e == LC_OK)
            e = backup_restore_database(path, &t, d);
    }
    if (e == LC_OK && (e = ops_step(o, nw, "container", d)) == LC_OK)
        e = ops_make_container(o, nw, d);
    const char *const args[] = {"neutralize", "-d", nw->database_name, NULL};
    if (e == LC_OK && neutralize && (e = ops_step(o, nw, "neutralize", d)) == LC_OK)
        e = ops_odoo_command(o, nw, args, d);
    if (e == LC_OK && (e = ops_step(o, nw, "start", d)) == LC_OK)
        e = engine_container_start(o->engine, nw->container_id, d);
    lc_observation obs;
    if (e == LC_OK && (e = ops_step(o, nw, "running", d)) == LC_OK)
        e = ops_wait_running(o, nw, nw->op_deadline, &obs, d);
    if (e == LC_OK)
        ops_record_start(o, nw, &obs);
    return e;
}

/*
 * Makes the new instance under its own lease and ends it at the one exit
 * point: running, or error "clone failed at step S" (an interruption rolled
 * back as create's is). *nw is the row as it ended; vdb is the database
 * the backup's volume was made under ("" unknown).
 */
static lc_err clone_make(lc_ops *o, lc_instance *nw, const lc_backup_row *from, const char *vdb,
                         bool neutralize, const char *src_name, lc_diag *d)
{
    lc_err e = store_insert(o->store, nw, o->cfg->lease_seconds, d);
    if (e != LC_OK)
        return e;
    ops_keepalive k;
    ops_keepalive_start(o, nw->id, &k);
    e = clone_steps(o, nw, from->path, vdb, neutralize, d);
    if (e != LC_OK && e != LC_EINTR && lc_interrupt_pending())
        e = LC_EINTR;
    if (e == LC_OK) {
        nw->status = INSTANCE_RUNNING;
    } else if (e != LC_EINTR) {
        nw->status = INSTANCE_ERROR;
        nw->error_from_op = true;
        snprintf(nw->error_message, sizeof nw->error_message, "clone failed at step %s: %s",
                 nw->op_step, d->msg);
        snprintf(d->msg, sizeof d->msg, "%s: %s", nw->name, nw->error_message);
    }
    char detail[400], fs[200];
    filestore_note(vdb, nw->database_name, fs, sizeof fs);
    snprintf(detail, sizeof detail, "clone of %s (backup %.8s%s)%s", src_name, from->id,
             neutralize ? ", neutralized" : "", fs);
    act_ctx nctx = {.cause = "action", .detail = detail, .saved = INSTANCE_CREATING};
    e = ops_conclude(o, nw, &nctx, e, d);
    ops_keepalive_stop(&k);
    return e;
}

ACTION_HANDLER(ops_act_clone)
{
    const char *name = ctx->opt != NULL ? ctx->opt->new_name : NULL;
    if (name == NULL)
        return lc_fail(d, LC_EUSAGE, "clone: the new instance's name is missing");
    lc_err e = lc_validate_name(name, d);
    if (e == LC_OK)
        e = lc_validate_database(name, d);
    if (e != LC_OK)
        return e;
    lc_backup_row from;
    lc_backup_info info;
    char vdb[sizeof info.database];
    e = clone_source(o, in, ctx, &from, &info, d);
    if (e != LC_OK)
        return e;
    volume_database(o, &info, vdb, sizeof vdb);
    lc_instance nw;
    clone_row(o, in, name, &nw);
    bool neutralize = ctx->opt->neutralize;
    e = clone_make(o, &nw, &from, vdb, neutralize, in->name, d);
    if (e == LC_OK) {
        snprintf(res->note, sizeof res->note, "cloned to %s (running) from backup %.8s%s", nw.name,
                 from.id, neutralize ? ", neutralized" : "");
        ctx->record = true;
        snprintf(ctx->note, sizeof ctx->note, "cloned to %s from backup %.8s", nw.name, from.id);
    }
    return e;
}
