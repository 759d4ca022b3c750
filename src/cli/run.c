/* upkeep run: run jobs now through the runner, recorded like scheduled runs. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "common/util.h"
#include "core/runner.h"

static void help(void)
{
    printf("Usage: upkeep run JOB... | --all [--dry-run] [--force]\n"
           "\n"
           "Run jobs now, one after another. Each run is recorded (see 'upkeep history').\n"
           "A job that is already running is not started twice. With require_env set in\n"
           "[upkeep] or the job, jobs are skipped unless the environment matches. A job\n"
           "with enabled = no runs only with --force (--all leaves it out without).\n"
           "\n"
           "Options:\n"
           "  -a, --all      run every configured job\n"
           "  -n, --dry-run  say what each job would do, change nothing\n"
           "  -f, --force    run disabled jobs too\n"
           "\n"
           "Exit status: 0 all jobs succeeded, 1 any job failed or was skipped.\n");
}

/* A dry run that lists files (clean) shows each with its reason. */
static void print_planned(const char *summary_json)
{
    json_error_t jerr;
    json_t *doc = json_loads(summary_json, 0, &jerr);
    json_t *planned = json_object_get(doc, "planned");
    size_t i;
    json_t *item;
    json_array_foreach (planned, i, item) {
        char size[32];
        printf("    %s (%s): %s\n", json_string_value(json_object_get(item, "path")),
               format_size((uint64_t)json_integer_value(json_object_get(item, "bytes")), size,
                           sizeof size),
               json_string_value(json_object_get(item, "why")));
    }
    json_decref(doc);
}

/* A report's rows (those the summary keeps), tab-separated under their column names. */
static void print_report_rows(const char *summary_json)
{
    json_error_t jerr;
    json_t *doc = json_loads(summary_json, 0, &jerr);
    json_t *columns = json_object_get(doc, "columns"), *rows = json_object_get(doc, "rows");
    json_t *line = json_array(); /* the header, then each row */
    json_array_extend(line, columns);
    for (size_t r = 0; r <= json_array_size(rows); r++) {
        printf("   ");
        for (size_t i = 0; i < json_array_size(line); i++) {
            json_t *value = json_array_get(line, i);
            char *text = json_is_string(value) ? xstrdup(json_string_value(value))
                                               : json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT);
            printf("%s%s", i ? "\t" : " ", text);
            free(text);
        }
        printf("\n");
        json_array_clear(line);
        json_array_extend(line, json_array_get(rows, r));
    }
    json_decref(line);
    json_int_t total = json_integer_value(json_object_get(doc, "row_count"));
    if ((size_t)total > json_array_size(rows))
        printf("    (%zu of %lld rows shown; all are in the output file)\n", json_array_size(rows),
               (long long)total);
    json_decref(doc);
}

int cmd_run(CliContext *ctx, int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        help();
        return 0;
    }
    static const struct option options[] = {{"all", no_argument, NULL, 'a'},
                                            {"dry-run", no_argument, NULL, 'n'},
                                            {"force", no_argument, NULL, 'f'},
                                            {0}};
    bool all = false, dry_run = false, force = false;
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, "anf", options, NULL)) != -1) {
        if (opt == 'a')
            all = true;
        else if (opt == 'f')
            force = true;
        else if (opt == 'n')
            dry_run = true;
        else
            return cli_usage_error("run", "unknown option");
    }
    if (all == (optind < argc))
        return cli_usage_error("run", "name the jobs to run, or --all");
    int rc = cli_open_state(ctx);
    if (rc != 0)
        return rc;
    Config *c = ctx->config;
    size_t n = all ? c->n_jobs : (size_t)(argc - optind);
    ConfigJob **jobs = xcalloc(n ? n : 1, sizeof *jobs);
    for (size_t i = 0; i < n; i++) {
        jobs[i] = all ? c->jobs[i] : config_find_job(c, argv[optind + (int)i]);
        if (!jobs[i]) {
            free(jobs);
            return cli_usage_error("run", "no [job %s] in '%s'", argv[optind + (int)i], c->path);
        }
    }
    int status = 0;
    json_t *out = json_array();
    for (size_t i = 0; i < n; i++) {
        ConfigJob *job = jobs[i];
        if (all && !job->enabled && !force) {
            if (ctx->json)
                json_array_append_new(
                    out, json_pack("{s:s, s:s}", "job", job->name, "result", "disabled"));
            else if (!ctx->quiet)
                printf("job '%s': disabled (enabled = no), not run\n", job->name);
            continue;
        }
        if (dry_run && job->kind == TASK_BACKUP) {
            const RetentionPolicy *p = &job->repository->retention;
            bool retention = p->keep_last || p->keep_hourly || p->keep_daily || p->keep_weekly ||
                             p->keep_monthly || p->keep_yearly || p->keep_within || p->keep_tag;
            char *what = job->database ? xasprintf("'%s'%s", job->database->name,
                                                   job->paths ? " and its paths" : "")
                                       : xasprintf("its paths (%s)", job->paths);
            if (ctx->json)
                json_array_append_new(
                    out, json_pack("{s:s, s:s, s:s, s:s, s:b, s:b, s:b}", "job", job->name, "task",
                                   job->task, "database", job->database ? job->database->name : "",
                                   "repository", job->repository->name, "prune", retention,
                                   "verify", job->verify, "dry_run", 1));
            else
                printf("job '%s' would back up %s to '%s'%s%s\n", job->name, what,
                       job->repository->name, retention ? ", then apply retention" : "",
                       job->verify ? ", then verify the new backup" : "");
            free(what);
            continue;
        }
        RunOptions opts = {
            .trigger = "manual", .progress = cli_progress(ctx), .dry_run = dry_run, .force = force};
        RunOutcome outcome;
        UkError err = {0};
        if (runner_run_job(c, ctx->state, job, &opts, &outcome, &err) != 0) {
            cli_fail(&err);
            status = 1;
            if (ctx->json)
                json_array_append_new(out, json_pack("{s:s, s:s, s:s}", "job", job->name, "result",
                                                     "not started", "error", err.msg));
            continue;
        }
        bool ok = strcmp(outcome.result, "success") == 0;
        if (!ok)
            status = 1;
        if (ctx->json) {
            json_error_t jerr;
            json_t *summary = json_loads(outcome.summary_json, 0, &jerr);
            json_array_append_new(out,
                                  json_pack("{s:s, s:I, s:s, s:o, s:s}", "job", job->name, "run_id",
                                            (json_int_t)outcome.run_id, "result", outcome.result,
                                            "summary", summary ? summary : json_null(), "error",
                                            ok ? "" : outcome.error.msg));
        } else if (ok) {
            if (!ctx->quiet) {
                char d[32], line[512];
                run_summary_line(outcome.summary_json, line, sizeof line);
                if (dry_run) {
                    printf("job '%s' (dry run, nothing changed):\n  %s\n", job->name, line);
                    print_planned(outcome.summary_json);
                } else {
                    printf("job '%s': success in %s\n  %s\n", job->name,
                           format_duration(outcome.seconds, d, sizeof d), line);
                    if (job->kind == TASK_REPORT)
                        print_report_rows(outcome.summary_json);
                }
            }
        } else {
            fprintf(stderr, "upkeep: job '%s' %s: %s\n", job->name, outcome.result,
                    outcome.error.msg);
        }
        run_outcome_clear(&outcome);
    }
    if (ctx->json)
        cli_print_json(out);
    else
        json_decref(out);
    free(jobs);
    return status;
}
