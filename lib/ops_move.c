/*
 * move (issue 11): an instance goes to another Docker host with its data.
 * The image is made present on the target first (no downtime yet); then the
 * source container is stopped, a backup of the volume is streamed through
 * the source engine's archive API to the control machine, restored into a
 * NEW volume on the target through the target's archive API, a container is
 * made there (and started when the instance ran), the row is switched
 * (host, container, volume: the "switch" step), and only then the old
 * container and volume are removed on the source. Every step is journaled
 * (old_host, new_host, new_volume, old_volume) before it runs, so a crash
 * anywhere leaves exactly one live copy once lc_recovery_decide's plan is
 * carried out: before the switch the target's copy goes, after it the
 * source's. The database stays where it is (the configured PostgreSQL
 * server serves every host).
 */
#include "hosts.h"
#include "ops_internal.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

lc_err ops_move_check(lc_ops *o, const lc_instance *in, const lc_action_options *opt,
                      lc_action_result *res, lc_diag *d)
{
    const char *to = opt != NULL ? opt->to : NULL;
    if (to == NULL || to[0] == '\0')
        return lc_fail(d, LC_EUSAGE, "move %s: --to HOST is required", in->name);
    if (strcmp(to, in->host[0] ? in->host : LC_HOST_LOCAL) == 0) {
        res->already = true;
        snprintf(res->note, sizeof res->note, "already on host %s", to);
        return LC_OK;
    }
    return lc_host_can_take(o->store, to, d);
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The image on the target, pulled there under the configured pull policy when missing. */
static lc_err image_on(lc_engine *dst, const lc_ops *o, const lc_instance *in, lc_diag *d)
{
    bool present = false;
    lc_err e = engine_image_exists(dst, in->image, &present, d);
    if (e != LC_OK || present)
        return e;
    if (strcmp(o->cfg->pull_policy, "never") == 0)
        return lc_fail(d, LC_EFAILED,
                       "image %s is not present on the target and the pull policy "
                       "is never",
                       in->image);
    return engine_image_pull(dst, in->image, d);
}

/* What the move carries between its steps. */
typedef struct move_state {
    lc_engine *src, *dst;
    bool running;          /* the instance ran when the move began */
    double down_at, up_at; /* monotonic seconds: source stopped, target running */
    lc_instance next;      /* the copy on the target (not the row until the switch) */
    lc_observation obs;    /* the target container once running */
} move_state;

/* The steps before the switch: stop, backup, volume, container, start, running. */
static lc_err copy_over(lc_ops *o, lc_instance *in, move_state *m, lc_diag *d)
{
    lc_backup_row row;
    lc_backup_target t;
    lc_err e = ops_step(o, in, "stop", d);
    m->down_at = now_s();
    if (e == LC_OK && m->running && in->container_id[0] != '\0')
        e = engine_container_stop(m->src, in->container_id, o->cfg->stop_timeout, d);
    if (e == LC_ENOTFOUND)
        e = LC_OK;
    if (e == LC_OK && (e = ops_step(o, in, "backup", d)) == LC_OK)
        e = ops_backup_now(o, in, "manual", &row, d);
    if (e == LC_OK)
        e = ops_fresh_volume(m->dst, in, in->op.new_volume, sizeof in->op.new_volume, d);
    if (e == LC_OK && (e = ops_step(o, in, "volume", d)) == LC_OK)
        e = engine_volume_create(m->dst, in->op.new_volume, store_uuid(o->store), in->id, d);
    ops_target(o, in, &t);
    if (e == LC_OK)
        e = backup_restore_volume(m->dst, row.path, &t, in->op.new_volume, o->transfer,
                                  o->transfer_arg, d);
    m->next = *in;
    snprintf(m->next.host, sizeof m->next.host, "%s", in->op.new_host);
    snprintf(m->next.volume_name, sizeof m->next.volume_name, "%s", in->op.new_volume);
    m->next.container_id[0] = '\0';
    o->engine = m->dst;
    if (e == LC_OK && (e = ops_step(o, in, "container", d)) == LC_OK)
        e = ops_make_container(o, &m->next, d);
    if (e == LC_OK && m->running && (e = ops_step(o, in, "start", d)) == LC_OK)
        e = engine_container_start(m->dst, m->next.container_id, d);
    if (e == LC_OK && m->running && (e = ops_step(o, in, "running", d)) == LC_OK)
        e = ops_wait_running(o, &m->next, time(NULL) + o->cfg->create_timeout, &m->obs, d);
    o->engine = m->src;
    m->up_at = now_s();
    return e;
}

/* The switch (recorded), then the source's copy removed. */
static lc_err switch_over(lc_ops *o, lc_instance *in, move_state *m, lc_diag *d)
{
    lc_instance before = *in;
    snprintf(in->host, sizeof in->host, "%s", in->op.new_host);
    snprintf(in->container_id, sizeof in->container_id, "%s", m->next.container_id);
    snprintf(in->volume_name, sizeof in->volume_name, "%s", in->op.new_volume);
    in->odoo_port = 0;
    in->op.switched = true;
    lc_err e = ops_step(o, in, "switch", d);
    if (e != LC_OK) { /* not recorded: the row still points at the source */
        *in = before;
        return e;
    }
    o->engine = m->dst; /* the row's host from here on (ops_conclude cleans up there) */
    if (m->running)
        ops_record_start(o, in, &m->obs);
    if ((e = ops_step(o, in, "remove", d)) != LC_OK)
        return e;
    if (in->op.old_container[0] != '\0')
        e = engine_container_remove(m->src, in->op.old_container, true, d);
    if (e == LC_ENOTFOUND)
        e = LC_OK;
    if (e == LC_OK)
        e = engine_volume_remove(m->src, in->op.old_volume, d);
    return e == LC_OK ? LC_OK
                      : lc_prefix(d, LC_EFAILED,
                                  "moved, but the old copy on host %s stays until "
                                  "the next command or reconcile pass",
                                  in->op.old_host);
}

ACTION_HANDLER(ops_act_move)
{
    move_state m = {.src = o->engine, .running = in->status == INSTANCE_RUNNING};
    const char *to = ctx->opt != NULL ? ctx->opt->to : NULL;
    lc_err e = to != NULL ? ops_engine_for_host(o, to, &m.dst, d)
                          : lc_fail(d, LC_EUSAGE, "move: --to HOST is required");
    if (e == LC_OK)
        e = engine_ping(m.dst, d);
    if (e == LC_OK)
        e = image_on(m.dst, o, in, d);
    if (e != LC_OK) /* nothing changed yet */
        return lc_prefix(d, e == LC_EENGINE ? e : LC_EFAILED, "host %s", to ? to : "");
    snprintf(in->op.old_host, sizeof in->op.old_host, "%s", in->host[0] ? in->host : LC_HOST_LOCAL);
    snprintf(in->op.new_host, sizeof in->op.new_host, "%s", to);
    snprintf(in->op.old_container, sizeof in->op.old_container, "%s", in->container_id);
    snprintf(in->op.old_volume, sizeof in->op.old_volume, "%s", in->volume_name);
    e = copy_over(o, in, &m, d);
    if (e == LC_OK)
        e = switch_over(o, in, &m, d);
    if (e == LC_EENGINE) /* a host went away mid-move: the cleanup still runs */
        e = LC_EFAILED;
    if (e == LC_OK)
        snprintf(res->note, sizeof res->note, "moved from host %s to host %s; downtime %.1f s",
                 in->op.old_host, in->op.new_host, m.up_at - m.down_at);
    return e;
}
