/* Repository open, format marker, index loading, manifest listing and garbage collection.
 *
 * The format marker ("config", JSON) is written once when the repository is created; an
 * unknown version is refused before anything else is read or written, so an older upkeep
 * never damages a newer repository. A version 1 repository stays version 1: backups into it
 * write version 1 manifests, which every upkeep since reads, so hosts that share it need not
 * upgrade together. New repositories are version 2 (list blocks, manifest.h). */
#include "repo/repo_int.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/crypto.h"
#include "common/util.h"
#include "core/log.h"
#include "filter/compress.h"
#include "repo/image_reader.h"
#include "repo/pack_writer.h"

char *repo_pack_path(const char *pack_name)
{
    return xasprintf("packs/%.2s/%s", pack_name, pack_name);
}

static int check_or_create_marker(Repo *r, bool create, UkError *err)
{
    unsigned char *data = NULL;
    size_t len = 0;
    UkError get_err = {0};
    if (storage_get(r->storage, "config", &data, &len, &get_err) != 0) {
        if (get_err.code != UK_E_NOTFOUND) {
            *err = get_err;
            return -1;
        }
        if (!create)
            return uk_error_set(err, UK_E_NOTFOUND, 0,
                                "repository '%s' at '%s' has no backups yet (no repository there)",
                                r->name, storage_location(r->storage));
        unsigned char id[16];
        char id_hex[33];
        if (crypto_random(id, sizeof id, err) != 0)
            return -1;
        hex_encode(id, sizeof id, id_hex);
        char *marker = xasprintf("{\"format\":\"upkeep-repository\",\"version\":%d,"
                                 "\"id\":\"%s\",\"chunk_hash\":\"sha256\"}\n",
                                 REPO_FORMAT_VERSION, id_hex);
        r->version = REPO_FORMAT_VERSION;
        UkError put_err = {0};
        int rc = storage_put(r->storage, "config", marker, strlen(marker), true, &put_err);
        free(marker);
        if (rc != 0 && put_err.code != UK_E_EXISTS) { /* EXISTS: created concurrently */
            *err = put_err;
            return -1;
        }
        return rc == 0 ? 0 : check_or_create_marker(r, false, err);
    }
    json_error_t jerr;
    json_t *doc = json_loadb((const char *)data, len, 0, &jerr);
    free(data);
    const char *format = json_string_value(json_object_get(doc, "format"));
    json_int_t version = json_integer_value(json_object_get(doc, "version"));
    int rc = 0;
    if (!doc || !format || strcmp(format, "upkeep-repository") != 0)
        rc = uk_error_set(err, UK_E_FORMAT, 0, "'%s' is not an upkeep repository",
                          storage_location(r->storage));
    else if (version < 1 || version > REPO_FORMAT_VERSION)
        rc = uk_error_set(err, UK_E_FORMAT, 0,
                          "repository '%s' has format version %lld; this upkeep reads versions "
                          "1 to %d",
                          r->name, (long long)version, REPO_FORMAT_VERSION);
    else
        r->version = (int)version;
    json_decref(doc);
    return rc;
}

int repo_open(const RepoOpenOpts *opts, Repo **out, UkError *err)
{
    *out = NULL;
    if (crypto_load(err) != 0) /* every chunk is named by its hash */
        return -1;
    Storage *storage = storage_open(opts->config, err);
    if (!storage)
        return -1;
    Repo *r = xcalloc(1, sizeof *r);
    r->name = xstrdup(opts->config->name);
    r->storage = storage;
    r->compression_level = opts->config->compression_level;
    r->index = chunk_index_new();
    if (check_or_create_marker(r, opts->create, err) != 0) {
        repo_close(r);
        return -1;
    }
    *out = r;
    return 0;
}

void repo_close(Repo *r)
{
    if (!r)
        return;
    storage_free(r->storage);
    chunk_index_free(r->index);
    for (size_t i = 0; i < r->n_packs; i++)
        free(r->packs[i].frames);
    free(r->packs);
    free(r->name);
    free(r);
}

const char *repo_name(const Repo *r)
{
    return r->name;
}
int repo_lock(Repo *r, bool exclusive, UkError *err)
{
    const char *wait = getenv("UPKEEP_LOCK_WAIT");
    return storage_lock(r->storage, exclusive, wait ? atoi(wait) : 600, err);
}

static bool is_hex_name(const char *name, size_t len)
{
    if (strlen(name) != len)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
            return false;
    return true;
}

/* Puts the chunks of pack number PACK (in r->packs) into the in-memory index. */
static void add_entries(Repo *r, uint32_t pack, const PackIndex *pi)
{
    for (size_t e = 0; e < pi->n_entries; e++) {
        ChunkLocation loc = {pack, pi->entries[e].frame, pi->entries[e].offset,
                             pi->entries[e].length};
        chunk_index_add(r->index, pi->entries[e].hash, &loc);
    }
}

/* For garbage collection: a pack whose index it rebuilt from the pack's trailer, so that list
 * blocks in it can be read. The index must be loaded. */
static void add_rebuilt_pack(Repo *r, const char *name, const PackIndex *pi)
{
    r->packs = xrealloc(r->packs, (r->n_packs + 1) * sizeof *r->packs);
    RepoPack *p = &r->packs[r->n_packs];
    snprintf(p->name, sizeof p->name, "%s", name);
    p->n_frames = pi->n_frames;
    p->frames = xmalloc((pi->n_frames ? pi->n_frames : 1) * sizeof *p->frames);
    memcpy(p->frames, pi->frames, pi->n_frames * sizeof *p->frames);
    add_entries(r, (uint32_t)r->n_packs++, pi);
}

int repo_load_index(Repo *r, UkError *err)
{
    if (r->index_loaded)
        return 0;
    char **names = NULL;
    size_t n = 0;
    if (storage_list(r->storage, "index", &names, &n, err) != 0)
        return -1;
    /* Decode every index first so the table is sized once, exactly. */
    PackIndex *loaded = xcalloc(n ? n : 1, sizeof *loaded);
    size_t n_loaded = 0, entries = 0;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (!is_hex_name(names[i], 32))
            continue;
        char *path = xasprintf("index/%s", names[i]);
        unsigned char *data = NULL;
        size_t len = 0;
        UkError read_err = {0};
        bool ok = storage_get(r->storage, path, &data, &len, &read_err) == 0 &&
                  pack_index_decode(data, len, &loaded[n_loaded], &read_err) == 0;
        if (!ok) {
            /* One bad index must not stop every read: use the copy its pack carries, or go
             * on without it (a backup that needs its chunks then says which are missing). */
            char *pack = repo_pack_path(names[i]);
            UkError trailer_err = {0};
            ok = pack_read_trailer(r->storage, pack, &loaded[n_loaded], NULL, NULL, &trailer_err) ==
                 0;
            free(pack);
            if (!ok) {
                r->unreadable_indexes++;
                snprintf(r->unreadable_example, sizeof r->unreadable_example, "%s", names[i]);
                log_debug("repository '%s': index '%s' skipped: %s", r->name, names[i],
                          read_err.msg);
            }
        }
        if (ok) {
            r->packs = xrealloc(r->packs, (r->n_packs + 1) * sizeof *r->packs);
            RepoPack *p = &r->packs[r->n_packs++];
            snprintf(p->name, sizeof p->name, "%s", names[i]);
            p->frames = loaded[n_loaded].frames;
            p->n_frames = loaded[n_loaded].n_frames;
            loaded[n_loaded].frames = NULL;
            entries += loaded[n_loaded].n_entries;
            n_loaded++;
        }
        free(data);
        free(path);
    }
    if (rc == 0) {
        chunk_index_reserve(r->index, entries);
        for (size_t i = 0; i < n_loaded; i++)
            add_entries(r, (uint32_t)i, &loaded[i]);
        r->index_loaded = true;
    }
    for (size_t i = 0; i < n_loaded; i++)
        pack_index_clear(&loaded[i]);
    free(loaded);
    storage_names_free(names, n);
    return rc;
}

static int compare_manifests(const void *a, const void *b)
{
    const Manifest *x = a, *y = b;
    if (x->time != y->time)
        return x->time < y->time ? -1 : 1;
    return strcmp(x->id, y->id);
}

/* Version 2: the hash list, read from the list blocks the manifest names. */
static int resolve_list(Repo *r, Manifest *m, UkError *err)
{
    if (repo_load_index(r, err) != 0)
        return -1;
    ImageReader *reader = image_reader_new(r, NULL);
    unsigned char *hashes = xmalloc((size_t)m->chunk_count * 32 + 1);
    uint64_t have = 0;
    int rc = 0;
    for (uint64_t b = 0; b < m->list_count && rc == 0; b++) {
        char what[48];
        snprintf(what, sizeof what, "chunk list block %llu", (unsigned long long)b);
        const unsigned char *data = NULL;
        size_t len = 0;
        rc = image_reader_chunk(reader, m->list_hashes + b * 32, what, &data, &len, err);
        if (rc == 0 && (len % 32 != 0 || len / 32 > m->chunk_count - have))
            rc = uk_error_set(err, UK_E_CORRUPT, 0, "%s does not fit the chunk count", what);
        if (rc == 0) {
            memcpy(hashes + have * 32, data, len);
            have += len / 32;
        }
    }
    image_reader_free(reader);
    if (rc != 0) {
        free(hashes);
        return -1;
    }
    return manifest_set_hashes(m, hashes, have, err);
}

int repo_read_manifest(Repo *r, const char *id, bool with_hashes, Manifest *out, UkError *err)
{
    char *path = xasprintf("snapshots/%s", id);
    unsigned char *data = NULL;
    size_t len = 0;
    int rc;
    if (with_hashes) {
        rc = storage_get(r->storage, path, &data, &len, err);
        if (rc == 0)
            rc = manifest_decode(data, len, true, out, err);
        if (rc == 0 && out->version == 2 && (rc = resolve_list(r, out, err)) != 0)
            manifest_clear(out);
    } else {
        /* Metadata only: the hash list (32 bytes per chunk) is not read. */
        unsigned char prefix[12];
        rc = storage_read_range(r->storage, path, 0, sizeof prefix, prefix, err);
        len = rc == 0 ? manifest_header_length(prefix) : 0;
        if (rc == 0 && (len == 0 || len > (1u << 20)))
            rc = uk_error_set(err, UK_E_FORMAT, 0, "not an upkeep manifest (bad magic)");
        if (rc == 0) {
            data = xmalloc(len);
            rc = storage_read_range(r->storage, path, 0, len, data, err);
        }
        if (rc == 0)
            rc = manifest_decode_header(data, len, out, err);
    }
    if (rc != 0 && err && err->code == UK_E_NOTFOUND)
        uk_error_set(err, UK_E_NOTFOUND, 0, "no backup '%s' in repository '%s'", id, r->name);
    else if (rc != 0)
        uk_error_prefix(err, "backup '%s': ", id);
    free(data);
    free(path);
    return rc;
}

int repo_list_backups(Repo *r, Manifest **out, size_t *n, UkError *err)
{
    *out = NULL;
    *n = 0;
    char **names = NULL;
    size_t count = 0;
    if (storage_list(r->storage, "snapshots", &names, &count, err) != 0)
        return -1;
    int rc = 0;
    Manifest *list = xcalloc(count ? count : 1, sizeof *list);
    size_t used = 0;
    for (size_t i = 0; i < count; i++) {
        UkError read_err = {0};
        if (repo_read_manifest(r, names[i], false, &list[used], &read_err) != 0) {
            if (read_err.code != UK_E_CORRUPT && read_err.code != UK_E_FORMAT) {
                *err = read_err;
                rc = -1;
                break;
            }
            /* A damaged manifest stays listed (its time taken from its id) so that verify
             * reports it and retention never counts it as a good backup. */
            Manifest *m = &list[used];
            memset(m, 0, sizeof *m);
            snprintf(m->id, sizeof m->id, "%s", names[i]);
            struct tm tm = {0};
            if (strptime(names[i], "%Y%m%dT%H%M%S", &tm))
                m->time = timegm(&tm);
            m->damaged = true;
        }
        used++;
    }
    storage_names_free(names, count);
    if (rc != 0) {
        free(list);
        return -1;
    }
    qsort(list, used, sizeof *list, compare_manifests);
    *out = list;
    *n = used;
    return 0;
}

int repo_resolve_backup(Repo *r, const char *id_or_latest, const char *database, const char *tag,
                        char *id_out, size_t len, UkError *err)
{
    if (strcmp(id_or_latest, "latest") != 0) {
        Manifest m;
        if (repo_read_manifest(r, id_or_latest, false, &m, err) != 0)
            return -1;
        if (tag && !manifest_has_tag(m.tags, tag))
            return uk_error_set(err, UK_E_NOTFOUND, 0, "backup '%s' is not tagged '%s'", m.id, tag);
        snprintf(id_out, len, "%s", m.id);
        return 0;
    }
    Manifest *list = NULL;
    size_t n = 0;
    if (repo_list_backups(r, &list, &n, err) != 0)
        return -1;
    int rc = -1;
    for (size_t i = n; i-- > 0;) {
        if ((!database || strcmp(list[i].database, database) == 0) &&
            (!tag || manifest_has_tag(list[i].tags, tag))) {
            snprintf(id_out, len, "%s", list[i].id);
            rc = 0;
            break;
        }
    }
    free(list);
    if (rc != 0)
        uk_error_set(err, UK_E_NOTFOUND, 0, "repository '%s' holds no backup%s%s%s%s", r->name,
                     database ? " of database " : "", database ? database : "",
                     tag ? " tagged " : "", tag ? tag : "");
    return rc;
}

int repo_remove_backup(Repo *r, const char *id, UkError *err)
{
    char *path = xasprintf("snapshots/%s", id);
    int rc = storage_remove(r->storage, path, err);
    free(path);
    return rc;
}

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
        rc = storage_get(r->storage, path, &data, &len, err);
        if (rc == 0)
            rc = manifest_decode(data, len, true, &m, err);
        free(data);
        free(path);
        if (rc != 0) {
            uk_error_prefix(err, "backup '%s': ", names[i]);
            break;
        }
        UkError list_err = {0};
        if (m.version == 2 && resolve_list(r, &m, &list_err) != 0) {
            log_warn("repository '%s': backup '%s': %s: removing no packs", r->name, names[i],
                     list_err.msg);
            (*unknown)++;
        }
        for (uint64_t c = 0; m.hashes && c < m.chunk_count; c++)
            chunk_index_add(refs, m.hashes + c * 32, NULL);
        for (uint64_t b = 0; b < m.list_count; b++) /* the list's own chunks */
            chunk_index_add(refs, m.list_hashes + b * 32, NULL);
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
    char *path = repo_pack_path(name);
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
        rc = storage_read_range(rp->repo->storage, path, fr->offset, fr->stored_len, stored, err);
        if (rc == 0)
            rc = decompress_frame(fr->compression, stored, fr->stored_len, rp->frame, fr->raw_len,
                                  err);
        for (size_t e = 0; e < pi->n_entries && rc == 0; e++) {
            const PackEntry *pe = &pi->entries[e];
            if (pe->frame != f || !chunk_index_get(refs, pe->hash) ||
                !chunk_index_add(rp->copied, pe->hash, NULL))
                continue;
            unsigned char check[32];
            crypto_sha256(rp->frame + pe->offset, pe->length, check);
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
    free(path);
    return rc;
}

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
} GcPack;

/* The pack's own copy of its index, for an index object that is missing or unreadable. */
static bool rebuild_from_trailer(Repo *r, GcPack *p)
{
    char *path = repo_pack_path(p->name);
    UkError err = {0};
    bool ok =
        pack_read_trailer(r->storage, path, &p->index, &p->encoded, &p->encoded_len, &err) == 0;
    free(path);
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
        if (!is_hex_name(indexes[i], 32))
            continue;
        GcPack *p = gc_pack_add(packs, n, indexes[i]);
        char *path = xasprintf("index/%s", indexes[i]);
        unsigned char *data = NULL;
        size_t len = 0;
        UkError read_err = {0};
        p->have_index = storage_get(r->storage, path, &data, &len, &read_err) == 0 &&
                        pack_index_decode(data, len, &p->index, &read_err) == 0;
        free(data);
        free(path);
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
            if (known || !is_hex_name(names[k], 32))
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

int repo_gc(Repo *r, bool dry_run, const char *const *ignore, size_t n_ignore, GcStats *stats,
            UkError *err)
{
    memset(stats, 0, sizeof *stats);
    ChunkIndex *refs = chunk_index_new(), *found = chunk_index_new();
    char **tmp = NULL;
    size_t n_tmp = 0, n_packs = 0;
    GcPack *packs = NULL;
    Repacker rp = {.repo = r};
    int rc = -1;
    /* Every pack first, with the indexes rebuilt that are missing: a manifest's list blocks
     * may be in any of them. */
    if (repo_load_index(r, err) != 0 || gc_collect(r, &packs, &n_packs, stats, err) != 0)
        goto out;
    for (size_t i = 0; i < n_packs; i++)
        if (packs[i].no_index_file && packs[i].have_index)
            add_rebuilt_pack(r, packs[i].name, &packs[i].index);
    /* A manifest that fails to read stops GC: deleting chunks it might need would be worse. */
    size_t unknown_lists = 0;
    if (referenced_chunks(r, ignore, n_ignore, refs, &unknown_lists, err) != 0)
        goto out;
    stats->chunks_referenced = chunk_index_count(refs);
    stats->lists_unreadable = unknown_lists;
    for (size_t i = 0; i < n_packs; i++) {
        GcPack *p = &packs[i];
        p->fate = PACK_UNKNOWN;
        if (!p->have_index)
            continue;
        stats->packs_total++;
        uint64_t live_raw = 0, all_raw = 0, stored = 0;
        size_t live = 0;
        for (size_t e = 0; e < p->index.n_entries; e++) {
            all_raw += p->index.entries[e].length;
            if (chunk_index_get(refs, p->index.entries[e].hash)) {
                live++;
                live_raw += p->index.entries[e].length;
                chunk_index_add(found, p->index.entries[e].hash, NULL);
            }
        }
        for (size_t f = 0; f < p->index.n_frames; f++)
            stored += p->index.frames[f].stored_len;
        stats->chunks_unreferenced += p->index.n_entries - live;
        p->fate = PACK_KEEP;
        if (unknown_lists > 0) {
            continue; /* any pack may hold what those backups need */
        } else if (live == 0) {
            p->fate = PACK_DEAD;
            if (p->no_index_file) {
                stats->orphan_files_removed++; /* left by an interrupted backup */
                stats->packs_total--;
            } else {
                stats->packs_removed++;
                stats->bytes_removed += stored;
            }
        } else if (live_raw * 2 < all_raw) {
            /* Less than half of the pack is still needed: copying the rest out pays. */
            p->fate = PACK_SPARSE;
            stats->packs_repacked++;
            stats->bytes_removed += stored - stored * live_raw / all_raw;
        } else if (p->write_index) {
            stats->indexes_rebuilt++;
        }
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
            stats->orphan_files_removed++;
        } else {
            stats->packs_unknown++;
            log_warn("repository '%s': pack '%s' has no index and %zu chunks that backups need "
                     "are in no index: keeping the pack",
                     r->name, p->name, stats->chunks_missing);
        }
    }
    /* Rebuilt indexes of packs that stay are written back first. */
    for (size_t i = 0; i < n_packs && !dry_run; i++) {
        GcPack *p = &packs[i];
        if (!p->write_index || p->fate == PACK_DEAD)
            continue;
        char *path = xasprintf("index/%s", p->name);
        int put_rc = storage_put(r->storage, path, p->encoded, p->encoded_len, false, err);
        free(path);
        if (put_rc != 0)
            goto out;
    }
    if (!dry_run && stats->packs_repacked > 0) {
        rp.out = pack_writer_new(r->storage);
        rp.comp = compressor_new(r->compression_level);
        rp.copied = chunk_index_new();
        rp.batch = xmalloc(REPACK_BATCH);
        rp.encoded = xmalloc(compress_bound(REPACK_BATCH));
        for (size_t i = 0; i < n_packs; i++)
            if (packs[i].fate == PACK_SPARSE &&
                repack_pack(&rp, packs[i].name, &packs[i].index, refs, err) != 0)
                goto out;
        if (repack_flush(&rp, err) != 0 || pack_writer_flush(rp.out, err) != 0 ||
            pack_writer_publish(rp.out, err) != 0)
            goto out;
    }
    /* The new packs are durable; now the old ones go, each index before its pack: a crash in
     * between leaves a pack without an index (collected next time from its trailer), never an
     * index entry that points at a missing pack. */
    for (size_t i = 0; i < n_packs && !dry_run; i++) {
        if (packs[i].fate != PACK_DEAD && packs[i].fate != PACK_SPARSE)
            continue;
        char *path = xasprintf("index/%s", packs[i].name);
        char *pack = repo_pack_path(packs[i].name);
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
    pack_writer_free(rp.out);
    compressor_free(rp.comp);
    chunk_index_free(rp.copied);
    free(rp.batch);
    free(rp.encoded);
    free(rp.frame);
    chunk_index_free(refs);
    chunk_index_free(found);
    storage_names_free(tmp, n_tmp);
    return rc;
}
