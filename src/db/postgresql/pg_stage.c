/* PostgreSQL rows into the file archives' staging database (see pg_stage.h). */
#include "db/postgresql/pg_stage.h"

#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "db/sqlite/sqlite_ops.h"

/* Type oids of pg_type.h: the values that have an SQLite type of their own. Everything else
 * (numeric, dates and times, json, uuid …) is kept as PostgreSQL writes it, as text. */
#define OID_BOOL 16
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_OID 26
#define OID_FLOAT4 700
#define OID_FLOAT8 701

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

int pg_stage_open(PgStage *st, const ConfigJob *job, char *const *columns, size_t n_columns,
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
        pg_stage_close(st);
    return rc;
}

/* "\x0a1b…" (bytea's hex output) as bytes. */
static int bind_bytea(sqlite3_stmt *stmt, int param, const char *text, size_t len)
{
    if (len < 2 || text[0] != '\\' || text[1] != 'x' || (len - 2) % 2 != 0)
        return sqlite3_bind_text(stmt, param, text, (int)len, SQLITE_TRANSIENT);
    size_t n = (len - 2) / 2;
    unsigned char *bytes = xmalloc(n + 1);
    int rc = hex_decode(text + 2, bytes, n) == 0
                 ? sqlite3_bind_blob(stmt, param, bytes, (int)n, SQLITE_TRANSIENT)
                 : sqlite3_bind_text(stmt, param, text, (int)len, SQLITE_TRANSIENT);
    free(bytes);
    return rc;
}

static int bind_value(sqlite3_stmt *stmt, int param, Oid type, const char *text, size_t len)
{
    switch (type) {
    case OID_BOOL: return sqlite3_bind_int(stmt, param, text[0] == 't');
    case OID_INT2:
    case OID_INT4:
    case OID_INT8:
    case OID_OID: return sqlite3_bind_int64(stmt, param, strtoll(text, NULL, 10));
    case OID_FLOAT4:
    case OID_FLOAT8:
        /* NaN has no SQLite value (it would become NULL): it stays text. */
        if (strcmp(text, "NaN") != 0)
            return sqlite3_bind_double(stmt, param, strtod(text, NULL));
        break;
    case OID_BYTEA: return bind_bytea(stmt, param, text, len);
    }
    return sqlite3_bind_text(stmt, param, text, (int)len, SQLITE_TRANSIENT);
}

int pg_stage_rows(PgStage *st, const PqLib *pq, PGresult *res, UkError *err)
{
    int rows = pq->ntuples(res);
    st->staged = xrealloc(st->staged, ((size_t)rows + 1) * sizeof *st->staged);
    st->n_staged = 0;
    if (rows == 0)
        return 0;
    if (sqlite_ops_exec(st->db, "BEGIN IMMEDIATE", err) != 0)
        return -1;
    for (int r = 0; r < rows; r++) {
        for (size_t c = 0; c < st->n_columns; c++) {
            int col = (int)c + 1;
            if (pq->getisnull(res, r, col))
                sqlite3_bind_null(st->insert, col);
            else
                bind_value(st->insert, col, pq->ftype(res, col), pq->getvalue(res, r, col),
                           (size_t)pq->getlength(res, r, col));
        }
        int step = sqlite3_step(st->insert);
        sqlite3_reset(st->insert);
        if (step != SQLITE_DONE) {
            stage_error(st->db, "copy a row", err);
            sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
            return -1;
        }
        st->staged[st->n_staged++] = strtoll(pq->getvalue(res, r, 0), NULL, 10);
    }
    /* The staging database is in rollback-journal mode with synchronous = FULL: the copies
     * are on disk when COMMIT returns. */
    if (sqlite_ops_exec(st->db, "COMMIT", err) != 0) {
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        st->n_staged = 0;
        return -1;
    }
    return 0;
}

int pg_stage_forget(PgStage *st, UkError *err)
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

void pg_stage_close(PgStage *st)
{
    sqlite3_finalize(st->insert);
    sqlite3_finalize(st->forget);
    if (st->db)
        sqlite3_close(st->db);
    free(st->staged);
    memset(st, 0, sizeof *st);
}
