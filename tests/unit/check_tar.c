/*
 * tar_rename (lib/tar.c), table-driven: archives made by GNU tar in each
 * format Docker's reader takes (ustar with and without the prefix split,
 * GNU long names and link targets, PAX records), renamed in memory, then
 * listed and extracted again by GNU tar (which checks every header's
 * checksum): the moved entries hold their old content under the new name,
 * nothing is left under the old one, neighbours with a common prefix stay,
 * a moved path too long for ustar gets a PAX record, the size announced
 * beforehand is the size produced. Plus: nothing to rename passes the bytes
 * as they are; corrupt, cut off and unreadable input is refused before any
 * byte is produced.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tar.h"
#include "testutil.h"

#define L50 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define L99                                                                                        \
    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb" \
    "bbbbbbb"
#define L95                                                                                        \
    L50 "cccccccccccccccccccccccccccccccccccccccccccc"                                             \
        "d"
#define LONGDB "a_much_longer_database_name_for_the_staging_copy"

typedef struct mem {
    unsigned char *p;
    size_t n;
    bool fail; /* every read fails */
} mem;

static bool mem_read(void *arg, long long off, void *buf, size_t n)
{
    const mem *m = arg;
    if (m->fail || off < 0 || (size_t)off + n > m->n)
        return false;
    memcpy(buf, m->p + off, n);
    return true;
}

static mem read_whole(const char *path)
{
    mem m = {0};
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "open %s", path);
    fseek(f, 0, SEEK_END);
    m.n = (size_t)ftell(f);
    rewind(f);
    m.p = malloc(m.n + 1);
    ck_assert(m.p != NULL && fread(m.p, 1, m.n, f) == m.n);
    fclose(f);
    return m;
}

static void write_whole(const char *path, const unsigned char *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert(f != NULL && fwrite(p, 1, n, f) == n && fclose(f) == 0);
}

/* Renames m (from -> to) through size and read (odd chunks); the output, asserted to be *n bytes.
 */
static unsigned char *rename_all(const mem *m, const char *from, const char *to, size_t *n,
                                 long long *renamed)
{
    tar_rename r = {
        .from = from, .to = to, .read = mem_read, .arg = (void *)m, .in_size = (long long)m->n};
    long long size = -1;
    ck_assert_msg(tar_rename_size(&r, &size, renamed) == TAR_RENAME_OK, "size: %s", r.why);
    unsigned char *out = malloc((size_t)size + 1000);
    size_t got = 0, k;
    while ((k = tar_rename_read(&r, out + got, 777)) > 0) {
        ck_assert_msg(k != TAR_RENAME_FAILED, "read: %s", r.why);
        got += k;
        ck_assert_msg(got <= (size_t)size, "more than the %lld bytes announced", size);
    }
    ck_assert_int_eq((long long)got, size);
    tar_rename_free(&r);
    *n = got;
    return out;
}

/* line with its leading from moved to to, when it is from or under from/. */
static void moved_line(const char *line, const char *from, const char *to, char *out, size_t cap)
{
    size_t fl = strlen(from);
    if (strncmp(line, from, fl) == 0 && (line[fl] == '\0' || line[fl] == '/'))
        snprintf(out, cap, "%s%s", to, line + fl);
    else
        snprintf(out, cap, "%s", line);
}

typedef struct rename_case {
    const char *what;
    const char *format;    /* GNU tar --format */
    const char *files[5];  /* regular files under the root "odoo", content: their path */
    const char *hardlink;  /* "TARGET LINK" (ln), or NULL */
    const char *from, *to; /* the rename */
    bool pax_added;        /* the input has no PAX header, the output must */
} rename_case;

#define OLD "odoo/filestore/old"
static const rename_case rename_cases[] = {
    {"ustar, short names, to a longer name",
     "ustar",
     {OLD "/ab/abcdef", OLD "/cd/cdef01", "odoo/sessions/s1", "odoo/filestore/old2/x",
      "odoo/oldfile"},
     NULL,
     OLD,
     "odoo/filestore/new_db",
     false},
    {"ustar, to a shorter name", "ustar", {OLD "/ab/abcdef"}, NULL, OLD, "odoo/filestore/n", false},
    {"ustar prefix split",
     "ustar",
     {OLD "/" L50 "/" L99},
     NULL,
     OLD,
     "odoo/filestore/" LONGDB,
     false},
    {"ustar, no longer fits: a PAX record",
     "ustar",
     {OLD "/" L95 "/" L99},
     NULL,
     OLD,
     "odoo/filestore/" LONGDB,
     true},
    {"gnu long names",
     "gnu",
     {OLD "/" L50 L50 L50 "/" L99 L99, OLD "/ab/short"},
     NULL,
     OLD,
     "odoo/filestore/" LONGDB,
     false},
    {"gnu, no longer fits 100: a PAX record",
     "gnu",
     {OLD "/" L50 "/abc"},
     NULL,
     OLD,
     "odoo/filestore/" LONGDB,
     true},
    {"pax long names",
     "pax",
     {OLD "/" L50 L50 L50 "/" L99 L99, OLD "/ab/short"},
     NULL,
     OLD,
     "odoo/filestore/" LONGDB,
     false},
    {"gnu hard link with long names",
     "gnu",
     {OLD "/" L50 L50 "/" L99},
     OLD "/" L50 L50 "/" L99 " " OLD "/" L99 "-link",
     OLD,
     "odoo/filestore/" LONGDB,
     false},
    {"pax hard link",
     "pax",
     {OLD "/ab/file"},
     OLD "/ab/file " OLD "/cd/link",
     OLD,
     "odoo/filestore/x",
     false},
    {"ustar hard link, target no longer fits 100",
     "ustar",
     {OLD "/" L50 "/f"},
     OLD "/" L50 "/f " OLD "/g",
     OLD,
     "odoo/filestore/" LONGDB,
     true},
    {"nothing under the old name",
     "ustar",
     {"odoo/filestore/other/ab/x", "odoo/filestore/old2/y"},
     NULL,
     OLD,
     "odoo/filestore/new",
     false},
};

static bool has_type(const unsigned char *ar, size_t n, char type)
{
    for (size_t off = 0; off + TAR_BLOCK <= n;) {
        tar_entry te;
        if (tar_parse_header(ar + off, &te) != 1)
            return false;
        if (te.type == type)
            return true;
        off += TAR_BLOCK + tar_padded(strchr("123456", te.type) && te.type ? 0 : te.size);
    }
    return false;
}

START_TEST(rename_table)
{
    const rename_case *c = &rename_cases[_i];
    char *dir = tu_tmpdir("tar");
    for (int i = 0; i < 5 && c->files[i] != NULL; i++)
        free(tu_sh_ok("cd '%s' && mkdir -p src/$(dirname '%s') && printf %%s '%s' > 'src/%s'", dir,
                      c->files[i], c->files[i], c->files[i]));
    if (c->hardlink != NULL)
        free(tu_sh_ok("cd '%s'/src && set -- %s && mkdir -p $(dirname $2) && ln $1 $2", dir,
                      c->hardlink));
    free(tu_sh_ok("tar --format=%s --sort=name -cf '%s/in.tar' -C '%s/src' odoo", c->format, dir,
                  dir));
    char path[512];
    snprintf(path, sizeof path, "%s/in.tar", dir);
    mem in = read_whole(path);
    size_t n;
    long long renamed;
    unsigned char *out = rename_all(&in, c->from, c->to, &n, &renamed);
    snprintf(path, sizeof path, "%s/out.tar", dir);
    write_whole(path, out, n);
    ck_assert_msg(!c->pax_added || (!has_type(in.p, in.n, 'x') && has_type(out, n, 'x')),
                  "%s: no PAX header added", c->what);

    /* GNU tar lists it (checksums checked) as the input's listing moved */
    char *want = tu_sh_ok("tar -tf '%s/in.tar'", dir), *got = tu_sh_ok("tar -tf '%s'", path);
    char expect[16384] = "", line[1024], moved[1200];
    long long matching = 0;
    for (char *s = want, *e; *s != '\0'; s = *e ? e + 1 : e) {
        e = s + strcspn(s, "\n");
        snprintf(line, sizeof line, "%.*s", (int)(e - s), s);
        moved_line(line, c->from, c->to, moved, sizeof moved);
        matching += strcmp(line, moved) != 0;
        snprintf(expect + strlen(expect), sizeof expect - strlen(expect), "%s%s",
                 expect[0] ? "\n" : "", moved);
    }
    ck_assert_msg(strcmp(got, expect) == 0, "%s: listing\n%s\nwant\n%s", c->what, got, expect);
    ck_assert_int_eq(renamed, matching);

    /* extracted: every file's old content under its new name, nothing under the old one */
    free(tu_sh_ok("mkdir '%s/x' && tar -xf '%s' -C '%s/x'", dir, path, dir));
    for (int i = 0; i < 5 && c->files[i] != NULL; i++) {
        moved_line(c->files[i], c->from, c->to, moved, sizeof moved);
        char *content = tu_sh_ok("cat '%s/x/%s'", dir, moved);
        ck_assert_msg(strcmp(content, c->files[i]) == 0, "%s: %s holds %s", c->what, moved,
                      content);
        free(content);
    }
    if (c->hardlink != NULL) {
        char *link = tu_sh_ok("cd '%s/x' && set -- %s && echo $2", dir, c->hardlink);
        moved_line(link, c->from, c->to, moved, sizeof moved);
        free(tu_sh_ok("test -f '%s/x/%s'", dir, moved));
        free(link);
    }
    if (matching > 0)
        free(tu_sh_ok("test ! -e '%s/x/%s'", dir, c->from));
    free(want);
    free(got);
    free(out);
    free(in.p);
    free(tu_sh_ok("rm -rf '%s'", dir));
    free(dir);
}
END_TEST

/* Nothing to rename (from NULL, "", or equal to to): the input as it is, bytes after the end too.
 */
START_TEST(rename_nothing_passes_through)
{
    char *dir = tu_tmpdir("tar");
    free(tu_sh_ok("cd '%s' && mkdir -p src/odoo/filestore/db && echo x > src/odoo/filestore/db/f &&"
                  " tar -cf in.tar -C src odoo && printf junk >> in.tar",
                  dir));
    char path[512];
    snprintf(path, sizeof path, "%s/in.tar", dir);
    mem in = read_whole(path);
    const char *pairs[][2] = {{NULL, "odoo/filestore/x"},
                              {"", "odoo/filestore/x"},
                              {"odoo/filestore/db", "odoo/filestore/db"},
                              {"odoo/filestore/db", ""}};
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        size_t n;
        long long renamed;
        unsigned char *out = rename_all(&in, pairs[i][0], pairs[i][1], &n, &renamed);
        ck_assert_int_eq(n, in.n);
        ck_assert_int_eq(renamed, 0);
        ck_assert(memcmp(out, in.p, n) == 0);
        free(out);
    }
    /* renaming: the end blocks and what follows them pass as they are */
    size_t n;
    long long renamed;
    unsigned char *out = rename_all(&in, "odoo/filestore/db", "odoo/filestore/e", &n, &renamed);
    ck_assert_int_eq(n, in.n);
    ck_assert_int_eq(renamed, 2);
    ck_assert(memcmp(out + n - 4, "junk", 4) == 0);
    free(out);
    free(in.p);
    free(tu_sh_ok("rm -rf '%s'", dir));
    free(dir);
}
END_TEST

/* A one-entry archive: a PAX header holding records (NULL: none), then a file under old. */
static mem pax_archive(const char *records)
{
    mem m = {calloc(1, 6 * TAR_BLOCK), 6 * TAR_BLOCK, false};
    unsigned char *p = m.p;
    if (records != NULL) {
        ck_assert(tar_header(p, "././@PaxHeader", 'x', 0644, 0, 0, strlen(records), 0));
        memcpy(p + TAR_BLOCK, records, strlen(records));
        p += 2 * TAR_BLOCK;
    }
    ck_assert(tar_header(p, OLD "/f", '0', 0644, 0, 0, 3, 0));
    memcpy(p + TAR_BLOCK, "abc", 3);
    return m;
}

typedef struct bad_case {
    const char *what;
    const char *records; /* the PAX header's, or NULL for none */
    long long flip;      /* a byte flipped, -1 for none */
    size_t cut;          /* bytes kept, 0 for all */
    bool fail_reads;
    tar_rename_err want;
} bad_case;

static const bad_case bad_cases[] = {
    {"header checksum", NULL, 10, 0, false, TAR_RENAME_CORRUPT},
    {"cut inside a header", NULL, -1, 300, false, TAR_RENAME_CORRUPT},
    {"cut inside the content", NULL, -1, 600, false, TAR_RENAME_CORRUPT},
    {"PAX record without '='", "9 pathxx\n", -1, 0, false, TAR_RENAME_CORRUPT},
    {"PAX record length past its end", "99 path=x\n", -1, 0, false, TAR_RENAME_CORRUPT},
    {"PAX header without its entry", "11 path=ab\n", -1, 2 * TAR_BLOCK, false, TAR_RENAME_CORRUPT},
    {"unreadable", NULL, -1, 0, true, TAR_RENAME_READ},
};

START_TEST(rename_refuses_bad_input)
{
    const bad_case *c = &bad_cases[_i];
    mem m = pax_archive(c->records);
    if (c->flip >= 0)
        m.p[c->flip] ^= 0x40;
    if (c->cut > 0) {
        m.n = c->cut;
        if (c->records != NULL && c->cut == 2 * TAR_BLOCK) /* the PAX header, then the end blocks */
            m.n = 6 * TAR_BLOCK, memset(m.p + 2 * TAR_BLOCK, 0, 4 * TAR_BLOCK);
    }
    m.fail = c->fail_reads;
    tar_rename r = {.from = OLD,
                    .to = "odoo/filestore/new",
                    .read = mem_read,
                    .arg = &m,
                    .in_size = (long long)m.n};
    long long size, renamed;
    ck_assert_msg(tar_rename_size(&r, &size, &renamed) == c->want, "%s: got %d (%s)", c->what,
                  r.err, r.why);
    ck_assert_msg(strstr(r.why, "byte") != NULL, "%s: why \"%s\" names no byte", c->what, r.why);
    tar_rename_free(&r);
    free(m.p);
}
END_TEST

/* A PAX path record moved: the record's length is recomputed, other records kept byte for byte. */
START_TEST(rename_pax_record_length)
{
    mem m = pax_archive("29 path=" OLD "/f\n30 mtime=1700000000.123456789\n"
                        "40 SCHILY.xattr.security.capability=\x01\x02\x03\n");
    size_t n;
    long long renamed;
    unsigned char *out = rename_all(&m, OLD, "odoo/filestore/" LONGDB, &n, &renamed);
    tar_entry te;
    ck_assert_int_eq(tar_parse_header(out, &te), 1);
    const char *want = "74 path=odoo/filestore/" LONGDB "/f\n30 mtime=1700000000.123456789\n"
                       "40 SCHILY.xattr.security.capability=\x01\x02\x03\n";
    ck_assert_int_eq(te.type, 'x');
    ck_assert_int_eq(te.size, strlen(want));
    ck_assert(memcmp(out + TAR_BLOCK, want, strlen(want)) == 0);
    ck_assert_int_eq(tar_parse_header(out + 2 * TAR_BLOCK, &te), 1);
    ck_assert_str_eq(te.name, "odoo/filestore/" LONGDB "/f");
    ck_assert_int_eq(renamed, 1);
    free(out);
    free(m.p);
}
END_TEST

Suite *suite_tar(void)
{
    Suite *s = suite_create("tar");
    TCase *tc = tcase_create("rename");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, rename_table, 0, (int)(sizeof rename_cases / sizeof rename_cases[0]));
    tcase_add_test(tc, rename_nothing_passes_through);
    tcase_add_loop_test(tc, rename_refuses_bad_input, 0,
                        (int)(sizeof bad_cases / sizeof bad_cases[0]));
    tcase_add_test(tc, rename_pax_record_length);
    suite_add_tcase(s, tc);
    return s;
}
