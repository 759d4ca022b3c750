/* Database drivers: how upkeep reads a consistent image of a live database and checks a
 * restored one. Callers go through db_snapshot()/db_check_image(); driver authors read
 * db_driver.h. */
#ifndef UK_DB_H
#define UK_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/error.h"

/* Where a snapshot's bytes go. Chunks are fixed-size pieces of the image (the last may be
 * shorter); they arrive in increasing order, except that chunk 0 may arrive last. */
typedef struct ImageSink {
    void *ctx;
    int (*begin)(void *ctx, uint64_t image_size, uint32_t page_size, uint32_t chunk_size,
                 UkError *err);
    int (*chunk)(void *ctx, uint64_t index, const void *data, size_t len, UkError *err);
    void (*progress)(void *ctx, uint64_t done_bytes, uint64_t total_bytes); /* may be NULL */
} ImageSink;

typedef struct SnapshotInfo {
    uint64_t image_size;
    uint32_t page_size;
    char journal_mode[16];
    double read_seconds;
} SnapshotInfo;

/* Streams a transactionally consistent image of the live database into sink, reading through
 * a connection of upkeep's own while the application keeps writing. */
int db_snapshot(const ConfigDatabase *db, ImageSink *sink, SnapshotInfo *info, UkError *err);

/* How thoroughly db_check_image looks: quick (structure; what restore runs before a file gets
 * its name) or full (every index against its table; what verify runs). */
typedef enum { DB_CHECK_QUICK, DB_CHECK_FULL } DbCheckLevel;

/* Opens a restored image and runs the driver's integrity check; result gets "ok" or the
 * first problems reported. Returns -1 only when the check could not run. */
int db_check_image(const char *driver, const char *path, DbCheckLevel level, char *result,
                   size_t len, UkError *err);
/* Does a db_check_image result say the image is sound ("ok", perhaps with a note)? */
bool db_check_passed(const char *result);

/* What health and metrics report about a live database. Counts of TABLES, in order; a table
 * that does not exist counts -1. */
#define DB_MAX_COUNTED_TABLES 32
typedef struct DbStats {
    uint64_t size_bytes; /* the database file(s) */
    uint64_t wal_bytes;  /* write-ahead log, when there is one */
    uint64_t page_count, page_size, freelist_pages;
    size_t n_tables;
    char tables[DB_MAX_COUNTED_TABLES][128];
    int64_t rows[DB_MAX_COUNTED_TABLES];
} DbStats;

/* Reads the statistics without writing anything (a read-only connection). TABLES is a
 * comma-separated list, or NULL. */
int db_inspect(const ConfigDatabase *db, const char *tables, DbStats *stats, UkError *err);

/* Suffixes of the files that live beside a database file and belong to it (for SQLite
 * "-wal", "-shm", "-journal"), NULL-terminated. Moving or deleting a database means moving
 * or deleting these too. */
const char *const *db_companion_suffixes(const char *driver);

#endif
