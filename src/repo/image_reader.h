/* Reads a backup's image back, chunk by chunk in order, checking each chunk's id against the
 * hash list. Used by restore, verify, copy and garbage collection. Decompressed frames are
 * kept in a small cache, so a full backup decompresses each frame once and an incremental one
 * stays cheap.
 *
 * The hash list is never held whole: a version 2 manifest's list is read a block at a time
 * (each block a chunk, checked against the id the manifest gives it) and the image hash is
 * checked over it as it goes, at the end; a version 1 manifest carries its list. Memory is
 * then the frame cache, whatever the backup's size. */
#ifndef UK_IMAGE_READER_H
#define UK_IMAGE_READER_H

#include "repo/repo.h"

typedef struct ImageReader ImageReader;

/* MANIFEST as repo_read_manifest(…, with_hashes = true) gives it (NULL: a reader for
 * image_reader_chunk only); the repository's index must be loaded. */
ImageReader *image_reader_new(Repo *repo, const Manifest *manifest);
/* Returns 1 and lends the next chunk's id (valid until the next call), 0 at the end of a list
 * that matches the image hash, -1 on error. For walking the list without reading chunks
 * (garbage collection); image_reader_next does it for each chunk. */
int image_reader_next_hash(ImageReader *r, const unsigned char **hash, UkError *err);
/* Lends the chunk HASH (valid until the next call), checked; WHAT names it in errors. */
int image_reader_chunk(ImageReader *r, const unsigned char *hash, const char *what,
                       const unsigned char **data, size_t *len, UkError *err);
/* Returns 1 and lends the next chunk (valid until the next call), 0 at the end, -1 on error
 * (missing or corrupt chunk, named in err). */
int image_reader_next(ImageReader *r, const unsigned char **data, size_t *len, UkError *err);
/* The same, also lending the chunk's id. */
int image_reader_next_with_id(ImageReader *r, const unsigned char **id, const unsigned char **data,
                              size_t *len, UkError *err);
void image_reader_free(ImageReader *r);

#endif
