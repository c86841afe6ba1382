/*
 * Docker Engine API client (DESIGN §6, §7a): libcurl over the engine's Unix
 * socket or over TCP with mutual TLS, one easy handle per client (so its connection is reused; a
 * client is not shared between threads), the API version negotiated from /_ping, and the error
 * mapping of engine.h. Bodies are parsed in engine_json.c.
 */
#include "engine.h"

#include "curl_api.h"

#include <cjson/cJSON.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "tar.h"

#define API_MINOR_MIN 41
#define API_MINOR_MAX 47
#define CONNECT_TIMEOUT_S 5L
#define REQUEST_TIMEOUT_S 120L
#define STOP_GRACE_S 30L
/* A pull may take long on a slow link; it is aborted when nothing arrives for LOW_SPEED_S. */
#define PULL_TIMEOUT_S 3600L
#define LOW_SPEED_S 120L
#define DEFAULT_DATA_PATH "/var/lib/odoo"

#define TLS_DEFAULT_PORT 2376

struct lc_engine {
    CURL *curl;
    char socket[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* "" for tcp:// */
    char where[300];   /* the socket path, or "tcp://HOST:PORT": what errors name */
    char base[300];    /* "http://localhost" or "https://HOST:PORT" */
    lc_engine_tls tls; /* tcp:// only */
    char api[8];       /* "" until pinged */
    unsigned long requests;
};

typedef struct body {
    char *data; /* always NUL-terminated */
    size_t len, cap;
    bool oom;
} body;

typedef struct request {
    const char *method;
    const char *path; /* appended to /v<api>, or sent as is when raw */
    bool raw;
    const char *ctype; /* Content-Type of data, NULL when no body */
    const void *data;
    size_t len;
    long timeout_s; /* 0 means REQUEST_TIMEOUT_S, < 0 no limit */
    bool low_speed; /* abort when the body stalls for LOW_SPEED_S */
    /* Streaming: a 2xx body goes to sink instead of memory; source feeds an upload. */
    lc_sink_fn sink;
    lc_source_fn source;
    void *stream_arg;
    bool (*tick)(void *arg, bool answered); /* about once a second; false stops */
    long long upload_len;                   /* bytes source will give */
} request;

typedef struct response {
    long status;
    body body;
    bool aborted; /* the sink or source stopped the transfer */
} response;

/* What the streaming callbacks need during one transfer. */
typedef struct stream {
    CURL *curl;
    const request *rq;
    response *rs;
} stream;

lc_curl_api lc_curl;

/* Where lc_curl's members come from: libcurl's own names. */
#define CURL_SYM(ret, member, params) {"curl_" #member, offsetof(lc_curl_api, member)},
static const struct {
    const char *name;
    size_t offset;
} curl_syms[] = {LC_CURL_FUNCTIONS(CURL_SYM)};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static char curl_error[256]; /* "" once libcurl is loaded and initialised */

/* Loads libcurl (curl_api.h), fills lc_curl, and runs curl_global_init. */
static void curl_init(void)
{
    void *lib = dlopen(LC_CURL_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
        snprintf(curl_error, sizeof curl_error, "cannot load libcurl: %s", dlerror());
        return;
    }
    for (size_t i = 0; i < sizeof curl_syms / sizeof curl_syms[0]; i++) {
        void *f = dlsym(lib, curl_syms[i].name);
        if (f == NULL) {
            snprintf(curl_error, sizeof curl_error, "%s: no %s (libcurl 7.84 or later needed)",
                     LC_CURL_SONAME, curl_syms[i].name);
            return;
        }
        memcpy((char *)&lc_curl + curl_syms[i].offset, &f, sizeof f);
    }
    CURLcode rc = lc_curl.global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK)
        snprintf(curl_error, sizeof curl_error, "curl_global_init: %s", lc_curl.easy_strerror(rc));
}

bool lc_curl_init(void)
{
    pthread_once(&curl_once, curl_init);
    return curl_error[0] == '\0';
}

const char *lc_curl_error(void)
{
    return curl_error;
}

bool engine_tls_from_dir(const char *dir, lc_engine_tls *t)
{
    memset(t, 0, sizeof *t);
    return dir != NULL && dir[0] != '\0' &&
           (size_t)snprintf(t->ca, sizeof t->ca, "%s/ca.pem", dir) < sizeof t->ca &&
           (size_t)snprintf(t->cert, sizeof t->cert, "%s/cert.pem", dir) < sizeof t->cert &&
           (size_t)snprintf(t->key, sizeof t->key, "%s/key.pem", dir) < sizeof t->key;
}

/* "HOST[:PORT]" of a tcp:// URL into e->where and e->base; LC_ECONFIG when malformed. */
static lc_err parse_tcp(const char *host, const char *hp, lc_engine *e, lc_diag *d)
{
    char name[256];
    const char *port = NULL;
    size_t n;
    if (hp[0] == '[') {
        n = strcspn(hp + 1, "]") + 2;
        if (hp[n - 1] != ']' || n < 4)
            return lc_fail(d, LC_ECONFIG, "Docker host %s: unclosed [ in the address", host);
    } else {
        n = strcspn(hp, ":/");
        if (strspn(hp, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") < n)
            return lc_fail(d, LC_ECONFIG, "Docker host %s: \"%.*s\" is not a host name or address",
                           host, (int)n, hp);
    }
    if (hp[n] == ':')
        port = hp + n + 1;
    else if (hp[n] != '\0')
        return lc_fail(d, LC_ECONFIG, "Docker host %s: use tcp://HOST:PORT (no path)", host);
    char *end = NULL;
    long p = port != NULL ? strtol(port, &end, 10) : TLS_DEFAULT_PORT;
    if (n == 0 || n >= sizeof name)
        return lc_fail(d, LC_ECONFIG, "Docker host %s: no host name", host);
    if (port != NULL && (end == port || *end != '\0' || p < 1 || p > 65535))
        return lc_fail(d, LC_ECONFIG, "Docker host %s: bad port \"%s\" (1..65535)", host, port);
    snprintf(name, sizeof name, "%.*s", (int)n, hp);
    snprintf(e->where, sizeof e->where, "tcp://%s:%ld", name, p);
    snprintf(e->base, sizeof e->base, "https://%s:%ld", name, p);
    return LC_OK;
}

/* The TLS files of a tcp:// engine: all three given and readable; LC_ECONFIG otherwise. */
static lc_err check_tls(const char *host, const lc_engine_tls *tls, lc_engine *e, lc_diag *d)
{
    lc_engine_tls env;
    const char *certs = getenv("DOCKER_CERT_PATH");
    if (tls == NULL && certs != NULL && certs[0] != '\0' && engine_tls_from_dir(certs, &env))
        tls = &env;
    if (tls == NULL || (tls->ca[0] == '\0' && tls->cert[0] == '\0' && tls->key[0] == '\0'))
        return lc_fail(d, LC_ECONFIG,
                       "Docker host %s: plain TCP is refused; give the engine's TLS material "
                       "(ca.pem, cert.pem, key.pem: --tls-dir or DOCKER_CERT_PATH)",
                       host);
    const struct {
        const char *what, *path;
    } files[] = {
        {"CA certificate", tls->ca}, {"client certificate", tls->cert}, {"client key", tls->key}};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        if (files[i].path[0] == '\0')
            return lc_fail(d, LC_ECONFIG,
                           "Docker host %s: no TLS %s given (a tcp:// engine needs the CA, a "
                           "client certificate and its key)",
                           host, files[i].what);
        if (access(files[i].path, R_OK) != 0)
            return lc_fail(d, LC_ECONFIG, "Docker host %s: TLS %s %s: %s", host, files[i].what,
                           files[i].path, strerror(errno));
    }
    e->tls = *tls;
    return LC_OK;
}

/* Where host points, into e: a Unix socket or a TLS endpoint. */
static lc_err parse_host(const char *host, const lc_engine_tls *tls, lc_engine *e, lc_diag *d)
{
    if (strncmp(host, "tcp://", 6) == 0) {
        lc_err err = parse_tcp(host, host + 6, e, d);
        return err == LC_OK ? check_tls(host, tls, e, d) : err;
    }
    const char *path = strncmp(host, "unix://", 7) == 0 ? host + 7 : host;
    if (path[0] != '/')
        return lc_fail(d, LC_ECONFIG,
                       "Docker host %s: use unix:///path or tcp://HOST:PORT (with TLS)", host);
    if (strlen(path) >= sizeof e->socket)
        return lc_fail(d, LC_ECONFIG, "Docker host %s: socket path too long", host);
    snprintf(e->socket, sizeof e->socket, "%s", path);
    snprintf(e->where, sizeof e->where, "%s", path);
    snprintf(e->base, sizeof e->base, "http://localhost");
    return LC_OK;
}

lc_err engine_open_tls(const char *host, const lc_engine_tls *tls, lc_engine **out, lc_diag *d)
{
    *out = NULL;
    if (host == NULL || host[0] == '\0')
        host = getenv("DOCKER_HOST");
    if (host == NULL || host[0] == '\0')
        host = LC_DEFAULT_DOCKER_HOST;
    lc_engine *e = calloc(1, sizeof *e);
    if (e == NULL)
        return lc_fail(d, LC_ENOMEM, "Docker client: out of memory");
    lc_err err = parse_host(host, tls, e, d);
    if (err == LC_OK && !lc_curl_init())
        err = lc_fail(d, LC_EENGINE, "Docker client: %s", lc_curl_error());
    if (err == LC_OK && (e->curl = curl_easy_init()) == NULL)
        err = lc_fail(d, LC_ENOMEM, "Docker client: out of memory");
    if (err != LC_OK) {
        free(e);
        return err;
    }
    *out = e;
    return LC_OK;
}

lc_err engine_open(const char *host, lc_engine **out, lc_diag *d)
{
    return engine_open_tls(host, NULL, out, d);
}

lc_err engine_clone(const lc_engine *e, lc_engine **out, lc_diag *d)
{
    *out = NULL;
    lc_engine *c = malloc(sizeof *c);
    if (c == NULL || (*c = *e, c->curl = curl_easy_init()) == NULL) {
        free(c);
        return lc_fail(d, LC_ENOMEM, "Docker client: out of memory");
    }
    c->api[0] = '\0';
    c->requests = 0;
    *out = c;
    return LC_OK;
}

void engine_close(lc_engine *e)
{
    if (e == NULL)
        return;
    curl_easy_cleanup(e->curl);
    free(e);
}

const char *engine_api_version(const lc_engine *e)
{
    return e->api;
}

unsigned long engine_request_count(const lc_engine *e)
{
    return e->requests;
}

const char *engine_socket_path(const lc_engine *e)
{
    return e->socket;
}

const char *engine_where(const lc_engine *e)
{
    return e->where;
}

/* Never returns 0 for data; on allocation failure a short count makes curl abort. */
static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    body *b = userdata;
    size_t n = size * nmemb;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *grown = realloc(b->data, cap);
        if (grown == NULL) {
            b->oom = true;
            return n - 1;
        }
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

static void response_free(response *rs)
{
    free(rs->body.data);
    rs->body = (body){0};
}

/* A 2xx body goes to the sink; an error answer is kept (up to 64 KiB) for its message. */
static size_t on_stream(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    stream *st = userdata;
    size_t n = size * nmemb;
    long status = 0;
    curl_easy_getinfo(st->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200 || status >= 300)
        return st->rs->body.len + n < 65536 ? on_data(ptr, size, nmemb, &st->rs->body) : n;
    if (st->rq->sink(st->rq->stream_arg, ptr, n))
        return n;
    st->rs->aborted = true;
    return n == 0 ? CURL_WRITEFUNC_ERROR : 0;
}

static size_t on_read(char *buf, size_t size, size_t nitems, void *userdata)
{
    stream *st = userdata;
    size_t n = st->rq->source(st->rq->stream_arg, buf, size * nitems);
    if (n != LC_SOURCE_ERROR)
        return n;
    st->rs->aborted = true;
    return CURL_READFUNC_ABORT;
}

/* A stream's progress callback, about once a second even when nothing arrives; a stop signal ends
 * it. */
static int on_tick(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                   curl_off_t ulnow)
{
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    stream *st = userdata;
    if (lc_interrupt_pending())
        return 1;
    long status = 0;
    curl_easy_getinfo(st->curl, CURLINFO_RESPONSE_CODE, &status);
    if (st->rq->tick(st->rq->stream_arg, status == 200))
        return 0;
    st->rs->aborted = true;
    return 1;
}

static void set_method(CURL *c, const request *rq, stream *st)
{
    if (rq->source != NULL) {
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(c, CURLOPT_READDATA, st);
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)rq->upload_len);
        if (strcmp(rq->method, "PUT") != 0)
            curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, rq->method);
        return;
    }
    if (strcmp(rq->method, "GET") == 0) {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
        return;
    }
    if (strcmp(rq->method, "POST") == 0 || rq->data != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq->data != NULL ? rq->data : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->len);
    }
    if (strcmp(rq->method, "POST") != 0)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, rq->method);
}

/* A transfer is abandoned at once when SIGINT, SIGTERM or SIGHUP arrived (DESIGN §2). */
static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)arg;
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    return lc_interrupt_pending() ? 1 : 0;
}

void lc_curl_stop_on_interrupt(void *curl)
{
    curl_easy_setopt((CURL *)curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt((CURL *)curl, CURLOPT_NOPROGRESS, 0L);
}

/* https only, the engine's certificate verified against our CA alone, our certificate presented. */
static void set_tls(CURL *c, const lc_engine_tls *tls)
{
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(c, CURLOPT_CAINFO, tls->ca);
    curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
    curl_easy_setopt(c, CURLOPT_SSLCERT, tls->cert);
    curl_easy_setopt(c, CURLOPT_SSLKEY, tls->key);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
}

static void set_options(lc_engine *e, const request *rq, const char *url, char *errbuf, stream *st)
{
    CURL *c = e->curl;
    response *rs = st->rs;
    curl_easy_reset(c);
    if (e->socket[0] != '\0')
        curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, e->socket);
    else
        set_tls(c, &e->tls);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
    long timeout = rq->timeout_s > 0 ? rq->timeout_s : REQUEST_TIMEOUT_S;
    curl_easy_setopt(c, CURLOPT_TIMEOUT, rq->timeout_s < 0 ? 0L : timeout);
    if (rq->low_speed) {
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, LOW_SPEED_S);
    }
    lc_curl_stop_on_interrupt(c);
    if (rq->tick != NULL) {
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_tick);
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, st);
    }
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, rq->sink != NULL ? on_stream : on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, rq->sink != NULL ? (void *)st : (void *)&rs->body);
    set_method(c, rq, st);
}

/* A failed TLS session with a tcp:// engine, said in words; LC_OK when rc is not about TLS. */
static lc_err tls_error(lc_engine *e, CURLcode rc, const char *errbuf, lc_diag *d)
{
    const char *why = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);
    switch (rc) {
    case CURLE_PEER_FAILED_VERIFICATION:
        return lc_fail(d, LC_EENGINE,
                       "Docker engine at %s: its TLS certificate cannot be verified with the CA "
                       "%s (%s)",
                       e->where, e->tls.ca, why);
    case CURLE_SSL_CACERT_BADFILE:
        return lc_fail(d, LC_ECONFIG, "Docker engine at %s: TLS CA certificate %s unusable (%s)",
                       e->where, e->tls.ca, why);
    case CURLE_SSL_CERTPROBLEM:
        return lc_fail(d, LC_ECONFIG,
                       "Docker engine at %s: TLS client certificate %s or key %s unusable (%s)",
                       e->where, e->tls.cert, e->tls.key, why);
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
        if (rc != CURLE_SSL_CONNECT_ERROR && strstr(why, "SSL") == NULL)
            return LC_OK;
        return lc_fail(d, LC_EENGINE,
                       "Docker engine at %s: the TLS session was refused (does the engine speak "
                       "TLS and accept the client certificate %s?): %s",
                       e->where, e->tls.cert, why);
    default:
        return LC_OK;
    }
}

/* curl's own text names "localhost port 80" on a failed connect; say the engine and errno. */
static lc_err transport_error(lc_engine *e, CURLcode rc, const char *errbuf, lc_diag *d)
{
    long os_errno = 0;
    lc_err err = e->socket[0] == '\0' ? tls_error(e, rc, errbuf, d) : LC_OK;
    if (err != LC_OK)
        return err;
    if (rc == CURLE_COULDNT_CONNECT &&
        curl_easy_getinfo(e->curl, CURLINFO_OS_ERRNO, &os_errno) == CURLE_OK && os_errno != 0)
        return os_errno == EACCES
                   ? lc_fail(d, LC_EENGINE,
                             "permission denied: %s (instctl needs read and write access to the "
                             "Docker engine's socket; run as root or as a member of its group, "
                             "usually docker)",
                             e->where)
                   : lc_fail(d, LC_EENGINE, "cannot reach the Docker engine at %s: %s", e->where,
                             strerror((int)os_errno));
    return lc_fail(d, LC_EENGINE, "Docker engine at %s: %s", e->where,
                   errbuf[0] != '\0' && rc != CURLE_COULDNT_CONNECT ? errbuf
                                                                    : curl_easy_strerror(rc));
}

/*
 * Sends one request; rs gets the status and body (free with response_free,
 * also on failure). Transport failures, including a cut-off body, are
 * LC_EENGINE; the caller prefixes what it was doing.
 */
static lc_err perform(lc_engine *e, const request *rq, response *rs, lc_diag *d)
{
    char url[4096], errbuf[CURL_ERROR_SIZE] = "", ctype[128];
    *rs = (response){.body = {.data = malloc(4096), .cap = 4096}};
    if (rs->body.data == NULL)
        return lc_fail(d, LC_ENOMEM, "out of memory");
    rs->body.data[0] = '\0';
    snprintf(url, sizeof url, "%s%s%s%s", e->base, rq->raw ? "" : "/v", rq->raw ? "" : e->api,
             rq->path);
    stream st = {.curl = e->curl, .rq = rq, .rs = rs};
    set_options(e, rq, url, errbuf, &st);
    struct curl_slist *hdrs = curl_slist_append(NULL, "Expect:"), *more = hdrs;
    if (rq->ctype != NULL) {
        snprintf(ctype, sizeof ctype, "Content-Type: %s", rq->ctype);
        more = hdrs != NULL ? curl_slist_append(hdrs, ctype) : NULL;
    }
    if (more == NULL) {
        curl_slist_free_all(hdrs);
        return lc_fail(d, LC_ENOMEM, "out of memory");
    }
    curl_easy_setopt(e->curl, CURLOPT_HTTPHEADER, hdrs);
    e->requests++;
    CURLcode rc = curl_easy_perform(e->curl);
    curl_easy_setopt(e->curl, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hdrs);
    if (rs->body.oom)
        return lc_fail(d, LC_ENOMEM, "out of memory reading the engine's answer");
    if (rs->aborted)
        return lc_fail(d, LC_EFAILED, "transfer stopped by the caller");
    if (rc == CURLE_ABORTED_BY_CALLBACK || (rc != CURLE_OK && lc_interrupt_pending()))
        return lc_fail(d, LC_EINTR, "Docker request %s %s interrupted", rq->method, rq->path);
    if (rc != CURLE_OK)
        return transport_error(e, rc, errbuf, d);
    curl_easy_getinfo(e->curl, CURLINFO_RESPONSE_CODE, &rs->status);
    return LC_OK;
}

/* Reads the Api-Version header of the last answer (every one has it): >= 1.41, capped at 1.47. */
static lc_err negotiate(lc_engine *e, lc_diag *d)
{
    struct curl_header *h = NULL;
    int major = 0, minor = 0;
    if (curl_easy_header(e->curl, "Api-Version", 0, CURLH_HEADER, -1, &h) != CURLHE_OK ||
        sscanf(h->value, "%d.%d", &major, &minor) != 2)
        return lc_fail(d, LC_EENGINE, "Docker engine at %s: answer without an API version",
                       e->where);
    if (major < 1 || (major == 1 && minor < API_MINOR_MIN))
        return lc_fail(d, LC_EENGINE, "Docker engine at %s: API %d.%d is older than %s", e->where,
                       major, minor, LC_ENGINE_MIN_API);
    if (major > 1 || minor > API_MINOR_MAX)
        minor = API_MINOR_MAX;
    snprintf(e->api, sizeof e->api, "1.%d", minor);
    return LC_OK;
}

lc_err engine_ping(lc_engine *e, lc_diag *d)
{
    if (e->api[0] != '\0')
        return LC_OK;
    request rq = {.method = "GET", .path = "/_ping", .raw = true};
    response rs;
    lc_err err = perform(e, &rq, &rs, d);
    if (err == LC_OK && rs.status != 200)
        err = lc_fail(d, LC_EENGINE, "Docker engine at %s: /_ping answered HTTP %ld", e->where,
                      rs.status);
    if (err == LC_OK)
        err = negotiate(e, d);
    response_free(&rs);
    return err;
}

/* Docker's message, else the first line of a non-JSON body, else the status. */
static lc_err http_error(const response *rs, lc_diag *d, const char *what)
{
    char msg[768];
    engine_parse_message(rs->body.data, rs->body.len, msg, sizeof msg);
    if (msg[0] == '\0' && rs->body.len > 0 && rs->body.data[0] != '{')
        snprintf(msg, sizeof msg, "%.*s", (int)strcspn(rs->body.data, "\r\n"), rs->body.data);
    if (msg[0] == '\0')
        snprintf(msg, sizeof msg, "HTTP %ld", rs->status);
    return lc_fail(d, rs->status == 404 ? LC_ENOTFOUND : LC_EDOCKER, "%s: %s", what, msg);
}

/*
 * The first request of a client goes to /v1.41 (the minimum every usable
 * engine accepts) and its Api-Version header negotiates the version for the
 * rest, so a reconcile pass costs no separate /_ping. Sends rq and checks the status: 2xx and 304
 * (a start or stop with nothing to do) succeed. d gets "what: detail" on failure; rs is the
 * caller's to free either way.
 */
static lc_err call(lc_engine *e, const request *rq, response *rs, lc_diag *d, const char *what)
{
    *rs = (response){0};
    bool first = e->api[0] == '\0';
    if (first)
        snprintf(e->api, sizeof e->api, "%s", LC_ENGINE_MIN_API);
    lc_err err = perform(e, rq, rs, d);
    if (first && err == LC_OK)
        err = negotiate(e, d);
    if (first && err != LC_OK)
        e->api[0] = '\0';
    if (err != LC_OK)
        return lc_prefix(d, err, "%s", what);
    if ((rs->status >= 200 && rs->status < 300) || rs->status == 304)
        return LC_OK;
    return http_error(rs, d, what);
}

/* Percent-encodes s into out, keeping unreserved characters and those in keep. */
static bool encode(char *out, size_t cap, const char *s, const char *keep)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= '0' && *p <= '9') || strchr("-._~", *p) != NULL ||
                     strchr(keep, *p) != NULL;
        if (n + (plain ? 1 : 3) >= cap)
            return false;
        if (plain) {
            out[n++] = (char)*p;
        } else {
            out[n++] = '%';
            out[n++] = hex[*p >> 4];
            out[n++] = hex[*p & 15];
        }
    }
    out[n] = '\0';
    return true;
}

/* "/<kind>/<encoded name><suffix>" into path; false when name is empty or too long. */
static bool object_path(char *path, size_t cap, const char *kind, const char *name,
                        const char *suffix)
{
    char enc[1024];
    if (name == NULL || name[0] == '\0' ||
        !encode(enc, sizeof enc, name, strcmp(kind, "images") == 0 ? "/:@" : ""))
        return false;
    return (size_t)snprintf(path, cap, "/%s/%s%s", kind, enc, suffix) < cap;
}

/* Sends method on /<kind>/<name><suffix> with no body and frees the answer. */
static lc_err simple(lc_engine *e, const char *method, const char *kind, const char *name,
                     const char *suffix, long timeout_s, lc_diag *d, const char *what)
{
    char path[2048];
    if (!object_path(path, sizeof path, kind, name, suffix))
        return lc_fail(d, LC_EUSAGE, "%s: empty or too long a name", what);
    request rq = {.method = method, .path = path, .timeout_s = timeout_s};
    response rs;
    lc_err err = call(e, &rq, &rs, d, what);
    response_free(&rs);
    return err;
}

lc_err engine_image_exists(lc_engine *e, const char *image, bool *exists, lc_diag *d)
{
    char what[320];
    snprintf(what, sizeof what, "inspect image %s", image);
    lc_err err = simple(e, "GET", "images", image, "/json", 0, d, what);
    *exists = err == LC_OK;
    return err == LC_ENOTFOUND ? LC_OK : err;
}

/* The first {"error": ...} of a progress stream (one JSON object a line) into msg. */
static bool stream_error(const char *s, char *msg, size_t len)
{
    while (*s != '\0') {
        size_t n = strcspn(s, "\n");
        cJSON *line = cJSON_ParseWithLength(s, n);
        const char *err = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(line, "error"));
        if (err != NULL)
            snprintf(msg, len, "%s", err);
        cJSON_Delete(line);
        if (err != NULL)
            return true;
        s += n + (s[n] == '\n');
    }
    return false;
}

/* Splits an image reference into repository and tag (or digest); "latest" when none. */
static void split_image(const char *image, char *repo, char *tag, size_t len)
{
    const char *at = strchr(image, '@'), *slash = strrchr(image, '/');
    const char *colon = strrchr(image, ':');
    const char *cut =
        at != NULL ? at : (colon != NULL && (slash == NULL || colon > slash) ? colon : NULL);
    if (cut == NULL) {
        snprintf(repo, len, "%s", image);
        snprintf(tag, len, "latest");
        return;
    }
    snprintf(repo, len, "%.*s", (int)(cut - image), image);
    snprintf(tag, len, "%s", cut + 1);
}

lc_err engine_image_pull(lc_engine *e, const char *image, lc_diag *d)
{
    char what[320], repo[512], tag[512], erepo[1024], etag[1024], path[2200], msg[768];
    snprintf(what, sizeof what, "pull image %s", image);
    split_image(image, repo, tag, sizeof repo);
    if (repo[0] == '\0' || tag[0] == '\0' || !encode(erepo, sizeof erepo, repo, "") ||
        !encode(etag, sizeof etag, tag, ""))
        return lc_fail(d, LC_EUSAGE, "%s: not an image reference", what);
    snprintf(path, sizeof path, "/images/create?fromImage=%s&tag=%s", erepo, etag);
    request rq = {.method = "POST", .path = path, .timeout_s = PULL_TIMEOUT_S, .low_speed = true};
    response rs;
    lc_err err = call(e, &rq, &rs, d, what);
    if (err == LC_OK && stream_error(rs.body.data, msg, sizeof msg))
        err = lc_fail(d, LC_EDOCKER, "%s: %s", what, msg);
    response_free(&rs);
    return err;
}

lc_err engine_image_user(lc_engine *e, const char *image, char *user, size_t len, lc_diag *d)
{
    char what[320], path[2048];
    snprintf(what, sizeof what, "inspect image %s", image);
    if (len > 0)
        user[0] = '\0';
    if (!object_path(path, sizeof path, "images", image, "/json"))
        return lc_fail(d, LC_EUSAGE, "%s: empty or too long a name", what);
    request rq = {.method = "GET", .path = path};
    response rs;
    lc_err err = call(e, &rq, &rs, d, what);
    cJSON *root = err == LC_OK ? cJSON_ParseWithLength(rs.body.data, rs.body.len) : NULL;
    if (err == LC_OK && !cJSON_IsObject(root))
        err = lc_fail(d, LC_EENGINE, "%s: unparsable answer", what);
    const char *u = cJSON_GetStringValue(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "Config"), "User"));
    if (err == LC_OK && u != NULL && len > 0)
        snprintf(user, len, "%s", u);
    cJSON_Delete(root);
    response_free(&rs);
    return err;
}

/* Adds the managed/store/instance (and role, when set) labels to obj; false when out of memory. */
static bool add_labels_role(cJSON *obj, const char *store_uuid, const char *instance_id,
                            const char *role)
{
    cJSON *l = cJSON_AddObjectToObject(obj, "Labels");
    return l != NULL && cJSON_AddStringToObject(l, LC_LABEL_MANAGED, "true") != NULL &&
           (store_uuid == NULL || cJSON_AddStringToObject(l, LC_LABEL_STORE, store_uuid)) &&
           (instance_id == NULL || cJSON_AddStringToObject(l, LC_LABEL_INSTANCE, instance_id)) &&
           (role == NULL || role[0] == '\0' || cJSON_AddStringToObject(l, LC_LABEL_ROLE, role));
}

static bool add_labels(cJSON *obj, const char *store_uuid, const char *instance_id)
{
    return add_labels_role(obj, store_uuid, instance_id, NULL);
}

/* Sends a JSON body built by the caller (deleted here); the answer is the caller's. */
static lc_err call_json(lc_engine *e, const char *path, cJSON *json, response *rs, lc_diag *d,
                        const char *what)
{
    char *text = json != NULL ? cJSON_PrintUnformatted(json) : NULL;
    cJSON_Delete(json);
    *rs = (response){0};
    if (text == NULL)
        return lc_fail(d, LC_ENOMEM, "%s: out of memory", what);
    request rq = {.method = "POST",
                  .path = path,
                  .ctype = "application/json",
                  .data = text,
                  .len = strlen(text)};
    lc_err err = call(e, &rq, rs, d, what);
    free(text);
    return err;
}

static bool label_is(const cJSON *labels, const char *key, const char *want)
{
    const char *got = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(labels, key));
    return want == NULL || (got != NULL && strcmp(got, want) == 0);
}

/*
 * Creating a volume that exists answers 201 with the existing volume and its
 * old labels: refuse one labelled for another store or instance.
 */
static bool labels_match(const response *rs, const char *store_uuid, const char *instance_id)
{
    cJSON *root = cJSON_ParseWithLength(rs->body.data, rs->body.len);
    const cJSON *labels = cJSON_GetObjectItemCaseSensitive(root, "Labels");
    bool ok = label_is(labels, LC_LABEL_MANAGED, "true") &&
              label_is(labels, LC_LABEL_STORE, store_uuid) &&
              label_is(labels, LC_LABEL_INSTANCE, instance_id);
    cJSON_Delete(root);
    return ok;
}

lc_err engine_volume_create(lc_engine *e, const char *name, const char *store_uuid,
                            const char *instance_id, lc_diag *d)
{
    char what[320];
    if (name == NULL || name[0] == '\0')
        return lc_fail(d, LC_EUSAGE, "create volume: no name");
    snprintf(what, sizeof what, "create volume %s", name);
    cJSON *body = cJSON_CreateObject();
    if (cJSON_AddStringToObject(body, "Name", name) == NULL ||
        !add_labels(body, store_uuid, instance_id)) {
        cJSON_Delete(body);
        body = NULL;
    }
    response rs;
    lc_err err = call_json(e, "/volumes/create", body, &rs, d, what);
    if (err == LC_OK && !labels_match(&rs, store_uuid, instance_id))
        err = lc_fail(d, LC_EDOCKER, "%s: the volume exists with other labels", what);
    response_free(&rs);
    return err;
}

lc_err engine_volume_exists(lc_engine *e, const char *name, bool *exists, lc_diag *d)
{
    char what[320];
    snprintf(what, sizeof what, "inspect volume %s", name);
    lc_err err = simple(e, "GET", "volumes", name, "", 0, d, what);
    *exists = err == LC_OK;
    return err == LC_ENOTFOUND ? LC_OK : err;
}

lc_err engine_volume_remove(lc_engine *e, const char *name, lc_diag *d)
{
    char what[320];
    snprintf(what, sizeof what, "remove volume %s", name);
    lc_err err = simple(e, "DELETE", "volumes", name, "", 0, d, what);
    return err == LC_ENOTFOUND ? LC_OK : err;
}

static bool add_host_config(cJSON *root, const lc_container_spec *s)
{
    cJSON *hc = cJSON_AddObjectToObject(root, "HostConfig");
    cJSON *rp = cJSON_AddObjectToObject(hc, "RestartPolicy");
    bool ok = cJSON_AddBoolToObject(hc, "Init", 1) != NULL &&
              cJSON_AddStringToObject(
                  rp, "Name", s->role != NULL && s->role[0] ? "no" : "unless-stopped") != NULL;
    if (ok && s->network != NULL && s->network[0] != '\0')
        ok = cJSON_AddStringToObject(hc, "NetworkMode", s->network) != NULL;
    if (ok && s->publish_address != NULL && s->publish_address[0] != '\0') {
        cJSON *b = cJSON_CreateObject();
        cJSON *list =
            cJSON_AddArrayToObject(cJSON_AddObjectToObject(hc, "PortBindings"), LC_ODOO_PORT_KEY);
        ok = b != NULL && list != NULL &&
             cJSON_AddStringToObject(b, "HostIp", s->publish_address) != NULL &&
             cJSON_AddStringToObject(b, "HostPort", "") != NULL && cJSON_AddItemToArray(list, b) &&
             cJSON_AddObjectToObject(cJSON_AddObjectToObject(root, "ExposedPorts"),
                                     LC_ODOO_PORT_KEY) != NULL;
        if (!ok && list == NULL)
            cJSON_Delete(b);
    }
    if (!ok || s->volume == NULL || s->volume[0] == '\0')
        return ok;
    cJSON *m = cJSON_CreateObject();
    cJSON *mounts = cJSON_AddArrayToObject(hc, "Mounts");
    const char *target =
        s->data_path != NULL && s->data_path[0] != '\0' ? s->data_path : DEFAULT_DATA_PATH;
    ok = cJSON_AddStringToObject(m, "Type", "volume") != NULL &&
         cJSON_AddStringToObject(m, "Source", s->volume) != NULL &&
         cJSON_AddStringToObject(m, "Target", target) != NULL &&
         (!s->volume_read_only || cJSON_AddBoolToObject(m, "ReadOnly", 1) != NULL);
    if (ok && s->volume_no_copy) {
        cJSON *vo = cJSON_AddObjectToObject(m, "VolumeOptions");
        ok = vo != NULL && cJSON_AddBoolToObject(vo, "NoCopy", 1) != NULL;
    }
    if (!ok || !cJSON_AddItemToArray(mounts, m)) {
        cJSON_Delete(m);
        return false;
    }
    return true;
}

/* The POST /containers/create body; NULL when out of memory. */
static cJSON *create_body(const lc_container_spec *s)
{
    cJSON *root = cJSON_CreateObject();
    bool ok = cJSON_AddStringToObject(root, "Image", s->image) != NULL &&
              add_labels_role(root, s->store_uuid, s->instance_id, s->role) &&
              add_host_config(root, s);
    cJSON *env = ok && s->env != NULL ? cJSON_AddArrayToObject(root, "Env") : NULL;
    for (size_t i = 0; ok && s->env != NULL && s->env[i] != NULL; i++) {
        cJSON *v = cJSON_CreateString(s->env[i]);
        ok = v != NULL && cJSON_AddItemToArray(env, v);
        if (!ok)
            cJSON_Delete(v);
    }
    cJSON *cmd = ok && s->cmd != NULL ? cJSON_AddArrayToObject(root, "Cmd") : NULL;
    for (size_t i = 0; ok && s->cmd != NULL && s->cmd[i] != NULL; i++) {
        cJSON *v = cJSON_CreateString(s->cmd[i]);
        ok = v != NULL && cJSON_AddItemToArray(cmd, v);
        if (!ok)
            cJSON_Delete(v);
    }
    if (ok && s->no_healthcheck) {
        cJSON *hc = cJSON_AddObjectToObject(root, "Healthcheck");
        const char *none[] = {"NONE"};
        cJSON *test = cJSON_CreateStringArray(none, 1);
        ok = test != NULL && cJSON_AddItemToObject(hc, "Test", test);
        if (!ok)
            cJSON_Delete(test);
    }
    if (!ok) {
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

lc_err engine_container_create(lc_engine *e, const lc_container_spec *spec, char id_out[65],
                               lc_diag *d)
{
    char what[320], name[512], path[600];
    id_out[0] = '\0';
    snprintf(what, sizeof what, "create container %s", spec->name ? spec->name : "");
    if (spec->name == NULL || spec->name[0] == '\0' || spec->image == NULL ||
        !encode(name, sizeof name, spec->name, ""))
        return lc_fail(d, LC_EUSAGE, "%s: no name or image", what);
    snprintf(path, sizeof path, "/containers/create?name=%s", name);
    response rs;
    lc_err err = call_json(e, path, create_body(spec), &rs, d, what);
    cJSON *root = err == LC_OK ? cJSON_ParseWithLength(rs.body.data, rs.body.len) : NULL;
    const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "Id"));
    if (err == LC_OK && (id == NULL || strlen(id) != 64))
        err = lc_fail(d, LC_EENGINE, "%s: answer without an Id", what);
    else if (err == LC_OK)
        snprintf(id_out, 65, "%s", id);
    cJSON_Delete(root);
    response_free(&rs);
    return err;
}

lc_err engine_container_start(lc_engine *e, const char *id, lc_diag *d)
{
    char what[320];
    snprintf(what, sizeof what, "start container %s", id);
    return simple(e, "POST", "containers", id, "/start", 0, d, what);
}

/* stop or restart with Docker's grace period t, waiting t + STOP_GRACE_S at most. */
static lc_err stop_like(lc_engine *e, const char *verb, const char *id, int timeout_s, lc_diag *d)
{
    char what[320], suffix[64];
    if (timeout_s < 0)
        timeout_s = 0;
    snprintf(what, sizeof what, "%s container %s", verb, id);
    snprintf(suffix, sizeof suffix, "/%s?t=%d", verb, timeout_s);
    return simple(e, "POST", "containers", id, suffix, timeout_s + STOP_GRACE_S, d, what);
}

lc_err engine_container_stop(lc_engine *e, const char *id, int timeout_s, lc_diag *d)
{
    return stop_like(e, "stop", id, timeout_s, d);
}

lc_err engine_container_restart(lc_engine *e, const char *id, int timeout_s, lc_diag *d)
{
    return stop_like(e, "restart", id, timeout_s, d);
}

lc_err engine_container_remove(lc_engine *e, const char *id, bool force, lc_diag *d)
{
    char what[320];
    snprintf(what, sizeof what, "remove container %s", id);
    return simple(e, "DELETE", "containers", id, force ? "?force=1" : "?force=0", 0, d, what);
}

lc_err engine_container_inspect(lc_engine *e, const char *id, lc_observation *out, lc_diag *d)
{
    char what[320], path[2048];
    memset(out, 0, sizeof *out);
    snprintf(what, sizeof what, "inspect container %s", id);
    if (!object_path(path, sizeof path, "containers", id, "/json"))
        return lc_fail(d, LC_EUSAGE, "%s: empty or too long an id", what);
    request rq = {.method = "GET", .path = path};
    response rs;
    lc_err err = call(e, &rq, &rs, d, what);
    if (err == LC_ENOTFOUND && rs.status == 404) {
        out->state = CONTAINER_MISSING;
        err = LC_OK;
    } else if (err == LC_OK && engine_parse_inspect(rs.body.data, rs.body.len, out, d) != LC_OK) {
        err = lc_prefix(d, LC_EENGINE, "%s", what);
    }
    response_free(&rs);
    return err;
}

/*
 * The URL-encoded filters for this store's containers: {"label":[managed,
 * store]} for the list, {"type":["container"],"label":[store]} for events.
 */
static bool store_filter(const char *store_uuid, bool events, const char *const *actions, char *out,
                         size_t cap)
{
    char managed[64], store[256], json[1024];
    snprintf(managed, sizeof managed, "%s=true", LC_LABEL_MANAGED);
    if ((size_t)snprintf(store, sizeof store, "%s=%s", LC_LABEL_STORE, store_uuid) >= sizeof store)
        return false;
    const char *items[] = {managed, store}, *type[] = {"container"};
    int nactions = 0;
    while (actions != NULL && actions[nactions] != NULL)
        nactions++;
    cJSON *root = cJSON_CreateObject();
    bool ok =
        cJSON_AddItemToObject(root, "label", cJSON_CreateStringArray(items + events, 2 - events));
    if (ok && events)
        ok = cJSON_AddItemToObject(root, "type", cJSON_CreateStringArray(type, 1));
    if (ok && events && nactions > 0)
        ok = cJSON_AddItemToObject(root, "event",
                                   cJSON_CreateStringArray((const char **)actions, nactions));
    ok = ok && cJSON_PrintPreallocated(root, json, sizeof json, 0);
    cJSON_Delete(root);
    return ok && encode(out, cap, json, "");
}

lc_err engine_container_list(lc_engine *e, const char *store_uuid, lc_container_summary **out,
                             size_t *n, lc_diag *d)
{
    char filter[1600], path[1700];
    *out = NULL;
    *n = 0;
    if (store_uuid == NULL || store_uuid[0] == '\0' ||
        !store_filter(store_uuid, false, NULL, filter, sizeof filter))
        return lc_fail(d, LC_EUSAGE, "list containers: bad store uuid");
    snprintf(path, sizeof path, "/containers/json?all=1&filters=%s", filter);
    lc_list_builder b;
    engine_list_builder_init(&b);
    request rq = {
        .method = "GET", .path = path, .sink = engine_list_builder_feed, .stream_arg = &b};
    response rs;
    lc_err err = call(e, &rq, &rs, d, "list containers");
    lc_diag parse = {{0}};
    lc_err perr = engine_list_builder_end(&b, out, n, &parse);
    if (perr != LC_OK && (err == LC_OK || rs.aborted))
        err = lc_fail(d, perr == LC_ENOMEM ? perr : LC_EENGINE, "list containers: %s", parse.msg);
    response_free(&rs);
    if (err != LC_OK) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return err == LC_OK || err == LC_ENOMEM ? err : LC_EENGINE;
}

typedef struct events_ctx {
    const lc_event_handlers *h;
    lc_json_split split;
    bool stopped;
} events_ctx;

static bool on_event_value(void *arg, const char *json, size_t len)
{
    events_ctx *x = arg;
    lc_event ev;
    if (engine_parse_event(json, len, &ev, NULL) != LC_OK)
        return true; /* not an event: skipped */
    if (x->h->on_event(x->h->arg, &ev))
        return true;
    x->stopped = true;
    return false;
}

static bool events_sink(void *arg, const void *data, size_t len)
{
    events_ctx *x = arg;
    return json_split_feed(&x->split, data, len);
}

static bool events_tick(void *arg, bool answered)
{
    events_ctx *x = arg;
    if (x->h->on_tick == NULL || x->h->on_tick(x->h->arg, answered))
        return true;
    x->stopped = true;
    return false;
}

lc_err engine_events(lc_engine *e, const char *store_uuid, const lc_event_handlers *h, lc_diag *d)
{
    char filter[3200], path[3300];
    if (store_uuid == NULL || store_uuid[0] == '\0' ||
        !store_filter(store_uuid, true, h->actions, filter, sizeof filter))
        return lc_fail(d, LC_EUSAGE, "follow events: bad store uuid");
    snprintf(path, sizeof path, "/events?filters=%s", filter);
    events_ctx x = {.h = h};
    json_split_init(&x.split, false, 1u << 20, on_event_value, &x);
    request rq = {.method = "GET",
                  .path = path,
                  .timeout_s = -1,
                  .sink = events_sink,
                  .tick = events_tick,
                  .stream_arg = &x};
    response rs;
    lc_err err = call(e, &rq, &rs, d, "follow events");
    response_free(&rs);
    json_split_free(&x.split);
    if (x.stopped)
        return lc_fail(d, LC_EFAILED, "follow events: stopped by the caller");
    if (err == LC_OK)
        return lc_fail(d, LC_EENGINE, "follow events: the engine ended the stream");
    if (rs.aborted)
        return lc_fail(d, LC_EENGINE, "follow events: %s", x.split.why);
    return err;
}

lc_err engine_put_file(lc_engine *e, const char *id, const char *dir, const char *name,
                       const void *data, size_t len, unsigned mode, unsigned uid, unsigned gid,
                       lc_diag *d)
{
    char what[512], path[2048];
    unsigned char *tar;
    size_t tarlen;
    snprintf(what, sizeof what, "put %s/%s into container %s", dir, name, id);
    if (!object_path(path, sizeof path, "containers", id, "/archive?path=%2F"))
        return lc_fail(d, LC_EUSAGE, "%s: empty or too long an id", what);
    if (!tar_build_file(dir, name, data, len, mode, uid, gid, &tar, &tarlen))
        return lc_fail(d, LC_EUSAGE, "%s: path too long for a tar header, or out of memory", what);
    request rq = {
        .method = "PUT", .path = path, .ctype = "application/x-tar", .data = tar, .len = tarlen};
    response rs;
    lc_err err = call(e, &rq, &rs, d, what);
    response_free(&rs);
    free(tar);
    return err;
}

lc_err engine_get_file(lc_engine *e, const char *id, const char *path, char **data, size_t *len,
                       lc_diag *d)
{
    char what[512], epath[1024], suffix[1100], url[2200];
    const unsigned char *file = NULL;
    size_t size = 0;
    *data = NULL;
    *len = 0;
    snprintf(what, sizeof what, "get %s from container %s", path, id);
    if (path[0] == '\0' || !encode(epath, sizeof epath, path, "/") ||
        (size_t)snprintf(suffix, sizeof suffix, "/archive?path=%s", epath) >= sizeof suffix ||
        !object_path(url, sizeof url, "containers", id, suffix))
        return lc_fail(d, LC_EUSAGE, "%s: empty or too long a path or id", what);
    request rq = {.method = "GET", .path = url};
    response rs;
    lc_err err = call(e, &rq, &rs, d, what);
    int found = err != LC_OK ? 1
                             : tar_first_file((const unsigned char *)rs.body.data, rs.body.len,
                                              &file, &size);
    if (found == 0)
        err = lc_fail(d, LC_ENOTFOUND, "%s: no regular file there", what);
    else if (found < 0)
        err = lc_fail(d, LC_EENGINE, "%s: corrupt or cut-off archive", what);
    else if (err == LC_OK && (*data = malloc(size + 1)) == NULL)
        err = lc_fail(d, LC_ENOMEM, "%s: out of memory", what);
    if (err == LC_OK) {
        memcpy(*data, file, size);
        (*data)[size] = '\0';
        *len = size;
    }
    response_free(&rs);
    return err;
}

/* "/containers/<id>/archive?path=<encoded path>" into url; false when empty or too long. */
static bool archive_url(char *url, size_t cap, const char *id, const char *path)
{
    char epath[1024], suffix[1100];
    return path != NULL && path[0] != '\0' && encode(epath, sizeof epath, path, "/") &&
           (size_t)snprintf(suffix, sizeof suffix, "/archive?path=%s", epath) < sizeof suffix &&
           object_path(url, cap, "containers", id, suffix);
}

lc_err engine_archive_get(lc_engine *e, const char *id, const char *path, lc_sink_fn sink,
                          void *arg, lc_diag *d)
{
    char what[1200], url[2200];
    snprintf(what, sizeof what, "get archive of %s from container %s", path, id);
    if (!archive_url(url, sizeof url, id, path))
        return lc_fail(d, LC_EUSAGE, "%s: empty or too long a path or id", what);
    request rq = {.method = "GET",
                  .path = url,
                  .timeout_s = -1,
                  .low_speed = true,
                  .sink = sink,
                  .stream_arg = arg};
    response rs;
    lc_err err = call(e, &rq, &rs, d, what);
    response_free(&rs);
    return err;
}

lc_err engine_archive_put(lc_engine *e, const char *id, const char *path, lc_source_fn source,
                          void *arg, long long size_bytes, lc_diag *d)
{
    char what[1200], url[2200];
    snprintf(what, sizeof what, "put archive into %s of container %s", path, id);
    if (!archive_url(url, sizeof url, id, path) || size_bytes < 0)
        return lc_fail(d, LC_EUSAGE, "%s: empty or too long a path or id", what);
    request rq = {.method = "PUT",
                  .path = url,
                  .ctype = "application/x-tar",
                  .timeout_s = -1,
                  .low_speed = true,
                  .source = source,
                  .stream_arg = arg,
                  .upload_len = size_bytes};
    response rs;
    lc_err err = call(e, &rq, &rs, d, what);
    response_free(&rs);
    return err;
}

lc_err engine_container_rename(lc_engine *e, const char *id, const char *new_name, lc_diag *d)
{
    char what[600], enc[512], suffix[600];
    snprintf(what, sizeof what, "rename container %s to %s", id, new_name ? new_name : "");
    if (new_name == NULL || new_name[0] == '\0' || !encode(enc, sizeof enc, new_name, ""))
        return lc_fail(d, LC_EUSAGE, "%s: empty or too long a name", what);
    snprintf(suffix, sizeof suffix, "/rename?name=%s", enc);
    return simple(e, "POST", "containers", id, suffix, 0, d, what);
}

/* GET path into a parsed cJSON (*root, cJSON_Delete) ; LC_EENGINE when not JSON. */
static lc_err get_json(lc_engine *e, const char *path, cJSON **root, lc_diag *d, const char *what)
{
    request rq = {.method = "GET", .path = path};
    response rs;
    lc_err err = call(e, &rq, &rs, d, what);
    *root = err == LC_OK ? cJSON_ParseWithLength(rs.body.data, rs.body.len) : NULL;
    if (err == LC_OK && !cJSON_IsObject(*root))
        err = lc_fail(d, LC_EENGINE, "%s: Docker engine at %s answered no JSON object", what,
                      e->where);
    response_free(&rs);
    return err;
}

static void copy_string(const cJSON *o, const char *key, char *out, size_t len)
{
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
    snprintf(out, len, "%s", v != NULL ? v : "");
}

static double number(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

lc_err engine_info(lc_engine *e, lc_engine_info *out, lc_diag *d)
{
    cJSON *root = NULL;
    char when[64];
    memset(out, 0, sizeof *out);
    lc_err err = get_json(e, "/version", &root, d, "engine version");
    copy_string(root, "Version", out->version, sizeof out->version);
    copy_string(root, "ApiVersion", out->api_version, sizeof out->api_version);
    cJSON_Delete(root);
    if (err == LC_OK)
        err = get_json(e, "/info", &root, d, "engine info");
    if (err != LC_OK)
        return err;
    copy_string(root, "Name", out->name, sizeof out->name);
    copy_string(root, "OperatingSystem", out->os, sizeof out->os);
    out->mem_total = (long long)number(root, "MemTotal");
    out->ncpu = (int)number(root, "NCPU");
    out->containers = (int)number(root, "Containers");
    out->containers_running = (int)number(root, "ContainersRunning");
    copy_string(root, "SystemTime", when, sizeof when);
    if (!lc_parse_docker_time(when, &out->system_time))
        out->system_time = 0;
    cJSON_Delete(root);
    return LC_OK;
}
