/*
 * create (DESIGN §2): validate, insert the row in `creating` under a lease,
 * then the steps image, volume, container, secrets, start, running,
 * database and (with a database server, DESIGN §6a) lock, each named in
 * error_message when it fails.
 */
#include "odoo.h"
#include "ops_internal.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static lc_err validate(const lc_create_request *r, lc_diag *d)
{
    lc_err e = lc_validate_name(r->name, d);
    if (e == LC_OK)
        e = lc_validate_database(r->database, d);
    if (e == LC_OK)
        e = lc_validate_email(r->admin_email, d);
    if (e == LC_OK && r->odoo_version != NULL)
        e = lc_validate_version(r->odoo_version, d);
    if (e == LC_OK && r->image != NULL)
        e = lc_validate_image(r->image, d);
    if (e == LC_OK && r->pull_policy != NULL && strcmp(r->pull_policy, "missing") != 0 &&
        strcmp(r->pull_policy, "never") != 0)
        e = lc_fail(d, LC_EUSAGE, "invalid pull policy \"%s\": use missing or never",
                    r->pull_policy);
    return e;
}

static void new_row(lc_ops *o, const lc_create_request *r, lc_instance *in)
{
    memset(in, 0, sizeof *in);
    lc_new_uuid(in->id);
    snprintf(in->name, sizeof in->name, "%s", r->name);
    snprintf(in->admin_email, sizeof in->admin_email, "%s", r->admin_email);
    snprintf(in->database_name, sizeof in->database_name, "%s", r->database);
    snprintf(in->odoo_version, sizeof in->odoo_version, "%s",
             r->odoo_version != NULL ? r->odoo_version : o->cfg->default_version);
    if (r->image != NULL)
        snprintf(in->image, sizeof in->image, "%s", r->image);
    else
        config_image_for(o->cfg, in->odoo_version, in->image, sizeof in->image);
    snprintf(in->host, sizeof in->host, "%s", r->host != NULL ? r->host : LC_HOST_LOCAL);
    ops_new_row_creating(o, in, ACT_CREATE, "image");
}

static lc_err step_image(lc_ops *o, const lc_instance *in, const char *policy, lc_diag *d)
{
    bool present = false;
    lc_err e = engine_image_exists(o->engine, in->image, &present, d);
    if (e != LC_OK || present)
        return e;
    if (strcmp(policy, "never") == 0)
        return lc_fail(d, LC_EFAILED, "image %s is not present and the pull policy is never",
                       in->image);
    return engine_image_pull(o->engine, in->image, d);
}

static lc_err steps_until_start(lc_ops *o, lc_instance *in, const char *policy, lc_diag *d)
{
    lc_err e = ops_step(o, in, "image", d);
    if (e == LC_OK)
        e = step_image(o, in, policy, d);
    if (e == LC_OK && (e = ops_step(o, in, "volume", d)) == LC_OK)
        e = engine_volume_create(o->engine, in->volume_name, store_uuid(o->store), in->id, d);
    if (e == LC_OK && (e = ops_step(o, in, "container", d)) == LC_OK)
        e = ops_make_container(o, in, d);
    if (e == LC_OK && (e = ops_step(o, in, "start", d)) == LC_OK)
        e = engine_container_start(o->engine, in->container_id, d);
    return e;
}

static lc_err read_master_password(const lc_config *c, char *buf, size_t len, lc_diag *d)
{
    buf[0] = '\0';
    if (c->master_password_file[0] == '\0')
        return LC_OK;
    FILE *f = fopen(c->master_password_file, "r");
    if (f == NULL)
        return lc_fail(d, LC_ECONFIG, "master_password_file %s: cannot read",
                       c->master_password_file);
    if (fgets(buf, (int)len, f) == NULL)
        buf[0] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';
    fclose(f);
    return LC_OK;
}

/*
 * With a database server, after Odoo created the database (DESIGN §6a): the
 * role owns it, PUBLIC cannot connect, and Odoo restarts on a configuration
 * with list_db = False and new passwords.
 */
static lc_err lock_down(lc_ops *o, lc_instance *in, lc_diag *d)
{
    lc_observation obs;
    in->op_deadline =
        time(NULL) + o->cfg->create_timeout; /* Odoo starts once more: its own window */
    lc_err e = ops_step(o, in, "lock", d);
    if (e == LC_OK)
        e = ops_place_credentials(o, in, d);
    if (e == LC_OK)
        e = engine_container_restart(o->engine, in->container_id, o->cfg->stop_timeout, d);
    if (e == LC_OK)
        e = ops_wait_running(o, in, in->op_deadline, &obs, d);
    if (e == LC_OK)
        ops_record_start(o, in, &obs);
    return e;
}

static lc_err steps_after_start(lc_ops *o, lc_instance *in, const lc_create_request *r, lc_diag *d)
{
    lc_observation obs;
    lc_err e = ops_step(o, in, "running", d);
    if (e == LC_OK)
        e = ops_wait_running(o, in, in->op_deadline, &obs, d);
    if (e != LC_OK)
        return e;
    ops_record_start(o, in, &obs);
    if ((e = ops_step(o, in, "database", d)) != LC_OK)
        return e;
    char master[512];
    bool tenant = o->cfg->db_host[0] != '\0';
    e = tenant ? ops_read_master_password(o, in, master, sizeof master, d)
               : read_master_password(o->cfg, master, sizeof master, d);
    lc_odoo_db_request req = {.master_password = master,
                              .database = in->database_name,
                              .login = in->admin_email,
                              .password = r->admin_password};
    if (e == LC_OK && tenant)
        e = ops_role_createdb(o, in, true, d);
    char addr[256];
    int port = ops_odoo_endpoint(o, in, &obs, addr, sizeof addr);
    if (e == LC_OK)
        e = odoo_create_database(addr, port, &req, in->op_deadline, d);
    explicit_bzero(master, sizeof master);
    lc_diag rd;
    if (tenant && ops_role_createdb(o, in, false, &rd) != LC_OK && e == LC_OK)
        e = lc_fail(d, LC_EFAILED, "%s", rd.msg);
    return e == LC_OK && tenant ? lock_down(o, in, d) : e;
}

/*
 * Ends the operation at the one exit point: running on success; a failure
 * is error naming the step (written by an operation: reconcile never lifts
 * it) with the container stopped; an interruption is rolled back there.
 */
static lc_err finish(lc_ops *o, lc_instance *in, lc_err e, lc_diag *d)
{
    if (e == LC_OK) {
        in->status = INSTANCE_RUNNING;
        in->error_message[0] = '\0';
    } else if (e != LC_EINTR) {
        in->status = INSTANCE_ERROR;
        in->error_from_op = true;
        snprintf(in->error_message, sizeof in->error_message, "create failed at step %s: %s",
                 in->op_step, d->msg);
        snprintf(d->msg, sizeof d->msg, "%s", in->error_message);
    }
    act_ctx ctx = {.cause = "action", .detail = "create", .saved = INSTANCE_CREATING};
    e = ops_conclude(o, in, &ctx, e, d);
    return e == LC_OK || e == LC_EINTR || e == LC_ESTORE ? e : LC_EFAILED;
}

/*
 * The child of --no-wait: SQLite and curl handles are not used across fork,
 * so it opens its own, adopts the parent's lease, tells the parent, and
 * runs the remaining steps. Returns the child's exit status.
 */
static int finish_detached(lc_ops *o, lc_instance *in, const lc_create_request *r,
                           const lc_lease_holder *parent, int ready, lc_diag *d)
{
    lc_engine *engine;
    if (store_after_fork(o->store, d) != LC_OK || engine_clone(o->engine, &engine, d) != LC_OK)
        return 1;
    o->engine = engine;
    if (store_lease_adopt(o->store, in->id, parent, o->cfg->lease_seconds, d) != LC_OK)
        return 1;
    if (write(ready, "1", 1) != 1)
        return 1;
    close(ready);
    ops_keepalive k;
    ops_keepalive_start(o, in->id, &k);
    lc_err e = steps_after_start(o, in, r, d);
    e = finish(o, in, e, d);
    ops_keepalive_stop(&k);
    return e == LC_OK ? 0 : 1;
}

/*
 * --no-wait: a detached child finishes the steps after start under the same
 * lease, adopted from this process before this call returns. The child's
 * exit status is nobody's; its outcome is the row.
 */
static lc_err detach_rest(lc_ops *o, lc_instance *in, const lc_create_request *r, lc_diag *d)
{
    int ready[2];
    if (pipe(ready) != 0)
        return lc_fail(d, LC_EFAILED, "pipe: cannot detach");
    lc_lease_holder parent = *store_holder(o->store);
    store_before_fork(o->store);
    pid_t pid = fork();
    if (pid == 0) {
        close(ready[0]);
        setsid();
        signal(SIGHUP, SIG_IGN);
        int null = open("/dev/null", O_RDWR);
        for (int fd = 0; null >= 0 && fd <= 2; fd++)
            dup2(null, fd);
        close_range(3, (unsigned)ready[1] - 1, 0);
        close_range((unsigned)ready[1] + 1, ~0U, 0);
        o->progress = NULL;
        _exit(finish_detached(o, in, r, &parent, ready[1], d));
    }
    close(ready[1]);
    lc_err e = store_after_fork(o->store, d);
    char c;
    bool adopted = pid > 0 && read(ready[0], &c, 1) == 1;
    close(ready[0]);
    if (e != LC_OK)
        return e;
    if (!adopted)
        return lc_fail(d, LC_EFAILED, "detached create did not start");
    return LC_OK;
}

/*
 * A create that failed before any Docker object existed (issue 13: an image
 * that cannot be pulled) leaves an error row holding the name, with no
 * container and no volume: it is retired (terminated, history "create
 * retried") so that the same create runs again. Any other row is left alone.
 * The volume is looked for on the old row's host (ops_engine_for).
 */
static lc_err retire_failed_create(lc_ops *o, const char *name, lc_diag *d)
{
    lc_instance old;
    lc_diag ignore;
    if (store_resolve(o->store, name, &old, &ignore) != LC_OK || strcmp(old.name, name) != 0 ||
        old.status != INSTANCE_ERROR || !old.error_from_op || old.container_id[0] != '\0' ||
        strncmp(old.error_message, "create failed at step ", 22) != 0)
        return LC_OK;
    bool exists = true;
    lc_engine *engine; /* the old row's host, which need not be this create's */
    lc_err e = ops_engine_for(o, &old, &engine, d);
    if (e == LC_OK)
        e = engine_volume_exists(engine, old.volume_name, &exists, d);
    if (e != LC_OK || exists)
        return e;
    if ((e = ops_take_lease(o, old.id, &old, d)) != LC_OK)
        return e;
    if (old.status != INSTANCE_ERROR || old.container_id[0] != '\0') {
        store_lease_release(o->store, old.id, NULL);
        return LC_OK;
    }
    old.status = INSTANCE_TERMINATED;
    snprintf(old.error_message, sizeof old.error_message, "create retried; nothing had been made");
    return store_save(o->store, &old, INSTANCE_ERROR, "action",
                      "create retried: its failed create had made nothing", true, d);
}

lc_err ops_create(lc_ops *o, const lc_create_request *r, lc_instance *out, lc_diag *d)
{
    lc_err e = validate(r, d);
    lc_engine *engine = NULL;
    if (e == LC_OK && (e = ops_engine_for_host(o, r->host, &engine, d)) == LC_OK)
        o->engine = engine;
    if (e == LC_OK)
        e = engine_ping(o->engine, d);
    if (e == LC_OK)
        e = retire_failed_create(o, r->name, d);
    if (e != LC_OK)
        return e;
    new_row(o, r, out);
    e = store_insert(o->store, out, o->cfg->lease_seconds, d);
    if (e != LC_OK)
        return e;
    ops_keepalive k;
    ops_keepalive_start(o, out->id, &k);
    e = steps_until_start(o, out, r->pull_policy != NULL ? r->pull_policy : o->cfg->pull_policy, d);
    if (e == LC_OK && r->no_wait && (e = ops_step(o, out, "running", d)) == LC_OK) {
        ops_keepalive_stop(&k);
        e = detach_rest(o, out, r, d);
        if (e == LC_OK)
            return store_get(o->store, out->id, out, d);
        ops_keepalive_start(o, out->id, &k);
    }
    if (e == LC_OK)
        e = steps_after_start(o, out, r, d);
    if (e != LC_OK && e != LC_EINTR && lc_interrupt_pending())
        e = LC_EINTR;
    e = finish(o, out, e, d);
    ops_keepalive_stop(&k);
    lc_instance now;
    if (store_get(o->store, out->id, &now, NULL) == LC_OK)
        *out = now;
    return e;
}
