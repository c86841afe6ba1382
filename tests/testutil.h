/*
 * Helpers shared by the test suites: running the instctl binary and
 * capturing its output, temporary directories, one-value SQLite queries,
 * fixture files, and Docker's own view through the engine client.
 */
#ifndef TESTUTIL_H
#define TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>

/* The result of one command: exit status (or 128+signal) and its output. */
typedef struct tu_run {
    int status;
    char *out; /* stdout, NUL-terminated, malloc'd */
    char *err; /* stderr, NUL-terminated, malloc'd */
} tu_run;

/*
 * tu_instctl: runs $INSTCTL_BIN (default build/instctl) with argv (NULL-
 * terminated, without argv[0]), stdin from `input` when not NULL (else
 * /dev/null). Free with tu_run_free.
 */
tu_run tu_instctl(const char *input, const char *const *argv);
/* tu_sh: runs `sh -c cmd`, capturing like tu_instctl. */
tu_run tu_sh(const char *cmd);
void tu_run_free(tu_run *r);

/* tu_tmpdir: a new directory under /tmp (static buffer per call, malloc'd). */
char *tu_tmpdir(const char *tag);

/* tu_fixture: reads tests/fixtures/<name> into a malloc'd buffer; *len its size. */
char *tu_fixture(const char *name, size_t *len);

/* tu_sql: the first column of the first row of sql on db_path as a malloc'd string ("" when none). */
char *tu_sql(const char *db_path, const char *sql);

/* tu_write_file: writes text to path; true on success. */
bool tu_write_file(const char *path, const char *text);

#endif
