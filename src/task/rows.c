/* Row tasks: purge (delete old rows, then the files they name), archive (copy them to an
 * archive first, and move their files), and update (rewrite old rows in place, e.g. to
 * anonymise them), on any engine with row operations (db/row_store.h; how each engine finds,
 * deletes and paces is described in its own file). What is shared lives here: candidates go
 * in key order in batches whose size follows the engine's lock hold, and files follow rows.
 *
 * Files. Before a batch commits, the (key, path) pairs of its rows are written durably to a
 * journal in the state folder. After the commit the files are removed or moved (only inside
 * files_root) and the journal is deleted. A run that finds a journal first finishes it: a
 * path is handled only if its row is really gone, so a crash at any instant never deletes a
 * file whose row still exists and never forgets one whose row was deleted. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/safe_path.h"
#include "common/util.h"
#include "core/log.h"
#include "db/row_store.h"
#include "task/file_refs.h"
#include "task/maintenance.h"

#define MAX_BATCH 20000
#define COPY_AHEAD 8192     /* rows an archive stages (and syncs) at a time */
#define MAX_LOCKED_TRIES 50 /* batches in a row that found their rows locked */

typedef struct RowJob {
    const ConfigJob *job;
    RowStore *store;
    char *journal;  /* path of the pending-files journal */
    SafeRoot *root; /* files_root */
    SafeRoot *dest; /* files_move_to (archive) */
    FileRefs *refs; /* which files staying rows still name */
    RowsResult *res;
} RowJob;

static int prepare_files(RowJob *p, const char *state_dir, bool dry_run, UkError *err)
{
    const ConfigJob *job = p->job;
    if (!job->files_root)
        return 0;
    const char *why = NULL;
    p->root = safe_root_open(job->files_root, false, &why);
    if (!p->root)
        return uk_error_set(err, UK_E_CONFIG, 0, "job '%s': files_root: %s ('%s')", job->name, why,
                            job->files_root);
    if (job->files_move_to && !dry_run &&
        !(p->dest = safe_root_open(job->files_move_to, true, &why)))
        return uk_error_set(err, UK_E_CONFIG, 0, "job '%s': files_move_to: %s ('%s')", job->name,
                            why, job->files_move_to);
    char *dir = xasprintf("%s/purge", state_dir);
    if (mkdir_p(dir, 0700, err) != 0) {
        free(dir);
        return -1;
    }
    p->journal = xasprintf("%s/%s.pending", dir, job->name);
    free(dir);
    return 0;
}

/* A row naming PATH is gone (or would be, in a dry run): the file goes too, unless another
 * row still names it. */
static void count_file(RowJob *p, const char *path, bool dry_run)
{
    uint64_t bytes;
    const char *reason;
    const char *move_to = p->job->files_move_to;
    RefsVerdict verdict = p->refs ? file_refs_release(p->refs, path) : REFS_GO;
    if (verdict == REFS_PENDING)
        return;
    if (verdict == REFS_SHARED) {
        p->res->files_kept++;
        if (p->res->files_kept <= 5)
            fprintf(stderr, "upkeep: job '%s': keeping '%s': still referenced by another row\n",
                    p->job->name, path);
        return;
    }
    SafeOutcome outcome = move_to ? safe_move(p->root, path, p->dest, dry_run, &bytes, &reason)
                                  : safe_remove(p->root, path, dry_run, &bytes, &reason);
    switch (outcome) {
    case SAFE_REMOVED:
        if (move_to)
            p->res->files_moved++;
        else
            p->res->files_deleted++;
        p->res->file_bytes += bytes;
        break;
    case SAFE_MISSING: p->res->files_missing++; break;
    case SAFE_REFUSED:
        p->res->files_refused++;
        if (p->res->files_refused <= 5)
            fprintf(stderr, "upkeep: job '%s': not %s '%s': %s\n", p->job->name,
                    move_to ? "moving" : "deleting", path, reason);
        break;
    }
}

/* Journal lines: "<rowid> <hex of path>". */
static int journal_write(RowJob *p, const int64_t *rowids, char **paths, size_t n, UkError *err)
{
    size_t cap = 64, len = 0;
    char *buf = xmalloc(cap);
    for (size_t i = 0; i < n; i++) {
        if (!paths[i])
            continue;
        size_t need = 24 + 2 * strlen(paths[i]) + 2;
        while (len + need > cap)
            buf = xrealloc(buf, cap *= 2);
        len += (size_t)snprintf(buf + len, cap - len, "%lld ", (long long)rowids[i]);
        hex_encode((const unsigned char *)paths[i], strlen(paths[i]), buf + len);
        len += 2 * strlen(paths[i]);
        buf[len++] = '\n';
    }
    int rc = len ? write_file_atomic(p->journal, buf, len, false, err) : 0;
    free(buf);
    return rc;
}

/* Finishes a journal left by an interrupted run: remove each file whose row is gone and
 * that no other row names. */
static int journal_recover(RowJob *p, bool dry_run, UkError *err)
{
    unsigned char *data = NULL;
    size_t len = 0;
    UkError read_err = {0};
    if (read_file_all(p->journal, 1u << 30, &data, &len, &read_err) != 0)
        return read_err.code == UK_E_NOTFOUND ? 0 : (*err = read_err, -1);
    char **gone = NULL;
    size_t n_gone = 0;
    char *save = NULL;
    int rc = 0;
    for (char *line = strtok_r((char *)data, "\n", &save); line && rc == 0;
         line = strtok_r(NULL, "\n", &save)) {
        char *space = strchr(line, ' ');
        if (!space)
            continue;
        *space = '\0';
        size_t hex_len = strlen(space + 1);
        char *path = xcalloc(1, hex_len / 2 + 1);
        bool row_exists = true;
        if (hex_decode(space + 1, (unsigned char *)path, hex_len / 2) == 0 &&
            (rc = p->store->ops->row_names(p->store, atoll(line), path, &row_exists, err)) == 0 &&
            !row_exists) {
            gone = xrealloc(gone, (n_gone + 1) * sizeof *gone);
            gone[n_gone++] = path;
            path = NULL;
        }
        free(path);
    }
    free(data);
    if (rc == 0 && n_gone > 0) {
        p->refs = file_refs_build(p->store, p->root, NULL, 0, gone, n_gone, err);
        if (!p->refs)
            rc = -1;
        for (size_t i = 0; rc == 0 && i < n_gone; i++) {
            count_file(p, gone[i], dry_run);
            p->res->files_recovered++;
        }
        file_refs_free(p->refs);
        p->refs = NULL;
    }
    free_list(gone, n_gone);
    if (rc == 0 && !dry_run)
        unlink(p->journal);
    return rc;
}

/* Which of the candidates' files other rows name; nothing to do for a job without files. */
static int load_refs(RowJob *p, const int64_t *candidates, size_t n, UkError *err)
{
    if (!p->root || n == 0)
        return 0;
    char **names = xcalloc(n, sizeof *names);
    int rc = p->store->ops->paths(p->store, candidates, n, names, err);
    if (rc == 0) {
        p->refs = file_refs_build(p->store, p->root, candidates, n, names, n, err);
        rc = p->refs ? 0 : -1;
    }
    free_list(names, n);
    return rc;
}

static int dry_run_count(RowJob *p, UkError *err)
{
    int64_t *candidates = NULL;
    size_t n = 0;
    RowStore *s = p->store;
    if (s->ops->candidates(s, &candidates, &n, err) != 0 || load_refs(p, candidates, n, err) != 0) {
        free(candidates);
        return -1;
    }
    p->res->rows = n;
    int rc = 0;
    if (p->job->files_column && n > 0) {
        char **paths = xcalloc(n, sizeof *paths);
        rc = s->ops->paths(s, candidates, n, paths, err);
        for (size_t i = 0; rc == 0 && i < n; i++)
            if (paths[i])
                count_file(p, paths[i], true);
        free_list(paths, n);
    }
    free(candidates);
    return rc;
}

/* A batch that could not delete its rows leaves them in the table, so their copies (and the
 * copies made ahead of later batches) leave the archive: every row stays in exactly one
 * place. The error says so, or that the copies could not be dropped (the next run, which
 * copies them again, then replaces them). */
static void drop_staged(RowJob *p, const int64_t *keys, size_t n, UkError *err)
{
    if (!p->store->stages || n == 0)
        return;
    UkError drop_err = {0};
    if (p->store->ops->unstage(p->store, keys, n, &drop_err) == 0)
        uk_error_suffix(err,
                        "; the rows stay in '%s' and their %zu copies were dropped from the "
                        "archive",
                        p->job->table, n);
    else
        uk_error_suffix(err, "; dropping the copies of its rows from the archive failed too (%s)",
                        drop_err.msg);
}

/* How many candidates the next batch takes, from how the last one went. */
static size_t next_plan(size_t count, size_t done, const RowBatchFigures *f)
{
    if (f->whole) {
        /* The batch was done in one statement, which cannot stop at its time: as many as
         * its time says fit, up to 8 times as many. */
        double fits = f->aim_ms / (f->last_ms > 0.25 ? f->last_ms : 0.25);
        size_t plan = (size_t)((double)count * (fits > 8 ? 8 : fits));
        return plan > 0 ? plan : 1;
    }
    if (done == count) {
        /* The batch ran out of rows before its time: grow by what its lock hold says would
         * fit (the engine's clock and limits still end the next one), up to 8 times, so that
         * a run reaches full batches in 3 steps rather than 8. */
        double fits = f->aim_ms / (f->last_ms > 0.25 ? f->last_ms : 0.25);
        return (size_t)((double)count * (fits < 2 ? 2 : fits > 8 ? 8 : fits));
    }
    /* Time ran out: a quarter more than fitted (journal entries beyond are wasted), but not
     * under half the last plan, as one slow batch is no trend. */
    size_t plan = done + done / 4 + 4;
    return plan < count / 2 ? count / 2 : plan;
}

static int run_batches(RowJob *p, UkError *err)
{
    RowsResult *res = p->res;
    RowStore *s = p->store;
    const RowStoreOps *ops = s->ops;
    int64_t *candidates = NULL;
    size_t n_candidates = 0, next = 0, copied = 0;
    /* batch_size fixes the rows per batch; otherwise the engine's clock ends each batch. */
    size_t fixed = (size_t)p->job->batch_size;
    size_t max_plan = fixed ? fixed : MAX_BATCH;
    char **paths = xcalloc(max_plan, sizeof *paths);
    bool *gone = xcalloc(max_plan, sizeof *gone);
    int64_t *kept = xcalloc(max_plan, sizeof *kept); /* archive: rows copied but not deleted */
    int locked_tries = 0;
    bool batched = false;
    int rc = -1;
    if (ops->candidates(s, &candidates, &n_candidates, err) != 0 ||
        load_refs(p, candidates, n_candidates, err) != 0)
        goto out;
    size_t plan = fixed ? fixed : 16; /* candidates prepared for the next batch */
    if (ops->start && n_candidates > 0)
        ops->start(s);
    batched = n_candidates > 0;
    while (next < n_candidates) {
        size_t count = n_candidates - next < plan ? n_candidates - next : plan;
        const int64_t *keys = candidates + next;
        /* The batch's paths, read outside any write transaction. */
        if (p->job->files_column && ops->paths(s, keys, count, paths, err) != 0)
            goto out;
        /* Archive into another database: rows are copied ahead of the deletes, many batches'
         * worth at a time, and the copy is durable before any of them is deleted. Copying
         * reads the application's database and writes only the archive; one sync per copy
         * rather than per batch keeps the archive's I/O from competing with the
         * application's commits. */
        if (s->stages && next + count > copied) {
            size_t ahead = n_candidates - next < COPY_AHEAD ? n_candidates - next : COPY_AHEAD;
            if (ahead < count)
                ahead = count;
            if (ops->stage(s, candidates + copied, next + ahead - copied, err) != 0)
                goto out;
            copied = next + ahead;
        }
        /* The journal names the batch's candidates before anything is deleted (a row that
         * turns out not to qualify, or that the batch has no time for, still exists, so
         * recovery keeps its file). Writing it here keeps its fsyncs out of the transaction. */
        if (p->journal && journal_write(p, keys, paths, count, err) != 0)
            goto out;
        if (ops->begin(s, err) != 0)
            goto out;
        size_t done = 0, deleted = 0, n_kept = 0;
        int applied = ops->apply(s, keys, count, fixed != 0, &done, gone, err);
        if (applied < 0) {
            ops->rollback(s);
            drop_staged(p, candidates + next, copied - next, err);
            goto out;
        }
        if (applied == 1) { /* the rows were locked: try again, fewer of them */
            if (++locked_tries >= MAX_LOCKED_TRIES) {
                uk_error_set(err, UK_E_DB, 0,
                             "purge of '%s' stopped: its rows stayed locked by other sessions "
                             "through %d tries",
                             p->job->table, locked_tries);
                drop_staged(p, candidates + next, copied - next, err);
                goto out;
            }
            for (size_t i = 0; i < count; i++) {
                free(paths[i]);
                paths[i] = NULL;
            }
            if (!fixed)
                plan = count / 2 > 0 ? count / 2 : 1;
            /* Longer each time (20 ms, 40 ms … up to 1 s): a lock the application holds for
             * seconds costs a few tries, not all of them. */
            int wait_ms = 20 * locked_tries;
            usleep((useconds_t)(wait_ms < 1000 ? wait_ms : 1000) * 1000);
            continue;
        }
        locked_tries = 0;
        for (size_t i = 0; i < done; i++) {
            if (gone[i]) {
                deleted++;
            } else { /* changed meanwhile: keep it and its file */
                free(paths[i]);
                paths[i] = NULL;
                if (s->stages)
                    kept[n_kept++] = keys[i];
            }
        }
        if (ops->commit(s, done, err) != 0) {
            uk_error_prefix(err, "purge of '%s' stopped: ", p->job->table);
            drop_staged(p, candidates + next, copied - next, err);
            if (p->journal)
                unlink(p->journal); /* nothing was deleted: the files stay */
            goto out;
        }
        /* Files go only once the deletion is durable. */
        if (p->journal && ops->sync(s, err) != 0)
            goto out;
        /* Rows the application changed after they were copied stay in its table: their
         * copies, now stale, leave the archive (an archive to files would export them). */
        if (n_kept > 0 && ops->unstage(s, kept, n_kept, err) != 0) {
            uk_error_prefix(err, "dropping stale archive copies: ");
            goto out;
        }
        res->rows += deleted;
        RowBatchFigures figures;
        ops->figures(s, &figures);
        log_debug("job=%s batch=%llu rows=%zu of %zu in %.1f ms", p->job->name,
                  (unsigned long long)figures.count, done, count, figures.last_ms);
        for (size_t i = 0; i < count; i++) {
            if (i < done && paths[i] && p->root)
                count_file(p, paths[i], false);
            free(paths[i]);
            paths[i] = NULL;
        }
        if (p->journal)
            unlink(p->journal);
        next += done;
        plan = fixed ? fixed : next_plan(count, done, &figures);
        if (plan > max_plan)
            plan = max_plan;
    }
    rc = 0;
out:
    if (batched) { /* also when the job stopped: what committed counts */
        RowBatchFigures figures;
        ops->figures(s, &figures);
        res->batches = figures.count;
        res->longest_transaction_ms = figures.longest_ms;
    }
    ops->finish(s);
    free_list(paths, max_plan);
    free(gone);
    free(kept);
    free(candidates);
    return rc;
}

int task_rows(const ConfigJob *job, const char *state_dir, bool dry_run, RowsResult *res,
              UkError *err)
{
    memset(res, 0, sizeof *res);
    double started = monotonic_seconds();
    RowJob p = {.job = job, .res = res};
    const RowStoreOps *ops = db_row_store(job->database, err);
    int rc = -1;
    if (!ops || ops->open(job, dry_run, &p.store, err) != 0)
        goto out;
    snprintf(res->age_format, sizeof res->age_format, "%s", p.store->age_format);
    res->cutoff = p.store->cutoff;
    if (prepare_files(&p, state_dir, dry_run, err) != 0)
        goto out;
    if (p.journal && journal_recover(&p, dry_run, err) != 0)
        goto out;
    rc = dry_run ? dry_run_count(&p, err) : run_batches(&p, err);
    if (rc == 0 && !dry_run && job->archive_dir) {
        ops->close(p.store); /* release the staging database attached to it */
        p.store = NULL;
        uint64_t exported_rows;
        rc = archive_export_files(job, &res->archive_files, &exported_rows, err);
    }
out:
    res->seconds = monotonic_seconds() - started;
    if (p.store)
        ops->close(p.store);
    file_refs_free(p.refs);
    safe_root_close(p.root);
    safe_root_close(p.dest);
    free(p.journal);
    return rc;
}

int task_sql(const ConfigJob *job, bool dry_run, SqlResult *res, UkError *err)
{
    memset(res, 0, sizeof *res);
    const RowStoreOps *ops = db_row_store(job->database, err);
    if (!ops)
        return -1;
    return ops->sql(job, dry_run, &res->rows_changed, &res->transaction_ms, err);
}
