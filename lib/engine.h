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
#include "status.h"

#define LC_LABEL_MANAGED "io.instctl.managed"
#define LC_LABEL_STORE "io.instctl.store"
#define LC_LABEL_INSTANCE "io.instctl.instance"
/* Containers that are not an instance's own (e.g. "helper" for backups) carry a role. */
#define LC_LABEL_ROLE "io.instctl.role"
#define LC_ROLE_HELPER "helper"
#define LC_ENGINE_MIN_API "1.41"
#define LC_DEFAULT_DOCKER_HOST "unix:///var/run/docker.sock"
/* Odoo's HTTP port inside the container, as the Engine API names it (issue 11). */
#define LC_ODOO_PORT_KEY "8069/tcp"

/* One container as inspected (GET /containers/{id}/json). */
typedef struct lc_observation {
    lc_container_state state; /* from State.Status, never from State.Running */
    char state_raw[32];       /* State.Status as Docker said it */
    int exit_code;            /* State.ExitCode */
    bool oom_killed;          /* State.OOMKilled */
    char error[256];          /* State.Error, "" when none */
    char health[16];          /* State.Health.Status: "", starting, healthy, unhealthy */
    time_t started_at;        /* State.StartedAt, 0 for Docker's zero time (never) */
    time_t finished_at;       /* State.FinishedAt, 0 for never */
    int restart_count;        /* RestartCount */
    char id[65];              /* Id */
    char name[128];           /* Name without the leading '/' */
    char ip[64];              /* first non-empty NetworkSettings.Networks.*.IPAddress */
    char instance[64];        /* Config.Labels["io.instctl.instance"], "" when absent */
    int published_port; /* NetworkSettings.Ports["8069/tcp"][0].HostPort, 0 when not published */
} lc_observation;

/* One element of GET /containers/json?all=1. */
typedef struct lc_container_summary {
    char id[65];
    char name[128];           /* Names[0] without '/' */
    char instance[64];        /* Labels["io.instctl.instance"] */
    lc_container_state state; /* from State */
    char state_raw[32];
} lc_container_summary;

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
 * lc_curl_init: curl_global_init exactly once per process (thread-safe),
 * for every libcurl user of the library. False when it failed.
 */
bool lc_curl_init(void);

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
 * including an unparsable or cut-off body, is LC_EENGINE.
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

/* engine_parse_message: Docker's {"message": "..."} into out, or "" when absent. */
void engine_parse_message(const char *json, size_t len, char *out, size_t outlen);

/*
 * lc_parse_docker_time: RFC 3339 with 0-9 fraction digits and Z or +hh:mm,
 * parsed as UTC with timegm. Docker's zero time 0001-01-01T00:00:00Z -> 0
 * (never). Returns false on malformed input.
 */
bool lc_parse_docker_time(const char *s, time_t *out);

/* lc_format_time: RFC 3339 UTC "2026-11-29T11:36:37Z" into buf (>= 21 bytes); "" for 0. */
void lc_format_time(time_t t, char *buf, size_t len);

#endif
