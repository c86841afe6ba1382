/*
 * host: the Docker hosts of the store (DESIGN §7a, issue 11): add (checked
 * by connecting), list and show (probed in parallel: reachable, engine
 * version, memory), drain and undrain (placement skips a drained host),
 * remove (only an empty one); and doctor's per-host checks.
 */
#include "cli.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hosts.h"

static int run_host(cli *c, int argc, char **argv);

const cmd_entry cmd_host = {
    .name = "host",
    .usage = "add NAME --docker-host unix:///PATH|tcp://HOST:PORT [--tls-dir DIR |\n"
             "              --tls-ca FILE --tls-cert FILE --tls-key FILE] [--address IP]\n"
             "              [--max-instances N]\n"
             "       instctl host list | show NAME | drain NAME | undrain NAME | remove NAME",
    .summary = "add, list, show, drain, undrain or remove a Docker host",
    .flags = NEEDS_STORE | WRITES,
    .run = run_host,
};

/* An absolute path of a file given on the command line (rows are used from any directory). */
static void absolute(const char *path, char *out, size_t len)
{
    char cwd[2048];
    if (path[0] == '\0' || path[0] == '/' || getcwd(cwd, sizeof cwd) == NULL)
        snprintf(out, len, "%s", path);
    else
        snprintf(out, len, "%s/%s", cwd, path);
}

typedef struct add_args {
    const char *tls_dir, *ca, *cert, *key, *address, *max;
} add_args;

static int parse_add(int argc, char **argv, add_args *a)
{
    static const struct option opts[] = {{"tls-dir", required_argument, NULL, 'D'},
                                         {"tls-ca", required_argument, NULL, 'C'},
                                         {"tls-cert", required_argument, NULL, 'c'},
                                         {"tls-key", required_argument, NULL, 'k'},
                                         {"address", required_argument, NULL, 'a'},
                                         {"max-instances", required_argument, NULL, 'm'},
                                         {0}};
    int ch;
    optind = 0;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        const char **slot = ch == 'D'   ? &a->tls_dir
                            : ch == 'C' ? &a->ca
                            : ch == 'c' ? &a->cert
                            : ch == 'k' ? &a->key
                            : ch == 'a' ? &a->address
                            : ch == 'm' ? &a->max
                                        : NULL;
        if (slot == NULL)
            return usage_error(&cmd_host, "bad option");
        *slot = optarg;
    }
    if (optind >= argc)
        return usage_error(&cmd_host, "host add: missing NAME");
    if (optind + 1 < argc)
        return usage_error(&cmd_host, "unexpected argument \"%s\"", argv[optind + 1]);
    if (a->tls_dir != NULL && (a->ca != NULL || a->cert != NULL || a->key != NULL))
        return usage_error(&cmd_host, "give --tls-dir or --tls-ca/--tls-cert/--tls-key, not both");
    return 0;
}

/* The row host add would write, from its arguments; LC_EUSAGE naming what is wrong. */
static lc_err add_row(const char *name, const char *url, const add_args *a, lc_host *h, lc_diag *d)
{
    memset(h, 0, sizeof *h);
    lc_err e = lc_validate_host_name(name, d);
    if (e != LC_OK)
        return e;
    snprintf(h->name, sizeof h->name, "%s", name);
    if (url == NULL || url[0] == '\0')
        return lc_fail(d, LC_EUSAGE, "host add %s: --docker-host is required", name);
    snprintf(h->docker_host, sizeof h->docker_host, "%s", url);
    lc_engine_tls tls;
    memset(&tls, 0, sizeof tls);
    if (a->tls_dir != NULL && !engine_tls_from_dir(a->tls_dir, &tls))
        return lc_fail(d, LC_EUSAGE, "host add %s: --tls-dir is empty or too long", name);
    absolute(a->tls_dir != NULL ? tls.ca : a->ca ? a->ca : "", h->tls_ca, sizeof h->tls_ca);
    absolute(a->tls_dir != NULL ? tls.cert
             : a->cert          ? a->cert
                                : "",
             h->tls_cert, sizeof h->tls_cert);
    absolute(a->tls_dir != NULL ? tls.key : a->key ? a->key : "", h->tls_key, sizeof h->tls_key);
    unsigned char ip[16];
    if (a->address != NULL && inet_pton(AF_INET, a->address, ip) != 1 &&
        inet_pton(AF_INET6, a->address, ip) != 1)
        return lc_fail(d, LC_EUSAGE, "host add %s: --address %s is not an IP address", name,
                       a->address);
    snprintf(h->address, sizeof h->address, "%s", a->address ? a->address : "");
    char *end = NULL;
    long max = a->max != NULL ? strtol(a->max, &end, 10) : 0;
    if (a->max != NULL && (end == a->max || *end != '\0' || max < 0 || max > 100000))
        return lc_fail(d, LC_EUSAGE, "host add %s: --max-instances %s: give 0 (no limit) to 100000",
                       name, a->max);
    h->max_instances = (int)max;
    return LC_OK;
}

static cJSON *host_json(const lc_host *h, const lc_host_probe *p, const char *configured);

static int host_add(cli *c, int argc, char **argv)
{
    add_args a = {0};
    lc_host h, existing;
    if (parse_add(argc, argv, &a))
        return 2;
    /* --docker-host is also a global option: main.c keeps what the command line said */
    lc_err e = add_row(argv[optind], c->docker_host_arg, &a, &h, &c->diag);
    if (e == LC_OK && store_host_get(c->store, h.name, &existing, NULL) == LC_OK)
        e = lc_fail(&c->diag, LC_EUSAGE, "host %s already exists", h.name);
    lc_host_probe p;
    if (e == LC_OK) {
        lc_host_probe_all(&h, 1, NULL, NULL, &p);
        e = p.err == LC_ECONFIG ? LC_EUSAGE : p.err; /* bad arguments, not a bad configuration */
        if (e != LC_OK)
            snprintf(c->diag.msg, sizeof c->diag.msg, "%s", p.error);
    }
    if (e == LC_OK)
        e = store_host_add(c->store, &h, &c->diag);
    if (e != LC_OK)
        return fail(c, e);
    if (c->json)
        return print_json(host_json(&h, &p, NULL));
    if (!c->quiet)
        printf("host %s added: %s, Docker %s (API %s), %d CPUs, %.1f GiB\n", h.name, h.docker_host,
               p.info.version, p.api, p.info.ncpu, (double)p.info.mem_total / (1 << 30));
    return 0;
}

static cJSON *host_json(const lc_host *h, const lc_host_probe *p, const char *configured)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", h->name);
    cJSON_AddStringToObject(o, "docker_host", lc_host_docker_host(h, configured));
    cJSON_AddStringToObject(o, "address", h->address);
    cJSON_AddNumberToObject(o, "max_instances", h->max_instances);
    cJSON_AddBoolToObject(o, "drained", h->drained);
    cJSON_AddNumberToObject(o, "instances", (double)h->instances);
    cJSON *tls = h->tls_ca[0] ? cJSON_AddObjectToObject(o, "tls") : NULL;
    cJSON_AddStringToObject(tls, "ca", h->tls_ca);
    cJSON_AddStringToObject(tls, "cert", h->tls_cert);
    cJSON_AddStringToObject(tls, "key", h->tls_key);
    cJSON_AddBoolToObject(o, "reachable", p->err == LC_OK);
    if (p->err != LC_OK) {
        cJSON_AddStringToObject(o, "error", p->error);
        return o;
    }
    cJSON *en = cJSON_AddObjectToObject(o, "engine");
    cJSON_AddStringToObject(en, "version", p->info.version);
    cJSON_AddStringToObject(en, "api_version", p->api);
    cJSON_AddStringToObject(en, "name", p->info.name);
    cJSON_AddStringToObject(en, "os", p->info.os);
    cJSON_AddNumberToObject(en, "ncpu", p->info.ncpu);
    cJSON_AddNumberToObject(en, "mem_total", (double)p->info.mem_total);
    cJSON_AddNumberToObject(en, "containers", p->info.containers);
    return o;
}

/* "3", or "3/20" with a limit. */
static const char *count_text(const lc_host *h, char *buf, size_t len)
{
    if (h->max_instances > 0)
        snprintf(buf, len, "%ld/%d", h->instances, h->max_instances);
    else
        snprintf(buf, len, "%ld", h->instances);
    return buf;
}

static void print_row(const lc_host *h, const lc_host_probe *p, const char *configured)
{
    char count[32], engine[64] = "-", mem[32] = "-";
    if (p->err == LC_OK) {
        snprintf(engine, sizeof engine, "%s (API %s)", p->info.version, p->api);
        snprintf(mem, sizeof mem, "%.1f GiB", (double)p->info.mem_total / (1 << 30));
    }
    const char *state = p->err != LC_OK ? "unreachable" : h->drained ? "drained" : "ok";
    printf("%-16s %-36s %-9s %-11s %-24s %s\n", h->name, lc_host_docker_host(h, configured),
           count_text(h, count, sizeof count), state, engine, mem);
}

/* Probes the hosts (all, or the one named) and prints them; exit 0 even when some do not answer. */
static int host_report(cli *c, const char *only)
{
    lc_host *hosts = NULL, one;
    size_t n = 0;
    lc_err e = only != NULL ? store_host_get(c->store, only, &one, &c->diag)
                            : store_host_list(c->store, &hosts, &n, &c->diag);
    if (e != LC_OK)
        return fail(c, e);
    if (only != NULL)
        hosts = &one, n = 1;
    lc_host_probe *probes = calloc(n, sizeof *probes);
    if (probes == NULL) {
        if (only == NULL)
            free(hosts);
        return fail(c, lc_fail(&c->diag, LC_ENOMEM, "host list: out of memory"));
    }
    lc_host_probe_all(hosts, n, c->cfg.docker_host, NULL, probes);
    cJSON *arr = c->json && only == NULL ? cJSON_CreateArray() : NULL;
    if (!c->json && only == NULL)
        printf("%-16s %-36s %-9s %-11s %-24s %s\n", "NAME", "DOCKER HOST", "INSTANCES", "STATE",
               "ENGINE", "MEMORY");
    for (size_t i = 0; i < n; i++) {
        if (arr != NULL)
            cJSON_AddItemToArray(arr, host_json(&hosts[i], &probes[i], c->cfg.docker_host));
        else if (c->json)
            print_json(host_json(&hosts[i], &probes[i], c->cfg.docker_host));
        else
            print_row(&hosts[i], &probes[i], c->cfg.docker_host);
        if (!c->json && probes[i].err != LC_OK)
            fprintf(stderr, "instctl: host %s: %s\n", hosts[i].name, probes[i].error);
    }
    if (arr != NULL)
        print_json(arr);
    free(probes);
    if (only == NULL)
        free(hosts);
    return 0;
}

static int host_drain(cli *c, const char *name, bool drained)
{
    lc_err e = store_host_set_drained(c->store, name, drained, &c->diag);
    if (e != LC_OK)
        return fail(c, e);
    if (!c->quiet)
        printf("host %s %s\n", name,
               drained ? "drained: no new instances are placed on it"
                       : "undrained: new instances may be placed on it");
    return 0;
}

static int host_remove(cli *c, const char *name)
{
    lc_err e = store_host_remove(c->store, name, &c->diag);
    if (e != LC_OK)
        return fail(c, e);
    if (!c->quiet)
        printf("host %s removed\n", name);
    return 0;
}

static int run_host(cli *c, int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : "";
    if (strcmp(sub, "add") == 0)
        return host_add(c, argc - 1, argv + 1);
    if (strcmp(sub, "list") == 0)
        return argc > 2 ? usage_error(&cmd_host, "unexpected argument \"%s\"", argv[2])
                        : host_report(c, NULL);
    if (argc != 3)
        return usage_error(&cmd_host,
                           argc < 3 && sub[0] ? "host %s: missing NAME"
                           : sub[0]           ? "host %s: one NAME only"
                                              : "missing subcommand%s",
                           sub);
    if (strcmp(sub, "show") == 0)
        return host_report(c, argv[2]);
    if (strcmp(sub, "drain") == 0 || strcmp(sub, "undrain") == 0)
        return host_drain(c, argv[2], sub[0] == 'd');
    if (strcmp(sub, "remove") == 0)
        return host_remove(c, argv[2]);
    return usage_error(&cmd_host, "unknown subcommand \"%s\"", sub);
}

/* ---- doctor: every host besides local (whose engine doctor checks already) ---- */

/* An engine clock this far off makes StartedAt-based rules (60 s up, crash-loop windows) wrong. */
#define SKEW_WARN_S 5
#define SKEW_FAIL_S 30

void doctor_check_hosts(cli *c, doctor *dr, doctor_report_fn report)
{
    lc_store *s = NULL;
    lc_host *hosts = NULL;
    size_t n = 0;
    lc_diag d = {{0}};
    if (store_open(c->cfg.db, 0, &s, &d) != LC_OK || store_host_list(s, &hosts, &n, &d) != LC_OK) {
        report(dr, "hosts", CHECK_SKIP, "the database cannot be read");
        store_close(s);
        return;
    }
    store_close(s);
    lc_host_probe *probes = calloc(n, sizeof *probes);
    char image[256], name[64];
    config_image_for(&c->cfg, c->cfg.default_version, image, sizeof image);
    if (probes != NULL)
        lc_host_probe_all(hosts, n, c->cfg.docker_host, image, probes);
    if (n <= 1 || probes == NULL)
        report(dr, "hosts", CHECK_SKIP, "%s",
               probes ? "local only (instctl host add)" : "no memory");
    time_t now = time(NULL);
    for (size_t i = 1; probes != NULL && i < n; i++) {
        const lc_host_probe *p = &probes[i];
        snprintf(name, sizeof name, "host %s", hosts[i].name);
        if (p->err != LC_OK) {
            report(dr, name, CHECK_FAIL, "%s", p->error);
            continue;
        }
        report(dr, name, CHECK_OK, "%s answers%s, API %s, Docker %s, %ld ms", hosts[i].docker_host,
               strncmp(hosts[i].docker_host, "tcp://", 6) == 0 ? " over verified TLS" : "", p->api,
               p->info.version, (long)p->ms);
        bool never = strcmp(c->cfg.pull_policy, "never") == 0;
        report(dr, name,
               p->image_present ? CHECK_OK
               : never          ? CHECK_FAIL
                                : CHECK_WARN,
               "image %s %s", image,
               p->image_present ? "present"
               : never          ? "not present and pull_policy is never"
                                : "not present (pulled on first create)");
        long skew = p->info.system_time ? (long)(p->info.system_time - now) : 0;
        check_result r = !p->info.system_time       ? CHECK_WARN
                         : labs(skew) > SKEW_FAIL_S ? CHECK_FAIL
                         : labs(skew) > SKEW_WARN_S ? CHECK_WARN
                                                    : CHECK_OK;
        report(dr, name, r, "clock skew %+ld s against this machine%s", skew,
               p->info.system_time ? "" : " (no SystemTime in /info)");
    }
    free(probes);
    free(hosts);
}
