/* SQLite helpers shared by the SQLite driver, its row operations (sqlite_rows.c), the
 * archive export and SQLite's own vacuum and integrity tasks. */
#ifndef UK_SQLITE_OPS_H
#define UK_SQLITE_OPS_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"
#include "db/row_store.h"

/* Opens an existing database read-write with upkeep's settings (busy timeout, foreign keys
 * on so cascades run). A missing file is an error, never created. */
int sqlite_ops_open(const char *path, sqlite3 **db, UkError *err);
/* Waits up to timeout_ms for a lock another connection holds, trying every millisecond (see
 * sqlite_ops.c for why not sqlite3_busy_timeout). */
void sqlite_ops_busy_wait(sqlite3 *db, int timeout_ms);
int sqlite_ops_exec(sqlite3 *db, const char *sql, UkError *err);
/* First column of the first row as an integer (-1 when there is none). */
int64_t sqlite_ops_int(sqlite3 *db, const char *sql);
/* Is `column` (or the table itself, when column is NULL) in the schema? */
bool sqlite_ops_has(sqlite3 *db, const char *table, const char *column);
/* "name" with embedded quotes doubled: safe to put in SQL. Caller frees. */
char *sqlite_ops_quote(const char *identifier);
/* Column COL of STMT's current row as a DbValue (valid until the next step). */
DbValue sqlite_ops_value(sqlite3_stmt *stmt, int col);
double sqlite_ops_elapsed_ms(double t0);

/* Batched writers run with synchronous = NORMAL in WAL mode, so COMMIT does not fsync while
 * holding the write lock. Before acting on a commit outside the database (deleting files),
 * this makes it durable: it syncs the WAL, after the lock is released. */
int sqlite_ops_sync_commit(sqlite3 *db, UkError *err);
/* Syncs the write-ahead log of one attached database ("main", "archive"); a no-op for
 * databases in rollback-journal mode, whose commits are synced already. */
int sqlite_ops_sync_wal(sqlite3 *db, const char *schema, UkError *err);

/* Collations the application registers in its own code (Anki's "unicase", say) are unknown to
 * upkeep's connections, so any statement touching an index that uses one fails with "no such
 * collation sequence". These register a stand-in (ASCII case-insensitive) on demand and note
 * each name, so checks can run and say which indexes they could not judge. */
typedef struct StandIns {
    int count;
    char names[4][64]; /* the first few */
} StandIns;
void sqlite_ops_collation_stand_ins(sqlite3 *db, StandIns *seen);

#endif
