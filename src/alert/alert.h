/* Alerts: which events reach which [alert] channels, and when. A job's failure counts toward
 * `after` consecutive failures; an open alert repeats at most every `repeat`; a success or a
 * check back to OK sends a recovery notice for an open alert; during `quiet_hours` only
 * critical alerts go out, the others wait until the quiet hours end (alerts_flush). Delivery
 * failures are logged and counted (metrics), never passed on to the job or the daemon. */
#ifndef UK_ALERT_H
#define UK_ALERT_H

#include "core/config.h"
#include "core/state.h"
#include "health/health.h"

/* The runner calls these around every run. */
void alerts_job_started(const Config *config, const ConfigJob *job);
void alerts_job_ended(const Config *config, State *st, const ConfigJob *job, const char *result,
                      const char *error);

/* After health_record(): CHANGES lists the checks whose status changed and what it was. */
void alerts_health(const Config *config, State *st, const HealthReport *report,
                   const HealthChange *changes, size_t n_changes);

/* Sends the alerts held back by quiet hours once they are over. */
void alerts_flush(const Config *config, State *st);

#endif
