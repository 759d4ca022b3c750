/* SQLite driver: a consistent, streaming, page-exact image of a live database.
 *
 * How: upkeep opens the database with its own connection and starts a read transaction,
 * which pins one snapshot (in WAL mode writers keep committing; in rollback-journal mode
 * they wait for the read, as for any reader). SQLite's online-backup API then copies that
 * snapshot, page by page, into a destination database whose file is not a file: a tiny
 * VFS ("upkeep-stream") hands each page write straight to the ImageSink. Because the read
 * transaction is held across backup steps, other connections' commits never restart the
 * copy (the sqlite3 shell's `.backup` restarts on every commit and never finishes under a
 * steady writer).
 *
 * Why this works in constant memory: the destination runs with journal_mode=OFF and a small
 * page cache, so SQLite spills dirty pages in ascending order as the cache fills and writes
 * the rest, sorted, at commit. The only page written out of order is page 1 (the header is
 * finalised at commit), so the first chunk is held back and delivered last. Any other
 * out-of-order access is reported as an error rather than producing a wrong image.
 *
 * The image keeps the source's page layout, so unchanged pages hash the same in every backup
 * and deduplicate; only page 1's header counters differ from the source file. */
#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/util.h"
#include "db/db_driver.h"
#include "db/sqlite/sqlite_ops.h"

#define STREAM_VFS_NAME "upkeep-stream"
/* Two 4 KiB pages per chunk halve the per-chunk metadata (manifest and index entries, 76
 * bytes per chunk) and memory, while a 1% change still stores under 2% of the pages. */
#define MIN_CHUNK 8192
#define PAGES_PER_STEP 2048

typedef struct StreamCtx {
    ImageSink *sink;
    uint32_t page_size, chunk_size;
    uint64_t image_size;
    unsigned char *chunk0;
    unsigned char *partial; /* collects pages when pages are smaller than a chunk */
    size_t partial_len;
    uint64_t next_offset; /* the next offset expected after chunk 0 */
    uint64_t size;        /* logical file size */
    bool failed;
    UkError err;
} StreamCtx;

typedef struct StreamFile {
    sqlite3_file base;
    StreamCtx *ctx;
} StreamFile;

static sqlite3_vfs stream_vfs;
static sqlite3_vfs *default_vfs;
static pthread_once_t vfs_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t active_lock = PTHREAD_MUTEX_INITIALIZER;
static StreamCtx *active_stream; /* handed to xOpen; guarded by active_lock */

static int stream_fail(StreamCtx *ctx, int sqlite_rc, const char *what)
{
    if (!ctx->failed) {
        ctx->failed = true;
        uk_error_set(&ctx->err, UK_E_INTERNAL, 0, "unable to stream the snapshot: %s", what);
    }
    return sqlite_rc;
}

static int stream_close(sqlite3_file *f)
{
    (void)f;
    return SQLITE_OK;
}

static int stream_read(sqlite3_file *f, void *buf, int amt, sqlite3_int64 off)
{
    StreamCtx *ctx = ((StreamFile *)f)->ctx;
    uint64_t end = (uint64_t)off + (uint64_t)amt;
    if ((uint64_t)off >= ctx->size) {
        memset(buf, 0, (size_t)amt);
        return SQLITE_IOERR_SHORT_READ;
    }
    if (end <= ctx->chunk_size) {
        memcpy(buf, ctx->chunk0 + off, (size_t)amt);
        return end <= ctx->size ? SQLITE_OK : SQLITE_IOERR_SHORT_READ;
    }
    return stream_fail(ctx, SQLITE_IOERR_READ, "a page was read back after it was streamed");
}

static int emit(StreamCtx *ctx, uint64_t index, const void *data, size_t len)
{
    if (ctx->sink->chunk(ctx->sink->ctx, index, data, len, &ctx->err) != 0) {
        ctx->failed = true;
        return -1;
    }
    if (ctx->sink->progress)
        ctx->sink->progress(ctx->sink->ctx, ctx->next_offset, ctx->image_size);
    return 0;
}

/* Appends bytes after chunk 0, emitting each chunk as soon as it is complete. */
static int stream_append(StreamCtx *ctx, const void *buf, size_t amt)
{
    const unsigned char *p = buf;
    while (amt > 0) {
        uint64_t index = (ctx->next_offset - ctx->partial_len) / ctx->chunk_size;
        if (ctx->partial_len == 0 && amt >= ctx->chunk_size) {
            if (emit(ctx, index, p, ctx->chunk_size) != 0)
                return SQLITE_IOERR_WRITE;
            p += ctx->chunk_size;
            amt -= ctx->chunk_size;
            ctx->next_offset += ctx->chunk_size;
            continue;
        }
        size_t take = ctx->chunk_size - ctx->partial_len;
        if (take > amt)
            take = amt;
        memcpy(ctx->partial + ctx->partial_len, p, take);
        ctx->partial_len += take;
        p += take;
        amt -= take;
        ctx->next_offset += take;
        if (ctx->partial_len == ctx->chunk_size) {
            if (emit(ctx, index, ctx->partial, ctx->chunk_size) != 0)
                return SQLITE_IOERR_WRITE;
            ctx->partial_len = 0;
        }
    }
    return SQLITE_OK;
}

/* SQLite never stores data in the page that holds byte 2^30 (the "pending byte" it locks),
 * and the backup API skips that page. The stream fills it with zeros, which is what the hole
 * in a database file written by SQLite reads as. */
#define SQLITE_PENDING_BYTE 0x40000000ULL

static int stream_write(sqlite3_file *f, const void *buf, int amt, sqlite3_int64 off)
{
    StreamCtx *ctx = ((StreamFile *)f)->ctx;
    if (ctx->failed)
        return SQLITE_IOERR_WRITE;
    uint64_t start = (uint64_t)off, end = start + (uint64_t)amt;
    if (end <= ctx->chunk_size) {
        memcpy(ctx->chunk0 + off, buf, (size_t)amt);
    } else {
        if (ctx->next_offset == SQLITE_PENDING_BYTE &&
            start == SQLITE_PENDING_BYTE + ctx->page_size) {
            unsigned char *zeros = xcalloc(1, ctx->page_size);
            int rc = stream_append(ctx, zeros, ctx->page_size);
            free(zeros);
            if (rc != SQLITE_OK)
                return rc;
        }
        if (start != ctx->next_offset) {
            char what[160];
            snprintf(what, sizeof what,
                     "pages were written out of order (offset %llu, expected %llu)",
                     (unsigned long long)start, (unsigned long long)ctx->next_offset);
            return stream_fail(ctx, SQLITE_IOERR_WRITE, what);
        }
        int rc = stream_append(ctx, buf, (size_t)amt);
        if (rc != SQLITE_OK)
            return rc;
    }
    if (end > ctx->size)
        ctx->size = end;
    return SQLITE_OK;
}

static int stream_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    StreamCtx *ctx = ((StreamFile *)f)->ctx;
    if ((uint64_t)size >= ctx->size)
        return SQLITE_OK;
    return stream_fail(ctx, SQLITE_IOERR_TRUNCATE, "the image was truncated after streaming");
}

static int stream_sync(sqlite3_file *f, int flags)
{
    (void)f;
    (void)flags;
    return SQLITE_OK;
}

static int stream_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
    *size = (sqlite3_int64)((StreamFile *)f)->ctx->size;
    return SQLITE_OK;
}

static int stream_lock(sqlite3_file *f, int level)
{
    (void)f;
    (void)level;
    return SQLITE_OK;
}

static int stream_check_reserved(sqlite3_file *f, int *out)
{
    (void)f;
    *out = 0;
    return SQLITE_OK;
}

static int stream_file_control(sqlite3_file *f, int op, void *arg)
{
    (void)f;
    (void)op;
    (void)arg;
    return SQLITE_NOTFOUND;
}

static int stream_sector_size(sqlite3_file *f)
{
    (void)f;
    return 4096;
}

static int stream_device_characteristics(sqlite3_file *f)
{
    (void)f;
    return 0;
}

static const sqlite3_io_methods stream_io = {
    .iVersion = 1,
    .xClose = stream_close,
    .xRead = stream_read,
    .xWrite = stream_write,
    .xTruncate = stream_truncate,
    .xSync = stream_sync,
    .xFileSize = stream_file_size,
    .xLock = stream_lock,
    .xUnlock = stream_lock,
    .xCheckReservedLock = stream_check_reserved,
    .xFileControl = stream_file_control,
    .xSectorSize = stream_sector_size,
    .xDeviceCharacteristics = stream_device_characteristics,
};

static int vfs_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags,
                    int *out_flags)
{
    (void)vfs;
    if (flags & SQLITE_OPEN_MAIN_DB) {
        StreamFile *sf = (StreamFile *)file;
        memset(sf, 0, sizeof *sf);
        sf->ctx = active_stream;
        sf->base.pMethods = &stream_io;
        if (out_flags)
            *out_flags = flags;
        return SQLITE_OK;
    }
    return default_vfs->xOpen(default_vfs, name, file, flags, out_flags);
}

static int vfs_delete(sqlite3_vfs *vfs, const char *name, int sync)
{
    (void)vfs;
    (void)name;
    (void)sync;
    return SQLITE_OK;
}

static int vfs_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
    (void)vfs;
    (void)name;
    (void)flags;
    *out = 0; /* no journal, no WAL: nothing beside the stream exists */
    return SQLITE_OK;
}

static int vfs_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
    (void)vfs;
    snprintf(out, (size_t)n, "%s", name);
    return SQLITE_OK;
}

static void register_vfs(void)
{
    default_vfs = sqlite3_vfs_find(NULL);
    stream_vfs = *default_vfs;
    stream_vfs.zName = STREAM_VFS_NAME;
    stream_vfs.pNext = NULL;
    if (stream_vfs.szOsFile < (int)sizeof(StreamFile))
        stream_vfs.szOsFile = (int)sizeof(StreamFile);
    stream_vfs.xOpen = vfs_open;
    stream_vfs.xDelete = vfs_delete;
    stream_vfs.xAccess = vfs_access;
    stream_vfs.xFullPathname = vfs_full_pathname;
    sqlite3_vfs_register(&stream_vfs, 0);
}

static int snapshot_file(const char *path, ImageSink *sink, SnapshotInfo *info, UkError *err)
{
    pthread_once(&vfs_once, register_vfs);
    sqlite3 *src = NULL, *dest = NULL;
    sqlite3_backup *backup = NULL;
    StreamCtx ctx = {.sink = sink};
    int rc = -1;
    bool locked = false;
    double started = monotonic_seconds();
    struct stat st;
    if (stat(path, &st) != 0)
        return uk_error_set(err, errno == ENOENT ? UK_E_NOTFOUND : UK_E_IO, errno,
                            "unable to open database file '%s'", path);
    if (!S_ISREG(st.st_mode))
        return uk_error_set(err, UK_E_IO, 0, "'%s' is not a regular file", path);
    if (sqlite3_open_v2(path, &src, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        uk_error_set(err, UK_E_DB, 0, "unable to open database '%s': %s", path,
                     src ? sqlite3_errmsg(src) : "out of memory");
        goto out;
    }
    sqlite3_busy_timeout(src, 10000);
    /* One read transaction for the whole copy: this pins the snapshot. */
    if (sqlite_ops_exec(src, "BEGIN; SELECT count(*) FROM sqlite_schema;", err) != 0) {
        if (sqlite3_extended_errcode(src) == SQLITE_READONLY_ROLLBACK) {
            /* A hot journal: a writer crashed mid-transaction, and only a connection that may
             * write can roll it back. Reading past it would copy half a transaction. */
            uk_error_set(err, UK_E_DB, 0,
                         "'%s' has a hot rollback journal ('%s-journal': a writer stopped in the "
                         "middle of a transaction); open the database once with the application "
                         "or sqlite3 so SQLite rolls it back, then back up again",
                         path, path);
            goto out;
        }
        uk_error_prefix(err, "'%s': ", path);
        goto out;
    }
    int64_t page_size = sqlite_ops_int(src, "PRAGMA page_size");
    int64_t page_count = sqlite_ops_int(src, "PRAGMA page_count");
    sqlite3_stmt *jm = NULL;
    if (sqlite3_prepare_v2(src, "PRAGMA journal_mode", -1, &jm, NULL) == SQLITE_OK &&
        sqlite3_step(jm) == SQLITE_ROW)
        snprintf(info->journal_mode, sizeof info->journal_mode, "%s",
                 (const char *)sqlite3_column_text(jm, 0));
    sqlite3_finalize(jm);
    if (page_size <= 0 || page_count < 0) {
        uk_error_set(err, UK_E_DB, 0, "'%s' is not a readable SQLite database", path);
        goto out;
    }
    ctx.page_size = (uint32_t)page_size;
    ctx.chunk_size = ctx.page_size < MIN_CHUNK ? MIN_CHUNK : ctx.page_size;
    ctx.image_size = (uint64_t)page_size * (uint64_t)page_count;
    ctx.next_offset = ctx.chunk_size;
    ctx.chunk0 = xcalloc(1, ctx.chunk_size);
    ctx.partial = xmalloc(ctx.chunk_size);
    info->image_size = ctx.image_size;
    info->page_size = ctx.page_size;
    if (sink->begin(sink->ctx, ctx.image_size, ctx.page_size, ctx.chunk_size, err) != 0)
        goto out;

    pthread_mutex_lock(&active_lock);
    locked = true;
    active_stream = &ctx;
    if (sqlite3_open_v2(STREAM_VFS_NAME, &dest, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                        STREAM_VFS_NAME) != SQLITE_OK) {
        uk_error_set(err, UK_E_DB, 0, "unable to open the snapshot stream: %s",
                     dest ? sqlite3_errmsg(dest) : "out of memory");
        goto out;
    }
    if (sqlite_ops_exec(dest,
                        "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-2048;",
                        err) != 0) {
        uk_error_prefix(err, "snapshot stream: ");
        goto out;
    }
    backup = sqlite3_backup_init(dest, "main", src, "main");
    if (!backup) {
        uk_error_set(err, UK_E_DB, 0, "unable to start the backup of '%s': %s", path,
                     sqlite3_errmsg(dest));
        goto out;
    }
    int step;
    do {
        step = sqlite3_backup_step(backup, PAGES_PER_STEP);
    } while (step == SQLITE_OK);
    int finish = sqlite3_backup_finish(backup);
    backup = NULL;
    if (step != SQLITE_DONE || finish != SQLITE_OK || ctx.failed) {
        if (ctx.failed)
            *err = ctx.err;
        else
            uk_error_set(err, UK_E_DB, 0, "unable to copy '%s': %s", path,
                         sqlite3_errstr(step != SQLITE_DONE ? step : finish));
        goto out;
    }
    sqlite3_close(dest);
    dest = NULL;
    if (ctx.failed) {
        *err = ctx.err;
        goto out;
    }
    /* Flush what the stream held back: a short last chunk, then chunk 0. */
    if (ctx.partial_len > 0 && emit(&ctx, (ctx.next_offset - ctx.partial_len) / ctx.chunk_size,
                                    ctx.partial, ctx.partial_len) != 0) {
        *err = ctx.err;
        goto out;
    }
    if (ctx.size != ctx.image_size) {
        uk_error_set(err, UK_E_INTERNAL, 0, "snapshot of '%s' has %llu bytes, expected %llu", path,
                     (unsigned long long)ctx.size, (unsigned long long)ctx.image_size);
        goto out;
    }
    if (ctx.image_size > 0) {
        size_t len = ctx.image_size < ctx.chunk_size ? (size_t)ctx.image_size : ctx.chunk_size;
        if (sink->chunk(sink->ctx, 0, ctx.chunk0, len, err) != 0)
            goto out;
    }
    rc = 0;
out:
    if (backup)
        sqlite3_backup_finish(backup);
    if (dest)
        sqlite3_close(dest);
    if (locked) {
        active_stream = NULL;
        pthread_mutex_unlock(&active_lock);
    }
    if (src) {
        sqlite3_exec(src, "COMMIT", NULL, NULL, NULL);
        sqlite3_close(src);
    }
    free(ctx.chunk0);
    free(ctx.partial);
    info->read_seconds = monotonic_seconds() - started;
    return rc;
}

static int sqlite_check_image(const char *path, DbCheckLevel level, char *result, size_t len,
                              UkError *err)
{
    sqlite3 *db = NULL;
    int rc = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        uk_error_set(err, UK_E_DB, 0, "unable to open restored image '%s': %s", path,
                     db ? sqlite3_errmsg(db) : "out of memory");
        goto out;
    }
    StandIns stand_ins = {0};
    sqlite_ops_collation_stand_ins(db, &stand_ins);
    sqlite3_stmt *stmt = NULL;
    const char *sql =
        level == DB_CHECK_QUICK ? "PRAGMA quick_check(20)" : "PRAGMA integrity_check(20)";
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK) {
        snprintf(result, len, "%s", sqlite3_errmsg(db));
        rc = 0;
        goto out;
    }
    result[0] = '\0';
    int step;
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        size_t used = strlen(result);
        snprintf(result + used, len - used, "%s%s", used ? "; " : "",
                 (const char *)sqlite3_column_text(stmt, 0));
    }
    if (step != SQLITE_DONE)
        snprintf(result, len, "%s", sqlite3_errmsg(db));
    sqlite3_finalize(stmt);
    if (stand_ins.count > 0 && strcmp(result, "ok") != 0 && level == DB_CHECK_FULL) {
        /* The stand-in orders differently from the application's collation, so comparing
         * those indexes with their tables proves nothing either way: judge the structure. */
        char quick[256];
        sqlite3_close(db);
        db = NULL;
        if (sqlite_check_image(path, DB_CHECK_QUICK, quick, sizeof quick, err) == 0 &&
            db_check_passed(quick))
            snprintf(result, len, "ok");
    }
    if (stand_ins.count > 0 && db_check_passed(result) && level == DB_CHECK_FULL)
        snprintf(result, len,
                 "ok (indexes using collation %s judged by structure only: the "
                 "application defines it)",
                 stand_ins.names[0]);
    rc = 0;
out:
    sqlite3_close(db);
    return rc;
}

static uint64_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

static int64_t pragma_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *stmt = NULL;
    int64_t v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW)
        v = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return v;
}

static int inspect_file(const char *path, DbStats *stats, UkError *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return uk_error_set(err, errno == ENOENT ? UK_E_NOTFOUND : UK_E_IO, errno,
                            "unable to open database file '%s'", path);
    sqlite3 *db = NULL;
    int rc = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        uk_error_set(err, UK_E_DB, 0, "unable to open '%s': %s", path,
                     db ? sqlite3_errmsg(db) : "out of memory");
        goto out;
    }
    sqlite3_busy_timeout(db, 5000);
    StandIns stand_ins; /* counting rows of a table whose index uses the application's collation */
    sqlite_ops_collation_stand_ins(db, &stand_ins);
    stats->has_pages = true;
    stats->page_count = (uint64_t)pragma_int(db, "PRAGMA page_count");
    stats->page_size = (uint64_t)pragma_int(db, "PRAGMA page_size");
    stats->freelist_pages = (uint64_t)pragma_int(db, "PRAGMA freelist_count");
    if (pragma_int(db, "SELECT count(*) FROM sqlite_schema") < 0) {
        uk_error_set(err, UK_E_DB, 0, "'%s' is not a readable SQLite database: %s", path,
                     sqlite3_errmsg(db));
        goto out;
    }
    for (size_t i = 0; i < stats->n_tables; i++) {
        stats->rows[i] = -1;
        stats->dead_rows[i] = -1;
        stats->last_vacuum[i] = -1;
        sqlite3_stmt *stmt = NULL;
        /* The name is bound, then quoted by SQLite itself: no SQL is built from it. */
        if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?",
                               -1, &stmt, NULL) != SQLITE_OK)
            continue;
        sqlite3_bind_text(stmt, 1, stats->tables[i], -1, SQLITE_STATIC);
        bool exists = sqlite3_step(stmt) == SQLITE_ROW;
        sqlite3_finalize(stmt);
        if (!exists)
            continue;
        char *quoted = sqlite3_mprintf("SELECT count(*) FROM \"%w\"", stats->tables[i]);
        stats->rows[i] = pragma_int(db, quoted);
        sqlite3_free(quoted);
    }
    char *wal = sqlite3_mprintf("%s-wal", path);
    stats->wal_bytes = file_size(wal);
    sqlite3_free(wal);
    stats->size_bytes = (uint64_t)st.st_size;
    rc = 0;
out:
    sqlite3_close(db);
    return rc;
}

/* sqlite:///absolute/path or sqlite://path relative to the config file. */
static int sqlite_configure(ConfigDatabase *db, const char *config_dir, UkError *err)
{
    const char *path = db->url + strlen("sqlite://");
    if (!*path)
        return uk_error_set(err, UK_E_CONFIG, 0,
                            "unsupported url '%s' (expected sqlite:///absolute/path)", db->url);
    if (db->password_file)
        return uk_error_set(err, UK_E_CONFIG, 0, "password_file is for servers, not SQLite files");
    free(db->path);
    db->path = path_join(config_dir, path);
    return 0;
}

static int sqlite_snapshot(const ConfigDatabase *db, ImageSink *sink, SnapshotInfo *info,
                           UkError *err)
{
    return snapshot_file(db->path, sink, info, err);
}

static int sqlite_inspect(const ConfigDatabase *db, DbStats *stats, UkError *err)
{
    return inspect_file(db->path, stats, err);
}

static const char *const sqlite_schemes[] = {"sqlite", NULL};

const DbDriver db_sqlite_driver = {
    .name = "sqlite",
    .schemes = sqlite_schemes,
    .features = DB_FEAT_ONLINE_BACKUP | DB_FEAT_PAGE_IMAGE | DB_FEAT_ROW_TASKS |
                DB_FEAT_RESTORE_FILE | DB_FEAT_ARCHIVE_SQLITE,
    .configure = sqlite_configure,
    .snapshot = sqlite_snapshot,
    .check_image = sqlite_check_image,
    .inspect = sqlite_inspect,
    .rows = &db_sqlite_rows,
};
