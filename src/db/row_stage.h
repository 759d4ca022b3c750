/* A server's archived rows on their way to JSON Lines or CSV files (archive_to = jsonl://,
 * csv://), for any engine.
 *
 * The files are written by task/archive_files.c from a staging database (SQLite) beside them,
 * as for SQLite's own file archives. An engine's batch reads the rows it removes (PostgreSQL:
 * `DELETE … RETURNING`; MariaDB: a SELECT of the locked rows) and adds them here, committed
 * and synced before the batch commits on the server. A batch whose commit then fails takes
 * its copies back out (row_stage_forget); a crash in between leaves rows in both places, and
 * the next run copies them again, which replaces rather than duplicates (the staging table is
 * keyed on the primary key). */
#ifndef UK_ROW_STAGE_H
#define UK_ROW_STAGE_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/error.h"

typedef struct RowStage {
    sqlite3 *db;
    sqlite3_stmt *insert; /* INSERT OR REPLACE of one row */
    sqlite3_stmt *forget; /* DELETE of one key */
    size_t n_columns;
    int64_t *staged; /* the keys of the last batch staged */
    size_t n_staged, cap_staged;
} RowStage;

/* One column's value as the engine read it, in the SQLite type it keeps in the files: numbers
 * and bytes as such, everything else (decimals, dates, json …) as the server wrote it. */
typedef enum {
    ROW_VALUE_NULL,
    ROW_VALUE_TEXT,
    ROW_VALUE_INTEGER,
    ROW_VALUE_REAL,
    ROW_VALUE_BLOB
} RowValueType;

typedef struct RowValue {
    RowValueType type;
    const char *data; /* TEXT and BLOB: LEN bytes; INTEGER and REAL: their text */
    size_t len;
} RowValue;

/* Opens (creates) job->archive_path and its table named like the job's, with COLUMNS in the
 * source's order (KEY, the primary key, as its INTEGER PRIMARY KEY); columns the source
 * gained since are added. */
int row_stage_open(RowStage *st, const ConfigJob *job, char *const *columns, size_t n_columns,
                   const char *key, UkError *err);
/* A batch's copies, in one durable transaction: begin, add each row (KEY, and VALUES of the
 * columns as opened), commit. Any error rolls the batch's copies back. */
int row_stage_begin(RowStage *st, UkError *err);
int row_stage_add(RowStage *st, int64_t key, const RowValue *values, UkError *err);
int row_stage_commit(RowStage *st, UkError *err);
/* Drops the copies of the last batch staged: its rows stayed on the server. */
int row_stage_forget(RowStage *st, UkError *err);
void row_stage_close(RowStage *st);

#endif
