/*
 * The engine client against the real engine: ping and version negotiation,
 * volumes, a container's whole life (create, put a file, start, inspect,
 * stop twice, restart, remove), the store-filtered list, image calls, and an
 * unreachable socket. Builds its own image FROM scratch with busybox-static
 * under a tag unique to the run, and removes everything labelled with the
 * run's store uuids at the end, whatever failed.
 */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine.h"
#include "testutil.h"

/* store: the lifecycle's; list_a and list_b: the list test's, so a failure of one leaves nothing in
 * another's list. */
static char image[64], store[40], list_a[40], list_b[40];

static void setup(void)
{
    tu_uuid(store);
    tu_uuid(list_a);
    tu_uuid(list_b);
    snprintf(image, sizeof image, "instctl-engine-test:%.8s", store);
    free(tu_sh_ok(
        "d=$(mktemp -d) && cp \"$(command -v busybox)\" $d/busybox && "
        "printf 'FROM scratch\\nCOPY busybox /bin/busybox\\nUSER 101\\n"
        "CMD [\"/bin/busybox\",\"sleep\",\"1000\"]\\n' > $d/Dockerfile && "
        "DOCKER_BUILDKIT=0 docker build -q -t %s $d >/dev/null; rc=$?; rm -rf $d; exit $rc",
        image));
}

static void teardown(void)
{
    char cmd[1024];
    const char *stores[] = {store, list_a, list_b};
    for (int i = 0; i < 3; i++) {
        snprintf(cmd, sizeof cmd,
                 "docker ps -aq --filter label=%s=%s | xargs -r docker rm -f >/dev/null; "
                 "docker volume ls -q --filter label=%s=%s | xargs -r docker volume rm >/dev/null",
                 LC_LABEL_STORE, stores[i], LC_LABEL_STORE, stores[i]);
        tu_run r = tu_sh(cmd);
        tu_run_free(&r);
    }
    snprintf(cmd, sizeof cmd, "docker rmi %s >/dev/null", image);
    tu_run r = tu_sh(cmd);
    tu_run_free(&r);
}

static lc_engine *open_engine(void)
{
    lc_engine *e;
    lc_diag d = {""};
    ck_assert_msg(engine_open(NULL, &e, &d) == LC_OK, "%s", d.msg);
    return e;
}

#define OK(call)                                                                                   \
    do {                                                                                           \
        lc_diag d_ = {""};                                                                         \
        lc_err err_ = (call);                                                                      \
        ck_assert_msg(err_ == LC_OK, "%s: %s (%s)", #call, lc_strerror(err_), d_.msg);             \
    } while (0)

START_TEST(ping_negotiates_version)
{
    lc_engine *e = open_engine();
    ck_assert_str_eq(engine_api_version(e), "");
    ck_assert_uint_eq(engine_request_count(e), 0);
    OK(engine_ping(e, &d_));
    const char *v = engine_api_version(e);
    int major = 0, minor = 0;
    ck_assert_msg(sscanf(v, "%d.%d", &major, &minor) == 2 && major == 1 && minor >= 41 &&
                      minor <= 47,
                  "version %s", v);
    char *engine_v = tu_sh_ok("docker version -f '{{.Server.APIVersion}}'");
    if (strcmp(engine_v, "1.47") <= 0 && strlen(engine_v) == 4)
        ck_assert_str_eq(v, engine_v);
    free(engine_v);
    OK(engine_ping(e, &d_));
    ck_assert_uint_eq(engine_request_count(e), 1);
    if (getenv("DOCKER_HOST") == NULL)
        ck_assert_str_eq(engine_socket_path(e), "/var/run/docker.sock");
    engine_close(e);
}
END_TEST

START_TEST(open_parses_hosts)
{
    lc_engine *e;
    lc_diag d = {""};
    ck_assert_int_eq(engine_open("unix:///run/x/docker.sock", &e, &d), LC_OK);
    ck_assert_str_eq(engine_socket_path(e), "/run/x/docker.sock");
    engine_close(e);
    ck_assert_int_eq(engine_open("/run/y.sock", &e, &d), LC_OK);
    ck_assert_str_eq(engine_socket_path(e), "/run/y.sock");
    engine_close(e);
    ck_assert_int_eq(engine_open("tcp://10.0.0.1:2375", &e, &d), LC_ECONFIG);
    ck_assert_ptr_null(e);
    ck_assert(strstr(d.msg, "tcp://10.0.0.1:2375") != NULL);
    ck_assert_int_eq(engine_open("unix://relative.sock", &e, &d), LC_ECONFIG);
}
END_TEST

START_TEST(missing_socket_is_engine_error)
{
    lc_engine *e;
    lc_diag d = {""};
    lc_observation o;
    lc_container_summary *l;
    size_t n;
    ck_assert_int_eq(engine_open("unix:///tmp/instctl-no-such-engine.sock", &e, &d), LC_OK);
    ck_assert_int_eq(engine_ping(e, &d), LC_EENGINE);
    ck_assert_msg(strstr(d.msg, "/tmp/instctl-no-such-engine.sock") != NULL, "%s", d.msg);
    ck_assert_str_eq(engine_api_version(e), "");
    ck_assert_int_eq(engine_container_inspect(e, "abc", &o, &d), LC_EENGINE);
    ck_assert_int_ne(o.state, CONTAINER_MISSING);
    ck_assert_msg(strncmp(d.msg, "inspect container abc: ", 23) == 0, "%s", d.msg);
    ck_assert_int_eq(engine_container_list(e, "0f8b6c21-f032-4013-9782-e7e55e4f804a", &l, &n, &d),
                     LC_EENGINE);
    ck_assert_int_eq(engine_container_start(e, "abc", &d), LC_EENGINE);
    engine_close(e);
}
END_TEST

static void spec_for(lc_container_spec *s, const char *name, const char *st, const char *inst)
{
    static const char *const env[] = {"HOST=db.example", "PORT=5432", NULL};
    *s = (lc_container_spec){.name = name,
                             .image = image,
                             .volume = NULL,
                             .data_path = "/var/lib/odoo",
                             .store_uuid = st,
                             .instance_id = inst,
                             .env = env,
                             .no_healthcheck = true};
}

/* docker inspect -f fmt on id, through the CLI (an independent view). */
static char *docker_inspect(const char *id, const char *fmt)
{
    return tu_sh_ok("docker inspect -f '%s' %s", fmt, id);
}

static void check_created(lc_engine *e, const char *id, const char *inst, const char *vol)
{
    lc_observation o;
    OK(engine_container_inspect(e, id, &o, &d_));
    ck_assert_int_eq(o.state, CONTAINER_CREATED);
    ck_assert_str_eq(o.id, id);
    ck_assert_str_eq(o.instance, inst);
    ck_assert_int_eq(o.started_at, 0);
    char *got = docker_inspect(id, "{{json .Config.Labels}}");
    char want[512];
    snprintf(want, sizeof want, "{\"%s\":\"%s\",\"%s\":\"true\",\"%s\":\"%s\"}", LC_LABEL_INSTANCE,
             inst, LC_LABEL_MANAGED, LC_LABEL_STORE, store);
    ck_assert_str_eq(got, want);
    free(got);
    got = docker_inspect(id, "{{.HostConfig.Init}} {{.HostConfig.RestartPolicy.Name}} "
                             "{{range .Mounts}}{{.Type}}:{{.Name}}:{{.Destination}}{{end}} "
                             "{{.Config.Healthcheck.Test}} {{index .Config.Env 0}}");
    snprintf(want, sizeof want,
             "true unless-stopped volume:%s:/var/lib/odoo [NONE] HOST=db.example", vol);
    ck_assert_str_eq(got, want);
    free(got);
}

static void check_secret(lc_engine *e, const char *id)
{
    char *data;
    size_t len;
    lc_diag d = {""};
    OK(engine_get_file(e, id, "/run/instctl/secret", &data, &len, &d_));
    ck_assert_uint_eq(len, 10);
    ck_assert(memcmp(data, "pa55\0word\n", 10) == 0);
    free(data);
    char *st = tu_sh_ok("docker exec -u 0 %s /bin/busybox stat -c '%%u:%%g:%%a' /run/instctl "
                        "/run/instctl/secret | tr '\\n' ' '",
                        id);
    ck_assert_str_eq(st, "1000:1001:700 1000:1001:400");
    free(st);
    ck_assert_int_eq(engine_get_file(e, id, "/run/instctl/nothing", &data, &len, &d), LC_ENOTFOUND);
    ck_assert_ptr_null(data);
    ck_assert_int_eq(engine_get_file(e, id, "/run/instctl", &data, &len, &d), LC_OK);
    ck_assert_uint_eq(len, 10);
    free(data);
}

static void check_running(lc_engine *e, const char *id)
{
    lc_observation o;
    OK(engine_container_inspect(e, id, &o, &d_));
    ck_assert_int_eq(o.state, CONTAINER_RUNNING);
    ck_assert_str_eq(o.state_raw, "running");
    ck_assert_msg(o.started_at > time(NULL) - 120 && o.started_at <= time(NULL) + 5,
                  "started_at %lld", (long long)o.started_at);
    ck_assert(o.finished_at == 0 || o.finished_at <= o.started_at);
    ck_assert_str_eq(o.health, "");
    ck_assert(o.ip[0] != '\0');
}

static void check_listed_alone(lc_engine *e, const char *id, const char *inst, const char *name)
{
    lc_container_summary *l;
    size_t n;
    OK(engine_container_list(e, store, &l, &n, &d_));
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(l[0].id, id);
    ck_assert_str_eq(l[0].instance, inst);
    ck_assert_str_eq(l[0].name, name);
    ck_assert_int_eq(l[0].state, CONTAINER_RUNNING);
    free(l);
}

static void check_stop_twice(lc_engine *e, const char *id)
{
    lc_observation o;
    OK(engine_container_stop(e, id, 2, &d_));
    OK(engine_container_inspect(e, id, &o, &d_));
    ck_assert_int_eq(o.state, CONTAINER_EXITED);
    ck_assert(o.finished_at >= o.started_at && o.started_at > 0);
    unsigned long before = engine_request_count(e);
    OK(engine_container_stop(e, id, 2, &d_));
    ck_assert_uint_eq(engine_request_count(e), before + 1);
    char *code = tu_sh_ok("curl -s -o /dev/null -w '%%{http_code}' --unix-socket %s -X POST "
                          "http://localhost/v1.41/containers/%s/stop",
                          engine_socket_path(e), id);
    ck_assert_str_eq(code, "304");
    free(code);
}

static void check_volume_create(lc_engine *e, const char *vol, const char *inst)
{
    bool exists = true;
    lc_diag d = {""};
    OK(engine_volume_exists(e, vol, &exists, &d_));
    ck_assert(!exists);
    OK(engine_volume_create(e, vol, store, inst, &d_));
    OK(engine_volume_exists(e, vol, &exists, &d_));
    ck_assert(exists);
    OK(engine_volume_create(e, vol, store, inst, &d_));
    ck_assert_int_eq(engine_volume_create(e, vol, store, "another-instance", &d), LC_EDOCKER);
    ck_assert_msg(strstr(d.msg, "exists with other labels") != NULL, "%s", d.msg);
}

/* Removal keeps the volume; a removed container is MISSING, not an error. */
static void check_remove(lc_engine *e, const char *id, const char *vol)
{
    lc_diag d = {""};
    lc_observation o;
    char want[256];
    bool exists = false;
    ck_assert_int_eq(engine_volume_remove(e, vol, &d), LC_EDOCKER);
    ck_assert_int_eq(engine_container_remove(e, id, false, &d), LC_EDOCKER);
    OK(engine_container_remove(e, id, true, &d_));
    OK(engine_container_inspect(e, id, &o, &d_));
    ck_assert_int_eq(o.state, CONTAINER_MISSING);
    ck_assert_int_eq(engine_container_remove(e, id, true, &d), LC_ENOTFOUND);
    ck_assert_int_eq(engine_container_start(e, id, &d), LC_ENOTFOUND);
    snprintf(want, sizeof want, "start container %s: No such container: %s", id, id);
    ck_assert_str_eq(d.msg, want);
    OK(engine_volume_exists(e, vol, &exists, &d_));
    ck_assert(exists);
    OK(engine_volume_remove(e, vol, &d_));
    OK(engine_volume_exists(e, vol, &exists, &d_));
    ck_assert(!exists);
    OK(engine_volume_remove(e, vol, &d_));
}

START_TEST(container_lifecycle)
{
    lc_engine *e = open_engine();
    char inst[40], name[64], vol[64], id[65], again[65], want[256], *early;
    size_t early_len;
    lc_diag d = {""};
    lc_container_spec s;
    tu_uuid(inst);
    snprintf(name, sizeof name, "odoo_enginetest_%.8s", inst);
    snprintf(vol, sizeof vol, "%s_v1", name);
    check_volume_create(e, vol, inst);
    spec_for(&s, name, store, inst);
    s.volume = vol;
    OK(engine_container_create(e, &s, id, &d_));
    ck_assert_uint_eq(strspn(id, "0123456789abcdef"), 64);
    ck_assert_int_eq(engine_container_create(e, &s, again, &d), LC_EDOCKER);
    snprintf(want, sizeof want, "create container %s: Conflict. ", name);
    ck_assert_msg(strncmp(d.msg, want, strlen(want)) == 0, "%s", d.msg);
    check_created(e, id, inst, vol);
    OK(engine_put_file(e, id, "/run/instctl", "secret", "pa55\0word\n", 10, 0400, 1000, 1001, &d_));
    OK(engine_get_file(e, id, "/run/instctl/secret", &early, &early_len, &d_));
    ck_assert_uint_eq(early_len, 10);
    free(early);
    OK(engine_container_start(e, id, &d_));
    OK(engine_container_start(e, id, &d_));
    check_running(e, id);
    check_secret(e, id);
    check_listed_alone(e, id, inst, name);
    check_stop_twice(e, id);
    OK(engine_container_restart(e, id, 1, &d_));
    check_running(e, id);
    check_remove(e, id, vol);
    engine_close(e);
}
END_TEST

START_TEST(list_filters_by_store_and_managed)
{
    lc_engine *e = open_engine();
    char inst[2][40], name[2][64], id[2][65];
    lc_container_spec s;
    for (int i = 0; i < 2; i++) {
        tu_uuid(inst[i]);
        snprintf(name[i], sizeof name[i], "odoo_enginelist_%.8s", inst[i]);
        spec_for(&s, name[i], i == 0 ? list_a : list_b, inst[i]);
        s.network = "none";
        OK(engine_container_create(e, &s, id[i], &d_));
    }
    free(tu_sh_ok("docker create --label %s=%s --label %s=%s %s >/dev/null", LC_LABEL_STORE, list_a,
                  LC_LABEL_INSTANCE, inst[0], image));
    char *mode = docker_inspect(id[0], "{{.HostConfig.NetworkMode}}");
    ck_assert_str_eq(mode, "none");
    free(mode);
    lc_container_summary *l;
    size_t n;
    for (int i = 0; i < 2; i++) {
        OK(engine_container_list(e, i == 0 ? list_a : list_b, &l, &n, &d_));
        ck_assert_uint_eq(n, 1);
        ck_assert_str_eq(l[0].id, id[i]);
        ck_assert_str_eq(l[0].name, name[i]);
        ck_assert_int_eq(l[0].state, CONTAINER_CREATED);
        free(l);
    }
    char fresh[40];
    tu_uuid(fresh);
    OK(engine_container_list(e, fresh, &l, &n, &d_));
    ck_assert_uint_eq(n, 0);
    ck_assert_ptr_null(l);
    OK(engine_container_start(e, id[0], &d_));
    lc_observation o;
    OK(engine_container_inspect(e, id[0], &o, &d_));
    ck_assert_int_eq(o.state, CONTAINER_RUNNING);
    ck_assert_str_eq(o.ip, "");
    engine_close(e);
}
END_TEST

START_TEST(images)
{
    lc_engine *e = open_engine();
    lc_diag d = {""};
    bool exists = false;
    char user[32] = "x";
    OK(engine_image_exists(e, image, &exists, &d_));
    ck_assert(exists);
    OK(engine_image_user(e, image, user, sizeof user, &d_));
    ck_assert_str_eq(user, "101");
    OK(engine_image_exists(e, "instctl-no-such-image:0", &exists, &d_));
    ck_assert(!exists);
    ck_assert_int_eq(engine_image_user(e, "instctl-no-such-image:0", user, sizeof user, &d),
                     LC_ENOTFOUND);
    ck_assert_int_eq(engine_image_pull(e, "instctl-no-such-image:0", &d), LC_EDOCKER);
    const char *want = "pull image instctl-no-such-image:0: ";
    ck_assert_msg(strncmp(d.msg, want, strlen(want)) == 0 && strlen(d.msg) > strlen(want) + 3, "%s",
                  d.msg);
    lc_container_spec s;
    char id[65];
    spec_for(&s, "odoo_enginetest_noimage", store, "x");
    s.image = "instctl-no-such-image:0";
    ck_assert_int_eq(engine_container_create(e, &s, id, &d), LC_ENOTFOUND);
    ck_assert_msg(strstr(d.msg, "No such image") != NULL, "%s", d.msg);
    ck_assert_str_eq(id, "");
    engine_close(e);
}
END_TEST

Suite *suite_engine(void)
{
    Suite *s = suite_create("engine");
    TCase *tc = tcase_create("client");
    tcase_add_test(tc, open_parses_hosts);
    tcase_add_test(tc, missing_socket_is_engine_error);
    tcase_add_test(tc, ping_negotiates_version);
    suite_add_tcase(s, tc);
    tc = tcase_create("engine");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, images);
    tcase_add_test(tc, container_lifecycle);
    tcase_add_test(tc, list_filters_by_store_and_managed);
    suite_add_tcase(s, tc);
    return s;
}
