/* init and help. */
#include "cli.h"

#include "action.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int run_init(cli *c, int argc, char **argv);
static int run_help(cli *c, int argc, char **argv);

const cmd_entry cmd_init = {
    .name = "init",
    .usage = "",
    .summary = "create the database (also done by the first create) and print its store uuid",
    .flags = NEEDS_STORE | CREATES_STORE | WRITES,
    .run = run_init,
};
const cmd_entry cmd_help = {
    .name = "help",
    .usage = "[COMMAND]",
    .summary = "show a command's manual page, or its usage when man is absent",
    .flags = ANY_CONFIG,
    .run = run_help,
};

static int run_init(cli *c, int argc, char **argv)
{
    if (argc > 1)
        return usage_error(&cmd_init, "unexpected argument \"%s\"", argv[1]);
    if (c->json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "db", store_path(c->store));
        cJSON_AddNumberToObject(j, "schema_version", store_schema_version(c->store));
        cJSON_AddStringToObject(j, "store_uuid", store_uuid(c->store));
        return print_json(j);
    }
    if (c->quiet)
        puts(store_uuid(c->store));
    else
        printf("database %s ready (schema %d, store %s)\n", store_path(c->store),
               store_schema_version(c->store), store_uuid(c->store));
    return 0;
}

void print_cmd_help(FILE *f, const cmd_entry *cmd)
{
    fprintf(f, "usage: instctl %s %s\n\n%s\n", cmd->name, cmd->usage, cmd->summary);
    const lc_action *a = lc_action_get(cmd->action);
    if (a != NULL && cmd->action != ACT_MAINTENANCE) {
        fputs("\nallowed from:", f);
        for (int s = 0; s < INSTANCE_STATUS_COUNT; s++) {
            if (lc_action_check(a, (InstanceStatus)s) == ACTION_ALLOWED)
                fprintf(f, " %s", instance_status_name((InstanceStatus)s));
        }
        fputc('\n', f);
    }
    fputs("\nglobal options: --db PATH, --docker-host URI, --config FILE, --json, --no-color,\n"
          "  -q, --wait[=S]; see instctl(8).\n",
          f);
}

/* Runs man for page when stdout is a terminal and the page is installed. */
static bool try_man(const char *page)
{
    if (!isatty(1))
        return false;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "man -w %s >/dev/null 2>&1", page);
    if (system(cmd) != 0)
        return false;
    snprintf(cmd, sizeof cmd, "man %s", page);
    int st = system(cmd);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static int run_help(cli *c, int argc, char **argv)
{
    (void)c;
    if (argc < 2) {
        if (!try_man("instctl")) {
            fputs("usage: instctl [global options] COMMAND [ARGS...]\n\ncommands:\n", stdout);
            for (size_t i = 0; commands[i] != NULL; i++)
                printf("  %-14s %s\n", commands[i]->name, commands[i]->summary);
        }
        return 0;
    }
    const cmd_entry *cmd = cmd_find(argv[1]);
    if (cmd == NULL)
        return usage_error(&cmd_help, "unknown command \"%s\"", argv[1]);
    char page[64];
    snprintf(page, sizeof page, "instctl-%s", cmd->name);
    if (!try_man(page))
        print_cmd_help(stdout, cmd);
    return 0;
}
