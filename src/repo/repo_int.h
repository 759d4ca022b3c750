/* Repository internals shared by repo.c, backup_writer.c and image_reader.c. */
#ifndef UK_REPO_INT_H
#define UK_REPO_INT_H

#include "repo/index_cache.h"
#include "repo/chunk_set.h"
#include "repo/keyring.h"
#include "repo/lock.h"
#include "repo/pack.h"
#include "repo/repo.h"

typedef struct RepoPack {
    char name[40]; /* 32 hex digits */
    PackFrame *frames;
    size_t n_frames;
    bool have_key; /* encrypted repositories: key read from the pack's header */
    unsigned char key[32];
} RepoPack;

struct Repo {
    char *name;
    RepoLock *lock;
    Storage *storage;
    int compression_level;
    int version;       /* the repository's format version (config) */
    Keyring *keys;     /* encrypted repositories; NULL for plain ones */
    IndexCache *cache; /* remote repositories: their pack indexes on local disk; else NULL */
    ChunkSet *index;   /* every chunk of the loaded packs: where it is */
    RepoPack *packs;
    size_t n_packs;
    bool index_loaded;
    size_t unreadable_indexes; /* skipped by repo_load_index: neither it nor its pack's copy read */
    char unreadable_example[40]; /* the name of one of them, for messages */
};

/* Object NAME as the repository holds it: opened with its keys (encrypted repositories), or
 * as stored. Caller frees *data. */
int repo_get_object(Repo *r, const char *name, unsigned char **data, size_t *len, UkError *err);
/* Stores object NAME, sealed with the repository's keys when it has them. */
int repo_put_object(Repo *r, const char *name, const void *data, size_t len, bool exclusive,
                    UkError *err);
/* The index of pack NAME, decoded: from the local cache when it has a copy that decodes, else
 * from the repository, then kept in the cache. */
int repo_read_pack_index(Repo *r, const char *name, PackIndex *pi, UkError *err);
/* Stores the index of pack PACK_NAME (index/PACK_NAME), and keeps it in the local cache. */
int repo_put_pack_index(Repo *r, const char *pack_name, const void *data, size_t len, UkError *err);
/* "packs/ab/ab12…" for a pack name. Caller frees. */
char *repo_pack_path(const char *pack_name);
/* Garbage collection: a pack whose index it rebuilt from the pack's trailer, into the
 * in-memory index, so that list blocks in it can be read. The index must be loaded. */
int repo_add_rebuilt_pack(Repo *r, const char *name, const PackIndex *pi, UkError *err);
/* Is this a pack's name (32 hex digits)? */
bool repo_is_pack_name(const char *name);

#endif
