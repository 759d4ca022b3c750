/* Helpers shared by the verify and restore tasks. */
#ifndef UK_TASK_INT_H
#define UK_TASK_INT_H

#include "common/progress.h"
#include "db/db.h"
#include "repo/image_reader.h"
#include "task/task.h"

/* Opens the repository (shared lock, index loaded) and reads the manifest of id_or_latest
 * with its hash list. */
int task_load_backup(const ConfigRepository *cfg, const char *id_or_latest, const char *database,
                     Repo **repo, Manifest *m, UkError *err);
/* Writes the backup's image to fd, checking every chunk; the manifest's image hash was
 * checked when it was read. */
int task_rebuild_image(Repo *repo, const Manifest *m, int fd, const char *what, Progress *p,
                       UkError *err);

/* A backup's chunks as the ImageSource a server engine's driver reads (restore, verify): each
 * chunk checked on the way, progress shown under LABEL. End with task_feed_end(). */
typedef struct BackupFeed {
    ImageReader *reader;
    Progress *progress;
    uint64_t done, total;
} BackupFeed;
ImageSource task_feed_begin(BackupFeed *feed, Repo *repo, const Manifest *m, const char *label,
                            bool progress);
void task_feed_end(BackupFeed *feed);

#endif
