/* Row tasks on SQLite (db/row_store.h).
 *
 * Rows. Candidates are found in rowid order outside any write transaction (reading does not
 * block the application's writers in WAL mode). Each batch is one BEGIN IMMEDIATE ... COMMIT
 * that deletes rows by rowid, re-checking the condition, so a row changed meanwhile is left
 * alone. Each batch ends when `transaction_budget` is used up or about 1,000 pages were
 * changed (or after `batch_size` rows), and before the next one the application's writers
 * get their turn (see batch.c). Foreign keys are on, so cascades run; a constraint violation
 * rolls the batch back and stops the job.
 *
 * Age. The age column's format is detected from the data (or set with age_format) and the
 * comparison guards the type: text rows are compared as dates only when the column holds
 * dates as text, numbers only when it holds numbers, so a number is never compared with a
 * string by accident.
 *
 * Archive. Rows are copied into the archive database ahead of the deletes (stage: INSERT OR
 * REPLACE keyed on rowid, its WAL synced), and only then deleted from the application's
 * database, each only if it still equals its copy: a row the application changed after it
 * was copied stays (its stale copy is dropped from the archive, unstage), and the next run
 * copies it again. A crash between copy and delete leaves rows in both; the next run copies
 * them again, which replaces rather than duplicates, and deletes them. So no row or change
 * is lost or duplicated. Copying holds only a read lock on the application's database. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "core/log.h"
#include "db/db_driver.h"
#include "db/row_rules.h"
#include "db/sqlite/batch.h"
#include "db/sqlite/sqlite_ops.h"

/* Text is a date only if it starts like one: "12345" is a valid julianday() argument too. */
#define ISO_GLOB "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*"

typedef struct SqliteRows {
    RowStore base;
    const ConfigJob *job;
    sqlite3 *db;
    char *table, *age, *files; /* quoted identifiers */
    char *condition;           /* SQL: age condition plus the job's where */
    char *prefilter;           /* index-friendly range on the age column (NULL: none) */
    double cutoff;             /* in the column's unit */
    const char *rowid;         /* "rowid", or "_rowid_" / "oid" when a column takes that name */
    char *columns;             /* quoted column list, for archive */
    char *same_as_copy;        /* " AND copy.c IS t.c ..." over all columns, for archive */
    sqlite3_stmt *path_stmt, *names_stmt, *del, *copy, *uncopy;
    SqliteBatch batch;
} SqliteRows;

#define SELF(s) ((SqliteRows *)(s))

/* Detects how the age column stores time from up to 200 non-empty values. */
static int detect_format(SqliteRows *p, char *format, size_t len, UkError *err)
{
    char *sql = xasprintf("SELECT typeof(%s), %s, julianday(%s) IS NOT NULL AND %s GLOB '" ISO_GLOB
                          "' FROM %s WHERE %s IS NOT NULL AND %s != '' LIMIT 200",
                          p->age, p->age, p->age, p->age, p->table, p->age, p->age);
    sqlite3_stmt *stmt = NULL;
    int rc = 0, texts = 0, numbers = 0;
    double max = 0;
    if (sqlite3_prepare_v2(p->db, sql, -1, &stmt, NULL) != SQLITE_OK) {
        rc = uk_error_set(err, UK_E_DB, 0, "%s", sqlite3_errmsg(p->db));
        goto out;
    }
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        const char *type = (const char *)sqlite3_column_text(stmt, 0);
        if (strcmp(type, "text") == 0) {
            if (!sqlite3_column_int(stmt, 2)) {
                rc = uk_error_set(err, UK_E_CONFIG, 0,
                                  "age_column '%s' holds text that is not a date: '%s'",
                                  p->job->age_column, sqlite3_column_text(stmt, 1));
                goto out;
            }
            texts++;
        } else if (strcmp(type, "integer") == 0 || strcmp(type, "real") == 0) {
            numbers++;
            double v = sqlite3_column_double(stmt, 1);
            if (v > max)
                max = v;
        }
    }
    if (texts && numbers) {
        rc = uk_error_set(err, UK_E_CONFIG, 0,
                          "age_column '%s' holds both text and numbers; set age_format",
                          p->job->age_column);
        goto out;
    }
    /* The magnitude tells the number formats apart (microseconds: Firefox's places). */
    const char *by_magnitude = row_age_number_format(max);
    snprintf(format, len, "%s",
             texts                                            ? "iso8601"
             : strcmp(by_magnitude, "julian") != 0 || numbers ? by_magnitude
                                                              : "iso8601");
out:
    sqlite3_finalize(stmt);
    free(sql);
    return rc;
}

static int age_condition(SqliteRows *p, UkError *err)
{
    const ConfigJob *job = p->job;
    char format[16];
    if (strcmp(job->age_format, "auto") == 0) {
        if (detect_format(p, format, sizeof format, err) != 0)
            return -1;
    } else {
        snprintf(format, sizeof format, "%s", job->age_format);
    }
    snprintf(p->base.age_format, sizeof p->base.age_format, "%s", format);
    time_t cutoff = age_cutoff(&job->older_than, time(NULL));
    p->base.cutoff = cutoff;
    const char *expr;
    if (strcmp(format, "iso8601") == 0) {
        p->cutoff = (double)cutoff / 86400.0 + 2440587.5;
        expr = "typeof(%s) = 'text' AND %s GLOB '" ISO_GLOB "' AND julianday(%s) < %.17g";
    } else {
        p->cutoff = strcmp(format, "unix") == 0      ? (double)cutoff
                    : strcmp(format, "unix_ms") == 0 ? (double)cutoff * 1e3
                    : strcmp(format, "unix_us") == 0 ? (double)cutoff * 1e6
                    : strcmp(format, "unix_ns") == 0 ? (double)cutoff * 1e9
                                                     : (double)cutoff / 86400.0 + 2440587.5;
        expr = "typeof(%s) IN ('integer', 'real') AND %s < %.17g";
    }
    /* A range the age column's index can serve, wide enough that no UTC offset hides a
     * candidate: an instant before the cutoff, written in local time up to +14:00 ahead, has a
     * date before the day after cutoff + 14 h. The exact condition (julianday(), which reads
     * the offset) decides. */
    if (strcmp(format, "iso8601") == 0) {
        char day[16];
        time_t wide = cutoff + 14 * 3600 + 86400;
        strftime(day, sizeof day, "%Y-%m-%d", gmtime(&wide));
        p->prefilter = xasprintf("%s < '%s'", p->age, day);
    } else {
        p->prefilter = xasprintf("%s < %.17g", p->age, p->cutoff);
    }
    char *age_cond = strcmp(format, "iso8601") == 0
                         ? xasprintf(expr, p->age, p->age, p->age, p->cutoff)
                         : xasprintf(expr, p->age, p->age, p->cutoff);
    p->condition =
        job->where ? xasprintf("(%s) AND (%s)", age_cond, job->where) : xstrdup(age_cond);
    free(age_cond);
    return 0;
}

static bool archive_has_column(sqlite3 *db, const char *table, const char *column)
{
    sqlite3_stmt *stmt = NULL;
    bool found = false;
    if (sqlite3_prepare_v2(db,
                           "SELECT 1 FROM pragma_table_xinfo(?1, 'archive') WHERE name = ?2 "
                           "COLLATE NOCASE",
                           -1, &stmt, NULL) == SQLITE_OK) {
        sqlite3_bind_text(stmt, 1, table, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, column, -1, SQLITE_STATIC);
        found = sqlite3_step(stmt) == SQLITE_ROW;
    }
    sqlite3_finalize(stmt);
    return found;
}

/* Tables whose rows an ON DELETE CASCADE from TABLE would delete: archiving TABLE would
 * delete them without archiving them. Comma-separated, or NULL. Caller frees. */
static char *cascading_children(sqlite3 *db, const char *table)
{
    sqlite3_stmt *stmt = NULL;
    char *list = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT DISTINCT m.name FROM sqlite_schema AS m, "
                           "pragma_foreign_key_list(m.name) AS f WHERE m.type = 'table' AND "
                           "f.\"table\" = ?1 COLLATE NOCASE AND f.on_delete = 'CASCADE' "
                           "ORDER BY m.name",
                           -1, &stmt, NULL) == SQLITE_OK) {
        sqlite3_bind_text(stmt, 1, table, -1, SQLITE_STATIC);
        while (sqlite3_step(stmt) == SQLITE_ROW) {
            char *next = xasprintf("%s%s'%s'", list ? list : "", list ? ", " : "",
                                   (const char *)sqlite3_column_text(stmt, 0));
            free(list);
            list = next;
        }
    }
    sqlite3_finalize(stmt);
    return list;
}

static int attach_archive(sqlite3 *db, const char *path, UkError *err)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(db, "ATTACH DATABASE ? AS archive", -1, &stmt, NULL) != SQLITE_OK)
        return uk_error_set(err, UK_E_DB, 0, "%s", sqlite3_errmsg(db));
    sqlite3_bind_text(stmt, 1, path, -1, SQLITE_STATIC);
    int step = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (step != SQLITE_DONE)
        return uk_error_set(err, UK_E_DB, 0, "unable to open archive '%s': %s", path,
                            sqlite3_errmsg(db));
    return 0;
}

/* A new archive is made under a temporary name, in WAL mode (one fsync per batch instead of
 * the four of a rollback-journal commit, which compete with the application's own writes) and
 * with its table, then renamed: a run killed meanwhile leaves no archive half made. The
 * application's connection may not create files, so ATTACH cannot create it: a connection of
 * its own does. */
static int create_archive(SqliteRows *p, UkError *err)
{
    const char *path = p->job->archive_path;
    char *tmp = xasprintf("%s.new", path);
    char *tmp_wal = xasprintf("%s-wal", tmp), *tmp_shm = xasprintf("%s-shm", tmp);
    unlink(tmp); /* left by a run killed here */
    unlink(tmp_wal);
    unlink(tmp_shm);
    sqlite3 *create = NULL;
    int rc =
        sqlite3_open_v2(tmp, &create, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) == SQLITE_OK
            ? sqlite_ops_exec(create, "PRAGMA journal_mode = WAL", err)
            : uk_error_set(err, UK_E_DB, 0, "unable to create archive '%s'", path);
    sqlite3_close(create);
    if (rc == 0)
        rc = attach_archive(p->db, tmp, err);
    if (rc == 0) {
        char *sql = xasprintf("CREATE TABLE archive.%s AS SELECT * FROM main.%s WHERE 0", p->table,
                              p->table);
        rc = sqlite_ops_exec(p->db, sql, err);
        free(sql);
        /* The last connection to leave checkpoints the log into the file and removes it. */
        sqlite3_exec(p->db, "DETACH DATABASE archive", NULL, NULL, NULL);
    }
    if (rc == 0 && path_exists(tmp_wal))
        rc = uk_error_set(err, UK_E_DB, 0, "archive '%s': its log was not checkpointed", path);
    if (rc == 0)
        cleanup_crash_point("archive-made");
    if (rc == 0 && rename(tmp, path) != 0)
        rc = uk_error_set(err, UK_E_IO, errno, "unable to create archive '%s'", path);
    if (rc == 0) {
        char *dir = path_dirname(path);
        rc = fsync_dir(dir, err);
        free(dir);
    } else {
        unlink(tmp);
        unlink(tmp_wal);
        unlink(tmp_shm);
    }
    free(tmp);
    free(tmp_wal);
    free(tmp_shm);
    return rc;
}

/* Attaches the archive database, creating it when missing, and the table there if it is
 * missing, with the same columns; rows keep their rowid, which makes copying a batch twice
 * harmless. An archive that exists keeps its journal mode. */
static int prepare_archive(SqliteRows *p, UkError *err)
{
    const ConfigJob *job = p->job;
    char *dir = path_dirname(job->archive_path);
    int rc = mkdir_p(dir, 0700, err);
    free(dir);
    if (rc != 0)
        return -1;
    if (!path_exists(job->archive_path) && create_archive(p, err) != 0)
        return -1;
    if (attach_archive(p->db, job->archive_path, err) != 0)
        return -1;
    sqlite3_stmt *mode = NULL;
    bool wal = false;
    if (sqlite3_prepare_v2(p->db, "PRAGMA archive.journal_mode", -1, &mode, NULL) == SQLITE_OK &&
        sqlite3_step(mode) == SQLITE_ROW)
        wal = strcmp((const char *)sqlite3_column_text(mode, 0), "wal") == 0;
    sqlite3_finalize(mode);
    if (wal && sqlite_ops_exec(p->db, "PRAGMA archive.synchronous = NORMAL", err) != 0)
        return -1;
    /* The archive table first, with the same columns; then columns the application added
     * since (an archive that stopped at an old schema would refuse every later copy). */
    char *sql = xasprintf("CREATE TABLE IF NOT EXISTS archive.%s AS SELECT * FROM main.%s WHERE 0",
                          p->table, p->table);
    rc = sqlite_ops_exec(p->db, sql, err);
    free(sql);
    if (rc != 0)
        return -1;
    /* Column list from the source table, quoted, and the test that a row equals its copy.
     * table_xinfo, not table_info: generated columns are read (and archived) too. */
    sql = sqlite3_mprintf("SELECT name FROM pragma_table_xinfo(%Q) WHERE hidden != 1", job->table);
    sqlite3_stmt *stmt = NULL;
    p->columns = xstrdup("");
    p->same_as_copy = xstrdup("");
    if (sqlite3_prepare_v2(p->db, sql, -1, &stmt, NULL) == SQLITE_OK) {
        while (sqlite3_step(stmt) == SQLITE_ROW) {
            const char *name = (const char *)sqlite3_column_text(stmt, 0);
            char *q = sqlite_ops_quote(name);
            if (rc == 0 && !archive_has_column(p->db, job->table, name)) {
                char *alter = xasprintf("ALTER TABLE archive.%s ADD COLUMN %s", p->table, q);
                rc = sqlite_ops_exec(p->db, alter, err);
                free(alter);
                if (rc == 0)
                    log_debug("job=%s archive gets the new column %s", job->name, name);
            }
            char *columns = xasprintf("%s%s%s", p->columns, *p->columns ? ", " : "", q);
            char *same = xasprintf("%s AND copy.%s IS %s.%s", p->same_as_copy, q, p->table, q);
            free(p->columns);
            free(p->same_as_copy);
            p->columns = columns;
            p->same_as_copy = same;
            free(q);
        }
    }
    sqlite3_finalize(stmt);
    sqlite3_free(sql);
    return rc;
}

static int prepare_statements(SqliteRows *p, bool dry_run, UkError *err)
{
    const char *id = p->rowid;
    char *path_sql =
        xasprintf("SELECT %s FROM %s WHERE %s = ?", p->files ? p->files : "NULL", p->table, id);
    char *names_sql = xasprintf("SELECT 1 FROM %s WHERE %s = ? AND %s = ?", p->table, id,
                                p->files ? p->files : "NULL");
    char *delete_sql = NULL, *copy_sql = NULL, *uncopy_sql = NULL;
    if (p->job->kind == TASK_UPDATE)
        delete_sql = xasprintf("UPDATE %s SET %s WHERE %s = ? AND %s", p->table, p->job->set, id,
                               p->condition);
    else if (p->columns) /* archive: only a row that still equals its copy */
        delete_sql = xasprintf("DELETE FROM main.%s WHERE %s = ?1 AND %s AND EXISTS (SELECT 1 "
                               "FROM archive.%s AS copy WHERE copy.%s = ?1%s)",
                               p->table, id, p->condition, p->table, id, p->same_as_copy);
    else
        delete_sql = xasprintf("DELETE FROM %s WHERE %s = ? AND %s", p->table, id, p->condition);
    if (p->columns) {
        copy_sql = xasprintf("INSERT OR REPLACE INTO archive.%s(%s, %s) SELECT "
                             "%s, %s FROM main.%s WHERE %s = ? AND %s",
                             p->table, id, p->columns, id, p->columns, p->table, id, p->condition);
        uncopy_sql = xasprintf("DELETE FROM archive.%s WHERE %s = ?", p->table, id);
    }
    int rc = 0;
    if (sqlite3_prepare_v2(p->db, path_sql, -1, &p->path_stmt, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(p->db, names_sql, -1, &p->names_stmt, NULL) != SQLITE_OK ||
        (!dry_run && sqlite3_prepare_v2(p->db, delete_sql, -1, &p->del, NULL) != SQLITE_OK) ||
        (copy_sql && sqlite3_prepare_v2(p->db, copy_sql, -1, &p->copy, NULL) != SQLITE_OK) ||
        (uncopy_sql && sqlite3_prepare_v2(p->db, uncopy_sql, -1, &p->uncopy, NULL) != SQLITE_OK))
        rc = uk_error_set(err, UK_E_DB, 0, "%s", sqlite3_errmsg(p->db));
    free(path_sql);
    free(names_sql);
    free(delete_sql);
    free(copy_sql);
    free(uncopy_sql);
    return rc;
}

static int prepare(SqliteRows *p, bool dry_run, UkError *err)
{
    const ConfigJob *job = p->job;
    if (!sqlite_ops_has(p->db, job->table, NULL))
        return uk_error_set(err, UK_E_CONFIG, 0, "job '%s': no table '%s' in database '%s'",
                            job->name, job->table, job->database->name);
    const char *columns[] = {job->age_column, job->files_column};
    for (size_t i = 0; i < sizeof columns / sizeof columns[0]; i++)
        if (columns[i] && !sqlite_ops_has(p->db, job->table, columns[i]))
            return uk_error_set(err, UK_E_CONFIG, 0, "job '%s': table '%s' has no column '%s'",
                                job->name, job->table, columns[i]);
    p->table = sqlite_ops_quote(job->table);
    p->age = job->age_column ? sqlite_ops_quote(job->age_column) : NULL;
    p->files = job->files_column ? sqlite_ops_quote(job->files_column) : NULL;
    /* A column may be named rowid (or _rowid_, or oid): then that name reads the column, not
     * the row id, and the first alias no column takes is used. */
    static const char *const aliases[] = {"rowid", "_rowid_", "oid"};
    for (size_t i = 0; i < 3 && !p->rowid; i++)
        if (!sqlite_ops_has(p->db, job->table, aliases[i]))
            p->rowid = aliases[i];
    if (!p->rowid)
        return uk_error_set(err, UK_E_CONFIG, 0,
                            "job '%s': table '%s' has columns named rowid, _rowid_ and oid, so "
                            "no name reaches its row id",
                            job->name, job->table);
    char *check = xasprintf("SELECT %s FROM %s LIMIT 0", p->rowid, p->table);
    sqlite3_stmt *probe_rowid = NULL;
    int has_rowid = sqlite3_prepare_v2(p->db, check, -1, &probe_rowid, NULL) == SQLITE_OK;
    sqlite3_finalize(probe_rowid);
    free(check);
    if (!has_rowid)
        return uk_error_set(err, UK_E_CONFIG, 0,
                            "job '%s': table '%s' has no rowid (WITHOUT ROWID tables are not "
                            "supported by purge)",
                            job->name, job->table);
    if (job->age_column && age_condition(p, err) != 0)
        return -1;
    if (!job->age_column)
        p->condition = xasprintf("(%s)", job->where);
    /* The job's `where` is trusted SQL, but it must at least compile on its own. */
    char *probe = xasprintf("SELECT 1 FROM %s WHERE %s LIMIT 0", p->table, p->condition);
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(p->db, probe, -1, &stmt, NULL);
    sqlite3_finalize(stmt);
    free(probe);
    if (rc != SQLITE_OK)
        return uk_error_set(err, UK_E_CONFIG, 0, "job '%s': the purge condition does not work: %s",
                            job->name, sqlite3_errmsg(p->db));
    if (job->kind == TASK_ARCHIVE && !job->cascade) {
        char *children = cascading_children(p->db, job->table);
        if (children) {
            row_cascade_refused(job, children, err);
            free(children);
            return -1;
        }
    }
    if (job->kind == TASK_ARCHIVE && !dry_run && prepare_archive(p, err) != 0)
        return -1;
    p->base.stages = p->columns != NULL;
    return prepare_statements(p, dry_run, err);
}

static void sqlite_rows_close(RowStore *s)
{
    SqliteRows *p = SELF(s);
    if (!p)
        return;
    sqlite3_finalize(p->path_stmt);
    sqlite3_finalize(p->names_stmt);
    sqlite3_finalize(p->del);
    sqlite3_finalize(p->copy);
    sqlite3_finalize(p->uncopy);
    sqlite3_close(p->db);
    free(p->table);
    free(p->age);
    free(p->files);
    free(p->condition);
    free(p->prefilter);
    free(p->columns);
    free(p->same_as_copy);
    free(p);
}

static int sqlite_rows_open(const ConfigJob *job, bool dry_run, RowStore **out, UkError *err)
{
    *out = NULL;
    SqliteRows *p = xcalloc(1, sizeof *p);
    p->base.ops = &db_sqlite_rows;
    p->job = job;
    if (sqlite_ops_open(job->database->path, &p->db, err) != 0) {
        uk_error_prefix(err, "database '%s': ", job->database->name);
        sqlite_rows_close(&p->base);
        return -1;
    }
    if (prepare(p, dry_run, err) != 0) {
        sqlite_rows_close(&p->base);
        return -1;
    }
    *out = &p->base;
    return 0;
}

static int compare_rowids(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* All candidates' rowids (8 bytes each), found through the age column's index when it has
 * one rather than by scanning the table, sorted: batches go in rowid order, which keeps each
 * on neighbouring pages of the table (and of the archive). */
static int sqlite_rows_candidates(RowStore *s, int64_t **out, size_t *n_out, UkError *err)
{
    SqliteRows *p = SELF(s);
    *out = NULL;
    *n_out = 0;
    char *sql =
        xasprintf("SELECT %s FROM %s WHERE %s%s%s", p->rowid, p->table,
                  p->prefilter ? p->prefilter : "", p->prefilter ? " AND " : "", p->condition);
    sqlite3_stmt *sel = NULL;
    int rc = 0;
    if (sqlite3_prepare_v2(p->db, sql, -1, &sel, NULL) != SQLITE_OK) {
        rc = uk_error_set(err, UK_E_DB, 0, "%s", sqlite3_errmsg(p->db));
        goto out;
    }
    size_t cap = 0;
    while (sqlite3_step(sel) == SQLITE_ROW) {
        if (*n_out == cap) {
            cap = cap ? 2 * cap : 4096;
            *out = xrealloc(*out, cap * sizeof **out);
        }
        (*out)[(*n_out)++] = sqlite3_column_int64(sel, 0);
    }
    if (*n_out > 0)
        qsort(*out, *n_out, sizeof **out, compare_rowids);
out:
    sqlite3_finalize(sel);
    free(sql);
    return rc;
}

static int sqlite_rows_paths(RowStore *s, const int64_t *keys, size_t n, char **paths, UkError *err)
{
    (void)err;
    SqliteRows *p = SELF(s);
    for (size_t i = 0; i < n; i++) {
        paths[i] = NULL;
        if (!p->files)
            continue;
        sqlite3_bind_int64(p->path_stmt, 1, keys[i]);
        if (sqlite3_step(p->path_stmt) == SQLITE_ROW) {
            const unsigned char *path = sqlite3_column_text(p->path_stmt, 0);
            paths[i] = path && *path ? xstrdup((const char *)path) : NULL;
        }
        sqlite3_reset(p->path_stmt);
    }
    return 0;
}

static int sqlite_rows_names(RowStore *s, int64_t key, const char *path, bool *exists, UkError *err)
{
    (void)err;
    SqliteRows *p = SELF(s);
    sqlite3_bind_int64(p->names_stmt, 1, key);
    sqlite3_bind_text(p->names_stmt, 2, path, -1, SQLITE_STATIC);
    *exists = sqlite3_step(p->names_stmt) == SQLITE_ROW;
    sqlite3_reset(p->names_stmt);
    return 0;
}

static int sqlite_rows_scan_files(RowStore *s, RowVisit visit, void *ctx, UkError *err)
{
    SqliteRows *p = SELF(s);
    char *sql = xasprintf("SELECT %s, %s FROM %s WHERE %s IS NOT NULL AND %s != ''", p->rowid,
                          p->files, p->table, p->files, p->files);
    sqlite3_stmt *all = NULL;
    int rc = 0;
    if (sqlite3_prepare_v2(p->db, sql, -1, &all, NULL) != SQLITE_OK)
        rc = uk_error_set(err, UK_E_DB, 0, "unable to read the files rows name: %s",
                          sqlite3_errmsg(p->db));
    while (rc == 0 && sqlite3_step(all) == SQLITE_ROW)
        rc = visit(ctx, sqlite3_column_int64(all, 0), (const char *)sqlite3_column_text(all, 1));
    sqlite3_finalize(all);
    free(sql);
    return rc;
}

/* Runs stmt once per rowid (bound as ?1), all in one transaction; `what` says what failed. */
static int each_rowid(SqliteRows *p, sqlite3_stmt *stmt, const int64_t *rowids, size_t n,
                      const char *what, UkError *err)
{
    if (sqlite_ops_exec(p->db, "BEGIN", err) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        sqlite3_bind_int64(stmt, 1, rowids[i]);
        int step = sqlite3_step(stmt);
        sqlite3_reset(stmt);
        if (step != SQLITE_DONE) {
            uk_error_set(err, UK_E_DB, 0, "row %lld: unable to %s: %s", (long long)rowids[i], what,
                         sqlite3_errmsg(p->db));
            sqlite3_exec(p->db, "ROLLBACK", NULL, NULL, NULL);
            return -1;
        }
    }
    if (sqlite_ops_exec(p->db, "COMMIT", err) != 0) {
        sqlite3_exec(p->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    return 0;
}

static int sqlite_rows_stage(RowStore *s, const int64_t *keys, size_t n, UkError *err)
{
    SqliteRows *p = SELF(s);
    double t0 = monotonic_seconds();
    if (each_rowid(p, p->copy, keys, n, "copy it to the archive", err) != 0)
        return -1;
    /* The copy must be durable before the rows are deleted. Then the archive's log is
     * checkpointed here, while the application's database is left alone. */
    if (sqlite_ops_sync_wal(p->db, "archive", err) != 0)
        return -1;
    sqlite3_wal_checkpoint_v2(p->db, "archive", SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    log_debug("job=%s copied %zu rows in %.1f ms, at %.3f", p->job->name, n,
              sqlite_ops_elapsed_ms(t0), t0);
    return 0;
}

static int sqlite_rows_unstage(RowStore *s, const int64_t *keys, size_t n, UkError *err)
{
    return each_rowid(SELF(s), SELF(s)->uncopy, keys, n, "drop its copy from the archive", err);
}

/* The connection gets the batches' settings (no fsync in COMMIT, our own checkpoints) before
 * the archive's first copy, too. */
static void sqlite_rows_start(RowStore *s)
{
    SqliteRows *p = SELF(s);
    sqlite_batch_start(&p->batch, p->db, p->job->transaction_budget, p->job->pause);
}

static int sqlite_rows_begin(RowStore *s, UkError *err)
{
    return sqlite_batch_begin(&SELF(s)->batch, err);
}

static int sqlite_rows_apply(RowStore *s, const int64_t *keys, size_t n, bool fixed, size_t *done,
                             bool *gone, UkError *err)
{
    SqliteRows *p = SELF(s);
    *done = 0;
    while (*done < n && (fixed || *done == 0 || sqlite_batch_time_left(&p->batch, *done))) {
        sqlite3_bind_int64(p->del, 1, keys[*done]);
        int step = sqlite3_step(p->del);
        sqlite3_reset(p->del);
        if (step != SQLITE_DONE)
            return uk_error_set(err, UK_E_DB, 0, "unable to delete row %lld of '%s': %s",
                                (long long)keys[*done], p->job->table, sqlite3_errmsg(p->db));
        gone[*done] = sqlite3_changes(p->db) > 0;
        (*done)++;
    }
    return 0;
}

static int sqlite_rows_commit(RowStore *s, size_t done, UkError *err)
{
    return sqlite_batch_commit(&SELF(s)->batch, done, err);
}

static void sqlite_rows_rollback(RowStore *s)
{
    sqlite_batch_rollback(&SELF(s)->batch);
}

static int sqlite_rows_sync(RowStore *s, UkError *err)
{
    return sqlite_ops_sync_commit(SELF(s)->db, err);
}

static void sqlite_rows_figures(const RowStore *s, RowBatchFigures *out)
{
    const SqliteBatch *b = &((const SqliteRows *)s)->batch;
    *out = (RowBatchFigures){
        .aim_ms = b->aim_ms, .last_ms = b->last_ms, .longest_ms = b->longest_ms, .count = b->count};
}

static void sqlite_rows_finish(RowStore *s)
{
    SqliteRows *p = SELF(s);
    if (p->batch.db)
        sqlite_batch_finish(&p->batch);
}

static int sqlite_rows_sql(const ConfigJob *job, bool dry_run, uint64_t *changed,
                           double *transaction_ms, UkError *err)
{
    sqlite3 *db = NULL;
    if (sqlite_ops_open(job->database->path, &db, err) != 0) {
        uk_error_prefix(err, "database '%s': ", job->database->name);
        return -1;
    }
    int rc = -1;
    double t0 = monotonic_seconds();
    if (sqlite_ops_exec(db, "BEGIN IMMEDIATE", err) != 0)
        goto out;
    int before = sqlite3_total_changes(db);
    if (sqlite_ops_exec(db, job->sql, err) != 0) {
        uk_error_prefix(err, "job '%s': ", job->name);
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        goto out;
    }
    *changed = (uint64_t)(sqlite3_total_changes(db) - before);
    if (dry_run) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    } else if (sqlite_ops_exec(db, "COMMIT", err) != 0) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        goto out;
    }
    *transaction_ms = sqlite_ops_elapsed_ms(t0);
    rc = 0;
out:
    sqlite3_close(db);
    return rc;
}

static int sqlite_rows_scan_column(const ConfigDatabase *db_cfg, const char *table,
                                   const char *column, RowVisit visit, void *ctx, UkError *err)
{
    sqlite3 *db = NULL;
    int rc = -1;
    if (sqlite3_open_v2(db_cfg->path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        uk_error_set(err, UK_E_DB, 0, "database '%s': unable to open", db_cfg->name);
        sqlite3_close(db);
        return -1;
    }
    sqlite3_busy_timeout(db, 10000);
    /* The names were checked to be identifiers; %w quotes them anyway. */
    char *sql = sqlite3_mprintf("SELECT \"%w\" FROM \"%w\" WHERE \"%w\" IS NOT NULL", column, table,
                                column);
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK) {
        uk_error_set(err, UK_E_CONFIG, 0, "%s", sqlite3_errmsg(db));
    } else {
        rc = 0;
        while (rc == 0 && sqlite3_step(stmt) == SQLITE_ROW)
            rc = visit(ctx, 0, (const char *)sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
    sqlite3_free(sql);
    sqlite3_close(db);
    return rc;
}

static int sqlite_rows_query(const ConfigDatabase *db_cfg, const char *sql, QueryRow row, void *ctx,
                             UkError *err)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(db_cfg->path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        uk_error_set(err, UK_E_DB, 0, "database '%s': unable to open", db_cfg->name);
        sqlite3_close(db);
        return -1;
    }
    sqlite3_busy_timeout(db, 10000);
    sqlite3_stmt *stmt = NULL;
    int rc = -1;
    /* One read transaction: the rows are one snapshot however long the reader takes. */
    if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK) {
        uk_error_set(err, UK_E_CONFIG, 0, "database '%s': %s", db_cfg->name, sqlite3_errmsg(db));
        goto out;
    }
    int n = sqlite3_column_count(stmt);
    const char **names = xcalloc((size_t)n + 1, sizeof *names);
    DbValue *values = xcalloc((size_t)n + 1, sizeof *values);
    for (int i = 0; i < n; i++)
        names[i] = sqlite3_column_name(stmt, i);
    int step = SQLITE_ROW;
    rc = row(ctx, (size_t)n, names, NULL);
    while (rc == 0 && (step = sqlite3_step(stmt)) == SQLITE_ROW) {
        for (int i = 0; i < n; i++)
            values[i] = sqlite_ops_value(stmt, i);
        rc = row(ctx, (size_t)n, names, values);
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = uk_error_set(err, UK_E_DB, 0, "database '%s': %s", db_cfg->name, sqlite3_errmsg(db));
    free(names);
    free(values);
out:
    sqlite3_finalize(stmt);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    sqlite3_close(db);
    return rc;
}

static int bind_value(sqlite3_stmt *stmt, int i, const DbValue *v)
{
    switch (v->type) {
    case DB_NULL: return sqlite3_bind_null(stmt, i);
    case DB_INTEGER: {
        char *end = NULL;
        errno = 0;
        long long x = strtoll(v->data, &end, 10);
        if (errno == 0 && end == v->data + v->len)
            return sqlite3_bind_int64(stmt, i, x);
        return sqlite3_bind_text(stmt, i, v->data, (int)v->len, SQLITE_TRANSIENT);
    }
    case DB_REAL: return sqlite3_bind_double(stmt, i, v->real);
    case DB_TEXT: return sqlite3_bind_text(stmt, i, v->data, (int)v->len, SQLITE_TRANSIENT);
    case DB_BLOB: return sqlite3_bind_blob(stmt, i, v->data, (int)v->len, SQLITE_TRANSIENT);
    }
    return SQLITE_MISUSE;
}

static int sqlite_rows_import(const ConfigDatabase *db_cfg, const char *table, bool upsert,
                              ImportNext next, void *ctx, uint64_t *records, UkError *err)
{
    *records = 0;
    sqlite3 *db = NULL;
    if (sqlite_ops_open(db_cfg->path, &db, err) != 0) {
        uk_error_prefix(err, "database '%s': ", db_cfg->name);
        return -1;
    }
    char **pk = NULL;
    size_t n_pk = 0;
    sqlite3_stmt *stmt = NULL;
    char *signature = NULL; /* the column list STMT was prepared for */
    int rc = -1;
    if (!sqlite_ops_has(db, table, NULL)) {
        uk_error_set(err, UK_E_NOTFOUND, 0, "database '%s' has no table '%s'", db_cfg->name, table);
        goto out;
    }
    sqlite3_stmt *info = NULL;
    sqlite3_prepare_v2(db, "SELECT name FROM pragma_table_info(?1) WHERE pk > 0 ORDER BY pk", -1,
                       &info, NULL);
    sqlite3_bind_text(info, 1, table, -1, SQLITE_STATIC);
    while (sqlite3_step(info) == SQLITE_ROW) {
        pk = xrealloc(pk, (n_pk + 1) * sizeof *pk);
        pk[n_pk++] = xstrdup((const char *)sqlite3_column_text(info, 0));
    }
    sqlite3_finalize(info);
    if (upsert && n_pk == 0) {
        uk_error_set(err, UK_E_USAGE, 0, "table '%s' has no primary key to upsert by", table);
        goto out;
    }
    if (sqlite_ops_exec(db, "BEGIN IMMEDIATE", err) != 0)
        goto out;
    size_t n;
    const char *const *names;
    const DbValue *values;
    int got;
    while ((got = next(ctx, &n, &names, &values, err)) == 1) {
        uint64_t record = *records + 1;
        char *sig = xstrdup("");
        for (size_t i = 0; i < n; i++) {
            char *more = xasprintf("%s\x1f%s", sig, names[i]);
            free(sig);
            sig = more;
        }
        if (!signature || strcmp(sig, signature) != 0) { /* another set of columns */
            sqlite3_finalize(stmt);
            stmt = NULL;
            free(signature);
            signature = sig;
            char *q_table = sqlite_ops_quote(table);
            char *sql = row_insert_sql(q_table, n, names, false, pk, upsert ? n_pk : 0);
            free(q_table);
            int prc = sqlite3_prepare_v2(db, sql, -1, &stmt, NULL);
            free(sql);
            if (prc != SQLITE_OK) {
                uk_error_set(err, UK_E_FORMAT, 0, "record %llu: %s", (unsigned long long)record,
                             sqlite3_errmsg(db));
                break;
            }
        } else {
            free(sig);
        }
        sqlite3_reset(stmt);
        for (size_t i = 0; i < n; i++)
            bind_value(stmt, (int)i + 1, &values[i]);
        if (sqlite3_step(stmt) != SQLITE_DONE) {
            uk_error_set(err, UK_E_FORMAT, 0, "record %llu: %s", (unsigned long long)record,
                         sqlite3_errmsg(db));
            break;
        }
        (*records)++;
    }
    sqlite3_finalize(stmt);
    stmt = NULL;
    if (got != 0 || err->code) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        *records = 0;
        goto out;
    }
    if (sqlite_ops_exec(db, "COMMIT", err) != 0) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        goto out;
    }
    rc = 0;
out:
    sqlite3_finalize(stmt);
    free(signature);
    for (size_t i = 0; i < n_pk; i++)
        free(pk[i]);
    free(pk);
    sqlite3_close(db);
    return rc;
}

static char *sqlite_rows_quote_name(const char *name)
{
    return sqlite_ops_quote(name);
}

const RowStoreOps db_sqlite_rows = {
    .open = sqlite_rows_open,
    .close = sqlite_rows_close,
    .candidates = sqlite_rows_candidates,
    .paths = sqlite_rows_paths,
    .row_names = sqlite_rows_names,
    .scan_files = sqlite_rows_scan_files,
    .stage = sqlite_rows_stage,
    .unstage = sqlite_rows_unstage,
    .start = sqlite_rows_start,
    .begin = sqlite_rows_begin,
    .apply = sqlite_rows_apply,
    .commit = sqlite_rows_commit,
    .rollback = sqlite_rows_rollback,
    .sync = sqlite_rows_sync,
    .figures = sqlite_rows_figures,
    .finish = sqlite_rows_finish,
    .sql = sqlite_rows_sql,
    .scan_column = sqlite_rows_scan_column,
    .query = sqlite_rows_query,
    .quote_name = sqlite_rows_quote_name,
    .import = sqlite_rows_import,
    .columns_sql =
        "SELECT m.name, p.name, p.type FROM sqlite_master m JOIN pragma_table_info(m.name) "
        "p WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY m.name, p.cid",
};
