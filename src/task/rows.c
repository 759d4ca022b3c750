/* Row tasks: purge (delete old rows, then the files they name), archive (copy them to an
 * archive database first, and move their files), and update (rewrite old rows in place, e.g.
 * to anonymise them). All three share the batching below.
 *
 * Rows. Candidates are found in rowid order outside any write transaction (reading does not
 * block the application's writers in WAL mode). Each batch is one BEGIN IMMEDIATE ... COMMIT
 * that deletes rows by rowid, re-checking the condition, so a row changed meanwhile is left
 * alone. Each batch ends when `transaction_budget` is used up or about 1,000 pages were
 * changed (or after `batch_size` rows), and before the next one the application's writers
 * get their turn (see db/sqlite/batch.c). Foreign keys are on, so cascades run; a constraint
 * violation rolls the batch back and stops the job.
 *
 * Age. The age column's format is detected from the data (or set with age_format) and the
 * comparison guards the type: text rows are compared as dates only when the column holds
 * dates as text, numbers only when it holds numbers, so a number is never compared with a
 * string by accident.
 *
 * Archive. Rows are copied into the archive database ahead of the deletes, up to 8192 at a
 * time in one transaction (INSERT OR REPLACE keyed on rowid, its WAL synced), and only then
 * deleted from the application's database, each only if it still equals its copy: a row the
 * application changed after it was copied stays (its stale copy is dropped from the
 * archive), and the next run copies it again. A crash between copy and delete leaves rows in
 * both; the next run copies them again, which replaces rather than duplicates, and deletes
 * them. So no row or change is lost or duplicated. Copying holds only a read lock on the
 * application's database.
 *
 * Files. Before a batch commits, the (rowid, path) pairs of its rows are written durably to a
 * journal in the state folder. After the commit the files are removed or moved (only inside
 * files_root) and the journal is deleted. A run that finds a journal first finishes it: a
 * path is handled only if its row is really gone, so a crash at any instant never deletes a
 * file whose row still exists and never forgets one whose row was deleted. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/safe_path.h"
#include "common/util.h"
#include "core/log.h"
#include "task/file_refs.h"
#include "task/maintenance.h"
#include "db/sqlite/batch.h"
#include "db/sqlite/sqlite_ops.h"

/* Text is a date only if it starts like one: "12345" is a valid julianday() argument too. */
#define ISO_GLOB "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*"
#define MAX_BATCH 20000
#define COPY_AHEAD 8192 /* rows an archive copies (and syncs) at a time */

typedef struct RowJob {
    const ConfigJob *job;
    sqlite3 *db;
    char *table, *age, *files; /* quoted identifiers */
    char *condition;           /* SQL: age condition plus the job's where */
    char *prefilter;           /* index-friendly range on the age column (NULL: none) */
    char *journal;             /* path of the pending-files journal */
    SafeRoot *root;            /* files_root */
    SafeRoot *dest;            /* files_move_to (archive) */
    FileRefs *refs;            /* which files staying rows still name */
    double cutoff;             /* in the column's unit */
    RowsResult *res;
    const char *rowid;  /* "rowid", or "_rowid_" / "oid" when a column takes that name */
    char *columns;      /* quoted column list, for archive */
    char *same_as_copy; /* " AND copy.c IS t.c ..." over all columns, for archive */
} RowJob;

/* Detects how the age column stores time from up to 200 non-empty values. */
static int detect_format(RowJob *p, char *format, size_t len, UkError *err)
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
    /* Julian days of 1900-2200 are below 2.6e6; Unix seconds of 1973-5138 are 1e8-1e11;
     * milliseconds of those years 1e11-1e14, microseconds (Firefox's places) 1e14-1e17,
     * nanoseconds above: the magnitude tells them apart for any date after 1973. */
    snprintf(format, len, "%s",
             texts         ? "iso8601"
             : max >= 1e17 ? "unix_ns"
             : max >= 1e14 ? "unix_us"
             : max >= 1e11 ? "unix_ms"
             : max >= 1e7  ? "unix"
             : numbers     ? "julian"
                           : "iso8601");
out:
    sqlite3_finalize(stmt);
    free(sql);
    return rc;
}

static int age_condition(RowJob *p, UkError *err)
{
    const ConfigJob *job = p->job;
    char format[16];
    if (strcmp(job->age_format, "auto") == 0) {
        if (detect_format(p, format, sizeof format, err) != 0)
            return -1;
    } else {
        snprintf(format, sizeof format, "%s", job->age_format);
    }
    snprintf(p->res->age_format, sizeof p->res->age_format, "%s", format);
    time_t cutoff = time(NULL) - (time_t)job->older_than;
    p->res->cutoff = cutoff;
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

/* Attaches the archive database and creates the table there if it is missing, with the
 * same columns; rows keep their rowid, which makes copying a batch twice harmless. */
static int prepare_archive(RowJob *p, UkError *err)
{
    const ConfigJob *job = p->job;
    char *dir = path_dirname(job->archive_path);
    int rc = mkdir_p(dir, 0700, err);
    free(dir);
    if (rc != 0)
        return -1;
    /* The application's connection may not create files, so ATTACH cannot create the archive:
     * create it with a connection of its own first. An archive that exists keeps its journal
     * mode; a new one gets WAL (below). */
    bool created = !path_exists(job->archive_path);
    sqlite3 *create = NULL;
    rc = sqlite3_open_v2(job->archive_path, &create, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                         NULL);
    sqlite3_close(create);
    if (rc != SQLITE_OK)
        return uk_error_set(err, UK_E_DB, 0, "unable to create archive '%s'", job->archive_path);
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(p->db, "ATTACH DATABASE ? AS archive", -1, &stmt, NULL) != SQLITE_OK)
        return uk_error_set(err, UK_E_DB, 0, "%s", sqlite3_errmsg(p->db));
    sqlite3_bind_text(stmt, 1, job->archive_path, -1, SQLITE_STATIC);
    int step = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (step != SQLITE_DONE)
        return uk_error_set(err, UK_E_DB, 0, "unable to open archive '%s': %s", job->archive_path,
                            sqlite3_errmsg(p->db));
    /* WAL with an explicit sync after each copy: one fsync per batch instead of the four of a
     * rollback-journal commit, which compete with the application's own writes. */
    if (created && sqlite_ops_exec(p->db, "PRAGMA archive.journal_mode = WAL", err) != 0)
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

static int prepare(RowJob *p, const char *state_dir, bool dry_run, UkError *err)
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
            uk_error_set(err, UK_E_CONFIG, 0,
                         "job '%s': deleting archived rows of '%s' would also delete rows of %s "
                         "(ON DELETE CASCADE) without archiving them: archive those first, or set "
                         "cascade = yes to accept their deletion",
                         job->name, job->table, children);
            free(children);
            return -1;
        }
    }
    if (job->kind == TASK_ARCHIVE && !dry_run && prepare_archive(p, err) != 0)
        return -1;
    if (job->files_root) {
        const char *why = NULL;
        p->root = safe_root_open(job->files_root, false, &why);
        if (!p->root)
            return uk_error_set(err, UK_E_CONFIG, 0, "job '%s': files_root: %s ('%s')", job->name,
                                why, job->files_root);
        if (job->files_move_to && !dry_run &&
            !(p->dest = safe_root_open(job->files_move_to, true, &why)))
            return uk_error_set(err, UK_E_CONFIG, 0, "job '%s': files_move_to: %s ('%s')",
                                job->name, why, job->files_move_to);
        char *dir = xasprintf("%s/purge", state_dir);
        if (mkdir_p(dir, 0700, err) != 0) {
            free(dir);
            return -1;
        }
        p->journal = xasprintf("%s/%s.pending", dir, job->name);
        free(dir);
    }
    return 0;
}

/* A row naming PATH is gone (or would be, in a dry run): the file goes too, unless another
 * row still names it. */
static void count_file(RowJob *p, const char *path, bool dry_run)
{
    uint64_t bytes;
    const char *reason;
    const char *move_to = p->job->files_move_to;
    RefsVerdict verdict = p->refs ? file_refs_release(p->refs, path) : REFS_GO;
    if (verdict == REFS_PENDING)
        return;
    if (verdict == REFS_SHARED) {
        p->res->files_kept++;
        if (p->res->files_kept <= 5)
            fprintf(stderr, "upkeep: job '%s': keeping '%s': still referenced by another row\n",
                    p->job->name, path);
        return;
    }
    SafeOutcome outcome = move_to ? safe_move(p->root, path, p->dest, dry_run, &bytes, &reason)
                                  : safe_remove(p->root, path, dry_run, &bytes, &reason);
    switch (outcome) {
    case SAFE_REMOVED:
        if (move_to)
            p->res->files_moved++;
        else
            p->res->files_deleted++;
        p->res->file_bytes += bytes;
        break;
    case SAFE_MISSING: p->res->files_missing++; break;
    case SAFE_REFUSED:
        p->res->files_refused++;
        if (p->res->files_refused <= 5)
            fprintf(stderr, "upkeep: job '%s': not %s '%s': %s\n", p->job->name,
                    move_to ? "moving" : "deleting", path, reason);
        break;
    }
}

/* Journal lines: "<rowid> <hex of path>". */
static int journal_write(RowJob *p, const int64_t *rowids, char **paths, size_t n, UkError *err)
{
    size_t cap = 64, len = 0;
    char *buf = xmalloc(cap);
    for (size_t i = 0; i < n; i++) {
        if (!paths[i])
            continue;
        size_t need = 24 + 2 * strlen(paths[i]) + 2;
        while (len + need > cap)
            buf = xrealloc(buf, cap *= 2);
        len += (size_t)snprintf(buf + len, cap - len, "%lld ", (long long)rowids[i]);
        hex_encode((const unsigned char *)paths[i], strlen(paths[i]), buf + len);
        len += 2 * strlen(paths[i]);
        buf[len++] = '\n';
    }
    int rc = len ? write_file_atomic(p->journal, buf, len, false, err) : 0;
    free(buf);
    return rc;
}

/* Finishes a journal left by an interrupted run: remove each file whose row is gone and
 * that no other row names. */
static int journal_recover(RowJob *p, bool dry_run, UkError *err)
{
    unsigned char *data = NULL;
    size_t len = 0;
    UkError read_err = {0};
    if (read_file_all(p->journal, 1u << 30, &data, &len, &read_err) != 0)
        return read_err.code == UK_E_NOTFOUND ? 0 : (*err = read_err, -1);
    char *sql = xasprintf("SELECT 1 FROM %s WHERE %s = ? AND %s = ?", p->table, p->rowid, p->files);
    sqlite3_stmt *stmt = NULL;
    sqlite3_prepare_v2(p->db, sql, -1, &stmt, NULL);
    free(sql);
    char **gone = NULL;
    size_t n_gone = 0;
    char *save = NULL;
    for (char *line = strtok_r((char *)data, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        char *space = strchr(line, ' ');
        if (!space)
            continue;
        *space = '\0';
        size_t hex_len = strlen(space + 1);
        char *path = xcalloc(1, hex_len / 2 + 1);
        if (hex_decode(space + 1, (unsigned char *)path, hex_len / 2) == 0) {
            sqlite3_bind_int64(stmt, 1, atoll(line));
            sqlite3_bind_text(stmt, 2, path, -1, SQLITE_STATIC);
            bool row_exists = sqlite3_step(stmt) == SQLITE_ROW;
            sqlite3_reset(stmt);
            if (!row_exists) {
                gone = xrealloc(gone, (n_gone + 1) * sizeof *gone);
                gone[n_gone++] = path;
                path = NULL;
            }
        }
        free(path);
    }
    sqlite3_finalize(stmt);
    free(data);
    int rc = 0;
    if (n_gone > 0) {
        p->refs = file_refs_build(p->db, p->table, p->files, p->root, NULL, 0, gone, n_gone, err);
        if (!p->refs)
            rc = -1;
        for (size_t i = 0; rc == 0 && i < n_gone; i++) {
            count_file(p, gone[i], dry_run);
            p->res->files_recovered++;
        }
        file_refs_free(p->refs);
        p->refs = NULL;
    }
    free_list(gone, n_gone);
    if (rc == 0 && !dry_run)
        unlink(p->journal);
    return rc;
}

static int compare_rowids(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* All candidates' rowids (8 bytes each), found through the age column's index when it has
 * one rather than by scanning the table, sorted: batches go in rowid order, which keeps each
 * on neighbouring pages of the table (and of the archive). */
static int load_candidates(RowJob *p, int64_t **out, size_t *n_out, UkError *err)
{
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

/* Which of the candidates' files other rows name; nothing to do for a job without files. */
static int load_refs(RowJob *p, const int64_t *candidates, size_t n, UkError *err)
{
    if (!p->root || n == 0)
        return 0;
    p->refs = file_refs_build(p->db, p->table, p->files, p->root, candidates, n, NULL, 0, err);
    return p->refs ? 0 : -1;
}

static int dry_run_count(RowJob *p, UkError *err)
{
    int64_t *candidates = NULL;
    size_t n = 0;
    if (load_candidates(p, &candidates, &n, err) != 0 || load_refs(p, candidates, n, err) != 0) {
        free(candidates);
        return -1;
    }
    p->res->rows = n;
    if (p->files) {
        char *sql = xasprintf("SELECT %s FROM %s WHERE %s = ?", p->files, p->table, p->rowid);
        sqlite3_stmt *stmt = NULL;
        if (sqlite3_prepare_v2(p->db, sql, -1, &stmt, NULL) != SQLITE_OK) {
            free(sql);
            free(candidates);
            return uk_error_set(err, UK_E_DB, 0, "%s", sqlite3_errmsg(p->db));
        }
        for (size_t i = 0; i < n; i++) {
            sqlite3_bind_int64(stmt, 1, candidates[i]);
            if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0))
                count_file(p, (const char *)sqlite3_column_text(stmt, 0), true);
            sqlite3_reset(stmt);
        }
        sqlite3_finalize(stmt);
        free(sql);
    }
    free(candidates);
    return 0;
}

/* Runs stmt once per rowid (bound as ?1), all in one transaction; `what` says what failed. */
static int each_rowid(RowJob *p, sqlite3_stmt *stmt, const int64_t *rowids, size_t n,
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

static int copy_batch(RowJob *p, sqlite3_stmt *copy, const int64_t *rowids, size_t n, UkError *err)
{
    double t0 = monotonic_seconds();
    if (each_rowid(p, copy, rowids, n, "copy it to the archive", err) != 0)
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

/* A batch that could not delete its rows leaves them in the table, so their copies (and the
 * copies made ahead of later batches) leave the archive: every row stays in exactly one
 * place. The error says so, or that the copies could not be dropped (the next run, which
 * copies them again, then replaces them). */
static void drop_staged(RowJob *p, sqlite3_stmt *uncopy, const int64_t *rowids, size_t n,
                        UkError *err)
{
    if (!uncopy || n == 0)
        return;
    UkError drop_err = {0};
    if (each_rowid(p, uncopy, rowids, n, "drop its copy from the archive", &drop_err) == 0)
        uk_error_suffix(err,
                        "; the rows stay in '%s' and their %zu copies were dropped from the "
                        "archive",
                        p->job->table, n);
    else
        uk_error_suffix(err, "; dropping the copies of its rows from the archive failed too (%s)",
                        drop_err.msg);
}

static int run_batches(RowJob *p, UkError *err)
{
    RowsResult *res = p->res;
    const char *id = p->rowid;
    char *path_sql =
        xasprintf("SELECT %s FROM %s WHERE %s = ?", p->files ? p->files : "NULL", p->table, id);
    char *delete_sql;
    if (p->job->kind == TASK_UPDATE)
        delete_sql = xasprintf("UPDATE %s SET %s WHERE %s = ? AND %s", p->table, p->job->set, id,
                               p->condition);
    else if (p->columns) /* archive: only a row that still equals its copy */
        delete_sql = xasprintf("DELETE FROM main.%s WHERE %s = ?1 AND %s AND EXISTS (SELECT 1 "
                               "FROM archive.%s AS copy WHERE copy.%s = ?1%s)",
                               p->table, id, p->condition, p->table, id, p->same_as_copy);
    else
        delete_sql = xasprintf("DELETE FROM %s WHERE %s = ? AND %s", p->table, id, p->condition);
    char *copy_sql =
        p->columns ? xasprintf("INSERT OR REPLACE INTO archive.%s(%s, %s) SELECT "
                               "%s, %s FROM main.%s WHERE %s = ? AND %s",
                               p->table, id, p->columns, id, p->columns, p->table, id, p->condition)
                   : NULL;
    char *uncopy_sql =
        p->columns ? xasprintf("DELETE FROM archive.%s WHERE %s = ?", p->table, id) : NULL;
    sqlite3_stmt *del = NULL, *copy = NULL, *uncopy = NULL, *path_stmt = NULL;
    int64_t *candidates = NULL;
    size_t n_candidates = 0, next = 0, copied = 0;
    /* batch_size fixes the rows per batch; otherwise the clock ends each batch. */
    size_t fixed = (size_t)p->job->batch_size;
    size_t max_plan = fixed ? fixed : MAX_BATCH;
    char **paths = xcalloc(max_plan, sizeof *paths);
    int64_t *kept = xcalloc(max_plan, sizeof *kept); /* archive: rows copied but not deleted */
    size_t n_kept = 0;
    SqliteBatch batch = {0};
    int rc = -1;
    if (sqlite3_prepare_v2(p->db, path_sql, -1, &path_stmt, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(p->db, delete_sql, -1, &del, NULL) != SQLITE_OK ||
        (copy_sql && sqlite3_prepare_v2(p->db, copy_sql, -1, &copy, NULL) != SQLITE_OK) ||
        (uncopy_sql && sqlite3_prepare_v2(p->db, uncopy_sql, -1, &uncopy, NULL) != SQLITE_OK)) {
        uk_error_set(err, UK_E_DB, 0, "%s", sqlite3_errmsg(p->db));
        goto out;
    }
    if (load_candidates(p, &candidates, &n_candidates, err) != 0 ||
        load_refs(p, candidates, n_candidates, err) != 0)
        goto out;
    sqlite_batch_start(&batch, p->db, p->job->transaction_budget, p->job->pause);
    size_t plan = fixed ? fixed : 16; /* candidates prepared for the next batch */
    while (next < n_candidates) {
        size_t count = n_candidates - next < plan ? n_candidates - next : plan;
        const int64_t *rowids = candidates + next;
        /* The batch's paths, read outside any write transaction. */
        for (size_t i = 0; i < count; i++) {
            paths[i] = NULL;
            if (!p->files)
                continue;
            sqlite3_bind_int64(path_stmt, 1, rowids[i]);
            if (sqlite3_step(path_stmt) == SQLITE_ROW) {
                const unsigned char *path = sqlite3_column_text(path_stmt, 0);
                paths[i] = path && *path ? xstrdup((const char *)path) : NULL;
            }
            sqlite3_reset(path_stmt);
        }
        /* Archive: rows are copied ahead of the deletes, many batches' worth at a time, and
         * the copy is durable before any of them is deleted. Copying reads the application's
         * database and writes only the archive; one sync per copy rather than per batch
         * keeps the archive's I/O from competing with the application's commits. */
        if (copy && next + count > copied) {
            size_t ahead = n_candidates - next < COPY_AHEAD ? n_candidates - next : COPY_AHEAD;
            if (ahead < count)
                ahead = count;
            if (copy_batch(p, copy, candidates + copied, next + ahead - copied, err) != 0)
                goto out;
            copied = next + ahead;
        }
        /* The journal names the batch's candidates before anything is deleted (a row that
         * turns out not to qualify, or that the batch has no time for, still exists, so
         * recovery keeps its file). Writing it here keeps its fsyncs out of the write lock. */
        if (p->journal && journal_write(p, rowids, paths, count, err) != 0)
            goto out;
        if (sqlite_batch_begin(&batch, err) != 0)
            goto out;
        size_t done = 0, deleted = 0;
        while (done < count && (fixed || done == 0 || sqlite_batch_time_left(&batch, done))) {
            sqlite3_bind_int64(del, 1, rowids[done]);
            int step = sqlite3_step(del);
            sqlite3_reset(del);
            if (step != SQLITE_DONE) {
                uk_error_set(err, UK_E_DB, 0, "unable to delete row %lld of '%s': %s",
                             (long long)rowids[done], p->job->table, sqlite3_errmsg(p->db));
                sqlite_batch_rollback(&batch);
                drop_staged(p, uncopy, candidates + next, copied - next, err);
                goto out;
            }
            if (sqlite3_changes(p->db) == 0) { /* changed meanwhile: keep it and its file */
                free(paths[done]);
                paths[done] = NULL;
                if (copy)
                    kept[n_kept++] = rowids[done];
            } else {
                deleted++;
            }
            done++;
        }
        if (sqlite_batch_commit(&batch, done, err) != 0) {
            uk_error_prefix(err, "purge of '%s' stopped: ", p->job->table);
            drop_staged(p, uncopy, candidates + next, copied - next, err);
            if (p->journal)
                unlink(p->journal); /* nothing was deleted: the files stay */
            goto out;
        }
        /* Files go only once the deletion is durable (in WAL mode COMMIT does not sync). */
        if (p->journal && sqlite_ops_sync_commit(p->db, err) != 0)
            goto out;
        /* Rows the application changed after they were copied stay in its table: their
         * copies, now stale, leave the archive (an archive to files would export them). */
        if (n_kept > 0 &&
            each_rowid(p, uncopy, kept, n_kept, "drop its stale copy from the archive", err) != 0)
            goto out;
        n_kept = 0;
        res->rows += deleted;
        log_debug("job=%s batch=%llu rows=%zu of %zu", p->job->name,
                  (unsigned long long)batch.count, done, count);
        for (size_t i = 0; i < count; i++) {
            if (i < done && paths[i] && p->root)
                count_file(p, paths[i], false);
            free(paths[i]);
            paths[i] = NULL;
        }
        if (p->journal)
            unlink(p->journal);
        next += done;
        if (fixed) {
            plan = fixed;
        } else if (done == count) {
            /* The batch ran out of rows before its time: grow by what its lock hold says
             * would fit (the clock and the page limit still end the next one), up to 8
             * times, so that a run reaches full batches in 3 steps rather than 8. */
            double fits = batch.aim_ms / (batch.last_ms > 0.25 ? batch.last_ms : 0.25);
            plan = (size_t)((double)count * (fits < 2 ? 2 : fits > 8 ? 8 : fits));
        } else {
            /* Time ran out: a quarter more than fitted (journal entries beyond are wasted),
             * but not under half the last plan, as one slow batch is no trend. */
            plan = done + done / 4 + 4;
            if (plan < count / 2)
                plan = count / 2;
        }
        if (plan > max_plan)
            plan = max_plan;
    }
    rc = 0;
out:
    if (batch.db) { /* also when the job stopped: what committed counts */
        res->batches = batch.count;
        res->longest_transaction_ms = batch.longest_ms;
        sqlite_batch_finish(&batch);
    }
    for (size_t i = 0; i < max_plan; i++)
        free(paths[i]);
    free(paths);
    free(kept);
    sqlite3_finalize(uncopy);
    free(uncopy_sql);
    sqlite3_finalize(del);
    sqlite3_finalize(copy);
    sqlite3_finalize(path_stmt);
    free(candidates);
    free(path_sql);
    free(delete_sql);
    free(copy_sql);
    return rc;
}

int task_rows(const ConfigJob *job, const char *state_dir, bool dry_run, RowsResult *res,
              UkError *err)
{
    memset(res, 0, sizeof *res);
    double started = monotonic_seconds();
    RowJob p = {.job = job, .res = res};
    int rc = -1;
    if (sqlite_ops_open(job->database->path, &p.db, err) != 0) {
        uk_error_prefix(err, "database '%s': ", job->database->name);
        return -1;
    }
    if (prepare(&p, state_dir, dry_run, err) != 0)
        goto out;
    if (p.journal && journal_recover(&p, dry_run, err) != 0)
        goto out;
    rc = dry_run ? dry_run_count(&p, err) : run_batches(&p, err);
    if (rc == 0 && !dry_run && job->archive_dir) {
        sqlite3_close(p.db); /* release the staging database attached to it */
        p.db = NULL;
        uint64_t exported_rows;
        rc = archive_export_files(job, &res->archive_files, &exported_rows, err);
    }
out:
    res->seconds = monotonic_seconds() - started;
    sqlite3_close(p.db);
    file_refs_free(p.refs);
    safe_root_close(p.root);
    safe_root_close(p.dest);
    free(p.table);
    free(p.age);
    free(p.files);
    free(p.condition);
    free(p.prefilter);
    free(p.journal);
    free(p.columns);
    free(p.same_as_copy);
    return rc;
}

int task_sql(const ConfigJob *job, bool dry_run, SqlResult *res, UkError *err)
{
    memset(res, 0, sizeof *res);
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
    res->rows_changed = (uint64_t)(sqlite3_total_changes(db) - before);
    if (dry_run) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    } else if (sqlite_ops_exec(db, "COMMIT", err) != 0) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        goto out;
    }
    res->transaction_ms = sqlite_ops_elapsed_ms(t0);
    rc = 0;
out:
    sqlite3_close(db);
    return rc;
}
