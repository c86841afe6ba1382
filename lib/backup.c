/*
 * Backups (DESIGN §6), see backup.h: what goes into the backup file and
 * out of it. The volume goes through a helper container that is created,
 * never started, and always removed; the database through pg_dump and
 * pg_restore (pgtools.c). The file format itself is backup_file.c.
 */
#include "backup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pgtools.h"
#include "tar.h"

/* Engine errors as backup_write reports them: a 404 (image, path) is the engine's refusal. */
static lc_err engine_code(lc_err err)
{
    if (err == LC_EENGINE || err == LC_ENOMEM || err == LC_EFAILED)
        return err;
    return err == LC_ENOTFOUND || err == LC_EDOCKER ? LC_EDOCKER : LC_EFAILED;
}

/*
 * Creates (never starts) a helper from t->image mounting volume at
 * t->data_path: read-only for a backup, writable for a restore; never
 * filled from the image (NoCopy), no network, role label "helper".
 */
static lc_err helper_create(lc_engine *e, const lc_backup_target *t, const char *volume,
                            bool writable, char id[65], lc_diag *d)
{
    unsigned char r[4] = {0};
    char name[96];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
        unsigned v = (unsigned)getpid() ^ (unsigned)time(NULL);
        memcpy(r, &v, sizeof r);
    }
    snprintf(name, sizeof name, "instctl_helper_%.8s_%02x%02x%02x%02x", t->instance_id, r[0], r[1],
             r[2], r[3]);
    lc_container_spec s = {.name = name,
                           .image = t->image,
                           .volume = volume,
                           .data_path = t->data_path,
                           .store_uuid = t->store_uuid,
                           .instance_id = t->instance_id,
                           .network = "none",
                           .no_healthcheck = true,
                           .role = LC_ROLE_HELPER,
                           .volume_read_only = !writable,
                           .volume_no_copy = true};
    lc_err err = engine_container_create(e, &s, id, d);
    return err == LC_OK ? LC_OK : lc_prefix(d, engine_code(err), "helper container");
}

/* Force-removes a helper; a failure leaves a container labelled role=helper behind. */
static void helper_remove(lc_engine *e, const char *id)
{
    lc_diag ignored;
    engine_container_remove(e, id, true, &ignored);
}

static lc_err volume_part(lc_engine *e, const lc_backup_target *t, bf_writer *w, lc_backup_part *p,
                          lc_diag *d)
{
    char helper[65];
    lc_err err = helper_create(e, t, t->volume, false, helper, d);
    if (err != LC_OK)
        return err;
    if (!bf_part_begin(w, "volume", -1)) {
        err = bf_disk_error(w, d);
    } else {
        err = engine_archive_get(e, helper, t->data_path, bf_sink, w, d);
        if (w->err != 0)
            err = bf_disk_error(w, d);
        else if (err != LC_OK)
            err = lc_prefix(d, engine_code(err), "backup: volume %s", t->volume);
        else if (!bf_part_end(w, BF_PART_VOLUME, p))
            err = bf_disk_error(w, d);
    }
    helper_remove(e, helper);
    return err;
}

/* pg_dump into a temporary file beside the backup, then into the archive. */
static lc_err dump_part(const lc_backup_target *t, bf_writer *w, lc_backup_part *p, lc_diag *d)
{
    char tmp[4200];
    size_t base = strlen(w->tmp) - strlen(".tar.tmp");
    snprintf(tmp, sizeof tmp, "%.*s.dump.tmp", (int)base, w->tmp);
    lc_err err = pg_dump_to(&t->pg, t->database, tmp, d);
    if (err != LC_OK)
        err = lc_prefix(d, err, "backup: database %s", t->database ? t->database : "");
    else
        err = bf_copy_in(w, tmp, BF_PART_DUMP, p, d);
    unlink(tmp);
    return err;
}

static bool has_pg(const lc_pg *pg)
{
    return pg->host != NULL && pg->host[0] != '\0';
}

/* volume.tar, database.dump (with a database server), manifest.json, end blocks, fsync. */
static lc_err write_parts(lc_engine *e, const lc_backup_target *t, bf_writer *w,
                          lc_backup_info *info, lc_diag *d)
{
    lc_err err = volume_part(e, t, w, &info->parts[0], d);
    if (err != LC_OK)
        return err;
    info->nparts = 1;
    if (has_pg(&t->pg)) {
        if ((err = dump_part(t, w, &info->parts[1], d)) != LC_OK)
            return err;
        info->nparts = 2;
    }
    err = bf_manifest_part(w, info, d);
    return err == LC_OK ? bf_writer_finish(w, d) : err;
}

/* dir/<instance id>, created 0700 when missing (*created then true, and dir fsynced). */
static lc_err instance_dir(const char *dir, const char *id, char *out, size_t cap, bool *created,
                           lc_diag *d)
{
    *created = false;
    if ((size_t)snprintf(out, cap, "%s/%s", dir, id) >= cap - 64)
        return lc_fail(d, LC_EUSAGE, "backup: directory name too long");
    int rc = mkdir(out, 0700);
    if (rc != 0 && errno != EEXIST)
        return lc_fail(d, LC_EFAILED, "backup: %s: %s", out, strerror(errno));
    *created = rc == 0;
    struct stat st;
    if (stat(out, &st) != 0 || !S_ISDIR(st.st_mode))
        return lc_fail(d, LC_EFAILED, "backup: %s: not a directory", out);
    return *created ? bf_fsync_dir(dir, d) : LC_OK;
}

static lc_err check_target(const lc_backup_target *t, lc_diag *d)
{
    const char *id = t->instance_id;
    if (id == NULL || id[0] == '\0' || id[0] == '.' || strchr(id, '/') != NULL ||
        strlen(id) >= sizeof((lc_backup_info *)0)->instance)
        return lc_fail(d, LC_EUSAGE, "backup: invalid instance id \"%s\"", id ? id : "");
    if (t->image == NULL || t->image[0] == '\0' || t->volume == NULL || t->volume[0] == '\0')
        return lc_fail(d, LC_EUSAGE, "backup: no image or volume");
    if (t->data_path == NULL || t->data_path[0] != '/' || t->data_path[1] == '\0')
        return lc_fail(d, LC_EUSAGE, "backup: data path must be an absolute directory");
    return LC_OK;
}

static lc_err check_volume(lc_engine *e, const char *volume, lc_diag *d)
{
    bool exists = false;
    lc_err err = engine_volume_exists(e, volume, &exists, d);
    if (err != LC_OK)
        return lc_prefix(d, engine_code(err), "backup");
    return exists ? LC_OK : lc_fail(d, LC_EFAILED, "backup: volume %s not found", volume);
}

/* Writes, checks and publishes the backup file into idir. */
static lc_err write_file(lc_engine *e, const lc_backup_target *t, const char *idir,
                         lc_progress_fn progress, void *arg, lc_backup_info *out, lc_diag *d)
{
    char stamp[32], final[4096];
    lc_backup_info info = {.created_at = time(NULL)};
    struct tm tm;
    gmtime_r(&info.created_at, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    snprintf(info.instance, sizeof info.instance, "%s", t->instance_id);
    snprintf(info.database, sizeof info.database, "%s", t->database ? t->database : "");
    bf_writer w = {.fd = -1, .mtime = info.created_at, .progress = progress, .arg = arg};
    lc_err err = bf_writer_open(&w, idir, stamp, d);
    if (err == LC_OK)
        err = write_parts(e, t, &w, &info, d);
    if (err == LC_OK)
        err = bf_self_check(w.tmp, &info, out, d);
    if (err == LC_OK)
        err = bf_publish(&w, idir, stamp, final, sizeof final, d);
    if (err == LC_OK)
        snprintf(out->path, sizeof out->path, "%s", final);
    bf_writer_close(&w);
    return err;
}

lc_err backup_write(lc_engine *e, const lc_backup_target *t, const char *dir,
                    lc_progress_fn progress, void *arg, lc_backup_info *out, lc_diag *d)
{
    char idir[4096];
    bool created = false;
    memset(out, 0, sizeof *out);
    if (dir == NULL || dir[0] == '\0')
        return lc_fail(d, LC_EUSAGE, "backup: no backup directory");
    lc_err err = check_target(t, d);
    if (err == LC_OK)
        err = check_volume(e, t->volume, d);
    if (err == LC_OK)
        err = instance_dir(dir, t->instance_id, idir, sizeof idir, &created, d);
    if (err == LC_OK)
        err = write_file(e, t, idir, progress, arg, out, d);
    if (err != LC_OK) {
        if (created && rmdir(idir) == 0)
            bf_fsync_dir(dir, &(lc_diag){""});
        memset(out, 0, sizeof *out);
    }
    return err;
}

/* Feeds volume.tar (from its offset in the backup file, renamed on the way) to an upload. */
typedef struct reader {
    int fd;
    long long base; /* the part's offset in the file */
    int err;        /* errno of a failed read */
    tar_rename tr;
    long long done, total, reported;
    lc_progress_fn progress;
    void *arg;
} reader;

static bool read_at(void *arg, long long off, void *buf, size_t n)
{
    reader *r = arg;
    size_t got = 0;
    while (got < n) {
        ssize_t k = pread(r->fd, (char *)buf + got, n - got, r->base + off + (long long)got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            r->err = k < 0 ? errno : EIO;
            return false;
        }
        got += (size_t)k;
    }
    return true;
}

static size_t source(void *arg, void *buf, size_t cap)
{
    reader *r = arg;
    size_t got = tar_rename_read(&r->tr, buf, cap);
    if (got == TAR_RENAME_FAILED)
        return LC_SOURCE_ERROR;
    r->done += (long long)got;
    if (r->progress != NULL && got > 0 &&
        (r->done == r->total || r->done - r->reported >= BF_PROGRESS_STEP)) {
        r->progress(r->arg, "volume", r->done, r->total);
        r->reported = r->done;
    }
    return got;
}

/* The directory holding data_path ("/var/lib" for "/var/lib/odoo", "/" for "/data"). */
static void parent_dir(const char *data_path, char *out, size_t cap)
{
    size_t n = strlen(data_path);
    while (n > 1 && data_path[n - 1] == '/')
        n--;
    while (n > 0 && data_path[n - 1] != '/')
        n--;
    while (n > 1 && data_path[n - 1] == '/')
        n--;
    snprintf(out, cap, "%.*s", (int)(n > 0 ? n : 1), data_path);
}

/*
 * Odoo's filestore of database db as the engine's archive of data_path
 * names it: "<last component of data_path>/filestore/<db>" (Docker roots
 * the archive at the path's base name; Odoo keeps attachments under
 * <data_dir>/filestore/<db>/). "" when db is NULL or "".
 */
static void filestore_path(const char *data_path, const char *db, char *out, size_t cap)
{
    size_t n = strlen(data_path);
    while (n > 1 && data_path[n - 1] == '/')
        n--;
    size_t b = n;
    while (b > 0 && data_path[b - 1] != '/')
        b--;
    if (db == NULL || db[0] == '\0')
        snprintf(out, cap, "%s", "");
    else
        snprintf(out, cap, "%.*s/filestore/%s", (int)(n - b), data_path + b, db);
}

/* The volume part's reader, with the rename set up and its output size known (r->total). */
static lc_err open_reader(const bf_scanner *s, const bf_found_part *f, const lc_backup_target *t,
                          reader *r, char *from, char *to, size_t cap, lc_diag *d)
{
    filestore_path(t->data_path, t->volume_database, from, cap);
    filestore_path(t->data_path, t->database, to, cap);
    r->fd = s->fd;
    r->base = f->offset;
    r->tr = (tar_rename){.from = from, .to = to, .read = read_at, .arg = r, .in_size = f->size};
    long long moved = 0;
    switch (tar_rename_size(&r->tr, &r->total, &moved)) {
    case TAR_RENAME_OK:
        return LC_OK;
    case TAR_RENAME_READ:
        return lc_fail(d, LC_EFAILED, "restore: %s: %s", s->path, strerror(r->err));
    case TAR_RENAME_NOMEM:
        return lc_fail(d, LC_ENOMEM, "restore: out of memory");
    case TAR_RENAME_CORRUPT:
        return lc_fail(d, LC_EINPUT, "restore: %s: %s: %s", s->path, BF_PART_VOLUME, r->tr.why);
    }
    return LC_EFAILED;
}

static lc_err fill_volume(lc_engine *e, const bf_scanner *s, const bf_found_part *f,
                          const lc_backup_target *t, const char *new_volume,
                          lc_progress_fn progress, void *arg, lc_diag *d)
{
    char parent[4096], helper[65], from[4200], to[4200];
    reader r = {.progress = progress, .arg = arg};
    lc_err err = open_reader(s, f, t, &r, from, to, sizeof from, d);
    if (err == LC_OK &&
        (err = engine_volume_create(e, new_volume, t->store_uuid, t->instance_id, d)) != LC_OK)
        err = lc_prefix(d, engine_code(err), "restore");
    if (err == LC_OK && (err = helper_create(e, t, new_volume, true, helper, d)) != LC_OK)
        err = lc_prefix(d, err, "restore");
    if (err != LC_OK) {
        tar_rename_free(&r.tr);
        return err;
    }
    parent_dir(t->data_path, parent, sizeof parent);
    err = engine_archive_put(e, helper, parent, source, &r, r.total, d);
    if (r.err != 0)
        err = lc_fail(d, LC_EFAILED, "restore: %s: %s", s->path, strerror(r.err));
    else if (r.tr.err != TAR_RENAME_OK)
        err = lc_fail(d, r.tr.err == TAR_RENAME_NOMEM ? LC_ENOMEM : LC_EINPUT,
                      "restore: %s: %s: %s", s->path, BF_PART_VOLUME, r.tr.why);
    else if (err != LC_OK)
        err = lc_prefix(d, engine_code(err), "restore: volume %s", new_volume);
    tar_rename_free(&r.tr);
    helper_remove(e, helper);
    return err;
}

lc_err backup_restore_volume(lc_engine *e, const char *path, const lc_backup_target *t,
                             const char *new_volume, lc_progress_fn progress, void *arg, lc_diag *d)
{
    lc_backup_info info;
    bf_scanner s;
    lc_err err = check_target(t, d);
    if (err != LC_OK)
        return err;
    if (new_volume == NULL || new_volume[0] == '\0')
        return lc_fail(d, LC_EUSAGE, "restore: no volume");
    err = bf_scan_file(&s, path, &info, d);
    const bf_found_part *f = err == LC_OK ? bf_scan_found(&s, BF_PART_VOLUME) : NULL;
    if (err == LC_OK)
        err = fill_volume(e, &s, f, t, new_volume, progress, arg, d);
    bf_scan_close(&s);
    return err;
}

/* The dump into a temporary file beside the backup, then pg_restore, then the file is removed. */
static lc_err restore_dump(const bf_scanner *s, const bf_found_part *f, const lc_backup_target *t,
                           lc_diag *d)
{
    char tmp[4200];
    const char *slash = strrchr(s->path, '/');
    int dlen = slash == NULL ? 1 : slash == s->path ? 1 : (int)(slash - s->path);
    snprintf(tmp, sizeof tmp, "%.*s/.restore-XXXXXX.dump", dlen, slash == NULL ? "." : s->path);
    int fd = mkstemps(tmp, 5);
    if (fd < 0)
        return lc_fail(d, LC_EFAILED, "restore: %s: %s", tmp, strerror(errno));
    lc_err err = bf_extract_part(s, f, fd, tmp, d);
    if (close(fd) != 0 && err == LC_OK)
        err = lc_fail(d, LC_EFAILED, "restore: %s: %s", tmp, strerror(errno));
    if (err == LC_OK && (err = pg_restore_from(&t->pg, t->database, tmp, d)) != LC_OK)
        lc_prefix(d, err, "restore: database %s", t->database ? t->database : "");
    unlink(tmp);
    return err;
}

lc_err backup_restore_database(const char *path, const lc_backup_target *t, lc_diag *d)
{
    if (!has_pg(&t->pg))
        return LC_OK;
    lc_backup_info info;
    bf_scanner s;
    lc_err err = bf_scan_file(&s, path, &info, d);
    const bf_found_part *f = err == LC_OK ? bf_scan_found(&s, BF_PART_DUMP) : NULL;
    if (f != NULL)
        err = restore_dump(&s, f, t, d);
    bf_scan_close(&s);
    return err;
}
