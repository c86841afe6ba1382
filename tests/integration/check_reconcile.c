/*
 * `instctl reconcile` against the real engine and the stand-in image
 * (DESIGN §3): what Docker did behind instctl's back (pause, stop, start,
 * rm -f, a crash loop), business decisions enforced (suspended, also under
 * --dry-run; terminated; extra containers), leases and the pass lock, an
 * unreachable engine, faults injected by tests/tools/faultproxy (checked on
 * their own first; then a 500 on one inspect, a cut-off or failed list, a
 * container removed between list and inspect, a failed stop), and two
 * stores sharing one engine. Each case has its own directory, config and
 * store; everything labelled with its store uuid is removed in the checked
 * teardown, and again by the unchecked teardown in the runner process (Check
 * skips a checked teardown when its case fails).
 */
#include <check.h>
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "store.h"
#include "testutil.h"

#define EXIT_PARTIAL 1
#define EXIT_ENGINE 6

typedef struct store {
    char dir[256], conf[300], db[300], pw[300], uuid[40];
} store;

typedef struct inst {
    char id[40], name[64], cid[80], cname[160];
} inst;

static store S[2];
static int nstores;
static int proxy_pid = -1;
static char sweep_list[256]; /* "uuid dir" lines of every store made by this runner */

static void clean_store(const char *uuid, const char *dir)
{
    tu_docker_clean(uuid);
    free(tu_shf(NULL, "rm -rf '%s'", dir));
}

/* A new store: directory, config, password file, `init`; recorded for the sweep. */
static store *new_store(void)
{
    ck_assert_int_lt(nstores, 2);
    store *s = &S[nstores++];
    char *dir = tu_tmpdir("reconcile");
    ck_assert_ptr_nonnull(dir);
    snprintf(s->dir, sizeof s->dir, "%s", dir);
    snprintf(s->conf, sizeof s->conf, "%s/instctl.conf", dir);
    snprintf(s->db, sizeof s->db, "%s/instctl.db", dir);
    snprintf(s->pw, sizeof s->pw, "%s/admin-password", dir);
    free(dir);
    char conf[1024];
    snprintf(conf, sizeof conf,
             "db = %s\nimage_template = instctl/odoo-standin:{version}\ncreate_timeout = 60\n",
             s->db);
    ck_assert(tu_write_file(s->conf, conf) && tu_write_file(s->pw, "s3cret-admin\n"));
    char why[512];
    ck_assert_msg(tu_instctl_init(s->conf, s->uuid, sizeof s->uuid, why, sizeof why), "%s", why);
    FILE *f = fopen(sweep_list, "a");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "%s %s\n", s->uuid, s->dir);
    fclose(f);
    return s;
}

static void setup(void)
{
    nstores = 0;
    proxy_pid = -1;
    new_store();
}

static void teardown(void)
{
    if (proxy_pid > 0)
        tu_proxy_stop(proxy_pid);
    for (int i = 0; i < nstores; i++)
        clean_store(S[i].uuid, S[i].dir);
    unlink(sweep_list); /* nothing left for the sweep */
}

/* Runner process, after each case: whatever a failed case left behind. */
static void sweep(void)
{
    FILE *f = fopen(sweep_list, "r");
    char uuid[64], dir[300];
    while (f != NULL && fscanf(f, "%63s %299s", uuid, dir) == 2)
        clean_store(uuid, dir);
    if (f != NULL)
        fclose(f);
    unlink(sweep_list);
}

/* instctl --config <store> [--docker-host host] args... (NULL-terminated). */
static tu_run ictl(const store *s, const char *host, const char *const *args)
{
    const char *argv[40] = {"--config", s->conf};
    size_t n = 2;
    if (host != NULL) {
        argv[n++] = "--docker-host";
        argv[n++] = host;
    }
    for (size_t i = 0; n < 39 && args[i] != NULL; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    return tu_instctl(NULL, argv);
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* One reconcile pass that must exit `want`; its stderr (malloc'd). */
static char *reconcile(const store *s, const char *host, int want)
{
    tu_run r = ictl(s, host, ARGS("reconcile"));
    ck_assert_msg(r.status == want, "reconcile: exit %d, want %d\n%s", r.status, want, r.err);
    free(r.out);
    return r.err;
}

/* reconcile --json: the summary object (cJSON_Delete). */
static cJSON *reconcile_json(const store *s, int want)
{
    tu_run r = ictl(s, NULL, ARGS("--json", "reconcile"));
    ck_assert_msg(r.status == want, "reconcile: exit %d, want %d\n%s", r.status, want, r.err);
    cJSON *j = cJSON_Parse(r.out);
    ck_assert_msg(j != NULL, "not JSON: %s", r.out);
    tu_run_free(&r);
    return j;
}

static double num(const cJSON *j, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    ck_assert_msg(cJSON_IsNumber(v), "no number %s", key);
    return v->valuedouble;
}

static void copy_str(const cJSON *j, const char *key, char *out, size_t len)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    ck_assert_msg(cJSON_IsString(v), "no string %s", key);
    snprintf(out, len, "%s", v->valuestring);
}

/* `--json show` of ref into *in (id, container id and name). */
static void show(const store *s, const char *ref, inst *in)
{
    tu_run r = ictl(s, NULL, ARGS("--json", "show", ref));
    ck_assert_msg(r.status == 0, "show %s: %d %s", ref, r.status, r.err);
    cJSON *j = cJSON_Parse(r.out);
    ck_assert_ptr_nonnull(j);
    copy_str(j, "id", in->id, sizeof in->id);
    copy_str(j, "name", in->name, sizeof in->name);
    copy_str(j, "container_id", in->cid, sizeof in->cid);
    copy_str(j, "container_name", in->cname, sizeof in->cname);
    cJSON_Delete(j);
    tu_run_free(&r);
}

/* Creates a running instance `name` (database name = name with '-' as '_'). */
static inst create(const store *s, const char *name, bool no_wait)
{
    char db[64];
    snprintf(db, sizeof db, "%s", name);
    for (char *p = db; *p; p++)
        *p = *p == '-' ? '_' : *p;
    tu_run r = ictl(s, NULL,
                    ARGS("create", name, "--database", db, "--admin-email", "a@b.co",
                         "--admin-password-file", s->pw, no_wait ? "--no-wait" : NULL));
    ck_assert_msg(r.status == 0, "create %s: %d %s", name, r.status, r.err);
    tu_run_free(&r);
    inst in;
    show(s, name, &in);
    ck_assert_uint_eq(strlen(in.cid), 64);
    return in;
}

/* The instance's status as the database has it. */
static char *status(const store *s, const inst *in)
{
    char q[256];
    snprintf(q, sizeof q, "SELECT status FROM instances WHERE id = '%s'", in->id);
    return tu_sql(s->db, q);
}

static void assert_status(const store *s, const inst *in, const char *want)
{
    char *got = status(s, in);
    ck_assert_msg(strcmp(got, want) == 0, "%s: status %s, want %s", in->name, got, want);
    free(got);
}

/* `--json show` agrees with the database. */
static void assert_shown(const store *s, const inst *in, const char *want)
{
    tu_run r = ictl(s, NULL, ARGS("--json", "show", in->id));
    ck_assert_int_eq(r.status, 0);
    cJSON *j = cJSON_Parse(r.out);
    char got[32];
    copy_str(j, "status", got, sizeof got);
    ck_assert_str_eq(got, want);
    cJSON_Delete(j);
    tu_run_free(&r);
}

static char *error_message(const store *s, const inst *in)
{
    char q[256];
    snprintf(q, sizeof q, "SELECT error_message FROM instances WHERE id = '%s'", in->id);
    return tu_sql(s->db, q);
}

/* History rows from -> to with cause reconcile (from NULL = any); detail like `like`. */
static int reconciled(const store *s, const inst *in, const char *from, const char *to,
                      const char *like)
{
    char q[1024];
    snprintf(q, sizeof q,
             "SELECT count(*) FROM status_events WHERE instance_id = '%s' AND cause = 'reconcile'"
             " AND (%d OR from_status = '%s') AND (%d OR to_status = '%s') AND detail LIKE '%s'",
             in->id, from == NULL, from ? from : "", to == NULL, to ? to : "", like ? like : "%");
    char *n = tu_sql(s->db, q);
    int v = atoi(n);
    free(n);
    return v;
}

/* The observation columns (never the status) keep what the last pass saw. */
static void assert_observed(const store *s, const inst *in, const char *state)
{
    char q[256];
    snprintf(q, sizeof q, "SELECT obs_state FROM instances WHERE id = '%s'", in->id);
    char *got = tu_sql(s->db, q);
    ck_assert_str_eq(got, state);
    free(got);
}

/* Docker's own view: State.Status, or "missing". */
static char *docker_state(const char *container)
{
    return tu_shf(NULL,
                  "s=$(docker inspect -f '{{.State.Status}}' %s 2>/dev/null) && echo \"$s\" || "
                  "echo missing",
                  container);
}

static void assert_docker(const char *container, const char *want)
{
    char *got = docker_state(container);
    ck_assert_msg(strcmp(got, want) == 0, "container %.12s: %s, want %s", container, got, want);
    free(got);
}

/* The stderr line mentioning needle (malloc'd), or NULL. */
static char *line_with(const char *text, const char *needle)
{
    const char *p = strstr(text, needle);
    if (p == NULL)
        return NULL;
    while (p > text && p[-1] != '\n')
        p--;
    return strndup(p, strcspn(p, "\n"));
}

static void assert_line(const char *text, const char *who, const char *want)
{
    char *line = line_with(text, who);
    ck_assert_msg(line != NULL, "no line with %s in:\n%s", who, text);
    ck_assert_msg(strstr(line, want) != NULL, "want %s in: %s", want, line);
    free(line);
}

/* A container with an instance's labels that is not the row's container. */
static char *labelled_container(const store *s, const char *instance_id)
{
    return tu_sh_ok("docker create --label %s=true --label %s=%s --label %s=%s "
                    "instctl/odoo-standin:17.0",
                    LC_LABEL_MANAGED, LC_LABEL_STORE, s->uuid, LC_LABEL_INSTANCE, instance_id);
}

static char *dump(const store *s)
{
    char *a = tu_sql_rows(s->db, "SELECT * FROM instances ORDER BY id");
    char *b = tu_sql_rows(s->db, "SELECT * FROM status_events ORDER BY id");
    char *all;
    ck_assert(asprintf(&all, "%s--\n%s", a, b) > 0);
    free(a);
    free(b);
    return all;
}

/* Starts the proxy in front of the engine; returns its unix:// URI (static). */
static const char *start_proxy(const store *s, const char *const *faults)
{
    static char uri[400], sock[300], log[300];
    snprintf(sock, sizeof sock, "%s/proxy.sock", s->dir);
    snprintf(log, sizeof log, "%s/proxy.log", s->dir);
    proxy_pid = tu_proxy_start(sock, faults, log);
    ck_assert_msg(proxy_pid > 0, "faultproxy did not start (BUILD=%s)", getenv("BUILD"));
    snprintf(uri, sizeof uri, "unix://%s", sock);
    return uri;
}

static char *proxy_log(const store *s)
{
    char path[300];
    snprintf(path, sizeof path, "%s/proxy.log", s->dir);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char *text = calloc(1, 65536);
    size_t n = fread(text, 1, 65535, f);
    text[n] = '\0';
    fclose(f);
    return text;
}

static void stop_proxy(void)
{
    ck_assert_int_eq(tu_proxy_stop(proxy_pid), 0);
    proxy_pid = -1;
}

static void sleep_ms(long ms)
{
    nanosleep(&(struct timespec){ms / 1000, (ms % 1000) * 1000000}, NULL);
}

START_TEST(pause_is_transient)
{
    store *s = &S[0];
    inst a = create(s, "rc-pause", false);
    free(tu_sh_ok("docker pause %s", a.cid));
    char *err = reconcile(s, NULL, 0);
    assert_status(s, &a, "running");
    assert_line(err, a.id, "status=running container=");
    assert_line(err, a.id, "verdict=keep");
    assert_line(err, a.id, "reason=\"container paused (transient)\"");
    free(err);
    assert_docker(a.cid, "paused");
    free(tu_sh_ok("docker unpause %s", a.cid));
    err = reconcile(s, NULL, 0);
    ck_assert_msg(strstr(err, a.id) == NULL, "a plain keep is not logged: %s", err);
    free(err);
    assert_status(s, &a, "running");
    assert_shown(s, &a, "running");
    assert_docker(a.cid, "running");
    ck_assert_int_eq(reconciled(s, &a, NULL, NULL, NULL), 0);
}
END_TEST

START_TEST(stop_and_start_outside)
{
    store *s = &S[0];
    inst a = create(s, "rc-stop", false);
    free(tu_sh_ok("docker stop %s", a.cid));
    char *err = reconcile(s, NULL, 0);
    assert_line(err, a.id, "to=stopped");
    free(err);
    assert_status(s, &a, "stopped");
    assert_shown(s, &a, "stopped");
    assert_docker(a.cid, "exited");
    ck_assert_int_eq(reconciled(s, &a, "running", "stopped", "container exited with code %"), 1);
    assert_observed(s, &a, "exited");
    free(tu_sh_ok("docker start %s", a.cid));
    free(reconcile(s, NULL, 0));
    assert_observed(s, &a, "running");
    assert_status(s, &a, "running");
    assert_shown(s, &a, "running");
    assert_docker(a.cid, "running");
    ck_assert_int_eq(reconciled(s, &a, "stopped", "running", NULL), 1);
    free(reconcile(s, NULL, 0));
    ck_assert_int_eq(reconciled(s, &a, NULL, NULL, NULL), 2);
}
END_TEST

START_TEST(removed_outside_is_error)
{
    store *s = &S[0];
    inst a = create(s, "rc-gone", false);
    free(tu_sh_ok("docker rm -f %s", a.cid));
    char *err = reconcile(s, NULL, 0);
    assert_line(err, a.id, "to=error");
    free(err);
    assert_status(s, &a, "error");
    char *msg = error_message(s, &a), want[300];
    snprintf(want, sizeof want, "container %s not found", a.cname);
    ck_assert_msg(strstr(msg, want) != NULL, "error_message: %s", msg);
    free(msg);
    ck_assert_int_eq(reconciled(s, &a, "running", "error", "%not found%"), 1);
    assert_docker(a.cid, "missing");
    free(reconcile(s, NULL, 0)); /* error stays error, nothing new written */
    assert_status(s, &a, "error");
    ck_assert_int_eq(reconciled(s, &a, NULL, NULL, NULL), 1);
}
END_TEST

START_TEST(crash_loop_is_error_and_stopped)
{
    store *s = &S[0];
    inst a = create(s, "rc-crash", false);
    free(tu_sh_ok("docker exec %s touch /var/lib/odoo/crash-on-start", a.cid));
    free(tu_sh_ok("docker restart %s", a.cid)); /* exits 3 at start; unless-stopped restarts it */
    char *st = NULL;
    for (int i = 0; i < 25; i++) {
        sleep_ms(1000);
        free(reconcile(s, NULL, 0));
        free(st);
        st = status(s, &a);
        if (strcmp(st, "error") == 0)
            break;
    }
    ck_assert_msg(strcmp(st, "error") == 0, "status %s after 25 passes", st);
    free(st);
    char *msg = error_message(s, &a);
    ck_assert_msg(strncmp(msg, "crash loop", 10) == 0, "error_message: %s", msg);
    free(msg);
    ck_assert_int_eq(reconciled(s, &a, NULL, "error", "crash loop%"), 1);
    char *state = tu_sh_ok("docker inspect -f '{{.State.Status}} {{.State.Restarting}}' %s", a.cid);
    ck_assert_str_eq(state, "exited false");
    free(state);
    char *count = tu_sh_ok("docker inspect -f '{{.RestartCount}}' %s", a.cid);
    sleep_ms(2500); /* stopped through the API: the restart policy leaves it alone */
    state = tu_sh_ok("docker inspect -f '{{.State.Status}} {{.RestartCount}}' %s", a.cid);
    char want[64];
    snprintf(want, sizeof want, "exited %s", count);
    ck_assert_str_eq(state, want);
    free(state);
    free(count);
}
END_TEST

START_TEST(suspended_started_outside_is_stopped)
{
    store *s = &S[0];
    inst a = create(s, "rc-susp", false);
    free(tu_sh_ok("docker stop %s", a.cid));
    char q[512];
    snprintf(q, sizeof q,
             "UPDATE instances SET status = 'suspended', hold_operator = 1, suspended_from = "
             "'running' WHERE id = '%s'",
             a.id);
    ck_assert(tu_sql_exec(s->db, q));
    free(tu_sh_ok("docker start %s", a.cid));
    char *before = dump(s);
    tu_run r = ictl(s, NULL, ARGS("reconcile", "--dry-run"));
    ck_assert_msg(r.status == 0, "%s", r.err);
    assert_line(r.err, a.id, "verdict=enforce applied=dry-run");
    tu_run_free(&r);
    char *after = dump(s);
    ck_assert_str_eq(after, before); /* --dry-run writes nothing... */
    free(after);
    free(before);
    assert_docker(a.cid, "running"); /* ...and enforces nothing */
    char *err = reconcile(s, NULL, 0);
    assert_line(err, a.id, "verdict=enforce applied=yes");
    free(err);
    assert_status(s, &a, "suspended");
    assert_shown(s, &a, "suspended");
    assert_docker(a.cid, "exited");
    snprintf(q, sizeof q, "SELECT coalesce(lease_pid, 0) FROM instances WHERE id = '%s'", a.id);
    char *lease = tu_sql(s->db, q);
    ck_assert_str_eq(lease, "0"); /* enforced under a lease, released after */
    free(lease);
    err = reconcile(s, NULL, 0);
    ck_assert_msg(strstr(err, a.id) == NULL, "nothing left to do: %s", err);
    free(err);
    assert_status(s, &a, "suspended");
    ck_assert_int_eq(reconciled(s, &a, NULL, NULL, NULL), 0);
}
END_TEST

START_TEST(terminated_leftovers_are_removed)
{
    store *s = &S[0];
    inst a = create(s, "rc-term", false);
    char *leftover = labelled_container(s, a.id);
    char q[256];
    snprintf(q, sizeof q, "UPDATE instances SET status = 'terminated' WHERE id = '%s'", a.id);
    ck_assert(tu_sql_exec(s->db, q));
    free(reconcile(s, NULL, 0));
    assert_docker(a.cid, "missing");    /* the row's own container */
    assert_docker(leftover, "missing"); /* and another one labelled for it */
    assert_status(s, &a, "terminated");
    ck_assert_int_eq(reconciled(s, &a, NULL, NULL, NULL), 0);
    free(leftover);
}
END_TEST

START_TEST(extra_container_is_removed)
{
    store *s = &S[0];
    inst a = create(s, "rc-extra", false);
    char *extra = labelled_container(s, a.id);
    cJSON *j = reconcile_json(s, 0);
    ck_assert_int_eq((int)num(j, "extras"), 1);
    ck_assert_int_eq((int)num(j, "orphans"), 0);
    cJSON_Delete(j);
    assert_docker(extra, "missing");
    assert_docker(a.cid, "running");
    inst again;
    show(s, a.id, &again);
    ck_assert_str_eq(again.cid, a.cid);
    assert_status(s, &a, "running");
    ck_assert_int_eq(reconciled(s, &a, NULL, NULL, NULL), 0);
    free(extra);
}
END_TEST

/* The row's status changes in the same pass that finds the extra container. */
START_TEST(extra_container_is_removed_with_a_change)
{
    store *s = &S[0];
    inst a = create(s, "rc-extra-stop", false);
    char *extra = labelled_container(s, a.id);
    free(tu_sh_ok("docker stop %s", a.cid));
    char *err = reconcile(s, NULL, 0);
    assert_status(s, &a, "stopped");
    char *state = docker_state(extra);
    ck_assert_msg(strcmp(state, "missing") == 0,
                  "extra container %.12s is %s after the pass that changed its row:\n%s", extra,
                  state, err);
    free(state);
    free(err);
    assert_docker(a.cid, "exited");
    free(extra);
}
END_TEST

START_TEST(no_wait_create_then_reconcile)
{
    store *s = &S[0];
    inst a = create(s, "rc-nowait", true);
    char *st = NULL;
    for (int i = 0; i < 30; i++) {
        free(reconcile(s, NULL, 0));
        free(st);
        st = status(s, &a);
        if (strcmp(st, "running") == 0)
            break;
        sleep_ms(1000);
    }
    ck_assert_msg(strcmp(st, "running") == 0, "status %s after 30 s", st);
    free(st);
    assert_docker(a.cid, "running");
    char q[256];
    snprintf(q, sizeof q,
             "SELECT count(*) FROM status_events WHERE instance_id = '%s' AND from_status = "
             "'creating' AND to_status = 'running'",
             a.id);
    char *n = tu_sql(s->db, q);
    ck_assert_str_eq(n, "1");
    free(n);
}
END_TEST

START_TEST(leased_instance_is_left_alone)
{
    store *s = &S[0];
    inst a = create(s, "rc-lease", false);
    lc_store *ls;
    lc_instance fresh;
    lc_diag d = {""};
    ck_assert_msg(store_open(s->db, 0, &ls, &d) == LC_OK, "%s", d.msg);
    ck_assert_msg(store_lease_take(ls, a.id, 300, &fresh, &d) == LC_OK, "%s", d.msg);
    char q[256];
    snprintf(q, sizeof q, "SELECT version || ' ' || lease_pid FROM instances WHERE id = '%s'",
             a.id);
    char *before = tu_sql(s->db, q);
    free(tu_sh_ok("docker stop %s", a.cid));
    free(reconcile(s, NULL, 0));
    free(reconcile(s, NULL, 0));
    char *after = tu_sql(s->db, q);
    ck_assert_str_eq(after, before); /* same version, still our lease */
    free(after);
    free(before);
    assert_status(s, &a, "running");
    ck_assert_int_eq(reconciled(s, &a, NULL, NULL, NULL), 0);
    assert_docker(a.cid, "exited");
    ck_assert(store_lease_release(ls, a.id, &d) == LC_OK);
    store_close(ls);
    free(reconcile(s, NULL, 0));
    assert_status(s, &a, "stopped");
}
END_TEST

START_TEST(second_reconcile_says_so)
{
    store *s = &S[0];
    inst a = create(s, "rc-lock", false);
    free(tu_sh_ok("docker stop %s", a.cid));
    char path[400];
    snprintf(path, sizeof path, "%s.reconcile.lock", s->db);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(flock(fd, LOCK_EX | LOCK_NB), 0);
    char *err = reconcile(s, NULL, 0);
    ck_assert_msg(strstr(err, "another reconcile is running") != NULL, "%s", err);
    free(err);
    assert_status(s, &a, "running");
    close(fd);
    free(reconcile(s, NULL, 0));
    assert_status(s, &a, "stopped");
}
END_TEST

START_TEST(engine_missing_changes_nothing)
{
    store *s = &S[0];
    inst a = create(s, "rc-noengine", false);
    free(tu_sh_ok("docker stop %s", a.cid));
    char *before = dump(s);
    char *err = reconcile(s, "unix:///nonexistent.sock", EXIT_ENGINE);
    ck_assert_msg(strstr(err, "/nonexistent.sock") != NULL, "%s", err);
    free(err);
    char *after = dump(s);
    ck_assert_str_eq(after, before);
    free(after);
    free(before);
    assert_status(s, &a, "running");
}
END_TEST

START_TEST(proxy_inspect_500_skips_one)
{
    store *s = &S[0];
    inst a = create(s, "rc-500-a", false);
    inst b = create(s, "rc-500-b", false);
    free(tu_sh_ok("docker stop %s %s", a.cid, b.cid)); /* exited, row running: inspect needed */
    char fault[256];
    snprintf(fault, sizeof fault, "GET:/containers/%s/json:status=500", a.cid);
    const char *host = start_proxy(s, (const char *[]){fault, NULL});
    char *err = reconcile(s, host, EXIT_PARTIAL);
    assert_line(err, a.id, "verdict=skip");
    assert_line(err, "reconcile instances=", "skipped=1");
    assert_line(err, "reconcile instances=", "result=partial");
    free(err);
    assert_status(s, &a, "running");
    assert_status(s, &b, "stopped");
    ck_assert_int_eq(reconciled(s, &a, NULL, NULL, NULL), 0);
    ck_assert_int_eq(reconciled(s, &b, "running", "stopped", NULL), 1);
    char *log = proxy_log(s), want[200];
    snprintf(want, sizeof want, "/containers/%s/json fault#1", a.cid);
    ck_assert_msg(strstr(log, want) != NULL, "proxy log:\n%s", log);
    free(log);
    stop_proxy();
    free(reconcile(s, NULL, 0));
    assert_status(s, &a, "stopped");
}
END_TEST

START_TEST(proxy_cut_list_writes_nothing)
{
    store *s = &S[0];
    inst a = create(s, "rc-cut", false);
    free(tu_sh_ok("docker stop %s", a.cid));
    const char *host =
        start_proxy(s, (const char *[]){"GET:/containers/json:cut=200:nth=1",
                                        "GET:/containers/json:status=500:nth=2", NULL});
    char *before = dump(s);
    char *err = reconcile(s, host, EXIT_ENGINE); /* cut-off body */
    ck_assert_msg(strstr(err, "list containers") != NULL, "%s", err);
    free(err);
    err = reconcile(s, host, EXIT_ENGINE); /* 5xx on the list */
    ck_assert_msg(strstr(err, "injected status 500") != NULL, "%s", err);
    free(err);
    char *after = dump(s);
    ck_assert_str_eq(after, before);
    free(after);
    free(before);
    stop_proxy();
    assert_status(s, &a, "running");
    assert_docker(a.cid, "exited");
}
END_TEST

START_TEST(proxy_removed_between_list_and_inspect)
{
    store *s = &S[0];
    inst a = create(s, "rc-race-a", false);
    inst b = create(s, "rc-race-b", false);
    free(tu_sh_ok("docker stop %s %s", a.cid, b.cid));
    char fault[256];
    snprintf(fault, sizeof fault, "GET:/containers/%s/json:remove=%s:nth=1", a.cid, a.cid);
    const char *host = start_proxy(s, (const char *[]){fault, NULL});
    free(reconcile(s, host, 0));
    stop_proxy();
    assert_docker(a.cid, "missing");
    assert_status(s, &a, "error");
    char *msg = error_message(s, &a), want[300];
    snprintf(want, sizeof want, "container %s not found", a.cname);
    ck_assert_msg(strstr(msg, want) != NULL, "error_message: %s", msg);
    free(msg);
    assert_status(s, &b, "stopped");
    ck_assert_int_eq(reconciled(s, &b, "running", "stopped", NULL), 1);
    assert_docker(b.cid, "exited");
}
END_TEST

START_TEST(proxy_failed_enforcement_is_partial)
{
    store *s = &S[0];
    inst a = create(s, "rc-enforce", false);
    char q[512];
    snprintf(q, sizeof q,
             "UPDATE instances SET status = 'suspended', hold_operator = 1, suspended_from = "
             "'running' WHERE id = '%s'",
             a.id);
    ck_assert(tu_sql_exec(s->db, q));
    const char *host = start_proxy(s, (const char *[]){"POST:/stop:status=500", NULL});
    char *err = reconcile(s, host, EXIT_PARTIAL);
    assert_line(err, a.id, "enforcement failed");
    assert_line(err, "reconcile instances=", "result=partial");
    free(err);
    stop_proxy();
    assert_status(s, &a, "suspended");
    assert_docker(a.cid, "running");
    snprintf(q, sizeof q, "SELECT coalesce(lease_pid, 0) FROM instances WHERE id = '%s'", a.id);
    char *lease = tu_sql(s->db, q);
    ck_assert_str_eq(lease, "0"); /* the enforcement lease was released */
    free(lease);
    free(reconcile(s, NULL, 0)); /* the next pass enforces it */
    assert_docker(a.cid, "exited");
    assert_status(s, &a, "suspended");
}
END_TEST

START_TEST(two_stores_one_engine)
{
    store *s1 = &S[0], *s2 = new_store();
    inst a = create(s1, "rc-store-a", false);
    inst b = create(s2, "rc-store-b", false);
    char *other = labelled_container(s1, "00000000-0000-4000-8000-000000000000");
    free(tu_sh_ok("docker stop %s", a.cid));
    char *before = dump(s1);
    cJSON *j = reconcile_json(s2, 0);
    ck_assert_int_eq((int)num(j, "instances"), 1);
    ck_assert_int_eq((int)num(j, "orphans"), 0);
    ck_assert_int_eq((int)num(j, "extras"), 0);
    ck_assert_int_eq((int)num(j, "changed"), 0);
    cJSON_Delete(j);
    char *after = dump(s1);
    ck_assert_str_eq(after, before); /* the other store's rows are not even observed */
    free(after);
    free(before);
    assert_docker(a.cid, "exited");
    assert_docker(other, "created");
    assert_status(s2, &b, "running");
    j = reconcile_json(s1, 0);
    ck_assert_int_eq((int)num(j, "instances"), 1);
    ck_assert_int_eq((int)num(j, "orphans"), 1); /* its own unknown-instance container only */
    ck_assert_int_eq((int)num(j, "extras"), 0);
    ck_assert_int_eq((int)num(j, "changed"), 1);
    cJSON_Delete(j);
    assert_status(s1, &a, "stopped");
    assert_status(s2, &b, "running");
    assert_docker(b.cid, "running");
    assert_docker(other, "created");
    ck_assert_int_eq(reconciled(s2, &b, NULL, NULL, NULL), 0);
    free(other);
}
END_TEST

START_TEST(proxy_faults_as_specified)
{
    store *s = &S[0];
    const char *host =
        start_proxy(s, (const char *[]){"GET:/containers/json:status=503:nth=2",
                                        "GET:/containers/json:delay=400:nth=3",
                                        "GET:/containers/nosuch/json:status=500", NULL});
    lc_engine *e;
    lc_diag d = {""};
    lc_container_summary *cs;
    lc_observation o;
    size_t n;
    /* An injected answer to a client's first request still negotiates (Api-Version). */
    ck_assert_int_eq(engine_open(host, &e, &d), LC_OK);
    ck_assert_int_eq(engine_container_inspect(e, "nosuch", &o, &d), LC_EDOCKER);
    ck_assert_msg(strstr(d.msg, "faultproxy: injected status 500") != NULL, "%s", d.msg);
    engine_close(e);
    ck_assert_int_eq(engine_open(host, &e, &d), LC_OK);
    ck_assert_msg(engine_container_list(e, s->uuid, &cs, &n, &d) == LC_OK, "%s", d.msg);
    ck_assert_int_eq(engine_container_list(e, s->uuid, &cs, &n, &d), LC_EENGINE);
    ck_assert_msg(strstr(d.msg, "503") != NULL, "%s", d.msg);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ck_assert_msg(engine_container_list(e, s->uuid, &cs, &n, &d) == LC_OK, "%s", d.msg);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    ck_assert_int_ge(ms, 400);
    ck_assert_msg(engine_container_list(e, s->uuid, &cs, &n, &d) == LC_OK, "%s", d.msg);
    engine_close(e);
    char *log = proxy_log(s);
    ck_assert_msg(strstr(log, "/containers/nosuch/json fault#3\n") != NULL, "%s", log);
    const char *lists[8] = {NULL}, *want[] = {"", " fault#1", " fault#2", ""};
    int nl = 0;
    char *save;
    for (char *l = strtok_r(log, "\n", &save); l != NULL; l = strtok_r(NULL, "\n", &save)) {
        if (strstr(l, "/containers/json?") != NULL && nl < 8)
            lists[nl++] = l;
    }
    ck_assert_int_eq(nl, 4);
    for (int i = 0; i < 4; i++) {
        const char *f = strstr(lists[i], " fault#");
        ck_assert_msg(strcmp(f != NULL ? f : "", want[i]) == 0, "list %d: %s", i + 1, lists[i]);
    }
    free(log);
    char sock[300];
    snprintf(sock, sizeof sock, "%s/proxy.sock", s->dir);
    stop_proxy(); /* SIGTERM: exit 0, socket removed */
    ck_assert_int_ne(access(sock, F_OK), 0);
}
END_TEST

static void add(Suite *s, const char *name, const TTest *t)
{
    TCase *tc = tcase_create(name);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_unchecked_fixture(tc, NULL, sweep);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, t);
    suite_add_tcase(s, tc);
}

Suite *suite_reconcile(void)
{
    snprintf(sweep_list, sizeof sweep_list, "/tmp/instctl-test-reconcile-%ld.stores",
             (long)getpid());
    Suite *s = suite_create("reconcile");
    add(s, "pause", pause_is_transient);
    add(s, "stop_start", stop_and_start_outside);
    add(s, "rm", removed_outside_is_error);
    add(s, "crash_loop", crash_loop_is_error_and_stopped);
    add(s, "suspended", suspended_started_outside_is_stopped);
    add(s, "terminated", terminated_leftovers_are_removed);
    add(s, "extra", extra_container_is_removed);
    add(s, "extra_change", extra_container_is_removed_with_a_change);
    add(s, "no_wait", no_wait_create_then_reconcile);
    add(s, "lease", leased_instance_is_left_alone);
    add(s, "lock", second_reconcile_says_so);
    add(s, "no_engine", engine_missing_changes_nothing);
    add(s, "proxy_self", proxy_faults_as_specified);
    add(s, "proxy_500", proxy_inspect_500_skips_one);
    add(s, "proxy_cut", proxy_cut_list_writes_nothing);
    add(s, "proxy_race", proxy_removed_between_list_and_inspect);
    add(s, "proxy_enforce", proxy_failed_enforcement_is_partial);
    add(s, "two_stores", two_stores_one_engine);
    return s;
}
