/* Vacuum: give free pages back to the file system and refresh statistics.
 *
 * A full VACUUM rewrites the whole database and blocks the application's writers for its
 * whole run (7.3 s for 1 GiB in our measurements), and needs free disk space for a second
 * copy plus the WAL. So it is skipped when free pages are a small share of the file
 * (min_free_percent), refused when the disk cannot hold it, and --dry-run says all of this.
 * For databases with auto_vacuum = INCREMENTAL, `vacuum = incremental` frees pages in small
 * transactions within the same budget as purge. */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>

#include "common/util.h"
#include "core/log.h"
#include "task/maintenance.h"
#include "db/sqlite/sqlite_ops.h"

static uint64_t file_size(const char *path)
{
    struct stat st;
    uint64_t total = 0;
    if (stat(path, &st) == 0)
        total = (uint64_t)st.st_size;
    return total;
}

static int incremental(sqlite3 *db, const ConfigJob *job, VacuumResult *res, UkError *err)
{
    int64_t pages = 16;
    double ms_per_page = -1;
    sqlite_ops_own_checkpoints(db);
    while (sqlite_ops_int(db, "PRAGMA freelist_count") > 0) {
        if (ms_per_page > 0)
            pages = (int64_t)fmax(1, fmin(2 * pages, job->transaction_budget * 0.7 / ms_per_page));
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA incremental_vacuum(%lld)", (long long)pages);
        if (sqlite_ops_exec(db, "BEGIN IMMEDIATE", err) != 0)
            return -1;
        double t0 = monotonic_seconds();
        if (sqlite_ops_exec(db, sql, err) != 0 || sqlite_ops_exec(db, "COMMIT", err) != 0) {
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            return -1;
        }
        double ms = sqlite_ops_elapsed_ms(t0);
        if (ms > res->longest_transaction_ms)
            res->longest_transaction_ms = ms;
        log_debug("job=%s incremental pages=%lld lock_ms=%.1f at=%.3f", job->name, (long long)pages,
                  ms, t0);
        ms_per_page = fmax(0.0005, ms / (double)pages);
        sqlite_ops_between_batches(db, job->pause);
    }
    return 0;
}

int task_vacuum(const ConfigJob *job, bool dry_run, VacuumResult *res, UkError *err)
{
    memset(res, 0, sizeof *res);
    double started = monotonic_seconds();
    const char *path = job->database->path;
    sqlite3 *db = NULL;
    int rc = -1;
    if (sqlite_ops_open(path, &db, err) != 0) {
        uk_error_prefix(err, "database '%s': ", job->database->name);
        return -1;
    }
    res->size_before = file_size(path);
    res->freelist_before = sqlite_ops_int(db, "PRAGMA freelist_count");
    res->page_count_before = sqlite_ops_int(db, "PRAGMA page_count");
    res->page_size = sqlite_ops_int(db, "PRAGMA page_size");
    snprintf(res->mode, sizeof res->mode, "%s", job->vacuum);
    double free_percent = res->page_count_before > 0 ? 100.0 * (double)res->freelist_before /
                                                           (double)res->page_count_before
                                                     : 0;
    if (strcmp(job->vacuum, "full") == 0) {
        uint64_t db_bytes = (uint64_t)res->page_count_before * (uint64_t)res->page_size;
        char *dir = path_dirname(path);
        struct statvfs vfs;
        uint64_t available = statvfs(dir, &vfs) == 0 ? (uint64_t)vfs.f_bavail * vfs.f_frsize : 0;
        free(dir);
        if (free_percent < job->min_free_percent) {
            snprintf(res->skipped, sizeof res->skipped,
                     "free pages are %.1f%% of the file, below min_free_percent = %d", free_percent,
                     job->min_free_percent);
            snprintf(res->mode, sizeof res->mode, "skipped");
        } else if (available < 2 * db_bytes) {
            char need[32], have[32];
            rc = uk_error_set(err, UK_E_NOSPACE, 0,
                              "database '%s': VACUUM needs about %s free next to the database "
                              "(a copy plus its journal); %s available",
                              job->database->name, format_size(2 * db_bytes, need, sizeof need),
                              format_size(available, have, sizeof have));
            goto out;
        } else if (!dry_run) {
            double t0 = monotonic_seconds();
            if (sqlite_ops_exec(db, "VACUUM", err) != 0)
                goto out;
            res->longest_transaction_ms = sqlite_ops_elapsed_ms(t0);
        }
    } else if (strcmp(job->vacuum, "incremental") == 0) {
        if (sqlite_ops_int(db, "PRAGMA auto_vacuum") != 2) {
            rc = uk_error_set(err, UK_E_CONFIG, 0,
                              "database '%s' is not in auto_vacuum = INCREMENTAL mode; use "
                              "vacuum = full (switching needs one full VACUUM after "
                              "PRAGMA auto_vacuum = INCREMENTAL)",
                              job->database->name);
            goto out;
        }
        if (!dry_run && incremental(db, job, res, err) != 0)
            goto out;
    }
    if (!dry_run) {
        static const struct {
            size_t offset;
            const char *sql;
        } steps[] = {{offsetof(ConfigJob, reindex), "REINDEX"},
                     {offsetof(ConfigJob, analyze), "ANALYZE"},
                     {offsetof(ConfigJob, optimize), "PRAGMA optimize"}};
        bool *done[] = {&res->reindexed, &res->analyzed, &res->optimized};
        for (size_t i = 0; i < 3; i++) {
            if (!*(const bool *)((const char *)job + steps[i].offset))
                continue;
            if (sqlite_ops_exec(db, steps[i].sql, err) != 0)
                goto out;
            *done[i] = true;
        }
        if (job->checkpoint) {
            sqlite_ops_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL);
            res->checkpointed = true;
        }
    }
    rc = 0;
out:
    sqlite3_close(db);
    res->size_after = dry_run ? res->size_before : file_size(path);
    res->seconds = monotonic_seconds() - started;
    return rc;
}
