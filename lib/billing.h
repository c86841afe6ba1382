/*
 * Billing events (DESIGN §4), the pure part: parsing Stripe's event object
 * or the flat {"id","type","created","instance"} shape, mapping the type to
 * an action, and verifying a Stripe-style signature. No I/O.
 */
#ifndef LC_BILLING_H
#define LC_BILLING_H

#include <stddef.h>
#include <time.h>

#include "lc.h"

#define LC_BILLING_MAX_BODY (1024 * 1024 * 4) /* bytes read from FILE or stdin */
#define LC_BILLING_TOLERANCE_S 300

typedef enum lc_billing_kind {
    BILLING_IGNORE,    /* not a type we act on */
    BILLING_HOLD,      /* payment failed: set the billing hold (suspend) */
    BILLING_RELEASE,   /* paid: clear the billing hold */
    BILLING_TERMINATE, /* subscription cancelled: terminate */
} lc_billing_kind;

typedef struct lc_billing_event {
    char id[256];
    char type[128];
    time_t created;     /* 0 when absent */
    char instance[128]; /* "" when the event names none */
    lc_billing_kind kind;
} lc_billing_event;

/*
 * billing_parse: the raw body (len bytes, need not be NUL-terminated) into
 * *ev. The instance comes from data.object.metadata.instance_id, then
 * data.object.subscription_details.metadata.instance_id, then
 * data.object.parent.subscription_details.metadata.instance_id, then the
 * flat "instance". LC_EINPUT when the body is not a JSON object with a
 * string "id" and a string "type" (d says which).
 */
lc_err billing_parse(const char *body, size_t len, lc_billing_event *ev, lc_diag *d);

/* billing_kind_of: the action for an event type (table of DESIGN §4). */
lc_billing_kind billing_kind_of(const char *type);

/* billing_kind_name: "hold", "release", "terminate", "ignore". */
const char *billing_kind_name(lc_billing_kind k);

/*
 * billing_verify: checks a Stripe-Signature header "t=T,v1=HEX[,v1=HEX...]"
 * against HMAC-SHA256(secret, "T." + body) with a constant-time compare
 * against every v1; |now - T| must be within tolerance_s seconds.
 * LC_EINPUT with the reason (missing header, malformed, expired, no match).
 */
lc_err billing_verify(const char *header, const char *body, size_t len, const unsigned char *secret,
                      size_t secret_len, time_t now, long tolerance_s, lc_diag *d);

/* billing_sign: the lowercase hex HMAC-SHA256 of "t." + body into hex (65 bytes); for tests and
 * tools. */
void billing_sign(const unsigned char *secret, size_t secret_len, time_t t, const char *body,
                  size_t len, char hex[65]);

#endif
