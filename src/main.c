/* upkeep: maintenance for database-backed applications. main() only sorts out the global
 * options and hands over to the command in src/cli/. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/cleanup.h"
#include "core/log.h"
#include "core/state.h"

#ifndef UPKEEP_VERSION
#define UPKEEP_VERSION "0.0.0"
#endif

static const struct {
    const char *name;
    CliCommand run;
    const char *summary;
} commands[] = {
    {"check", cmd_check, "validate the configuration"},
    {"run", cmd_run, "run jobs now (recorded like scheduled runs)"},
    {"daemon", cmd_daemon, "run scheduled jobs when they are due"},
    {"health", cmd_health, "check databases, backups, disks and jobs against thresholds"},
    {"metrics", cmd_metrics, "Prometheus metrics of runs, backups, databases and health"},
    {"status", cmd_status, "the daemon, and each job's schedule, next and last run"},
    {"history", cmd_history, "past runs with their summaries"},
    {"queries", cmd_queries, "the server's slowest statements (pg_stat_statements)"},
    {"indexes", cmd_indexes, "unused, duplicate and invalid indexes; foreign keys without one"},
    {"backup", cmd_backup, "take an ad-hoc backup of a database"},
    {"backups", cmd_backups, "list backups with size, new bytes stored and last verification"},
    {"restore", cmd_restore, "restore a backup to a new file or in place"},
    {"ls", cmd_ls, "list the files a backup holds"},
    {"diff", cmd_diff, "what changed between two backups' files (and database)"},
    {"copy", cmd_copy, "copy backups into another repository (only what it lacks)"},
    {"init", cmd_init, "propose an upkeep.conf from a database's schema"},
    {"import", cmd_import, "insert a JSON Lines, JSON or CSV file's records into a table"},
    {"key", cmd_key, "key files and keys of encrypted repositories"},
    {"verify", cmd_verify, "prove backups restorable (every chunk, the image, integrity)"},
    {"prune", cmd_prune, "apply retention and remove data no backup needs"},
    {"calendar", cmd_calendar, "show when a cron schedule fires"},
    {"install", cmd_install, "hand scheduling to systemd or cron"},
};

static void usage(FILE *out)
{
    fprintf(out, "Usage: upkeep [-c FILE] [--json] [-v] [-q] COMMAND [ARGS...]\n"
                 "\n"
                 "Maintenance for database-backed applications: proven backups, retention,\n"
                 "and a record of every run.\n"
                 "\n"
                 "Commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n"
                 "Global options (before or after the command):\n"
                 "  -c, --config FILE  config file (default: $UPKEEP_CONFIG, ./upkeep.conf,\n"
                 "                     /etc/upkeep/upkeep.conf)\n"
                 "      --json         machine-readable output (times in RFC 3339 UTC)\n"
                 "  -v, --verbose      more detail on stderr\n"
                 "  -q, --quiet        no progress, only errors\n"
                 "      --version      print the version\n"
                 "  -h, --help         this help; 'upkeep COMMAND --help' for a command\n"
                 "\n"
                 "Exit status: 0 success, 1 a job or check failed, 2 usage or config error.\n"
                 "See upkeep(1) and upkeep.conf(5).\n");
}

int main(int argc, char **argv)
{
    CliContext ctx = {0};
    /* Pull global options out of argv wherever they are, so `upkeep backups --json` and
     * `upkeep --json backups` mean the same. Everything else goes to the command. */
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    int n_rest = 0;
    bool after_dashes = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (after_dashes) {
            rest[n_rest++] = argv[i];
        } else if (strcmp(a, "--") == 0) {
            after_dashes = true;
            rest[n_rest++] = argv[i];
        } else if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "upkeep: option '%s' needs a file name\n", a);
                free(rest);
                return 2;
            }
            ctx.config_path = argv[++i];
        } else if (strncmp(a, "--config=", 9) == 0) {
            ctx.config_path = a + 9;
        } else if (strcmp(a, "--json") == 0) {
            ctx.json = true;
        } else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
            ctx.verbose++;
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            ctx.quiet = true;
        } else if (strcmp(a, "--version") == 0 && n_rest == 0) {
            printf("upkeep %s\n", UPKEEP_VERSION);
            free(rest);
            return 0;
        } else if ((strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) && n_rest == 0) {
            usage(stdout);
            free(rest);
            return 0;
        } else {
            rest[n_rest++] = argv[i];
        }
    }
    cleanup_install();
    log_set_level(ctx.quiet ? LOG_LEVEL_ERROR : ctx.verbose ? LOG_LEVEL_DEBUG : LOG_LEVEL_WARN);
    if (n_rest == 0) {
        usage(stderr);
        free(rest);
        return 2;
    }
    if (strcmp(rest[0], "help") == 0) {
        usage(stdout);
        free(rest);
        return 0;
    }
    int status = -1;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(rest[0], commands[i].name) == 0)
            status = commands[i].run(&ctx, n_rest, rest);
    if (status < 0) {
        fprintf(stderr, "upkeep: unknown command '%s'\nTry 'upkeep --help'.\n", rest[0]);
        status = 2;
    }
    state_close(ctx.state);
    config_free(ctx.config);
    free(rest);
    return status;
}
