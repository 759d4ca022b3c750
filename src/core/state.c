/* See state.h. Migrations are an ordered list of SQL scripts; user_version records how many
 * have been applied. Add a migration by appending to the list, never by editing one. */
#include "core/state.h"

#include <errno.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"

struct State {
    sqlite3 *db;
    char *path;
};

static const char *migrations[] = {
    /* 1: run history and backup catalogue */
    "CREATE TABLE runs ("
    "  id INTEGER PRIMARY KEY,"
    "  job TEXT NOT NULL,"
    "  task TEXT NOT NULL,"
    "  trigger TEXT NOT NULL,"
    "  pid INTEGER NOT NULL,"
    "  started_at INTEGER NOT NULL,"
    "  ended_at INTEGER,"
    "  result TEXT NOT NULL,"
    "  summary TEXT,"
    "  error TEXT);"
    "CREATE INDEX runs_job ON runs(job, started_at);"
    "CREATE TABLE backups ("
    "  repository TEXT NOT NULL,"
    "  id TEXT NOT NULL,"
    "  database TEXT NOT NULL,"
    "  job TEXT,"
    "  created_at INTEGER NOT NULL,"
    "  image_size INTEGER NOT NULL,"
    "  stored_bytes INTEGER NOT NULL,"
    "  tags TEXT NOT NULL DEFAULT '',"
    "  verified_at INTEGER,"
    "  verify_result TEXT,"
    "  PRIMARY KEY (repository, id));",
    /* 2: the last status of each health check, to act once per transition */
    "CREATE TABLE health ("
    "  check_key TEXT PRIMARY KEY,"
    "  status TEXT NOT NULL,"
    "  since INTEGER NOT NULL,"
    "  value REAL,"
    "  message TEXT);",
    /* 3: alert bookkeeping: consecutive failures, open alerts, held alerts, deliveries */
    "CREATE TABLE alert_state ("
    "  alert TEXT NOT NULL,"
    "  subject TEXT NOT NULL,"
    "  failures INTEGER NOT NULL DEFAULT 0,"
    "  open INTEGER NOT NULL DEFAULT 0,"
    "  last_sent INTEGER NOT NULL DEFAULT 0,"
    "  pending_event TEXT,"
    "  pending_message TEXT,"
    "  PRIMARY KEY (alert, subject));"
    "CREATE TABLE alert_deliveries ("
    "  alert TEXT NOT NULL,"
    "  channel TEXT NOT NULL,"
    "  result TEXT NOT NULL,"
    "  count INTEGER NOT NULL,"
    "  PRIMARY KEY (alert, channel, result));",
    /* 4: when each log was last rotated (for interval, min_size and max_size) */
    "CREATE TABLE rotations (log TEXT PRIMARY KEY, rotated_at INTEGER NOT NULL);",
    /* 5: the host that wrote each backup (repositories shared by several hosts) */
    "ALTER TABLE backups ADD COLUMN host TEXT NOT NULL DEFAULT '';",
};

static void copy_text(char *dst, size_t len, const unsigned char *src);

static int db_error(State *st, UkError *err, const char *what)
{
    return uk_error_set(err, UK_E_DB, 0, "unable to %s in state database '%s': %s", what, st->path,
                        sqlite3_errmsg(st->db));
}

static int exec(State *st, const char *sql, UkError *err)
{
    char *msg = NULL;
    int rc;
    /* The busy handler does not cover every case (switching to WAL, or upgrading a read lock
     * while another process writes return SQLITE_BUSY at once), so retry for a while. */
    double deadline = monotonic_seconds() + 30;
    while ((rc = sqlite3_exec(st->db, sql, NULL, NULL, &msg)) == SQLITE_BUSY &&
           monotonic_seconds() < deadline) {
        sqlite3_free(msg);
        msg = NULL;
        struct timespec pause = {0, 20 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    if (rc != SQLITE_OK) {
        uk_error_set(err, UK_E_DB, 0, "state database '%s': %s", st->path, msg ? msg : "error");
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static int migrate(State *st, UkError *err)
{
    if (exec(st, "BEGIN IMMEDIATE", err) != 0)
        return -1;
    sqlite3_stmt *stmt = NULL;
    int version = 0;
    if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &stmt, NULL) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW)
        version = sqlite3_column_int(stmt, 0);
    sqlite3_finalize(stmt);
    int known = (int)(sizeof migrations / sizeof migrations[0]);
    if (version > known) {
        exec(st, "ROLLBACK", NULL);
        return uk_error_set(err, UK_E_FORMAT, 0,
                            "state database '%s' has schema version %d, newer than this upkeep "
                            "understands (%d)",
                            st->path, version, known);
    }
    for (int v = version; v < known; v++) {
        char pragma[64];
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", v + 1);
        if (exec(st, migrations[v], err) != 0 || exec(st, pragma, err) != 0) {
            exec(st, "ROLLBACK", NULL);
            return -1;
        }
    }
    return exec(st, "COMMIT", err);
}

int state_open(const char *path, State **out, UkError *err)
{
    *out = NULL;
    char *dir = path_dirname(path);
    int rc = mkdir_p(dir, 0700, err);
    free(dir);
    if (rc != 0) {
        uk_error_prefix(err, "state database: ");
        return -1;
    }
    State *st = xcalloc(1, sizeof *st);
    st->path = xstrdup(path);
    if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        db_error(st, err, "open");
        state_close(st);
        return -1;
    }
    sqlite3_busy_timeout(st->db, 30000);
    if (exec(st, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL", err) != 0 ||
        migrate(st, err) != 0) {
        state_close(st);
        return -1;
    }
    *out = st;
    return 0;
}

void state_close(State *st)
{
    if (!st)
        return;
    sqlite3_close(st->db);
    free(st->path);
    free(st);
}

/* SQLite keeps per-file state (locks, the WAL index mapping) shared by all connections of a
 * process; a forked child would inherit it half-valid. The daemon closes its connection
 * around fork() so the child starts clean. */
void state_suspend(State *st)
{
    sqlite3_close(st->db);
    st->db = NULL;
}

int state_resume(State *st, UkError *err)
{
    if (st->db)
        return 0;
    if (sqlite3_open_v2(st->path, &st->db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
        return db_error(st, err, "reopen");
    sqlite3_busy_timeout(st->db, 30000);
    return exec(st, "PRAGMA synchronous=NORMAL", err);
}

const char *state_path(const State *st)
{
    return st->path;
}

/* Runs left 'running' by a process that no longer exists were interrupted (kill -9, crash,
 * power loss). Marking them keeps status and history honest. */
static void mark_interrupted(State *st)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(st->db, "SELECT id, pid FROM runs WHERE result = 'running'", -1, &stmt,
                           NULL) != SQLITE_OK)
        return;
    int64_t dead[64];
    size_t n = 0;
    while (sqlite3_step(stmt) == SQLITE_ROW && n < 64) {
        pid_t pid = (pid_t)sqlite3_column_int64(stmt, 1);
        if (pid <= 0 || (kill(pid, 0) != 0 && errno == ESRCH))
            dead[n++] = sqlite3_column_int64(stmt, 0);
    }
    sqlite3_finalize(stmt);
    for (size_t i = 0; i < n; i++) {
        char sql[200];
        snprintf(sql, sizeof sql,
                 "UPDATE runs SET result='interrupted', ended_at=COALESCE(ended_at, started_at),"
                 " error='the process running it ended without finishing' WHERE id=%lld",
                 (long long)dead[i]);
        exec(st, sql, NULL);
    }
}

int state_run_begin(State *st, const char *job, const char *task, const char *trigger,
                    int64_t *run_id, UkError *err)
{
    mark_interrupted(st);
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(st->db,
                           "INSERT INTO runs(job, task, trigger, pid, started_at, result)"
                           " VALUES (?, ?, ?, ?, ?, 'running')",
                           -1, &stmt, NULL) != SQLITE_OK)
        return db_error(st, err, "record run");
    sqlite3_bind_text(stmt, 1, job, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, task, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 3, trigger, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 4, getpid());
    sqlite3_bind_int64(stmt, 5, (sqlite3_int64)time(NULL));
    int rc = sqlite3_step(stmt) == SQLITE_DONE ? 0 : db_error(st, err, "record run");
    sqlite3_finalize(stmt);
    if (rc == 0)
        *run_id = sqlite3_last_insert_rowid(st->db);
    return rc;
}

int state_run_end(State *st, int64_t run_id, const char *result, const char *summary_json,
                  const char *error_msg, UkError *err)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(st->db,
                           "UPDATE runs SET ended_at = ?, result = ?, summary = ?, error = ?"
                           " WHERE id = ?",
                           -1, &stmt, NULL) != SQLITE_OK)
        return db_error(st, err, "record run result");
    sqlite3_bind_int64(stmt, 1, (sqlite3_int64)time(NULL));
    sqlite3_bind_text(stmt, 2, result, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 3, summary_json, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 4, error_msg, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 5, run_id);
    int rc = sqlite3_step(stmt) == SQLITE_DONE ? 0 : db_error(st, err, "record run result");
    sqlite3_finalize(stmt);
    return rc;
}

int state_run_stopped(State *st, pid_t pid, const char *result, const char *error_msg, UkError *err)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(st->db,
                           "UPDATE runs SET ended_at = ?, result = ?, error = ?"
                           " WHERE pid = ? AND result = 'running'",
                           -1, &stmt, NULL) != SQLITE_OK)
        return db_error(st, err, "record run result");
    sqlite3_bind_int64(stmt, 1, (sqlite3_int64)time(NULL));
    sqlite3_bind_text(stmt, 2, result, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 3, error_msg, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 4, pid);
    int rc = sqlite3_step(stmt) == SQLITE_DONE ? 0 : db_error(st, err, "record run result");
    sqlite3_finalize(stmt);
    return rc;
}

int state_health_set(State *st, const char *key, const char *status, double value,
                     const char *message, char *previous, size_t len, UkError *err)
{
    previous[0] = '\0';
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(st->db, "SELECT status FROM health WHERE check_key = ?", -1, &stmt,
                           NULL) != SQLITE_OK)
        return db_error(st, err, "read health");
    sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
    if (sqlite3_step(stmt) == SQLITE_ROW)
        snprintf(previous, len, "%s", (const char *)sqlite3_column_text(stmt, 0));
    sqlite3_finalize(stmt);
    if (sqlite3_prepare_v2(st->db,
                           "INSERT INTO health(check_key, status, since, value, message)"
                           " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(check_key) DO UPDATE SET"
                           " since = CASE WHEN status = ?2 THEN since ELSE ?3 END,"
                           " status = ?2, value = ?4, message = ?5",
                           -1, &stmt, NULL) != SQLITE_OK)
        return db_error(st, err, "record health");
    sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, status, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 3, (sqlite3_int64)time(NULL));
    if (value == value) /* not NaN */
        sqlite3_bind_double(stmt, 4, value);
    sqlite3_bind_text(stmt, 5, message, -1, SQLITE_STATIC);
    int rc = sqlite3_step(stmt) == SQLITE_DONE ? 0 : db_error(st, err, "record health");
    sqlite3_finalize(stmt);
    return rc;
}

int state_alert_get(State *st, const char *alert, const char *subject, AlertState *out,
                    UkError *err)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT failures, open, last_sent, pending_event, pending_message"
                           " FROM alert_state WHERE alert = ? AND subject = ?",
                           -1, &stmt, NULL) != SQLITE_OK)
        return db_error(st, err, "read alert state");
    sqlite3_bind_text(stmt, 1, alert, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, subject, -1, SQLITE_STATIC);
    if (sqlite3_step(stmt) == SQLITE_ROW) {
        out->failures = sqlite3_column_int(stmt, 0);
        out->open = sqlite3_column_int(stmt, 1) != 0;
        out->last_sent = (time_t)sqlite3_column_int64(stmt, 2);
        copy_text(out->pending_event, sizeof out->pending_event, sqlite3_column_text(stmt, 3));
        copy_text(out->pending_message, sizeof out->pending_message, sqlite3_column_text(stmt, 4));
    }
    sqlite3_finalize(stmt);
    return 0;
}

int state_alert_next_pending(State *st, const char *alert, char *subject, size_t len,
                             AlertState *out, UkError *err)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT subject FROM alert_state WHERE alert = ? AND pending_event"
                           " IS NOT NULL ORDER BY subject LIMIT 1",
                           -1, &stmt, NULL) != SQLITE_OK)
        return db_error(st, err, "read alert state");
    sqlite3_bind_text(stmt, 1, alert, -1, SQLITE_STATIC);
    int found = 0;
    if (sqlite3_step(stmt) == SQLITE_ROW) {
        copy_text(subject, len, sqlite3_column_text(stmt, 0));
        found = 1;
    }
    sqlite3_finalize(stmt);
    if (found && state_alert_get(st, alert, subject, out, err) != 0)
        return -1;
    return found;
}

int state_alert_put(State *st, const char *alert, const char *subject, const AlertState *in,
                    UkError *err)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(st->db,
                           "INSERT OR REPLACE INTO alert_state(alert, subject, failures, open,"
                           " last_sent, pending_event, pending_message) VALUES (?,?,?,?,?,?,?)",
                           -1, &stmt, NULL) != SQLITE_OK)
        return db_error(st, err, "record alert state");
    sqlite3_bind_text(stmt, 1, alert, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, subject, -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 3, in->failures);
    sqlite3_bind_int(stmt, 4, in->open);
    sqlite3_bind_int64(stmt, 5, (sqlite3_int64)in->last_sent);
    if (in->pending_event[0]) {
        sqlite3_bind_text(stmt, 6, in->pending_event, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 7, in->pending_message, -1, SQLITE_STATIC);
    }
    int rc = sqlite3_step(stmt) == SQLITE_DONE ? 0 : db_error(st, err, "record alert state");
    sqlite3_finalize(stmt);
    return rc;
}

int state_alert_delivered(State *st, const char *alert, const char *channel, bool ok, UkError *err)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(st->db,
                           "INSERT INTO alert_deliveries(alert, channel, result, count)"
                           " VALUES (?, ?, ?, 1) ON CONFLICT(alert, channel, result)"
                           " DO UPDATE SET count = count + 1",
                           -1, &stmt, NULL) != SQLITE_OK)
        return db_error(st, err, "count alert delivery");
    sqlite3_bind_text(stmt, 1, alert, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, channel, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 3, ok ? "sent" : "failed", -1, SQLITE_STATIC);
    int rc = sqlite3_step(stmt) == SQLITE_DONE ? 0 : db_error(st, err, "count alert delivery");
    sqlite3_finalize(stmt);
    return rc;
}

int state_rotation_get(State *st, const char *log, time_t *at, UkError *err)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(st->db, "SELECT rotated_at FROM rotations WHERE log = ?", -1, &stmt,
                           NULL) != SQLITE_OK)
        return db_error(st, err, "read rotations");
    sqlite3_bind_text(stmt, 1, log, -1, SQLITE_STATIC);
    int found = 0;
    if (sqlite3_step(stmt) == SQLITE_ROW) {
        *at = (time_t)sqlite3_column_int64(stmt, 0);
        found = 1;
    }
    sqlite3_finalize(stmt);
    return found;
}

int state_rotation_set(State *st, const char *log, time_t at, UkError *err)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(st->db,
                           "INSERT OR REPLACE INTO rotations(log, rotated_at) VALUES (?, ?)", -1,
                           &stmt, NULL) != SQLITE_OK)
        return db_error(st, err, "record rotation");
    sqlite3_bind_text(stmt, 1, log, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, (sqlite3_int64)at);
    int rc = sqlite3_step(stmt) == SQLITE_DONE ? 0 : db_error(st, err, "record rotation");
    sqlite3_finalize(stmt);
    return rc;
}

int state_query(State *st, const char *sql, StateRowFn row, void *ctx, UkError *err)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL) != SQLITE_OK ||
        !sqlite3_stmt_readonly(stmt)) {
        sqlite3_finalize(stmt);
        return db_error(st, err, "query state");
    }
    int n = sqlite3_column_count(stmt);
    const char *values[16];
    if (n > 16)
        n = 16;
    int step;
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        for (int i = 0; i < n; i++)
            values[i] = (const char *)sqlite3_column_text(stmt, i);
        row(ctx, n, values);
    }
    sqlite3_finalize(stmt);
    return step == SQLITE_DONE ? 0 : db_error(st, err, "query state");
}

static void copy_text(char *dst, size_t len, const unsigned char *src)
{
    snprintf(dst, len, "%s", src ? (const char *)src : "");
}

static void read_run(sqlite3_stmt *stmt, RunRecord *r)
{
    memset(r, 0, sizeof *r);
    r->id = sqlite3_column_int64(stmt, 0);
    copy_text(r->job, sizeof r->job, sqlite3_column_text(stmt, 1));
    copy_text(r->task, sizeof r->task, sqlite3_column_text(stmt, 2));
    copy_text(r->trigger, sizeof r->trigger, sqlite3_column_text(stmt, 3));
    r->started_at = (time_t)sqlite3_column_int64(stmt, 4);
    r->ended_at = (time_t)sqlite3_column_int64(stmt, 5);
    copy_text(r->result, sizeof r->result, sqlite3_column_text(stmt, 6));
    const unsigned char *s = sqlite3_column_text(stmt, 7);
    r->summary = s ? xstrdup((const char *)s) : NULL;
    s = sqlite3_column_text(stmt, 8);
    r->error = s ? xstrdup((const char *)s) : NULL;
}

#define RUN_COLUMNS "id, job, task, trigger, started_at, ended_at, result, summary, error"

/* The newest run of JOB, of process PID when PID > 0: 1 found, 0 none, -1 error. */
static int newest_run(State *st, const char *job, pid_t pid, RunRecord *out, UkError *err)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT " RUN_COLUMNS
                           " FROM runs WHERE job = ?1 AND (?2 = 0 OR pid = ?2)"
                           " ORDER BY id DESC LIMIT 1",
                           -1, &stmt, NULL) != SQLITE_OK)
        return db_error(st, err, "read runs");
    sqlite3_bind_text(stmt, 1, job, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, pid);
    int found = 0;
    if (sqlite3_step(stmt) == SQLITE_ROW) {
        read_run(stmt, out);
        found = 1;
    }
    sqlite3_finalize(stmt);
    return found;
}

int state_last_run(State *st, const char *job, RunRecord *out, UkError *err)
{
    mark_interrupted(st);
    return newest_run(st, job, 0, out, err);
}

int state_run_of_process(State *st, const char *job, pid_t pid, RunRecord *out, UkError *err)
{
    return newest_run(st, job, pid, out, err);
}

int state_finished_runs(State *st, const char *job, int64_t *count, UkError *err)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT count(*) FROM runs WHERE job = ?1 AND result IN "
                           "('success', 'failed')",
                           -1, &stmt, NULL) != SQLITE_OK)
        return db_error(st, err, "count runs");
    sqlite3_bind_text(stmt, 1, job, -1, SQLITE_STATIC);
    int rc = sqlite3_step(stmt) == SQLITE_ROW ? 0 : -1;
    *count = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return rc == 0 ? 0 : db_error(st, err, "count runs");
}

int state_history(State *st, const char *job, int limit, RunRecord **out, size_t *n, UkError *err)
{
    mark_interrupted(st);
    *out = NULL;
    *n = 0;
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT " RUN_COLUMNS " FROM runs WHERE ?1 IS NULL OR job = ?1"
                           " ORDER BY id DESC LIMIT ?2",
                           -1, &stmt, NULL) != SQLITE_OK)
        return db_error(st, err, "read runs");
    sqlite3_bind_text(stmt, 1, job, -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 2, limit);
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        *out = xrealloc(*out, (*n + 1) * sizeof **out);
        read_run(stmt, &(*out)[(*n)++]);
    }
    sqlite3_finalize(stmt);
    return 0;
}

void state_runs_free(RunRecord *runs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(runs[i].summary);
        free(runs[i].error);
    }
    free(runs);
}

int state_backup_upsert(State *st, const BackupRecord *b, UkError *err)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(st->db,
                           "INSERT INTO backups(repository, id, database, job, created_at,"
                           " image_size, stored_bytes, tags, host) VALUES (?,?,?,?,?,?,?,?,?)"
                           " ON CONFLICT(repository, id) DO UPDATE SET database=excluded.database,"
                           " created_at=excluded.created_at, image_size=excluded.image_size,"
                           " stored_bytes=excluded.stored_bytes, tags=excluded.tags,"
                           " host=excluded.host",
                           -1, &stmt, NULL) != SQLITE_OK)
        return db_error(st, err, "record backup");
    sqlite3_bind_text(stmt, 1, b->repository, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, b->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 3, b->database, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 4, b->job[0] ? b->job : NULL, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 5, (sqlite3_int64)b->created_at);
    sqlite3_bind_int64(stmt, 6, (sqlite3_int64)b->image_size);
    sqlite3_bind_int64(stmt, 7, (sqlite3_int64)b->stored_bytes);
    sqlite3_bind_text(stmt, 8, b->tags, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 9, b->host, -1, SQLITE_STATIC);
    int rc = sqlite3_step(stmt) == SQLITE_DONE ? 0 : db_error(st, err, "record backup");
    sqlite3_finalize(stmt);
    return rc;
}

int state_backup_delete(State *st, const char *repository, const char *id, UkError *err)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(st->db, "DELETE FROM backups WHERE repository = ? AND id = ?", -1, &stmt,
                           NULL) != SQLITE_OK)
        return db_error(st, err, "forget backup");
    sqlite3_bind_text(stmt, 1, repository, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(stmt) == SQLITE_DONE ? 0 : db_error(st, err, "forget backup");
    sqlite3_finalize(stmt);
    return rc;
}

int state_backup_set_verified(State *st, const char *repository, const char *id, time_t when,
                              const char *result, UkError *err)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(st->db,
                           "UPDATE backups SET verified_at = ?, verify_result = ?"
                           " WHERE repository = ? AND id = ?",
                           -1, &stmt, NULL) != SQLITE_OK)
        return db_error(st, err, "record verification");
    sqlite3_bind_int64(stmt, 1, (sqlite3_int64)when);
    sqlite3_bind_text(stmt, 2, result, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 3, repository, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 4, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(stmt) == SQLITE_DONE ? 0 : db_error(st, err, "record verification");
    sqlite3_finalize(stmt);
    return rc;
}

int state_backups(State *st, const char *repository, BackupRecord **out, size_t *n, UkError *err)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT repository, id, database, job, created_at, image_size,"
                           " stored_bytes, tags, verified_at, verify_result, host FROM backups"
                           " WHERE ?1 IS NULL OR repository = ?1 ORDER BY created_at, id",
                           -1, &stmt, NULL) != SQLITE_OK)
        return db_error(st, err, "read backups");
    sqlite3_bind_text(stmt, 1, repository, -1, SQLITE_STATIC);
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        *out = xrealloc(*out, (*n + 1) * sizeof **out);
        BackupRecord *b = &(*out)[(*n)++];
        memset(b, 0, sizeof *b);
        copy_text(b->repository, sizeof b->repository, sqlite3_column_text(stmt, 0));
        copy_text(b->id, sizeof b->id, sqlite3_column_text(stmt, 1));
        copy_text(b->database, sizeof b->database, sqlite3_column_text(stmt, 2));
        copy_text(b->job, sizeof b->job, sqlite3_column_text(stmt, 3));
        b->created_at = (time_t)sqlite3_column_int64(stmt, 4);
        b->image_size = (uint64_t)sqlite3_column_int64(stmt, 5);
        b->stored_bytes = (uint64_t)sqlite3_column_int64(stmt, 6);
        copy_text(b->tags, sizeof b->tags, sqlite3_column_text(stmt, 7));
        b->verified_at = (time_t)sqlite3_column_int64(stmt, 8);
        copy_text(b->verify_result, sizeof b->verify_result, sqlite3_column_text(stmt, 9));
        copy_text(b->host, sizeof b->host, sqlite3_column_text(stmt, 10));
    }
    sqlite3_finalize(stmt);
    return 0;
}
