/* Finished packs are committed (S3: uploaded in one PUT; a folder: fsynced and renamed) by
 * threads of their own while the next pack fills, up to UPLOADS at a time: a backup to S3 over
 * loopback took 1.6 times as long as to a folder when each upload held up the writer. Each
 * pack is written through its own connection to the storage (one of UPLOADS + 1 lanes), so
 * that the packs being committed and the one being filled never share one. Packs wait in
 * files, not memory (S3: storage/s3), so uploads in flight cost no memory. */
#include "repo/pack_writer.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/util.h"
#include "repo/repo_int.h"

/* A pack written, its index not yet published. The encoded indexes wait in a temporary file
 * (about 1% of what a backup stores would be too much memory for a large one). */
typedef struct Finished {
    char name[40];
    uint64_t at; /* where its encoded index is in the spool */
    size_t len;
} Finished;

#define UPLOADS 2

/* A pack being committed in the background. */
typedef struct Upload {
    pthread_t thread;
    bool running;
    StorageWrite *write;
    int rc;
    UkError err;
} Upload;

struct PackWriter {
    Repo *repo;
    Storage *lanes[UPLOADS + 1]; /* clones of the repository's storage, made as needed */
    unsigned packs_begun;        /* pack N goes through lanes[N % (UPLOADS + 1)] */
    Upload uploads[UPLOADS];     /* pack N's commit is uploads[N % UPLOADS] */
    unsigned char pack_id[16];
    unsigned char key[32]; /* encrypted repositories: the current pack's */
    unsigned char *sealed; /* scratch for a sealed frame */
    size_t sealed_cap;
    Finished *finished; /* written, not yet published */
    size_t n_finished;
    int spool_fd; /* their encoded indexes; -1 until the first */
    uint64_t spool_len;
    StorageWrite *pack;
    char name[40];
    uint64_t offset;
    PackIndex index;
    size_t frames_cap, entries_cap;
    uint64_t bytes;
};

PackWriter *pack_writer_new(Repo *repo)
{
    PackWriter *w = xcalloc(1, sizeof *w);
    w->repo = repo;
    w->spool_fd = -1;
    return w;
}

static void *upload_main(void *arg)
{
    Upload *u = arg;
    u->rc = storage_write_commit(u->write, &u->err);
    return NULL;
}

/* Waits for a commit, if one is running: its outcome. */
static int upload_wait(Upload *u, UkError *err)
{
    if (!u->running)
        return 0;
    pthread_join(u->thread, NULL);
    u->running = false;
    if (u->rc != 0)
        *err = u->err;
    return u->rc;
}

static int upload_wait_all(PackWriter *w, UkError *err)
{
    int rc = 0;
    for (int i = 0; i < UPLOADS; i++)
        if (upload_wait(&w->uploads[i], err) != 0)
            rc = -1;
    return rc;
}

/* Commits PACK (the last begun) in the background, once the commit UPLOADS packs before it
 * is done. */
static int upload_start(PackWriter *w, StorageWrite *pack, UkError *err)
{
    Upload *u = &w->uploads[(w->packs_begun - 1) % UPLOADS];
    if (upload_wait(u, err) != 0) {
        storage_write_abort(pack);
        return -1;
    }
    *u = (Upload){.write = pack};
    if (pthread_create(&u->thread, NULL, upload_main, u) != 0) /* then in this thread */
        return storage_write_commit(pack, err);
    u->running = true;
    return 0;
}

static int pack_begin(PackWriter *w, UkError *err)
{
    if (crypto_random(w->pack_id, sizeof w->pack_id, err) != 0)
        return -1;
    hex_encode(w->pack_id, sizeof w->pack_id, w->name);
    unsigned char header[KEYRING_PACK_HEADER];
    Keyring *keys = w->repo->keys;
    if (keys && keyring_pack_key_for_writing(keys, w->pack_id, header, w->key, err) != 0)
        return -1;
    Storage **lane = &w->lanes[w->packs_begun % (UPLOADS + 1)];
    if (!*lane && !(*lane = storage_clone(w->repo->storage, err)))
        return -1;
    w->packs_begun++;
    char *path = repo_pack_path(w->name);
    w->pack = storage_write_begin(*lane, path, err);
    free(path);
    if (!w->pack)
        return -1;
    if (storage_write(w->pack, keys ? PACK_MAGIC_SEALED : PACK_MAGIC, 8, err) != 0 ||
        (keys && storage_write(w->pack, header, sizeof header, err) != 0))
        return -1;
    w->offset = keys ? PACK_SEALED_START : 8;
    w->bytes += w->offset;
    return 0;
}

int pack_writer_flush(PackWriter *w, UkError *err)
{
    if (!w->pack)
        return 0;
    StorageWrite *pack = w->pack;
    w->pack = NULL;
    unsigned char *data = NULL, *trailer = NULL;
    size_t len = 0, trailer_len = 0;
    pack_index_encode(&w->index, &data, &len, err);
    int written =
        pack_trailer_encode(&w->index, w->repo->keys, w->name, &trailer, &trailer_len, err);
    pack_index_clear(&w->index);
    w->frames_cap = w->entries_cap = 0;
    explicit_bzero(w->key, sizeof w->key);
    if (written == 0)
        written = storage_write(pack, trailer, trailer_len, err);
    free(trailer);
    if (written != 0) {
        storage_write_abort(pack);
        free(data);
        return -1;
    }
    /* Listed before its commit and its index's spooling: a failure of either, now or found
     * by the next upload_wait, has the pack removed by _free. */
    w->finished = xrealloc(w->finished, (w->n_finished + 1) * sizeof *w->finished);
    Finished *f = &w->finished[w->n_finished++];
    snprintf(f->name, sizeof f->name, "%s", w->name);
    f->at = w->spool_len;
    f->len = len;
    int rc = 0;
    if (w->spool_fd < 0 && (w->spool_fd = temp_file_open(err)) < 0)
        rc = -1;
    if (rc == 0)
        rc = pwrite_all(w->spool_fd, data, len, f->at, "a pack index", err);
    free(data);
    w->spool_len += len;
    w->bytes += len + trailer_len; /* the index object, and the layout the pack carries */
    if (rc != 0) {
        storage_write_abort(pack);
        return -1;
    }
    return upload_start(w, pack, err);
}

int pack_writer_publish(PackWriter *w, UkError *err)
{
    size_t done = 0;
    int rc = upload_wait_all(w, err);
    while (done < w->n_finished && rc == 0) {
        Finished *f = &w->finished[done];
        unsigned char *data = xmalloc(f->len + 1);
        rc = pread_all(w->spool_fd, data, f->len, f->at, "a pack index", err);
        if (rc == 0)
            rc = repo_put_pack_index(w->repo, f->name, data, f->len, err);
        free(data);
        done += rc == 0;
    }
    /* The published ones are the repository's now; the rest are removed by _free. */
    if (done > 0) {
        memmove(w->finished, w->finished + done, (w->n_finished - done) * sizeof *w->finished);
        w->n_finished -= done;
    }
    return rc;
}

int pack_writer_add(PackWriter *w, const void *stored, size_t stored_len, uint32_t raw_len,
                    uint8_t compression, const PackEntry *entries, size_t n_entries, UkError *err)
{
    if (!w->pack && pack_begin(w, err) != 0)
        return -1;
    PackIndex *pi = &w->index;
    /* Compressed, then sealed: frame number and place as the keyring's nonce and associated
     * data. */
    if (w->repo->keys) {
        if (w->sealed_cap < stored_len + 16) {
            w->sealed_cap = stored_len + 16;
            w->sealed = xrealloc(w->sealed, w->sealed_cap);
        }
        if (keyring_frame_seal(w->key, w->pack_id, (uint32_t)pi->n_frames, w->offset, compression,
                               raw_len, stored, stored_len, w->sealed, err) != 0)
            return -1;
        stored = w->sealed;
        stored_len += 16;
    }
    if (storage_write(w->pack, stored, stored_len, err) != 0)
        return -1;
    if (pi->n_frames == w->frames_cap) {
        w->frames_cap = w->frames_cap ? w->frames_cap * 2 : 64;
        pi->frames = xrealloc(pi->frames, w->frames_cap * sizeof *pi->frames);
    }
    uint32_t frame_no = (uint32_t)pi->n_frames;
    pi->frames[pi->n_frames++] = (PackFrame){w->offset, (uint32_t)stored_len, raw_len, compression};
    if (pi->n_entries + n_entries > w->entries_cap) {
        while (pi->n_entries + n_entries > w->entries_cap)
            w->entries_cap = w->entries_cap ? w->entries_cap * 2 : 1024;
        pi->entries = xrealloc(pi->entries, w->entries_cap * sizeof *pi->entries);
    }
    for (size_t i = 0; i < n_entries; i++) {
        pi->entries[pi->n_entries] = entries[i];
        pi->entries[pi->n_entries++].frame = frame_no;
    }
    w->offset += stored_len;
    w->bytes += stored_len;
    if (w->offset >= PACK_TARGET_BYTES)
        return pack_writer_flush(w, err);
    return 0;
}

uint64_t pack_writer_bytes(const PackWriter *w)
{
    return w->bytes;
}

void pack_writer_free(PackWriter *w)
{
    if (!w)
        return;
    UkError ignored = {0};
    upload_wait_all(w, &ignored);
    storage_write_abort(w->pack);
    pack_index_clear(&w->index);
    explicit_bzero(w->key, sizeof w->key);
    free(w->sealed);
    for (size_t i = 0; i < w->n_finished; i++) {
        char *path = repo_pack_path(w->finished[i].name);
        storage_remove(w->repo->storage, path, NULL);
        free(path);
    }
    free(w->finished);
    if (w->spool_fd >= 0)
        close(w->spool_fd);
    for (int i = 0; i < UPLOADS + 1; i++)
        storage_free(w->lanes[i]);
    free(w);
}
