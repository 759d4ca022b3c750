/* Pack files and their indexes. A pack is a sequence of frames; a frame is a run of chunk
 * data compressed together (zstd) or stored as is. The index of a pack, a separate object,
 * says where each frame is and which chunks each frame holds. Layout:
 * docs/repository-format.md. */
#ifndef UK_PACK_H
#define UK_PACK_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "repo/keyring.h"
#include "repo/storage.h"

#define PACK_MAGIC "UKPACK1\n"
/* An encrypted repository's pack: this magic, then KEYRING_PACK_HEADER bytes (its backup's
 * ephemeral public key, or zeros), then frames sealed with the pack's key. */
#define PACK_MAGIC_SEALED "UKPACK2\n"
#define PACK_SEALED_START (8 + 32) /* where an encrypted pack's first frame starts */
/* A pack ends with the layout of its own index, so a lost or damaged index object can be
 * rebuilt from the pack alone: after the frames, the frame table (20 bytes a frame, as in
 * the index), each chunk's frame, offset and length (12 bytes; its hash is recomputed from
 * the data on rebuilding, which is what keeps the trailer at a quarter of the index's
 * size), the SHA-256 of those bytes, then their length (u64, the 32-byte hash included) and
 * this magic. */
#define PACK_TRAILER_MAGIC "UKPEND1\n"
/* An encrypted pack's trailer: the same body, sealed as object "<pack path>/trailer". */
#define PACK_TRAILER_MAGIC_SEALED "UKPEND2\n"
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

/* Rebuilds pack NAME's index from its trailer and data: reads each frame, checks (opens,
 * with KEYS of an encrypted repository) and decompresses it, and names every chunk, into
 * *idx (clear it with pack_index_clear). With ENCODED, *encoded also gets the index as
 * index/<id> holds it before sealing; caller frees. UK_E_NOTFOUND when the pack has no
 * trailer (packs written before trailers existed). */
int pack_read_trailer(Storage *s, const Keyring *keys, const char *name, PackIndex *idx,
                      unsigned char **encoded, size_t *len, UkError *err);
/* The trailer of pack NAME for IDX, the pack's index: what a pack writer appends after the
 * frames, sealed with KEYS when the repository is encrypted. Caller frees *out. */
int pack_trailer_encode(const PackIndex *idx, const Keyring *keys, const char *name,
                        unsigned char **out, size_t *len, UkError *err);

/* The key of encrypted pack NAME, from its header. */
int pack_key(Storage *s, const Keyring *keys, const char *name, unsigned char key[32],
             UkError *err);
/* Reads frame FRAME_NO (F) of pack NAME into RAW (f->raw_len bytes): opened with KEY (an
 * encrypted pack's, else NULL), then decompressed. STORED is scratch of f->stored_len bytes. */
int pack_read_frame(Storage *s, const char *name, const unsigned char *key, uint32_t frame_no,
                    const PackFrame *f, unsigned char *stored, unsigned char *raw, UkError *err);

#endif
