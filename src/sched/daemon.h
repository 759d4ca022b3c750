/* The daemon: runs each scheduled job when it is due, in a forked child process that calls
 * the same runner as `upkeep run` (same locks, records and summaries), so a run can be
 * stopped safely with SIGTERM (temporary files removed, transactions rolled back) and a
 * crash of one run never takes the daemon down.
 *
 * It sleeps on a timerfd armed for the next due time (woken early by signals, or by the
 * clock being set), never polls. Per job: no overlapping runs (a due tick during a run is
 * recorded as skipped, warned about once), jitter, a timeout (SIGTERM, then SIGKILL), retries
 * with doubling delays, and at start one catch-up run for a tick missed while it was down.
 * SIGHUP reloads the config (a bad one is logged and the old one kept); SIGTERM/SIGINT stop
 * starting jobs and give running ones `shutdown_grace` to finish. */
#ifndef UK_DAEMON_H
#define UK_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "core/config.h"
#include "core/state.h"

typedef struct DaemonOptions {
    const char *config_path; /* what SIGHUP reloads */
    /* One line for people from a run's JSON summary (may be NULL). */
    void (*describe)(const char *summary_json, char *buf, size_t len);
} DaemonOptions;

/* Runs until SIGTERM or SIGINT. Takes ownership of *config (reloads replace it). Returns 0
 * after a clean stop, -1 with ERR when it cannot start (e.g. another daemon holds the state). */
int daemon_run(const DaemonOptions *opts, Config **config, State *st, UkError *err);

/* Is a daemon running for this state database? Sets *pid when it is. */
bool daemon_is_running(const char *state_path, pid_t *pid);

#endif
