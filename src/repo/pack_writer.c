#include "repo/pack_writer.h"

#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "repo/repo_int.h"

struct PackWriter {
    Storage *storage;
    StorageWrite *pack;
    char name[40];
    uint64_t offset;
    PackIndex index;
    size_t frames_cap, entries_cap;
    uint64_t bytes;
};

PackWriter *pack_writer_new(Storage *storage)
{
    PackWriter *w = xcalloc(1, sizeof *w);
    w->storage = storage;
    return w;
}

static int pack_begin(PackWriter *w, UkError *err)
{
    unsigned char id[16];
    RAND_bytes(id, sizeof id);
    hex_encode(id, sizeof id, w->name);
    char *path = repo_pack_path(w->name);
    w->pack = storage_write_begin(w->storage, path, err);
    free(path);
    if (!w->pack)
        return -1;
    if (storage_write(w->pack, PACK_MAGIC, 8, err) != 0)
        return -1;
    w->offset = 8;
    w->bytes += 8;
    return 0;
}

int pack_writer_flush(PackWriter *w, UkError *err)
{
    if (!w->pack)
        return 0;
    StorageWrite *pack = w->pack;
    w->pack = NULL;
    int rc = storage_write_commit(pack, err);
    if (rc == 0) {
        unsigned char *data = NULL;
        size_t len = 0;
        pack_index_encode(&w->index, &data, &len, err);
        char *path = xasprintf("index/%s", w->name);
        rc = storage_put(w->storage, path, data, len, false, err);
        free(path);
        free(data);
        w->bytes += len;
    }
    pack_index_clear(&w->index);
    w->frames_cap = w->entries_cap = 0;
    return rc;
}

int pack_writer_add(PackWriter *w, const void *stored, size_t stored_len, uint32_t raw_len,
                    uint8_t compression, const PackEntry *entries, size_t n_entries, UkError *err)
{
    if (!w->pack && pack_begin(w, err) != 0)
        return -1;
    if (storage_write(w->pack, stored, stored_len, err) != 0)
        return -1;
    PackIndex *pi = &w->index;
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
    storage_write_abort(w->pack);
    pack_index_clear(&w->index);
    free(w);
}
