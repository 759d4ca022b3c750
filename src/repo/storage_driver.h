/* Contract for storage drivers: one per URL scheme (file://, s3://), registered in
 * storage.c's table. Callers test feature bits (storage.h), never driver names.
 *
 * Names are relative, '/'-separated paths inside the repository ("packs/ab/abcd…"). A driver
 * implements every function below except where marked optional (NULL allowed).
 *
 * - configure:  check the repository's url and the driver's keys at config time and fill what
 *               open needs (cfg->path for folders); the message has no config line.
 * - open:       connect to the storage of a configured repository, creating nothing yet;
 *               may clear bits of *features that this storage lacks (conditional_writes).
 * - exists:     is there an object of that name (false for a missing one, never an error)?
 * - clone:      a second connection to the same storage, for another thread (a driver's
 *               state is used by one thread at a time).
 * - put:        store the whole object durably; the object is visible only once complete. With
 *               `exclusive` the call fails with UK_E_EXISTS instead of replacing.
 * - get:        read the whole object; a missing object is UK_E_NOTFOUND.
 * - read_range: read exactly len bytes at offset (short objects are UK_E_CORRUPT).
 * - size:       the object's length in bytes; a missing object is UK_E_NOTFOUND.
 * - list:       names directly under a prefix folder, without the prefix, in any order.
 * - remove:     delete an object; deleting a missing object succeeds. Durable on return.
 * - write_*:    stream a large object; nothing is visible until write_commit returns 0, and
 *               write_abort leaves nothing behind.
 * - free:       release the driver state.
 *
 * Drivers log only at debug level and report failures through UkError. */
#ifndef UK_STORAGE_DRIVER_H
#define UK_STORAGE_DRIVER_H

#include "repo/storage.h"

typedef struct StorageDriver {
    const char *name;
    const char *const *schemes; /* URL schemes, NULL-terminated: "file" */
    unsigned features;          /* STORAGE_FEAT_* */
    int (*configure)(ConfigRepository *cfg, const char *config_dir, UkError *err);
    void *(*open)(const ConfigRepository *cfg, unsigned *features, UkError *err);
    int (*exists)(void *impl, const char *name, bool *exists, UkError *err);
    void *(*clone)(void *impl, UkError *err);
    int (*put)(void *impl, const char *name, const void *data, size_t len, bool exclusive,
               UkError *err);
    int (*get)(void *impl, const char *name, unsigned char **data, size_t *len, UkError *err);
    int (*read_range)(void *impl, const char *name, uint64_t offset, size_t len, void *buf,
                      UkError *err);
    int (*size)(void *impl, const char *name, uint64_t *size, UkError *err);
    int (*list)(void *impl, const char *prefix, char ***names, size_t *n, UkError *err);
    int (*remove)(void *impl, const char *name, UkError *err);
    void *(*write_begin)(void *impl, const char *name, UkError *err);
    int (*write)(void *writer, const void *data, size_t len, UkError *err);
    int (*write_commit)(void *writer, UkError *err);
    void (*write_abort)(void *writer);
    void (*free)(void *impl);
} StorageDriver;

/* Drivers. */
extern const StorageDriver storage_posix_driver;
extern const StorageDriver storage_s3_driver;

#endif
