#include "repo/pack.h"

#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "common/util.h"
#include "filter/compress.h"
#include "repo/repo_int.h"

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

/* A frame record, as both the index and a pack's trailer write it. */
static void put_frame(unsigned char *p, const PackFrame *f)
{
    put_le(p, f->offset, 8);
    put_le(p + 8, f->stored_len, 4);
    put_le(p + 12, f->raw_len, 4);
    p[16] = f->compression;
}

static void get_frame(const unsigned char *p, PackFrame *f)
{
    f->offset = get_le(p, 8);
    f->stored_len = (uint32_t)get_le(p + 8, 4);
    f->raw_len = (uint32_t)get_le(p + 12, 4);
    f->compression = p[16];
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
    for (size_t i = 0; i < idx->n_frames; i++, p += FRAME_RECORD)
        put_frame(p, &idx->frames[i]);
    for (size_t i = 0; i < idx->n_entries; i++, p += ENTRY_RECORD) {
        memcpy(p, idx->entries[i].hash, 32);
        put_le(p + 32, idx->entries[i].frame, 4);
        put_le(p + 36, idx->entries[i].offset, 4);
        put_le(p + 40, idx->entries[i].length, 4);
    }
    crypto_sha256(buf, (size_t)(p - buf), p);
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
    crypto_sha256(buf, len - 32, check);
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
    for (size_t i = 0; i < n_frames; i++, p += FRAME_RECORD)
        get_frame(p, &idx->frames[i]);
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

#define TRAILER_ENTRY 12

/* Pack NAME's 16-byte id, from its name (32 hex digits). */
static int pack_id_of(const char *name, unsigned char id[16], UkError *err)
{
    if (hex_decode(name, id, 16) != 0)
        return uk_error_set(err, UK_E_CORRUPT, 0, "'%s' is not a pack's name", name);
    return 0;
}

static char *trailer_name(const char *name)
{
    return xasprintf("packs/%s/trailer", name);
}

int pack_trailer_encode(const PackIndex *idx, const Keyring *keys, const char *name,
                        unsigned char **out, size_t *len, UkError *err)
{
    *out = NULL;
    *len = 0;
    size_t body = 8 + idx->n_frames * FRAME_RECORD + idx->n_entries * TRAILER_ENTRY + 32;
    unsigned char *buf = xcalloc(1, body), *p = buf;
    put_le(p, idx->n_frames, 4);
    put_le(p + 4, idx->n_entries, 4);
    p += 8;
    for (size_t i = 0; i < idx->n_frames; i++, p += FRAME_RECORD)
        put_frame(p, &idx->frames[i]);
    for (size_t i = 0; i < idx->n_entries; i++, p += TRAILER_ENTRY) {
        put_le(p, idx->entries[i].frame, 4);
        put_le(p + 4, idx->entries[i].offset, 4);
        put_le(p + 8, idx->entries[i].length, 4);
    }
    crypto_sha256(buf, (size_t)(p - buf), p);
    /* Sealed in an encrypted repository: the layout says where chunks begin and end. */
    unsigned char *sealed = buf;
    size_t sealed_len = body;
    if (keys) {
        char *what = trailer_name(name);
        int rc = keyring_seal(keys, what, buf, body, &sealed, &sealed_len, err);
        free(what);
        free(buf);
        if (rc != 0)
            return -1;
    }
    unsigned char *all = xrealloc(sealed, sealed_len + PACK_TRAILER_BYTES);
    put_le(all + sealed_len, sealed_len, 8);
    memcpy(all + sealed_len + 8, keys ? PACK_TRAILER_MAGIC_SEALED : PACK_TRAILER_MAGIC, 8);
    *out = all;
    *len = sealed_len + PACK_TRAILER_BYTES;
    return 0;
}

/* Decodes a trailer body (its hash checked) into IDX, hashes not yet filled in. */
static int decode_trailer(const unsigned char *buf, size_t len, uint64_t data_start,
                          uint64_t data_end, PackIndex *idx, UkError *err)
{
    memset(idx, 0, sizeof *idx);
    unsigned char check[32];
    if (len < 8 + 32)
        return uk_error_set(err, UK_E_CORRUPT, 0, "its trailer is damaged");
    crypto_sha256(buf, len - 32, check);
    if (memcmp(check, buf + len - 32, 32) != 0)
        return uk_error_set(err, UK_E_CORRUPT, 0, "its trailer is damaged");
    size_t n_frames = (size_t)get_le(buf, 4), n_entries = (size_t)get_le(buf + 4, 4);
    if (8 + n_frames * FRAME_RECORD + n_entries * TRAILER_ENTRY + 32 != len)
        return uk_error_set(err, UK_E_CORRUPT, 0, "its trailer's lengths are inconsistent");
    idx->frames = xcalloc(n_frames ? n_frames : 1, sizeof *idx->frames);
    idx->entries = xcalloc(n_entries ? n_entries : 1, sizeof *idx->entries);
    idx->n_frames = n_frames;
    idx->n_entries = n_entries;
    const unsigned char *p = buf + 8;
    for (size_t i = 0; i < n_frames; i++, p += FRAME_RECORD) {
        PackFrame *f = &idx->frames[i];
        get_frame(p, f);
        if (f->offset < data_start || f->offset > data_end ||
            f->stored_len > data_end - f->offset || f->raw_len > (1u << 28)) {
            pack_index_clear(idx);
            return uk_error_set(err, UK_E_CORRUPT, 0, "its trailer names frame %zu out of range",
                                i);
        }
    }
    for (size_t i = 0; i < n_entries; i++, p += TRAILER_ENTRY) {
        PackEntry *e = &idx->entries[i];
        e->frame = (uint32_t)get_le(p, 4);
        e->offset = (uint32_t)get_le(p + 4, 4);
        e->length = (uint32_t)get_le(p + 8, 4);
        if (e->frame >= n_frames ||
            (uint64_t)e->offset + e->length > idx->frames[e->frame].raw_len) {
            pack_index_clear(idx);
            return uk_error_set(err, UK_E_CORRUPT, 0, "its trailer names chunk %zu out of range",
                                i);
        }
    }
    return 0;
}

int pack_key(Storage *s, const Keyring *keys, const char *name, unsigned char key[32], UkError *err)
{
    unsigned char head[PACK_SEALED_START], id[16];
    char *path = repo_pack_path(name);
    int rc = pack_id_of(name, id, err);
    if (rc == 0)
        rc = storage_read_range(s, path, 0, sizeof head, head, err);
    if (rc == 0 && memcmp(head, PACK_MAGIC_SEALED, 8) != 0)
        rc = uk_error_set(err, UK_E_CORRUPT, 0, "pack '%s' is not an encrypted pack", name);
    if (rc == 0)
        rc = keyring_pack_key_for_reading(keys, id, head + 8, key, err);
    free(path);
    return rc;
}

int pack_read_frame(Storage *s, const char *name, const unsigned char *key, uint32_t frame_no,
                    const PackFrame *f, unsigned char *stored, unsigned char *raw, UkError *err)
{
    char *path = repo_pack_path(name);
    int rc = storage_read_range(s, path, f->offset, f->stored_len, stored, err);
    free(path);
    size_t len = f->stored_len;
    if (rc == 0 && key) {
        unsigned char id[16];
        rc = pack_id_of(name, id, err);
        if (rc == 0 && (f->stored_len < 16 ||
                        keyring_frame_open(key, id, frame_no, f->offset, f->compression, f->raw_len,
                                           stored, f->stored_len, stored, err) != 0))
            rc = uk_error_set(err, UK_E_CORRUPT, 0, "it fails authentication");
        len -= 16;
    }
    if (rc == 0)
        rc = decompress_frame(f->compression, stored, len, raw, f->raw_len, err);
    return rc;
}

int pack_read_trailer(Storage *s, const Keyring *keys, const char *name, PackIndex *idx,
                      unsigned char **encoded, size_t *len, UkError *err)
{
    memset(idx, 0, sizeof *idx);
    if (encoded) {
        *encoded = NULL;
        *len = 0;
    }
    char *path = repo_pack_path(name);
    uint64_t size = 0;
    unsigned char tail[PACK_TRAILER_BYTES];
    const char *magic = keys ? PACK_TRAILER_MAGIC_SEALED : PACK_TRAILER_MAGIC;
    uint64_t data_start = keys ? PACK_SEALED_START : 8;
    unsigned char *buf = NULL, *body = NULL, *stored = NULL, *raw = NULL;
    size_t body_len = 0;
    unsigned char key[32];
    ChunkNamer *namer = NULL;
    int rc = -1;
    if (storage_size(s, path, &size, err) != 0)
        goto out;
    if (size < data_start + PACK_TRAILER_BYTES ||
        storage_read_range(s, path, size - PACK_TRAILER_BYTES, PACK_TRAILER_BYTES, tail, err) !=
            0 ||
        memcmp(tail + 8, magic, 8) != 0) {
        uk_error_set(err, UK_E_NOTFOUND, 0, "pack '%s' carries no index layout", name);
        goto out;
    }
    uint64_t stored_len = get_le(tail, 8);
    if (stored_len < 8 + 32 || stored_len > size - data_start - PACK_TRAILER_BYTES) {
        uk_error_set(err, UK_E_CORRUPT, 0, "pack '%s': its trailer is damaged", name);
        goto out;
    }
    uint64_t data_end = size - PACK_TRAILER_BYTES - stored_len;
    buf = xmalloc((size_t)stored_len);
    if (storage_read_range(s, path, data_end, (size_t)stored_len, buf, err) != 0)
        goto out;
    if (keys) {
        char *what = trailer_name(name);
        int opened = keyring_open(keys, what, buf, (size_t)stored_len, &body, &body_len, err);
        free(what);
        if (opened != 0)
            goto out;
    } else {
        body = buf;
        body_len = (size_t)stored_len;
        buf = NULL;
    }
    if (decode_trailer(body, body_len, data_start, data_end, idx, err) != 0) {
        uk_error_prefix(err, "pack '%s': ", name);
        goto out;
    }
    if (keys && pack_key(s, keys, name, key, err) != 0)
        goto out;
    /* The ids, from the data itself: a frame that fails to open or decompress fails the
     * rebuild. */
    namer = chunk_namer_new(keys);
    for (size_t f = 0; f < idx->n_frames; f++) {
        const PackFrame *fr = &idx->frames[f];
        stored = xrealloc(stored, fr->stored_len ? fr->stored_len : 1);
        raw = xrealloc(raw, fr->raw_len ? fr->raw_len : 1);
        if (pack_read_frame(s, name, keys ? key : NULL, (uint32_t)f, fr, stored, raw, err) != 0) {
            uk_error_prefix(err, "pack '%s': frame %zu: ", name, f);
            goto out;
        }
        for (size_t e = 0; e < idx->n_entries; e++)
            if (idx->entries[e].frame == f)
                chunk_namer_id(namer, raw + idx->entries[e].offset, idx->entries[e].length,
                               idx->entries[e].hash);
    }
    rc = encoded ? pack_index_encode(idx, encoded, len, err) : 0;
out:
    if (rc != 0)
        pack_index_clear(idx);
    explicit_bzero(key, sizeof key);
    chunk_namer_free(namer);
    free(stored);
    free(raw);
    free(buf);
    free(body);
    free(path);
    return rc;
}
