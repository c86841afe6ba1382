/*
 * Where the Engine API client connects (lib/engine.c, DESIGN §6, §7a):
 * unix:// sockets as before, tcp:// only with TLS material (a CA, a client
 * certificate and its key, all readable), every malformed or plain-TCP
 * host refused at engine_open with a message naming the host and the
 * cause. Nothing here connects: engine_open_tls does not.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "testutil.h"

static char tls_dir[512];

static void setup(void)
{
    char *dir = tu_tmpdir("engine-tls");
    snprintf(tls_dir, sizeof tls_dir, "%s", dir);
    free(dir);
    const char *names[] = {"ca.pem", "cert.pem", "key.pem"};
    for (int i = 0; i < 3; i++) {
        char path[600];
        snprintf(path, sizeof path, "%s/%s", tls_dir, names[i]);
        ck_assert(tu_write_file(path, "not checked before a connection\n"));
    }
    unsetenv("DOCKER_CERT_PATH");
}

static void teardown(void)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tls_dir);
    tu_run r = tu_sh(cmd);
    tu_run_free(&r);
}

/* with_tls: 0 none, 1 the directory's three files, 2 only the CA, 3 a key that does not exist. */
static const struct {
    const char *host;
    int with_tls;
    lc_err err;
    const char *where; /* engine_where when LC_OK, else a phrase of the message */
} cases[] = {
    {"unix:///run/x/docker.sock", 0, LC_OK, "/run/x/docker.sock"},
    {"/run/y.sock", 0, LC_OK, "/run/y.sock"},
    {"unix:///run/x/docker.sock", 1, LC_OK, "/run/x/docker.sock"},
    {"tcp://127.0.0.1:2376", 1, LC_OK, "tcp://127.0.0.1:2376"},
    {"tcp://docker-b.example.org", 1, LC_OK, "tcp://docker-b.example.org:2376"},
    {"tcp://[::1]:12376", 1, LC_OK, "tcp://[::1]:12376"},
    {"tcp://10.0.0.1:2375", 0, LC_ECONFIG, "Docker host tcp://10.0.0.1:2375: plain TCP is refused"},
    {"tcp://10.0.0.1:2376", 2, LC_ECONFIG,
     "Docker host tcp://10.0.0.1:2376: no TLS client certificate given"},
    {"tcp://10.0.0.1:2376", 3, LC_ECONFIG, "TLS client key /nonexistent/key.pem: No such file"},
    {"tcp://10.0.0.1:0", 1, LC_ECONFIG, "bad port \"0\""},
    {"tcp://10.0.0.1:65536", 1, LC_ECONFIG, "bad port \"65536\""},
    {"tcp://10.0.0.1:", 1, LC_ECONFIG, "bad port \"\""},
    {"tcp://:2376", 1, LC_ECONFIG, "no host name"},
    {"tcp://10.0.0.1:2376/v1.41", 1, LC_ECONFIG, "bad port \"2376/v1.41\""},
    {"tcp://10.0.0.1/x", 1, LC_ECONFIG, "no path"},
    {"tcp://[::1:2376", 1, LC_ECONFIG, "unclosed ["},
    {"tcp://a b:2376", 1, LC_ECONFIG, "\"a b\" is not a host name"},
    {"http://10.0.0.1:2375", 1, LC_ECONFIG, "use unix:///path or tcp://HOST:PORT"},
    {"unix://relative.sock", 0, LC_ECONFIG, "use unix:///path or tcp://HOST:PORT"},
};
#define CASES ((int)(sizeof cases / sizeof cases[0]))

START_TEST(test_open)
{
    lc_engine_tls tls;
    memset(&tls, 0, sizeof tls);
    if (cases[_i].with_tls == 1 || cases[_i].with_tls == 3)
        ck_assert(engine_tls_from_dir(tls_dir, &tls));
    if (cases[_i].with_tls == 2)
        snprintf(tls.ca, sizeof tls.ca, "%s/ca.pem", tls_dir);
    if (cases[_i].with_tls == 3)
        snprintf(tls.key, sizeof tls.key, "/nonexistent/key.pem");
    lc_engine *e = NULL;
    lc_diag d = {{0}};
    lc_err err = engine_open_tls(cases[_i].host, cases[_i].with_tls ? &tls : NULL, &e, &d);
    ck_assert_msg(err == cases[_i].err, "%s: error %d, expected %d (%s)", cases[_i].host, err,
                  cases[_i].err, d.msg);
    if (err != LC_OK) {
        ck_assert_ptr_null(e);
        ck_assert_msg(strstr(d.msg, cases[_i].where) != NULL, "%s: \"%s\" lacks \"%s\"",
                      cases[_i].host, d.msg, cases[_i].where);
        ck_assert_msg(strchr(d.msg, '\n') == NULL, "%s: more than one line", cases[_i].host);
        return;
    }
    ck_assert_str_eq(engine_where(e), cases[_i].where);
    bool tcp = strncmp(cases[_i].host, "tcp://", 6) == 0;
    ck_assert_str_eq(engine_socket_path(e), tcp ? "" : cases[_i].where);
    lc_engine *c = NULL;
    ck_assert_int_eq(engine_clone(e, &c, &d), LC_OK);
    ck_assert_str_eq(engine_where(c), engine_where(e));
    engine_close(c);
    engine_close(e);
}
END_TEST

/* Docker's own DOCKER_CERT_PATH supplies the material when none is given. */
START_TEST(test_docker_cert_path)
{
    lc_engine *e = NULL;
    lc_diag d = {{0}};
    setenv("DOCKER_CERT_PATH", tls_dir, 1);
    ck_assert_msg(engine_open("tcp://127.0.0.1:2376", &e, &d) == LC_OK, "%s", d.msg);
    ck_assert_str_eq(engine_where(e), "tcp://127.0.0.1:2376");
    engine_close(e);
    setenv("DOCKER_CERT_PATH", "/nonexistent", 1);
    ck_assert_int_eq(engine_open("tcp://127.0.0.1:2376", &e, &d), LC_ECONFIG);
    ck_assert_msg(strstr(d.msg, "/nonexistent/ca.pem") != NULL, "%s", d.msg);
    unsetenv("DOCKER_CERT_PATH");
}
END_TEST

START_TEST(test_tls_from_dir)
{
    lc_engine_tls t;
    ck_assert(engine_tls_from_dir("/etc/docker/certs", &t));
    ck_assert_str_eq(t.ca, "/etc/docker/certs/ca.pem");
    ck_assert_str_eq(t.cert, "/etc/docker/certs/cert.pem");
    ck_assert_str_eq(t.key, "/etc/docker/certs/key.pem");
    ck_assert(!engine_tls_from_dir("", &t));
    char long_dir[1100];
    memset(long_dir, 'a', sizeof long_dir - 1);
    long_dir[sizeof long_dir - 1] = '\0';
    ck_assert(!engine_tls_from_dir(long_dir, &t));
}
END_TEST

Suite *suite_engine_tls(void)
{
    Suite *s = suite_create("engine_tls");
    TCase *t = tcase_create("open");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_loop_test(t, test_open, 0, CASES);
    tcase_add_test(t, test_docker_cert_path);
    tcase_add_test(t, test_tls_from_dir);
    suite_add_tcase(s, t);
    return s;
}
