/* upkeep verify: prove backups restorable and record when. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "common/util.h"
#include "task/task.h"

static void help(void)
{
    printf("Usage: upkeep verify [ID|latest|--all] [--repository NAME] [--database NAME]\n"
           "\n"
           "Prove backups restorable: read every chunk and check its SHA-256, rebuild the\n"
           "image and check its hash, then open it and run the database's integrity check.\n"
           "The result and its time are recorded and shown by 'upkeep backups'.\n"
           "Without an argument, verifies the latest backup of each database.\n"
           "\n"
           "Options:\n"
           "  -a, --all              verify every backup\n"
           "  -r, --repository NAME  only this repository\n"
           "  -d, --database NAME    only backups of this database\n"
           "\n"
           "Exit status: 0 all proven, 1 any backup failed to verify.\n");
}

int cmd_verify(CliContext *ctx, int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        help();
        return 0;
    }
    static const struct option options[] = {{"all", no_argument, NULL, 'a'},
                                            {"repository", required_argument, NULL, 'r'},
                                            {"database", required_argument, NULL, 'd'},
                                            {0}};
    bool all = false;
    const char *only_repo = NULL, *only_db = NULL;
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, "ar:d:", options, NULL)) != -1) {
        switch (opt) {
        case 'a': all = true; break;
        case 'r': only_repo = optarg; break;
        case 'd': only_db = optarg; break;
        default: return cli_usage_error("verify", "unknown option");
        }
    }
    if (argc - optind > 1 || (all && optind < argc))
        return cli_usage_error("verify", "give one ID, 'latest' or --all");
    int rc = cli_open_state(ctx);
    if (rc != 0)
        return rc;
    if (only_repo && !config_find_repository(ctx->config, only_repo))
        return cli_usage_error("verify", "no [repository %s]", only_repo);
    UkError err = {0};
    VerifyTarget *targets = NULL;
    size_t n = 0;
    if (optind < argc) {
        targets = xcalloc(1, sizeof *targets);
        if (cli_find_backup(ctx, only_repo, argv[optind], only_db, NULL, &targets[0].repo,
                            targets[0].id, sizeof targets[0].id, &err) != 0) {
            free(targets);
            return cli_fail(&err);
        }
        n = 1;
    } else {
        /* --all: every backup; default: the newest backup of each database. */
        const ConfigRepository *only =
            only_repo ? config_find_repository(ctx->config, only_repo) : NULL;
        VerifySelection sel = {
            .repos = only ? &only : NULL, .n_repos = only ? 1 : 0, .database = only_db, .all = all};
        if (task_verify_select(ctx->config, &sel, &targets, &n, &err) != 0)
            return cli_fail(&err);
        if (n == 0) {
            free(targets);
            if (!ctx->quiet)
                fprintf(stderr, "upkeep: no backups to verify\n");
            return 1;
        }
    }
    int failures = 0;
    json_t *results = json_array();
    for (size_t i = 0; i < n; i++) {
        VerifyResult res;
        uk_error_clear(&err);
        int vrc = task_verify(ctx->state, ctx->config, targets[i].repo, targets[i].id,
                              cli_progress(ctx), &res, &err);
        failures += vrc != 0;
        if (ctx->json) {
            json_array_append_new(
                results,
                json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:o, s:I, s:I, s:I, s:I}", "id",
                          targets[i].id, "repository", targets[i].repo->name, "result",
                          vrc == 0 ? "ok" : "failed", "error", vrc == 0 ? "" : err.msg, "integrity",
                          res.integrity, "image_bytes", (json_int_t)res.image_size, "seconds",
                          json_real(res.seconds), "files_missing_at_backup",
                          (json_int_t)res.files_missing, "file_entries",
                          (json_int_t)res.file_entries, "file_bytes", (json_int_t)res.file_bytes,
                          "files_changed", (json_int_t)res.files_changed));
        } else if (vrc == 0) {
            if (!ctx->quiet) {
                char s[32], d[32];
                if (*res.database)
                    printf("ok      %s  %s  %s, %llu chunks, integrity %s, %s\n", targets[i].id,
                           res.database, format_size(res.image_size, s, sizeof s),
                           (unsigned long long)res.chunks, res.integrity,
                           format_duration(res.seconds, d, sizeof d));
                else
                    printf("ok      %s  (files)  %s\n", targets[i].id,
                           format_duration(res.seconds, d, sizeof d));
                if (res.file_entries)
                    printf("        files: %llu entries, %s, every byte read back%s\n",
                           (unsigned long long)res.file_entries,
                           format_size(res.file_bytes, s, sizeof s),
                           res.files_changed ? " (some kept changing while backed up)" : "");
                if (res.files_missing)
                    printf("        %llu files its rows name were missing when it was taken "
                           "(e.g. %s)\n",
                           (unsigned long long)res.files_missing, res.missing_example);
            }
        } else {
            printf("FAILED  %s  %s\n", targets[i].id, err.msg);
        }
    }
    if (ctx->json)
        cli_print_json(results);
    else
        json_decref(results);
    free(targets);
    return failures ? 1 : 0;
}
