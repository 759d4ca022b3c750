#include "repo/pack.h"

#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

#define FRAME_RECORD 20
#define ENTRY_RECORD 44

static void put_le(unsigned char *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int bytes)
{
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

int pack_index_encode(const PackIndex *idx, unsigned char **out, size_t *len, UkError *err)
{
    (void)err;
    size_t total = 8 + 8 + idx->n_frames * FRAME_RECORD + idx->n_entries * ENTRY_RECORD + 32;
    unsigned char *buf = xcalloc(1, total), *p = buf;
    memcpy(p, PACK_INDEX_MAGIC, 8);
    put_le(p + 8, idx->n_frames, 4);
    put_le(p + 12, idx->n_entries, 4);
    p += 16;
    for (size_t i = 0; i < idx->n_frames; i++, p += FRAME_RECORD) {
        put_le(p, idx->frames[i].offset, 8);
        put_le(p + 8, idx->frames[i].stored_len, 4);
        put_le(p + 12, idx->frames[i].raw_len, 4);
        p[16] = idx->frames[i].compression;
    }
    for (size_t i = 0; i < idx->n_entries; i++, p += ENTRY_RECORD) {
        memcpy(p, idx->entries[i].hash, 32);
        put_le(p + 32, idx->entries[i].frame, 4);
        put_le(p + 36, idx->entries[i].offset, 4);
        put_le(p + 40, idx->entries[i].length, 4);
    }
    SHA256(buf, (size_t)(p - buf), p);
    *out = buf;
    *len = total;
    return 0;
}

int pack_index_decode(const unsigned char *buf, size_t len, PackIndex *idx, UkError *err)
{
    memset(idx, 0, sizeof *idx);
    if (len < 16 + 32 || memcmp(buf, PACK_INDEX_MAGIC, 8) != 0)
        return uk_error_set(err, UK_E_FORMAT, 0, "not an upkeep pack index (bad magic)");
    unsigned char check[32];
    SHA256(buf, len - 32, check);
    if (memcmp(check, buf + len - 32, 32) != 0)
        return uk_error_set(err, UK_E_CORRUPT, 0, "pack index checksum mismatch");
    size_t n_frames = (size_t)get_le(buf + 8, 4), n_entries = (size_t)get_le(buf + 12, 4);
    if (16 + n_frames * FRAME_RECORD + n_entries * ENTRY_RECORD + 32 != len)
        return uk_error_set(err, UK_E_CORRUPT, 0, "pack index length fields are inconsistent");
    idx->frames = xcalloc(n_frames, sizeof *idx->frames);
    idx->entries = xcalloc(n_entries, sizeof *idx->entries);
    idx->n_frames = n_frames;
    idx->n_entries = n_entries;
    const unsigned char *p = buf + 16;
    for (size_t i = 0; i < n_frames; i++, p += FRAME_RECORD) {
        idx->frames[i].offset = get_le(p, 8);
        idx->frames[i].stored_len = (uint32_t)get_le(p + 8, 4);
        idx->frames[i].raw_len = (uint32_t)get_le(p + 12, 4);
        idx->frames[i].compression = p[16];
    }
    for (size_t i = 0; i < n_entries; i++, p += ENTRY_RECORD) {
        memcpy(idx->entries[i].hash, p, 32);
        idx->entries[i].frame = (uint32_t)get_le(p + 32, 4);
        idx->entries[i].offset = (uint32_t)get_le(p + 36, 4);
        idx->entries[i].length = (uint32_t)get_le(p + 40, 4);
        if (idx->entries[i].frame >= n_frames ||
            (uint64_t)idx->entries[i].offset + idx->entries[i].length >
                idx->frames[idx->entries[i].frame].raw_len) {
            pack_index_clear(idx);
            return uk_error_set(err, UK_E_CORRUPT, 0, "pack index entry %zu is out of range", i);
        }
    }
    return 0;
}

void pack_index_clear(PackIndex *idx)
{
    free(idx->frames);
    free(idx->entries);
    memset(idx, 0, sizeof *idx);
}

void pack_trailer_encode(size_t index_len, unsigned char out[PACK_TRAILER_BYTES])
{
    put_le(out, index_len, 8);
    memcpy(out + 8, PACK_TRAILER_MAGIC, 8);
}

int pack_read_trailer(Storage *s, const char *path, unsigned char **encoded, size_t *len,
                      UkError *err)
{
    *encoded = NULL;
    *len = 0;
    uint64_t size = 0;
    unsigned char tail[PACK_TRAILER_BYTES];
    if (storage_size(s, path, &size, err) != 0)
        return -1;
    if (size < 8 + PACK_TRAILER_BYTES ||
        storage_read_range(s, path, size - PACK_TRAILER_BYTES, PACK_TRAILER_BYTES, tail, err) != 0)
        return uk_error_set(err, UK_E_NOTFOUND, 0, "pack '%s' carries no index", path);
    uint64_t index_len = get_le(tail, 8);
    if (memcmp(tail + 8, PACK_TRAILER_MAGIC, 8) != 0)
        return uk_error_set(err, UK_E_NOTFOUND, 0, "pack '%s' carries no index", path);
    if (index_len < 48 || index_len > size - 8 - PACK_TRAILER_BYTES)
        return uk_error_set(err, UK_E_CORRUPT, 0, "pack '%s': its index trailer is damaged", path);
    unsigned char *buf = xmalloc((size_t)index_len);
    if (storage_read_range(s, path, size - PACK_TRAILER_BYTES - index_len, (size_t)index_len, buf,
                           err) != 0) {
        free(buf);
        return -1;
    }
    PackIndex check;
    if (pack_index_decode(buf, (size_t)index_len, &check, err) != 0) {
        free(buf);
        uk_error_prefix(err, "pack '%s': the index it carries: ", path);
        return -1;
    }
    pack_index_clear(&check);
    *encoded = buf;
    *len = (size_t)index_len;
    return 0;
}
