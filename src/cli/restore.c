/* upkeep restore: rebuild a backup into a new file, or in place of the live database with
 * the old file kept aside. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/runner.h"
#include "common/util.h"
#include "db/db.h"
#include "task/task.h"

static void help(void)
{
    printf("Usage: upkeep restore ID|latest [--tag TAG] --database NAME --to PATH [--force]\n"
           "                                    [--no-check]\n"
           "       upkeep restore ID|latest --database NAME --in-place [--no-check] [--force]\n"
           "       upkeep restore ID|latest --database NAME --to-database NEWNAME\n"
           "                                    [--table NAME]... [--schema NAME]...\n"
           "       upkeep restore ID|latest --files --to DIR [--include PATTERN]...\n"
           "                                    [--database NAME | --job NAME]\n"
           "\n"
           "Rebuild a backup. Every chunk, the whole image and then the database itself\n"
           "(PRAGMA quick_check) are checked before the file appears under its name; nothing\n"
           "is written at PATH if any check fails. A replaced file lends the restored one its\n"
           "owner, group and mode.\n"
           "\n"
           "Options:\n"
           "  -d, --database NAME    the database the backup is of (picks 'latest')\n"
           "  -o, --to PATH          write a new file (refuses to replace one without --force)\n"
           "  -f, --force            replace PATH if it exists; on a server, with --in-place,\n"
           "                         end the sessions still connected to the database\n"
           "      --in-place         replace the configured database file; the old file (and\n"
           "                         its -wal/-shm) is kept as FILE.before-restore-TIME;\n"
           "                         the path holds the old or the new database at every\n"
           "                         instant. Stop the application first. On a server: the\n"
           "                         backup is loaded under a name of its own, then swapped\n"
           "                         in; the old database is renamed NAME_before_restore_TIME\n"
           "                         (refused while sessions are connected, unless --force)\n"
           "      --no-check         skip the database's quick check (chunks and the image\n"
           "                         hash are still checked)\n"
           "      --to-database NEW  server engines (PostgreSQL, MariaDB): load the backup\n"
           "                         into a new database NEW on the configured server\n"
           "                         (dropped again if the load fails)\n"
           "      --table NAME       with --to-database: only this table (PostgreSQL: a\n"
           "                         table of that name in any schema); repeatable\n"
           "      --schema NAME      with --to-database, PostgreSQL: only this schema;\n"
           "                         repeatable\n"
           "      --files            restore the backup's files (a job's paths) under DIR:\n"
           "                         each at DIR/<its absolute path>, with its mode, times\n"
           "                         and (as root) owner; nothing is written outside DIR,\n"
           "                         and files already there are replaced\n"
           "  -I, --include PATTERN  with --files: only what PATTERN names (a path, or a\n"
           "                         folder and what it holds; * and ? within a name),\n"
           "                         e.g. /srv/app/config or '/srv/app/uploads/2026-*'\n"
           "  -j, --job NAME         with 'latest': the newest backup of this job (a job\n"
           "                         that backs up files only has no database)\n"
           "  -t, --tag TAG          with 'latest': the newest backup carrying TAG (e.g.\n"
           "                         pre-update, for a rollback)\n"
           "  -r, --repository NAME  look only in this repository\n"
           "  -n, --dry-run          say what would be restored, change nothing\n");
}

/* restore --files: the tree under a folder. */
static int restore_files(CliContext *ctx, const char *id_or_latest, const char *group,
                         const char *only_repo, const char *tag, const char *to, bool other_target,
                         char **includes, size_t n_includes, bool dry_run)
{
    if (!to || other_target)
        return cli_usage_error("restore", "--files restores into a folder: give --to DIR");
    int rc = cli_load_config(ctx); /* reads the repository only: no state database */
    if (rc != 0)
        return rc;
    UkError err = {0};
    const ConfigRepository *repo = NULL;
    char id[64];
    if (cli_find_backup(ctx, only_repo, id_or_latest, group, tag, &repo, id, sizeof id, &err) != 0)
        return cli_fail(&err);
    if (dry_run) {
        if (ctx->json)
            cli_print_json(json_pack("{s:b, s:s, s:s, s:s}", "dry_run", 1, "id", id, "repository",
                                     repo->name, "to", to));
        else
            printf("would restore the files of backup %s from '%s' under '%s'\n", id, repo->name,
                   to);
        return 0;
    }
    FilesRestoreRequest req = {.repository = repo,
                               .id = id,
                               .to = to,
                               .includes = includes,
                               .n_includes = n_includes,
                               .progress = cli_progress(ctx)};
    FilesRestoreResult res;
    if (task_restore_files(&req, &res, &err) != 0)
        return cli_fail(&err);
    if (ctx->json) {
        cli_print_json(json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:f}", "id", res.id, "to", to,
                                 "entries", (json_int_t)res.entries, "files", (json_int_t)res.files,
                                 "bytes", (json_int_t)res.bytes, "links_skipped",
                                 (json_int_t)res.links_skipped, "duration_seconds", res.seconds));
    } else if (!ctx->quiet) {
        char s[32], d[32];
        printf("restored the files of backup %s under '%s': %llu entries, %llu files, %s, "
               "checked (%s)\n",
               res.id, to, (unsigned long long)res.entries, (unsigned long long)res.files,
               format_size(res.bytes, s, sizeof s), format_duration(res.seconds, d, sizeof d));
    }
    return 0;
}

int cmd_restore(CliContext *ctx, int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        help();
        return 0;
    }
    static const struct option options[] = {{"database", required_argument, NULL, 'd'},
                                            {"to", required_argument, NULL, 'o'},
                                            {"force", no_argument, NULL, 'f'},
                                            {"in-place", no_argument, NULL, 'i'},
                                            {"repository", required_argument, NULL, 'r'},
                                            {"dry-run", no_argument, NULL, 'n'},
                                            {"no-check", no_argument, NULL, 'C'},
                                            {"to-database", required_argument, NULL, 'D'},
                                            {"tag", required_argument, NULL, 't'},
                                            {"table", required_argument, NULL, 'T'},
                                            {"schema", required_argument, NULL, 'S'},
                                            {"files", no_argument, NULL, 'F'},
                                            {"include", required_argument, NULL, 'I'},
                                            {"job", required_argument, NULL, 'j'},
                                            {0}};
    enum { MAX_ONLY = 32 };
    const char *tables[MAX_ONLY + 1] = {0}, *schemas[MAX_ONLY + 1] = {0};
    size_t n_tables = 0, n_schemas = 0;
    const char *database = NULL, *to = NULL, *only_repo = NULL, *to_database = NULL, *tag = NULL;
    bool force = false, in_place = false, dry_run = false, no_check = false, files = false;
    char *includes[MAX_ONLY + 1] = {0};
    size_t n_includes = 0;
    const char *job = NULL;
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, "d:o:fr:nt:I:j:", options, NULL)) != -1) {
        switch (opt) {
        case 'F': files = true; break;
        case 'j': job = optarg; break;
        case 'I':
            if (n_includes == MAX_ONLY)
                return cli_usage_error("restore", "at most %d --include", MAX_ONLY);
            includes[n_includes++] = optarg;
            break;
        case 'd': database = optarg; break;
        case 'o': to = optarg; break;
        case 'f': force = true; break;
        case 'i': in_place = true; break;
        case 'r': only_repo = optarg; break;
        case 'n': dry_run = true; break;
        case 'C': no_check = true; break;
        case 'D': to_database = optarg; break;
        case 't': tag = optarg; break;
        case 'T':
        case 'S': {
            const char **list = opt == 'T' ? tables : schemas;
            size_t *n = opt == 'T' ? &n_tables : &n_schemas;
            if (*n == MAX_ONLY)
                return cli_usage_error("restore", "at most %d --table and %d --schema", MAX_ONLY,
                                       MAX_ONLY);
            list[(*n)++] = optarg;
            break;
        }
        default: return cli_usage_error("restore", "unknown option");
        }
    }
    if (optind + 1 != argc)
        return cli_usage_error("restore", "expected one backup ID or 'latest'");
    if (n_includes && !files)
        return cli_usage_error("restore", "--include is for --files");
    if (files)
        return restore_files(ctx, argv[optind], database ? database : job, only_repo, tag, to,
                             in_place || to_database, includes, n_includes, dry_run);
    if (job)
        return cli_usage_error("restore", "--job is for --files: a database's backups are "
                                          "found by --database");
    if (!database)
        return cli_usage_error("restore", "--database is required");
    if ((to != NULL) + in_place + (to_database != NULL) != 1)
        return cli_usage_error("restore", "give one of --to PATH, --in-place, --to-database NAME");
    if ((n_tables || n_schemas) && !to_database)
        return cli_usage_error("restore", "--table and --schema restore into a new database: give "
                                          "--to-database NAME");
    int rc = cli_open_state(ctx);
    if (rc != 0)
        return rc;
    const ConfigDatabase *db = config_find_database(ctx->config, database);
    if (!db)
        return cli_usage_error("restore", "no [database %s] in '%s'", database, ctx->config->path);
    UkError err = {0};
    const ConfigRepository *repo = NULL;
    char id[64];
    if (cli_find_backup(ctx, only_repo, argv[optind], database, tag, &repo, id, sizeof id, &err) !=
        0)
        return cli_fail(&err);
    if (to_database && !db_has_feature(db->driver, DB_FEAT_RESTORE_SERVER))
        return cli_usage_error("restore", "database '%s' is a file: use --to PATH or --in-place",
                               database);
    bool server = db_has_feature(db->driver, DB_FEAT_RESTORE_SERVER);
    if (to && !db_has_feature(db->driver, DB_FEAT_RESTORE_FILE))
        return cli_usage_error("restore",
                               "database '%s' is on a server: use --to-database NAME or --in-place",
                               database);
    const char *target = in_place ? (server ? db->name : db->path) : to ? to : to_database;
    if (dry_run) {
        if (ctx->json)
            cli_print_json(json_pack("{s:b, s:s, s:s, s:s, s:b}", "dry_run", 1, "id", id,
                                     "repository", repo->name, "to", target, "in_place", in_place));
        else
            printf("would restore backup %s from '%s' to '%s'%s\n", id, repo->name, target,
                   in_place ? " (the current file kept aside)" : "");
        return 0;
    }
    RestoreRequest req = {.repository = repo,
                          .id = id,
                          .database = database,
                          .to_path = to_database || server ? NULL : target,
                          .server = db,
                          .to_database = to_database,
                          .only_tables = n_tables ? tables : NULL,
                          .only_schemas = n_schemas ? schemas : NULL,
                          .force = force,
                          .in_place = in_place,
                          .no_check = no_check,
                          .progress = cli_progress(ctx)};
    RestoreResult res;
    /* Replacing the database waits until no job works on it, and holds jobs off meanwhile. */
    int database_fd = -1;
    if (in_place && runner_lock_database(ctx->state, database, true, &database_fd, &err) != 0)
        return cli_fail(&err);
    rc = task_restore(&req, &res, &err);
    if (database_fd >= 0)
        close(database_fd);
    if (rc != 0)
        return cli_fail(&err);
    if (ctx->json) {
        cli_print_json(json_pack("{s:s, s:s, s:I, s:f, s:o, s:o}", "id", res.id, "to", target,
                                 "image_bytes", (json_int_t)res.image_size, "duration_seconds",
                                 res.seconds, "kept_aside",
                                 res.kept_aside[0] ? json_string(res.kept_aside) : json_null(),
                                 "check", res.check[0] ? json_string(res.check) : json_null()));
    } else if (!ctx->quiet) {
        char s[32], d[32];
        printf("restored backup %s to '%s' (%s, %s, %s)\n", res.id, target,
               format_size(res.image_size, s, sizeof s),
               res.check[0] ? "checked" : "chunks checked, database check skipped",
               format_duration(res.seconds, d, sizeof d));
        if (res.leftovers_removed)
            printf("removed %d temporary files that killed restores had left\n",
                   res.leftovers_removed);
        if (res.kept_aside[0])
            printf("the previous database was kept as '%s'\n", res.kept_aside);
    }
    return 0;
}
