/* Pack indexes of a remote repository (S3) kept on local disk, as the repository stores them
 * (sealed, when it is encrypted), so that a backup learns what the repository holds with one
 * listing instead of a GET per pack. An index object never changes once written (it is named
 * by its pack), so a cached copy is the object; one that does not decode is dropped and read
 * again, and copies of packs no longer listed are removed. The folder is $UPKEEP_CACHE_DIR,
 * else systemd's $CACHE_DIRECTORY, else $XDG_CACHE_HOME/upkeep, else ~/.cache/upkeep, one
 * folder per repository location.
 * Nothing depends on the cache: when it cannot be written, the repository is read. */
#ifndef UK_INDEX_CACHE_H
#define UK_INDEX_CACHE_H

#include <stddef.h>

#include "repo/storage.h"

typedef struct IndexCache IndexCache;

/* NULL when the storage is local (nothing to save) or no cache folder can be made. */
IndexCache *index_cache_open(const Storage *s);
void index_cache_close(IndexCache *c);
/* The stored bytes of index NAME, or NULL when not cached. Caller frees. */
unsigned char *index_cache_get(IndexCache *c, const char *name, size_t *len);
void index_cache_put(IndexCache *c, const char *name, const void *data, size_t len);
void index_cache_drop(IndexCache *c, const char *name);
/* Removes the copies of indexes that are not among NAMES (their packs are gone). */
void index_cache_keep_only(IndexCache *c, char *const *names, size_t n);

#endif
