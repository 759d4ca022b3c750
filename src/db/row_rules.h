/* What the server engines' row tasks (db/row_store.h) decide the same way, whatever their SQL:
 * the age column's format and the cutoff in it, refusing an archive whose deletes cascade,
 * sorted key lists, and a committed batch's figures. */
#ifndef UK_ROW_RULES_H
#define UK_ROW_RULES_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/config.h"
#include "core/error.h"
#include "db/row_store.h"

/* upkeep import's INSERT of a record's columns NAMES into Q_TABLE (quoted), with "?" or, when
 * NUMBERED, "$1" … placeholders; with N_PK primary-key columns PK, an upsert: ON CONFLICT
 * (PK) DO UPDATE SET the record's other columns (DO NOTHING when it has none). The syntax
 * SQLite and PostgreSQL share; names are quoted the standard way ("", quotes doubled). */
char *row_insert_sql(const char *q_table, size_t n, const char *const *names, bool numbered,
                     char *const *pk, size_t n_pk);

/* What an age column holds, by its type. */
typedef enum { ROW_AGE_DATE, ROW_AGE_NUMBER, ROW_AGE_TEXT, ROW_AGE_OTHER } RowAgeKind;

/* What row_age_format asks the engine about the column's values. */
typedef struct RowAgeProbe {
    void *ctx;
    /* The largest of a sample of the numbers (0 when there are none). */
    int (*sample_max)(void *ctx, double *max, UkError *err);
    /* A text value that does not start like an ISO 8601 date (malloc'd), or NULL. */
    int (*non_date)(void *ctx, char **value, UkError *err);
} RowAgeProbe;

/* The format the job's age column is read in, FORMAT (16 bytes): "timestamp" for dates,
 * "iso8601" for text, the job's age_format or one told by the numbers' magnitude (unix,
 * unix_ms, unix_us, unix_ns, julian) for numbers. An age_format that does not fit the column,
 * or text that is not a date, is an error naming the job. */
int row_age_format(const ConfigJob *job, RowAgeKind kind, const RowAgeProbe *probe, char format[16],
                   UkError *err);
/* The number format of values whose largest is MAX (for any date after 1973). */
const char *row_age_number_format(double max);
/* CUTOFF (Unix seconds) in a number FORMAT. */
double row_age_cutoff_in(const char *format, time_t cutoff);

/* The rows a job selects: AGE (its age condition) and WHERE (the job's), either may be NULL
 * but not both. Malloc'd SQL. */
char *row_condition(const char *age, const char *where);

/* The error for an archive whose deletes would cascade to CHILDREN ("'a', 'b'"). */
int row_cascade_refused(const ConfigJob *job, const char *children, UkError *err);

/* A growing list of row keys. */
typedef struct RowKeys {
    int64_t *keys;
    size_t n, cap;
} RowKeys;

void row_keys_add(RowKeys *list, int64_t key);
/* A RowVisit that adds each key to the RowKeys CTX. */
int row_keys_visit(void *ctx, int64_t key, const char *value);
void row_keys_sort(RowKeys *list);
/* qsort and bsearch order of int64_t keys. */
int row_keys_compare(const void *a, const void *b);
/* The index of KEY in the sorted KEYS, or -1. */
long row_keys_find(const int64_t *keys, size_t n, int64_t key);

/* A batch begun at monotonic time T0 has committed: its figures. */
void row_batch_committed(RowBatchFigures *figures, double t0);

#endif
