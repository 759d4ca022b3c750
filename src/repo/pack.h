/* Pack files and their indexes. A pack is a sequence of frames; a frame is a run of chunk
 * data compressed together (zstd) or stored as is. The index of a pack, a separate object,
 * says where each frame is and which chunks each frame holds. Layout:
 * docs/repository-format.md. */
#ifndef UK_PACK_H
#define UK_PACK_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "repo/storage.h"

#define PACK_MAGIC "UKPACK1\n"
/* A pack ends with a copy of its own index, so a lost or damaged index object can be rebuilt
 * from the pack alone: frames, then the index bytes exactly as index/<id> holds them, then
 * their length (u64) and this magic. */
#define PACK_TRAILER_MAGIC "UKPEND1\n"
#define PACK_TRAILER_BYTES 16
#define PACK_INDEX_MAGIC "UKIDX1\n\0"

enum { FRAME_STORED = 0, FRAME_ZSTD = 1 };

typedef struct PackFrame {
    uint64_t offset;
    uint32_t stored_len;
    uint32_t raw_len;
    uint8_t compression;
} PackFrame;

typedef struct PackEntry {
    unsigned char hash[32];
    uint32_t frame;
    uint32_t offset;
    uint32_t length;
} PackEntry;

typedef struct PackIndex {
    PackFrame *frames;
    size_t n_frames;
    PackEntry *entries;
    size_t n_entries;
} PackIndex;

int pack_index_encode(const PackIndex *idx, unsigned char **out, size_t *len, UkError *err);
int pack_index_decode(const unsigned char *buf, size_t len, PackIndex *out, UkError *err);
void pack_index_clear(PackIndex *idx);

/* Reads and checks the index a pack carries at its end (PATH is the pack's object name).
 * *encoded gets its bytes, as index/<id> would hold them; caller frees. UK_E_NOTFOUND when
 * the pack has none (packs written before trailers existed). */
int pack_read_trailer(Storage *s, const char *path, unsigned char **encoded, size_t *len,
                      UkError *err);
/* The trailer that follows the index bytes in a pack (PACK_TRAILER_BYTES). */
void pack_trailer_encode(size_t index_len, unsigned char out[PACK_TRAILER_BYTES]);

#endif
