/* Vacuum: give free pages back to the file system and refresh statistics.
 *
 * A full VACUUM rewrites the whole database and blocks the application's writers for its
 * whole run (7.3 s for 1 GiB in our measurements), and needs free disk space for a second
 * copy plus the WAL. So it is skipped when free pages are a small share of the file
 * (min_free_percent), refused when the disk cannot hold it, and --dry-run says all of this.
 * For databases with auto_vacuum = INCREMENTAL, `vacuum = incremental` frees pages in small
 * transactions within the same budget as purge. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>

#include "common/util.h"
#include "core/log.h"
#include "db/db.h"
#include "task/maintenance.h"
#include "db/sqlite/batch.h"
#include "db/sqlite/sqlite_ops.h"

static uint64_t file_size(const char *path)
{
    struct stat st;
    uint64_t total = 0;
    if (stat(path, &st) == 0)
        total = (uint64_t)st.st_size;
    return total;
}

static bool pages_left(sqlite3_stmt *free_pages)
{
    bool left = sqlite3_step(free_pages) == SQLITE_ROW && sqlite3_column_int64(free_pages, 0) > 0;
    sqlite3_reset(free_pages);
    return left;
}

/* Frees pages eight at a time, in batches that end when their time is up or about 1,000
 * pages were changed (db/sqlite/batch.c). */
static int incremental(sqlite3 *db, const ConfigJob *job, VacuumResult *res, UkError *err)
{
    sqlite3_stmt *step = NULL, *free_pages = NULL;
    if (sqlite3_prepare_v2(db, "PRAGMA incremental_vacuum(8)", -1, &step, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "PRAGMA freelist_count", -1, &free_pages, NULL) != SQLITE_OK) {
        sqlite3_finalize(step);
        return uk_error_set(err, UK_E_DB, 0, "%s", sqlite3_errmsg(db));
    }
    SqliteBatch batch;
    sqlite_batch_start(&batch, db, job->transaction_budget, job->pause);
    int rc = 0;
    bool more = pages_left(free_pages);
    while (more && rc == 0) {
        if (sqlite_batch_begin(&batch, err) != 0) {
            rc = -1;
            break;
        }
        int steps = 0;
        do {
            while (sqlite3_step(step) == SQLITE_ROW)
                ;
            if (sqlite3_reset(step) != SQLITE_OK) {
                rc = uk_error_set(err, UK_E_DB, 0, "incremental vacuum: %s", sqlite3_errmsg(db));
                break;
            }
            steps++;
            more = pages_left(free_pages);
        } while (more && sqlite_batch_time_left(&batch, (size_t)steps));
        if (rc != 0) {
            sqlite_batch_rollback(&batch);
            break;
        }
        if (sqlite_batch_commit(&batch, (size_t)steps, err) != 0) {
            rc = -1;
            break;
        }
        log_debug("job=%s incremental steps=%d of 8 pages", job->name, steps);
    }
    res->longest_transaction_ms = batch.longest_ms;
    sqlite_batch_finish(&batch);
    sqlite3_finalize(step);
    sqlite3_finalize(free_pages);
    return rc;
}

/* A database on a server: its driver runs the steps there (db_maintain). */
static int vacuum_on_server(const ConfigJob *job, bool dry_run, VacuumResult *res, UkError *err)
{
    double started = monotonic_seconds();
    DbMaintainRequest req = {.vacuum = strcmp(job->vacuum, "none") != 0,
                             .analyze = job->analyze,
                             .reindex = job->reindex,
                             .dry_run = dry_run,
                             .min_free_percent = (unsigned)job->min_free_percent};
    DbMaintainResult r;
    if (db_maintain(job->database, &req, &r, err) != 0)
        return -1;
    snprintf(res->mode, sizeof res->mode, "%s",
             r.mode[0]    ? r.mode
             : req.vacuum ? "vacuum"
                          : "none");
    snprintf(res->skipped, sizeof res->skipped, "%s", r.skipped);
    res->size_before = r.size_before;
    res->size_after = dry_run ? r.size_before : r.size_after;
    res->dead_before = r.dead_before;
    res->dead_after = r.dead_after;
    res->analyzed = r.analyzed;
    res->reindexed = r.reindexed;
    res->seconds = monotonic_seconds() - started;
    return 0;
}

int task_vacuum(const ConfigJob *job, bool dry_run, VacuumResult *res, UkError *err)
{
    memset(res, 0, sizeof *res);
    if (db_has_feature(job->database->driver, DB_FEAT_MAINTENANCE))
        return vacuum_on_server(job, dry_run, res, err);
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
