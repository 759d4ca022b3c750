/* Batched writes beside a live application.
 *
 * Batches end by the clock: the caller asks sqlite_batch_time_left() between rows, and the
 * batch commits once its lock hold plus the expected COMMIT would reach the budget. Sizing
 * batches by a row count measured on the previous batch let them overrun to twice the
 * budget whenever rows turned out dearer (pages no longer cached, a checkpoint's I/O).
 * A batch also ends once it has changed about BATCH_PAGES pages (estimated from the pages
 * per row of the previous batch), which the connection's page cache holds until COMMIT.
 *
 * Why pages: under a steady writer the write-ahead log seldom starts over, so it stays past
 * the application's automatic checkpoint (1000 frames), and then the application checkpoints
 * right after each of its commits, inside the call. Whatever of our batch it finds still
 * uncheckpointed it copies and syncs there. With the default 2 MiB cache (500 pages) batches
 * spilled into the log halfway and 1,100-1,400-page batches gave the application 50-65 ms
 * commits; with a 16 MiB cache 1,000-page batches keep them at 19-27 ms while the purge runs
 * at 0.86-0.97 of a single DELETE's speed (850 pages: 0.73-0.77; 1,200: 25-35 ms stalls), in
 * bench/maintenance.sh.
 *
 * Our own checkpoints (PASSIVE: they never block writers) run on a thread with its own
 * connection, started as soon as our batches wrote 200 pages since the last one, so that copying
 * and syncing overlap the wait for the application and our next batch instead of adding to them
 * (the purge took 1.4-1.6 s instead of 1.6-1.9 s), and so that the application's checkpoints mostly
 * find ours running and return at once.
 *
 * Between batches we wait until another connection has committed (PRAGMA data_version
 * moves) and then until writers have been quiet for 2 ms, so that a queue of writers, and a
 * writer's checkpoint after its commit, finish before our next batch competes with them for
 * the disk (a 1 ms quiet time gave worst stalls of 40-90 ms). `pause` bounds the wait when
 * nobody writes. */
#include "db/sqlite/batch.h"

#include <string.h>
#include <time.h>

#include "common/util.h"
#include "core/log.h"
#include "db/sqlite/sqlite_ops.h"

#define BATCH_PAGES 1000
#define FIRST_BATCH 16 /* rows or steps */
#define CHECKPOINT_FRAMES 200
#define POLL_NS 250000L     /* how often the wait between batches looks at data_version */
#define QUIET_MS 2.0        /* writers quiet this long after a commit: the queue has drained */
#define COMMIT_SPARE_MS 1.0 /* added to the expected COMMIT time */

static int on_wal_commit(void *arg, sqlite3 *db, const char *name, int frames)
{
    (void)db;
    if (strcmp(name, "main") == 0) /* not an attached archive */
        ((SqliteBatch *)arg)->wal_frames = frames;
    return SQLITE_OK;
}

static int pages_written(sqlite3 *db)
{
    int current = 0, highest = 0;
    sqlite3_db_status(db, SQLITE_DBSTATUS_CACHE_WRITE, &current, &highest, 0);
    return current;
}

static void *checkpointer(void *arg)
{
    SqliteBatch *b = arg;
    pthread_mutex_lock(&b->lock);
    for (;;) {
        while (!b->checkpoint_due && !b->stopping)
            pthread_cond_wait(&b->wake, &b->lock);
        if (b->stopping)
            break;
        b->checkpoint_due = false;
        pthread_mutex_unlock(&b->lock);
        double t = monotonic_seconds();
        int log_frames = 0;
        int done_frames = 0;
        int rc = sqlite3_wal_checkpoint_v2(b->checkpoint_db, "main", SQLITE_CHECKPOINT_PASSIVE,
                                           &log_frames, &done_frames);
        log_debug("checkpoint: %d of %d frames in %.1f ms, at %.3f", done_frames, log_frames,
                  sqlite_ops_elapsed_ms(t), t);
        pthread_mutex_lock(&b->lock);
        if (rc == SQLITE_OK)
            b->checkpointed_at = log_frames;
        b->checkpoint_ms += sqlite_ops_elapsed_ms(t);
    }
    pthread_mutex_unlock(&b->lock);
    return NULL;
}

/* Only a database in WAL mode gets the checkpoint thread (a rollback journal has no log to
 * checkpoint); without one, checkpoints run between batches on db itself. */
static void start_checkpointer(SqliteBatch *b)
{
    const char *path = sqlite3_db_filename(b->db, "main");
    sqlite3_stmt *stmt = NULL;
    bool wal = sqlite3_prepare_v2(b->db, "PRAGMA journal_mode", -1, &stmt, NULL) == SQLITE_OK &&
               sqlite3_step(stmt) == SQLITE_ROW &&
               strcmp((const char *)sqlite3_column_text(stmt, 0), "wal") == 0;
    sqlite3_finalize(stmt);
    if (!wal || !path || !*path)
        return;
    if (sqlite3_open_v2(path, &b->checkpoint_db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        sqlite3_close(b->checkpoint_db);
        b->checkpoint_db = NULL;
        return;
    }
    sqlite3_exec(b->checkpoint_db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL);
    b->thread_running = pthread_create(&b->checkpointer, NULL, checkpointer, b) == 0;
}

void sqlite_batch_start(SqliteBatch *b, sqlite3 *db, int budget_ms, int pause_ms)
{
    /* Until a COMMIT was measured, keep a quarter of the budget for it: the first batch of
     * an incremental vacuum overran to 27 ms of 20 without. */
    *b = (SqliteBatch){
        .db = db, .aim_ms = budget_ms, .pause_ms = pause_ms, .commit_ms = budget_ms / 4.0};
    sqlite3_wal_hook(db, on_wal_commit, b); /* replaces the automatic checkpoint */
    sqlite3_exec(db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL); /* WAL: no fsync in COMMIT */
    /* A batch's pages stay in the cache until COMMIT rather than spilling into the log
     * halfway (the default 2 MiB holds 500 pages): lock holds per row fell by 10-20%. */
    sqlite3_exec(db, "PRAGMA cache_size = -16384", NULL, NULL, NULL);
    pthread_mutex_init(&b->lock, NULL);
    pthread_cond_init(&b->wake, NULL);
    start_checkpointer(b);
}

void sqlite_batch_finish(SqliteBatch *b)
{
    if (b->thread_running) {
        pthread_mutex_lock(&b->lock);
        b->stopping = true;
        pthread_cond_signal(&b->wake);
        pthread_mutex_unlock(&b->lock);
        pthread_join(b->checkpointer, NULL);
        b->thread_running = false;
    }
    /* The last batch's frames too, rather than leaving them to the application's next
     * commit to copy. */
    if (b->wal_frames > 0 && b->wal_frames != b->checkpointed_at) {
        double t = monotonic_seconds();
        sqlite3_wal_checkpoint_v2(b->db, "main", SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        b->checkpoint_ms += sqlite_ops_elapsed_ms(t);
    }
    log_debug("%llu batches, longest lock %.1f ms, checkpoints %.0f ms in all",
              (unsigned long long)b->count, b->longest_ms, b->checkpoint_ms);
    sqlite3_close(b->checkpoint_db);
    b->checkpoint_db = NULL;
    pthread_mutex_destroy(&b->lock);
    pthread_cond_destroy(&b->wake);
    sqlite3_wal_autocheckpoint(b->db, 1000);
}

/* Starts a checkpoint once our batches wrote CHECKPOINT_FRAMES pages since the last one was
 * started. */
static void checkpoint_if_due(SqliteBatch *b)
{
    pthread_mutex_lock(&b->lock);
    /* Counted in pages our batches wrote, not from the log's length: after a complete
     * checkpoint the log starts over, and a new log of 1,019 frames looked like 6 frames more
     * than the old one's 1,013, so no checkpoint ran and the application's next commit
     * copied our whole batch itself (a 95 ms commit on narrow rows). */
    bool due = b->unchecked_pages > CHECKPOINT_FRAMES;
    if (due)
        b->unchecked_pages = 0;
    if (due && b->thread_running) {
        b->checkpoint_due = true;
        pthread_cond_signal(&b->wake);
    }
    pthread_mutex_unlock(&b->lock);
    if (due && !b->thread_running) {
        double t = monotonic_seconds();
        int log_frames = 0;
        if (sqlite3_wal_checkpoint_v2(b->db, "main", SQLITE_CHECKPOINT_PASSIVE, &log_frames,
                                      NULL) == SQLITE_OK)
            b->checkpointed_at = log_frames;
        b->checkpoint_ms += sqlite_ops_elapsed_ms(t);
    }
}

static void wait_for_writers(SqliteBatch *b)
{
    int64_t version = sqlite_ops_int(b->db, "PRAGMA data_version");
    double started = monotonic_seconds();
    checkpoint_if_due(b);
    double changed_at = -1;
    struct timespec poll = {0, POLL_NS};
    for (;;) {
        double now = monotonic_seconds();
        int64_t v = sqlite_ops_int(b->db, "PRAGMA data_version");
        if (v != version) {
            version = v;
            changed_at = now;
        }
        if (changed_at >= 0 && (now - changed_at) * 1000.0 >= QUIET_MS)
            break;
        if ((now - started) * 1000.0 >= b->pause_ms)
            break;
        nanosleep(&poll, NULL);
    }
    log_debug("between batches: waited %.1f ms", sqlite_ops_elapsed_ms(started));
}

int sqlite_batch_begin(SqliteBatch *b, UkError *err)
{
    if (b->count > 0)
        wait_for_writers(b);
    if (sqlite_ops_exec(b->db, "BEGIN IMMEDIATE", err) != 0)
        return -1;
    b->t0 = monotonic_seconds(); /* the write lock is held from here */
    b->pages_at_begin = pages_written(b->db);
    return 0;
}

bool sqlite_batch_time_left(const SqliteBatch *b, size_t done)
{
    /* The first batch is small, to measure what a row (or step) costs: an incremental
     * vacuum's first batch used to change 1,700 pages and hold the lock 26 ms. */
    if (b->count == 0 && done >= FIRST_BATCH)
        return false;
    if (b->pages_per_unit > 0 && (double)done * b->pages_per_unit >= BATCH_PAGES)
        return false;
    return sqlite_ops_elapsed_ms(b->t0) + b->commit_ms + COMMIT_SPARE_MS < b->aim_ms;
}

int sqlite_batch_commit(SqliteBatch *b, size_t done, UkError *err)
{
    double commit_started = monotonic_seconds();
    if (sqlite_ops_exec(b->db, "COMMIT", err) != 0) {
        sqlite_batch_rollback(b);
        return -1;
    }
    double commit_ms = sqlite_ops_elapsed_ms(commit_started);
    /* Expect the next COMMIT to cost what the recent ones did, leaning to the larger. */
    b->commit_ms = commit_ms > b->commit_ms ? commit_ms : 0.5 * (b->commit_ms + commit_ms);
    int pages = pages_written(b->db) - b->pages_at_begin;
    pthread_mutex_lock(&b->lock);
    b->unchecked_pages += pages;
    pthread_mutex_unlock(&b->lock);
    if (done > 0)
        b->pages_per_unit = (double)pages / (double)done;
    b->last_ms = sqlite_ops_elapsed_ms(b->t0);
    if (b->last_ms > b->longest_ms)
        b->longest_ms = b->last_ms;
    b->count++;
    log_debug("batch %llu: lock %.1f ms (commit %.1f ms), %d pages, log at %d frames, at %.3f",
              (unsigned long long)b->count, b->last_ms, commit_ms, pages, b->wal_frames, b->t0);
    return 0;
}

void sqlite_batch_rollback(SqliteBatch *b)
{
    sqlite3_exec(b->db, "ROLLBACK", NULL, NULL, NULL);
}
