/* Repository locks that every host sharing a repository sees: objects locks/<id> in the
 * repository itself, whatever its storage.
 *
 * A backup, verify or restore holds a shared lock; prune holds an exclusive one. To take a
 * lock, a process writes its own lock object (exclusively, under a random name), then lists
 * locks/: if another live lock conflicts (any other, for an exclusive lock; an exclusive
 * one, for a shared lock), it removes its own and tries again after a random wait, until
 * wait_seconds pass; then the error names the holder (host, pid, command, since when).
 * Two processes that write at the same time both see each other and both step back, the
 * random waits breaking the tie.
 *
 * A lock object says which host and process holds it, and when it was last refreshed: a
 * thread rewrites it every LOCK_REFRESH_S through a storage connection of its own. A lock
 * not refreshed for LOCK_STALE_S is stale (its holder died or lost the storage), and so is
 * one of this host whose process is gone: both are ignored, and an exclusive locker removes
 * them. A lock object's content is JSON (encrypted with the repository's metadata key when
 * the repository is encrypted, see repo_seal). */
#ifndef UK_LOCK_H
#define UK_LOCK_H

#include <stdbool.h>

#include "core/config.h"
#include "core/error.h"
#include "repo/storage.h"

#define LOCK_REFRESH_S 300
#define LOCK_STALE_S 1800

typedef struct RepoLock RepoLock;

/* How a lock object's bytes are sealed and opened (the repository's encryption), or NULL
 * members for plain JSON. */
typedef struct LockSeal {
    void *ctx;
    unsigned char *(*seal)(void *ctx, const char *name, const void *data, size_t len,
                           size_t *out_len);
    int (*open)(void *ctx, const char *name, const unsigned char *data, size_t len,
                unsigned char **out, size_t *out_len, UkError *err);
} LockSeal;

/* Takes the lock on the repository REPO_NAME whose storage is S, waiting up to
 * wait_seconds. WHAT names the command for other hosts' messages ("backup", "prune"). *out
 * is NULL unless it succeeds. The refresh thread uses a clone of S. */
int repo_lock_take(Storage *s, const char *repo_name, bool exclusive, const char *what,
                   int wait_seconds, const LockSeal *seal, RepoLock **out, UkError *err);
/* Stops refreshing and removes the lock object. NULL is accepted. */
void repo_lock_release(RepoLock *lock);

#endif
