/* Prune: retention, then garbage collection, under the repository's exclusive lock.
 *
 * Retention groups backups by database and by the host that wrote them (one repository may
 * hold several of each), so keep_daily = 7 keeps seven days of each database from each host.
 * Manifests are removed first; chunks are collected afterwards from what the remaining manifests
 * reference, so an interrupted prune can only leave unreferenced data behind (collected next time),
 * never remove data a kept backup needs. */
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "task/task.h"

int task_prune(State *st, const ConfigRepository *repo_cfg, bool dry_run, PruneResult *res,
               UkError *err)
{
    memset(res, 0, sizeof *res);
    Repo *repo = NULL;
    Manifest *list = NULL;
    size_t n = 0;
    int rc = -1;
    if (task_open_repo(repo_cfg, false, &repo, err) != 0) {
        if (err->code == UK_E_NOTFOUND) { /* nothing stored yet: nothing to prune */
            uk_error_clear(err);
            return 0;
        }
        return -1;
    }
    if (!repo_can_read(repo)) {
        uk_error_set(err, UK_E_USAGE, 0,
                     "repository '%s': this host's key is write-only: prune where a full key is",
                     repo_cfg->name);
        goto out;
    }
    if (repo_lock(repo, !dry_run, dry_run ? "prune --dry-run" : "prune", err) != 0 ||
        repo_list_backups(repo, &list, &n, err) != 0)
        goto out;
    /* What verify found, from the catalogue: broken backups count for no rule, and the newest
     * proven one always stays. */
    BackupRecord *records = NULL;
    size_t n_records = 0;
    if (state_backups(st, repo_cfg->name, &records, &n_records, err) != 0)
        goto out;
    res->decisions = xcalloc(n ? n : 1, sizeof *res->decisions);
    res->n = n;
    RetentionItem *items = xcalloc(n ? n : 1, sizeof *items);
    bool *done = xcalloc(n ? n : 1, sizeof *done);
    for (size_t i = 0; i < n; i++) {
        if (done[i])
            continue;
        /* One group per database and host: hosts that share a repository keep their own
         * backups' history, however often each backs up. */
        size_t group = 0;
        size_t *members = xcalloc(n, sizeof *members);
        for (size_t j = i; j < n; j++) {
            if (!done[j] && strcmp(manifest_group(&list[j]), manifest_group(&list[i])) == 0 &&
                strcmp(list[j].hostname, list[i].hostname) == 0) {
                done[j] = true;
                items[group].time = list[j].time;
                items[group].tags = list[j].tags;
                items[group].id = list[j].id;
                for (size_t k = 0; k < n_records; k++) {
                    if (strcmp(records[k].id, list[j].id) == 0) {
                        items[group].broken = strcmp(records[k].verify_result, "failed") == 0;
                        items[group].proven = strcmp(records[k].verify_result, "ok") == 0;
                    }
                }
                members[group++] = j;
            }
        }
        retention_apply(&repo_cfg->retention, items, group);
        /* A damaged manifest is never removed by retention: a person should look at it. */
        for (size_t g = 0; g < group; g++) {
            if (list[members[g]].damaged) {
                items[g].keep = true;
                snprintf(items[g].reasons, sizeof items[g].reasons, "damaged: run upkeep verify");
            }
        }
        for (size_t g = 0; g < group; g++) {
            PruneDecision *d = &res->decisions[members[g]];
            d->keep = items[g].keep;
            snprintf(d->reasons, sizeof d->reasons, "%s", items[g].reasons);
        }
        free(members);
    }
    free(items);
    free(done);
    free(records);
    for (size_t i = 0; i < n; i++)
        res->decisions[i].manifest = list[i];
    rc = 0;
    const char **removed = xcalloc(n ? n : 1, sizeof *removed);
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (res->decisions[i].keep)
            continue;
        removed[res->removed++] = list[i].id;
        if (dry_run)
            continue;
        rc = repo_remove_backup(repo, list[i].id, err);
        if (rc == 0)
            rc = state_backup_delete(st, repo_cfg->name, list[i].id, err);
    }
    GcOptions gc = {.dry_run = dry_run,
                    .ignore = dry_run ? removed : NULL,
                    .n_ignore = dry_run ? res->removed : 0,
                    .grace_seconds = repo_cfg->prune_grace};
    if (rc == 0)
        rc = repo_gc(repo, &gc, &res->gc, err);
    free(removed);
out:
    free(list);
    repo_close(repo);
    return rc;
}

void prune_result_free(PruneResult *res)
{
    free(res->decisions);
    res->decisions = NULL;
}
