/*
 * instctl: global options (accepted before or after the command), the
 * command table that drives dispatch, usage and help, and the shared setup
 * each command asks for with its flags.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* clang-format off */
const cmd_entry *const commands[] = {
    &cmd_init, &cmd_doctor,
    &cmd_create, &cmd_list, &cmd_show, &cmd_history, &cmd_stats,
    &cmd_start, &cmd_stop, &cmd_restart, &cmd_suspend, &cmd_unsuspend, &cmd_terminate,
    &cmd_maintenance, &cmd_end_maintenance, &cmd_backup, &cmd_backups, &cmd_restore, &cmd_update,
    &cmd_rotate_credentials, &cmd_move, &cmd_clone,
    &cmd_action, &cmd_reconcile, &cmd_watch, &cmd_billing_event, &cmd_host, &cmd_completion, &cmd_help,
    NULL,
};
/* clang-format on */

const cmd_entry *cmd_find(const char *name)
{
    for (size_t i = 0; commands[i] != NULL; i++) {
        if (strcmp(commands[i]->name, name) == 0)
            return commands[i];
    }
    return NULL;
}

#ifndef INSTCTL_VERSION
#error "INSTCTL_VERSION comes from the Makefile's VERSION"
#endif

/* Optimal string alignment distance (edits, a transposition counting one), capped at 9. */
static int edit_distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    if (n > 30 || m > 30)
        return 9;
    int d[32][32];
    for (size_t i = 0; i <= n; i++)
        for (size_t j = 0; j <= m; j++) {
            if (i == 0 || j == 0) {
                d[i][j] = (int)(i + j);
                continue;
            }
            int cost = a[i - 1] != b[j - 1], best = d[i - 1][j - 1] + cost;
            best = d[i - 1][j] + 1 < best ? d[i - 1][j] + 1 : best;
            best = d[i][j - 1] + 1 < best ? d[i][j - 1] + 1 : best;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    return d[n][m] < 9 ? d[n][m] : 9;
}

/* An unknown command: one line, with the closest command when one is near (2 edits or fewer). */
static int unknown_command(const char *name)
{
    const char *best = NULL;
    int best_d = 3;
    for (size_t i = 0;; i++) { /* every command, then --version */
        const char *cand = commands[i] != NULL ? commands[i]->name : "--version";
        int dist = edit_distance(name, cand);
        if (dist < best_d && dist < (int)strlen(cand)) {
            best_d = dist;
            best = cand;
        }
        if (commands[i] == NULL)
            break;
    }
    if (best != NULL)
        fprintf(stderr, "instctl: unknown command \"%s\"; did you mean %s? See 'instctl help'.\n",
                text_safe(name), best);
    else
        fprintf(stderr, "instctl: unknown command \"%s\". See 'instctl help'.\n", text_safe(name));
    return 2;
}

typedef struct globals {
    const char *db, *host, *config;
    bool json, no_color, quiet, help, version;
    int wait; /* -1 = not given */
} globals;

/* Takes the value of "--opt VALUE" or "--opt=VALUE"; 0 when arg is not opt. */
static int take_value(const char *opt, int argc, char **argv, int *i, const char **out)
{
    size_t n = strlen(opt);
    if (strncmp(argv[*i], opt, n) != 0)
        return 0;
    if (argv[*i][n] == '=') {
        *out = argv[*i] + n + 1;
        return 1;
    }
    if (argv[*i][n] != '\0')
        return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "instctl: %s needs a value\n", opt);
        return -1;
    }
    *out = argv[++*i];
    return 1;
}

static int parse_wait(const char *arg, globals *g)
{
    if (strcmp(arg, "--wait") == 0) {
        g->wait = 300;
        return 1;
    }
    if (strncmp(arg, "--wait=", 7) != 0)
        return 0;
    char *end;
    long v = strtol(arg + 7, &end, 10);
    if (*end || end == arg + 7 || v < 0 || v > 86400) {
        fprintf(stderr, "instctl: --wait=S needs seconds (0..86400), got \"%s\"\n", arg + 7);
        return -1;
    }
    g->wait = (int)v;
    return 1;
}

/* Removes the global options from argv wherever they stand; returns the new argc or -1. */
static int extract_globals(int argc, char **argv, globals *g)
{
    int out = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r;
        if (strcmp(a, "--") == 0) {
            while (i < argc)
                argv[out++] = argv[i++];
            break;
        }
        if ((r = take_value("--db", argc, argv, &i, &g->db)) ||
            (r = take_value("--docker-host", argc, argv, &i, &g->host)) ||
            (r = take_value("--config", argc, argv, &i, &g->config)) || (r = parse_wait(a, g))) {
            if (r < 0)
                return -1;
        } else if (strcmp(a, "--json") == 0) {
            g->json = true;
        } else if (strcmp(a, "--no-color") == 0) {
            g->no_color = true;
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            g->quiet = true;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            g->help = true;
        } else if (strcmp(a, "--version") == 0) {
            g->version = true;
        } else {
            argv[out++] = argv[i];
        }
    }
    argv[out] = NULL;
    return out;
}

static bool has_value(const char *s)
{
    return s != NULL && s[0] != '\0';
}

static lc_err configure(cli *c, const globals *g)
{
    config_defaults(&c->cfg);
    const char *path = g->config != NULL ? g->config : getenv("INSTCTL_CONFIG");
    lc_err e =
        config_load(&c->cfg, path != NULL ? path : LC_DEFAULT_CONFIG, path == NULL, &c->diag);
    if (e != LC_OK)
        return e;
    const char *env_db = getenv("INSTCTL_DB"), *env_host = getenv("DOCKER_HOST");
    const char *db = g->db != NULL ? g->db : env_db;
    const char *host = g->host != NULL ? g->host : env_host;
    if (db != NULL && db[0] == '\0')
        return lc_fail(&c->diag, LC_ECONFIG, "database path is empty (--db or INSTCTL_DB)");
    if (db != NULL && db[0] != '/') {
        char cwd[2048];
        if (getcwd(cwd, sizeof cwd) == NULL)
            return lc_fail(&c->diag, LC_ECONFIG, "database path %s: no current directory", db);
        snprintf(c->cfg.db, sizeof c->cfg.db, "%s/%s", cwd, db);
    } else if (db != NULL) {
        snprintf(c->cfg.db, sizeof c->cfg.db, "%s", db);
    }
    if (host != NULL)
        snprintf(c->cfg.docker_host, sizeof c->cfg.docker_host, "%s", host);
    c->docker_host_arg = g->host;
    c->json = g->json;
    c->quiet = g->quiet;
    c->wait_seconds = g->wait > 0 ? g->wait : 0;
    c->color = !g->no_color && !g->json && !has_value(getenv("NO_COLOR")) && isatty(1);
    return LC_OK;
}

static lc_err setup(cli *c, const cmd_entry *cmd)
{
    lc_err e = LC_OK;
    if (cmd->flags & NEEDS_STORE)
        e = store_open(c->cfg.db, (cmd->flags & CREATES_STORE) ? STORE_CREATE : 0, &c->store,
                       &c->diag);
    if (e == LC_OK && (cmd->flags & NEEDS_ENGINE))
        e = engine_open(c->cfg.docker_host[0] ? c->cfg.docker_host : NULL, &c->engine, &c->diag);
    c->ops = (lc_ops){.store = c->store,
                      .engine = c->engine,
                      .local = c->engine,
                      .cfg = &c->cfg,
                      .wait_seconds = c->wait_seconds};
    if (!c->quiet && !c->json && isatty(2)) {
        c->ops.progress = progress_step;
        c->ops.progress_arg = (void *)cmd->name;
        c->ops.transfer = progress_bytes;
    }
    return e;
}

static void print_usage(FILE *f)
{
    fputs("usage: instctl [--db PATH] [--docker-host URI] [--config FILE] [--json] [--no-color]\n"
          "               [-q] [--wait[=S]] COMMAND [ARGS...]\n"
          "       instctl --version\n\ncommands:\n",
          f);
    for (size_t i = 0; commands[i] != NULL; i++)
        fprintf(f, "  %-14s %s\n", commands[i]->name, commands[i]->summary);
    fputs("\nRun 'instctl help COMMAND' for a command's page.\n", f);
}

int main(int argc, char **argv)
{
    globals g = {.wait = -1};
    cli c = {0};
    cmd_actions_init();
    argc = extract_globals(argc, argv, &g);
    if (argc < 0)
        return 2;
    if (g.version) {
        puts("instctl " INSTCTL_VERSION);
        return 0;
    }
    if (argc < 2) {
        print_usage(g.help ? stdout : stderr);
        return g.help ? 0 : 2;
    }
    const cmd_entry *cmd = cmd_find(argv[1]);
    if (cmd == NULL)
        return unknown_command(argv[1]);
    if (g.help) {
        print_cmd_help(stdout, cmd);
        return 0;
    }
    lc_err e = configure(&c, &g);
    if (e != LC_OK && (cmd->flags & ANY_CONFIG)) {
        config_defaults(&c.cfg);
        e = LC_OK;
    }
    if (e == LC_OK)
        e = setup(&c, cmd);
    if (cmd->flags & WRITES)
        lc_interrupt_install();
    int rc = e == LC_OK ? cmd->run(&c, argc - 1, argv + 1) : fail(&c, e);
    progress_end();
    ops_close_engines(&c.ops);
    engine_close(c.engine);
    store_close(c.store);
    return rc;
}
