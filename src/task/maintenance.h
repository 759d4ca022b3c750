/* The row and maintenance tasks: purge, vacuum, integrity. Each fills a result struct that
 * the runner stores as the run's summary; with dry_run nothing in the database or on disk
 * changes and the result says what would have happened. */
#ifndef UK_MAINTENANCE_H
#define UK_MAINTENANCE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "core/config.h"
#include "core/state.h"

typedef struct RowsResult {
    uint64_t rows; /* deleted, archived or updated; dry run: that would be */
    uint64_t batches;
    double longest_transaction_ms;
    uint64_t files_deleted, files_moved, files_missing, files_refused, files_recovered;
    uint64_t files_kept;    /* still named by a row that stays */
    uint64_t archive_files; /* jsonl/csv archives: files written */
    uint64_t file_bytes;
    char age_format[16];
    time_t cutoff;
    double seconds;
} RowsResult;

/* Runs a purge, archive or update job (see rows.c). state_dir holds the pending-files
 * journal. */
int task_rows(const ConfigJob *job, const char *state_dir, bool dry_run, RowsResult *res,
              UkError *err);

/* Moves rows staged by an archive job with a jsonl:// or csv:// destination into files (see
 * archive_files.c). Counts what it wrote. */
int archive_export_files(const ConfigJob *job, uint64_t *files, uint64_t *rows, UkError *err);

typedef struct SqlResult {
    uint64_t rows_changed;
    double transaction_ms;
} SqlResult;

/* Runs the job's statements in one transaction; with dry_run they run and are rolled back. */
int task_sql(const ConfigJob *job, bool dry_run, SqlResult *res, UkError *err);

typedef struct VacuumResult {
    uint64_t size_before, size_after;
    int64_t freelist_before, page_count_before, page_size;
    char mode[16];     /* full, incremental, skipped */
    char skipped[160]; /* why VACUUM was skipped, if it was */
    double longest_transaction_ms;
    double seconds;
    bool analyzed, optimized, reindexed, checkpointed;
    int64_t dead_before, dead_after; /* servers: dead row versions */
} VacuumResult;

int task_vacuum(const ConfigJob *job, bool dry_run, VacuumResult *res, UkError *err);

typedef struct CleanResult {
    uint64_t files_scanned, dirs_scanned, files_matched;
    uint64_t files_deleted, files_moved, files_skipped, files_failed, dirs_removed;
    uint64_t bytes;    /* of the files deleted or moved (or that would be) */
    size_t references; /* paths named by unreferenced_by */
    json_t *planned;   /* dry run: [{path, bytes, why}] (caller releases) */
    double seconds;
} CleanResult;

/* Deletes or moves the files of job->path that qualify (see clean.c). */
int task_clean(const ConfigJob *job, bool dry_run, CleanResult *res, UkError *err);

typedef struct DiskResult {
    json_t *paths; /* one report per path (caller releases) */
    uint64_t files, big_files;
    size_t unreadable;
    double seconds;
} DiskResult;

/* Reports space, largest folders and big files of job->paths (relative to CONFIG_DIR). */
int task_disk(const ConfigJob *job, const char *config_dir, DiskResult *res, UkError *err);

typedef struct RotateResult {
    uint64_t files_seen, files_rotated, files_skipped, files_compressed, files_removed;
    uint64_t bytes_rotated, bytes_removed;
    json_t *planned; /* dry run: [{path, bytes, why}] (caller releases) */
    double seconds;
} RotateResult;

/* Rotates the logs of job->files (globs relative to CONFIG_DIR); see rotate.c. */
int task_rotate(const ConfigJob *job, const char *config_dir, State *st, bool dry_run,
                RotateResult *res, UkError *err);

typedef struct IntegrityResult {
    char quick[256], full[256], foreign_keys[256]; /* "ok", the problems, or "" (not run) */
    bool ok;
    double seconds;
} IntegrityResult;

int task_integrity(const ConfigJob *job, IntegrityResult *res, UkError *err);

#endif
