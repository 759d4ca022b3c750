/* See tree_writer.h. The spool holds the entries as tree_entry_encode(…, spool = true) lines,
 * which name each file's first chunk: its content hash is only known once the writer's
 * workers have named every chunk, so it is filled in by tree_writer_finish. */
#include "tree/tree_writer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/util.h"

struct TreeWriter {
    BackupWriter *w;
    FILE *spool;
    uint64_t file_chunks, file_bytes; /* the data part's position where the file began */
    uint64_t written;                 /* bytes of the current file so far */
    uint64_t entries, bytes;
};

TreeWriter *tree_writer_new(BackupWriter *w, UkError *err)
{
    ChunkerParams data = chunker_params_for(TREE_DATA_CHUNK);
    if (backup_writer_begin_part(w, MANIFEST_PART_DATA, &data, err) != 0)
        return NULL;
    int fd = temp_file_open(err);
    if (fd < 0)
        return NULL;
    TreeWriter *t = xcalloc(1, sizeof *t);
    t->w = w;
    t->spool = fdopen(fd, "w+");
    return t;
}

static int spool(TreeWriter *t, const TreeEntry *e, UkError *err)
{
    char *line = tree_entry_encode(e, true);
    int rc =
        fputs(line, t->spool) < 0 ? uk_error_set(err, UK_E_IO, errno, "writing the file list") : 0;
    free(line);
    t->entries++;
    return rc;
}

int tree_writer_add(TreeWriter *t, const TreeEntry *e, UkError *err)
{
    return spool(t, e, err);
}

int tree_writer_file_begin(TreeWriter *t, UkError *err)
{
    (void)err;
    backup_writer_position(t->w, &t->file_chunks, &t->file_bytes);
    t->written = 0;
    return 0;
}

int tree_writer_file_data(TreeWriter *t, const void *data, size_t len, UkError *err)
{
    t->written += len;
    return backup_writer_write(t->w, data, len, err);
}

int tree_writer_file_restart(TreeWriter *t, UkError *err)
{
    t->written = 0;
    return backup_writer_rewind(t->w, t->file_chunks, t->file_bytes, err);
}

int tree_writer_file_end(TreeWriter *t, TreeEntry *e, UkError *err)
{
    if (backup_writer_end_piece(t->w, err) != 0)
        return -1;
    uint64_t chunks, bytes;
    backup_writer_position(t->w, &chunks, &bytes);
    e->type = TREE_FILE;
    e->size = t->written;
    e->first = t->file_chunks;
    e->chunks = chunks - t->file_chunks;
    t->bytes += e->size;
    return spool(t, e, err);
}

int tree_writer_file_known(TreeWriter *t, TreeEntry *e, const unsigned char *ids, uint64_t n,
                           UkError *err)
{
    uint64_t chunks, bytes;
    backup_writer_position(t->w, &chunks, &bytes);
    int got = backup_writer_append_known(t->w, ids, n, e->size, err);
    if (got != 1)
        return got;
    e->type = TREE_FILE;
    e->first = chunks;
    e->chunks = n;
    t->bytes += e->size;
    return spool(t, e, err) == 0 ? 1 : -1;
}

/* One spooled line as the tree part stores it: with the content hash over its chunks' ids. */
static int emit(TreeWriter *t, const char *line, size_t len, unsigned char **ids, size_t *cap,
                UkError *err)
{
    TreeEntry e;
    if (tree_entry_decode(line, len, &e, err) != 0)
        return -1;
    int rc = 0;
    if (e.type == TREE_FILE) {
        if (e.chunks > *cap) {
            *cap = e.chunks;
            *ids = xrealloc(*ids, *cap * 32);
        }
        rc = backup_writer_part_hashes(t->w, MANIFEST_PART_DATA, e.first, e.chunks, *ids, err);
        if (rc == 0)
            crypto_sha256(*ids, e.chunks * 32, e.content);
    }
    char *out = rc == 0 ? tree_entry_encode(&e, false) : NULL;
    if (out)
        rc = backup_writer_write(t->w, out, strlen(out), err);
    free(out);
    tree_entry_clear(&e);
    return rc;
}

int tree_writer_finish(TreeWriter *t, Manifest *m, UkError *err)
{
    ChunkerParams tree = chunker_params_for(TREE_LIST_CHUNK);
    if (fflush(t->spool) != 0 || fseek(t->spool, 0, SEEK_SET) != 0)
        return uk_error_set(err, UK_E_IO, errno, "reading the file list back");
    if (backup_writer_begin_part(t->w, MANIFEST_PART_TREE, &tree, err) != 0)
        return -1;
    char *line = NULL;
    size_t line_cap = 0, ids_cap = 0;
    unsigned char *ids = NULL;
    ssize_t n;
    int rc = 0;
    while (rc == 0 && (n = getline(&line, &line_cap, t->spool)) > 0)
        rc = emit(t, line, (size_t)n - 1, &ids, &ids_cap, err);
    if (rc == 0 && ferror(t->spool))
        rc = uk_error_set(err, UK_E_IO, errno, "reading the file list back");
    free(line);
    free(ids);
    m->file_entries = t->entries;
    m->file_bytes = t->bytes;
    return rc;
}

void tree_writer_free(TreeWriter *t)
{
    if (!t)
        return;
    fclose(t->spool);
    free(t);
}
