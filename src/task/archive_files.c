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
#include <jansson.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "common/util.h"
#include "task/maintenance.h"
#include "db/sqlite/sqlite_ops.h"

#define ROWS_PER_FILE 100000

typedef struct Buffer {
    char *data;
    size_t len, cap;
} Buffer;

static void append(Buffer *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        while (b->len + n + 1 > b->cap)
            b->cap = b->cap ? b->cap * 2 : 65536;
        b->data = xrealloc(b->data, b->cap);
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
}

/* A REAL as text that reads back as the same double: 17 significant digits, and the
 * non-finite values (which SQLite can store, from 1e999) by name. */
static void format_real(double v, char *buf, size_t len)
{
    if (isinf(v))
        snprintf(buf, len, "%s", v > 0 ? "Infinity" : "-Infinity");
    else
        snprintf(buf, len, "%.17g", v);
}

/* RFC 4180: a field with a comma, quote, CR or LF is quoted, quotes doubled. */
static void append_csv_text(Buffer *b, const char *text, size_t n, bool force_quotes)
{
    bool quote = force_quotes;
    for (size_t i = 0; i < n && !quote; i++)
        quote = text[i] == ',' || text[i] == '"' || text[i] == '\r' || text[i] == '\n';
    if (quote)
        append(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        if (text[i] == '"')
            append(b, "\"", 1);
        append(b, text + i, 1);
    }
    if (quote)
        append(b, "\"", 1);
}

/* CSV fields, as docs/upkeep.conf(5) describes them: NULL is an empty field, the empty string
 * a quoted empty field (""), REALs have 17 significant digits (Infinity, -Infinity), BLOBs
 * are \x and hex digits, and text is its bytes as stored. */
static void append_csv_field(Buffer *b, sqlite3_stmt *stmt, int col)
{
    int type = sqlite3_column_type(stmt, col);
    char num[40];
    switch (type) {
    case SQLITE_NULL: return;
    case SQLITE_FLOAT:
        format_real(sqlite3_column_double(stmt, col), num, sizeof num);
        append(b, num, strlen(num));
        return;
    case SQLITE_BLOB: {
        int n = sqlite3_column_bytes(stmt, col);
        char *hex = xmalloc(2 * (size_t)n + 3);
        memcpy(hex, "\\x", 2);
        hex_encode(sqlite3_column_blob(stmt, col), (size_t)n, hex + 2);
        append(b, hex, strlen(hex));
        free(hex);
        return;
    }
    default: {
        const char *text = (const char *)sqlite3_column_text(stmt, col);
        size_t n = (size_t)sqlite3_column_bytes(stmt, col);
        append_csv_text(b, text, n, type == SQLITE_TEXT && n == 0);
    }
    }
}

static json_t *hex_object(const char *key, const void *data, size_t n)
{
    char *hex = xmalloc(2 * n + 1);
    hex_encode(data, n, hex);
    json_t *v = json_pack("{s:s}", key, hex);
    free(hex);
    return v;
}

/* JSON values that lose nothing: numbers and strings as such; and, as one-key objects, what
 * JSON cannot hold: {"hex": …} a BLOB, {"text_hex": …} text that is not valid UTF-8, {"real":
 * "Infinity"} or {"real": "-Infinity"}. Text with NUL bytes is a string with \u0000. */
static json_t *json_value(sqlite3_stmt *stmt, int col)
{
    switch (sqlite3_column_type(stmt, col)) {
    case SQLITE_INTEGER: return json_integer(sqlite3_column_int64(stmt, col));
    case SQLITE_FLOAT: {
        double v = sqlite3_column_double(stmt, col);
        if (isinf(v))
            return json_pack("{s:s}", "real", v > 0 ? "Infinity" : "-Infinity");
        return json_real(v);
    }
    case SQLITE_TEXT: {
        const char *text = (const char *)sqlite3_column_text(stmt, col);
        size_t n = (size_t)sqlite3_column_bytes(stmt, col);
        json_t *v = json_stringn(text, n);
        return v ? v : hex_object("text_hex", text, n);
    }
    case SQLITE_BLOB:
        return hex_object("hex", sqlite3_column_blob(stmt, col),
                          (size_t)sqlite3_column_bytes(stmt, col));
    default: return json_null();
    }
}

/* Renders the rows of one export (all columns but the marker) as JSON Lines or CSV. */
static int render(sqlite3 *db, const char *table, const char *format, int64_t export_id,
                  Buffer *out, uint64_t *rows, UkError *err)
{
    char *sql = xasprintf("SELECT * FROM %s WHERE upkeep_export = %lld ORDER BY rowid", table,
                          (long long)export_id);
    sqlite3_stmt *stmt = NULL;
    int rc = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK) {
        rc = uk_error_set(err, UK_E_DB, 0, "%s", sqlite3_errmsg(db));
        goto done;
    }
    /* Every column but the export marker, wherever it sits (columns the application adds
     * later come after it). */
    int cols = sqlite3_column_count(stmt);
    bool *skip = xcalloc((size_t)cols + 1, sizeof *skip);
    for (int c = 0; c < cols; c++)
        skip[c] = strcmp(sqlite3_column_name(stmt, c), "upkeep_export") == 0;
    bool csv = strcmp(format, "csv") == 0;
    if (csv) {
        bool first = true;
        for (int c = 0; c < cols; c++) {
            if (skip[c])
                continue;
            if (!first)
                append(out, ",", 1);
            first = false;
            const char *name = sqlite3_column_name(stmt, c);
            append_csv_text(out, name, strlen(name), false);
        }
        append(out, "\n", 1);
    }
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        if (csv) {
            bool first = true;
            for (int c = 0; c < cols; c++) {
                if (skip[c])
                    continue;
                if (!first)
                    append(out, ",", 1);
                first = false;
                append_csv_field(out, stmt, c);
            }
        } else {
            json_t *row = json_object();
            for (int c = 0; c < cols; c++)
                if (!skip[c])
                    json_object_set_new(row, sqlite3_column_name(stmt, c), json_value(stmt, c));
            char *line = json_dumps(row, JSON_COMPACT | JSON_PRESERVE_ORDER);
            append(out, line, strlen(line));
            free(line);
            json_decref(row);
        }
        append(out, "\n", 1);
        (*rows)++;
    }
    free(skip);
done:
    sqlite3_finalize(stmt);
    free(sql);
    return rc;
}

static int write_compressed(const char *path, const Buffer *in, UkError *err)
{
    size_t cap = ZSTD_compressBound(in->len);
    void *out = xmalloc(cap);
    size_t n = ZSTD_compress(out, cap, in->data ? in->data : "", in->len, 3);
    int rc = ZSTD_isError(n) ? uk_error_set(err, UK_E_INTERNAL, 0, "unable to compress '%s'", path)
                             : write_file_atomic(path, out, n, false, err);
    free(out);
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
            Buffer buf = {0};
            int write_rc = render(db, table, job->archive_format, id, &buf, &exported, err);
            if (write_rc == 0)
                write_rc = write_compressed(path, &buf, err);
            free(buf.data);
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
