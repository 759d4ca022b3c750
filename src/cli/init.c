/* upkeep init --database URL: a first upkeep.conf, proposed from the database's schema. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/util.h"
#include "db/db.h"
#include "task/task.h"

static void help(void)
{
    printf("Usage: upkeep init --database URL [--files DIR] [--password-file FILE]\n"
           "                   [--output FILE]\n"
           "\n"
           "Read the database's schema and propose an upkeep.conf: a nightly verified backup\n"
           "with retention and a weekly proof, purges of soft-deleted rows (deleted_at,\n"
           "is_deleted, status = 'deleted') with the files their rows name, retention for\n"
           "log, audit and session tables by their time column, vacuum and integrity, and\n"
           "health thresholds from today's size. Each proposal says what it is based on\n"
           "(the column, the rows, their ages); what it cannot be sure of is commented out.\n"
           "URL: sqlite://PATH, postgresql://USER@HOST/DB or mariadb://USER@HOST/DB.\n"
           "\n"
           "Options:\n"
           "  -d, --database URL        the database to read (read only)\n"
           "  -f, --files DIR           the folder the application keeps its files in\n"
           "  -p, --password-file FILE  a server's password, first line of FILE\n"
           "  -o, --output FILE         write the proposal there (never over an existing\n"
           "                            file) instead of to standard output\n");
}

int cmd_init(CliContext *ctx, int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        help();
        return 0;
    }
    static const struct option options[] = {{"database", required_argument, NULL, 'd'},
                                            {"files", required_argument, NULL, 'f'},
                                            {"password-file", required_argument, NULL, 'p'},
                                            {"output", required_argument, NULL, 'o'},
                                            {0}};
    const char *url = NULL, *files = NULL, *password_file = NULL, *output = NULL;
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, "d:f:p:o:", options, NULL)) != -1) {
        switch (opt) {
        case 'd': url = optarg; break;
        case 'f': files = optarg; break;
        case 'p': password_file = optarg; break;
        case 'o': output = optarg; break;
        default: return cli_usage_error("init", "unknown option");
        }
    }
    if (!url || optind < argc)
        return cli_usage_error("init", "name the database: --database URL");
    (void)ctx; /* init needs no configuration: it writes the first one */
    ConfigDatabase db = {.name = "app", .url = (char *)url, .password_file = (char *)password_file};
    UkError err = {0};
    char *cwd = getcwd(NULL, 0);
    int rc = db_configure(&db, cwd ? cwd : ".", &err);
    free(cwd);
    char *text = NULL;
    if (rc == 0) {
        InitRequest req = {
            .database = &db, .url = url, .password_file = password_file, .files_dir = files};
        rc = task_init(&req, &text, &err);
    }
    free(db.driver);
    free(db.path);
    if (rc != 0)
        return cli_fail(&err);
    if (output) {
        if (path_exists(output)) {
            free(text);
            return cli_usage_error("init", "'%s' exists: init never writes over a file", output);
        }
        if (write_file_atomic(output, text, strlen(text), false, &err) != 0) {
            free(text);
            return cli_fail(&err);
        }
        if (!ctx->quiet)
            fprintf(stderr, "upkeep: wrote '%s'; read it, then: upkeep -c %s check\n", output,
                    output);
    } else {
        fputs(text, stdout);
    }
    free(text);
    return 0;
}
