/* Helpers shared by the test suites; see testutil.h. */
#include "testutil.h"

#include <fcntl.h>
#include <poll.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void drain(int outfd, int errfd, tu_run *r)
{
    size_t cap[2] = {4096, 4096}, len[2] = {0, 0};
    char *buf[2] = {malloc(cap[0]), malloc(cap[1])};
    struct pollfd p[2] = {{.fd = outfd, .events = POLLIN}, {.fd = errfd, .events = POLLIN}};
    int open_fds = 2;
    while (open_fds > 0) {
        if (poll(p, 2, -1) < 0)
            break;
        for (int i = 0; i < 2; i++) {
            if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            if (len[i] + 4096 + 1 > cap[i]) {
                cap[i] *= 2;
                buf[i] = realloc(buf[i], cap[i]);
            }
            ssize_t n = read(p[i].fd, buf[i] + len[i], 4096);
            if (n <= 0) {
                close(p[i].fd);
                p[i].fd = -1;
                open_fds--;
            } else {
                len[i] += (size_t)n;
            }
        }
    }
    buf[0][len[0]] = '\0';
    buf[1][len[1]] = '\0';
    r->out = buf[0];
    r->err = buf[1];
}

static tu_run run_argv(const char *input, char *const *argv)
{
    tu_run r = {.status = -1};
    int o[2], e[2], in[2];
    if (pipe(o) || pipe(e) || pipe(in))
        abort();
    pid_t pid = fork();
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(o[1], 1);
        dup2(e[1], 2);
        close(in[1]);
        close(o[0]);
        close(e[0]);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(in[0]);
    close(o[1]);
    close(e[1]);
    if (input != NULL && write(in[1], input, strlen(input)) < 0)
        perror("write");
    close(in[1]);
    drain(o[0], e[0], &r);
    int st;
    waitpid(pid, &st, 0);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return r;
}

tu_run tu_instctl(const char *input, const char *const *argv)
{
    const char *bin = getenv("INSTCTL_BIN");
    char *args[64];
    size_t n = 0;
    args[n++] = (char *)(bin != NULL ? bin : "build/instctl");
    for (size_t i = 0; argv[i] != NULL && n < 63; i++)
        args[n++] = (char *)argv[i];
    args[n] = NULL;
    return run_argv(input, args);
}

tu_run tu_sh(const char *cmd)
{
    char *args[] = {"sh", "-c", (char *)cmd, NULL};
    return run_argv(NULL, args);
}

void tu_run_free(tu_run *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

char *tu_tmpdir(const char *tag)
{
    char tmpl[256];
    snprintf(tmpl, sizeof tmpl, "/tmp/instctl-test-%s-XXXXXX", tag);
    char *dir = mkdtemp(tmpl);
    return dir != NULL ? strdup(dir) : NULL;
}

char *tu_fixture(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "tests/fixtures/%s", name);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)size + 1);
    size_t got = fread(buf, 1, (size_t)size, f);
    fclose(f);
    buf[got] = '\0';
    if (len != NULL)
        *len = got;
    return buf;
}

char *tu_sql(const char *db_path, const char *sql)
{
    sqlite3 *db;
    char *result = strdup("");
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return result;
    }
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) != NULL) {
            free(result);
            result = strdup((const char *)sqlite3_column_text(st, 0));
        }
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return result;
}

bool tu_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return false;
    bool ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok;
}
