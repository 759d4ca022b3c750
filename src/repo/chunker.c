#include "repo/chunker.h"

#include <pthread.h>
#include <stdbool.h>

const ChunkerParams chunker_default = {1024, 4096, 32768};

ChunkerParams chunker_params_for(uint32_t avg_size)
{
    return (ChunkerParams){avg_size / 4, avg_size, avg_size * 8};
}

static uint64_t gear[256];
static pthread_once_t gear_once = PTHREAD_ONCE_INIT;

#define FIXED_SEED 0x7570b3ee9c0dc0deULL

void chunker_gear_table(uint64_t seed, uint64_t table[256])
{
    uint64_t state = seed ? seed : FIXED_SEED;
    for (int i = 0; i < 256; i++) {
        uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        table[i] = z ^ (z >> 31);
    }
}

/* splitmix64 from a fixed seed: random-looking, and the same table on every build. */
static void make_gear(void)
{
    chunker_gear_table(0, gear);
}

/* BITS one-bits spread evenly over bits 16..63: a bit k of the gear hash depends on the last
 * k + 1 bytes, so the mask looks at a window of 48-64 bytes. */
static uint64_t spread_mask(int bits)
{
    uint64_t mask = 0;
    for (int k = 0; k < bits; k++)
        mask |= 1ULL << (63 - (k * 48) / bits);
    return mask;
}

static int log2_exact(uint32_t v)
{
    int bits = 0;
    while (v > 1 && (v & 1) == 0) {
        v >>= 1;
        bits++;
    }
    return v == 1 ? bits : -1;
}

int chunker_params_valid(const ChunkerParams *p)
{
    int bits = log2_exact(p->avg_size);
    return bits >= 8 && bits <= 24 && p->min_size >= 64 && p->min_size < p->avg_size &&
           p->avg_size < p->max_size && p->max_size <= (1u << 26);
}

size_t chunker_cut(const ChunkerParams *p, const unsigned char *data, size_t len)
{
    pthread_once(&gear_once, make_gear);
    return chunker_cut_with(p, gear, data, len);
}

size_t chunker_cut_with(const ChunkerParams *p, const uint64_t gear[256], const unsigned char *data,
                        size_t len)
{
    if (len <= p->min_size)
        return len;
    if (len > p->max_size)
        len = p->max_size;
    int bits = log2_exact(p->avg_size);
    uint64_t mask_small = spread_mask(bits + 2), mask_large = spread_mask(bits - 2);
    size_t normal = p->avg_size < len ? p->avg_size : len;
    uint64_t hash = 0;
    size_t i = p->min_size;
    for (; i < normal; i++) {
        hash = (hash << 1) + gear[data[i]];
        if (!(hash & mask_small))
            return i + 1;
    }
    for (; i < len; i++) {
        hash = (hash << 1) + gear[data[i]];
        if (!(hash & mask_large))
            return i + 1;
    }
    return len;
}
