/*
 * faultproxy: a fault-injecting HTTP proxy between instctl and the Docker
 * engine's Unix socket, for tests (DESIGN §8). Faults a real engine will
 * not make on demand: an error status for one request, a cut-off body, a
 * delay, a container removed just before a request reaches the engine.
 *
 *   faultproxy --listen SOCK --upstream SOCK [--fault SPEC]... [--log FILE]
 *
 *   SPEC = METHOD:SUBSTRING:ACTION[:ACTION]...[:nth=N]
 *     METHOD     GET, POST, DELETE, ... or * for any
 *     SUBSTRING  looked for in the request target as sent, version prefix
 *                and query included ("/v1.41/containers/json?all=1&...");
 *                it may itself contain ':'; ~REGEX instead matches the
 *                target against a POSIX extended regular expression
 *     ACTION     status=CODE  answer CODE with a Docker-style {"message"},
 *                             the request never reaches the engine
 *                cut=BYTES    forward only the first BYTES bytes of the
 *                             response body (as on the wire), then close
 *                delay=MS     wait MS milliseconds before forwarding
 *                remove=ID    first remove container ID (force) through the
 *                             upstream, then forward the request
 *                hold         keep the request in flight: never forward it
 *                             (its side effect does not happen) and answer
 *                             nothing until the client closes the connection
 *                hold-after   forward it, read the engine's whole answer (the
 *                             side effect has happened), relay none of it and
 *                             keep the connection open until the client closes
 *                             it; both append "HOLD METHOD TARGET" to --log
 *                             (flushed) once holding
 *     nth=N      apply only to the Nth request this SPEC matches (1-based);
 *                without it, to every match
 *     run=N      apply only to the first request of the Nth run of
 *                consecutive matches (a polling loop counts once)
 *   e.g. GET:/containers/json:cut=200   GET:/containers/0a1b/json:status=500:nth=1
 *        POST:~^/v[0-9.]+/containers/[0-9a-f]{64}/start:hold-after:run=1
 *
 * One process accepts and reads each request's head (so match counts are
 * exact), then forks a child to forward it with `Connection: close`: one
 * request per connection, the response ends at the engine's EOF. The socket
 * appears at SOCK only once it accepts (bound under a temporary name, then
 * renamed). Prints nothing unless something fails; SIGTERM or SIGINT
 * removes SOCK and exits 0 (requests in flight finish in their children). --log appends "METHOD
 * TARGET faults" per request.
 */
#include <errno.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_FAULTS 32
#define HEAD_MAX 65536

typedef struct fault {
    char method[16];
    char match[512];
    int status;      /* 0 = none */
    long cut;        /* -1 = none */
    long delay_ms;   /* 0 = none */
    char remove[80]; /* "" = none */
    int hold;        /* HOLD_* */
    bool is_regex;   /* match is a regular expression (~REGEX) */
    regex_t re;
    long nth;  /* 0 = every match */
    long run;  /* 0 = every match, else the first request of the run-th run */
    long seen; /* matches so far */
    long runs; /* runs of consecutive matches so far */
    bool last; /* the previous request matched */
} fault;

enum { HOLD_NONE, HOLD_BEFORE, HOLD_AFTER };

/* What one request gets: the union of the faults that apply to it. */
typedef struct plan {
    int status;
    long cut, delay_ms;
    char remove[80];
    int hold;
} plan;

static fault faults[MAX_FAULTS];
static int nfaults;
static const char *upstream;
static int listen_fd = -1;
static sigset_t run_mask; /* the mask to restore: SIGTERM/SIGINT arrive only inside ppoll */
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

_Noreturn static void usage(const char *why)
{
    fprintf(stderr,
            "faultproxy: %s\nusage: faultproxy --listen SOCK --upstream SOCK "
            "[--fault METHOD:SUBSTRING:ACTION[:ACTION]...[:nth=N]]... [--log FILE]\n",
            why);
    exit(2);
}

/* Parses one ACTION or nth=N token into f; false when tok is not one. */
static bool parse_action(fault *f, const char *tok)
{
    char *end;
    const char *eq = strchr(tok, '=');
    if (strcmp(tok, "hold") == 0 || strcmp(tok, "hold-after") == 0) {
        f->hold = tok[4] == '\0' ? HOLD_BEFORE : HOLD_AFTER;
        return true;
    }
    if (eq == NULL)
        return false;
    size_t klen = (size_t)(eq - tok);
    const char *v = eq + 1;
    if (klen == 6 && strncmp(tok, "remove", 6) == 0) {
        snprintf(f->remove, sizeof f->remove, "%s", v);
        return v[0] != '\0' && strlen(v) < sizeof f->remove;
    }
    long n = strtol(v, &end, 10);
    if (v[0] == '\0' || *end != '\0' || n < 0)
        return false;
    if (klen == 6 && strncmp(tok, "status", 6) == 0 && n >= 100 && n <= 599)
        f->status = (int)n;
    else if (klen == 3 && strncmp(tok, "cut", 3) == 0)
        f->cut = n;
    else if (klen == 5 && strncmp(tok, "delay", 5) == 0)
        f->delay_ms = n;
    else if (klen == 3 && strncmp(tok, "nth", 3) == 0 && n > 0)
        f->nth = n;
    else if (klen == 3 && strncmp(tok, "run", 3) == 0 && n > 0)
        f->run = n;
    else
        return false;
    return true;
}

/* METHOD:SUBSTRING:ACTION...: actions are taken from the right, the rest is SUBSTRING. */
static void parse_fault(const char *spec)
{
    if (nfaults == MAX_FAULTS)
        usage("too many --fault");
    fault *f = &faults[nfaults++];
    *f = (fault){.cut = -1};
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", spec);
    char *colon = strchr(buf, ':');
    if (colon == NULL || (size_t)(colon - buf) >= sizeof f->method)
        usage("a fault needs METHOD:SUBSTRING:ACTION");
    *colon = '\0';
    snprintf(f->method, sizeof f->method, "%s", buf);
    char *rest = colon + 1, *last;
    int actions = 0;
    while ((last = strrchr(rest, ':')) != NULL && parse_action(f, last + 1)) {
        *last = '\0';
        actions++;
    }
    bool act = f->status || f->cut >= 0 || f->delay_ms || f->remove[0] || f->hold;
    if (actions == 0 || !act || rest[0] == '\0' || strlen(rest) >= sizeof f->match ||
        (f->nth && f->run))
        usage("bad --fault (want METHOD:SUBSTRING:ACTION, ACTION one of status= cut= delay= "
              "remove= hold hold-after; at most one of nth= run=)");
    snprintf(f->match, sizeof f->match, "%s", rest);
    f->is_regex = rest[0] == '~';
    if (f->is_regex && regcomp(&f->re, rest + 1, REG_EXTENDED | REG_NOSUB) != 0)
        usage("bad --fault: ~REGEX does not compile");
}

static bool write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

static int connect_unix(const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* Reads until the end of the request head; returns bytes read (head and any body), 0 on failure. */
static size_t read_head(int fd, char *buf, size_t cap, size_t *head_len)
{
    size_t len = 0;
    while (len < cap - 1) {
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0;
        len += (size_t)n;
        buf[len] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (end != NULL) {
            *head_len = (size_t)(end - buf) + 4;
            return len;
        }
    }
    return 0;
}

/* Counts the request against every fault and merges the ones that apply. */
static plan decide(const char *method, const char *target, char *names, size_t len)
{
    plan p = {.cut = -1};
    names[0] = '\0';
    for (int i = 0; i < nfaults; i++) {
        fault *f = &faults[i];
        bool match = (strcmp(f->method, "*") == 0 || strcasecmp(f->method, method) == 0) &&
                     (f->is_regex ? regexec(&f->re, target, 0, NULL, 0) == 0
                                  : strstr(target, f->match) != NULL);
        bool first_of_run = match && !f->last;
        f->last = match;
        if (!match)
            continue;
        f->seen++;
        f->runs += first_of_run;
        if ((f->nth != 0 && f->seen != f->nth) ||
            (f->run != 0 && (!first_of_run || f->runs != f->run)))
            continue;
        if (f->hold)
            p.hold = f->hold;
        if (f->status)
            p.status = f->status;
        if (f->cut >= 0)
            p.cut = f->cut;
        if (f->delay_ms)
            p.delay_ms = f->delay_ms;
        if (f->remove[0])
            snprintf(p.remove, sizeof p.remove, "%s", f->remove);
        size_t used = strlen(names);
        snprintf(names + used, len - used, " fault#%d", i + 1);
    }
    return p;
}

/* A request of the proxy's own to the upstream; the start of its answer into answer. */
static bool ask_upstream(const char *method, const char *path, char *answer, size_t cap)
{
    char rq[512];
    size_t got = 0;
    ssize_t r;
    int n = snprintf(rq, sizeof rq, "%s %s HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n",
                     method, path);
    int fd = connect_unix(upstream);
    bool sent = fd >= 0 && write_all(fd, rq, (size_t)n);
    while (sent && got < cap - 1 && (r = read(fd, answer + got, cap - 1 - got)) > 0)
        got += (size_t)r;
    answer[got] = '\0';
    if (fd >= 0)
        close(fd);
    return got > 0;
}

/* DELETE /containers/ID?force=1 through the upstream, waiting for the answer. */
static void remove_container(const char *id)
{
    char path[128], answer[512];
    snprintf(path, sizeof path, "/containers/%s?force=1", id);
    int code = 0;
    if (!ask_upstream("DELETE", path, answer, sizeof answer))
        fprintf(stderr, "faultproxy: remove %s: no answer from %s\n", id, upstream);
    else if (sscanf(answer, "HTTP/%*s %d", &code) != 1 || code != 204)
        fprintf(stderr, "faultproxy: remove %s: %.*s\n", id, (int)strcspn(answer, "\r\n"), answer);
}

/* An error answer as the engine gives one: its Api-Version header (from /_ping), a {"message"}. */
static void answer_status(int client, int status)
{
    char ping[2048], api[32] = "", body[128], rs[512];
    const char *h = ask_upstream("GET", "/_ping", ping, sizeof ping)
                        ? strcasestr(ping, "\r\nApi-Version:")
                        : NULL;
    if (h != NULL)
        snprintf(api, sizeof api, "%.*s", (int)strcspn(h + 14, "\r\n"), h + 14);
    int blen =
        snprintf(body, sizeof body, "{\"message\":\"faultproxy: injected status %d\"}\n", status);
    int n = snprintf(rs, sizeof rs,
                     "HTTP/1.1 %d Injected\r\nApi-Version:%s\r\nContent-Type: application/json\r\n"
                     "Content-Length: %d\r\nConnection: close\r\n\r\n%s",
                     status, api[0] ? api : " 1.41", blen, body);
    write_all(client, rs, (size_t)n);
}

/* The request head without Connection/Keep-Alive headers, plus `Connection: close`. */
static size_t rewrite_head(const char *head, size_t head_len, char *out, size_t cap)
{
    size_t len = 0;
    const char *line = head, *end = head + head_len - 2; /* before the blank line */
    while (line < end) {
        const char *eol = strstr(line, "\r\n");
        size_t n = (size_t)(eol - line) + 2;
        bool drop = line != head && (strncasecmp(line, "Connection:", 11) == 0 ||
                                     strncasecmp(line, "Keep-Alive:", 11) == 0);
        if (!drop && len + n < cap) {
            memcpy(out + len, line, n);
            len += n;
        }
        line = eol + 2;
    }
    len += (size_t)snprintf(out + len, cap - len, "Connection: close\r\n\r\n");
    return len < cap ? len : 0;
}

/*
 * Copies the rest of the request body up and the response down until the
 * engine's EOF; with discard, the response is read to its end and dropped.
 */
static void relay(int client, int up, long cut, bool discard)
{
    static const char crlf2[] = "\r\n\r\n";
    char buf[65536];
    int matched = 0; /* bytes of crlf2 seen at the end of the response so far */
    long body = 0;
    struct pollfd fds[2] = {{.fd = up, .events = POLLIN}, {.fd = client, .events = POLLIN}};
    for (;;) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        if (fds[1].revents != 0) {
            ssize_t n = read(client, buf, sizeof buf);
            if (n <= 0 || !write_all(up, buf, (size_t)n))
                fds[1].fd = -1; /* the client is done sending (or gone) */
        }
        if (fds[0].revents == 0)
            continue;
        ssize_t n = read(up, buf, sizeof buf);
        if (n <= 0)
            return;
        size_t send = (size_t)n;
        for (ssize_t i = 0; cut >= 0 && i < n; i++) {
            if (matched == 4 && body++ == cut) {
                send = (size_t)i;
                break;
            }
            if (matched < 4)
                matched = buf[i] == crlf2[matched] ? matched + 1 : buf[i] == '\r' ? 1 : 0;
        }
        if (discard)
            continue;
        if (!write_all(client, buf, send) || send < (size_t)n)
            return;
    }
}

/*
 * Tells the test the request is held ("HOLD METHOD TARGET" on the log),
 * then reads and drops whatever the client sends until it closes the
 * connection (the caller died or gave up). Dies with the proxy.
 */
static void hold(int client, FILE *log, const char *method, const char *target)
{
    char buf[65536];
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (log != NULL) {
        fprintf(log, "HOLD %s %s\n", method, target);
        fflush(log);
    }
    for (;;) {
        ssize_t n = read(client, buf, sizeof buf);
        if (n == 0 || (n < 0 && errno != EINTR))
            return;
    }
}

static void serve(int client, char *req, size_t len, size_t head_len, const plan *p, FILE *log)
{
    static char head[HEAD_MAX + 64];
    char method[16] = "", target[4096] = "";
    sscanf(req, "%15s %4095s", method, target);
    if (p->hold == HOLD_BEFORE) {
        hold(client, log, method, target);
        return;
    }
    if (p->delay_ms > 0) {
        struct timespec ts = {p->delay_ms / 1000, (p->delay_ms % 1000) * 1000000};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
    }
    if (p->remove[0] != '\0')
        remove_container(p->remove);
    if (p->status != 0) {
        answer_status(client, p->status);
        return;
    }
    int up = connect_unix(upstream);
    if (up < 0) {
        fprintf(stderr, "faultproxy: cannot reach %s: %s\n", upstream, strerror(errno));
        return;
    }
    size_t hlen = rewrite_head(req, head_len, head, sizeof head);
    if (hlen > 0 && write_all(up, head, hlen) && write_all(up, req + head_len, len - head_len))
        relay(client, up, p->cut, p->hold == HOLD_AFTER);
    close(up);
    if (p->hold == HOLD_AFTER)
        hold(client, log, method, target);
}

static void handle(int client, FILE *log)
{
    static char req[HEAD_MAX];
    char method[16] = "", target[4096] = "", names[256];
    size_t head_len = 0;
    struct timeval tv = {5, 0};
    setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    size_t len = read_head(client, req, sizeof req, &head_len);
    if (len == 0 || sscanf(req, "%15s %4095s", method, target) != 2)
        return;
    plan p = decide(method, target, names, sizeof names);
    if (log != NULL) {
        fprintf(log, "%s %s%s\n", method, target, names);
        fflush(log);
    }
    pid_t pid = fork();
    if (pid < 0)
        fprintf(stderr, "faultproxy: fork: %s\n", strerror(errno));
    if (pid != 0)
        return;
    close(listen_fd);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    sigprocmask(SIG_SETMASK, &run_mask, NULL);
    tv.tv_sec = 0;
    setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    serve(client, req, len, head_len, &p, log);
    close(client);
    _exit(0);
}

/* Binds under a temporary name and renames once listening, so SOCK existing means ready. */
static int listen_at(const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if ((size_t)snprintf(a.sun_path, sizeof a.sun_path, "%s.%ld", path, (long)getpid()) >=
        sizeof a.sun_path)
        usage("--listen path too long");
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    unlink(a.sun_path);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 64) != 0 ||
        rename(a.sun_path, path) != 0) {
        fprintf(stderr, "faultproxy: listen on %s: %s\n", path, strerror(errno));
        unlink(a.sun_path);
        exit(1);
    }
    return fd;
}

int main(int argc, char **argv)
{
    const char *listen_path = NULL, *log_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            usage("every option takes a value");
        if (strcmp(argv[i], "--listen") == 0)
            listen_path = argv[++i];
        else if (strcmp(argv[i], "--upstream") == 0)
            upstream = argv[++i];
        else if (strcmp(argv[i], "--fault") == 0)
            parse_fault(argv[++i]);
        else if (strcmp(argv[i], "--log") == 0)
            log_path = argv[++i];
        else
            usage("unknown option");
    }
    if (listen_path == NULL || upstream == NULL)
        usage("--listen and --upstream are required");
    FILE *log = log_path != NULL ? fopen(log_path, "a") : NULL;
    if (log_path != NULL && log == NULL) {
        fprintf(stderr, "faultproxy: %s: %s\n", log_path, strerror(errno));
        return 1;
    }
    sigset_t term;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    sigaddset(&term, SIGINT);
    sigprocmask(SIG_BLOCK, &term, &run_mask); /* no stop signal lost between checks */
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGCHLD, SIG_IGN); /* children are reaped by the kernel */
    signal(SIGPIPE, SIG_IGN);
    listen_fd = listen_at(listen_path);
    struct pollfd pfd = {.fd = listen_fd, .events = POLLIN};
    while (!stop) {
        if (ppoll(&pfd, 1, NULL, &run_mask) < 0)
            continue; /* EINTR: a signal, maybe a stop */
        int client = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (client < 0) {
            if (errno != EINTR && errno != ECONNABORTED && errno != EAGAIN)
                fprintf(stderr, "faultproxy: accept: %s\n", strerror(errno));
            continue;
        }
        handle(client, log);
        close(client);
    }
    close(listen_fd);
    unlink(listen_path);
    if (log != NULL)
        fclose(log);
    return 0;
}
