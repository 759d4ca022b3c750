/* Deleting files named by data (a database column) without ever leaving a configured root:
 * no "..", no absolute path elsewhere, no symlink that leads out, never a directory. */
#ifndef UK_SAFE_PATH_H
#define UK_SAFE_PATH_H

#include <stdbool.h>
#include <stdint.h>

typedef enum { SAFE_REMOVED, SAFE_MISSING, SAFE_REFUSED } SafeOutcome;

typedef struct SafeRoot SafeRoot;

/* Resolves root (which must exist) once. NULL when it does not; *why says why. */
SafeRoot *safe_root_open(const char *root, const char **why);
void safe_root_close(SafeRoot *root);

/* Removes `name` (relative to the root, or absolute inside it) unless it would leave the
 * root. With dry_run nothing is removed but the outcome is the same. *bytes gets the file's
 * size; *reason (static text) says why a path was refused. */
SafeOutcome safe_remove(SafeRoot *root, const char *name, bool dry_run, uint64_t *bytes,
                        const char **reason);

/* Moves `name` from inside root to the same relative path under dest_root (created as
 * needed), with the same checks as safe_remove. An existing destination is never replaced. */
SafeOutcome safe_move(SafeRoot *root, const char *name, const char *dest_root, bool dry_run,
                      uint64_t *bytes, const char **reason);

#endif
