/* upkeep check: validate the configuration, or print the reference of every key. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/preflight.h"

static void help(void)
{
    printf("Usage: upkeep check [--keys[=scdoc]]\n"
           "\n"
           "Validate the configuration file, and what a run would fail on that can be known\n"
           "without running: tables and columns row jobs name, folders, an archive that is\n"
           "the database itself, secret files readable by others. Errors are printed as\n"
           "FILE:LINE: message. Values that name environment variables (${NAME},\n"
           "${NAME:-default}) are listed with the value this environment gives them.\n"
           "\n"
           "Options:\n"
           "  --keys[=scdoc]  print every configuration key with its type, default and help\n"
           "\n"
           "Exit status: 0 valid, 2 invalid.\n");
}

int cmd_check(CliContext *ctx, int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        help();
        return 0;
    }
    static const struct option options[] = {{"keys", optional_argument, NULL, 'k'}, {0}};
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        if (opt == 'k') {
            config_print_keys(stdout, optarg ? optarg : "text");
            return 0;
        }
        return cli_usage_error("check", "unknown option");
    }
    if (optind < argc)
        return cli_usage_error("check", "unexpected argument '%s'", argv[optind]);
    int rc = cli_load_config(ctx);
    if (rc != 0)
        return rc;
    Config *c = ctx->config;
    UkError err = {0};
    if (preflight_config(c, &err) != 0)
        return cli_fail(&err);
    if (ctx->json) {
        json_t *expanded = json_array();
        for (size_t i = 0; i < c->n_expansions; i++) {
            const ConfigExpansion *e = &c->expansions[i];
            json_array_append_new(expanded,
                                  json_pack("{s:i, s:s, s:s, s:s}", "line", e->line, "key", e->key,
                                            "written", e->written, "used", e->used));
        }
        cli_print_json(json_pack("{s:b, s:s, s:i, s:i, s:i, s:i, s:o}", "valid", 1, "config",
                                 c->path, "databases", (int)c->n_databases, "repositories",
                                 (int)c->n_repositories, "jobs", (int)c->n_jobs, "alerts",
                                 (int)c->n_alerts, "expanded", expanded));
    } else if (!ctx->quiet) {
        printf("%s: ok (%zu database%s, %zu repositor%s, %zu job%s, %zu alert%s)\n", c->path,
               c->n_databases, c->n_databases == 1 ? "" : "s", c->n_repositories,
               c->n_repositories == 1 ? "y" : "ies", c->n_jobs, c->n_jobs == 1 ? "" : "s",
               c->n_alerts, c->n_alerts == 1 ? "" : "s");
        /* What the environment made of the values that name it: the host's answer, not the
         * file's. */
        for (size_t i = 0; i < c->n_expansions; i++) {
            const ConfigExpansion *e = &c->expansions[i];
            printf("  line %d: %s = %s (written %s)\n", e->line, e->key, e->used, e->written);
        }
    }
    return 0;
}
