/* See tree_walk.h. Folders are read whole and sorted by name, which is tree order, and the
 * entries go out depth first, so the tree part is sorted without ever sorting it. */
#include "tree/tree_walk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "core/log.h"

#define READ_BLOCK (1024 * 1024)
#define READ_ATTEMPTS 3

/* Hard links: the first name seen of each inode that has several. */
typedef struct LinkSeen {
    dev_t dev;
    ino_t ino;
    char *path; /* tree path */
} LinkSeen;

typedef struct Walk {
    TreeWriter *t;
    const TreeWalkOptions *o;
    TreeReader *parent;  /* NULL once it ends or fails */
    const TreeEntry *at; /* the parent's current entry */
    TreeWalkStats *s;
    unsigned char *buf;
    LinkSeen *links;
    size_t n_links, links_cap; /* open addressing, cap a power of two */
} Walk;

static size_t link_slot(const Walk *wk, dev_t dev, ino_t ino)
{
    uint64_t h = ((uint64_t)dev * 0x9e3779b97f4a7c15u) ^ ((uint64_t)ino * 0xc2b2ae3d27d4eb4fu);
    size_t i = (size_t)(h ^ h >> 29) & (wk->links_cap - 1);
    while (wk->links[i].path && (wk->links[i].dev != dev || wk->links[i].ino != ino))
        i = (i + 1) & (wk->links_cap - 1);
    return i;
}

/* The first name of DEV:INO, or NULL after remembering PATH as it. */
static const char *link_first(Walk *wk, dev_t dev, ino_t ino, const char *path)
{
    if (2 * (wk->n_links + 1) > wk->links_cap) {
        LinkSeen *old = wk->links;
        size_t old_cap = wk->links_cap;
        wk->links_cap = old_cap ? old_cap * 2 : 64;
        wk->links = xcalloc(wk->links_cap, sizeof *wk->links);
        for (size_t i = 0; i < old_cap; i++)
            if (old[i].path)
                wk->links[link_slot(wk, old[i].dev, old[i].ino)] = old[i];
        free(old);
    }
    size_t i = link_slot(wk, dev, ino);
    if (wk->links[i].path)
        return wk->links[i].path;
    wk->links[i] = (LinkSeen){dev, ino, xstrdup(path)};
    wk->n_links++;
    return NULL;
}

bool tree_walk_excluded(char **excludes, size_t n, const char *abs_path, bool is_dir)
{
    const char *name = strrchr(abs_path, '/');
    name = name ? name + 1 : abs_path;
    for (size_t i = 0; i < n; i++) {
        char *pattern = xstrdup(excludes[i]);
        size_t len = strlen(pattern);
        bool dirs_only = len > 1 && pattern[len - 1] == '/';
        if (dirs_only)
            pattern[--len] = '\0';
        bool hit = false;
        if (dirs_only && !is_dir) {
            hit = false;
        } else if (pattern[0] == '/') {
            hit = fnmatch(pattern, abs_path, FNM_PATHNAME | FNM_PERIOD) == 0;
        } else if (strchr(pattern, '/')) { /* the path's last components */
            for (const char *p = abs_path; p && !hit; p = strchr(p + 1, '/'))
                hit = fnmatch(pattern, p + 1, FNM_PATHNAME | FNM_PERIOD) == 0;
        } else {
            hit = fnmatch(pattern, name, 0) == 0;
        }
        free(pattern);
        if (hit)
            return true;
    }
    return false;
}

const char *tree_walk_path_problem(const char *path)
{
    if (path[0] != '/')
        return "is not an absolute path";
    if (strcmp(path, "/") == 0)
        return "is the whole file system";
    for (const char *p = path; (p = strstr(p, "..")); p += 2)
        if (p[-1] == '/' && (p[2] == '/' || p[2] == '\0'))
            return "contains '..'";
    return NULL;
}

static void entry_from_stat(TreeEntry *e, const char *tree_path, const struct stat *st)
{
    e->path = (char *)tree_path;
    e->mode = st->st_mode & 07777;
    e->uid = st->st_uid;
    e->gid = st->st_gid;
    e->mtime_sec = st->st_mtim.tv_sec;
    e->mtime_nsec = st->st_mtim.tv_nsec;
    e->ino = st->st_ino;
    e->ctime_sec = st->st_ctim.tv_sec;
    e->ctime_nsec = st->st_ctim.tv_nsec;
}

/* The parent's entry for TREE_PATH, if it has one (both trees are in tree order, so the
 * parent only ever moves forward). A parent that cannot be read is let go: files are then
 * read, which is slower, never wrong. */
static const TreeEntry *parent_entry(Walk *wk, const char *tree_path)
{
    while (wk->parent && (!wk->at || tree_path_cmp(wk->at->path, tree_path) < 0)) {
        UkError err = {0};
        int got = tree_reader_next(wk->parent, &wk->at, &err);
        if (got != 1) {
            if (got < 0)
                log_warn("the last backup's file list cannot be read (%s): reading every file",
                         err.msg);
            wk->parent = NULL;
            wk->at = NULL;
        }
    }
    return wk->at && strcmp(wk->at->path, tree_path) == 0 ? wk->at : NULL;
}

/* A file the last backup holds as it is now: its chunks are taken again. 1 if so. */
static int reuse_unchanged(Walk *wk, const char *tree_path, const struct stat *st, UkError *err)
{
    const TreeEntry *p = parent_entry(wk, tree_path);
    if (!p || p->type != TREE_FILE || p->changed || p->size != (uint64_t)st->st_size ||
        p->mtime_sec != st->st_mtim.tv_sec || p->mtime_nsec != st->st_mtim.tv_nsec ||
        p->ctime_sec != st->st_ctim.tv_sec || p->ctime_nsec != st->st_ctim.tv_nsec ||
        p->ino != (uint64_t)st->st_ino)
        return 0;
    const unsigned char *ids;
    uint64_t n;
    UkError read_err = {0};
    if (tree_reader_file_ids(wk->parent, &ids, &n, &read_err) != 0) {
        log_warn("the last backup's file list cannot be read (%s): reading every file",
                 read_err.msg);
        wk->parent = NULL;
        wk->at = NULL;
        return 0;
    }
    TreeEntry e = {.size = (uint64_t)st->st_size};
    entry_from_stat(&e, tree_path, st);
    int got = tree_writer_file_known(wk->t, &e, ids, n, err);
    if (got == 1) {
        wk->s->unchanged++;
        wk->s->files++;
        wk->s->bytes += e.size;
        progress_update(wk->o->progress, wk->s->bytes, 0);
    }
    return got;
}

static bool same_state(const struct stat *a, const struct stat *b)
{
    return a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
           a->st_mtim.tv_nsec == b->st_mtim.tv_nsec && a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
           a->st_ctim.tv_nsec == b->st_ctim.tv_nsec && a->st_ino == b->st_ino;
}

/* O_NONBLOCK: a FIFO put in the file's place meanwhile must not hang the backup (it changes
 * nothing for a regular file's reads). */
static int open_file(const char *path)
{
    int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK;
    int fd = open(path, flags | O_NOATIME);
    if (fd < 0 && errno == EPERM) /* O_NOATIME is for the file's owner only */
        fd = open(path, flags);
    return fd;
}

/* Reads the file at PATH into the data part, again while it changes. 1: it vanished. */
static int backup_file(Walk *wk, const char *path, const char *tree_path, UkError *err)
{
    for (int attempt = 1;; attempt++) {
        int fd = open_file(path);
        if (fd < 0 && (errno == ENOENT || errno == ELOOP)) /* gone, or now a symlink */
            return 1;
        if (fd < 0)
            return uk_error_set(err, UK_E_IO, errno, "%s", path);
        struct stat before, after;
        int rc = fstat(fd, &before) != 0 ? uk_error_set(err, UK_E_IO, errno, "%s", path) : 0;
        if (rc == 0 && !S_ISREG(before.st_mode)) { /* replaced by something else meanwhile */
            close(fd);
            return 1;
        }
        if (rc == 0)
            rc = tree_writer_file_begin(wk->t, err);
        uint64_t total = 0;
        ssize_t n = 0;
        while (rc == 0 && (n = read(fd, wk->buf, READ_BLOCK)) > 0) {
            total += (uint64_t)n;
            rc = tree_writer_file_data(wk->t, wk->buf, (size_t)n, err);
            wk->s->bytes += (uint64_t)n;
            progress_update(wk->o->progress, wk->s->bytes, 0);
        }
        if (rc == 0 && n < 0)
            rc = uk_error_set(err, UK_E_IO, errno, "reading %s", path);
        if (rc == 0 && fstat(fd, &after) != 0)
            rc = uk_error_set(err, UK_E_IO, errno, "%s", path);
        close(fd);
        if (rc != 0)
            return -1;
        bool stable = same_state(&before, &after) && total == (uint64_t)after.st_size;
        if (!stable && attempt < READ_ATTEMPTS) {
            if (tree_writer_file_restart(wk->t, err) != 0)
                return -1;
            if (attempt == 1)
                wk->s->reread++;
            continue;
        }
        TreeEntry e = {0};
        entry_from_stat(&e, tree_path, &after);
        e.changed = !stable;
        if (!stable) {
            if (wk->s->changed++ == 0)
                snprintf(wk->s->first_changed, sizeof wk->s->first_changed, "%s", path);
            log_warn("%s kept changing while it was read (%d times): stored as last read and "
                     "marked changed",
                     path, READ_ATTEMPTS);
        }
        wk->s->files++;
        return tree_writer_file_end(wk->t, &e, err);
    }
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int visit(Walk *wk, const char *path, const struct stat *st, bool root, UkError *err);

static int visit_folder(Walk *wk, const char *path, UkError *err)
{
    DIR *dir = opendir(path);
    if (!dir && errno == ENOENT)
        return 0;
    if (!dir)
        return uk_error_set(err, UK_E_IO, errno, "folder %s", path);
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *d;
    errno = 0;
    while ((d = readdir(dir))) {
        if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            names = xrealloc(names, cap * sizeof *names);
        }
        names[n++] = xstrdup(d->d_name);
    }
    int rc = errno ? uk_error_set(err, UK_E_IO, errno, "listing %s", path) : 0;
    closedir(dir);
    if (n > 1)
        qsort(names, n, sizeof *names, by_name);
    for (size_t i = 0; i < n && rc == 0; i++) {
        char *child = xasprintf("%s/%s", path, names[i]);
        struct stat st;
        if (lstat(child, &st) == 0)
            rc = visit(wk, child, &st, false, err);
        else if (errno != ENOENT)
            rc = uk_error_set(err, UK_E_IO, errno, "%s", child);
        free(child);
    }
    free_list(names, n);
    return rc;
}

static int visit(Walk *wk, const char *path, const struct stat *st, bool root, UkError *err)
{
    bool is_dir = S_ISDIR(st->st_mode);
    if (!root && tree_walk_excluded(wk->o->excludes, wk->o->n_excludes, path, is_dir))
        return 0;
    const char *tree_path = path + 1;
    TreeEntry e = {0};
    entry_from_stat(&e, tree_path, st);
    int rc = 0;
    if (is_dir) {
        e.type = TREE_DIR;
        rc = tree_writer_add(wk->t, &e, err);
        if (rc == 0)
            rc = visit_folder(wk, path, err);
    } else if (S_ISREG(st->st_mode)) {
        const char *first =
            st->st_nlink > 1 ? link_first(wk, st->st_dev, st->st_ino, tree_path) : NULL;
        if (first) {
            e.type = TREE_HARDLINK;
            e.target = (char *)first;
            rc = tree_writer_add(wk->t, &e, err);
        } else {
            int reused = reuse_unchanged(wk, tree_path, st, err);
            rc = reused < 0 ? -1 : reused == 1 ? 0 : backup_file(wk, path, tree_path, err);
            if (rc == 1) {
                wk->s->vanished++;
                return 0;
            }
        }
    } else if (S_ISLNK(st->st_mode)) {
        char target[4096];
        ssize_t n = readlink(path, target, sizeof target - 1);
        if (n < 0)
            return errno == ENOENT || errno == EINVAL
                       ? 0
                       : uk_error_set(err, UK_E_IO, errno, "%s", path);
        target[n] = '\0';
        e.type = TREE_SYMLINK;
        e.target = target;
        rc = tree_writer_add(wk->t, &e, err);
    } else if (S_ISFIFO(st->st_mode)) {
        e.type = TREE_FIFO;
        rc = tree_writer_add(wk->t, &e, err);
    } else {
        wk->s->skipped++;
        log_info("%s is a socket or device: not backed up", path);
        return 0;
    }
    if (rc == 0)
        wk->s->entries++;
    return rc;
}

/* "/srv//app/" as "/srv/app". Caller frees. */
static char *normalise(const char *path)
{
    char *out = xmalloc(strlen(path) + 1), *o = out;
    for (const char *p = path; *p; p++)
        if (*p != '/' || o == out || o[-1] != '/')
            *o++ = *p;
    while (o > out + 1 && o[-1] == '/')
        o--;
    *o = '\0';
    return out;
}

static int by_tree_order(const void *a, const void *b)
{
    return tree_path_cmp(*(char *const *)a + 1, *(char *const *)b + 1);
}

int tree_walk(TreeWriter *t, const TreeWalkOptions *o, TreeWalkStats *s, UkError *err)
{
    memset(s, 0, sizeof *s);
    Walk wk = {.t = t, .o = o, .s = s, .buf = xmalloc(READ_BLOCK), .parent = o->parent};
    char **roots = xcalloc(o->n_paths + 1, sizeof *roots);
    for (size_t i = 0; i < o->n_paths; i++)
        roots[i] = normalise(o->paths[i]);
    qsort(roots, o->n_paths, sizeof *roots, by_tree_order);
    int rc = 0;
    for (size_t i = 0; i < o->n_paths && rc == 0; i++) {
        const char *why = tree_walk_path_problem(roots[i]);
        if (why) {
            rc = uk_error_set(err, UK_E_CONFIG, 0, "path '%s' %s", roots[i], why);
            break;
        }
        bool inside = false; /* within a root before it: walked already */
        for (size_t k = 0; k < i && !inside; k++)
            inside = tree_path_within(roots[i] + 1, roots[k] + 1);
        if (inside)
            continue;
        struct stat st;
        if (lstat(roots[i], &st) != 0)
            rc = uk_error_set(err, errno == ENOENT ? UK_E_NOTFOUND : UK_E_IO, errno, "path %s",
                              roots[i]);
        else
            rc = visit(&wk, roots[i], &st, true, err);
    }
    free_list(roots, o->n_paths);
    for (size_t i = 0; i < wk.links_cap; i++)
        free(wk.links[i].path);
    free(wk.links);
    free(wk.buf);
    return rc;
}
