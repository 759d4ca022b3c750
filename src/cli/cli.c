#include "cli/cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/util.h"
#include "task/task.h"

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
                    const char *database, const char *tag, const ConfigRepository **repo_out,
                    char *id_out, size_t id_len, UkError *err)
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
        Repo *repo = NULL;
        UkError e = {0};
        if (task_open_repo(rc, false, &repo, &e) != 0) {
            if (e.code != UK_E_NOTFOUND) {
                *err = e;
                return -1;
            }
            continue;
        }
        char id[64];
        if (repo_resolve_backup(repo, id_or_latest, database, tag, id, sizeof id, &e) == 0) {
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
            return uk_error_set(err, UK_E_NOTFOUND, 0, "no backups%s%s%s%s found",
                                database ? " of database " : "", database ? database : "",
                                tag ? " tagged " : "", tag ? tag : "");
        return uk_error_set(err, UK_E_NOTFOUND, 0, "no backup '%s' in any configured repository",
                            id_or_latest);
    }
    return 0;
}
