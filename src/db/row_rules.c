/* The row tasks' shared rules (see row_rules.h). */
#include "db/row_rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

const char *row_age_number_format(double max)
{
    /* Julian days of 1900-2200 are below 2.6e6; Unix seconds of 1973-5138 are 1e8-1e11;
     * milliseconds of those years 1e11-1e14, microseconds 1e14-1e17, nanoseconds above. */
    return max >= 1e17   ? "unix_ns"
           : max >= 1e14 ? "unix_us"
           : max >= 1e11 ? "unix_ms"
           : max >= 1e7  ? "unix"
                         : "julian";
}

double row_age_cutoff_in(const char *format, time_t cutoff)
{
    return strcmp(format, "unix") == 0      ? (double)cutoff
           : strcmp(format, "unix_ms") == 0 ? (double)cutoff * 1e3
           : strcmp(format, "unix_us") == 0 ? (double)cutoff * 1e6
           : strcmp(format, "unix_ns") == 0 ? (double)cutoff * 1e9
                                            : (double)cutoff / 86400.0 + 2440587.5;
}

int row_age_format(const ConfigJob *job, RowAgeKind kind, const RowAgeProbe *probe, char format[16],
                   UkError *err)
{
    const char *wanted = job->age_format;
    bool automatic = strcmp(wanted, "auto") == 0 || strcmp(wanted, "iso8601") == 0;
    format[0] = '\0';
    switch (kind) {
    case ROW_AGE_DATE:
        snprintf(format, 16, "timestamp");
        if (strcmp(wanted, "auto") != 0)
            return uk_error_set(err, UK_E_CONFIG, 0,
                                "job '%s': age_column '%s' is a date or timestamp column; "
                                "age_format is for numbers and text (leave it out)",
                                job->name, job->age_column);
        return 0;
    case ROW_AGE_NUMBER: {
        double max = 0;
        if (automatic && probe->sample_max(probe->ctx, &max, err) != 0)
            return -1;
        snprintf(format, 16, "%s", automatic ? row_age_number_format(max) : wanted);
        return 0;
    }
    case ROW_AGE_TEXT: {
        snprintf(format, 16, "iso8601");
        if (!automatic)
            return uk_error_set(err, UK_E_CONFIG, 0,
                                "job '%s': age_column '%s' holds text; age_format %s is for "
                                "numbers",
                                job->name, job->age_column, wanted);
        char *bad = NULL;
        if (probe->non_date(probe->ctx, &bad, err) != 0)
            return -1;
        if (bad) {
            uk_error_set(err, UK_E_CONFIG, 0, "age_column '%s' holds text that is not a date: '%s'",
                         job->age_column, bad);
            free(bad);
            return -1;
        }
        return 0;
    }
    case ROW_AGE_OTHER: break;
    }
    return uk_error_set(err, UK_E_CONFIG, 0,
                        "job '%s': age_column '%s' holds neither dates, numbers nor text",
                        job->name, job->age_column);
}

char *row_condition(const char *age, const char *where)
{
    return age && where ? xasprintf("(%s) AND (%s)", age, where)
           : age        ? xstrdup(age)
                        : xasprintf("(%s)", where);
}

int row_cascade_refused(const ConfigJob *job, const char *children, UkError *err)
{
    return uk_error_set(err, UK_E_CONFIG, 0,
                        "job '%s': deleting archived rows of '%s' would also delete rows of %s "
                        "(ON DELETE CASCADE) without archiving them: archive those first, or set "
                        "cascade = yes to accept their deletion",
                        job->name, job->table, children);
}

void row_keys_add(RowKeys *list, int64_t key)
{
    if (list->n == list->cap) {
        list->cap = list->cap ? 2 * list->cap : 4096;
        list->keys = xrealloc(list->keys, list->cap * sizeof *list->keys);
    }
    list->keys[list->n++] = key;
}

int row_keys_visit(void *ctx, int64_t key, const char *value)
{
    (void)value;
    row_keys_add(ctx, key);
    return 0;
}

int row_keys_compare(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

void row_keys_sort(RowKeys *list)
{
    if (list->n > 1)
        qsort(list->keys, list->n, sizeof *list->keys, row_keys_compare);
}

long row_keys_find(const int64_t *keys, size_t n, int64_t key)
{
    const int64_t *at = n ? bsearch(&key, keys, n, sizeof key, row_keys_compare) : NULL;
    return at ? (long)(at - keys) : -1;
}

void row_batch_committed(RowBatchFigures *figures, double t0)
{
    figures->last_ms = (monotonic_seconds() - t0) * 1000;
    if (figures->last_ms > figures->longest_ms)
        figures->longest_ms = figures->last_ms;
    figures->count++;
}

static char *quoted(const char *name)
{
    char *out = xmalloc(2 * strlen(name) + 3), *o = out;
    *o++ = '"';
    for (const char *p = name; *p; p++) {
        if (*p == '"')
            *o++ = '"';
        *o++ = *p;
    }
    *o++ = '"';
    *o = '\0';
    return out;
}

char *row_insert_sql(const char *q_table, size_t n, const char *const *names, bool numbered,
                     char *const *pk, size_t n_pk)
{
    char *cols = NULL, *marks = NULL, *sets = NULL, *conflict = NULL;
    for (size_t i = 0; i < n; i++) {
        char *q = quoted(names[i]);
        list_appendf(&cols, "%s", q);
        if (numbered)
            list_appendf(&marks, "$%zu", i + 1);
        else
            list_appendf(&marks, "?");
        bool key = false;
        for (size_t k = 0; k < n_pk; k++)
            key |= strcmp(pk[k], names[i]) == 0;
        if (!key)
            list_appendf(&sets, "%s = excluded.%s", q, q);
        free(q);
    }
    for (size_t k = 0; k < n_pk; k++) {
        char *q = quoted(pk[k]);
        list_appendf(&conflict, "%s", q);
        free(q);
    }
    char *sql = n_pk ? xasprintf("INSERT INTO %s (%s) VALUES (%s) ON CONFLICT (%s) DO %s%s",
                                 q_table, cols ? cols : "", marks ? marks : "", conflict,
                                 sets ? "UPDATE SET " : "NOTHING", sets ? sets : "")
                     : xasprintf("INSERT INTO %s (%s) VALUES (%s)", q_table, cols ? cols : "",
                                 marks ? marks : "");
    free(cols);
    free(marks);
    free(sets);
    free(conflict);
    return sql;
}
