/* Appends frames to packs of about PACK_TARGET_BYTES. A finished pack (ending with a copy of
 * its index) is written durably at once, but its index object only when the writer is
 * published: until then no one else can find, and so depend on, its chunks, and a writer
 * freed without publishing removes the packs it wrote (a failed backup leaves nothing behind,
 * even on a full disk). Used by the backup writer and by garbage collection when it repacks. */
#ifndef UK_PACK_WRITER_H
#define UK_PACK_WRITER_H

#include "repo/pack.h"
#include "repo/repo.h"
#include "repo/storage.h"

#define PACK_TARGET_BYTES (16u * 1024 * 1024)

typedef struct PackWriter PackWriter;

/* Packs of REPO (sealed with its keys when it is encrypted). */
PackWriter *pack_writer_new(Repo *repo);
/* Adds one encoded frame and the chunks it holds (entries' `frame` is filled in). */
int pack_writer_add(PackWriter *w, const void *stored, size_t stored_len, uint32_t raw_len,
                    uint8_t compression, const PackEntry *entries, size_t n_entries, UkError *err);
/* Finishes the current pack, if any (written durably; its index not yet published). */
int pack_writer_flush(PackWriter *w, UkError *err);
/* Writes the index objects of every finished pack, durably: their chunks are now in the
 * repository. */
int pack_writer_publish(PackWriter *w, UkError *err);
/* Bytes written so far (packs and indexes). */
uint64_t pack_writer_bytes(const PackWriter *w);
/* Discards the pack being written and removes finished packs not yet published. NULL is
 * accepted. */
void pack_writer_free(PackWriter *w);

#endif
