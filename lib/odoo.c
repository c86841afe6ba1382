/* Calls to Odoo's HTTP endpoints on an instance's container, with libcurl. */
#include "odoo.h"

#include "curl_api.h"
#include "engine.h"

#include <ctype.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The first BODY_KEEP - 1 bytes of the answer, for the error text. */
#define BODY_KEEP 65536
typedef struct body {
    char data[BODY_KEEP];
    size_t len;
} body;

static size_t keep(char *data, size_t size, size_t n, void *arg)
{
    body *b = arg;
    size_t take = size * n;
    if (take > BODY_KEEP - 1 - b->len)
        take = BODY_KEEP - 1 - b->len;
    memcpy(b->data + b->len, data, take);
    b->len += take;
    b->data[b->len] = '\0';
    return size * n;
}

/* One HTML entity at s (after '&') decoded into *c; its length, or 0. */
static size_t entity(const char *s, char *c)
{
    static const struct {
        const char *name;
        char c;
    } map[] = {{"amp;", '&'},  {"lt;", '<'},    {"gt;", '>'},    {"quot;", '"'},
               {"#39;", '\''}, {"#x27;", '\''}, {"apos;", '\''}, {"nbsp;", ' '}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strncmp(s, map[i].name, strlen(map[i].name)) == 0) {
            *c = map[i].c;
            return strlen(map[i].name);
        }
    return 0;
}

bool odoo_page_error(const char *html, char *out, size_t cap)
{
    const char *p = html != NULL ? strstr(html, "alert-danger") : NULL;
    p = p != NULL ? strchr(p, '>') : NULL;
    if (p == NULL || cap == 0)
        return false;
    size_t n = 0;
    bool space = false, in_tag = false;
    for (p++; *p != '\0' && n + 1 < cap; p++) {
        if (*p == '<' && strncmp(p, "</div", 5) == 0)
            break;
        if (*p == '<' || *p == '>') {
            in_tag = *p == '<';
            space = n > 0;
            continue;
        }
        char c = *p;
        if (in_tag)
            continue;
        if (c == '&')
            p += entity(p + 1, &c);
        if (isspace((unsigned char)c) || iscntrl((unsigned char)c)) {
            space = n > 0;
            continue;
        }
        if (space && n + 2 < cap)
            out[n++] = ' ';
        space = false;
        out[n++] = c;
    }
    out[n] = '\0';
    return n > 0;
}

/* Appends key=value (form-encoded); false when it does not fit (never cut short). */
static bool add_field(CURL *c, char *buf, size_t len, const char *key, const char *value)
{
    char *esc = curl_easy_escape(c, value != NULL ? value : "", 0);
    size_t used = strlen(buf);
    int n =
        esc == NULL ? -1 : snprintf(buf + used, len - used, "%s%s=%s", used ? "&" : "", key, esc);
    curl_free(esc);
    if (n >= 0 && (size_t)n < len - used)
        return true;
    buf[used] = '\0';
    return false;
}

static CURLcode post_once(CURL *c, const char *url, const char *form, body *answer, long *status)
{
    curl_easy_reset(c);
    answer->len = 0;
    answer->data[0] = '\0';
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*"); /* never an HTTP proxy from the environment */
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, form);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, answer);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 600L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    lc_curl_stop_on_interrupt(c);

    CURLcode rc = curl_easy_perform(c);
    *status = 0;
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    return rc;
}

lc_err odoo_create_database(const char *host, int port, const lc_odoo_db_request *req,
                            time_t deadline, lc_diag *d)
{
    if (!lc_curl_init())
        return lc_fail(d, LC_EFAILED, "Odoo client: %s", lc_curl_error());
    CURL *c = curl_easy_init();
    body *answer = malloc(sizeof *answer);
    if (c == NULL || answer == NULL) {
        curl_easy_cleanup(c);
        free(answer);
        return lc_fail(d, LC_ENOMEM, "curl_easy_init failed");
    }
    char url[320], form[4096] = "";
    snprintf(url, sizeof url, "http://%s:%d/web/database/create", host, port);
    bool fits = add_field(c, form, sizeof form, "master_pwd", req->master_password) &&
                add_field(c, form, sizeof form, "name", req->database) &&
                add_field(c, form, sizeof form, "login", req->login) &&
                add_field(c, form, sizeof form, "password", req->password) &&
                add_field(c, form, sizeof form, "lang", req->lang != NULL ? req->lang : "en_US") &&
                add_field(c, form, sizeof form, "country_code", "") &&
                add_field(c, form, sizeof form, "phone", "");
    long status = 0;
    CURLcode rc = CURLE_OK;
    while (fits && (rc = post_once(c, url, form, answer, &status)) == CURLE_COULDNT_CONNECT &&
           time(NULL) < deadline && !lc_interrupt_pending())
        usleep(250 * 1000);
    explicit_bzero(form, sizeof form);
    curl_easy_cleanup(c);
    char why[512];
    lc_err e = LC_OK;
    if (!fits)
        e = lc_fail(d, LC_EUSAGE, "POST %s: the form (passwords, login) is longer than %zu bytes",
                    url, sizeof form - 1);
    else if (lc_interrupt_pending())
        e = lc_fail(d, LC_EINTR, "POST %s: interrupted", url);
    else if (rc != CURLE_OK)
        e = lc_fail(d, LC_EFAILED, "POST %s: %s", url, curl_easy_strerror(rc));
    else if ((status < 300 || status >= 400) && odoo_page_error(answer->data, why, sizeof why))
        e = lc_fail(d, LC_EFAILED, "POST %s: Odoo answered HTTP %ld: %s", url, status, why);
    else if (status < 300 || status >= 400)
        e = lc_fail(d, LC_EFAILED, "POST %s: Odoo answered HTTP %ld (expected a redirect)", url,
                    status);
    free(answer);
    return e;
}
