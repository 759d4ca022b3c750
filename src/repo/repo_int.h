/* Repository internals shared by repo.c, backup_writer.c and image_reader.c. */
#ifndef UK_REPO_INT_H
#define UK_REPO_INT_H

#include "repo/lock.h"
#include "repo/pack.h"
#include "repo/repo.h"

typedef struct RepoPack {
    char name[40]; /* 32 hex digits */
    PackFrame *frames;
    size_t n_frames;
} RepoPack;

struct Repo {
    char *name;
    RepoLock *lock;
    Storage *storage;
    int compression_level;
    int version; /* the repository's format version (config) */
    ChunkIndex *index;
    RepoPack *packs;
    size_t n_packs;
    bool index_loaded;
    size_t unreadable_indexes; /* skipped by repo_load_index: neither it nor its pack's copy read */
    char unreadable_example[40]; /* the name of one of them, for messages */
};

/* "packs/ab/ab12…" for a pack name. Caller frees. */
char *repo_pack_path(const char *pack_name);
/* Version 2 manifests: the hash list, read from the list blocks M names. */
int repo_resolve_list(Repo *r, Manifest *m, UkError *err);
/* Garbage collection: a pack whose index it rebuilt from the pack's trailer, into the
 * in-memory index, so that list blocks in it can be read. The index must be loaded. */
void repo_add_rebuilt_pack(Repo *r, const char *name, const PackIndex *pi);
/* Is this a pack's name (32 hex digits)? */
bool repo_is_pack_name(const char *name);

#endif
