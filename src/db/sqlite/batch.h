/* Short write transactions on an application's live database, for the row tasks and the
 * incremental vacuum. Each batch is one BEGIN IMMEDIATE ... COMMIT that the caller ends as
 * soon as sqlite_batch_time_left() says its time is up, and before the next batch begins the
 * application's writers, waiting in SQLite's busy handler, get their turn. See batch.c for
 * the timing this is built around. */
#ifndef UK_SQLITE_BATCH_H
#define UK_SQLITE_BATCH_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef struct SqliteBatch {
    sqlite3 *db;
    double aim_ms;    /* longest lock hold a batch aims at, COMMIT included */
    int pause_ms;     /* longest wait for the application's writers between batches */
    double commit_ms; /* recent COMMIT cost, kept in reserve at the end of a batch */
    double t0;        /* when the current batch took the write lock */
    uint64_t count;   /* batches committed */
    double last_ms, longest_ms;
    int pages_at_begin;    /* pages the connection had written when the batch began */
    double pages_per_unit; /* pages written per row (or step) in the last batch */
    int wal_frames;        /* log frames after our last commit (WAL hook) */
    int checkpointed_at;   /* log frames when our last checkpoint ran */
    int unchecked_pages;   /* pages our batches wrote since a checkpoint was last started */
    double checkpoint_ms;  /* time spent checkpointing, in all */
    /* Checkpoints run on a thread of their own, with its own connection. */
    sqlite3 *checkpoint_db;
    pthread_t checkpointer;
    pthread_mutex_t lock; /* guards checkpointed_at, checkpoint_ms and the flags */
    pthread_cond_t wake;
    bool checkpoint_due, stopping, thread_running;
} SqliteBatch;

/* Sets up db for batches that each hold the write lock up to budget_ms: commits do
 * not fsync in WAL mode (sqlite_ops_sync_commit() does that when it matters) and do not
 * checkpoint; a thread of our own checkpoints after each batch instead. */
void sqlite_batch_start(SqliteBatch *b, sqlite3 *db, int budget_ms, int pause_ms);
/* Lets the application's writers in (from the second batch on), then BEGIN IMMEDIATE. */
int sqlite_batch_begin(SqliteBatch *b, UkError *err);
/* May the current batch, `done` rows (or steps) into its work, take on more and still
 * commit within its time and page limits? */
bool sqlite_batch_time_left(const SqliteBatch *b, size_t done);
/* COMMIT of a batch that did `done` rows (or steps); measures the lock hold (b->last_ms).
 * A failed commit is rolled back. */
int sqlite_batch_commit(SqliteBatch *b, size_t done, UkError *err);
void sqlite_batch_rollback(SqliteBatch *b);
/* Stops the checkpoint thread and gives the connection back its automatic checkpoints. */
void sqlite_batch_finish(SqliteBatch *b);

#endif
