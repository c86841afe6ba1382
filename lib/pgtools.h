/*
 * PostgreSQL client tools (pg_dump, pg_restore, dropdb from Debian's
 * postgresql-client) run as child processes with fork + execvp: no shell,
 * and no secret on the command line. The password, when pg->password_file
 * is set, reaches the tool through a temporary PGPASSFILE (mode 0600,
 * "host:port:*:user:password", removed afterwards) in the child's
 * environment only. Every tool gets -w (never prompt) and PGCONNECT_TIMEOUT
 * 10 unless the environment sets one. On failure d names the tool, its exit
 * status and the last line it wrote on stderr (the last one starting with
 * "<tool>: " when there is one: libpq appends hints after the error).
 * pg_drop_database is declared in backup.h.
 */
#ifndef LC_PGTOOLS_H
#define LC_PGTOOLS_H

#include "backup.h"
#include "lc.h"

/*
 * pg_dump_to: `pg_dump -Fc -w -h H -p P -U U -d database -f file`. file is
 * created (or truncated) by pg_dump; the caller removes it. LC_EUSAGE for
 * an empty host/user, a port outside 1..65535, or a database name that is
 * empty, starts with '-' or holds '=' (it would be read as a connection
 * string); LC_EFAILED when the tool cannot run or exits non-zero.
 */
lc_err pg_dump_to(const lc_pg *pg, const char *database, const char *file, lc_diag *d);

/*
 * pg_restore_from: `pg_restore --no-owner -w -h H -p P -U U -d database
 * file` into a database just made for it (restore never writes into the
 * live database: see pg_switch_database). Errors as pg_dump_to.
 */
lc_err pg_restore_from(const lc_pg *pg, const char *database, const char *file, lc_diag *d);

/* pg_create_database: `createdb -w -h H -p P -U U database`. Errors as pg_dump_to. */
lc_err pg_create_database(const lc_pg *pg, const char *database, lc_diag *d);

/*
 * pg_switch_database: in one transaction, when staging exists: live (if it
 * exists) renamed to aside, then staging renamed to live (DESIGN §6: the
 * database part of a restore is switched in by rename). pg_switch_back
 * undoes it: when aside exists, live renamed to staging and aside back to
 * live. Both are idempotent; nothing is dropped. LC_EUSAGE for a name
 * that cannot be quoted; LC_EFAILED when psql fails (the rename needs no
 * session on the databases: their containers are stopped first).
 */
lc_err pg_switch_database(const lc_pg *pg, const char *live, const char *staging,
                          const char *aside, lc_diag *d);
lc_err pg_switch_back(const lc_pg *pg, const char *live, const char *staging, const char *aside,
                      lc_diag *d);

/*
 * pg_run_tool: runs argv (argv[0] looked up in PATH, NULL-terminated) with
 * pg's password, if any, in a temporary PGPASSFILE; stdin and stdout are
 * /dev/null, stderr is captured. LC_OK on exit status 0, else LC_EFAILED:
 * "<tool> exited with status N: <last stderr line, as above>", "<tool> killed by
 * signal N", or "<tool>: not found (install postgresql-client)".
 */
lc_err pg_run_tool(const lc_pg *pg, const char *const *argv, lc_diag *d);

#endif
