/*
 * What Docker shows, as plain data (DESIGN §1, §3): the labels instctl puts
 * on its objects, one inspected container (the observation derive reads) and
 * one element of a container list. No I/O: the engine client (engine.c)
 * fills these, derive and the journal read them.
 */
#ifndef LC_TYPES_H
#define LC_TYPES_H

#include <stdbool.h>
#include <time.h>

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

#endif
