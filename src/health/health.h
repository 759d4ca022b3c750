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

/* Records every check's status in the state database. Sets *CRITICAL_JOBS to the on_critical
 * jobs of databases that have a check which just turned critical (each job once), and
 * *CHANGES to the checks whose status changed. The caller frees both arrays. */
void health_record(const Config *config, State *st, const HealthReport *report,
                   const ConfigJob ***critical_jobs, size_t *n_jobs, HealthChange **changes,
                   size_t *n_changes);

const char *health_status_name(HealthStatus s);

/* {"status": ..., "checks": [{check, subject, status, value, unit, warning, critical,
 * message}]}; with ONLY_CHECK set, only the checks of that kind. `upkeep health --json` and
 * /health?detail=1 both answer with it. */
json_t *health_report_json(const HealthReport *report,
                           const char *only_check); /* "OK", "WARNING", "CRITICAL", "UNKNOWN" */

/* The first line for Nagios-style monitors: "UPKEEP OK - 14 checks ok | 'app_size'=...". */
void health_plugin_line(const HealthReport *report, char *buf, size_t len);

#endif
