/* Pack files and their indexes. A pack is a sequence of frames; a frame is a run of chunk
 * data compressed together (zstd) or stored as is. The index of a pack, a separate object,
 * says where each frame is and which chunks each frame holds. Layout:
 * docs/repository-format.md. */
#ifndef UK_PACK_H
#define UK_PACK_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define PACK_MAGIC "UKPACK1\n"
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

#endif
