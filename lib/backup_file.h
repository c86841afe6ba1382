/*
 * The backup file format (DESIGN §6): one ustar archive holding
 * "volume.tar" (the Engine API's archive of the data path), "database.dump"
 * (pg_dump -Fc, when a database server is configured) and "manifest.json"
 * (written last: each part's size and SHA-256). Pure file handling: this
 * layer knows nothing of Docker or PostgreSQL (backup.c, above it, feeds the
 * parts in and takes them out). The first half is the public format; the
 * bf_ half is the streaming writer and scanner backup.c builds on.
 */
#ifndef LC_BACKUP_FILE_H
#define LC_BACKUP_FILE_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

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
    char database[64]; /* from the manifest: the database the volume was made under, "" in
                          backups from before it was recorded */
} lc_backup_info;

/* Progress: what ("volume", "database"), bytes done, total (-1 when unknown). */
typedef void (*lc_progress_fn)(void *arg, const char *what, long long done, long long total);

/*
 * backup_verify: reads the backup at path and checks every part's SHA-256
 * and size against its manifest. LC_ENOTFOUND when the file is missing,
 * LC_EINPUT when it is corrupt (a checksum, size, or the tar structure);
 * *out gets the manifest and the whole file's SHA-256.
 */
lc_err backup_verify(const char *path, lc_backup_info *out, lc_diag *d);

/*
 * backup_parse_manifest: the manifest.json text (len bytes) into out's
 * instance, database, created_at, nparts and parts (other fields
 * untouched). Format must be 1; instance a string of 1..36 characters;
 * database, when present (issue 13; older manifests have none: ""), a
 * name lc_validate_database accepts; created_at RFC 3339;
 * parts 1..LC_BACKUP_MAX_PARTS objects with a unique name (not
 * "manifest.json"), an integral size >= 0 and a 64-digit lowercase hex
 * sha256; a "volume.tar" part is required. LC_EINPUT ("manifest: ...")
 * otherwise.
 */
lc_err backup_parse_manifest(const char *json, size_t len, lc_backup_info *out, lc_diag *d);

/*
 * backup_manifest_json: the manifest of info (format 1, instance,
 * database when not "", created_at, parts) as compact JSON, malloc'd
 * (free()); NULL when out of memory.
 */
char *backup_manifest_json(const lc_backup_info *info);

/* backup_find_part: the part called name in info, or NULL. Points into info. */
const lc_backup_part *backup_find_part(const lc_backup_info *info, const char *name);

/* ---- the streaming writer and the scanner (for backup.c) ---- */

#define BF_PART_VOLUME "volume.tar"
#define BF_PART_DUMP "database.dump"
#define BF_PART_MANIFEST "manifest.json"
#define BF_IO_CHUNK (1024 * 1024)
#define BF_PROGRESS_STEP (4LL * 1024 * 1024) /* bytes between progress calls */

/* Where a part's content lies in the file, and what it hashed to. */
typedef struct bf_found_part {
    char name[64];
    long long offset, size;
    char sha256[65];
} bf_found_part;

typedef struct bf_scanner {
    int fd;
    const char *path;
    EVP_MD_CTX *whole, *part;
    unsigned char *buf; /* BF_IO_CHUNK bytes */
    long long off;
    int nfound;
    bf_found_part found[LC_BACKUP_MAX_PARTS];
    char *manifest; /* malloc'd, NUL-terminated, once read */
    size_t manifest_len;
} bf_scanner;

typedef struct bf_writer {
    int fd;
    char tmp[4096]; /* the temporary file, "" once renamed */
    long long off;  /* bytes written so far */
    int err;        /* errno of the first write failure, 0 when none */
    EVP_MD_CTX *md; /* the current part's hash */
    long long part_off, part_size, part_total, reported;
    time_t mtime;
    const char *what; /* the current part for progress, NULL for none */
    lc_progress_fn progress;
    void *arg;
} bf_writer;

/*
 * bf_writer_open: opens idir/.<stamp>-XXXXXX.tar.tmp (0600) for w, whose
 * fd is -1 and mtime, progress and arg set by the caller. LC_EFAILED naming
 * the file on failure. bf_writer_close removes the temporary file unless
 * bf_publish renamed it, and frees w's hash; safe on a writer never opened.
 */
lc_err bf_writer_open(bf_writer *w, const char *idir, const char *stamp, lc_diag *d);
void bf_writer_close(bf_writer *w);

/*
 * A part: bf_part_begin (what names it for progress, NULL for none; total
 * bytes or -1), bf_sink (an lc engine download callback: arg is the writer)
 * or writes through bf_copy_in, then bf_part_end records its name, size and
 * SHA-256 into *p. They return false on a write failure, kept in w->err;
 * bf_disk_error turns it into LC_EFAILED naming the file.
 */
bool bf_part_begin(bf_writer *w, const char *what, long long total);
bool bf_sink(void *arg, const void *data, size_t len);
bool bf_part_end(bf_writer *w, const char *name, lc_backup_part *p);
lc_err bf_disk_error(const bf_writer *w, lc_diag *d);
/* bf_copy_in: the file src as part name (progress "database"). LC_EFAILED/LC_ENOMEM. */
lc_err bf_copy_in(bf_writer *w, const char *src, const char *name, lc_backup_part *p, lc_diag *d);
/* bf_manifest_part: manifest.json of info as the last part. */
lc_err bf_manifest_part(bf_writer *w, const lc_backup_info *info, lc_diag *d);
/* bf_writer_finish: the end blocks and fsync. LC_EFAILED on a write error. */
lc_err bf_writer_finish(bf_writer *w, lc_diag *d);
/* bf_self_check: the file at tmp read back equals info's parts; *out its verified info. */
lc_err bf_self_check(const char *tmp, const lc_backup_info *info, lc_backup_info *out, lc_diag *d);
/*
 * bf_publish: renames the temporary file to idir/<stamp>.tar (or
 * <stamp>-N.tar, never replacing a file), then fsyncs idir; final gets the
 * name (cap bytes). LC_EFAILED naming both names.
 */
lc_err bf_publish(bf_writer *w, const char *idir, const char *stamp, char *final, size_t cap,
                  lc_diag *d);
/* bf_fsync_dir: fsync of the directory dir. LC_EFAILED naming it. */
lc_err bf_fsync_dir(const char *dir, lc_diag *d);

/*
 * bf_scan_file: opens and verifies the backup at path (as backup_verify),
 * keeping it open in *s with where each part lies; *out its info.
 * bf_scan_close frees s (also after a failed scan). bf_scan_found: the part
 * called name, or NULL. bf_extract_part copies part f to fd (dst names it
 * in errors), hashing it again: LC_EINPUT when the file changed meanwhile.
 */
lc_err bf_scan_file(bf_scanner *s, const char *path, lc_backup_info *out, lc_diag *d);
void bf_scan_close(bf_scanner *s);
const bf_found_part *bf_scan_found(const bf_scanner *s, const char *name);
lc_err bf_extract_part(const bf_scanner *s, const bf_found_part *f, int fd, const char *dst,
                       lc_diag *d);

#endif
