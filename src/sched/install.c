#include "sched/install.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "core/env_expand.h"
#include "sched/cron.h"

/* Where a host keeps variables it does not want in unit files (secrets): read when present. */
#define ENVIRONMENT_FILE "/etc/default/upkeep"

static void add_file(InstallPlan *plan, char *name, char *text)
{
    plan->files = xrealloc(plan->files, (plan->n_files + 1) * sizeof *plan->files);
    plan->files[plan->n_files++] = (InstallFile){.name = name, .text = text};
}

static void add_note(InstallPlan *plan, char *note)
{
    for (size_t i = 0; i < plan->n_notes; i++)
        if (strcmp(plan->notes[i], note) == 0) { /* said once, however many units it concerns */
            free(note);
            return;
        }
    plan->notes = xrealloc(plan->notes, (plan->n_notes + 1) * sizeof *plan->notes);
    plan->notes[plan->n_notes++] = note;
}

/* A word for systemd's command lines: double-quoted, with \ and " escaped and % doubled
 * (systemd expands %-specifiers even inside quotes). */
static void put_systemd_word(FILE *out, const char *word)
{
    fputc('"', out);
    for (const char *p = word; *p; p++) {
        if (*p == '"' || *p == '\\')
            fputc('\\', out);
        if (*p == '%')
            fputc('%', out);
        fputc(*p, out);
    }
    fputc('"', out);
}

/* A word for /bin/sh in a crontab: single-quoted; cron itself turns % into a newline, so it
 * is escaped as \% (which cron removes the backslash from). */
static void put_shell_word(FILE *out, const char *word)
{
    fputc('\'', out);
    for (const char *p = word; *p; p++) {
        if (*p == '\'')
            fputs("'\\''", out);
        else if (*p == '%')
            fputs("\\%", out);
        else
            fputc(*p, out);
    }
    fputc('\'', out);
}

/* Unit names allow [A-Za-z0-9:_.-]; anything else is written as \xHH, as systemd-escape does. */
static char *unit_name(const char *job, const char *suffix)
{
    char *buf = xmalloc(4 * strlen(job) + strlen(suffix) + 16), *p = buf;
    p += sprintf(p, "upkeep-");
    for (const unsigned char *s = (const unsigned char *)job; *s; s++) {
        if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
            *s == '_' || *s == '-' || *s == ':' || (*s == '.' && s != (const unsigned char *)job))
            *p++ = (char)*s;
        else
            p += sprintf(p, "\\x%02x", *s);
    }
    sprintf(p, "%s", suffix);
    return buf;
}

/* The environment an installed schedule runs with: what require_env asks for and what the
 * config's ${NAME} values name, as NAME=value. Values come from the installing environment;
 * a require_env variable it lacks gets the value require_env asks for (the point of
 * installing a plan is that it runs). Secrets are left to ENVIRONMENT_FILE. */
typedef struct Environment {
    char **vars;
    size_t n;
    InstallPlan *plan;
} Environment;

static void env_add(Environment *env, const char *name, const char *value, const char *why)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < env->n; i++) {
        if (strncmp(env->vars[i], name, n) != 0 || env->vars[i][n] != '=')
            continue;
        if (strcmp(env->vars[i] + n + 1, value) != 0)
            add_note(env->plan, xasprintf("%s wants %s=%s, but %s is set: jobs that need the "
                                          "other value skip",
                                          why, name, value, env->vars[i]));
        return;
    }
    if (strchr(value, '\n')) {
        add_note(env->plan, xasprintf("%s: the value of %s holds a line break; set it in %s", why,
                                      name, ENVIRONMENT_FILE));
        return;
    }
    env->vars = xrealloc(env->vars, (env->n + 1) * sizeof *env->vars);
    env->vars[env->n++] = xasprintf("%s=%s", name, value);
}

static void env_add_requirement(Environment *env, const char *require_env, const char *why)
{
    if (!require_env)
        return;
    const char *eq = strchr(require_env, '=');
    char *name = xasprintf("%.*s", (int)(eq - require_env), require_env);
    const char *now = getenv(name);
    if (!now)
        add_note(env->plan, xasprintf("%s: %s is not set here, so the schedule sets %s as "
                                      "require_env asks; change it on hosts where it differs",
                                      why, name, require_env));
    env_add(env, name, now ? now : eq + 1, why);
    free(name);
}

static void env_add_reference(const char *name, void *arg)
{
    Environment *env = arg;
    const char *value = getenv(name);
    if (value && *value)
        env_add(env, name, value, "the config");
}

/* ONLY: the one job a timer runs; NULL: every job (the daemon, the cron file). */
static void environment_of(const Config *c, const ConfigJob *only, InstallPlan *plan,
                           Environment *env)
{
    *env = (Environment){.plan = plan};
    env_add_requirement(env, c->require_env, "[upkeep] require_env");
    for (size_t i = 0; i < c->n_jobs; i++) {
        const ConfigJob *job = c->jobs[i];
        if ((only && job != only) || !job->require_env || (!only && !job->enabled))
            continue;
        char why[300];
        snprintf(why, sizeof why, "job '%s'", job->name);
        env_add_requirement(env, job->require_env, why);
    }
    /* Every run reads the whole config, so every job needs every variable it names. */
    for (size_t i = 0; i < c->n_expansions; i++) {
        const ConfigExpansion *e = &c->expansions[i];
        if (e->secret)
            add_note(plan, xasprintf("line %d: %s takes a secret from the environment (%s): "
                                     "put it in %s",
                                     e->line, e->key, e->written, ENVIRONMENT_FILE));
        else
            env_names(e->written, env_add_reference, env);
    }
}

static void environment_free(Environment *env)
{
    for (size_t i = 0; i < env->n; i++)
        free(env->vars[i]);
    free(env->vars);
}

/* What a run of upkeep needs from its unit: the environment and the cache folder. */
static void put_systemd_run_settings(FILE *out, const Environment *env)
{
    for (size_t i = 0; i < env->n; i++) {
        fputs("Environment=", out);
        put_systemd_word(out, env->vars[i]);
        fputc('\n', out);
    }
    fprintf(out, "EnvironmentFile=-%s\n", ENVIRONMENT_FILE);
    /* /var/cache/upkeep, in CACHE_DIRECTORY: S3 repositories' index cache. */
    fprintf(out, "CacheDirectory=upkeep\n");
}

static const char *job_zone(const Config *c, const ConfigJob *job)
{
    return job->timezone ? job->timezone : c->timezone;
}

void install_systemd(const Config *c, const char *upkeep, const char *config, bool timers,
                     InstallPlan *plan)
{
    memset(plan, 0, sizeof *plan);
    char *text = NULL;
    size_t len = 0;
    if (!timers) {
        FILE *out = open_memstream(&text, &len);
        fprintf(out, "# Written by 'upkeep install systemd' for %s\n", config);
        fprintf(out, "[Unit]\n"
                     "Description=upkeep: scheduled database maintenance\n"
                     "Documentation=man:upkeep(1) man:upkeep.conf(5)\n"
                     "After=network-online.target\n"
                     "Wants=network-online.target\n"
                     "\n"
                     "[Service]\n"
                     "Type=simple\n");
        Environment env;
        environment_of(c, NULL, plan, &env);
        put_systemd_run_settings(out, &env);
        environment_free(&env);
        fputs("ExecStart=", out);
        put_systemd_word(out, upkeep);
        fputs(" -c ", out);
        put_systemd_word(out, config);
        fprintf(out,
                " daemon\n"
                "ExecReload=/bin/kill -HUP $MAINPID\n"
                "# SIGTERM goes to the daemon alone: it gives running jobs shutdown_grace,\n"
                "# then stops them safely itself.\n"
                "KillMode=mixed\n"
                "TimeoutStopSec=%llds\n"
                "Restart=on-failure\n"
                "RestartSec=10s\n"
                "\n"
                "[Install]\n"
                "WantedBy=multi-user.target\n",
                (long long)c->shutdown_grace + 30);
        fclose(out);
        add_file(plan, xstrdup("upkeep.service"), text);
        return;
    }
    for (size_t i = 0; i < c->n_jobs; i++) {
        const ConfigJob *job = c->jobs[i];
        if (!job->schedule)
            continue;
        if (!job->enabled) {
            add_note(plan, xasprintf("job '%s' is disabled (enabled = no): no timer", job->name));
            continue;
        }
        CronSpec spec;
        char why[200], calendar[4096];
        if (cron_parse(job->schedule, &spec, why, sizeof why) != 0 ||
            cron_to_oncalendar(&spec, job_zone(c, job), calendar, sizeof calendar) != 0) {
            add_note(plan, xasprintf("job '%s': schedule '%s' cannot be written as OnCalendar=",
                                     job->name, job->schedule));
            continue;
        }
        FILE *out = open_memstream(&text, &len);
        fprintf(out, "# Written by 'upkeep install systemd --timers' for %s\n", config);
        fprintf(out, "[Unit]\nDescription=upkeep job %s (%s)\nDocumentation=man:upkeep(1)\n\n",
                job->name, job->task);
        fprintf(out, "[Service]\nType=oneshot\n");
        Environment env;
        environment_of(c, job, plan, &env);
        put_systemd_run_settings(out, &env);
        environment_free(&env);
        fputs("ExecStart=", out);
        put_systemd_word(out, upkeep);
        fputs(" -c ", out);
        put_systemd_word(out, config);
        fputs(" -q run ", out);
        put_systemd_word(out, job->name);
        fputc('\n', out);
        if (job->timeout > 0)
            fprintf(out, "TimeoutStartSec=%llds\n", (long long)job->timeout);
        else
            fprintf(out, "TimeoutStartSec=infinity\n");
        fclose(out);
        add_file(plan, unit_name(job->name, ".service"), text);

        out = open_memstream(&text, &len);
        fprintf(out, "# Written by 'upkeep install systemd --timers' for %s\n", config);
        fprintf(out, "# schedule = %s%s%s\n", job->schedule, job_zone(c, job) ? " in " : "",
                job_zone(c, job) ? job_zone(c, job) : "");
        fprintf(out, "[Unit]\nDescription=upkeep schedule of job %s\n\n[Timer]\n", job->name);
        for (char *line = calendar, *nl; *line; line = nl + 1) {
            nl = strchr(line, '\n');
            fprintf(out, "OnCalendar=%.*s\n", (int)(nl - line), line);
        }
        fprintf(out, "AccuracySec=1s\n");
        if (job->catch_up)
            fprintf(out, "Persistent=true\n");
        if (job->jitter > 0)
            fprintf(out, "RandomizedDelaySec=%llds\n", (long long)job->jitter);
        fprintf(out, "\n[Install]\nWantedBy=timers.target\n");
        fclose(out);
        add_file(plan, unit_name(job->name, ".timer"), text);
        if (job->retries > 0)
            add_note(plan, xasprintf("job '%s': retries are done by 'upkeep daemon' only; "
                                     "timers run it once per tick",
                                     job->name));
    }
}

void install_cron(const Config *c, const char *upkeep, const char *config, InstallPlan *plan)
{
    memset(plan, 0, sizeof *plan);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    fprintf(out,
            "# Written by 'upkeep install cron' for %s\n"
            "# cron runs each job on its schedule; 'upkeep daemon' adds catch-up, retries,\n"
            "# timeouts and the daylight-saving policy of upkeep.conf(5).\n"
            "SHELL=/bin/sh\n"
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n",
            config);
    /* cron takes NAME=value lines as they are, or quoted to keep blanks at the ends. */
    Environment env;
    environment_of(c, NULL, plan, &env);
    for (size_t i = 0; i < env.n; i++) {
        const char *eq = strchr(env.vars[i], '=');
        if (!strchr(eq + 1, '"'))
            fprintf(out, "%.*s=\"%s\"\n", (int)(eq - env.vars[i]), env.vars[i], eq + 1);
        else if (!strchr(eq + 1, '\''))
            fprintf(out, "%.*s='%s'\n", (int)(eq - env.vars[i]), env.vars[i], eq + 1);
        else
            add_note(plan, xasprintf("%.*s holds both kinds of quote, which a cron file cannot "
                                     "carry; set it in the job's environment by hand",
                                     (int)(eq - env.vars[i]), env.vars[i]));
    }
    environment_free(&env);
    /* Jobs in the system's zone first: a cron file cannot unset CRON_TZ once set. */
    const char *zone_in_force = NULL;
    for (int zoned = 0; zoned < 2; zoned++) {
        for (size_t i = 0; i < c->n_jobs; i++) {
            const ConfigJob *job = c->jobs[i];
            const char *zone = job_zone(c, job);
            if (!job->schedule || (zone != NULL) != zoned)
                continue;
            if (!job->enabled) {
                add_note(plan,
                         xasprintf("job '%s' is disabled (enabled = no): left out", job->name));
                continue;
            }
            CronSpec spec;
            char why[200];
            if (cron_parse(job->schedule, &spec, why, sizeof why) != 0 || spec.has_seconds) {
                add_note(plan, xasprintf("job '%s': schedule '%s' has a seconds field, which "
                                         "cron does not have; left out",
                                         job->name, job->schedule));
                continue;
            }
            if (zone && (!zone_in_force || strcmp(zone, zone_in_force) != 0)) {
                /* Honoured by cronie and busybox; Debian's cron uses the system zone. */
                fprintf(out, "CRON_TZ=%s\n", zone);
                zone_in_force = zone;
            }
            fprintf(out, "%s root ", job->schedule);
            put_shell_word(out, upkeep);
            fputs(" -c ", out);
            put_shell_word(out, config);
            fputs(" -q run ", out);
            put_shell_word(out, job->name);
            fputc('\n', out);
        }
    }
    fclose(out);
    add_file(plan, xstrdup("upkeep"), text);
}

void install_plan_free(InstallPlan *plan)
{
    for (size_t i = 0; i < plan->n_files; i++) {
        free(plan->files[i].name);
        free(plan->files[i].text);
    }
    for (size_t i = 0; i < plan->n_notes; i++)
        free(plan->notes[i]);
    free(plan->files);
    free(plan->notes);
    memset(plan, 0, sizeof *plan);
}
