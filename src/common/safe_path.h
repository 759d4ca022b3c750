/* Acting on files named by data (a database column, a walk, a glob) without ever leaving a
 * configured root: no "..", no absolute path elsewhere, no symlink on the way, never a
 * directory, and no race with someone swapping a folder for a symlink meanwhile.
 *
 * A SafeRoot holds a descriptor of the root opened once. Every later path is resolved from
 * that descriptor, component by component, refusing symlinks (openat2 with RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS, or an openat(O_NOFOLLOW | O_DIRECTORY) walk where openat2 is missing),
 * and the final unlink, link or rename is made relative to the parent folder's descriptor.
 * What a name resolved to can therefore not change between the check and the act. */
#ifndef UK_SAFE_PATH_H
#define UK_SAFE_PATH_H

#include <stdbool.h>
#include <stdint.h>

typedef enum { SAFE_REMOVED, SAFE_MISSING, SAFE_REFUSED } SafeOutcome;

typedef struct SafeRoot SafeRoot;

/* Opens root, which must be a folder (with create, it and its parents are made 0755 when
 * missing). NULL when it cannot; *why (static text) says why. */
SafeRoot *safe_root_open(const char *root, bool create, const char **why);
void safe_root_close(SafeRoot *root);

/* A name as an application stores it ("a/x.pdf", "./a//x.pdf", "/srv/app/uploads/a/x.pdf",
 * or the same through a symlinked alias of the root) as the normalised path below the root
 * ("a/x.pdf"). NULL when it is empty, contains "..", or is absolute outside the root; then
 * *reason (static text) says which. Caller frees. */
char *safe_relative(const SafeRoot *root, const char *name, const char **reason);

/* Was a name refused only for its ".." ("a/../x.pdf")? Such a name may still name a file
 * inside the root, so whoever matches names against files keeps every file with its last
 * component: when in doubt, keep. */
bool safe_is_doubtful(const char *reason);

/* Opens the folder REL (normalised, relative to the root; "" is the root itself) beneath the
 * root without following any symlink; with create, missing folders are made 0755 on the way.
 * Returns a descriptor (O_DIRECTORY, close-on-exec) or -1 with errno: ENOENT missing,
 * ELOOP or ENOTDIR a symlink or a file on the way, EXDEV an attempt to leave. */
int safe_open_dir(const SafeRoot *root, const char *rel, bool create);

/* Removes `name` (as safe_relative takes it) unless that would leave the root. A symlink as
 * the last component is removed itself (never what it points to), and only when its target
 * also lies inside the root. With dry_run nothing is removed but the outcome is the same.
 * *bytes gets the file's size; *reason (static text) says why a path was refused. */
SafeOutcome safe_remove(SafeRoot *root, const char *name, bool dry_run, uint64_t *bytes,
                        const char **reason);

/* Moves `name` from inside root to the same relative path under dest (folders created as
 * needed, beneath dest), with the same checks as safe_remove. An existing destination is
 * never replaced, except that a destination that already is the same file (a move
 * interrupted between its link and its unlink) is finished by removing the source. */
SafeOutcome safe_move(SafeRoot *root, const char *name, SafeRoot *dest, bool dry_run,
                      uint64_t *bytes, const char **reason);

/* Tests only: false makes every resolution take the openat() walk instead of openat2. */
void safe_path_use_openat2(bool use);

#endif
