/* See backup_writer.h for the design. Threading: workers only read the repository's chunk
 * index (frozen while the backup runs) and their own batch; everything else, including the
 * session's set of new chunks and all storage writes, belongs to the calling thread. */
#include "repo/backup_writer.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/util.h"
#include "filter/compress.h"
#include "repo/pack_writer.h"
#include "repo/repo_int.h"

/* 1 MiB frames compress within 0.1% of compressing the whole image at once (zstd -3 on
 * application data); 256 KiB frames lost about 3%. */
#define BATCH_BYTES (1024 * 1024)
#define BATCH_CHUNKS 256

enum { BATCH_FREE, BATCH_QUEUED, BATCH_DONE };

/* A Batch.index says which part (manifest.h) the chunk belongs to in bits 61-62, and, with
 * LIST_CHUNK set, that it is block number (index & INDEX_MASK) of the part's chunk list
 * (version 2 manifests), not a chunk of the part's content. */
#define LIST_CHUNK (UINT64_C(1) << 63)
#define PART_SHIFT 61
#define INDEX_MASK ((UINT64_C(1) << PART_SHIFT) - 1)
#define PART_OF(index) ((int)((index) >> PART_SHIFT & 3))
#define IN_PART(part, i) ((uint64_t)(part) << PART_SHIFT | (i))

typedef struct Batch {
    int state;
    size_t n;
    uint64_t index[BATCH_CHUNKS];
    uint32_t offset[BATCH_CHUNKS], length[BATCH_CHUNKS];
    unsigned char hash[BATCH_CHUNKS][32];
    bool known[BATCH_CHUNKS];
    uint32_t frame_offset[BATCH_CHUNKS]; /* where a new chunk sits in the frame */
    unsigned char *raw;                  /* the chunks; compacted to the new ones in place */
    size_t raw_len;
    uint32_t frame_raw_len;
    unsigned char *out;
    size_t out_len;
    uint8_t compression;
} Batch;

/* Stream input waits here until a chunk can be cut from it: at least the chunker's largest
 * chunk, so that no cut depends on how the input was split into writes. */
#define STREAM_BUFFER (4 * 1024 * 1024)

/* One hash list: the image's, or a file part's. */
typedef struct Part {
    bool used;
    bool stream;
    ChunkerParams chunking;
    uint64_t size, chunk_count;
    int hashes_fd;              /* the hash list, 32 bytes a chunk at 32 * index (temp_file_open) */
    unsigned char *list_hashes; /* version 2: the list blocks' hashes */
    uint64_t list_count, list_cap;
    unsigned char image_hash[32];
} Part;

struct BackupWriter {
    Repo *repo;
    uint64_t image_size;
    uint32_t chunk_size;
    uint64_t chunk_count;
    uint64_t *have; /* pages: one bit per chunk: arrived */

    Part parts[MANIFEST_PARTS]; /* [MANIFEST_PART_IMAGE] mirrors the fields above */
    int active;                 /* the part stream bytes go to */
    bool stream;
    ChunkerParams chunking;
    uint64_t gear[256];     /* the repository's (repo/keyring.h) */
    unsigned char *pending; /* streams: bytes not yet cut into chunks */
    size_t pending_start, pending_len;
    ChunkSet *session; /* chunks stored by this backup */

    Batch *slots;
    size_t n_slots, fill, retire;
    Batch *current;
    uint64_t last_index;

    pthread_t *threads;
    size_t n_threads;
    pthread_mutex_t lock;
    pthread_cond_t work_ready, work_done;
    size_t next_work;
    bool stopping;
    bool failed;
    UkError failure;

    PackWriter *packs;
    PackEntry entries[BATCH_CHUNKS];

    uint64_t new_chunks, reused_chunks;
    double started;
};

static void process_batch(BackupWriter *w, Batch *b, Compressor *comp, ChunkNamer *namer)
{
    for (size_t i = 0; i < b->n; i++) {
        ChunkLocation loc;
        chunk_namer_id(namer, b->raw + b->offset[i], b->length[i], b->hash[i]);
        b->known[i] = chunk_set_find(w->repo->index, b->hash[i], &loc);
    }
    /* Move the new chunks together (in place: offsets only ever decrease) and compress them
     * as one frame. */
    b->frame_raw_len = 0;
    for (size_t i = 0; i < b->n; i++) {
        if (b->known[i])
            continue;
        if (b->frame_raw_len != b->offset[i])
            memmove(b->raw + b->frame_raw_len, b->raw + b->offset[i], b->length[i]);
        b->frame_offset[i] = b->frame_raw_len;
        b->frame_raw_len += b->length[i];
    }
    b->out_len = 0;
    if (b->frame_raw_len > 0)
        b->out_len = compress_frame(comp, b->raw, b->frame_raw_len, b->out,
                                    compress_bound(BATCH_BYTES), &b->compression);
}

static void *worker_main(void *arg)
{
    BackupWriter *w = arg;
    Compressor *comp = compressor_new(w->repo->compression_level);
    ChunkNamer *namer = chunk_namer_new(w->repo->keys);
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (!w->stopping && w->next_work == w->fill)
            pthread_cond_wait(&w->work_ready, &w->lock);
        if (w->stopping && w->next_work == w->fill)
            break;
        Batch *b = &w->slots[w->next_work % w->n_slots];
        w->next_work++;
        pthread_mutex_unlock(&w->lock);
        process_batch(w, b, comp, namer);
        pthread_mutex_lock(&w->lock);
        b->state = BATCH_DONE;
        pthread_cond_broadcast(&w->work_done);
    }
    pthread_mutex_unlock(&w->lock);
    compressor_free(comp);
    chunk_namer_free(namer);
    return NULL;
}

static BackupWriter *writer_new(Repo *repo)
{
    BackupWriter *w = xcalloc(1, sizeof *w);
    w->repo = repo;
    w->session = chunk_set_new();
    w->packs = pack_writer_new(repo);
    for (int k = 0; k < MANIFEST_PARTS; k++)
        w->parts[k].hashes_fd = -1;
    w->parts[0].used = true;
    w->parts[0].hashes_fd = temp_file_open(&w->failure);
    w->failed = w->parts[0].hashes_fd < 0; /* reported by the first call */
    chunker_gear_table(keyring_gear_seed(repo->keys), w->gear);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    w->n_threads = cpus < 1 ? 1 : cpus > 8 ? 8 : (size_t)cpus;
    /* Two batches a worker (one it works on, one waiting) and two for the calling thread
     * (the one it fills, the one it retires): 2 MiB each, whatever the image's size. */
    w->n_slots = w->n_threads * 2 + 2;
    w->slots = xcalloc(w->n_slots, sizeof *w->slots);
    for (size_t i = 0; i < w->n_slots; i++) {
        w->slots[i].raw = xmalloc(BATCH_BYTES);
        w->slots[i].out = xmalloc(compress_bound(BATCH_BYTES));
    }
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->work_ready, NULL);
    pthread_cond_init(&w->work_done, NULL);
    w->threads = xcalloc(w->n_threads, sizeof *w->threads);
    for (size_t i = 0; i < w->n_threads; i++)
        pthread_create(&w->threads[i], NULL, worker_main, w);
    w->started = monotonic_seconds();
    return w;
}

BackupWriter *backup_writer_new(Repo *repo, uint64_t image_size, uint32_t chunk_size)
{
    BackupWriter *w = writer_new(repo);
    w->image_size = image_size;
    w->chunk_size = chunk_size;
    w->chunk_count = (image_size + chunk_size - 1) / chunk_size;
    w->parts[0].chunk_count = w->chunk_count;
    w->parts[0].size = image_size;
    w->have = xcalloc(w->chunk_count / 64 + 1, sizeof *w->have);
    return w;
}

BackupWriter *backup_writer_new_stream(Repo *repo, const ChunkerParams *chunking)
{
    BackupWriter *w = writer_new(repo);
    w->stream = true;
    w->chunking = *chunking;
    w->parts[0].stream = true;
    w->parts[0].chunking = *chunking;
    w->chunk_size = chunking->max_size;
    w->pending = xmalloc(STREAM_BUFFER);
    return w;
}

static void stop_workers(BackupWriter *w)
{
    if (!w->threads)
        return;
    pthread_mutex_lock(&w->lock);
    w->stopping = true;
    pthread_cond_broadcast(&w->work_ready);
    pthread_mutex_unlock(&w->lock);
    for (size_t i = 0; i < w->n_threads; i++)
        pthread_join(w->threads[i], NULL);
    free(w->threads);
    w->threads = NULL;
}

/* Runs in the calling thread, in batch order. A chunk already stored by this backup (an
 * earlier batch, or earlier in this one) is treated as known: its second copy stays inside
 * the frame, unreferenced, which costs a few compressed bytes and keeps workers lock-free. */
static int retire_batch(BackupWriter *w, Batch *b, UkError *err)
{
    /* A batch holds consecutive chunks of one part, of its content or of its list
     * (add_chunk). */
    if (b->n > 0 && !(b->index[0] & LIST_CHUNK) &&
        pwrite_all(w->parts[PART_OF(b->index[0])].hashes_fd, b->hash, b->n * 32,
                   (b->index[0] & INDEX_MASK) * 32, "the backup's hash list", err) != 0)
        return -1;
    bool any_new = false;
    for (size_t i = 0; i < b->n; i++) {
        bool listed = (b->index[i] & LIST_CHUNK) != 0;
        Part *part = &w->parts[PART_OF(b->index[i])];
        uint64_t block = b->index[i] & INDEX_MASK;
        if (listed && block >= part->list_cap) {
            part->list_cap = part->list_cap ? part->list_cap * 2 : 64;
            part->list_hashes = xrealloc(part->list_hashes, part->list_cap * 32);
        }
        if (listed)
            memcpy(part->list_hashes + block * 32, b->hash[i], 32);
        if (!b->known[i]) {
            int added = chunk_set_add(w->session, b->hash[i], NULL, err);
            if (added < 0)
                return -1;
            b->known[i] = added == 0;
        }
        any_new |= !b->known[i];
        if (!listed) /* the image's chunks: the list's own are not the backup's content */
            *(b->known[i] ? &w->reused_chunks : &w->new_chunks) += 1;
    }
    if (!any_new)
        return 0;
    if (b->out_len == 0)
        return uk_error_set(err, UK_E_INTERNAL, 0, "unable to compress a frame");
    size_t n_new = 0;
    for (size_t i = 0; i < b->n; i++) {
        if (b->known[i])
            continue;
        PackEntry *e = &w->entries[n_new++];
        memcpy(e->hash, b->hash[i], 32);
        e->offset = b->frame_offset[i];
        e->length = b->length[i];
    }
    return pack_writer_add(w->packs, b->out, b->out_len, b->frame_raw_len, b->compression,
                           w->entries, n_new, err);
}

/* Waits for the oldest submitted batch and retires it. */
static int retire_oldest(BackupWriter *w, UkError *err)
{
    Batch *b = &w->slots[w->retire % w->n_slots];
    pthread_mutex_lock(&w->lock);
    while (b->state != BATCH_DONE)
        pthread_cond_wait(&w->work_done, &w->lock);
    pthread_mutex_unlock(&w->lock);
    int rc = retire_batch(w, b, err);
    b->state = BATCH_FREE;
    b->n = 0;
    b->raw_len = 0;
    w->retire++;
    return rc;
}

static int submit_current(BackupWriter *w, UkError *err)
{
    if (!w->current || w->current->n == 0)
        return 0;
    pthread_mutex_lock(&w->lock);
    w->current->state = BATCH_QUEUED;
    w->fill++;
    pthread_cond_signal(&w->work_ready);
    pthread_mutex_unlock(&w->lock);
    w->current = NULL;
    (void)err;
    return 0;
}

static int ensure_current(BackupWriter *w, UkError *err)
{
    if (w->current)
        return 0;
    if (w->fill - w->retire == w->n_slots && retire_oldest(w, err) != 0)
        return -1;
    w->current = &w->slots[w->fill % w->n_slots];
    w->current->n = 0;
    w->current->raw_len = 0;
    return 0;
}

/* Queues chunk INDEX for hashing and storing (it is copied). */
static int add_chunk(BackupWriter *w, uint64_t index, const void *data, size_t len, UkError *err)
{
    if (w->current && (w->current->n == BATCH_CHUNKS || w->current->raw_len + len > BATCH_BYTES ||
                       index != w->last_index + 1))
        submit_current(w, err);
    if (ensure_current(w, err) != 0)
        goto failed;
    Batch *b = w->current;
    b->index[b->n] = index;
    b->offset[b->n] = (uint32_t)b->raw_len;
    b->length[b->n] = (uint32_t)len;
    memcpy(b->raw + b->raw_len, data, len);
    b->raw_len += len;
    b->n++;
    w->last_index = index;
    return 0;
failed:
    w->failed = true;
    w->failure = *err;
    return -1;
}

int backup_writer_chunk(BackupWriter *w, uint64_t index, const void *data, size_t len, UkError *err)
{
    if (w->failed) {
        *err = w->failure;
        return -1;
    }
    if (w->stream || index >= w->chunk_count || len == 0 || len > w->chunk_size ||
        len > BATCH_BYTES || (w->have[index / 64] >> (index % 64) & 1))
        return uk_error_set(err, UK_E_INTERNAL, 0, "unexpected chunk %llu of %llu",
                            (unsigned long long)index, (unsigned long long)w->chunk_count);
    w->have[index / 64] |= UINT64_C(1) << (index % 64);
    return add_chunk(w, IN_PART(MANIFEST_PART_IMAGE, index), data, len, err);
}

/* Cuts chunks from the pending bytes while a whole largest chunk is there (or, at the end
 * of the stream, until none is left). */
static int cut_pending(BackupWriter *w, bool at_end, UkError *err)
{
    Part *part = &w->parts[w->active];
    while (w->pending_len > 0 && (at_end || w->pending_len >= part->chunking.max_size)) {
        const unsigned char *start = w->pending + w->pending_start;
        size_t len = chunker_cut_with(&part->chunking, w->gear, start, w->pending_len);
        if (add_chunk(w, IN_PART(w->active, part->chunk_count), start, len, err) != 0)
            return -1;
        part->chunk_count++;
        part->size += len;
        w->pending_start += len;
        w->pending_len -= len;
    }
    if (w->active == MANIFEST_PART_IMAGE) {
        w->chunk_count = part->chunk_count;
        w->image_size = part->size;
    }
    return 0;
}

int backup_writer_write(BackupWriter *w, const void *data, size_t len, UkError *err)
{
    if (w->failed) {
        *err = w->failure;
        return -1;
    }
    if (!w->parts[w->active].stream)
        return uk_error_set(err, UK_E_INTERNAL, 0, "a page image takes numbered chunks");
    const unsigned char *p = data;
    while (len > 0) {
        if (w->pending_start + w->pending_len == STREAM_BUFFER) { /* keep the tail, at the front */
            memmove(w->pending, w->pending + w->pending_start, w->pending_len);
            w->pending_start = 0;
        }
        size_t room = STREAM_BUFFER - w->pending_start - w->pending_len;
        size_t n = len < room ? len : room;
        memcpy(w->pending + w->pending_start + w->pending_len, p, n);
        w->pending_len += n;
        p += n;
        len -= n;
        if (cut_pending(w, false, err) != 0)
            return -1;
    }
    return 0;
}

/* Flushes the batches still queued. */
static int retire_all(BackupWriter *w, UkError *err)
{
    submit_current(w, err);
    while (w->retire < w->fill)
        if (retire_oldest(w, err) != 0)
            return -1;
    return 0;
}

static int check_failed(BackupWriter *w, UkError *err)
{
    if (!w->failed)
        return 0;
    *err = w->failure;
    return -1;
}

int backup_writer_begin_part(BackupWriter *w, int k, const ChunkerParams *chunking, UkError *err)
{
    if (check_failed(w, err) != 0)
        return -1;
    if (k <= MANIFEST_PART_IMAGE || k >= MANIFEST_PARTS || w->parts[k].used)
        return uk_error_set(err, UK_E_INTERNAL, 0, "part %d started twice", k);
    /* The part before is finished and retired: its hash list can be read back meanwhile. */
    if (backup_writer_end_piece(w, err) != 0 || retire_all(w, err) != 0)
        return -1;
    if (!w->pending)
        w->pending = xmalloc(STREAM_BUFFER);
    Part *part = &w->parts[k];
    part->hashes_fd = temp_file_open(err);
    if (part->hashes_fd < 0)
        return -1;
    part->used = part->stream = true;
    part->chunking = *chunking;
    w->active = k;
    return 0;
}

int backup_writer_end_piece(BackupWriter *w, UkError *err)
{
    if (check_failed(w, err) != 0)
        return -1;
    if (w->parts[w->active].stream && cut_pending(w, true, err) != 0)
        return -1;
    w->pending_start = 0;
    return 0;
}

void backup_writer_position(const BackupWriter *w, uint64_t *chunks, uint64_t *bytes)
{
    *chunks = w->parts[w->active].chunk_count;
    *bytes = w->parts[w->active].size;
}

int backup_writer_rewind(BackupWriter *w, uint64_t chunks, uint64_t bytes, UkError *err)
{
    /* The batches of what is forgotten are retired first: none may write its ids later, over
     * ids append_known put at the same places meanwhile. */
    if (check_failed(w, err) != 0 || retire_all(w, err) != 0)
        return -1;
    w->pending_start = w->pending_len = 0;
    w->parts[w->active].chunk_count = chunks;
    w->parts[w->active].size = bytes;
    return 0;
}

int backup_writer_append_known(BackupWriter *w, const unsigned char *ids, uint64_t n,
                               uint64_t bytes, UkError *err)
{
    if (check_failed(w, err) != 0)
        return -1;
    for (uint64_t i = 0; i < n; i++) {
        ChunkLocation loc;
        if (!chunk_set_find(w->repo->index, ids + i * 32, &loc) &&
            !chunk_set_find(w->session, ids + i * 32, &loc))
            return 0;
    }
    Part *part = &w->parts[w->active];
    /* No batch in flight writes at or past the part's end (rewind retires those of what it
     * forgets), so the ids go straight in. */
    if (n > 0 && pwrite_all(part->hashes_fd, ids, n * 32, part->chunk_count * 32,
                            "the backup's hash list", err) != 0)
        return -1;
    part->chunk_count += n;
    part->size += bytes;
    w->reused_chunks += n;
    return 1;
}

int backup_writer_part_hashes(BackupWriter *w, int k, uint64_t first, uint64_t n,
                              unsigned char *out, UkError *err)
{
    if (check_failed(w, err) != 0)
        return -1;
    if (k == w->active || first + n > w->parts[k].chunk_count)
        return uk_error_set(err, UK_E_INTERNAL, 0, "chunks %llu+%llu of part %d are not written",
                            (unsigned long long)first, (unsigned long long)n, k);
    return pread_all(w->parts[k].hashes_fd, out, n * 32, first * 32, "the backup's hash list", err);
}

/* The finished hash list, read back once from its file: the image hash over it and, for a
 * version 2 manifest, the list cut into blocks (manifest_list_cut) that are stored as chunks
 * through the same batches, their ids in list_hashes. A window of the list at a time: it
 * always holds a whole block's worth past the cut, or the list's end, so the blocks are those
 * the whole list would give. */
#define LIST_WINDOW 8192 /* hashes */
static int finish_list(BackupWriter *w, int k, bool store, UkError *err)
{
    Part *part = &w->parts[k];
    unsigned char *window = xmalloc(LIST_WINDOW * 32);
    uint64_t base = 0, have = 0; /* the window holds hashes [base, base + have) */
    CryptoSha256 *image_hash = crypto_sha256_new();
    int rc = 0;
    for (uint64_t start = 0; start < part->chunk_count && rc == 0;) {
        if (start + MANIFEST_LIST_MAX > base + have && base + have < part->chunk_count) {
            uint64_t keep = base + have - start, room = LIST_WINDOW - keep;
            uint64_t more = part->chunk_count - (base + have);
            more = more < room ? more : room;
            memmove(window, window + (start - base) * 32, keep * 32);
            rc = pread_all(part->hashes_fd, window + keep * 32, more * 32, (base + have) * 32,
                           "the backup's hash list", err);
            if (rc != 0)
                break;
            crypto_sha256_update(image_hash, window + keep * 32, more * 32);
            base = start;
            have = keep + more;
        }
        const unsigned char *at = window + (start - base) * 32;
        uint64_t n = manifest_list_cut(at, base + have - start, 0);
        if (store)
            rc = add_chunk(w, LIST_CHUNK | IN_PART(k, part->list_count++), at, (size_t)n * 32, err);
        start += n;
    }
    crypto_sha256_final(image_hash, part->image_hash);
    free(window);
    if (rc == 0 && store)
        rc = retire_all(w, err);
    return rc;
}

/* Version 1 manifests carry the whole list: read back into memory (caller frees). */
static unsigned char *read_whole_list(BackupWriter *w, UkError *err)
{
    unsigned char *hashes = xmalloc(w->chunk_count * 32 + 1);
    if (pread_all(w->parts[0].hashes_fd, hashes, w->chunk_count * 32, 0, "the backup's hash list",
                  err) != 0) {
        free(hashes);
        return NULL;
    }
    return hashes;
}

int backup_writer_commit(BackupWriter *w, Manifest *m, UkError *err)
{
    if (w->failed) {
        *err = w->failure;
        return -1;
    }
    if (w->parts[w->active].stream && cut_pending(w, true, err) != 0)
        return -1;
    if (retire_all(w, err) != 0)
        return -1;
    for (uint64_t i = 0; !w->stream && i < w->chunk_count; i++)
        if (!(w->have[i / 64] >> (i % 64) & 1))
            return uk_error_set(err, UK_E_INTERNAL, 0, "backup image is missing chunk %llu",
                                (unsigned long long)i);
    m->has_files = w->parts[MANIFEST_PART_TREE].used;
    if (m->has_files && w->repo->version < 2)
        return uk_error_set(err, UK_E_CONFIG, 0,
                            "repository '%s' is of format version 1, which cannot hold files: "
                            "back the files up into a new repository",
                            w->repo->name);
    m->version = m->has_files ? 3 : w->repo->version >= 2 ? 2 : 1;
    for (int k = 0; k < MANIFEST_PARTS; k++)
        if (w->parts[k].used && finish_list(w, k, m->version >= 2, err) != 0)
            return -1;
    unsigned char *hashes = NULL;
    if (m->version == 1 && !(hashes = read_whole_list(w, err)))
        return -1;
    if (pack_writer_flush(w->packs, err) != 0 || pack_writer_publish(w->packs, err) != 0) {
        free(hashes);
        return -1;
    }
    snprintf(m->format, sizeof m->format, "%s", w->stream ? MANIFEST_STREAM : MANIFEST_PAGES);
    m->chunking = w->stream ? w->chunking : (ChunkerParams){0};
    m->image_size = w->image_size;
    m->chunk_size = w->chunk_size;
    m->chunk_count = w->chunk_count;
    m->hashes = hashes;
    m->list_hashes = w->parts[0].list_hashes;
    m->list_count = w->parts[0].list_count;
    memcpy(m->image_hash, w->parts[0].image_hash, 32);
    for (int k = 1; m->has_files && k < MANIFEST_PARTS; k++) {
        const Part *part = &w->parts[k];
        m->parts[k] = (ManifestPart){.chunking = part->chunking,
                                     .size = part->size,
                                     .chunk_count = part->chunk_count,
                                     .list_hashes = part->list_hashes,
                                     .list_count = part->list_count};
        memcpy(m->parts[k].image_hash, part->image_hash, 32);
    }
    m->new_chunks = w->new_chunks;
    m->reused_chunks = w->reused_chunks;
    m->duration = monotonic_seconds() - w->started;
    unsigned char *data = NULL;
    size_t len = 0;
    /* The manifest's own size is part of what this backup stores; encode twice to include it. */
    uint64_t stored = pack_writer_bytes(w->packs);
    m->stored_bytes = stored;
    int rc = manifest_encode(m, &data, &len, err);
    free(data);
    data = NULL;
    m->stored_bytes = stored + len;
    if (rc == 0)
        rc = manifest_encode(m, &data, &len, err);
    free(hashes);
    m->hashes = m->list_hashes = NULL;
    for (int k = 1; k < MANIFEST_PARTS; k++)
        m->parts[k].list_hashes = NULL; /* the writer's */
    if (rc != 0)
        return -1;
    char *path = xasprintf("snapshots/%s", m->id);
    rc = repo_put_object(w->repo, path, data, len, true, err);
    free(path);
    free(data);
    return rc;
}

void backup_writer_free(BackupWriter *w)
{
    if (!w)
        return;
    stop_workers(w);
    pack_writer_free(w->packs);
    for (size_t i = 0; i < w->n_slots; i++) {
        free(w->slots[i].raw);
        free(w->slots[i].out);
    }
    free(w->slots);
    chunk_set_free(w->session);
    for (int k = 0; k < MANIFEST_PARTS; k++) {
        if (w->parts[k].hashes_fd >= 0)
            close(w->parts[k].hashes_fd);
        free(w->parts[k].list_hashes);
    }
    free(w->have);
    free(w->pending);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->work_ready);
    pthread_cond_destroy(&w->work_done);
    free(w);
}
