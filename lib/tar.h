/*
 * Minimal in-memory ustar archives for the Engine's archive endpoint: build
 * one holding a directory and one file (secret files placed in a container),
 * and find the first regular file in an archive the engine returned; plus
 * single-header helpers for streaming archives (backups) block by block.
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

#endif
