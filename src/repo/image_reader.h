/* Reads a backup's image back, chunk by chunk in order, checking each chunk's SHA-256 against
 * the manifest. Used by restore and verify. Decompressed frames are kept in a small cache,
 * so a full backup decompresses each frame once and an incremental one stays cheap. */
#ifndef UK_IMAGE_READER_H
#define UK_IMAGE_READER_H

#include "repo/repo.h"

typedef struct ImageReader ImageReader;

/* manifest must carry its hash list (NULL: a reader for image_reader_chunk only); the
 * repository's index must be loaded. */
ImageReader *image_reader_new(Repo *repo, const Manifest *manifest);
/* Lends the chunk HASH (valid until the next call), checked; WHAT names it in errors. */
int image_reader_chunk(ImageReader *r, const unsigned char *hash, const char *what,
                       const unsigned char **data, size_t *len, UkError *err);
/* Returns 1 and lends the next chunk (valid until the next call), 0 at the end, -1 on error
 * (missing or corrupt chunk, named in err). */
int image_reader_next(ImageReader *r, const unsigned char **data, size_t *len, UkError *err);
void image_reader_free(ImageReader *r);

#endif
