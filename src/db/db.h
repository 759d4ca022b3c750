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

/* What a driver can do, so that callers test features, never driver names. ROW_TASKS: purge,
 * archive, update, sql and clean's unreferenced_by (db/row_store.h). MAINTENANCE: vacuum and
 * integrity jobs go to the server (db_maintain, db_check_live); without it they are SQLite's
 * own tasks on the file. RESTORE_FILE: a backup rebuilds into a file that db_check_image
 * opens; RESTORE_SERVER: db_restore_stream loads a backup into a database on a server. */
enum {
    DB_FEAT_ONLINE_BACKUP = 1 << 0,
    DB_FEAT_PAGE_IMAGE = 1 << 1,
    DB_FEAT_ROW_TASKS = 1 << 2,
    DB_FEAT_RESTORE_FILE = 1 << 3,
    DB_FEAT_RESTORE_SERVER = 1 << 4,
    DB_FEAT_CLUSTER_LOCK = 1 << 5,
    DB_FEAT_MAINTENANCE = 1 << 6,    /* db_maintain(), db_check_live(): vacuum and integrity
                                        jobs without the SQLite tasks */
    DB_FEAT_SCHEMAS = 1 << 7,        /* tables may be named SCHEMA.TABLE */
    DB_FEAT_ARCHIVE_TABLE = 1 << 8,  /* archive_to = table:NAME, in the same database */
    DB_FEAT_ARCHIVE_SQLITE = 1 << 9, /* archive_to = sqlite://FILE, attached to the database */
    DB_FEAT_SWAP_IN = 1 << 10,       /* db_swap_in(): restore --in-place on a server */
};

/* Picks the driver for db->url's scheme and lets it check the url and fill what it needs
 * (db->driver, db->path for files). The message has no config line; the caller adds it. */
int db_configure(ConfigDatabase *db, const char *config_dir, UkError *err);
/* Does DRIVER (a ConfigDatabase's or a manifest's driver name) have every bit of FEATURES? */
bool db_has_feature(const char *driver, unsigned features);

/* Where a snapshot's bytes go, in one of two shapes. A page image (DB_FEAT_PAGE_IMAGE) calls
 * begin once and then chunk for fixed-size pieces of the image (the last may be shorter), in
 * increasing order except that chunk 0 may arrive last. A stream (a server's dump, of a
 * length known only at its end) calls begin_stream once and then write with its bytes in
 * order, in pieces of any size; its chunk_size is the average piece the repository should
 * cut it into (a power of two; repo/chunker.h says how a driver picks it). */
typedef struct ImageSink {
    void *ctx;
    int (*begin)(void *ctx, uint64_t image_size, uint32_t page_size, uint32_t chunk_size,
                 UkError *err);
    int (*chunk)(void *ctx, uint64_t index, const void *data, size_t len, UkError *err);
    int (*begin_stream)(void *ctx, uint32_t chunk_size, UkError *err);
    int (*write)(void *ctx, const void *data, size_t len, UkError *err);
    void (*progress)(void *ctx, uint64_t done_bytes, uint64_t total_bytes); /* may be NULL */
} ImageSink;

typedef struct SnapshotInfo {
    uint64_t image_size;
    uint32_t page_size;
    char journal_mode[16];
    double read_seconds;
    /* What the driver read about the database under the same snapshot (server version, size,
     * row counts per table), as a JSON object that goes into the manifest and that verify
     * compares against; malloc'd, may be NULL. */
    char *details;
} SnapshotInfo;

/* Streams a transactionally consistent image of the live database into sink, reading through
 * a connection of upkeep's own while the application keeps writing. */
int db_snapshot(const ConfigDatabase *db, ImageSink *sink, SnapshotInfo *info, UkError *err);

/* Where db_restore_stream's bytes come from: next lends the backup's next piece (1), or says
 * it ended (0) or failed (-1, err set). */
typedef struct ImageSource {
    void *ctx;
    int (*next)(void *ctx, const unsigned char **data, size_t *len, UkError *err);
} ImageSource;

/* What of a server backup to restore: NULL-terminated lists of tables ([SCHEMA.]TABLE) and
 * schemas; both NULL for everything. */
typedef struct DbRestoreOnly {
    const char *const *tables;
    const char *const *schemas;
} DbRestoreOnly;

/* RESTORE_SERVER: loads a backup of DRIVER's into a new database TARGET on db's server (TARGET
 * must not exist; a failed load drops it again); ONLY (may be NULL) limits it. */
int db_restore_stream(const ConfigDatabase *db, const char *target, ImageSource *source,
                      const DbRestoreOnly *only, UkError *err);
/* RESTORE_SERVER: puts database RESTORED in the place of db's own database, which is renamed
 * NAME_before_restore_TIME (given back in KEPT_ASIDE), in one transaction: the name holds the
 * old or the new database at every instant. Sessions on the old database are ended only with
 * FORCE; otherwise their presence is an error that counts them (UK_E_LOCKED). */
int db_swap_in(const ConfigDatabase *db, const char *restored, bool force, char *kept_aside,
               size_t len, UkError *err);
/* RESTORE_SERVER: drops database NAME on db's server (a restored copy that was not used). */
int db_drop_database(const ConfigDatabase *db, const char *name, UkError *err);
/* RESTORE_SERVER: loads the backup into a scratch database on db's server, compares the row
 * counts DETAILS (the manifest's) recorded and runs the engine's checks, then drops it;
 * result gets "ok …" or the problems found. -1 only when the check could not run. */
int db_verify_stream(const ConfigDatabase *db, ImageSource *source, const char *details,
                     char *result, size_t len, UkError *err);

/* How thoroughly db_check_image looks: quick (structure; what restore runs before a file gets
 * its name) or full (every index against its table; what verify runs). */
typedef enum { DB_CHECK_QUICK, DB_CHECK_FULL } DbCheckLevel;

/* Opens a restored image and runs the driver's integrity check; result gets "ok" or the
 * first problems reported. Returns -1 only when the check could not run. */
int db_check_image(const char *driver, const char *path, DbCheckLevel level, char *result,
                   size_t len, UkError *err);
/* Does a db_check_image result say the image is sound ("ok", perhaps with a note)? */
bool db_check_passed(const char *result);

/* A lock on the database's server that one host at a time can hold (DB_FEAT_CLUSTER_LOCK):
 * 1 with *lock set when this process now holds the lock named NAME, 0 when another session
 * does, -1 on error. Drivers without one say 1 with *lock NULL (nothing to share). */
typedef struct DbClusterLock DbClusterLock;
int db_cluster_lock(const ConfigDatabase *db, const char *name, DbClusterLock **lock, UkError *err);
void db_cluster_unlock(DbClusterLock *lock); /* NULL is fine */

/* What health and metrics report about a live database. Counts of TABLES, in order; a table
 * that does not exist counts -1. */
#define DB_MAX_COUNTED_TABLES 32
#define DB_MAX_GAUGES 8

/* A figure only some engines have (a server's connections, its transaction-id age), with the
 * thresholds that make it a warning or critical (0: none); health reports it as check NAME. */
typedef struct DbGauge {
    char name[32];
    const char *unit; /* a string literal: health reports keep it */
    double value, warning, critical;
    char text[200]; /* what it means, for the health message */
} DbGauge;

typedef struct DbStats {
    uint64_t size_bytes; /* the database file(s), or what the server says it takes */
    uint64_t wal_bytes;  /* write-ahead log, when there is one */
    bool has_pages;      /* a file of pages: page_count, page_size, freelist_pages and wal_bytes */
    uint64_t page_count, page_size, freelist_pages;
    DbGauge gauges[DB_MAX_GAUGES];
    size_t n_gauges;
    size_t n_tables;
    char tables[DB_MAX_COUNTED_TABLES][128];
    int64_t rows[DB_MAX_COUNTED_TABLES];
    /* Servers that keep them (else -1): dead row versions per table, and when a vacuum last
     * ran on it (Unix time; 0: never since the statistics were reset). */
    int64_t dead_rows[DB_MAX_COUNTED_TABLES];
    double last_vacuum[DB_MAX_COUNTED_TABLES];
} DbStats;

/* Drivers: adds a figure with its thresholds to STATS (the caller fills its text). */
DbGauge *db_stats_gauge(DbStats *stats, const char *name, const char *unit, double value,
                        double warning, double critical);

/* Reads the statistics without writing anything (a read-only connection). TABLES is a
 * comma-separated list, or NULL. */
int db_inspect(const ConfigDatabase *db, const char *tables, DbStats *stats, UkError *err);

/* A vacuum job on a server (DB_FEAT_MAINTENANCE). PostgreSQL: vacuum runs plain VACUUM on
 * every table (never VACUUM FULL, whose exclusive locks stop the application for its whole
 * run), analyze ANALYZE, reindex REINDEX DATABASE CONCURRENTLY. MariaDB: vacuum rebuilds
 * (OPTIMIZE TABLE, online) the tables whose free space is at least min_free_percent of their
 * size and that the server's disk has room to copy, reindex every table, analyze ANALYZE
 * TABLE. */
typedef struct DbMaintainRequest {
    bool vacuum, analyze, reindex, dry_run;
    unsigned min_free_percent;
} DbMaintainRequest;
typedef struct DbMaintainResult {
    uint64_t size_before, size_after;
    int64_t dead_before, dead_after; /* dead row versions, from the server's statistics (-1:
                                        the engine keeps none) */
    bool vacuumed, analyzed, reindexed;
    char mode[16];     /* what vacuum did, when not plain "vacuum": optimize, skipped */
    char skipped[160]; /* what was left alone, and why */
} DbMaintainResult;

int db_maintain(const ConfigDatabase *db, const DbMaintainRequest *req, DbMaintainResult *res,
                UkError *err);

/* An integrity job's check on the live database on a server: "quick", "full" or
 * "foreign_keys". PostgreSQL: amcheck's bt_index_check on every B-tree index (full: with
 * heapallindexed, and verify_heapam on every table), and foreign keys not validated. result
 * gets "ok" or the problems; -1 when the check could not run (amcheck missing, say). */
int db_check_live(const ConfigDatabase *db, const char *check, char *result, size_t len,
                  UkError *err);

/* The slowest statements the server has recorded (PostgreSQL: pg_stat_statements), slowest
 * mean first. available is false, with note saying why and how to turn it on, when the
 * engine keeps no such record. */
#define DB_MAX_QUERIES 50
typedef struct DbQuery {
    double calls, total_ms, mean_ms, rows;
    char text[1024];
} DbQuery;
typedef struct DbQueryReport {
    bool available;
    char note[300];
    size_t n;
    DbQuery queries[DB_MAX_QUERIES];
} DbQueryReport;

/* Queries whose mean time is at least MIN_MEAN_MS, at most TOP of them. */
int db_slow_queries(const ConfigDatabase *db, double min_mean_ms, size_t top, DbQueryReport *out,
                    UkError *err);

/* What an index analysis found: an index never scanned since the statistics were reset
 * ("unused", with its size), indexes that duplicate one another ("duplicate"), an index a
 * failed build left unusable ("invalid"), a foreign key no index starts with ("fk_without_index",
 * which makes deletes on the referenced table scan this one). suggestion is the SQL that would
 * fix it; safe says upkeep may run it (--apply): it only adds an index, concurrently. */
#define DB_MAX_FINDINGS 100
typedef struct DbFinding {
    char kind[24];
    char object[300];
    char detail[300];
    uint64_t size_bytes;
    char suggestion[600];
    bool safe;
    char applied[200]; /* after --apply: "created" or what went wrong */
} DbFinding;
typedef struct DbIndexReport {
    size_t n;
    DbFinding findings[DB_MAX_FINDINGS];
} DbIndexReport;

/* Drivers: the report's next finding of KIND, or NULL when it is full. */
DbFinding *db_index_finding(DbIndexReport *report, const char *kind);

/* Analyses the database's indexes; with apply, runs the safe suggestions. */
int db_analyze_indexes(const ConfigDatabase *db, bool apply, DbIndexReport *out, UkError *err);

/* Suffixes of the files that live beside a database file and belong to it (for SQLite
 * "-wal", "-shm", "-journal"), NULL-terminated. Moving or deleting a database means moving
 * or deleting these too. */
const char *const *db_companion_suffixes(const char *driver);

#endif
