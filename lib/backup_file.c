/*
 * The backup file format (DESIGN §6), see backup_file.h: the outer ustar
 * archive is streamed to a temporary file part by part (a placeholder
 * header, the content hashed with SHA-256 on the fly, then the header
 * rewritten with the real size), read back, fsynced and renamed. Reading
 * scans the file once, hashing every part and the whole file. Nothing here
 * talks to Docker or PostgreSQL: backup.c feeds the parts in and out.
 */
#include "backup_file.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lctime.h"
#include "status.h"
#include "tar.h"

#define MANIFEST_MAX (1024 * 1024)
#define MAX_EXACT_SIZE 9007199254740992.0 /* 2^53: sizes JSON numbers hold exactly */

static void to_hex(const unsigned char *md, unsigned n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (unsigned i = 0; i < n; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[2 * n] = '\0';
}

/* Finishes ctx into 64 lowercase hex digits and re-initialises it. */
static void md_final_hex(EVP_MD_CTX *ctx, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    if (EVP_DigestFinal_ex(ctx, md, &n) != 1 || n != 32)
        n = 0;
    to_hex(md, n, out);
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
}

static EVP_MD_CTX *md_new(void)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

static bool is_sha256_hex(const char *s)
{
    size_t n = 0;
    for (; s[n] != '\0'; n++)
        if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
            return false;
    return n == 64;
}

char *backup_manifest_json(const lc_backup_info *info)
{
    char when[32], size[32];
    lc_format_time(info->created_at, when, sizeof when);
    cJSON *root = cJSON_CreateObject(), *parts = NULL;
    bool ok = cJSON_AddNumberToObject(root, "format", 1) != NULL &&
              cJSON_AddStringToObject(root, "instance", info->instance) != NULL &&
              (info->database[0] == '\0' ||
               cJSON_AddStringToObject(root, "database", info->database) != NULL) &&
              cJSON_AddStringToObject(root, "created_at", when) != NULL &&
              (parts = cJSON_AddArrayToObject(root, "parts")) != NULL;
    for (int i = 0; ok && i < info->nparts; i++) {
        const lc_backup_part *p = &info->parts[i];
        cJSON *o = cJSON_CreateObject();
        snprintf(size, sizeof size, "%lld", p->size);
        ok = o != NULL && cJSON_AddItemToArray(parts, o) &&
             cJSON_AddStringToObject(o, "name", p->name) != NULL &&
             cJSON_AddRawToObject(o, "size", size) != NULL &&
             cJSON_AddStringToObject(o, "sha256", p->sha256) != NULL;
    }
    char *text = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    return text;
}

/* One element of "parts" into *p; names must be unique among the first i. */
static lc_err parse_part(const cJSON *o, const lc_backup_info *out, int i, lc_backup_part *p,
                         lc_diag *d)
{
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "name"));
    const char *sha = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "sha256"));
    const cJSON *size = cJSON_GetObjectItemCaseSensitive(o, "size");
    if (name == NULL || name[0] == '\0' || strlen(name) >= sizeof p->name ||
        strcmp(name, BF_PART_MANIFEST) == 0)
        return lc_fail(d, LC_EINPUT, "manifest: part %d has no valid name", i + 1);
    for (int k = 0; k < i; k++)
        if (strcmp(out->parts[k].name, name) == 0)
            return lc_fail(d, LC_EINPUT, "manifest: part %s listed twice", name);
    double v = cJSON_IsNumber(size) ? cJSON_GetNumberValue(size) : -1;
    if (v < 0 || v > MAX_EXACT_SIZE || v != (double)(long long)v)
        return lc_fail(d, LC_EINPUT, "manifest: part %s has no valid size", name);
    if (sha == NULL || !is_sha256_hex(sha))
        return lc_fail(d, LC_EINPUT, "manifest: part %s has no valid sha256", name);
    snprintf(p->name, sizeof p->name, "%s", name);
    snprintf(p->sha256, sizeof p->sha256, "%s", sha);
    p->size = (long long)v;
    return LC_OK;
}

/* format, instance, database (optional) and created_at of root into out. */
static lc_err parse_head(const cJSON *root, lc_backup_info *out, lc_diag *d)
{
    const cJSON *format = cJSON_GetObjectItemCaseSensitive(root, "format");
    const char *inst = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "instance"));
    const cJSON *db = cJSON_GetObjectItemCaseSensitive(root, "database");
    const char *when = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "created_at"));
    if (!cJSON_IsNumber(format) || cJSON_GetNumberValue(format) != 1)
        return lc_fail(d, LC_EINPUT, "manifest: unknown format (this version reads format 1)");
    if (inst == NULL || inst[0] == '\0' || strlen(inst) >= sizeof out->instance)
        return lc_fail(d, LC_EINPUT, "manifest: no valid instance");
    if (db != NULL && (!cJSON_IsString(db) || lc_validate_database(db->valuestring, NULL) != LC_OK))
        return lc_fail(d, LC_EINPUT, "manifest: no valid database");
    if (!lc_parse_docker_time(when, &out->created_at) || out->created_at == 0)
        return lc_fail(d, LC_EINPUT, "manifest: no valid created_at");
    snprintf(out->instance, sizeof out->instance, "%s", inst);
    snprintf(out->database, sizeof out->database, "%s", db != NULL ? db->valuestring : "");
    return LC_OK;
}

lc_err backup_parse_manifest(const char *json, size_t len, lc_backup_info *out, lc_diag *d)
{
    cJSON *root = cJSON_ParseWithLength(json, len);
    const cJSON *parts = cJSON_GetObjectItemCaseSensitive(root, "parts");
    lc_err err = LC_OK;
    out->nparts = 0;
    if (!cJSON_IsObject(root))
        err = lc_fail(d, LC_EINPUT, "manifest: not a JSON object");
    else if ((err = parse_head(root, out, d)) != LC_OK)
        ;
    else if (!cJSON_IsArray(parts) || cJSON_GetArraySize(parts) < 1 ||
             cJSON_GetArraySize(parts) > LC_BACKUP_MAX_PARTS)
        err = lc_fail(d, LC_EINPUT, "manifest: parts must list 1 to %d parts", LC_BACKUP_MAX_PARTS);
    const cJSON *o;
    cJSON_ArrayForEach(o, parts)
    {
        if (err != LC_OK)
            break;
        err = parse_part(o, out, out->nparts, &out->parts[out->nparts], d);
        out->nparts += err == LC_OK;
    }
    if (err == LC_OK && backup_find_part(out, BF_PART_VOLUME) == NULL)
        err = lc_fail(d, LC_EINPUT, "manifest: no %s part", BF_PART_VOLUME);
    cJSON_Delete(root);
    return err;
}

const lc_backup_part *backup_find_part(const lc_backup_info *info, const char *name)
{
    for (int i = 0; i < info->nparts; i++)
        if (strcmp(info->parts[i].name, name) == 0)
            return &info->parts[i];
    return NULL;
}

/* Reads exactly n bytes (hashed into whole, and into part when hash_part). */
static lc_err scan_read(bf_scanner *s, void *buf, size_t n, bool hash_part, lc_diag *d)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(s->fd, (char *)buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return lc_fail(d, LC_EFAILED, "%s: %s", s->path, strerror(errno));
        if (r == 0)
            return lc_fail(d, LC_EINPUT, "%s: corrupt backup: truncated at byte %lld", s->path,
                           s->off + (long long)got);
        got += (size_t)r;
    }
    EVP_DigestUpdate(s->whole, buf, n);
    if (hash_part)
        EVP_DigestUpdate(s->part, buf, n);
    s->off += (long long)n;
    return LC_OK;
}

/* Hashes size bytes of content into part (or keeps the manifest), then skips the padding. */
static lc_err scan_content(bf_scanner *s, const tar_entry *te, bool manifest, lc_diag *d)
{
    unsigned long long left = te->size;
    if (manifest && (s->manifest = malloc(te->size + 1)) == NULL)
        return lc_fail(d, LC_ENOMEM, "%s: out of memory", s->path);
    lc_err err = LC_OK;
    while (err == LC_OK && left > 0) {
        size_t n = left > BF_IO_CHUNK ? BF_IO_CHUNK : (size_t)left;
        unsigned char *to = manifest ? (unsigned char *)s->manifest + (te->size - left) : s->buf;
        err = scan_read(s, to, n, !manifest, d);
        left -= n;
    }
    size_t pad = (size_t)(tar_padded(te->size) - te->size);
    if (err == LC_OK && pad > 0)
        err = scan_read(s, s->buf, pad, false, d);
    if (err == LC_OK && manifest) {
        s->manifest[te->size] = '\0';
        s->manifest_len = (size_t)te->size;
    }
    return err;
}

/* Checks one header read at s->off - 512 and reads its entry. */
static lc_err scan_entry(bf_scanner *s, const tar_entry *te, lc_diag *d)
{
    long long at = s->off - TAR_BLOCK;
    if (s->manifest != NULL)
        return lc_fail(d, LC_EINPUT, "%s: corrupt backup: %s is not the last part", s->path,
                       BF_PART_MANIFEST);
    if (te->type != '0' && te->type != '\0')
        return lc_fail(d, LC_EINPUT, "%s: corrupt backup: %s at byte %lld is not a file", s->path,
                       te->name, at);
    bool manifest = strcmp(te->name, BF_PART_MANIFEST) == 0;
    if (manifest && te->size > MANIFEST_MAX)
        return lc_fail(d, LC_EINPUT, "%s: corrupt backup: %s too large", s->path, BF_PART_MANIFEST);
    if (manifest)
        return scan_content(s, te, true, d);
    for (int i = 0; i < s->nfound; i++)
        if (strcmp(s->found[i].name, te->name) == 0)
            return lc_fail(d, LC_EINPUT, "%s: corrupt backup: part %s twice", s->path, te->name);
    if (s->nfound == LC_BACKUP_MAX_PARTS || strlen(te->name) >= sizeof s->found[0].name)
        return lc_fail(d, LC_EINPUT, "%s: corrupt backup: unexpected part %s", s->path, te->name);
    bf_found_part *f = &s->found[s->nfound++];
    snprintf(f->name, sizeof f->name, "%s", te->name);
    f->offset = s->off;
    f->size = (long long)te->size;
    lc_err err = scan_content(s, te, false, d);
    md_final_hex(s->part, f->sha256);
    return err;
}

/* After the first zero block: one more, then nothing but zeros up to the end of the file. */
static lc_err scan_end(bf_scanner *s, lc_diag *d)
{
    lc_err err = scan_read(s, s->buf, TAR_BLOCK, false, d);
    for (size_t i = 0; err == LC_OK && i < TAR_BLOCK; i++)
        if (s->buf[i] != 0)
            return lc_fail(d, LC_EINPUT, "%s: corrupt backup: data after its end", s->path);
    ssize_t r;
    while (err == LC_OK && (r = read(s->fd, s->buf, BF_IO_CHUNK)) != 0) {
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return lc_fail(d, LC_EFAILED, "%s: %s", s->path, strerror(errno));
        for (ssize_t i = 0; i < r; i++)
            if (s->buf[i] != 0)
                return lc_fail(d, LC_EINPUT, "%s: corrupt backup: data after its end", s->path);
        EVP_DigestUpdate(s->whole, s->buf, (size_t)r);
        s->off += r;
    }
    return err;
}

/* Walks the outer archive: every header, every part hashed, the manifest kept. */
static lc_err scan_walk(bf_scanner *s, lc_diag *d)
{
    for (;;) {
        tar_entry te;
        lc_err err = scan_read(s, s->buf, TAR_BLOCK, false, d);
        if (err != LC_OK)
            return err;
        int h = tar_parse_header(s->buf, &te);
        if (h < 0)
            return lc_fail(d, LC_EINPUT, "%s: corrupt backup: no valid tar header at byte %lld",
                           s->path, s->off - TAR_BLOCK);
        if (h == 0)
            return s->manifest != NULL ? scan_end(s, d)
                                       : lc_fail(d, LC_EINPUT, "%s: corrupt backup: no %s", s->path,
                                                 BF_PART_MANIFEST);
        if ((err = scan_entry(s, &te, d)) != LC_OK)
            return err;
    }
}

/* Every manifest part present with its size and SHA-256, and nothing unlisted. */
static lc_err scan_compare(const bf_scanner *s, const lc_backup_info *info, lc_diag *d)
{
    for (int i = 0; i < info->nparts; i++) {
        const lc_backup_part *p = &info->parts[i];
        const bf_found_part *f = NULL;
        for (int k = 0; k < s->nfound && f == NULL; k++)
            f = strcmp(s->found[k].name, p->name) == 0 ? &s->found[k] : NULL;
        if (f == NULL)
            return lc_fail(d, LC_EINPUT, "%s: corrupt backup: part %s missing", s->path, p->name);
        if (f->size != p->size)
            return lc_fail(d, LC_EINPUT, "%s: corrupt backup: %s is %lld bytes, manifest says %lld",
                           s->path, p->name, f->size, p->size);
        if (strcmp(f->sha256, p->sha256) != 0)
            return lc_fail(d, LC_EINPUT, "%s: corrupt backup: %s checksum mismatch", s->path,
                           p->name);
    }
    if (s->nfound != info->nparts)
        return lc_fail(d, LC_EINPUT, "%s: corrupt backup: a part is not in the manifest", s->path);
    return LC_OK;
}

/* Opens, walks and checks path; found parts (with offsets) stay in *s (free with bf_scan_close). */
lc_err bf_scan_file(bf_scanner *s, const char *path, lc_backup_info *out, lc_diag *d)
{
    memset(out, 0, sizeof *out);
    *s = (bf_scanner){
        .fd = -1, .path = path, .whole = md_new(), .part = md_new(), .buf = malloc(BF_IO_CHUNK)};
    if (s->whole == NULL || s->part == NULL || s->buf == NULL)
        return lc_fail(d, LC_ENOMEM, "%s: out of memory", path);
    if ((s->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return lc_fail(d, errno == ENOENT ? LC_ENOTFOUND : LC_EFAILED, "backup %s: %s", path,
                       strerror(errno));
    lc_err err = scan_walk(s, d);
    if (err == LC_OK)
        err = backup_parse_manifest(s->manifest, s->manifest_len, out, d);
    if (err == LC_EINPUT && strncmp(d->msg, "manifest:", 9) == 0)
        lc_prefix(d, err, "%s: corrupt backup", path);
    if (err == LC_OK)
        err = scan_compare(s, out, d);
    snprintf(out->path, sizeof out->path, "%s", path);
    out->size = s->off;
    md_final_hex(s->whole, out->sha256);
    return err;
}

void bf_scan_close(bf_scanner *s)
{
    if (s->fd >= 0)
        close(s->fd);
    EVP_MD_CTX_free(s->whole);
    EVP_MD_CTX_free(s->part);
    free(s->buf);
    free(s->manifest);
}

lc_err backup_verify(const char *path, lc_backup_info *out, lc_diag *d)
{
    bf_scanner s;
    lc_err err = bf_scan_file(&s, path, out, d);
    bf_scan_close(&s);
    return err;
}

lc_err bf_disk_error(const bf_writer *w, lc_diag *d)
{
    return lc_fail(d, LC_EFAILED, "backup: %s: %s", w->tmp, strerror(w->err));
}

static bool put_raw(bf_writer *w, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0 && w->err == 0) {
        ssize_t r = write(w->fd, c, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            w->err = errno;
            break;
        }
        c += r;
        n -= (size_t)r;
        w->off += r;
    }
    return w->err == 0;
}

static void report(bf_writer *w, bool last)
{
    if (w->progress == NULL || w->what == NULL)
        return;
    if (last || w->part_size - w->reported >= BF_PROGRESS_STEP) {
        w->progress(w->arg, w->what, w->part_size, w->part_total);
        w->reported = w->part_size;
    }
}

/* Content of the current part: written, hashed, counted. */
static bool put_data(bf_writer *w, const void *p, size_t n)
{
    if (!put_raw(w, p, n))
        return false;
    EVP_DigestUpdate(w->md, p, n);
    w->part_size += (long long)n;
    report(w, false);
    return true;
}

bool bf_sink(void *arg, const void *data, size_t len)
{
    return put_data(arg, data, len);
}

/* A placeholder header; the content follows. total: bytes expected, -1 unknown. */
bool bf_part_begin(bf_writer *w, const char *what, long long total)
{
    static const unsigned char zero[TAR_BLOCK];
    w->part_off = w->off;
    w->part_size = 0;
    w->part_total = total;
    w->reported = 0;
    w->what = what;
    EVP_DigestInit_ex(w->md, EVP_sha256(), NULL);
    return put_raw(w, zero, TAR_BLOCK);
}

/* Pads the content to 512 bytes, rewrites its header with the real size; fills *p. */
bool bf_part_end(bf_writer *w, const char *name, lc_backup_part *p)
{
    static const unsigned char zero[TAR_BLOCK];
    unsigned char h[TAR_BLOCK];
    report(w, true);
    unsigned long long size = (unsigned long long)w->part_size;
    if (!put_raw(w, zero, (size_t)(tar_padded(size) - size)))
        return false;
    snprintf(p->name, sizeof p->name, "%s", name);
    p->size = w->part_size;
    md_final_hex(w->md, p->sha256);
    if (!tar_header(h, name, '0', 0600, 0, 0, size, w->mtime)) {
        w->err = ENAMETOOLONG;
        return false;
    }
    ssize_t r = pwrite(w->fd, h, TAR_BLOCK, w->part_off);
    if (r != TAR_BLOCK)
        w->err = r < 0 ? errno : EIO;
    return w->err == 0;
}

/* Creates dir/.<stamp>[-N].tar.tmp (0600, exclusive). */
lc_err bf_writer_open(bf_writer *w, const char *idir, const char *stamp, lc_diag *d)
{
    if ((w->md = md_new()) == NULL)
        return lc_fail(d, LC_ENOMEM, "backup: out of memory");
    for (int i = 0; i < 100; i++) {
        if (i == 0)
            snprintf(w->tmp, sizeof w->tmp, "%s/.%s.tar.tmp", idir, stamp);
        else
            snprintf(w->tmp, sizeof w->tmp, "%s/.%s-%d.tar.tmp", idir, stamp, i);
        w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (w->fd >= 0)
            return LC_OK;
        if (errno != EEXIST)
            break;
    }
    lc_err err = lc_fail(d, LC_EFAILED, "backup: %s: %s", w->tmp, strerror(errno));
    w->tmp[0] = '\0';
    return err;
}

/* Closes, and removes the temporary file unless it was published. */
void bf_writer_close(bf_writer *w)
{
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
    if (w->tmp[0] != '\0')
        unlink(w->tmp);
    EVP_MD_CTX_free(w->md);
    w->md = NULL;
}

/* The two end blocks, fsync, close. */
lc_err bf_writer_finish(bf_writer *w, lc_diag *d)
{
    static const unsigned char zero[2 * TAR_BLOCK];
    if (!put_raw(w, zero, sizeof zero))
        return bf_disk_error(w, d);
    if (fsync(w->fd) != 0)
        w->err = errno;
    int fd = w->fd;
    w->fd = -1;
    if (close(fd) != 0 && w->err == 0)
        w->err = errno;
    return w->err == 0 ? LC_OK : bf_disk_error(w, d);
}

/* Copies the file src into the archive as part name. */
lc_err bf_copy_in(bf_writer *w, const char *src, const char *name, lc_backup_part *p, lc_diag *d)
{
    struct stat st;
    int fd = open(src, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0) {
        lc_err err = lc_fail(d, LC_EFAILED, "backup: %s: %s", src, strerror(errno));
        if (fd >= 0)
            close(fd);
        return err;
    }
    unsigned char *buf = malloc(BF_IO_CHUNK);
    bool ok = buf != NULL && bf_part_begin(w, "database", (long long)st.st_size);
    ssize_t r = 0;
    while (ok && (r = read(fd, buf, BF_IO_CHUNK)) != 0) {
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            break;
        ok = put_data(w, buf, (size_t)r);
    }
    lc_err err = LC_OK;
    if (buf == NULL)
        err = lc_fail(d, LC_ENOMEM, "backup: out of memory");
    else if (r < 0)
        err = lc_fail(d, LC_EFAILED, "backup: %s: %s", src, strerror(errno));
    else if (!ok || !bf_part_end(w, name, p))
        err = bf_disk_error(w, d);
    free(buf);
    close(fd);
    return err;
}

lc_err bf_manifest_part(bf_writer *w, const lc_backup_info *info, lc_diag *d)
{
    char *json = backup_manifest_json(info);
    if (json == NULL)
        return lc_fail(d, LC_ENOMEM, "backup: out of memory");
    lc_backup_part ignored;
    size_t n = strlen(json);
    bool ok = bf_part_begin(w, NULL, (long long)n) && put_data(w, json, n) &&
              bf_part_end(w, BF_PART_MANIFEST, &ignored);
    free(json);
    return ok ? LC_OK : bf_disk_error(w, d);
}

lc_err bf_fsync_dir(const char *dir, lc_diag *d)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
        lc_err err = lc_fail(d, LC_EFAILED, "backup: %s: %s", dir, strerror(errno));
        if (fd >= 0)
            close(fd);
        return err;
    }
    close(fd);
    return LC_OK;
}

/* Renames without replacing (link + unlink where renameat2 is not supported). */
static int rename_noreplace(const char *from, const char *to)
{
    if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -1;
    if (link(from, to) != 0)
        return -1;
    unlink(from);
    return 0;
}

/* The temporary file becomes idir/<stamp>.tar (or <stamp>-N.tar); then the directory's fsync. */
lc_err bf_publish(bf_writer *w, const char *idir, const char *stamp, char *final, size_t cap,
                  lc_diag *d)
{
    for (int i = 0; i < 1000; i++) {
        if (i == 0)
            snprintf(final, cap, "%s/%s.tar", idir, stamp);
        else
            snprintf(final, cap, "%s/%s-%d.tar", idir, stamp, i);
        if (rename_noreplace(w->tmp, final) == 0) {
            w->tmp[0] = '\0';
            return bf_fsync_dir(idir, d);
        }
        if (errno != EEXIST)
            break;
    }
    return lc_fail(d, LC_EFAILED, "backup: rename %s to %s: %s", w->tmp, final, strerror(errno));
}

/* The written file read back: every part as written, and the whole file's SHA-256. */
lc_err bf_self_check(const char *tmp, const lc_backup_info *info, lc_backup_info *out, lc_diag *d)
{
    lc_err err = backup_verify(tmp, out, d);
    bool same = err == LC_OK && out->nparts == info->nparts;
    for (int i = 0; same && i < info->nparts; i++)
        same = strcmp(out->parts[i].name, info->parts[i].name) == 0 &&
               out->parts[i].size == info->parts[i].size &&
               strcmp(out->parts[i].sha256, info->parts[i].sha256) == 0;
    if (err == LC_OK && !same)
        err = lc_fail(d, LC_EFAILED, "backup: %s: reads back differently", tmp);
    return err == LC_OK ? LC_OK : lc_prefix(d, LC_EFAILED, "backup: reading back");
}

const bf_found_part *bf_scan_found(const bf_scanner *s, const char *name)
{
    for (int i = 0; i < s->nfound; i++)
        if (strcmp(s->found[i].name, name) == 0)
            return &s->found[i];
    return NULL;
}

/* Copies part f out to fd (hashing it again: the file must not have changed since the scan). */
lc_err bf_extract_part(const bf_scanner *s, const bf_found_part *f, int fd, const char *dst,
                       lc_diag *d)
{
    EVP_MD_CTX *md = md_new();
    char sha[65];
    long long off = f->offset, left = f->size;
    lc_err err = md == NULL ? lc_fail(d, LC_ENOMEM, "restore: out of memory") : LC_OK;
    while (err == LC_OK && left > 0) {
        size_t n = left > BF_IO_CHUNK ? BF_IO_CHUNK : (size_t)left;
        ssize_t got = pread(s->fd, s->buf, n, off);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            err = lc_fail(d, LC_EFAILED, "restore: %s: %s", s->path,
                          got < 0 ? strerror(errno) : "truncated");
        else if (write(fd, s->buf, (size_t)got) != got)
            err = lc_fail(d, LC_EFAILED, "restore: %s: %s", dst, strerror(errno ? errno : EIO));
        else
            EVP_DigestUpdate(md, s->buf, (size_t)got);
        off += got > 0 ? got : 0;
        left -= got > 0 ? got : 0;
    }
    if (err == LC_OK && (md_final_hex(md, sha), strcmp(sha, f->sha256) != 0))
        err = lc_fail(d, LC_EINPUT, "restore: %s changed while being read", s->path);
    EVP_MD_CTX_free(md);
    return err;
}
