/*
 * Minimal in-memory ustar archives for the Engine's archive endpoint: build
 * one holding a directory and one file (secret files placed in a container),
 * and find the first regular file in an archive the engine returned.
 */
#ifndef LC_TAR_H
#define LC_TAR_H

#include <stdbool.h>
#include <stddef.h>

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

#endif
