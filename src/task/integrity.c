/* Integrity: PRAGMA quick_check, integrity_check and foreign_key_check, as configured. The
 * results go into the run's summary, so the history (and health, later) knows when the
 * database was last found sound. Problems make the run fail. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "task/maintenance.h"
#include "db/db.h"
#include "db/sqlite/sqlite_ops.h"

/* Runs a check whose rows are either a single "ok" or problems; fills out with them. */
static int run_check(sqlite3 *db, const char *sql, char *out, size_t len, UkError *err)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK)
        return uk_error_set(err, UK_E_DB, 0, "%s", sqlite3_errmsg(db));
    out[0] = '\0';
    int rows = 0, step;
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        size_t used = strlen(out);
        int cols = sqlite3_column_count(stmt);
        if (rows++ < 10) {
            snprintf(out + used, len - used, "%s", used ? "; " : "");
            for (int c = 0; c < cols; c++) {
                used = strlen(out);
                const unsigned char *v = sqlite3_column_text(stmt, c);
                snprintf(out + used, len - used, "%s%s", c ? " " : "",
                         v ? (const char *)v : "null");
            }
        }
    }
    int code = sqlite3_errcode(db);
    if (step != SQLITE_DONE && (code == SQLITE_CORRUPT || code == SQLITE_NOTADB)) {
        /* Damage bad enough to stop the check is its finding, not a failure to check. */
        snprintf(out, len, "%s", sqlite3_errmsg(db));
        sqlite3_finalize(stmt);
        return 0;
    }
    sqlite3_finalize(stmt);
    if (step != SQLITE_DONE)
        return uk_error_set(err, UK_E_DB, 0, "%s", sqlite3_errmsg(db));
    if (rows == 0)
        snprintf(out, len, "ok"); /* foreign_key_check reports nothing when all is well */
    return 0;
}

static bool wants(const char *checks, const char *name)
{
    char *copy = xstrdup(checks);
    bool found = false;
    for (char *save = NULL, *t = strtok_r(copy, ", ", &save); t && !found;
         t = strtok_r(NULL, ", ", &save))
        found = strcmp(t, name) == 0;
    free(copy);
    return found;
}

/* A database on a server: each configured check runs there (db_check_live). */
static int integrity_on_server(const ConfigJob *job, IntegrityResult *res, UkError *err)
{
    double started = monotonic_seconds();
    struct {
        const char *name;
        char *out;
    } checks[] = {{"quick", res->quick}, {"full", res->full}, {"foreign_keys", res->foreign_keys}};
    for (size_t i = 0; i < 3; i++)
        if (wants(job->checks, checks[i].name) &&
            db_check_live(job->database, checks[i].name, checks[i].out, sizeof res->quick, err) !=
                0)
            return -1;
    res->seconds = monotonic_seconds() - started;
    res->ok = (!res->quick[0] || db_check_passed(res->quick)) &&
              (!res->full[0] || db_check_passed(res->full)) &&
              (!res->foreign_keys[0] || db_check_passed(res->foreign_keys));
    return 0;
}

int task_integrity(const ConfigJob *job, IntegrityResult *res, UkError *err)
{
    memset(res, 0, sizeof *res);
    if (db_has_feature(job->database->driver, DB_FEAT_MAINTENANCE))
        return integrity_on_server(job, res, err);
    double started = monotonic_seconds();
    sqlite3 *db = NULL;
    if (sqlite_ops_open(job->database->path, &db, err) != 0) {
        uk_error_prefix(err, "database '%s': ", job->database->name);
        return -1;
    }
    /* An application-defined collation gets a stand-in, so the checks can run at all; the
     * connection only reads. */
    StandIns stand_ins;
    sqlite_ops_collation_stand_ins(db, &stand_ins);
    int rc = 0;
    if (wants(job->checks, "quick"))
        rc = run_check(db, "PRAGMA quick_check", res->quick, sizeof res->quick, err);
    if (rc == 0 && wants(job->checks, "full"))
        rc = run_check(db, "PRAGMA integrity_check", res->full, sizeof res->full, err);
    if (rc == 0 && res->full[0] && stand_ins.count > 0 && !db_check_passed(res->full)) {
        char quick[256];
        rc = run_check(db, "PRAGMA quick_check", quick, sizeof quick, err);
        if (rc == 0 && db_check_passed(quick))
            snprintf(res->full, sizeof res->full,
                     "ok (indexes using collation %s judged by structure only: the application "
                     "defines it)",
                     stand_ins.names[0]);
    }
    if (rc == 0 && wants(job->checks, "foreign_keys"))
        rc = run_check(db, "PRAGMA foreign_key_check", res->foreign_keys, sizeof res->foreign_keys,
                       err);
    sqlite3_close(db);
    res->seconds = monotonic_seconds() - started;
    if (rc != 0)
        return -1;
    res->ok = (!res->quick[0] || db_check_passed(res->quick)) &&
              (!res->full[0] || db_check_passed(res->full)) &&
              (!res->foreign_keys[0] || db_check_passed(res->foreign_keys));
    return 0;
}
