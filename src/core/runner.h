/* The runner: runs one job the same way whether a person typed `upkeep run` or (later) the
 * scheduler fired it. It takes the job's lock so a job never runs twice at once, records the
 * run (start, end, result, JSON summary) in the state database, and turns task errors into a
 * failed run instead of exiting. */
#ifndef UK_RUNNER_H
#define UK_RUNNER_H

#include <stdbool.h>

#include "core/config.h"
#include "core/state.h"

typedef struct RunOutcome {
    int64_t run_id;
    char result[16];    /* success, failed, skipped */
    char *summary_json; /* owned; the run's figures */
    double seconds;
    UkError error; /* set when result is not success */
} RunOutcome;

typedef struct RunOptions {
    const char *trigger; /* "manual" or "schedule" */
    bool progress;
    bool dry_run; /* report what would happen; nothing changes, nothing is recorded */
    bool force;   /* run a job even when it is disabled (enabled = no) */
} RunOptions;

/* Returns 0 when the job ran (successfully or not: see outcome->result), -1 when it could
 * not start (already running, state database unusable). */
int runner_run_job(const Config *config, State *st, const ConfigJob *job, const RunOptions *opts,
                   RunOutcome *outcome, UkError *err);
void run_outcome_clear(RunOutcome *outcome);

/* Jobs on one database share its lock; VACUUM and an in-place restore take it exclusively.
 * Blocks until granted (saying so at info level). Close *fd_out to release. */
int runner_lock_database(State *st, const char *database, bool exclusive, int *fd_out,
                         UkError *err);

#endif
