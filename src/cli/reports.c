/* upkeep queries and upkeep indexes: what the database server knows about its slow statements
 * and its indexes, as a table for people and --json for scripts. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/util.h"
#include "db/db.h"

static void queries_help(void)
{
    printf("Usage: upkeep queries --database NAME [--threshold SECONDS] [--top N]\n"
           "\n"
           "The statements whose mean time is at least the threshold (default 1.0 s), slowest\n"
           "mean first, with their calls, mean and total time and rows, from the server's own\n"
           "record (PostgreSQL: pg_stat_statements; the command says how to turn it on when\n"
           "it is off).\n"
           "\n"
           "Options:\n"
           "  -d, --database NAME      the [database] to ask\n"
           "  -t, --threshold SECONDS  the least mean time to list (default 1.0)\n"
           "  -n, --top N              at most N statements (default 20, at most 50)\n"
           "\n"
           "Exit status: 0 listed (perhaps none), 1 the server keeps no record or failed.\n");
}

/* The statement on one line, at most WIDTH characters. */
static const char *one_line(const char *text, char *buf, size_t width)
{
    size_t n = 0;
    bool space = false;
    for (const char *p = text; *p && n + 1 < width; p++) {
        bool blank = *p == ' ' || *p == '\n' || *p == '\t' || *p == '\r';
        if (blank && (space || n == 0))
            continue;
        buf[n++] = blank ? ' ' : *p;
        space = blank;
    }
    buf[n] = '\0';
    return buf;
}

int cmd_queries(CliContext *ctx, int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        queries_help();
        return 0;
    }
    static const struct option options[] = {{"database", required_argument, NULL, 'd'},
                                            {"threshold", required_argument, NULL, 't'},
                                            {"top", required_argument, NULL, 'n'},
                                            {0}};
    const char *database = NULL;
    double threshold = 1.0;
    long top = 20;
    optind = 1;
    int opt;
    char *end;
    while ((opt = getopt_long(argc, argv, "d:t:n:", options, NULL)) != -1) {
        switch (opt) {
        case 'd': database = optarg; break;
        case 't':
            threshold = strtod(optarg, &end);
            if (*end || threshold < 0)
                return cli_usage_error("queries", "--threshold takes seconds, e.g. 0.5");
            break;
        case 'n':
            top = strtol(optarg, &end, 10);
            if (*end || top < 1 || top > DB_MAX_QUERIES)
                return cli_usage_error("queries", "--top takes 1 to %d", DB_MAX_QUERIES);
            break;
        default: return cli_usage_error("queries", "unknown option");
        }
    }
    if (!database || optind < argc)
        return cli_usage_error("queries", "name the database: --database NAME");
    int rc = cli_load_config(ctx);
    if (rc != 0)
        return rc;
    const ConfigDatabase *db = config_find_database(ctx->config, database);
    if (!db)
        return cli_usage_error("queries", "no [database %s] in '%s'", database, ctx->config->path);
    DbQueryReport *report = xcalloc(1, sizeof *report);
    UkError err = {0};
    if (db_slow_queries(db, threshold * 1000.0, (size_t)top, report, &err) != 0) {
        free(report);
        return cli_fail(&err);
    }
    if (!report->available) {
        fprintf(stderr, "upkeep: database '%s': %s\n", database, report->note);
        free(report);
        return 1;
    }
    if (ctx->json) {
        json_t *list = json_array();
        for (size_t i = 0; i < report->n; i++) {
            const DbQuery *q = &report->queries[i];
            json_array_append_new(list, json_pack("{s:s, s:I, s:f, s:f, s:I}", "query", q->text,
                                                  "calls", (json_int_t)q->calls, "mean_seconds",
                                                  q->mean_ms / 1000, "total_seconds",
                                                  q->total_ms / 1000, "rows", (json_int_t)q->rows));
        }
        cli_print_json(json_pack("{s:s, s:f, s:o}", "database", database, "threshold_seconds",
                                 threshold, "queries", list));
    } else if (!ctx->quiet) {
        printf("%zu statements in '%s' with a mean of %.3g s or more\n", report->n, database,
               threshold);
        if (report->n)
            printf("%10s %10s %10s %10s  %s\n", "mean s", "total s", "calls", "rows", "query");
        for (size_t i = 0; i < report->n; i++) {
            const DbQuery *q = &report->queries[i];
            char line[100];
            printf("%10.3f %10.1f %10.0f %10.0f  %s\n", q->mean_ms / 1000, q->total_ms / 1000,
                   q->calls, q->rows, one_line(q->text, line, sizeof line));
        }
    }
    free(report);
    return 0;
}

static void indexes_help(void)
{
    printf("Usage: upkeep indexes --database NAME [--apply]\n"
           "\n"
           "What the database's indexes cost and lack: indexes never scanned since the\n"
           "statistics were reset (unique and primary keys excepted), duplicates, invalid\n"
           "indexes left by failed builds, and foreign keys that no index starts with (a\n"
           "delete on the referenced table then scans the whole referencing one). Each comes\n"
           "with the SQL that would fix it. Nothing is changed unless --apply, which runs only\n"
           "what is safe: CREATE INDEX CONCURRENTLY for the foreign keys (writers keep\n"
           "working; a build that fails is dropped again). Dropping indexes stays yours.\n"
           "\n"
           "Options:\n"
           "  -d, --database NAME  the [database] to analyse\n"
           "      --apply          create the missing foreign-key indexes\n"
           "\n"
           "Exit status: 0 done (findings or not), 1 the analysis or an --apply step failed.\n");
}

int cmd_indexes(CliContext *ctx, int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        indexes_help();
        return 0;
    }
    static const struct option options[] = {
        {"database", required_argument, NULL, 'd'}, {"apply", no_argument, NULL, 'a'}, {0}};
    const char *database = NULL;
    bool apply = false;
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, "d:", options, NULL)) != -1) {
        if (opt == 'd')
            database = optarg;
        else if (opt == 'a')
            apply = true;
        else
            return cli_usage_error("indexes", "unknown option");
    }
    if (!database || optind < argc)
        return cli_usage_error("indexes", "name the database: --database NAME");
    int rc = cli_load_config(ctx);
    if (rc != 0)
        return rc;
    const ConfigDatabase *db = config_find_database(ctx->config, database);
    if (!db)
        return cli_usage_error("indexes", "no [database %s] in '%s'", database, ctx->config->path);
    DbIndexReport *report = xcalloc(1, sizeof *report);
    UkError err = {0};
    if (db_analyze_indexes(db, apply, report, &err) != 0) {
        free(report);
        return cli_fail(&err);
    }
    int status = 0;
    for (size_t i = 0; i < report->n; i++)
        status |= strncmp(report->findings[i].applied, "failed", 6) == 0;
    if (ctx->json) {
        json_t *list = json_array();
        for (size_t i = 0; i < report->n; i++) {
            const DbFinding *f = &report->findings[i];
            json_array_append_new(list,
                                  json_pack("{s:s, s:s, s:s, s:I, s:s, s:b, s:o}", "kind", f->kind,
                                            "object", f->object, "detail", f->detail, "size_bytes",
                                            (json_int_t)f->size_bytes, "suggestion", f->suggestion,
                                            "safe", f->safe, "applied",
                                            f->applied[0] ? json_string(f->applied) : json_null()));
        }
        cli_print_json(json_pack("{s:s, s:o}", "database", database, "findings", list));
    } else if (!ctx->quiet) {
        printf("%zu findings in '%s'\n", report->n, database);
        for (size_t i = 0; i < report->n; i++) {
            const DbFinding *f = &report->findings[i];
            char size[32];
            printf("%-16s %s (%s)\n  %s\n  %s%s%s\n", f->kind, f->object,
                   format_size(f->size_bytes, size, sizeof size), f->detail, f->suggestion,
                   f->applied[0] ? "\n  --apply: " : "", f->applied);
        }
    }
    free(report);
    return status;
}
