/* upkeep metrics: the Prometheus text exposition, on stdout or into a textfile. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/util.h"
#include "health/metrics.h"

static void metrics_help(void)
{
    printf("Usage: upkeep metrics [--textfile PATH]\n"
           "\n"
           "Prints the metrics in the Prometheus text format: per job last run, last success,\n"
           "duration, result, runs and failures, rows and files handled, bytes reclaimed; per\n"
           "database and repository the newest backup's time and size, bytes stored, last\n"
           "verification, repository size; database size, WAL, pages, free pages, table rows,\n"
           "disk free space, and each health check's status.\n"
           "\n"
           "  --textfile PATH  write them to PATH atomically instead (for node_exporter's\n"
           "                   textfile collector; the daemon does this after every run\n"
           "                   with metrics_textfile)\n");
}

int cmd_metrics(CliContext *ctx, int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        metrics_help();
        return 0;
    }
    static const struct option options[] = {{"textfile", required_argument, NULL, 't'}, {0}};
    const char *textfile = NULL;
    optind = 1;
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        if (opt != 't')
            return cli_usage_error("metrics", "unknown option '%s'", argv[optind - 1]);
        textfile = optarg;
    }
    if (optind < argc)
        return cli_usage_error("metrics", "unexpected argument '%s'", argv[optind]);
    int rc = cli_open_state(ctx);
    if (rc != 0)
        return rc;
    HealthReport report;
    health_evaluate(ctx->config, ctx->state, &report);
    char *text = metrics_render(ctx->config, ctx->state, &report);
    health_report_clear(&report);
    UkError err = {0};
    if (textfile)
        rc = write_file_atomic(textfile, text, strlen(text), false, &err) != 0 ? cli_fail(&err) : 0;
    else
        fputs(text, stdout);
    free(text);
    return rc;
}
