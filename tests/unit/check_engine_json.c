/*
 * The engine client's pure parts on bodies captured from a real engine
 * (Docker 20.10, API 1.41; tests/fixtures/engine-*.json): container inspect
 * in every state we could produce, the label-filtered list, error bodies,
 * Docker's timestamps, and the ustar archives of the archive endpoint.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "tar.h"
#include "testutil.h"

/* 2026-11-29T11:39:57Z, 11:39:58Z and 11:40:15Z: the fixtures' start times. */
#define T_1139_57 ((time_t)1795952397)
#define T_1140_15 ((time_t)1795952415)

static lc_observation inspect_fixture(const char *name)
{
    size_t len;
    char *json = tu_fixture(name, &len);
    ck_assert_msg(json != NULL, "fixture %s missing (run from the repository root)", name);
    lc_observation o;
    lc_diag d = {""};
    ck_assert_int_eq(engine_parse_inspect(json, len, &o, &d), LC_OK);
    free(json);
    return o;
}

START_TEST(inspect_running)
{
    lc_observation o = inspect_fixture("engine-inspect-running.json");
    ck_assert_int_eq(o.state, CONTAINER_RUNNING);
    ck_assert_str_eq(o.state_raw, "running");
    ck_assert_int_eq(o.exit_code, 0);
    ck_assert(!o.oom_killed);
    ck_assert_str_eq(o.error, "");
    ck_assert_str_eq(o.health, "healthy");
    ck_assert_int_eq(o.started_at, T_1139_57);
    ck_assert_int_eq(o.finished_at, 0);
    ck_assert_int_eq(o.restart_count, 0);
    ck_assert_str_eq(o.id, "fb8b40d69fe69ca9a1652b1ebc6a01c07e45e2bba8307f70894594774db4d7b9");
    ck_assert_str_eq(o.name, "odoo_fixrun_24a3ca24");
    ck_assert_str_eq(o.ip, "172.17.0.2");
    ck_assert_str_eq(o.instance, "24a3ca24-4ad9-4bff-8080-90b5d1410434");
}
END_TEST

START_TEST(inspect_exited)
{
    lc_observation o = inspect_fixture("engine-inspect-exited.json");
    ck_assert_int_eq(o.state, CONTAINER_EXITED);
    ck_assert_str_eq(o.state_raw, "exited");
    ck_assert_int_eq(o.exit_code, 3);
    ck_assert(!o.oom_killed);
    ck_assert_str_eq(o.error, "");
    ck_assert_str_eq(o.health, "");
    ck_assert_int_eq(o.started_at, T_1139_57);
    ck_assert_int_eq(o.finished_at, T_1139_57);
    ck_assert_str_eq(o.id, "0f4b313145b3a64e4cc211382ac877bed41d87824e54203e97f963a89cf22fec");
    ck_assert_str_eq(o.name, "odoo_fixexit_c3088699");
    ck_assert_str_eq(o.ip, "");
    ck_assert_str_eq(o.instance, "c3088699-dfa4-46e1-b169-239e5bec2a14");
}
END_TEST

START_TEST(inspect_paused)
{
    lc_observation o = inspect_fixture("engine-inspect-paused.json");
    ck_assert_int_eq(o.state, CONTAINER_PAUSED);
    ck_assert_str_eq(o.state_raw, "paused");
    ck_assert_int_eq(o.exit_code, 0);
    ck_assert_int_eq(o.started_at, T_1139_57);
    ck_assert_int_eq(o.finished_at, 0);
    ck_assert_str_eq(o.health, "");
    ck_assert_str_eq(o.name, "odoo_fixpause_4411c7fe");
    ck_assert_str_eq(o.ip, "172.17.0.4");
    ck_assert_str_eq(o.instance, "4411c7fe-86f1-4cac-937e-dffc2d3818b6");
}
END_TEST

START_TEST(inspect_created_never_started)
{
    lc_observation o = inspect_fixture("engine-inspect-created.json");
    ck_assert_int_eq(o.state, CONTAINER_CREATED);
    ck_assert_str_eq(o.state_raw, "created");
    ck_assert_int_eq(o.exit_code, 0);
    ck_assert_int_eq(o.started_at, 0);
    ck_assert_int_eq(o.finished_at, 0);
    ck_assert_str_eq(o.name, "odoo_fixcreated_0cf12b91");
    ck_assert_str_eq(o.ip, "");
    ck_assert_str_eq(o.instance, "0cf12b91-5dbb-4f5f-8163-d9cc2d36c5f2");
}
END_TEST

START_TEST(inspect_oom_killed)
{
    lc_observation o = inspect_fixture("engine-inspect-oomkilled.json");
    ck_assert_int_eq(o.state, CONTAINER_EXITED);
    ck_assert(o.oom_killed);
    ck_assert_int_eq(o.exit_code, 137);
    ck_assert_int_eq(o.started_at, T_1140_15);
    /* FinishedAt "…15.85350703Z": Docker drops trailing zeros, 8 digits here. */
    ck_assert_int_eq(o.finished_at, T_1140_15);
    ck_assert_str_eq(o.name, "odoo_fixoom_34076cb9");
}
END_TEST

START_TEST(inspect_start_error)
{
    lc_observation o = inspect_fixture("engine-inspect-start-error.json");
    ck_assert_int_eq(o.state, CONTAINER_CREATED);
    ck_assert_int_eq(o.exit_code, 127);
    ck_assert(!o.oom_killed);
    ck_assert_msg(strncmp(o.error, "failed to create shim task: OCI runtime create failed", 53) ==
                      0,
                  "error: %s", o.error);
    ck_assert(strstr(o.error, "\"/nonexistent\"") != NULL);
    ck_assert_int_eq(o.started_at, 0);
    ck_assert_str_eq(o.instance, "b6ef0ada-676d-48e7-a736-80daf3f9de02");
}
END_TEST

static lc_err parse_inspect_text(const char *json, lc_observation *o)
{
    lc_diag d = {""};
    lc_err err = engine_parse_inspect(json, strlen(json), o, &d);
    if (err != LC_OK)
        ck_assert_msg(d.msg[0] != '\0', "no diagnostic for %s", json);
    return err;
}

START_TEST(inspect_unknown_state_word)
{
    lc_observation o;
    ck_assert_int_eq(
        parse_inspect_text("{\"Id\":\"abc\",\"State\":{\"Status\":\"hibernating\"}}", &o), LC_OK);
    ck_assert_int_eq(o.state, CONTAINER_UNKNOWN);
    ck_assert_str_eq(o.state_raw, "hibernating");
    ck_assert_str_eq(o.id, "abc");
    ck_assert_str_eq(o.name, "");
    ck_assert_str_eq(o.instance, "");
    ck_assert_int_eq(o.started_at, 0);
}
END_TEST

START_TEST(inspect_state_from_status_not_running_flag)
{
    lc_observation o;
    const char *json = "{\"Id\":\"a\",\"State\":{\"Status\":\"restarting\",\"Running\":true,"
                       "\"Restarting\":true,\"ExitCode\":1},\"RestartCount\":6}";
    ck_assert_int_eq(parse_inspect_text(json, &o), LC_OK);
    ck_assert_int_eq(o.state, CONTAINER_RESTARTING);
    ck_assert_int_eq(o.restart_count, 6);
    ck_assert_int_eq(o.exit_code, 1);
}
END_TEST

START_TEST(inspect_malformed)
{
    static const char *const bad[] = {
        "",
        "null",
        "[]",
        "\"text\"",
        "{",
        "{\"Id\":\"a\"}",
        "{\"State\":{\"Status\":\"running\"}}",
        "{\"Id\":\"a\",\"State\":{}}",
        "{\"Id\":\"a\",\"State\":\"running\"}",
        "{\"Id\":\"a\",\"State\":{\"Status\":\"running\",\"StartedAt\":\"yesterday\"}}",
        "{\"Id\":\"a\",\"State\":{\"Status\":\"exited\",\"FinishedAt\":\"2026-11-29\"}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lc_observation o;
        ck_assert_msg(parse_inspect_text(bad[i], &o) == LC_EINPUT, "accepted: %s", bad[i]);
    }
}
END_TEST

START_TEST(inspect_cut_off_and_error_bodies)
{
    size_t len;
    char *json = tu_fixture("engine-inspect-running.json", &len);
    lc_observation o;
    lc_diag d = {""};
    ck_assert_int_eq(engine_parse_inspect(json, len / 2, &o, &d), LC_EINPUT);
    ck_assert_int_eq(engine_parse_inspect(json, len - 3, &o, &d), LC_EINPUT);
    free(json);
    json = tu_fixture("engine-error-404.json", &len);
    ck_assert_int_eq(engine_parse_inspect(json, len, &o, &d), LC_EINPUT);
    free(json);
}
END_TEST

static const lc_container_summary *find(const lc_container_summary *l, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(l[i].name, name) == 0)
            return &l[i];
    ck_abort_msg("%s not in the list", name);
    return NULL;
}

START_TEST(list_fixture)
{
    size_t len, n;
    char *json = tu_fixture("engine-list.json", &len);
    lc_container_summary *l;
    lc_diag d = {""};
    ck_assert_int_eq(engine_parse_list(json, len, &l, &n, &d), LC_OK);
    free(json);
    ck_assert_uint_eq(n, 7);
    for (size_t i = 0; i < n; i++) {
        ck_assert_uint_eq(strlen(l[i].id), 64);
        ck_assert(strncmp(l[i].name, "odoo_fix", 8) == 0);
        ck_assert_uint_eq(strlen(l[i].instance), 36);
        ck_assert(strncmp(l[i].name + strlen(l[i].name) - 8, l[i].instance, 8) == 0);
    }
    const lc_container_summary *c = find(l, n, "odoo_fixrun_24a3ca24");
    ck_assert_str_eq(c->id, "fb8b40d69fe69ca9a1652b1ebc6a01c07e45e2bba8307f70894594774db4d7b9");
    ck_assert_str_eq(c->instance, "24a3ca24-4ad9-4bff-8080-90b5d1410434");
    ck_assert_int_eq(c->state, CONTAINER_RUNNING);
    ck_assert_str_eq(c->state_raw, "running");
    c = find(l, n, "odoo_fixexit_c3088699");
    ck_assert_int_eq(c->state, CONTAINER_EXITED);
    ck_assert_str_eq(c->instance, "c3088699-dfa4-46e1-b169-239e5bec2a14");
    ck_assert_int_eq(find(l, n, "odoo_fixpause_4411c7fe")->state, CONTAINER_PAUSED);
    ck_assert_int_eq(find(l, n, "odoo_fixcreated_0cf12b91")->state, CONTAINER_CREATED);
    ck_assert_int_eq(find(l, n, "odoo_fixstarterr_b6ef0ada")->state, CONTAINER_CREATED);
    ck_assert_int_eq(find(l, n, "odoo_fixoom_34076cb9")->state, CONTAINER_EXITED);
    ck_assert_int_eq(find(l, n, "odoo_fixerr_010138e8")->state, CONTAINER_EXITED);
    free(l);
}
END_TEST

START_TEST(list_empty)
{
    size_t len, n = 99;
    char *json = tu_fixture("engine-list-empty.json", &len);
    lc_container_summary *l = (lc_container_summary *)&n;
    lc_diag d = {""};
    ck_assert_int_eq(engine_parse_list(json, len, &l, &n, &d), LC_OK);
    ck_assert_uint_eq(n, 0);
    ck_assert_ptr_null(l);
    free(json);
}
END_TEST

START_TEST(list_missing_optional_fields)
{
    const char *json = "[{\"Id\":\"abc\",\"Names\":null,\"Labels\":null,\"State\":\"dead\"}]";
    lc_container_summary *l;
    size_t n;
    lc_diag d = {""};
    ck_assert_int_eq(engine_parse_list(json, strlen(json), &l, &n, &d), LC_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(l[0].name, "");
    ck_assert_str_eq(l[0].instance, "");
    ck_assert_int_eq(l[0].state, CONTAINER_DEAD);
    free(l);
}
END_TEST

START_TEST(list_malformed)
{
    static const char *const bad[] = {
        "", "{}", "[", "null", "[1]", "[{\"Names\":[\"/x\"]}]", "[{\"Id\":\"a\"},\"b\"]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lc_container_summary *l = NULL;
        size_t n = 5;
        lc_diag d = {""};
        ck_assert_msg(engine_parse_list(bad[i], strlen(bad[i]), &l, &n, &d) == LC_EINPUT,
                      "accepted: %s", bad[i]);
        ck_assert_ptr_null(l);
        ck_assert_uint_eq(n, 0);
        ck_assert(d.msg[0] != '\0');
    }
}
END_TEST

START_TEST(list_cut_off)
{
    size_t len, n;
    char *json = tu_fixture("engine-list.json", &len);
    lc_container_summary *l;
    lc_diag d = {""};
    for (size_t cut = 1; cut < len - 1; cut += 97)
        ck_assert_int_eq(engine_parse_list(json, cut, &l, &n, &d), LC_EINPUT);
    ck_assert_int_eq(engine_parse_list(json, len - 2, &l, &n, &d), LC_EINPUT);
    free(json);
}
END_TEST

START_TEST(message_bodies)
{
    char msg[256];
    size_t len;
    char *json = tu_fixture("engine-error-404.json", &len);
    engine_parse_message(json, len, msg, sizeof msg);
    ck_assert_str_eq(msg, "No such container: odoo_nosuch");
    engine_parse_message(json, len, msg, 8);
    ck_assert_str_eq(msg, "No such");
    free(json);
    json = tu_fixture("engine-error-400.json", &len);
    engine_parse_message(json, len, msg, sizeof msg);
    ck_assert_str_eq(msg, "failed to create shim task: OCI runtime create failed: runc create "
                          "failed: unable to start container process: exec: \"/nonexistent\": "
                          "stat /nonexistent: no such file or directory: unknown");
    free(json);
    static const char *const none[] = {
        "", "{}", "not json", "{\"message\":42}", "[\"message\"]", "{\"msg\":\"x\"}"};
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++) {
        strcpy(msg, "stale");
        engine_parse_message(none[i], strlen(none[i]), msg, sizeof msg);
        ck_assert_msg(msg[0] == '\0', "message from %s", none[i]);
    }
}
END_TEST

static time_t parse_ok(const char *s)
{
    time_t t = 12345;
    ck_assert_msg(lc_parse_docker_time(s, &t), "rejected %s", s);
    return t;
}

START_TEST(time_zero_is_never)
{
    ck_assert_int_eq(parse_ok("0001-01-01T00:00:00Z"), 0);
    ck_assert_int_eq(parse_ok("0001-01-01T00:00:00.000000000Z"), 0);
    ck_assert_int_eq(parse_ok("1970-01-01T00:00:00Z"), 0);
    ck_assert_int_eq(parse_ok("1969-12-31T23:59:59Z"), -1);
}
END_TEST

START_TEST(time_fraction_digits)
{
    char s[64];
    int k = _i;
    snprintf(s, sizeof s, "2026-11-29T11:39:57%s%.*sZ", k > 0 ? "." : "", k, "987654321");
    ck_assert_int_eq(parse_ok(s), T_1139_57);
}
END_TEST

START_TEST(time_offsets)
{
    ck_assert_int_eq(parse_ok("2026-11-29T13:39:57+02:00"), T_1139_57);
    ck_assert_int_eq(parse_ok("2026-11-29T13:39:57.5+02:00"), T_1139_57);
    ck_assert_int_eq(parse_ok("2026-11-29T06:09:57-05:30"), T_1139_57);
    ck_assert_int_eq(parse_ok("2026-11-29T11:39:57+00:00"), T_1139_57);
    ck_assert_int_eq(parse_ok("2026-11-30T01:39:57.123+14:00"), T_1139_57);
    ck_assert_int_eq(parse_ok("2026-11-29t11:39:57z"), T_1139_57);
}
END_TEST

START_TEST(time_calendar)
{
    ck_assert_int_eq(parse_ok("2024-02-29T00:00:00Z"), 1709164800);
    ck_assert_int_eq(parse_ok("2000-02-29T00:00:00Z"), 951782400);
    ck_assert_int_eq(parse_ok("2026-12-31T23:59:59Z"), 1798761599);
}
END_TEST

START_TEST(time_malformed)
{
    static const char *const bad[] = {
        "",
        "yesterday",
        "2026-11-29",
        "2026-11-29T11:39:57",
        "2026-11-29 11:39:57Z",
        "2026-11-29T11:39Z",
        "2026-11-29T11:39:57.Z",
        "2026-11-29T11:39:57.1234567890Z",
        "2026-11-29T11:39:57,5Z",
        "2026-11-29T11:39:57ZZ",
        "2026-11-29T11:39:57Z ",
        " 2026-11-29T11:39:57Z",
        "2026-11-29T11:39:57+0200",
        "2026-11-29T11:39:57+02",
        "2026-11-29T11:39:57+24:00",
        "2026-11-29T11:39:57+02:60",
        "2026-11-29T11:39:57UTC",
        "26-11-29T11:39:57Z",
        "2026-1-29T11:39:57Z",
        "2026-00-29T11:39:57Z",
        "2026-13-29T11:39:57Z",
        "2026-11-00T11:39:57Z",
        "2026-11-31T11:39:57Z",
        "2026-02-29T00:00:00Z",
        "2100-02-29T00:00:00Z",
        "2026-11-29T24:00:00Z",
        "2026-11-29T11:60:00Z",
        "2026-11-29T11:39:60Z",
        "2026-11-29T-1:39:57Z",
        "2026-11-29T11:39:5aZ",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        time_t t;
        ck_assert_msg(!lc_parse_docker_time(bad[i], &t), "accepted \"%s\"", bad[i]);
    }
    time_t t;
    ck_assert(!lc_parse_docker_time(NULL, &t));
}
END_TEST

START_TEST(time_format)
{
    char buf[32];
    lc_format_time(T_1139_57, buf, sizeof buf);
    ck_assert_str_eq(buf, "2026-11-29T11:39:57Z");
    ck_assert_int_eq(parse_ok(buf), T_1139_57);
    lc_format_time(0, buf, sizeof buf);
    ck_assert_str_eq(buf, "");
    lc_format_time(T_1139_57, buf, 21);
    ck_assert_str_eq(buf, "2026-11-29T11:39:57Z");
    lc_format_time(T_1139_57, buf, 20);
    ck_assert_str_eq(buf, "");
    lc_format_time(951782400, buf, sizeof buf);
    ck_assert_str_eq(buf, "2000-02-29T00:00:00Z");
}
END_TEST

static unsigned long octal_field(const unsigned char *f, size_t w)
{
    char tmp[16] = "";
    memcpy(tmp, f, w);
    return strtoul(tmp, NULL, 8);
}

START_TEST(tar_build_and_read)
{
    unsigned char *ar;
    size_t len;
    const char secret[] = "s3cret\n";
    ck_assert(tar_build_file("/run/instctl", "pg_password", secret, 7, 0400, 101, 102, &ar, &len));
    ck_assert_uint_eq(len, 5 * 512);
    ck_assert_str_eq((char *)ar, "run/instctl/");
    ck_assert_int_eq(ar[156], '5');
    ck_assert_uint_eq(octal_field(ar + 100, 8), 0700);
    ck_assert_str_eq((char *)ar + 512, "run/instctl/pg_password");
    ck_assert_int_eq(ar[512 + 156], '0');
    ck_assert_uint_eq(octal_field(ar + 512 + 100, 8), 0400);
    ck_assert_uint_eq(octal_field(ar + 512 + 108, 8), 101);
    ck_assert_uint_eq(octal_field(ar + 512 + 116, 8), 102);
    ck_assert_uint_eq(octal_field(ar + 512 + 124, 12), 7);
    ck_assert_str_eq((char *)ar + 512 + 257, "ustar");
    const unsigned char *data;
    size_t n;
    ck_assert_int_eq(tar_first_file(ar, len, &data, &n), 1);
    ck_assert_uint_eq(n, 7);
    ck_assert(memcmp(data, secret, 7) == 0);
    ck_assert_int_eq(tar_first_file(ar, 512, &data, &n), -1);
    ck_assert_int_eq(tar_first_file(ar, 1024 + 3, &data, &n), -1);
    ck_assert_int_eq(tar_first_file(ar, 1024 + 100, &data, &n), 1);
    ar[512 + 10] ^= 1;
    ck_assert_int_eq(tar_first_file(ar, len, &data, &n), -1);
    free(ar);
}
END_TEST

START_TEST(tar_system_tar_agrees)
{
    unsigned char *ar;
    size_t len;
    char *dir = tu_tmpdir("tar"), path[512], cmd[1200];
    ck_assert(tar_build_file("/run/instctl", "secret", "abc", 3, 0440, 1000, 1001, &ar, &len));
    snprintf(path, sizeof path, "%s/a.tar", dir);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    size_t written = fwrite(ar, 1, len, f);
    ck_assert(fclose(f) == 0 && written == len);
    free(ar);
    snprintf(cmd, sizeof cmd, "tar --numeric-owner -tvf %s && tar -xOf %s run/instctl/secret", path,
             path);
    tu_run r = tu_sh(cmd);
    ck_assert_msg(r.status == 0, "tar: %s", r.err);
    ck_assert_msg(strstr(r.out, "drwx------ 1000/1001") != NULL, "%s", r.out);
    ck_assert_msg(strstr(r.out, "-r--r----- 1000/1001") != NULL, "%s", r.out);
    ck_assert(strstr(r.out, "run/instctl/secret") != NULL);
    ck_assert_msg(strstr(r.out, "\nabc") != NULL, "%s", r.out);
    tu_run_free(&r);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    r = tu_sh(cmd);
    tu_run_free(&r);
    free(dir);
}
END_TEST

static unsigned char *read_all(const char *dir, const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    unsigned char *ar = malloc(1 << 20);
    *len = fread(ar, 1, 1 << 20, f);
    fclose(f);
    return ar;
}

START_TEST(tar_reads_gnu_tar_and_skips_entries)
{
    char *dir = tu_tmpdir("tar"), cmd[1200];
    snprintf(cmd, sizeof cmd,
             "cd %s && mkdir -p d/%0120d && printf hello > d/%0120d/f && ln -s f d/link && "
             "tar --format=pax -cf pax.tar d && tar --format=gnu -cf gnu.tar d/link d/%0120d "
             "&& tar --format=gnu -cf empty.tar d/link",
             dir, 0, 0, 0);
    tu_run r = tu_sh(cmd);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tu_run_free(&r);
    static const char *const names[] = {"pax.tar", "gnu.tar", "empty.tar"};
    for (int i = 0; i < 3; i++) {
        size_t len, n = 0;
        const unsigned char *data;
        unsigned char *ar = read_all(dir, names[i], &len);
        ck_assert_int_eq(tar_first_file(ar, len, &data, &n), i < 2 ? 1 : 0);
        ck_assert_uint_eq(n, i < 2 ? 5 : 0);
        ck_assert(i == 2 || memcmp(data, "hello", 5) == 0);
        free(ar);
    }
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    r = tu_sh(cmd);
    tu_run_free(&r);
    free(dir);
}
END_TEST

START_TEST(tar_long_paths)
{
    char dir[300], name[120];
    unsigned char *ar;
    size_t len;
    snprintf(dir, sizeof dir, "/%070d/%079d", 0, 0);
    memset(name, 'n', 99);
    name[99] = '\0';
    ck_assert(tar_build_file(dir, name, "x", 1, 0600, 0, 0, &ar, &len));
    ck_assert_uint_eq(strlen((char *)ar + 345), 70);
    ck_assert_uint_eq(strlen((char *)ar + 512 + 345), 150);
    const unsigned char *data;
    size_t n;
    ck_assert_int_eq(tar_first_file(ar, len, &data, &n), 1);
    ck_assert_int_eq(data[0], 'x');
    free(ar);
    memset(name, 'n', 101);
    name[101] = '\0';
    ck_assert(!tar_build_file(dir, name, "x", 1, 0600, 0, 0, &ar, &len));
    snprintf(dir, sizeof dir, "/%0149d", 0);
    ck_assert(!tar_build_file(dir, "f", "x", 1, 0600, 0, 0, &ar, &len));
    ck_assert(!tar_build_file("/run", "", "x", 1, 0600, 0, 0, &ar, &len));
    ck_assert(!tar_build_file("/run", "f", "x", 1, 0600, 1u << 21, 0, &ar, &len));
}
END_TEST

Suite *suite_engine_json(void)
{
    Suite *s = suite_create("engine_json");
    TCase *tc = tcase_create("inspect");
    tcase_add_test(tc, inspect_running);
    tcase_add_test(tc, inspect_exited);
    tcase_add_test(tc, inspect_paused);
    tcase_add_test(tc, inspect_created_never_started);
    tcase_add_test(tc, inspect_oom_killed);
    tcase_add_test(tc, inspect_start_error);
    tcase_add_test(tc, inspect_unknown_state_word);
    tcase_add_test(tc, inspect_state_from_status_not_running_flag);
    tcase_add_test(tc, inspect_malformed);
    tcase_add_test(tc, inspect_cut_off_and_error_bodies);
    suite_add_tcase(s, tc);
    tc = tcase_create("list");
    tcase_add_test(tc, list_fixture);
    tcase_add_test(tc, list_empty);
    tcase_add_test(tc, list_missing_optional_fields);
    tcase_add_test(tc, list_malformed);
    tcase_add_test(tc, list_cut_off);
    tcase_add_test(tc, message_bodies);
    suite_add_tcase(s, tc);
    tc = tcase_create("time");
    tcase_add_test(tc, time_zero_is_never);
    tcase_add_loop_test(tc, time_fraction_digits, 0, 10);
    tcase_add_test(tc, time_offsets);
    tcase_add_test(tc, time_calendar);
    tcase_add_test(tc, time_malformed);
    tcase_add_test(tc, time_format);
    suite_add_tcase(s, tc);
    tc = tcase_create("tar");
    tcase_add_test(tc, tar_build_and_read);
    tcase_add_test(tc, tar_system_tar_agrees);
    tcase_add_test(tc, tar_reads_gnu_tar_and_skips_entries);
    tcase_add_test(tc, tar_long_paths);
    suite_add_tcase(s, tc);
    return s;
}
