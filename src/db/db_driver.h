/* Contract for database drivers.
 *
 * - snapshot:    required. Deliver a consistent image of the database at `location` to the
 *                sink: call sink->begin once, then every chunk exactly once. The application
 *                must be able to keep writing meanwhile; the driver documents how long, if at
 *                all, it can block writers. Constant memory whatever the database size.
 * - check_image: required. Open a file produced from a snapshot and check its integrity.
 * - inspect:     required. Size, pages and row counts of stats->tables, read-only.
 * Feature bits tell callers what else a driver can do, so they never test driver names. */
#ifndef UK_DB_DRIVER_H
#define UK_DB_DRIVER_H

#include "db/db.h"

enum { DB_FEAT_ONLINE_BACKUP = 1 << 0, DB_FEAT_PAGE_IMAGE = 1 << 1 };

typedef struct DbDriver {
    const char *name;
    unsigned features;
    int (*snapshot)(const char *location, ImageSink *sink, SnapshotInfo *info, UkError *err);
    int (*check_image)(const char *path, DbCheckLevel level, char *result, size_t len,
                       UkError *err);
    int (*inspect)(const char *location, DbStats *stats, UkError *err);
} DbDriver;

extern const DbDriver db_sqlite_driver;

#endif
