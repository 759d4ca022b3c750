/* upkeep backups: what the repositories hold, joined with the catalogue's verification
 * times. The repository is the truth; the catalogue is brought in line while listing. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "common/util.h"
#include "repo/manifest.h"
#include "task/task.h"

static void help(void)
{
    printf("Usage: upkeep backups [--repository NAME] [--database NAME] [--tag TAG]\n"
           "\n"
           "List backups, oldest first: id, time, database ((files) for a job that backs up\n"
           "files only), size (database image and files), bytes this backup added to the\n"
           "repository, tags, and when it was last proven restorable.\n"
           "\n"
           "Options:\n"
           "  -r, --repository NAME  only this repository\n"
           "  -d, --database NAME    only backups of this database (or of this job, for a\n"
           "                         job that backs up files only)\n"
           "  -t, --tag TAG          only backups carrying this tag (e.g. pre-update)\n");
}

int cmd_backups(CliContext *ctx, int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        help();
        return 0;
    }
    static const struct option options[] = {{"repository", required_argument, NULL, 'r'},
                                            {"database", required_argument, NULL, 'd'},
                                            {"tag", required_argument, NULL, 't'},
                                            {0}};
    const char *only_repo = NULL, *only_db = NULL, *only_tag = NULL;
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, "r:d:t:", options, NULL)) != -1) {
        if (opt == 'r')
            only_repo = optarg;
        else if (opt == 't')
            only_tag = optarg;
        else if (opt == 'd')
            only_db = optarg;
        else
            return cli_usage_error("backups", "unknown option");
    }
    if (optind < argc)
        return cli_usage_error("backups", "unexpected argument '%s'", argv[optind]);
    int rc = cli_open_state(ctx);
    if (rc != 0)
        return rc;
    if (only_repo && !config_find_repository(ctx->config, only_repo))
        return cli_usage_error("backups", "no [repository %s]", only_repo);
    UkError err = {0};
    for (size_t i = 0; i < ctx->config->n_repositories; i++) {
        const ConfigRepository *rcfg = ctx->config->repositories[i];
        if (only_repo && strcmp(rcfg->name, only_repo) != 0)
            continue;
        Repo *repo = NULL;
        if (task_open_repo(rcfg, false, &repo, &err) != 0) {
            if (err.code == UK_E_NOTFOUND)
                continue;
            return cli_fail(&err);
        }
        rc = task_sync_catalogue(ctx->state, repo, &err);
        repo_close(repo);
        if (rc != 0)
            return cli_fail(&err);
    }
    BackupRecord *list = NULL;
    size_t n = 0;
    if (state_backups(ctx->state, only_repo, &list, &n, &err) != 0)
        return cli_fail(&err);
    if (ctx->json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++) {
            BackupRecord *b = &list[i];
            if ((only_db && strcmp(*b->database ? b->database : b->job, only_db) != 0) ||
                (only_tag && !manifest_has_tag(b->tags, only_tag)))
                continue;
            json_array_append_new(
                arr, json_pack("{s:s, s:o, s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:o, s:o}", "id",
                               b->id, "time", cli_json_time(b->created_at), "database", b->database,
                               "job", b->job, "host", b->host, "repository", b->repository,
                               "image_bytes", (json_int_t)b->image_size, "bytes_stored",
                               (json_int_t)b->stored_bytes, "tags", b->tags, "verified_at",
                               cli_json_time(b->verified_at), "verify_result",
                               b->verify_result[0] ? json_string(b->verify_result) : json_null()));
        }
        cli_print_json(arr);
    } else {
        printf("%-27s %-19s %-12s %-12s %-10s %10s %10s  %-14s %s\n", "ID", "TIME", "DATABASE",
               "HOST", "REPOSITORY", "SIZE", "STORED", "TAGS", "VERIFIED");
        for (size_t i = 0; i < n; i++) {
            BackupRecord *b = &list[i];
            if ((only_db && strcmp(*b->database ? b->database : b->job, only_db) != 0) ||
                (only_tag && !manifest_has_tag(b->tags, only_tag)))
                continue;
            char t[32], s1[32], s2[32], v[48];
            if (b->verified_at)
                snprintf(v, sizeof v, "%s %s", b->verify_result,
                         format_time_local(b->verified_at, t, sizeof t));
            else
                snprintf(v, sizeof v, "never");
            printf("%-27s %-19s %-12s %-12s %-10s %10s %10s  %-14s %s\n", b->id,
                   format_time_local(b->created_at, t, sizeof t),
                   *b->database ? b->database : "(files)", b->host[0] ? b->host : "-",
                   b->repository, format_size(b->image_size, s1, sizeof s1),
                   format_size(b->stored_bytes, s2, sizeof s2), b->tags[0] ? b->tags : "-", v);
        }
        if (n == 0)
            printf("(no backups yet)\n");
    }
    free(list);
    return 0;
}
