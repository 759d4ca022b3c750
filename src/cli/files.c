/* upkeep ls and upkeep diff: what a backup's files are, and what changed between two
 * backups. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli/cli.h"
#include "common/util.h"
#include "task/task.h"

static void ls_help(void)
{
    printf("Usage: upkeep ls ID|latest [PATH] [--job NAME | --database NAME] [--tag TAG]\n"
           "                 [--repository NAME]\n"
           "\n"
           "List the files, folders and links a backup holds (a backup job's paths), at or\n"
           "below PATH: type and mode, owner, size, modification time, path. Entries that\n"
           "kept changing while they were read are marked (changed).\n"
           "\n"
           "Options:\n"
           "  -j, --job NAME         with 'latest': the newest backup of this job\n"
           "  -d, --database NAME    with 'latest': the newest backup of this database\n"
           "  -t, --tag TAG          with 'latest': the newest backup carrying TAG\n"
           "  -r, --repository NAME  look only in this repository\n");
}

static void diff_help(void)
{
    printf("Usage: upkeep diff ID1 ID2 [--repository NAME]\n"
           "\n"
           "What changed from backup ID1 to backup ID2 (either may be 'latest' with --job or\n"
           "--database): one line per entry, in path order:\n"
           "  +  added            -  removed\n"
           "  M  content, type or link target changed\n"
           "  U  mode, owner or modification time changed only\n"
           "then the counts, and whether the database image is the same.\n"
           "\n"
           "Options:\n"
           "  -j, --job NAME         'latest' is the newest backup of this job\n"
           "  -d, --database NAME    'latest' is the newest backup of this database\n"
           "  -r, --repository NAME  look only in this repository\n");
}

static void mode_text(const TreeEntry *e, char out[11])
{
    static const char types[] = {'-', 'd', 'l', 'h', 'p'};
    out[0] = types[e->type];
    const char *rwx = "rwxrwxrwx";
    for (int i = 0; i < 9; i++)
        out[1 + i] = e->mode & (0400u >> i) ? rwx[i] : '-';
    out[10] = '\0';
}

static json_t *entry_json(const TreeEntry *e)
{
    char mode[8];
    snprintf(mode, sizeof mode, "%04o", e->mode);
    json_t *o = json_pack("{s:s+, s:s, s:s, s:I, s:I, s:o}", "path", "/", e->path, "type",
                          tree_type_name(e->type), "mode", mode, "uid", (json_int_t)e->uid, "gid",
                          (json_int_t)e->gid, "mtime", cli_json_time((time_t)e->mtime_sec));
    if (e->type == TREE_FILE)
        json_object_set_new(o, "size", json_integer((json_int_t)e->size));
    if (e->target)
        json_object_set_new(o, "target", json_string(e->target));
    if (e->changed)
        json_object_set_new(o, "changed", json_true());
    return o;
}

static void entry_line(const char *prefix, const TreeEntry *e)
{
    char mode[11], when[32], size[32];
    mode_text(e, mode);
    format_time_local((time_t)e->mtime_sec, when, sizeof when);
    snprintf(size, sizeof size, "%llu", (unsigned long long)e->size);
    printf("%s%s %5u %5u %12s  %s  /%s", prefix, mode, e->uid, e->gid,
           e->type == TREE_FILE ? size : "", when, e->path);
    if (e->type == TREE_SYMLINK)
        printf(" -> %s", e->target);
    else if (e->type == TREE_HARDLINK)
        printf(" => /%s", e->target);
    printf("%s\n", e->changed ? "  (changed while read)" : "");
}

typedef struct Listing {
    bool json;
    json_t *entries;
    uint64_t n;
} Listing;

static int print_entry(void *ctx, const TreeEntry *e)
{
    Listing *l = ctx;
    l->n++;
    if (l->json)
        json_array_append_new(l->entries, entry_json(e));
    else
        entry_line("", e);
    return 0;
}

/* The options ls and diff share; returns -1 after an unknown one. */
static int parse_common(int argc, char **argv, const char *command, const char **group,
                        const char **tag, const char **only_repo)
{
    static const struct option options[] = {{"job", required_argument, NULL, 'j'},
                                            {"database", required_argument, NULL, 'd'},
                                            {"tag", required_argument, NULL, 't'},
                                            {"repository", required_argument, NULL, 'r'},
                                            {0}};
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, "j:d:t:r:", options, NULL)) != -1) {
        switch (opt) {
        case 'j':
        case 'd': *group = optarg; break;
        case 't': *tag = optarg; break;
        case 'r': *only_repo = optarg; break;
        default: cli_usage_error(command, "unknown option"); return -1;
        }
    }
    return 0;
}

int cmd_ls(CliContext *ctx, int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        ls_help();
        return 0;
    }
    const char *group = NULL, *tag = NULL, *only_repo = NULL;
    if (parse_common(argc, argv, "ls", &group, &tag, &only_repo) != 0)
        return 2;
    if (optind != argc - 1 && optind != argc - 2)
        return cli_usage_error("ls", "expected a backup ID (or 'latest') and an optional PATH");
    const char *under = optind == argc - 2 ? argv[optind + 1] : NULL;
    int rc = cli_load_config(ctx); /* reads the repository only: no state database */
    if (rc != 0)
        return rc;
    UkError err = {0};
    const ConfigRepository *repo = NULL;
    char id[64];
    if (cli_find_backup(ctx, only_repo, argv[optind], group, tag, &repo, id, sizeof id, &err) != 0)
        return cli_fail(&err);
    Listing l = {.json = ctx->json, .entries = json_array()};
    rc = task_list_files(repo, id, under, print_entry, &l, &err);
    if (rc != 0) {
        json_decref(l.entries);
        return cli_fail(&err);
    }
    if (ctx->json) {
        cli_print_json(
            json_pack("{s:s, s:s, s:o}", "id", id, "repository", repo->name, "entries", l.entries));
        return 0;
    }
    json_decref(l.entries);
    if (l.n == 0 && under) {
        UkError none;
        uk_error_set(&none, UK_E_NOTFOUND, 0, "backup '%s' holds nothing at '%s'", id, under);
        return cli_fail(&none);
    }
    return 0;
}

static const char *diff_marks[] = {"+", "-", "M", "U"};
static const char *diff_names[] = {"added", "removed", "modified", "metadata"};

static int print_change(void *ctx, DiffKind kind, const TreeEntry *e)
{
    Listing *l = ctx;
    if (l->json) {
        json_t *o = entry_json(e);
        json_object_set_new(o, "change", json_string(diff_names[kind]));
        json_array_append_new(l->entries, o);
    } else {
        printf("%s  /%s\n", diff_marks[kind], e->path);
    }
    return 0;
}

int cmd_diff(CliContext *ctx, int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        diff_help();
        return 0;
    }
    const char *group = NULL, *tag = NULL, *only_repo = NULL;
    if (parse_common(argc, argv, "diff", &group, &tag, &only_repo) != 0)
        return 2;
    if (optind != argc - 2)
        return cli_usage_error("diff", "expected two backup IDs");
    int rc = cli_load_config(ctx); /* reads the repository only: no state database */
    if (rc != 0)
        return rc;
    UkError err = {0};
    const ConfigRepository *repo_a = NULL, *repo_b = NULL;
    char id_a[64], id_b[64];
    if (cli_find_backup(ctx, only_repo, argv[optind], group, tag, &repo_a, id_a, sizeof id_a,
                        &err) != 0 ||
        cli_find_backup(ctx, repo_a->name, argv[optind + 1], group, tag, &repo_b, id_b, sizeof id_b,
                        &err) != 0)
        return cli_fail(&err);
    Listing l = {.json = ctx->json, .entries = json_array()};
    DiffResult res;
    if (task_diff_files(repo_a, id_a, id_b, print_change, &l, &res, &err) != 0) {
        json_decref(l.entries);
        return cli_fail(&err);
    }
    const char *database = !res.database_a && !res.database_b ? NULL
                           : res.database_same                ? "same"
                           : res.database_a && res.database_b ? "changed"
                           : res.database_a                   ? "removed"
                                                              : "added";
    if (ctx->json) {
        json_t *doc = json_pack(
            "{s:s, s:s, s:o, s:{s:I, s:I, s:I, s:I}}", "from", res.id_a, "to", res.id_b, "changes",
            l.entries, "counts", "added", (json_int_t)res.counts[DIFF_ADDED], "removed",
            (json_int_t)res.counts[DIFF_REMOVED], "modified", (json_int_t)res.counts[DIFF_MODIFIED],
            "metadata", (json_int_t)res.counts[DIFF_METADATA]);
        json_object_set_new(doc, "database", database ? json_string(database) : json_null());
        cli_print_json(doc);
        return 0;
    }
    json_decref(l.entries);
    printf("%s -> %s: %llu added, %llu removed, %llu modified, %llu with new metadata\n", res.id_a,
           res.id_b, (unsigned long long)res.counts[DIFF_ADDED],
           (unsigned long long)res.counts[DIFF_REMOVED],
           (unsigned long long)res.counts[DIFF_MODIFIED],
           (unsigned long long)res.counts[DIFF_METADATA]);
    if (database)
        printf("database image: %s\n", database);
    return 0;
}
