/* The going rows' names are few (a job's candidates) and kept sorted in memory, with a count
 * of going rows per file. The staying rows are many and only streamed past once: a staying
 * row that names a file on the list marks it shared. Memory is therefore proportional to the
 * candidates, never to the table. */
#include "task/file_refs.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

typedef struct Ref {
    char *rel;
    uint32_t going; /* going rows that name it and are not gone yet */
    bool shared;    /* a staying row names it */
} Ref;

struct FileRefs {
    const SafeRoot *root;
    Ref *refs;
    size_t n_refs;
    char **doubtful; /* last components of staying names that could not be normalised */
    size_t n_doubtful;
};

static int compare_refs(const void *a, const void *b)
{
    return strcmp(((const Ref *)a)->rel, ((const Ref *)b)->rel);
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int compare_rowids(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static Ref *find(const FileRefs *refs, const char *rel)
{
    if (refs->n_refs == 0)
        return NULL;
    Ref key = {.rel = (char *)rel};
    return bsearch(&key, refs->refs, refs->n_refs, sizeof key, compare_refs);
}

static const char *last_component(const char *name)
{
    const char *slash = strrchr(name, '/');
    return slash ? slash + 1 : name;
}

static void add_going(FileRefs *refs, const char *name, size_t *cap)
{
    const char *why;
    char *rel = safe_relative(refs->root, name, &why);
    if (!rel)
        return; /* refused when its turn comes */
    if (refs->n_refs == *cap) {
        *cap = *cap ? 2 * *cap : 256;
        refs->refs = xrealloc(refs->refs, *cap * sizeof *refs->refs);
    }
    refs->refs[refs->n_refs++] = (Ref){.rel = rel, .going = 1};
}

/* Sorts the going names and folds duplicates into one entry with their count. */
static void fold(FileRefs *refs)
{
    if (refs->n_refs > 1)
        qsort(refs->refs, refs->n_refs, sizeof *refs->refs, compare_refs);
    size_t out = 0;
    for (size_t i = 0; i < refs->n_refs; i++) {
        if (out > 0 && strcmp(refs->refs[out - 1].rel, refs->refs[i].rel) == 0) {
            refs->refs[out - 1].going += refs->refs[i].going;
            free(refs->refs[i].rel);
        } else {
            refs->refs[out++] = refs->refs[i];
        }
    }
    refs->n_refs = out;
}

static void add_staying(FileRefs *refs, const char *name, size_t *doubt_cap)
{
    const char *why;
    char *rel = safe_relative(refs->root, name, &why);
    if (rel) {
        Ref *ref = find(refs, rel);
        if (ref)
            ref->shared = true;
        free(rel);
        return;
    }
    if (!safe_is_doubtful(why))
        return; /* empty, or absolute outside the root: names nothing in it */
    if (refs->n_doubtful == *doubt_cap) {
        *doubt_cap = *doubt_cap ? 2 * *doubt_cap : 16;
        refs->doubtful = xrealloc(refs->doubtful, *doubt_cap * sizeof *refs->doubtful);
    }
    refs->doubtful[refs->n_doubtful++] = xstrdup(last_component(name));
}

typedef struct Scan {
    FileRefs *refs;
    const int64_t *going;
    size_t n_going, doubt_cap;
} Scan;

static int visit_staying(void *ctx, int64_t key, const char *name)
{
    Scan *scan = ctx;
    if (scan->n_going > 0 && bsearch(&key, scan->going, scan->n_going, sizeof key, compare_rowids))
        return 0;
    if (name)
        add_staying(scan->refs, name, &scan->doubt_cap);
    return 0;
}

FileRefs *file_refs_build(RowStore *store, const SafeRoot *root, const int64_t *going,
                          size_t n_going, char *const *names, size_t n_names, UkError *err)
{
    FileRefs *refs = xcalloc(1, sizeof *refs);
    refs->root = root;
    size_t cap = 0;
    for (size_t i = 0; i < n_names; i++)
        if (names[i])
            add_going(refs, names[i], &cap);
    fold(refs);
    Scan scan = {.refs = refs, .going = going, .n_going = n_going};
    if (refs->n_refs > 0 && store->ops->scan_files(store, visit_staying, &scan, err) != 0) {
        file_refs_free(refs);
        return NULL;
    }
    if (refs->n_doubtful > 1)
        qsort(refs->doubtful, refs->n_doubtful, sizeof *refs->doubtful, compare_strings);
    return refs;
}

void file_refs_free(FileRefs *refs)
{
    if (!refs)
        return;
    for (size_t i = 0; i < refs->n_refs; i++)
        free(refs->refs[i].rel);
    free(refs->refs);
    free_list(refs->doubtful, refs->n_doubtful);
    free(refs);
}

RefsVerdict file_refs_release(FileRefs *refs, const char *name)
{
    const char *why;
    char *rel = safe_relative(refs->root, name, &why);
    if (!rel)
        return REFS_GO; /* safe_path refuses it and says why */
    Ref *ref = find(refs, rel);
    const char *base = last_component(rel);
    bool doubtful = refs->n_doubtful > 0 && bsearch(&base, refs->doubtful, refs->n_doubtful,
                                                    sizeof base, compare_strings) != NULL;
    free(rel);
    if (!ref)
        return doubtful ? REFS_SHARED : REFS_GO;
    if (ref->going > 0)
        ref->going--;
    if (ref->shared || doubtful)
        return REFS_SHARED;
    return ref->going > 0 ? REFS_PENDING : REFS_GO;
}
