/* Retention: which backups a policy keeps, with the semantics of restic's `forget`.
 *
 * Rules are OR-ed: a backup is kept when any rule keeps it. For the period rules (hourly,
 * daily, weekly, monthly, yearly) backups are walked newest first; a period counts only when
 * it holds a backup, and the newest backup of each of the N most recent such periods is kept.
 * keep_last keeps the N newest; keep_within keeps everything younger than the duration,
 * counted back from the newest backup (not from now); keep_tag keeps tagged backups. Periods
 * are local calendar periods in the process's time zone (TZ), so a day is a calendar day
 * also across daylight-saving changes; weeks are ISO weeks. The newest backup is always kept.
 *
 * Damage counts: a backup that verify found broken fills no slot of a counting rule (last,
 * hourly … yearly), so it never pushes a sound backup out; it is kept only by keep_within or
 * keep_tag, or as the newest. The newest backup that verify proved sound is always kept. */
#ifndef UK_RETENTION_H
#define UK_RETENTION_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "core/config.h"

typedef struct RetentionItem {
    time_t time;
    const char *id;    /* breaks ties between equal times (ids sort by time); may be NULL */
    const char *tags;  /* comma-separated, borrowed */
    bool broken;       /* verify found it broken */
    bool proven;       /* verify proved it restorable */
    bool keep;         /* out */
    char reasons[160]; /* out: "daily, monthly" or "not matched by any rule" */
} RetentionItem;

bool retention_policy_is_empty(const RetentionPolicy *p);
/* Decides keep/remove for every item (any order). */
void retention_apply(const RetentionPolicy *p, RetentionItem *items, size_t n);

#endif
