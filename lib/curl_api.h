/*
 * libcurl as the library's HTTP clients (engine.c, odoo.c) call it: loaded
 * with dlopen at the first client (lc_curl_init), not linked at start.
 * libcurl brings some 30 libraries (TLS, LDAP, Kerberos, SSH, IDN) whose
 * dynamic linking costs every run about 20 ms, and most commands (list,
 * history, stats, backups) never talk to an engine (issue 12: `list` in
 * 50 ms at 10,000 instances). Include this instead of <curl/curl.h>: the
 * curl_* names below become calls through the table, filled by
 * lc_curl_init; calling one before it returned true is a bug.
 */
#ifndef LC_CURL_API_H
#define LC_CURL_API_H

/* The library loaded: libcurl4's (Debian's libcurl4-openssl-dev builds against it). */
#define LC_CURL_SONAME "libcurl.so.4"

#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>

/*
 * The functions used, once: X(return type, name after "curl_", parameters).
 * They make lc_curl_api's members and the table lc_curl_init loads them by.
 */
#define LC_CURL_FUNCTIONS(X)                                                                       \
    X(CURLcode, global_init, (long flags))                                                         \
    X(CURL *, easy_init, (void))                                                                   \
    X(CURLcode, easy_setopt, (CURL * c, CURLoption option, ...))                                   \
    X(CURLcode, easy_perform, (CURL * c))                                                          \
    X(CURLcode, easy_getinfo, (CURL * c, CURLINFO info, ...))                                      \
    X(CURLHcode, easy_header,                                                                      \
      (CURL * c, const char *name, size_t index, unsigned int origin, int request,                 \
       struct curl_header **hout))                                                                 \
    X(void, easy_reset, (CURL * c))                                                                \
    X(void, easy_cleanup, (CURL * c))                                                              \
    X(const char *, easy_strerror, (CURLcode code))                                                \
    X(char *, easy_escape, (CURL * c, const char *s, int len))                                     \
    X(void, free, (void *p))                                                                       \
    X(struct curl_slist *, slist_append, (struct curl_slist * list, const char *s))                \
    X(void, slist_free_all, (struct curl_slist * list))

#define LC_CURL_MEMBER(ret, name, params) ret(*name) params;
typedef struct lc_curl_api {
    LC_CURL_FUNCTIONS(LC_CURL_MEMBER)
} lc_curl_api;

/* The loaded functions; valid once lc_curl_init (engine.h) returned true. */
extern lc_curl_api lc_curl;

#undef curl_easy_setopt
#undef curl_easy_getinfo
#define curl_global_init lc_curl.global_init
#define curl_easy_init lc_curl.easy_init
#define curl_easy_setopt lc_curl.easy_setopt
#define curl_easy_perform lc_curl.easy_perform
#define curl_easy_getinfo lc_curl.easy_getinfo
#define curl_easy_header lc_curl.easy_header
#define curl_easy_reset lc_curl.easy_reset
#define curl_easy_cleanup lc_curl.easy_cleanup
#define curl_easy_strerror lc_curl.easy_strerror
#define curl_easy_escape lc_curl.easy_escape
#define curl_free lc_curl.free
#define curl_slist_append lc_curl.slist_append
#define curl_slist_free_all lc_curl.slist_free_all

#endif
