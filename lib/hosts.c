/*
 * Reaching the store's Docker hosts: one engine client per host, probes run
 * in parallel so a host that does not answer costs its connect timeout
 * once, not once per host before it. See hosts.h.
 */
#include "hosts.h"

#include "placement.h"

#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

const char *lc_host_docker_host(const lc_host *h, const char *configured)
{
    if (strcmp(h->name, LC_HOST_LOCAL) != 0 || h->docker_host[0] != '\0')
        return h->docker_host;
    if (configured != NULL && configured[0] != '\0')
        return configured;
    const char *env = getenv("DOCKER_HOST");
    return env != NULL && env[0] != '\0' ? env : LC_DEFAULT_DOCKER_HOST;
}

void lc_host_address(const lc_host *h, char *out, size_t len)
{
    snprintf(out, len, "%s", h->address);
    if (h->address[0] != '\0' || strncmp(h->docker_host, "tcp://", 6) != 0)
        return;
    const char *host = h->docker_host + 6;
    size_t n = host[0] == '[' ? strcspn(host + 1, "]") : strcspn(host, ":/");
    snprintf(out, len, "%.*s", (int)n, host + (host[0] == '['));
}

lc_err lc_host_engine_open(const lc_host *h, const char *configured, lc_engine **out, lc_diag *d)
{
    lc_err e;
    if (strcmp(h->name, LC_HOST_LOCAL) == 0 && h->docker_host[0] == '\0') {
        e = engine_open(lc_host_docker_host(h, configured), out, d);
    } else {
        lc_engine_tls tls;
        memset(&tls, 0, sizeof tls);
        snprintf(tls.ca, sizeof tls.ca, "%s", h->tls_ca);
        snprintf(tls.cert, sizeof tls.cert, "%s", h->tls_cert);
        snprintf(tls.key, sizeof tls.key, "%s", h->tls_key);
        e = engine_open_tls(h->docker_host, &tls, out, d);
    }
    return e == LC_OK ? LC_OK : lc_prefix(d, e, "host %s", h->name);
}

lc_err lc_host_can_take(lc_store *s, const char *name, lc_diag *d)
{
    lc_host h;
    size_t chosen = 0;
    lc_err e = store_host_get(s, name, &h, d);
    lc_place_host ph = {.name = h.name,
                        .drained = h.drained,
                        .reachable = true,
                        .instances = h.instances,
                        .max_instances = h.max_instances};
    lc_place_request req = {.host = name};
    return e == LC_OK ? placement_pick(&ph, 1, &req, &chosen, d) : e;
}

lc_err lc_host_place(lc_store *s, const char *configured, const char *want, char *chosen,
                     size_t len, lc_diag *d)
{
    if (want != NULL) {
        snprintf(chosen, len, "%s", want);
        return lc_host_can_take(s, want, d);
    }
    lc_host *hosts = NULL;
    size_t n = 0, pick = 0;
    lc_err e = store_host_list(s, &hosts, &n, d);
    lc_host_probe *probes = e == LC_OK ? calloc(n, sizeof *probes) : NULL;
    lc_place_host *table = e == LC_OK ? calloc(n, sizeof *table) : NULL;
    if (e == LC_OK && (probes == NULL || table == NULL))
        e = lc_fail(d, LC_ENOMEM, "out of memory");
    if (e == LC_OK && n == 1) /* only local: its engine is asked by the create itself */
        snprintf(chosen, len, "%s", hosts[0].name);
    else if (e == LC_OK) {
        lc_host_probe_all(hosts, n, configured, NULL, probes);
        for (size_t i = 0; i < n; i++)
            table[i] = (lc_place_host){.name = hosts[i].name,
                                       .drained = hosts[i].drained,
                                       .reachable = probes[i].err == LC_OK,
                                       .instances = hosts[i].instances,
                                       .max_instances = hosts[i].max_instances,
                                       .mem_total = probes[i].info.mem_total};
        lc_place_request req = {0};
        e = placement_pick(table, n, &req, &pick, d);
        if (e == LC_OK)
            snprintf(chosen, len, "%s", hosts[pick].name);
    }
    free(table);
    free(probes);
    free(hosts);
    return e;
}

typedef struct probe_job {
    const lc_host *host;
    const char *configured, *image;
    lc_host_probe *out;
    pthread_t thread;
    bool started;
} probe_job;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *probe_one(void *arg)
{
    probe_job *j = arg;
    lc_host_probe *p = j->out;
    lc_diag d = {{0}};
    lc_engine *e = NULL;
    long long start = now_ms();
    memset(p, 0, sizeof *p);
    p->err = lc_host_engine_open(j->host, j->configured, &e, &d);
    if (p->err == LC_OK)
        p->err = engine_ping(e, &d);
    if (p->err == LC_OK)
        p->err = engine_info(e, &p->info, &d);
    if (p->err == LC_OK && j->image != NULL)
        p->image_checked = engine_image_exists(e, j->image, &p->image_present, &d) == LC_OK;
    if (e != NULL)
        snprintf(p->api, sizeof p->api, "%s", engine_api_version(e));
    if (p->err != LC_OK)
        snprintf(p->error, sizeof p->error, "%s", d.msg);
    engine_close(e);
    p->ms = now_ms() - start;
    return NULL;
}

size_t lc_host_probe_all(const lc_host *hosts, size_t n, const char *configured, const char *image,
                         lc_host_probe *probes)
{
    probe_job *jobs = calloc(n ? n : 1, sizeof *jobs);
    size_t answered = 0;
    for (size_t i = 0; i < n; i++) {
        probe_job j = {
            .host = &hosts[i], .configured = configured, .image = image, .out = &probes[i]};
        if (jobs == NULL) {
            probe_one(&j); /* no memory for threads: one after the other */
            continue;
        }
        jobs[i] = j;
        jobs[i].started = pthread_create(&jobs[i].thread, NULL, probe_one, &jobs[i]) == 0;
        if (!jobs[i].started)
            probe_one(&jobs[i]);
    }
    for (size_t i = 0; i < n; i++) {
        if (jobs != NULL && jobs[i].started)
            pthread_join(jobs[i].thread, NULL);
        answered += probes[i].err == LC_OK;
    }
    free(jobs);
    return answered;
}
