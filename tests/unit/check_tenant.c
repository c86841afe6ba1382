/*
 * Unit tests of the pure parts of tenant isolation (DESIGN §6a): role
 * names, the per-instance Odoo configuration, psql variable quoting,
 * random passwords and SCRAM verifiers (their shape; a real server checks
 * them in the integration suite), and Odoo's error text out of its page.
 */
#include <check.h>
#include <string.h>

#include "odoo.h"
#include "tenant.h"

START_TEST(test_role_name)
{
    char role[LC_TENANT_ROLE_LEN];
    tenant_role_name("0F1e2d3c-4b5a-6978-8899-aabbccddeeff", role);
    ck_assert_str_eq(role, "odoo_0f1e2d3c4b5a");
    tenant_role_name("", role);
    ck_assert_str_eq(role, "odoo_");
}
END_TEST

static const tenant_conf base = {.db_host = "172.17.0.1",
                                 .db_port = 5433,
                                 .db_user = "odoo_0f1e2d3c4b5a",
                                 .db_password = "Pw1",
                                 .database = "acme.prod",
                                 .admin_passwd = "Master1",
                                 .data_dir = "/var/lib/odoo",
                                 .list_db = false};

START_TEST(test_render_conf)
{
    char out[1024];
    lc_diag d = {{0}};
    ck_assert_int_eq(tenant_render_conf(&base, out, sizeof out, &d), LC_OK);
    ck_assert_str_eq(out, "[options]\n"
                          "db_host = 172.17.0.1\n"
                          "db_port = 5433\n"
                          "db_user = odoo_0f1e2d3c4b5a\n"
                          "db_password = Pw1\n"
                          "dbfilter = ^acme\\.prod$\n"
                          "list_db = False\n"
                          "proxy_mode = True\n"
                          "admin_passwd = Master1\n"
                          "data_dir = /var/lib/odoo\n");
    tenant_conf c = base;
    c.list_db = true;
    c.database = "a1_b-c.d";
    ck_assert_int_eq(tenant_render_conf(&c, out, sizeof out, &d), LC_OK);
    ck_assert_ptr_nonnull(strstr(out, "\nlist_db = True\n"));
    ck_assert_ptr_nonnull(strstr(out, "\ndbfilter = ^a1_b-c\\.d$\n"));
    char v[64];
    ck_assert(tenant_conf_value(out, "admin_passwd", v, sizeof v));
    ck_assert_str_eq(v, "Master1");
    ck_assert(tenant_conf_value(out, "db_password", v, sizeof v));
    ck_assert_str_eq(v, "Pw1");
    ck_assert(!tenant_conf_value(out, "nothing", v, sizeof v));
    ck_assert(!tenant_conf_value(out, "data_dir", v, 5)); /* too long: refused, not cut */
    ck_assert_int_eq(tenant_render_conf(&base, out, 40, &d), LC_EUSAGE);
}
END_TEST

/* Values Odoo's parser would change, or that would add a line, are refused. */
START_TEST(test_render_conf_refuses)
{
    static const struct {
        const char *host, *password, *database;
    } bad[] = {
        {"h\nadmin_passwd = x", "p", "db1"},
        {"h", "p\n", "db1"},
        {"h", " p", "db1"},
        {"h", "p ", "db1"},
        {"h", "", "db1"},
        {"", "p", "db1"},
        {"h", "p", "-x"},
        {"h", "p", "a b"},
        {"h", "p", "a\r"},
    };
    char out[1024];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tenant_conf c = base;
        c.db_host = bad[i].host;
        c.db_password = bad[i].password;
        c.database = bad[i].database;
        lc_diag d = {{0}};
        ck_assert_msg(tenant_render_conf(&c, out, sizeof out, &d) == LC_EUSAGE, "case %zu", i);
        ck_assert(d.msg[0] != '\0');
    }
}
END_TEST

START_TEST(test_psql_set)
{
    char buf[256] = "";
    ck_assert(tenant_psql_set(buf, sizeof buf, "db", "acme.prod"));
    ck_assert(tenant_psql_set(buf, sizeof buf, "pw", "it's a \\ test"));
    ck_assert_str_eq(buf, "\\set db 'acme.prod'\n\\set pw 'it''s a \\\\ test'\n");
    ck_assert(!tenant_psql_set(buf, sizeof buf, "Bad", "x"));
    char small[16] = "";
    ck_assert(!tenant_psql_set(small, sizeof small, "db", "a-much-too-long-value"));
}
END_TEST

START_TEST(test_password_and_verifier)
{
    char a[64], b[64], v[256];
    lc_diag d = {{0}};
    ck_assert_int_eq(tenant_random_password(a, sizeof a, &d), LC_OK);
    ck_assert_int_eq(tenant_random_password(b, sizeof b, &d), LC_OK);
    ck_assert_uint_eq(strlen(a), LC_TENANT_PASSWORD_LEN);
    ck_assert_str_ne(a, b);
    ck_assert_uint_eq(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"),
                      LC_TENANT_PASSWORD_LEN);
    ck_assert_int_eq(tenant_random_password(a, LC_TENANT_PASSWORD_LEN, &d), LC_EUSAGE);
    ck_assert_int_eq(tenant_scram_verifier(b, v, sizeof v, &d), LC_OK);
    ck_assert_msg(strncmp(v, "SCRAM-SHA-256$4096:", 19) == 0, "%s", v);
    ck_assert_ptr_null(strstr(v, b));
    /* salt (24 base64) $ StoredKey (44) : ServerKey (44) */
    ck_assert_uint_eq(strlen(v), 19 + 24 + 1 + 44 + 1 + 44);
    char longpw[LC_TENANT_PASSWORD_MAX + 2];
    memset(longpw, 'x', sizeof longpw - 1);
    longpw[sizeof longpw - 1] = '\0';
    ck_assert_int_eq(tenant_scram_verifier(longpw, v, sizeof v, &d), LC_EUSAGE);
    ck_assert_int_eq(tenant_scram_verifier("tab\there", v, sizeof v, &d), LC_EUSAGE);
    ck_assert_int_eq(tenant_scram_verifier("", v, sizeof v, &d), LC_EUSAGE);
}
END_TEST

START_TEST(test_page_error)
{
    char out[128];
    ck_assert(odoo_page_error("<html><div class=\"alert alert-danger\" role=\"alert\">\n  Database "
                              "creation error: database &quot;x&quot; already exists\n</div>",
                              out, sizeof out));
    ck_assert_str_eq(out, "Database creation error: database \"x\" already exists");
    ck_assert(odoo_page_error("<div class='alert alert-danger'>Access <b>Denied</b></div>", out,
                              sizeof out));
    ck_assert_str_eq(out, "Access Denied");
    ck_assert(!odoo_page_error("<html><body>fine</body></html>", out, sizeof out));
    ck_assert(!odoo_page_error(NULL, out, sizeof out));
    ck_assert(odoo_page_error("<div class=\"alert-danger\">0123456789abcdef</div>", out, 8));
    ck_assert_str_eq(out, "0123456");
}
END_TEST

Suite *suite_tenant_unit(void)
{
    Suite *s = suite_create("tenant_unit");
    TCase *t = tcase_create("tenant");
    tcase_add_test(t, test_role_name);
    tcase_add_test(t, test_render_conf);
    tcase_add_test(t, test_render_conf_refuses);
    tcase_add_test(t, test_psql_set);
    tcase_add_test(t, test_password_and_verifier);
    tcase_add_test(t, test_page_error);
    suite_add_tcase(s, t);
    return s;
}
