/* upkeep calendar: when a schedule fires, as systemd-analyze calendar --iterations shows. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "sched/cron.h"
#include "sched/tz.h"

static void calendar_help(void)
{
    printf("Usage: upkeep calendar EXPRESSION [--from TIME] [--count N] [--tz ZONE]\n"
           "\n"
           "Prints the next times a cron expression fires, as RFC 3339 with the offset in\n"
           "force, daylight saving time applied the way the daemon applies it.\n"
           "\n"
           "  EXPRESSION   5 fields (minute hour day-of-month month day-of-week), 6 with\n"
           "               seconds first, or @hourly @daily @weekly @monthly @yearly;\n"
           "               quote it: upkeep calendar '0 3 * * *'\n"
           "  --from TIME  start after TIME (RFC 3339, or 'YYYY-MM-DD HH:MM' in the zone;\n"
           "               default: now)\n"
           "  --count N    how many times to print (default 5)\n"
           "  --tz ZONE    time zone, e.g. Europe/Berlin (default: the config's timezone\n"
           "               when a config is found, else local time)\n");
}

int cmd_calendar(CliContext *ctx, int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        calendar_help();
        return 0;
    }
    static const struct option options[] = {{"from", required_argument, NULL, 'f'},
                                            {"count", required_argument, NULL, 'n'},
                                            {"tz", required_argument, NULL, 'z'},
                                            {NULL, 0, NULL, 0}};
    const char *from = NULL, *zone = NULL;
    long count = 5;
    optind = 1;
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 'f': from = optarg; break;
        case 'z': zone = optarg; break;
        case 'n': {
            char *end = NULL;
            count = strtol(optarg, &end, 10);
            if (!*optarg || *end || count < 1 || count > 10000)
                return cli_usage_error("calendar", "--count needs a number from 1 to 10000");
            break;
        }
        default: return cli_usage_error("calendar", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind + 1 != argc)
        return cli_usage_error("calendar", "expected one cron expression (quote it)");
    const char *expr = argv[optind];
    if (zone && !tz_known(zone)) {
        fprintf(stderr, "upkeep: unknown time zone '%s'\n", zone);
        return 2;
    }
    CronSpec spec;
    char why[200];
    if (cron_parse(expr, &spec, why, sizeof why) != 0) {
        fprintf(stderr, "upkeep: schedule '%s': %s\n", expr, why);
        return 2;
    }
    TzScope scope;
    tz_enter(&scope, zone);
    time_t t = time(NULL);
    int rc = 0;
    if (from && tz_parse(from, &t) != 0) {
        rc = cli_usage_error("calendar", "--from: cannot read '%s' as a time", from);
        goto out;
    }
    json_t *times = json_array();
    if (!ctx->json)
        printf("%s%s%s\n", expr, zone ? " in " : "", zone ? zone : "");
    char buf[64];
    for (long i = 0; i < count; i++) {
        if (cron_next(&spec, zone, t, &t) != 0)
            break;
        tz_format(t, buf, sizeof buf);
        if (ctx->json)
            json_array_append_new(times, json_string(buf));
        else
            printf("  %s\n", buf);
    }
    if (ctx->json)
        cli_print_json(json_pack("{s:s, s:o, s:o}", "expression", expr, "timezone",
                                 zone ? json_string(zone) : json_null(), "next", times));
    else
        json_decref(times);
out:
    tz_leave(&scope);
    return rc;
}
