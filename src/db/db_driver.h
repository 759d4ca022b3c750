/* Contract for database drivers.
 *
 * - configure:   required. Check the url (and the driver's keys) at config time.
 * - snapshot:    required. Deliver a consistent image of the database to the sink: a page
 *                image (begin, then every chunk exactly once) or a stream (begin_stream,
 *                then write). The application must be able to keep writing meanwhile; the
 *                driver documents how long, if at all, it can block writers. Constant memory
 *                whatever the database size.
 * - check_image: RESTORE_FILE. Open a file produced from a snapshot and check its integrity.
 * - restore_stream: RESTORE_SERVER. Load a stream (or some tables or schemas of it) into a
 *                new database on the server.
 * - swap_in:     RESTORE_SERVER. Put a restored database in the place of the live one.
 * - verify_stream:  RESTORE_SERVER. Load it into a scratch database, check, drop it.
 * - inspect:     Size, pages and row counts of stats->tables, read-only (NULL: not yet).
 * - rows:        ROW_TASKS. The row tasks' operations (db/row_store.h).
 * Feature bits (db.h) tell callers what else a driver can do, so they never test names. */
#ifndef UK_DB_DRIVER_H
#define UK_DB_DRIVER_H

#include "db/db.h"
#include "db/row_store.h"

typedef struct DbDriver {
    const char *name;
    const char *const *schemes; /* URL schemes, NULL-terminated: "sqlite", "postgresql" */
    unsigned features;
    /* Checks the database's URL and keys at config time (db->url, db->password_file) and
     * fills what the driver needs (db->path for files); message without the config line. */
    int (*configure)(ConfigDatabase *db, const char *config_dir, UkError *err);
    int (*snapshot)(const ConfigDatabase *db, ImageSink *sink, SnapshotInfo *info, UkError *err);
    /* RESTORE_SERVER: loads the stream into database TARGET (which must not exist yet) on
     * db's server, creating it. */
    int (*restore_stream)(const ConfigDatabase *db, const char *target, ImageSource *source,
                          const DbRestoreOnly *only, UkError *err);
    /* RESTORE_SERVER: db_swap_in(), db_drop_database(). */
    int (*drop_database)(const ConfigDatabase *db, const char *name, UkError *err);
    int (*swap_in)(const ConfigDatabase *db, const char *restored, bool force, char *kept_aside,
                   size_t len, UkError *err);
    /* RESTORE_SERVER: proves the stream restorable: loads it into a scratch database on db's
     * server, compares what DETAILS (the manifest's) recorded, runs the engine's own checks,
     * drops the scratch database. result as for check_image. */
    int (*verify_stream)(const ConfigDatabase *db, ImageSource *source, const char *details,
                         char *result, size_t len, UkError *err);
    int (*check_image)(const char *path, DbCheckLevel level, char *result, size_t len,
                       UkError *err);
    int (*inspect)(const ConfigDatabase *db, DbStats *stats, UkError *err);
    const RowStoreOps *rows;
    /* CLUSTER_LOCK: 1 and *handle when taken, 0 when another session holds it, -1 on error;
     * cluster_unlock releases it. */
    int (*cluster_lock)(const ConfigDatabase *db, const char *name, void **handle, UkError *err);
    void (*cluster_unlock)(void *handle);
    /* MAINTENANCE: a vacuum job's steps on the server. */
    int (*maintain)(const ConfigDatabase *db, const DbMaintainRequest *req, DbMaintainResult *res,
                    UkError *err);
    int (*check_live)(const ConfigDatabase *db, const char *check, char *result, size_t len,
                      UkError *err);
    /* Reports (NULL: the engine has none yet). */
    int (*slow_queries)(const ConfigDatabase *db, double min_mean_ms, size_t top,
                        DbQueryReport *out, UkError *err);
    int (*analyze_indexes)(const ConfigDatabase *db, bool apply, DbIndexReport *out, UkError *err);
} DbDriver;

extern const DbDriver db_sqlite_driver;
extern const RowStoreOps db_sqlite_rows;
extern const RowStoreOps db_postgresql_rows;
extern const DbDriver db_postgresql_driver;
extern const RowStoreOps db_mariadb_rows;
extern const DbDriver db_mariadb_driver;

#endif
