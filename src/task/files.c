/* A backup's files: restore them under a folder, list them, compare two backups' trees, and
 * read them all back for verify. Everything reads through a TreeReader, so every byte and
 * every entry is checked on the way.
 *
 * Restore never writes outside its folder: entry paths are checked when read (no "..", no
 * absolute path), folders are opened beneath the target without following symlinks
 * (common/safe_path.h), and each name is created relative to its folder's descriptor. A
 * file is written under a temporary name and renamed over its name once whole; a symlink
 * restored earlier is replaced, never followed. */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/crypto.h"
#include "common/safe_path.h"
#include "common/util.h"
#include "core/log.h"
#include "task/task_int.h"
#include "tree/tree_reader.h"

/* Is PATH (tree form, no leading '/') what one of the patterns names: the pattern (with or
 * without its leading '/') matches it or a folder it is in. */
static bool included(char **includes, size_t n, const char *path)
{
    if (n == 0)
        return true;
    char *abs = xasprintf("/%s", path);
    bool hit = false;
    for (size_t i = 0; i < n && !hit; i++) {
        const char *pattern = includes[i];
        char *want = pattern[0] == '/' ? xstrdup(pattern) : xasprintf("/%s", pattern);
        size_t len = strlen(want);
        while (len > 1 && want[len - 1] == '/')
            want[--len] = '\0';
        /* The path itself, then each folder above it. */
        for (char *end = abs + strlen(abs); end && !hit;) {
            char saved = *end;
            *end = '\0';
            hit = fnmatch(want, abs, FNM_PATHNAME) == 0;
            *end = saved;
            char *slash = NULL;
            for (char *p = abs + 1; p < end; p++)
                if (*p == '/')
                    slash = p;
            end = slash;
        }
        free(want);
    }
    free(abs);
    return hit;
}

/* Opens the folder holding PATH beneath ROOT (made as needed); *name gets the last part. */
static int open_parent(SafeRoot *root, const char *path, const char **name, UkError *err)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? xasprintf("%.*s", (int)(slash - path), path) : xstrdup("");
    *name = slash ? slash + 1 : path;
    int fd = safe_open_dir(root, dir, true);
    if (fd < 0)
        uk_error_set(err, UK_E_IO, errno, "folder /%s in the restore folder", dir);
    free(dir);
    return fd;
}

typedef struct FolderTimes {
    char *path;
    uint32_t mode, uid, gid;
    struct timespec mtime;
} FolderTimes;

typedef struct RestoreFiles {
    SafeRoot *root;
    const char *to; /* the folder root was opened from */
    uint64_t total; /* bytes the restore will write, when known (not with --include) */
    bool owners;    /* running as root: give files their owners back */
    FilesRestoreResult *res;
    FolderTimes *folders;
    size_t n_folders;
    Progress *progress;
} RestoreFiles;

static void set_owner_times(RestoreFiles *rf, int dirfd, const char *name, const TreeEntry *e)
{
    if (rf->owners && fchownat(dirfd, name, e->uid, e->gid, AT_SYMLINK_NOFOLLOW) != 0)
        log_warn("/%s: owner not restored: %s", e->path, strerror(errno));
    struct timespec times[2] = {{.tv_nsec = UTIME_OMIT},
                                {.tv_sec = e->mtime_sec, .tv_nsec = e->mtime_nsec}};
    utimensat(dirfd, name, times, AT_SYMLINK_NOFOLLOW);
}

/* Removes whatever NAME is, unless it is a folder (a folder stays, with what it holds). */
static int clear_name(int dirfd, const char *name, UkError *err)
{
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return 0;
    if (S_ISDIR(st.st_mode))
        return uk_error_set(err, UK_E_EXISTS, 0, "a folder is in the way");
    if (unlinkat(dirfd, name, 0) != 0)
        return uk_error_set(err, UK_E_IO, errno, "removing what is in the way");
    return 0;
}

static int restore_file(RestoreFiles *rf, TreeReader *tr, int dirfd, const char *name,
                        const TreeEntry *e, UkError *err)
{
    char tmp[64];
    unsigned char rnd[6];
    char hex[13];
    if (crypto_random(rnd, sizeof rnd, err) != 0)
        return -1;
    hex_encode(rnd, sizeof rnd, hex);
    snprintf(tmp, sizeof tmp, ".upkeep-restore-%s", hex);
    /* An interrupted restore leaves no half file: the temporary one goes on SIGINT/TERM. */
    char *tmp_path = xasprintf("%s/%.*s%s", rf->to, (int)(name - e->path), e->path, tmp);
    sigset_t saved;
    cleanup_hold(&saved);
    int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    int slot = fd >= 0 ? cleanup_register(tmp_path, NULL) : -1;
    cleanup_release(&saved);
    free(tmp_path);
    if (fd < 0)
        return uk_error_set(err, errno == ENOSPC ? UK_E_NOSPACE : UK_E_IO, errno, "/%s", e->path);
    const unsigned char *data;
    size_t len;
    int got = 0, rc = 0;
    while (rc == 0 && (got = tree_reader_data(tr, &data, &len, err)) == 1) {
        rc = write_all(fd, data, len, e->path, err);
        rf->res->bytes += len;
        progress_update(rf->progress, rf->res->bytes, rf->total);
    }
    if (got < 0)
        rc = -1;
    if (rc == 0 && fchmod(fd, e->mode) != 0)
        rc = uk_error_set(err, UK_E_IO, errno, "/%s", e->path);
    if (rc == 0 && rf->owners && fchown(fd, e->uid, e->gid) != 0)
        log_warn("/%s: owner not restored: %s", e->path, strerror(errno));
    struct timespec times[2] = {{.tv_nsec = UTIME_OMIT},
                                {.tv_sec = e->mtime_sec, .tv_nsec = e->mtime_nsec}};
    if (rc == 0)
        futimens(fd, times);
    if (close(fd) != 0 && rc == 0)
        rc = uk_error_set(err, UK_E_IO, errno, "/%s", e->path);
    /* The rename replaces a file (or symlink: itself, never where it points) in one step. */
    struct stat there;
    if (rc == 0 && fstatat(dirfd, name, &there, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(there.st_mode))
        rc = uk_error_set(err, UK_E_EXISTS, 0, "/%s: a folder is in the way", e->path);
    if (rc == 0 && renameat(dirfd, tmp, dirfd, name) != 0)
        rc = uk_error_set(err, UK_E_IO, errno, "/%s", e->path);
    if (rc != 0)
        unlinkat(dirfd, tmp, 0);
    cleanup_unregister(slot);
    return rc;
}

static int restore_entry(RestoreFiles *rf, TreeReader *tr, const TreeEntry *e, UkError *err)
{
    if (e->type == TREE_DIR) {
        int fd = safe_open_dir(rf->root, e->path, true);
        if (fd < 0)
            return uk_error_set(err, UK_E_IO, errno, "folder /%s", e->path);
        close(fd);
        rf->folders = xrealloc(rf->folders, (rf->n_folders + 1) * sizeof *rf->folders);
        rf->folders[rf->n_folders++] =
            (FolderTimes){xstrdup(e->path), e->mode, e->uid, e->gid, {e->mtime_sec, e->mtime_nsec}};
        return 0;
    }
    const char *name;
    int dirfd = open_parent(rf->root, e->path, &name, err);
    if (dirfd < 0)
        return -1;
    int rc = 0;
    switch (e->type) {
    case TREE_FILE:
        rc = restore_file(rf, tr, dirfd, name, e, err);
        rf->res->files += rc == 0;
        break;
    case TREE_SYMLINK:
        if ((rc = clear_name(dirfd, name, err)) == 0 && symlinkat(e->target, dirfd, name) != 0)
            rc = uk_error_set(err, UK_E_IO, errno, "symlink /%s", e->path);
        if (rc == 0)
            set_owner_times(rf, dirfd, name, e);
        break;
    case TREE_FIFO:
        if ((rc = clear_name(dirfd, name, err)) == 0 && mkfifoat(dirfd, name, e->mode) != 0)
            rc = uk_error_set(err, UK_E_IO, errno, "fifo /%s", e->path);
        if (rc == 0)
            set_owner_times(rf, dirfd, name, e);
        break;
    case TREE_HARDLINK: {
        const char *first_name;
        int first_dir = open_parent(rf->root, e->target, &first_name, err);
        struct stat st;
        if (first_dir < 0 || fstatat(first_dir, first_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISREG(st.st_mode)) {
            log_warn("/%s: not restored: it is a hard link to /%s, which was not restored", e->path,
                     e->target);
            rf->res->links_skipped++;
        } else if ((rc = clear_name(dirfd, name, err)) == 0 &&
                   linkat(first_dir, first_name, dirfd, name, 0) != 0) {
            rc = uk_error_set(err, UK_E_IO, errno, "hard link /%s", e->path);
        }
        if (first_dir >= 0)
            close(first_dir);
        break;
    }
    case TREE_DIR: break;
    }
    if (rc != 0 && err->code == UK_E_EXISTS)
        uk_error_prefix(err, "/%s: ", e->path);
    close(dirfd);
    return rc;
}

/* Folders get their mode, owner and time last, deepest first: what was written into them
 * would have changed their time, and a read-only folder could not have been filled. */
static void finish_folders(RestoreFiles *rf)
{
    for (size_t i = rf->n_folders; i-- > 0;) {
        FolderTimes *f = &rf->folders[i];
        int fd = safe_open_dir(rf->root, f->path, false);
        if (fd >= 0) {
            if (rf->owners && fchown(fd, f->uid, f->gid) != 0)
                log_warn("/%s: owner not restored: %s", f->path, strerror(errno));
            fchmod(fd, f->mode);
            struct timespec times[2] = {{.tv_nsec = UTIME_OMIT}, f->mtime};
            futimens(fd, times);
            close(fd);
        }
        free(f->path);
    }
    free(rf->folders);
}

/* task_load_backup for a backup that must hold files. */
static int load_with_files(const ConfigRepository *repo_cfg, const char *id, Repo **repo,
                           Manifest *m, UkError *err)
{
    if (task_load_backup(repo_cfg, id, NULL, repo, m, err) != 0)
        return -1;
    if (m->has_files)
        return 0;
    uk_error_set(err, UK_E_USAGE, 0,
                 "backup '%s' holds no files, only database '%s' (a job with paths makes "
                 "backups with files: name it with --job)",
                 m->id, m->database);
    manifest_clear(m);
    repo_close(*repo);
    *repo = NULL;
    return -1;
}

int task_restore_files(const FilesRestoreRequest *req, FilesRestoreResult *res, UkError *err)
{
    memset(res, 0, sizeof *res);
    double started = monotonic_seconds();
    Repo *repo = NULL;
    Manifest m = {0};
    if (load_with_files(req->repository, req->id, &repo, &m, err) != 0)
        return -1;
    snprintf(res->id, sizeof res->id, "%s", m.id);
    int rc = -1;
    const char *why = NULL;
    RestoreFiles rf = {.owners = geteuid() == 0, .res = res, .to = req->to};
    rf.total = req->n_includes ? 0 : m.file_bytes;
    TreeReader *tr = NULL;
    rf.root = safe_root_open(req->to, true, &why);
    if (!rf.root) {
        uk_error_set(err, UK_E_IO, 0, "restore folder '%s': %s", req->to, why);
        goto out;
    }
    char label[100];
    snprintf(label, sizeof label, "restore files %s", m.id);
    rf.progress = progress_new(label, req->progress);
    tr = tree_reader_new(repo, &m);
    const TreeEntry *e;
    int got;
    rc = 0;
    while (rc == 0 && (got = tree_reader_next(tr, &e, err)) == 1) {
        if (!included(req->includes, req->n_includes, e->path))
            continue;
        rc = restore_entry(&rf, tr, e, err);
        res->entries += rc == 0;
        if (rc == 0 && e->changed)
            log_warn("/%s was changing while it was backed up: restored as it was last read",
                     e->path);
    }
    if (rc == 0 && got < 0)
        rc = -1;
    finish_folders(&rf);
    progress_end(rf.progress);
    if (rc == 0 && req->n_includes && res->entries == 0) {
        uk_error_set(err, UK_E_NOTFOUND, 0, "backup '%s' holds nothing that --include names", m.id);
        rc = -1;
    }
    res->seconds = monotonic_seconds() - started;
out:
    tree_reader_free(tr);
    safe_root_close(rf.root);
    manifest_clear(&m);
    repo_close(repo);
    return rc;
}

int task_list_files(const ConfigRepository *repo_cfg, const char *id, const char *under,
                    FilesVisit visit, void *ctx, UkError *err)
{
    Repo *repo = NULL;
    Manifest m = {0};
    if (load_with_files(repo_cfg, id, &repo, &m, err) != 0)
        return -1;
    int rc = 0, got = 0;
    char *folder = xstrdup(under ? under + strspn(under, "/") : "");
    for (size_t n = strlen(folder); n > 0 && folder[n - 1] == '/';)
        folder[--n] = '\0';
    TreeReader *tr = tree_reader_new(repo, &m);
    const TreeEntry *e;
    while (rc == 0 && (got = tree_reader_next(tr, &e, err)) == 1)
        if (tree_path_within(e->path, folder))
            rc = visit(ctx, e);
    if (got < 0)
        rc = -1;
    free(folder);
    tree_reader_free(tr);
    manifest_clear(&m);
    repo_close(repo);
    return rc;
}

/* Content and type: what makes an entry "modified" rather than changed in metadata only. */
static bool same_content(const TreeEntry *a, const TreeEntry *b)
{
    if (a->type != b->type)
        return false;
    if (a->type == TREE_FILE)
        return a->size == b->size && memcmp(a->content, b->content, 32) == 0;
    if (a->target || b->target)
        return a->target && b->target && strcmp(a->target, b->target) == 0;
    return true;
}

static bool same_metadata(const TreeEntry *a, const TreeEntry *b)
{
    return a->mode == b->mode && a->uid == b->uid && a->gid == b->gid &&
           a->mtime_sec == b->mtime_sec && a->mtime_nsec == b->mtime_nsec;
}

static TreeEntry entry_copy(const TreeEntry *e)
{
    TreeEntry c = *e;
    c.path = xstrdup(e->path);
    c.target = e->target ? xstrdup(e->target) : NULL;
    return c;
}

int task_diff_files(const ConfigRepository *repo_cfg, const char *id_a, const char *id_b,
                    DiffVisit visit, void *ctx, DiffResult *res, UkError *err)
{
    memset(res, 0, sizeof *res);
    Repo *repo = NULL;
    Manifest a = {0}, b = {0};
    if (task_load_backup(repo_cfg, id_a, NULL, &repo, &a, err) != 0)
        return -1;
    int rc = -1;
    TreeReader *ra = NULL, *rb = NULL;
    char b_id[64];
    /* B from the repository (and index) A was loaded with. */
    if (repo_resolve_backup(repo, id_b, NULL, NULL, b_id, sizeof b_id, err) != 0 ||
        repo_read_manifest(repo, b_id, true, &b, err) != 0)
        goto out;
    snprintf(res->id_a, sizeof res->id_a, "%s", a.id);
    snprintf(res->id_b, sizeof res->id_b, "%s", b.id);
    res->database_a = *a.database != '\0';
    res->database_b = *b.database != '\0';
    res->database_same = res->database_a && res->database_b && a.image_size == b.image_size &&
                         memcmp(a.image_hash, b.image_hash, 32) == 0;
    ra = a.has_files ? tree_reader_new(repo, &a) : NULL;
    rb = b.has_files ? tree_reader_new(repo, &b) : NULL;
    const TreeEntry *ea = NULL, *eb = NULL;
    TreeEntry held = {0}; /* A's entry, kept while B's reader moves on */
    int got_a = ra ? tree_reader_next(ra, &ea, err) : 0;
    if (got_a == 1)
        held = entry_copy(ea);
    int got_b = got_a >= 0 && rb ? tree_reader_next(rb, &eb, err) : 0;
    rc = 0;
    while (rc == 0 && got_a >= 0 && got_b >= 0 && (got_a == 1 || got_b == 1)) {
        int cmp = got_a == 0 ? 1 : got_b == 0 ? -1 : tree_path_cmp(held.path, eb->path);
        DiffKind kind;
        const TreeEntry *shown;
        if (cmp < 0) {
            kind = DIFF_REMOVED, shown = &held;
        } else if (cmp > 0) {
            kind = DIFF_ADDED, shown = eb;
        } else {
            kind = !same_content(&held, eb)    ? DIFF_MODIFIED
                   : !same_metadata(&held, eb) ? DIFF_METADATA
                                               : DIFF_SAME;
            shown = eb;
        }
        res->counts[kind]++;
        if (kind != DIFF_SAME)
            rc = visit(ctx, kind, shown);
        if (cmp <= 0) {
            tree_entry_clear(&held);
            got_a = tree_reader_next(ra, &ea, err);
            if (got_a == 1)
                held = entry_copy(ea);
        }
        if (cmp >= 0 && got_a >= 0)
            got_b = tree_reader_next(rb, &eb, err);
    }
    tree_entry_clear(&held);
    if (got_a < 0 || got_b < 0)
        rc = -1;
out:
    tree_reader_free(ra);
    tree_reader_free(rb);
    manifest_clear(&a);
    manifest_clear(&b);
    repo_close(repo);
    return rc;
}

int task_verify_files(Repo *repo, const Manifest *m, bool progress, VerifyResult *res, UkError *err)
{
    char label[100];
    snprintf(label, sizeof label, "verify files %s", m->id);
    Progress *p = progress_new(label, progress);
    TreeReader *tr = tree_reader_new(repo, m);
    const TreeEntry *e;
    int got = 0, rc = 0;
    while (rc == 0 && (got = tree_reader_next(tr, &e, err)) == 1) {
        res->file_entries++;
        res->files_changed += e->changed;
        const unsigned char *data;
        size_t len;
        int more;
        while ((more = tree_reader_data(tr, &data, &len, err)) == 1) {
            res->file_bytes += len;
            progress_update(p, res->file_bytes, m->file_bytes);
        }
        if (more < 0)
            rc = -1;
    }
    if (rc == 0 && got < 0)
        rc = -1;
    if (rc == 0 && (res->file_entries != m->file_entries || res->file_bytes != m->file_bytes))
        rc = uk_error_set(err, UK_E_CORRUPT, 0,
                          "backup '%s': its tree holds %llu entries and %llu bytes, its manifest "
                          "says %llu and %llu",
                          m->id, (unsigned long long)res->file_entries,
                          (unsigned long long)res->file_bytes, (unsigned long long)m->file_entries,
                          (unsigned long long)m->file_bytes);
    tree_reader_free(tr);
    progress_end(p);
    return rc;
}
