/*
 * Minimal ustar writer and reader for the Engine's archive endpoint and the
 * backup file's outer archive; see tar.h.
 */
#include "tar.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BLOCK 512
#define OFF_MODE 100
#define OFF_UID 108
#define OFF_GID 116
#define OFF_SIZE 124
#define OFF_MTIME 136
#define OFF_CHKSUM 148
#define OFF_TYPE 156
#define OFF_MAGIC 257
#define OFF_VERSION 263
#define OFF_PREFIX 345

static size_t padded(size_t n)
{
    return (n + BLOCK - 1) / BLOCK * BLOCK;
}

/* Writes v as width-1 octal digits and a NUL; false when it does not fit. */
static bool put_octal(unsigned char *field, size_t width, unsigned long long v)
{
    if ((width - 1) * 3 < 64 && v >> ((width - 1) * 3) != 0)
        return false;
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%0*llo", (int)width - 1, v);
    memcpy(field, tmp, width);
    return true;
}

/* Stores path in name (100) or split across prefix (155) and name at a '/'. */
static bool put_path(unsigned char *h, const char *path)
{
    size_t n = strlen(path);
    if (n <= 100) {
        memcpy(h, path, n);
        return true;
    }
    for (size_t i = n - 1; i > 0; i--) {
        if (i <= 155 && path[i] == '/' && n - i - 1 <= 100 && n - i - 1 > 0) {
            memcpy(h + OFF_PREFIX, path, i);
            memcpy(h, path + i + 1, n - i - 1);
            return true;
        }
    }
    return false;
}

static unsigned long checksum(const unsigned char *h)
{
    unsigned long sum = 0;
    for (size_t i = 0; i < BLOCK; i++)
        sum += (i >= OFF_CHKSUM && i < OFF_CHKSUM + 8) ? ' ' : h[i];
    return sum;
}

static bool put_header(unsigned char *h, const char *path, char type, unsigned mode, unsigned uid,
                       unsigned gid, size_t size)
{
    memset(h, 0, BLOCK);
    if (!put_path(h, path) || !put_octal(h + OFF_MODE, 8, mode & 07777) ||
        !put_octal(h + OFF_UID, 8, uid) || !put_octal(h + OFF_GID, 8, gid) ||
        !put_octal(h + OFF_SIZE, 12, size) ||
        !put_octal(h + OFF_MTIME, 12, (unsigned long long)time(NULL)))
        return false;
    h[OFF_TYPE] = (unsigned char)type;
    memcpy(h + OFF_MAGIC, "ustar", 6);
    memcpy(h + OFF_VERSION, "00", 2);
    char sum[8];
    snprintf(sum, sizeof sum, "%06lo", checksum(h));
    memcpy(h + OFF_CHKSUM, sum, 7);
    h[OFF_CHKSUM + 7] = ' ';
    return true;
}

bool tar_build_file(const char *dir, const char *name, const void *data, size_t len, unsigned mode,
                    unsigned uid, unsigned gid, unsigned char **out, size_t *outlen)
{
    while (*dir == '/')
        dir++;
    size_t dlen = strlen(dir);
    while (dlen > 0 && dir[dlen - 1] == '/')
        dlen--;
    char dpath[512], fpath[512];
    if (name[0] == '\0' ||
        (size_t)snprintf(dpath, sizeof dpath, "%.*s/", (int)dlen, dir) >= sizeof dpath)
        return false;
    if ((size_t)snprintf(fpath, sizeof fpath, "%s%s", dlen > 0 ? dpath : "", name) >= sizeof fpath)
        return false;
    size_t total = (dlen > 0 ? BLOCK : 0) + BLOCK + padded(len) + 2 * BLOCK;
    unsigned char *ar = calloc(1, total), *p = ar;
    if (ar == NULL)
        return false;
    if (dlen > 0 && !put_header(p, dpath, '5', 0700, uid, gid, 0))
        goto fail;
    p += dlen > 0 ? BLOCK : 0;
    if (!put_header(p, fpath, '0', mode, uid, gid, len))
        goto fail;
    if (len > 0)
        memcpy(p + BLOCK, data, len);
    *out = ar;
    *outlen = total;
    return true;
fail:
    free(ar);
    return false;
}

/* A numeric field: octal (space/NUL padded) or GNU base-256 (high bit set). */
static bool get_num(const unsigned char *f, size_t width, unsigned long long *v)
{
    *v = 0;
    if (f[0] & 0x80) {
        for (size_t i = 1; i < width; i++)
            *v = (*v << 8) | f[i];
        return !(f[0] & 0x40);
    }
    size_t i = 0;
    while (i < width && f[i] == ' ')
        i++;
    for (; i < width && f[i] >= '0' && f[i] <= '7'; i++)
        *v = (*v << 3) | (unsigned)(f[i] - '0');
    return i == width || f[i] == ' ' || f[i] == '\0';
}

static bool zero_block(const unsigned char *h)
{
    for (size_t i = 0; i < BLOCK; i++)
        if (h[i] != 0)
            return false;
    return true;
}

int tar_first_file(const unsigned char *ar, size_t arlen, const unsigned char **data, size_t *len)
{
    size_t off = 0;
    while (arlen - off >= BLOCK) {
        if (zero_block(ar + off))
            return 0;
        const unsigned char *h = ar + off;
        unsigned long long sum, size;
        if (!get_num(h + OFF_CHKSUM, 8, &sum) || sum != checksum(h) ||
            !get_num(h + OFF_SIZE, 12, &size) || size > arlen - off - BLOCK)
            return -1;
        char type = (char)h[OFF_TYPE];
        bool old_dir = type == '\0' && h[0] != 0 && h[strnlen((const char *)h, 100) - 1] == '/';
        if ((type == '0' || type == '\0' || type == '7') && !old_dir) {
            *data = h + BLOCK;
            *len = (size_t)size;
            return 1;
        }
        off += BLOCK + padded((size_t)size);
        if (off > arlen)
            return -1;
    }
    return -1;
}

/* The size field: octal when it fits 11 digits, else GNU base-256 (0x80, big-endian). */
static void put_size(unsigned char *field, unsigned long long v)
{
    if (put_octal(field, 12, v))
        return;
    field[0] = 0x80;
    for (int i = 11; i >= 1; i--, v >>= 8)
        field[i] = (unsigned char)(v & 0xff);
}

bool tar_header(unsigned char *h, const char *path, char type, unsigned mode, unsigned uid,
                unsigned gid, unsigned long long size, time_t mtime)
{
    memset(h, 0, BLOCK);
    while (*path == '/')
        path++;
    if (path[0] == '\0' || !put_path(h, path) || !put_octal(h + OFF_MODE, 8, mode & 07777) ||
        !put_octal(h + OFF_UID, 8, uid) || !put_octal(h + OFF_GID, 8, gid) ||
        !put_octal(h + OFF_MTIME, 12, mtime > 0 ? (unsigned long long)mtime : 0))
        return false;
    put_size(h + OFF_SIZE, size);
    h[OFF_TYPE] = (unsigned char)type;
    memcpy(h + OFF_MAGIC, "ustar", 6);
    memcpy(h + OFF_VERSION, "00", 2);
    char sum[8];
    snprintf(sum, sizeof sum, "%06lo", checksum(h));
    memcpy(h + OFF_CHKSUM, sum, 7);
    h[OFF_CHKSUM + 7] = ' ';
    return true;
}

int tar_parse_header(const unsigned char *h, tar_entry *out)
{
    unsigned long long sum, size;
    memset(out, 0, sizeof *out);
    if (zero_block(h))
        return 0;
    if (!get_num(h + OFF_CHKSUM, 8, &sum) || sum != checksum(h) ||
        !get_num(h + OFF_SIZE, 12, &size))
        return -1;
    size_t plen = strnlen((const char *)h + OFF_PREFIX, 155);
    size_t nlen = strnlen((const char *)h, 100);
    bool ustar = memcmp(h + OFF_MAGIC, "ustar", 5) == 0;
    if (ustar && plen > 0)
        snprintf(out->name, sizeof out->name, "%.*s/%.*s", (int)plen, (const char *)h + OFF_PREFIX,
                 (int)nlen, (const char *)h);
    else
        snprintf(out->name, sizeof out->name, "%.*s", (int)nlen, (const char *)h);
    out->type = (char)h[OFF_TYPE];
    out->size = size;
    return 1;
}

unsigned long long tar_padded(unsigned long long n)
{
    return (n + BLOCK - 1) / BLOCK * BLOCK;
}
