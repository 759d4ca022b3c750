/* Frame compression: the one place that knows how a frame's bytes are encoded, so that an
 * encryption filter can later wrap the same calls. A frame is compressed as one zstd frame
 * (with its content size and checksum) or stored as is when the level is 0. */
#ifndef UK_COMPRESS_H
#define UK_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef struct Compressor Compressor;

Compressor *compressor_new(int level);
void compressor_free(Compressor *c);
size_t compress_bound(size_t raw_len);
/* Encodes raw into out (capacity compress_bound(raw_len)); sets *compression to the frame
 * kind (FRAME_STORED or FRAME_ZSTD from pack.h) and returns the encoded length, or 0 on error. */
size_t compress_frame(Compressor *c, const void *raw, size_t raw_len, void *out, size_t out_cap,
                      uint8_t *compression);
/* Decodes a frame of the given kind into out, which must hold exactly raw_len bytes. */
int decompress_frame(uint8_t compression, const void *in, size_t in_len, void *out, size_t raw_len,
                     UkError *err);

#endif
