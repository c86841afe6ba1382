/*
 * Output helpers: free text made safe for a terminal, status badges, the
 * instance JSON object, ages, sizes, errors.
 */
#include "cli.h"

#include "action.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

size_t text_escape(const char *s, const char *also, char *buf, size_t len)
{
    static const char named[] = {['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't', ['\033'] = 'e'};
    size_t used = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && len > 0; p++) {
        if (*p >= 0x20 && *p != 0x7f && *p != 0xc2 && (also[0] == '\0' || !strchr(also, *p))) {
            if (used + 1 >= len) /* the common case, kept out of the formatting below */
                break;
            buf[used++] = (char)*p;
            continue;
        }
        char one[8] = {(char)*p, 0};
        if (*p < 0x20 && *p < sizeof named && named[*p])
            snprintf(one, sizeof one, "\\%c", named[*p]);
        else if (*p < 0x20 || *p == 0x7f)
            snprintf(one, sizeof one, "\\x%02x", *p);
        else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) /* C1 controls (CSI is U+009B) */
            snprintf(one, sizeof one, "\\u%04x", *++p);
        else if (*p != 0 && strchr(also, *p) != NULL)
            snprintf(one, sizeof one, "\\%c", *p);
        size_t n = strlen(one);
        if (used + n >= len)
            break;
        memcpy(buf + used, one, n);
        used += n;
    }
    if (len > 0)
        buf[used] = '\0';
    return used;
}

const char *text_safe(const char *s)
{
    static char ring[8][2048];
    static unsigned next;
    char *buf = ring[next++ % 8];
    text_escape(s != NULL ? s : "", "", buf, sizeof ring[0]);
    return buf;
}

int fail(cli *c, lc_err e)
{
    fprintf(stderr, "instctl: %s\n", text_safe(c->diag.msg[0] ? c->diag.msg : lc_strerror(e)));
    return lc_exit_code(e);
}

int usage_error(const cmd_entry *cmd, const char *fmt, ...)
{
    va_list ap;
    fputs("instctl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nusage: instctl %s %s\n", cmd->name, cmd->usage);
    return 2;
}

/* One colour per status (SGR codes); error and suspended stand apart. */
static const char *const badge_colour[INSTANCE_STATUS_COUNT] = {
    [INSTANCE_CREATING] = "36",    [INSTANCE_RUNNING] = "32",     [INSTANCE_STOPPED] = "90",
    [INSTANCE_SUSPENDED] = "1;33", [INSTANCE_MAINTENANCE] = "34", [INSTANCE_UPDATING] = "35",
    [INSTANCE_ERROR] = "1;37;41",  [INSTANCE_TERMINATED] = "2",
};

const char *status_badge(const cli *c, InstanceStatus s, char *buf, size_t len)
{
    if (!c->color) { /* list prints 10,000 of these: copied, not formatted */
        if (len > 0 && memccpy(buf, instance_status_name(s), '\0', len) == NULL)
            buf[len - 1] = '\0';
    } else {
        snprintf(buf, len, "\033[%sm%s\033[0m", badge_colour[s], instance_status_name(s));
    }
    return buf;
}

static void add_time(cJSON *o, const char *key, time_t t)
{
    char buf[32];
    if (t == 0) {
        cJSON_AddNullToObject(o, key);
        return;
    }
    lc_format_time(t, buf, sizeof buf);
    cJSON_AddStringToObject(o, key, buf);
}

static void add_text_or_null(cJSON *o, const char *key, const char *text)
{
    if (text[0] == '\0')
        cJSON_AddNullToObject(o, key);
    else
        cJSON_AddStringToObject(o, key, text);
}

cJSON *instance_json(const lc_config *cfg, const lc_instance *in)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", in->id);
    cJSON_AddStringToObject(o, "name", in->name);
    cJSON_AddStringToObject(o, "status", instance_status_name(in->status));
    cJSON_AddStringToObject(o, "database_name", in->database_name);
    cJSON_AddStringToObject(o, "odoo_version", in->odoo_version);
    cJSON_AddStringToObject(o, "image", in->image);
    cJSON_AddStringToObject(o, "container_name", in->container_name);
    add_text_or_null(o, "container_id", in->container_id);
    cJSON_AddStringToObject(o, "host", in->host[0] ? in->host : LC_HOST_LOCAL);
    if (in->odoo_port > 0)
        cJSON_AddNumberToObject(o, "odoo_port", in->odoo_port);
    else
        cJSON_AddNullToObject(o, "odoo_port");
    add_text_or_null(o, "error_message", in->error_message);
    cJSON *holds = cJSON_AddArrayToObject(o, "holds");
    if (in->hold_billing)
        cJSON_AddItemToArray(holds, cJSON_CreateString("billing"));
    if (in->hold_operator)
        cJSON_AddItemToArray(holds, cJSON_CreateString("operator"));
    if (in->suspended_from >= 0)
        cJSON_AddStringToObject(o, "suspended_from",
                                instance_status_name((InstanceStatus)in->suspended_from));
    else
        cJSON_AddNullToObject(o, "suspended_from");
    /* the same list as the text form, from the action table's one rule */
    char words[512], *save = NULL;
    cJSON *allowed = cJSON_AddArrayToObject(o, "allowed_actions");
    lc_allowed_actions(cfg, in->status, "\n", words, sizeof words);
    for (char *w = strtok_r(words, "\n", &save); w != NULL; w = strtok_r(NULL, "\n", &save))
        cJSON_AddItemToArray(allowed, cJSON_CreateString(w));
    add_time(o, "created_at", in->created_at);
    add_time(o, "updated_at", in->updated_at);
    return o;
}

int print_json(cJSON *j)
{
    char *s = cJSON_Print(j);
    if (s != NULL)
        puts(s);
    free(s);
    cJSON_Delete(j);
    return 0;
}

void format_age(time_t t, time_t now, char *buf, size_t len)
{
    long s = (long)(now - t);
    if (t == 0)
        snprintf(buf, len, "-");
    else if (s < 0)
        snprintf(buf, len, "in the future");
    else if (s < 120)
        snprintf(buf, len, "%lds ago", s);
    else if (s < 7200)
        snprintf(buf, len, "%ldm ago", s / 60);
    else if (s < 172800)
        snprintf(buf, len, "%ldh ago", s / 3600);
    else
        snprintf(buf, len, "%ldd ago", s / 86400);
}

/* Progress on a terminal (stderr): steps one per line, bytes on one rewritten line. */
static bool mid_line;

void progress_step(void *arg, const char *step)
{
    fprintf(stderr, "%s%s: %s\n", mid_line ? "\n" : "", (const char *)arg, step);
    mid_line = false;
}

void progress_bytes(void *arg, const char *what, long long done, long long total)
{
    (void)arg;
    char d[32], t[32];
    lc_format_size(done, d, sizeof d);
    lc_format_size(total, t, sizeof t);
    /* \033[K: the shorter text of a new unit leaves nothing of the old one behind */
    fprintf(stderr, "\r  %s: %s%s%s\033[K", what, d, total > 0 ? " / " : "", total > 0 ? t : "");
    mid_line = true;
}

void progress_end(void)
{
    if (mid_line)
        fputc('\n', stderr);
    mid_line = false;
}
