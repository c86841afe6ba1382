/* Billing events: parsing both shapes, the type table, Stripe-style signatures. */
#include "billing.h"

#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <stdbool.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *type;
    lc_billing_kind kind;
} kinds[] = {
    {"invoice.payment_failed", BILLING_HOLD},
    {"payment_failed", BILLING_HOLD},
    {"invoice.paid", BILLING_RELEASE},
    {"invoice.payment_succeeded", BILLING_RELEASE},
    {"payment_succeeded", BILLING_RELEASE},
    {"customer.subscription.deleted", BILLING_TERMINATE},
    {"subscription_cancelled", BILLING_TERMINATE},
};

lc_billing_kind billing_kind_of(const char *type)
{
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        if (strcmp(kinds[i].type, type) == 0)
            return kinds[i].kind;
    }
    return BILLING_IGNORE;
}

const char *billing_kind_name(lc_billing_kind k)
{
    switch (k) {
    case BILLING_IGNORE:
        return "ignore";
    case BILLING_HOLD:
        return "hold";
    case BILLING_RELEASE:
        return "release";
    case BILLING_TERMINATE:
        return "terminate";
    }
    return "ignore";
}

/* The string at a dotted path of object keys, or NULL. */
static const char *string_at(const cJSON *root, const char *const *path)
{
    const cJSON *node = root;
    for (; *path != NULL && node != NULL; path++)
        node = cJSON_GetObjectItemCaseSensitive(node, *path);
    return cJSON_IsString(node) && node->valuestring[0] != '\0' ? node->valuestring : NULL;
}

static const char *instance_of(const cJSON *root)
{
    static const char *const paths[][7] = {
        {"data", "object", "metadata", "instance_id", NULL},
        {"data", "object", "subscription_details", "metadata", "instance_id", NULL},
        {"data", "object", "parent", "subscription_details", "metadata", "instance_id", NULL},
        {"instance", NULL},
    };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        const char *v = string_at(root, paths[i]);
        if (v != NULL)
            return v;
    }
    return NULL;
}

static lc_err fill(const cJSON *root, lc_billing_event *ev, lc_diag *d)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "id");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(root, "type");
    const cJSON *created = cJSON_GetObjectItemCaseSensitive(root, "created");
    if (!cJSON_IsString(id) || id->valuestring[0] == '\0' ||
        strlen(id->valuestring) >= sizeof ev->id)
        return lc_fail(d, LC_EINPUT, "billing event: missing or bad \"id\"");
    if (!cJSON_IsString(type) || strlen(type->valuestring) >= sizeof ev->type)
        return lc_fail(d, LC_EINPUT, "billing event %s: missing or bad \"type\"", id->valuestring);
    if (created != NULL &&
        (!cJSON_IsNumber(created) || created->valuedouble < 0 || created->valuedouble > 1e11))
        return lc_fail(d, LC_EINPUT, "billing event %s: \"created\" is not a Unix time",
                       id->valuestring);
    const char *instance = instance_of(root);
    if (instance != NULL && strlen(instance) >= sizeof ev->instance)
        return lc_fail(d, LC_EINPUT, "billing event %s: instance id too long", id->valuestring);
    snprintf(ev->id, sizeof ev->id, "%s", id->valuestring);
    snprintf(ev->type, sizeof ev->type, "%s", type->valuestring);
    snprintf(ev->instance, sizeof ev->instance, "%s", instance != NULL ? instance : "");
    ev->created = created != NULL ? (time_t)created->valuedouble : 0;
    ev->kind = billing_kind_of(ev->type);
    return LC_OK;
}

lc_err billing_parse(const char *body, size_t len, lc_billing_event *ev, lc_diag *d)
{
    memset(ev, 0, sizeof *ev);
    cJSON *root = cJSON_ParseWithLength(body, len);
    if (root == NULL)
        return lc_fail(d, LC_EINPUT, "billing event: not valid JSON");
    lc_err e = cJSON_IsObject(root) ? fill(root, ev, d)
                                    : lc_fail(d, LC_EINPUT, "billing event: not a JSON object");
    cJSON_Delete(root);
    return e;
}

void billing_sign(const unsigned char *secret, size_t secret_len, time_t t, const char *body,
                  size_t len, char hex[65])
{
    char prefix[32];
    int plen = snprintf(prefix, sizeof prefix, "%lld.", (long long)t);
    unsigned char mac[EVP_MAX_MD_SIZE];
    size_t maclen = 0;
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", digest, 0),
                           OSSL_PARAM_construct_end()};
    EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = hmac != NULL ? EVP_MAC_CTX_new(hmac) : NULL;
    hex[0] = '\0';
    if (ctx != NULL && EVP_MAC_init(ctx, secret, secret_len, params) == 1 &&
        EVP_MAC_update(ctx, (const unsigned char *)prefix, (size_t)plen) == 1 &&
        EVP_MAC_update(ctx, (const unsigned char *)body, len) == 1 &&
        EVP_MAC_final(ctx, mac, &maclen, sizeof mac) == 1) {
        for (size_t i = 0; i < maclen && i < 32; i++)
            snprintf(hex + 2 * i, 3, "%02x", mac[i]);
    }
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(hmac);
    OPENSSL_cleanse(mac, sizeof mac);
}

/*
 * Parses "t=...,v1=...,v1=..." and compares every v1 (any number of them)
 * with the signature expected for body; *t is -1 when absent or malformed.
 */
static bool any_v1_matches(const char *header, const char *body, size_t len,
                           const unsigned char *secret, size_t secret_len, long long *t, int *nv1)
{
    char expect[65] = "";
    int match = 0;
    *t = -1;
    *nv1 = 0;
    const char *p = header;
    for (int pass = 0; pass < 2; pass++, p = header) {
        while (p != NULL && *p != '\0') {
            while (*p == ' ' || *p == ',')
                p++;
            size_t n = strcspn(p, ",");
            char *end;
            if (pass == 0 && strncmp(p, "t=", 2) == 0) {
                long long v = strtoll(p + 2, &end, 10);
                *t = end == p + n && end != p + 2 ? v : -1;
            } else if (pass == 1 && strncmp(p, "v1=", 3) == 0 && n == 67) {
                (*nv1)++;
                match |= CRYPTO_memcmp(expect, p + 3, 64) == 0;
            }
            p += n;
        }
        if (pass == 0 && *t >= 0)
            billing_sign(secret, secret_len, (time_t)*t, body, len, expect);
        if (pass == 0 && *t < 0)
            break;
    }
    OPENSSL_cleanse(expect, sizeof expect);
    return match != 0;
}

lc_err billing_verify(const char *header, const char *body, size_t len, const unsigned char *secret,
                      size_t secret_len, time_t now, long tolerance_s, lc_diag *d)
{
    if (header == NULL || header[0] == '\0')
        return lc_fail(d, LC_EINPUT,
                       "billing event: signature required (webhook secret "
                       "configured) but none given");
    long long t;
    int nv1;
    bool match = any_v1_matches(header, body, len, secret, secret_len, &t, &nv1);
    if (t < 0 || nv1 == 0)
        return lc_fail(d, LC_EINPUT,
                       "billing event: malformed signature header (want t=...,v1=...)");
    if (llabs((long long)now - t) > tolerance_s)
        return lc_fail(d, LC_EINPUT,
                       "billing event: signature timestamp %lld is outside the %ld s tolerance", t,
                       tolerance_s);
    return match ? LC_OK : lc_fail(d, LC_EINPUT, "billing event: signature does not match");
}
