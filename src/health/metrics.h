/* Metrics in the Prometheus text format: per job (last run, last success, duration, result,
 * runs and failures, rows, files, bytes reclaimed), per backup target (newest backup's time,
 * size and stored bytes, last verification, count, repository size), and the figures and
 * statuses of a health report (database size, WAL, pages, freelist, table rows, disk free). */
#ifndef UK_METRICS_H
#define UK_METRICS_H

#include "core/config.h"
#include "core/state.h"
#include "health/health.h"

/* Returns the exposition text (caller frees). */
char *metrics_render(const Config *config, State *st, const HealthReport *report);

#endif
