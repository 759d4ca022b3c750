/* Whole-file compression for rotated logs: gzip (zlib, for compatibility with zcat and
 * logrotate's output) or zstd (libzstd's streaming API). The result is written to a
 * temporary name, synced, and renamed into place, so a crash leaves either the complete
 * compressed file or none; the source is removed only after that. */
#include "filter/compress_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "common/util.h"

#define CHUNK (256 * 1024)

static int gzip_stream(int in, int out, UkError *err)
{
    z_stream z = {0};
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16 /* gzip wrapper */, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return uk_error_set(err, UK_E_INTERNAL, 0, "zlib could not start");
    unsigned char *src = xmalloc(CHUNK), *dst = xmalloc(CHUNK);
    int rc = 0, flush;
    do {
        ssize_t n = read(in, src, CHUNK);
        if (n < 0) {
            rc = uk_error_set(err, UK_E_IO, errno, "read failed");
            break;
        }
        flush = n == 0 ? Z_FINISH : Z_NO_FLUSH;
        z.next_in = src;
        z.avail_in = (uInt)n;
        do {
            z.next_out = dst;
            z.avail_out = CHUNK;
            deflate(&z, flush);
            rc = write_all(out, dst, CHUNK - z.avail_out, "compressed log", err);
        } while (rc == 0 && z.avail_out == 0);
    } while (rc == 0 && flush != Z_FINISH);
    deflateEnd(&z);
    free(src);
    free(dst);
    return rc;
}

static int zstd_stream(int in, int out, UkError *err)
{
    ZSTD_CCtx *cctx = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, 3);
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
    unsigned char *src = xmalloc(CHUNK), *dst = xmalloc(CHUNK);
    int rc = 0;
    for (bool last = false; rc == 0 && !last;) {
        ssize_t n = read(in, src, CHUNK);
        if (n < 0) {
            rc = uk_error_set(err, UK_E_IO, errno, "read failed");
            break;
        }
        last = n == 0;
        ZSTD_inBuffer ib = {src, (size_t)n, 0};
        size_t remaining;
        do {
            ZSTD_outBuffer ob = {dst, CHUNK, 0};
            remaining = ZSTD_compressStream2(cctx, &ob, &ib, last ? ZSTD_e_end : ZSTD_e_continue);
            if (ZSTD_isError(remaining)) {
                rc = uk_error_set(err, UK_E_INTERNAL, 0, "zstd: %s", ZSTD_getErrorName(remaining));
                break;
            }
            rc = write_all(out, dst, ob.pos, "compressed log", err);
        } while (rc == 0 && (last ? remaining != 0 : ib.pos < ib.size));
    }
    ZSTD_freeCCtx(cctx);
    free(src);
    free(dst);
    return rc;
}

const char *compress_file_suffix(const char *kind)
{
    return strcmp(kind, "gzip") == 0 ? ".gz" : strcmp(kind, "zstd") == 0 ? ".zst" : "";
}

int compress_file(int dirfd, const char *src, const char *kind, UkError *err)
{
    char *dst = xasprintf("%s%s", src, compress_file_suffix(kind));
    char *tmp = xasprintf("%s.upkeep-tmp", dst);
    int in = openat(dirfd, src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), out = -1, rc = -1;
    struct stat st;
    if (in < 0 || fstat(in, &st) != 0) {
        uk_error_set(err, UK_E_IO, errno, "unable to read '%s'", src);
        goto out;
    }
    out = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
                 st.st_mode & 07777);
    if (out < 0) {
        uk_error_set(err, errno == ENOSPC ? UK_E_NOSPACE : UK_E_IO, errno, "unable to create '%s'",
                     tmp);
        goto out;
    }
    if (fchown(out, st.st_uid, st.st_gid) != 0) {
        /* Not the owner's to give away (not root): the file stays ours, which is fine. */
    }
    rc = strcmp(kind, "gzip") == 0 ? gzip_stream(in, out, err) : zstd_stream(in, out, err);
    if (rc == 0 && fsync(out) != 0)
        rc = uk_error_set(err, errno == ENOSPC ? UK_E_NOSPACE : UK_E_IO, errno,
                          "unable to write '%s'", tmp);
    if (rc == 0) {
        struct timespec times[2] = {st.st_atim, st.st_mtim}; /* keep the log's time, as gzip */
        futimens(out, times);
    }
    close(out);
    out = -1;
    if (rc == 0 && renameat(dirfd, tmp, dirfd, dst) != 0)
        rc = uk_error_set(err, UK_E_IO, errno, "unable to rename '%s'", tmp);
    if (rc == 0) {
        fsync(dirfd);
        unlinkat(dirfd, src, 0); /* only once the compressed copy is durable */
    } else {
        unlinkat(dirfd, tmp, 0);
    }
out:
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    free(tmp);
    free(dst);
    return rc;
}
