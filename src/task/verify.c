/* Verify: rebuild the backup into a temporary file (in $TMPDIR, else /var/tmp), which checks
 * every chunk's hash and the image hash, then open it with the database's own integrity
 * check. The outcome and its time go into the catalogue, so `upkeep backups` (and health)
 * know when each backup was last proven. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "core/log.h"
#include "db/db.h"
#include "task/task_int.h"

static void remove_image(const char *driver, const char *path)
{
    unlink(path);
    for (const char *const *suffix = db_companion_suffixes(driver); *suffix; suffix++) {
        char *p = xasprintf("%s%s", path, *suffix);
        unlink(p);
        free(p);
    }
}

/* The files the rows named that were missing when the backup was taken, as it recorded them
 * (task/backup.c): a restore brings the rows back, not those files. */
static void missing_at_backup(const char *details, VerifyResult *res)
{
    json_error_t jerr;
    json_t *doc = details ? json_loads(details, 0, &jerr) : NULL;
    json_t *files = json_object_get(doc, "files");
    res->files_missing = (uint64_t)json_integer_value(json_object_get(files, "missing"));
    json_t *first = json_array_get(json_object_get(files, "examples"), 0);
    if (first)
        snprintf(res->missing_example, sizeof res->missing_example, "%s: %s",
                 json_string_value(json_object_get(first, "column")),
                 json_string_value(json_object_get(first, "file")));
    json_decref(doc);
}

/* A server engine's backup: its driver loads it into a scratch database, checks and drops it. */
static int verify_on_server(const Config *config, Repo *repo, const Manifest *m, bool progress,
                            VerifyResult *res, UkError *err)
{
    const ConfigDatabase *db = config_find_database(config, m->database);
    if (!db || strcmp(db->driver, m->driver) != 0)
        return uk_error_set(err, UK_E_CONFIG, 0,
                            "backup '%s' is of %s database '%s', which the config does not have: "
                            "verify loads it on that server",
                            m->id, m->driver, m->database);
    char label[100];
    snprintf(label, sizeof label, "verify %s", m->id);
    BackupFeed feed;
    ImageSource source = task_feed_begin(&feed, repo, m, label, progress);
    int rc = db_verify_stream(db, &source, m->details, res->integrity, sizeof res->integrity, err);
    task_feed_end(&feed);
    return rc;
}

/* The outcome goes into the catalogue, and into the repository as proofs/<id>, where every
 * host sharing it (a write-only one, which cannot verify) finds when its backups were last
 * proven (task_sync_catalogue). */
static void record_outcome(State *st, Repo *repo, const char *repo_name, const char *id, bool ok)
{
    time_t now = time(NULL);
    state_backup_set_verified(st, repo_name, id, now, ok ? "ok" : "failed", NULL);
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    json_t *proof = json_pack("{s:s, s:s, s:I, s:s}", "id", id, "result", ok ? "ok" : "failed",
                              "verified_at", (json_int_t)now, "host", host);
    char *text = json_dumps(proof, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(proof);
    char *name = xasprintf("proofs/%s", id);
    UkError err = {0};
    if (repo_store_proof(repo, name, text, &err) != 0)
        log_warn("backup '%s': the proof was not stored in the repository: %s", id, err.msg);
    free(name);
    free(text);
}

int task_verify(State *st, const Config *config, const ConfigRepository *repo_cfg, const char *id,
                bool progress, VerifyResult *res, UkError *err)
{
    memset(res, 0, sizeof *res);
    double started = monotonic_seconds();
    Repo *repo = NULL;
    Manifest m = {0};
    int fd = -1, rc = -1, cleanup_slot = -1;
    char *tmp = NULL;
    Progress *p = NULL;
    if (task_load_backup(repo_cfg, id, NULL, &repo, &m, err) != 0) {
        /* A manifest that exists but cannot be read is a failed verification, too. */
        if (err->code == UK_E_CORRUPT || err->code == UK_E_FORMAT)
            state_backup_set_verified(st, repo_cfg->name, id, time(NULL), "failed", NULL);
        return -1;
    }
    snprintf(res->id, sizeof res->id, "%s", m.id);
    snprintf(res->database, sizeof res->database, "%s", m.database);
    res->image_size = m.image_size;
    res->chunks = m.chunk_count;
    if (m.has_files && task_verify_files(repo, &m, progress, res, err) != 0) {
        if (err->code == UK_E_CORRUPT || err->code == UK_E_FORMAT)
            record_outcome(st, repo, repo_cfg->name, m.id, false);
        goto out;
    }
    if (!*m.database) { /* files only */
        snprintf(res->integrity, sizeof res->integrity, "ok");
        goto checked;
    }
    if (db_has_feature(m.driver, DB_FEAT_RESTORE_SERVER)) {
        if (verify_on_server(config, repo, &m, progress, res, err) != 0) {
            if (err->code == UK_E_CORRUPT || err->code == UK_E_FORMAT)
                record_outcome(st, repo, repo_cfg->name, m.id, false);
            goto out;
        }
        goto checked;
    }
    const char *tmpdir = getenv("TMPDIR");
    tmp = xasprintf("%s/upkeep-verify-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/var/tmp");
    sigset_t saved;
    cleanup_hold(&saved);
    fd = mkstemp(tmp);
    if (fd >= 0)
        cleanup_slot = cleanup_register(tmp, db_companion_suffixes(m.driver));
    cleanup_release(&saved);
    if (fd < 0) {
        uk_error_set(err, errno == ENOSPC ? UK_E_NOSPACE : UK_E_IO, errno,
                     "unable to create a temporary file like '%s'", tmp);
        free(tmp);
        tmp = NULL;
        goto out;
    }
    char label[100];
    snprintf(label, sizeof label, "verify %s", m.id);
    p = progress_new(label, progress);
    int rebuilt = task_rebuild_image(repo, &m, fd, tmp, p, err);
    progress_end(p);
    p = NULL;
    if (rebuilt != 0) {
        if (err->code == UK_E_CORRUPT || err->code == UK_E_FORMAT)
            record_outcome(st, repo, repo_cfg->name, m.id, false);
        goto out;
    }
    close(fd);
    fd = -1;
    if (db_check_image(m.driver, tmp, DB_CHECK_FULL, res->integrity, sizeof res->integrity, err) !=
        0)
        goto out;
checked:;
    missing_at_backup(m.details, res);
    bool ok = db_check_passed(res->integrity);
    record_outcome(st, repo, repo_cfg->name, m.id, ok);
    if (!ok) {
        uk_error_set(err, UK_E_CORRUPT, 0, "backup '%s': integrity check failed: %s", m.id,
                     res->integrity);
        goto out;
    }
    res->seconds = monotonic_seconds() - started;
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    if (tmp) {
        remove_image(m.driver, tmp);
        free(tmp);
    }
    cleanup_unregister(cleanup_slot);
    manifest_clear(&m);
    repo_close(repo);
    return rc;
}

/* A backup's part among T: FNV-1a of its id, which never changes. */
static int part_of(const char *id, int t)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)id; *p; p++)
        h = (h ^ *p) * 16777619u;
    return (int)(h % (uint32_t)t);
}

static bool selected(const VerifySelection *sel, const Manifest *list, size_t count, size_t i)
{
    if (sel->database && strcmp(manifest_group(&list[i]), sel->database) != 0)
        return false;
    if (sel->subset_t > 0) {
        int first = (int)((sel->round * sel->subset_n) % sel->subset_t);
        int offset = (part_of(list[i].id, sel->subset_t) - first + sel->subset_t) % sel->subset_t;
        return offset < sel->subset_n;
    }
    if (sel->all)
        return true;
    for (size_t j = i + 1; j < count; j++) /* the newest of its database only */
        if (strcmp(manifest_group(&list[j]), manifest_group(&list[i])) == 0)
            return false;
    return true;
}

int task_verify_select(const Config *config, const VerifySelection *sel, VerifyTarget **out,
                       size_t *n, UkError *err)
{
    *out = NULL;
    *n = 0;
    size_t n_repos = sel->repos ? sel->n_repos : config->n_repositories;
    for (size_t r = 0; r < n_repos; r++) {
        const ConfigRepository *rcfg = sel->repos ? sel->repos[r] : config->repositories[r];
        Repo *repo = NULL;
        Manifest *list = NULL;
        size_t count = 0;
        if (task_open_repo(rcfg, false, &repo, err) != 0) {
            if (err->code == UK_E_NOTFOUND) {
                uk_error_clear(err);
                continue;
            }
            goto fail;
        }
        int rc = repo_list_backups(repo, &list, &count, err);
        repo_close(repo);
        if (rc != 0)
            goto fail;
        for (size_t i = 0; i < count; i++) {
            if (!selected(sel, list, count, i))
                continue;
            *out = xrealloc(*out, (*n + 1) * sizeof **out);
            (*out)[*n].repo = rcfg;
            snprintf((*out)[*n].id, sizeof(*out)[*n].id, "%s", list[i].id);
            (*n)++;
        }
        free(list);
    }
    return 0;
fail:
    free(*out);
    *out = NULL;
    *n = 0;
    return -1;
}
