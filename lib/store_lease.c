/*
 * Leases (DESIGN §5): the identity of the holding process, whether it still
 * lives, and taking a lease in a short transaction.
 */
#include "lctime.h"
#include "store_internal.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/*
 * The process's start time (clock ticks after boot, /proc/PID/stat field 22)
 * and state (field 3); 0 when it is gone. A zombie ('Z') or a dead task
 * ('X') counts as gone: it will never release its lease.
 */
static unsigned long long proc_start_time(long pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* comm may hold spaces and parentheses: fields resume after the last ')' */
    char *p = strrchr(buf, ')');
    unsigned long long start = 0;
    char state = '?';
    if (p != NULL)
        sscanf(p + 2,
               "%c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d "
               "%*d %llu",
               &state, &start);
    return state == 'Z' || state == 'X' || state == 'x' ? 0 : start;
}

static void read_boot_id(char *out, size_t len)
{
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
    out[0] = '\0';
    if (f == NULL)
        return;
    if (fgets(out, (int)len, f) != NULL)
        out[strcspn(out, "\n")] = '\0';
    fclose(f);
}

void lc_lease_self(lc_lease_holder *h)
{
    memset(h, 0, sizeof *h);
    if (gethostname(h->host, sizeof h->host - 1) != 0)
        snprintf(h->host, sizeof h->host, "localhost");
    h->pid = (long)getpid();
    h->start = proc_start_time(h->pid);
    read_boot_id(h->boot, sizeof h->boot);
}

bool lc_lease_holder_alive(const lc_lease_holder *h)
{
    lc_lease_holder me;
    lc_lease_self(&me);
    if (h->pid <= 0)
        return false;
    if (strcmp(h->host, me.host) != 0)
        return true;
    if (strcmp(h->boot, me.boot) != 0)
        return false;
    if (kill((pid_t)h->pid, 0) != 0 && errno == ESRCH)
        return false;
    return proc_start_time(h->pid) == h->start;
}

bool lc_lease_live(const lc_instance *in, time_t now)
{
    return in->lease.pid > 0 && in->lease_deadline > now && lc_lease_holder_alive(&in->lease);
}

static lc_err busy(const lc_instance *in, lc_diag *d)
{
    char until[32];
    lc_format_time(in->lease_deadline, until, sizeof until);
    return lc_fail(d, LC_EBUSY,
                   "instance %s is busy: pid %ld on %s holds its lease until %s "
                   "(retry, or use --wait)",
                   in->name, in->lease.pid, in->lease.host, until);
}

static lc_err set_lease(lc_store *s, const char *id, int seconds, lc_diag *d)
{
    sqlite3_stmt *st = stmt(s, STMT_LEASE_SET, d);
    if (st == NULL)
        return LC_ESTORE;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, s->self.host, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, s->self.pid);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)s->self.start);
    sqlite3_bind_text(st, 5, s->self.boot, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 6, (sqlite3_int64)(time(NULL) + seconds));
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? LC_OK : STORE_ERR(s, d, "take lease");
}

const lc_lease_holder *store_holder(const lc_store *s)
{
    return &s->self;
}

lc_err store_lease_adopt(lc_store *s, const char *id, const lc_lease_holder *from, int seconds,
                         lc_diag *d)
{
    sqlite3_stmt *st = stmt(s, STMT_LEASE_ADOPT, d);
    if (st == NULL)
        return LC_ESTORE;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, s->self.host, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, s->self.pid);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)s->self.start);
    sqlite3_bind_text(st, 5, s->self.boot, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 6, (sqlite3_int64)(time(NULL) + seconds));
    sqlite3_bind_int64(st, 7, from->pid);
    sqlite3_bind_int64(st, 8, (sqlite3_int64)from->start);
    sqlite3_bind_text(st, 9, from->boot, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return STORE_ERR(s, d, "adopt lease");
    return sqlite3_changes(s->db) == 1 ? LC_OK
                                       : lc_fail(d, LC_EBUSY, "lease lost before hand-over");
}

static bool held_by_me(const lc_store *s, const lc_instance *in)
{
    return in->lease.pid == s->self.pid && in->lease.start == s->self.start &&
           strcmp(in->lease.boot, s->self.boot) == 0;
}

lc_err store_lease_take(lc_store *s, const char *id, int lease_seconds, lc_instance *fresh,
                        lc_diag *d)
{
    lc_err e = store_begin(s, d);
    if (e != LC_OK)
        return e;
    e = store_get(s, id, fresh, d);
    if (e == LC_OK && lc_lease_live(fresh, time(NULL)) && !held_by_me(s, fresh))
        e = busy(fresh, d);
    if (e == LC_OK)
        e = set_lease(s, id, lease_seconds, d);
    if (e == LC_OK)
        e = store_get(s, id, fresh, d);
    if (e == LC_OK)
        return store_commit(s, d);
    store_rollback(s);
    return e;
}

void bind_holder(sqlite3_stmt *st, int first, const lc_lease_holder *h)
{
    sqlite3_bind_int64(st, first, h->pid);
    sqlite3_bind_int64(st, first + 1, (sqlite3_int64)h->start);
    sqlite3_bind_text(st, first + 2, h->boot, -1, SQLITE_TRANSIENT);
}

lc_err lease_clear(lc_store *s, const char *id, const lc_lease_holder *h, lc_diag *d)
{
    sqlite3_stmt *st = stmt(s, STMT_LEASE_CLEAR, d);
    if (st == NULL)
        return LC_ESTORE;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    bind_holder(st, 2, h);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? LC_OK : STORE_ERR(s, d, "release lease");
}

lc_err store_lease_release(lc_store *s, const char *id, lc_diag *d)
{
    return lease_clear(s, id, &s->self, d);
}

lc_err store_lease_break(lc_store *s, const char *id, const lc_lease_holder *dead, lc_diag *d)
{
    return lease_clear(s, id, dead, d);
}

lc_err store_lease_extend(lc_store *s, const char *id, int seconds, lc_diag *d)
{
    sqlite3_stmt *st = stmt(s, STMT_LEASE_EXTEND, d);
    if (st == NULL)
        return LC_ESTORE;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)(time(NULL) + seconds));
    sqlite3_bind_int64(st, 3, s->self.pid);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)s->self.start);
    sqlite3_bind_text(st, 5, s->self.boot, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return STORE_ERR(s, d, "extend lease");
    return sqlite3_changes(s->db) == 1 ? LC_OK : lc_fail(d, LC_EBUSY, "lease lost");
}
