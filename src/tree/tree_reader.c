/* See tree_reader.h. The tree part is read a chunk at a time into a line buffer; the data
 * part is walked alongside it, a file's chunks at a time. */
#include "tree/tree_reader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "common/util.h"
#include "repo/image_reader.h"

struct TreeReader {
    Manifest tree_view, data_view; /* the readers keep pointers to them */
    ImageReader *tree, *data;
    char *buf;
    size_t start, len, cap; /* unread tree bytes: buf[start, start + len) */
    bool tree_done;
    TreeEntry entry;
    char *previous; /* the path before, for the order check */
    uint64_t left;  /* chunks of the current file not yet read */
    uint64_t bytes; /* of the current file, read so far */
    CryptoSha256 *content;
    bool file_open;
    unsigned char *ids; /* tree_reader_file_ids */
    size_t ids_cap;
};

TreeReader *tree_reader_new(Repo *repo, const Manifest *m)
{
    TreeReader *t = xcalloc(1, sizeof *t);
    manifest_part(m, MANIFEST_PART_TREE, &t->tree_view);
    manifest_part(m, MANIFEST_PART_DATA, &t->data_view);
    t->tree = image_reader_new(repo, &t->tree_view);
    t->data = image_reader_new(repo, &t->data_view);
    return t;
}

void tree_reader_free(TreeReader *t)
{
    if (!t)
        return;
    image_reader_free(t->tree);
    image_reader_free(t->data);
    tree_entry_clear(&t->entry);
    crypto_sha256_free(t->content);
    free(t->previous);
    free(t->buf);
    free(t->ids);
    free(t);
}

/* The next line of the tree part, without its '\n'; NULL at the end (or on error, *failed). */
static char *next_line(TreeReader *t, size_t *len, bool *failed, UkError *err)
{
    for (;;) {
        char *nl = t->len ? memchr(t->buf + t->start, '\n', t->len) : NULL;
        if (nl) {
            char *line = t->buf + t->start;
            *len = (size_t)(nl - line);
            t->start += *len + 1;
            t->len -= *len + 1;
            return line;
        }
        if (t->tree_done) {
            if (t->len > 0) {
                *failed = true;
                uk_error_set(err, UK_E_CORRUPT, 0, "the file tree ends inside an entry");
            }
            return NULL;
        }
        const unsigned char *chunk;
        size_t n;
        int got = image_reader_next(t->tree, &chunk, &n, err);
        if (got < 0) {
            *failed = true;
            return NULL;
        }
        if (got == 0) {
            t->tree_done = true;
            continue;
        }
        if (t->len > 0)
            memmove(t->buf, t->buf + t->start, t->len);
        t->start = 0;
        if (t->len + n > t->cap) {
            t->cap = (t->len + n) * 2;
            t->buf = xrealloc(t->buf, t->cap);
        }
        memcpy(t->buf + t->len, chunk, n);
        t->len += n;
    }
}

/* Closes the current file, whose ids have all been walked: they must give its content hash,
 * and, when its bytes were read (CHECK_SIZE), its length. */
static int end_file(TreeReader *t, bool check_size, UkError *err)
{
    const TreeEntry *e = &t->entry;
    unsigned char content[32];
    crypto_sha256_final(t->content, content);
    t->content = NULL;
    t->file_open = false;
    if (check_size && t->bytes != e->size)
        return uk_error_set(err, UK_E_CORRUPT, 0,
                            "file /%.200s: %llu bytes in its chunks, its entry says %llu", e->path,
                            (unsigned long long)t->bytes, (unsigned long long)e->size);
    if (memcmp(content, e->content, 32) != 0)
        return uk_error_set(err, UK_E_CORRUPT, 0,
                            "file /%.200s: its chunks do not match its content hash", e->path);
    return 0;
}

/* Ends the current file without reading what is left of it: its ids are walked (and kept in
 * t->ids, *kept of them, unless KEPT is NULL), and checked against its content hash. */
static int skip_file(TreeReader *t, uint64_t *kept, UkError *err)
{
    if (!t->file_open)
        return 0;
    const TreeEntry *e = &t->entry;
    for (; t->left > 0; t->left--) {
        const unsigned char *id;
        int got = image_reader_next_hash(t->data, &id, err);
        if (got == 0)
            return uk_error_set(err, UK_E_CORRUPT, 0, "file /%.200s: the file data ends before it",
                                e->path);
        if (got < 0)
            return -1;
        crypto_sha256_update(t->content, id, 32);
        if (kept) {
            if ((*kept + 1) * 32 > t->ids_cap) {
                t->ids_cap = (*kept + 1) * 64;
                t->ids = xrealloc(t->ids, t->ids_cap);
            }
            memcpy(t->ids + *kept * 32, id, 32);
            (*kept)++;
        }
    }
    return end_file(t, false, err);
}

int tree_reader_next(TreeReader *t, const TreeEntry **out, UkError *err)
{
    if (skip_file(t, NULL, err) != 0)
        return -1;
    tree_entry_clear(&t->entry);
    size_t len = 0;
    bool failed = false;
    char *line = next_line(t, &len, &failed, err);
    if (!line) {
        if (failed)
            return -1;
        const unsigned char *hash;
        int got = image_reader_next_hash(t->data, &hash, err); /* checks the list at its end */
        if (got == 1)
            return uk_error_set(err, UK_E_CORRUPT, 0,
                                "the backup's file data holds more than its tree names");
        return got;
    }
    if (tree_entry_decode(line, len, &t->entry, err) != 0)
        return -1;
    if (t->previous && tree_path_cmp(t->previous, t->entry.path) >= 0)
        return uk_error_set(err, UK_E_CORRUPT, 0, "the file tree is out of order at '%.200s'",
                            t->entry.path);
    free(t->previous);
    t->previous = xstrdup(t->entry.path);
    if (t->entry.type == TREE_FILE) {
        t->file_open = true;
        t->left = t->entry.chunks;
        t->bytes = 0;
        crypto_sha256_free(t->content);
        t->content = crypto_sha256_new();
    }
    *out = &t->entry;
    return 1;
}

int tree_reader_file_ids(TreeReader *t, const unsigned char **ids, uint64_t *n, UkError *err)
{
    *n = 0;
    if (!t->file_open || t->left != t->entry.chunks)
        return uk_error_set(err, UK_E_INTERNAL, 0, "no unread file to take the ids of");
    if (skip_file(t, n, err) != 0)
        return -1;
    *ids = t->ids;
    return 0;
}

int tree_reader_data(TreeReader *t, const unsigned char **data, size_t *len, UkError *err)
{
    if (!t->file_open)
        return 0;
    const TreeEntry *e = &t->entry;
    if (t->left == 0)
        return end_file(t, true, err);
    const unsigned char *id;
    int got = image_reader_next_with_id(t->data, &id, data, len, err);
    if (got == 0)
        return uk_error_set(err, UK_E_CORRUPT, 0, "file /%.200s: the file data ends before it",
                            e->path);
    if (got < 0) {
        uk_error_prefix(err, "file /%.200s: ", e->path);
        return -1;
    }
    crypto_sha256_update(t->content, id, 32);
    t->left--;
    t->bytes += *len;
    return 1;
}
