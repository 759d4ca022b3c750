#include "repo/chunk_index.h"

#include <stdlib.h>
#include <string.h>

#include "common/util.h"

typedef struct Slot {
    unsigned char hash[CHUNK_HASH_LEN];
    ChunkLocation loc;
    bool used;
} Slot;

struct ChunkIndex {
    Slot *slots;
    size_t capacity; /* power of two */
    size_t count;
};

static uint64_t slot_of(const unsigned char *hash)
{
    uint64_t h;
    memcpy(&h, hash, sizeof h);
    return h;
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

size_t chunk_index_count(const ChunkIndex *idx) { return idx->count; }

static Slot *find_slot(Slot *slots, size_t capacity, const unsigned char *hash)
{
    size_t mask = capacity - 1;
    for (size_t i = slot_of(hash) & mask;; i = (i + 1) & mask)
        if (!slots[i].used || memcmp(slots[i].hash, hash, CHUNK_HASH_LEN) == 0)
            return &slots[i];
}

static void grow(ChunkIndex *idx)
{
    size_t capacity = idx->capacity * 2;
    Slot *slots = xcalloc(capacity, sizeof *slots);
    for (size_t i = 0; i < idx->capacity; i++)
        if (idx->slots[i].used)
            *find_slot(slots, capacity, idx->slots[i].hash) = idx->slots[i];
    free(idx->slots);
    idx->slots = slots;
    idx->capacity = capacity;
}

bool chunk_index_add(ChunkIndex *idx, const unsigned char *hash, const ChunkLocation *loc)
{
    if ((idx->count + 1) * 10 > idx->capacity * 7)
        grow(idx);
    Slot *s = find_slot(idx->slots, idx->capacity, hash);
    if (s->used)
        return false;
    memcpy(s->hash, hash, CHUNK_HASH_LEN);
    if (loc)
        s->loc = *loc;
    s->used = true;
    idx->count++;
    return true;
}

const ChunkLocation *chunk_index_get(const ChunkIndex *idx, const unsigned char *hash)
{
    Slot *s = find_slot(idx->slots, idx->capacity, hash);
    return s->used ? &s->loc : NULL;
}
