/* create: provision a new instance (DESIGN §2). The admin password never comes from argv. */
#include "cli.h"
#include "hosts.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static int run_create(cli *c, int argc, char **argv);

const cmd_entry cmd_create = {
    .name = "create",
    .usage = "NAME --database DB --admin-email EMAIL [--odoo-version V] [--image IMG]\n"
             "              [--admin-password-file FILE|-] [--pull missing|never] [--no-wait]\n"
             "              [--host NAME]",
    .summary = "create an instance: container, volume and Odoo database",
    .flags = NEEDS_STORE | CREATES_STORE | NEEDS_ENGINE | WRITES,
    .run = run_create,
};

static lc_err read_password_stream(FILE *f, const char *what, char *buf, size_t len, lc_diag *d)
{
    if (fgets(buf, (int)len, f) == NULL)
        buf[0] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';
    if (buf[0] == '\0')
        return lc_fail(d, LC_EUSAGE, "admin password from %s is empty", what);
    return LC_OK;
}

static lc_err prompt_password(char *buf, size_t len, lc_diag *d)
{
    FILE *tty = fopen("/dev/tty", "r+");
    if (tty == NULL)
        return lc_fail(d, LC_EUSAGE,
                       "no admin password: give --admin-password-file FILE (or - for stdin)");
    struct termios old, quiet;
    bool echo_off = tcgetattr(fileno(tty), &old) == 0;
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    if (echo_off)
        tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
    fputs("Admin password: ", tty);
    fflush(tty);
    lc_err e = read_password_stream(tty, "the prompt", buf, len, d);
    if (echo_off)
        tcsetattr(fileno(tty), TCSAFLUSH, &old);
    fputs("\n", tty);
    fclose(tty);
    return e;
}

static lc_err read_password(const char *file, char *buf, size_t len, lc_diag *d)
{
    if (file == NULL)
        return prompt_password(buf, len, d);
    if (strcmp(file, "-") == 0)
        return read_password_stream(stdin, "stdin", buf, len, d);
    FILE *f = fopen(file, "r");
    if (f == NULL)
        return lc_fail(d, LC_EUSAGE, "admin password file %s: cannot read", file);
    lc_err e = read_password_stream(f, file, buf, len, d);
    fclose(f);
    return e;
}

static int parse(int argc, char **argv, lc_create_request *r, const char **pwfile)
{
    static const struct option opts[] = {{"database", required_argument, NULL, 'd'},
                                         {"admin-email", required_argument, NULL, 'e'},
                                         {"odoo-version", required_argument, NULL, 'v'},
                                         {"image", required_argument, NULL, 'i'},
                                         {"admin-password-file", required_argument, NULL, 'p'},
                                         {"pull", required_argument, NULL, 'P'},
                                         {"no-wait", no_argument, NULL, 'n'},
                                         {"host", required_argument, NULL, 'H'},
                                         {0}};
    int ch;
    optind = 0;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'd':
            r->database = optarg;
            break;
        case 'e':
            r->admin_email = optarg;
            break;
        case 'v':
            r->odoo_version = optarg;
            break;
        case 'i':
            r->image = optarg;
            break;
        case 'p':
            *pwfile = optarg;
            break;
        case 'P':
            r->pull_policy = optarg;
            break;
        case 'n':
            r->no_wait = true;
            break;
        case 'H':
            r->host = optarg;
            break;
        default:
            return usage_error(&cmd_create, "bad option");
        }
    }
    if (optind >= argc)
        return usage_error(&cmd_create, "missing NAME");
    if (optind + 1 < argc)
        return usage_error(&cmd_create, "unexpected argument \"%s\"", argv[optind + 1]);
    r->name = argv[optind];
    if (r->database == NULL || r->admin_email == NULL)
        return usage_error(&cmd_create, "--database and --admin-email are required");
    return 0;
}

static int run_create(cli *c, int argc, char **argv)
{
    lc_create_request r = {0};
    const char *pwfile = NULL;
    if (parse(argc, argv, &r, &pwfile))
        return 2;
    char host[64]; /* issue 11: --host, else placement's choice; ops_create uses its engine */
    lc_err e = lc_host_place(c->store, c->cfg.docker_host, r.host, host, sizeof host, &c->diag);
    r.host = host;
    if (e != LC_OK)
        return fail(c, e);
    char password[1024];
    e = read_password(pwfile, password, sizeof password, &c->diag);
    if (e != LC_OK)
        return fail(c, e);
    r.admin_password = password;
    if (c->ops.progress != NULL)
        c->ops.progress_arg = (void *)r.name;
    lc_instance in;
    e = ops_create(&c->ops, &r, &in, &c->diag);
    explicit_bzero(password, sizeof password);
    if (e != LC_OK && e != LC_EFAILED)
        return fail(c, e);
    if (c->json)
        print_json(instance_json(&c->cfg, &in));
    else if (c->quiet)
        puts(in.id);
    else if (e == LC_OK) {
        char badge[64];
        printf("%s: %s (id %s, container %s)\n", in.name,
               status_badge(c, in.status, badge, sizeof badge), in.id, in.container_name);
    }
    return e == LC_OK ? 0 : fail(c, e);
}
