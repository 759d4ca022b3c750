/* Wrappers over the storage driver table. They are the one place to add behaviour common to
 * all drivers: argument checks, and the fault-injection hook tests use to fail the Nth write. */
#include "repo/storage.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "repo/storage_driver.h"

static const StorageDriver *const drivers[] = {&storage_posix_driver, &storage_s3_driver};

static const StorageDriver *find_driver(const char *url)
{
    for (size_t i = 0; i < sizeof drivers / sizeof drivers[0]; i++)
        for (const char *const *scheme = drivers[i]->schemes; *scheme; scheme++) {
            size_t n = strlen(*scheme);
            if (strncmp(url, *scheme, n) == 0 && strncmp(url + n, "://", 3) == 0)
                return drivers[i];
        }
    return NULL;
}

struct Storage {
    const StorageDriver *driver;
    void *impl;
    char *location;
    unsigned features;
};

struct StorageWrite {
    Storage *storage;
    void *impl;
};

/* See storage_set_fault(). Atomic: packs are committed by a thread of their own. */
static _Atomic long fault_countdown;

static int fault_hit(UkError *err)
{
    long left = atomic_load(&fault_countdown);
    while (left > 0 && !atomic_compare_exchange_weak(&fault_countdown, &left, left - 1))
        ;
    if (left == 1)
        return uk_error_set(err, UK_E_IO, 5, "unable to write to storage (injected fault)");
    return 0;
}

void storage_set_fault(long nth_write)
{
    atomic_store(&fault_countdown, nth_write > 0 ? nth_write : 0);
}

int storage_configure(ConfigRepository *cfg, const char *config_dir, UkError *err)
{
    const StorageDriver *d = find_driver(cfg->url);
    if (!d) {
        char *shown = redact_url(cfg->url, true);
        uk_error_set(err, UK_E_CONFIG, 0,
                     "unsupported url '%s' (expected file:///absolute/path or s3://bucket/prefix)",
                     shown);
        free(shown);
        return -1;
    }
    return d->configure(cfg, config_dir, err);
}

Storage *storage_open(const ConfigRepository *cfg, UkError *err)
{
    const StorageDriver *d = find_driver(cfg->url);
    if (!d) {
        uk_error_set(err, UK_E_CONFIG, 0, "repository '%s': unsupported url", cfg->name);
        return NULL;
    }
    unsigned features = d->features;
    void *impl = d->open(cfg, &features, err);
    if (!impl)
        return NULL;
    Storage *s = xcalloc(1, sizeof *s);
    s->driver = d;
    s->impl = impl;
    s->features = features;
    s->location = cfg->path ? xstrdup(cfg->path) : redact_url(cfg->url, true);
    return s;
}

Storage *storage_clone(const Storage *s, UkError *err)
{
    void *impl = s->driver->clone(s->impl, err);
    if (!impl)
        return NULL;
    Storage *copy = xcalloc(1, sizeof *copy);
    copy->driver = s->driver;
    copy->impl = impl;
    copy->features = s->features;
    copy->location = xstrdup(s->location);
    return copy;
}

bool storage_has_feature(const Storage *s, unsigned features)
{
    return (s->features & features) == features;
}

int storage_exists(Storage *s, const char *name, bool *exists, UkError *err)
{
    *exists = false;
    return s->driver->exists(s->impl, name, exists, err);
}

void storage_free(Storage *s)
{
    if (!s)
        return;
    s->driver->free(s->impl);
    free(s->location);
    free(s);
}

const char *storage_location(const Storage *s)
{
    return s->location;
}

int storage_put(Storage *s, const char *name, const void *data, size_t len, bool exclusive,
                UkError *err)
{
    if (fault_hit(err) != 0)
        return -1;
    return s->driver->put(s->impl, name, data, len, exclusive, err);
}

int storage_get(Storage *s, const char *name, unsigned char **data, size_t *len, UkError *err)
{
    return s->driver->get(s->impl, name, data, len, err);
}

int storage_read_range(Storage *s, const char *name, uint64_t offset, size_t len, void *buf,
                       UkError *err)
{
    return s->driver->read_range(s->impl, name, offset, len, buf, err);
}

int storage_size(Storage *s, const char *name, uint64_t *size, UkError *err)
{
    return s->driver->size(s->impl, name, size, err);
}

int storage_list(Storage *s, const char *prefix, char ***names, size_t *n, UkError *err)
{
    return s->driver->list(s->impl, prefix, names, n, err);
}

int storage_remove(Storage *s, const char *name, UkError *err)
{
    return s->driver->remove(s->impl, name, err);
}

StorageWrite *storage_write_begin(Storage *s, const char *name, UkError *err)
{
    void *impl = s->driver->write_begin(s->impl, name, err);
    if (!impl)
        return NULL;
    StorageWrite *w = xcalloc(1, sizeof *w);
    w->storage = s;
    w->impl = impl;
    return w;
}

int storage_write(StorageWrite *w, const void *data, size_t len, UkError *err)
{
    if (fault_hit(err) != 0)
        return -1;
    return w->storage->driver->write(w->impl, data, len, err);
}

int storage_write_commit(StorageWrite *w, UkError *err)
{
    int rc = w->storage->driver->write_commit(w->impl, err);
    free(w);
    return rc;
}

void storage_write_abort(StorageWrite *w)
{
    if (!w)
        return;
    w->storage->driver->write_abort(w->impl);
    free(w);
}

void storage_names_free(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}
