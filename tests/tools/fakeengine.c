/*
 * fakeengine: a tiny Docker Engine API server on a Unix socket for the
 * scale benchmark (issue 12): it answers a recorded container list from a
 * file, so instctl and a Python client can be measured at 10,000 containers
 * without running them.
 *
 *   fakeengine --listen SOCK --list FILE --inspect TEMPLATE
 *
 *   GET /_ping, /vX/_ping           "OK" with Api-Version: 1.41
 *   GET /version, /vX/version       {"ApiVersion":"1.41",...}
 *   GET /vX/containers/json?...     FILE as it is (filters are not applied:
 *                                   FILE holds exactly the store's containers)
 *   GET /vX/containers/ID/json      TEMPLATE (a recorded inspect body) with
 *                                   Id, Name, State and Config.Labels of that
 *                                   container from FILE; 404 when unknown
 *   anything else                   404 {"message":"page not found"}
 *
 * HTTP/1.1 with keep-alive; one child process per connection. The socket
 * appears once it accepts; SIGTERM removes it and exits 0.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct container {
    const char *id;
    cJSON *elem; /* the list element */
} container;

static char *list_body, *sock_path;
static size_t list_len, ncontainers;
static container *containers;
static cJSON *inspect_template;

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (p != NULL && fread(p, 1, (size_t)n, f) != (size_t)n) {
        free(p);
        p = NULL;
    }
    fclose(f);
    if (p != NULL) {
        p[n] = '\0';
        *len = (size_t)n;
    }
    return p;
}

static int by_id(const void *a, const void *b)
{
    return strcmp(((const container *)a)->id, ((const container *)b)->id);
}

static bool load(const char *list, const char *inspect)
{
    size_t n;
    char *t = slurp(inspect, &n);
    list_body = slurp(list, &list_len);
    inspect_template = t != NULL ? cJSON_Parse(t) : NULL;
    free(t);
    cJSON *root = list_body != NULL ? cJSON_Parse(list_body) : NULL;
    if (inspect_template == NULL || !cJSON_IsArray(root))
        return false;
    ncontainers = (size_t)cJSON_GetArraySize(root);
    containers = calloc(ncontainers + 1, sizeof *containers);
    size_t i = 0;
    cJSON *c;
    cJSON_ArrayForEach(c, root)
    {
        containers[i].elem = c;
        containers[i++].id = cJSON_GetStringValue(cJSON_GetObjectItem(c, "Id"));
        if (containers[i - 1].id == NULL)
            return false;
    }
    qsort(containers, ncontainers, sizeof *containers, by_id);
    return true;
}

static bool send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return false;
        p += k;
        n -= (size_t)k;
    }
    return true;
}

static bool answer(int fd, int status, const char *ctype, const char *body, size_t len)
{
    char head[512];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nApi-Version: 1.41\r\nContent-Type: %s\r\n"
                     "Content-Length: %zu\r\nServer: fakeengine\r\n\r\n",
                     status, status == 200 ? "OK" : "Not Found", ctype, len);
    return send_all(fd, head, (size_t)n) && send_all(fd, body, len);
}

static void set(cJSON *obj, const char *key, cJSON *value)
{
    if (cJSON_GetObjectItem(obj, key) != NULL)
        cJSON_ReplaceItemInObject(obj, key, value);
    else
        cJSON_AddItemToObject(obj, key, value);
}

/* The recorded inspect body with this container's own fields. */
static char *inspect_body(const container *c)
{
    cJSON *j = cJSON_Duplicate(inspect_template, 1), *e = c->elem;
    const char *state = cJSON_GetStringValue(cJSON_GetObjectItem(e, "State"));
    const char *name = cJSON_GetStringValue(cJSON_GetArrayItem(cJSON_GetObjectItem(e, "Names"), 0));
    cJSON *st = cJSON_GetObjectItem(j, "State"), *cfg = cJSON_GetObjectItem(j, "Config");
    set(j, "Id", cJSON_CreateString(c->id));
    set(j, "Name", cJSON_CreateString(name != NULL ? name : "/x"));
    set(st, "Status", cJSON_CreateString(state != NULL ? state : "running"));
    set(st, "Running", cJSON_CreateBool(state != NULL && strcmp(state, "exited") != 0));
    set(st, "Paused", cJSON_CreateBool(state != NULL && strcmp(state, "paused") == 0));
    set(cfg, "Labels", cJSON_Duplicate(cJSON_GetObjectItem(e, "Labels"), 1));
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return text;
}

static bool route(int fd, const char *target)
{
    static const char version[] = "{\"ApiVersion\":\"1.41\",\"MinAPIVersion\":\"1.12\","
                                  "\"Version\":\"20.10.0-fake\",\"Os\":\"linux\"}";
    static const char missing[] = "{\"message\":\"page not found\"}";
    char path[1024];
    snprintf(path, sizeof path, "%.*s", (int)strcspn(target, "?"), target);
    const char *p = path;
    if (strncmp(p, "/v1.", 4) == 0)
        p = strchr(p + 1, '/') != NULL ? strchr(p + 1, '/') : p;
    if (strcmp(p, "/_ping") == 0)
        return answer(fd, 200, "text/plain", "OK", 2);
    if (strcmp(p, "/version") == 0)
        return answer(fd, 200, "application/json", version, sizeof version - 1);
    if (strcmp(p, "/containers/json") == 0)
        return answer(fd, 200, "application/json", list_body, list_len);
    char id[128];
    if (sscanf(p, "/containers/%127[^/]/json", id) == 1) {
        container key = {.id = id};
        const container *c = bsearch(&key, containers, ncontainers, sizeof key, by_id);
        char *body = c != NULL ? inspect_body(c) : NULL;
        bool ok = body != NULL ? answer(fd, 200, "application/json", body, strlen(body))
                               : answer(fd, 404, "application/json", missing, sizeof missing - 1);
        free(body);
        return ok;
    }
    return answer(fd, 404, "application/json", missing, sizeof missing - 1);
}

/* Serves requests on one connection until the client closes it. */
static void serve(int fd)
{
    char buf[65536];
    size_t len = 0;
    for (;;) {
        char *end = NULL;
        while ((end = memmem(buf, len, "\r\n\r\n", 4)) == NULL) {
            ssize_t k = read(fd, buf + len, sizeof buf - 1 - len);
            if (k <= 0)
                return;
            len += (size_t)k;
        }
        *end = '\0';
        char method[16], target[4096];
        bool close_after = strcasestr(buf, "\r\nConnection: close") != NULL;
        if (sscanf(buf, "%15s %4095s", method, target) != 2 || !route(fd, target) || close_after)
            return;
        size_t used = (size_t)(end + 4 - buf);
        memmove(buf, buf + used, len - used);
        len -= used;
    }
}

static void on_term(int sig)
{
    (void)sig;
    unlink(sock_path);
    _exit(0);
}

int main(int argc, char **argv)
{
    const char *list = NULL, *inspect = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--listen") == 0)
            sock_path = argv[i + 1];
        else if (strcmp(argv[i], "--list") == 0)
            list = argv[i + 1];
        else if (strcmp(argv[i], "--inspect") == 0)
            inspect = argv[i + 1];
    }
    if (sock_path == NULL || list == NULL || inspect == NULL || !load(list, inspect)) {
        fprintf(stderr, "usage: fakeengine --listen SOCK --list FILE --inspect TEMPLATE "
                        "(FILE a JSON array of containers, TEMPLATE an inspect body)\n");
        return 2;
    }
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    char tmp[sizeof a.sun_path];
    snprintf(tmp, sizeof tmp, "%s.tmp", sock_path);
    snprintf(a.sun_path, sizeof a.sun_path, "%s", tmp);
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    unlink(tmp);
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 64) < 0 ||
        rename(tmp, sock_path) < 0) {
        fprintf(stderr, "fakeengine: %s: %s\n", sock_path, strerror(errno));
        return 1;
    }
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);
    signal(SIGCHLD, SIG_IGN);
    for (;;) {
        int c = accept(s, NULL, NULL);
        if (c < 0)
            continue;
        if (fork() == 0) {
            signal(SIGTERM, SIG_DFL);
            close(s);
            serve(c);
            _exit(0);
        }
        close(c);
    }
}
