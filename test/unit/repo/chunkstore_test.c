/* The chunk store end to end at library level, on a real folder: write a backup through
 * BackupWriter, read it back through ImageReader, deduplicate a second backup, detect a
 * flipped byte, and survive a failing storage write at every possible point without
 * publishing a backup. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../test_util.h"
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

static Repo *open_repo(const char *dir)
{
    Repo *r = NULL;
    UkError err = {0};
    RepoOpenOpts opts = {.name = "test", .location = dir, .compression_level = 3, .create = true};
    assert_int_equal(repo_open(&opts, &r, &err), 0);
    assert_int_equal(repo_lock(r, false, &err), 0);
    assert_int_equal(repo_load_index(r, &err), 0);
    return r;
}

static int write_backup(const char *dir, const char *id, Manifest *out, UkError *err)
{
    Repo *r = open_repo(dir);
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

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_roundtrip_and_dedup),
                                       cmocka_unit_test(test_corrupt_pack_detected),
                                       cmocka_unit_test(test_failing_storage_never_publishes)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
