/* Restore: rebuild the image into a temporary file beside the target, check it (every chunk's
 * hash, the image hash, then the database's quick check, so a self-consistent but tampered
 * manifest cannot name a malformed file), give it the old file's owner and mode, make it
 * durable, and only then give it the target's name. A failure at any point (corrupt chunk,
 * full disk, interruption) leaves the target untouched and removes the temporary file.
 *
 * In place, the old database keeps a second name (a hard link FILE.before-restore-TIME)
 * before the new one replaces it with one rename, so at every instant the path holds either
 * the old or the new database. Temporary files carry the restoring process's id; one whose
 * process is gone (killed with -9) is removed by the next restore to that folder. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "db/db.h"
#include "repo/image_reader.h"
#include "task/task_int.h"

int task_load_backup(const ConfigRepository *cfg, const char *id_or_latest, const char *database,
                     Repo **repo, Manifest *m, UkError *err)
{
    *repo = NULL;
    char id[64];
    if (task_open_repo(cfg, false, repo, err) != 0)
        return -1;
    if (!repo_can_read(*repo)) {
        repo_close(*repo);
        *repo = NULL;
        return uk_error_set(err, UK_E_USAGE, 0,
                            "repository '%s': this host's key is write-only: it writes backups "
                            "but cannot read them; verify and restore where a full key is",
                            cfg->name);
    }
    if (repo_lock(*repo, false, "restore or verify", err) != 0 ||
        repo_resolve_backup(*repo, id_or_latest, database, NULL, id, sizeof id, err) != 0 ||
        repo_read_manifest(*repo, id, true, m, err) != 0 || repo_load_index(*repo, err) != 0) {
        repo_close(*repo);
        *repo = NULL;
        return -1;
    }
    if (database && !*m->database) { /* a database restore of a backup of files only */
        uk_error_set(err, UK_E_USAGE, 0,
                     "backup '%s' holds files only (job '%s'): restore them with --files --to DIR",
                     m->id, m->job);
        manifest_clear(m);
        repo_close(*repo);
        *repo = NULL;
        return -1;
    }
    return 0;
}

/* Rebuilding is two stages that overlap: a reader thread fetches, decompresses and checks
 * chunks into 1 MiB blocks; the calling thread writes the blocks out. */
enum { BLOCK_BYTES = 1 << 20, BLOCKS = 4 };

typedef struct Rebuild {
    Repo *repo;
    const Manifest *m;
    unsigned char *block[BLOCKS];
    size_t used[BLOCKS];
    size_t produced, consumed; /* block counters; block i lives in slot i % BLOCKS */
    bool done, failed, cancel;
    UkError err;
    pthread_mutex_t lock;
    pthread_cond_t changed;
} Rebuild;

static void *rebuild_reader(void *arg)
{
    Rebuild *rb = arg;
    ImageReader *reader = image_reader_new(rb->repo, rb->m);
    const unsigned char *data;
    size_t len;
    int rc;
    unsigned char *cur = NULL;
    size_t used = 0;
    UkError err = {0};
    for (;;) {
        if (!cur) {
            pthread_mutex_lock(&rb->lock);
            while (rb->produced - rb->consumed == BLOCKS && !rb->cancel)
                pthread_cond_wait(&rb->changed, &rb->lock);
            bool cancel = rb->cancel;
            cur = rb->block[rb->produced % BLOCKS];
            pthread_mutex_unlock(&rb->lock);
            if (cancel) {
                rc = 0;
                break;
            }
            used = 0;
        }
        rc = image_reader_next(reader, &data, &len, &err);
        if (rc == 1) {
            memcpy(cur + used, data, len);
            used += len;
        }
        if (rc != 1 || used + rb->m->chunk_size > BLOCK_BYTES) {
            pthread_mutex_lock(&rb->lock);
            if (used > 0 && rc >= 0) {
                rb->used[rb->produced % BLOCKS] = used;
                rb->produced++;
            }
            if (rc <= 0) {
                rb->done = true;
                rb->failed = rc < 0;
                rb->err = err;
            }
            pthread_cond_broadcast(&rb->changed);
            pthread_mutex_unlock(&rb->lock);
            cur = NULL;
            if (rc <= 0)
                break;
        }
    }
    image_reader_free(reader);
    return NULL;
}

int task_rebuild_image(Repo *repo, const Manifest *m, int fd, const char *what, Progress *p,
                       UkError *err)
{
    if (m->chunk_size > BLOCK_BYTES)
        return uk_error_set(err, UK_E_FORMAT, 0, "backup '%s': chunk size %u is too large", m->id,
                            m->chunk_size);
    Rebuild rb = {.repo = repo, .m = m};
    for (int i = 0; i < BLOCKS; i++)
        rb.block[i] = xmalloc(BLOCK_BYTES);
    pthread_mutex_init(&rb.lock, NULL);
    pthread_cond_init(&rb.changed, NULL);
    pthread_t reader;
    pthread_create(&reader, NULL, rebuild_reader, &rb);
    uint64_t done = 0, flushed = 0;
    int rc = 0;
    for (;;) {
        pthread_mutex_lock(&rb.lock);
        while (rb.consumed == rb.produced && !rb.done)
            pthread_cond_wait(&rb.changed, &rb.lock);
        bool have = rb.consumed < rb.produced;
        pthread_mutex_unlock(&rb.lock);
        if (!have)
            break;
        size_t slot = rb.consumed % BLOCKS;
        if (write_all(fd, rb.block[slot], rb.used[slot], what, err) != 0) {
            rc = -1;
            break;
        }
        done += rb.used[slot];
        start_writeback(fd, &flushed, done);
        progress_update(p, done, m->image_size);
        pthread_mutex_lock(&rb.lock);
        rb.consumed++;
        pthread_cond_broadcast(&rb.changed);
        pthread_mutex_unlock(&rb.lock);
    }
    pthread_mutex_lock(&rb.lock);
    rb.cancel = true;
    pthread_cond_broadcast(&rb.changed);
    pthread_mutex_unlock(&rb.lock);
    pthread_join(reader, NULL);
    if (rc == 0 && rb.failed) {
        *err = rb.err;
        rc = -1;
    }
    for (int i = 0; i < BLOCKS; i++)
        free(rb.block[i]);
    pthread_mutex_destroy(&rb.lock);
    pthread_cond_destroy(&rb.changed);
    if (rc != 0) {
        uk_error_prefix(err, "backup '%s': ", m->id);
        return -1;
    }
    if (done != m->image_size)
        return uk_error_set(err, UK_E_CORRUPT, 0, "backup '%s': rebuilt %llu bytes, expected %llu",
                            m->id, (unsigned long long)done, (unsigned long long)m->image_size);
    if (fsync(fd) != 0)
        return uk_error_set(err, errno == ENOSPC ? UK_E_NOSPACE : UK_E_IO, errno,
                            "unable to sync '%s'", what);
    return 0;
}

/* Keeps path under a second name, path.before-restore-STAMP (a hard link: path stays), and
 * moves its companions (-wal, -shm) there. */
static int keep_aside(const char *driver, const char *path, char *aside, size_t len, UkError *err)
{
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    snprintf(aside, len, "%s.before-restore-%s", path, stamp);
    for (int n = 2; path_exists(aside) && n < 100; n++) /* two restores in one second */
        snprintf(aside, len, "%s.before-restore-%s-%d", path, stamp, n);
    if (path_exists(aside))
        return uk_error_set(err, UK_E_EXISTS, 0, "'%s' already exists", aside);
    if (link(path, aside) != 0)
        return uk_error_set(err, errno == EEXIST ? UK_E_EXISTS : UK_E_IO, errno,
                            "unable to keep '%s' aside as '%s'", path, aside);
    /* Then the companions: a crash in between leaves the old database at path with fewer
     * companions (they are beside its second name), never a companion (such as a WAL) beside
     * a database it does not belong to. */
    const char *const *companions = db_companion_suffixes(driver);
    for (size_t i = 0; companions[i]; i++) {
        char *from = xasprintf("%s%s", path, companions[i]);
        char *to = xasprintf("%s%s", aside, companions[i]);
        int rc = 0;
        if (path_exists(from) && rename(from, to) != 0)
            rc = uk_error_set(err, UK_E_IO, errno, "unable to move '%s' aside", from);
        free(from);
        free(to);
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* Removes DIR/.BASE.upkeep-restore-PID-* files (and companions) whose process is gone. */
static int remove_leftovers(const char *dir, const char *base, const char *const *suffixes)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    char *prefix = xasprintf(".%s.upkeep-restore-", base);
    size_t prefix_len = strlen(prefix);
    int removed = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, prefix, prefix_len) != 0)
            continue;
        char *end = NULL;
        long pid = strtol(e->d_name + prefix_len, &end, 10);
        if (end == e->d_name + prefix_len || *end != '-' || pid <= 0)
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue; /* still running (or not ours to judge) */
        char *path = xasprintf("%s/%s", dir, e->d_name);
        bool companion = false;
        for (size_t i = 0; suffixes && suffixes[i] && !companion; i++) {
            size_t n = strlen(e->d_name), k = strlen(suffixes[i]);
            companion = n > k && strcmp(e->d_name + n - k, suffixes[i]) == 0;
        }
        if (unlink(path) == 0 && !companion)
            removed++;
        free(path);
    }
    closedir(d);
    free(prefix);
    return removed;
}

static int feed_next(void *ctx, const unsigned char **data, size_t *len, UkError *err)
{
    BackupFeed *f = ctx;
    int rc = image_reader_next(f->reader, data, len, err);
    if (rc == 1) {
        f->done += *len;
        progress_update(f->progress, f->done, f->total);
    }
    return rc;
}

ImageSource task_feed_begin(BackupFeed *feed, Repo *repo, const Manifest *m, const char *label,
                            bool progress)
{
    *feed = (BackupFeed){.reader = image_reader_new(repo, m),
                         .progress = progress_new(label, progress),
                         .total = m->image_size};
    return (ImageSource){.ctx = feed, .next = feed_next};
}

void task_feed_end(BackupFeed *feed)
{
    progress_end(feed->progress);
    image_reader_free(feed->reader);
}

/* A server engine's backup, loaded into a new database by its driver straight from the
 * repository: every chunk is checked on the way, and the driver drops the database again
 * when anything fails. In place, it is loaded under a name of its own first and only then
 * swapped in, the old database renamed aside; if the swap fails, the old one stays as it was
 * and the loaded one is dropped. */
static int restore_to_server(const RestoreRequest *req, RestoreResult *res, double started,
                             UkError *err)
{
    Repo *repo = NULL;
    Manifest m = {0};
    if (task_load_backup(req->repository, req->id, req->database, &repo, &m, err) != 0)
        return -1;
    int rc = -1;
    if (!db_has_feature(m.driver, DB_FEAT_RESTORE_SERVER)) {
        uk_error_set(err, UK_E_USAGE, 0, "backup '%s' is a %s file: restore it with --to PATH",
                     m.id, m.driver);
        goto out;
    }
    /* Before loading anything: the swap at the end must be possible. */
    if (req->in_place && !db_has_feature(req->server->driver, DB_FEAT_SWAP_IN)) {
        uk_error_set(err, UK_E_USAGE, 0,
                     "database '%s': %s databases cannot be restored in place yet: restore "
                     "with --to-database NAME",
                     req->server->name, req->server->driver);
        goto out;
    }
    char label[200];
    snprintf(label, sizeof label, "restore %s", m.id);
    BackupFeed feed;
    ImageSource source = task_feed_begin(&feed, repo, &m, label, req->progress);
    char loading[64];
    snprintf(loading, sizeof loading, "upkeep_restore_%ld_%lld", (long)getpid(),
             (long long)time(NULL));
    const char *target = req->in_place ? loading : req->to_database;
    DbRestoreOnly only = {.tables = req->only_tables, .schemas = req->only_schemas};
    rc = db_restore_stream(req->server, target, &source, &only, err);
    task_feed_end(&feed);
    if (rc == 0 && req->in_place &&
        (rc = db_swap_in(req->server, loading, req->force, res->kept_aside, sizeof res->kept_aside,
                         err)) != 0) {
        UkError drop_err = {0};
        if (db_drop_database(req->server, loading, &drop_err) != 0)
            uk_error_suffix(err, "; the restored copy stays as '%s' (%s)", loading, drop_err.msg);
    }
    if (rc == 0) {
        snprintf(res->id, sizeof res->id, "%s", m.id);
        res->image_size = m.image_size;
        res->seconds = monotonic_seconds() - started;
        snprintf(res->check, sizeof res->check, "ok (loaded by the server)");
    }
out:
    manifest_clear(&m);
    repo_close(repo);
    return rc;
}

int task_restore(const RestoreRequest *req, RestoreResult *res, UkError *err)
{
    memset(res, 0, sizeof *res);
    double started = monotonic_seconds();
    if (req->to_database || (req->in_place && req->server &&
                             db_has_feature(req->server->driver, DB_FEAT_RESTORE_SERVER)))
        return restore_to_server(req, res, started, err);
    Repo *repo = NULL;
    Manifest m = {0};
    char *dir = NULL, *tmp = NULL;
    int fd = -1, rc = -1, cleanup_slot = -1;
    Progress *progress = NULL;
    if (!req->force && !req->in_place && path_exists(req->to_path))
        return uk_error_set(err, UK_E_EXISTS, 0, "'%s' already exists (use --force to replace it)",
                            req->to_path);
    if (task_load_backup(req->repository, req->id, req->database, &repo, &m, err) != 0)
        return -1;
    dir = path_dirname(req->to_path);
    char *base_copy = xstrdup(req->to_path);
    const char *base = basename(base_copy);
    res->leftovers_removed = remove_leftovers(dir, base, db_companion_suffixes(m.driver));
    tmp = xasprintf("%s/.%s.upkeep-restore-%ld-XXXXXX", dir, base, (long)getpid());
    free(base_copy);
    sigset_t saved;
    cleanup_hold(&saved);
    fd = mkstemp(tmp);
    if (fd >= 0)
        cleanup_slot = cleanup_register(tmp, db_companion_suffixes(m.driver));
    cleanup_release(&saved);
    if (fd < 0) {
        uk_error_set(err, errno == ENOSPC ? UK_E_NOSPACE : UK_E_IO, errno,
                     "unable to create a file in '%s'", dir);
        free(tmp);
        tmp = NULL;
        goto out;
    }
    char label[100];
    snprintf(label, sizeof label, "restore %s", m.id);
    progress = progress_new(label, req->progress);
    if (task_rebuild_image(repo, &m, fd, req->to_path, progress, err) != 0)
        goto out;
    /* The file that is replaced lends its owner, group and mode, so the application can
     * open the restored database as it opened the old one. */
    struct stat old;
    bool replacing = (req->force || req->in_place) && stat(req->to_path, &old) == 0;
    if (replacing && fchown(fd, old.st_uid, old.st_gid) != 0 && errno != EPERM) {
        uk_error_set(err, UK_E_IO, errno, "unable to give '%s' the owner of '%s'", tmp,
                     req->to_path);
        goto out;
    } /* EPERM: only root gives files away; a user's restore stays the user's */
    if (replacing && fchmod(fd, old.st_mode & 07777) != 0) {
        uk_error_set(err, UK_E_IO, errno, "unable to give '%s' the mode of '%s'", tmp,
                     req->to_path);
        goto out;
    }
    close(fd);
    fd = -1;
    if (!req->no_check) {
        if (db_check_image(m.driver, tmp, DB_CHECK_QUICK, res->check, sizeof res->check, err) != 0)
            goto out;
        if (!db_check_passed(res->check)) {
            uk_error_set(err, UK_E_CORRUPT, 0,
                         "backup '%s': the restored database fails its check (%s); nothing was "
                         "written at '%s'",
                         m.id, res->check, req->to_path);
            goto out;
        }
    }
    if (req->in_place && path_exists(req->to_path) &&
        keep_aside(m.driver, req->to_path, res->kept_aside, sizeof res->kept_aside, err) != 0)
        goto out;
    cleanup_crash_point("restore-swap");
    if (req->force || req->in_place) {
        if (rename(tmp, req->to_path) != 0) {
            uk_error_set(err, UK_E_IO, errno, "unable to move the restored file to '%s'",
                         req->to_path);
            goto out;
        }
    } else {
        /* link() refuses to replace a file that appeared meanwhile. */
        if (link(tmp, req->to_path) != 0) {
            uk_error_set(err, errno == EEXIST ? UK_E_EXISTS : UK_E_IO, errno,
                         "unable to create '%s'", req->to_path);
            goto out;
        }
        unlink(tmp);
    }
    free(tmp);
    tmp = NULL;
    if (fsync_dir(dir, err) != 0)
        goto out;
    snprintf(res->id, sizeof res->id, "%s", m.id);
    res->image_size = m.image_size;
    res->seconds = monotonic_seconds() - started;
    rc = 0;
out:
    progress_end(progress);
    if (fd >= 0)
        close(fd);
    if (tmp) {
        unlink(tmp);
        free(tmp);
    }
    cleanup_unregister(cleanup_slot);
    free(dir);
    manifest_clear(&m);
    repo_close(repo);
    return rc;
}
