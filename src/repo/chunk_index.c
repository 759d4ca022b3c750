/* Open addressing with linear probing. Hashes are uniformly distributed already, so the
 * slot is the first 8 bytes mapped onto [0, capacity) by a multiply-shift, which lets the
 * capacity be any size: the table grows by half when three quarters full, and a caller that
 * knows the count up front reserves exactly. An empty slot has length 0 (chunks never do). */
#include "repo/chunk_index.h"

#include <stdlib.h>
#include <string.h>

#include "common/util.h"

typedef struct Slot {
    unsigned char hash[CHUNK_HASH_LEN];
    ChunkLocation loc;
} Slot;

struct ChunkIndex {
    Slot *slots;
    size_t capacity;
    size_t count;
};

static size_t slot_of(const unsigned char *hash, size_t capacity)
{
    uint64_t h;
    memcpy(&h, hash, sizeof h);
    return (size_t)(((unsigned __int128)h * capacity) >> 64);
}

ChunkIndex *chunk_index_new(void)
{
    ChunkIndex *idx = xcalloc(1, sizeof *idx);
    idx->capacity = 1024;
    idx->slots = xcalloc(idx->capacity, sizeof *idx->slots);
    return idx;
}

void chunk_index_free(ChunkIndex *idx)
{
    if (!idx)
        return;
    free(idx->slots);
    free(idx);
}

size_t chunk_index_count(const ChunkIndex *idx)
{
    return idx->count;
}

static Slot *find_slot(Slot *slots, size_t capacity, const unsigned char *hash)
{
    for (size_t i = slot_of(hash, capacity);; i = i + 1 == capacity ? 0 : i + 1)
        if (slots[i].loc.length == 0 || memcmp(slots[i].hash, hash, CHUNK_HASH_LEN) == 0)
            return &slots[i];
}

static void resize(ChunkIndex *idx, size_t capacity)
{
    Slot *slots = xcalloc(capacity, sizeof *slots);
    for (size_t i = 0; i < idx->capacity; i++)
        if (idx->slots[i].loc.length != 0)
            *find_slot(slots, capacity, idx->slots[i].hash) = idx->slots[i];
    free(idx->slots);
    idx->slots = slots;
    idx->capacity = capacity;
}

void chunk_index_reserve(ChunkIndex *idx, size_t count)
{
    size_t capacity = count + count / 3 + 16;
    if (capacity > idx->capacity)
        resize(idx, capacity);
}

bool chunk_index_add(ChunkIndex *idx, const unsigned char *hash, const ChunkLocation *loc)
{
    if ((idx->count + 1) * 4 > idx->capacity * 3)
        resize(idx, idx->capacity + idx->capacity / 2);
    Slot *s = find_slot(idx->slots, idx->capacity, hash);
    if (s->loc.length != 0)
        return false;
    memcpy(s->hash, hash, CHUNK_HASH_LEN);
    if (loc)
        s->loc = *loc;
    if (s->loc.length == 0)
        s->loc.length = 1; /* membership-only entries (loc NULL) still mark the slot used */
    idx->count++;
    return true;
}

void chunk_index_foreach(const ChunkIndex *idx,
                         void (*fn)(void *ctx, const unsigned char *hash, const ChunkLocation *loc),
                         void *ctx)
{
    for (size_t i = 0; i < idx->capacity; i++)
        if (idx->slots[i].loc.length != 0)
            fn(ctx, idx->slots[i].hash, &idx->slots[i].loc);
}

const ChunkLocation *chunk_index_get(const ChunkIndex *idx, const unsigned char *hash)
{
    Slot *s = find_slot(idx->slots, idx->capacity, hash);
    return s->loc.length ? &s->loc : NULL;
}
