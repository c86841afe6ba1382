/* Calls to Odoo's HTTP endpoints on an instance's container, with libcurl. */
#include "odoo.h"

#include "engine.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static size_t discard(char *data, size_t size, size_t n, void *arg)
{
    (void)data;
    (void)arg;
    return size * n;
}

static void add_field(CURL *c, char *buf, size_t len, const char *key, const char *value)
{
    char *esc = curl_easy_escape(c, value != NULL ? value : "", 0);
    size_t used = strlen(buf);
    snprintf(buf + used, len - used, "%s%s=%s", used ? "&" : "", key, esc != NULL ? esc : "");
    curl_free(esc);
}

static CURLcode post_once(CURL *c, const char *url, const char *body, long *status)
{
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 600L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(c);
    *status = 0;
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    return rc;
}

lc_err odoo_create_database(const char *host, int port, const lc_odoo_db_request *req,
                            time_t deadline, lc_diag *d)
{
    CURL *c = lc_curl_init() ? curl_easy_init() : NULL;
    if (c == NULL)
        return lc_fail(d, LC_ENOMEM, "curl_easy_init failed");
    char url[320], body[4096] = "";
    snprintf(url, sizeof url, "http://%s:%d/web/database/create", host, port);
    add_field(c, body, sizeof body, "master_pwd", req->master_password);
    add_field(c, body, sizeof body, "name", req->database);
    add_field(c, body, sizeof body, "login", req->login);
    add_field(c, body, sizeof body, "password", req->password);
    add_field(c, body, sizeof body, "lang", req->lang != NULL ? req->lang : "en_US");
    add_field(c, body, sizeof body, "country_code", "");
    add_field(c, body, sizeof body, "phone", "");
    long status = 0;
    CURLcode rc;
    while ((rc = post_once(c, url, body, &status)) == CURLE_COULDNT_CONNECT &&
           time(NULL) < deadline)
        usleep(250 * 1000);
    explicit_bzero(body, sizeof body);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK)
        return lc_fail(d, LC_EFAILED, "POST %s: %s", url, curl_easy_strerror(rc));
    if (status < 300 || status >= 400)
        return lc_fail(d, LC_EFAILED, "POST %s: Odoo answered HTTP %ld (expected a redirect)", url,
                       status);
    return LC_OK;
}
