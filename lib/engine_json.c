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

static void copy_cut(char *dst, size_t len, const char *s)
{
    size_t n = s != NULL ? strnlen(s, len - 1) : 0;
    memcpy(dst, s != NULL ? s : "", n);
    dst[n] = '\0';
}

/* Copies a JSON string value into dst, "" when item is absent or not a string. */
static void copy_str(char *dst, size_t len, const cJSON *item)
{
    copy_cut(dst, len, cJSON_GetStringValue(item));
}

static void copy_name(char *dst, size_t len, const cJSON *item)
{
    const char *s = cJSON_GetStringValue(item);
    if (s != NULL && s[0] == '/')
        s++;
    copy_cut(dst, len, s);
}

static const cJSON *get(const cJSON *obj, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(obj, key);
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

/* ---- the JSON value splitter: whole values out of a body that arrives in chunks ---- */

void json_split_init(lc_json_split *js, bool array, size_t max_value, lc_json_value_fn fn,
                     void *arg)
{
    memset(js, 0, sizeof *js);
    js->array = array;
    js->depth = array ? -1 : 0;
    js->max = max_value;
    js->fn = fn;
    js->arg = arg;
}

void json_split_free(lc_json_split *js)
{
    free(js->buf);
    js->buf = NULL;
    js->len = js->cap = 0;
}

static bool split_bad(lc_json_split *js, const char *why)
{
    if (js->why[0] == '\0')
        snprintf(js->why, sizeof js->why, "%s", why);
    js->bad = true;
    return false;
}

/* Appends the part of the current value that lies in this chunk. */
static bool split_keep(lc_json_split *js, const char *p, size_t n)
{
    if (js->max > 0 && js->len + n > js->max)
        return split_bad(js, "a value larger than the limit");
    if (js->len + n + 1 > js->cap) {
        size_t cap = js->cap ? js->cap : 4096;
        while (cap < js->len + n + 1)
            cap *= 2;
        char *grown = realloc(js->buf, cap);
        if (grown == NULL)
            return split_bad(js, "out of memory");
        js->buf = grown;
        js->cap = cap;
    }
    memcpy(js->buf + js->len, p, n);
    js->len += n;
    js->buf[js->len] = '\0';
    return true;
}

/* A value ended: hand it over and wait for a separator. */
static bool split_emit(lc_json_split *js)
{
    js->in_value = false;
    js->need_sep = true;
    js->count++;
    bool ok = js->fn(js->arg, js->buf, js->len);
    js->len = 0;
    return ok || split_bad(js, "stopped by the caller");
}

/* One character between values (base depth): whitespace, separators, the array's ends. */
static int split_between(lc_json_split *js, char c)
{
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
        return 0;
    if (js->done)
        return split_bad(js, "text after the end") ? 0 : -1;
    if (js->depth < 0)
        return c == '[' ? (js->depth = 0, 0) : (split_bad(js, "not a JSON array") ? 0 : -1);
    if (js->array && c == ']' && !js->after_comma) {
        js->done = true;
        return 0;
    }
    if (js->array && c == ',' && js->need_sep) {
        js->need_sep = false;
        js->after_comma = true;
        return 0;
    }
    if (js->array && (js->need_sep || c == ']' || c == ','))
        return split_bad(js, "malformed array") ? 0 : -1;
    return 1; /* a value starts here */
}

/* Bytes that matter outside a string: one table lookup. */
enum { IN_STR = 1, OUTSIDE = 2, SPACE = 4 };
static const unsigned char byte_class[256] = {
    ['"'] = IN_STR | OUTSIDE, ['\\'] = IN_STR,          ['{'] = OUTSIDE,
    ['}'] = OUTSIDE,          ['['] = OUTSIDE,          [']'] = OUTSIDE,
    [','] = OUTSIDE,          [' '] = OUTSIDE | SPACE,  ['\t'] = OUTSIDE | SPACE,
    ['\r'] = OUTSIDE | SPACE, ['\n'] = OUTSIDE | SPACE,
};

/* How many bytes of p (n long) come before a '"' or '\\' (memchr: strings are most of a body). */
static size_t string_run(const char *p, size_t n)
{
    const char *q = memchr(p, '"', n);
    size_t k = q != NULL ? (size_t)(q - p) : n;
    const char *b = memchr(p, '\\', k);
    return b != NULL ? (size_t)(b - p) : k;
}

static bool outside_special(unsigned char c)
{
    return byte_class[c] & OUTSIDE;
}

/* Scans one chunk of a value; *i at its next character; *ended when the value ended. */
static void split_scan(lc_json_split *js, const char *p, size_t n, size_t *i, bool *ended)
{
    for (; *i < n; (*i)++) {
        if (js->in_string) {
            if (js->escape) {
                js->escape = false;
                continue;
            }
            *i += string_run(p + *i, n - *i);
            if (*i == n)
                break;
            if (p[*i] == '\\')
                js->escape = true;
            else
                js->in_string = false;
            continue;
        }
        while (*i < n && !outside_special((unsigned char)p[*i]))
            (*i)++;
        if (*i == n)
            break;
        char c = p[*i];
        if (c == '"') {
            js->in_string = true;
        } else if (c == '{' || c == '[') {
            js->nest++;
        } else if (c == '}' || c == ']') {
            if (js->nest == 0) /* the end of a scalar at the array's close */
                break;
            if (--js->nest == 0) {
                (*i)++;
                *ended = true;
                return;
            }
        } else if (js->nest == 0) { /* whitespace or ',' after a scalar */
            *ended = true;
            return;
        }
    }
    *ended = js->nest == 0 && *i < n;
}

bool json_split_feed(lc_json_split *js, const char *data, size_t len)
{
    size_t i = 0;
    while (!js->bad && i < len) {
        if (!js->in_value) {
            int r = split_between(js, data[i]);
            if (r < 0)
                return false;
            if (r == 0) {
                i++;
                continue;
            }
            js->in_value = true;
            js->after_comma = false;
            js->nest = 0;
        }
        size_t from = i;
        bool ended = false;
        split_scan(js, data, len, &i, &ended);
        if (!split_keep(js, data + from, i - from))
            return false;
        if (ended && !split_emit(js))
            return false;
    }
    return !js->bad;
}

bool json_split_end(lc_json_split *js)
{
    if (js->bad)
        return false;
    if (js->in_value && js->nest == 0 && !js->in_string && !js->array)
        return split_emit(js);
    if (js->in_value || (js->array && !js->done))
        return split_bad(js, "cut off before its end");
    return true;
}

/* ---- the container list, element by element ---- */

/* The end of the JSON value at p (before end), or NULL when there is none. */
static const char *skip_value(const char *p, const char *end)
{
    int nest = 0;
    for (const char *q = p; q < end; q++) {
        while (q < end && !outside_special((unsigned char)*q))
            q++;
        if (q == end)
            break;
        if (*q == '"') {
            for (q++; q < end && *q != '"'; q++) {
                q += string_run(q, (size_t)(end - q));
                if (q < end && *q == '\\')
                    q++;
                else if (q < end)
                    break;
            }
            if (q == end)
                return NULL;
            if (nest == 0)
                return q + 1;
        } else if (*q == '{' || *q == '[') {
            nest++;
        } else if (*q == '}' || *q == ']') {
            if (nest == 0)
                return q;
            if (--nest == 0)
                return q + 1;
        } else if (nest == 0) { /* ',' or whitespace after a scalar */
            return q;
        }
    }
    return nest == 0 ? end : NULL;
}

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    return p;
}

/*
 * Copies the members of the object in [p, end) that a summary reads (Id,
 * Names, Labels, State) into out as an object, so cJSON builds four members
 * rather than the whole element (NetworkSettings, Mounts, ...). False when
 * the text is not an object as expected: the caller parses it whole.
 */
static bool pick_members(const char *p, const char *end, char *out)
{
    static const char *const wanted[] = {"\"Id\"", "\"Names\"", "\"Labels\"", "\"State\""};
    size_t n = 0;
    p = skip_ws(p, end);
    if (p == end || *p++ != '{')
        return false;
    out[n++] = '{';
    for (;;) {
        p = skip_ws(p, end);
        if (p < end && *p == '}')
            break;
        const char *key = p, *kend = p < end && *p == '"' ? skip_value(p, end) : NULL;
        const char *colon = kend != NULL ? skip_ws(kend, end) : NULL;
        if (colon == NULL || colon == end || *colon != ':')
            return false;
        const char *val = skip_ws(colon + 1, end), *vend = skip_value(val, end);
        if (vend == NULL || vend == val)
            return false;
        for (size_t w = 0; w < sizeof wanted / sizeof wanted[0]; w++) {
            size_t k = strlen(wanted[w]);
            if ((size_t)(kend - key) == k && memcmp(key, wanted[w], k) == 0) {
                if (n > 1)
                    out[n++] = ',';
                memcpy(out + n, key, (size_t)(vend - key));
                n += (size_t)(vend - key);
            }
        }
        p = skip_ws(vend, end);
        if (p < end && *p == ',')
            p++;
        else if (p == end || *p != '}')
            return false;
    }
    out[n++] = '}';
    out[n] = '\0';
    return true;
}

static bool add_summary(void *arg, const char *json, size_t len)
{
    lc_list_builder *b = arg;
    if (len + 2 > b->scratch_cap) {
        char *grown = realloc(b->scratch, len + 2);
        if (grown == NULL) {
            b->oom = true;
            return false;
        }
        b->scratch = grown;
        b->scratch_cap = len + 2;
    }
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        lc_container_summary *grown = realloc(b->list, cap * sizeof *grown);
        if (grown == NULL) {
            b->oom = true;
            return false;
        }
        b->list = grown;
        b->cap = cap;
    }
    cJSON *c = pick_members(json, json + len, b->scratch) ? cJSON_Parse(b->scratch)
                                                          : cJSON_ParseWithLength(json, len);
    lc_container_summary *s = &b->list[b->n];
    memset(s, 0, sizeof *s);
    bool ok = fill_summary(c, s);
    cJSON_Delete(c);
    if (ok)
        b->n++;
    else
        b->bad_at = b->n + 1;
    return ok;
}

void engine_list_builder_init(lc_list_builder *b)
{
    memset(b, 0, sizeof *b);
    json_split_init(&b->split, true, 1u << 20, add_summary, b);
}

bool engine_list_builder_feed(void *arg, const void *data, size_t len)
{
    lc_list_builder *b = arg;
    return json_split_feed(&b->split, data, len);
}

lc_err engine_list_builder_end(lc_list_builder *b, lc_container_summary **out, size_t *n,
                               lc_diag *d)
{
    bool ok = json_split_end(&b->split);
    json_split_free(&b->split);
    free(b->scratch);
    b->scratch = NULL;
    *out = NULL;
    *n = 0;
    lc_err e = LC_OK;
    if (b->oom)
        e = lc_fail(d, LC_ENOMEM, "out of memory");
    else if (b->bad_at > 0)
        e = lc_fail(d, LC_EINPUT, "element %zu of the container list is not a container",
                    b->bad_at - 1);
    else if (!ok)
        e = lc_fail(d, LC_EINPUT, "not a JSON array of containers (%s)", b->split.why);
    if (e != LC_OK || b->n == 0) {
        free(b->list);
        b->list = NULL;
        return e;
    }
    *out = b->list;
    *n = b->n;
    b->list = NULL;
    return LC_OK;
}

lc_err engine_parse_list(const char *json, size_t len, lc_container_summary **out, size_t *n,
                         lc_diag *d)
{
    lc_list_builder b;
    engine_list_builder_init(&b);
    engine_list_builder_feed(&b, json, len);
    return engine_list_builder_end(&b, out, n, d);
}

lc_err engine_parse_event(const char *json, size_t len, lc_event *out, lc_diag *d)
{
    memset(out, 0, sizeof *out);
    cJSON *root = cJSON_ParseWithLength(json, len);
    const cJSON *actor = get(root, "Actor"), *attrs = get(actor, "Attributes");
    const cJSON *tn = get(root, "timeNano"), *t = get(root, "time");
    if (!cJSON_IsObject(root) || !cJSON_IsString(get(root, "Action"))) {
        cJSON_Delete(root);
        return lc_fail(d, LC_EINPUT, "not an engine event");
    }
    copy_str(out->type, sizeof out->type, get(root, "Type"));
    copy_str(out->action, sizeof out->action, get(root, "Action"));
    copy_str(out->id, sizeof out->id, get(actor, "ID"));
    copy_str(out->instance, sizeof out->instance, get(attrs, LC_LABEL_INSTANCE));
    copy_str(out->name, sizeof out->name, get(attrs, "name"));
    const char *code = cJSON_GetStringValue(get(attrs, "exitCode"));
    out->exit_code = code != NULL ? atoi(code) : -1;
    if (cJSON_IsNumber(tn))
        out->time_ns = (long long)tn->valuedouble;
    else if (cJSON_IsNumber(t))
        out->time_ns = (long long)t->valuedouble * 1000000000LL;
    cJSON_Delete(root);
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
