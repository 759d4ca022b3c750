/* The state database: run history and the backup catalogue, in one SQLite file.
 *
 * The schema is versioned with PRAGMA user_version and migrated forward inside an
 * IMMEDIATE transaction, so two upkeep processes starting at once migrate it once. WAL mode
 * and a busy timeout let concurrent processes read and write it safely.
 *
 * The catalogue mirrors what the repositories hold (they are the source of truth); it adds
 * what a repository cannot know, such as when each backup was last verified. */
#ifndef UK_STATE_H
#define UK_STATE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "core/error.h"

typedef struct State State;

typedef struct RunRecord {
    int64_t id;
    char job[128];
    char task[32];
    char trigger[16];
    time_t started_at, ended_at;
    char result[16]; /* running, success, failed, skipped, interrupted */
    char *summary;   /* JSON text, owned */
    char *error;     /* owned, may be NULL */
} RunRecord;

typedef struct BackupRecord {
    char id[64];
    char repository[128];
    char database[128];
    char job[128];
    time_t created_at;
    uint64_t image_size;
    uint64_t stored_bytes;
    char tags[256];
    char host[256];     /* the host that wrote it */
    time_t verified_at; /* 0: never */
    char verify_result[16];
} BackupRecord;

int state_open(const char *path, State **out, UkError *err);
void state_close(State *st);
const char *state_path(const State *st);
/* Closes the connection (before fork()) and opens it again. */
void state_suspend(State *st);
int state_resume(State *st, UkError *err);

int state_run_begin(State *st, const char *job, const char *task, const char *trigger,
                    int64_t *run_id, UkError *err);
int state_run_end(State *st, int64_t run_id, const char *result, const char *summary_json,
                  const char *error_msg, UkError *err);
/* Most recent run of job (0 when none, 1 when found). */
/* Ends the runs process PID left 'running' (it was stopped by a signal) with RESULT. */
int state_run_stopped(State *st, pid_t pid, const char *result, const char *error_msg,
                      UkError *err);
/* The run process PID recorded for JOB: 1 found, 0 none, -1 error. */
int state_run_of_process(State *st, const char *job, pid_t pid, RunRecord *out, UkError *err);
int state_last_run(State *st, const char *job, RunRecord *out, UkError *err);
/* Runs newest first; job NULL for all. Caller frees with state_runs_free. */
int state_history(State *st, const char *job, int limit, RunRecord **out, size_t *n, UkError *err);
/* How many runs of JOB ended in success or failure (not skipped, not running). */
int state_finished_runs(State *st, const char *job, int64_t *count, UkError *err);
void state_runs_free(RunRecord *runs, size_t n);

/* Records a health check's status; PREVIOUS gets the one recorded before ("" the first time),
 * so callers act once per transition. */
int state_health_set(State *st, const char *key, const char *status, double value,
                     const char *message, char *previous, size_t len, UkError *err);

/* Runs a read-only query over the state tables and calls ROW with each result row's columns
 * as text (NULL for SQL NULL). For reports such as the metrics. */
typedef void (*StateRowFn)(void *ctx, int n, const char *const *values);
int state_query(State *st, const char *sql, StateRowFn row, void *ctx, UkError *err);

/* What an alert knows about one subject (a job, or a health check). */
typedef struct AlertState {
    int failures;           /* consecutive */
    bool open;              /* an alert was sent and not yet resolved */
    time_t last_sent;       /* of the open alert */
    char pending_event[16]; /* held by quiet hours ("" none) */
    char pending_message[512];
} AlertState;
int state_alert_get(State *st, const char *alert, const char *subject, AlertState *out,
                    UkError *err);
/* The first subject of ALERT with an alert held by quiet hours: 1 found, 0 none, -1 error. */
int state_alert_next_pending(State *st, const char *alert, char *subject, size_t len,
                             AlertState *out, UkError *err);
int state_alert_put(State *st, const char *alert, const char *subject, const AlertState *in,
                    UkError *err);
int state_alert_delivered(State *st, const char *alert, const char *channel, bool ok, UkError *err);

/* When LOG was last rotated: 1 found, 0 never, -1 error. */
int state_rotation_get(State *st, const char *log, time_t *at, UkError *err);
int state_rotation_set(State *st, const char *log, time_t at, UkError *err);

int state_backup_upsert(State *st, const BackupRecord *b, UkError *err);
int state_backup_delete(State *st, const char *repository, const char *id, UkError *err);
int state_backup_set_verified(State *st, const char *repository, const char *id, time_t when,
                              const char *result, UkError *err);
/* Backups of a repository (NULL: all), oldest first. Caller frees *out. */
int state_backups(State *st, const char *repository, BackupRecord **out, size_t *n, UkError *err);

#endif
