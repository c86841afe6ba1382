/*
 * The operation journal (DESIGN §2): its encoding round trip, and the
 * resume-or-roll-back decision as a pure function of (operation, step, what
 * Docker shows), one row per case.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "journal.h"

#define OLD "old0000000000000000000000000000000000000000000000000000000000000"
#define NEW "new0000000000000000000000000000000000000000000000000000000000000"
#define NAME "odoo_acme_12345678"
#define ASIDE "odoo_acme_12345678_pre_update"

typedef struct journal_case {
    const char *what;
    lc_action_id kind;
    int from;
    const char *step;
    bool switched;
    const char *row_container; /* the row's container_id */
    /* what Docker shows: up to two containers (id, name, state) */
    const char *c1, *n1;
    lc_container_state s1;
    const char *c2, *n2;
    lc_container_state s2;
    bool interrupted;
    /* expected */
    InstanceStatus status;
    const char *keep;
    bool rename, start, stop, finished;
    const char *removed; /* the one container removed, or NULL */
    const char *message; /* substring of error_message when set */
} journal_case;

/* clang-format off */
static const journal_case cases[] = {
    {"create died before its container existed", ACT_CREATE, INSTANCE_CREATING, "volume", false, "",
     NULL, NULL, 0, NULL, NULL, 0, false,
     INSTANCE_ERROR, "", false, false, false, false, NULL, "create interrupted (its process died) at step volume"},
    {"create died after its container was made, id not yet recorded", ACT_CREATE, INSTANCE_CREATING,
     "container", false, "", NEW, NAME, CONTAINER_CREATED, NULL, NULL, 0, false,
     INSTANCE_ERROR, NEW, false, false, true, false, NULL, "at step container"},
    {"create interrupted while waiting for Odoo", ACT_CREATE, INSTANCE_CREATING, "database", false,
     NEW, NEW, NAME, CONTAINER_RUNNING, NULL, NULL, 0, true,
     INSTANCE_ERROR, NEW, false, false, true, false, NULL, "create interrupted at step database"},
    {"update before the switch: new removed, old renamed back and started", ACT_UPDATE,
     INSTANCE_RUNNING, "running", false, OLD, OLD, ASIDE, CONTAINER_EXITED, NEW, NAME,
     CONTAINER_RUNNING, false,
     INSTANCE_RUNNING, OLD, true, true, false, false, NEW, "rolled back"},
    {"update of a stopped instance before the switch", ACT_UPDATE, INSTANCE_STOPPED, "start", false,
     OLD, OLD, ASIDE, CONTAINER_EXITED, NEW, NAME, CONTAINER_CREATED, false,
     INSTANCE_STOPPED, OLD, true, false, false, false, NEW, "rolled back"},
    {"update after the switch: finished, old removed", ACT_UPDATE, INSTANCE_RUNNING, "switch", true,
     NEW, OLD, ASIDE, CONTAINER_EXITED, NEW, NAME, CONTAINER_RUNNING, false,
     INSTANCE_RUNNING, NEW, false, false, false, true, OLD, NULL},
    {"update killed before anything moved", ACT_UPDATE, INSTANCE_RUNNING, "backup", false, OLD, OLD,
     NAME, CONTAINER_RUNNING, NULL, NULL, 0, false,
     INSTANCE_RUNNING, OLD, false, false, false, false, NULL, "rolled back"},
    {"restore before the switch keeps the old container", ACT_RESTORE, INSTANCE_STOPPED, "container",
     false, OLD, OLD, "odoo_acme_12345678_pre_restore", CONTAINER_EXITED, NEW, NAME,
     CONTAINER_CREATED, false,
     INSTANCE_STOPPED, OLD, true, false, false, false, NEW, NULL},
    {"restore after the switch ends stopped on the new one", ACT_RESTORE, INSTANCE_ERROR, "switch",
     true, NEW, OLD, "odoo_acme_12345678_pre_restore", CONTAINER_EXITED, NEW, NAME, CONTAINER_CREATED,
     false,
     INSTANCE_STOPPED, NEW, false, false, false, true, OLD, NULL},
    {"backup interrupted keeps the status", ACT_BACKUP, INSTANCE_RUNNING, "backup", false, OLD, OLD,
     NAME, CONTAINER_RUNNING, NULL, NULL, 0, true,
     INSTANCE_RUNNING, OLD, false, false, false, false, NULL, NULL},
    {"start killed after recreating: the new container is adopted", ACT_START, INSTANCE_ERROR,
     "container", false, OLD, NEW, NAME, CONTAINER_CREATED, NULL, NULL, 0, false,
     INSTANCE_ERROR, NEW, false, false, false, false, NULL, NULL},
    {"terminate is continued, no container kept", ACT_TERMINATE, INSTANCE_RUNNING, "remove", false,
     OLD, OLD, NAME, CONTAINER_RUNNING, NULL, NULL, 0, false,
     INSTANCE_TERMINATED, "", false, false, false, true, OLD, NULL},
    {"clone's new instance interrupted at neutralize: its helper removed, error like create",
     ACT_CLONE, INSTANCE_CREATING, "neutralize", false, NEW, NEW, NAME, CONTAINER_CREATED, OLD,
     "odoo_acme_12345678_neutralize", CONTAINER_RUNNING, true,
     INSTANCE_ERROR, NEW, false, false, true, false, OLD, "clone interrupted at step neutralize"},
    {"clone's source died while the new instance was made: status kept", ACT_CLONE,
     INSTANCE_RUNNING, "begin", false, OLD, OLD, NAME, CONTAINER_RUNNING, NULL, NULL, 0, false,
     INSTANCE_RUNNING, OLD, false, false, false, false, NULL, NULL},
    {"an extra container of the instance is removed", ACT_STOP, INSTANCE_RUNNING, "stop", false, OLD,
     OLD, NAME, CONTAINER_EXITED, NEW, "odoo_acme_12345678_x", CONTAINER_RUNNING, false,
     INSTANCE_RUNNING, OLD, false, false, false, false, NEW, NULL},
};
/* clang-format on */

START_TEST(test_recovery_decide)
{
    const journal_case *c = &cases[_i];
    lc_op_journal j = {.kind = c->kind, .from = c->from, .switched = c->switched};
    lc_recovery_container cs[2];
    size_t n = 0;
    if (c->c1 != NULL)
        cs[n++] = (lc_recovery_container){.state = c->s1};
    if (c->c1 != NULL) {
        snprintf(cs[0].id, sizeof cs[0].id, "%s", c->c1);
        snprintf(cs[0].name, sizeof cs[0].name, "%s", c->n1);
    }
    if (c->c2 != NULL) {
        cs[n] = (lc_recovery_container){.state = c->s2};
        snprintf(cs[n].id, sizeof cs[n].id, "%s", c->c2);
        snprintf(cs[n].name, sizeof cs[n].name, "%s", c->n2);
        n++;
    }
    InstanceStatus now = c->kind == ACT_UPDATE      ? INSTANCE_UPDATING
                         : c->kind == ACT_TERMINATE ? INSTANCE_TERMINATED
                                                    : (InstanceStatus)c->from;
    lc_recovery_in in = {.op = &j,
                         .step = c->step,
                         .status = now,
                         .container_id = c->row_container,
                         .container_name = NAME,
                         .volume_name = "odoo_acme_12345678_g1",
                         .containers = cs,
                         .n_containers = n,
                         .interrupted = c->interrupted,
                         .why = ""};
    lc_recovery_plan p;
    lc_recovery_decide(&in, &p);
    ck_assert_msg(p.status == c->status, "%s: status %s, expected %s", c->what,
                  instance_status_name(p.status), instance_status_name(c->status));
    ck_assert_msg(strcmp(p.keep, c->keep) == 0, "%s: keeps '%s', expected '%s'", c->what, p.keep,
                  c->keep);
    ck_assert_msg(p.rename_keep == c->rename, "%s: rename %d", c->what, p.rename_keep);
    ck_assert_msg(p.start_keep == c->start, "%s: start %d", c->what, p.start_keep);
    ck_assert_msg(p.stop_keep == c->stop, "%s: stop %d", c->what, p.stop_keep);
    ck_assert_msg(p.finished == c->finished, "%s: finished %d", c->what, p.finished);
    if (c->removed == NULL)
        ck_assert_msg(p.n_remove == 0, "%s: removes %zu", c->what, p.n_remove);
    else
        ck_assert_msg(p.n_remove == 1 && strcmp(p.remove[0], c->removed) == 0, "%s: removes %zu",
                      c->what, p.n_remove);
    if (c->message != NULL)
        ck_assert_msg(p.set_message && strstr(p.error_message, c->message) != NULL,
                      "%s: message '%s'", c->what, p.error_message);
    ck_assert_msg(p.error_from_op == lc_journal_makes_row(&j), "%s: error_from_op", c->what);
}
END_TEST

START_TEST(test_volume_kept_or_removed)
{
    lc_op_journal j = {.kind = ACT_RESTORE, .from = INSTANCE_STOPPED};
    snprintf(j.new_volume, sizeof j.new_volume, "v_g2");
    snprintf(j.old_volume, sizeof j.old_volume, "v_g1");
    lc_recovery_in in = {.op = &j,
                         .step = "database",
                         .status = INSTANCE_STOPPED,
                         .container_id = "",
                         .container_name = NAME,
                         .volume_name = "v_g1"};
    lc_recovery_plan p;
    lc_recovery_decide(&in, &p);
    ck_assert_str_eq(p.remove_volume, "v_g2"); /* not switched: the new one goes */
    j.switched = true;
    in.volume_name = "v_g2";
    lc_recovery_decide(&in, &p);
    ck_assert_str_eq(p.remove_volume, "v_g1"); /* switched: the old one goes */
}
END_TEST

/* A move (issue 11): which host's copy goes, and what happens to the one kept. */
typedef struct move_case {
    const char *what;
    int from;
    const char *step;
    bool switched;
    const char
        *row_container; /* on the row's host: the source before the switch, the target after */
    lc_container_state state; /* what the row's host shows of it */
    const char *old_host, *new_host;
    /* expected */
    bool finished, start;
    const char *other_host, *other_volume;
} move_case;

/* clang-format off */
static const move_case move_cases[] = {
    {"killed at stop: the source is kept and started again", INSTANCE_RUNNING, "stop", false, OLD,
     CONTAINER_EXITED, "local", "web2", false, true, "web2", "v_g2"},
    {"killed while filling the new volume of a stopped instance", INSTANCE_STOPPED, "volume", false,
     OLD, CONTAINER_EXITED, "local", "web2", false, false, "web2", "v_g2"},
    {"killed waiting for the target to run: the target's copy goes", INSTANCE_RUNNING, "running",
     false, OLD, CONTAINER_EXITED, "web2", "local", false, true, "local", "v_g2"},
    {"killed right after the switch: the source's copy goes", INSTANCE_RUNNING, "switch", true, NEW,
     CONTAINER_RUNNING, "local", "web2", true, false, "local", "v_g1"},
    {"killed while removing the old copy of a stopped instance", INSTANCE_STOPPED, "remove", true,
     NEW, CONTAINER_CREATED, "web2", "local", true, false, "web2", "v_g1"},
    {"killed at begin, before the hosts were recorded", INSTANCE_RUNNING, "begin", false, OLD,
     CONTAINER_RUNNING, "", "", false, false, "", ""},
};
/* clang-format on */

START_TEST(test_move_recovery)
{
    const move_case *c = &move_cases[_i];
    lc_op_journal j = {.kind = ACT_MOVE, .from = c->from, .switched = c->switched};
    snprintf(j.old_host, sizeof j.old_host, "%s", c->old_host);
    snprintf(j.new_host, sizeof j.new_host, "%s", c->new_host);
    snprintf(j.old_volume, sizeof j.old_volume, "%s", c->old_host[0] ? "v_g1" : "");
    snprintf(j.new_volume, sizeof j.new_volume, "%s", c->old_host[0] ? "v_g2" : "");
    lc_recovery_container k = {.state = c->state};
    snprintf(k.id, sizeof k.id, "%s", c->row_container);
    snprintf(k.name, sizeof k.name, "%s", NAME);
    lc_recovery_in in = {.op = &j,
                         .step = c->step,
                         .status = (InstanceStatus)c->from,
                         .container_id = c->row_container,
                         .container_name = NAME,
                         .volume_name = c->switched ? "v_g2" : "v_g1",
                         .containers = &k,
                         .n_containers = 1,
                         .why = ""};
    lc_recovery_plan p;
    lc_recovery_decide(&in, &p);
    ck_assert_msg(p.status == (InstanceStatus)c->from, "%s: status %s", c->what,
                  instance_status_name(p.status));
    ck_assert_msg(strcmp(p.keep, c->row_container) == 0, "%s: keeps '%s'", c->what, p.keep);
    ck_assert_msg(p.n_remove == 0, "%s: removes %zu on the row's host", c->what, p.n_remove);
    ck_assert_msg(p.remove_volume[0] == '\0', "%s: removes volume %s on the row's host", c->what,
                  p.remove_volume);
    ck_assert_msg(p.finished == c->finished, "%s: finished %d", c->what, p.finished);
    ck_assert_msg(p.start_keep == c->start, "%s: start %d", c->what, p.start_keep);
    ck_assert_msg(!p.stop_keep, "%s: stop", c->what);
    ck_assert_msg(strcmp(p.other_host, c->other_host) == 0, "%s: other host '%s'", c->what,
                  p.other_host);
    ck_assert_msg(strcmp(p.other_volume, c->other_volume) == 0, "%s: other volume '%s'", c->what,
                  p.other_volume);
}
END_TEST

START_TEST(test_journal_round_trip)
{
    lc_op_journal j = {.kind = ACT_UPDATE, .from = INSTANCE_RUNNING, .switched = true};
    snprintf(j.old_container, sizeof j.old_container, "%s", OLD);
    snprintf(j.aside_name, sizeof j.aside_name, "%s", ASIDE);
    snprintf(j.backup_path, sizeof j.backup_path, "/var/backups/x \"quoted\".tar");
    snprintf(j.old_host, sizeof j.old_host, "local");
    snprintf(j.new_host, sizeof j.new_host, "web2");
    char buf[2048];
    ck_assert(lc_journal_encode(&j, buf, sizeof buf));
    lc_op_journal back = {.kind = ACT_UPDATE, .from = INSTANCE_RUNNING};
    ck_assert(lc_journal_decode(buf, &back));
    ck_assert(memcmp(&j, &back, sizeof j) == 0);
    ck_assert(!lc_journal_decode("{not json", &back));
    ck_assert(lc_journal_decode(NULL, &back));
    ck_assert_str_eq(back.old_container, "");
    char tiny[8];
    ck_assert(!lc_journal_encode(&j, tiny, sizeof tiny));
}
END_TEST

Suite *suite_journal(void)
{
    Suite *s = suite_create("journal");
    TCase *t = tcase_create("recovery");
    tcase_add_loop_test(t, test_recovery_decide, 0, (int)(sizeof cases / sizeof cases[0]));
    tcase_add_test(t, test_volume_kept_or_removed);
    tcase_add_loop_test(t, test_move_recovery, 0, (int)(sizeof move_cases / sizeof move_cases[0]));
    tcase_add_test(t, test_journal_round_trip);
    suite_add_tcase(s, t);
    return s;
}
