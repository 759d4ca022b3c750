#include "core/runner.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "common/util.h"
#include "core/log.h"
#include "db/db.h"
#include "alert/alert.h"
#include "task/maintenance.h"
#include "task/task.h"

/* flock on <state dir>/locks/NAME.lock; the kernel drops it if the process dies. WAIT blocks
 * until the lock is free; otherwise a held lock fails with UK_E_LOCKED. */
static int take_lock(State *st, const char *name, int how, bool wait, int *fd_out, UkError *err)
{
    char *dir = path_dirname(state_path(st));
    char *locks = xasprintf("%s/locks", dir);
    char *path = xasprintf("%s/%s.lock", locks, name);
    int rc = mkdir_p(locks, 0700, err);
    int fd = -1;
    if (rc == 0) {
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0) {
            rc = uk_error_set(err, UK_E_IO, errno, "unable to open lock file '%s'", path);
        } else if (flock(fd, how | LOCK_NB) != 0) {
            if (!wait) {
                rc = uk_error_set(err, UK_E_LOCKED, 0, "%s is in use", name);
            } else {
                log_warn("waiting for %s: another job holds it", name);
                while (flock(fd, how) != 0 && errno == EINTR)
                    ;
            }
        }
        if (rc != 0 && fd >= 0) {
            close(fd);
            fd = -1;
        }
    }
    free(dir);
    free(locks);
    free(path);
    *fd_out = fd;
    return rc;
}

static int job_lock(State *st, const char *job, int *fd_out, UkError *err)
{
    char *name = xasprintf("job-%s", job);
    int rc = take_lock(st, name, LOCK_EX, false, fd_out, err);
    free(name);
    if (rc != 0 && err->code == UK_E_LOCKED)
        uk_error_set(err, UK_E_LOCKED, 0, "job '%s' is already running", job);
    return rc;
}

int runner_lock_database(State *st, const char *database, bool exclusive, int *fd_out, UkError *err)
{
    char *name = xasprintf("database-%s", database);
    int rc = take_lock(st, name, exclusive ? LOCK_EX : LOCK_SH, true, fd_out, err);
    free(name);
    return rc;
}

static json_t *backup_summary(const BackupResult *b)
{
    const Manifest *m = &b->manifest;
    json_t *s = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:f, s:f}", "backup_id", m->id,
                          "database", m->database, "image_bytes", (json_int_t)m->image_size,
                          "bytes_stored", (json_int_t)m->stored_bytes, "chunks_new",
                          (json_int_t)m->new_chunks, "chunks_reused", (json_int_t)m->reused_chunks,
                          "duration_seconds", m->duration, "read_seconds", b->read_seconds);
    if (m->has_files)
        json_object_update_new(
            s, json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "file_entries",
                         (json_int_t)m->file_entries, "file_bytes", (json_int_t)m->file_bytes,
                         "files_unchanged", (json_int_t)b->tree.unchanged, "files_reread",
                         (json_int_t)b->tree.reread, "files_changed", (json_int_t)b->tree.changed,
                         "files_vanished", (json_int_t)b->tree.vanished));
    if (m->has_files && b->tree.changed)
        json_object_set_new(s, "file_changed_first", json_string(b->tree.first_changed));
    if (m->has_files && b->tree.skipped)
        json_object_set_new(s, "special_files_left_out", json_integer((json_int_t)b->tree.skipped));
    if (b->files_checked)
        json_object_update_new(s, json_pack("{s:I, s:I}", "files_checked",
                                            (json_int_t)b->files_checked, "files_missing",
                                            (json_int_t)b->files_missing));
    return s;
}

/* A job with several repositories: what the first holds of this database and another lacks
 * is copied there (this backup, and any an earlier run failed to copy), then that
 * repository's retention applied. Every repository is tried; the first failure is the run's. */
static int copy_backups(State *st, const ConfigJob *job, const char *id, json_t *summary,
                        UkError *err)
{
    if (job->n_copy_to == 0)
        return 0;
    json_t *copies = json_array();
    int rc = 0;
    for (size_t i = 0; i < job->n_copy_to; i++) {
        const ConfigRepository *to = job->copy_to[i];
        CopyTotals totals;
        UkError copy_err = {0};
        int copied =
            task_copy_missing(st, job->repository, to,
                              job->database ? job->database->name : job->name, &totals, &copy_err);
        if (copied == 0 && !retention_policy_is_empty(&to->retention)) {
            PruneResult pr;
            copied = task_prune(st, to, false, &pr, &copy_err);
            prune_result_free(&pr);
        }
        json_array_append_new(copies, json_pack("{s:s, s:I, s:I, s:s}", "repository", to->name,
                                                "copied", (json_int_t)totals.copied, "bytes_stored",
                                                (json_int_t)totals.stored_bytes, "error",
                                                copied == 0 ? "" : copy_err.msg));
        if (copied != 0 && rc == 0) {
            *err = copy_err;
            uk_error_prefix(err, "backup '%s' is stored in '%s', but copying to '%s' failed: ", id,
                            job->repository->name, to->name);
            rc = -1;
        }
    }
    json_object_set_new(summary, "copies", copies);
    return rc;
}

static int run_backup_job(const Config *config, State *st, const ConfigJob *job,
                          const RunOptions *opts, json_t *summary, UkError *err)
{
    BackupRequest req = {.config = config,
                         .database = job->database,
                         .repository = job->repository,
                         .job = job->name,
                         .tags = job->tag,
                         .paths = job->paths,
                         .exclude = job->exclude,
                         .progress = opts->progress};
    BackupResult res;
    if (task_backup(st, &req, &res, err) != 0)
        return -1;
    json_t *figures = backup_summary(&res);
    json_object_update(summary, figures);
    json_decref(figures);
    if (!retention_policy_is_empty(&job->repository->retention)) {
        PruneResult pr;
        int rc = task_prune(st, job->repository, false, &pr, err);
        json_object_set_new(summary, "backups_pruned", json_integer((json_int_t)pr.removed));
        json_object_set_new(summary, "packs_removed",
                            json_integer((json_int_t)pr.gc.packs_removed));
        prune_result_free(&pr);
        if (rc != 0) {
            uk_error_prefix(err, "backup '%s' is stored, but retention failed: ", res.manifest.id);
            return -1;
        }
    }
    if (job->verify) {
        VerifyResult vr;
        int rc =
            task_verify(st, config, job->repository, res.manifest.id, opts->progress, &vr, err);
        json_object_set_new(summary, "verified", json_string(rc == 0 ? "ok" : "failed"));
        if (rc != 0)
            return -1;
        json_object_set_new(summary, "verify_seconds", json_real(vr.seconds));
    }
    return copy_backups(st, job, res.manifest.id, summary, err);
}

static int run_rows_job(State *st, const ConfigJob *job, const RunOptions *opts, json_t *summary,
                        UkError *err)
{
    char *state_dir = path_dirname(state_path(st));
    RowsResult r;
    int rc = task_rows(job, state_dir, opts->dry_run, &r, err);
    free(state_dir);
    const char *rows_key = job->kind == TASK_UPDATE    ? "rows_updated"
                           : job->kind == TASK_ARCHIVE ? "rows_archived"
                                                       : "rows_deleted";
    json_t *figures = json_pack(
        "{s:I, s:I, s:f, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:I, s:b}", rows_key,
        (json_int_t)r.rows, "batches", (json_int_t)r.batches, "longest_transaction_ms",
        r.longest_transaction_ms, "files_deleted", (json_int_t)r.files_deleted, "files_moved",
        (json_int_t)r.files_moved, "files_missing", (json_int_t)r.files_missing, "files_refused",
        (json_int_t)r.files_refused, "files_recovered", (json_int_t)r.files_recovered, "files_kept",
        (json_int_t)r.files_kept, "file_bytes", (json_int_t)r.file_bytes, "age_format",
        r.age_format, "cutoff_unix", (json_int_t)r.cutoff, "dry_run", opts->dry_run);
    if (job->archive_dir)
        json_object_set_new(figures, "archive_files", json_integer((json_int_t)r.archive_files));
    json_object_update(summary, figures);
    json_decref(figures);
    return rc;
}

static int run_vacuum_job(const ConfigJob *job, const RunOptions *opts, json_t *summary,
                          UkError *err)
{
    VacuumResult r;
    int rc = task_vacuum(job, opts->dry_run, &r, err);
    int64_t reclaimed = (int64_t)r.size_before - (int64_t)r.size_after;
    json_t *figures = json_pack(
        "{s:s, s:s, s:I, s:I, s:I, s:f, s:I, s:I, s:I, s:f, s:b, s:b, s:b, s:b, s:b}", "mode",
        r.mode, "skipped", r.skipped, "size_before", (json_int_t)r.size_before, "size_after",
        (json_int_t)r.size_after, "bytes_reclaimed", (json_int_t)reclaimed, "percent_reclaimed",
        r.size_before ? 100.0 * (double)reclaimed / (double)r.size_before : 0.0, "freelist_before",
        (json_int_t)r.freelist_before, "page_count_before", (json_int_t)r.page_count_before,
        "page_size", (json_int_t)r.page_size, "longest_transaction_ms", r.longest_transaction_ms,
        "analyzed", r.analyzed, "optimized", r.optimized, "reindexed", r.reindexed, "checkpointed",
        r.checkpointed, "dry_run", opts->dry_run);
    if (!db_has_feature(job->database->driver, DB_FEAT_PAGE_IMAGE)) { /* a server's figures */
        json_object_set_new(figures, "dead_tuples_before", json_integer(r.dead_before));
        json_object_set_new(figures, "dead_tuples_after", json_integer(r.dead_after));
    }
    json_object_update(summary, figures);
    json_decref(figures);
    return rc;
}

static int run_integrity_job(const ConfigJob *job, json_t *summary, UkError *err)
{
    IntegrityResult r;
    if (task_integrity(job, &r, err) != 0)
        return -1;
    json_t *figures = json_pack("{s:s, s:s, s:s, s:b}", "quick_check", r.quick, "integrity_check",
                                r.full, "foreign_key_check", r.foreign_keys, "integrity_ok", r.ok);
    json_object_update(summary, figures);
    json_decref(figures);
    if (r.ok)
        return 0;
    /* The checks that found something, "; " between them (an "ok …" says nothing wrong). */
    char problems[sizeof err->msg] = "";
    const char *found[] = {r.quick, r.full, r.foreign_keys};
    for (size_t i = 0; i < 3; i++)
        if (found[i][0] && !db_check_passed(found[i]))
            snprintf(problems + strlen(problems), sizeof problems - strlen(problems), "%s%s",
                     problems[0] ? "; " : "", found[i]);
    return uk_error_set(err, UK_E_CORRUPT, 0, "database '%s' has integrity problems: %s",
                        job->database->name, problems);
}

static int run_clean_job(const ConfigJob *job, const RunOptions *opts, json_t *summary,
                         UkError *err)
{
    CleanResult r;
    int rc = task_clean(job, opts->dry_run, &r, err);
    json_t *figures = json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b}", "files_scanned",
        (json_int_t)r.files_scanned, "files_matched", (json_int_t)r.files_matched, "files_deleted",
        (json_int_t)r.files_deleted, "files_moved", (json_int_t)r.files_moved, "files_skipped",
        (json_int_t)r.files_skipped, "files_failed", (json_int_t)r.files_failed, "dirs_removed",
        (json_int_t)r.dirs_removed, "file_bytes", (json_int_t)r.bytes, "references",
        (json_int_t)r.references, "dry_run", opts->dry_run);
    if (opts->dry_run)
        json_object_set(figures, "planned", r.planned);
    json_decref(r.planned);
    json_object_update(summary, figures);
    json_decref(figures);
    json_object_set_new(summary, "clean", json_true());
    return rc;
}

static int run_disk_job(const Config *config, const ConfigJob *job, json_t *summary, UkError *err)
{
    DiskResult r;
    int rc = task_disk(job, config->dir, &r, err);
    json_object_set_new(summary, "disk", r.paths);
    json_object_set_new(summary, "files_larger", json_integer((json_int_t)r.big_files));
    json_object_set_new(summary, "files_scanned", json_integer((json_int_t)r.files));
    return rc;
}

static int run_rotate_job(const Config *config, State *st, const ConfigJob *job,
                          const RunOptions *opts, json_t *summary, UkError *err)
{
    RotateResult r;
    int rc = task_rotate(job, config->dir, st, opts->dry_run, &r, err);
    json_t *figures = json_pack(
        "{s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b}", "rotate", 1, "logs_seen",
        (json_int_t)r.files_seen, "logs_rotated", (json_int_t)r.files_rotated, "logs_skipped",
        (json_int_t)r.files_skipped, "copies_compressed", (json_int_t)r.files_compressed,
        "copies_removed", (json_int_t)r.files_removed, "bytes_rotated", (json_int_t)r.bytes_rotated,
        "bytes_removed", (json_int_t)r.bytes_removed, "dry_run", opts->dry_run);
    if (opts->dry_run)
        json_object_set(figures, "planned", r.planned);
    json_decref(r.planned);
    json_object_update(summary, figures);
    json_decref(figures);
    return rc;
}

/* A verify job: the backups its selection names this round, each proven as `upkeep verify`
 * would; the run fails when any does not verify (or, but for a subset, when there are none). */
static int run_verify_job(const Config *config, State *st, const ConfigJob *job,
                          const RunOptions *opts, json_t *summary, UkError *err)
{
    const ConfigRepository **repos = NULL;
    size_t n_repos = 0;
    if (job->repository) {
        repos = xcalloc(job->n_copy_to + 1, sizeof *repos);
        repos[n_repos++] = job->repository;
        for (size_t i = 0; i < job->n_copy_to; i++)
            repos[n_repos++] = job->copy_to[i];
    }
    int64_t round = 0;
    if (job->subset_t > 0 && state_finished_runs(st, job->name, &round, err) != 0) {
        free(repos);
        return -1;
    }
    VerifySelection sel = {.repos = repos,
                           .n_repos = n_repos,
                           .database = job->database ? job->database->name : NULL,
                           .all = strcmp(job->verify_backups, "all") == 0,
                           .subset_n = job->subset_n,
                           .subset_t = job->subset_t,
                           .round = round};
    VerifyTarget *targets = NULL;
    size_t n = 0, failed = 0;
    int rc = task_verify_select(config, &sel, &targets, &n, err);
    free(repos);
    if (rc != 0)
        return -1;
    json_t *list = json_array();
    UkError first = {0};
    for (size_t i = 0; i < n; i++) {
        VerifyResult res = {0};
        UkError e = {0};
        int vrc = opts->dry_run ? 0
                                : task_verify(st, config, targets[i].repo, targets[i].id,
                                              opts->progress, &res, &e);
        if (vrc != 0 && failed++ == 0)
            first = e;
        json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s}", "id", targets[i].id,
                                              "repository", targets[i].repo->name, "result",
                                              opts->dry_run ? "planned"
                                              : vrc == 0    ? "ok"
                                                            : "failed",
                                              "error", vrc == 0 ? "" : e.msg));
    }
    json_object_set_new(summary, "verify", json_true());
    json_object_set_new(summary, "backups", list);
    json_object_set_new(summary, "backups_verified", json_integer((json_int_t)(n - failed)));
    json_object_set_new(summary, "backups_failed", json_integer((json_int_t)failed));
    json_object_set_new(summary, "dry_run", json_boolean(opts->dry_run));
    if (job->subset_t > 0) {
        char part[64];
        snprintf(part, sizeof part, "%d/%d, round %lld", job->subset_n, job->subset_t,
                 (long long)round);
        json_object_set_new(summary, "subset", json_string(part));
    }
    free(targets);
    if (failed)
        return uk_error_set(err, first.code, 0, "%zu of %zu backups did not verify; the first: %s",
                            failed, n, first.msg);
    /* A dry run before the first backup says so (0 backups) rather than failing. */
    if (n == 0 && job->subset_t == 0 && !opts->dry_run)
        return uk_error_set(err, UK_E_NOTFOUND, 0, "no backups to verify");
    return 0;
}

static int run_report_job(const Config *config, const ConfigJob *job, json_t *summary, UkError *err)
{
    ReportResult r;
    int rc = task_report(job, config->dir, &r, err);
    json_object_set_new(summary, "report", json_true());
    json_object_set_new(summary, "columns", r.columns);
    json_object_set_new(summary, "rows", r.rows);
    json_object_set_new(summary, "row_count", json_integer((json_int_t)r.row_count));
    json_object_set_new(summary, "output", r.output[0] ? json_string(r.output) : json_null());
    return rc;
}

static int run_export_job(const Config *config, const ConfigJob *job, json_t *summary, UkError *err)
{
    ExportResult r;
    int rc = task_export(job, config->dir, &r, err);
    json_object_set_new(summary, "export", json_true());
    json_object_set_new(summary, "files", r.files);
    json_object_set_new(summary, "rows_exported", json_integer((json_int_t)r.rows));
    return rc;
}

static int run_task(const Config *config, State *st, const ConfigJob *job, const RunOptions *opts,
                    json_t *summary, UkError *err)
{
    switch (job->kind) {
    case TASK_ROTATE: return run_rotate_job(config, st, job, opts, summary, err);
    case TASK_DISK: return run_disk_job(config, job, summary, err);
    case TASK_CLEAN: return run_clean_job(job, opts, summary, err);
    case TASK_BACKUP: return run_backup_job(config, st, job, opts, summary, err);
    case TASK_PURGE:
    case TASK_UPDATE:
    case TASK_ARCHIVE: return run_rows_job(st, job, opts, summary, err);
    case TASK_SQL: {
        SqlResult r;
        int rc = task_sql(job, opts->dry_run, &r, err);
        json_object_set_new(summary, "rows_changed", json_integer((json_int_t)r.rows_changed));
        json_object_set_new(summary, "longest_transaction_ms", json_real(r.transaction_ms));
        json_object_set_new(summary, "dry_run", json_boolean(opts->dry_run));
        return rc;
    }
    case TASK_VACUUM: return run_vacuum_job(job, opts, summary, err);
    case TASK_INTEGRITY: return run_integrity_job(job, summary, err);
    case TASK_VERIFY: return run_verify_job(config, st, job, opts, summary, err);
    case TASK_REPORT: return run_report_job(config, job, summary, err);
    case TASK_EXPORT: return run_export_job(config, job, summary, err);
    }
    return uk_error_set(err, UK_E_INTERNAL, 0, "job '%s': unknown task", job->name);
}

int runner_run_job(const Config *config, State *st, const ConfigJob *job, const RunOptions *opts,
                   RunOutcome *out, UkError *err)
{
    memset(out, 0, sizeof *out);
    if (!job->enabled && !opts->force)
        return uk_error_set(err, UK_E_USAGE, 0,
                            "job '%s' is disabled (enabled = no): run it by hand with --force",
                            job->name);
    int lock_fd = -1, database_fd = -1;
    if (job_lock(st, job->name, &lock_fd, err) != 0)
        return -1;
    int rc = -1;
    if (!opts->dry_run &&
        state_run_begin(st, job->name, job->task, opts->trigger, &out->run_id, err) != 0)
        goto out;
    double started = monotonic_seconds();
    json_t *summary = json_object();
    int task_rc, held = 0;
    DbClusterLock *cluster = NULL;
    const char *require_env = job->require_env ? job->require_env : config->require_env;
    /* VACUUM rewrites the database: it waits for the other jobs on it, and they for it. The
     * run is recorded first, so a waiting run shows as running. */
    if (!opts->dry_run && job->database &&
        runner_lock_database(st, job->database->name, job->kind == TASK_VACUUM, &database_fd,
                             &out->error) != 0) {
        task_rc = -1;
        snprintf(out->result, sizeof out->result, "failed");
    } else if (!config_env_requirement_holds(require_env)) {
        /* A skip's error is its reason alone: whoever shows it says "skipped" once. */
        uk_error_set(&out->error, UK_E_USAGE, 0, "require_env %s does not hold in this environment",
                     require_env);
        task_rc = -1;
        snprintf(out->result, sizeof out->result, "skipped");
    } else if (!opts->dry_run && job->database && job->cluster_lock &&
               (held = db_cluster_lock(job->database, job->name, &cluster, &out->error)) != 1) {
        if (held == 0)
            uk_error_set(&out->error, UK_E_LOCKED, 0,
                         "another host is running it (its cluster lock on database '%s' is "
                         "taken)",
                         job->database->name);
        task_rc = -1;
        snprintf(out->result, sizeof out->result, "%s", held == 0 ? "skipped" : "failed");
    } else {
        if (!opts->dry_run)
            alerts_job_started(config, job);
        task_rc = run_task(config, st, job, opts, summary, &out->error);
        snprintf(out->result, sizeof out->result, "%s", task_rc == 0 ? "success" : "failed");
    }
    db_cluster_unlock(cluster);
    out->seconds = monotonic_seconds() - started;
    json_object_set_new(summary, "seconds", json_real(out->seconds));
    out->summary_json = json_dumps(summary, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(summary);
    rc = opts->dry_run ? 0
                       : state_run_end(st, out->run_id, out->result, out->summary_json,
                                       task_rc == 0 ? NULL : out->error.msg, err);
    /* Alerts go out after the run is recorded: a slow or failing channel changes nothing. */
    if (!opts->dry_run)
        alerts_job_ended(config, st, job, out->result, task_rc == 0 ? NULL : out->error.msg);
out:
    if (database_fd >= 0)
        close(database_fd);
    if (lock_fd >= 0)
        close(lock_fd);
    return rc;
}

void run_outcome_clear(RunOutcome *o)
{
    free(o->summary_json);
    o->summary_json = NULL;
}
