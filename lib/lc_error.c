/* Error codes of liblifecycle: messages, exit statuses, the diag helpers and sizes in them. */
#include "lc.h"

#include <stdio.h>
#include <string.h>

const char *lc_strerror(lc_err e)
{
    switch (e) {
    case LC_OK:
        return "success";
    case LC_EFAILED:
        return "operation failed";
    case LC_EPARTIAL:
        return "partially failed";
    case LC_EUSAGE:
        return "invalid usage";
    case LC_ENOTALLOWED:
        return "action not allowed in the current status";
    case LC_ENOTFOUND:
        return "not found";
    case LC_EBUSY:
        return "busy, retry later";
    case LC_EENGINE:
        return "Docker engine unreachable";
    case LC_EDOCKER:
        return "Docker engine refused the request";
    case LC_EINPUT:
        return "bad input";
    case LC_ESTORE:
        return "database error";
    case LC_ECONFIG:
        return "configuration error";
    case LC_ENOMEM:
        return "out of memory";
    case LC_EINTR:
        return "interrupted";
    }
    return "unknown error";
}

int lc_exit_code(lc_err e)
{
    switch (e) {
    case LC_OK:
        return 0;
    case LC_EFAILED:
    case LC_EPARTIAL:
    case LC_EDOCKER:
    case LC_ENOMEM:
        return 1;
    case LC_EUSAGE:
        return 2;
    case LC_ENOTALLOWED:
        return 3;
    case LC_ENOTFOUND:
        return 4;
    case LC_EBUSY:
        return 5;
    case LC_EENGINE:
        return 6;
    case LC_EINPUT:
        return 7;
    case LC_ESTORE:
    case LC_ECONFIG:
        return 8;
    case LC_EINTR:
        return 128 + (lc_interrupted > 0 ? (int)lc_interrupted : SIGINT);
    }
    return 1;
}

lc_err lc_fail(lc_diag *d, lc_err code, const char *fmt, ...)
{
    if (d != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(d->msg, sizeof d->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

lc_err lc_prefix(lc_diag *d, lc_err code, const char *fmt, ...)
{
    if (d == NULL)
        return code;
    char head[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    size_t hl = strlen(head) + 2, ml = strlen(d->msg);
    if (hl >= sizeof d->msg)
        hl = sizeof d->msg - 1;
    if (ml > sizeof d->msg - 1 - hl)
        ml = sizeof d->msg - 1 - hl;
    memmove(d->msg + hl, d->msg, ml);
    d->msg[hl + ml] = '\0';
    memcpy(d->msg, head, hl - 2);
    d->msg[hl - 2] = ':';
    d->msg[hl - 1] = ' ';
    return code;
}

volatile sig_atomic_t lc_interrupted = 0;

static void on_interrupt(int sig)
{
    lc_interrupted = sig;
}

void lc_interrupt_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    /* no SA_RESTART: a blocking read or waitpid returns EINTR and the caller checks */
    int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaction(sigs[i], &sa, NULL);
}

bool lc_interrupt_pending(void)
{
    return lc_interrupted != 0;
}

void lc_interrupt_clear(void)
{
    lc_interrupted = 0;
}

void lc_format_size(long long bytes, char *buf, size_t len)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = (double)bytes;
    int u = 0;
    while ((v >= 1024 || v <= -1024) && u < 5) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, len, "%lld B", bytes);
    else
        snprintf(buf, len, "%.1f %s", v, units[u]);
}
