/* upkeep import TABLE FILE: rows written by a report, an export or another tool back into a
 * table, all or none. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "common/util.h"
#include "db/row_store.h"
#include "task/row_input.h"

static void help(void)
{
    printf("Usage: upkeep import TABLE FILE [--database NAME] [--upsert]\n"
           "\n"
           "Insert the records of FILE into TABLE in one transaction: every record, or\n"
           "(when one is refused) none, with the refused record's number in the message.\n"
           "FILE's name gives its format: .jsonl (an object a line), .json (an array of\n"
           "objects) or .csv (a header line, then records), with .zst or .gz after it when\n"
           "compressed: what 'task = export' and 'task = report' write. Each record names\n"
           "its columns (JSON keys, CSV header); values as export writes them ({\"hex\": …}\n"
           "bytes; in CSV an unquoted empty field is NULL).\n"
           "\n"
           "Options:\n"
           "  -d, --database NAME  the [database] section (default: the only one)\n"
           "  -u, --upsert         a record whose primary key exists updates that row's\n"
           "                       columns it names instead of failing\n"
           "\n"
           "Exit status: 0 imported, 1 refused (nothing imported), 2 usage.\n");
}

int cmd_import(CliContext *ctx, int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        help();
        return 0;
    }
    static const struct option options[] = {
        {"database", required_argument, NULL, 'd'}, {"upsert", no_argument, NULL, 'u'}, {0}};
    const char *database = NULL;
    bool upsert = false;
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, "d:u", options, NULL)) != -1) {
        switch (opt) {
        case 'd': database = optarg; break;
        case 'u': upsert = true; break;
        default: return cli_usage_error("import", "unknown option");
        }
    }
    if (argc - optind != 2)
        return cli_usage_error("import", "expected TABLE FILE");
    const char *table = argv[optind], *file = argv[optind + 1];
    int rc = cli_load_config(ctx);
    if (rc != 0)
        return rc;
    const Config *c = ctx->config;
    if (!database && c->n_databases != 1)
        return cli_usage_error("import", "name the database: --database NAME");
    const ConfigDatabase *db = database ? config_find_database(c, database) : c->databases[0];
    if (!db)
        return cli_usage_error("import", "no [database %s] in '%s'", database, c->path);
    UkError err = {0};
    const RowStoreOps *ops = db_row_store(db, &err);
    RowInput *in = ops ? row_input_open(file, &err) : NULL;
    if (!in)
        return cli_fail(&err);
    uint64_t records = 0;
    double started = monotonic_seconds();
    rc = ops->import(db, table, upsert, row_input_next, in, &records, &err);
    row_input_close(in);
    if (rc != 0) {
        uk_error_prefix(&err, "'%s' into %s: nothing imported: ", file, table);
        return cli_fail(&err);
    }
    double seconds = monotonic_seconds() - started;
    if (ctx->json)
        cli_print_json(json_pack("{s:s, s:s, s:s, s:I, s:b, s:f}", "database", db->name, "table",
                                 table, "file", file, "records", (json_int_t)records, "upsert",
                                 upsert, "seconds", seconds));
    else if (!ctx->quiet)
        printf("imported %llu records from '%s' into %s (%s) in %.2f s\n",
               (unsigned long long)records, file, table, db->name, seconds);
    return 0;
}
