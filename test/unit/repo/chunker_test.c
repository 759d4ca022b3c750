/* Content-defined chunking: cut points stay inside the sizes, depend only on the bytes (not
 * on how much follows), average near the target, and survive an insert: after 100 bytes are
 * added near the start of a stream, almost every later chunk is one the stream had before. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "repo/chunker.h"

#define STREAM (8 * 1024 * 1024)

static unsigned char *random_bytes(size_t n, unsigned seed)
{
    unsigned char *buf = malloc(n);
    uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        buf[i] = (unsigned char)(x >> 24);
    }
    return buf;
}

/* The chunk lengths of a whole stream, as a writer cuts it; returns the count. */
static size_t cut_all(const unsigned char *data, size_t len, size_t *lengths)
{
    size_t n = 0;
    for (size_t at = 0; at < len;) {
        size_t cut = chunker_cut(&chunker_default, data + at, len - at);
        lengths[n++] = cut;
        at += cut;
    }
    return n;
}

static void test_sizes_and_average(void **state)
{
    (void)state;
    unsigned char *data = random_bytes(STREAM, 1);
    size_t *lengths = calloc(STREAM / 64, sizeof *lengths);
    size_t n = cut_all(data, STREAM, lengths), total = 0;
    for (size_t i = 0; i < n; i++) {
        if (i + 1 < n)
            assert_true(lengths[i] >= chunker_default.min_size);
        assert_true(lengths[i] <= chunker_default.max_size);
        total += lengths[i];
    }
    assert_int_equal(total, STREAM);
    double average = (double)STREAM / (double)n;
    assert_true(average > 0.75 * chunker_default.avg_size &&
                average < 1.5 * chunker_default.avg_size);
    /* Bytes beyond the largest chunk never move a cut. */
    assert_int_equal(chunker_cut(&chunker_default, data, chunker_default.max_size),
                     chunker_cut(&chunker_default, data, STREAM));
    /* Data with no cut point (all zeros) is cut at the largest size. */
    memset(data, 0, chunker_default.max_size * 2);
    assert_int_equal(chunker_cut(&chunker_default, data, STREAM), chunker_default.max_size);
    free(lengths);
    free(data);
}

static int compare_hash(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* A cheap stand-in for a chunk's SHA-256 (FNV-1a): only equality matters here. */
static uint64_t fnv(const unsigned char *p, size_t n)
{
    uint64_t h = 14695981039346656037ULL;
    while (n--)
        h = (h ^ *p++) * 1099511628211ULL;
    return h;
}

static void test_insert_shifts_little(void **state)
{
    (void)state;
    unsigned char *before = random_bytes(STREAM, 2);
    unsigned char *after = malloc(STREAM + 100);
    memcpy(after, before, 5000);
    memset(after + 5000, 'x', 100);
    memcpy(after + 5100, before + 5000, STREAM - 5000);
    size_t *la = calloc(STREAM / 64, sizeof *la), *lb = calloc(STREAM / 64, sizeof *lb);
    size_t na = cut_all(before, STREAM, la), nb = cut_all(after, STREAM + 100, lb);
    uint64_t *known = calloc(na, sizeof *known);
    for (size_t i = 0, at = 0; i < na; at += la[i], i++)
        known[i] = fnv(before + at, la[i]);
    qsort(known, na, sizeof *known, compare_hash);
    size_t new_bytes = 0;
    for (size_t i = 0, at = 0; i < nb; at += lb[i], i++) {
        uint64_t h = fnv(after + at, lb[i]);
        if (!bsearch(&h, known, na, sizeof *known, compare_hash))
            new_bytes += lb[i];
    }
    /* Fixed-size chunks would re-store everything after byte 5,000. */
    assert_true(new_bytes < 4 * chunker_default.max_size);
    free(known);
    free(la);
    free(lb);
    free(before);
    free(after);
}

static void test_params_checked(void **state)
{
    (void)state;
    assert_true(chunker_params_valid(&chunker_default));
    assert_false(chunker_params_valid(&(ChunkerParams){2048, 8000, 65536})); /* not 2^n */
    assert_false(chunker_params_valid(&(ChunkerParams){8192, 8192, 65536}));
    assert_false(chunker_params_valid(&(ChunkerParams){2048, 8192, 4096}));
    assert_false(chunker_params_valid(&(ChunkerParams){0, 0, 0}));
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_sizes_and_average),
                                       cmocka_unit_test(test_insert_shifts_little),
                                       cmocka_unit_test(test_params_checked)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
