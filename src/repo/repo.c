/* Repository open, format marker, index loading and manifest listing (garbage collection is
 * gc.c).
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

#include "common/cipher.h"
#include "common/crypto.h"
#include "common/util.h"
#include "core/log.h"
#include "filter/compress.h"
#include "repo/pack_writer.h"

char *repo_pack_path(const char *pack_name)
{
    return xasprintf("packs/%.2s/%s", pack_name, pack_name);
}

/* Object NAME from its stored bytes (taken): opened with the keys, or as it is. */
static int open_object(Repo *r, const char *name, unsigned char *stored, size_t stored_len,
                       unsigned char **data, size_t *len, UkError *err)
{
    if (!r->keys) { /* a plain repository: as stored */
        *data = stored;
        *len = stored_len;
        return 0;
    }
    int rc = keyring_open(r->keys, name, stored, stored_len, data, len, err);
    free(stored);
    return rc;
}

int repo_get_object(Repo *r, const char *name, unsigned char **data, size_t *len, UkError *err)
{
    *data = NULL;
    *len = 0;
    unsigned char *stored = NULL;
    size_t stored_len = 0;
    if (storage_get(r->storage, name, &stored, &stored_len, err) != 0)
        return -1;
    return open_object(r, name, stored, stored_len, data, len, err);
}

int repo_read_pack_index(Repo *r, const char *name, PackIndex *pi, UkError *err)
{
    char *path = xasprintf("index/%s", name);
    unsigned char *stored = NULL, *data = NULL;
    size_t stored_len = 0, len = 0;
    int rc = -1;
    if ((stored = index_cache_get(r->cache, name, &stored_len))) {
        UkError cache_err = {0};
        if (open_object(r, path, stored, stored_len, &data, &len, &cache_err) == 0 &&
            pack_index_decode(data, len, pi, &cache_err) == 0) {
            rc = 0;
            goto out;
        }
        pack_index_clear(pi);
        index_cache_drop(r->cache, name); /* not the object: read it again */
        free(data);
        data = NULL;
    }
    if (storage_get(r->storage, path, &stored, &stored_len, err) != 0)
        goto out;
    if (r->cache)
        index_cache_put(r->cache, name, stored, stored_len);
    rc = open_object(r, path, stored, stored_len, &data, &len, err) == 0 &&
                 pack_index_decode(data, len, pi, err) == 0
             ? 0
             : -1;
out:
    free(data);
    free(path);
    return rc;
}

/* Stores NAME; with CACHE_AS set, also keeps the stored bytes in the index cache under it. */
static int put_object(Repo *r, const char *name, const void *data, size_t len, bool exclusive,
                      const char *cache_as, UkError *err)
{
    unsigned char *sealed = NULL;
    size_t sealed_len = len;
    if (r->keys && keyring_seal(r->keys, name, data, len, &sealed, &sealed_len, err) != 0)
        return -1;
    const void *stored = sealed ? sealed : data;
    int rc = storage_put(r->storage, name, stored, sealed_len, exclusive, err);
    if (rc == 0 && cache_as)
        index_cache_put(r->cache, cache_as, stored, sealed_len);
    free(sealed);
    return rc;
}

int repo_put_object(Repo *r, const char *name, const void *data, size_t len, bool exclusive,
                    UkError *err)
{
    return put_object(r, name, data, len, exclusive, NULL, err);
}

int repo_put_pack_index(Repo *r, const char *pack_name, const void *data, size_t len, UkError *err)
{
    char *path = xasprintf("index/%s", pack_name);
    int rc = put_object(r, path, data, len, false, r->cache ? pack_name : NULL, err);
    free(path);
    return rc;
}

/* What the section asks for a new repository: 0 (none), or a KeyringMode. */
static int wanted_mode(const ConfigRepository *cfg)
{
    if (!cfg->encryption || strcmp(cfg->encryption, "none") == 0)
        return 0;
    return strcmp(cfg->encryption, "public-key") == 0 ? KEYRING_PUBLIC_KEY : KEYRING_AES;
}

static const char *mode_name(int mode)
{
    return mode == KEYRING_PUBLIC_KEY ? "public-key" : mode == KEYRING_AES ? "aes-256" : "none";
}

/* The section's credential; an error that says what to give when there is none. */
static int need_credential(const Repo *r, const ConfigRepository *cfg, KeyCredential *cred,
                           UkError *err)
{
    bool found = false;
    if (key_credential_load(cfg, cred, &found, err) != 0)
        return uk_error_prefix(err, "repository '%s': ", r->name), -1;
    if (!found)
        return uk_error_set(err, UK_E_CONFIG, 0,
                            "repository '%s' is encrypted: give key_file or passphrase_file, or "
                            "set UPKEEP_PASSPHRASE",
                            r->name);
    return 0;
}

/* A new repository: its marker (and, encrypted, its first key), written exclusively. 1 when
 * another process made it first. */
static int create_marker(Repo *r, const ConfigRepository *cfg, UkError *err)
{
    unsigned char id[16];
    char id_hex[33];
    if (crypto_random(id, sizeof id, err) != 0)
        return -1;
    hex_encode(id, sizeof id, id_hex);
    int mode = wanted_mode(cfg);
    if (mode) {
        KeyCredential cred;
        int rc = need_credential(r, cfg, &cred, err);
        if (rc == 0 && cipher_load(err) != 0)
            rc = -1;
        if (rc == 0)
            rc = keyring_create(r->storage, (KeyringMode)mode, &cred, &r->keys, err);
        key_credential_clear(&cred);
        if (rc != 0)
            return uk_error_prefix(err, "repository '%s': ", r->name), -1;
    }
    char *marker =
        xasprintf("{\"format\":\"upkeep-repository\",\"version\":%d,"
                  "\"id\":\"%s\",\"chunk_hash\":\"%s\",\"encryption\":\"%s\"}\n",
                  REPO_FORMAT_VERSION, id_hex, mode ? "hmac-sha256" : "sha256", mode_name(mode));
    unsigned char *sealed = NULL;
    size_t sealed_len = 0;
    UkError put_err = {0};
    int rc = keyring_seal(r->keys, "config", marker, strlen(marker), &sealed, &sealed_len, err);
    if (rc == 0)
        rc = storage_put(r->storage, "config", sealed, sealed_len, true, &put_err);
    free(marker);
    free(sealed);
    r->version = REPO_FORMAT_VERSION;
    if (rc != 0 && put_err.code == UK_E_EXISTS) { /* made concurrently: use that one */
        keyring_free(r->keys);
        r->keys = NULL;
        return 1;
    }
    if (rc != 0 && put_err.code)
        *err = put_err;
    return rc;
}

static int check_or_create_marker(Repo *r, const ConfigRepository *cfg, bool create, UkError *err)
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
        int made = create_marker(r, cfg, err);
        return made == 1 ? check_or_create_marker(r, cfg, false, err) : made;
    }
    int rc = 0;
    unsigned char *plain = NULL;
    size_t plain_len = 0;
    if (keyring_is_sealed(data, len)) {
        KeyCredential cred;
        rc = need_credential(r, cfg, &cred, err);
        if (rc == 0 && (rc = cipher_load(err)) == 0 &&
            (rc = keyring_unlock(r->storage, &cred, data, len, &r->keys, err)) != 0)
            uk_error_prefix(err, "repository '%s': ", r->name);
        key_credential_clear(&cred);
    }
    if (rc == 0)
        rc = keyring_open(r->keys, "config", data, len, &plain, &plain_len, err);
    free(data);
    if (rc != 0)
        return -1;
    json_error_t jerr;
    json_t *doc = json_loadb((const char *)plain, plain_len, 0, &jerr);
    free(plain);
    const char *format = json_string_value(json_object_get(doc, "format"));
    json_int_t version = json_integer_value(json_object_get(doc, "version"));
    int mode = r->keys ? (int)keyring_mode(r->keys) : 0, wanted = wanted_mode(cfg);
    if (!doc || !format || strcmp(format, "upkeep-repository") != 0)
        rc = uk_error_set(err, UK_E_FORMAT, 0, "'%s' is not an upkeep repository",
                          storage_location(r->storage));
    else if (version < 1 || version > REPO_FORMAT_VERSION)
        rc = uk_error_set(err, UK_E_FORMAT, 0,
                          "repository '%s' has format version %lld; this upkeep reads versions "
                          "1 to %d",
                          r->name, (long long)version, REPO_FORMAT_VERSION);
    else if (mode != wanted)
        rc = uk_error_set(err, UK_E_CONFIG, 0,
                          "repository '%s' has encryption %s, its section says encryption = %s "
                          "(set when a repository is made)",
                          r->name, mode_name(mode), mode_name(wanted));
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
    r->index = chunk_set_new();
    r->cache = index_cache_open(storage);
    if (check_or_create_marker(r, opts->config, opts->create, err) != 0) {
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
    repo_lock_release(r->lock);
    keyring_free(r->keys);
    index_cache_close(r->cache);
    storage_free(r->storage);
    chunk_set_free(r->index);
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
/* Lock objects of an encrypted repository are sealed like its other objects. */
static unsigned char *seal_lock(void *ctx, const char *name, const void *data, size_t len,
                                size_t *out_len)
{
    unsigned char *out = NULL;
    UkError err = {0};
    if (keyring_seal(ctx, name, data, len, &out, out_len, &err) != 0)
        abort(); /* only a broken libcrypto fails to seal */
    return out;
}

static int open_lock(void *ctx, const char *name, const unsigned char *data, size_t len,
                     unsigned char **out, size_t *out_len, UkError *err)
{
    return keyring_open(ctx, name, data, len, out, out_len, err);
}

int repo_store_proof(Repo *r, const char *name, const char *json, UkError *err)
{
    return repo_put_object(r, name, json, strlen(json), false, err);
}

int repo_each_proof(Repo *r, void (*visit)(void *ctx, const char *json), void *ctx, UkError *err)
{
    char **names = NULL;
    size_t n = 0;
    if (storage_list(r->storage, "proofs", &names, &n, err) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char *name = xasprintf("proofs/%s", names[i]);
        unsigned char *data = NULL;
        size_t len = 0;
        UkError get_err = {0};
        if (repo_get_object(r, name, &data, &len, &get_err) == 0)
            visit(ctx, (const char *)data); /* objects come back NUL-terminated */
        else
            log_debug("%s: %s", name, get_err.msg);
        free(data);
        free(name);
    }
    storage_names_free(names, n);
    return 0;
}

bool repo_is_encrypted(const Repo *r)
{
    return r->keys != NULL;
}

bool repo_can_read(const Repo *r)
{
    return keyring_can_read(r->keys);
}

int repo_keys(Repo *r, KeyInfo **list, size_t *n, long *current, UkError *err)
{
    *current = -1;
    if (!r->keys)
        return uk_error_set(err, UK_E_USAGE, 0, "repository '%s' is not encrypted", r->name);
    if (keyring_list(r->storage, list, n, err) != 0)
        return -1;
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*list)[i].id, keyring_opened_id(r->keys)) == 0)
            *current = (long)i;
    return 0;
}

int repo_key_add(Repo *r, const KeyCredential *new_cred, bool write_only, char *id_out,
                 UkError *err)
{
    if (!r->keys)
        return uk_error_set(err, UK_E_USAGE, 0, "repository '%s' is not encrypted", r->name);
    return keyring_add_key(r->storage, r->keys, new_cred, write_only, id_out, err);
}

int repo_key_remove(Repo *r, const char *id, UkError *err)
{
    KeyInfo *list = NULL;
    size_t n = 0;
    long current = -1;
    if (repo_keys(r, &list, &n, &current, err) != 0)
        return -1;
    long found = -1;
    size_t full = 0;
    for (size_t i = 0; i < n; i++) {
        full += strcmp(list[i].kind, "full") == 0;
        if (strcmp(list[i].id, id) == 0)
            found = (long)i;
    }
    int rc = 0;
    if (found < 0)
        rc = uk_error_set(err, UK_E_NOTFOUND, 0, "repository '%s' has no key '%s'", r->name, id);
    else if (strcmp(list[found].kind, "full") == 0 && full == 1)
        rc = uk_error_set(err, UK_E_USAGE, 0,
                          "key '%s' is the last full key of repository '%s': without it nobody "
                          "could read the backups (add another first)",
                          id, r->name);
    free(list);
    if (rc != 0)
        return -1;
    char *name = xasprintf("keys/%s", id);
    rc = storage_remove(r->storage, name, err);
    free(name);
    return rc;
}

int repo_lock(Repo *r, bool exclusive, const char *what, UkError *err)
{
    if (r->lock)
        return uk_error_set(err, UK_E_INTERNAL, 0, "repository '%s' is locked already", r->name);
    /* Lock objects are only as good as the storage's exclusive creation (and its listing
     * right after a write): without it, two prunes, or a prune and a backup, could both
     * believe they hold the repository. */
    if (exclusive && !storage_has_feature(r->storage, STORAGE_FEAT_EXCLUSIVE_PUT))
        return uk_error_set(err, UK_E_CONFIG, 0,
                            "repository '%s': %s needs the repository to itself, and its storage "
                            "cannot create objects exclusively (conditional_writes = no), so "
                            "other hosts' locks cannot be trusted: refusing",
                            r->name, what);
    const char *wait = getenv("UPKEEP_LOCK_WAIT");
    LockSeal seal = {r->keys, seal_lock, open_lock};
    return repo_lock_take(r->storage, r->name, exclusive, what, wait ? atoi(wait) : 600,
                          r->keys ? &seal : NULL, &r->lock, err);
}

bool repo_is_pack_name(const char *name)
{
    if (strlen(name) != 32)
        return false;
    for (size_t i = 0; i < 32; i++)
        if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
            return false;
    return true;
}

/* Adds pack NAME to r->packs (taking its frames from PI) and its chunks to the index. */
static int add_pack(Repo *r, const char *name, PackIndex *pi, UkError *err)
{
    uint32_t pack = (uint32_t)r->n_packs;
    r->packs = xrealloc(r->packs, (r->n_packs + 1) * sizeof *r->packs);
    RepoPack *p = &r->packs[r->n_packs++];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    p->frames = pi->frames;
    p->n_frames = pi->n_frames;
    pi->frames = NULL;
    for (size_t e = 0; e < pi->n_entries; e++) {
        ChunkLocation loc = {pack, pi->entries[e].frame, pi->entries[e].offset,
                             pi->entries[e].length};
        if (chunk_set_add(r->index, pi->entries[e].hash, &loc, err) < 0)
            return -1;
    }
    return 0;
}

/* For garbage collection: a pack whose index it rebuilt from the pack's trailer, so that list
 * blocks in it can be read. The index must be loaded. */
int repo_add_rebuilt_pack(Repo *r, const char *name, const PackIndex *pi, UkError *err)
{
    PackIndex copy = *pi;
    copy.frames = xmalloc((pi->n_frames ? pi->n_frames : 1) * sizeof *pi->frames);
    memcpy(copy.frames, pi->frames, pi->n_frames * sizeof *pi->frames);
    return add_pack(r, name, &copy, err);
}

/* SKIP (n_skip names, sorted or not) are left out. One pack index at a time: the chunk set
 * keeps memory flat however many there are. */
static int load_index(Repo *r, char **skip, size_t n_skip, UkError *err)
{
    if (r->index_loaded)
        return 0;
    char **names = NULL;
    size_t n = 0;
    if (storage_list(r->storage, "index", &names, &n, err) != 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        bool skipped = false;
        for (size_t k = 0; k < n_skip && !skipped; k++)
            skipped = strcmp(skip[k], names[i]) == 0;
        if (!repo_is_pack_name(names[i]) || skipped)
            continue;
        PackIndex pi = {0};
        UkError read_err = {0};
        bool ok = repo_read_pack_index(r, names[i], &pi, &read_err) == 0;
        if (!ok) {
            /* One bad index must not stop every read: use the copy its pack carries, or go
             * on without it (a backup that needs its chunks then says which are missing). */
            UkError trailer_err = {0};
            pack_index_clear(&pi);
            ok = pack_read_trailer(r->storage, r->keys, names[i], &pi, NULL, NULL, &trailer_err) ==
                 0;
            if (!ok) {
                r->unreadable_indexes++;
                snprintf(r->unreadable_example, sizeof r->unreadable_example, "%s", names[i]);
                log_debug("repository '%s': index '%s' skipped: %s", r->name, names[i],
                          read_err.msg);
            }
        }
        if (ok)
            rc = add_pack(r, names[i], &pi, err);
        pack_index_clear(&pi);
    }
    r->index_loaded = rc == 0;
    if (rc == 0)
        index_cache_keep_only(r->cache, names, n);
    storage_names_free(names, n);
    return rc;
}

int repo_load_index(Repo *r, UkError *err)
{
    return load_index(r, NULL, 0, err);
}

int repo_load_index_for_writing(Repo *r, UkError *err)
{
    char **marked = NULL;
    size_t n = 0;
    if (repo_marked_packs(r, &marked, &n, err) != 0)
        return -1;
    int rc = load_index(r, marked, n, err);
    storage_names_free(marked, n);
    return rc;
}

static int compare_manifests(const void *a, const void *b)
{
    const Manifest *x = a, *y = b;
    if (x->time != y->time)
        return x->time < y->time ? -1 : 1;
    return strcmp(x->id, y->id);
}

int repo_read_manifest(Repo *r, const char *id, bool with_hashes, Manifest *out, UkError *err)
{
    char *path = xasprintf("snapshots/%s", id);
    unsigned char *data = NULL;
    size_t len = 0;
    int rc;
    if (with_hashes || r->keys) { /* a sealed manifest opens only whole */
        rc = repo_get_object(r, path, &data, &len, err);
        if (rc == 0)
            rc = manifest_decode(data, len, with_hashes, out, err);
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
        if ((!database || strcmp(manifest_group(&list[i]), database) == 0) &&
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
