/* backups ID [--prune]: an instance's backups, newest first, and retention. */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static int run_backups(cli *c, int argc, char **argv);

const cmd_entry cmd_backups = {
    .name = "backups",
    .usage = "ID|NAME [--prune]",
    .summary = "list an instance's backups; --prune keeps the newest backup_keep",
    .flags = NEEDS_STORE | NEEDS_ENGINE,
    .run = run_backups,
};

static void print_backups(cli *c, const lc_backup_row *b, size_t n)
{
    if (c->json) {
        cJSON *arr = cJSON_CreateArray();
        for (size_t i = 0; i < n; i++) {
            char at[32];
            cJSON *o = cJSON_CreateObject();
            lc_format_time(b[i].created_at, at, sizeof at);
            cJSON_AddStringToObject(o, "id", b[i].id);
            cJSON_AddStringToObject(o, "path", b[i].path);
            cJSON_AddNumberToObject(o, "size", (double)b[i].size);
            cJSON_AddStringToObject(o, "sha256", b[i].sha256);
            cJSON_AddStringToObject(o, "kind", b[i].kind);
            cJSON_AddStringToObject(o, "created_at", at);
            cJSON_AddItemToArray(arr, o);
        }
        print_json(arr);
        return;
    }
    if (!c->quiet)
        printf("%-8s  %-20s  %-10s  %10s  %s\n", "ID", "CREATED", "KIND", "SIZE", "PATH");
    for (size_t i = 0; i < n; i++) {
        char at[32], size[32];
        if (c->quiet) {
            puts(text_safe(b[i].id));
            continue;
        }
        lc_format_time(b[i].created_at, at, sizeof at);
        lc_format_size(b[i].size, size, sizeof size);
        printf("%.8s  %-20s  %-10s  %10s  %s\n", text_safe(b[i].id), at, text_safe(b[i].kind), size,
               text_safe(b[i].path));
    }
}

static int run_backups(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"prune", no_argument, NULL, 'p'}, {0}};
    bool prune = false;
    int ch;
    optind = 0;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (ch != 'p')
            return usage_error(&cmd_backups, "bad option");
        prune = true;
    }
    if (argc - optind != 1)
        return usage_error(&cmd_backups,
                           argc - optind < 1 ? "missing instance" : "unexpected argument");
    lc_instance in;
    lc_err e = store_resolve(c->store, argv[optind], &in, &c->diag);
    size_t removed = 0;
    if (e == LC_OK && prune)
        e = ops_prune_backups(&c->ops, argv[optind], c->cfg.backup_keep, &removed, &c->diag);
    lc_backup_row *rows = NULL;
    size_t n = 0;
    if (e == LC_OK)
        e = store_backup_list(c->store, in.id, &rows, &n, &c->diag);
    if (e != LC_OK)
        return fail(c, e);
    if (prune && !c->json && !c->quiet)
        printf("%s: %zu backup(s) removed, %zu kept (backup_keep = %d)\n", text_safe(in.name),
               removed, n, c->cfg.backup_keep);
    print_backups(c, rows, n);
    free(rows);
    return 0;
}
