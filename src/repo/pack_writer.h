/* Appends frames to packs of about PACK_TARGET_BYTES and publishes each finished pack with
 * its index: the pack first, then the index, both durably. Used by the backup writer and by
 * garbage collection when it repacks. */
#ifndef UK_PACK_WRITER_H
#define UK_PACK_WRITER_H

#include "repo/pack.h"
#include "repo/storage.h"

#define PACK_TARGET_BYTES (16u * 1024 * 1024)

typedef struct PackWriter PackWriter;

PackWriter *pack_writer_new(Storage *storage);
/* Adds one encoded frame and the chunks it holds (entries' `frame` is filled in). */
int pack_writer_add(PackWriter *w, const void *stored, size_t stored_len, uint32_t raw_len,
                    uint8_t compression, const PackEntry *entries, size_t n_entries, UkError *err);
/* Publishes the current pack, if any. */
int pack_writer_flush(PackWriter *w, UkError *err);
/* Bytes written so far (packs and indexes). */
uint64_t pack_writer_bytes(const PackWriter *w);
/* Discards an unpublished pack. NULL is accepted. */
void pack_writer_free(PackWriter *w);

#endif
