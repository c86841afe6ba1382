/*
 * Backups (DESIGN §6): one tar per backup, <backup_dir>/<instance id>/<UTC
 * time>.tar, holding the data volume as the Engine API's archive of the
 * data path ("volume.tar"), a pg_dump custom-format dump of the instance's
 * database ("database.dump", when a database server is configured), and
 * "manifest.json" (written last) giving each part's size and SHA-256.
 * Written to a temporary file, fsynced, renamed. Restore verifies every
 * checksum before touching anything.
 */
#ifndef LC_BACKUP_H
#define LC_BACKUP_H

#include <stdbool.h>
#include <time.h>

#include "engine.h"
#include "lc.h"

#define LC_BACKUP_MAX_PARTS 4

typedef struct lc_backup_part {
    char name[64];   /* "volume.tar", "database.dump" */
    long long size;  /* bytes */
    char sha256[65]; /* lowercase hex */
} lc_backup_part;

typedef struct lc_backup_info {
    char path[4096]; /* the final .tar */
    long long size;  /* bytes of the whole file */
    char sha256[65]; /* of the whole file */
    time_t created_at;
    int nparts;
    lc_backup_part parts[LC_BACKUP_MAX_PARTS];
    char instance[37]; /* from the manifest */
} lc_backup_info;

/* PostgreSQL server parameters; host == "" means no database server. */
typedef struct lc_pg {
    const char *host;
    int port;
    const char *user;
    const char *password_file; /* may be "" */
} lc_pg;

/* What to back up, or where to restore. Strings are borrowed. */
typedef struct lc_backup_target {
    const char *instance_id;
    const char *image;      /* a helper container is made from it, never started */
    const char *volume;     /* the data volume */
    const char *data_path;  /* where the volume is mounted, e.g. /var/lib/odoo */
    const char *store_uuid; /* labels of the helper container */
    const char *database;   /* the instance's PostgreSQL database */
    lc_pg pg;
} lc_backup_target;

/* Progress: what ("volume", "database"), bytes done, total (-1 when unknown). */
typedef void (*lc_progress_fn)(void *arg, const char *what, long long done, long long total);

/*
 * backup_write: writes a backup of t under dir/<instance id>/ and fills
 * *out. The volume is read through a helper container created (not started)
 * from t->image with t->volume at t->data_path, removed afterwards; the
 * dump comes from `pg_dump -Fc` when t->pg.host is set. On any failure (a
 * full disk included) the temporary file is removed and nothing else
 * changes: LC_EFAILED (d says what), LC_EENGINE, LC_EDOCKER.
 */
lc_err backup_write(lc_engine *e, const lc_backup_target *t, const char *dir,
                    lc_progress_fn progress, void *arg, lc_backup_info *out, lc_diag *d);

/*
 * backup_verify: reads the backup at path and checks every part's SHA-256
 * and size against its manifest. LC_ENOTFOUND when the file is missing,
 * LC_EINPUT when it is corrupt (a checksum, size, or the tar structure);
 * *out gets the manifest and the whole file's SHA-256.
 */
lc_err backup_verify(const char *path, lc_backup_info *out, lc_diag *d);

/*
 * backup_restore_volume: fills the (new, empty) volume new_volume with the
 * backup's volume.tar through a helper container from t->image mounting it
 * at t->data_path, keeping ownership and modes. Verifies first.
 */
lc_err backup_restore_volume(lc_engine *e, const char *path, const lc_backup_target *t,
                             const char *new_volume, lc_progress_fn progress, void *arg,
                             lc_diag *d);

/*
 * backup_restore_database: `pg_restore --no-owner` of the backup's
 * database.dump into t->database, which must be a new, empty database
 * (restore never loads into the live one: DESIGN restore, issue 9). LC_OK
 * doing nothing when the backup has no dump or t->pg.host is "". Verifies
 * first. LC_EFAILED naming pg_restore's message when it fails.
 */
lc_err backup_restore_database(const char *path, const lc_backup_target *t, lc_diag *d);

/* pg_drop_database: `dropdb --if-exists` of database; LC_OK when pg->host is "". */
lc_err pg_drop_database(const lc_pg *pg, const char *database, lc_diag *d);

/* ---- added with the implementation ---- */

/*
 * backup_parse_manifest: the manifest.json text (len bytes) into out's
 * instance, created_at, nparts and parts (other fields untouched). Format
 * must be 1; instance a string of 1..36 characters; created_at RFC 3339;
 * parts 1..LC_BACKUP_MAX_PARTS objects with a unique name (not
 * "manifest.json"), an integral size >= 0 and a 64-digit lowercase hex
 * sha256; a "volume.tar" part is required. LC_EINPUT ("manifest: ...")
 * otherwise.
 */
lc_err backup_parse_manifest(const char *json, size_t len, lc_backup_info *out, lc_diag *d);

/*
 * backup_manifest_json: the manifest of info (format 1, instance,
 * created_at, parts) as compact JSON, malloc'd (free()); NULL when out of
 * memory.
 */
char *backup_manifest_json(const lc_backup_info *info);

/* backup_find_part: the part called name in info, or NULL. Points into info. */
const lc_backup_part *backup_find_part(const lc_backup_info *info, const char *name);

#endif
