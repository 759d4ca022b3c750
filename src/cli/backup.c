/* upkeep backup DATABASE: an ad-hoc backup, e.g. `--tag pre-update` before a deployment. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "common/util.h"
#include "task/task.h"

static void help(void)
{
    printf("Usage: upkeep backup DATABASE [--repository NAME] [--tag TAG]... [--dry-run]\n"
           "\n"
           "Take a consistent backup of a configured database while the application keeps\n"
           "running. Only pages that changed since earlier backups are stored again.\n"
           "\n"
           "Options:\n"
           "  -r, --repository NAME  where to store it (default: the only repository, or the\n"
           "                         repository of a backup job for DATABASE)\n"
           "  -t, --tag TAG          attach a tag (repeatable), e.g. pre-update\n"
           "  -n, --dry-run          say what would be backed up, change nothing\n");
}

static const ConfigRepository *default_repository(const Config *c, const char *database)
{
    if (c->n_repositories == 1)
        return c->repositories[0];
    for (size_t i = 0; i < c->n_jobs; i++)
        if (c->jobs[i]->kind == TASK_BACKUP && c->jobs[i]->database && /* not files only */
            strcmp(c->jobs[i]->database->name, database) == 0)
            return c->jobs[i]->repository;
    return NULL;
}

int cmd_backup(CliContext *ctx, int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        help();
        return 0;
    }
    static const struct option options[] = {{"repository", required_argument, NULL, 'r'},
                                            {"tag", required_argument, NULL, 't'},
                                            {"dry-run", no_argument, NULL, 'n'},
                                            {0}};
    const char *repo_name = NULL;
    char tags[256] = "";
    bool dry_run = false;
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, "r:t:n", options, NULL)) != -1) {
        switch (opt) {
        case 'r': repo_name = optarg; break;
        case 't':
            if (!*optarg || strchr(optarg, ','))
                return cli_usage_error("backup", "invalid tag '%s'", optarg);
            snprintf(tags + strlen(tags), sizeof tags - strlen(tags), "%s%s", *tags ? "," : "",
                     optarg);
            break;
        case 'n': dry_run = true; break;
        default: return cli_usage_error("backup", "unknown option");
        }
    }
    if (optind + 1 != argc)
        return cli_usage_error("backup", "expected exactly one DATABASE");
    int rc = cli_open_state(ctx);
    if (rc != 0)
        return rc;
    const ConfigDatabase *db = config_find_database(ctx->config, argv[optind]);
    if (!db)
        return cli_usage_error("backup", "no [database %s] in '%s'", argv[optind],
                               ctx->config->path);
    const ConfigRepository *repo = repo_name ? config_find_repository(ctx->config, repo_name)
                                             : default_repository(ctx->config, db->name);
    if (!repo)
        return cli_usage_error("backup",
                               repo_name ? "no [repository %s]"
                                         : "more than one repository: choose one with "
                                           "--repository%s",
                               repo_name ? repo_name : "");
    if (dry_run) {
        struct stat st;
        char size[32] = "missing";
        /* Files: the path and its size; servers: the url without its password. */
        char *where = db->path ? xstrdup(db->path) : redact_url(db->url, true);
        if (!db->path)
            snprintf(size, sizeof size, "on a server");
        else if (stat(db->path, &st) == 0)
            format_size((uint64_t)st.st_size, size, sizeof size);
        if (ctx->json)
            cli_print_json(json_pack("{s:b, s:s, s:s, s:s, s:s}", "dry_run", 1, "database",
                                     db->name, "path", where, "repository", repo->name,
                                     "repository_path", repo->path));
        else
            printf("would back up database '%s' (%s, %s) to repository '%s' (%s)%s%s\n", db->name,
                   where, size, repo->name, repo->path, *tags ? " tagged " : "", tags);
        free(where);
        return 0;
    }
    BackupRequest req = {.config = ctx->config,
                         .database = db,
                         .repository = repo,
                         .tags = tags,
                         .progress = cli_progress(ctx)};
    BackupResult res;
    UkError err = {0};
    if (task_backup(ctx->state, &req, &res, &err) != 0)
        return cli_fail(&err);
    const Manifest *m = &res.manifest;
    if (ctx->json) {
        cli_print_json(json_pack(
            "{s:s, s:s, s:s, s:o, s:I, s:I, s:I, s:I, s:f, s:s}", "id", m->id, "database",
            m->database, "repository", repo->name, "time", cli_json_time(m->time), "image_bytes",
            (json_int_t)m->image_size, "bytes_stored", (json_int_t)m->stored_bytes, "chunks_new",
            (json_int_t)m->new_chunks, "chunks_reused", (json_int_t)m->reused_chunks,
            "duration_seconds", m->duration, "tags", m->tags));
    } else if (!ctx->quiet) {
        char a[32], b[32], d[32];
        printf("backup %s of '%s' to '%s': image %s, stored %s new (%llu new chunks, %llu "
               "reused), %s\n",
               m->id, m->database, repo->name, format_size(m->image_size, a, sizeof a),
               format_size(m->stored_bytes, b, sizeof b), (unsigned long long)m->new_chunks,
               (unsigned long long)m->reused_chunks, format_duration(m->duration, d, sizeof d));
    }
    return 0;
}
