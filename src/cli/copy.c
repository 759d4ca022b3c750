/* upkeep copy [ID|latest] --to REPOSITORY [--from REPOSITORY] [--database NAME]: backups
 * from one repository into another, only the chunks the target lacks (task_copy). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "common/util.h"
#include "task/task.h"

static void help(void)
{
    printf("Usage: upkeep copy [ID|latest] --to REPOSITORY [--from REPOSITORY] [--database NAME]\n"
           "\n"
           "Copy backups into another repository (an off-site one, say) under the same id,\n"
           "storing there only the chunks it lacks. Every chunk is checked on the way, and\n"
           "the copy is listed only once it is whole. Without ID: every backup the source\n"
           "holds that the target lacks, oldest first. A backup job with several\n"
           "repositories (repository = local, offsite) does this after each backup.\n"
           "\n"
           "Options:\n"
           "      --to NAME          the repository to copy into\n"
           "      --from NAME        the repository to copy from (default: the one holding ID,\n"
           "                         or, without ID, the first other repository)\n"
           "  -d, --database NAME    only backups of this database\n");
}

int cmd_copy(CliContext *ctx, int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        help();
        return 0;
    }
    static const struct option options[] = {{"to", required_argument, NULL, 'T'},
                                            {"from", required_argument, NULL, 'F'},
                                            {"database", required_argument, NULL, 'd'},
                                            {0}};
    const char *to_name = NULL, *from_name = NULL, *database = NULL;
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, "d:", options, NULL)) != -1) {
        switch (opt) {
        case 'T': to_name = optarg; break;
        case 'F': from_name = optarg; break;
        case 'd': database = optarg; break;
        default: return cli_usage_error("copy", "unknown option");
        }
    }
    if (optind + 1 < argc)
        return cli_usage_error("copy", "expected at most one backup ID");
    if (!to_name)
        return cli_usage_error("copy", "--to REPOSITORY is required");
    int rc = cli_open_state(ctx);
    if (rc != 0)
        return rc;
    const Config *c = ctx->config;
    const ConfigRepository *to = config_find_repository(c, to_name);
    if (!to)
        return cli_usage_error("copy", "no [repository %s]", to_name);
    const ConfigRepository *from = NULL;
    if (from_name && !(from = config_find_repository(c, from_name)))
        return cli_usage_error("copy", "no [repository %s]", from_name);
    if (from == to)
        return cli_usage_error("copy", "--from and --to name the same repository");
    UkError err = {0};
    json_t *out = json_array();
    if (optind < argc) {
        char id[64];
        const ConfigRepository *holder = NULL;
        if (cli_find_backup(ctx, from ? from->name : NULL, argv[optind], database, NULL, &holder,
                            id, sizeof id, &err) != 0) {
            json_decref(out);
            return cli_fail(&err);
        }
        if (holder == to) {
            json_decref(out);
            return cli_usage_error("copy", "backup '%s' is in '%s' already: give --from", id,
                                   to->name);
        }
        CopyResult res;
        if (task_copy(ctx->state, holder, to, id, &res, &err) != 0) {
            json_decref(out);
            return cli_fail(&err);
        }
        char a[32], d[32];
        if (ctx->json)
            json_array_append_new(
                out, json_pack("{s:s, s:s, s:s, s:b, s:I, s:f}", "id", res.id, "from", holder->name,
                               "to", to->name, "copied", !res.skipped, "bytes_stored",
                               (json_int_t)res.stored_bytes, "seconds", res.seconds));
        else if (!ctx->quiet && res.skipped)
            printf("backup %s is in '%s' already\n", res.id, to->name);
        else if (!ctx->quiet)
            printf("copied backup %s from '%s' to '%s': stored %s new, %s\n", res.id, holder->name,
                   to->name, format_size(res.stored_bytes, a, sizeof a),
                   format_duration(res.seconds, d, sizeof d));
    } else {
        for (size_t i = 0; !from && i < c->n_repositories; i++)
            if (c->repositories[i] != to)
                from = c->repositories[i];
        if (!from) {
            json_decref(out);
            return cli_usage_error("copy", "no repository to copy from");
        }
        CopyTotals totals;
        if (task_copy_missing(ctx->state, from, to, database, &totals, &err) != 0) {
            json_decref(out);
            return cli_fail(&err);
        }
        char a[32];
        if (ctx->json)
            json_array_append_new(out, json_pack("{s:s, s:s, s:I, s:I}", "from", from->name, "to",
                                                 to->name, "copied", (json_int_t)totals.copied,
                                                 "bytes_stored", (json_int_t)totals.stored_bytes));
        else if (!ctx->quiet)
            printf("copied %zu backups from '%s' to '%s': stored %s new\n", totals.copied,
                   from->name, to->name, format_size(totals.stored_bytes, a, sizeof a));
    }
    if (ctx->json)
        cli_print_json(out);
    else
        json_decref(out);
    return 0;
}
