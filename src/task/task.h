/* Tasks: the work behind commands and jobs. Each takes its inputs in a request struct, fills
 * a result struct that commands print and the runner records, and reports failure through
 * UkError. Tasks print nothing themselves except the optional progress line. */
#ifndef UK_TASK_H
#define UK_TASK_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/config.h"
#include "core/state.h"
#include "repo/manifest.h"
#include "tree/tree_entry.h"
#include "tree/tree_walk.h"
#include "repo/repo.h"
#include "repo/retention.h"

typedef struct BackupRequest {
    const Config *config; /* its purge and archive jobs name the database's files; may be NULL */
    const ConfigDatabase *database; /* NULL: files only */
    const ConfigRepository *repository;
    const char *job;     /* NULL for ad-hoc backups */
    const char *tags;    /* comma-separated, may be NULL */
    const char *paths;   /* comma-separated absolute files and folders; NULL: the database only */
    const char *exclude; /* comma-separated patterns (tree/tree_walk.h) */
    bool progress;
} BackupRequest;

typedef struct BackupResult {
    Manifest manifest;                     /* metadata of the new backup (no hash list) */
    uint64_t files_checked, files_missing; /* files the database's rows name (files_column) */
    TreeWalkStats tree;                    /* the paths backed up */
    double read_seconds;
    char journal_mode[16];
} BackupResult;

int task_backup(State *st, const BackupRequest *req, BackupResult *res, UkError *err);

typedef struct VerifyResult {
    char id[64];
    char database[128];
    uint64_t image_size, chunks;
    char integrity[256]; /* "ok" or the problems found */
    /* Files the rows named that were missing when the backup was taken (its record). */
    uint64_t files_missing;
    char missing_example[256];
    /* A backup with files: what its tree holds, read back whole. */
    uint64_t file_entries, file_bytes, files_changed;
    double seconds;
} VerifyResult;

/* Proves a backup restorable: reads and checks every chunk, rebuilds the image in a
 * temporary file, checks the image hash and runs the database's integrity check; a server
 * engine's backup is loaded into a scratch database on the server of CONFIG's database of
 * that name instead. Records the outcome in the catalogue. Failure to prove is an error
 * naming the backup. */
int task_verify(State *st, const Config *config, const ConfigRepository *repo_cfg, const char *id,
                bool progress, VerifyResult *res, UkError *err);

/* ---- files in backups (task/files.c) ---- */

typedef struct FilesRestoreRequest {
    const ConfigRepository *repository;
    const char *id;
    const char *to;  /* the folder the tree goes under (made when missing) */
    char **includes; /* only entries these patterns name, or that are in a folder they name */
    size_t n_includes;
    bool progress;
} FilesRestoreRequest;

typedef struct FilesRestoreResult {
    char id[64];
    uint64_t entries, files, bytes;
    uint64_t links_skipped; /* hard links whose first name was not restored */
    double seconds;
} FilesRestoreResult;

/* Restores a backup's files under req->to: each entry at TO/<its absolute path>, with its
 * mode, times and (as root) owner; never anything outside TO. */
int task_restore_files(const FilesRestoreRequest *req, FilesRestoreResult *res, UkError *err);

/* Calls visit(ctx, entry) for each entry at or below UNDER (NULL: all); non-zero stops. */
typedef int (*FilesVisit)(void *ctx, const TreeEntry *e);
int task_list_files(const ConfigRepository *repo_cfg, const char *id, const char *under,
                    FilesVisit visit, void *ctx, UkError *err);

typedef enum { DIFF_ADDED, DIFF_REMOVED, DIFF_MODIFIED, DIFF_METADATA, DIFF_SAME } DiffKind;
typedef struct DiffResult {
    char id_a[64], id_b[64];
    uint64_t counts[5]; /* by DiffKind */
    bool database_a, database_b, database_same;
} DiffResult;
typedef int (*DiffVisit)(void *ctx, DiffKind kind, const TreeEntry *e);
/* What changed from backup A to backup B (both in REPO_CFG): each entry added, removed,
 * modified (content, type or target) or changed in metadata only, in tree order. */
int task_diff_files(const ConfigRepository *repo_cfg, const char *id_a, const char *id_b,
                    DiffVisit visit, void *ctx, DiffResult *res, UkError *err);

/* Reads every file of M back (verify). */
int task_verify_files(Repo *repo, const Manifest *m, bool progress, VerifyResult *res,
                      UkError *err);

/* Which backups to verify: the newest of each database, all, or a rotating part of them. */
typedef struct VerifySelection {
    const ConfigRepository *const *repos; /* NULL: every repository */
    size_t n_repos;
    const char *database; /* NULL: every database */
    bool all;
    /* subset_t > 0: the backups are split into subset_t parts by a hash of their id (a
     * backup keeps its part); run ROUND verifies parts ROUND * subset_n ... + subset_n - 1
     * (mod subset_t), so subset_t / subset_n rounds prove every backup once. */
    int subset_n, subset_t;
    int64_t round;
} VerifySelection;

typedef struct VerifyTarget {
    const ConfigRepository *repo;
    char id[64];
} VerifyTarget;

/* The backups SEL names, oldest first within each repository. Repositories that do not
 * exist yet hold none. */
int task_verify_select(const Config *config, const VerifySelection *sel, VerifyTarget **out,
                       size_t *n, UkError *err);

/* A report job: its query's rows, the first REPORT_ROWS_KEPT of them kept for the run's
 * summary, all of them in its output file when it has one. */
#define REPORT_ROWS_KEPT 100
typedef struct ReportResult {
    json_t *columns; /* [names]; owned by the caller */
    json_t *rows;    /* [[values]] in the columns' order; owned by the caller */
    uint64_t row_count;
    char output[1024]; /* the file written, or "" */
} ReportResult;
int task_report(const ConfigJob *job, const char *config_dir, ReportResult *res, UkError *err);

/* An export job: each of its tables (SELECT *) or its query into its output file, whose name
 * gives the format and compression; {table} and {date} in it are filled in. */
typedef struct ExportResult {
    json_t *files; /* [{table, path, rows}], owned by the caller */
    uint64_t rows;
} ExportResult;
int task_export(const ConfigJob *job, const char *config_dir, ExportResult *res, UkError *err);

/* upkeep init: a commented upkeep.conf proposed from DATABASE's schema (see task/init.c). */
typedef struct InitRequest {
    const ConfigDatabase *database; /* configured from URL */
    const char *url;                /* as the user gave it */
    const char *password_file;      /* written into the proposal; may be NULL */
    const char *files_dir;          /* the application's files; may be NULL */
} InitRequest;
int task_init(const InitRequest *req, char **text, UkError *err);

typedef struct RestoreRequest {
    const ConfigRepository *repository;
    const char *id;       /* or "latest" */
    const char *database; /* limits "latest" to one database; may be NULL */
    const char *to_path;
    /* Server engines (DB_FEAT_RESTORE_SERVER): a new database on server's server instead. */
    const ConfigDatabase *server;
    const char *to_database;
    /* Server engines: only these tables / schemas (NULL-terminated; NULL: all). */
    const char *const *only_tables;
    const char *const *only_schemas;
    bool force;    /* replace an existing to_path */
    bool in_place; /* to_path is the live database: keep the old one aside */
    bool no_check; /* skip the database's quick check before the file gets its name */
    bool progress;
} RestoreRequest;

typedef struct RestoreResult {
    char id[64];
    uint64_t image_size;
    double seconds;
    char kept_aside[1024]; /* in-place: where the old database went */
    char check[256];       /* the quick check's result; "" when skipped */
    int leftovers_removed; /* temporary files of killed restores, removed first */
} RestoreResult;

int task_restore(const RestoreRequest *req, RestoreResult *res, UkError *err);

typedef struct PruneDecision {
    Manifest manifest;
    bool keep;
    char reasons[160];
} PruneDecision;

typedef struct PruneResult {
    PruneDecision *decisions; /* oldest first, owned */
    size_t n;
    size_t removed;
    GcStats gc;
} PruneResult;

/* Applies the repository's retention per database, removes the backups it drops, then
 * collects chunks no remaining backup needs. With dry_run nothing changes. */
int task_prune(State *st, const ConfigRepository *repo_cfg, bool dry_run, PruneResult *res,
               UkError *err);
void prune_result_free(PruneResult *res);

typedef struct CopyResult {
    char id[64];
    bool skipped; /* the target had it already */
    uint64_t image_size, stored_bytes, new_chunks, reused_chunks;
    double seconds;
} CopyResult;

/* Copies backup ID (or "latest") of repository FROM into TO (created when missing) under the
 * same id and metadata, storing only the chunks TO lacks, and records it in the catalogue. */
int task_copy(State *st, const ConfigRepository *from, const ConfigRepository *to, const char *id,
              CopyResult *res, UkError *err);

typedef struct CopyTotals {
    size_t copied;
    uint64_t stored_bytes;
} CopyTotals;

/* Copies every backup FROM holds that TO lacks (of DATABASE only, unless NULL), oldest
 * first: how a job with several repositories catches up after a failed copy. */
int task_copy_missing(State *st, const ConfigRepository *from, const ConfigRepository *to,
                      const char *database, CopyTotals *totals, UkError *err);

/* Opens a configured repository. */
int task_open_repo(const ConfigRepository *cfg, bool create, Repo **out, UkError *err);

/* Syncs the catalogue in the state database with what the repository holds. */
int task_sync_catalogue(State *st, Repo *repo, UkError *err);

#endif
