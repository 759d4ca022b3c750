/* Shared by the command implementations: global options, config and state loading, error
 * printing and the exit-status convention (0 ok, 1 failed, 2 usage or config error). */
#ifndef UK_CLI_H
#define UK_CLI_H

#include <jansson.h>
#include <stdbool.h>

#include "core/config.h"
#include "core/state.h"

typedef struct CliContext {
    const char *config_path; /* -c, NULL for the default search */
    bool json;
    bool quiet;
    int verbose;
    Config *config;
    State *state;
} CliContext;

typedef int (*CliCommand)(CliContext *ctx, int argc, char **argv);

/* Loads the config (once). Returns 0, or the exit status after printing the error. */
int cli_load_config(CliContext *ctx);
/* Loads the config and opens the state database. */
int cli_open_state(CliContext *ctx);
/* Prints the error as "upkeep: message" and returns its exit status. */
int cli_fail(const UkError *err);
/* Prints a usage error plus the hint to run --help; returns 2. */
int cli_usage_error(const char *command, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Is this argument --help or -h? */
bool cli_wants_help(int argc, char **argv);
/* Prints a JSON document (indented) and releases it. */
void cli_print_json(json_t *doc);
/* Show progress on a terminal unless --quiet or --json. */
bool cli_progress(const CliContext *ctx);
/* RFC 3339 UTC string as a JSON value, or null for 0. */
json_t *cli_json_time(time_t t);

int cmd_check(CliContext *ctx, int argc, char **argv);
int cmd_backup(CliContext *ctx, int argc, char **argv);
int cmd_backups(CliContext *ctx, int argc, char **argv);
int cmd_copy(CliContext *ctx, int argc, char **argv);
int cmd_import(CliContext *ctx, int argc, char **argv);
int cmd_init(CliContext *ctx, int argc, char **argv);
int cmd_key(CliContext *ctx, int argc, char **argv);
int cmd_restore(CliContext *ctx, int argc, char **argv);
int cmd_ls(CliContext *ctx, int argc, char **argv);
int cmd_diff(CliContext *ctx, int argc, char **argv);
int cmd_verify(CliContext *ctx, int argc, char **argv);
int cmd_prune(CliContext *ctx, int argc, char **argv);
int cmd_run(CliContext *ctx, int argc, char **argv);
int cmd_status(CliContext *ctx, int argc, char **argv);
int cmd_history(CliContext *ctx, int argc, char **argv);
int cmd_calendar(CliContext *ctx, int argc, char **argv);
int cmd_daemon(CliContext *ctx, int argc, char **argv);
int cmd_install(CliContext *ctx, int argc, char **argv);
int cmd_health(CliContext *ctx, int argc, char **argv);
int cmd_metrics(CliContext *ctx, int argc, char **argv);
int cmd_queries(CliContext *ctx, int argc, char **argv);
int cmd_indexes(CliContext *ctx, int argc, char **argv);

#include "core/summary.h"

/* Finds which configured repository holds id_or_latest (the newest one for "latest",
 * optionally of one database, optionally carrying TAG). only_repo limits the search to one
 * [repository]. */
#include "repo/repo.h"
int cli_find_backup(CliContext *ctx, const char *only_repo, const char *id_or_latest,
                    const char *database, const char *tag, const ConfigRepository **repo_out,
                    char *id_out, size_t id_len, UkError *err);
#endif
