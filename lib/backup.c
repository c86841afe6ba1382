/*
 * Backups (DESIGN §6), see backup.h: the outer ustar archive is streamed to
 * a temporary file part by part (a placeholder header, the content hashed
 * with SHA-256 on the fly, then the header rewritten with the real size),
 * verified, fsynced and renamed. Verification reads the file once, hashing
 * every part and the whole file. The volume goes through a helper container
 * that is created, never started, and always removed.
 */
#include "backup.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pgtools.h"
#include "tar.h"

#define PART_VOLUME "volume.tar"
#define PART_DUMP "database.dump"
#define PART_MANIFEST "manifest.json"
#define MANIFEST_MAX (1024 * 1024)
#define IO_CHUNK (1024 * 1024)
#define PROGRESS_STEP (4LL * 1024 * 1024)
#define MAX_EXACT_SIZE 9007199254740992.0 /* 2^53: sizes JSON numbers hold exactly */

/* ---- SHA-256 ---- */

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

/* ---- manifest ---- */

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
        strcmp(name, PART_MANIFEST) == 0)
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

/* format, instance and created_at of root into out. */
static lc_err parse_head(const cJSON *root, lc_backup_info *out, lc_diag *d)
{
    const cJSON *format = cJSON_GetObjectItemCaseSensitive(root, "format");
    const char *inst = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "instance"));
    const char *when = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "created_at"));
    if (!cJSON_IsNumber(format) || cJSON_GetNumberValue(format) != 1)
        return lc_fail(d, LC_EINPUT, "manifest: unknown format (this version reads format 1)");
    if (inst == NULL || inst[0] == '\0' || strlen(inst) >= sizeof out->instance)
        return lc_fail(d, LC_EINPUT, "manifest: no valid instance");
    if (!lc_parse_docker_time(when, &out->created_at) || out->created_at == 0)
        return lc_fail(d, LC_EINPUT, "manifest: no valid created_at");
    snprintf(out->instance, sizeof out->instance, "%s", inst);
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
    if (err == LC_OK && backup_find_part(out, PART_VOLUME) == NULL)
        err = lc_fail(d, LC_EINPUT, "manifest: no %s part", PART_VOLUME);
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

/* ---- reading and verifying ---- */

/* Where a part's content lies in the file, and what it hashed to. */
typedef struct found_part {
    char name[64];
    long long offset, size;
    char sha256[65];
} found_part;

typedef struct scanner {
    int fd;
    const char *path;
    EVP_MD_CTX *whole, *part;
    unsigned char *buf; /* IO_CHUNK bytes */
    long long off;
    int nfound;
    found_part found[LC_BACKUP_MAX_PARTS];
    char *manifest; /* malloc'd, NUL-terminated, once read */
    size_t manifest_len;
} scanner;

/* Reads exactly n bytes (hashed into whole, and into part when hash_part). */
static lc_err scan_read(scanner *s, void *buf, size_t n, bool hash_part, lc_diag *d)
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
static lc_err scan_content(scanner *s, const tar_entry *te, bool manifest, lc_diag *d)
{
    unsigned long long left = te->size;
    if (manifest && (s->manifest = malloc(te->size + 1)) == NULL)
        return lc_fail(d, LC_ENOMEM, "%s: out of memory", s->path);
    lc_err err = LC_OK;
    while (err == LC_OK && left > 0) {
        size_t n = left > IO_CHUNK ? IO_CHUNK : (size_t)left;
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
static lc_err scan_entry(scanner *s, const tar_entry *te, lc_diag *d)
{
    long long at = s->off - TAR_BLOCK;
    if (s->manifest != NULL)
        return lc_fail(d, LC_EINPUT, "%s: corrupt backup: %s is not the last part", s->path,
                       PART_MANIFEST);
    if (te->type != '0' && te->type != '\0')
        return lc_fail(d, LC_EINPUT, "%s: corrupt backup: %s at byte %lld is not a file", s->path,
                       te->name, at);
    bool manifest = strcmp(te->name, PART_MANIFEST) == 0;
    if (manifest && te->size > MANIFEST_MAX)
        return lc_fail(d, LC_EINPUT, "%s: corrupt backup: %s too large", s->path, PART_MANIFEST);
    if (manifest)
        return scan_content(s, te, true, d);
    for (int i = 0; i < s->nfound; i++)
        if (strcmp(s->found[i].name, te->name) == 0)
            return lc_fail(d, LC_EINPUT, "%s: corrupt backup: part %s twice", s->path, te->name);
    if (s->nfound == LC_BACKUP_MAX_PARTS || strlen(te->name) >= sizeof s->found[0].name)
        return lc_fail(d, LC_EINPUT, "%s: corrupt backup: unexpected part %s", s->path, te->name);
    found_part *f = &s->found[s->nfound++];
    snprintf(f->name, sizeof f->name, "%s", te->name);
    f->offset = s->off;
    f->size = (long long)te->size;
    lc_err err = scan_content(s, te, false, d);
    md_final_hex(s->part, f->sha256);
    return err;
}

/* After the first zero block: one more, then nothing but zeros up to the end of the file. */
static lc_err scan_end(scanner *s, lc_diag *d)
{
    lc_err err = scan_read(s, s->buf, TAR_BLOCK, false, d);
    for (size_t i = 0; err == LC_OK && i < TAR_BLOCK; i++)
        if (s->buf[i] != 0)
            return lc_fail(d, LC_EINPUT, "%s: corrupt backup: data after its end", s->path);
    ssize_t r;
    while (err == LC_OK && (r = read(s->fd, s->buf, IO_CHUNK)) != 0) {
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
static lc_err scan_walk(scanner *s, lc_diag *d)
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
            return s->manifest != NULL
                       ? scan_end(s, d)
                       : lc_fail(d, LC_EINPUT, "%s: corrupt backup: no %s", s->path, PART_MANIFEST);
        if ((err = scan_entry(s, &te, d)) != LC_OK)
            return err;
    }
}

/* Every manifest part present with its size and SHA-256, and nothing unlisted. */
static lc_err scan_compare(const scanner *s, const lc_backup_info *info, lc_diag *d)
{
    for (int i = 0; i < info->nparts; i++) {
        const lc_backup_part *p = &info->parts[i];
        const found_part *f = NULL;
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

/* Opens, walks and checks path; found parts (with offsets) stay in *s (free with scan_close). */
static lc_err scan_file(scanner *s, const char *path, lc_backup_info *out, lc_diag *d)
{
    memset(out, 0, sizeof *out);
    *s = (scanner){
        .fd = -1, .path = path, .whole = md_new(), .part = md_new(), .buf = malloc(IO_CHUNK)};
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

static void scan_close(scanner *s)
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
    scanner s;
    lc_err err = scan_file(&s, path, out, d);
    scan_close(&s);
    return err;
}

/* ---- writing ---- */

typedef struct writer {
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
} writer;

static lc_err disk_error(const writer *w, lc_diag *d)
{
    return lc_fail(d, LC_EFAILED, "backup: %s: %s", w->tmp, strerror(w->err));
}

static bool put_raw(writer *w, const void *p, size_t n)
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

static void report(writer *w, bool last)
{
    if (w->progress == NULL || w->what == NULL)
        return;
    if (last || w->part_size - w->reported >= PROGRESS_STEP) {
        w->progress(w->arg, w->what, w->part_size, w->part_total);
        w->reported = w->part_size;
    }
}

/* Content of the current part: written, hashed, counted. */
static bool put_data(writer *w, const void *p, size_t n)
{
    if (!put_raw(w, p, n))
        return false;
    EVP_DigestUpdate(w->md, p, n);
    w->part_size += (long long)n;
    report(w, false);
    return true;
}

static bool sink(void *arg, const void *data, size_t len)
{
    return put_data(arg, data, len);
}

/* A placeholder header; the content follows. total: bytes expected, -1 unknown. */
static bool part_begin(writer *w, const char *what, long long total)
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
static bool part_end(writer *w, const char *name, lc_backup_part *p)
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
static lc_err writer_open(writer *w, const char *idir, const char *stamp, lc_diag *d)
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
static void writer_close(writer *w)
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
static lc_err writer_finish(writer *w, lc_diag *d)
{
    static const unsigned char zero[2 * TAR_BLOCK];
    if (!put_raw(w, zero, sizeof zero))
        return disk_error(w, d);
    if (fsync(w->fd) != 0)
        w->err = errno;
    int fd = w->fd;
    w->fd = -1;
    if (close(fd) != 0 && w->err == 0)
        w->err = errno;
    return w->err == 0 ? LC_OK : disk_error(w, d);
}

/* ---- helper containers ---- */

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

/* ---- the parts of a backup ---- */

static lc_err volume_part(lc_engine *e, const lc_backup_target *t, writer *w, lc_backup_part *p,
                          lc_diag *d)
{
    char helper[65];
    lc_err err = helper_create(e, t, t->volume, false, helper, d);
    if (err != LC_OK)
        return err;
    if (!part_begin(w, "volume", -1)) {
        err = disk_error(w, d);
    } else {
        err = engine_archive_get(e, helper, t->data_path, sink, w, d);
        if (w->err != 0)
            err = disk_error(w, d);
        else if (err != LC_OK)
            err = lc_prefix(d, engine_code(err), "backup: volume %s", t->volume);
        else if (!part_end(w, PART_VOLUME, p))
            err = disk_error(w, d);
    }
    helper_remove(e, helper);
    return err;
}

/* Copies the file src into the archive as part name. */
static lc_err copy_in(writer *w, const char *src, const char *name, lc_backup_part *p, lc_diag *d)
{
    struct stat st;
    int fd = open(src, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0) {
        lc_err err = lc_fail(d, LC_EFAILED, "backup: %s: %s", src, strerror(errno));
        if (fd >= 0)
            close(fd);
        return err;
    }
    unsigned char *buf = malloc(IO_CHUNK);
    bool ok = buf != NULL && part_begin(w, "database", (long long)st.st_size);
    ssize_t r = 0;
    while (ok && (r = read(fd, buf, IO_CHUNK)) != 0) {
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
    else if (!ok || !part_end(w, name, p))
        err = disk_error(w, d);
    free(buf);
    close(fd);
    return err;
}

/* pg_dump into a temporary file beside the backup, then into the archive. */
static lc_err dump_part(const lc_backup_target *t, writer *w, lc_backup_part *p, lc_diag *d)
{
    char tmp[4200];
    size_t base = strlen(w->tmp) - strlen(".tar.tmp");
    snprintf(tmp, sizeof tmp, "%.*s.dump.tmp", (int)base, w->tmp);
    lc_err err = pg_dump_to(&t->pg, t->database, tmp, d);
    if (err != LC_OK)
        err = lc_prefix(d, err, "backup: database %s", t->database ? t->database : "");
    else
        err = copy_in(w, tmp, PART_DUMP, p, d);
    unlink(tmp);
    return err;
}

static lc_err manifest_part(writer *w, const lc_backup_info *info, lc_diag *d)
{
    char *json = backup_manifest_json(info);
    if (json == NULL)
        return lc_fail(d, LC_ENOMEM, "backup: out of memory");
    lc_backup_part ignored;
    size_t n = strlen(json);
    bool ok = part_begin(w, NULL, (long long)n) && put_data(w, json, n) &&
              part_end(w, PART_MANIFEST, &ignored);
    free(json);
    return ok ? LC_OK : disk_error(w, d);
}

static bool has_pg(const lc_pg *pg)
{
    return pg->host != NULL && pg->host[0] != '\0';
}

/* volume.tar, database.dump (with a database server), manifest.json, end blocks, fsync. */
static lc_err write_parts(lc_engine *e, const lc_backup_target *t, writer *w, lc_backup_info *info,
                          lc_diag *d)
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
    err = manifest_part(w, info, d);
    return err == LC_OK ? writer_finish(w, d) : err;
}

/* ---- publishing ---- */

static lc_err fsync_dir(const char *dir, lc_diag *d)
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
static lc_err publish(writer *w, const char *idir, const char *stamp, char *final, size_t cap,
                      lc_diag *d)
{
    for (int i = 0; i < 1000; i++) {
        if (i == 0)
            snprintf(final, cap, "%s/%s.tar", idir, stamp);
        else
            snprintf(final, cap, "%s/%s-%d.tar", idir, stamp, i);
        if (rename_noreplace(w->tmp, final) == 0) {
            w->tmp[0] = '\0';
            return fsync_dir(idir, d);
        }
        if (errno != EEXIST)
            break;
    }
    return lc_fail(d, LC_EFAILED, "backup: rename %s to %s: %s", w->tmp, final, strerror(errno));
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
    return *created ? fsync_dir(dir, d) : LC_OK;
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

/* The written file read back: every part as written, and the whole file's SHA-256. */
static lc_err self_check(const char *tmp, const lc_backup_info *info, lc_backup_info *out,
                         lc_diag *d)
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
    writer w = {.fd = -1, .mtime = info.created_at, .progress = progress, .arg = arg};
    lc_err err = writer_open(&w, idir, stamp, d);
    if (err == LC_OK)
        err = write_parts(e, t, &w, &info, d);
    if (err == LC_OK)
        err = self_check(w.tmp, &info, out, d);
    if (err == LC_OK)
        err = publish(&w, idir, stamp, final, sizeof final, d);
    if (err == LC_OK)
        snprintf(out->path, sizeof out->path, "%s", final);
    writer_close(&w);
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
            fsync_dir(dir, &(lc_diag){""});
        memset(out, 0, sizeof *out);
    }
    return err;
}

/* ---- restoring ---- */

static const found_part *scan_found(const scanner *s, const char *name)
{
    for (int i = 0; i < s->nfound; i++)
        if (strcmp(s->found[i].name, name) == 0)
            return &s->found[i];
    return NULL;
}

/* Feeds a part's bytes (from its offset in the backup file) to an upload. */
typedef struct reader {
    int fd;
    long long off, left, total, reported;
    int err;
    lc_progress_fn progress;
    void *arg;
} reader;

static size_t source(void *arg, void *buf, size_t cap)
{
    reader *r = arg;
    size_t n = (long long)cap < r->left ? cap : (size_t)r->left;
    if (n == 0)
        return 0;
    ssize_t got;
    do
        got = pread(r->fd, buf, n, r->off);
    while (got < 0 && errno == EINTR);
    if (got <= 0) {
        r->err = got < 0 ? errno : EIO;
        return LC_SOURCE_ERROR;
    }
    r->off += got;
    r->left -= got;
    long long done = r->total - r->left;
    if (r->progress != NULL && (r->left == 0 || done - r->reported >= PROGRESS_STEP)) {
        r->progress(r->arg, "volume", done, r->total);
        r->reported = done;
    }
    return (size_t)got;
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

static lc_err fill_volume(lc_engine *e, const scanner *s, const found_part *f,
                          const lc_backup_target *t, const char *new_volume,
                          lc_progress_fn progress, void *arg, lc_diag *d)
{
    char parent[4096], helper[65];
    lc_err err = engine_volume_create(e, new_volume, t->store_uuid, t->instance_id, d);
    if (err != LC_OK)
        return lc_prefix(d, engine_code(err), "restore");
    if ((err = helper_create(e, t, new_volume, true, helper, d)) != LC_OK)
        return lc_prefix(d, err, "restore");
    parent_dir(t->data_path, parent, sizeof parent);
    reader r = {.fd = s->fd,
                .off = f->offset,
                .left = f->size,
                .total = f->size,
                .progress = progress,
                .arg = arg};
    err = engine_archive_put(e, helper, parent, source, &r, f->size, d);
    if (r.err != 0)
        err = lc_fail(d, LC_EFAILED, "restore: %s: %s", s->path, strerror(r.err));
    else if (err != LC_OK)
        err = lc_prefix(d, engine_code(err), "restore: volume %s", new_volume);
    helper_remove(e, helper);
    return err;
}

lc_err backup_restore_volume(lc_engine *e, const char *path, const lc_backup_target *t,
                             const char *new_volume, lc_progress_fn progress, void *arg, lc_diag *d)
{
    lc_backup_info info;
    scanner s;
    lc_err err = check_target(t, d);
    if (err != LC_OK)
        return err;
    if (new_volume == NULL || new_volume[0] == '\0')
        return lc_fail(d, LC_EUSAGE, "restore: no volume");
    err = scan_file(&s, path, &info, d);
    const found_part *f = err == LC_OK ? scan_found(&s, PART_VOLUME) : NULL;
    if (err == LC_OK)
        err = fill_volume(e, &s, f, t, new_volume, progress, arg, d);
    scan_close(&s);
    return err;
}

/* Copies part f out to fd (hashing it again: the file must not have changed since the scan). */
static lc_err extract_part(const scanner *s, const found_part *f, int fd, const char *dst,
                           lc_diag *d)
{
    EVP_MD_CTX *md = md_new();
    char sha[65];
    long long off = f->offset, left = f->size;
    lc_err err = md == NULL ? lc_fail(d, LC_ENOMEM, "restore: out of memory") : LC_OK;
    while (err == LC_OK && left > 0) {
        size_t n = left > IO_CHUNK ? IO_CHUNK : (size_t)left;
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

/* The dump into a temporary file beside the backup, then pg_restore, then the file is removed. */
static lc_err restore_dump(const scanner *s, const found_part *f, const lc_backup_target *t,
                           lc_diag *d)
{
    char tmp[4200];
    const char *slash = strrchr(s->path, '/');
    int dlen = slash == NULL ? 1 : slash == s->path ? 1 : (int)(slash - s->path);
    snprintf(tmp, sizeof tmp, "%.*s/.restore-XXXXXX.dump", dlen, slash == NULL ? "." : s->path);
    int fd = mkstemps(tmp, 5);
    if (fd < 0)
        return lc_fail(d, LC_EFAILED, "restore: %s: %s", tmp, strerror(errno));
    lc_err err = extract_part(s, f, fd, tmp, d);
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
    scanner s;
    lc_err err = scan_file(&s, path, &info, d);
    const found_part *f = err == LC_OK ? scan_found(&s, PART_DUMP) : NULL;
    if (f != NULL)
        err = restore_dump(&s, f, t, d);
    scan_close(&s);
    return err;
}
