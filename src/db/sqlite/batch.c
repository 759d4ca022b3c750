/* Batched writes beside a live application.
 *
 * Batches end by the clock: the caller asks sqlite_batch_time_left() between rows, and the
 * batch commits once its lock hold plus the expected COMMIT would reach the budget. Sizing
 * batches by a row count measured on the previous batch let them overrun to twice the
 * budget whenever rows turned out dearer (pages no longer cached, a checkpoint's I/O).
 *
 * Between batches we wait until another connection has committed (PRAGMA data_version
 * moves) and then until writers have been quiet for 2 ms. Under a steady writer the log
 * grows past 1000 frames, and then the application checkpoints right after each commit;
 * starting our next batch during that checkpoint's fsync made its commit wait on our I/O
 * (worst stalls of 40-90 ms with a 1 ms quiet time against 19-29 ms with 2 ms, in
 * bench/maintenance.sh). `pause` bounds the wait when nobody writes. Our own checkpoints run
 * here too, PASSIVE (they never block writers), once 200 frames were added since the last,
 * so that the application's checkpoints find little of ours to copy. */
#include "db/sqlite/batch.h"

#include <string.h>
#include <time.h>

#include "common/util.h"
#include "core/log.h"
#include "db/sqlite/sqlite_ops.h"

/* Under a steady writer the log rarely restarts, so its length says little: what counts is
 * how much was added since our last checkpoint. Well below the application's automatic
 * checkpoint (1000 frames by default). */
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

void sqlite_batch_start(SqliteBatch *b, sqlite3 *db, int budget_ms, int pause_ms)
{
    *b = (SqliteBatch){.db = db, .aim_ms = budget_ms, .pause_ms = pause_ms};
    sqlite3_wal_hook(db, on_wal_commit, b); /* replaces the automatic checkpoint */
    sqlite3_exec(db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL); /* WAL: no fsync in COMMIT */
}

void sqlite_batch_finish(SqliteBatch *b)
{
    sqlite3_wal_autocheckpoint(b->db, 1000);
}

static void wait_for_writers(SqliteBatch *b)
{
    int64_t version = sqlite_ops_int(b->db, "PRAGMA data_version");
    double started = monotonic_seconds();
    double checkpoint_ms = 0;
    if (b->wal_frames < b->checkpointed_at)
        b->checkpointed_at = 0; /* the log restarted */
    if (b->wal_frames - b->checkpointed_at > CHECKPOINT_FRAMES) {
        int log_frames = 0;
        if (sqlite3_wal_checkpoint_v2(b->db, "main", SQLITE_CHECKPOINT_PASSIVE, &log_frames,
                                      NULL) == SQLITE_OK)
            b->checkpointed_at = log_frames;
        checkpoint_ms = sqlite_ops_elapsed_ms(started);
    }
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
    log_debug("between batches: checkpoint %.1f ms, waited %.1f ms in all", checkpoint_ms,
              sqlite_ops_elapsed_ms(started));
}

int sqlite_batch_begin(SqliteBatch *b, UkError *err)
{
    if (b->count > 0)
        wait_for_writers(b);
    if (sqlite_ops_exec(b->db, "BEGIN IMMEDIATE", err) != 0)
        return -1;
    b->t0 = monotonic_seconds(); /* the write lock is held from here */
    return 0;
}

bool sqlite_batch_time_left(const SqliteBatch *b)
{
    return sqlite_ops_elapsed_ms(b->t0) + b->commit_ms + COMMIT_SPARE_MS < b->aim_ms;
}

int sqlite_batch_commit(SqliteBatch *b, UkError *err)
{
    double commit_started = monotonic_seconds();
    if (sqlite_ops_exec(b->db, "COMMIT", err) != 0) {
        sqlite_batch_rollback(b);
        return -1;
    }
    double commit_ms = sqlite_ops_elapsed_ms(commit_started);
    /* Expect the next COMMIT to cost what the recent ones did, leaning to the larger. */
    b->commit_ms = commit_ms > b->commit_ms ? commit_ms : 0.5 * (b->commit_ms + commit_ms);
    b->last_ms = sqlite_ops_elapsed_ms(b->t0);
    if (b->last_ms > b->longest_ms)
        b->longest_ms = b->last_ms;
    b->count++;
    log_debug("batch %llu: lock %.1f ms (commit %.1f ms), log at %d frames, at %.3f",
              (unsigned long long)b->count, b->last_ms, commit_ms, b->wal_frames, b->t0);
    return 0;
}

void sqlite_batch_rollback(SqliteBatch *b)
{
    sqlite3_exec(b->db, "ROLLBACK", NULL, NULL, NULL);
}
