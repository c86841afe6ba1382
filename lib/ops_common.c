/*
 * Steps shared by the lifecycle actions: recording a step, the lease with
 * --wait, making a container from a row (create, start of a vanished one,
 * update, restore), the secret file, waiting for a container to run, and
 * the lease keepalive.
 */
#include "hosts.h"
#include "ops_internal.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

lc_err ops_step(lc_ops *o, lc_instance *in, const char *step, lc_diag *d)
{
    if (lc_interrupt_pending())
        return lc_fail(d, LC_EINTR, "interrupted before step %s", step);
    snprintf(in->op_step, sizeof in->op_step, "%s", step);
    lc_err e = store_journal(o->store, in, d);
    if (e != LC_OK)
        return e;
    if (o->progress != NULL && strcmp(step, "begin") != 0)
        o->progress(o->progress_arg, step);
    return LC_OK;
}

lc_err ops_engine_for_host(lc_ops *o, const char *host, lc_engine **out, lc_diag *d)
{
    if (o->local == NULL)
        o->local = o->engine;
    *out = o->local;
    if (host == NULL || host[0] == '\0' || strcmp(host, LC_HOST_LOCAL) == 0)
        return LC_OK;
    for (size_t i = 0; i < o->n_engines; i++) {
        if (strcmp(o->engines[i].host, host) == 0) {
            *out = o->engines[i].engine;
            return LC_OK;
        }
    }
    if (o->n_engines == LC_OPS_MAX_ENGINES)
        return lc_fail(d, LC_EFAILED, "host %s: more than %d hosts in one command", host,
                       LC_OPS_MAX_ENGINES);
    lc_host h;
    lc_engine *e = NULL;
    lc_err err = store_host_get(o->store, host, &h, d);
    if (err == LC_OK)
        err = lc_host_engine_open(&h, o->cfg->docker_host, &e, d);
    if (err != LC_OK)
        return err;
    lc_ops_engine *slot = &o->engines[o->n_engines++];
    snprintf(slot->host, sizeof slot->host, "%s", host);
    slot->engine = e;
    *out = e;
    return LC_OK;
}

lc_err ops_engine_for(lc_ops *o, const lc_instance *in, lc_engine **out, lc_diag *d)
{
    return ops_engine_for_host(o, in->host, out, d);
}

lc_err ops_use_host(lc_ops *o, const lc_instance *in, lc_diag *d)
{
    lc_engine *e;
    lc_err err = ops_engine_for(o, in, &e, d);
    if (err == LC_OK)
        o->engine = e;
    return err;
}

void ops_close_engines(lc_ops *o)
{
    if (o->local != NULL)
        o->engine = o->local;
    for (size_t i = 0; i < o->n_engines; i++)
        engine_close(o->engines[i].engine);
    o->n_engines = 0;
}

static double monotonic_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

lc_err ops_take_lease(lc_ops *o, const char *id, lc_instance *fresh, lc_diag *d)
{
    double give_up = monotonic_s() + o->wait_seconds;
    for (;;) {
        lc_err e = store_lease_take(o->store, id, o->cfg->lease_seconds, fresh, d);
        if (e != LC_EBUSY || monotonic_s() >= give_up)
            return e;
        usleep(200 * 1000);
    }
}

void ops_new_row_creating(const lc_ops *o, lc_instance *in, lc_action_id kind,
                          const char *first_step)
{
    lc_container_name_for(in->database_name, in->id, in->container_name, sizeof in->container_name);
    snprintf(in->volume_name, sizeof in->volume_name, "%s_g1", in->container_name);
    in->status = INSTANCE_CREATING;
    in->suspended_from = in->previous_status = -1;
    snprintf(in->op_step, sizeof in->op_step, "%s", first_step);
    in->op_deadline = time(NULL) + o->cfg->create_timeout;
    in->op = (lc_op_journal){.kind = kind, .from = INSTANCE_CREATING};
}

void lc_container_name_for(const char *database, const char *id, char *out, size_t len)
{
    snprintf(out, len, "odoo_%s_%.8s", database, id);
}

static char *read_secret(const char *path, size_t *len, lc_diag *d)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        lc_fail(d, LC_ECONFIG, "db_password_file %s: cannot read", path);
        return NULL;
    }
    char *buf = calloc(1, 4096);
    *len = buf != NULL ? fread(buf, 1, 4095, f) : 0;
    fclose(f);
    while (buf != NULL && *len > 0 && (buf[*len - 1] == '\n' || buf[*len - 1] == '\r'))
        buf[--*len] = '\0';
    return buf;
}

lc_err ops_image_owner(lc_ops *o, const lc_instance *in, unsigned *uid, unsigned *gid, lc_diag *d)
{
    char user[128];
    *uid = *gid = 0;
    lc_err e = engine_image_user(o->engine, in->image, user, sizeof user, d);
    if (e != LC_OK || user[0] == '\0')
        return e;
    if (isdigit((unsigned char)user[0])) {
        if (sscanf(user, "%u:%u", uid, gid) < 2)
            *gid = *uid;
        return LC_OK;
    }
    user[strcspn(user, ":")] = '\0';
    char *passwd = NULL;
    size_t len = 0;
    e = engine_get_file(o->engine, in->container_id, "/etc/passwd", &passwd, &len, d);
    if (e != LC_OK)
        return lc_prefix(d, e, "user %s", user);
    size_t ulen = strlen(user);
    e = lc_fail(d, LC_EFAILED, "user %s is not in the image's /etc/passwd", user);
    for (char *line = strtok(passwd, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        if (strncmp(line, user, ulen) == 0 && line[ulen] == ':' &&
            sscanf(line + ulen, ":%*[^:]:%u:%u", uid, gid) == 2) {
            e = LC_OK;
            break;
        }
    }
    free(passwd);
    return e;
}

static lc_err place_secret(lc_ops *o, lc_instance *in, lc_diag *d)
{
    if (o->cfg->db_password_file[0] == '\0')
        return LC_OK;
    size_t len = 0;
    char *secret = read_secret(o->cfg->db_password_file, &len, d);
    if (secret == NULL)
        return LC_ECONFIG;
    unsigned uid, gid;
    lc_err e = ops_image_owner(o, in, &uid, &gid, d);
    if (e == LC_OK)
        e = engine_put_file(o->engine, in->container_id, LC_SECRET_DIR, LC_SECRET_NAME, secret, len,
                            0400, uid, gid, d);
    explicit_bzero(secret, len);
    free(secret);
    return e;
}

/*
 * A container for row *in (its image, volume, network, labels, secret
 * files) running Odoo with args after the server (NULL: the server itself);
 * a helper (args set) has the helper role and no restart policy.
 */
static lc_err make_odoo_container(lc_ops *o, lc_instance *in, const char *const *args, lc_diag *d)
{
    const lc_config *c = o->cfg;
    bool tenant = c->db_host[0] != '\0';
    /*
     * With a database server (DESIGN §6a): Odoo itself reads the per-instance
     * file ops_place_credentials puts there; a Cmd that is not "odoo" makes
     * the official entrypoint exec it as is, without --db_password arguments.
     */
    static const char *const tenant_env[] = {"ODOO_RC=" LC_SECRET_DIR "/" LC_ODOO_RC_NAME, NULL};
    const char *cmd[12] = {tenant ? "/usr/bin/odoo" : "odoo"};
    size_t n = 1;
    for (size_t i = 0; args != NULL && args[i] != NULL && n < 11; i++)
        cmd[n++] = args[i];
    char address[256] = ""; /* Odoo's port published on a remote host; not a helper's */
    lc_host h;
    if (args == NULL && in->host[0] != '\0' && strcmp(in->host, LC_HOST_LOCAL) != 0 &&
        store_host_get(o->store, in->host, &h, NULL) == LC_OK)
        lc_host_address(&h, address, sizeof address);
    lc_container_spec spec = {
        .publish_address = address,
        .name = in->container_name,
        .image = in->image,
        .volume = in->volume_name,
        .data_path = c->data_path,
        .store_uuid = store_uuid(o->store),
        .instance_id = in->id,
        .network = c->network,
        .env = tenant ? tenant_env : NULL,
        .cmd = tenant || args != NULL ? cmd : NULL,
        .role = args != NULL ? LC_ROLE_HELPER : NULL,
    };
    lc_err e = engine_container_create(o->engine, &spec, in->container_id, d);
    if (e != LC_OK)
        return e;
    e = tenant ? ops_place_credentials(o, in, d) : place_secret(o, in, d);
    return e == LC_OK ? LC_OK : lc_prefix(d, e, "secret files");
}

int ops_odoo_endpoint(lc_ops *o, const lc_instance *in, const lc_observation *obs, char *addr,
                      size_t len)
{
    lc_host h;
    snprintf(addr, len, "%s", obs->ip[0] ? obs->ip : "127.0.0.1");
    if (obs->published_port <= 0 || store_host_get(o->store, in->host, &h, NULL) != LC_OK)
        return 8069;
    char published[256];
    lc_host_address(&h, published, sizeof published);
    if (published[0] == '\0')
        return 8069;
    snprintf(addr, len, "%s", published);
    return obs->published_port;
}

lc_err ops_make_container(lc_ops *o, lc_instance *in, lc_diag *d)
{
    return make_odoo_container(o, in, NULL, d);
}

lc_err ops_odoo_command(lc_ops *o, const lc_instance *in, const char *const *args, lc_diag *d)
{
    lc_instance h = *in;
    snprintf(h.container_name, sizeof h.container_name, "%s_%s", in->container_name, args[0]);
    h.container_id[0] = '\0';
    lc_err e = make_odoo_container(o, &h, args, d);
    if (e == LC_OK)
        e = engine_container_start(o->engine, h.container_id, d);
    lc_observation obs = {0};
    time_t deadline = time(NULL) + o->cfg->create_timeout;
    while (e == LC_OK &&
           (e = engine_container_inspect(o->engine, h.container_id, &obs, d)) == LC_OK &&
           obs.state != CONTAINER_EXITED && obs.state != CONTAINER_DEAD) {
        if (time(NULL) > deadline)
            e = lc_fail(d, LC_EFAILED, "odoo %s: still running after %d s", args[0],
                        o->cfg->create_timeout);
        else if (lc_interrupt_pending())
            e = LC_EINTR;
        else
            usleep(200 * 1000);
    }
    if (e == LC_OK && obs.exit_code != 0)
        e = lc_fail(d, LC_EFAILED, "odoo %s exited with status %d", args[0], obs.exit_code);
    lc_diag ignore;
    if (h.container_id[0] != '\0')
        engine_container_remove(o->engine, h.container_id, true, &ignore);
    return e;
}

static bool is_up(const lc_observation *obs)
{
    return obs->state == CONTAINER_RUNNING &&
           (obs->health[0] == '\0' || strcmp(obs->health, "healthy") == 0);
}

lc_err ops_wait_running(lc_ops *o, lc_instance *in, time_t deadline, lc_observation *obs,
                        lc_diag *d)
{
    int first_restarts = -1;
    for (;;) {
        lc_err e = engine_container_inspect(o->engine, in->container_id, obs, d);
        if (e != LC_OK)
            return e;
        if (is_up(obs))
            return LC_OK;
        if (first_restarts < 0)
            first_restarts = obs->restart_count;
        if (obs->restart_count - first_restarts >= 2)
            return lc_fail(d, LC_EFAILED,
                           "container %s keeps restarting (exit code %d, restarted %d times)",
                           in->container_name, obs->exit_code, obs->restart_count);
        if (obs->state == CONTAINER_EXITED || obs->state == CONTAINER_DEAD ||
            obs->state == CONTAINER_MISSING)
            return lc_fail(d, LC_EFAILED, "container %s %s (exit code %d)%s%s", in->container_name,
                           container_state_name(obs->state), obs->exit_code,
                           obs->error[0] ? ": " : "", obs->error);
        if (lc_interrupt_pending())
            return lc_fail(d, LC_EINTR, "interrupted waiting for container %s", in->container_name);
        if (time(NULL) >= deadline)
            return lc_fail(d, LC_EFAILED, "container %s not %s in time (state %s, health %s)",
                           in->container_name, obs->health[0] ? "healthy" : "running",
                           obs->state_raw, obs->health[0] ? obs->health : "none");
        usleep(250 * 1000);
    }
}

void ops_record_start(lc_ops *o, lc_instance *in, const lc_observation *obs)
{
    in->odoo_port = obs->published_port;
    time_t now = time(NULL);
    lc_obs_memory m = {
        .state = obs->state,
        .exit_code = obs->exit_code,
        .restart_count = obs->restart_count,
        .restart_base = obs->restart_count,
        .restart_window_start = now,
        .first_seen = now,
        .observed_at = now,
    };
    snprintf(m.health, sizeof m.health, "%s", obs->health);
    store_observe(o->store, in->id, &m, obs->started_at, NULL);
}

void ops_observe_now(lc_ops *o, const lc_instance *in)
{
    lc_observation obs = {.state = CONTAINER_MISSING};
    lc_diag ignore;
    if (in->container_id[0] != '\0' &&
        engine_container_inspect(o->engine, in->container_id, &obs, &ignore) != LC_OK)
        return;
    lc_obs_memory m = in->obs;
    time_t now = time(NULL);
    if (m.state != obs.state)
        m.first_seen = now;
    m.state = obs.state;
    m.exit_code = obs.exit_code;
    m.observed_at = now;
    snprintf(m.health, sizeof m.health, "%s", obs.health);
    store_observe(o->store, in->id, &m, obs.started_at, NULL);
}

/* The keepalive thread: its own SQLite connection, one extension every third of the lease. */
static void *keepalive_main(void *arg)
{
    ops_keepalive *k = arg;
    lc_store *s = NULL;
    if (store_open(k->path, 0, &s, NULL) != LC_OK)
        return NULL;
    pthread_mutex_lock(&k->mu);
    while (!k->stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += k->seconds / 3 > 0 ? k->seconds / 3 : 1;
        if (pthread_cond_timedwait(&k->cv, &k->mu, &until) == ETIMEDOUT && !k->stop)
            store_lease_extend(s, k->id, k->seconds, NULL);
    }
    pthread_mutex_unlock(&k->mu);
    store_close(s);
    return NULL;
}

void ops_keepalive_start(lc_ops *o, const char *id, ops_keepalive *k)
{
    memset(k, 0, sizeof *k);
    snprintf(k->id, sizeof k->id, "%s", id);
    snprintf(k->path, sizeof k->path, "%s", store_path(o->store));
    k->seconds = o->cfg->lease_seconds;
    pthread_mutex_init(&k->mu, NULL);
    pthread_cond_init(&k->cv, NULL);
    /* the thread inherits a mask without the stop signals: they reach the main thread only */
    sigset_t stop, old;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop, &old);
    k->running = pthread_create(&k->thread, NULL, keepalive_main, k) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void ops_keepalive_stop(ops_keepalive *k)
{
    pthread_mutex_lock(&k->mu);
    k->stop = true;
    pthread_cond_signal(&k->cv);
    pthread_mutex_unlock(&k->mu);
    if (k->running)
        pthread_join(k->thread, NULL);
    pthread_cond_destroy(&k->cv);
    pthread_mutex_destroy(&k->mu);
}
