/* A job's schedule in its configuration: its zone and its next fire time. */
#ifndef UK_SCHEDULE_H
#define UK_SCHEDULE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "core/config.h"

/* The job's time zone: its own, else the [upkeep] one, else NULL (local time). */
const char *schedule_zone(const Config *config, const ConfigJob *job);
/* The next run after AFTER; false when the job has no schedule. */
bool schedule_next(const Config *config, const ConfigJob *job, time_t after, time_t *next);
/* The next run as RFC 3339 in the job's zone, "-" without a schedule, "disabled" for a job
 * with enabled = no. */
const char *schedule_next_text(const Config *config, const ConfigJob *job, char *buf, size_t len);

#endif
