/* upkeep prune: apply each repository's retention and collect unreferenced data. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "common/util.h"
#include "task/task.h"

static void help(void)
{
    printf("Usage: upkeep prune [--repository NAME] [--dry-run]\n"
           "\n"
           "Apply the retention rules of each repository (keep_last, keep_hourly, keep_daily,\n"
           "keep_weekly, keep_monthly, keep_yearly, keep_within, keep_tag; per database), list\n"
           "every backup as keep or remove with its reasons, remove the dropped backups, then\n"
           "delete stored data that no remaining backup references. The newest backup of each\n"
           "database is always kept, and so is the newest one verify proved; a backup verify\n"
           "found broken fills no slot of a counting rule. A pack whose index is missing or\n"
           "unreadable is rebuilt from the pack, or kept and reported, never deleted as garbage.\n"
           "\n"
           "Options:\n"
           "  -r, --repository NAME  only this repository\n"
           "  -n, --dry-run          show the decisions, change nothing\n");
}

int cmd_prune(CliContext *ctx, int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        help();
        return 0;
    }
    static const struct option options[] = {
        {"repository", required_argument, NULL, 'r'}, {"dry-run", no_argument, NULL, 'n'}, {0}};
    const char *only_repo = NULL;
    bool dry_run = false;
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, "r:n", options, NULL)) != -1) {
        if (opt == 'r')
            only_repo = optarg;
        else if (opt == 'n')
            dry_run = true;
        else
            return cli_usage_error("prune", "unknown option");
    }
    if (optind < argc)
        return cli_usage_error("prune", "unexpected argument '%s'", argv[optind]);
    int rc = cli_open_state(ctx);
    if (rc != 0)
        return rc;
    if (only_repo && !config_find_repository(ctx->config, only_repo))
        return cli_usage_error("prune", "no [repository %s]", only_repo);
    json_t *out = json_array();
    int status = 0;
    for (size_t r = 0; r < ctx->config->n_repositories; r++) {
        const ConfigRepository *rcfg = ctx->config->repositories[r];
        if (only_repo && strcmp(rcfg->name, only_repo) != 0)
            continue;
        PruneResult res;
        UkError err = {0};
        if (task_prune(ctx->state, rcfg, dry_run, &res, &err) != 0) {
            status = cli_fail(&err);
            prune_result_free(&res);
            continue;
        }
        if (ctx->json) {
            json_t *decisions = json_array();
            for (size_t i = 0; i < res.n; i++) {
                const PruneDecision *d = &res.decisions[i];
                json_array_append_new(
                    decisions,
                    json_pack("{s:s, s:o, s:s, s:s, s:s}", "id", d->manifest.id, "time",
                              cli_json_time(d->manifest.time), "database", d->manifest.database,
                              "action", d->keep ? "keep" : "remove", "reasons", d->reasons));
            }
            json_array_append_new(
                out,
                json_pack("{s:s, s:b, s:o, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, "
                          "s:I}",
                          "repository", rcfg->name, "dry_run", dry_run, "backups", decisions,
                          "removed", (int)res.removed, "packs_removed", (int)res.gc.packs_removed,
                          "packs_marked", (int)res.gc.packs_marked, "packs_waiting",
                          (int)res.gc.packs_waiting, "packs_unmarked", (int)res.gc.packs_unmarked,
                          "packs_repacked", (int)res.gc.packs_repacked, "packs_unknown",
                          (int)res.gc.packs_unknown, "indexes_rebuilt", (int)res.gc.indexes_rebuilt,
                          "chunks_missing", (int)res.gc.chunks_missing, "lists_unreadable",
                          (int)res.gc.lists_unreadable, "bytes_removed",
                          (json_int_t)res.gc.bytes_removed));
        } else {
            printf("repository '%s'%s:\n", rcfg->name, dry_run ? " (dry run)" : "");
            if (res.n == 0)
                printf("  (no backups)\n");
            for (size_t i = 0; i < res.n; i++) {
                const PruneDecision *d = &res.decisions[i];
                char t[32];
                printf("  %-6s %-27s %-19s %-12s %s\n", d->keep ? "keep" : "remove", d->manifest.id,
                       format_time_local(d->manifest.time, t, sizeof t), d->manifest.database,
                       d->reasons);
            }
            char s[32];
            printf("  %s %zu of %zu backups; %s %zu unreferenced and repack %zu sparse of %zu "
                   "packs, freeing about %s\n",
                   dry_run ? "would remove" : "removed", res.removed, res.n,
                   dry_run ? "would delete" : "deleted", res.gc.packs_removed,
                   res.gc.packs_repacked, res.gc.packs_total,
                   format_size(res.gc.bytes_removed, s, sizeof s));
            if (res.gc.packs_waiting) {
                char g[32];
                printf(
                    "  %zu packs no backup needs are marked; a prune deletes them once they have "
                    "been marked for %s (prune_grace)\n",
                    res.gc.packs_waiting, format_duration((double)rcfg->prune_grace, g, sizeof g));
            }
            if (res.gc.indexes_rebuilt)
                printf("  %s %zu missing or unreadable pack indexes from their packs\n",
                       dry_run ? "would rebuild" : "rebuilt", res.gc.indexes_rebuilt);
            if (res.gc.packs_unknown)
                printf("  kept %zu packs whose index is unreadable (%zu chunks backups need are "
                       "in no index): run upkeep verify --all\n",
                       res.gc.packs_unknown, res.gc.chunks_missing);
            if (res.gc.lists_unreadable)
                printf("  removed no packs: the chunk lists of %zu backups cannot be read, so "
                       "what they need is unknown: run upkeep verify --all\n",
                       res.gc.lists_unreadable);
        }
        prune_result_free(&res);
    }
    if (ctx->json)
        cli_print_json(out);
    else
        json_decref(out);
    return status;
}
