/* Storage driver for a local folder (file:// repositories).
 *
 * Every object is first written under tmp/ with a unique name, fsynced, then renamed (or, for
 * exclusive puts, hard-linked) into place and the target folder fsynced. A crash therefore
 * leaves at most stray files in tmp/, which prune removes; it never leaves a half-written
 * object under its real name. Exclusive puts hard-link the finished file to its name, which
 * fails when the name exists. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "repo/storage_driver.h"

typedef struct PosixStorage {
    char *root;
    /* Restore and verify read many frames from one pack in a row: keep it open. */
    char *read_path;
    int read_fd;
    bool have_tmp;
} PosixStorage;

typedef struct PosixWrite {
    PosixStorage *storage;
    char *tmp_path;
    char *final_path;
    bool exclusive;
    int fd;
    int cleanup_slot;
    uint64_t written, flushed;
} PosixWrite;

static int io_code(int e)
{
    return e == ENOSPC || e == EDQUOT ? UK_E_NOSPACE : UK_E_IO;
}

/* file:///absolute/dir, or file://relative/dir (to the config file's folder). */
static int posix_configure(ConfigRepository *cfg, const char *config_dir, UkError *err)
{
    const char *path = cfg->url + strlen("file://");
    if (!*path)
        return uk_error_set(err, UK_E_CONFIG, 0,
                            "unsupported url '%s' (expected file:///absolute/path)", cfg->url);
    free(cfg->path);
    cfg->path = path_join(config_dir, path);
    return 0;
}

/* The folder is made by the first write (a repository that does not exist yet is one
 * without a config object, as on any storage). */
static void *posix_open(const ConfigRepository *cfg, unsigned *features, UkError *err)
{
    (void)features;
    (void)err;
    PosixStorage *s = xcalloc(1, sizeof *s);
    s->root = xstrdup(cfg->path);
    s->read_fd = -1;
    return s;
}

static void *posix_clone(void *impl, UkError *err)
{
    (void)err;
    const PosixStorage *s = impl;
    PosixStorage *copy = xcalloc(1, sizeof *copy);
    copy->root = xstrdup(s->root);
    copy->read_fd = -1;
    return copy;
}

static int posix_exists(void *impl, const char *name, bool *exists, UkError *err)
{
    PosixStorage *s = impl;
    char *path = xasprintf("%s/%s", s->root, name);
    struct stat st;
    int rc = 0;
    if (lstat(path, &st) == 0)
        *exists = true;
    else if (errno != ENOENT && errno != ENOTDIR)
        rc = uk_error_set(err, UK_E_IO, errno, "unable to examine file '%s'", path);
    free(path);
    return rc;
}

/* tmp/ is where every object starts; made with the repository folder on the first write. */
static int ensure_tmp(PosixStorage *s, UkError *err)
{
    if (s->have_tmp)
        return 0;
    char *tmp = xasprintf("%s/tmp", s->root);
    int rc = mkdir_p(tmp, 0700, err);
    free(tmp);
    s->have_tmp = rc == 0;
    return rc;
}

static void posix_free(void *impl)
{
    PosixStorage *s = impl;
    if (s->read_fd >= 0)
        close(s->read_fd);
    free(s->read_path);
    free(s->root);
    free(s);
}

static void *posix_write_begin_opts(void *impl, const char *name, bool exclusive, UkError *err)
{
    PosixStorage *s = impl;
    if (ensure_tmp(s, err) != 0)
        return NULL;
    unsigned int nonce = (unsigned int)getpid() ^ (unsigned int)time(NULL) ^ (unsigned int)rand();
    PosixWrite *w = xcalloc(1, sizeof *w);
    w->storage = s;
    w->exclusive = exclusive;
    w->final_path = xasprintf("%s/%s", s->root, name);
    sigset_t saved;
    cleanup_hold(&saved);
    for (int attempt = 0; attempt < 100; attempt++) {
        free(w->tmp_path);
        w->tmp_path = xasprintf("%s/tmp/%d-%08x-%d", s->root, (int)getpid(), nonce, attempt);
        w->fd = open(w->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (w->fd >= 0 || errno != EEXIST)
            break;
    }
    if (w->fd >= 0)
        w->cleanup_slot = cleanup_register(w->tmp_path, NULL);
    cleanup_release(&saved);
    if (w->fd < 0) {
        uk_error_set(err, io_code(errno), errno, "unable to create file '%s'", w->tmp_path);
        free(w->tmp_path);
        free(w->final_path);
        free(w);
        return NULL;
    }
    return w;
}

static void *posix_write_begin(void *impl, const char *name, UkError *err)
{
    return posix_write_begin_opts(impl, name, false, err);
}

static int posix_write(void *writer, const void *data, size_t len, UkError *err)
{
    PosixWrite *w = writer;
    if (write_all(w->fd, data, len, w->tmp_path, err) != 0)
        return -1;
    w->written += len;
    start_writeback(w->fd, &w->flushed, w->written);
    return 0;
}

static void posix_write_abort(void *writer)
{
    PosixWrite *w = writer;
    if (!w)
        return;
    if (w->fd >= 0)
        close(w->fd);
    unlink(w->tmp_path);
    cleanup_unregister(w->cleanup_slot);
    free(w->tmp_path);
    free(w->final_path);
    free(w);
}

static int posix_write_commit(void *writer, UkError *err)
{
    PosixWrite *w = writer;
    int rc = -1;
    char *dir = path_dirname(w->final_path);
    if (fsync(w->fd) != 0) {
        uk_error_set(err, io_code(errno), errno, "unable to sync file '%s'", w->tmp_path);
        goto out;
    }
    if (close(w->fd) != 0) {
        w->fd = -1;
        uk_error_set(err, io_code(errno), errno, "unable to close file '%s'", w->tmp_path);
        goto out;
    }
    w->fd = -1;
    if (mkdir_p(dir, 0700, err) != 0)
        goto out;
    if (w->exclusive) {
        if (link(w->tmp_path, w->final_path) != 0) {
            uk_error_set(err, errno == EEXIST ? UK_E_EXISTS : io_code(errno), errno,
                         "unable to publish '%s'", w->final_path);
            goto out;
        }
    } else if (rename(w->tmp_path, w->final_path) != 0) {
        uk_error_set(err, io_code(errno), errno, "unable to publish '%s'", w->final_path);
        goto out;
    }
    rc = fsync_dir(dir, err);
out:
    free(dir);
    posix_write_abort(w); /* removes the temporary name (already renamed away on success) */
    return rc;
}

static int posix_put(void *impl, const char *name, const void *data, size_t len, bool exclusive,
                     UkError *err)
{
    PosixWrite *w = posix_write_begin_opts(impl, name, exclusive, err);
    if (!w)
        return -1;
    if (posix_write(w, data, len, err) != 0) {
        posix_write_abort(w);
        return -1;
    }
    return posix_write_commit(w, err);
}

static int posix_get(void *impl, const char *name, unsigned char **data, size_t *len, UkError *err)
{
    PosixStorage *s = impl;
    char *path = xasprintf("%s/%s", s->root, name);
    int rc = read_file_all(path, (size_t)1 << 34, data, len, err);
    free(path);
    return rc;
}

static int posix_read_range(void *impl, const char *name, uint64_t offset, size_t len, void *buf,
                            UkError *err)
{
    PosixStorage *s = impl;
    char *path = xasprintf("%s/%s", s->root, name);
    if (!s->read_path || strcmp(s->read_path, path) != 0) {
        if (s->read_fd >= 0)
            close(s->read_fd);
        free(s->read_path);
        s->read_path = NULL;
        s->read_fd = open(path, O_RDONLY | O_CLOEXEC);
        if (s->read_fd < 0) {
            uk_error_set(err, errno == ENOENT ? UK_E_NOTFOUND : UK_E_IO, errno,
                         "unable to open file '%s' for read", path);
            free(path);
            return -1;
        }
        s->read_path = path;
    } else {
        free(path);
    }
    size_t got = 0;
    while (got < len) {
        ssize_t n = pread(s->read_fd, (char *)buf + got, len - got, (off_t)(offset + got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return uk_error_set(err, UK_E_IO, errno, "unable to read file '%s'", s->read_path);
        if (n == 0)
            return uk_error_set(err, UK_E_CORRUPT, 0, "file '%s' is shorter than its index says",
                                s->read_path);
        got += (size_t)n;
    }
    return 0;
}

static int posix_size(void *impl, const char *name, uint64_t *size, UkError *err)
{
    PosixStorage *s = impl;
    char *path = xasprintf("%s/%s", s->root, name);
    struct stat st;
    int rc = 0;
    if (stat(path, &st) != 0)
        rc = uk_error_set(err, errno == ENOENT ? UK_E_NOTFOUND : UK_E_IO, errno,
                          "unable to examine file '%s'", path);
    else
        *size = (uint64_t)st.st_size;
    free(path);
    return rc;
}

static int posix_list(void *impl, const char *prefix, char ***names, size_t *n, UkError *err)
{
    PosixStorage *s = impl;
    *names = NULL;
    *n = 0;
    char *path = xasprintf("%s/%s", s->root, prefix);
    DIR *dir = opendir(path);
    if (!dir) {
        int e = errno;
        free(path);
        if (e == ENOENT)
            return 0;
        return uk_error_set(err, UK_E_IO, e, "unable to list folder '%s/%s'", s->root, prefix);
    }
    struct dirent *de;
    while ((de = readdir(dir)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        *names = xrealloc(*names, (*n + 1) * sizeof **names);
        (*names)[(*n)++] = xstrdup(de->d_name);
    }
    closedir(dir);
    free(path);
    return 0;
}

static int posix_remove(void *impl, const char *name, UkError *err)
{
    PosixStorage *s = impl;
    char *path = xasprintf("%s/%s", s->root, name);
    int rc = 0;
    if (unlink(path) != 0 && errno != ENOENT)
        rc = uk_error_set(err, UK_E_IO, errno, "unable to remove '%s'", path);
    if (rc == 0) {
        char *dir = path_dirname(path);
        rc = fsync_dir(dir, err);
        free(dir);
    }
    free(path);
    return rc;
}

static const char *const posix_schemes[] = {"file", NULL};

const StorageDriver storage_posix_driver = {
    .name = "file",
    .schemes = posix_schemes,
    .features = STORAGE_FEAT_EXCLUSIVE_PUT,
    .configure = posix_configure,
    .open = posix_open,
    .exists = posix_exists,
    .clone = posix_clone,
    .put = posix_put,
    .get = posix_get,
    .read_range = posix_read_range,
    .size = posix_size,
    .list = posix_list,
    .remove = posix_remove,
    .write_begin = posix_write_begin,
    .write = posix_write,
    .write_commit = posix_write_commit,
    .write_abort = posix_write_abort,
    .free = posix_free,
};
