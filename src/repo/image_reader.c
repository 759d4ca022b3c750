#include "repo/image_reader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "common/util.h"
#include "filter/compress.h"
#include "repo/repo_int.h"

#define FRAME_CACHE 4

typedef struct CachedFrame {
    uint32_t pack, frame;
    bool valid;
    uint64_t last_used;
    unsigned char *data;
    size_t cap;
} CachedFrame;

struct ImageReader {
    Repo *repo;
    ChunkNamer *namer;
    const Manifest *manifest;
    uint64_t next;
    uint64_t bytes; /* handed out so far */
    uint64_t clock;
    CachedFrame cache[FRAME_CACHE];
    unsigned char *stored;
    size_t stored_cap;
    /* Version 2: the list block being walked, and the image hash over the list so far. */
    unsigned char block[MANIFEST_LIST_MAX * 32];
    size_t block_n, block_at;
    uint64_t next_block, listed;
    CryptoSha256 *image_hash;
};

ImageReader *image_reader_new(Repo *repo, const Manifest *manifest)
{
    ImageReader *r = xcalloc(1, sizeof *r);
    r->repo = repo;
    r->manifest = manifest;
    r->namer = chunk_namer_new(repo->keys);
    if (manifest && manifest->version >= 2)
        r->image_hash = crypto_sha256_new();
    return r;
}

void image_reader_free(ImageReader *r)
{
    if (!r)
        return;
    for (int i = 0; i < FRAME_CACHE; i++)
        free(r->cache[i].data);
    free(r->stored);
    crypto_sha256_free(r->image_hash);
    chunk_namer_free(r->namer);
    free(r);
}

static CachedFrame *load_frame(ImageReader *r, uint32_t pack_no, uint32_t frame_no, UkError *err)
{
    CachedFrame *victim = &r->cache[0];
    for (int i = 0; i < FRAME_CACHE; i++) {
        CachedFrame *c = &r->cache[i];
        if (c->valid && c->pack == pack_no && c->frame == frame_no) {
            c->last_used = ++r->clock;
            return c;
        }
        if (!c->valid || c->last_used < victim->last_used)
            victim = c;
    }
    RepoPack *pack = &r->repo->packs[pack_no];
    PackFrame *f = &pack->frames[frame_no];
    if (r->stored_cap < f->stored_len) {
        r->stored = xrealloc(r->stored, f->stored_len);
        r->stored_cap = f->stored_len;
    }
    if (victim->cap < f->raw_len) {
        victim->data = xrealloc(victim->data, f->raw_len);
        victim->cap = f->raw_len;
    }
    victim->valid = false;
    int rc = 0;
    Keyring *keys = r->repo->keys;
    if (keys && !pack->have_key) {
        rc = pack_key(r->repo->storage, keys, pack->name, pack->key, err);
        pack->have_key = rc == 0;
    }
    if (rc == 0)
        rc = pack_read_frame(r->repo->storage, pack->name, keys ? pack->key : NULL, frame_no, f,
                             r->stored, victim->data, err);
    if (rc != 0)
        uk_error_prefix(err, "pack '%s' frame %u: ", pack->name, frame_no);
    if (rc != 0)
        return NULL;
    victim->pack = pack_no;
    victim->frame = frame_no;
    victim->valid = true;
    victim->last_used = ++r->clock;
    return victim;
}

/* Where chunk HASH is; -1 with err naming it (WHAT: "chunk 12") when nowhere. */
static int locate(ImageReader *r, const unsigned char *hash, const char *what, ChunkLocation *loc,
                  UkError *err)
{
    if (chunk_set_find(r->repo->index, hash, loc))
        return 0;
    char hex[65];
    hex_encode(hash, 32, hex);
    if (r->repo->unreadable_indexes > 0)
        uk_error_set(err, UK_E_CORRUPT, 0,
                     "%s (%s) is missing from the repository (%zu index files are unreadable, "
                     "e.g. 'index/%s')",
                     what, hex, r->repo->unreadable_indexes, r->repo->unreadable_example);
    else
        uk_error_set(err, UK_E_CORRUPT, 0, "%s (%s) is missing from the repository", what, hex);
    return -1;
}

/* Lends the bytes at LOC, checked against HASH. */
static int read_located(ImageReader *r, const ChunkLocation *loc, const unsigned char *hash,
                        const char *what, const unsigned char **data, UkError *err)
{
    CachedFrame *frame = load_frame(r, loc->pack, loc->frame, err);
    if (!frame) {
        uk_error_prefix(err, "%s: ", what);
        return -1;
    }
    unsigned char actual[32];
    chunk_namer_id(r->namer, frame->data + loc->offset, loc->length, actual);
    if (memcmp(actual, hash, 32) != 0) {
        char hex[65];
        hex_encode(hash, 32, hex);
        return uk_error_set(err, UK_E_CORRUPT, 0, "%s (%s) in pack '%s' is corrupt (hash mismatch)",
                            what, hex, r->repo->packs[loc->pack].name);
    }
    *data = frame->data + loc->offset;
    return 0;
}

int image_reader_chunk(ImageReader *r, const unsigned char *hash, const char *what,
                       const unsigned char **data, size_t *len, UkError *err)
{
    ChunkLocation loc;
    if (locate(r, hash, what, &loc, err) != 0 || read_located(r, &loc, hash, what, data, err) != 0)
        return -1;
    *len = loc.length;
    return 0;
}

/* Version 2: reads list block r->next_block into r->block. */
static int next_list_block(ImageReader *r, UkError *err)
{
    const Manifest *m = r->manifest;
    char what[48];
    snprintf(what, sizeof what, "chunk list block %llu", (unsigned long long)r->next_block);
    const unsigned char *data = NULL;
    size_t len = 0;
    if (image_reader_chunk(r, m->list_hashes + r->next_block * 32, what, &data, &len, err) != 0)
        return -1;
    if (len == 0 || len % 32 != 0 || len > sizeof r->block || len / 32 > m->chunk_count - r->listed)
        return uk_error_set(err, UK_E_CORRUPT, 0, "backup '%s': %s does not fit the chunk count",
                            m->id, what);
    memcpy(r->block, data, len);
    r->block_n = len / 32;
    r->block_at = 0;
    r->next_block++;
    r->listed += r->block_n;
    crypto_sha256_update(r->image_hash, r->block, len);
    return 0;
}

/* Version 2, at the end of the list: every block read, and the list is the one the image
 * hash names. */
static int check_list_end(ImageReader *r, UkError *err)
{
    const Manifest *m = r->manifest;
    unsigned char hash[32];
    crypto_sha256_final(r->image_hash, hash);
    r->image_hash = NULL;
    if (r->next_block != m->list_count || r->listed != m->chunk_count ||
        memcmp(hash, m->image_hash, 32) != 0)
        return uk_error_set(err, UK_E_CORRUPT, 0,
                            "backup '%s': its chunk list does not match its image hash", m->id);
    return 0;
}

int image_reader_next_hash(ImageReader *r, const unsigned char **hash, UkError *err)
{
    const Manifest *m = r->manifest;
    if (m->version < 2) { /* version 1: the list is in the manifest */
        if (r->next >= m->chunk_count)
            return 0;
        *hash = m->hashes + r->next++ * 32;
        return 1;
    }
    if (r->block_at == r->block_n) {
        if (r->next >= m->chunk_count || r->next_block >= m->list_count)
            return r->image_hash ? check_list_end(r, err) : 0;
        if (next_list_block(r, err) != 0)
            return -1;
    }
    *hash = r->block + r->block_at++ * 32;
    r->next++;
    return 1;
}

int image_reader_next(ImageReader *r, const unsigned char **data, size_t *len, UkError *err)
{
    return image_reader_next_with_id(r, NULL, data, len, err);
}

int image_reader_next_with_id(ImageReader *r, const unsigned char **id, const unsigned char **data,
                              size_t *len, UkError *err)
{
    const Manifest *m = r->manifest;
    uint64_t i = r->next;
    const unsigned char *hash = NULL;
    int got = image_reader_next_hash(r, &hash, err);
    if (got < 0)
        return -1;
    if (got == 0) {
        if (r->bytes != m->image_size) /* a stream's chunks must add up to its size */
            return uk_error_set(err, UK_E_CORRUPT, 0,
                                "backup '%s' has %llu bytes in its chunks, its manifest says %llu",
                                m->id, (unsigned long long)r->bytes,
                                (unsigned long long)m->image_size);
        return 0;
    }
    char what[40];
    snprintf(what, sizeof what, "chunk %llu", (unsigned long long)i);
    ChunkLocation loc;
    if (locate(r, hash, what, &loc, err) != 0)
        return -1;
    if (strcmp(m->format, MANIFEST_STREAM) == 0) {
        if (loc.length == 0 || loc.length > m->chunk_size || loc.length > m->image_size - r->bytes)
            return uk_error_set(err, UK_E_CORRUPT, 0,
                                "chunk %llu has length %u, more than the backup has left",
                                (unsigned long long)i, loc.length);
    } else {
        uint64_t expected =
            i + 1 == m->chunk_count ? m->image_size - i * m->chunk_size : m->chunk_size;
        if (loc.length != expected)
            return uk_error_set(err, UK_E_CORRUPT, 0, "chunk %llu has length %u, expected %llu",
                                (unsigned long long)i, loc.length, (unsigned long long)expected);
    }
    /* The lent id lives in r->block, which reading the chunk leaves alone. */
    if (read_located(r, &loc, hash, what, data, err) != 0)
        return -1;
    *len = loc.length;
    r->bytes += loc.length;
    if (id)
        *id = hash;
    return 1;
}
