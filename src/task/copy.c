/* Copy: a backup from one repository into another, under the same id, with the same
 * metadata (database, host, time, tags, what the driver recorded).
 *
 * The image is read back chunk by chunk from the source (every chunk checked) and written
 * through the target's own BackupWriter, which cuts, names and deduplicates chunks the way
 * the target does (its own keys, once repositories are encrypted): only chunks the target
 * lacks are stored, and the two repositories never share anything but the image itself. The
 * target's manifest is published last, as for any backup, so a copy that fails leaves nothing
 * the target lists. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "repo/backup_writer.h"
#include "repo/image_reader.h"
#include "tree/tree_reader.h"
#include "tree/tree_writer.h"
#include "task/task_int.h"

/* The files of SRC_M, entry by entry: the target cuts and names the data with its own keys,
 * so the tree is written anew for its chunks (the entries' metadata is the same). */
static int copy_files(Repo *src, const Manifest *src_m, BackupWriter *w, Manifest *out,
                      UkError *err)
{
    TreeWriter *t = tree_writer_new(w, err);
    if (!t)
        return -1;
    TreeReader *tr = tree_reader_new(src, src_m);
    const TreeEntry *e;
    int got, rc = 0;
    while (rc == 0 && (got = tree_reader_next(tr, &e, err)) == 1) {
        if (e->type != TREE_FILE) {
            rc = tree_writer_add(t, e, err);
            continue;
        }
        rc = tree_writer_file_begin(t, err);
        const unsigned char *data;
        size_t len;
        int more;
        while (rc == 0 && (more = tree_reader_data(tr, &data, &len, err)) == 1)
            rc = tree_writer_file_data(t, data, len, err);
        if (rc == 0 && more < 0)
            rc = -1;
        TreeEntry entry = *e;
        if (rc == 0)
            rc = tree_writer_file_end(t, &entry, err);
    }
    if (rc == 0 && got < 0)
        rc = -1;
    if (rc == 0)
        rc = tree_writer_finish(t, out, err);
    tree_reader_free(tr);
    tree_writer_free(t);
    return rc;
}

/* Writes the image (and files) of SRC_M from SRC into DST under the same metadata. */
static int copy_image(Repo *src, const Manifest *src_m, Repo *dst, Manifest *out, UkError *err)
{
    bool stream = strcmp(src_m->format, MANIFEST_STREAM) == 0;
    BackupWriter *w = stream ? backup_writer_new_stream(dst, &src_m->chunking)
                             : backup_writer_new(dst, src_m->image_size, src_m->chunk_size);
    ImageReader *reader = image_reader_new(src, src_m);
    const unsigned char *data = NULL;
    size_t len = 0;
    int got, rc = 0;
    for (uint64_t i = 0; rc == 0 && (got = image_reader_next(reader, &data, &len, err)) == 1; i++)
        rc = stream ? backup_writer_write(w, data, len, err)
                    : backup_writer_chunk(w, i, data, len, err);
    if (rc == 0 && got < 0)
        rc = -1;
    image_reader_free(reader);
    memset(out, 0, sizeof *out);
    if (rc == 0 && src_m->has_files)
        rc = copy_files(src, src_m, w, out, err);
    if (rc == 0) {
        snprintf(out->id, sizeof out->id, "%s", src_m->id);
        snprintf(out->database, sizeof out->database, "%s", src_m->database);
        snprintf(out->job, sizeof out->job, "%s", src_m->job);
        snprintf(out->driver, sizeof out->driver, "%s", src_m->driver);
        snprintf(out->source, sizeof out->source, "%s", src_m->source);
        snprintf(out->hostname, sizeof out->hostname, "%s", src_m->hostname);
        snprintf(out->tags, sizeof out->tags, "%s", src_m->tags);
        out->time = src_m->time;
        out->page_size = src_m->page_size;
        out->details = src_m->details; /* lent for the encoding */
        out->file_paths = src_m->file_paths;
        rc = backup_writer_commit(w, out, err);
        out->details = out->file_paths = NULL;
    }
    backup_writer_free(w);
    return rc;
}

int task_copy(State *st, const ConfigRepository *from, const ConfigRepository *to, const char *id,
              CopyResult *res, UkError *err)
{
    memset(res, 0, sizeof *res);
    double started = monotonic_seconds();
    Repo *src = NULL, *dst = NULL;
    Manifest m = {0}, there = {0}, out = {0};
    int rc = -1;
    if (task_load_backup(from, id, NULL, &src, &m, err) != 0)
        return -1;
    snprintf(res->id, sizeof res->id, "%s", m.id);
    if (task_open_repo(to, true, &dst, err) != 0 || repo_lock(dst, false, "copy", err) != 0)
        goto out;
    UkError missing = {0};
    if (repo_read_manifest(dst, m.id, false, &there, &missing) == 0) {
        res->skipped = true; /* copied before */
        rc = 0;
        goto out;
    }
    if (missing.code != UK_E_NOTFOUND) {
        *err = missing;
        goto out;
    }
    if (repo_load_index_for_writing(dst, err) != 0 || copy_image(src, &m, dst, &out, err) != 0)
        goto out;
    res->image_size = out.image_size;
    res->stored_bytes = out.stored_bytes;
    res->new_chunks = out.new_chunks;
    res->reused_chunks = out.reused_chunks;
    BackupRecord b = {0};
    snprintf(b.id, sizeof b.id, "%s", out.id);
    snprintf(b.repository, sizeof b.repository, "%s", to->name);
    snprintf(b.database, sizeof b.database, "%s", out.database);
    snprintf(b.job, sizeof b.job, "%s", out.job);
    snprintf(b.tags, sizeof b.tags, "%s", out.tags);
    snprintf(b.host, sizeof b.host, "%s", out.hostname);
    b.created_at = out.time;
    b.image_size = out.image_size;
    b.stored_bytes = out.stored_bytes;
    if (state_backup_upsert(st, &b, err) != 0) {
        uk_error_prefix(err, "backup '%s' is copied to '%s', but ", out.id, to->name);
        goto out;
    }
    rc = 0;
out:
    if (rc != 0)
        uk_error_prefix(err, "copy of backup '%s' to repository '%s': ", res->id[0] ? res->id : id,
                        to->name);
    res->seconds = monotonic_seconds() - started;
    manifest_clear(&m);
    manifest_clear(&there);
    repo_close(dst);
    repo_close(src);
    return rc;
}

int task_copy_missing(State *st, const ConfigRepository *from, const ConfigRepository *to,
                      const char *database, CopyTotals *totals, UkError *err)
{
    memset(totals, 0, sizeof *totals);
    Repo *src = NULL, *dst = NULL;
    Manifest *have = NULL, *there = NULL;
    size_t n_have = 0, n_there = 0;
    UkError open_err = {0};
    if (task_open_repo(from, false, &src, err) != 0 ||
        repo_list_backups(src, &have, &n_have, err) != 0) {
        repo_close(src);
        return -1;
    }
    repo_close(src);
    if (task_open_repo(to, false, &dst, &open_err) == 0) {
        int listed = repo_list_backups(dst, &there, &n_there, err);
        repo_close(dst);
        if (listed != 0) {
            free(have);
            return -1;
        }
    } else if (open_err.code != UK_E_NOTFOUND) {
        *err = open_err;
        free(have);
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < n_have && rc == 0; i++) { /* oldest first */
        if (have[i].damaged || (database && strcmp(manifest_group(&have[i]), database) != 0))
            continue;
        bool present = false;
        for (size_t k = 0; k < n_there && !present; k++)
            present = strcmp(there[k].id, have[i].id) == 0;
        if (present)
            continue;
        CopyResult one;
        rc = task_copy(st, from, to, have[i].id, &one, err);
        if (rc == 0 && !one.skipped) {
            totals->copied++;
            totals->stored_bytes += one.stored_bytes;
        }
    }
    free(have);
    free(there);
    return rc;
}
