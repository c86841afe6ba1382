/*
 * Read-only commands: list, show, history, stats. Free text in their text
 * output goes through text_safe (a --reason or a name can hold anything).
 */
#include "cli.h"

#include "action.h"
#include "hosts.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static int run_list(cli *c, int argc, char **argv);
static int run_show(cli *c, int argc, char **argv);
static int run_history(cli *c, int argc, char **argv);
static int run_stats(cli *c, int argc, char **argv);

const cmd_entry cmd_list = {
    .name = "list",
    .usage = "[--all] [--status STATUS] [--host HOST]",
    .summary = "list instances (terminated ones with --all)",
    .flags = NEEDS_STORE,
    .run = run_list,
};
const cmd_entry cmd_show = {
    .name = "show",
    .usage = "ID|NAME",
    .summary = "show one instance, its allowed actions and its live container state",
    .flags = NEEDS_STORE | NEEDS_ENGINE,
    .run = run_show,
};
const cmd_entry cmd_history = {
    .name = "history",
    .usage = "ID|NAME",
    .summary = "show an instance's status history",
    .flags = NEEDS_STORE,
    .run = run_history,
};
const cmd_entry cmd_stats = {
    .name = "stats",
    .usage = "",
    .summary = "count instances in each of the 8 statuses, and per Docker host",
    .flags = NEEDS_STORE,
    .run = run_stats,
};

/* "running 3m ago", "exited(1) 2h ago" or "-" into buf of len >= 48 bytes. */
static void observed(const lc_instance *in, char *buf, size_t len)
{
    if (in->obs.observed_at == 0) {
        snprintf(buf, len, "-");
        return;
    }
    char age[32];
    format_age(in->obs.observed_at, time(NULL), age, sizeof age);
    if (in->obs.state == CONTAINER_EXITED)
        snprintf(buf, len, "exited(%d) %s", in->obs.exit_code, age);
    else /* list prints 10,000 of these: no formatting where a copy does */
        stpcpy(stpcpy(stpcpy(buf, container_state_name(in->obs.state)), " "), age);
}

static const char *host_of(const lc_instance *in)
{
    return in->host[0] ? in->host : LC_HOST_LOCAL;
}

/*
 * The table, printed as the rows stream: the column widths come first from
 * the store (store_list_widths), so 10,000 rows are never held (issue 12).
 */
typedef struct list_out {
    cli *c;
    int wname, whost; /* whost 0: no HOST column (one Docker host) */
} list_out;

/* The header; a HOST column when the store has more than one Docker host (issue 11). */
static void list_header(const list_out *o)
{
    bool hosts = o->whost > 0;
    printf("%-8s  %-*s  %-11s  %-7s  %-*s%s%s\n", "ID", o->wname, "NAME", "STATUS", "ODOO",
           o->whost, hosts ? "HOST" : "", hosts ? "  " : "", "CONTAINER (LAST SEEN)");
}

/* s, then spaces up to width columns (s is never cut). */
static void put_column(const char *s, int width)
{
    int n = (int)strlen(s);
    fwrite(s, 1, (size_t)n, stdout);
    for (; n < width; n++)
        putchar(' ');
}

/* One row of the table: 10,000 of them, so columns are put, not formatted. */
static bool print_line(void *arg, const lc_instance *in)
{
    const list_out *o = arg;
    char badge[64], obs[64];
    fwrite(in->id, 1, 8, stdout);
    fputs("  ", stdout);
    put_column(text_safe(in->name), o->wname + 2);
    fputs(status_badge(o->c, in->status, badge, sizeof badge), stdout);
    put_column("", 13 - (int)strlen(instance_status_name(in->status)));
    put_column(text_safe(in->odoo_version), 9);
    if (o->whost > 0)
        put_column(text_safe(host_of(in)), o->whost + 2);
    observed(in, obs, sizeof obs);
    puts(obs);
    return true;
}

/* list --host: the rows on one Docker host, handed on to the printer fn. */
typedef struct host_filter {
    const char *host; /* NULL: every row */
    bool (*fn)(void *arg, const lc_instance *in);
    void *arg;
} host_filter;

static bool on_host(void *arg, const lc_instance *in)
{
    const host_filter *f = arg;
    return f->host != NULL && strcmp(host_of(in), f->host) != 0 ? true : f->fn(f->arg, in);
}

static bool print_id(void *arg, const lc_instance *in)
{
    (void)arg;
    puts(in->id);
    return true;
}

/*
 * The array exactly as print_json prints it, one element at a time as the
 * rows come, so 10,000 rows never make one tree: each object printed alone,
 * its lines indented one more tab as cJSON nests them in an array.
 */
typedef struct json_rows {
    const lc_config *cfg;
    size_t count;
} json_rows;

static bool print_json_row(void *arg, const lc_instance *in)
{
    json_rows *rows = arg;
    size_t *count = &rows->count;
    cJSON *o = instance_json(rows->cfg, in);
    char *s = cJSON_Print(o);
    cJSON_Delete(o);
    fputs((*count)++ > 0 ? ", " : "", stdout);
    for (const char *p = s; p != NULL && *p != '\0';) {
        size_t k = strcspn(p, "\n");
        fwrite(p, 1, k, stdout);
        if (p[k] == '\n')
            fputs("\n\t", stdout);
        p += k + (p[k] == '\n');
    }
    free(s);
    return true;
}

static int run_list(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"all", no_argument, NULL, 'a'},
                                         {"status", required_argument, NULL, 's'},
                                         {"host", required_argument, NULL, 'H'},
                                         {0}};
    const char *host = NULL;
    bool all = false;
    InstanceStatus only = INSTANCE_CREATING;
    bool filter = false;
    int ch;
    optind = 0;
    while ((ch = getopt_long(argc, argv, "as:", opts, NULL)) != -1) {
        if (ch == 'a')
            all = true;
        else if (ch == 'H')
            host = optarg;
        else if (ch == 's' && instance_status_parse(optarg, &only))
            filter = true;
        else if (ch == 's')
            return usage_error(&cmd_list,
                               "unknown status \"%s\" (one of: creating, running, "
                               "stopped, suspended, maintenance, updating, error, "
                               "terminated)",
                               optarg);
        else
            return usage_error(&cmd_list, "bad option");
    }
    if (optind < argc)
        return usage_error(&cmd_list, "unexpected argument \"%s\"", argv[optind]);
    int which = filter ? (int)only : -1;
    json_rows rows = {.cfg = &c->cfg};
    list_out o = {.c = c};
    lc_host h;
    lc_err e = host != NULL ? store_host_get(c->store, host, &h, &c->diag) : LC_OK;
    if (e != LC_OK)
        return fail(c, e);
    host_filter f = {.host = host, .fn = print_line, .arg = &o};
    if (c->json) {
        f.fn = print_json_row;
        f.arg = &rows;
        fputc('[', stdout);
        e = store_list_each(c->store, all, which, false, on_host, &f, &c->diag);
        puts("]");
    } else if (c->quiet) {
        f.fn = print_id;
        e = store_list_each(c->store, all, which, true, on_host, &f, &c->diag);
    } else {
        int hosts = 0;
        e = store_list_widths(c->store, &o.wname, &o.whost, &hosts, &c->diag);
        o.wname = o.wname > 4 ? o.wname : 4;
        o.whost = hosts < 2 ? 0 : o.whost > 4 ? o.whost : 4;
        if (e == LC_OK)
            list_header(&o);
        if (e == LC_OK)
            e = store_list_each(c->store, all, which, true, on_host, &f, &c->diag);
    }
    return e == LC_OK ? 0 : fail(c, e);
}

static int one_ref(const cmd_entry *cmd, int argc, char **argv, const char **ref)
{
    if (argc != 2 || argv[1][0] == '-')
        return usage_error(cmd, argc < 2 ? "missing instance" : "unexpected arguments");
    *ref = argv[1];
    return 0;
}

static void container_line(const lc_instance *in, const lc_observation *obs, lc_err oe,
                           const char *why, char *buf, size_t len)
{
    if (in->container_id[0] == '\0') {
        snprintf(buf, len, "none yet");
    } else if (oe != LC_OK) {
        snprintf(buf, len, "unknown (%s)", why);
    } else if (obs->state == CONTAINER_MISSING) {
        snprintf(buf, len, "missing");
    } else {
        char started[32] = "never";
        if (obs->started_at != 0)
            lc_format_time(obs->started_at, started, sizeof started);
        char code[32] = "";
        if (obs->state == CONTAINER_EXITED || obs->state == CONTAINER_DEAD)
            snprintf(code, sizeof code, ", exit code %d", obs->exit_code);
        snprintf(buf, len, "%s%s%s%s, started %s", obs->state_raw,
                 obs->health[0] ? ", health " : "", obs->health, code, started);
    }
}

static bool transient(lc_container_state s)
{
    return s == CONTAINER_PAUSED || s == CONTAINER_RESTARTING || s == CONTAINER_REMOVING;
}

static void show_text(cli *c, const lc_instance *in, const lc_observation *obs, lc_err oe,
                      const char *odoo)
{
    char badge[64], allowed[256], line[512], when[32], obsline[96];
    status_badge(c, in->status, badge, sizeof badge);
    printf("%-16s %s", "status:", badge);
    if (oe == LC_OK && in->container_id[0] && obs->state != CONTAINER_UNKNOWN)
        printf(" — container %s%s", container_state_name(obs->state),
               transient(obs->state) ? " (transient)" : "");
    printf("\n%-16s %s\n%-16s %s\n", "id:", text_safe(in->id), "name:", text_safe(in->name));
    printf("%-16s %s\n%-16s %s\n", "database:", text_safe(in->database_name),
           "admin email:", text_safe(in->admin_email));
    printf("%-16s %s (%s)\n", "odoo:", text_safe(in->odoo_version), text_safe(in->image));
    container_line(in, obs, oe, c->diag.msg, line, sizeof line);
    printf("%-16s %s %s\n%-16s %s\n", "container:", text_safe(in->container_name), text_safe(line),
           "volume:", text_safe(in->volume_name));
    printf("%-16s %s\n", "host:", host_of(in));
    if (odoo[0] != '\0')
        printf("%-16s %s\n", "odoo address:", odoo);
    observed(in, obsline, sizeof obsline);
    printf("%-16s %s\n", "last observed:", obsline);
    if (lc_allowed_actions(&c->cfg, in->status, ", ", allowed, sizeof allowed) == 0)
        snprintf(allowed, sizeof allowed, "none");
    printf("%-16s %s\n", "allowed actions:", allowed);
    if (in->hold_billing || in->hold_operator)
        printf("%-16s %s%s%s (suspended from %s)\n", "holds:", in->hold_billing ? "billing" : "",
               in->hold_billing && in->hold_operator ? ", " : "",
               in->hold_operator ? "operator" : "",
               in->suspended_from >= 0 ? instance_status_name((InstanceStatus)in->suspended_from)
                                       : "-");
    if (in->error_message[0])
        printf("%-16s %s\n", "error:", text_safe(in->error_message));
    if (in->op_step[0]) {
        lc_format_time(in->op_deadline, when, sizeof when);
        printf("%-16s step %s, deadline %s\n", "operation:", text_safe(in->op_step), when);
    }
    if (in->lease.pid > 0 && lc_lease_live(in, time(NULL)))
        printf("%-16s pid %ld on %s\n", "lease held by:", in->lease.pid, text_safe(in->lease.host));
    lc_format_time(in->created_at, when, sizeof when);
    printf("%-16s %s\n", "created:", when);
    lc_format_time(in->updated_at, when, sizeof when);
    printf("%-16s %s\n", "updated:", when);
}

static cJSON *container_json(const lc_observation *obs, lc_err oe)
{
    cJSON *o = cJSON_CreateObject();
    char started[32];
    cJSON_AddStringToObject(o, "state", oe != LC_OK ? "unknown" : container_state_name(obs->state));
    if (oe == LC_OK && obs->state != CONTAINER_MISSING)
        cJSON_AddNumberToObject(o, "exit_code", obs->exit_code);
    else
        cJSON_AddNullToObject(o, "exit_code");
    if (oe == LC_OK && obs->health[0])
        cJSON_AddStringToObject(o, "health", obs->health);
    else
        cJSON_AddNullToObject(o, "health");
    lc_format_time(oe == LC_OK ? obs->started_at : 0, started, sizeof started);
    if (started[0])
        cJSON_AddStringToObject(o, "started_at", started);
    else
        cJSON_AddNullToObject(o, "started_at");
    return o;
}

/* "http://ADDRESS:PORT" where Odoo is published on a remote host (issue 11), else "". */
static void odoo_address(cli *c, const lc_instance *in, char *buf, size_t len)
{
    lc_host h;
    char address[256];
    buf[0] = '\0';
    if (in->odoo_port <= 0 || store_host_get(c->store, in->host, &h, NULL) != LC_OK)
        return;
    lc_host_address(&h, address, sizeof address);
    if (address[0] != '\0')
        snprintf(buf, len, strchr(address, ':') ? "http://[%s]:%d" : "http://%s:%d", address,
                 in->odoo_port);
}

static int run_show(cli *c, int argc, char **argv)
{
    const char *ref = NULL;
    if (one_ref(&cmd_show, argc, argv, &ref))
        return 2;
    lc_instance in;
    lc_err e = store_resolve(c->store, ref, &in, &c->diag);
    if (e != LC_OK)
        return fail(c, e);
    lc_observation obs = {.state = CONTAINER_UNKNOWN};
    lc_err oe = LC_OK;
    lc_engine *engine = NULL;
    char odoo[300];
    odoo_address(c, &in, odoo, sizeof odoo);
    if (in.container_id[0] != '\0' &&
        (oe = ops_engine_for(&c->ops, &in, &engine, &c->diag)) == LC_OK)
        oe = engine_container_inspect(engine, in.container_id, &obs, &c->diag);
    if (c->json) {
        cJSON *j = instance_json(&c->cfg, &in);
        if (odoo[0] != '\0')
            cJSON_AddStringToObject(j, "odoo_url", odoo);
        else
            cJSON_AddNullToObject(j, "odoo_url");
        cJSON_AddItemToObject(j, "container", container_json(&obs, oe));
        return print_json(j);
    }
    if (c->quiet) {
        puts(text_safe(in.id));
        return 0;
    }
    show_text(c, &in, &obs, oe, odoo);
    return 0;
}

static int run_history(cli *c, int argc, char **argv)
{
    const char *ref = NULL;
    if (one_ref(&cmd_history, argc, argv, &ref))
        return 2;
    lc_instance in;
    lc_history *h;
    size_t n;
    lc_err e = store_resolve(c->store, ref, &in, &c->diag);
    if (e == LC_OK)
        e = store_history(c->store, in.id, &h, &n, &c->diag);
    if (e != LC_OK)
        return fail(c, e);
    cJSON *arr = c->json ? cJSON_CreateArray() : NULL;
    if (!c->json)
        printf("%-20s  %-11s  %-11s  %-9s  %s\n", "AT", "FROM", "TO", "CAUSE", "DETAIL");
    for (size_t i = 0; i < n; i++) {
        char at[32];
        const char *from = h[i].from >= 0 ? instance_status_name((InstanceStatus)h[i].from) : "-";
        lc_format_time(h[i].at, at, sizeof at);
        if (!c->json) {
            printf("%-20s  %-11s  %-11s  %-9s  %s\n", at, from, instance_status_name(h[i].to),
                   text_safe(h[i].cause), text_safe(h[i].detail));
            continue;
        }
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "at", at);
        if (h[i].from >= 0)
            cJSON_AddStringToObject(o, "from", from);
        else
            cJSON_AddNullToObject(o, "from");
        cJSON_AddStringToObject(o, "to", instance_status_name(h[i].to));
        cJSON_AddStringToObject(o, "cause", h[i].cause);
        cJSON_AddStringToObject(o, "detail", h[i].detail);
        cJSON_AddItemToArray(arr, o);
    }
    free(h);
    return arr != NULL ? print_json(arr) : 0;
}

/*
 * Per Docker host (issue 11): each host's instances by status (terminated
 * ones left out). Text: one line per host after the totals when the store
 * has more than one host; JSON (always): "hosts":
 * {"NAME": {"running": N, ..., "total": N}}.
 */
static lc_err stats_per_host(cli *c, cJSON *j)
{
    lc_host *hosts = NULL;
    size_t nh = 0;
    lc_err e = store_host_list(c->store, &hosts, &nh, &c->diag);
    cJSON *per = j != NULL && e == LC_OK ? cJSON_AddObjectToObject(j, "hosts") : NULL;
    if (j == NULL && nh < 2) /* text: per host only when there are several */
        nh = 0;
    if (j == NULL && e == LC_OK && nh > 0)
        printf("\n%-12s %s\n", "HOST", "INSTANCES (BY STATUS)");
    for (size_t h = 0; e == LC_OK && h < nh; h++) {
        long counts[INSTANCE_STATUS_COUNT], total = 0;
        e = store_stats(c->store, hosts[h].name, counts, &c->diag);
        if (e != LC_OK)
            break;
        for (int s = 0; s < INSTANCE_STATUS_COUNT; s++)
            total += counts[s];
        cJSON *o = per != NULL ? cJSON_AddObjectToObject(per, hosts[h].name) : NULL;
        const char *sep = " ";
        if (j == NULL)
            printf("%-12s %ld", hosts[h].name, total);
        for (int s = 0; s < INSTANCE_STATUS_COUNT; s++) {
            if (o != NULL)
                cJSON_AddNumberToObject(o, instance_status_name((InstanceStatus)s),
                                        (double)counts[s]);
            else if (counts[s] > 0)
                printf("%s %s %ld", sep, instance_status_name((InstanceStatus)s), counts[s]);
            if (counts[s] > 0)
                sep = ",";
        }
        if (o != NULL)
            cJSON_AddNumberToObject(o, "total", (double)total);
        else
            putchar('\n');
    }
    free(hosts);
    return e;
}

static int run_stats(cli *c, int argc, char **argv)
{
    if (argc > 1)
        return usage_error(&cmd_stats, "unexpected argument \"%s\"", argv[1]);
    long counts[INSTANCE_STATUS_COUNT], total = 0;
    lc_err e = store_stats(c->store, NULL, counts, &c->diag);
    if (e != LC_OK)
        return fail(c, e);
    cJSON *j = c->json ? cJSON_CreateObject() : NULL;
    for (int s = 0; s < INSTANCE_STATUS_COUNT; s++) {
        total += counts[s];
        if (j != NULL)
            cJSON_AddNumberToObject(j, instance_status_name((InstanceStatus)s), (double)counts[s]);
        else
            printf("%-12s %ld\n", instance_status_name((InstanceStatus)s), counts[s]);
    }
    if (j != NULL)
        cJSON_AddNumberToObject(j, "total", (double)total);
    else
        printf("%-12s %ld\n", "total", total);
    e = stats_per_host(c, j);
    if (e != LC_OK) {
        cJSON_Delete(j);
        return fail(c, e);
    }
    return j != NULL ? print_json(j) : 0;
}
