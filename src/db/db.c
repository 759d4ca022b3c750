#include "db/db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "db/db_driver.h"

static const DbDriver *const drivers[] = {&db_sqlite_driver, &db_postgresql_driver,
                                          &db_mariadb_driver};

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

/* rc, with the database named in err when it is a failure. */
static int named(const ConfigDatabase *db, int rc, UkError *err)
{
    if (rc != 0)
        uk_error_prefix(err, "database '%s': ", db->name);
    return rc;
}

int db_configure(ConfigDatabase *db, const char *config_dir, UkError *err)
{
    const char *sep = strstr(db->url, "://");
    for (size_t i = 0; sep && i < sizeof drivers / sizeof drivers[0]; i++)
        for (const char *const *s = drivers[i]->schemes; *s; s++)
            if (strlen(*s) == (size_t)(sep - db->url) && strncmp(db->url, *s, strlen(*s)) == 0) {
                free(db->driver);
                db->driver = xstrdup(drivers[i]->name);
                return drivers[i]->configure(db, config_dir, err);
            }
    char *shown = redact_url(db->url, true);
    uk_error_set(err, UK_E_CONFIG, 0,
                 "unsupported url '%s' (expected sqlite://PATH, postgresql://HOST/DATABASE or "
                 "mariadb://HOST/DATABASE)",
                 shown);
    free(shown);
    return -1;
}

struct DbClusterLock {
    const DbDriver *driver;
    void *handle;
};

int db_cluster_lock(const ConfigDatabase *db, const char *name, DbClusterLock **lock, UkError *err)
{
    *lock = NULL;
    const DbDriver *d = find_driver(db->driver);
    if (!d)
        return no_driver(db, err);
    if (!d->cluster_lock)
        return 1;
    void *handle = NULL;
    int rc = d->cluster_lock(db, name, &handle, err);
    if (rc < 0)
        uk_error_prefix(err, "database '%s': cluster lock: ", db->name);
    if (rc == 1) {
        *lock = xcalloc(1, sizeof **lock);
        (*lock)->driver = d;
        (*lock)->handle = handle;
    }
    return rc;
}

void db_cluster_unlock(DbClusterLock *lock)
{
    if (!lock)
        return;
    lock->driver->cluster_unlock(lock->handle);
    free(lock);
}

int db_maintain(const ConfigDatabase *db, const DbMaintainRequest *req, DbMaintainResult *res,
                UkError *err)
{
    memset(res, 0, sizeof *res);
    const DbDriver *d = find_driver(db->driver);
    if (!d)
        return no_driver(db, err);
    if (!d->maintain)
        return uk_error_set(err, UK_E_USAGE, 0, "database '%s': %s has no server maintenance",
                            db->name, d->name);
    return named(db, d->maintain(db, req, res, err), err);
}

int db_check_live(const ConfigDatabase *db, const char *check, char *result, size_t len,
                  UkError *err)
{
    const DbDriver *d = find_driver(db->driver);
    if (!d)
        return no_driver(db, err);
    if (!d->check_live)
        return uk_error_set(err, UK_E_USAGE, 0, "database '%s': %s has no live checks", db->name,
                            d->name);
    return named(db, d->check_live(db, check, result, len, err), err);
}

int db_slow_queries(const ConfigDatabase *db, double min_mean_ms, size_t top, DbQueryReport *out,
                    UkError *err)
{
    memset(out, 0, sizeof *out);
    const DbDriver *d = find_driver(db->driver);
    if (!d)
        return no_driver(db, err);
    if (!d->slow_queries) {
        snprintf(out->note, sizeof out->note, "%s keeps no record of statement times", d->name);
        return 0;
    }
    size_t n = top > DB_MAX_QUERIES ? DB_MAX_QUERIES : top;
    return named(db, d->slow_queries(db, min_mean_ms, n, out, err), err);
}

int db_analyze_indexes(const ConfigDatabase *db, bool apply, DbIndexReport *out, UkError *err)
{
    memset(out, 0, sizeof *out);
    const DbDriver *d = find_driver(db->driver);
    if (!d)
        return no_driver(db, err);
    if (!d->analyze_indexes)
        return uk_error_set(err, UK_E_USAGE, 0,
                            "database '%s': index analysis is not available for %s yet", db->name,
                            d->name);
    return named(db, d->analyze_indexes(db, apply, out, err), err);
}

bool db_has_feature(const char *driver, unsigned features)
{
    const DbDriver *d = find_driver(driver);
    return d && (d->features & features) == features;
}

int db_snapshot(const ConfigDatabase *db, ImageSink *sink, SnapshotInfo *info, UkError *err)
{
    const DbDriver *d = find_driver(db->driver);
    if (!d)
        return no_driver(db, err);
    memset(info, 0, sizeof *info);
    return named(db, d->snapshot(db, sink, info, err), err);
}

int db_check_image(const char *driver, const char *path, DbCheckLevel level, char *result,
                   size_t len, UkError *err)
{
    const DbDriver *d = find_driver(driver);
    if (!d)
        return uk_error_set(err, UK_E_FORMAT, 0, "backup was made by unknown driver '%s'", driver);
    if (!d->check_image)
        return uk_error_set(err, UK_E_USAGE, 0, "%s backups are not checked as files", driver);
    return d->check_image(path, level, result, len, err);
}

int db_verify_stream(const ConfigDatabase *db, ImageSource *source, const char *details,
                     char *result, size_t len, UkError *err)
{
    const DbDriver *d = find_driver(db->driver);
    if (!d)
        return no_driver(db, err);
    if (!d->verify_stream)
        return uk_error_set(err, UK_E_USAGE, 0, "database '%s': %s backups are files", db->name,
                            d->name);
    return named(db, d->verify_stream(db, source, details, result, len, err), err);
}

int db_restore_stream(const ConfigDatabase *db, const char *target, ImageSource *source,
                      const DbRestoreOnly *only, UkError *err)
{
    const DbDriver *d = find_driver(db->driver);
    if (!d)
        return no_driver(db, err);
    if (!d->restore_stream)
        return uk_error_set(err, UK_E_USAGE, 0,
                            "database '%s': %s restores into files, not a server", db->name,
                            d->name);
    return named(db, d->restore_stream(db, target, source, only, err), err);
}

int db_drop_database(const ConfigDatabase *db, const char *name, UkError *err)
{
    const DbDriver *d = find_driver(db->driver);
    if (!d)
        return no_driver(db, err);
    if (!d->drop_database)
        return uk_error_set(err, UK_E_USAGE, 0, "database '%s': %s has no databases to drop",
                            db->name, d->name);
    return named(db, d->drop_database(db, name, err), err);
}

int db_swap_in(const ConfigDatabase *db, const char *restored, bool force, char *kept_aside,
               size_t len, UkError *err)
{
    const DbDriver *d = find_driver(db->driver);
    if (!d)
        return no_driver(db, err);
    if (!d->swap_in)
        return uk_error_set(err, UK_E_USAGE, 0, "database '%s': %s has no databases to swap",
                            db->name, d->name); /* callers test DB_FEAT_SWAP_IN first */
    return named(db, d->swap_in(db, restored, force, kept_aside, len, err), err);
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

const RowStoreOps *db_row_store(const ConfigDatabase *db, UkError *err)
{
    const DbDriver *d = find_driver(db->driver);
    if (!d) {
        no_driver(db, err);
        return NULL;
    }
    if (!d->rows)
        uk_error_set(err, UK_E_CONFIG, 0, "database '%s': row tasks are not available for %s",
                     db->name, d->name);
    return d->rows;
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
    if (!d->inspect)
        return uk_error_set(err, UK_E_USAGE, 0,
                            "database '%s': %s statistics are not available yet", db->name,
                            d->name);
    return named(db, d->inspect(db, stats, err), err);
}

DbFinding *db_index_finding(DbIndexReport *report, const char *kind)
{
    if (report->n == DB_MAX_FINDINGS)
        return NULL;
    DbFinding *f = &report->findings[report->n++];
    snprintf(f->kind, sizeof f->kind, "%s", kind);
    return f;
}

DbGauge *db_stats_gauge(DbStats *stats, const char *name, const char *unit, double value,
                        double warning, double critical)
{
    DbGauge *g = &stats->gauges[stats->n_gauges++];
    snprintf(g->name, sizeof g->name, "%s", name);
    g->unit = unit;
    g->value = value;
    g->warning = warning;
    g->critical = critical;
    return g;
}
