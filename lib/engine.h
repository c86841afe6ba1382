/*
 * Docker Engine API client (DESIGN §6, §7a): libcurl over the engine's Unix
 * socket, or over TCP with mutual TLS (never plain TCP), API version negotiated once from /_ping
 * (minimum 1.41), Docker's own {"message"} kept in the diag. JSON parsing lives in engine_json.c,
 * apart from curl, so it is unit-tested on fixtures from a real engine.
 *
 * Error mapping used by every call:
 *   - curl could not connect / transfer failed / body cut off -> LC_EENGINE
 *   - HTTP 404                                                -> LC_ENOTFOUND
 *   - HTTP 409 (conflict, e.g. name in use)                   -> LC_EDOCKER
 *   - any other status >= 400                                 -> LC_EDOCKER
 *   - 5xx on /_ping or the container list                     -> LC_EENGINE
 *   d->msg carries Docker's "message" when the body has one.
 */
#ifndef LC_ENGINE_H
#define LC_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "lc.h"
#include "lctime.h"
#include "status.h"
#include "types.h"

/* What instctl creates a container from (POST /containers/create). */
typedef struct lc_container_spec {
    const char *name;        /* container name */
    const char *image;       /* image reference */
    const char *volume;      /* named volume mounted at data_path */
    const char *data_path;   /* e.g. /var/lib/odoo */
    const char *store_uuid;  /* label io.instctl.store */
    const char *instance_id; /* label io.instctl.instance */
    const char *network;     /* HostConfig.NetworkMode; NULL or "" = engine default */
    const char *const *env;  /* NULL-terminated "K=V" list, may be NULL */
    const char *const *cmd;  /* Cmd: NULL-terminated argv, NULL = the image's CMD */
    bool no_healthcheck;     /* Healthcheck {"Test":["NONE"]} (benchmarks) */
    /* Added for backup helpers; zero keeps the instance container's behaviour. */
    const char *role;      /* label io.instctl.role (e.g. LC_ROLE_HELPER); NULL or "" = none */
    bool volume_read_only; /* mount the volume read-only */
    bool volume_no_copy;   /* VolumeOptions.NoCopy: an empty volume gets nothing from the image */
    /* issue 11: publish Odoo's port 8069/tcp on this host address (HostIp), the host port
       chosen by Docker at start (HostPort ""); NULL or "" = not published */
    const char *publish_address;
} lc_container_spec;

typedef struct lc_engine lc_engine;

/*
 * lc_curl_init: loads libcurl (LC_CURL_SONAME, with dlopen: see curl_api.h
 * for why) and runs curl_global_init, exactly once per process
 * (thread-safe), for every libcurl user of the library. False when the
 * library cannot be loaded, lacks a function, or does not initialise;
 * lc_curl_error then says which, in one line.
 */
bool lc_curl_init(void);
/* lc_curl_error: why lc_curl_init failed ("" when it did not); static storage. */
const char *lc_curl_error(void);

/*
 * lc_curl_stop_on_interrupt: makes the curl easy handle abandon its
 * transfer (CURLE_ABORTED_BY_CALLBACK) once lc_interrupt_pending() (lc.h);
 * the caller reports LC_EINTR. Used for every Engine API and Odoo call.
 */
void lc_curl_stop_on_interrupt(void *curl);

/*
 * TLS material for a tcp:// engine (DESIGN §7a): PEM file paths, as Docker's
 * own DOCKER_CERT_PATH holds them (ca.pem, cert.pem, key.pem). A tcp://
 * engine is used only with all three: the engine's certificate verified
 * against ca (peer and host name or IP), the client certificate presented.
 */
typedef struct lc_engine_tls {
    char ca[1024];   /* the CA the engine's certificate must chain to */
    char cert[1024]; /* the client certificate (extendedKeyUsage clientAuth) */
    char key[1024];  /* its private key */
} lc_engine_tls;

/*
 * engine_tls_from_dir: t gets dir/ca.pem, dir/cert.pem and dir/key.pem
 * (nothing is read). False when dir is empty or the paths do not fit.
 */
bool engine_tls_from_dir(const char *dir, lc_engine_tls *t);

/*
 * engine_open_tls: parses host and returns a client in *out (free with
 * engine_close). Does not connect. host is "unix:///path" or a bare
 * "/path" (NULL or "" means DOCKER_HOST from the environment, else the
 * default socket), or "tcp://HOST[:PORT]" (port 2376 when absent; HOST a
 * name, an IPv4 address or a bracketed IPv6 one). A tcp:// engine is
 * reached as https://HOST:PORT with tls, which must name three readable
 * files; tls NULL takes them from DOCKER_CERT_PATH when set. tls is
 * ignored for unix://. Errors (d names the host and the cause):
 * LC_ECONFIG for another scheme, a malformed URL, a tcp:// host without
 * TLS material (plain TCP is refused) or with a file that cannot be read;
 * LC_ENOMEM. Calls curl_global_init once per process.
 */
lc_err engine_open_tls(const char *host, const lc_engine_tls *tls, lc_engine **out, lc_diag *d);

/* engine_open: engine_open_tls(host, NULL, out, d). */
lc_err engine_open(const char *host, lc_engine **out, lc_diag *d);

/*
 * engine_clone: a new client for the same engine and TLS material (for a
 * forked child, or another thread: a client is not shared). Not connected;
 * the API version is negotiated again. LC_ENOMEM.
 */
lc_err engine_clone(const lc_engine *e, lc_engine **out, lc_diag *d);
void engine_close(lc_engine *e);

/*
 * engine_ping: GET /_ping once per client (nothing when a version was
 * already negotiated); records the Api-Version header as the version used
 * in every later path (/v1.41/...), capped at 1.47. LC_EENGINE when
 * unreachable or older than 1.41. Other calls need no ping first: the
 * first request goes to /v1.41 and its answer's Api-Version header
 * negotiates the version.
 */
lc_err engine_ping(lc_engine *e, lc_diag *d);

/* engine_api_version: negotiated version ("1.41"), "" before engine_ping. */
const char *engine_api_version(const lc_engine *e);

/* engine_request_count: HTTP requests sent so far by this client (benchmarks). */
unsigned long engine_request_count(const lc_engine *e);

/* engine_socket_path: the Unix socket path in use, "" for a tcp:// engine (owned by e). */
const char *engine_socket_path(const lc_engine *e);

/*
 * engine_where: the engine as errors name it: the socket path of a unix://
 * engine, "tcp://HOST:PORT" of a TLS one (owned by e).
 */
const char *engine_where(const lc_engine *e);

/* Images. engine_image_exists sets *exists (GET /images/{name}/json, 404 = false). */
lc_err engine_image_exists(lc_engine *e, const char *image, bool *exists, lc_diag *d);
/* engine_image_pull: POST /images/create; an {"error"} in the progress stream fails. */
lc_err engine_image_pull(lc_engine *e, const char *image, lc_diag *d);
/* engine_image_user: Config.User of the image into user ("" when unset). */
lc_err engine_image_user(lc_engine *e, const char *image, char *user, size_t len, lc_diag *d);

/* Volumes, labelled with managed/store/instance. Remove: 404 counts as success. */
lc_err engine_volume_create(lc_engine *e, const char *name, const char *store_uuid,
                            const char *instance_id, lc_diag *d);
lc_err engine_volume_exists(lc_engine *e, const char *name, bool *exists, lc_diag *d);
lc_err engine_volume_remove(lc_engine *e, const char *name, lc_diag *d);

/*
 * engine_container_create: labels managed/store/instance, HostConfig.Init,
 * RestartPolicy unless-stopped, the volume bound at data_path, NetworkMode.
 * Writes the new Id (64 hex) into id_out.
 */
lc_err engine_container_create(lc_engine *e, const lc_container_spec *spec, char id_out[65],
                               lc_diag *d);
/* start/stop/restart: 204 and 304 are success; timeout_s is stop's "t" in seconds. */
lc_err engine_container_start(lc_engine *e, const char *id, lc_diag *d);
lc_err engine_container_stop(lc_engine *e, const char *id, int timeout_s, lc_diag *d);
lc_err engine_container_restart(lc_engine *e, const char *id, int timeout_s, lc_diag *d);
/* engine_container_remove: DELETE ?force=; 404 -> LC_ENOTFOUND; volumes are kept. */
lc_err engine_container_remove(lc_engine *e, const char *id, bool force, lc_diag *d);

/*
 * engine_container_inspect: fills *out. A 404 is not an error: it returns
 * LC_OK with out->state = CONTAINER_MISSING (the engine answered).
 */
lc_err engine_container_inspect(lc_engine *e, const char *id, lc_observation *out, lc_diag *d);

/*
 * engine_container_list: GET /containers/json?all=1 filtered by the labels
 * io.instctl.managed=true and io.instctl.store=<store_uuid>. *out is a
 * malloc'd array of *n entries (free()), NULL when none. Any failure,
 * including an unparsable or cut-off body, is LC_EENGINE. The body is
 * parsed element by element as it arrives, never held whole.
 */
lc_err engine_container_list(lc_engine *e, const char *store_uuid, lc_container_summary **out,
                             size_t *n, lc_diag *d);

/*
 * engine_put_file: PUT /containers/{id}/archive?path=/ with a tar holding
 * directory dir (mode 0700) and dir/name (mode, size len bytes), both owned
 * by uid:gid. dir is absolute ("/run/instctl"). Works on created containers.
 */
lc_err engine_put_file(lc_engine *e, const char *id, const char *dir, const char *name,
                       const void *data, size_t len, unsigned mode, unsigned uid, unsigned gid,
                       lc_diag *d);

/*
 * engine_get_file: GET /containers/{id}/archive?path=... and returns the
 * first regular file's content in *data (malloc'd, NUL-terminated, free())
 * and its size in bytes in *len.
 */
lc_err engine_get_file(lc_engine *e, const char *id, const char *path, char **data, size_t *len,
                       lc_diag *d);

/*
 * Streaming callbacks. A sink receives len bytes of a body (len > 0) and
 * returns false to stop the transfer (it keeps its own reason, e.g. errno).
 * A source fills up to cap bytes of buf and returns how many (0 only at the
 * end), or LC_SOURCE_ERROR to stop the transfer.
 */
typedef bool (*lc_sink_fn)(void *arg, const void *data, size_t len);
typedef size_t (*lc_source_fn)(void *arg, void *buf, size_t cap);
#define LC_SOURCE_ERROR ((size_t)-1)

/*
 * engine_archive_get: GET /containers/{id}/archive?path=path (works on a
 * created, never started container; volumes are mounted for it) and hands
 * the tar body to sink chunk by chunk, never holding it in memory. No total
 * time limit; aborted when nothing arrives for 2 minutes. A sink returning
 * false stops it: LC_EFAILED ("...: transfer stopped by the caller"; the
 * sink knows why). Errors as above (404: no such container or path).
 */
lc_err engine_archive_get(lc_engine *e, const char *id, const char *path, lc_sink_fn sink,
                          void *arg, lc_diag *d);

/*
 * engine_archive_put: PUT /containers/{id}/archive?path=path with a tar of
 * exactly size_bytes bytes read from source (Content-Type
 * application/x-tar, known length, streamed). path is an existing
 * directory; entries are extracted with their own uid/gid and modes. A
 * source returning LC_SOURCE_ERROR stops it: LC_EFAILED.
 */
lc_err engine_archive_put(lc_engine *e, const char *id, const char *path, lc_source_fn source,
                          void *arg, long long size_bytes, lc_diag *d);

/*
 * engine_container_rename: POST /containers/{id}/rename?name=new_name.
 * LC_ENOTFOUND when no such container, LC_EDOCKER when the name is in use.
 */
lc_err engine_container_rename(lc_engine *e, const char *id, const char *new_name, lc_diag *d);

/* What an engine says about itself (GET /version and GET /info). */
typedef struct lc_engine_info {
    char version[64];       /* /version Version, e.g. "20.10.24+dfsg1" */
    char api_version[16];   /* /version ApiVersion: the newest the engine speaks */
    char name[256];         /* /info Name: the engine's host name */
    char os[128];           /* /info OperatingSystem */
    long long mem_total;    /* /info MemTotal, bytes (0 when absent) */
    int ncpu;               /* /info NCPU */
    int containers;         /* /info Containers (all, any store) */
    int containers_running; /* /info ContainersRunning */
    time_t system_time;     /* /info SystemTime, the engine's clock; 0 when absent */
} lc_engine_info;

/*
 * engine_info: GET /version then GET /info into *out. Errors as every call
 * (LC_EENGINE when unreachable, refusing TLS, or an unparsable answer).
 */
lc_err engine_info(lc_engine *e, lc_engine_info *out, lc_diag *d);

/* ---- pure parsing, engine_json.c (no I/O) ---- */

/* engine_parse_inspect: a container inspect body into *out; LC_EINPUT when not one. */
lc_err engine_parse_inspect(const char *json, size_t len, lc_observation *out, lc_diag *d);

/* engine_parse_list: a /containers/json body; *out malloc'd (free()); LC_EINPUT when bad. */
lc_err engine_parse_list(const char *json, size_t len, lc_container_summary **out, size_t *n,
                         lc_diag *d);

/*
 * The JSON value splitter: takes a body in chunks as it arrives and hands
 * each complete value to fn (json, len: valid only during the call), so a
 * large answer is never held whole. With array, the values are the
 * elements of one top-level array ([ a , b ]); without, a sequence of
 * top-level values separated by whitespace (the /events stream). It tracks
 * nesting and strings only; each value is parsed (and so validated) by fn.
 * A value longer than max_value bytes (0 = no limit) is an error.
 */
typedef bool (*lc_json_value_fn)(void *arg, const char *json, size_t len);
typedef struct lc_json_split {
    bool array;
    int depth; /* -1 before an array's '[' */
    bool in_value, in_string, escape, need_sep, after_comma, done, bad;
    int nest;
    char *buf;
    size_t len, cap, max, count;
    lc_json_value_fn fn;
    void *arg;
    char why[128]; /* what was wrong, when bad */
} lc_json_split;

void json_split_init(lc_json_split *js, bool array, size_t max_value, lc_json_value_fn fn,
                     void *arg);
/* json_split_feed: false once the text is malformed or fn returned false (js->why says). */
bool json_split_feed(lc_json_split *js, const char *data, size_t len);
/* json_split_end: the body ended; false when it was cut off (an array not closed, a value open). */
bool json_split_end(lc_json_split *js);
void json_split_free(lc_json_split *js);

/*
 * The container list built element by element from the splitter (used by
 * engine_container_list on the body as it streams in, and by
 * engine_parse_list on a whole body). _feed is an lc_sink_fn; _end gives
 * the malloc'd array (NULL when empty) or LC_EINPUT (malformed, cut off, an
 * element that is not a container) / LC_ENOMEM, and frees the rest.
 */
typedef struct lc_list_builder {
    lc_json_split split;
    lc_container_summary *list;
    size_t n, cap, bad_at; /* bad_at: 1 + index of a bad element, 0 = none */
    char *scratch;         /* the members a summary reads, copied out of one element */
    size_t scratch_cap;
    bool oom;
} lc_list_builder;
void engine_list_builder_init(lc_list_builder *b);
bool engine_list_builder_feed(void *arg, const void *data, size_t len);
lc_err engine_list_builder_end(lc_list_builder *b, lc_container_summary **out, size_t *n,
                               lc_diag *d);

/* One element of the GET /events stream. */
typedef struct lc_event {
    char type[16];     /* Type: "container" */
    char action[64];   /* Action: "die", "health_status: healthy" */
    char id[65];       /* Actor.ID */
    char instance[64]; /* Actor.Attributes["io.instctl.instance"], "" when absent */
    char name[128];    /* Actor.Attributes.name */
    int exit_code;     /* Actor.Attributes.exitCode, -1 when absent */
    long long time_ns; /* timeNano (else time * 1e9): when the engine saw it, Unix ns */
} lc_event;

/* engine_parse_event: one /events value into *out; LC_EINPUT when it is not an event. */
lc_err engine_parse_event(const char *json, size_t len, lc_event *out, lc_diag *d);

/* engine_parse_message: Docker's {"message": "..."} into out, or "" when absent. */
void engine_parse_message(const char *json, size_t len, char *out, size_t outlen);

/*
 * engine_events: follows GET /events filtered to containers labelled
 * io.instctl.store=<store_uuid> until the stream ends or a handler stops
 * it. on_event gets each event in order; on_tick is called about once a
 * second while the stream is open (connected: the engine has answered
 * 200, so later events will be seen) and may do other engine work on
 * another client. Either returning false stops the stream: LC_EFAILED
 * ("stopped by the caller"). The stream ending or failing is LC_EENGINE;
 * an error answer maps as above. No time limit.
 */
typedef struct lc_event_handlers {
    bool (*on_event)(void *arg, const lc_event *ev);
    bool (*on_tick)(void *arg, bool connected);
    void *arg;
    const char *const *actions; /* the engine's "event" filter (NULL-terminated); NULL = all */
} lc_event_handlers;
lc_err engine_events(lc_engine *e, const char *store_uuid, const lc_event_handlers *h, lc_diag *d);

#endif
