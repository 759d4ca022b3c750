#include "db/db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "db/db_driver.h"

static const DbDriver *const drivers[] = {&db_sqlite_driver};

static const DbDriver *find_driver(const char *name)
{
    for (size_t i = 0; i < sizeof drivers / sizeof drivers[0]; i++)
        if (name && strcmp(drivers[i]->name, name) == 0)
            return drivers[i];
    return NULL;
}

static int no_driver(const ConfigDatabase *db, UkError *err)
{
    char *shown = redact_url(db->url, true);
    uk_error_set(err, UK_E_CONFIG, 0, "database '%s': no driver for '%s'", db->name, shown);
    free(shown);
    return -1;
}

int db_snapshot(const ConfigDatabase *db, ImageSink *sink, SnapshotInfo *info, UkError *err)
{
    const DbDriver *d = find_driver(db->driver);
    if (!d)
        return no_driver(db, err);
    memset(info, 0, sizeof *info);
    if (d->snapshot(db->path, sink, info, err) != 0) {
        uk_error_prefix(err, "database '%s': ", db->name);
        return -1;
    }
    return 0;
}

int db_check_image(const char *driver, const char *path, DbCheckLevel level, char *result,
                   size_t len, UkError *err)
{
    const DbDriver *d = find_driver(driver);
    if (!d)
        return uk_error_set(err, UK_E_FORMAT, 0, "backup was made by unknown driver '%s'", driver);
    return d->check_image(path, level, result, len, err);
}

bool db_check_passed(const char *result)
{
    return strncmp(result, "ok", 2) == 0 && (result[2] == '\0' || result[2] == ' ');
}

const char *const *db_companion_suffixes(const char *driver)
{
    static const char *const sqlite_suffixes[] = {"-wal", "-shm", "-journal", NULL};
    static const char *const none[] = {NULL};
    return driver && strcmp(driver, "sqlite") == 0 ? sqlite_suffixes : none;
}

int db_inspect(const ConfigDatabase *db, const char *tables, DbStats *stats, UkError *err)
{
    memset(stats, 0, sizeof *stats);
    const DbDriver *d = find_driver(db->driver);
    if (!d)
        return no_driver(db, err);
    size_t n = 0;
    char **names = split_list(tables, &n);
    for (size_t i = 0; i < n && stats->n_tables < DB_MAX_COUNTED_TABLES; i++)
        snprintf(stats->tables[stats->n_tables++], sizeof stats->tables[0], "%s", names[i]);
    free_list(names, n);
    if (d->inspect(db->path, stats, err) != 0) {
        uk_error_prefix(err, "database '%s': ", db->name);
        return -1;
    }
    return 0;
}
