/* Archives of PostgreSQL rows into a table of another database (archive_to = table:NAME with
 * archive_database = SECTION).
 *
 * One statement cannot span two databases, so this goes the way SQLite's archive does: rows
 * are copied ahead of the batches that delete them (stage: read on the source as JSON with a
 * hash of each row, `INSERT … SELECT * FROM json_populate_recordset(…) ON CONFLICT (key) DO
 * UPDATE` on the archive, committed), and a batch deletes a row only if it still hashes the
 * same (`(key, md5(row::text)) IN (…)`). A row the application changed after its copy stays,
 * and its stale copy is dropped (unstage). A crash between copy and delete leaves a row in
 * both; the next run copies it again, which replaces rather than duplicates, and deletes it.
 * The JSON round trip gives back the same row text, so the hash of a copy equals the source's. */
#ifndef UK_PG_ARCHIVE_DB_H
#define UK_PG_ARCHIVE_DB_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/error.h"
#include "db/postgresql/pq_lib.h"

typedef struct PgStagedRow {
    int64_t key;
    char hash[33];
} PgStagedRow;

typedef struct PgArchiveDb {
    const PqLib *pq;
    PGconn *conn;        /* to the archive database */
    char *read_sql;      /* on the source: $1 keys → rows as JSON, their keys and hashes */
    char *insert_sql;    /* on the archive: $1 rows as JSON */
    char *unstage_sql;   /* on the archive: $1 keys */
    PgStagedRow *staged; /* sorted by key */
    size_t n_staged, cap_staged;
} PgArchiveDb;

/* Connects to job->archive_database and makes the target table there like the source's
 * (columns and primary key; columns added to the source since are added to it). SOURCE is the
 * job's connection; OID, TABLE (qualified, quoted), KEY (quoted) and CONDITION describe the
 * source. */
int pg_archive_db_open(PgArchiveDb *a, PGconn *source, const ConfigJob *job, const char *oid,
                       const char *table, const char *key, const char *condition, UkError *err);
/* Copies the rows of KEYS that still qualify, durably, and remembers their hashes. */
int pg_archive_db_stage(PgArchiveDb *a, PGconn *source, const int64_t *keys, size_t n,
                        UkError *err);
/* The hash KEY had when it was copied, or "" when it was not. */
const char *pg_archive_db_hash(const PgArchiveDb *a, int64_t key);
int pg_archive_db_unstage(PgArchiveDb *a, const int64_t *keys, size_t n, UkError *err);
void pg_archive_db_close(PgArchiveDb *a);

#endif
