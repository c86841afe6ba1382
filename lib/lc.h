/*
 * liblifecycle: error codes and the diagnostic buffer every library call
 * fills. The library never prints or exits; it returns an lc_err and leaves
 * the detail (SQLite's message, curl's error, Docker's {"message"}) in an
 * lc_diag owned by the caller.
 */
#ifndef LC_H
#define LC_H

#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

typedef enum lc_err {
    LC_OK = 0,
    LC_EFAILED,     /* an operation failed; status recorded as it ended (exit 1) */
    LC_EPARTIAL,    /* some items failed, the rest went on (exit 1) */
    LC_EUSAGE,      /* bad arguments or invalid names (exit 2) */
    LC_ENOTALLOWED, /* action not allowed in the current status (exit 3) */
    LC_ENOTFOUND,   /* instance, container, volume or image not found (exit 4) */
    LC_EBUSY,       /* another holder has the lease, or an operation is in flight (exit 5) */
    LC_EENGINE,     /* Docker engine unreachable, refusing, or a cut-off answer (exit 6) */
    LC_EDOCKER,     /* the engine answered with an error status for one request (exit 1) */
    LC_EINPUT,      /* bad input: event, JSON, signature, corrupt backup (exit 7) */
    LC_ESTORE,      /* SQLite error or unusable database (exit 8) */
    LC_ECONFIG,     /* configuration error (exit 8) */
    LC_ENOMEM,      /* out of memory (exit 1) */
    LC_EINTR,       /* stopped by SIGINT, SIGTERM or SIGHUP at a safe point (exit 128+signal) */
} lc_err;

/* Detail of the last error; callers own it, usually on the stack. */
typedef struct lc_diag {
    char msg[1024];
} lc_diag;

/*
 * lc_strerror: a fixed English phrase for an error code. Never NULL; the
 * string is static. The switch has no default so a new code without a
 * message is a compile error.
 */
const char *lc_strerror(lc_err e);

/* lc_exit_code: the process exit status DESIGN §7 gives for an error code. */
int lc_exit_code(lc_err e);

/*
 * lc_fail: formats the detail into d (when d is not NULL) and returns code,
 * so a failing path is `return lc_fail(d, LC_EUSAGE, "...", ...);`.
 */
lc_err lc_fail(lc_diag *d, lc_err code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * lc_format_size: bytes in the one format instctl shows people, into buf:
 * "512 B", "1.2 KiB", "3.4 MiB", "5.0 GiB", "1.1 TiB" (powers of 1024, one
 * decimal). Machine output (--json) carries the plain number of bytes.
 */
void lc_format_size(long long bytes, char *buf, size_t len);

/* lc_prefix: prepends "what: " to the detail already in d; returns code. */
lc_err lc_prefix(lc_diag *d, lc_err code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Interruptions (DESIGN §2): SIGINT, SIGTERM and SIGHUP stop an action at
 * its next safe point. lc_interrupt_install sets handlers that only record
 * the signal in lc_interrupted (0 = none); every long wait in the library
 * (engine transfers, child processes, polls) checks lc_interrupt_pending()
 * and returns LC_EINTR, after which the operation is rolled back like one
 * whose holder died. Child processes run in their own process group and are
 * killed as a group.
 */
extern volatile sig_atomic_t lc_interrupted;
void lc_interrupt_install(void);
/* lc_interrupt_pending: true once one of the three signals arrived. */
bool lc_interrupt_pending(void);
/* lc_interrupt_clear: forgets a recorded signal (tests, and after a rollback). */
void lc_interrupt_clear(void);

#endif
