/*
 * The JSON value splitter behind the streamed container list and the
 * /events stream (issue 12): the same containers whatever the chunking,
 * strings that hold brackets and escaped quotes, malformed and cut-off
 * bodies, and engine events as Docker 20.10 sends them.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "testutil.h"

/* Feeds body to a list builder in chunks of `chunk` bytes. */
static lc_err list_chunked(const char *body, size_t len, size_t chunk, lc_container_summary **out,
                           size_t *n)
{
    lc_list_builder b;
    lc_diag d = {""};
    engine_list_builder_init(&b);
    for (size_t i = 0; i < len; i += chunk) {
        size_t k = len - i < chunk ? len - i : chunk;
        if (!engine_list_builder_feed(&b, body + i, k))
            break;
    }
    return engine_list_builder_end(&b, out, n, &d);
}

static const size_t chunks[] = {1, 2, 3, 7, 64, 1000, 4096, 1u << 20};

START_TEST(list_any_chunking)
{
    size_t len, n0, n;
    char *json = tu_fixture("engine-list.json", &len);
    lc_container_summary *whole, *l;
    lc_diag d = {""};
    ck_assert_int_eq(engine_parse_list(json, len, &whole, &n0, &d), LC_OK);
    ck_assert_uint_eq(n0, 7);
    ck_assert_int_eq(list_chunked(json, len, chunks[_i], &l, &n), LC_OK);
    ck_assert_uint_eq(n, n0);
    for (size_t i = 0; i < n; i++) {
        ck_assert_str_eq(l[i].id, whole[i].id);
        ck_assert_str_eq(l[i].name, whole[i].name);
        ck_assert_str_eq(l[i].instance, whole[i].instance);
        ck_assert_int_eq(l[i].state, whole[i].state);
    }
    free(l);
    free(whole);
    free(json);
}
END_TEST

START_TEST(list_cut_anywhere)
{
    size_t len, n;
    char *json = tu_fixture("engine-list.json", &len);
    lc_container_summary *l;
    for (size_t cut = 0; cut < len; cut += 13) {
        ck_assert_msg(list_chunked(json, cut, 5, &l, &n) == LC_EINPUT, "accepted a cut at %zu",
                      cut);
        ck_assert_ptr_null(l);
    }
    free(json);
}
END_TEST

/* Strings holding brackets, braces, commas and escaped quotes do not end a value. */
START_TEST(list_tricky_strings)
{
    const char *json = "[ {\"Id\":\"a\",\"Names\":[\"/x]}\\\"{[,\"],\"State\":\"running\","
                       "\"Labels\":{\"io.instctl.instance\":\"i\\\\\"}} ,\n"
                       "{\"Id\":\"b\",\"Command\":\"sh -c '[{'\",\"State\":\"exited\"}]  \n";
    for (size_t c = 1; c < 9; c++) {
        lc_container_summary *l;
        size_t n;
        ck_assert_int_eq(list_chunked(json, strlen(json), c, &l, &n), LC_OK);
        ck_assert_uint_eq(n, 2);
        ck_assert_str_eq(l[0].name, "x]}\"{[,");
        ck_assert_str_eq(l[0].instance, "i\\");
        ck_assert_int_eq(l[0].state, CONTAINER_RUNNING);
        ck_assert_str_eq(l[1].id, "b");
        ck_assert_int_eq(l[1].state, CONTAINER_EXITED);
        free(l);
    }
}
END_TEST

static bool collect(void *arg, const char *json, size_t len)
{
    char *out = arg;
    snprintf(out + strlen(out), 512 - strlen(out), "<%.*s>", (int)len, json);
    return true;
}

/* Values of each kind, split exactly, whatever the chunking. */
START_TEST(split_values)
{
    static const struct {
        bool array;
        const char *in, *want;
    } t[] = {
        {true, "[1, \"x\" ,true,null,-2.5e3]", "<1><\"x\"><true><null><-2.5e3>"},
        {true, " [ [1,[2]] , {\"a\":[]} ] ", "<[1,[2]]><{\"a\":[]}>"},
        {true, "[]", ""},
        {false, "{\"a\":1}\n{\"b\":\"}\"}\n", "<{\"a\":1}><{\"b\":\"}\"}>"},
        {false, "{}{}", "<{}><{}>"},
        {false, "", ""},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        for (size_t c = 1; c < 6; c++) {
            char out[512] = "";
            lc_json_split js;
            json_split_init(&js, t[i].array, 0, collect, out);
            bool ok = true;
            for (size_t k = 0; ok && k < strlen(t[i].in); k += c)
                ok = json_split_feed(&js, t[i].in + k,
                                     strlen(t[i].in) - k < c ? strlen(t[i].in) - k : c);
            ok = ok && json_split_end(&js);
            json_split_free(&js);
            ck_assert_msg(ok, "%s (chunk %zu): %s", t[i].in, c, js.why);
            ck_assert_str_eq(out, t[i].want);
        }
    }
}
END_TEST

START_TEST(split_malformed)
{
    static const char *const bad[] = {
        "", "{}", "[", "[1,]", "[,1]", "[1 2]", "[1]x", "[1]]", "x", "[{]", "[\"abc",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char out[512] = "";
        lc_json_split js;
        json_split_init(&js, true, 0, collect, out);
        bool ok = json_split_feed(&js, bad[i], strlen(bad[i])) && json_split_end(&js);
        json_split_free(&js);
        ck_assert_msg(!ok, "accepted: %s", bad[i]);
        ck_assert_msg(js.why[0] != '\0', "no reason for %s", bad[i]);
    }
}
END_TEST

START_TEST(split_value_limit)
{
    char out[512] = "";
    lc_json_split js;
    json_split_init(&js, true, 8, collect, out);
    const char *json = "[\"short\",\"far too long a value\"]";
    ck_assert(!json_split_feed(&js, json, strlen(json)));
    json_split_free(&js);
    ck_assert_str_eq(out, "<\"short\">");
}
END_TEST

/* Two events as Docker 20.10 writes them, one per line. */
static const char events[] =
    "{\"status\":\"die\",\"id\":\"4f1c\",\"from\":\"instctl/odoo-standin:17.0\",\"Type\":"
    "\"container\",\"Action\":\"die\",\"Actor\":{\"ID\":\"4f1c\",\"Attributes\":{\"exitCode\":"
    "\"137\",\"image\":\"instctl/odoo-standin:17.0\",\"io.instctl.instance\":\"9983d39e-4b65\","
    "\"io.instctl.managed\":\"true\",\"name\":\"odoo_w1\"}},\"scope\":\"local\",\"time\":"
    "1796142007,\"timeNano\":1796142007123456789}\n"
    "{\"Type\":\"container\",\"Action\":\"health_status: healthy\",\"Actor\":{\"ID\":\"4f1c\","
    "\"Attributes\":{\"name\":\"odoo_w1\"}},\"time\":1796142008}\n";

static bool keep_event(void *arg, const char *json, size_t len)
{
    lc_event *v = arg;
    size_t i = v[0].type[0] == '\0' ? 0 : 1;
    lc_diag d = {""};
    ck_assert_int_eq(engine_parse_event(json, len, &v[i], &d), LC_OK);
    return true;
}

START_TEST(events_stream)
{
    lc_event v[2];
    memset(v, 0, sizeof v);
    lc_json_split js;
    json_split_init(&js, false, 0, keep_event, v);
    for (size_t k = 0; k < sizeof events - 1; k++)
        ck_assert(json_split_feed(&js, events + k, 1));
    ck_assert(json_split_end(&js));
    json_split_free(&js);
    ck_assert_str_eq(v[0].type, "container");
    ck_assert_str_eq(v[0].action, "die");
    ck_assert_str_eq(v[0].id, "4f1c");
    ck_assert_str_eq(v[0].instance, "9983d39e-4b65");
    ck_assert_str_eq(v[0].name, "odoo_w1");
    ck_assert_int_eq(v[0].exit_code, 137);
    ck_assert(v[0].time_ns / 1000 == 1796142007123456LL); /* microseconds survive a double */
    ck_assert_str_eq(v[1].action, "health_status: healthy");
    ck_assert_str_eq(v[1].instance, "");
    ck_assert_int_eq(v[1].exit_code, -1);
    ck_assert(v[1].time_ns == 1796142008000000000LL);
}
END_TEST

START_TEST(events_not_events)
{
    lc_event ev;
    lc_diag d = {""};
    ck_assert_int_eq(engine_parse_event("[]", 2, &ev, &d), LC_EINPUT);
    ck_assert_int_eq(engine_parse_event("{\"Type\":\"x\"}", 12, &ev, &d), LC_EINPUT);
    ck_assert(d.msg[0] != '\0');
}
END_TEST

Suite *suite_stream(void)
{
    Suite *s = suite_create("stream");
    TCase *tc = tcase_create("list");
    tcase_add_loop_test(tc, list_any_chunking, 0, sizeof chunks / sizeof chunks[0]);
    tcase_add_test(tc, list_cut_anywhere);
    tcase_add_test(tc, list_tricky_strings);
    suite_add_tcase(s, tc);
    tc = tcase_create("split");
    tcase_add_test(tc, split_values);
    tcase_add_test(tc, split_malformed);
    tcase_add_test(tc, split_value_limit);
    suite_add_tcase(s, tc);
    tc = tcase_create("events");
    tcase_add_test(tc, events_stream);
    tcase_add_test(tc, events_not_events);
    suite_add_tcase(s, tc);
    return s;
}
