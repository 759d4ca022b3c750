#include "repo/index_cache.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/util.h"
#include "core/log.h"

/* An index is a few hundred KiB at most; anything larger in the cache is not one. */
#define INDEX_MAX_BYTES (64u << 20)

struct IndexCache {
    char *dir;
};

IndexCache *index_cache_open(const Storage *s)
{
    if (!storage_has_feature(s, STORAGE_FEAT_REMOTE))
        return NULL;
    /* systemd's CacheDirectory= sets CACHE_DIRECTORY (its units have no HOME). */
    const char *base = getenv("UPKEEP_CACHE_DIR"), *unit = getenv("CACHE_DIRECTORY");
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    char *root = base && *base   ? xstrdup(base)
                 : unit && *unit ? xstrdup(unit)
                 : xdg && *xdg   ? xasprintf("%s/upkeep", xdg)
                 : home && *home ? xasprintf("%s/.cache/upkeep", home)
                                 : NULL;
    if (!root)
        return NULL;
    /* One folder per location: a hash of s3://bucket/prefix (no credential is in it). */
    unsigned char digest[CRYPTO_SHA256_LEN];
    const char *where = storage_location(s);
    crypto_sha256(where, strlen(where), digest);
    char hex[2 * CRYPTO_SHA256_LEN + 1];
    hex_encode(digest, 16, hex);
    IndexCache *c = xcalloc(1, sizeof *c);
    c->dir = xasprintf("%s/%s/index", root, hex);
    free(root);
    UkError err = {0};
    if (mkdir_p(c->dir, 0700, &err) != 0) {
        log_debug("no index cache: %s", err.msg);
        index_cache_close(c);
        return NULL;
    }
    return c;
}

void index_cache_close(IndexCache *c)
{
    if (!c)
        return;
    free(c->dir);
    free(c);
}

unsigned char *index_cache_get(IndexCache *c, const char *name, size_t *len)
{
    if (!c)
        return NULL;
    char *path = xasprintf("%s/%s", c->dir, name);
    unsigned char *data = NULL;
    UkError err = {0};
    if (read_file_all(path, INDEX_MAX_BYTES, &data, len, &err) != 0)
        data = NULL;
    free(path);
    return data;
}

void index_cache_put(IndexCache *c, const char *name, const void *data, size_t len)
{
    if (!c)
        return;
    char *path = xasprintf("%s/%s", c->dir, name);
    UkError err = {0};
    if (write_file_atomic(path, data, len, false, &err) != 0)
        log_debug("index cache: %s", err.msg);
    free(path);
}

void index_cache_drop(IndexCache *c, const char *name)
{
    if (!c)
        return;
    char *path = xasprintf("%s/%s", c->dir, name);
    unlink(path);
    free(path);
}

void index_cache_keep_only(IndexCache *c, char *const *names, size_t n)
{
    DIR *d = c ? opendir(c->dir) : NULL;
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        bool listed = false;
        for (size_t i = 0; i < n && !listed; i++)
            listed = strcmp(names[i], e->d_name) == 0;
        if (!listed)
            index_cache_drop(c, e->d_name);
    }
    closedir(d);
}
