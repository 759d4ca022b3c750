/* Compressing a whole file in place of itself (rotated logs). */
#ifndef UK_COMPRESS_FILE_H
#define UK_COMPRESS_FILE_H

#include <stdbool.h>

#include "core/error.h"

/* ".gz" for gzip, ".zst" for zstd, "" otherwise. */
const char *compress_file_suffix(const char *kind);
/* Writes SRC + suffix durably, then removes SRC. KIND is "gzip" or "zstd". */
int compress_file(const char *src, const char *kind, UkError *err);

#endif
