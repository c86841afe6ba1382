/*
 * The billing webhook end to end (DESIGN §4): scripts/billing-webhook.cgi
 * under a real web server (busybox httpd on 127.0.0.1, a free port), the
 * event posted by curl with a Stripe-Signature header, the real instctl
 * binary and the real engine behind it. Checks the HTTP status the sender
 * sees (200; 400 for a forged, tampered, expired or unsigned event or when
 * no secret is configured; 404 for an unknown instance; 405 for a GET; 503
 * while the instance is busy or the engine cannot be reached, with the id
 * not stored so the retry applies) and that nothing changes when the event
 * is refused.
 *
 * busybox httpd hands its own environment to CGI programs, so each server is
 * started with INSTCTL_BIN and INSTCTL_CONFIG set. The test starts its
 * servers; their pids are noted in the case's directory so that the
 * teardowns stop them whether the test passed or not.
 *
 * The per-case environment (directory, config, store, instance made ahead)
 * and the bi_* helpers are defined in check_billing.c, linked into the same
 * runner.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

/* ---- from check_billing.c ---- */
void bi_register(const char *suite, const char *tcase);
void bi_setup_instance(const char *suite);
void bi_setup_bare(void);
void bi_checked_setup(void);
void bi_checked_teardown(void);
void bi_unchecked_teardown(void);
const char *bi_dir(void);
const char *bi_conf(void);
const char *bi_db(void);
const char *bi_id(void);
const char *bi_instctl_bin(void);
void bi_note_server(int pid);
tu_run bi_ic(const char *input, ...);
char *bi_sql(const char *fmt, ...);
char *bi_snapshot(void);
char *bi_status(void);
int bi_history_rows(void);
int bi_billing_rows(const char *event_id);
char *bi_container_state(void);
const char *bi_event_id(int n);
char *bi_stripe_event(const char *fixture, const char *id, long created, const char *instance);
void bi_sign(char *header, size_t len, const char *secret, time_t t, const char *body);
bool bi_sql_exec(const char *sql);

#define SECRET "whsec_wh_Q3rT8yU1iO6pA2sD"

#define ASSERT_STR(got, want)                                                                      \
    do {                                                                                           \
        char *g_ = (got);                                                                          \
        ck_assert_msg(strcmp(g_, (want)) == 0, "%s is \"%s\", want \"%s\"", #got, g_, (want));     \
        free(g_);                                                                                  \
    } while (0)

/* ---- the web server ---- */

/* A TCP port on 127.0.0.1 nothing listens on right now. */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ck_assert(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
    ck_assert(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
    close(fd);
    return ntohs(a.sin_port);
}

static bool answers(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

/* DOCROOT/cgi-bin/webhook: a copy of scripts/billing-webhook.cgi. */
static void install_cgi(char *docroot, size_t len)
{
    snprintf(docroot, len, "%s/www", bi_dir());
    char path[512];
    snprintf(path, sizeof path, "%s/cgi-bin", docroot);
    mkdir(docroot, 0755);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/cgi-bin/webhook", docroot);
    FILE *in = fopen("scripts/billing-webhook.cgi", "rb");
    ck_assert_msg(in != NULL, "scripts/billing-webhook.cgi (run from the repository root)");
    FILE *out = fopen(path, "wb");
    ck_assert(out != NULL);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        ck_assert_uint_eq(fwrite(buf, 1, n, out), n);
    fclose(in);
    ck_assert_int_eq(fclose(out), 0);
    ck_assert_int_eq(chmod(path, 0755), 0);
}

/*
 * Starts `busybox httpd -f` on 127.0.0.1 serving the CGI, with INSTCTL_BIN
 * and INSTCTL_CONFIG=conf in its environment (and DOCKER_HOST removed when
 * drop_docker_host, so the config's docker_host is the one used). Returns
 * the port.
 */
static int start_server(const char *conf, bool drop_docker_host)
{
    char docroot[400], listen[64], log[400];
    install_cgi(docroot, sizeof docroot);
    snprintf(log, sizeof log, "%s/httpd.log", bi_dir());
    const char *bin = bi_instctl_bin();
    for (int attempt = 0; attempt < 3; attempt++) {
        int port = free_port();
        snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
        pid_t pid = fork();
        ck_assert(pid >= 0);
        if (pid == 0) {
            int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
            int null = open("/dev/null", O_RDONLY);
            if (fd < 0 || null < 0)
                _exit(126);
            dup2(null, 0);
            dup2(fd, 1);
            dup2(fd, 2);
            for (int i = 3; i < 1024; i++)
                close(i);
            setenv("INSTCTL_BIN", bin, 1);
            setenv("INSTCTL_CONFIG", conf, 1);
            unsetenv("INSTCTL_DB");
            if (drop_docker_host)
                unsetenv("DOCKER_HOST");
            execlp("busybox", "busybox", "httpd", "-f", "-p", listen, "-h", docroot, (char *)NULL);
            _exit(127);
        }
        bi_note_server(pid);
        for (int i = 0; i < 500; i++) {
            if (answers(port))
                return port;
            if (waitpid(pid, NULL, WNOHANG) == pid)
                break; /* it exited: the port was taken meanwhile, or no busybox */
            nanosleep(&(struct timespec){0, 10 * 1000000}, NULL);
        }
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    ck_abort_msg("busybox httpd did not start; see %s", log);
    return -1;
}

/*
 * POSTs body to the webhook with a Stripe-Signature header (none when sig is
 * NULL). Returns the HTTP status; *resp (malloc'd) the response body.
 */
static int post(int port, const char *method, const char *body, const char *sig, char **resp)
{
    char bodyfile[400], respfile[400], cmd[2048], header[256] = "";
    snprintf(bodyfile, sizeof bodyfile, "%s/post.json", bi_dir());
    snprintf(respfile, sizeof respfile, "%s/response", bi_dir());
    ck_assert(tu_write_file(bodyfile, body));
    unlink(respfile);
    if (sig != NULL) {
        ck_assert(strchr(sig, '\'') == NULL);
        snprintf(header, sizeof header, "-H 'Stripe-Signature: %s'", sig);
    }
    snprintf(cmd, sizeof cmd,
             "curl -sS -m 120 -X %s -o '%s' -w '%%{http_code}' %s"
             " -H 'Content-Type: application/json; charset=utf-8' -H 'User-Agent: Stripe/1.0'"
             " --data-binary @'%s' http://127.0.0.1:%d/cgi-bin/webhook",
             method, respfile, header, bodyfile, port);
    tu_run r = tu_sh(cmd);
    ck_assert_msg(r.status == 0, "curl: exit %d: %s", r.status, r.err);
    int code = atoi(r.out);
    tu_run_free(&r);
    size_t len = 0;
    FILE *f = fopen(respfile, "rb");
    char *text = calloc(1, 65536);
    if (f != NULL) {
        len = fread(text, 1, 65535, f);
        fclose(f);
    }
    text[len] = '\0';
    *resp = text;
    return code;
}

static void configure_secret(const char *conf)
{
    char path[400];
    snprintf(path, sizeof path, "%s/webhook.secret", bi_dir());
    ck_assert(tu_write_file(path, SECRET "\n"));
    FILE *f = fopen(conf, "a");
    ck_assert(f != NULL);
    fprintf(f, "webhook_secret_file = %s\n", path);
    ck_assert_int_eq(fclose(f), 0);
}

#define EXPECT_HTTP(code, want, resp)                                                              \
    ck_assert_msg((code) == (want), "HTTP %d, want %d: %s", (code), (want), (resp))

static void setup_instance(void)
{
    bi_setup_instance("webhook");
}

/* ---- the cases ---- */

/* A signed payment_failed: HTTP 200, the instance suspended; Stripe's retry of it: 200 again. */
START_TEST(signed_event_suspends)
{
    configure_secret(bi_conf());
    int port = start_server(bi_conf(), false);
    const char *id = bi_event_id(1);
    char *body = bi_stripe_event("stripe-invoice-payment-failed-2025-03-31.json", id, -1, bi_id());
    char sig[128], *resp;

    /* while it is (still) creating: 503, so Stripe retries, and the id is not stored */
    char *sql = NULL;
    ck_assert(asprintf(&sql, "UPDATE instances SET status = 'creating' WHERE id = '%s'", bi_id()) >
              0);
    ck_assert(bi_sql_exec(sql));
    free(sql);
    bi_sign(sig, sizeof sig, SECRET, time(NULL), body);
    int code = post(port, "POST", body, sig, &resp);
    EXPECT_HTTP(code, 503, resp);
    free(resp);
    ck_assert_int_eq(bi_billing_rows(id), 0);
    ck_assert(asprintf(&sql, "UPDATE instances SET status = 'running' WHERE id = '%s'", bi_id()) >
              0);
    ck_assert(bi_sql_exec(sql));
    free(sql);

    /* Stripe's next attempt */
    bi_sign(sig, sizeof sig, SECRET, time(NULL), body);
    code = post(port, "POST", body, sig, &resp);
    EXPECT_HTTP(code, 200, resp);
    ck_assert_msg(strstr(resp, "applied") != NULL, "%s", resp);
    free(resp);
    ASSERT_STR(bi_status(), "suspended");
    ASSERT_STR(bi_container_state(), "exited");
    ASSERT_STR(bi_sql("SELECT cause FROM status_events WHERE instance_id = '%s'"
                      " ORDER BY id DESC LIMIT 1",
                      bi_id()),
               "billing");
    ASSERT_STR(bi_sql("SELECT outcome FROM billing_events WHERE id = '%s'", id), "applied");

    /* delivered again (Stripe signs each attempt anew): 200, nothing more happens */
    int rows = bi_history_rows();
    bi_sign(sig, sizeof sig, SECRET, time(NULL) + 1, body);
    code = post(port, "POST", body, sig, &resp);
    EXPECT_HTTP(code, 200, resp);
    ck_assert_msg(strstr(resp, "duplicate") != NULL, "%s", resp);
    free(resp);
    ck_assert_int_eq(bi_history_rows(), rows);
    ck_assert_int_eq(bi_billing_rows(id), 1);
    free(body);
}
END_TEST

/* Forged, tampered, expired or unsigned: HTTP 400 and nothing changes. */
START_TEST(forged_event_refused)
{
    configure_secret(bi_conf());
    int port = start_server(bi_conf(), false);
    const char *id = bi_event_id(1);
    char *body = bi_stripe_event("stripe-invoice-payment-failed-2024-06-20.json", id, -1, bi_id());
    char *tampered = strdup(body);
    char *p = strstr(tampered, "2900"); /* amount_due */
    ck_assert(p != NULL);
    p[3] = '1';
    time_t now = time(NULL);
    char forged[128], good[128], expired[128];
    bi_sign(forged, sizeof forged, "whsec_wh_Q3rT8yU1iO6pA2sE", now, body);
    bi_sign(good, sizeof good, SECRET, now, body);
    bi_sign(expired, sizeof expired, SECRET, now - 3600, body);
    char *before = bi_snapshot();
    struct {
        const char *what, *body, *sig;
    } tries[] = {
        {"wrong secret", body, forged},
        {"tampered body", tampered, good},
        {"expired", body, expired},
        {"no header", body, NULL},
        {"malformed header", body, "t=abc,v1=0123"},
    };
    for (size_t i = 0; i < sizeof tries / sizeof tries[0]; i++) {
        char *resp;
        int code = post(port, "POST", tries[i].body, tries[i].sig, &resp);
        ck_assert_msg(code == 400, "%s: HTTP %d: %s", tries[i].what, code, resp);
        free(resp);
        char *after = bi_snapshot();
        ck_assert_msg(strcmp(after, before) == 0, "%s changed:\n%s\nwas:\n%s", tries[i].what, after,
                      before);
        free(after);
    }
    /* signed, for an instance nobody knows: 404 */
    char *unknown = bi_stripe_event("stripe-invoice-payment-failed-2024-06-20.json", bi_event_id(2),
                                    -1, "00000000-0000-4000-8000-0000000000cc");
    char sig[128], *resp;
    bi_sign(sig, sizeof sig, SECRET, time(NULL), unknown);
    int code = post(port, "POST", unknown, sig, &resp);
    EXPECT_HTTP(code, 404, resp);
    free(resp);
    free(unknown);
    ck_assert_int_eq(bi_billing_rows(bi_event_id(2)), 0);

    /* not a POST */
    code = post(port, "GET", body, good, &resp);
    EXPECT_HTTP(code, 405, resp);
    free(resp);
    ASSERT_STR(bi_status(), "running");
    ASSERT_STR(bi_container_state(), "running");
    ck_assert_int_eq(bi_billing_rows(id), 0);
    free(before);
    free(tampered);
    free(body);
}
END_TEST

/*
 * The engine socket missing (docker_host = unix:///nonexistent.sock): HTTP
 * 503 so Stripe retries, the id not stored; the retry once the engine is
 * back applies.
 */
START_TEST(engine_unreachable_503)
{
    configure_secret(bi_conf());
    char conf2[400], text[1024];
    snprintf(conf2, sizeof conf2, "%s/no-engine.conf", bi_dir());
    snprintf(text, sizeof text,
             "db = %s\nimage_template = instctl/odoo-standin:{version}\ncreate_timeout = 60\n"
             "docker_host = unix:///nonexistent.sock\nwebhook_secret_file = %s/webhook.secret\n",
             bi_db(), bi_dir());
    ck_assert(tu_write_file(conf2, text));
    int port = start_server(conf2, true);
    const char *id = bi_event_id(1);
    char *body = bi_stripe_event("stripe-invoice-payment-failed-2024-06-20.json", id, -1, bi_id());
    char sig[128], *resp;
    bi_sign(sig, sizeof sig, SECRET, time(NULL), body);
    char *before = bi_snapshot();
    int code = post(port, "POST", body, sig, &resp);
    EXPECT_HTTP(code, 503, resp);
    free(resp);
    char *after = bi_snapshot();
    ck_assert_msg(strcmp(after, before) == 0, "changed:\n%s\nwas:\n%s", after, before);
    free(after);
    ck_assert_int_eq(bi_billing_rows(id), 0);
    ASSERT_STR(bi_container_state(), "running");

    /* Stripe's retry reaches an instctl that can talk to the engine: applied */
    bi_sign(sig, sizeof sig, SECRET, time(NULL), body);
    tu_run r = bi_ic(body, "billing-event", "--signature", sig, "-", (const char *)NULL);
    ck_assert_msg(r.status == 0, "retry: exit %d: %s", r.status, r.err);
    tu_run_free(&r);
    ASSERT_STR(bi_status(), "suspended");
    ASSERT_STR(bi_container_state(), "exited");
    free(before);
    free(body);
}
END_TEST

/* No secret configured: the webhook refuses everything, HTTP 400, even a signed event. */
START_TEST(no_secret_refuses)
{
    int port = start_server(bi_conf(), false);
    char body[512], sig[128], *resp;
    snprintf(body, sizeof body,
             "{\"id\": \"%s\", \"type\": \"payment_failed\", \"created\": %lld, \"instance\": "
             "\"00000000-0000-4000-8000-0000000000bb\"}",
             bi_event_id(1), (long long)time(NULL));
    bi_sign(sig, sizeof sig, SECRET, time(NULL), body);
    int code = post(port, "POST", body, sig, &resp);
    EXPECT_HTTP(code, 400, resp);
    ck_assert_msg(strstr(resp, "secret") != NULL, "does not say why: %s", resp);
    free(resp);
    ASSERT_STR(bi_sql("SELECT count(*) FROM billing_events"), "0");
}
END_TEST

Suite *suite_webhook(void)
{
    const struct {
        const char *name;
        const TTest *test;
        bool instance;
    } cases[] = {
        {"signed_event_suspends", signed_event_suspends, true},
        {"forged_event_refused", forged_event_refused, true},
        {"engine_unreachable_503", engine_unreachable_503, true},
        {"no_secret_refuses", no_secret_refuses, false},
    };
    Suite *s = suite_create("webhook");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        TCase *tc = tcase_create(cases[i].name);
        tcase_set_timeout(tc, 300);
        if (cases[i].instance) {
            bi_register("webhook", cases[i].name);
            tcase_add_unchecked_fixture(tc, setup_instance, bi_unchecked_teardown);
        } else {
            tcase_add_unchecked_fixture(tc, bi_setup_bare, bi_unchecked_teardown);
        }
        tcase_add_checked_fixture(tc, bi_checked_setup, bi_checked_teardown);
        tcase_add_test(tc, cases[i].test);
        suite_add_tcase(s, tc);
    }
    return s;
}
