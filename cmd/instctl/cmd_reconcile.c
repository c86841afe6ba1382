/*
 * reconcile: one pass (DESIGN §3), run by cron every minute. Overlapping
 * runs are excluded by an flock on a lock file beside the database.
 */
#include "cli.h"
#include "metrics.h"
#include "reconcile.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

static int run_reconcile(cli *c, int argc, char **argv);

const cmd_entry cmd_reconcile = {
    .name = "reconcile",
    .usage = "[--dry-run] [--no-enforce]",
    .summary = "make instance statuses match Docker, and Docker match business decisions",
    .flags = NEEDS_STORE | NEEDS_ENGINE | WRITES,
    .run = run_reconcile,
};

static const char *const kind_names[] = {
    [DECISION_INSTANCE] = "instance", [DECISION_EXTRA] = "extra", [DECISION_ORPHAN] = "orphan",
    [DECISION_SKIPPED] = "skipped",   [DECISION_LEASE] = "lease",
};

static const char *verdict_word(const lc_decision *dc)
{
    if (dc->kind == DECISION_SKIPPED)
        return "skip";
    if (dc->kind == DECISION_LEASE)
        return "break-lease";
    if (dc->kind == DECISION_ORPHAN)
        return "report";
    return lc_verdict_name(dc->verdict);
}

/* A logfmt value: quoted, '"' and '\' escaped, control characters as text_escape writes them. */
static void logfmt_quoted(FILE *f, const char *s)
{
    char buf[2048];
    text_escape(s, "\"\\", buf, sizeof buf);
    fprintf(f, "\"%s\"", buf);
}

static void log_decision(const lc_decision *dc, bool dry_run)
{
    fprintf(stderr, "instance=%s name=%s status=%s",
            dc->instance[0] ? text_safe(dc->instance) : "-",
            dc->name[0] ? text_safe(dc->name) : "-",
            dc->instance[0] ? instance_status_name(dc->status) : "-");
    if (dc->to != dc->status)
        fprintf(stderr, " to=%s", instance_status_name(dc->to));
    fprintf(stderr, " container=%s verdict=%s", dc->container[0] ? text_safe(dc->container) : "-",
            verdict_word(dc));
    if (dc->kind != DECISION_SKIPPED && dc->kind != DECISION_ORPHAN)
        fprintf(stderr, " applied=%s", dry_run ? "dry-run" : dc->applied ? "yes" : "no");
    fputs(" reason=", stderr);
    logfmt_quoted(stderr, dc->reason);
    fputc('\n', stderr);
}

/* One logfmt line per Docker host: what its list took, or why it did not answer (issue 11). */
static void log_hosts(const lc_reconcile_report *r)
{
    for (size_t h = 0; h < r->n_hosts; h++) {
        const lc_reconcile_host *rh = &r->hosts[h];
        fprintf(stderr,
                "reconcile_host host=%s answered=%s containers=%zu instances=%zu requests=%lu "
                "list_ms=%ld",
                rh->name, rh->answered ? "yes" : "no", rh->containers, rh->instances, rh->requests,
                rh->list_ms);
        if (!rh->answered) {
            fputs(" untouched=yes error=", stderr);
            logfmt_quoted(stderr, rh->error);
        }
        fputc('\n', stderr);
    }
}

/* The summary line; under --dry-run the changes it would make count as would_change. */
static void log_summary(const lc_reconcile_report *r, lc_err e, bool dry_run)
{
    fprintf(stderr,
            "reconcile instances=%zu kept=%zu %s=%zu enforced=%zu skipped=%zu lost=%zu "
            "extras=%zu orphans=%zu leases_broken=%zu hosts=%zu hosts_down=%zu untouched=%zu "
            "requests=%lu ms=%ld result=%s\n",
            r->instances, r->kept, dry_run ? "would_change" : "changed",
            dry_run ? r->would_change : r->changed, r->enforced, r->skipped, r->lost, r->extras,
            r->orphans, r->leases_broken, r->n_hosts, r->hosts_down, r->untouched, r->requests,
            r->ms,
            e == LC_OK         ? "ok"
            : e == LC_EPARTIAL ? "partial"
                               : "failed");
}

static cJSON *report_json(const lc_reconcile_report *r, lc_err e, bool dry_run)
{
    cJSON *j = cJSON_CreateObject();
    const struct {
        const char *k;
        size_t v;
    } counts[] = {
        {"instances", r->instances}, {"kept", r->kept},
        {"changed", r->changed},     {"would_change", r->would_change},
        {"enforced", r->enforced},   {"skipped", r->skipped},
        {"lost", r->lost},           {"extras", r->extras},
        {"orphans", r->orphans},     {"leases_broken", r->leases_broken},
        {"untouched", r->untouched}, {"hosts_down", r->hosts_down},
    };
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++)
        cJSON_AddNumberToObject(j, counts[i].k, (double)counts[i].v);
    cJSON_AddNumberToObject(j, "written", (double)r->written);
    cJSON_AddNumberToObject(j, "requests", (double)r->requests);
    cJSON_AddNumberToObject(j, "ms", (double)r->ms);
    cJSON_AddBoolToObject(j, "dry_run", dry_run);
    cJSON_AddStringToObject(j, "result",
                            e == LC_OK         ? "ok"
                            : e == LC_EPARTIAL ? "partial"
                                               : "failed");
    cJSON *hosts = cJSON_AddArrayToObject(j, "hosts");
    for (size_t h = 0; h < r->n_hosts; h++) {
        const lc_reconcile_host *rh = &r->hosts[h];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", rh->name);
        cJSON_AddBoolToObject(o, "answered", rh->answered);
        if (rh->answered)
            cJSON_AddNullToObject(o, "error");
        else
            cJSON_AddStringToObject(o, "error", rh->error);
        cJSON_AddNumberToObject(o, "containers", (double)rh->containers);
        cJSON_AddNumberToObject(o, "instances", (double)rh->instances);
        cJSON_AddNumberToObject(o, "requests", (double)rh->requests);
        cJSON_AddNumberToObject(o, "list_ms", (double)rh->list_ms);
        cJSON_AddItemToArray(hosts, o);
    }
    cJSON *arr = cJSON_AddArrayToObject(j, "decisions");
    for (size_t i = 0; i < r->n_decisions; i++) {
        const lc_decision *dc = &r->decisions[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "kind", kind_names[dc->kind]);
        cJSON_AddStringToObject(o, "instance", dc->instance);
        cJSON_AddStringToObject(o, "name", dc->name);
        cJSON_AddStringToObject(o, "container", dc->container);
        cJSON_AddStringToObject(o, "status",
                                dc->instance[0] ? instance_status_name(dc->status) : "");
        cJSON_AddStringToObject(o, "to", dc->instance[0] ? instance_status_name(dc->to) : "");
        cJSON_AddStringToObject(o, "verdict", verdict_word(dc));
        cJSON_AddBoolToObject(o, "applied", dc->applied);
        cJSON_AddStringToObject(o, "reason", dc->reason);
        cJSON_AddItemToArray(arr, o);
    }
    return j;
}

static int run_reconcile(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"dry-run", no_argument, NULL, 'n'}, {"no-enforce", no_argument, NULL, 'E'}, {0}};
    lc_reconcile_options opt = {0};
    int ch, fd;
    optind = 0;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (ch == 'n')
            opt.dry_run = true;
        else if (ch == 'E')
            opt.no_enforce = true;
        else
            return usage_error(&cmd_reconcile, "bad option");
    }
    if (optind < argc)
        return usage_error(&cmd_reconcile, "unexpected argument \"%s\"", argv[optind]);
    static char line_buffer[8192];
    setvbuf(stderr, line_buffer, _IOLBF, sizeof line_buffer); /* one write per logfmt line */
    lc_err e = reconcile_lock(c->store, "reconcile", false, &fd, &c->diag);
    if (e == LC_EBUSY) {
        fprintf(stderr, "instctl: another reconcile is running (%s); nothing to do\n", c->diag.msg);
        return 0;
    }
    if (e != LC_OK)
        return fail(c, e);
    lc_reconcile_report r;
    e = reconcile_run(c->store, c->engine, &c->cfg, &opt, &r, &c->diag);
    lc_diag md = {{0}};
    if (!opt.dry_run && metrics_update_file(c->store, c->cfg.metrics_file, &md) != LC_OK)
        fprintf(stderr, "instctl: %s\n", md.msg);
    for (size_t i = 0; i < r.n_decisions && !c->quiet; i++)
        log_decision(&r.decisions[i], opt.dry_run);
    log_hosts(&r);
    log_summary(&r, e, opt.dry_run);
    if (c->json && (e == LC_OK || e == LC_EPARTIAL))
        print_json(report_json(&r, e, opt.dry_run));
    reconcile_report_free(&r);
    close(fd);
    return e == LC_OK ? 0 : fail(c, e);
}
