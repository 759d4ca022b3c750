/* The backup task: snapshot the database through its driver straight into a BackupWriter,
 * publish the manifest, then record the backup in the catalogue. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/safe_path.h"
#include "common/progress.h"
#include "common/util.h"
#include "core/log.h"
#include "db/db.h"
#include "db/row_store.h"
#include "repo/backup_writer.h"
#include "tree/tree_reader.h"
#include "tree/tree_walk.h"
#include "tree/tree_writer.h"
#include "task/task.h"

typedef struct SinkState {
    Repo *repo;
    BackupWriter *writer;
    Progress *progress;
} SinkState;

static int sink_begin(void *ctx, uint64_t image_size, uint32_t page_size, uint32_t chunk_size,
                      UkError *err)
{
    (void)page_size;
    (void)err;
    SinkState *s = ctx;
    s->writer = backup_writer_new(s->repo, image_size, chunk_size);
    return 0;
}

static int sink_chunk(void *ctx, uint64_t index, const void *data, size_t len, UkError *err)
{
    SinkState *s = ctx;
    return backup_writer_chunk(s->writer, index, data, len, err);
}

static int sink_begin_stream(void *ctx, uint32_t chunk_size, UkError *err)
{
    SinkState *s = ctx;
    ChunkerParams chunking = chunker_params_for(chunk_size);
    if (!chunker_params_valid(&chunking))
        return uk_error_set(err, UK_E_INTERNAL, 0, "no chunking for %u-byte chunks", chunk_size);
    s->writer = backup_writer_new_stream(s->repo, &chunking);
    return 0;
}

static int sink_write(void *ctx, const void *data, size_t len, UkError *err)
{
    SinkState *s = ctx;
    return backup_writer_write(s->writer, data, len, err);
}

static void sink_progress(void *ctx, uint64_t done, uint64_t total)
{
    SinkState *s = ctx;
    progress_update(s->progress, done, total);
}

int task_open_repo(const ConfigRepository *cfg, bool create, Repo **out, UkError *err)
{
    RepoOpenOpts opts = {.config = cfg, .create = create};
    return repo_open(&opts, out, err);
}

/* Ids sort by time (to the millisecond) and stay unique: "20261125T030000.123Z-1a2b3c". */
static int new_backup_id(time_t *now, char *out, size_t len, UkError *err)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    *now = ts.tv_sec;
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", &tm);
    unsigned char rnd[3];
    if (crypto_random(rnd, sizeof rnd, err) != 0)
        return -1;
    char hex[7];
    hex_encode(rnd, sizeof rnd, hex);
    snprintf(out, len, "%s.%03ldZ-%s", stamp, ts.tv_nsec / 1000000, hex);
    return 0;
}

typedef struct ProofSync {
    State *st;
    const char *repository;
    const Manifest *list;
    size_t n;
    const BackupRecord *known;
    size_t n_known;
    int rc;
    UkError *err;
} ProofSync;

/* A proof another host (or this one) stored: the catalogue takes it when it is newer than
 * what the catalogue knows, for a backup the repository still holds. */
static void take_proof(void *ctx, const char *json)
{
    ProofSync *p = ctx;
    json_t *doc = json_loads(json, 0, NULL);
    const char *id = json_string_value(json_object_get(doc, "id"));
    const char *result = json_string_value(json_object_get(doc, "result"));
    time_t at = (time_t)json_integer_value(json_object_get(doc, "verified_at"));
    bool held = false;
    for (size_t i = 0; id && i < p->n && !held; i++)
        held = strcmp(p->list[i].id, id) == 0;
    bool newer = true;
    for (size_t k = 0; held && k < p->n_known; k++)
        if (strcmp(p->known[k].id, id) == 0)
            newer = p->known[k].verified_at < at;
    if (p->rc == 0 && held && newer && result &&
        (strcmp(result, "ok") == 0 || strcmp(result, "failed") == 0))
        p->rc = state_backup_set_verified(p->st, p->repository, id, at, result, p->err);
    json_decref(doc);
}

int task_sync_catalogue(State *st, Repo *repo, UkError *err)
{
    Manifest *list = NULL;
    size_t n = 0;
    BackupRecord *known = NULL;
    size_t n_known = 0;
    if (repo_list_backups(repo, &list, &n, err) != 0)
        return -1;
    int rc = state_backups(st, repo_name(repo), &known, &n_known, err);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        BackupRecord b = {0};
        snprintf(b.id, sizeof b.id, "%s", list[i].id);
        snprintf(b.repository, sizeof b.repository, "%s", repo_name(repo));
        snprintf(b.database, sizeof b.database, "%s", list[i].database);
        snprintf(b.job, sizeof b.job, "%s", list[i].job);
        snprintf(b.tags, sizeof b.tags, "%s", list[i].tags);
        snprintf(b.host, sizeof b.host, "%s", list[i].hostname);
        b.created_at = list[i].time;
        b.image_size = list[i].image_size + list[i].file_bytes;
        b.stored_bytes = list[i].stored_bytes;
        if (list[i].damaged)
            snprintf(b.database, sizeof b.database, "(damaged)");
        rc = state_backup_upsert(st, &b, err);
        if (rc == 0 && list[i].damaged)
            rc = state_backup_set_verified(st, repo_name(repo), b.id, time(NULL), "failed", err);
    }
    ProofSync sync = {st, repo_name(repo), list, n, known, n_known, 0, err};
    if (rc == 0)
        rc = repo_each_proof(repo, take_proof, &sync, err);
    if (rc == 0)
        rc = sync.rc;
    for (size_t k = 0; rc == 0 && k < n_known; k++) {
        bool present = false;
        for (size_t i = 0; i < n && !present; i++)
            present = strcmp(known[k].id, list[i].id) == 0;
        if (!present)
            rc = state_backup_delete(st, repo_name(repo), known[k].id, err);
    }
    free(list);
    free(known);
    return rc;
}

typedef struct MissingScan {
    SafeRoot *root;
    const char *column; /* TABLE.COLUMN */
    uint64_t checked, missing;
    json_t *examples;
} MissingScan;

static int check_file(void *ctx, int64_t key, const char *value)
{
    (void)key;
    MissingScan *s = ctx;
    const char *why;
    char *rel = value && *value ? safe_relative(s->root, value, &why) : NULL;
    if (!rel)
        return 0; /* empty, or not a name below the root: nothing a purge would touch either */
    s->checked++;
    char *slash = strrchr(rel, '/');
    char *dir = slash ? xasprintf("%.*s", (int)(slash - rel), rel) : xstrdup("");
    int fd = safe_open_dir(s->root, dir, false);
    struct stat st;
    bool present = fd >= 0 && fstatat(fd, slash ? slash + 1 : rel, &st, AT_SYMLINK_NOFOLLOW) == 0;
    if (fd >= 0)
        close(fd);
    if (!present && s->missing++ < 10)
        json_array_append_new(s->examples,
                              json_pack("{s:s, s:s}", "column", s->column, "file", value));
    free(dir);
    free(rel);
    return 0;
}

/* The files the database's rows name, through the files_column of its purge and archive jobs
 * (each column once): how many were looked for and which are missing. Read at backup time, so
 * that a restore knows which uploads were already gone. NULL when no job names files. */
static json_t *missing_files(const BackupRequest *req, BackupResult *res)
{
    const Config *c = req->config;
    if (!req->database)
        return NULL;
    json_t *examples = json_array(), *seen = json_object();
    for (size_t i = 0; c && i < c->n_jobs; i++) {
        const ConfigJob *job = c->jobs[i];
        if (job->database != req->database || !job->files_column || !job->files_root)
            continue;
        char *column = xasprintf("%s.%s", job->table, job->files_column);
        const char *why;
        UkError err = {0};
        const RowStoreOps *ops =
            json_object_get(seen, column) ? NULL : db_row_store(req->database, &err);
        SafeRoot *root = ops ? safe_root_open(job->files_root, false, &why) : NULL;
        json_object_set_new(seen, column, json_true());
        if (root) {
            MissingScan s = {.root = root, .column = column, .examples = examples};
            if (ops->scan_column(req->database, job->table, job->files_column, check_file, &s,
                                 &err) == 0) {
                res->files_checked += s.checked;
                res->files_missing += s.missing;
            }
            safe_root_close(root);
        }
        free(column);
    }
    bool any = json_object_size(seen) > 0;
    json_decref(seen);
    if (!any) {
        json_decref(examples);
        return NULL;
    }
    return json_pack("{s:I, s:I, s:o}", "checked", (json_int_t)res->files_checked, "missing",
                     (json_int_t)res->files_missing, "examples", examples);
}

/* DETAILS (the driver's JSON object, or NULL) with "files": FILES added. Takes both. */
static char *details_with_files(char *details, json_t *files)
{
    if (!files)
        return details;
    json_error_t jerr;
    json_t *doc = details ? json_loads(details, 0, &jerr) : NULL;
    if (!json_is_object(doc)) {
        json_decref(doc);
        doc = json_object();
    }
    json_object_set_new(doc, "files", files);
    free(details);
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    return text;
}

/* The newest backup with files of the same job from this host, whose tree tells which files
 * have not changed since. 0 when there is one (read whole into PARENT). A host that cannot
 * read the repository (a write-only key) reads every file. */
static int find_parent(Repo *repo, const Manifest *m, Manifest *parent)
{
    Manifest *list = NULL;
    size_t n = 0;
    UkError err = {0};
    if (!repo_can_read(repo) || repo_list_backups(repo, &list, &n, &err) != 0)
        return -1;
    int rc = -1;
    for (size_t i = n; i-- > 0 && rc != 0;)
        if (list[i].has_files && !list[i].damaged && strcmp(list[i].job, m->job) == 0 &&
            strcmp(list[i].hostname, m->hostname) == 0)
            rc = repo_read_manifest(repo, list[i].id, true, parent, &err) == 0 ? 0 : -2;
    if (rc == -2)
        log_warn("the last backup of the files cannot be read (%s): reading every file", err.msg);
    free(list);
    return rc == 0 ? 0 : -1;
}

/* The files part of the backup: REQ's paths through a TreeWriter. */
static int backup_paths(const BackupRequest *req, Repo *repo, BackupWriter *w, Progress *progress,
                        BackupResult *res, UkError *err)
{
    Manifest *m = &res->manifest;
    Manifest parent = {0};
    TreeWalkOptions o = {.progress = progress};
    if (find_parent(repo, m, &parent) == 0)
        o.parent = tree_reader_new(repo, &parent);
    o.paths = split_list(req->paths, &o.n_paths);
    o.excludes = req->exclude ? split_list(req->exclude, &o.n_excludes) : NULL;
    TreeWriter *t = tree_writer_new(w, err);
    int rc = t ? tree_walk(t, &o, &res->tree, err) : -1;
    if (rc == 0)
        rc = tree_writer_finish(t, m, err);
    tree_writer_free(t);
    size_t used = 0;
    for (size_t i = 0; i < o.n_paths; i++)
        used += strlen(o.paths[i]) + 1;
    m->file_paths = xcalloc(1, used + 1);
    for (size_t i = 0; i < o.n_paths; i++) {
        strcat(m->file_paths, o.paths[i]);
        strcat(m->file_paths, "\n");
    }
    free_list(o.paths, o.n_paths);
    free_list(o.excludes, o.n_excludes);
    tree_reader_free(o.parent);
    manifest_clear(&parent);
    return rc;
}

int task_backup(State *st, const BackupRequest *req, BackupResult *res, UkError *err)
{
    memset(res, 0, sizeof *res);
    Repo *repo = NULL;
    SinkState sink_state = {0};
    SnapshotInfo info = {0};
    Manifest *m = &res->manifest;
    int rc = -1;
    if (task_open_repo(req->repository, true, &repo, err) != 0 ||
        repo_lock(repo, false, "backup", err) != 0 || repo_load_index_for_writing(repo, err) != 0)
        goto out;
    sink_state.repo = repo;
    char label[200];
    snprintf(label, sizeof label, "backup %s", req->database ? req->database->name : req->job);
    sink_state.progress = progress_new(label, req->progress);
    ImageSink sink = {.ctx = &sink_state,
                      .begin = sink_begin,
                      .chunk = sink_chunk,
                      .begin_stream = sink_begin_stream,
                      .write = sink_write,
                      .progress = sink_progress};
    if (new_backup_id(&m->time, m->id, sizeof m->id, err) != 0)
        goto out;
    snprintf(m->job, sizeof m->job, "%s", req->job ? req->job : "");
    snprintf(m->tags, sizeof m->tags, "%s", req->tags ? req->tags : "");
    gethostname(m->hostname, sizeof m->hostname - 1);
    if (req->database) {
        const ConfigDatabase *db = req->database;
        snprintf(m->database, sizeof m->database, "%s", db->name);
        snprintf(m->driver, sizeof m->driver, "%s", db->driver);
        /* Files: the path; servers: the url without its password. */
        char *source = db->path ? xstrdup(db->path) : redact_url(db->url, true);
        snprintf(m->source, sizeof m->source, "%s", source);
        free(source);
        if (db_snapshot(db, &sink, &info, err) != 0)
            goto out;
    } else { /* files only: an empty image */
        sink_state.writer = backup_writer_new_stream(repo, &chunker_default);
    }
    /* The database first, then the files: an upload its rows name was there when the walk
     * began unless deleted meanwhile, and the missing-files check below says which. */
    if (req->paths &&
        backup_paths(req, repo, sink_state.writer, sink_state.progress, res, err) != 0)
        goto out;
    m->page_size = info.page_size;
    m->details = details_with_files(info.details, missing_files(req, res)); /* owned now */
    info.details = NULL;
    res->read_seconds = info.read_seconds;
    snprintf(res->journal_mode, sizeof res->journal_mode, "%s", info.journal_mode);
    if (backup_writer_commit(sink_state.writer, m, err) != 0)
        goto out;
    BackupRecord b = {0};
    snprintf(b.id, sizeof b.id, "%s", m->id);
    snprintf(b.repository, sizeof b.repository, "%s", req->repository->name);
    snprintf(b.database, sizeof b.database, "%s", m->database);
    snprintf(b.job, sizeof b.job, "%s", m->job);
    snprintf(b.tags, sizeof b.tags, "%s", m->tags);
    snprintf(b.host, sizeof b.host, "%s", m->hostname);
    b.created_at = m->time;
    b.image_size = m->image_size + m->file_bytes;
    b.stored_bytes = m->stored_bytes;
    if (state_backup_upsert(st, &b, err) != 0) {
        uk_error_prefix(err, "backup '%s' is stored, but ", m->id);
        goto out;
    }
    /* What other hosts proved (a write-only host cannot verify its own backups). */
    UkError sync_err = {0};
    if (task_sync_catalogue(st, repo, &sync_err) != 0)
        log_debug("catalogue of '%s' not synced: %s", repo_name(repo), sync_err.msg);
    rc = 0;
out:
    free(info.details);
    free(m->details); /* stored in the manifest; the result carries no heap fields */
    m->details = NULL;
    free(m->file_paths);
    m->file_paths = NULL;
    progress_end(sink_state.progress);
    backup_writer_free(sink_state.writer);
    repo_close(repo);
    return rc;
}
