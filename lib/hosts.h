/*
 * Reaching a Docker host of the store (DESIGN §7a, issue 11): the engine
 * client for a hosts row (local's from the configuration, the others' from
 * their URL and TLS files), and probing hosts in parallel for `host list`,
 * `host show`, `host add` and `doctor`. Above the store and the engine.
 */
#ifndef LC_HOSTS_H
#define LC_HOSTS_H

#include <stdbool.h>
#include <stddef.h>

#include "engine.h"
#include "lc.h"
#include "store.h"

/* lc_host_docker_host: the URL h's engine is reached at (local: the configured one, else default).
 */
const char *lc_host_docker_host(const lc_host *h, const char *configured);

/*
 * lc_host_address: where h's published ports are reached (issue 11): its
 * --address, else the host part of its tcp:// URL (brackets of an IPv6
 * address removed); "" for a unix:// engine. Into out (len bytes).
 */
void lc_host_address(const lc_host *h, char *out, size_t len);

/*
 * lc_host_engine_open: an Engine API client for host h (free with
 * engine_close): local uses `configured` (the configuration's docker_host,
 * "" or NULL for DOCKER_HOST or the default socket), any other host its
 * docker_host and TLS files. Does not connect. Errors of engine_open_tls
 * (LC_ECONFIG), prefixed with "host NAME".
 */
lc_err lc_host_engine_open(const lc_host *h, const char *configured, lc_engine **out, lc_diag *d);

/*
 * lc_host_can_take: whether the host named name may take one more
 * instance by placement's rules (create --host, move --to), its engine's
 * answer left to the caller's first request. LC_ENOTFOUND when no such
 * host; LC_ENOTALLOWED when drained or full (d says which).
 */
lc_err lc_host_can_take(lc_store *s, const char *name, lc_diag *d);

/*
 * lc_host_place: the host for a new instance (issue 11) into chosen (len
 * bytes): want when not NULL (checked by lc_host_can_take), else
 * placement_pick over every host, probed in parallel (answers, memory)
 * with the store's instance counts; with local the only host, local
 * without a probe. Errors of lc_host_can_take and placement_pick (every
 * host drained, full or not answering: LC_ENOTALLOWED), LC_ESTORE.
 */
lc_err lc_host_place(lc_store *s, const char *configured, const char *want, char *chosen,
                     size_t len, lc_diag *d);

/* What one probe of a host found. */
typedef struct lc_host_probe {
    lc_err err;       /* LC_OK when the engine answered /_ping, /version and /info */
    char error[1024]; /* the one-line reason when err != LC_OK */
    char api[8];      /* the API version negotiated ("1.41") */
    lc_engine_info info;
    bool image_checked; /* an image was asked about and the engine answered */
    bool image_present;
    long long ms; /* how long the probe took, milliseconds */
} lc_host_probe;

/*
 * lc_host_probe_all: probes hosts[0..n) at once, one thread each, into
 * probes[0..n): opens the client, GET /_ping, /version and /info, and when
 * image is not NULL whether that image is present. Never fails as a whole:
 * each probe keeps its own error (LC_ECONFIG, LC_EENGINE, ...). Returns
 * how many hosts answered.
 */
size_t lc_host_probe_all(const lc_host *hosts, size_t n, const char *configured, const char *image,
                         lc_host_probe *probes);

#endif
