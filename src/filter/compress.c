#include "filter/compress.h"

#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "common/util.h"
#include "repo/pack.h"

struct Compressor {
    ZSTD_CCtx *cctx;
    int level;
};

Compressor *compressor_new(int level)
{
    Compressor *c = xcalloc(1, sizeof *c);
    c->level = level;
    if (level > 0) {
        c->cctx = ZSTD_createCCtx();
        if (!c->cctx)
            abort();
        ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_compressionLevel, level);
        ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_checksumFlag, 1);
    }
    return c;
}

void compressor_free(Compressor *c)
{
    if (!c)
        return;
    ZSTD_freeCCtx(c->cctx);
    free(c);
}

size_t compress_bound(size_t raw_len)
{
    return ZSTD_compressBound(raw_len);
}

size_t compress_frame(Compressor *c, const void *raw, size_t raw_len, void *out, size_t out_cap,
                      uint8_t *compression)
{
    if (c->level > 0) {
        size_t n = ZSTD_compress2(c->cctx, out, out_cap, raw, raw_len);
        if (!ZSTD_isError(n) && n < raw_len) {
            *compression = FRAME_ZSTD;
            return n;
        }
    }
    /* Incompressible data (or level 0) is stored as is: never larger than the input. */
    if (out_cap < raw_len)
        return 0;
    memcpy(out, raw, raw_len);
    *compression = FRAME_STORED;
    return raw_len ? raw_len : 0;
}

int decompress_frame(uint8_t compression, const void *in, size_t in_len, void *out, size_t raw_len,
                     UkError *err)
{
    if (compression == FRAME_STORED) {
        if (in_len != raw_len)
            return uk_error_set(err, UK_E_CORRUPT, 0, "stored frame has the wrong length");
        memcpy(out, in, raw_len);
        return 0;
    }
    if (compression != FRAME_ZSTD)
        return uk_error_set(err, UK_E_FORMAT, 0, "unknown frame compression %d", compression);
    size_t n = ZSTD_decompress(out, raw_len, in, in_len);
    if (ZSTD_isError(n))
        return uk_error_set(err, UK_E_CORRUPT, 0, "frame does not decompress: %s",
                            ZSTD_getErrorName(n));
    if (n != raw_len)
        return uk_error_set(err, UK_E_CORRUPT, 0, "frame decompresses to %zu bytes, expected %zu",
                            n, raw_len);
    return 0;
}
