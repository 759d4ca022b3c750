/* Disk: used and free space of each listed path's filesystem, the largest folders directly
 * below it, and the files larger than report_larger_than. The walk never follows symlinks
 * and never crosses into another filesystem (like du -x). */
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "common/util.h"
#include "task/maintenance.h"

#define TOP 10 /* largest folders listed per path */
#define MAX_BIG_FILES 100

typedef struct Walk {
    dev_t dev;
    uint64_t larger_than;
    json_t *big_files;
    uint64_t files;
} Walk;

/* Bytes under the folder open at DIRFD (allocated blocks, as du counts). */
static uint64_t usage(Walk *w, int dirfd, const char *path, int depth)
{
    DIR *dir = fdopendir(dirfd);
    if (!dir) {
        close(dirfd);
        return 0;
    }
    uint64_t total = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        struct stat st;
        if (fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || st.st_dev != w->dev)
            continue;
        total += (uint64_t)st.st_blocks * 512;
        if (S_ISDIR(st.st_mode) && depth < 128) {
            int sub = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub >= 0) {
                char *child = xasprintf("%s/%s", path, e->d_name);
                total += usage(w, sub, child, depth + 1);
                free(child);
            }
        } else if (S_ISREG(st.st_mode)) {
            w->files++;
            if (w->larger_than && (uint64_t)st.st_size > w->larger_than &&
                json_array_size(w->big_files) < MAX_BIG_FILES)
                json_array_append_new(w->big_files,
                                      json_pack("{s:s++, s:I}", "path", path, "/", e->d_name,
                                                "bytes", (json_int_t)st.st_size));
        }
    }
    closedir(dir);
    return total;
}

static int by_bytes_desc(const void *a, const void *b)
{
    json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "bytes"));
    json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "bytes"));
    return x < y ? 1 : x > y ? -1 : 0;
}

/* One path: its filesystem's figures, its largest child folders, its big files. */
static json_t *report_path(const ConfigJob *job, const char *path, DiskResult *res)
{
    struct statvfs vfs;
    struct stat st;
    if (statvfs(path, &vfs) != 0 || lstat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return json_pack("{s:s, s:s}", "path", path, "error", "not a readable folder");
    double total = (double)vfs.f_blocks * (double)vfs.f_frsize;
    double free_bytes = (double)vfs.f_bavail * (double)vfs.f_frsize;
    double used = total - (double)vfs.f_bfree * (double)vfs.f_frsize;
    Walk w = {.dev = st.st_dev, .larger_than = job->larger_than, .big_files = json_array()};
    json_t *children = json_array();
    uint64_t below = 0;
    DIR *dir = opendir(path);
    struct dirent *e;
    while (dir && (e = readdir(dir)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        struct stat cst;
        if (fstatat(dirfd(dir), e->d_name, &cst, AT_SYMLINK_NOFOLLOW) != 0 || cst.st_dev != w.dev)
            continue;
        char *child = xasprintf("%s/%s", path, e->d_name);
        uint64_t bytes = (uint64_t)cst.st_blocks * 512;
        if (S_ISDIR(cst.st_mode)) {
            int fd = openat(dirfd(dir), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (fd >= 0)
                bytes += usage(&w, fd, child, 1);
            json_array_append_new(
                children, json_pack("{s:s, s:I}", "path", child, "bytes", (json_int_t)bytes));
        } else if (S_ISREG(cst.st_mode)) {
            w.files++;
            if (w.larger_than && (uint64_t)cst.st_size > w.larger_than &&
                json_array_size(w.big_files) < MAX_BIG_FILES)
                json_array_append_new(w.big_files, json_pack("{s:s, s:I}", "path", child, "bytes",
                                                             (json_int_t)cst.st_size));
        }
        below += bytes;
        free(child);
    }
    if (dir)
        closedir(dir);
    /* Largest first; keep the top ones. */
    size_t n = json_array_size(children);
    json_t **items = xcalloc(n ? n : 1, sizeof *items);
    for (size_t i = 0; i < n; i++)
        items[i] = json_incref(json_array_get(children, i));
    qsort(items, n, sizeof *items, by_bytes_desc);
    json_t *top = json_array();
    for (size_t i = 0; i < n && i < TOP; i++)
        json_array_append(top, items[i]);
    for (size_t i = 0; i < n; i++)
        json_decref(items[i]);
    free(items);
    json_decref(children);
    res->big_files += json_array_size(w.big_files);
    res->files += w.files;
    return json_pack("{s:s, s:f, s:f, s:f, s:f, s:I, s:I, s:o, s:o}", "path", path, "total_bytes",
                     total, "used_bytes", used, "free_bytes", free_bytes, "used_percent",
                     total > 0 ? 100.0 * used / total : 0.0, "bytes_below", (json_int_t)below,
                     "files", (json_int_t)w.files, "largest_folders", top, "files_larger",
                     w.big_files);
}

int task_disk(const ConfigJob *job, const char *config_dir, DiskResult *res, UkError *err)
{
    memset(res, 0, sizeof *res);
    double started = monotonic_seconds();
    res->paths = json_array();
    size_t n = 0;
    char **paths = split_list(job->paths, &n);
    for (size_t i = 0; i < n; i++) {
        char *path = path_resolve(config_dir, paths[i]);
        json_t *one = report_path(job, path, res);
        if (json_object_get(one, "error"))
            res->unreadable++;
        json_array_append_new(res->paths, one);
        free(path);
    }
    free_list(paths, n);
    res->seconds = monotonic_seconds() - started;
    if (res->unreadable)
        return uk_error_set(err, UK_E_NOTFOUND, 0, "job '%s': %zu of the paths cannot be read",
                            job->name, res->unreadable);
    return 0;
}
