/*
 * Placement (DESIGN §7a, issue 11): which Docker host a new instance goes
 * to. A pure function over a table of candidate hosts (no I/O): the caller
 * gathers each host's drained flag, whether its engine answered, its
 * instance count, its limit and its memory, and gets back an index.
 */
#ifndef LC_PLACEMENT_H
#define LC_PLACEMENT_H

#include <stdbool.h>
#include <stddef.h>

#include "lc.h"

/* One candidate host as placement sees it. */
typedef struct lc_place_host {
    const char *name;
    bool drained;           /* no new placements */
    bool reachable;         /* its engine answered just now */
    long instances;         /* instances on it (live, or awaiting a final backup) */
    int max_instances;      /* 0 = no limit */
    long long mem_total;    /* the engine's MemTotal, bytes; 0 = unknown */
    long long mem_reserved; /* memory limits of its instances, bytes */
} lc_place_host;

/* What is being placed. */
typedef struct lc_place_request {
    const char *host;    /* --host NAME: only that host, NULL = choose */
    long long mem_limit; /* the new instance's memory limit in bytes, 0 = none */
} lc_place_request;

/*
 * placement_pick: *chosen gets the index in hosts[0..n) of the host for a
 * new instance. Eligible: not drained, reachable, below max_instances, and
 * with a memory limit, the limit fits (mem_reserved + mem_limit <=
 * mem_total when mem_total is known). Among the eligible, the least used:
 * with a memory limit the smallest share of memory reserved afterwards
 * (hosts of unknown memory after the others), else the fewest instances;
 * ties go to fewer instances, then to the earlier entry.
 * With req->host, only that host, if eligible.
 * Errors: LC_ENOTFOUND when req->host is not among hosts; LC_ENOTALLOWED
 * when the named host, or every host, is not eligible (d says why for each,
 * e.g. "web2 drained, web3 not answering, web4 full (20 of 20)").
 */
lc_err placement_pick(const lc_place_host *hosts, size_t n, const lc_place_request *req,
                      size_t *chosen, lc_diag *d);

#endif
