/* upkeep status and upkeep history: what ran, when, and how it went. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/util.h"
#include "sched/daemon.h"
#include "sched/schedule.h"

static void status_help(void)
{
    printf("Usage: upkeep status\n"
           "\n"
           "Whether the daemon is running, and for each job: task, schedule, next scheduled\n"
           "run (in the job's time zone), last run, its result and duration.\n");
}

/* The summary holds the precise duration; the row's timestamps are whole seconds. */
static double run_seconds(const RunRecord *r)
{
    json_error_t jerr;
    json_t *doc = r->summary ? json_loads(r->summary, 0, &jerr) : NULL;
    json_t *seconds = json_object_get(doc, "seconds");
    double value = seconds ? json_number_value(seconds)
                           : (double)(r->ended_at ? r->ended_at - r->started_at : 0);
    json_decref(doc);
    return value;
}

static json_t *run_json(const RunRecord *r)
{
    json_error_t jerr;
    json_t *summary = r->summary ? json_loads(r->summary, 0, &jerr) : NULL;
    return json_pack("{s:I, s:s, s:s, s:s, s:o, s:o, s:f, s:s, s:o, s:o}", "id", (json_int_t)r->id,
                     "job", r->job, "task", r->task, "trigger", r->trigger, "started",
                     cli_json_time(r->started_at), "ended", cli_json_time(r->ended_at),
                     "duration_seconds", run_seconds(r), "result", r->result, "summary",
                     summary ? summary : json_null(), "error",
                     r->error ? json_string(r->error) : json_null());
}

int cmd_status(CliContext *ctx, int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        status_help();
        return 0;
    }
    if (argc > 1)
        return cli_usage_error("status", "unexpected argument '%s'", argv[1]);
    int rc = cli_open_state(ctx);
    if (rc != 0)
        return rc;
    Config *c = ctx->config;
    UkError err = {0};
    json_t *out = json_array();
    pid_t daemon_pid = 0;
    bool daemon_up = daemon_is_running(state_path(ctx->state), &daemon_pid);
    if (!ctx->json) {
        if (daemon_up)
            printf("daemon: running (pid %ld)\n\n", (long)daemon_pid);
        else
            printf("daemon: not running (scheduled jobs run only with 'upkeep daemon')\n\n");
        printf("%-20s %-9s %-16s %-25s %-19s %-11s %s\n", "JOB", "TASK", "SCHEDULE", "NEXT RUN",
               "LAST RUN", "RESULT", "DURATION");
    }
    for (size_t i = 0; i < c->n_jobs; i++) {
        ConfigJob *job = c->jobs[i];
        RunRecord last;
        int found = state_last_run(ctx->state, job->name, &last, &err);
        if (found < 0) {
            json_decref(out);
            return cli_fail(&err);
        }
        char next[64];
        schedule_next_text(c, job, next, sizeof next);
        if (ctx->json) {
            json_array_append_new(
                out, json_pack("{s:s, s:s, s:b, s:o, s:o, s:o, s:o}", "job", job->name, "task",
                               job->task, "enabled", job->enabled, "schedule",
                               job->schedule ? json_string(job->schedule) : json_null(), "timezone",
                               job->timezone ? json_string(job->timezone)
                               : c->timezone ? json_string(c->timezone)
                                             : json_null(),
                               "next_run",
                               job->enabled && strcmp(next, "-") ? json_string(next) : json_null(),
                               "last_run", found ? run_json(&last) : json_null()));
        } else {
            char t[32] = "never", d[32] = "-";
            if (found) {
                format_time_local(last.started_at, t, sizeof t);
                if (last.ended_at)
                    format_duration(run_seconds(&last), d, sizeof d);
            }
            printf("%-20s %-9s %-16s %-25s %-19s %-11s %s\n", job->name, job->task,
                   job->schedule ? job->schedule : "(manual)", next, t, found ? last.result : "-",
                   d);
        }
        if (found) {
            free(last.summary);
            free(last.error);
        }
    }
    if (ctx->json)
        cli_print_json(json_pack("{s:{s:b, s:o}, s:o}", "daemon", "running", daemon_up, "pid",
                                 daemon_up ? json_integer(daemon_pid) : json_null(), "jobs", out));
    else
        json_decref(out);
    return 0;
}

static void history_help(void)
{
    printf("Usage: upkeep history [JOB] [--limit N]\n"
           "\n"
           "Past runs, newest first, with their results and summaries.\n"
           "\n"
           "Options:\n"
           "  -l, --limit N  show at most N runs (default 20)\n");
}

int cmd_history(CliContext *ctx, int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        history_help();
        return 0;
    }
    static const struct option options[] = {{"limit", required_argument, NULL, 'l'}, {0}};
    int limit = 20;
    optind = 1;
    int opt;
    UkError err = {0};
    while ((opt = getopt_long(argc, argv, "l:", options, NULL)) != -1) {
        if (opt == 'l' && parse_uint(optarg, &limit, &err) == 0 && limit > 0)
            continue;
        return cli_usage_error("history", "invalid option or limit");
    }
    if (argc - optind > 1)
        return cli_usage_error("history", "expected at most one JOB");
    const char *job = optind < argc ? argv[optind] : NULL;
    int rc = cli_open_state(ctx);
    if (rc != 0)
        return rc;
    RunRecord *runs = NULL;
    size_t n = 0;
    if (state_history(ctx->state, job, limit, &runs, &n, &err) != 0)
        return cli_fail(&err);
    if (ctx->json) {
        json_t *out = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(out, run_json(&runs[i]));
        cli_print_json(out);
    } else {
        printf("%-6s %-20s %-19s %-9s %-11s %s\n", "RUN", "JOB", "STARTED", "DURATION", "RESULT",
               "SUMMARY");
        for (size_t i = 0; i < n; i++) {
            char t[32], d[32] = "-";
            if (runs[i].ended_at)
                format_duration(run_seconds(&runs[i]), d, sizeof d);
            char line[512];
            run_summary_line(runs[i].summary, line, sizeof line);
            printf("%-6lld %-20s %-19s %-9s %-11s %s\n", (long long)runs[i].id, runs[i].job,
                   format_time_local(runs[i].started_at, t, sizeof t), d, runs[i].result,
                   runs[i].error ? runs[i].error : line);
        }
        if (n == 0)
            printf("(no runs yet)\n");
    }
    state_runs_free(runs, n);
    return 0;
}
