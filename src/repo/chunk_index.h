/* In-memory map from chunk hash (SHA-256) to where the chunk is stored: pack, frame inside
 * the pack, and the byte range inside the frame's decompressed data.
 *
 * 48 bytes per slot, at most three quarters full: about 64 bytes per chunk, 16 MiB for the
 * 262,144 pages of a 1 GiB database. */
#ifndef UK_CHUNK_INDEX_H
#define UK_CHUNK_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHUNK_HASH_LEN 32

typedef struct ChunkLocation {
    uint32_t pack;   /* index into the owner's pack table */
    uint32_t frame;  /* index into that pack's frame table */
    uint32_t offset; /* offset inside the decompressed frame */
    uint32_t length;
} ChunkLocation;

typedef struct ChunkIndex ChunkIndex;

ChunkIndex *chunk_index_new(void);
void chunk_index_free(ChunkIndex *idx);
size_t chunk_index_count(const ChunkIndex *idx);
/* Makes room for count entries in all, so loading a known number of entries never resizes. */
void chunk_index_reserve(ChunkIndex *idx, size_t count);
/* Adds hash unless present; returns true when it was added. */
bool chunk_index_add(ChunkIndex *idx, const unsigned char *hash, const ChunkLocation *loc);
/* Returns the stored location, or NULL. The pointer is valid until the next add. */
const ChunkLocation *chunk_index_get(const ChunkIndex *idx, const unsigned char *hash);
/* Calls fn for every entry, in no order. */
void chunk_index_foreach(const ChunkIndex *idx,
                         void (*fn)(void *ctx, const unsigned char *hash, const ChunkLocation *loc),
                         void *ctx);

#endif
