/* Times on the wire (DESIGN §3, §7): Docker's RFC 3339 in, RFC 3339 UTC out. Pure. */
#ifndef LC_LCTIME_H
#define LC_LCTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/*
 * lc_parse_docker_time: RFC 3339 with 0-9 fraction digits and Z or +hh:mm,
 * parsed as UTC with timegm. Docker's zero time 0001-01-01T00:00:00Z -> 0
 * (never). Returns false on malformed input.
 */
bool lc_parse_docker_time(const char *s, time_t *out);

/* lc_format_time: RFC 3339 UTC "2026-11-29T11:36:37Z" into buf (>= 21 bytes); "" for 0. */
void lc_format_time(time_t t, char *buf, size_t len);

#endif
