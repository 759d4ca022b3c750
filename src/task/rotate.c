/* Rotate: log files matched by globs are renamed aside (numbered app.log.1, app.log.2 … or
 * dated app.log-20261122) and a fresh file is created with the old owner and mode, or those
 * create names (mode = create; post_command then tells the application to reopen), or copied aside
 * and truncated (mode = copytruncate, for applications that cannot reopen: lines written between
 * the copy and the truncation are lost). Rotated files are compressed (gzip or zstd, the
 * newest one left as is with delay_compress), and the oldest removed beyond keep, max_age and
 * max_total. Same results as logrotate for the same settings (a test compares them).
 *
 * Every step is a rename, or a write to a temporary name that is synced and renamed: after a
 * crash each log is complete under its old or its new name. Logs are found beneath the
 * folder each pattern names before its first wildcard, resolved from that folder's
 * descriptor without following a symlink (common/safe_path.c), and every step acts on names
 * relative to the log's folder descriptor: a folder swapped for a symlink meanwhile leads
 * nowhere. The rotated copies are found
 * from the files themselves; the state database only remembers when each log was last
 * rotated (for interval), and a log without that record is due. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/file_owner.h"
#include "common/safe_path.h"
#include "common/spawn.h"
#include "common/util.h"
#include "filter/compress_file.h"
#include "task/maintenance.h"

/* The folder of the logs being rotated: its descriptor, and its path for messages. */
typedef struct LogDir {
    int fd;
    const char *path;
} LogDir;

typedef struct Rotated {
    char *path;  /* name in the LogDir */
    long number; /* numbered naming: N of .N; dated: 0 */
    char *stamp; /* dated naming: the date part */
    bool compressed;
    uint64_t bytes;
    time_t mtime;
} Rotated;

static bool numbered(const ConfigJob *job)
{
    return strcmp(job->naming, "numbered") == 0;
}

static bool compressing(const ConfigJob *job)
{
    return strcmp(job->compress, "none") != 0;
}

static void add_rotated(Rotated **out, size_t *n, char *path, long number, const char *stamp,
                        bool compressed, const struct stat *st)
{
    *out = xrealloc(*out, (*n + 1) * sizeof **out);
    (*out)[(*n)++] = (Rotated){.path = path,
                               .number = number,
                               .stamp = xstrdup(stamp),
                               .compressed = compressed,
                               .bytes = (uint64_t)st->st_size,
                               .mtime = st->st_mtim.tv_sec};
}

/* Numbered copies are found by name, not by listing the folder (which holds every other log
 * too): LOG.N, LOG.N.gz, LOG.N.zst while they continue. One missing number is passed over:
 * an interrupted shift leaves at most one gap, and older copies lie behind it. Newest
 * first. */
static size_t probe_numbered(const LogDir *d, const char *log, Rotated **out)
{
    *out = NULL;
    size_t n = 0;
    static const char *const suffixes[] = {"", ".gz", ".zst"};
    int missing = 0;
    for (long number = 1; missing < 2; number++) {
        bool found = false;
        for (size_t k = 0; k < 3 && !found; k++) {
            char *path = xasprintf("%s.%ld%s", log, number, suffixes[k]);
            struct stat st;
            if (fstatat(d->fd, path, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)) {
                add_rotated(out, &n, path, number, "", k > 0, &st);
                found = true;
            } else {
                free(path);
            }
        }
        missing = found ? 0 : missing + 1;
    }
    return n;
}

/* The rotated copies of LOG, newest first. */
static size_t list_rotated(const ConfigJob *job, const LogDir *ld, const char *log, Rotated **out)
{
    if (numbered(job))
        return probe_numbered(ld, log, out);
    *out = NULL;
    size_t n = 0;
    const char *base = log;
    size_t base_len = strlen(base);
    int fd = dup(ld->fd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d && fd >= 0)
        close(fd);
    if (d)
        rewinddir(d);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        const char *name = e->d_name;
        if (strncmp(name, base, base_len) != 0 || strstr(name, ".upkeep-tmp"))
            continue;
        const char *rest = name + base_len;
        char tail[256];
        snprintf(tail, sizeof tail, "%s", rest);
        bool compressed = false;
        for (const char *sfx = ".gz"; sfx; sfx = strcmp(sfx, ".gz") == 0 ? ".zst" : NULL) {
            size_t tl = strlen(tail), sl = strlen(sfx);
            if (tl > sl && strcmp(tail + tl - sl, sfx) == 0) {
                tail[tl - sl] = '\0';
                compressed = true;
                break;
            }
        }
        /* Dated: the tail must read back through date_format. */
        struct tm tm = {0};
        const char *left = strptime(tail, job->date_format, &tm);
        if (!left || *left || !tail[0])
            continue;
        struct stat st;
        if (fstatat(ld->fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
            continue;
        add_rotated(out, &n, xstrdup(name), 0, tail, compressed, &st);
    }
    if (d)
        closedir(d);
    /* Newest first: lowest number, or latest date string (date formats sort as dates). */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0; j--) {
            bool swap = numbered(job) ? (*out)[j].number < (*out)[j - 1].number
                                      : strcmp((*out)[j].stamp, (*out)[j - 1].stamp) > 0;
            if (!swap)
                break;
            Rotated t = (*out)[j];
            (*out)[j] = (*out)[j - 1];
            (*out)[j - 1] = t;
        }
    return n;
}

static void free_rotated(Rotated *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(r[i].path);
        free(r[i].stamp);
    }
    free(r);
}

static int copy_file(const LogDir *d, const char *from, const char *to, mode_t mode, UkError *err)
{
    char *tmp = xasprintf("%s.upkeep-tmp", to);
    int in = openat(d->fd, from, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), out = -1, rc = -1;
    if (in < 0 || (out = openat(d->fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
                                mode)) < 0) {
        uk_error_set(err, errno == ENOSPC ? UK_E_NOSPACE : UK_E_IO, errno, "unable to copy '%s'",
                     from);
        goto out;
    }
    char buf[65536];
    ssize_t n;
    rc = 0;
    while (rc == 0 && (n = read(in, buf, sizeof buf)) > 0)
        rc = write_all(out, buf, (size_t)n, to, err);
    if (rc == 0 && fsync(out) != 0)
        rc = uk_error_set(err, errno == ENOSPC ? UK_E_NOSPACE : UK_E_IO, errno,
                          "unable to write '%s'", tmp);
    if (rc == 0 && renameat(d->fd, tmp, d->fd, to) != 0)
        rc = uk_error_set(err, UK_E_IO, errno, "unable to rename '%s'", tmp);
out:
    if (rc != 0)
        unlinkat(d->fd, tmp, 0);
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    free(tmp);
    return rc;
}

/* Removes rotated copies beyond keep, older than max_age, or beyond max_total. */
static void trim(const ConfigJob *job, const LogDir *d, Rotated *r, size_t n, RotateResult *res)
{
    time_t now = time(NULL);
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        total += r[i].bytes;
        bool beyond_keep = (long)i >= job->keep;
        bool too_old = job->max_age && r[i].mtime < now - (time_t)job->max_age;
        bool too_much = job->max_total && total > job->max_total && i > 0;
        if ((beyond_keep || too_old || too_much) && unlinkat(d->fd, r[i].path, 0) == 0) {
            res->files_removed++;
            res->bytes_removed += r[i].bytes;
            total -= r[i].bytes;
        }
    }
}

/* Makes the log that replaces LOG: first under a hidden name, given its owner and mode (CREATE,
 * else the old log's ST), then put in place unless the application has made one meanwhile.
 * The old log is renamed to TARGET between the two, so a failure to give the new one away
 * leaves everything as it was. */
static int replace_log(const LogDir *d, const char *log, const char *target, const struct stat *st,
                       const FileOwner *create, UkError *err)
{
    char *fresh = xasprintf(".%s.upkeep-new", log);
    unlinkat(d->fd, fresh, 0); /* left by an interrupted run */
    int rc = -1,
        fd = openat(d->fd, fresh, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        uk_error_set(err, UK_E_IO, errno, "unable to create a new '%s/%s'", d->path, log);
        goto out;
    }
    if ((create->has_uid || create->has_gid) &&
        fchown(fd, create->has_uid ? create->uid : (uid_t)-1,
               create->has_gid ? create->gid : (gid_t)-1) != 0) {
        uk_error_set(err, UK_E_IO, errno,
                     "unable to give the new '%s/%s' the owner create asks for", d->path, log);
        goto out;
    }
    /* The old log's owner where create says nothing: only root can give a file away, and a
     * run as someone else keeps its own. */
    if (fchown(fd, create->has_uid ? (uid_t)-1 : st->st_uid,
               create->has_gid ? (gid_t)-1 : st->st_gid) != 0) {
    }
    /* After the owner: chown clears set-id bits. */
    if (fchmod(fd, create->has_mode ? create->mode : st->st_mode & 07777) != 0) {
        uk_error_set(err, UK_E_IO, errno, "unable to set the mode of the new '%s/%s'", d->path,
                     log);
        goto out;
    }
    if (renameat(d->fd, log, d->fd, target) != 0) {
        uk_error_set(err, UK_E_IO, errno, "unable to rename '%s/%s'", d->path, log);
        goto out;
    }
    /* A filesystem without RENAME_NOREPLACE: the name is checked, then taken. */
    int moved = renameat2(d->fd, fresh, d->fd, log, RENAME_NOREPLACE);
    if (moved != 0 && errno == EINVAL && faccessat(d->fd, log, F_OK, AT_SYMLINK_NOFOLLOW) != 0)
        moved = renameat(d->fd, fresh, d->fd, log);
    if (moved != 0 && errno != EEXIST && errno != EINVAL) {
        uk_error_set(err, UK_E_IO, errno, "unable to create a new '%s/%s'", d->path, log);
        goto out;
    }
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    unlinkat(d->fd, fresh, 0); /* gone once renamed; else not wanted */
    free(fresh);
    return rc;
}

/* Rotates LOG, a name in the folder D. */
static int rotate_one(const ConfigJob *job, const LogDir *d, const char *log, const struct stat *st,
                      const FileOwner *create, RotateResult *res, UkError *err)
{
    char *target = NULL;
    Rotated *r = NULL;
    size_t n = list_rotated(job, d, log, &r);
    int rc = -1;
    if (numbered(job)) {
        /* Shift the existing copies up, oldest first; each rename is atomic. */
        for (size_t i = n; i-- > 0;) {
            char *to = xasprintf("%s.%ld%s", log, r[i].number + 1,
                                 r[i].compressed ? strrchr(r[i].path, '.') : "");
            if (renameat(d->fd, r[i].path, d->fd, to) != 0) {
                uk_error_set(err, UK_E_IO, errno, "unable to rename '%s/%s'", d->path, r[i].path);
                free(to);
                goto out;
            }
            free(r[i].path);
            r[i].path = to;
            r[i].number++;
        }
        target = xasprintf("%s.1", log);
    } else {
        char stamp[128];
        time_t now = time(NULL);
        struct tm tm;
        localtime_r(&now, &tm);
        strftime(stamp, sizeof stamp, job->date_format, &tm);
        target = xasprintf("%s%s", log, stamp);
        char *compressed = xasprintf("%s%s", target, compress_file_suffix(job->compress));
        struct stat seen;
        bool taken = fstatat(d->fd, target, &seen, AT_SYMLINK_NOFOLLOW) == 0 ||
                     fstatat(d->fd, compressed, &seen, AT_SYMLINK_NOFOLLOW) == 0;
        free(compressed);
        if (taken) { /* rotated already in this period (as logrotate, no second copy) */
            res->files_skipped++;
            rc = 0;
            goto out;
        }
    }
    if (strcmp(job->rotate_mode, "copytruncate") == 0) {
        int fd = -1;
        if (copy_file(d, log, target, st->st_mode & 07777, err) != 0 ||
            (fd = openat(d->fd, log, O_WRONLY | O_CLOEXEC | O_NOFOLLOW)) < 0 ||
            ftruncate(fd, 0) != 0) {
            if (!err->code)
                uk_error_set(err, UK_E_IO, errno, "unable to truncate '%s/%s'", d->path, log);
            if (fd >= 0)
                close(fd);
            goto out;
        }
        close(fd);
    } else if (replace_log(d, log, target, st, create, err) != 0) {
        goto out;
    }
    res->files_rotated++;
    res->bytes_rotated += (uint64_t)st->st_size;
    /* The list, kept up to date instead of read again: the new copy comes first. */
    struct stat copy;
    if (fstatat(d->fd, target, &copy, AT_SYMLINK_NOFOLLOW) == 0) {
        r = xrealloc(r, (n + 1) * sizeof *r);
        memmove(r + 1, r, n * sizeof *r);
        r[0] = (Rotated){.path = xstrdup(target),
                         .number = 1,
                         .stamp = xstrdup(""),
                         .bytes = (uint64_t)copy.st_size,
                         .mtime = copy.st_mtim.tv_sec};
        n++;
    }
    /* Compress the new copy, or with delay_compress the one before it. */
    for (size_t i = job->delay_compress ? 1 : 0; compressing(job) && i < n && i < 2; i++) {
        if (r[i].compressed)
            continue;
        if (compress_file(d->fd, r[i].path, job->compress, err) != 0) {
            uk_error_prefix(err, "'%s': ", d->path);
            goto out;
        }
        res->files_compressed++;
        char *packed = xasprintf("%s%s", r[i].path, compress_file_suffix(job->compress));
        free(r[i].path);
        r[i].path = packed;
        r[i].compressed = true;
        if (fstatat(d->fd, packed, &copy, AT_SYMLINK_NOFOLLOW) == 0)
            r[i].bytes = (uint64_t)copy.st_size;
    }
    trim(job, d, r, n, res);
    rc = 0;
out:
    free_rotated(r, n);
    free(target);
    return rc;
}

static int run_post_command(const ConfigJob *job, UkError *err)
{
    size_t n = 0;
    char **words = split_words(job->post_command, &n);
    char *what = xasprintf("post_command '%s'", job->post_command);
    /* An application that does not reopen within a minute is not going to. */
    int rc = n ? child_run((const char *const *)words, NULL, 60, what, err) : 0;
    free(what);
    free_list(words, n);
    return rc;
}

/* Whether LOG is due: size rotates by size alone; max_size as soon as the log is that big;
 * otherwise when its interval has passed (and it is at least min_size). A log with no
 * record (a first run, or a state database that was replaced) is due: losing the record
 * never stops rotation. */
static const char *not_due(const ConfigJob *job, State *st, const char *log, uint64_t size)
{
    if (job->size_trigger)
        return size >= job->size_trigger ? NULL : "smaller than size";
    if (job->max_size && size >= job->max_size)
        return NULL;
    time_t last = 0;
    UkError err = {0};
    if (job->interval && st && state_rotation_get(st, log, &last, &err) == 1 &&
        difftime(time(NULL), last) < (double)job->interval)
        return "rotated within its interval";
    if (job->min_size && size < job->min_size)
        return "smaller than min_size";
    return NULL;
}

/* One log a pattern found: its folder, open, and the folder's path; its name there. */
typedef struct Found {
    LogDir dir;
    char *name;
} Found;

/* DIR/NAME, or NAME when DIR is "" (the current folder). Caller frees. */
static char *join_name(const char *dir, const char *name)
{
    return *dir ? xasprintf("%s%s%s", dir, strcmp(dir, "/") == 0 ? "" : "/", name) : xstrdup(name);
}

static bool has_wildcard(const char *s)
{
    return strpbrk(s, "*?[") != NULL;
}

static void add_found(Found **out, size_t *n, int fd, const char *dir, const char *name)
{
    int copy = dup(fd);
    if (copy < 0)
        return;
    *out = xrealloc(*out, (*n + 1) * sizeof **out);
    (*out)[(*n)++] = (Found){.dir = {.fd = copy, .path = xstrdup(dir)}, .name = xstrdup(name)};
}

/* Every regular file that components PARTS[k..n) match below the folder open at FD (known as
 * DIR), as glob(3) would match them (a leading dot only explicitly), except that no symlink
 * is followed on the way or at the end. */
static void match(int fd, const char *dir, char **parts, size_t k, size_t n, Found **out,
                  size_t *n_out)
{
    bool last = k + 1 == n;
    if (!has_wildcard(parts[k])) {
        struct stat st;
        if (last) {
            if (fstatat(fd, parts[k], &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
                add_found(out, n_out, fd, dir, parts[k]);
            return;
        }
        int sub = openat(fd, parts[k], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub >= 0) {
            char *path = join_name(dir, parts[k]);
            match(sub, path, parts, k + 1, n, out, n_out);
            free(path);
            close(sub);
        }
        return;
    }
    int listing = dup(fd);
    DIR *d = listing >= 0 ? fdopendir(listing) : NULL;
    if (!d) {
        if (listing >= 0)
            close(listing);
        return;
    }
    rewinddir(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
            fnmatch(parts[k], e->d_name, FNM_PERIOD) != 0)
            continue;
        struct stat st;
        if (fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue;
        if (last && S_ISREG(st.st_mode)) {
            add_found(out, n_out, fd, dir, e->d_name);
        } else if (!last && S_ISDIR(st.st_mode)) {
            int sub = openat(fd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub >= 0) {
                char *path = join_name(dir, e->d_name);
                match(sub, path, parts, k + 1, n, out, n_out);
                free(path);
                close(sub);
            }
        }
    }
    closedir(d);
}

static int compare_found(const void *a, const void *b)
{
    const Found *x = a, *y = b;
    int c = strcmp(x->dir.path, y->dir.path);
    return c ? c : strcmp(x->name, y->name);
}

/* The logs PATTERN (absolute) names, sorted. The folder before its first wildcard is the
 * root everything else is resolved beneath. */
static size_t find_logs(const char *pattern, Found **out)
{
    *out = NULL;
    size_t n_out = 0, n_parts = 0;
    char **parts = NULL;
    char *copy = xstrdup(pattern), *save = NULL;
    for (char *p = strtok_r(copy, "/", &save); p; p = strtok_r(NULL, "/", &save)) {
        parts = xrealloc(parts, (n_parts + 1) * sizeof *parts);
        parts[n_parts++] = p;
    }
    size_t literal = 0; /* folders before the first wildcard, and never the last part */
    while (literal + 1 < n_parts && !has_wildcard(parts[literal]))
        literal++;
    /* As the pattern spells it ("/var/log/app", "logs"), and "" for "/" or ".". */
    char *root_path = xstrdup("");
    for (size_t i = 0; i < literal; i++) {
        char *next = *root_path || pattern[0] == '/' ? xasprintf("%s/%s", root_path, parts[i])
                                                     : xstrdup(parts[i]);
        free(root_path);
        root_path = next;
    }
    if (!*root_path && pattern[0] == '/') {
        free(root_path);
        root_path = xstrdup("/");
    }
    const char *why, *open_path = *root_path ? root_path : ".";
    SafeRoot *root = n_parts ? safe_root_open(open_path, false, &why) : NULL;
    int fd = root ? safe_open_dir(root, "", false) : -1;
    if (fd >= 0) {
        match(fd, root_path, parts, literal, n_parts, out, &n_out);
        close(fd);
    }
    safe_root_close(root);
    if (n_out > 1)
        qsort(*out, n_out, sizeof **out, compare_found);
    free(root_path);
    free(parts);
    free(copy);
    return n_out;
}

int task_rotate(const ConfigJob *job, const char *config_dir, State *state, bool dry_run,
                RotateResult *res, UkError *err)
{
    memset(res, 0, sizeof *res);
    double started = monotonic_seconds();
    res->planned = json_array();
    /* Owner and group names are looked up before any log is touched. */
    FileOwner create = {0};
    if (job->rotate_create && file_owner_parse(job->rotate_create, true, &create, err) != 0) {
        char why[sizeof err->msg];
        snprintf(why, sizeof why, "%s", err->msg);
        return uk_error_set(err, UK_E_CONFIG, 0, "job '%s': create: %s", job->name, why);
    }
    size_t n_patterns = 0;
    char **patterns = split_list(job->files, &n_patterns);
    int rc = 0;
    for (size_t p = 0; p < n_patterns && rc == 0; p++) {
        char *full = path_join(config_dir, patterns[p]);
        Found *logs = NULL;
        size_t n_logs = find_logs(full, &logs);
        if (n_logs == 0 && !job->missing_ok)
            rc = uk_error_set(err, UK_E_NOTFOUND, 0, "job '%s': no file matches '%s'", job->name,
                              full);
        for (size_t i = 0; rc == 0 && i < n_logs; i++) {
            const LogDir *d = &logs[i].dir;
            char *log = join_name(d->path, logs[i].name);
            struct stat st;
            if (fstatat(d->fd, logs[i].name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
                !S_ISREG(st.st_mode)) {
                free(log);
                continue; /* symlinks and folders are never rotated */
            }
            res->files_seen++;
            const char *why = st.st_size == 0 && job->not_if_empty
                                  ? "empty"
                                  : not_due(job, state, log, (uint64_t)st.st_size);
            if (why) {
                res->files_skipped++;
            } else if (dry_run) {
                json_array_append_new(res->planned,
                                      json_pack("{s:s, s:I, s:s}", "path", log, "bytes",
                                                (json_int_t)st.st_size, "why",
                                                job->min_size || job->size_trigger
                                                    ? "at least its size limit"
                                                    : "scheduled"));
                res->files_rotated++;
                res->bytes_rotated += (uint64_t)st.st_size;
            } else {
                uint64_t rotated_before = res->files_rotated;
                rc = rotate_one(job, d, logs[i].name, &st, &create, res, err);
                UkError ignored = {0};
                if (rc == 0 && res->files_rotated > rotated_before && state)
                    state_rotation_set(state, log, time(NULL), &ignored);
            }
            free(log);
        }
        for (size_t i = 0; i < n_logs; i++) {
            close(logs[i].dir.fd);
            free((char *)logs[i].dir.path);
            free(logs[i].name);
        }
        free(logs);
        free(full);
    }
    free_list(patterns, n_patterns);
    if (rc == 0 && !dry_run && res->files_rotated > 0 && job->post_command &&
        strcmp(job->rotate_mode, "create") == 0)
        rc = run_post_command(job, err);
    res->seconds = monotonic_seconds() - started;
    return rc;
}
