/*
 * Backups without an engine: the manifest's parser and writer, the outer
 * tar's header helpers (base-256 sizes, long names), backup_verify on small
 * synthetic backups built here (good, corrupt checksum, wrong size, missing
 * manifest, manifest not last, unlisted part, trailing data, truncated,
 * garbage, empty, missing), and the PostgreSQL tool runner (exit status and
 * last stderr line, the temporary PGPASSFILE, refused database names).
 */
#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup.h"
#include "pgtools.h"
#include "tar.h"
#include "testutil.h"

#define INSTANCE "aaaa1111-0000-4000-8000-00000000000a"
#define VOLUME_DATA "pretend this is the volume's tar\n"
#define DUMP_DATA "PGDMP pretend dump"

static char *dir;

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void setup(void)
{
    dir = tu_tmpdir("backup");
    ck_assert_ptr_nonnull(dir);
}

static void teardown(void)
{
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(dir);
}

static void sha_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    ck_assert_int_eq(EVP_Digest(data, len, md, &n, EVP_sha256(), NULL), 1);
    for (unsigned i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* One tar entry: header, data, padding. */
static void put_entry(FILE *f, const char *name, const void *data, size_t len)
{
    unsigned char h[TAR_BLOCK], zero[TAR_BLOCK] = {0};
    ck_assert(tar_header(h, name, '0', 0600, 0, 0, len, 1700000000));
    ck_assert_uint_eq(fwrite(h, 1, TAR_BLOCK, f), TAR_BLOCK);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    size_t pad = (size_t)(tar_padded(len) - len);
    ck_assert_uint_eq(fwrite(zero, 1, pad, f), pad);
}

static void put_end(FILE *f)
{
    unsigned char zero[2 * TAR_BLOCK] = {0};
    ck_assert_uint_eq(fwrite(zero, 1, sizeof zero, f), sizeof zero);
}

/* The manifest for volume (and dump when not NULL) as written by the library. */
static char *manifest(const char *volume, const char *dump, long long size_delta)
{
    lc_backup_info info = {.created_at = 1764417731, .nparts = 1};
    snprintf(info.instance, sizeof info.instance, "%s", INSTANCE);
    snprintf(info.database, sizeof info.database, "shop_db");
    snprintf(info.parts[0].name, sizeof info.parts[0].name, "volume.tar");
    info.parts[0].size = (long long)strlen(volume) + size_delta;
    sha_hex(volume, strlen(volume), info.parts[0].sha256);
    if (dump != NULL) {
        snprintf(info.parts[1].name, sizeof info.parts[1].name, "database.dump");
        info.parts[1].size = (long long)strlen(dump);
        sha_hex(dump, strlen(dump), info.parts[1].sha256);
        info.nparts = 2;
    }
    char *json = backup_manifest_json(&info);
    ck_assert_ptr_nonnull(json);
    return json;
}

/* dir/name as a path (static buffer). */
static const char *path_of(const char *name)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

/* A well-formed backup: volume.tar, database.dump, manifest.json, end blocks. */
static const char *write_good(const char *name)
{
    const char *path = path_of(name);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    char *m = manifest(VOLUME_DATA, DUMP_DATA, 0);
    put_entry(f, "volume.tar", VOLUME_DATA, strlen(VOLUME_DATA));
    put_entry(f, "database.dump", DUMP_DATA, strlen(DUMP_DATA));
    put_entry(f, "manifest.json", m, strlen(m));
    put_end(f);
    ck_assert_int_eq(fclose(f), 0);
    free(m);
    return path;
}

static lc_err verify(const char *path, lc_diag *d)
{
    lc_backup_info info;
    *d = (lc_diag){""};
    return backup_verify(path, &info, d);
}

#define ASSERT_CORRUPT(path, fragment)                                                             \
    do {                                                                                           \
        lc_diag d_;                                                                                \
        ck_assert_int_eq(verify(path, &d_), LC_EINPUT);                                            \
        ck_assert_msg(strstr(d_.msg, fragment) != NULL, "message: %s", d_.msg);                    \
    } while (0)

START_TEST(manifest_round_trip)
{
    char *json = manifest(VOLUME_DATA, DUMP_DATA, 0);
    lc_backup_info info;
    lc_diag d = {""};
    ck_assert_int_eq(backup_parse_manifest(json, strlen(json), &info, &d), LC_OK);
    ck_assert_str_eq(info.instance, INSTANCE);
    ck_assert_str_eq(info.database, "shop_db");
    ck_assert_int_eq(info.created_at, 1764417731);
    ck_assert_int_eq(info.nparts, 2);
    ck_assert_str_eq(info.parts[0].name, "volume.tar");
    ck_assert_int_eq(info.parts[0].size, (long long)strlen(VOLUME_DATA));
    ck_assert_str_eq(info.parts[1].name, "database.dump");
    ck_assert_ptr_eq(backup_find_part(&info, "database.dump"), &info.parts[1]);
    ck_assert_ptr_null(backup_find_part(&info, "other"));
    ck_assert_ptr_nonnull(strstr(json, "\"format\":1"));
    ck_assert_ptr_nonnull(strstr(json, "\"created_at\":\"2025-11-29T12:02:11Z\""));
    free(json);
}
END_TEST

START_TEST(manifest_large_size_exact)
{
    const char *json = "{\"format\":1,\"instance\":\"i\",\"created_at\":\"2026-11-29T12:02:11Z\","
                       "\"parts\":[{\"name\":\"volume.tar\",\"size\":123456789012345,\"sha256\":"
                       "\"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\"}]}";
    lc_backup_info info;
    lc_diag d = {""};
    ck_assert_int_eq(backup_parse_manifest(json, strlen(json), &info, &d), LC_OK);
    ck_assert_int_eq(info.parts[0].size, 123456789012345LL);
    ck_assert_str_eq(info.database, ""); /* a manifest from before it recorded the database */
}
END_TEST

#define SHA "\"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\""
#define HEAD "{\"format\":1,\"instance\":\"i\",\"created_at\":\"2026-11-29T12:02:11Z\","
#define VOL(rest) "{\"name\":\"volume.tar\",\"size\":1,\"sha256\":" SHA rest "}"

static const char *const bad_manifests[] = {
    "",
    "[]",
    "{\"format\":1",
    "{\"format\":2,\"instance\":\"i\",\"created_at\":\"2026-11-29T12:02:11Z\",\"parts\":[" VOL(
        "") "]}",
    "{\"format\":1,\"created_at\":\"2026-11-29T12:02:11Z\",\"parts\":[" VOL("") "]}",
    "{\"format\":1,\"instance\":\"i\",\"created_at\":\"yesterday\",\"parts\":[" VOL("") "]}",
    HEAD "\"parts\":[]}",
    HEAD "\"database\":\"../etc\",\"parts\":[" VOL("") "]}",
    HEAD "\"database\":\"\",\"parts\":[" VOL("") "]}",
    HEAD "\"database\":7,\"parts\":[" VOL("") "]}",
    HEAD "\"parts\":{}}",
    HEAD "\"parts\":[{\"name\":\"volume.tar\",\"size\":1}]}",
    HEAD
    "\"parts\":[{\"name\":\"volume.tar\",\"size\":1,\"sha256\":\"E3B0C44298FC1C149AFBF4C8996FB9"
    "2427AE41E4649B934CA495991B7852B855\"}]}",
    HEAD "\"parts\":[{\"name\":\"volume.tar\",\"size\":1,\"sha256\":\"e3b0\"}]}",
    HEAD "\"parts\":[{\"name\":\"volume.tar\",\"size\":-1,\"sha256\":" SHA "}]}",
    HEAD "\"parts\":[{\"name\":\"volume.tar\",\"size\":1.5,\"sha256\":" SHA "}]}",
    HEAD "\"parts\":[{\"name\":\"volume.tar\",\"size\":\"1\",\"sha256\":" SHA "}]}",
    HEAD "\"parts\":[" VOL("") "," VOL("") "]}",
    HEAD "\"parts\":[{\"name\":\"database.dump\",\"size\":1,\"sha256\":" SHA "}]}",
    HEAD "\"parts\":[" VOL("") ",{\"name\":\"manifest.json\",\"size\":1,\"sha256\":" SHA "}]}",
    HEAD "\"parts\":[" VOL("") ",{\"name\":\"a\",\"size\":1,\"sha256\":" SHA
                               "},{\"name\":\"b\",\"size\":1,\"sha256\":" SHA
                               "},{\"name\":\"c\",\"size\":1,\"sha256\":" SHA
                               "},{\"name\":\"d\",\"size\":1,\"sha256\":" SHA "}]}",
};

START_TEST(manifest_rejects)
{
    const char *json = bad_manifests[_i];
    lc_backup_info info;
    lc_diag d = {""};
    ck_assert_msg(backup_parse_manifest(json, strlen(json), &info, &d) == LC_EINPUT, "accepted: %s",
                  json);
    ck_assert_msg(strncmp(d.msg, "manifest: ", 10) == 0, "message: %s", d.msg);
}
END_TEST

START_TEST(tar_header_big_and_long)
{
    unsigned char h[TAR_BLOCK];
    tar_entry te;
    unsigned long long big = 10ULL * 1024 * 1024 * 1024 + 7;
    ck_assert(tar_header(h, "volume.tar", '0', 0600, 0, 0, big, 1700000000));
    ck_assert_int_eq(h[124], 0x80);
    ck_assert_int_eq(tar_parse_header(h, &te), 1);
    ck_assert_str_eq(te.name, "volume.tar");
    ck_assert(te.size == big);
    ck_assert(tar_header(h, "/x", '0', 0600, 0, 0, 8ULL * 1024 * 1024 * 1024 - 1, 0));
    ck_assert_int_eq(tar_parse_header(h, &te), 1);
    ck_assert_int_eq(h[124], '7');
    ck_assert_str_eq(te.name, "x");
    char longname[200];
    memset(longname, 'a', sizeof longname);
    memcpy(longname + 120, "/", 1);
    longname[199] = '\0';
    ck_assert(tar_header(h, longname, '0', 0600, 0, 0, 1, 0));
    ck_assert_int_eq(tar_parse_header(h, &te), 1);
    ck_assert_str_eq(te.name, longname);
    memset(h, 0, sizeof h);
    ck_assert_int_eq(tar_parse_header(h, &te), 0);
    h[0] = 'x';
    ck_assert_int_eq(tar_parse_header(h, &te), -1);
}
END_TEST

START_TEST(verify_good_backup)
{
    const char *path = write_good("good.tar");
    lc_backup_info info;
    lc_diag d = {""};
    ck_assert_msg(backup_verify(path, &info, &d) == LC_OK, "%s", d.msg);
    ck_assert_str_eq(info.path, path);
    ck_assert_str_eq(info.instance, INSTANCE);
    ck_assert_int_eq(info.nparts, 2);
    char *cmd;
    ck_assert_int_gt(asprintf(&cmd, "sha256sum %s | cut -c1-64", path), 0);
    tu_run r = tu_sh(cmd);
    free(cmd);
    r.out[strcspn(r.out, "\n")] = '\0';
    ck_assert_str_eq(info.sha256, r.out);
    tu_run_free(&r);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(info.size, st.st_size);
    ck_assert_int_gt(asprintf(&cmd, "tar tvf %s | awk '{print $3, $6}' | tr '\\n' ' '", path), 0);
    r = tu_sh(cmd);
    free(cmd);
    char *m = manifest(VOLUME_DATA, DUMP_DATA, 0), want[256];
    snprintf(want, sizeof want, "%zu volume.tar %zu database.dump %zu manifest.json ",
             strlen(VOLUME_DATA), strlen(DUMP_DATA), strlen(m));
    ck_assert_str_eq(r.out, want);
    free(m);
    tu_run_free(&r);
}
END_TEST

START_TEST(verify_corrupt_checksum)
{
    const char *path = write_good("bad.tar");
    FILE *f = fopen(path, "r+b");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fseek(f, TAR_BLOCK + 3, SEEK_SET), 0);
    ck_assert_int_ne(fputc('X', f), EOF);
    ck_assert_int_eq(fclose(f), 0);
    ASSERT_CORRUPT(path, "volume.tar checksum mismatch");
}
END_TEST

START_TEST(verify_wrong_size)
{
    const char *path = path_of("size.tar");
    FILE *f = fopen(path, "wb");
    char *m = manifest(VOLUME_DATA, NULL, 1);
    put_entry(f, "volume.tar", VOLUME_DATA, strlen(VOLUME_DATA));
    put_entry(f, "manifest.json", m, strlen(m));
    put_end(f);
    fclose(f);
    free(m);
    ASSERT_CORRUPT(path, "manifest says");
}
END_TEST

START_TEST(verify_missing_manifest)
{
    const char *path = path_of("nomanifest.tar");
    FILE *f = fopen(path, "wb");
    put_entry(f, "volume.tar", VOLUME_DATA, strlen(VOLUME_DATA));
    put_end(f);
    fclose(f);
    ASSERT_CORRUPT(path, "no manifest.json");
}
END_TEST

START_TEST(verify_manifest_not_last)
{
    const char *path = path_of("order.tar");
    FILE *f = fopen(path, "wb");
    char *m = manifest(VOLUME_DATA, NULL, 0);
    put_entry(f, "manifest.json", m, strlen(m));
    put_entry(f, "volume.tar", VOLUME_DATA, strlen(VOLUME_DATA));
    put_end(f);
    fclose(f);
    free(m);
    ASSERT_CORRUPT(path, "is not the last part");
}
END_TEST

START_TEST(verify_unlisted_part)
{
    const char *path = path_of("extra.tar");
    FILE *f = fopen(path, "wb");
    char *m = manifest(VOLUME_DATA, NULL, 0);
    put_entry(f, "volume.tar", VOLUME_DATA, strlen(VOLUME_DATA));
    put_entry(f, "database.dump", DUMP_DATA, strlen(DUMP_DATA));
    put_entry(f, "manifest.json", m, strlen(m));
    put_end(f);
    fclose(f);
    free(m);
    ASSERT_CORRUPT(path, "not in the manifest");
}
END_TEST

START_TEST(verify_listed_part_missing)
{
    const char *path = path_of("missing-part.tar");
    FILE *f = fopen(path, "wb");
    char *m = manifest(VOLUME_DATA, DUMP_DATA, 0);
    put_entry(f, "volume.tar", VOLUME_DATA, strlen(VOLUME_DATA));
    put_entry(f, "manifest.json", m, strlen(m));
    put_end(f);
    fclose(f);
    free(m);
    ASSERT_CORRUPT(path, "part database.dump missing");
}
END_TEST

START_TEST(verify_trailing_data)
{
    const char *path = write_good("trailing.tar");
    FILE *f = fopen(path, "ab");
    fputs("more", f);
    fclose(f);
    ASSERT_CORRUPT(path, "data after its end");
}
END_TEST

START_TEST(verify_truncated)
{
    const char *path = write_good("short.tar");
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    /* Cut inside the manifest, then inside the end blocks. */
    ck_assert_int_eq(truncate(path, st.st_size - 3 * TAR_BLOCK + 10), 0);
    ASSERT_CORRUPT(path, "truncated");
    path = write_good("short2.tar");
    ck_assert_int_eq(truncate(path, st.st_size - TAR_BLOCK), 0);
    ASSERT_CORRUPT(path, "truncated");
}
END_TEST

START_TEST(verify_garbage_empty_missing)
{
    const char *path = path_of("garbage.tar");
    FILE *f = fopen(path, "wb");
    for (int i = 0; i < 4096; i++)
        fputc((i * 7919) & 0xff, f);
    fclose(f);
    ASSERT_CORRUPT(path, "no valid tar header");
    path = path_of("empty.tar");
    f = fopen(path, "wb");
    fclose(f);
    ASSERT_CORRUPT(path, "truncated");
    lc_diag d;
    ck_assert_int_eq(verify(path_of("nothing.tar"), &d), LC_ENOTFOUND);
}
END_TEST

START_TEST(verify_bad_manifest_json)
{
    const char *path = path_of("badjson.tar");
    FILE *f = fopen(path, "wb");
    put_entry(f, "volume.tar", VOLUME_DATA, strlen(VOLUME_DATA));
    put_entry(f, "manifest.json", "{\"format\":1", 11);
    put_end(f);
    fclose(f);
    ASSERT_CORRUPT(path, "corrupt backup: manifest: ");
}
END_TEST

/* ---- PostgreSQL tool runner ---- */

static lc_err run_sh(const lc_pg *pg, const char *script, lc_diag *d)
{
    const char *argv[] = {"sh", "-c", script, NULL};
    *d = (lc_diag){""};
    return pg_run_tool(pg, argv, d);
}

START_TEST(pg_tool_status_and_last_line)
{
    lc_pg pg = {.host = "h", .port = 5432, .user = "u", .password_file = ""};
    lc_diag d;
    ck_assert_int_eq(run_sh(&pg, "echo out; echo first >&2; echo 'last line' >&2; exit 0", &d),
                     LC_OK);
    ck_assert_int_eq(run_sh(&pg, "echo first >&2; echo 'last line' >&2; echo >&2; exit 3", &d),
                     LC_EFAILED);
    ck_assert_str_eq(d.msg, "sh exited with status 3: last line");
    ck_assert_int_eq(run_sh(&pg, "echo 'sh: the error' >&2; echo 'a hint' >&2; exit 1", &d),
                     LC_EFAILED);
    ck_assert_str_eq(d.msg, "sh exited with status 1: sh: the error");
    ck_assert_int_eq(run_sh(&pg, "kill -9 $$", &d), LC_EFAILED);
    ck_assert_str_eq(d.msg, "sh killed by signal 9");
    const char *argv[] = {"instctl-no-such-tool", NULL};
    ck_assert_int_eq(pg_run_tool(&pg, argv, &d), LC_EFAILED);
    ck_assert_msg(strstr(d.msg, "cannot run it") != NULL, "%s", d.msg);
    ck_assert_int_eq(run_sh(&pg, "test -z \"$PGPASSFILE$PGPASSWORD\" || exit 1", &d), LC_OK);
}
END_TEST

START_TEST(pg_tool_passfile)
{
    const char *pw = path_of("password");
    ck_assert(tu_write_file(pw, "pa:s\\s\n"));
    setenv("PGPASSWORD", "from-the-environment", 1);
    lc_pg pg = {.host = "db:1", .port = 5433, .user = "odoo", .password_file = pw};
    lc_diag d;
    ck_assert_int_eq(run_sh(&pg, "cat \"$PGPASSFILE\" >&2; exit 1", &d), LC_EFAILED);
    ck_assert_str_eq(d.msg, "sh exited with status 1: db\\:1:5433:*:odoo:pa\\:s\\\\s");
    ck_assert_int_eq(run_sh(&pg, "stat -L -c %a \"$PGPASSFILE\" >&2; exit 1", &d), LC_EFAILED);
    ck_assert_str_eq(d.msg, "sh exited with status 1: 600");
    ck_assert_int_eq(run_sh(&pg, "test -z \"$PGPASSWORD\" || exit 1", &d), LC_OK);
    ck_assert_int_eq(run_sh(&pg, "echo \"$PGPASSFILE\" >&2; exit 1", &d), LC_EFAILED);
    /* in memory only: a descriptor of the child, never a file on disk */
    const char *passfile = d.msg + strlen("sh exited with status 1: ");
    ck_assert_msg(strncmp(passfile, "/dev/fd/", 8) == 0, "%s", passfile);
    ck_assert_int_eq(run_sh(&pg, "readlink \"$PGPASSFILE\" >&2; exit 1", &d), LC_EFAILED);
    ck_assert_msg(strstr(d.msg, "memfd:instctl-pgpass") != NULL, "%s", d.msg);
    pg.password_file = path_of("no-such-password");
    ck_assert_int_eq(run_sh(&pg, "exit 0", &d), LC_EFAILED);
    ck_assert_msg(strstr(d.msg, "no-such-password") != NULL, "%s", d.msg);
    unsetenv("PGPASSWORD");
}
END_TEST

START_TEST(pg_refuses_bad_names)
{
    lc_pg pg = {.host = "127.0.0.1", .port = 5432, .user = "u", .password_file = ""};
    lc_diag d = {""};
    ck_assert_int_eq(pg_drop_database(&pg, "-x", &d), LC_EUSAGE);
    ck_assert_int_eq(pg_drop_database(&pg, "host=evil", &d), LC_EUSAGE);
    ck_assert_int_eq(pg_dump_to(&pg, "", "/dev/null", &d), LC_EUSAGE);
    pg.port = 0;
    ck_assert_int_eq(pg_restore_from(&pg, "db", "/dev/null", &d), LC_EUSAGE);
    lc_pg none = {.host = "", .port = 0, .user = "", .password_file = ""};
    ck_assert_int_eq(pg_drop_database(&none, "db", &d), LC_OK);
    lc_backup_target t = {.pg = none};
    ck_assert_int_eq(backup_restore_database(path_of("nothing.tar"), &t, &d), LC_OK);
}
END_TEST

Suite *suite_backup(void)
{
    Suite *s = suite_create("backup");
    TCase *tc = tcase_create("manifest");
    tcase_add_test(tc, manifest_round_trip);
    tcase_add_test(tc, manifest_large_size_exact);
    tcase_add_loop_test(tc, manifest_rejects, 0,
                        (int)(sizeof bad_manifests / sizeof bad_manifests[0]));
    tcase_add_test(tc, tar_header_big_and_long);
    suite_add_tcase(s, tc);
    tc = tcase_create("verify");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_add_test(tc, verify_good_backup);
    tcase_add_test(tc, verify_corrupt_checksum);
    tcase_add_test(tc, verify_wrong_size);
    tcase_add_test(tc, verify_missing_manifest);
    tcase_add_test(tc, verify_manifest_not_last);
    tcase_add_test(tc, verify_unlisted_part);
    tcase_add_test(tc, verify_listed_part_missing);
    tcase_add_test(tc, verify_trailing_data);
    tcase_add_test(tc, verify_truncated);
    tcase_add_test(tc, verify_garbage_empty_missing);
    tcase_add_test(tc, verify_bad_manifest_json);
    suite_add_tcase(s, tc);
    tc = tcase_create("pgtools");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_add_test(tc, pg_tool_status_and_last_line);
    tcase_add_test(tc, pg_tool_passfile);
    tcase_add_test(tc, pg_refuses_bad_names);
    suite_add_tcase(s, tc);
    return s;
}
