/*
 * Minimal in-memory ustar archives for the Engine's archive endpoint: build
 * one holding a directory and one file (secret files placed in a container),
 * and find the first regular file in an archive the engine returned; plus
 * single-header helpers for streaming archives (backups) block by block;
 * and tar_rename, which moves entries to another path while an archive
 * streams through (a volume restored under a new database name, issue 13).
 */
#ifndef LC_TAR_H
#define LC_TAR_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define TAR_BLOCK 512

/*
 * tar_build_file: a complete archive in *out (malloc'd, free()) of *outlen
 * bytes: directory dir (mode 0700) then dir/name (mode, len bytes of data),
 * both owned by uid:gid, then the two zero end blocks. dir may start with
 * '/'; it is stored relative. False when a path does not fit a ustar header
 * or memory runs out.
 */
bool tar_build_file(const char *dir, const char *name, const void *data, size_t len, unsigned mode,
                    unsigned uid, unsigned gid, unsigned char **out, size_t *outlen);

/*
 * tar_first_file: the first regular file of archive ar (ustar, GNU or PAX
 * entries, header checksums verified): *data points into ar, *len is its size.
 * Returns 1 when found, 0 when the archive ends without one, -1 when it is
 * corrupt or cut off before its end blocks.
 */
int tar_first_file(const unsigned char *ar, size_t arlen, const unsigned char **data, size_t *len);

/* One header as tar_parse_header read it. */
typedef struct tar_entry {
    char name[257];          /* prefix "/" name (ustar), NUL-terminated */
    char type;               /* typeflag: '0' (or '\0') regular file, '5' directory, ... */
    unsigned long long size; /* bytes of content following the header */
} tar_entry;

/*
 * tar_header: fills the 512-byte ustar header h for path (stored relative
 * of any leading '/'; up to 100 bytes, or split into prefix and name),
 * typeflag type, mode, owner uid:gid, content size in bytes (GNU base-256
 * when it does not fit 11 octal digits, i.e. from 8 GiB on) and mtime
 * (seconds since the epoch). False when path does not fit.
 */
bool tar_header(unsigned char *h, const char *path, char type, unsigned mode, unsigned uid,
                unsigned gid, unsigned long long size, time_t mtime);

/*
 * tar_parse_header: reads the 512-byte block h. Returns 1 with *out filled
 * for a header whose checksum and size field are valid, 0 for an all-zero
 * block (end of archive), -1 for anything else (corrupt, not a tar).
 */
int tar_parse_header(const unsigned char *h, tar_entry *out);

/* tar_padded: n rounded up to a multiple of 512. */
unsigned long long tar_padded(unsigned long long n);

/* ---- tar_rename: moving entries while an archive streams through ---- */

/* Reads exactly n bytes at byte off of the input archive into buf; false on failure. */
typedef bool (*tar_read_fn)(void *arg, long long off, void *buf, size_t n);

typedef enum tar_rename_err {
    TAR_RENAME_OK,
    TAR_RENAME_READ,    /* the read function failed (the caller knows why) */
    TAR_RENAME_CORRUPT, /* not a tar archive the rename can read: why says where */
    TAR_RENAME_NOMEM,
} tar_rename_err;

#define TAR_RENAME_FAILED ((size_t)-1)

/*
 * A rename in progress. The caller sets from, to (entry paths without a
 * trailing '/', borrowed), read, arg and in_size (bytes of input), the rest
 * zero; tar_rename_free frees it.
 *
 * Every entry whose path is from, or lies under from/, is moved under to:
 * the ustar name and prefix, a GNU long name ('L') and a PAX "path" record
 * are all rewritten, and so are a hard link's target (its linkname, GNU 'K'
 * and PAX "linkpath"; a symbolic link's target is a file system path and is
 * kept). A moved path that no longer fits its ustar header keeps its first
 * 100 bytes there and goes whole into a PAX record (added to the entry's
 * PAX header, or a new one just before it) unless a GNU or PAX record
 * already carries it. Every rewritten header gets its checksum recomputed;
 * contents, the end blocks and anything after them pass through unchanged.
 * Entries are read as Docker's archive/tar reads them (POSIX ustar, GNU,
 * PAX; no content after header-only types; a PAX "size" overrides the
 * header's). When from is NULL, "" or equal to to, the input passes through
 * as it is, unread. The rule comes from Odoo's filestore: attachments live
 * in <data_dir>/filestore/<database>/.
 */
typedef struct tar_rename {
    const char *from, *to;
    tar_read_fn read;
    void *arg;
    long long in_size;
    /* state */
    long long in_off;   /* next input byte to read */
    long long copy;     /* input bytes to pass through next (content, padding, the end) */
    bool ended;         /* the end blocks were reached (or nothing is renamed) */
    unsigned char *out; /* the current entry's rewritten headers */
    size_t out_len, out_cap, out_pos;
    long long renamed; /* entries moved so far */
    tar_rename_err err;
    char why[160]; /* what went wrong, with the input byte offset */
} tar_rename;

/* tar_rename_start: sets r back to the start of its input (from, to, read, arg, in_size kept). */
void tar_rename_start(tar_rename *r);

/*
 * tar_rename_size: walks r's input headers (contents skipped) and sets
 * *size to the bytes tar_rename_read will produce and *renamed to the
 * entries it moves; r is then at the start again. An error (with r->why)
 * when the input cannot be read or is not a readable archive: nothing of
 * it has been produced yet.
 */
tar_rename_err tar_rename_size(tar_rename *r, long long *size, long long *renamed);

/*
 * tar_rename_read: the next up to cap bytes of the renamed archive into
 * buf; fewer than cap only at its end (0 once done). TAR_RENAME_FAILED on
 * error, r->err and r->why saying what.
 */
size_t tar_rename_read(tar_rename *r, void *buf, size_t cap);

/* tar_rename_free: frees r's buffer (safe twice). */
void tar_rename_free(tar_rename *r);

#endif
