/*
 * Placement of a new instance on a Docker host (DESIGN §7a): eligibility
 * and "least used" over a table of candidates; pure, see placement.h.
 */
#include "placement.h"

#include <stdio.h>
#include <string.h>

/* Why h cannot take the instance, into why; false when it can. */
static bool ineligible(const lc_place_host *h, const lc_place_request *req, char *why, size_t len)
{
    if (h->drained)
        snprintf(why, len, "%s drained", h->name);
    else if (!h->reachable)
        snprintf(why, len, "%s not answering", h->name);
    else if (h->max_instances > 0 && h->instances >= h->max_instances)
        snprintf(why, len, "%s full (%ld of %d)", h->name, h->instances, h->max_instances);
    else if (req->mem_limit > 0 && h->mem_total > 0 &&
             h->mem_reserved + req->mem_limit > h->mem_total)
        snprintf(why, len, "%s short of memory (%lld MiB free of %lld MiB)", h->name,
                 (h->mem_total - h->mem_reserved) >> 20, h->mem_total >> 20);
    else
        return false;
    return true;
}

/* -1 when a is less used than b, 1 when more, 0 when equal (memory share, then instances). */
static int compare(const lc_place_host *a, const lc_place_host *b, long long mem_limit)
{
    if (mem_limit > 0 && (a->mem_total > 0) != (b->mem_total > 0))
        return a->mem_total > 0 ? -1 : 1;
    if (mem_limit > 0 && a->mem_total > 0) {
        long double sa = (long double)(a->mem_reserved + mem_limit) / (long double)a->mem_total;
        long double sb = (long double)(b->mem_reserved + mem_limit) / (long double)b->mem_total;
        if (sa != sb)
            return sa < sb ? -1 : 1;
    }
    return a->instances < b->instances ? -1 : a->instances > b->instances ? 1 : 0;
}

lc_err placement_pick(const lc_place_host *hosts, size_t n, const lc_place_request *req,
                      size_t *chosen, lc_diag *d)
{
    char reasons[768] = "", why[160];
    size_t used = 0;
    bool found = false, named = req->host != NULL && req->host[0] != '\0';
    for (size_t i = 0; i < n; i++) {
        if (named && strcmp(hosts[i].name, req->host) != 0)
            continue;
        if (ineligible(&hosts[i], req, why, sizeof why)) {
            if (used < sizeof reasons)
                used += (size_t)snprintf(reasons + used, sizeof reasons - used, "%s%s",
                                         used ? ", " : "", why);
            continue;
        }
        if (!found || compare(&hosts[i], &hosts[*chosen], req->mem_limit) < 0)
            *chosen = i;
        found = true;
    }
    if (found)
        return LC_OK;
    if (named && reasons[0] == '\0')
        return lc_fail(d, LC_ENOTFOUND, "host %s not found (see instctl host list)", req->host);
    if (named)
        return lc_fail(d, LC_ENOTALLOWED, "host %s cannot take a new instance: %s", req->host,
                       reasons);
    return lc_fail(d, LC_ENOTALLOWED, "no host can take a new instance%s%s",
                   reasons[0] ? ": " : " (no hosts)", reasons);
}
