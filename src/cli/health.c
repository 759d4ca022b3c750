/* upkeep health: every check with its value and thresholds, for people and for monitors. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/util.h"
#include "alert/alert.h"
#include "core/runner.h"
#include "health/health.h"

static void health_help(void)
{
    printf("Usage: upkeep health [--no-actions]\n"
           "\n"
           "Checks the databases (reachable, size against size_warning and size_critical,\n"
           "pages, free pages, WAL, row counts of count_tables), the last integrity check,\n"
           "the age of the newest backup (backup_max_age) and of the newest one proven\n"
           "restorable (verify_max_age), free space of disk_paths, and failed or overdue\n"
           "jobs. The first line is in the monitoring-plugins format, so Nagios, Icinga and\n"
           "similar run this command unchanged.\n"
           "\n"
           "The grouped counts of count_by, and size_maximum, are checks too. What a check\n"
           "that turns critical asks for runs once per transition, not on every check: a\n"
           "database's on_critical job, on_maximum and on_maximum_command past\n"
           "size_maximum, the [upkeep] on_critical job for disk_paths.\n"
           "\n"
           "Options:\n"
           "  --no-actions   do not record statuses, alert, or run what a check that turns\n"
           "                 critical asks for (on_critical, on_maximum)\n"
           "\n"
           "Exit status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (also when the\n"
           "configuration or state cannot be read).\n");
}

static const char *value_text(const HealthCheck *c, char *buf, size_t len)
{
    if (isnan(c->value))
        snprintf(buf, len, "-");
    else if (strcmp(c->unit, "bytes") == 0)
        format_size((uint64_t)c->value, buf, len);
    else if (strcmp(c->unit, "seconds") == 0)
        format_duration(c->value, buf, len);
    else if (strcmp(c->unit, "ratio") == 0)
        snprintf(buf, len, "%.1f%%", 100 * c->value);
    else
        snprintf(buf, len, "%.0f", c->value);
    return buf;
}

int cmd_health(CliContext *ctx, int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        health_help();
        return 0;
    }
    static const struct option options[] = {{"no-actions", no_argument, NULL, 'n'}, {0}};
    bool act = true;
    optind = 1;
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        if (opt != 'n') {
            cli_usage_error("health", "unknown option '%s'", argv[optind - 1]);
            return HEALTH_UNKNOWN;
        }
        act = false;
    }
    if (optind < argc) {
        cli_usage_error("health", "unexpected argument '%s'", argv[optind]);
        return HEALTH_UNKNOWN;
    }
    if (cli_open_state(ctx) != 0) {
        printf("UPKEEP UNKNOWN - the configuration or state database cannot be read\n");
        return HEALTH_UNKNOWN;
    }
    HealthReport report;
    health_evaluate(ctx->config, ctx->state, &report);
    HealthAction *actions = NULL;
    size_t n_actions = 0, n_changes = 0;
    HealthChange *changes = NULL;
    if (act) {
        health_record(ctx->config, ctx->state, &report, &actions, &n_actions, &changes, &n_changes);
        alerts_health(ctx->config, ctx->state, &report, changes, n_changes);
        alerts_flush(ctx->config, ctx->state);
    }
    char line[4096];
    health_plugin_line(&report, line, sizeof line);
    if (ctx->json) {
        json_t *doc = health_report_json(&report, NULL);
        json_object_set_new(doc, "at", cli_json_time(report.at));
        json_object_set_new(doc, "summary", json_string(line));
        cli_print_json(doc);
    } else {
        printf("%s\n\n", line);
        printf("%-9s %-20s %-24s %-12s %s\n", "STATUS", "CHECK", "SUBJECT", "VALUE", "DETAIL");
        for (size_t i = 0; i < report.n; i++) {
            const HealthCheck *c = &report.checks[i];
            char v[32];
            printf("%-9s %-20s %-24s %-12s %s\n", health_status_name(c->status), c->check,
                   c->subject, value_text(c, v, sizeof v), c->message);
        }
    }
    for (size_t i = 0; i < n_actions; i++) {
        const HealthAction *a = &actions[i];
        const HealthCheck *c = &report.checks[a->check];
        if (!ctx->json)
            fprintf(stderr, "upkeep: %s %s turned critical: running %s%s%s (%s)\n", c->check,
                    c->subject, a->job ? "job '" : "'", a->job ? a->job->name : a->command, "'",
                    a->key);
        UkError err = {0};
        if (a->command) {
            if (health_run_command(&report, a, &err) != 0)
                cli_fail(&err);
            continue;
        }
        RunOptions opts = {.trigger = "health"};
        RunOutcome outcome;
        if (runner_run_job(ctx->config, ctx->state, a->job, &opts, &outcome, &err) != 0)
            cli_fail(&err);
        else
            run_outcome_clear(&outcome);
    }
    free(actions);
    free(changes);
    int status = (int)report.overall;
    health_report_clear(&report);
    return status;
}
