/*
 * billing-event: one event from the billing provider (DESIGN §4), read from
 * FILE or stdin, authenticated by a Stripe-style signature when a webhook
 * secret is configured, then applied idempotently.
 */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static int run_billing(cli *c, int argc, char **argv);

const cmd_entry cmd_billing_event = {
    .name = "billing-event",
    .usage = "[FILE|-] [--signature HEADER|-] [--secret-file FILE] [--unsigned]",
    .summary = "apply one billing event (payment failed, paid, subscription cancelled)",
    .flags = NEEDS_STORE | NEEDS_ENGINE | WRITES,
    .run = run_billing,
};

/* Reads all of f up to LC_BILLING_MAX_BODY bytes; NULL when larger or unreadable. */
static char *slurp(FILE *f, size_t *len, lc_diag *d)
{
    size_t cap = 65536;
    char *buf = malloc(cap);
    *len = 0;
    while (buf != NULL) {
        size_t n = fread(buf + *len, 1, cap - *len, f);
        *len += n;
        if (n == 0 || *len > LC_BILLING_MAX_BODY)
            break;
        if (*len == cap) {
            char *grown = realloc(buf, cap *= 2);
            if (grown == NULL)
                free(buf);
            buf = grown;
        }
    }
    if (buf == NULL) {
        lc_fail(d, LC_ENOMEM, "billing event: out of memory");
    } else if (*len > LC_BILLING_MAX_BODY || ferror(f)) {
        lc_fail(d, LC_EINPUT, "billing event: %s", ferror(f) ? "read error" : "larger than 4 MiB");
        free(buf);
        buf = NULL;
    }
    return buf;
}

static char *read_body(const char *path, size_t *len, lc_diag *d)
{
    if (path == NULL || strcmp(path, "-") == 0)
        return slurp(stdin, len, d);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        lc_fail(d, LC_EINPUT, "billing event file %s: cannot read", path);
        return NULL;
    }
    char *body = slurp(f, len, d);
    fclose(f);
    return body;
}

/* The secret's bytes (trailing newline dropped) into buf; LC_ECONFIG when unreadable or empty. */
static lc_err read_secret(const char *path, unsigned char *buf, size_t cap, size_t *len, lc_diag *d)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return lc_fail(d, LC_ECONFIG, "webhook secret file %s: cannot read", path);
    *len = fread(buf, 1, cap, f);
    fclose(f);
    while (*len > 0 && (buf[*len - 1] == '\n' || buf[*len - 1] == '\r'))
        (*len)--;
    return *len > 0 ? LC_OK : lc_fail(d, LC_ECONFIG, "webhook secret file %s is empty", path);
}

typedef struct billing_args {
    const char *file, *signature, *secret_file;
    bool unsigned_ok;
} billing_args;

static int parse(int argc, char **argv, billing_args *a)
{
    static const struct option opts[] = {{"signature", required_argument, NULL, 's'},
                                         {"secret-file", required_argument, NULL, 'k'},
                                         {"unsigned", no_argument, NULL, 'u'},
                                         {0}};
    int ch;
    optind = 0;
    while ((ch = getopt_long(argc, argv, "-", opts, NULL)) != -1) {
        if (ch == 's')
            a->signature = optarg;
        else if (ch == 'k')
            a->secret_file = optarg;
        else if (ch == 'u')
            a->unsigned_ok = true;
        else if (ch == 1 && a->file == NULL)
            a->file = optarg;
        else
            return usage_error(&cmd_billing_event,
                               ch == 1 ? "unexpected argument \"%s\"" : "bad option%s",
                               ch == 1 ? optarg : "");
    }
    return 0;
}

/* Authenticates body: the signature when a secret is configured, else only with --unsigned. */
static lc_err authenticate(cli *c, const billing_args *a, const char *body, size_t len)
{
    const char *secret_file = a->secret_file;
    if (secret_file == NULL && c->cfg.webhook_secret_file[0] != '\0')
        secret_file = c->cfg.webhook_secret_file;
    if (secret_file == NULL)
        return a->unsigned_ok ? LC_OK
                              : lc_fail(&c->diag, LC_EINPUT,
                                        "billing event refused: no webhook secret is configured "
                                        "(webhook_secret_file or --secret-file); give --unsigned "
                                        "to apply an unsigned event by hand");
    unsigned char secret[4096];
    size_t slen = 0;
    lc_err e = read_secret(secret_file, secret, sizeof secret, &slen, &c->diag);
    if (e == LC_OK)
        e = billing_verify(a->signature, body, len, secret, slen, time(NULL),
                           c->cfg.webhook_tolerance, &c->diag);
    explicit_bzero(secret, sizeof secret);
    return e;
}

static void report(cli *c, const lc_billing_event *ev, const lc_instance *in,
                   lc_billing_outcome outcome, const char *detail)
{
    if (c->json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "id", ev->id);
        cJSON_AddStringToObject(j, "type", ev->type);
        cJSON_AddStringToObject(j, "instance", in->id[0] ? in->id : ev->instance);
        cJSON_AddStringToObject(j, "outcome", lc_billing_outcome_name(outcome));
        cJSON_AddStringToObject(j, "detail", detail);
        if (in->id[0])
            cJSON_AddStringToObject(j, "status", instance_status_name(in->status));
        print_json(j);
    } else if (!c->quiet) {
        printf("event %s (%s)%s%s: %s%s%s\n", ev->id, ev->type, in->name[0] ? " for " : "",
               in->name, lc_billing_outcome_name(outcome), detail[0] ? " — " : "", detail);
    }
}

/*
 * --signature -: the header is the first line of stdin and the body the rest,
 * so the webhook's sudo rule can be one fixed command line, no wildcard.
 */
static lc_err signature_from_stdin(char *buf, size_t cap, lc_diag *d)
{
    if (fgets(buf, (int)cap, stdin) == NULL || strchr(buf, '\n') == NULL)
        return lc_fail(d, LC_EINPUT, "billing event: no signature line on stdin");
    buf[strcspn(buf, "\r\n")] = '\0';
    return LC_OK;
}

static int run_billing(cli *c, int argc, char **argv)
{
    billing_args a = {0};
    char header[1024];
    if (parse(argc, argv, &a))
        return 2;
    if (a.signature != NULL && strcmp(a.signature, "-") == 0) {
        if (signature_from_stdin(header, sizeof header, &c->diag) != LC_OK)
            return fail(c, LC_EINPUT);
        a.signature = header;
    }
    size_t len = 0;
    char *body = read_body(a.file, &len, &c->diag);
    if (body == NULL)
        return fail(c, LC_EINPUT);
    lc_billing_event ev;
    lc_err e = authenticate(c, &a, body, len);
    if (e == LC_OK)
        e = billing_parse(body, len, &ev, &c->diag);
    free(body);
    if (e != LC_OK)
        return fail(c, e);
    lc_billing_outcome outcome = BILLING_OUT_IGNORED;
    lc_instance in;
    char detail[512];
    e = ops_billing_event(&c->ops, &ev, &outcome, detail, sizeof detail, &in, &c->diag);
    if (e == LC_OK || e == LC_EFAILED)
        report(c, &ev, &in, outcome, detail);
    return e == LC_OK ? 0 : fail(c, e);
}
