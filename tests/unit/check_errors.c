/*
 * Error codes (lib/lc.h): the exit status of each code, written by hand from
 * DESIGN §7, its message, and the lc_fail / lc_prefix diagnostic helpers.
 */
#include <check.h>
#include <string.h>

#include "lc.h"

/*
 * DESIGN §7: 0 ok (including "already ...") · 1 operation failed or partial ·
 * 2 usage · 3 action not allowed in the current status · 4 not found · 5 busy,
 * retry · 6 Docker engine unreachable or refusing, nothing written · 7 bad
 * input (event, JSON, signature, corrupt backup) · 8 database or configuration
 * error. An engine error answer to one request during an operation is that
 * operation failing (DESIGN §2: a failed create step exits 1), and running out
 * of memory is an operation failing too.
 */
static const struct {
    lc_err code;
    const char *name;
    int exit;
} exit_table[] = {
    {LC_OK, "LC_OK", 0},
    {LC_EFAILED, "LC_EFAILED", 1},
    {LC_EPARTIAL, "LC_EPARTIAL", 1},
    {LC_EUSAGE, "LC_EUSAGE", 2},
    {LC_ENOTALLOWED, "LC_ENOTALLOWED", 3},
    {LC_ENOTFOUND, "LC_ENOTFOUND", 4},
    {LC_EBUSY, "LC_EBUSY", 5},
    {LC_EENGINE, "LC_EENGINE", 6},
    {LC_EDOCKER, "LC_EDOCKER", 1},
    {LC_EINPUT, "LC_EINPUT", 7},
    {LC_ESTORE, "LC_ESTORE", 8},
    {LC_ECONFIG, "LC_ECONFIG", 8},
    {LC_ENOMEM, "LC_ENOMEM", 1},
};
#define EXIT_ROWS ((int)(sizeof exit_table / sizeof exit_table[0]))

START_TEST(test_exit_code)
{
    ck_assert_msg(lc_exit_code(exit_table[_i].code) == exit_table[_i].exit,
                  "%s: exit %d, expected %d", exit_table[_i].name,
                  lc_exit_code(exit_table[_i].code), exit_table[_i].exit);
}
END_TEST

/* The table above covers every code from LC_OK to LC_ENOMEM exactly once. */
START_TEST(test_exit_table_complete)
{
    ck_assert_int_eq(EXIT_ROWS, (int)LC_ENOMEM + 1);
    for (int code = LC_OK; code <= LC_ENOMEM; code++) {
        int seen = 0;
        for (int i = 0; i < EXIT_ROWS; i++)
            seen += (int)exit_table[i].code == code;
        ck_assert_msg(seen == 1, "code %d listed %d times", code, seen);
    }
}
END_TEST

START_TEST(test_strerror)
{
    const char *m = lc_strerror(exit_table[_i].code);
    ck_assert_msg(m != NULL && m[0] != '\0', "%s: empty message", exit_table[_i].name);
    for (int j = 0; j < _i; j++)
        ck_assert_msg(strcmp(m, lc_strerror(exit_table[j].code)) != 0,
                      "%s and %s share the message \"%s\"", exit_table[_i].name, exit_table[j].name,
                      m);
}
END_TEST

START_TEST(test_strerror_out_of_range)
{
    const char *m = lc_strerror((lc_err)(LC_ENOMEM + 7));
    ck_assert_ptr_nonnull(m);
    ck_assert_int_ne(m[0], '\0');
    ck_assert_int_ne(lc_exit_code((lc_err)(LC_ENOMEM + 7)), 0);
}
END_TEST

START_TEST(test_fail_formats)
{
    lc_diag d;
    memset(&d, 'z', sizeof d);
    ck_assert_int_eq(lc_fail(&d, LC_ENOTFOUND, "instance %s not found (%d)", "web1", 42),
                     LC_ENOTFOUND);
    ck_assert_str_eq(d.msg, "instance web1 not found (42)");
    ck_assert_int_eq(lc_fail(&d, LC_EUSAGE, "%s", ""), LC_EUSAGE);
    ck_assert_str_eq(d.msg, "");
    ck_assert_int_eq(lc_fail(&d, LC_OK, "fine"), LC_OK);
    ck_assert_str_eq(d.msg, "fine");
}
END_TEST

START_TEST(test_fail_null_diag)
{
    ck_assert_int_eq(lc_fail(NULL, LC_EBUSY, "busy %d", 1), LC_EBUSY);
    ck_assert_int_eq(lc_prefix(NULL, LC_ESTORE, "open %s", "x"), LC_ESTORE);
}
END_TEST

/* A detail longer than the buffer keeps its first 1023 characters and a NUL. */
START_TEST(test_fail_truncates)
{
    char big[3000];
    memset(big, 'q', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    big[0] = 'A';
    lc_diag d;
    ck_assert_int_eq(lc_fail(&d, LC_EINPUT, "%s", big), LC_EINPUT);
    ck_assert_uint_eq(strlen(d.msg), 1023);
    ck_assert_uint_eq(sizeof d.msg, 1024);
    ck_assert(strncmp(d.msg, big, 1023) == 0);

    /* exactly 1023 fits whole, 1024 loses the last character */
    big[1023] = '\0';
    big[1022] = 'Z';
    lc_fail(&d, LC_EINPUT, "%s", big);
    ck_assert_uint_eq(strlen(d.msg), 1023);
    ck_assert_int_eq(d.msg[1022], 'Z');
    big[1023] = 'Y';
    big[1024] = '\0';
    lc_fail(&d, LC_EINPUT, "%s", big);
    ck_assert_uint_eq(strlen(d.msg), 1023);
    ck_assert_int_eq(d.msg[1022], 'Z');
}
END_TEST

START_TEST(test_prefix_formats)
{
    lc_diag d;
    lc_fail(&d, LC_ESTORE, "disk I/O error");
    ck_assert_int_eq(lc_prefix(&d, LC_ESTORE, "migration to schema %d", 2), LC_ESTORE);
    ck_assert_str_eq(d.msg, "migration to schema 2: disk I/O error");
    ck_assert_int_eq(lc_prefix(&d, LC_EFAILED, "create %s", "web1"), LC_EFAILED);
    ck_assert_str_eq(d.msg, "create web1: migration to schema 2: disk I/O error");

    lc_fail(&d, LC_EFAILED, "%s", "");
    lc_prefix(&d, LC_EFAILED, "step");
    ck_assert_str_eq(d.msg, "step: ");
}
END_TEST

/* Prefixing a full detail keeps the prefix whole and cuts the old detail's end. */
START_TEST(test_prefix_truncates)
{
    char big[1100];
    memset(big, 'm', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    big[0] = 'B';
    lc_diag d;
    lc_fail(&d, LC_EDOCKER, "%s", big);
    ck_assert_uint_eq(strlen(d.msg), 1023);
    ck_assert_int_eq(lc_prefix(&d, LC_EDOCKER, "volume %s", "vol_1"), LC_EDOCKER);
    ck_assert_uint_eq(strlen(d.msg), 1023);
    ck_assert(strncmp(d.msg, "volume vol_1: Bmmm", 18) == 0);
    for (size_t i = 15; i < 1023; i++)
        ck_assert_msg(d.msg[i] == 'm', "byte %zu is '%c'", i, d.msg[i]);

    /* a detail that just fits with the prefix is kept whole */
    lc_fail(&d, LC_EDOCKER, "%.*s", 1023 - 6, big);
    lc_prefix(&d, LC_EDOCKER, "abcd");
    ck_assert_uint_eq(strlen(d.msg), 1023);
    ck_assert(strncmp(d.msg, "abcd: B", 7) == 0);
}
END_TEST

/* lc_format_size: the one size format for people (powers of 1024, one decimal). */
static const struct {
    long long bytes;
    const char *text;
} size_rows[] = {
    {0, "0 B"},
    {1, "1 B"},
    {1023, "1023 B"},
    {1024, "1.0 KiB"},
    {1536, "1.5 KiB"},
    {1258291, "1.2 MiB"},
    {1048576LL * 1024, "1.0 GiB"},
    {5LL * 1024 * 1024 * 1024 * 1024, "5.0 TiB"},
    {3LL * 1024 * 1024 * 1024 * 1024 * 1024, "3.0 PiB"},
    {4096LL * 1024 * 1024 * 1024 * 1024 * 1024, "4096.0 PiB"},
};

START_TEST(test_format_size)
{
    char buf[32];
    lc_format_size(size_rows[_i].bytes, buf, sizeof buf);
    ck_assert_msg(strcmp(buf, size_rows[_i].text) == 0, "%lld bytes: \"%s\", want \"%s\"",
                  size_rows[_i].bytes, buf, size_rows[_i].text);
}
END_TEST

Suite *suite_errors(void)
{
    Suite *s = suite_create("errors");
    TCase *t = tcase_create("codes");
    tcase_add_loop_test(t, test_exit_code, 0, EXIT_ROWS);
    tcase_add_test(t, test_exit_table_complete);
    tcase_add_loop_test(t, test_strerror, 0, EXIT_ROWS);
    tcase_add_test(t, test_strerror_out_of_range);
    suite_add_tcase(s, t);
    t = tcase_create("diag");
    tcase_add_test(t, test_fail_formats);
    tcase_add_test(t, test_fail_null_diag);
    tcase_add_test(t, test_fail_truncates);
    tcase_add_test(t, test_prefix_formats);
    tcase_add_test(t, test_prefix_truncates);
    suite_add_tcase(s, t);
    t = tcase_create("sizes");
    tcase_add_loop_test(t, test_format_size, 0, (int)(sizeof size_rows / sizeof size_rows[0]));
    suite_add_tcase(s, t);
    return s;
}
