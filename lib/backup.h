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

#include "backup_file.h"
#include "engine.h"
#include "lc.h"

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
    /*
     * Restore only: the database the backup's volume was made under. When
     * set and not database, Odoo's filestore/<it>/ in the volume becomes
     * filestore/<database>/ (issue 13); NULL or "" keeps the volume as is.
     */
    const char *volume_database;
    lc_pg pg;
} lc_backup_target;

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
 * backup_restore_volume: fills the (new, empty) volume new_volume with the
 * backup's volume.tar through a helper container from t->image mounting it
 * at t->data_path, keeping ownership and modes. Verifies first. With
 * t->volume_database set and not t->database, the archive's entries under
 * <data_path>/filestore/<volume_database> are moved to
 * filestore/<database> as they stream to the engine (tar_rename: no copy
 * of the old name is left); a volume.tar that rename cannot read is
 * LC_EINPUT naming the byte, before the engine is asked anything.
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

#endif
