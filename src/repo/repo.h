/* A repository: content-addressed chunks in packs, pack indexes, and backup manifests, on
 * a Storage. Layout and byte formats: docs/repository-format.md.
 *
 * Writers (backups) hold the repository lock shared; prune holds it exclusive, so garbage
 * collection never races a backup that has written packs but not yet its manifest. */
#ifndef UK_REPO_H
#define UK_REPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "repo/chunk_index.h"
#include "repo/keyring.h"
#include "repo/manifest.h"
#include "repo/storage.h"

/* The version new repositories get; every version from 1 up to it is read. */
#define REPO_FORMAT_VERSION 2

typedef struct Repo Repo;

typedef struct RepoOpenOpts {
    const ConfigRepository *config; /* the [repository NAME] section */
    bool create;                    /* create the repository when it does not exist yet */
} RepoOpenOpts;

int repo_open(const RepoOpenOpts *opts, Repo **out, UkError *err);
void repo_close(Repo *r);
const char *repo_name(const Repo *r);

/* Shared for backup/verify/restore, exclusive for prune, as a lock object every host sees
 * (repo/lock.h); WHAT names the command for others' messages. Waits up to UPKEEP_LOCK_WAIT
 * seconds (600). Released by repo_close. */
int repo_lock(Repo *r, bool exclusive, const char *what, UkError *err);

/* Reads every pack index into memory (needed before writing or reading chunks). */
int repo_load_index(Repo *r, UkError *err);
/* The same for a backup: the packs garbage collection has marked are left out, so that the
 * backup never reuses a chunk that may be deleted before it ends (gc.c). */
int repo_load_index_for_writing(Repo *r, UkError *err);

/* All manifests' metadata (no hash lists), oldest first. Caller frees *out. */
int repo_list_backups(Repo *r, Manifest **out, size_t *n, UkError *err);
/* with_hashes: the whole manifest, checked: a version 1 manifest's hash list, a version 2
 * manifest's list blocks' ids (an ImageReader walks the list itself). */
int repo_read_manifest(Repo *r, const char *id, bool with_hashes, Manifest *out, UkError *err);
/* Proofs: what verify found, as proofs/<id> (JSON, sealed in an encrypted repository), for
 * every host that shares the repository. */
int repo_store_proof(Repo *r, const char *name, const char *json, UkError *err);
/* Calls visit(ctx, json) with each proof's JSON. */
int repo_each_proof(Repo *r, void (*visit)(void *ctx, const char *json), void *ctx, UkError *err);

/* ---- keys of an encrypted repository (repo/keyring.h) ---- */

/* Is the repository encrypted? Can this host read its packs (not a write-only key)? */
bool repo_is_encrypted(const Repo *r);
bool repo_can_read(const Repo *r);
/* The key objects; *current the index of the one this host opened it with (or -1). */
int repo_keys(Repo *r, KeyInfo **list, size_t *n, long *current, UkError *err);
/* Adds a key for NEW_CRED (a full one, or write-only); its id into id_out (33 bytes). */
int repo_key_add(Repo *r, const KeyCredential *new_cred, bool write_only, char *id_out,
                 UkError *err);
/* Removes key object ID; the last full key is never removed. */
int repo_key_remove(Repo *r, const char *id, UkError *err);

/* Resolves "latest" (optionally of one database, optionally the newest carrying TAG) or
 * checks an id exists (and carries TAG, when given). */
int repo_resolve_backup(Repo *r, const char *id_or_latest, const char *database, const char *tag,
                        char *id_out, size_t len, UkError *err);
int repo_remove_backup(Repo *r, const char *id, UkError *err);

typedef struct GcStats {
    size_t packs_total, packs_removed, packs_repacked, orphan_files_removed;
    size_t packs_marked;    /* needed by no backup: marked now, to go after the grace */
    size_t packs_waiting;   /* marked, their grace not over yet */
    size_t packs_unmarked;  /* marked before, needed again */
    size_t packs_unknown;   /* kept: no readable index anywhere, and backups miss chunks */
    size_t indexes_rebuilt; /* missing or unreadable index objects rewritten from their pack */
    uint64_t bytes_removed;
    size_t chunks_referenced, chunks_unreferenced;
    size_t chunks_missing;   /* referenced by a backup but in no readable index */
    size_t lists_unreadable; /* backups whose chunk list cannot be read: no pack was removed */
} GcStats;

typedef struct GcOptions {
    bool dry_run;
    /* Manifests that count as removed already (how a dry run sees the removals it would
     * make). */
    const char *const *ignore;
    size_t n_ignore;
    int64_t grace_seconds; /* how long a pack stays marked before it goes */
} GcOptions;

/* Garbage collection in two phases (gc.c): packs no remaining backup needs are marked, and
 * deleted (index first, then pack) by a prune at least grace_seconds later if still needed by
 * none; a pack less than half needed has its needed chunks copied into a new pack when it is
 * marked. Packs left without an index by an interrupted backup go the same way. A missing or
 * unreadable index means "unknown", never "unreferenced": it is rebuilt from the copy its pack
 * carries, and a pack whose index cannot be had at all is kept (counted in packs_unknown)
 * unless every chunk the backups need was found elsewhere. Requires the exclusive lock unless
 * dry_run. */
int repo_gc(Repo *r, const GcOptions *opts, GcStats *stats, UkError *err);

/* The packs garbage collection has marked (caller frees each name and the array). */
int repo_marked_packs(Repo *r, char ***names, size_t *n, UkError *err);

#endif
