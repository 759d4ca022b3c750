/* upkeep daemon: the built-in scheduler (src/sched/daemon.c does the work). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/util.h"
#include "core/log.h"
#include "sched/daemon.h"

static void daemon_help(void)
{
    printf("Usage: upkeep daemon\n"
           "\n"
           "Runs every job that has a schedule when it is due, in the foreground (systemd,\n"
           "a container, or 'upkeep install systemd' start it as a service). Each run is\n"
           "recorded like 'upkeep run' records it, with trigger 'schedule'.\n"
           "\n"
           "Per job: no overlapping runs (a tick that comes while the job still runs is\n"
           "recorded as skipped), jitter, timeout, retries with doubling delays, and one\n"
           "catch-up run at start for a tick missed while the daemon was down (catch_up,\n"
           "catch_up_window). Jobs whose require_env does not hold are recorded as skipped.\n"
           "\n"
           "Signals: SIGHUP reloads the config (an invalid one is logged and the old one\n"
           "kept); SIGTERM or SIGINT stop starting jobs, give running ones shutdown_grace\n"
           "to finish, then stop them safely. One daemon per state database.\n"
           "\n"
           "Logs go to stderr, one line per event, with the time unless stderr is the\n"
           "systemd journal; [upkeep] log_file appends them to a file as well.\n");
}

int cmd_daemon(CliContext *ctx, int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        daemon_help();
        return 0;
    }
    if (argc > 1)
        return cli_usage_error("daemon", "unexpected argument '%s'", argv[1]);
    int rc = cli_open_state(ctx);
    if (rc != 0)
        return rc;
    log_set_level(ctx->quiet ? LOG_LEVEL_WARN : ctx->verbose ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
    const char *journal = getenv("JOURNAL_STREAM");
    log_set_timestamps(!(journal && *journal));
    char *config_path = xstrdup(ctx->config->path); /* a reload frees the loaded config */
    DaemonOptions opts = {.config_path = config_path, .describe = run_summary_line};
    UkError err = {0};
    rc = daemon_run(&opts, &ctx->config, ctx->state, &err) != 0 ? cli_fail(&err) : 0;
    free(config_path);
    return rc;
}
