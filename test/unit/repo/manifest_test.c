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

/* Version 2 carries the list blocks' hashes, not the list (chunkstore_test reads it back
 * through the repository). */
static void test_version_2_list_blocks(void **state)
{
    (void)state;
    unsigned char hashes[96], blocks[64];
    Manifest m = sample(hashes);
    m.version = 2;
    memset(blocks, 0xab, sizeof blocks);
    m.list_hashes = blocks;
    m.list_count = 2;
    unsigned char *buf;
    size_t len;
    UkError err = {0};
    assert_int_equal(manifest_encode(&m, &buf, &len, &err), 0);
    assert_memory_equal(buf, MANIFEST_MAGIC_V2, 8);
    assert_int_equal(len, 8 + 4 + manifest_header_length(buf) - 12 + 64 + 32);
    Manifest back;
    assert_int_equal(manifest_decode(buf, len, true, &back, &err), 0);
    assert_int_equal(back.version, 2);
    assert_int_equal(back.list_count, 2);
    assert_memory_equal(back.list_hashes, blocks, 64);
    assert_null(back.hashes);
    manifest_clear(&back);
    free(buf);
    /* More blocks than chunks cannot be. */
    m.list_count = 4;
    unsigned char four[128] = {0};
    m.list_hashes = four;
    assert_int_equal(manifest_encode(&m, &buf, &len, &err), 0);
    assert_int_equal(manifest_decode(buf, len, true, &back, &err), -1);
    assert_string_equal(err.msg, "manifest fields are inconsistent");
    free(buf);
}

/* Version 3: the tree and data parts' lists follow the image's, and each part reads back as
 * a stream manifest of its own. */
static void test_version_3_files(void **state)
{
    (void)state;
    unsigned char hashes[96], blocks[64], tree[32], data[64];
    Manifest m = sample(hashes);
    m.version = 2;
    memset(blocks, 0xab, sizeof blocks);
    memset(tree, 0x11, sizeof tree);
    memset(data, 0x22, sizeof data);
    m.list_hashes = blocks;
    m.list_count = 2;
    m.has_files = true;
    m.file_entries = 7;
    m.file_bytes = 200000;
    m.file_paths = "/srv/app/uploads\n/srv/app/.env\n";
    ChunkerParams files = chunker_params_for(65536), listing = chunker_params_for(4096);
    m.parts[MANIFEST_PART_TREE] = (ManifestPart){
        .chunking = listing, .size = 900, .chunk_count = 1, .list_hashes = tree, .list_count = 1};
    m.parts[MANIFEST_PART_DATA] = (ManifestPart){
        .chunking = files, .size = 200000, .chunk_count = 9, .list_hashes = data, .list_count = 2};
    memset(m.parts[MANIFEST_PART_DATA].image_hash, 0x33, 32);
    unsigned char *buf;
    size_t len;
    UkError err = {0};
    assert_int_equal(manifest_encode(&m, &buf, &len, &err), 0);
    assert_memory_equal(buf, MANIFEST_MAGIC_V3, 8);
    assert_int_equal(len, 12 + manifest_header_length(buf) - 12 + (2 + 1 + 2) * 32 + 32);
    Manifest back;
    assert_int_equal(manifest_decode(buf, len, true, &back, &err), 0);
    assert_int_equal(back.version, 3);
    assert_true(back.has_files);
    assert_int_equal(manifest_part_count(&back), MANIFEST_PARTS);
    assert_int_equal(back.file_entries, 7);
    assert_string_equal(back.file_paths, "/srv/app/uploads\n/srv/app/.env\n");
    assert_memory_equal(back.list_hashes, blocks, 64);
    Manifest part;
    manifest_part(&back, MANIFEST_PART_DATA, &part);
    assert_string_equal(part.format, MANIFEST_STREAM);
    assert_int_equal(part.image_size, 200000);
    assert_int_equal(part.chunk_count, 9);
    assert_int_equal(part.list_count, 2);
    assert_memory_equal(part.list_hashes, data, 64);
    assert_memory_equal(part.image_hash, m.parts[MANIFEST_PART_DATA].image_hash, 32);
    manifest_part(&back, MANIFEST_PART_TREE, &part);
    assert_memory_equal(part.list_hashes, tree, 32);
    manifest_clear(&back);
    /* The listing reads the counts but not the paths. */
    Manifest header;
    assert_int_equal(manifest_decode_header(buf, len, &header, &err), 0);
    assert_true(header.has_files);
    assert_int_equal(header.file_bytes, 200000);
    assert_null(header.file_paths);
    free(buf);
    /* A part with more chunks than bytes cannot be. */
    m.parts[MANIFEST_PART_DATA].size = 5;
    assert_int_equal(manifest_encode(&m, &buf, &len, &err), 0);
    assert_int_equal(manifest_decode(buf, len, true, &back, &err), -1);
    assert_string_equal(err.msg, "manifest files are inconsistent");
    free(buf);
}

/* Block boundaries follow the hashes: every block but the last holds MIN..MAX hashes, and a
 * hash inserted near the start changes only the blocks up to the next boundary. */
static void test_list_cut(void **state)
{
    (void)state;
    enum { N = 20000 };
    unsigned char *list = malloc((N + 1) * 32);
    for (uint32_t i = 0; i < N + 1; i++) {
        uint32_t v = i * 2654435761u;
        crypto_sha256(&v, sizeof v, list + (size_t)i * 32);
    }
    /* list + 32: the list without its first hash; list: the same with one more in front. */
    uint64_t cuts_a[N], cuts_b[N];
    size_t na = 0, nb = 0;
    for (uint64_t start = 0; start < N; na++) {
        uint64_t n = manifest_list_cut(list + 32, N, start);
        assert_true(n <= MANIFEST_LIST_MAX);
        assert_true(n >= MANIFEST_LIST_MIN || start + n == N);
        start += n;
        cuts_a[na] = start; /* in the shorter list's positions */
    }
    for (uint64_t start = 0; start < N + 1; nb++) {
        start += manifest_list_cut(list, N + 1, start);
        cuts_b[nb] = start - 1; /* the same positions */
    }
    assert_in_range(na, N / (MANIFEST_LIST_AVG + MANIFEST_LIST_MIN) / 2,
                    N / (MANIFEST_LIST_AVG + MANIFEST_LIST_MIN) * 2);
    /* After the first few blocks both lists end blocks at the same hashes. */
    size_t same = 0;
    for (size_t i = 0; i < na; i++)
        for (size_t k = 0; k < nb; k++)
            same += cuts_a[i] == cuts_b[k];
    assert_true(same >= na - 3);
    free(list);
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
                                       cmocka_unit_test(test_version_2_list_blocks),
                                       cmocka_unit_test(test_version_3_files),
                                       cmocka_unit_test(test_list_cut),
                                       cmocka_unit_test(test_pack_index_roundtrip)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
