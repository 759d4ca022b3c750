/* The check resolves the parent folder with realpath() (following any symlinks on the way)
 * and requires the result to be the root or below it; the last component is then inspected
 * with lstat() and removed with unlinkat() relative to the resolved parent, so a symlink as
 * the last component is removed itself only when its target also stays inside the root. */
#include "common/safe_path.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"

struct SafeRoot {
    char real[PATH_MAX];
    size_t len;
};

SafeRoot *safe_root_open(const char *root, const char **why)
{
    SafeRoot *r = xcalloc(1, sizeof *r);
    struct stat st;
    if (!realpath(root, r->real) || stat(r->real, &st) != 0 || !S_ISDIR(st.st_mode)) {
        *why = "files_root does not exist or is not a folder";
        free(r);
        return NULL;
    }
    r->len = strlen(r->real);
    return r;
}

void safe_root_close(SafeRoot *root)
{
    free(root);
}

static bool inside(const SafeRoot *root, const char *real)
{
    if (strcmp(root->real, "/") == 0)
        return true;
    return strncmp(real, root->real, root->len) == 0 &&
           (real[root->len] == '\0' || real[root->len] == '/');
}

static bool has_dotdot(const char *path)
{
    for (const char *p = path; (p = strstr(p, "..")) != NULL; p += 2) {
        bool starts = p == path || p[-1] == '/';
        bool ends = p[2] == '\0' || p[2] == '/';
        if (starts && ends)
            return true;
    }
    return false;
}

typedef enum { ACT_REMOVE, ACT_MOVE } Action;

static SafeOutcome act(SafeRoot *root, const char *name, Action action, const char *dest_root,
                       bool dry_run, uint64_t *bytes, const char **reason);

SafeOutcome safe_remove(SafeRoot *root, const char *name, bool dry_run, uint64_t *bytes,
                        const char **reason)
{
    return act(root, name, ACT_REMOVE, NULL, dry_run, bytes, reason);
}

SafeOutcome safe_move(SafeRoot *root, const char *name, const char *dest_root, bool dry_run,
                      uint64_t *bytes, const char **reason)
{
    return act(root, name, ACT_MOVE, dest_root, dry_run, bytes, reason);
}

/* Moves parent/base to the same place relative to the root under dest_root. */
static int move_into(const SafeRoot *root, const char *parent, const char *base,
                     const char *dest_root, const char **reason)
{
    const char *rel = parent + root->len;
    while (*rel == '/')
        rel++;
    char *dest_dir = *rel ? xasprintf("%s/%s", dest_root, rel) : xstrdup(dest_root);
    char *src = xasprintf("%s/%s", parent, base);
    char *dest = xasprintf("%s/%s", dest_dir, base);
    int rc = -1;
    if (mkdir_p(dest_dir, 0755, NULL) != 0) {
        *reason = "destination folder cannot be created";
    } else if (link(src, dest) != 0) {
        /* link() never replaces; EXDEV means another file system, which rename cannot
         * cross either: refuse rather than copy half a file. */
        *reason = errno == EEXIST  ? "destination already exists"
                  : errno == EXDEV ? "files_move_to is on another file system"
                                   : "cannot be moved";
    } else if (unlink(src) != 0) {
        unlink(dest);
        *reason = "cannot be moved";
    } else {
        rc = 0;
    }
    free(dest_dir);
    free(src);
    free(dest);
    return rc;
}

static SafeOutcome act(SafeRoot *root, const char *name, Action action, const char *dest_root,
                       bool dry_run, uint64_t *bytes, const char **reason)
{
    *bytes = 0;
    *reason = NULL;
    if (!name || !*name) {
        *reason = "empty path";
        return SAFE_REFUSED;
    }
    if (has_dotdot(name)) {
        *reason = "path contains '..'";
        return SAFE_REFUSED;
    }
    char *full = name[0] == '/' ? xstrdup(name) : xasprintf("%s/%s", root->real, name);
    char *dir_copy = xstrdup(full), *base_copy = xstrdup(full);
    const char *dir = dirname(dir_copy), *base = basename(base_copy);
    SafeOutcome outcome = SAFE_REFUSED;
    char parent[PATH_MAX];
    int dir_fd = -1;
    struct stat st;
    if (!*base || strcmp(base, ".") == 0 || strcmp(base, "/") == 0) {
        *reason = "not a file name";
        goto out;
    }
    if (!realpath(dir, parent)) {
        if (errno == ENOENT || errno == ENOTDIR)
            outcome = SAFE_MISSING;
        else
            *reason = "folder cannot be resolved";
        goto out;
    }
    if (!inside(root, parent)) {
        *reason = "outside files_root";
        goto out;
    }
    dir_fd = open(parent, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dir_fd < 0 || fstatat(dir_fd, base, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (dir_fd >= 0 && errno == ENOENT)
            outcome = SAFE_MISSING;
        else
            *reason = "cannot be examined";
        goto out;
    }
    if (S_ISDIR(st.st_mode)) {
        *reason = "is a folder";
        goto out;
    }
    if (S_ISLNK(st.st_mode)) {
        char *link_path = xasprintf("%s/%s", parent, base);
        char target[PATH_MAX];
        bool ok = realpath(link_path, target) && inside(root, target);
        free(link_path);
        if (!ok) {
            *reason = "symlink leads outside files_root";
            goto out;
        }
    }
    *bytes = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
    if (action == ACT_MOVE) {
        if (!dry_run && move_into(root, parent, base, dest_root, reason) != 0)
            goto out;
    } else if (!dry_run && unlinkat(dir_fd, base, 0) != 0) {
        if (errno == ENOENT) {
            outcome = SAFE_MISSING;
        } else {
            *reason = "cannot be removed";
        }
        goto out;
    }
    outcome = SAFE_REMOVED;
out:
    if (dir_fd >= 0)
        close(dir_fd);
    free(full);
    free(dir_copy);
    free(base_copy);
    return outcome;
}
