/* Garbage collection: what no remaining backup references goes, in two phases.
 *
 * Several hosts may share a repository, and a backup on one of them may reuse a chunk that
 * prune, on another, is about to delete. Locks keep a prune from running beside a backup, but
 * a lock can go stale while its holder still runs (a host cut off from the storage for half an
 * hour). So a pack that no backup needs is first only marked (gc/marked lists it with the
 * time), and deleted by a later prune once prune_grace has passed and it is still needed by
 * none; a backup never reuses chunks from a marked pack (repo_load_index_for_writing), so
 * one that began after the mark cannot depend on it, and one that began before it has ended
 * by then if the grace is longer than the longest backup. A marked pack that a backup does
 * need again is unmarked. A pack less than half needed has its needed chunks copied into a
 * new pack when it is marked, so that deleting it later takes nothing anyone needs.
 *
 * A missing or unreadable index means "unknown", never "unreferenced": it is rebuilt from the
 * copy its pack carries, and a pack whose index cannot be had at all is kept unless every
 * chunk the backups need was found elsewhere. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/crypto.h"
#include "common/util.h"
#include "core/log.h"
#include "filter/compress.h"
#include "repo/image_reader.h"
#include "repo/pack_writer.h"
#include "repo/repo_int.h"

#define REPACK_BATCH (1024 * 1024)
#define REPACK_MAX_ENTRIES 256

/* Collects every chunk hash that a remaining manifest references: its image's chunks and
 * the chunks its list is kept in. A version 2 manifest whose list cannot be read (a list
 * block missing or damaged) references chunks nobody can name: *unknown counts such
 * manifests, and garbage collection then removes nothing. */
static int referenced_chunks(Repo *r, const char *const *ignore, size_t n_ignore, ChunkIndex *refs,
                             size_t *unknown, UkError *err)
{
    *unknown = 0;
    char **names = NULL;
    size_t n = 0;
    if (storage_list(r->storage, "snapshots", &names, &n, err) != 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        bool ignored = false;
        for (size_t k = 0; k < n_ignore && !ignored; k++)
            ignored = strcmp(ignore[k], names[i]) == 0;
        if (ignored)
            continue;
        Manifest m;
        char *path = xasprintf("snapshots/%s", names[i]);
        unsigned char *data = NULL;
        size_t len = 0;
        rc = repo_get_object(r, path, &data, &len, err);
        if (rc == 0)
            rc = manifest_decode(data, len, true, &m, err);
        free(data);
        free(path);
        if (rc != 0) {
            uk_error_prefix(err, "backup '%s': ", names[i]);
            break;
        }
        /* The image's list, and a backup with files its tree's and its data's. */
        bool readable = true;
        for (int k = 0; k < manifest_part_count(&m); k++) {
            Manifest part;
            manifest_part(&m, k, &part);
            ImageReader *list = image_reader_new(r, &part);
            const unsigned char *hash = NULL;
            UkError list_err = {0};
            int got;
            while ((got = image_reader_next_hash(list, &hash, &list_err)) == 1)
                chunk_index_add(refs, hash, NULL);
            image_reader_free(list);
            if (got < 0 && readable) {
                log_warn("repository '%s': backup '%s': %s: removing no packs", r->name, names[i],
                         list_err.msg);
                (*unknown)++;
                readable = false;
            }
            for (uint64_t b = 0; b < part.list_count; b++) /* the list's own chunks */
                chunk_index_add(refs, part.list_hashes + b * 32, NULL);
        }
        manifest_clear(&m);
    }
    storage_names_free(names, n);
    return rc;
}

/* Copies the live chunks of sparse packs into new packs. Returns the bytes written. */
typedef struct Repacker {
    Repo *repo;
    PackWriter *out;
    Compressor *comp;
    ChunkIndex *copied; /* live chunks already copied (a chunk may sit in several packs) */
    unsigned char *batch, *encoded, *frame;
    size_t batch_len, frame_cap;
    PackEntry entries[REPACK_MAX_ENTRIES];
    size_t n_entries;
} Repacker;

static int repack_flush(Repacker *rp, UkError *err)
{
    if (rp->n_entries == 0)
        return 0;
    uint8_t compression;
    size_t n = compress_frame(rp->comp, rp->batch, rp->batch_len, rp->encoded,
                              compress_bound(REPACK_BATCH), &compression);
    if (n == 0)
        return uk_error_set(err, UK_E_INTERNAL, 0, "unable to compress a frame");
    int rc = pack_writer_add(rp->out, rp->encoded, n, (uint32_t)rp->batch_len, compression,
                             rp->entries, rp->n_entries, err);
    rp->batch_len = 0;
    rp->n_entries = 0;
    return rc;
}

static int repack_pack(Repacker *rp, const char *name, const PackIndex *pi, const ChunkIndex *refs,
                       UkError *err)
{
    unsigned char key[32];
    Repo *r = rp->repo;
    if (r->keys && pack_key(r->storage, r->keys, name, key, err) != 0)
        return -1;
    ChunkNamer *namer = chunk_namer_new(r->keys);
    int rc = 0;
    for (size_t f = 0; f < pi->n_frames && rc == 0; f++) {
        bool wanted = false;
        for (size_t e = 0; e < pi->n_entries && !wanted; e++)
            wanted = pi->entries[e].frame == f && chunk_index_get(refs, pi->entries[e].hash) &&
                     !chunk_index_get(rp->copied, pi->entries[e].hash);
        if (!wanted)
            continue;
        const PackFrame *fr = &pi->frames[f];
        if (rp->frame_cap < (size_t)fr->raw_len + fr->stored_len) {
            rp->frame_cap = (size_t)fr->raw_len + fr->stored_len;
            rp->frame = xrealloc(rp->frame, rp->frame_cap);
        }
        unsigned char *stored = rp->frame + fr->raw_len;
        rc = pack_read_frame(r->storage, name, r->keys ? key : NULL, (uint32_t)f, fr, stored,
                             rp->frame, err);
        for (size_t e = 0; e < pi->n_entries && rc == 0; e++) {
            const PackEntry *pe = &pi->entries[e];
            if (pe->frame != f || !chunk_index_get(refs, pe->hash) ||
                !chunk_index_add(rp->copied, pe->hash, NULL))
                continue;
            unsigned char check[32];
            chunk_namer_id(namer, rp->frame + pe->offset, pe->length, check);
            if (memcmp(check, pe->hash, 32) != 0) {
                rc = uk_error_set(err, UK_E_CORRUPT, 0,
                                  "pack '%s' holds a corrupt chunk; not repacking it", name);
                break;
            }
            if (rp->batch_len + pe->length > REPACK_BATCH || rp->n_entries == REPACK_MAX_ENTRIES)
                rc = repack_flush(rp, err);
            if (rc != 0)
                break;
            memcpy(rp->batch + rp->batch_len, rp->frame + pe->offset, pe->length);
            PackEntry *out = &rp->entries[rp->n_entries++];
            memcpy(out->hash, pe->hash, 32);
            out->offset = (uint32_t)rp->batch_len;
            out->length = pe->length;
            rp->batch_len += pe->length;
        }
    }
    chunk_namer_free(namer);
    explicit_bzero(key, sizeof key);
    return rc;
}

/* KEEP: needed. DEAD: needed by no backup (or its needed chunks copied out before). SPARSE:
 * less than half needed, its needed chunks to be copied out now. UNKNOWN: no index to tell.
 * A DEAD or SPARSE pack is marked; once its mark is older than the grace, it goes. */
typedef enum { PACK_KEEP, PACK_DEAD, PACK_SPARSE, PACK_UNKNOWN } PackFate;

/* One pack as garbage collection sees it. */
typedef struct GcPack {
    char name[40];
    PackIndex index;
    bool have_index;    /* decoded, from index/<name> or from the pack's trailer */
    bool write_index;   /* index/<name> was missing or unreadable: rebuilt from the trailer */
    bool no_index_file; /* found in packs/ only */
    unsigned char *encoded;
    size_t encoded_len;
    PackFate fate;
    time_t marked; /* when gc/marked listed it; 0: not listed */
    bool going;    /* deleted by this run (a sparse one after its copy) */
    uint64_t stored, live_raw, all_raw;
    size_t live;
} GcPack;

/* The pack's own copy of its index, for an index object that is missing or unreadable. */
static bool rebuild_from_trailer(Repo *r, GcPack *p)
{
    UkError err = {0};
    bool ok = pack_read_trailer(r->storage, r->keys, p->name, &p->index, &p->encoded,
                                &p->encoded_len, &err) == 0;
    if (ok)
        p->have_index = p->write_index = true;
    return ok;
}

static GcPack *gc_pack_add(GcPack **packs, size_t *n, const char *name)
{
    *packs = xrealloc(*packs, (*n + 1) * sizeof **packs);
    GcPack *p = &(*packs)[(*n)++];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    return p;
}

/* Every pack, from index/ and from packs/, with its index where one can be had: an
 * unreadable index object or a pack without one is rebuilt from the pack's trailer. */
static int gc_collect(Repo *r, GcPack **packs, size_t *n, GcStats *stats, UkError *err)
{
    char **indexes = NULL, **dirs = NULL;
    size_t n_indexes = 0, n_dirs = 0;
    if (storage_list(r->storage, "index", &indexes, &n_indexes, err) != 0)
        return -1;
    for (size_t i = 0; i < n_indexes; i++) {
        if (!repo_is_pack_name(indexes[i]))
            continue;
        GcPack *p = gc_pack_add(packs, n, indexes[i]);
        UkError read_err = {0};
        p->have_index = repo_read_pack_index(r, indexes[i], &p->index, &read_err) == 0;
        if (!p->have_index && !rebuild_from_trailer(r, p)) {
            stats->packs_unknown++;
            log_warn("repository '%s': index '%s' is unreadable (%s) and its pack carries no "
                     "usable copy: keeping the pack",
                     r->name, indexes[i], read_err.msg);
        }
    }
    storage_names_free(indexes, n_indexes);
    if (storage_list(r->storage, "packs", &dirs, &n_dirs, err) != 0)
        return -1;
    for (size_t d = 0; d < n_dirs; d++) {
        char *dir = xasprintf("packs/%s", dirs[d]);
        char **names = NULL;
        size_t n_names = 0;
        if (storage_list(r->storage, dir, &names, &n_names, err) != 0) {
            free(dir);
            storage_names_free(dirs, n_dirs);
            return -1;
        }
        for (size_t k = 0; k < n_names; k++) {
            bool known = false;
            for (size_t i = 0; i < *n && !known; i++)
                known = strcmp((*packs)[i].name, names[k]) == 0;
            if (known || !repo_is_pack_name(names[k]))
                continue;
            GcPack *p = gc_pack_add(packs, n, names[k]);
            p->no_index_file = true;
            rebuild_from_trailer(r, p);
        }
        storage_names_free(names, n_names);
        free(dir);
    }
    storage_names_free(dirs, n_dirs);
    return 0;
}

/* ---- marks: gc/marked, {"version":1,"packs":{"<pack>":<unix time marked>,…}} ---- */

#define MARKS_OBJECT "gc/marked"

static int marks_load(Repo *r, json_t **out, UkError *err)
{
    *out = NULL;
    unsigned char *data = NULL;
    size_t len = 0;
    UkError get_err = {0};
    if (repo_get_object(r, MARKS_OBJECT, &data, &len, &get_err) != 0) {
        if (get_err.code != UK_E_NOTFOUND) {
            *err = get_err;
            return -1;
        }
        *out = json_pack("{s:i, s:{}}", "version", 1, "packs");
        return 0;
    }
    json_t *doc = json_loadb((const char *)data, len, 0, NULL);
    free(data);
    if (!json_is_object(json_object_get(doc, "packs"))) {
        json_decref(doc);
        return uk_error_set(err, UK_E_CORRUPT, 0,
                            "repository '%s': '%s' is damaged (remove it: the next prune marks "
                            "the unneeded packs again)",
                            r->name, MARKS_OBJECT);
    }
    *out = doc;
    return 0;
}

static int marks_save(Repo *r, json_t *marks, UkError *err)
{
    char *text = json_dumps(marks, JSON_COMPACT | JSON_SORT_KEYS);
    int rc = repo_put_object(r, MARKS_OBJECT, text, strlen(text), false, err);
    free(text);
    return rc;
}

int repo_marked_packs(Repo *r, char ***names, size_t *n, UkError *err)
{
    *names = NULL;
    *n = 0;
    json_t *marks = NULL;
    if (marks_load(r, &marks, err) != 0)
        return -1;
    const char *name;
    json_t *value;
    json_object_foreach (json_object_get(marks, "packs"), name, value) {
        *names = xrealloc(*names, (*n + 1) * sizeof **names);
        (*names)[(*n)++] = xstrdup(name);
    }
    json_decref(marks);
    return 0;
}

/* Copies the live chunks of the SPARSE packs into new packs (published before any old pack
 * can go). */
static int repack_sparse(Repo *r, GcPack *packs, size_t n_packs, const ChunkIndex *refs,
                         ChunkIndex *kept, Repacker *rp, UkError *err)
{
    rp->out = pack_writer_new(r);
    rp->comp = compressor_new(r->compression_level);
    rp->copied = kept; /* what stays need not be copied */
    rp->batch = xmalloc(REPACK_BATCH);
    rp->encoded = xmalloc(compress_bound(REPACK_BATCH));
    for (size_t i = 0; i < n_packs; i++)
        if (packs[i].fate == PACK_SPARSE &&
            repack_pack(rp, packs[i].name, &packs[i].index, refs, err) != 0)
            return -1;
    if (repack_flush(rp, err) != 0 || pack_writer_flush(rp->out, err) != 0 ||
        pack_writer_publish(rp->out, err) != 0)
        return -1;
    return 0;
}

int repo_gc(Repo *r, const GcOptions *opts, GcStats *stats, UkError *err)
{
    memset(stats, 0, sizeof *stats);
    ChunkIndex *refs = chunk_index_new(), *found = chunk_index_new(), *kept = chunk_index_new();
    char **tmp = NULL;
    size_t n_tmp = 0, n_packs = 0;
    GcPack *packs = NULL;
    Repacker rp = {.repo = r};
    json_t *marks = NULL;
    bool dry_run = opts->dry_run;
    time_t now = time(NULL);
    int rc = -1;
    if (marks_load(r, &marks, err) != 0)
        goto out;
    json_t *marked = json_object_get(marks, "packs");
    /* Every pack first, with the indexes rebuilt that are missing: a manifest's list blocks
     * may be in any of them. */
    if (repo_load_index(r, err) != 0 || gc_collect(r, &packs, &n_packs, stats, err) != 0)
        goto out;
    for (size_t i = 0; i < n_packs; i++)
        if (packs[i].no_index_file && packs[i].have_index &&
            repo_add_rebuilt_pack(r, packs[i].name, &packs[i].index, err) != 0)
            goto out;
    /* A manifest that fails to read stops GC: deleting chunks it might need would be worse. */
    size_t unknown_lists = 0;
    if (referenced_chunks(r, opts->ignore, opts->n_ignore, refs, &unknown_lists, err) != 0)
        goto out;
    stats->chunks_referenced = chunk_index_count(refs);
    stats->lists_unreadable = unknown_lists;
    for (size_t i = 0; i < n_packs; i++) {
        GcPack *p = &packs[i];
        p->fate = PACK_UNKNOWN;
        p->marked = (time_t)json_integer_value(json_object_get(marked, p->name));
        if (!p->have_index)
            continue;
        stats->packs_total++;
        for (size_t e = 0; e < p->index.n_entries; e++) {
            p->all_raw += p->index.entries[e].length;
            if (chunk_index_get(refs, p->index.entries[e].hash)) {
                p->live++;
                p->live_raw += p->index.entries[e].length;
                chunk_index_add(found, p->index.entries[e].hash, NULL);
            }
        }
        for (size_t f = 0; f < p->index.n_frames; f++)
            p->stored += p->index.frames[f].stored_len;
        stats->chunks_unreferenced += p->index.n_entries - p->live;
        p->fate = PACK_KEEP;
        if (unknown_lists > 0)
            continue; /* any pack may hold what those backups need */
        if (p->live == 0)
            p->fate = PACK_DEAD;
        else if (p->live_raw * 2 < p->all_raw)
            p->fate = PACK_SPARSE; /* copying the rest out pays */
    }
    /* A pack with no index anywhere is garbage only if every chunk the backups need was found
     * elsewhere; otherwise it may hold them, and it stays. */
    bool all_found = chunk_index_count(found) == chunk_index_count(refs);
    stats->chunks_missing = chunk_index_count(refs) - chunk_index_count(found);
    for (size_t i = 0; i < n_packs; i++) {
        GcPack *p = &packs[i];
        if (p->have_index || !p->no_index_file)
            continue;
        if (all_found && unknown_lists == 0) {
            p->fate = PACK_DEAD;
        } else {
            stats->packs_unknown++;
            log_warn("repository '%s': pack '%s' has no index and %zu chunks that backups need "
                     "are in no index: keeping the pack",
                     r->name, p->name, stats->chunks_missing);
        }
    }
    /* The chunks of the packs that stay: a pack may go only when every chunk of it that a
     * backup needs is in one of them, or in a copy made now. */
    for (size_t i = 0; i < n_packs; i++)
        for (size_t e = 0; packs[i].fate == PACK_KEEP && e < packs[i].index.n_entries; e++)
            chunk_index_add(kept, packs[i].index.entries[e].hash, NULL);
    bool repack = false;
    for (size_t i = 0; i < n_packs; i++) {
        GcPack *p = &packs[i];
        if (p->fate == PACK_KEEP || p->fate == PACK_UNKNOWN) {
            if (p->marked) { /* needed again: a backup reused it after all */
                stats->packs_unmarked++;
                json_object_del(marked, p->name);
            }
            continue;
        }
        bool elsewhere = true;
        for (size_t e = 0; e < p->index.n_entries && elsewhere; e++)
            elsewhere = !chunk_index_get(refs, p->index.entries[e].hash) ||
                        chunk_index_get(kept, p->index.entries[e].hash);
        if (!elsewhere) { /* sparse: its needed chunks are copied out now, marked from now */
            stats->packs_repacked++;
            repack = true;
            p->marked = 0;
        } else if (p->fate == PACK_SPARSE) {
            p->fate = PACK_DEAD; /* copied out before: nothing of it is needed any more */
        }
        if (!p->marked) {
            stats->packs_marked++;
            p->marked = now;
            json_object_set_new(marked, p->name, json_integer((json_int_t)now));
        }
        if (now - p->marked >= opts->grace_seconds) {
            if (p->no_index_file) {
                stats->orphan_files_removed++;
            } else {
                stats->packs_removed++;
                stats->bytes_removed += p->stored;
            }
            p->going = true;
            json_object_del(marked, p->name);
        } else {
            stats->packs_waiting++;
        }
    }
    /* Rebuilt indexes of packs that stay are written back first. */
    for (size_t i = 0; i < n_packs && !dry_run; i++) {
        GcPack *p = &packs[i];
        if (!p->write_index || p->going)
            continue;
        stats->indexes_rebuilt++;
        if (repo_put_pack_index(r, p->name, p->encoded, p->encoded_len, err) != 0)
            goto out;
    }
    if (dry_run) {
        for (size_t i = 0; i < n_packs; i++)
            stats->indexes_rebuilt += packs[i].write_index && !packs[i].going;
    }
    if (!dry_run && repack && repack_sparse(r, packs, n_packs, refs, kept, &rp, err) != 0)
        goto out;
    /* The copies are durable; the marks are written before anything goes, so that a crash
     * leaves a pack marked, never a deleted pack's mark lost with work left to do. */
    if (!dry_run && marks_save(r, marks, err) != 0)
        goto out;
    /* Each index before its pack: a crash in between leaves a pack without an index (collected
     * next time from its trailer), never an index entry that points at a missing pack. */
    for (size_t i = 0; i < n_packs && !dry_run; i++) {
        if (!packs[i].going)
            continue;
        char *path = xasprintf("index/%s", packs[i].name);
        char *pack = repo_pack_path(packs[i].name);
        index_cache_drop(r->cache, packs[i].name);
        int del_rc = packs[i].no_index_file ? 0 : storage_remove(r->storage, path, err);
        if (del_rc == 0)
            del_rc = storage_remove(r->storage, pack, err);
        free(pack);
        free(path);
        if (del_rc != 0)
            goto out;
    }
    if (!dry_run && storage_list(r->storage, "tmp", &tmp, &n_tmp, err) == 0) {
        for (size_t i = 0; i < n_tmp; i++) {
            char *path = xasprintf("tmp/%s", tmp[i]);
            storage_remove(r->storage, path, NULL);
            free(path);
            stats->orphan_files_removed++;
        }
    }
    rc = 0;
out:
    for (size_t i = 0; i < n_packs; i++) {
        pack_index_clear(&packs[i].index);
        free(packs[i].encoded);
    }
    free(packs);
    json_decref(marks);
    pack_writer_free(rp.out);
    compressor_free(rp.comp);
    free(rp.batch);
    free(rp.encoded);
    free(rp.frame);
    chunk_index_free(refs);
    chunk_index_free(found);
    chunk_index_free(kept);
    storage_names_free(tmp, n_tmp);
    return rc;
}
