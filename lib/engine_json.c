/*
 * Pure parsing of Docker Engine API bodies (container inspect, container
 * list, error messages) and of Docker's timestamps; no I/O, so it is tested
 * on fixtures captured from a real engine.
 */
#include "engine.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Copies a JSON string value into dst, "" when item is absent or not a string. */
static void copy_str(char *dst, size_t len, const cJSON *item)
{
    const char *s = cJSON_GetStringValue(item);
    snprintf(dst, len, "%s", s != NULL ? s : "");
}

static void copy_name(char *dst, size_t len, const cJSON *item)
{
    const char *s = cJSON_GetStringValue(item);
    if (s != NULL && s[0] == '/')
        s++;
    snprintf(dst, len, "%s", s != NULL ? s : "");
}

static const cJSON *get(const cJSON *obj, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(obj, key);
}

/* Reads exactly n decimal digits at *p into *v and advances *p. */
static bool digits(const char **p, int n, int *v)
{
    *v = 0;
    for (int i = 0; i < n; i++, (*p)++) {
        if (**p < '0' || **p > '9')
            return false;
        *v = *v * 10 + (**p - '0');
    }
    return true;
}

static bool expect(const char **p, const char *any)
{
    if (**p == '\0' || strchr(any, **p) == NULL)
        return false;
    (*p)++;
    return true;
}

static int days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

/* Parses "Z" or "+hh:mm"/"-hh:mm" into seconds east of UTC; must end the string. */
static bool parse_offset(const char *p, long *off)
{
    int hh, mm;
    if (*p == 'Z' || *p == 'z') {
        *off = 0;
        return p[1] == '\0';
    }
    int sign = *p == '-' ? -1 : 1;
    if (!expect(&p, "+-") || !digits(&p, 2, &hh) || !expect(&p, ":") || !digits(&p, 2, &mm) ||
        *p != '\0' || hh > 23 || mm > 59)
        return false;
    *off = sign * (hh * 3600L + mm * 60L);
    return true;
}

bool lc_parse_docker_time(const char *s, time_t *out)
{
    struct tm tm = {0};
    int y, mo, d, h, mi, se, frac = 0;
    long off;
    const char *p = s;
    if (s == NULL || !digits(&p, 4, &y) || !expect(&p, "-") || !digits(&p, 2, &mo) ||
        !expect(&p, "-") || !digits(&p, 2, &d) || !expect(&p, "Tt") || !digits(&p, 2, &h) ||
        !expect(&p, ":") || !digits(&p, 2, &mi) || !expect(&p, ":") || !digits(&p, 2, &se))
        return false;
    if (*p == '.') {
        const char *f = ++p;
        while (*p >= '0' && *p <= '9')
            p++;
        frac = (int)(p - f);
        if (frac < 1 || frac > 9)
            return false;
    }
    if (!parse_offset(p, &off) || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) ||
        h > 23 || mi > 59 || se > 59)
        return false;
    if (y == 1 && mo == 1 && d == 1 && h == 0 && mi == 0 && se == 0 && off == 0) {
        *out = 0;
        return true;
    }
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    *out = timegm(&tm) - off;
    return true;
}

void lc_format_time(time_t t, char *buf, size_t len)
{
    struct tm tm;
    if (len == 0)
        return;
    buf[0] = '\0';
    if (t == 0 || gmtime_r(&t, &tm) == NULL || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        buf[0] = '\0';
}

/* An absent time is "never"; a present one must parse. */
static bool get_time(const cJSON *state, const char *key, time_t *out)
{
    const cJSON *item = get(state, key);
    *out = 0;
    if (item == NULL || cJSON_IsNull(item))
        return true;
    return lc_parse_docker_time(cJSON_GetStringValue(item), out);
}

static void first_ip(const cJSON *root, char *ip, size_t len)
{
    const cJSON *net;
    cJSON_ArrayForEach(net, get(get(root, "NetworkSettings"), "Networks"))
    {
        const char *a = cJSON_GetStringValue(get(net, "IPAddress"));
        if (a != NULL && a[0] != '\0') {
            snprintf(ip, len, "%s", a);
            return;
        }
    }
}

static int published_port(const cJSON *root)
{
    const cJSON *b =
        cJSON_GetArrayItem(get(get(get(root, "NetworkSettings"), "Ports"), LC_ODOO_PORT_KEY), 0);
    const char *port = cJSON_GetStringValue(get(b, "HostPort"));
    return port != NULL ? atoi(port) : 0;
}

static lc_err fill_state(const cJSON *st, lc_observation *out, lc_diag *d)
{
    const cJSON *code = get(st, "ExitCode"), *status = get(st, "Status");
    if (!cJSON_IsString(status))
        return lc_fail(d, LC_EINPUT, "no State.Status in the inspect body");
    copy_str(out->state_raw, sizeof out->state_raw, status);
    out->state = container_state_parse(out->state_raw);
    out->exit_code = cJSON_IsNumber(code) ? code->valueint : 0;
    out->oom_killed = cJSON_IsTrue(get(st, "OOMKilled"));
    copy_str(out->error, sizeof out->error, get(st, "Error"));
    copy_str(out->health, sizeof out->health, get(get(st, "Health"), "Status"));
    if (!get_time(st, "StartedAt", &out->started_at))
        return lc_fail(d, LC_EINPUT, "bad State.StartedAt in the inspect body");
    if (!get_time(st, "FinishedAt", &out->finished_at))
        return lc_fail(d, LC_EINPUT, "bad State.FinishedAt in the inspect body");
    return LC_OK;
}

lc_err engine_parse_inspect(const char *json, size_t len, lc_observation *out, lc_diag *d)
{
    memset(out, 0, sizeof *out);
    cJSON *root = cJSON_ParseWithLength(json, len);
    const cJSON *state = get(root, "State"), *rc = get(root, "RestartCount");
    if (!cJSON_IsObject(root) || !cJSON_IsString(get(root, "Id")) || !cJSON_IsObject(state)) {
        cJSON_Delete(root);
        return lc_fail(d, LC_EINPUT, "not a container inspect body");
    }
    lc_err err = fill_state(state, out, d);
    copy_str(out->id, sizeof out->id, get(root, "Id"));
    copy_name(out->name, sizeof out->name, get(root, "Name"));
    out->restart_count = cJSON_IsNumber(rc) ? rc->valueint : 0;
    first_ip(root, out->ip, sizeof out->ip);
    out->published_port = published_port(root);
    copy_str(out->instance, sizeof out->instance,
             get(get(get(root, "Config"), "Labels"), LC_LABEL_INSTANCE));
    cJSON_Delete(root);
    return err;
}

static bool fill_summary(const cJSON *c, lc_container_summary *s)
{
    if (!cJSON_IsObject(c) || !cJSON_IsString(get(c, "Id")))
        return false;
    copy_str(s->id, sizeof s->id, get(c, "Id"));
    copy_name(s->name, sizeof s->name, cJSON_GetArrayItem(get(c, "Names"), 0));
    copy_str(s->instance, sizeof s->instance, get(get(c, "Labels"), LC_LABEL_INSTANCE));
    copy_str(s->state_raw, sizeof s->state_raw, get(c, "State"));
    s->state = container_state_parse(s->state_raw);
    return true;
}

lc_err engine_parse_list(const char *json, size_t len, lc_container_summary **out, size_t *n,
                         lc_diag *d)
{
    *out = NULL;
    *n = 0;
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!cJSON_IsArray(root)) {
        cJSON_Delete(root);
        return lc_fail(d, LC_EINPUT, "not a JSON array of containers");
    }
    size_t count = (size_t)cJSON_GetArraySize(root), i = 0;
    lc_container_summary *list = count > 0 ? calloc(count, sizeof *list) : NULL;
    if (count > 0 && list == NULL) {
        cJSON_Delete(root);
        return lc_fail(d, LC_ENOMEM, "out of memory");
    }
    const cJSON *c;
    cJSON_ArrayForEach(c, root)
    {
        if (!fill_summary(c, &list[i++])) {
            free(list);
            cJSON_Delete(root);
            return lc_fail(d, LC_EINPUT, "element %zu of the container list is not a container",
                           i - 1);
        }
    }
    cJSON_Delete(root);
    *out = list;
    *n = count;
    return LC_OK;
}

void engine_parse_message(const char *json, size_t len, char *out, size_t outlen)
{
    if (outlen == 0)
        return;
    cJSON *root = cJSON_ParseWithLength(json, len);
    copy_str(out, outlen, get(root, "message"));
    cJSON_Delete(root);
}
