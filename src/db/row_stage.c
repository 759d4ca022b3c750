/* Archived rows into the file archives' staging database (see row_stage.h). */
#include "db/row_stage.h"

#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "db/sqlite/sqlite_ops.h"

static int stage_error(sqlite3 *db, const char *what, UkError *err)
{
    return uk_error_set(err, UK_E_DB, 0, "staging database: unable to %s: %s", what,
                        sqlite3_errmsg(db));
}

/* COLUMNS quoted and comma-separated; with KEY, that column is the INTEGER PRIMARY KEY. */
static char *column_list(char *const *columns, size_t n, const char *key)
{
    char *list = xstrdup("");
    for (size_t i = 0; i < n; i++) {
        char *q = sqlite_ops_quote(columns[i]);
        char *more = xasprintf("%s%s%s%s", list, i ? ", " : "", q,
                               key && strcmp(columns[i], key) == 0 ? " INTEGER PRIMARY KEY" : "");
        free(q);
        free(list);
        list = more;
    }
    return list;
}

int row_stage_open(RowStage *st, const ConfigJob *job, char *const *columns, size_t n_columns,
                   const char *key, UkError *err)
{
    memset(st, 0, sizeof *st);
    st->n_columns = n_columns;
    if (sqlite3_open_v2(job->archive_path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                        NULL) != SQLITE_OK) {
        uk_error_set(err, UK_E_IO, 0, "unable to open the staging database %s: %s",
                     job->archive_path, st->db ? sqlite3_errmsg(st->db) : "out of memory");
        return -1;
    }
    sqlite3_busy_timeout(st->db, 10000);
    char *table = sqlite_ops_quote(job->table);
    int rc = -1;
    char *sql = NULL;
    if (!sqlite_ops_has(st->db, job->table, NULL)) {
        char *defs = column_list(columns, n_columns, key);
        sql = xasprintf("CREATE TABLE %s(%s)", table, defs);
        free(defs);
        if (sqlite_ops_exec(st->db, sql, err) != 0)
            goto out;
    } else {
        for (size_t i = 0; i < n_columns; i++) {
            if (sqlite_ops_has(st->db, job->table, columns[i]))
                continue;
            char *q = sqlite_ops_quote(columns[i]);
            char *alter = xasprintf("ALTER TABLE %s ADD COLUMN %s", table, q);
            int alter_rc = sqlite_ops_exec(st->db, alter, err);
            free(alter);
            free(q);
            if (alter_rc != 0)
                goto out;
        }
    }
    free(sql);
    char *names = column_list(columns, n_columns, NULL);
    char *marks = xstrdup("?");
    for (size_t i = 1; i < n_columns; i++) {
        char *more = xasprintf("%s, ?", marks);
        free(marks);
        marks = more;
    }
    sql = xasprintf("INSERT OR REPLACE INTO %s(%s) VALUES (%s)", table, names, marks);
    free(names);
    free(marks);
    if (sqlite3_prepare_v2(st->db, sql, -1, &st->insert, NULL) != SQLITE_OK) {
        stage_error(st->db, "prepare its insert", err);
        goto out;
    }
    free(sql);
    sql = xasprintf("DELETE FROM %s WHERE rowid = ?", table);
    if (sqlite3_prepare_v2(st->db, sql, -1, &st->forget, NULL) != SQLITE_OK) {
        stage_error(st->db, "prepare its delete", err);
        goto out;
    }
    rc = 0;
out:
    free(sql);
    free(table);
    if (rc != 0)
        row_stage_close(st);
    return rc;
}

int row_stage_begin(RowStage *st, UkError *err)
{
    st->n_staged = 0;
    return sqlite_ops_exec(st->db, "BEGIN IMMEDIATE", err);
}

static int bind_value(sqlite3_stmt *stmt, int param, const RowValue *v)
{
    switch (v->type) {
    case ROW_VALUE_NULL: return sqlite3_bind_null(stmt, param);
    case ROW_VALUE_INTEGER: return sqlite3_bind_int64(stmt, param, strtoll(v->data, NULL, 10));
    case ROW_VALUE_REAL: return sqlite3_bind_double(stmt, param, strtod(v->data, NULL));
    case ROW_VALUE_BLOB:
        return sqlite3_bind_blob(stmt, param, v->data, (int)v->len, SQLITE_TRANSIENT);
    case ROW_VALUE_TEXT: break;
    }
    return sqlite3_bind_text(stmt, param, v->data, (int)v->len, SQLITE_TRANSIENT);
}

int row_stage_add(RowStage *st, int64_t key, const RowValue *values, UkError *err)
{
    for (size_t c = 0; c < st->n_columns; c++)
        bind_value(st->insert, (int)c + 1, &values[c]);
    int step = sqlite3_step(st->insert);
    sqlite3_reset(st->insert);
    if (step != SQLITE_DONE) {
        stage_error(st->db, "copy a row", err);
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        st->n_staged = 0;
        return -1;
    }
    if (st->n_staged == st->cap_staged) {
        st->cap_staged = st->cap_staged ? 2 * st->cap_staged : 256;
        st->staged = xrealloc(st->staged, st->cap_staged * sizeof *st->staged);
    }
    st->staged[st->n_staged++] = key;
    return 0;
}

int row_stage_commit(RowStage *st, UkError *err)
{
    /* The staging database is in rollback-journal mode with synchronous = FULL: the copies
     * are on disk when COMMIT returns. */
    if (sqlite_ops_exec(st->db, "COMMIT", err) != 0) {
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        st->n_staged = 0;
        return -1;
    }
    return 0;
}

int row_stage_forget(RowStage *st, UkError *err)
{
    if (st->n_staged == 0)
        return 0;
    if (sqlite_ops_exec(st->db, "BEGIN IMMEDIATE", err) != 0)
        return -1;
    for (size_t i = 0; i < st->n_staged; i++) {
        sqlite3_bind_int64(st->forget, 1, st->staged[i]);
        int step = sqlite3_step(st->forget);
        sqlite3_reset(st->forget);
        if (step != SQLITE_DONE) {
            stage_error(st->db, "drop a copy", err);
            sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
            return -1;
        }
    }
    st->n_staged = 0;
    return sqlite_ops_exec(st->db, "COMMIT", err);
}

void row_stage_close(RowStage *st)
{
    sqlite3_finalize(st->insert);
    sqlite3_finalize(st->forget);
    if (st->db)
        sqlite3_close(st->db);
    free(st->staged);
    memset(st, 0, sizeof *st);
}
