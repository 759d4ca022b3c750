/* Archives of PostgreSQL rows as JSON Lines or CSV files (archive_to = jsonl://, csv://).
 *
 * The files are written by task/archive_files.c from a staging database (SQLite) beside them,
 * as for SQLite's own file archives. Here each batch's `DELETE … RETURNING` hands back the
 * rows it removed, and they go into the staging table, committed and synced there before the
 * batch commits on the server. A batch whose commit then fails takes its copies back out; a
 * crash in between leaves rows in both places, and the next run copies them again, which
 * replaces rather than duplicates (the staging table is keyed on the primary key). */
#ifndef UK_PG_STAGE_H
#define UK_PG_STAGE_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/error.h"
#include "db/postgresql/pq_lib.h"

typedef struct PgStage {
    sqlite3 *db;
    sqlite3_stmt *insert; /* INSERT OR REPLACE of one row */
    sqlite3_stmt *forget; /* DELETE of one key */
    size_t n_columns;
    int64_t *staged; /* the keys of the last batch staged */
    size_t n_staged;
} PgStage;

/* Opens (creates) job->archive_path and its table named like the job's, with COLUMNS in the
 * source's order (KEY, the primary key, as its INTEGER PRIMARY KEY); columns the source
 * gained since are added. */
int pg_stage_open(PgStage *st, const ConfigJob *job, char *const *columns, size_t n_columns,
                  const char *key, UkError *err);
/* Copies RES's rows (column 0 the key, then the columns as opened) in one durable
 * transaction. */
int pg_stage_rows(PgStage *st, const PqLib *pq, PGresult *res, UkError *err);
/* Drops the copies of the last batch staged: its rows stayed on the server. */
int pg_stage_forget(PgStage *st, UkError *err);
void pg_stage_close(PgStage *st);

#endif
