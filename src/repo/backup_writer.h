/* Writes one backup into a repository: chunks in, packs + indexes + manifest out.
 *
 * Chunks arrive in image order (chunk 0 may come last, see db/sqlite). Consecutive chunks are
 * gathered into batches; worker threads hash each chunk (SHA-256), drop the ones the
 * repository already holds, and compress the rest together as one frame. The calling thread
 * retires batches in order: it appends frames to the current pack, records new chunks, and
 * fills the manifest's hash list. Memory: a fixed number of 256 KiB batches plus 32 bytes
 * per chunk for the hash list.
 *
 * A page image (SQLite) arrives as numbered fixed-size chunks (backup_writer_chunk); a stream
 * of unknown length (a server's dump) arrives as bytes (backup_writer_write), which the writer
 * cuts into content-defined chunks (repo/chunker.h) on the calling thread.
 *
 * Nothing becomes visible until backup_writer_commit publishes the manifest, after every pack
 * and index it needs is durable. */
#ifndef UK_BACKUP_WRITER_H
#define UK_BACKUP_WRITER_H

#include "repo/chunker.h"
#include "repo/repo.h"

typedef struct BackupWriter BackupWriter;

/* The repository must be locked (shared) and its index loaded. */
BackupWriter *backup_writer_new(Repo *repo, uint64_t image_size, uint32_t chunk_size);
/* A writer for a stream, cut with the given sizes (chunker_default unless a test says). */
BackupWriter *backup_writer_new_stream(Repo *repo, const ChunkerParams *chunking);
/* Page images: adds chunk `index`; len is chunk_size except for a shorter last chunk. */
int backup_writer_chunk(BackupWriter *w, uint64_t index, const void *data, size_t len,
                        UkError *err);
/* Streams: adds the next len bytes, in any pieces. */
int backup_writer_write(BackupWriter *w, const void *data, size_t len, UkError *err);
/* Files (manifest.h, version 3): the tree and data parts are streams written after the
 * image, one at a time. begin_part ends the stream before it (its last bytes become a chunk)
 * and sends the bytes that follow to part K (MANIFEST_PART_TREE or _DATA), cut with
 * CHUNKING. */
int backup_writer_begin_part(BackupWriter *w, int k, const ChunkerParams *chunking, UkError *err);
/* Cuts what is pending into chunks now, so that the next bytes start a chunk: the data part
 * ends each file with it, and a file's chunks are then the same wherever it sits. */
int backup_writer_end_piece(BackupWriter *w, UkError *err);
/* After end_piece: how many chunks and bytes the current part holds. */
void backup_writer_position(const BackupWriter *w, uint64_t *chunks, uint64_t *bytes);
/* Forgets what the current part took since a position (a file that changed while it was
 * read, and is read again): its chunks stay stored, unreferenced, until a prune. */
int backup_writer_rewind(BackupWriter *w, uint64_t chunks, uint64_t bytes, UkError *err);
/* After end_piece: appends N chunks this repository holds (IDS, BYTES long together) to the
 * current part without their bytes: a file unchanged since the last backup. Returns 1, or 0
 * and appends nothing when one of them is not there for a backup to reuse (a pack garbage
 * collection has marked holds it): the file is then read again. */
int backup_writer_append_known(BackupWriter *w, const unsigned char *ids, uint64_t n,
                               uint64_t bytes, UkError *err);
/* The ids of chunks [FIRST, FIRST + N) of part K, a part finished before the current one. */
int backup_writer_part_hashes(BackupWriter *w, int k, uint64_t first, uint64_t n,
                              unsigned char *out, UkError *err);
/* Flushes everything and publishes the manifest. meta supplies id, database, job, tags and
 * source; the writer fills sizes, hashes and stats. */
int backup_writer_commit(BackupWriter *w, Manifest *meta, UkError *err);
/* Aborts an uncommitted backup (its finished packs stay until prune collects them). */
void backup_writer_free(BackupWriter *w);

#endif
