/* Compressing a whole file in place of itself (rotated logs). */
#ifndef UK_COMPRESS_FILE_H
#define UK_COMPRESS_FILE_H

#include <stdbool.h>

#include "core/error.h"

/* ".gz" for gzip, ".zst" for zstd, "" otherwise. */
const char *compress_file_suffix(const char *kind);
/* Writes SRC + suffix durably, then removes SRC; both are names in the folder open at DIRFD,
 * never followed if they are symlinks. KIND is "gzip" or "zstd". */
int compress_file(int dirfd, const char *src, const char *kind, UkError *err);

#endif
