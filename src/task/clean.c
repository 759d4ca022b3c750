/* Clean: delete or move files in a folder tree that match globs, are older (mtime) and
 * optionally larger than a limit, and optionally that no database row names (orphans).
 *
 * The walk opens every folder relative to its parent with O_NOFOLLOW, so it never follows a
 * symlink and never leaves the root, and acts on names relative to the folder's descriptor.
 * Right before deleting or moving, a file is examined again: if its inode, size or mtime
 * changed since the walk saw it (an upload still being written, a file replaced), it is
 * skipped. The root itself is never removed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/safe_path.h"
#include "common/util.h"
#include "db/row_store.h"
#include "task/maintenance.h"

#define MAX_PLANNED 1000 /* files listed one by one in a dry run's summary */

typedef struct Cleaner {
    const ConfigJob *job;
    bool dry_run;
    time_t cutoff; /* files modified before this qualify */
    char **globs;
    size_t n_globs;
    char **referenced; /* sorted paths named by unreferenced_by, normalised below the root */
    size_t n_referenced, referenced_cap;
    char **doubtful; /* sorted last components of names that could not be normalised */
    size_t n_doubtful, doubtful_cap;
    SafeRoot *root;
    SafeRoot *dest; /* move_to */
    CleanResult *res;
    json_t *planned;
} Cleaner;

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int add_reference(void *ctx, int64_t key, const char *v)
{
    (void)key;
    Cleaner *c = ctx;
    const char *why;
    char *rel = v ? safe_relative(c->root, v, &why) : NULL;
    if (rel) {
        if (c->n_referenced == c->referenced_cap) {
            c->referenced_cap = c->referenced_cap ? 2 * c->referenced_cap : 1024;
            c->referenced = xrealloc(c->referenced, c->referenced_cap * sizeof *c->referenced);
        }
        c->referenced[c->n_referenced++] = rel;
    } else if (v && safe_is_doubtful(why)) {
        /* "a/../x.pdf" may well name x.pdf: keep every file of that name. */
        const char *slash = strrchr(v, '/');
        if (c->n_doubtful == c->doubtful_cap) {
            c->doubtful_cap = c->doubtful_cap ? 2 * c->doubtful_cap : 16;
            c->doubtful = xrealloc(c->doubtful, c->doubtful_cap * sizeof *c->doubtful);
        }
        c->doubtful[c->n_doubtful++] = xstrdup(slash ? slash + 1 : v);
    }
    return 0;
}

/* Loads every value of TABLE.COLUMN, as paths relative to the root, sorted. */
static int load_references(Cleaner *c, UkError *err)
{
    const ConfigJob *job = c->job;
    char table[128], column[128];
    const char *dot = strchr(job->unreferenced_by, '.');
    snprintf(table, sizeof table, "%.*s", (int)(dot - job->unreferenced_by), job->unreferenced_by);
    snprintf(column, sizeof column, "%s", dot + 1);
    const RowStoreOps *ops = db_row_store(job->database, err);
    if (!ops)
        return -1;
    if (ops->scan_column(job->database, table, column, add_reference, c, err) != 0) {
        uk_error_prefix(err, "job '%s': unreferenced_by %s: ", job->name, job->unreferenced_by);
        return -1;
    }
    if (c->n_referenced > 1)
        qsort(c->referenced, c->n_referenced, sizeof *c->referenced, compare_strings);
    if (c->n_doubtful > 1)
        qsort(c->doubtful, c->n_doubtful, sizeof *c->doubtful, compare_strings);
    return 0;
}

static bool referenced(const Cleaner *c, const char *rel, const char *name)
{
    return (c->n_referenced > 0 && bsearch(&rel, c->referenced, c->n_referenced,
                                           sizeof *c->referenced, compare_strings)) ||
           (c->n_doubtful > 0 &&
            bsearch(&name, c->doubtful, c->n_doubtful, sizeof *c->doubtful, compare_strings));
}

static bool matches(const Cleaner *c, const char *name, const char *rel)
{
    for (size_t i = 0; i < c->n_globs; i++) {
        const char *glob = c->globs[i];
        const char *subject = strchr(glob, '/') ? rel : name;
        if (fnmatch(glob, subject, 0) == 0)
            return true;
    }
    return false;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Moves DIRFD/NAME to move_to/REL, creating folders beneath move_to without following a
 * symlink; never replaces an existing file. */
static int move_file(Cleaner *c, int dirfd, const char *name, const char *rel)
{
    const char *slash = strrchr(rel, '/');
    char *dest_dir = slash ? xasprintf("%.*s", (int)(slash - rel), rel) : xstrdup("");
    int dest_fd = safe_open_dir(c->dest, dest_dir, true);
    int rc = dest_fd < 0 ? -1 : renameat2(dirfd, name, dest_fd, name, RENAME_NOREPLACE);
    int saved = errno;
    if (dest_fd >= 0)
        close(dest_fd);
    free(dest_dir);
    errno = saved;
    return rc;
}

static void plan(Cleaner *c, const char *rel, uint64_t bytes, const char *why)
{
    if (json_array_size(c->planned) < MAX_PLANNED)
        json_array_append_new(c->planned, json_pack("{s:s, s:I, s:s}", "path", rel, "bytes",
                                                    (json_int_t)bytes, "why", why));
}

static void consider(Cleaner *c, int dirfd, const char *name, const char *rel,
                     const struct stat *seen)
{
    CleanResult *res = c->res;
    if (!S_ISREG(seen->st_mode) || !matches(c, name, rel))
        return;
    if (seen->st_mtim.tv_sec >= c->cutoff)
        return;
    if (c->job->larger_than && (uint64_t)seen->st_size <= c->job->larger_than)
        return;
    if (c->job->unreferenced_by && referenced(c, rel, name))
        return;
    res->files_matched++;
    char why[160];
    snprintf(why, sizeof why, "%s%s%s",
             age_is_set(&c->job->older_than) ? "older than the limit" : "matches",
             c->job->larger_than ? ", larger than the limit" : "",
             c->job->unreferenced_by ? ", no row names it" : "");
    bool move = strcmp(c->job->action, "move") == 0;
    if (c->dry_run) {
        plan(c, rel, (uint64_t)seen->st_size, why);
        if (move)
            res->files_moved++;
        else
            res->files_deleted++;
        res->bytes += (uint64_t)seen->st_size;
        return;
    }
    struct stat now;
    if (fstatat(dirfd, name, &now, AT_SYMLINK_NOFOLLOW) != 0 || !same_file(seen, &now)) {
        res->files_skipped++; /* it changed (or went) since the walk saw it */
        return;
    }
    int rc = move ? move_file(c, dirfd, name, rel) : unlinkat(dirfd, name, 0);
    if (rc != 0) {
        res->files_failed++;
        if (res->files_failed <= 5)
            fprintf(stderr, "upkeep: job '%s': could not %s '%s': %s\n", c->job->name,
                    move ? "move" : "delete", rel, strerror(errno));
        return;
    }
    if (move)
        res->files_moved++;
    else
        res->files_deleted++;
    res->bytes += (uint64_t)seen->st_size;
}

/* Walks the folder open at DIRFD (REL is its path below the root, "" for the root). Returns
 * whether the folder is empty afterwards. */
static bool walk(Cleaner *c, int dirfd, const char *rel, int depth)
{
    DIR *dir = fdopendir(dirfd);
    if (!dir) {
        close(dirfd);
        return false;
    }
    bool empty = true;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char *child_rel = *rel ? xasprintf("%s/%s", rel, e->d_name) : xstrdup(e->d_name);
        struct stat st;
        if (fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            free(child_rel);
            continue;
        }
        if (S_ISDIR(st.st_mode) && depth < 64) {
            c->res->dirs_scanned++;
            int sub = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            bool sub_empty = sub >= 0 && walk(c, sub, child_rel, depth + 1);
            if (sub_empty && c->job->remove_empty_dirs) {
                if (c->dry_run || unlinkat(dirfd, e->d_name, AT_REMOVEDIR) == 0) {
                    c->res->dirs_removed++;
                    free(child_rel);
                    continue;
                }
            }
            empty = false;
        } else {
            c->res->files_scanned++;
            uint64_t before = c->res->files_deleted + c->res->files_moved;
            consider(c, dirfd, e->d_name, child_rel, &st);
            if (c->res->files_deleted + c->res->files_moved == before || c->dry_run)
                empty = false;
        }
        free(child_rel);
    }
    closedir(dir);
    return empty;
}

int task_clean(const ConfigJob *job, bool dry_run, CleanResult *res, UkError *err)
{
    memset(res, 0, sizeof *res);
    double started = monotonic_seconds();
    Cleaner c = {.job = job, .dry_run = dry_run, .res = res, .planned = json_array()};
    c.cutoff = age_cutoff(&job->older_than, time(NULL));
    if (!age_is_set(&job->older_than))
        c.cutoff = time(NULL) + 1; /* no age limit */
    int rc = -1;
    const char *why;
    c.root = safe_root_open(job->path, false, &why);
    if (!c.root) {
        uk_error_set(err, UK_E_NOTFOUND, errno, "job '%s': folder '%s' does not exist", job->name,
                     job->path);
        goto out;
    }
    bool move = strcmp(job->action, "move") == 0;
    if (move && !dry_run && !(c.dest = safe_root_open(job->move_to, true, &why))) {
        uk_error_set(err, UK_E_IO, errno, "job '%s': move_to '%s': %s", job->name, job->move_to,
                     why);
        goto out;
    }
    c.globs = split_list(job->match, &c.n_globs);
    if (job->unreferenced_by && load_references(&c, err) != 0)
        goto out;
    res->references = c.n_referenced;
    int fd = safe_open_dir(c.root, "", false);
    if (fd < 0) {
        uk_error_set(err, UK_E_IO, errno, "job '%s': unable to open '%s'", job->name, job->path);
        goto out;
    }
    walk(&c, fd, "", 0); /* the root itself stays, empty or not */
    rc = 0;
out:
    res->planned = c.planned;
    res->seconds = monotonic_seconds() - started;
    free_list(c.globs, c.n_globs);
    for (size_t i = 0; i < c.n_referenced; i++)
        free(c.referenced[i]);
    free(c.referenced);
    free_list(c.doubtful, c.n_doubtful);
    safe_root_close(c.root);
    safe_root_close(c.dest);
    return rc;
}
