/*
 * Instance statuses, container states and action ids (DESIGN §1-2),
 * plus the validation of user-supplied names done before any Docker call.
 */
#include "status.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const status_names[INSTANCE_STATUS_COUNT] = {
    [INSTANCE_CREATING] = "creating",
    [INSTANCE_RUNNING] = "running",
    [INSTANCE_STOPPED] = "stopped",
    [INSTANCE_SUSPENDED] = "suspended",
    [INSTANCE_MAINTENANCE] = "maintenance",
    [INSTANCE_UPDATING] = "updating",
    [INSTANCE_ERROR] = "error",
    [INSTANCE_TERMINATED] = "terminated",
};

const char *instance_status_name(InstanceStatus s)
{
    if ((unsigned)s >= INSTANCE_STATUS_COUNT)
        return "invalid";
    return status_names[s];
}

bool instance_status_parse(const char *name, InstanceStatus *out)
{
    for (int i = 0; name != NULL && i < INSTANCE_STATUS_COUNT; i++) {
        if (strcmp(name, status_names[i]) == 0) {
            *out = (InstanceStatus)i;
            return true;
        }
    }
    return false;
}

static const char *const state_names[] = {
    [CONTAINER_UNKNOWN] = "unknown",       [CONTAINER_CREATED] = "created",
    [CONTAINER_RUNNING] = "running",       [CONTAINER_PAUSED] = "paused",
    [CONTAINER_RESTARTING] = "restarting", [CONTAINER_REMOVING] = "removing",
    [CONTAINER_EXITED] = "exited",         [CONTAINER_DEAD] = "dead",
    [CONTAINER_MISSING] = "missing",
};

const char *container_state_name(lc_container_state s)
{
    if ((unsigned)s > CONTAINER_MISSING)
        return "unknown";
    return state_names[s];
}

lc_container_state container_state_parse(const char *docker_state)
{
    for (int i = CONTAINER_CREATED; docker_state != NULL && i <= CONTAINER_MISSING; i++) {
        if (strcmp(docker_state, state_names[i]) == 0)
            return (lc_container_state)i;
    }
    return CONTAINER_UNKNOWN;
}

static const char *const action_names[ACT_COUNT] = {
    [ACT_NONE] = "",
    [ACT_CREATE] = "create",
    [ACT_START] = "start",
    [ACT_STOP] = "stop",
    [ACT_RESTART] = "restart",
    [ACT_SUSPEND] = "suspend",
    [ACT_UNSUSPEND] = "unsuspend",
    [ACT_BACKUP] = "backup",
    [ACT_RESTORE] = "restore",
    [ACT_UPDATE] = "update",
    [ACT_MAINTENANCE] = "maintenance",
    [ACT_END_MAINTENANCE] = "end-maintenance",
    [ACT_TERMINATE] = "terminate",
    [ACT_ROTATE_CREDENTIALS] = "rotate-credentials",
    [ACT_MOVE] = "move",
    [ACT_CLONE] = "clone",
};

const char *lc_action_id_name(lc_action_id id)
{
    return (unsigned)id < ACT_COUNT ? action_names[id] : "";
}

bool lc_action_id_parse(const char *word, lc_action_id *out)
{
    *out = ACT_NONE;
    for (int i = ACT_NONE + 1; word != NULL && i < ACT_COUNT; i++) {
        if (strcmp(word, action_names[i]) == 0) {
            *out = (lc_action_id)i;
            return true;
        }
    }
    return false;
}

static bool all_chars(const char *s, const char *extra)
{
    for (; *s; s++) {
        if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) || strchr(extra, *s)))
            return false;
    }
    return true;
}

lc_err lc_validate_name(const char *name, lc_diag *d)
{
    size_t len = name != NULL ? strlen(name) : 0;
    if (len == 0 || len > 63)
        return lc_fail(d, LC_EUSAGE, "invalid name \"%.80s\": must be 1 to 63 characters",
                       name != NULL ? name : "");
    if (!isalnum((unsigned char)name[0]) || name[len - 1] == '-' || !all_chars(name, "-"))
        return lc_fail(d, LC_EUSAGE,
                       "invalid name \"%.80s\": use lower-case letters, digits and '-', "
                       "starting with a letter or digit and not ending with '-'",
                       name);
    return LC_OK;
}

/*
 * Odoo's DBNAME_PATTERN (odoo/service/db.py, '^[a-zA-Z0-9][a-zA-Z0-9_.-]+$'),
 * PostgreSQL's 63-byte identifier limit, and never one of the server's own
 * databases: a name that passes is safe as a quoted identifier, a Docker
 * name part ([a-zA-Z0-9][a-zA-Z0-9_.-]) and a child process's argument.
 */
lc_err lc_validate_database(const char *db, lc_diag *d)
{
    static const char *const reserved[] = {"postgres", "template0", "template1"};
    size_t len = db != NULL ? strlen(db) : 0;
    if (len < 2 || len > 63)
        return lc_fail(d, LC_EUSAGE, "invalid database name \"%.80s\": must be 2 to 63 characters",
                       db != NULL ? db : "");
    bool ok = isalnum((unsigned char)db[0]);
    for (size_t i = 1; ok && i < len; i++)
        ok = isalnum((unsigned char)db[i]) || strchr("_.-", db[i]) != NULL;
    if (!ok)
        return lc_fail(d, LC_EUSAGE,
                       "invalid database name \"%.80s\": use letters, digits, '_', '-' and '.', "
                       "starting with a letter or digit (Odoo's rule)",
                       db);
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        if (strcasecmp(db, reserved[i]) == 0)
            return lc_fail(d, LC_EUSAGE,
                           "invalid database name \"%s\": it is one of the server's own databases",
                           db);
    return LC_OK;
}

lc_err lc_validate_email(const char *email, lc_diag *d)
{
    size_t len = email != NULL ? strlen(email) : 0;
    const char *at = len ? strchr(email, '@') : NULL;
    bool ok = len >= 3 && len <= 254 && at != NULL && at != email && strchr(at + 1, '@') == NULL;
    if (ok) {
        const char *dot = strchr(at + 1, '.');
        ok = dot != NULL && dot != at + 1 && dot[1] != '\0' && email[len - 1] != '.';
    }
    for (size_t i = 0; ok && i < len; i++)
        ok = !isspace((unsigned char)email[i]) && !iscntrl((unsigned char)email[i]) &&
             email[i] != '"' && email[i] != '\\';
    if (!ok)
        return lc_fail(d, LC_EUSAGE,
                       "invalid admin email \"%.80s\": expected local@domain.tld without spaces",
                       email != NULL ? email : "");
    return LC_OK;
}

lc_err lc_validate_version(const char *version, lc_diag *d)
{
    unsigned major, minor;
    int used = 0;
    size_t len = version != NULL ? strlen(version) : 0;
    bool ok = len > 0 && len <= 32 && isdigit((unsigned char)version[0]) &&
              sscanf(version, "%u.%u%n", &major, &minor, &used) == 2 &&
              isdigit((unsigned char)strchr(version, '.')[1]) &&
              isdigit((unsigned char)version[used - 1]);
    const char *tail = ok ? version + used : "";
    if (ok && *tail != '\0')
        ok = tail[0] == '-' && tail[1] != '\0' && all_chars(tail + 1, "._-");
    if (!ok)
        return lc_fail(d, LC_EUSAGE,
                       "invalid Odoo version \"%.40s\": expected MAJOR.MINOR, e.g. 17.0, "
                       "optionally with a build suffix (17.0-20261101)",
                       version != NULL ? version : "");
    return LC_OK;
}

lc_err lc_validate_image(const char *image, lc_diag *d)
{
    size_t len = image != NULL ? strlen(image) : 0;
    bool ok = len > 0 && len <= 255;
    for (size_t i = 0; ok && i < len; i++)
        ok = isgraph((unsigned char)image[i]);
    if (!ok)
        return lc_fail(d, LC_EUSAGE, "invalid image \"%.80s\": no spaces, 1 to 255 characters",
                       image != NULL ? image : "");
    return LC_OK;
}
