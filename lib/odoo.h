/*
 * Odoo's own HTTP endpoints on an instance's container (DESIGN §2 create):
 * the database manager's POST /web/database/create.
 */
#ifndef LC_ODOO_H
#define LC_ODOO_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "lc.h"

typedef struct lc_odoo_db_request {
    const char *master_password; /* Odoo's admin_passwd (master password), may be "" */
    const char *database;        /* database name */
    const char *login;           /* admin login: the admin email */
    const char *password;        /* admin password: sent here and nowhere else */
    const char *lang;            /* e.g. en_US */
} lc_odoo_db_request;

/*
 * odoo_create_database: POSTs the form to http://<host>:<port>/web/database/
 * create, retrying refused connections until `deadline` (Unix seconds) while
 * Odoo starts, never through a proxy from the environment (CURLOPT_NOPROXY).
 * Success is Odoo's redirect (3xx); anything else is LC_EFAILED with the
 * HTTP status and Odoo's own error text from the page (odoo_page_error), or
 * curl's error once the deadline passed. LC_EUSAGE when the form would not
 * fit (a value is never cut short).
 */
lc_err odoo_create_database(const char *host, int port, const lc_odoo_db_request *req,
                            time_t deadline, lc_diag *d);

/*
 * odoo_page_error: the text of the first element with class alert-danger
 * in html (where Odoo's database manager renders "Database creation error:
 * ..."), tags dropped, entities decoded, white space folded, into out (cap
 * bytes). False when there is none. Pure.
 */
bool odoo_page_error(const char *html, char *out, size_t cap);

#endif
