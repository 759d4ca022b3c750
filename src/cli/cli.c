#include "cli/cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/util.h"

int cli_load_config(CliContext *ctx)
{
    if (ctx->config)
        return 0;
    UkError err = {0};
    const char *path = config_default_path(ctx->config_path);
    if (config_load(path, &ctx->config, &err) != 0)
        return cli_fail(&err);
    if (ctx->config->timezone) {
        setenv("TZ", ctx->config->timezone, 1);
        tzset();
    }
    return 0;
}

int cli_open_state(CliContext *ctx)
{
    int rc = cli_load_config(ctx);
    if (rc != 0 || ctx->state)
        return rc;
    UkError err = {0};
    if (state_open(ctx->config->state, &ctx->state, &err) != 0)
        return cli_fail(&err);
    return 0;
}

int cli_fail(const UkError *err)
{
    fprintf(stderr, "upkeep: %s\n", err->msg[0] ? err->msg : "unknown error");
    return uk_error_exit_status(err->code);
}

int cli_usage_error(const char *command, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "upkeep %s: ", command);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'upkeep %s --help'.\n", command);
    va_end(ap);
    return 2;
}

bool cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return false;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return true;
    }
    return false;
}

void cli_print_json(json_t *doc)
{
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (text)
        puts(text);
    free(text);
    json_decref(doc);
}

bool cli_progress(const CliContext *ctx)
{
    return !ctx->quiet && !ctx->json;
}

json_t *cli_json_time(time_t t)
{
    if (t == 0)
        return json_null();
    char buf[32];
    return json_string(format_time_utc(t, buf, sizeof buf));
}

int cli_find_backup(CliContext *ctx, const char *only_repo, const char *id_or_latest,
                    const char *database, const ConfigRepository **repo_out, char *id_out,
                    size_t id_len, UkError *err)
{
    Config *c = ctx->config;
    time_t best_time = 0;
    *repo_out = NULL;
    if (only_repo && !config_find_repository(c, only_repo))
        return uk_error_set(err, UK_E_USAGE, 0, "no [repository %s] in '%s'", only_repo, c->path);
    for (size_t i = 0; i < c->n_repositories; i++) {
        const ConfigRepository *rc = c->repositories[i];
        if (only_repo && strcmp(rc->name, only_repo) != 0)
            continue;
        RepoOpenOpts opts = {.name = rc->name, .location = rc->path};
        Repo *repo = NULL;
        UkError e = {0};
        if (repo_open(&opts, &repo, &e) != 0) {
            if (e.code != UK_E_NOTFOUND) {
                *err = e;
                return -1;
            }
            continue;
        }
        char id[64];
        if (repo_resolve_backup(repo, id_or_latest, database, id, sizeof id, &e) == 0) {
            Manifest m;
            if (repo_read_manifest(repo, id, false, &m, &e) == 0 &&
                (!*repo_out || m.time > best_time)) {
                best_time = m.time;
                *repo_out = rc;
                snprintf(id_out, id_len, "%s", id);
            }
        } else if (e.code != UK_E_NOTFOUND) {
            *err = e;
            repo_close(repo);
            return -1;
        }
        repo_close(repo);
    }
    if (!*repo_out) {
        if (strcmp(id_or_latest, "latest") == 0)
            return uk_error_set(err, UK_E_NOTFOUND, 0, "no backups%s%s found",
                                database ? " of database " : "", database ? database : "");
        return uk_error_set(err, UK_E_NOTFOUND, 0, "no backup '%s' in any configured repository",
                            id_or_latest);
    }
    return 0;
}

void cli_summary_line(const char *summary_json, char *buf, size_t len)
{
    buf[0] = '\0';
    json_error_t jerr;
    json_t *doc = summary_json ? json_loads(summary_json, 0, &jerr) : NULL;
    if (!doc)
        return;
    const char *id = json_string_value(json_object_get(doc, "backup_id"));
    if (id) {
        char image[32], stored[32];
        size_t n = (size_t)snprintf(
            buf, len, "backup %s: image %s, stored %s new (%lld new chunks, %lld reused)", id,
            format_size((uint64_t)json_integer_value(json_object_get(doc, "image_bytes")), image,
                        sizeof image),
            format_size((uint64_t)json_integer_value(json_object_get(doc, "bytes_stored")), stored,
                        sizeof stored),
            (long long)json_integer_value(json_object_get(doc, "chunks_new")),
            (long long)json_integer_value(json_object_get(doc, "chunks_reused")));
        json_t *pruned = json_object_get(doc, "backups_pruned");
        if (pruned && n < len)
            n += (size_t)snprintf(buf + n, len - n, ", %lld pruned",
                                  (long long)json_integer_value(pruned));
        const char *verified = json_string_value(json_object_get(doc, "verified"));
        if (verified && n < len)
            snprintf(buf + n, len - n, ", verified %s", verified);
    } else if (json_object_get(doc, "rows_deleted") || json_object_get(doc, "rows_updated") ||
               json_object_get(doc, "rows_archived")) {
        bool dry = json_is_true(json_object_get(doc, "dry_run"));
        const char *verb = json_object_get(doc, "rows_updated")    ? "update"
                           : json_object_get(doc, "rows_archived") ? "archive"
                                                                   : "delete";
        json_t *rows = json_object_get(doc, "rows_updated") ? json_object_get(doc, "rows_updated")
                       : json_object_get(doc, "rows_archived")
                           ? json_object_get(doc, "rows_archived")
                           : json_object_get(doc, "rows_deleted");
        bool moved = json_integer_value(json_object_get(doc, "files_moved")) > 0;
        char bytes[32], batches[96] = "";
        if (!dry)
            snprintf(batches, sizeof batches, " in %lld transactions (longest %.1f ms)",
                     (long long)json_integer_value(json_object_get(doc, "batches")),
                     json_number_value(json_object_get(doc, "longest_transaction_ms")));
        snprintf(buf, len, "%s%s%s %lld rows%s; files: %lld %s (%s), %lld missing, %lld refused",
                 dry ? "would " : "", verb, dry ? "" : "d", (long long)json_integer_value(rows),
                 batches,
                 (long long)json_integer_value(
                     json_object_get(doc, moved ? "files_moved" : "files_deleted")),
                 dry ? (moved ? "to move" : "to delete") : (moved ? "moved" : "deleted"),
                 format_size((uint64_t)json_integer_value(json_object_get(doc, "file_bytes")),
                             bytes, sizeof bytes),
                 (long long)json_integer_value(json_object_get(doc, "files_missing")),
                 (long long)json_integer_value(json_object_get(doc, "files_refused")));
    } else if (json_object_get(doc, "size_before")) {
        bool dry = json_is_true(json_object_get(doc, "dry_run"));
        const char *mode = json_string_value(json_object_get(doc, "mode"));
        const char *skipped = json_string_value(json_object_get(doc, "skipped"));
        char before[32], after[32], freed[32];
        int64_t reclaimed = json_integer_value(json_object_get(doc, "bytes_reclaimed"));
        if (skipped && *skipped)
            snprintf(buf, len, "VACUUM skipped: %s", skipped);
        else if (dry)
            snprintf(buf, len, "would run VACUUM (%s) on %s with %lld free pages%s", mode,
                     format_size((uint64_t)json_integer_value(json_object_get(doc, "size_before")),
                                 before, sizeof before),
                     (long long)json_integer_value(json_object_get(doc, "freelist_before")),
                     mode && strcmp(mode, "full") == 0
                         ? "; a full VACUUM blocks the application's writers until it ends"
                         : "");
        else
            snprintf(buf, len,
                     "VACUUM (%s): %s -> %s, reclaimed %s (%.1f%%), longest "
                     "transaction %.1f ms",
                     mode,
                     format_size((uint64_t)json_integer_value(json_object_get(doc, "size_before")),
                                 before, sizeof before),
                     format_size((uint64_t)json_integer_value(json_object_get(doc, "size_after")),
                                 after, sizeof after),
                     format_size(reclaimed > 0 ? (uint64_t)reclaimed : 0, freed, sizeof freed),
                     json_number_value(json_object_get(doc, "percent_reclaimed")),
                     json_number_value(json_object_get(doc, "longest_transaction_ms")));
    } else if (json_object_get(doc, "rows_changed")) {
        snprintf(buf, len, "%s %lld rows in one transaction (%.1f ms)",
                 json_is_true(json_object_get(doc, "dry_run")) ? "would change" : "changed",
                 (long long)json_integer_value(json_object_get(doc, "rows_changed")),
                 json_number_value(json_object_get(doc, "longest_transaction_ms")));
    } else if (json_object_get(doc, "integrity_ok")) {
        snprintf(buf, len, "quick_check: %s, integrity_check: %s, foreign_key_check: %s",
                 json_string_value(json_object_get(doc, "quick_check")),
                 json_string_value(json_object_get(doc, "integrity_check"))[0]
                     ? json_string_value(json_object_get(doc, "integrity_check"))
                     : "not run",
                 json_string_value(json_object_get(doc, "foreign_key_check"))[0]
                     ? json_string_value(json_object_get(doc, "foreign_key_check"))
                     : "not run");
    }
    json_decref(doc);
}
