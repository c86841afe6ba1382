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
