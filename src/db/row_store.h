/* What the row tasks (purge, archive, update, sql; task/rows.c) need from an engine, and
 * clean's unreferenced_by. task/rows.c keeps what every engine shares: the candidates' order,
 * how big the next batch is, the pending-files journal, which files go. An engine keeps its
 * SQL and how it paces: SQLite deletes row by row inside BEGIN IMMEDIATE until its lock-hold
 * budget is used up and lets the application's writers in between batches; PostgreSQL deletes
 * a batch with one statement (`key = ANY($1)`, within a range of keys or heap pages when the
 * batch's rows lie close together) under lock_timeout, since there writers only wait for the
 * rows themselves.
 *
 * Rows are named by an integer key: SQLite's rowid, a server table's one-column integer
 * primary key, or for any other primary key the number the engine gave the row when it
 * listed the candidates (valid for the run only). Every key list passed in is sorted. */
#ifndef UK_ROW_STORE_H
#define UK_ROW_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/config.h"
#include "core/error.h"

typedef struct RowStoreOps RowStoreOps;

/* An open job on one table; each engine's own struct begins with it. */
typedef struct RowStore {
    const RowStoreOps *ops;
    char age_format[16]; /* as detected or configured: iso8601, unix, timestamp … */
    time_t cutoff;       /* rows older than this go */
    bool stages;         /* archives through stage/unstage */
} RowStore;

/* A batch's figures, for sizing the next one and for the run's record. */
typedef struct RowBatchFigures {
    double aim_ms;     /* the lock hold a batch aims at */
    double last_ms;    /* the last batch's */
    double longest_ms; /* the run's longest */
    uint64_t count;    /* batches committed */
    bool whole;        /* a batch is done whole (one statement), never stopped at its time */
} RowBatchFigures;

/* Called per row by the scans; non-zero stops the scan and is returned. */
typedef int (*RowVisit)(void *ctx, int64_t key, const char *value);

/* A value of a query's row: its kind, and its text as the engine writes it (a BLOB's bytes
 * as they are). Exact numbers (NUMERIC, DECIMAL) come as text, so that no digit is lost. */
typedef enum { DB_NULL, DB_INTEGER, DB_REAL, DB_TEXT, DB_BLOB } DbValueType;
typedef struct DbValue {
    DbValueType type;
    const char *data; /* NULL for DB_NULL */
    size_t len;
    double real; /* DB_REAL: the value itself (its text may be rounded) */
} DbValue;

/* The next record of an import: 1 with its columns' names and values (valid until the next
 * call), 0 at the end, -1 with err set. */
typedef int (*ImportNext)(void *ctx, size_t *n, const char *const **names, const DbValue **values,
                          UkError *err);

/* Called per row of a query with its columns' names and values, and once before the first
 * (with VALUES NULL) to announce the columns, rows or none; non-zero stops it. */
typedef int (*QueryRow)(void *ctx, size_t n, const char *const *names, const DbValue *values);

struct RowStoreOps {
    /* Connects and checks the job against the table: columns exist, the row key, the age
     * column's format, the condition compiles, an archive's target (created unless
     * dry_run). Messages name the job. */
    int (*open)(const ConfigJob *job, bool dry_run, RowStore **out, UkError *err);
    void (*close)(RowStore *s);
    /* Every row the condition selects, sorted (caller frees *keys). */
    int (*candidates)(RowStore *s, int64_t **keys, size_t *n, UkError *err);
    /* paths[i]: the files column of row keys[i] (malloc'd), NULL when empty or gone. */
    int (*paths)(RowStore *s, const int64_t *keys, size_t n, char **paths, UkError *err);
    /* Does row KEY still exist and name PATH? (recovering a journal) */
    int (*row_names)(RowStore *s, int64_t key, const char *path, bool *exists, UkError *err);
    /* Every row's non-empty files column, with its key. */
    int (*scan_files)(RowStore *s, RowVisit visit, void *ctx, UkError *err);
    /* Archive into a separate database: copy the rows ahead of the batches that delete them
     * (durable on return), and drop copies whose rows stay. Used when s->stages; an engine
     * that archives inside the batch itself does not set it. */
    int (*stage)(RowStore *s, const int64_t *keys, size_t n, UkError *err);
    int (*unstage)(RowStore *s, const int64_t *keys, size_t n, UkError *err);
    /* A batch: begin waits for its turn (pacing) and opens the transaction; apply deletes,
     * archives or updates up to N rows, re-checking the condition, and says how many it got
     * to (*done; all N when FIXED) and which of those it changed (gone[i]; false: the row no
     * longer qualified). apply returns 1, rolled back, when the rows were locked by someone
     * else past the engine's lock timeout: try again later, smaller. */
    void (*start)(RowStore *s); /* once, before the first stage or batch */
    int (*begin)(RowStore *s, UkError *err);
    int (*apply)(RowStore *s, const int64_t *keys, size_t n, bool fixed, size_t *done, bool *gone,
                 UkError *err);
    int (*commit)(RowStore *s, size_t done, UkError *err);
    void (*rollback)(RowStore *s);
    /* Makes the last commit durable before anything outside the database acts on it. */
    int (*sync)(RowStore *s, UkError *err);
    void (*figures)(const RowStore *s, RowBatchFigures *out);
    /* Ends the batches (the engine's pacing helpers stop). */
    void (*finish)(RowStore *s);
    /* An sql job: its statements in one transaction; dry_run rolls back. */
    int (*sql)(const ConfigJob *job, bool dry_run, uint64_t *changed, double *transaction_ms,
               UkError *err);
    /* Every non-NULL value of TABLE.COLUMN (names as the user wrote them), read-only, for
     * clean's unreferenced_by; key is 0. */
    int (*scan_column)(const ConfigDatabase *db, const char *table, const char *column,
                       RowVisit visit, void *ctx, UkError *err);
    /* A report's or an export's SQL (trusted config), in a read-only transaction, its rows
     * streamed to ROW. */
    int (*query)(const ConfigDatabase *db, const char *sql, QueryRow row, void *ctx, UkError *err);
    /* NAME (a table, or SCHEMA.TABLE on a server) quoted for the engine's SQL. */
    char *(*quote_name)(const char *name);
    /* A query listing the user's tables' columns: (table, column, declared type), a table
     * named as quote_name takes it (SCHEMA.TABLE outside the search path), in column order;
     * for upkeep init. */
    const char *columns_sql;
    /* upkeep import: every record NEXT gives into TABLE, in one transaction (all or none);
     * with UPSERT a record whose primary key exists replaces that row's columns it names.
     * A record the database refuses is an error naming its number (counted from 1). */
    int (*import)(const ConfigDatabase *db, const char *table, bool upsert, ImportNext next,
                  void *ctx, uint64_t *records, UkError *err);
};

/* The engine's row operations (DB_FEAT_ROW_TASKS), or NULL with err set. */
const RowStoreOps *db_row_store(const ConfigDatabase *db, UkError *err);

#endif
