/* The chunk set past its memory limit: with a limit of 1,000 entries, 50,000 random ids make
 * sorted runs on disk that merge, and every id is still found with its location, no absent
 * id is, and an id added again is refused wherever it lives (table or run). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "repo/chunk_set.h"

#define COUNT 50000

static void id_of(uint32_t n, unsigned char id[32])
{
    crypto_sha256(&n, sizeof n, id);
}

static ChunkLocation location_of(uint32_t n)
{
    return (ChunkLocation){.pack = n % 977, .frame = n / 3, .offset = n * 7, .length = n + 1};
}

static void test_spills_merges_and_finds(void **state)
{
    (void)state;
    setenv("UPKEEP_CHUNK_SET_MEMORY", "1000", 1);
    ChunkSet *s = chunk_set_new();
    unsigned char id[32];
    UkError err = {0};
    for (uint32_t n = 0; n < COUNT; n++) {
        id_of(n, id);
        ChunkLocation loc = location_of(n);
        assert_int_equal(chunk_set_add(s, id, &loc, &err), 1);
    }
    assert_int_equal(chunk_set_count(s), COUNT);
    for (uint32_t n = 0; n < COUNT; n++) {
        id_of(n, id);
        ChunkLocation found, want = location_of(n);
        assert_true(chunk_set_find(s, id, &found));
        assert_memory_equal(&found, &want, sizeof want);
        /* Present already: not added twice, whether in the table or a run. */
        ChunkLocation other = {1, 2, 3, 4};
        assert_int_equal(chunk_set_add(s, id, &other, &err), 0);
    }
    assert_int_equal(chunk_set_count(s), COUNT);
    for (uint32_t n = COUNT; n < 2 * COUNT; n++) {
        id_of(n, id);
        ChunkLocation found;
        assert_false(chunk_set_find(s, id, &found));
    }
    /* An id that shares its first 8 bytes with another (what the run's fences key on). */
    unsigned char twin[32];
    id_of(7, twin);
    twin[31] ^= 1;
    ChunkLocation loc = {9, 9, 9, 9}, found;
    assert_int_equal(chunk_set_add(s, twin, &loc, &err), 1);
    assert_true(chunk_set_find(s, twin, &found));
    assert_int_equal(found.pack, 9);
    id_of(7, id);
    assert_true(chunk_set_find(s, id, &found));
    assert_int_equal(found.pack, 7);
    chunk_set_free(s);
}

/* Membership only (no location), under the limit: nothing goes to disk. */
static void test_membership(void **state)
{
    (void)state;
    unsetenv("UPKEEP_CHUNK_SET_MEMORY");
    ChunkSet *s = chunk_set_new();
    unsigned char id[32];
    UkError err = {0};
    id_of(1, id);
    assert_int_equal(chunk_set_add(s, id, NULL, &err), 1);
    assert_int_equal(chunk_set_add(s, id, NULL, &err), 0);
    ChunkLocation found;
    assert_true(chunk_set_find(s, id, &found));
    id_of(2, id);
    assert_false(chunk_set_find(s, id, &found));
    chunk_set_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_spills_merges_and_finds),
                                       cmocka_unit_test(test_membership)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
