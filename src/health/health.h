/* Health: every check upkeep can make of the databases, their backups, the disks and the
 * jobs, each with its measured value, its thresholds and a status. `upkeep health`, the
 * daemon's /health and the metrics all read the same report. */
#ifndef UK_HEALTH_H
#define UK_HEALTH_H

#include <jansson.h>
#include <stddef.h>
#include <time.h>

#include "core/config.h"
#include "core/state.h"

/* Ordered by exit code (monitoring-plugins convention). */
typedef enum {
    HEALTH_OK = 0,
    HEALTH_WARNING = 1,
    HEALTH_CRITICAL = 2,
    HEALTH_UNKNOWN = 3
} HealthStatus;

typedef struct HealthCheck {
    char check[32];    /* kind: reachable, size, rows, pages, freelist, wal, integrity,
                          backup_age, verified_backup_age, disk_free, job */
    char subject[160]; /* database, table, path or job it is about */
    HealthStatus status;
    double value;             /* NAN when not measured */
    const char *unit;         /* "bytes", "seconds", "rows", "ratio", "" */
    double warning, critical; /* NAN: no threshold */
    char message[320];        /* one line for people */
} HealthCheck;

typedef struct HealthReport {
    HealthCheck *checks;
    size_t n;
    HealthStatus overall; /* the worst: CRITICAL > WARNING > UNKNOWN > OK */
    time_t at;
} HealthReport;

void health_evaluate(const Config *config, State *st, HealthReport *report);
void health_report_clear(HealthReport *report);

/* A check whose status differs from the one recorded before (a first record counts as a
 * change from OK). */
typedef struct HealthChange {
    size_t check; /* index into the report */
    HealthStatus from;
} HealthChange;

/* What a check that just turned critical sets off: a job to run, or a command. */
typedef struct HealthAction {
    const ConfigJob *job;
    const char *command; /* argv words, no shell */
    const char *key;     /* the key that asks for it, e.g. "on_maximum" */
    size_t check;        /* index into the report */
} HealthAction;

/* Records every check's status in the state database. Sets *ACTIONS to what checks that
 * just turned critical ask for (each job once): a database's on_critical for its checks,
 * on_maximum / on_maximum_command when it grows past size_maximum, the [upkeep] on_critical
 * for disk_free; and *CHANGES to the checks whose status changed. The caller frees both. */
void health_record(const Config *config, State *st, const HealthReport *report,
                   HealthAction **actions, size_t *n_actions, HealthChange **changes,
                   size_t *n_changes);

/* Runs ACTION's command (30 s at most) with the check in UPKEEP_EVENT, UPKEEP_CHECK,
 * UPKEEP_SUBJECT, UPKEEP_VALUE and UPKEEP_MESSAGE. */
int health_run_command(const HealthReport *report, const HealthAction *action, UkError *err);

const char *health_status_name(HealthStatus s);

/* {"status": ..., "checks": [{check, subject, status, value, unit, warning, critical,
 * message}]}; with ONLY_CHECK set, only the checks of that kind. `upkeep health --json` and
 * /health?detail=1 both answer with it. */
json_t *health_report_json(const HealthReport *report,
                           const char *only_check); /* "OK", "WARNING", "CRITICAL", "UNKNOWN" */

/* The first line for Nagios-style monitors: "UPKEEP OK - 14 checks ok | 'app_size'=...". */
void health_plugin_line(const HealthReport *report, char *buf, size_t len);

#endif
