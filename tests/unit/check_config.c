/*
 * Configuration (lib/config.h): the built-in defaults, `key = value` files
 * with comments and blank lines, the errors that name file, line and key,
 * optional and explicit files, and the image template.
 */
#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "testutil.h"

/*
 * The runner's process makes one directory per test case (unchecked fixture,
 * removed even when a test fails); each test, in its own process, writes its
 * file in a new directory inside it.
 */
static char base_dir[256];
static char conf_dir[300];
static char conf_path[400];

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void base_setup(void)
{
    char *dir = tu_tmpdir("config");
    ck_assert_ptr_nonnull(dir);
    snprintf(base_dir, sizeof base_dir, "%s", dir);
    free(dir);
}

static void base_teardown(void)
{
    nftw(base_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void setup(void)
{
    snprintf(conf_dir, sizeof conf_dir, "%s/t-XXXXXX", base_dir);
    ck_assert_ptr_nonnull(mkdtemp(conf_dir));
    snprintf(conf_path, sizeof conf_path, "%s/instctl.conf", conf_dir);
}

static void teardown(void)
{
    nftw(conf_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* load_text: writes text to the test's config file and loads it over the defaults. */
static lc_err load_text(lc_config *c, const char *text, lc_diag *d)
{
    ck_assert(tu_write_file(conf_path, text));
    config_defaults(c);
    return config_load(c, conf_path, 0, d);
}

START_TEST(test_defaults)
{
    lc_config c;
    memset(&c, 0x5a, sizeof c);
    config_defaults(&c);
    ck_assert_str_eq(c.db, LC_DEFAULT_DB);
    ck_assert_str_eq(c.db, "/var/lib/instctl/instctl.db");
    ck_assert_str_eq(c.docker_host, "");
    ck_assert_str_eq(c.image_template, "odoo:{version}");
    ck_assert_str_eq(c.default_version, "17.0");
    ck_assert_str_eq(c.pull_policy, "missing");
    ck_assert_str_eq(c.network, "");
    ck_assert_str_eq(c.data_path, "/var/lib/odoo");
    ck_assert_str_eq(c.db_host, "");
    ck_assert_int_eq(c.db_port, 5432);
    ck_assert_str_eq(c.db_user, "odoo");
    ck_assert_str_eq(c.db_password_file, "");
    ck_assert_str_eq(c.master_password_file, "");
    ck_assert_int_gt(c.create_timeout, 0);
    ck_assert_int_gt(c.stop_timeout, 0);
    ck_assert_int_gt(c.lease_seconds, 0);
    ck_assert_str_eq(LC_DEFAULT_CONFIG, "/etc/instctl/instctl.conf");
}
END_TEST

START_TEST(test_every_key)
{
    lc_config c;
    lc_diag d = {{0}};
    lc_err e = load_text(&c,
                         "db = /srv/instctl/state.db\n"
                         "docker_host = unix:///run/user/docker.sock\n"
                         "image_template = registry.local/odoo:{version}-custom\n"
                         "default_odoo_version = 16.0\n"
                         "pull_policy = never\n"
                         "network = proxy_net\n"
                         "data_path = /opt/odoo/data\n"
                         "db_host = pg.internal\n"
                         "db_port = 6543\n"
                         "db_user = odoo_admin\n"
                         "db_password_file = /etc/instctl/pg.pass\n"
                         "master_password_file = /etc/instctl/master.pass\n"
                         "create_timeout = 900\n"
                         "stop_timeout = 30\n"
                         "lease_seconds = 45\n",
                         &d);
    ck_assert_msg(e == LC_OK, "load failed: %s", d.msg);
    ck_assert_str_eq(c.db, "/srv/instctl/state.db");
    ck_assert_str_eq(c.docker_host, "unix:///run/user/docker.sock");
    ck_assert_str_eq(c.image_template, "registry.local/odoo:{version}-custom");
    ck_assert_str_eq(c.default_version, "16.0");
    ck_assert_str_eq(c.pull_policy, "never");
    ck_assert_str_eq(c.network, "proxy_net");
    ck_assert_str_eq(c.data_path, "/opt/odoo/data");
    ck_assert_str_eq(c.db_host, "pg.internal");
    ck_assert_int_eq(c.db_port, 6543);
    ck_assert_str_eq(c.db_user, "odoo_admin");
    ck_assert_str_eq(c.db_password_file, "/etc/instctl/pg.pass");
    ck_assert_str_eq(c.master_password_file, "/etc/instctl/master.pass");
    ck_assert_int_eq(c.create_timeout, 900);
    ck_assert_int_eq(c.stop_timeout, 30);
    ck_assert_int_eq(c.lease_seconds, 45);
}
END_TEST

/* Keys not in the file keep what was there before (the defaults). */
START_TEST(test_partial_file_keeps_defaults)
{
    lc_config c, def;
    lc_diag d;
    config_defaults(&def);
    ck_assert_int_eq(load_text(&c, "db_port = 5433\n", &d), LC_OK);
    ck_assert_int_eq(c.db_port, 5433);
    ck_assert_str_eq(c.db, def.db);
    ck_assert_str_eq(c.image_template, def.image_template);
    ck_assert_str_eq(c.pull_policy, def.pull_policy);
    ck_assert_int_eq(c.lease_seconds, def.lease_seconds);
}
END_TEST

START_TEST(test_comments_and_blank_lines)
{
    lc_config c;
    lc_diag d = {{0}};
    lc_err e = load_text(&c,
                         "# instctl configuration\n"
                         "\n"
                         "   \n"
                         "\t\n"
                         "  # an indented comment\n"
                         "network=bridge2\n"
                         "   db_user   =   someone   \n"
                         "db_port = 7000   # trailing comment\n"
                         "\r\n"
                         "pull_policy = never\r\n"
                         "#db_host = commented.out\n"
                         "stop_timeout = 5", /* last line without a newline */
                         &d);
    ck_assert_msg(e == LC_OK, "load failed: %s", d.msg);
    ck_assert_str_eq(c.network, "bridge2");
    ck_assert_str_eq(c.db_user, "someone");
    ck_assert_int_eq(c.db_port, 7000);
    ck_assert_str_eq(c.pull_policy, "never");
    ck_assert_str_eq(c.db_host, "");
    ck_assert_int_eq(c.stop_timeout, 5);
}
END_TEST

START_TEST(test_empty_file)
{
    lc_config c, def;
    lc_diag d;
    config_defaults(&def);
    ck_assert_int_eq(load_text(&c, "", &d), LC_OK);
    ck_assert_mem_eq(&c, &def, sizeof c);
}
END_TEST

/* The error names file:line and the key. */
static void assert_names(const lc_diag *d, int line, const char *key)
{
    char where[600];
    snprintf(where, sizeof where, "%s:%d", conf_path, line);
    ck_assert_msg(strstr(d->msg, where) != NULL, "\"%s\" does not name %s", d->msg, where);
    if (key != NULL)
        ck_assert_msg(strstr(d->msg, key) != NULL, "\"%s\" does not name %s", d->msg, key);
}

START_TEST(test_unknown_key)
{
    lc_config c;
    lc_diag d = {{0}};
    lc_err e = load_text(&c, "# header\ndb_port = 5432\ndocker_hots = unix:///x\n", &d);
    ck_assert_int_eq(e, LC_ECONFIG);
    assert_names(&d, 3, "docker_hots");
}
END_TEST

START_TEST(test_key_case_matters)
{
    lc_config c;
    lc_diag d = {{0}};
    ck_assert_int_eq(load_text(&c, "DB = /x.db\n", &d), LC_ECONFIG);
    assert_names(&d, 1, "DB");
}
END_TEST

START_TEST(test_line_without_equals)
{
    lc_config c;
    lc_diag d = {{0}};
    ck_assert_int_eq(load_text(&c, "\n\nnetwork bridge\n", &d), LC_ECONFIG);
    assert_names(&d, 3, NULL);
}
END_TEST

static const struct {
    const char *key, *value;
} bad_values[] = {
    {"db_port", "54x"},
    {"db_port", "x"},
    {"db_port", ""},
    {"db_port", "-1"},
    {"db_port", "5432.5"},
    {"db_port", "99999999999999999999"},
    {"create_timeout", "5 m"},
    {"stop_timeout", "ten"},
    {"lease_seconds", "0x10"},
    {"pull_policy", "always"},
    {"pull_policy", "Never"},
    {"pull_policy", ""},
    {"pull_policy", "missing never"},
};

START_TEST(test_bad_value)
{
    char text[256];
    lc_config c;
    lc_diag d = {{0}};
    snprintf(text, sizeof text, "db = /x.db\n%s = %s\n", bad_values[_i].key, bad_values[_i].value);
    lc_err e = load_text(&c, text, &d);
    ck_assert_msg(e == LC_ECONFIG, "%s = \"%s\": expected LC_ECONFIG, got %d", bad_values[_i].key,
                  bad_values[_i].value, (int)e);
    assert_names(&d, 2, bad_values[_i].key);
}
END_TEST

START_TEST(test_value_too_long)
{
    char text[600];
    lc_config c;
    lc_diag d = {{0}};
    char longv[300];
    memset(longv, 'n', sizeof longv - 1);
    longv[sizeof longv - 1] = '\0';
    snprintf(text, sizeof text, "network = %s\n", longv);
    ck_assert_int_eq(load_text(&c, text, &d), LC_ECONFIG);
    assert_names(&d, 1, "network");
}
END_TEST

START_TEST(test_missing_optional_file)
{
    lc_config c, def;
    lc_diag d = {{0}};
    char path[600];
    snprintf(path, sizeof path, "%s/absent.conf", conf_dir);
    config_defaults(&c);
    config_defaults(&def);
    ck_assert_int_eq(config_load(&c, path, 1, &d), LC_OK);
    ck_assert_mem_eq(&c, &def, sizeof c);
}
END_TEST

START_TEST(test_missing_explicit_file)
{
    lc_config c;
    lc_diag d = {{0}};
    char path[600];
    snprintf(path, sizeof path, "%s/absent.conf", conf_dir);
    config_defaults(&c);
    ck_assert_int_eq(config_load(&c, path, 0, &d), LC_ECONFIG);
    ck_assert_msg(strstr(d.msg, path) != NULL, "\"%s\" does not name %s", d.msg, path);
}
END_TEST

/*
 * A path that exists but cannot be read as a file is an error, not an empty
 * file nor a missing one: `--config /etc/instctl` must not silently run on
 * the defaults.
 */
START_TEST(test_path_is_directory)
{
    lc_config c;
    lc_diag d = {{0}};
    config_defaults(&c);
    lc_err e = config_load(&c, conf_dir, 0, &d);
    ck_assert_msg(e == LC_ECONFIG, "a directory as explicit config: got %d", (int)e);
    e = config_load(&c, conf_dir, 1, &d);
    ck_assert_msg(e == LC_ECONFIG, "a directory as optional config: got %d", (int)e);
}
END_TEST

static const struct {
    const char *tmpl, *version, *want;
} image_for[] = {
    {"odoo:{version}", "17.0", "odoo:17.0"},
    {"odoo:{version}", "16.0", "odoo:16.0"},
    {"registry.local:5000/odoo:{version}-custom", "18.0", "registry.local:5000/odoo:18.0-custom"},
    {"{version}", "17.0", "17.0"},
    {"myodoo:latest", "17.0", "myodoo:latest"},
    {"odoo:{ver}", "17.0", "odoo:{ver}"},
};

START_TEST(test_image_for)
{
    lc_config c;
    char out[256];
    config_defaults(&c);
    snprintf(c.image_template, sizeof c.image_template, "%s", image_for[_i].tmpl);
    memset(out, 'x', sizeof out);
    config_image_for(&c, image_for[_i].version, out, sizeof out);
    ck_assert_str_eq(out, image_for[_i].want);
}
END_TEST

START_TEST(test_image_for_default_and_short_buffer)
{
    lc_config c;
    char out[256], small[8];
    config_defaults(&c);
    config_image_for(&c, c.default_version, out, sizeof out);
    ck_assert_str_eq(out, "odoo:17.0");
    memset(small, 'x', sizeof small);
    config_image_for(&c, "17.0", small, sizeof small);
    ck_assert_str_eq(small, "odoo:17");
}
END_TEST

Suite *suite_config(void)
{
    Suite *s = suite_create("config");
    TCase *t = tcase_create("load");
    tcase_add_unchecked_fixture(t, base_setup, base_teardown);
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, test_defaults);
    tcase_add_test(t, test_every_key);
    tcase_add_test(t, test_partial_file_keeps_defaults);
    tcase_add_test(t, test_comments_and_blank_lines);
    tcase_add_test(t, test_empty_file);
    tcase_add_test(t, test_unknown_key);
    tcase_add_test(t, test_key_case_matters);
    tcase_add_test(t, test_line_without_equals);
    tcase_add_loop_test(t, test_bad_value, 0, (int)(sizeof bad_values / sizeof bad_values[0]));
    tcase_add_test(t, test_value_too_long);
    tcase_add_test(t, test_missing_optional_file);
    tcase_add_test(t, test_missing_explicit_file);
    tcase_add_test(t, test_path_is_directory);
    suite_add_tcase(s, t);
    t = tcase_create("image");
    tcase_add_loop_test(t, test_image_for, 0, (int)(sizeof image_for / sizeof image_for[0]));
    tcase_add_test(t, test_image_for_default_and_short_buffer);
    suite_add_tcase(s, t);
    return s;
}
