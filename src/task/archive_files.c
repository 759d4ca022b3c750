/* Archives as files: rows go from the staging database (filled by the archive task exactly as
 * a SQLite archive is, so no row is lost or duplicated on the way) into zstd-compressed JSON
 * Lines or CSV files.
 *
 * Each export is recorded before its file is written: one staging transaction creates an
 * export record and marks the rows it covers. The file is then written under a temporary
 * name, synced and renamed; only then are the marked rows and the record deleted. A crash
 * before the rename leaves the record and its rows, so the next run writes the same file
 * again; a crash after it leaves the file complete, and the next run just finishes the
 * deletion. Every row therefore lands in exactly one file. */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "task/maintenance.h"
#include "task/row_output.h"
#include "db/sqlite/sqlite_ops.h"

#define ROWS_PER_FILE 100000

/* Writes the rows of one export (all columns but the marker) to PATH, whose name says the
 * format (.jsonl.zst, .csv.zst). */
static int render(sqlite3 *db, const char *table, int64_t export_id, const char *path,
                  uint64_t *rows, UkError *err)
{
    char *sql = xasprintf("SELECT * FROM %s WHERE upkeep_export = %lld ORDER BY rowid", table,
                          (long long)export_id);
    sqlite3_stmt *stmt = NULL;
    RowOutput *out = NULL;
    int rc = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK) {
        uk_error_set(err, UK_E_DB, 0, "%s", sqlite3_errmsg(db));
        goto done;
    }
    if (!(out = row_output_open(path, err)))
        goto done;
    /* Every column but the export marker, wherever it sits (columns the application adds
     * later come after it). */
    int cols = sqlite3_column_count(stmt);
    int *kept = xcalloc((size_t)cols + 1, sizeof *kept);
    const char **names = xcalloc((size_t)cols + 1, sizeof *names);
    DbValue *values = xcalloc((size_t)cols + 1, sizeof *values);
    size_t n = 0;
    for (int c = 0; c < cols; c++)
        if (strcmp(sqlite3_column_name(stmt, c), "upkeep_export") != 0) {
            kept[n] = c;
            names[n++] = sqlite3_column_name(stmt, c);
        }
    rc = row_output_row(out, n, names, NULL);
    while (rc == 0 && sqlite3_step(stmt) == SQLITE_ROW) {
        for (size_t i = 0; i < n; i++)
            values[i] = sqlite_ops_value(stmt, kept[i]);
        rc = row_output_row(out, n, names, values);
    }
    free(kept);
    free(names);
    free(values);
    /* A failed write is the output's to report: closing says what it was, and removes it. */
    int close_rc = row_output_close(out, rows, err);
    rc = rc ? rc : close_rc;
done:
    sqlite3_finalize(stmt);
    free(sql);
    return rc;
}

int archive_export_files(const ConfigJob *job, uint64_t *files, uint64_t *rows, UkError *err)
{
    *files = *rows = 0;
    sqlite3 *db = NULL;
    char *table = sqlite_ops_quote(job->table);
    int rc = -1;
    if (sqlite3_open_v2(job->archive_path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        rc = 0; /* no staging database: nothing was ever staged */
        goto out;
    }
    sqlite3_busy_timeout(db, 10000);
    if (!sqlite_ops_has(db, job->table, NULL)) {
        rc = 0;
        goto out;
    }
    char *setup = xasprintf("CREATE TABLE IF NOT EXISTS upkeep_exports(id INTEGER PRIMARY KEY,"
                            " file TEXT NOT NULL);");
    int setup_rc = sqlite_ops_exec(db, setup, err);
    free(setup);
    if (setup_rc != 0)
        goto out;
    if (!sqlite_ops_has(db, job->table, "upkeep_export")) {
        char *alter = xasprintf("ALTER TABLE %s ADD COLUMN upkeep_export INTEGER", table);
        setup_rc = sqlite_ops_exec(db, alter, err);
        free(alter);
        if (setup_rc != 0)
            goto out;
    }
    for (;;) {
        /* A pending export first (from an interrupted run), else a new one. */
        int64_t id = sqlite_ops_int(db, "SELECT min(id) FROM upkeep_exports");
        char file[512] = "";
        if (id <= 0) {
            char *count_sql =
                xasprintf("SELECT count(*) FROM %s WHERE upkeep_export IS NULL", table);
            int64_t waiting = sqlite_ops_int(db, count_sql);
            free(count_sql);
            if (waiting <= 0)
                break;
            char stamp[32];
            time_t now = time(NULL);
            strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", gmtime(&now));
            if (sqlite_ops_exec(db, "BEGIN IMMEDIATE", err) != 0)
                goto out;
            id = sqlite_ops_int(db, "SELECT coalesce(max(id), 0) + 1 FROM upkeep_exports");
            snprintf(file, sizeof file, "%s-%s-%lld.%s.zst", job->table, stamp, (long long)id,
                     job->archive_format);
            char *mark =
                xasprintf("INSERT INTO upkeep_exports(id, file) VALUES (%lld, '%s');"
                          " UPDATE %s SET upkeep_export = %lld WHERE rowid IN (SELECT rowid FROM %s"
                          " WHERE upkeep_export IS NULL ORDER BY rowid LIMIT %d)",
                          (long long)id, file, table, (long long)id, table, ROWS_PER_FILE);
            int mark_rc = sqlite_ops_exec(db, mark, err);
            free(mark);
            if (mark_rc != 0 || sqlite_ops_exec(db, "COMMIT", err) != 0) {
                sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
                goto out;
            }
        } else {
            sqlite3_stmt *stmt = NULL;
            sqlite3_prepare_v2(db, "SELECT file FROM upkeep_exports WHERE id = ?", -1, &stmt, NULL);
            sqlite3_bind_int64(stmt, 1, id);
            if (sqlite3_step(stmt) == SQLITE_ROW)
                snprintf(file, sizeof file, "%s", (const char *)sqlite3_column_text(stmt, 0));
            sqlite3_finalize(stmt);
        }
        char *path = xasprintf("%s/%s", job->archive_dir, file);
        uint64_t exported = 0;
        if (!path_exists(path)) {
            int write_rc = render(db, table, id, path, &exported, err);
            if (write_rc != 0) {
                free(path);
                goto out;
            }
            (*files)++;
            *rows += exported;
        }
        free(path);
        char *finish = xasprintf("BEGIN IMMEDIATE; DELETE FROM %s WHERE upkeep_export = %lld;"
                                 " DELETE FROM upkeep_exports WHERE id = %lld; COMMIT",
                                 table, (long long)id, (long long)id);
        int finish_rc = sqlite_ops_exec(db, finish, err);
        free(finish);
        if (finish_rc != 0) {
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            goto out;
        }
    }
    /* Staged rows only pass through: give their space back, so the staging database does
     * not keep the size of the largest run. */
    if (*files > 0 && sqlite_ops_int(db, "PRAGMA freelist_count") > 0)
        sqlite_ops_exec(db, "VACUUM", NULL);
    rc = 0;
out:
    if (rc != 0)
        uk_error_prefix(err, "job '%s': archive files in '%s': ", job->name, job->archive_dir);
    sqlite3_close(db);
    free(table);
    return rc;
}
