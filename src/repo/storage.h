/* Storage: the object store under a repository. Callers use these wrappers; drivers
 * implement storage_driver.h. See that header for what each call guarantees. */
#ifndef UK_STORAGE_H
#define UK_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/error.h"

typedef struct Storage Storage;
typedef struct StorageWrite StorageWrite;

/* What a storage can do. EXCLUSIVE_PUT: put(…, exclusive) refuses to replace an existing
 * object, atomically, whoever else writes, and a listing shows every object written before
 * it (what lock objects and manifests rely on). */
enum {
    STORAGE_FEAT_EXCLUSIVE_PUT = 1 << 0,
    /* Reads are requests to another machine (billed, slow): worth a local cache. */
    STORAGE_FEAT_REMOTE = 1 << 1,
};

/* Picks the driver for cfg->url's scheme and lets it check the url and its keys (config
 * time). The message has no config line; the caller adds it. */
int storage_configure(ConfigRepository *cfg, const char *config_dir, UkError *err);
/* Opens the storage of a configured repository. */
Storage *storage_open(const ConfigRepository *cfg, UkError *err);
void storage_free(Storage *s);
/* Another connection to the same storage, for use by another thread. */
Storage *storage_clone(const Storage *s, UkError *err);
/* Where it is, for messages: a folder, or s3://bucket/prefix (never a credential). */
const char *storage_location(const Storage *s);
bool storage_has_feature(const Storage *s, unsigned features);

/* *exists tells whether object NAME is there. */
int storage_exists(Storage *s, const char *name, bool *exists, UkError *err);
int storage_put(Storage *s, const char *name, const void *data, size_t len, bool exclusive,
                UkError *err);
int storage_get(Storage *s, const char *name, unsigned char **data, size_t *len, UkError *err);
int storage_read_range(Storage *s, const char *name, uint64_t offset, size_t len, void *buf,
                       UkError *err);
int storage_size(Storage *s, const char *name, uint64_t *size, UkError *err);
/* Names under prefix; caller frees each name and the array. */
int storage_list(Storage *s, const char *prefix, char ***names, size_t *n, UkError *err);
int storage_remove(Storage *s, const char *name, UkError *err);

StorageWrite *storage_write_begin(Storage *s, const char *name, UkError *err);
int storage_write(StorageWrite *w, const void *data, size_t len, UkError *err);
/* Publishes durably and frees w (also on failure). */
int storage_write_commit(StorageWrite *w, UkError *err);
/* Discards and frees w; NULL is accepted. */
void storage_write_abort(StorageWrite *w);

void storage_names_free(char **names, size_t n);

/* Fault injection for tests: the Nth storage write or put from now on fails with an I/O
 * error (0 disables). */
void storage_set_fault(long nth_write);

#endif
