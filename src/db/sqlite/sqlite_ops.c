#include "db/sqlite/sqlite_ops.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/util.h"
#include "core/log.h"

/* When each wait on a lock started; a thread waits on one lock at a time. */
static _Thread_local double busy_since;

/* SQLite's own busy timeout sleeps ever longer between tries, up to 100 ms. An application
 * that commits back to back holds its write lock almost all the time and frees it for
 * microseconds between commits: tried ten times a second, upkeep saw it free too seldom and
 * gave up with "database is locked" after ten seconds. Trying every millisecond finds those
 * gaps, at the cost of a lock attempt per millisecond while waiting. */
static int busy_wait(void *timeout_ms, int attempts)
{
    double now = monotonic_seconds();
    if (attempts == 0)
        busy_since = now;
    if ((now - busy_since) * 1000.0 >= (double)(intptr_t)timeout_ms)
        return 0;
    struct timespec pause = {0, 1000000};
    nanosleep(&pause, NULL);
    return 1;
}

void sqlite_ops_busy_wait(sqlite3 *db, int timeout_ms)
{
    sqlite3_busy_handler(db, busy_wait, (void *)(intptr_t)timeout_ms);
}

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
    sqlite_ops_busy_wait(*db, 10000);
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
    /* Names match as SQLite matches them: without regard to ASCII case. table_xinfo also
     * lists generated columns. */
    const char *sql = column ? "SELECT 1 FROM pragma_table_xinfo(?1) WHERE name = ?2 COLLATE NOCASE"
                             : "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1 "
                               "COLLATE NOCASE";
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

static int stand_in_compare(void *unused, int len_a, const void *a, int len_b, const void *b)
{
    (void)unused;
    int n = len_a < len_b ? len_a : len_b;
    int c = sqlite3_strnicmp(a, b, n);
    return c ? c : len_a - len_b;
}

static void collation_needed(void *arg, sqlite3 *db, int encoding, const char *name)
{
    (void)encoding;
    StandIns *seen = arg;
    if (seen->count < (int)(sizeof seen->names / sizeof seen->names[0]))
        snprintf(seen->names[seen->count], sizeof seen->names[0], "%s", name);
    seen->count++;
    sqlite3_create_collation(db, name, SQLITE_UTF8, NULL, stand_in_compare);
}

void sqlite_ops_collation_stand_ins(sqlite3 *db, StandIns *seen)
{
    memset(seen, 0, sizeof *seen);
    sqlite3_collation_needed(db, seen, collation_needed);
}

DbValue sqlite_ops_value(sqlite3_stmt *stmt, int col)
{
    int type = sqlite3_column_type(stmt, col);
    const void *data = type == SQLITE_BLOB ? sqlite3_column_blob(stmt, col)
                                           : (const void *)sqlite3_column_text(stmt, col);
    DbValue v = {.type = type == SQLITE_INTEGER ? DB_INTEGER
                         : type == SQLITE_FLOAT ? DB_REAL
                         : type == SQLITE_BLOB  ? DB_BLOB
                         : type == SQLITE_NULL  ? DB_NULL
                                                : DB_TEXT,
                 .data = type == SQLITE_NULL ? NULL : data,
                 .len = (size_t)sqlite3_column_bytes(stmt, col),
                 .real = sqlite3_column_double(stmt, col)};
    if (v.type == DB_BLOB && !v.data)
        v.data = ""; /* an empty blob */
    return v;
}
