#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "repo/manifest.h"
#include "repo/pack.h"
#include "common/crypto.h"

static Manifest sample(unsigned char *hashes)
{
    Manifest m = {0};
    snprintf(m.id, sizeof m.id, "20261125T030000Z-abcdef");
    snprintf(m.database, sizeof m.database, "app");
    snprintf(m.driver, sizeof m.driver, "sqlite");
    snprintf(m.tags, sizeof m.tags, "pre-update,weekly");
    m.time = 1795000000;
    m.image_size = 3 * 4096 - 100;
    m.page_size = 4096;
    m.chunk_size = 4096;
    m.chunk_count = 3;
    for (int i = 0; i < 96; i++)
        hashes[i] = (unsigned char)(i * 7);
    m.hashes = hashes;
    manifest_image_hash(hashes, 3, m.image_hash);
    return m;
}

static void test_roundtrip(void **state)
{
    (void)state;
    unsigned char hashes[96];
    Manifest m = sample(hashes);
    unsigned char *buf;
    size_t len;
    UkError err = {0};
    assert_int_equal(manifest_encode(&m, &buf, &len, &err), 0);
    Manifest back;
    assert_int_equal(manifest_decode(buf, len, true, &back, &err), 0);
    assert_string_equal(back.id, m.id);
    assert_string_equal(back.tags, "pre-update,weekly");
    assert_int_equal(back.time, m.time);
    assert_int_equal(back.image_size, m.image_size);
    assert_int_equal(back.chunk_count, 3);
    assert_memory_equal(back.hashes, hashes, 96);
    assert_true(manifest_has_tag(back.tags, "weekly"));
    assert_false(manifest_has_tag(back.tags, "week"));
    manifest_clear(&back);
    /* Any flipped byte is detected. */
    for (size_t i = 0; i < len; i += 7) {
        buf[i] ^= 0x40;
        assert_int_equal(manifest_decode(buf, len, true, &back, &err), -1);
        buf[i] ^= 0x40;
    }
    free(buf);
}

/* Streams record their format and chunking; counts that no chunking could give are refused,
 * and a manifest without a format is a page image. */
static void test_stream_format(void **state)
{
    (void)state;
    unsigned char hashes[96];
    Manifest m = sample(hashes);
    snprintf(m.format, sizeof m.format, MANIFEST_STREAM);
    m.chunking = chunker_default;
    m.chunk_size = chunker_default.max_size;
    m.page_size = 0;
    unsigned char *buf;
    size_t len;
    UkError err = {0};
    assert_int_equal(manifest_encode(&m, &buf, &len, &err), 0);
    Manifest back;
    assert_int_equal(manifest_decode(buf, len, true, &back, &err), 0);
    assert_string_equal(back.format, MANIFEST_STREAM);
    assert_int_equal(back.chunking.min_size, chunker_default.min_size);
    assert_int_equal(back.chunking.max_size, chunker_default.max_size);
    manifest_clear(&back);
    free(buf);
    m.image_size = 2; /* three chunks cannot hold two bytes */
    assert_int_equal(manifest_encode(&m, &buf, &len, &err), 0);
    assert_int_equal(manifest_decode(buf, len, true, &back, &err), -1);
    assert_string_equal(err.msg, "manifest fields are inconsistent");
    free(buf);
    Manifest pages = sample(hashes);
    assert_int_equal(manifest_encode(&pages, &buf, &len, &err), 0);
    assert_int_equal(manifest_decode(buf, len, true, &back, &err), 0);
    assert_string_equal(back.format, MANIFEST_PAGES);
    manifest_clear(&back);
    free(buf);
}

static void test_unknown_version_refused(void **state)
{
    (void)state;
    unsigned char hashes[96];
    Manifest m = sample(hashes);
    unsigned char *buf;
    size_t len;
    UkError err = {0};
    assert_int_equal(manifest_encode(&m, &buf, &len, &err), 0);
    /* Rewrite "version":1 to 2 and fix the checksum, as a newer writer would. */
    char *v = memmem(buf, len, "\"version\":1", 11);
    assert_non_null(v);
    v[10] = '2';
    crypto_sha256(buf, len - 32, buf + len - 32);
    Manifest back;
    assert_int_equal(manifest_decode(buf, len, true, &back, &err), -1);
    assert_int_equal(err.code, UK_E_FORMAT);
    assert_string_equal(err.msg, "manifest version 2 is not supported (expected 1)");
    free(buf);
}

static void test_pack_index_roundtrip(void **state)
{
    (void)state;
    PackFrame frames[2] = {{8, 100, 4096, FRAME_ZSTD}, {108, 4096, 4096, FRAME_STORED}};
    PackEntry entries[2] = {{{1}, 0, 0, 4096}, {{2}, 1, 0, 4096}};
    PackIndex idx = {frames, 2, entries, 2};
    unsigned char *buf;
    size_t len;
    UkError err = {0};
    assert_int_equal(pack_index_encode(&idx, &buf, &len, &err), 0);
    PackIndex back;
    assert_int_equal(pack_index_decode(buf, len, &back, &err), 0);
    assert_int_equal(back.n_frames, 2);
    assert_int_equal(back.frames[1].offset, 108);
    assert_int_equal(back.entries[1].hash[0], 2);
    pack_index_clear(&back);
    buf[20] ^= 1;
    assert_int_equal(pack_index_decode(buf, len, &back, &err), -1);
    assert_string_equal(err.msg, "pack index checksum mismatch");
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_roundtrip),
                                       cmocka_unit_test(test_stream_format),
                                       cmocka_unit_test(test_unknown_version_refused),
                                       cmocka_unit_test(test_pack_index_roundtrip)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
