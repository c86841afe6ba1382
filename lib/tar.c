/*
 * Minimal ustar writer and reader for the Engine's archive endpoint and the
 * backup file's outer archive; see tar.h.
 */
#include "tar.h"

#include <stdarg.h>
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

/* Writes h's checksum field: six octal digits, NUL, space (as GNU tar does). */
static void set_checksum(unsigned char *h)
{
    char sum[8];
    snprintf(sum, sizeof sum, "%06lo", checksum(h));
    memcpy(h + OFF_CHKSUM, sum, 7);
    h[OFF_CHKSUM + 7] = ' ';
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
    set_checksum(h);
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
    set_checksum(h);
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

/* ---- renaming entries while an archive streams through (tar_rename) ---- */

#define OFF_LINK 157
#define EXT_MAX (1024 * 1024) /* content bytes of one PAX or GNU long-name header */
#define EXT_PIECES 8          /* extended headers before one entry */
#define CARRY_PATH 1
#define CARRY_LINK 2

/* An extended header ('x', 'L', 'K') and its content (malloc'd, NUL-terminated). */
typedef struct piece {
    unsigned char h[BLOCK];
    char *data;
    size_t len;
} piece;

/* One entry: its extended headers, its header, what follows it. */
typedef struct group {
    piece ext[EXT_PIECES + 1]; /* + 1: a PAX header added for a path that no longer fits */
    int next;
    unsigned char main[BLOCK];
    long long at;         /* input offset of the first header */
    long long pax_size;   /* a PAX "size" record, -1 when none */
    bool changed, linked; /* something rewritten; a hard link (its target is renamed too) */
    int carries;          /* CARRY_*: extended records holding the whole path or link target */
} group;

static bool tr_fail(tar_rename *r, tar_rename_err err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool tr_fail(tar_rename *r, tar_rename_err err, const char *fmt, ...)
{
    if (r->err == TAR_RENAME_OK) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->why, sizeof r->why, fmt, ap);
        va_end(ap);
        r->err = err;
    }
    return false;
}

static bool tr_read(tar_rename *r, long long off, void *buf, size_t n)
{
    if (off < 0 || off > r->in_size || (unsigned long long)(r->in_size - off) < n)
        return tr_fail(r, TAR_RENAME_CORRUPT, "cut off at byte %lld", r->in_size);
    if (n > 0 && !r->read(r->arg, off, buf, n))
        return tr_fail(r, TAR_RENAME_READ, "read failed at byte %lld", off);
    return true;
}

/* Appends n bytes to r's output buffer. */
static bool out_put(tar_rename *r, const void *p, size_t n)
{
    if (r->out_len + n > r->out_cap) {
        size_t cap = (r->out_len + n) * 2;
        unsigned char *o = realloc(r->out, cap);
        if (o == NULL)
            return tr_fail(r, TAR_RENAME_NOMEM, "out of memory");
        r->out = o;
        r->out_cap = cap;
    }
    memcpy(r->out + r->out_len, p, n);
    r->out_len += n;
    return true;
}

/*
 * The path p (n bytes) moved from r->from to r->to: *out malloc'd, or NULL
 * when p is neither from nor under from/. False when out of memory.
 */
static bool moved(tar_rename *r, const char *p, size_t n, char **out)
{
    size_t fl = strlen(r->from), tl = strlen(r->to);
    *out = NULL;
    if (n < fl || memcmp(p, r->from, fl) != 0 || (n > fl && p[fl] != '/'))
        return true;
    if ((*out = malloc(tl + n - fl + 1)) == NULL)
        return tr_fail(r, TAR_RENAME_NOMEM, "out of memory");
    memcpy(*out, r->to, tl);
    memcpy(*out + tl, p + fl, n - fl);
    (*out)[tl + n - fl] = '\0';
    return true;
}

static size_t digits(size_t n)
{
    size_t d = 1;
    while (n >= 10) {
        n /= 10;
        d++;
    }
    return d;
}

/* One PAX record "LEN key=value\n" appended to buf (its length counts itself). */
static bool pax_record(char **buf, size_t *len, const char *key, const char *v, size_t vlen)
{
    size_t base = 1 + strlen(key) + 1 + vlen + 1, n = base + 1;
    while (n != base + digits(n))
        n = base + digits(n);
    char *b = realloc(*buf, *len + n + 1);
    if (b == NULL)
        return false;
    int head = snprintf(b + *len, n + 1, "%zu %s=", n, key);
    memcpy(b + *len + head, v, vlen);
    b[*len + n - 1] = '\n';
    b[*len + n] = '\0';
    *buf = b;
    *len += n;
    return true;
}

/* n bytes appended to buf (NUL-terminated, *len bytes long). */
static bool append(char **buf, size_t *len, const char *p, size_t n)
{
    char *b = realloc(*buf, *len + n + 1);
    if (b == NULL)
        return false;
    memcpy(b + *len, p, n);
    b[*len + n] = '\0';
    *buf = b;
    *len += n;
    return true;
}

/* The new content of an extended header: pc's data replaced, its size and checksum rewritten. */
static void piece_set(piece *pc, char *data, size_t len)
{
    free(pc->data);
    pc->data = data;
    pc->len = len;
    put_size(pc->h + OFF_SIZE, len);
    set_checksum(pc->h);
}

/* Parses one record at p (left bytes): key and value spans; false when malformed. */
static bool pax_parse(const char *p, size_t left, size_t *rlen, const char **key, size_t *klen,
                      const char **v, size_t *vlen)
{
    size_t n = 0, i = 0;
    for (; i < left && i < 20 && p[i] >= '0' && p[i] <= '9'; i++)
        n = n * 10 + (size_t)(p[i] - '0');
    if (i == 0 || i >= left || p[i] != ' ' || n <= i + 1 || n > left || p[n - 1] != '\n')
        return false;
    const char *eq = memchr(p + i + 1, '=', n - i - 2);
    if (eq == NULL || eq == p + i + 1)
        return false;
    *rlen = n;
    *key = p + i + 1;
    *klen = (size_t)(eq - *key);
    *v = eq + 1;
    *vlen = (size_t)(p + n - 1 - *v);
    return true;
}

static bool key_is(const char *k, size_t klen, const char *want)
{
    return klen == strlen(want) && memcmp(k, want, klen) == 0;
}

/* A PAX header's records: path (and linkpath of a hard link) moved, size noted. */
static bool pax_rewrite(tar_rename *r, group *g, piece *pc)
{
    char *nb = NULL;
    size_t nlen = 0, rlen, klen, vlen;
    const char *key, *v;
    bool changed = false, ok = true;
    for (size_t off = 0; ok && off < pc->len; off += rlen) {
        if (!pax_parse(pc->data + off, pc->len - off, &rlen, &key, &klen, &v, &vlen)) {
            free(nb);
            return tr_fail(r, TAR_RENAME_CORRUPT, "malformed PAX header at byte %lld", g->at);
        }
        bool path = key_is(key, klen, "path"), link = g->linked && key_is(key, klen, "linkpath");
        char *to = NULL;
        if (key_is(key, klen, "size")) {
            char num[24];
            snprintf(num, sizeof num, "%.*s", (int)(vlen < 23 ? vlen : 23), v);
            g->pax_size = strtoll(num, NULL, 10);
        }
        g->carries |= path ? CARRY_PATH : link ? CARRY_LINK : 0;
        if ((path || link) && !moved(r, v, vlen, &to)) {
            free(nb);
            return false;
        }
        ok = to != NULL ? pax_record(&nb, &nlen, path ? "path" : "linkpath", to, strlen(to))
                        : append(&nb, &nlen, pc->data + off, rlen);
        changed |= to != NULL;
        free(to);
    }
    if (!ok) {
        free(nb);
        return tr_fail(r, TAR_RENAME_NOMEM, "out of memory");
    }
    if (changed)
        piece_set(pc, nb, nlen);
    else
        free(nb);
    g->changed |= changed;
    return true;
}

/* A GNU long name ('L') or, for a hard link, long link target ('K'): moved. */
static bool gnu_rewrite(tar_rename *r, group *g, piece *pc)
{
    char *to = NULL;
    if (!moved(r, pc->data, strnlen(pc->data, pc->len), &to))
        return false;
    if (to != NULL) {
        piece_set(pc, to, strlen(to) + 1);
        g->changed = true;
    }
    return true;
}

/* The path in header h: prefix "/" name for POSIX ustar, else name (100 bytes at most). */
static void header_path(const unsigned char *h, char out[257])
{
    size_t nlen = strnlen((const char *)h, 100), plen = strnlen((const char *)h + OFF_PREFIX, 155);
    if (memcmp(h + OFF_MAGIC, "ustar\0", 6) == 0 && plen > 0)
        snprintf(out, 257, "%.*s/%.*s", (int)plen, (const char *)h + OFF_PREFIX, (int)nlen,
                 (const char *)h);
    else
        snprintf(out, 257, "%.*s", (int)nlen, (const char *)h);
}

/*
 * Stores path in h's name (and prefix for POSIX ustar); false when it does
 * not fit, leaving its first 100 bytes there (an extended record then
 * carries the whole).
 */
static bool set_name(unsigned char *h, const char *path)
{
    bool posix = memcmp(h + OFF_MAGIC, "ustar\0", 6) == 0;
    size_t n = strlen(path);
    memset(h, 0, 100);
    if (posix)
        memset(h + OFF_PREFIX, 0, 155);
    if (posix && put_path(h, path))
        return true;
    memcpy(h, path, n < 100 ? n : 100);
    return n <= 100;
}

/* The header's own name (and link target) moved; what no longer fits goes to a PAX record. */
static bool main_rewrite(tar_rename *r, group *g, char **pax, size_t *plen)
{
    char path[257], link[101], *to = NULL;
    header_path(g->main, path);
    if (!moved(r, path, strlen(path), &to))
        return false;
    bool ok = true;
    if (to != NULL && !set_name(g->main, to) && !(g->carries & CARRY_PATH))
        ok = pax_record(pax, plen, "path", to, strlen(to));
    g->changed |= to != NULL;
    free(to);
    to = NULL;
    snprintf(link, sizeof link, "%.*s", 100, (const char *)g->main + OFF_LINK);
    if (ok && g->linked && !moved(r, link, strlen(link), &to))
        return false;
    if (ok && to != NULL) {
        size_t n = strlen(to);
        memset(g->main + OFF_LINK, 0, 100);
        memcpy(g->main + OFF_LINK, to, n < 100 ? n : 100);
        if (n > 100 && !(g->carries & CARRY_LINK))
            ok = pax_record(pax, plen, "linkpath", to, n);
        g->changed = true;
    }
    free(to);
    return ok ? true : tr_fail(r, TAR_RENAME_NOMEM, "out of memory");
}

/* Adds the records pax (len bytes) to the entry's last PAX header, or a new one before it. */
static bool pax_add(tar_rename *r, group *g, char *pax, size_t len)
{
    piece *last = NULL;
    for (int i = 0; i < g->next; i++)
        last = g->ext[i].h[OFF_TYPE] == 'x' ? &g->ext[i] : last;
    if (last == NULL) {
        last = &g->ext[g->next++];
        tar_header(last->h, "././@PaxHeader", 'x', 0644, 0, 0, 0, 0);
    }
    char *nb = malloc(last->len + len + 1);
    if (nb == NULL)
        return tr_fail(r, TAR_RENAME_NOMEM, "out of memory");
    if (last->len > 0)
        memcpy(nb, last->data, last->len);
    memcpy(nb + last->len, pax, len);
    nb[last->len + len] = '\0';
    piece_set(last, nb, last->len + len);
    return true;
}

/* Every name of the entry moved from r->from to r->to; the headers' checksums rewritten. */
static bool rewrite_group(tar_rename *r, group *g)
{
    char t = (char)g->main[OFF_TYPE];
    g->linked = t == '1';
    for (int i = 0; i < g->next; i++) {
        piece *pc = &g->ext[i];
        char et = (char)pc->h[OFF_TYPE];
        bool ok = true;
        if (et == 'x')
            ok = pax_rewrite(r, g, pc);
        else if (et == 'L' || (et == 'K' && g->linked)) {
            g->carries |= et == 'L' ? CARRY_PATH : CARRY_LINK;
            ok = gnu_rewrite(r, g, pc);
        }
        if (!ok)
            return false;
    }
    char *pax = NULL;
    size_t plen = 0;
    bool ok = main_rewrite(r, g, &pax, &plen) && (plen == 0 || pax_add(r, g, pax, plen));
    free(pax);
    if (ok && g->changed) {
        set_checksum(g->main);
        r->renamed++;
    }
    return ok;
}

/* Header-only types: Go's archive/tar (Docker's) reads no content after them, whatever the size. */
static bool header_only(char t)
{
    return t == '1' || t == '2' || t == '3' || t == '4' || t == '5' || t == '6';
}

/* An extended header at off into the next piece of g. */
static bool read_piece(tar_rename *r, group *g, const unsigned char *h, unsigned long long size,
                       long long off)
{
    if (g->next == EXT_PIECES || size > EXT_MAX)
        return tr_fail(r, TAR_RENAME_CORRUPT, "extended header at byte %lld too large", off);
    piece *pc = &g->ext[g->next];
    memcpy(pc->h, h, BLOCK);
    if ((pc->data = malloc((size_t)size + 1)) == NULL)
        return tr_fail(r, TAR_RENAME_NOMEM, "out of memory");
    g->next++;
    pc->len = (size_t)size;
    pc->data[size] = '\0';
    return tr_read(r, off + BLOCK, pc->data, (size_t)size);
}

/*
 * Reads the headers of the entry at r->in_off into g: 1 (r->in_off then
 * past them), 0 at the end blocks or the end of the input, -1 on error.
 */
static int read_group(tar_rename *r, group *g)
{
    long long off = g->at = r->in_off;
    for (;;) {
        unsigned char h[BLOCK];
        unsigned long long sum, size;
        if (off == r->in_size && g->next == 0)
            return 0;
        if (!tr_read(r, off, h, BLOCK))
            return -1;
        if (zero_block(h) && g->next == 0)
            return 0;
        if (zero_block(h) || !get_num(h + OFF_CHKSUM, 8, &sum) || sum != checksum(h) ||
            !get_num(h + OFF_SIZE, 12, &size)) {
            tr_fail(r, TAR_RENAME_CORRUPT, "no valid tar header at byte %lld", off);
            return -1;
        }
        char t = (char)h[OFF_TYPE];
        if (t != 'x' && t != 'L' && t != 'K') {
            memcpy(g->main, h, BLOCK);
            r->copy = header_only(t) ? 0 : (long long)size;
            r->in_off = off + BLOCK;
            return 1;
        }
        if (!read_piece(r, g, h, size, off))
            return -1;
        off += BLOCK + (long long)padded((size_t)size);
    }
}

/* The rewritten headers of g into r's output buffer. */
static bool emit_group(tar_rename *r, const group *g)
{
    static const unsigned char zero[BLOCK];
    bool ok = true;
    for (int i = 0; ok && i < g->next; i++) {
        const piece *pc = &g->ext[i];
        ok = out_put(r, pc->h, BLOCK) && out_put(r, pc->data, pc->len) &&
             out_put(r, zero, padded(pc->len) - pc->len);
    }
    return ok && out_put(r, g->main, BLOCK);
}

/* The next entry's headers into r->out and its content into r->copy, or the end: the rest as is. */
static bool next_group(tar_rename *r)
{
    group g = {.pax_size = -1};
    r->out_len = r->out_pos = 0;
    int got = read_group(r, &g);
    bool ok = got >= 0;
    if (got == 0) {
        r->ended = true;
        r->copy = r->in_size - r->in_off;
    } else if (got == 1) {
        ok = rewrite_group(r, &g);
        if (g.pax_size >= 0 && !header_only((char)g.main[OFF_TYPE]))
            r->copy = g.pax_size;
        r->copy = (long long)tar_padded((unsigned long long)r->copy);
        if (ok && r->copy > r->in_size - r->in_off)
            ok = tr_fail(r, TAR_RENAME_CORRUPT, "entry at byte %lld runs past the end", g.at);
        ok = ok && emit_group(r, &g);
    }
    for (int i = 0; i < g.next; i++)
        free(g.ext[i].data);
    return ok;
}

void tar_rename_start(tar_rename *r)
{
    bool same = r->from == NULL || r->to == NULL || r->from[0] == '\0' || r->to[0] == '\0' ||
                strcmp(r->from, r->to) == 0;
    r->in_off = 0;
    r->out_len = r->out_pos = 0;
    r->ended = same; /* nothing to rename: the input as it is */
    r->copy = same ? r->in_size : 0;
    r->renamed = 0;
    r->err = TAR_RENAME_OK;
    r->why[0] = '\0';
}

tar_rename_err tar_rename_size(tar_rename *r, long long *size, long long *renamed)
{
    long long total = 0;
    tar_rename_start(r);
    while (r->err == TAR_RENAME_OK) {
        if (r->copy > 0) {
            total += r->copy;
            r->in_off += r->copy;
            r->copy = 0;
        } else if (r->ended || r->in_off >= r->in_size) {
            break;
        } else if (next_group(r)) {
            total += (long long)r->out_len;
        }
    }
    tar_rename_err err = r->err;
    *size = total;
    *renamed = r->renamed;
    if (err != TAR_RENAME_OK)
        return err;
    tar_rename_start(r);
    return TAR_RENAME_OK;
}

size_t tar_rename_read(tar_rename *r, void *buf, size_t cap)
{
    unsigned char *b = buf;
    size_t done = 0;
    while (done < cap && r->err == TAR_RENAME_OK) {
        if (r->out_pos < r->out_len) {
            size_t n = r->out_len - r->out_pos < cap - done ? r->out_len - r->out_pos : cap - done;
            memcpy(b + done, r->out + r->out_pos, n);
            r->out_pos += n;
            done += n;
        } else if (r->copy > 0) {
            size_t n = (unsigned long long)r->copy < cap - done ? (size_t)r->copy : cap - done;
            if (!tr_read(r, r->in_off, b + done, n))
                break;
            r->in_off += (long long)n;
            r->copy -= (long long)n;
            done += n;
        } else if (r->ended || r->in_off >= r->in_size) {
            break;
        } else {
            next_group(r);
        }
    }
    return r->err == TAR_RENAME_OK ? done : TAR_RENAME_FAILED;
}

void tar_rename_free(tar_rename *r)
{
    free(r->out);
    r->out = NULL;
    r->out_len = r->out_cap = r->out_pos = 0;
}
