/* Repository internals shared by repo.c, backup_writer.c and image_reader.c. */
#ifndef UK_REPO_INT_H
#define UK_REPO_INT_H

#include "repo/pack.h"
#include "repo/repo.h"

typedef struct RepoPack {
    char name[40]; /* 32 hex digits */
    PackFrame *frames;
    size_t n_frames;
} RepoPack;

struct Repo {
    char *name;
    Storage *storage;
    int compression_level;
    ChunkIndex *index;
    RepoPack *packs;
    size_t n_packs;
    bool index_loaded;
};

/* "packs/ab/ab12…" for a pack name. Caller frees. */
char *repo_pack_path(const char *pack_name);

#endif
