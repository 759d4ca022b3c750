/* How a name is turned into an act that stays inside the root:
 *
 * 1. safe_relative() turns the stored name into a normalised path below the root, lexically
 *    (duplicate slashes and "." dropped, ".." refused, an absolute path stripped of the root
 *    as configured or as its real path). This only decides what the name means; it is never
 *    used to open anything by path.
 * 2. safe_open_dir() opens the name's folder from the root's descriptor with openat2
 *    (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS): a symlink anywhere on the way, or an escape, is
 *    refused by the kernel in the same step that opens. Kernels before 5.6 get a walk of
 *    openat(O_NOFOLLOW | O_DIRECTORY) calls, each relative to the folder the last one opened,
 *    which is just as race-free, only slower.
 * 3. The last component is examined with fstatat(AT_SYMLINK_NOFOLLOW) and acted on with
 *    unlinkat / renameat2 / linkat relative to that folder's descriptor. Swapping a folder
 *    for a symlink after step 2 changes nothing: the descriptor still names the folder that
 *    was checked. */
#include "common/safe_path.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/util.h"

struct SafeRoot {
    int fd;
    char *given; /* absolute, lexically normalised, as configured */
    char *real;  /* realpath() when opened */
};

static bool use_openat2 = true;

void safe_path_use_openat2(bool use)
{
    use_openat2 = use;
}

/* Lexical normal form of a relative or absolute path: no empty or "." components, no
 * trailing slash. NULL when a component is "..". */
static char *normalise(const char *path)
{
    size_t len = strlen(path);
    char *out = xmalloc(len + 2);
    size_t o = 0;
    if (path[0] == '/')
        out[o++] = '/';
    for (const char *p = path; *p;) {
        while (*p == '/')
            p++;
        size_t n = strcspn(p, "/");
        if (n == 0)
            break;
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            free(out);
            return NULL;
        }
        if (!(n == 1 && p[0] == '.')) {
            if (o > 0 && out[o - 1] != '/')
                out[o++] = '/';
            memcpy(out + o, p, n);
            o += n;
        }
        p += n;
    }
    out[o] = '\0';
    return out;
}

/* The part of ABS below PREFIX ("" for PREFIX itself), or NULL when ABS is not below it. */
static const char *below(const char *abs, const char *prefix)
{
    size_t n = strlen(prefix);
    if (strcmp(prefix, "/") == 0)
        return abs + 1;
    if (strncmp(abs, prefix, n) != 0 || (abs[n] != '\0' && abs[n] != '/'))
        return NULL;
    return abs[n] == '/' ? abs + n + 1 : abs + n;
}

SafeRoot *safe_root_open(const char *root, bool create, const char **why)
{
    *why = NULL;
    if (create && mkdir_p(root, 0755, NULL) != 0) {
        *why = "folder cannot be created";
        return NULL;
    }
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    char *real = fd >= 0 ? realpath(root, NULL) : NULL;
    if (fd < 0 || !real) {
        *why = "folder does not exist or is not a folder";
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    SafeRoot *r = xcalloc(1, sizeof *r);
    r->fd = fd;
    r->real = real;
    if (root[0] == '/') {
        r->given = normalise(root);
    } else {
        char cwd[PATH_MAX];
        char *abs = xasprintf("%s/%s", getcwd(cwd, sizeof cwd) ? cwd : ".", root);
        r->given = normalise(abs);
        free(abs);
    }
    if (!r->given) /* ".." in the configured root: only its real path names it */
        r->given = xstrdup(r->real);
    return r;
}

void safe_root_close(SafeRoot *root)
{
    if (!root)
        return;
    close(root->fd);
    free(root->given);
    free(root->real);
    free(root);
}

#define REASON_DOTDOT "path contains '..'"

bool safe_is_doubtful(const char *reason)
{
    return reason && strcmp(reason, REASON_DOTDOT) == 0;
}

char *safe_relative(const SafeRoot *root, const char *name, const char **reason)
{
    *reason = NULL;
    if (!name || !*name) {
        *reason = "empty path";
        return NULL;
    }
    char *norm = normalise(name);
    if (!norm) {
        *reason = REASON_DOTDOT;
        return NULL;
    }
    char *rel = NULL;
    if (norm[0] != '/') {
        rel = norm;
        norm = NULL;
    } else {
        const char *rest = below(norm, root->given);
        if (!rest)
            rest = below(norm, root->real);
        if (rest) {
            rel = xstrdup(rest);
        } else {
            /* Reached through another alias of the root (a symlinked parent): its folder's
             * real path decides what it names. Only the meaning comes from here; opening
             * stays beneath the root's descriptor. */
            char *slash = strrchr(norm, '/');
            *slash = '\0';
            char *dir_real = realpath(*norm ? norm : "/", NULL);
            const char *dir_rest = dir_real ? below(dir_real, root->real) : NULL;
            if (dir_rest)
                rel = *dir_rest ? xasprintf("%s/%s", dir_rest, slash + 1) : xstrdup(slash + 1);
            free(dir_real);
        }
    }
    free(norm);
    if (!rel) {
        *reason = "outside files_root";
        return NULL;
    }
    if (!*rel) {
        free(rel);
        *reason = "not a file name";
        return NULL;
    }
    return rel;
}

/* One step of the walk: DIRFD/NAME as a folder, created first when asked to. */
static int open_step(int dirfd, const char *name, bool create)
{
    if (strcmp(name, "..") == 0) {
        errno = EXDEV;
        return -1;
    }
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && create) {
        if (mkdirat(dirfd, name, 0755) != 0 && errno != EEXIST)
            return -1;
        fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    /* O_NOFOLLOW | O_DIRECTORY on a symlink says ENOTDIR; say ELOOP, as openat2 does. */
    struct stat st;
    if (fd < 0 && errno == ENOTDIR && fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISLNK(st.st_mode))
        errno = ELOOP;
    return fd;
}

int safe_open_dir(const SafeRoot *root, const char *rel, bool create)
{
    if (!*rel)
        return openat(root->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (use_openat2 && !create) {
        struct open_how how = {
            .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
            .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
        };
        /* EAGAIN: a rename elsewhere raced the lookup; the kernel asks for a retry, and
         * after a few the walk below decides just as safely. */
        for (int attempt = 0; attempt < 4; attempt++) {
            long fd = syscall(SYS_openat2, root->fd, rel, &how, sizeof how);
            if (fd >= 0 || (errno != ENOSYS && errno != EAGAIN))
                return (int)fd;
            if (errno == ENOSYS)
                break;
        }
    }
    char *copy = xstrdup(rel);
    int fd = openat(root->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    char *save = NULL;
    for (char *part = strtok_r(copy, "/", &save); part && fd >= 0;
         part = strtok_r(NULL, "/", &save)) {
        if (strcmp(part, ".") == 0)
            continue;
        int next = open_step(fd, part, create);
        int saved = errno;
        close(fd);
        errno = saved;
        fd = next;
    }
    free(copy);
    return fd;
}

/* Splits REL into its folder (returned, "" for the root) and its last component (*base,
 * pointing into REL). */
static char *split(const char *rel, const char **base)
{
    const char *slash = strrchr(rel, '/');
    *base = slash ? slash + 1 : rel;
    return slash ? xasprintf("%.*s", (int)(slash - rel), rel) : xstrdup("");
}

/* A symlink at DIR/BASE is acceptable when what it names lies inside the root too. */
static bool link_stays_inside(SafeRoot *root, int dirfd, const char *dir, const char *base)
{
    char target[PATH_MAX];
    ssize_t n = readlinkat(dirfd, base, target, sizeof target - 1);
    if (n <= 0)
        return false;
    target[n] = '\0';
    char *name = target[0] == '/' ? xstrdup(target)
                 : *dir           ? xasprintf("%s/%s", dir, target)
                                  : xstrdup(target);
    const char *why;
    char *rel = safe_relative(root, name, &why);
    free(name);
    if (!rel)
        return false;
    const char *target_base;
    char *target_dir = split(rel, &target_base);
    int fd = safe_open_dir(root, target_dir, false);
    struct stat st;
    bool ok =
        fd >= 0 && fstatat(fd, target_base, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISLNK(st.st_mode);
    if (fd >= 0)
        close(fd);
    free(target_dir);
    free(rel);
    return ok;
}

/* Resolves NAME to its open folder and last component and checks what is there. On
 * SAFE_REMOVED (meaning: may be acted on) *dirfd, *rel and *base are set; the caller closes
 * and frees them. */
static SafeOutcome examine(SafeRoot *root, const char *name, int *dirfd, char **rel,
                           const char **base, struct stat *st, const char **reason)
{
    *dirfd = -1;
    *rel = safe_relative(root, name, reason);
    if (!*rel)
        return SAFE_REFUSED;
    char *dir = split(*rel, base);
    SafeOutcome outcome = SAFE_REFUSED;
    int fd = safe_open_dir(root, dir, false);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            outcome = SAFE_MISSING;
        else if (errno == ELOOP)
            *reason = "a symlink on the way";
        else if (errno == EXDEV)
            *reason = "outside files_root";
        else
            *reason = "folder cannot be opened";
        goto out;
    }
    if (fstatat(fd, *base, st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT)
            outcome = SAFE_MISSING;
        else
            *reason = "cannot be examined";
        goto out;
    }
    if (S_ISDIR(st->st_mode)) {
        *reason = "is a folder";
        goto out;
    }
    if (S_ISLNK(st->st_mode) && !link_stays_inside(root, fd, dir, *base)) {
        *reason = "symlink leads outside files_root";
        goto out;
    }
    outcome = SAFE_REMOVED;
out:
    free(dir);
    if (outcome == SAFE_REMOVED) {
        *dirfd = fd;
    } else {
        if (fd >= 0)
            close(fd);
        free(*rel);
        *rel = NULL;
    }
    return outcome;
}

SafeOutcome safe_remove(SafeRoot *root, const char *name, bool dry_run, uint64_t *bytes,
                        const char **reason)
{
    *bytes = 0;
    int dirfd;
    char *rel;
    const char *base;
    struct stat st;
    SafeOutcome outcome = examine(root, name, &dirfd, &rel, &base, &st, reason);
    if (outcome != SAFE_REMOVED)
        return outcome;
    if (!dry_run && unlinkat(dirfd, base, 0) != 0) {
        outcome = errno == ENOENT ? SAFE_MISSING : SAFE_REFUSED;
        *reason = errno == EISDIR ? "is a folder" : "cannot be removed";
    }
    if (outcome == SAFE_REMOVED)
        *bytes = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
    close(dirfd);
    free(rel);
    return outcome;
}

static bool same_inode(int dirfd_a, const char *a, int dirfd_b, const char *b)
{
    struct stat sa, sb;
    return fstatat(dirfd_a, a, &sa, AT_SYMLINK_NOFOLLOW) == 0 &&
           fstatat(dirfd_b, b, &sb, AT_SYMLINK_NOFOLLOW) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

SafeOutcome safe_move(SafeRoot *root, const char *name, SafeRoot *dest, bool dry_run,
                      uint64_t *bytes, const char **reason)
{
    *bytes = 0;
    int dirfd, dest_fd = -1;
    char *rel;
    const char *base;
    struct stat st;
    SafeOutcome outcome = examine(root, name, &dirfd, &rel, &base, &st, reason);
    if (outcome != SAFE_REMOVED || dry_run)
        goto out;
    const char *dest_base;
    char *dest_dir = split(rel, &dest_base);
    dest_fd = safe_open_dir(dest, dest_dir, true);
    free(dest_dir);
    outcome = SAFE_REFUSED;
    if (dest_fd < 0) {
        *reason = errno == ELOOP || errno == ENOTDIR ? "a symlink or file on the destination's way"
                                                     : "destination folder cannot be created";
        goto out;
    }
    /* A rename that refuses to replace; link + unlink where the file system cannot do that.
     * Neither copies: another file system is refused rather than half a file written. */
    int rc = renameat2(dirfd, base, dest_fd, base, RENAME_NOREPLACE);
    if (rc != 0 && errno == EINVAL) {
        rc = linkat(dirfd, base, dest_fd, base, 0);
        if (rc == 0 && unlinkat(dirfd, base, 0) != 0) {
            int saved = errno;
            unlinkat(dest_fd, base, 0);
            errno = saved;
            rc = -1;
        }
    }
    if (rc != 0 && errno == EEXIST && same_inode(dirfd, base, dest_fd, base)) {
        /* An earlier move stopped between link and unlink: both names are one file. */
        rc = unlinkat(dirfd, base, 0);
    }
    if (rc != 0) {
        *reason = errno == EEXIST   ? "destination already exists"
                  : errno == EXDEV  ? "the destination is on another file system"
                  : errno == ENOENT ? NULL
                                    : "cannot be moved";
        outcome = errno == ENOENT ? SAFE_MISSING : SAFE_REFUSED;
        goto out;
    }
    outcome = SAFE_REMOVED;
out:
    if (outcome == SAFE_REMOVED)
        *bytes = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
    if (dirfd >= 0)
        close(dirfd);
    if (dest_fd >= 0)
        close(dest_fd);
    free(rel);
    return outcome;
}
