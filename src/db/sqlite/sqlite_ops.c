#include "db/sqlite/sqlite_ops.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/util.h"
#include "core/log.h"

int sqlite_ops_open(const char *path, sqlite3 **db, UkError *err)
{
    *db = NULL;
    struct stat st;
    if (stat(path, &st) != 0)
        return uk_error_set(err, errno == ENOENT ? UK_E_NOTFOUND : UK_E_IO, errno,
                            "unable to open database file '%s'", path);
    if (sqlite3_open_v2(path, db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        uk_error_set(err, UK_E_DB, 0, "unable to open database '%s': %s", path,
                     *db ? sqlite3_errmsg(*db) : "out of memory");
        sqlite3_close(*db);
        *db = NULL;
        return -1;
    }
    sqlite3_busy_timeout(*db, 10000);
    if (sqlite_ops_exec(*db, "PRAGMA foreign_keys = ON", err) != 0 ||
        sqlite_ops_int(*db, "SELECT count(*) FROM sqlite_schema") < 0) {
        if (err && !err->msg[0])
            uk_error_set(err, UK_E_DB, 0, "'%s' is not a readable SQLite database", path);
        sqlite3_close(*db);
        *db = NULL;
        return -1;
    }
    return 0;
}

int sqlite_ops_exec(sqlite3 *db, const char *sql, UkError *err)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        uk_error_set(err, UK_E_DB, 0, "%s", msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

int64_t sqlite_ops_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *stmt = NULL;
    int64_t v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW)
        v = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return v;
}

bool sqlite_ops_has(sqlite3 *db, const char *table, const char *column)
{
    sqlite3_stmt *stmt = NULL;
    bool found = false;
    const char *sql = column ? "SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2"
                             : "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1";
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) == SQLITE_OK) {
        sqlite3_bind_text(stmt, 1, table, -1, SQLITE_STATIC);
        if (column)
            sqlite3_bind_text(stmt, 2, column, -1, SQLITE_STATIC);
        found = sqlite3_step(stmt) == SQLITE_ROW;
    }
    sqlite3_finalize(stmt);
    return found;
}

char *sqlite_ops_quote(const char *identifier)
{
    size_t n = strlen(identifier);
    char *out = xmalloc(2 * n + 3), *p = out;
    *p++ = '"';
    for (const char *s = identifier; *s; s++) {
        if (*s == '"')
            *p++ = '"';
        *p++ = *s;
    }
    *p++ = '"';
    *p = '\0';
    return out;
}

double sqlite_ops_elapsed_ms(double t0)
{
    return (monotonic_seconds() - t0) * 1000.0;
}

/* Under a steady writer the log rarely restarts, so its length says little: what counts is
 * how much was added since the last checkpoint. Well below the application's automatic
 * checkpoint (1000 frames by default), which would run inside one of its commits. */
#define CHECKPOINT_FRAMES 200
static int wal_frames; /* set by the WAL hook after each commit (one batched writer at a time) */
static int checkpointed_at; /* log frames when the last checkpoint ran */

static int on_wal_commit(void *arg, sqlite3 *db, const char *name, int frames)
{
    (void)arg;
    (void)db;
    (void)name;
    wal_frames = frames;
    return SQLITE_OK;
}

void sqlite_ops_own_checkpoints(sqlite3 *db)
{
    sqlite3_wal_hook(db, on_wal_commit, NULL);
    sqlite3_exec(db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL); /* WAL: no fsync in COMMIT */
}

int sqlite_ops_sync_wal(sqlite3 *db, const char *schema, UkError *err)
{
    char *sql = xasprintf("PRAGMA %s.journal_mode", schema);
    sqlite3_stmt *stmt = NULL;
    bool wal = false;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW)
        wal = strcmp((const char *)sqlite3_column_text(stmt, 0), "wal") == 0;
    sqlite3_finalize(stmt);
    free(sql);
    if (!wal)
        return 0; /* rollback journal: synchronous = NORMAL still syncs at COMMIT */
    sqlite3_file *file = NULL;
    if (sqlite3_file_control(db, schema, SQLITE_FCNTL_JOURNAL_POINTER, &file) != SQLITE_OK ||
        !file || !file->pMethods || file->pMethods->xSync(file, SQLITE_SYNC_NORMAL) != SQLITE_OK)
        return uk_error_set(err, UK_E_IO, 0, "unable to sync the write-ahead log of '%s'", schema);
    return 0;
}

int sqlite_ops_sync_commit(sqlite3 *db, UkError *err)
{
    return sqlite_ops_sync_wal(db, "main", err);
}

/* The pause exists for writers that queued behind the last batch: SQLite's busy handler
 * sleeps 1, 2, 5, 10, 15 ms between attempts, so a writer blocked by a short batch wakes within
 * about 15 ms. As soon as another connection has committed (PRAGMA data_version moves) the
 * queue has had its turn, and the next batch may start after a moment's grace; when nobody
 * commits, the full pause passes. */
void sqlite_ops_between_batches(sqlite3 *db, int pause_ms)
{
    int64_t version = sqlite_ops_int(db, "PRAGMA data_version");
    double started = monotonic_seconds();
    double deadline = started + pause_ms / 1000.0;
    double checkpoint_ms = 0;
    /* Checkpoint first, outside any transaction, so that the application's own automatic
     * checkpoints (run inside its commits) find little to copy; the application's writers
     * use the time to commit. */
    if (wal_frames < checkpointed_at)
        checkpointed_at = 0; /* the log restarted */
    if (wal_frames - checkpointed_at > CHECKPOINT_FRAMES) {
        int log_frames = 0;
        sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log_frames, NULL);
        checkpointed_at = log_frames;
        checkpoint_ms = sqlite_ops_elapsed_ms(started);
    }
    struct timespec step = {0, 1000000L};
    for (;;) {
        if (sqlite_ops_int(db, "PRAGMA data_version") != version) {
            struct timespec grace = {0, 2000000L};
            nanosleep(&grace, NULL);
            break;
        }
        if (monotonic_seconds() >= deadline)
            break;
        nanosleep(&step, NULL);
    }
    log_debug("between batches: checkpoint %.1f ms, pause %.1f ms in all", checkpoint_ms,
              sqlite_ops_elapsed_ms(started));
}
