/* The chunk store end to end at library level, on a real folder: write a backup through
 * BackupWriter, read it back through ImageReader, deduplicate a second backup, detect a
 * flipped byte, and survive a failing storage write at every possible point without
 * publishing a backup; the same for a stream (a dump) cut by content, whose second backup
 * after an insert stores only the chunks around it. Run a second time with the chunk index
 * spilled to disk every 64 entries (UPKEEP_CHUNK_SET_MEMORY), as a large repository's is. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../test_util.h"
#include "common/crypto.h"
#include "common/util.h"
#include "repo/backup_writer.h"
#include "repo/image_reader.h"
#include "repo/repo.h"
#include "repo/storage.h"

#define CHUNK 4096
#define CHUNKS 300

static unsigned char image[CHUNKS * CHUNK];

static void make_image(unsigned seed)
{
    srand(seed);
    for (size_t i = 0; i < sizeof image; i++)
        image[i] = (unsigned char)("abcdefgh  \n0123"[rand() % 15]);
    memset(image + 10 * CHUNK, 0, 5 * CHUNK); /* identical chunks inside one backup */
}

/* The repository in DIR, locked shared, its index loaded; NULL with err set when that
 * fails (an injected storage fault can hit the lock object). */
static Repo *try_open_repo(const char *dir, UkError *err)
{
    Repo *r = NULL;
    char *url = xasprintf("file://%s", dir);
    ConfigRepository cfg = {.name = "test", .url = url, .compression_level = 3};
    assert_int_equal(storage_configure(&cfg, "/", err), 0);
    RepoOpenOpts opts = {.config = &cfg, .create = true};
    int rc = repo_open(&opts, &r, err);
    free(cfg.path); /* the repository keeps what it needs */
    free(url);
    if (rc == 0 && (repo_lock(r, false, "test", err) != 0 || repo_load_index(r, err) != 0)) {
        repo_close(r);
        r = NULL;
    }
    return r;
}

static Repo *open_repo(const char *dir)
{
    UkError err = {0};
    Repo *r = try_open_repo(dir, &err);
    assert_non_null(r);
    return r;
}

static int write_backup(const char *dir, const char *id, Manifest *out, UkError *err)
{
    Repo *r = try_open_repo(dir, err);
    if (!r)
        return -1;
    BackupWriter *w = backup_writer_new(r, sizeof image, CHUNK);
    int rc = 0;
    /* Chunk 0 last, as the SQLite driver delivers it. */
    for (size_t i = 1; i < CHUNKS && rc == 0; i++)
        rc = backup_writer_chunk(w, i, image + i * CHUNK, CHUNK, err);
    if (rc == 0)
        rc = backup_writer_chunk(w, 0, image, CHUNK, err);
    Manifest m = {0};
    snprintf(m.id, sizeof m.id, "%s", id);
    snprintf(m.database, sizeof m.database, "db");
    snprintf(m.driver, sizeof m.driver, "sqlite");
    m.time = 1795000000;
    if (rc == 0)
        rc = backup_writer_commit(w, &m, err);
    backup_writer_free(w);
    repo_close(r);
    if (out)
        *out = m;
    return rc;
}

static void read_back(const char *dir, const char *id, int expect_rc, const char *expect_msg)
{
    Repo *r = open_repo(dir);
    Manifest m;
    UkError err = {0};
    assert_int_equal(repo_read_manifest(r, id, true, &m, &err), 0);
    ImageReader *reader = image_reader_new(r, &m);
    const unsigned char *data;
    size_t len, offset = 0;
    int rc;
    while ((rc = image_reader_next(reader, &data, &len, &err)) == 1) {
        assert_memory_equal(data, image + offset, len);
        offset += len;
    }
    assert_int_equal(rc, expect_rc);
    if (rc == 0)
        assert_int_equal(offset, sizeof image);
    else
        assert_true(expect_msg && strstr(err.msg, expect_msg));
    image_reader_free(reader);
    manifest_clear(&m);
    repo_close(r);
}

static void test_roundtrip_and_dedup(void **state)
{
    (void)state;
    const char *dir = test_scratch_dir("chunkstore");
    make_image(1);
    Manifest first, second;
    UkError err = {0};
    assert_int_equal(write_backup(dir, "b1", &first, &err), 0);
    assert_int_equal(first.new_chunks, CHUNKS - 4); /* five zero chunks store once */
    read_back(dir, "b1", 0, NULL);
    /* Change two chunks: the second backup stores only those. */
    image[50 * CHUNK] ^= 1;
    image[200 * CHUNK + 7] ^= 1;
    assert_int_equal(write_backup(dir, "b2", &second, &err), 0);
    assert_int_equal(second.new_chunks, 2);
    assert_int_equal(second.reused_chunks, CHUNKS - 2);
    assert_true(second.stored_bytes < first.stored_bytes / 10);
    read_back(dir, "b2", 0, NULL);
    /* The same id cannot be published twice. */
    assert_int_equal(write_backup(dir, "b2", NULL, &err), -1);
    assert_int_equal(err.code, UK_E_EXISTS);
}

/* A stream backup of LEN bytes of DATA, written in pieces of PIECE bytes. */
static int write_stream(const char *dir, const char *id, const unsigned char *data, size_t len,
                        size_t piece, Manifest *out, UkError *err)
{
    Repo *r = open_repo(dir);
    BackupWriter *w = backup_writer_new_stream(r, &chunker_default);
    int rc = 0;
    for (size_t at = 0; at < len && rc == 0; at += piece)
        rc = backup_writer_write(w, data + at, len - at < piece ? len - at : piece, err);
    Manifest m = {0};
    snprintf(m.id, sizeof m.id, "%s", id);
    snprintf(m.database, sizeof m.database, "db");
    snprintf(m.driver, sizeof m.driver, "postgresql");
    m.time = 1795000000;
    if (rc == 0)
        rc = backup_writer_commit(w, &m, err);
    backup_writer_free(w);
    repo_close(r);
    *out = m;
    return rc;
}

static void read_stream(const char *dir, const char *id, const unsigned char *expect, size_t len)
{
    Repo *r = open_repo(dir);
    Manifest m;
    UkError err = {0};
    assert_int_equal(repo_read_manifest(r, id, true, &m, &err), 0);
    assert_string_equal(m.format, MANIFEST_STREAM);
    assert_int_equal(m.chunking.avg_size, chunker_default.avg_size);
    ImageReader *reader = image_reader_new(r, &m);
    const unsigned char *data;
    size_t n, offset = 0;
    int rc;
    while ((rc = image_reader_next(reader, &data, &n, &err)) == 1) {
        assert_true(offset + n <= len);
        assert_memory_equal(data, expect + offset, n);
        offset += n;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(offset, len);
    image_reader_free(reader);
    manifest_clear(&m);
    repo_close(r);
}

static void test_stream_roundtrip_and_dedup(void **state)
{
    (void)state;
    const char *dir = test_scratch_dir("stream");
    make_image(4);
    Manifest first, second, third;
    UkError err = {0};
    /* Odd write sizes: the cuts do not depend on them. */
    assert_int_equal(write_stream(dir, "s1", image, sizeof image, 1000, &first, &err), 0);
    assert_int_equal(first.image_size, sizeof image);
    assert_true(first.chunk_count > sizeof image / chunker_default.max_size);
    read_stream(dir, "s1", image, sizeof image);
    assert_int_equal(write_stream(dir, "s2", image, sizeof image, 77777, &second, &err), 0);
    assert_int_equal(second.new_chunks, 0);
    /* 100 bytes inserted near the start: a fixed-size cut would store everything again. */
    size_t len = sizeof image + 100;
    unsigned char *shifted = malloc(len);
    memcpy(shifted, image, 5000);
    memset(shifted + 5000, 'Z', 100);
    memcpy(shifted + 5100, image + 5000, sizeof image - 5000);
    assert_int_equal(write_stream(dir, "s3", shifted, len, 65536, &third, &err), 0);
    assert_true(third.new_chunks <= 3);
    assert_true(third.stored_bytes < first.stored_bytes / 10);
    read_stream(dir, "s3", shifted, len);
    free(shifted);
    /* An empty stream is a backup too. */
    Manifest empty;
    assert_int_equal(write_stream(dir, "s4", image, 0, 1, &empty, &err), 0);
    read_stream(dir, "s4", image, 0);
}

static void test_corrupt_pack_detected(void **state)
{
    (void)state;
    const char *dir = test_scratch_dir("corrupt");
    make_image(2);
    UkError err = {0};
    assert_int_equal(write_backup(dir, "b1", NULL, &err), 0);
    /* Flip a byte in the middle of the (only) pack. */
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "f=$(find '%s/packs' -type f | head -1); s=$(stat -c %%s \"$f\");"
             " printf '\\xff' | dd of=\"$f\" bs=1 seek=$((s / 2)) conv=notrunc status=none",
             dir);
    assert_int_equal(system(cmd), 0);
    Repo *r = open_repo(dir);
    Manifest m;
    assert_int_equal(repo_read_manifest(r, "b1", true, &m, &err), 0);
    ImageReader *reader = image_reader_new(r, &m);
    const unsigned char *data;
    size_t len;
    int rc;
    while ((rc = image_reader_next(reader, &data, &len, &err)) == 1)
        ;
    assert_int_equal(rc, -1);
    assert_int_equal(err.code, UK_E_CORRUPT);
    image_reader_free(reader);
    manifest_clear(&m);
    repo_close(r);
}

/* A version 2 list is read a block at a time and checked against the image hash at its end:
 * a manifest whose image hash does not match is refused there. */
static void test_list_checked_against_image_hash(void **state)
{
    (void)state;
    const char *dir = test_scratch_dir("list");
    make_image(5);
    UkError err = {0};
    assert_int_equal(write_backup(dir, "b1", NULL, &err), 0);
    Repo *r = open_repo(dir);
    Manifest m;
    assert_int_equal(repo_read_manifest(r, "b1", true, &m, &err), 0);
    assert_int_equal(m.version, 2);
    assert_true(m.list_count > 1);
    assert_null(m.hashes); /* never held whole */
    m.image_hash[3] ^= 1;
    ImageReader *reader = image_reader_new(r, &m);
    const unsigned char *hash;
    uint64_t n = 0;
    int rc;
    while ((rc = image_reader_next_hash(reader, &hash, &err)) == 1)
        n++;
    assert_int_equal(rc, -1);
    assert_int_equal(n, CHUNKS);
    assert_int_equal(err.code, UK_E_CORRUPT);
    assert_string_equal(err.msg, "backup 'b1': its chunk list does not match its image hash");
    image_reader_free(reader);
    manifest_clear(&m);
    repo_close(r);
}

static void test_failing_storage_never_publishes(void **state)
{
    (void)state;
    make_image(3);
    for (long nth = 1;; nth++) {
        const char *dir = test_scratch_dir("fault");
        UkError err = {0};
        repo_close(open_repo(dir)); /* the repository exists; the backup is what fails */
        storage_set_fault(nth);
        int rc = write_backup(dir, "b1", NULL, &err);
        storage_set_fault(0);
        Repo *r = open_repo(dir);
        Manifest *list = NULL;
        size_t n = 0;
        assert_int_equal(repo_list_backups(r, &list, &n, &err), 0);
        free(list);
        repo_close(r);
        if (rc == 0) {
            assert_int_equal(n, 1); /* the fault came after the last write */
            assert_true(nth > 3);
            break;
        }
        assert_int_equal(n, 0); /* a failed backup is never listed */
        assert_int_equal(err.code, UK_E_IO);
    }
}

/* Files (version 3): a file read again after it changed, then one taken unchanged by its
 * ids. The first read's chunks, still being hashed when the writer rewinds, must not land
 * over the reused ids: the data part lists exactly the new file's chunk, then the reused. */
static void test_rewind_then_reuse(void **state)
{
    (void)state;
    const char *dir = test_scratch_dir("rewind");
    UkError err = {0};
    static unsigned char data[4 << 20];
    srand(7);
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)rand();
    Manifest base;
    assert_int_equal(
        write_stream(dir, "20261207T000000.000Z-aaaaaa", data, 100000, 65536, &base, &err), 0);
    Repo *r = open_repo(dir);
    assert_int_equal(repo_read_manifest(r, base.id, true, &base, &err), 0);
    ImageReader *list = image_reader_new(r, &base);
    const unsigned char *first;
    assert_int_equal(image_reader_next_hash(list, &first, &err), 1);
    unsigned char known[32];
    memcpy(known, first, 32);
    image_reader_free(list);
    manifest_clear(&base);

    BackupWriter *w = backup_writer_new_stream(r, &chunker_default);
    ChunkerParams files = chunker_params_for(65536);
    assert_int_equal(backup_writer_begin_part(w, MANIFEST_PART_DATA, &files, &err), 0);
    assert_int_equal(backup_writer_write(w, data, sizeof data, &err), 0);
    assert_int_equal(backup_writer_end_piece(w, &err), 0);
    assert_int_equal(backup_writer_rewind(w, 0, 0, &err), 0); /* it changed: read again */
    assert_int_equal(backup_writer_write(w, "hello", 5, &err), 0);
    assert_int_equal(backup_writer_end_piece(w, &err), 0);
    assert_int_equal(backup_writer_append_known(w, known, 1, 1000, &err), 1);
    ChunkerParams tree = chunker_params_for(4096);
    assert_int_equal(backup_writer_begin_part(w, MANIFEST_PART_TREE, &tree, &err), 0);
    assert_int_equal(backup_writer_write(w, "x\n", 2, &err), 0);
    Manifest m = {0};
    snprintf(m.id, sizeof m.id, "20261207T000001.000Z-bbbbbb");
    m.time = 1795000001;
    assert_int_equal(backup_writer_commit(w, &m, &err), 0);
    backup_writer_free(w);
    repo_close(r);

    r = open_repo(dir);
    assert_int_equal(repo_read_manifest(r, m.id, true, &m, &err), 0);
    assert_true(m.has_files);
    Manifest part;
    manifest_part(&m, MANIFEST_PART_DATA, &part);
    assert_int_equal(part.chunk_count, 2);
    assert_int_equal(part.image_size, 1005);
    list = image_reader_new(r, &part);
    const unsigned char *id;
    unsigned char hello[32];
    crypto_sha256("hello", 5, hello);
    assert_int_equal(image_reader_next_hash(list, &id, &err), 1);
    assert_memory_equal(id, hello, 32);
    assert_int_equal(image_reader_next_hash(list, &id, &err), 1);
    assert_memory_equal(id, known, 32);
    assert_int_equal(image_reader_next_hash(list, &id, &err), 0); /* the list's hash holds */
    image_reader_free(list);
    manifest_clear(&m);
    repo_close(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_roundtrip_and_dedup),
                                       cmocka_unit_test(test_stream_roundtrip_and_dedup),
                                       cmocka_unit_test(test_corrupt_pack_detected),
                                       cmocka_unit_test(test_list_checked_against_image_hash),
                                       cmocka_unit_test(test_failing_storage_never_publishes),
                                       cmocka_unit_test(test_rewind_then_reuse)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
