/* upkeep install: hand scheduling to systemd (the daemon as a service, or one timer per job)
 * or to cron. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/util.h"
#include "sched/install.h"

static void install_help(void)
{
    printf("Usage: upkeep install systemd [--timers] [--dir DIR] [--dry-run]\n"
           "       upkeep install cron [--file FILE] [--dry-run]\n"
           "\n"
           "systemd: writes upkeep.service, which runs 'upkeep daemon' for this config\n"
           "(then: systemctl daemon-reload && systemctl enable --now upkeep). With --timers,\n"
           "one upkeep-JOB.service and upkeep-JOB.timer per scheduled job instead: the cron\n"
           "schedule as OnCalendar= (in the job's time zone), Persistent=true from catch_up,\n"
           "RandomizedDelaySec= from jitter, TimeoutStartSec= from timeout.\n"
           "\n"
           "cron: writes a /etc/cron.d file with one line per scheduled job.\n"
           "\n"
           "The daemon is the recommended way: only it applies upkeep's daylight-saving\n"
           "policy, retries and skip records. Timers and cron run the same 'upkeep run'.\n"
           "\n"
           "The files carry the environment the plan needs: require_env variables (their\n"
           "value here, else the one require_env asks for) and the variables ${NAME} values\n"
           "name; secrets belong in /etc/default/upkeep, read when present. Disabled jobs\n"
           "(enabled = no) are left out.\n"
           "\n"
           "Options:\n"
           "  --dir DIR    where the systemd units go (default /etc/systemd/system)\n"
           "  --file FILE  the cron file (default /etc/cron.d/upkeep)\n"
           "  --timers     systemd: a timer per job instead of the daemon's service\n"
           "  -n, --dry-run  print the files instead of writing them\n");
}

int cmd_install(CliContext *ctx, int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        install_help();
        return 0;
    }
    static const struct option options[] = {{"dir", required_argument, NULL, 'd'},
                                            {"file", required_argument, NULL, 'f'},
                                            {"timers", no_argument, NULL, 't'},
                                            {"dry-run", no_argument, NULL, 'n'},
                                            {0}};
    const char *dir = NULL, *file = NULL;
    bool timers = false, dry_run = false;
    optind = 1;
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, "n", options, NULL)) != -1) {
        switch (opt) {
        case 'd': dir = optarg; break;
        case 'f': file = optarg; break;
        case 't': timers = true; break;
        case 'n': dry_run = true; break;
        default: return cli_usage_error("install", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind + 1 != argc)
        return cli_usage_error("install", "say 'systemd' or 'cron'");
    const char *target = argv[optind];
    bool systemd = strcmp(target, "systemd") == 0;
    if (!systemd && strcmp(target, "cron") != 0)
        return cli_usage_error("install", "unknown target '%s' (systemd or cron)", target);
    if ((systemd && file) || (!systemd && (dir || timers)))
        return cli_usage_error("install", "--dir and --timers are for systemd, --file for cron");
    int rc = cli_load_config(ctx);
    if (rc != 0)
        return rc;
    char upkeep[PATH_MAX], config[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", upkeep, sizeof upkeep - 1);
    if (n <= 0 || !realpath(ctx->config->path, config)) {
        fprintf(stderr, "upkeep: cannot resolve the paths of upkeep and its config\n");
        return 1;
    }
    upkeep[n] = '\0';
    InstallPlan plan;
    if (systemd)
        install_systemd(ctx->config, upkeep, config, timers, &plan);
    else
        install_cron(ctx->config, upkeep, config, &plan);
    char *folder = systemd ? xstrdup(dir ? dir : "/etc/systemd/system")
                           : path_dirname(file ? file : "/etc/cron.d/upkeep");
    UkError err = {0};
    json_t *written = json_array();
    for (size_t i = 0; i < plan.n_files && rc == 0; i++) {
        char *path = systemd || file == NULL ? xasprintf("%s/%s", folder, plan.files[i].name)
                                             : xstrdup(file);
        const char *text = plan.files[i].text;
        if (dry_run && !ctx->json)
            printf("# %s\n%s\n", path, text);
        else if (!dry_run && (mkdir_p(folder, 0755, &err) != 0 ||
                              write_file_atomic(path, text, strlen(text), false, &err) != 0))
            rc = cli_fail(&err);
        else if (!ctx->json && !ctx->quiet)
            printf("wrote %s\n", path);
        json_array_append_new(written, json_pack("{s:s, s:s}", "path", path, "text", text));
        free(path);
    }
    for (size_t i = 0; i < plan.n_notes; i++)
        fprintf(stderr, "upkeep: note: %s\n", plan.notes[i]);
    if (rc == 0 && !dry_run && !ctx->json && !ctx->quiet) {
        if (systemd && !timers)
            printf("next: systemctl daemon-reload && systemctl enable --now upkeep.service\n");
        else if (systemd)
            printf("next: systemctl daemon-reload && systemctl enable --now upkeep-JOB.timer "
                   "(for each job above)\n");
    }
    if (ctx->json)
        cli_print_json(
            json_pack("{s:s, s:b, s:o}", "target", target, "dry_run", dry_run, "files", written));
    else
        json_decref(written);
    free(folder);
    install_plan_free(&plan);
    return rc;
}
