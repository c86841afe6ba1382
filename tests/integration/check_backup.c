/*
 * Backups against the real engine (and a real PostgreSQL server): a volume
 * filled by the stand-in image (uid 101) is backed up through a helper
 * container, the file checked with sha256sum and backup_verify, restored
 * into a new volume (same files, content, owners and modes; nothing added
 * since), and corrupted (a flipped byte, truncation, a missing file). A
 * backup into a full tmpfs leaves nothing behind. With PostgreSQL: a dump
 * part, a row restored by backup_restore_database, pg_drop_database.
 * Everything is labelled with the run's store uuid and removed in the
 * unchecked teardown (in the runner process), whatever failed.
 */
#include <check.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup.h"
#include "engine.h"
#include "pgtools.h"
#include "testutil.h"

#define IMAGE "instctl/odoo-standin:17.0"
#define DATA "/var/lib/odoo"

static char store[40], instance[40], *tmp;
static tu_pg pg;

static void env_setup(void)
{
    tu_uuid(store);
    tu_uuid(instance);
    tmp = tu_tmpdir("backup-integ");
    tu_run r = tu_sh("docker image inspect " IMAGE " >/dev/null 2>&1 || scripts/build-standin.sh");
    if (r.status != 0)
        fprintf(stderr, "backup: stand-in image: %s\n", r.err);
    tu_run_free(&r);
}

static void env_teardown(void)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "docker ps -aq --filter label=%s=%s | xargs -r docker rm -f >/dev/null; "
             "docker volume ls -q --filter label=%s=%s | xargs -r docker volume rm >/dev/null; "
             "umount %s/full 2>/dev/null; rm -rf %s",
             LC_LABEL_STORE, store, LC_LABEL_STORE, store, tmp, tmp);
    tu_run r = tu_sh(cmd);
    tu_run_free(&r);
    free(tmp);
}

static void pg_setup(void)
{
    env_setup();
    if (!tu_pg_start(&pg))
        fprintf(stderr, "backup: PostgreSQL did not start\n");
}

static void pg_teardown(void)
{
    tu_pg_stop(&pg);
    env_teardown();
}

static lc_engine *open_engine(void)
{
    lc_engine *e;
    lc_diag d = {""};
    ck_assert_msg(engine_open(NULL, &e, &d) == LC_OK, "%s", d.msg);
    return e;
}

/* A labelled volume named <store 8>-<tag>, its name in out. */
static void make_volume(lc_engine *e, const char *tag, char out[64])
{
    lc_diag d = {""};
    snprintf(out, 64, "bk-%.8s-%s", store, tag);
    ck_assert_msg(engine_volume_create(e, out, store, instance, &d) == LC_OK, "%s", d.msg);
}

/* Runs script in a throwaway stand-in container (uid 101) with volume at DATA. */
static char *in_volume(const char *volume, const char *script)
{
    return tu_sh_ok("docker run --rm --network none --label %s=%s --entrypoint sh -v %s:" DATA
                    " " IMAGE " -c '%s'",
                    LC_LABEL_STORE, store, volume, script);
}

/* Files, a subdirectory, a 3 MB random file, modes, a symlink, an empty directory. */
static void fill(const char *volume)
{
    free(in_volume(volume, "cd " DATA " && echo hello > a.txt && chmod 640 a.txt && "
                           "mkdir -p sub/deeper empty && echo deep > sub/deeper/d.txt && "
                           "head -c 3000000 /dev/urandom > sub/big.bin && ln -s a.txt link"));
}

/* Every entry with owner, mode, size (or link target) and content hash, sorted. */
static char *listing(const char *volume)
{
    return in_volume(volume, "cd " DATA " && find . | sort | while read -r f; do "
                             "if [ -L \"$f\" ]; then echo \"$f -> $(readlink \"$f\")\"; "
                             "else echo \"$f $(stat -c \"%u:%g %a %F\" \"$f\") "
                             "$( [ -f \"$f\" ] && sha256sum < \"$f\" | cut -c1-64)\"; fi; done");
}

/* A new directory tmp/name for one test's backups (static buffer). */
static const char *subdir(const char *name)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tmp, name);
    ck_assert_int_eq(mkdir(path, 0700), 0);
    return path;
}

static lc_backup_target target(const char *volume)
{
    return (lc_backup_target){.instance_id = instance,
                              .image = IMAGE,
                              .volume = volume,
                              .data_path = DATA,
                              .store_uuid = store,
                              .database = "",
                              .pg = {.host = "", .port = 0, .user = "", .password_file = ""}};
}

static long long progress_bytes;
static int progress_calls;

static void on_progress(void *arg, const char *what, long long done, long long total)
{
    (void)arg;
    (void)total;
    if (strcmp(what, "volume") == 0) {
        progress_calls++;
        progress_bytes = done;
    }
}

/* Backs up t into dir; must succeed. */
static lc_backup_info backup_ok(lc_engine *e, const lc_backup_target *t, const char *dir)
{
    lc_backup_info info;
    lc_diag d = {""};
    lc_err err = backup_write(e, t, dir, on_progress, NULL, &info, &d);
    ck_assert_msg(err == LC_OK, "backup_write: %s: %s", lc_strerror(err), d.msg);
    return info;
}

/* No helper container of this run is left. */
static void assert_no_helpers(void)
{
    char *left = tu_sh_ok("docker ps -aq --filter label=%s=%s --filter label=%s=%s", LC_LABEL_STORE,
                          store, LC_LABEL_ROLE, LC_ROLE_HELPER);
    ck_assert_msg(left[0] == '\0', "helpers left: %s", left);
    free(left);
}

/* The published file: <dir>/<instance>/<UTC time>.tar alone in a 0700 directory, sha256sum's. */
static void check_file(const lc_backup_info *info, const char *dir)
{
    char want_dir[512], want[128];
    snprintf(want_dir, sizeof want_dir, "%s/%s/", dir, instance);
    ck_assert_msg(strncmp(info->path, want_dir, strlen(want_dir)) == 0, "%s", info->path);
    const char *base = info->path + strlen(want_dir);
    ck_assert_msg(strlen(base) == 20 && base[8] == 'T' && strcmp(base + 15, "Z.tar") == 0, "%s",
                  base);
    struct stat st;
    ck_assert_int_eq(stat(want_dir, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0700);
    ck_assert_int_eq(stat(info->path, &st), 0);
    ck_assert_int_eq(st.st_size, info->size);
    char *sum = tu_sh_ok("sha256sum %s | cut -c1-64", info->path);
    ck_assert_str_eq(sum, info->sha256);
    free(sum);
    ck_assert_int_eq(info->nparts, 1);
    ck_assert_str_eq(info->parts[0].name, "volume.tar");
    ck_assert_int_gt(info->parts[0].size, 3000000);
    char *names = tu_sh_ok("tar tf %s | tr '\\n' ' '; ls -A %s", info->path, want_dir);
    snprintf(want, sizeof want, "volume.tar manifest.json %s", base);
    ck_assert_str_eq(names, want);
    free(names);
    lc_backup_info v;
    lc_diag d = {""};
    ck_assert_msg(backup_verify(info->path, &v, &d) == LC_OK, "%s", d.msg);
    ck_assert_str_eq(v.sha256, info->sha256);
    ck_assert_str_eq(v.instance, instance);
}

START_TEST(backup_verify_restore)
{
    lc_engine *e = open_engine();
    char vol[64], restored[64];
    make_volume(e, "src", vol);
    fill(vol);
    char *before = listing(vol);
    ck_assert_ptr_nonnull(strstr(before, "./a.txt 101:101 640 regular file"));
    lc_backup_target t = target(vol);
    const char *dir = subdir("restore");
    lc_backup_info info = backup_ok(e, &t, dir);
    assert_no_helpers();
    ck_assert_int_gt(progress_calls, 0);
    ck_assert_int_eq(progress_bytes, info.parts[0].size);
    check_file(&info, dir);
    /* Changed after the backup: not in the restored volume. */
    free(in_volume(vol, "echo late > " DATA "/late.txt && rm " DATA "/a.txt"));
    snprintf(restored, sizeof restored, "bk-%.8s-restored", store);
    progress_calls = 0;
    lc_diag d = {""};
    lc_err err = backup_restore_volume(e, info.path, &t, restored, on_progress, NULL, &d);
    ck_assert_msg(err == LC_OK, "restore: %s: %s", lc_strerror(err), d.msg);
    ck_assert_int_gt(progress_calls, 0);
    assert_no_helpers();
    char *after = listing(restored);
    ck_assert_str_eq(after, before);
    ck_assert_ptr_null(strstr(after, "late.txt"));
    char *root = in_volume(restored, "stat -c %u:%g:%a " DATA);
    ck_assert_str_eq(root, "101:101:755");
    free(root);
    free(before);
    free(after);
    engine_close(e);
}
END_TEST

START_TEST(two_backups_two_files)
{
    lc_engine *e = open_engine();
    char vol[64];
    make_volume(e, "twice", vol);
    free(in_volume(vol, "echo one > " DATA "/one"));
    lc_backup_target t = target(vol);
    const char *dir = subdir("twice");
    lc_backup_info a = backup_ok(e, &t, dir), b = backup_ok(e, &t, dir);
    ck_assert_str_ne(a.path, b.path);
    char *n = tu_sh_ok("ls -A %s/%s | wc -l", dir, instance);
    ck_assert_str_eq(n, "2");
    free(n);
    engine_close(e);
}
END_TEST

/* Copies src to dst and changes it with a shell command ($F is the copy). */
static void damaged_copy(const char *src, const char *dst, const char *how)
{
    free(tu_sh_ok("cp %s %s && F=%s && %s", src, dst, dst, how));
}

START_TEST(corrupt_backups_refused)
{
    lc_engine *e = open_engine();
    char vol[64], path[600], restored[64];
    make_volume(e, "corrupt", vol);
    fill(vol);
    lc_backup_target t = target(vol);
    lc_backup_info info = backup_ok(e, &t, subdir("corrupt")), v;
    lc_diag d = {""};
    /* One byte inside the volume part (its content starts after the first header). */
    snprintf(path, sizeof path, "%s/flipped.tar", tmp);
    damaged_copy(info.path, path,
                 "b=$(dd if=$F bs=1 skip=2000 count=1 2>/dev/null | od -An -tu1 | tr -d ' '); "
                 "printf \"\\\\$(printf %o $(( (b + 1) % 256 )))\" | "
                 "dd of=$F bs=1 seek=2000 conv=notrunc 2>/dev/null");
    ck_assert_int_eq(backup_verify(path, &v, &d), LC_EINPUT);
    ck_assert_msg(strstr(d.msg, "volume.tar checksum mismatch") != NULL, "%s", d.msg);
    snprintf(restored, sizeof restored, "bk-%.8s-never", store);
    ck_assert_int_eq(backup_restore_volume(e, path, &t, restored, NULL, NULL, &d), LC_EINPUT);
    bool exists = true;
    ck_assert_int_eq(engine_volume_exists(e, restored, &exists, &d), LC_OK);
    ck_assert_msg(!exists, "restore of a corrupt backup created the volume");
    snprintf(path, sizeof path, "%s/short.tar", tmp);
    damaged_copy(info.path, path, "truncate -s -1000 $F");
    ck_assert_int_eq(backup_verify(path, &v, &d), LC_EINPUT);
    ck_assert_msg(strstr(d.msg, "truncated") != NULL, "%s", d.msg);
    snprintf(path, sizeof path, "%s/missing.tar", tmp);
    ck_assert_int_eq(backup_verify(path, &v, &d), LC_ENOTFOUND);
    ck_assert_int_eq(backup_restore_volume(e, path, &t, restored, NULL, NULL, &d), LC_ENOTFOUND);
    engine_close(e);
}
END_TEST

START_TEST(full_disk_leaves_nothing)
{
    lc_engine *e = open_engine();
    char vol[64], full[512], idir[600];
    make_volume(e, "full", vol);
    fill(vol);
    snprintf(full, sizeof full, "%s/full", tmp);
    ck_assert_int_eq(mkdir(full, 0700), 0);
    ck_assert_msg(mount("tmpfs", full, "tmpfs", 0, "size=64k") == 0, "mount tmpfs: %m");
    lc_backup_target t = target(vol);
    lc_backup_info info;
    lc_diag d = {""};
    ck_assert_int_eq(backup_write(e, &t, full, NULL, NULL, &info, &d), LC_EFAILED);
    ck_assert_msg(strstr(d.msg, "backup: ") == d.msg &&
                      strstr(d.msg, ": No space left on device") != NULL,
                  "%s", d.msg);
    char *left = tu_sh_ok("ls -A %s", full);
    ck_assert_msg(left[0] == '\0', "left behind: %s", left);
    free(left);
    /* An instance directory that existed stays, empty. */
    snprintf(idir, sizeof idir, "%s/%s", full, instance);
    ck_assert_int_eq(mkdir(idir, 0700), 0);
    ck_assert_int_eq(backup_write(e, &t, full, NULL, NULL, &info, &d), LC_EFAILED);
    left = tu_sh_ok("ls -A %s; ls -A %s", full, idir);
    ck_assert_str_eq(left, instance);
    free(left);
    assert_no_helpers();
    umount(full);
    engine_close(e);
}
END_TEST

START_TEST(missing_volume_or_image)
{
    lc_engine *e = open_engine();
    char vol[64];
    snprintf(vol, sizeof vol, "bk-%.8s-absent", store);
    lc_backup_target t = target(vol);
    lc_backup_info info;
    lc_diag d = {""};
    const char *dir = subdir("missing");
    ck_assert_int_eq(backup_write(e, &t, dir, NULL, NULL, &info, &d), LC_EFAILED);
    ck_assert_msg(strstr(d.msg, "not found") != NULL, "%s", d.msg);
    bool exists = true;
    ck_assert_int_eq(engine_volume_exists(e, vol, &exists, &d), LC_OK);
    ck_assert(!exists);
    make_volume(e, "noimage", vol);
    t = target(vol);
    t.image = "instctl/no-such-image:0";
    ck_assert_int_eq(backup_write(e, &t, dir, NULL, NULL, &info, &d), LC_EDOCKER);
    char *left = tu_sh_ok("ls -A %s", dir);
    ck_assert_msg(left[0] == '\0', "left behind: %s", left);
    free(left);
    engine_close(e);
}
END_TEST

START_TEST(container_rename)
{
    lc_engine *e = open_engine();
    char id[65], name[64], renamed[64];
    snprintf(name, sizeof name, "bk-%.8s-before", store);
    snprintf(renamed, sizeof renamed, "bk-%.8s-after", store);
    lc_container_spec s = {.name = name,
                           .image = IMAGE,
                           .store_uuid = store,
                           .instance_id = instance,
                           .network = "none",
                           .role = LC_ROLE_HELPER};
    lc_diag d = {""};
    ck_assert_msg(engine_container_create(e, &s, id, &d) == LC_OK, "%s", d.msg);
    ck_assert_msg(engine_container_rename(e, id, renamed, &d) == LC_OK, "%s", d.msg);
    lc_observation o;
    ck_assert_int_eq(engine_container_inspect(e, id, &o, &d), LC_OK);
    ck_assert_str_eq(o.name, renamed);
    char *role =
        tu_sh_ok("docker inspect -f '{{index .Config.Labels \"%s\"}}' %s", LC_LABEL_ROLE, id);
    ck_assert_str_eq(role, LC_ROLE_HELPER);
    free(role);
    ck_assert_int_eq(engine_container_rename(e, "bk-no-such-container", "x", &d), LC_ENOTFOUND);
    engine_close(e);
}
END_TEST

/* ---- with PostgreSQL ---- */

static char *query(const char *db, const char *sql)
{
    char *out = tu_pg_query(&pg, db, sql);
    ck_assert_msg(out != NULL, "query failed: %s", sql);
    return out;
}

START_TEST(database_dump_restore_drop)
{
    ck_assert_msg(pg.running, "PostgreSQL is not running (see stderr)");
    lc_engine *e = open_engine();
    char vol[64], sql[512];
    make_volume(e, "pg", vol);
    free(in_volume(vol, "echo data > " DATA "/f"));
    const char *db = "instctl_bk";
    snprintf(sql, sizeof sql, "CREATE DATABASE %s OWNER %s", db, pg.user);
    free(query("postgres", sql));
    snprintf(sql, sizeof sql,
             "SET ROLE %s; CREATE TABLE t (v text); INSERT INTO t VALUES ('before')", pg.user);
    free(query(db, sql));
    lc_backup_target t = target(vol);
    t.database = db;
    t.pg = (lc_pg){
        .host = "127.0.0.1", .port = pg.port, .user = pg.user, .password_file = pg.password_file};
    lc_backup_info info = backup_ok(e, &t, subdir("pg"));
    ck_assert_int_eq(info.nparts, 2);
    ck_assert_str_eq(info.parts[1].name, "database.dump");
    ck_assert_int_gt(info.parts[1].size, 0);
    char *names = tu_sh_ok("tar tf %s | tr '\\n' ' '", info.path);
    ck_assert_str_eq(names, "volume.tar database.dump manifest.json");
    free(names);
    free(query(db, "UPDATE t SET v = 'after'"));
    /* restore loads into a new database, never the live one */
    lc_diag d = {""};
    const char *fresh = "instctl_bk_new";
    ck_assert_msg(pg_create_database(&t.pg, fresh, &d) == LC_OK, "%s", d.msg);
    t.database = fresh;
    lc_err err = backup_restore_database(info.path, &t, &d);
    ck_assert_msg(err == LC_OK, "restore: %s: %s", lc_strerror(err), d.msg);
    char *v = query(fresh, "SELECT v FROM t");
    ck_assert_str_eq(v, "before");
    free(v);
    v = query(db, "SELECT v FROM t");
    ck_assert_str_eq(v, "after");
    free(v);
    ck_assert_msg(pg_drop_database(&t.pg, fresh, &d) == LC_OK, "%s", d.msg);
    t.database = db;
    ck_assert_msg(pg_drop_database(&t.pg, db, &d) == LC_OK, "%s", d.msg);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM pg_database WHERE datname = '%s'", db);
    v = query("postgres", sql);
    ck_assert_str_eq(v, "0");
    free(v);
    ck_assert_msg(pg_drop_database(&t.pg, db, &d) == LC_OK, "again: %s", d.msg);
    engine_close(e);
}
END_TEST

START_TEST(database_errors_named)
{
    ck_assert_msg(pg.running, "PostgreSQL is not running (see stderr)");
    lc_engine *e = open_engine();
    char vol[64], wrong[600];
    make_volume(e, "pgerr", vol);
    snprintf(wrong, sizeof wrong, "%s/wrong-password", tmp);
    ck_assert(tu_write_file(wrong, "not-the-password\n"));
    lc_backup_target t = target(vol);
    t.database = "postgres";
    t.pg = (lc_pg){.host = "127.0.0.1", .port = pg.port, .user = pg.user, .password_file = wrong};
    lc_backup_info info;
    lc_diag d = {""};
    const char *dir = subdir("pgerr");
    ck_assert_int_eq(backup_write(e, &t, dir, NULL, NULL, &info, &d), LC_EFAILED);
    ck_assert_msg(strstr(d.msg, "pg_dump exited with status 1") != NULL &&
                      strstr(d.msg, "password authentication failed") != NULL,
                  "%s", d.msg);
    char *left = tu_sh_ok("ls -A %s", dir);
    ck_assert_msg(left[0] == '\0', "left behind: %s", left);
    free(left);
    assert_no_helpers();
    t.database = "no_such_db";
    t.pg.password_file = pg.password_file;
    ck_assert_int_eq(backup_write(e, &t, dir, NULL, NULL, &info, &d), LC_EFAILED);
    ck_assert_msg(strstr(d.msg, "no_such_db") != NULL, "%s", d.msg);
    engine_close(e);
}
END_TEST

Suite *suite_backup_integration(void)
{
    Suite *s = suite_create("backup_integration");
    TCase *tc = tcase_create("volume");
    tcase_add_unchecked_fixture(tc, env_setup, env_teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, backup_verify_restore);
    tcase_add_test(tc, two_backups_two_files);
    tcase_add_test(tc, corrupt_backups_refused);
    tcase_add_test(tc, full_disk_leaves_nothing);
    tcase_add_test(tc, missing_volume_or_image);
    tcase_add_test(tc, container_rename);
    suite_add_tcase(s, tc);
    tc = tcase_create("database");
    tcase_add_unchecked_fixture(tc, pg_setup, pg_teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, database_dump_restore_drop);
    tcase_add_test(tc, database_errors_named);
    suite_add_tcase(s, tc);
    return s;
}
