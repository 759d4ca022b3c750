/* Report and export: a query's rows (or whole tables') out of the database, read in one
 * read-only transaction, to files (task/row_output.c) and, for a report, into the run's
 * summary so that status, history and --json show them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/util.h"
#include "db/row_store.h"
#include "task/row_output.h"
#include "task/task.h"

/* OUTPUT with {table} and {date} filled in, resolved against the config's folder. */
static char *output_path(const char *dir, const char *output, const char *table)
{
    char date[16];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(date, sizeof date, "%Y-%m-%d", &tm);
    char *text = xstrdup(output);
    const char *keys[] = {"{table}", "{date}"}, *values[] = {table ? table : "", date};
    for (size_t k = 0; k < 2; k++) {
        char *at;
        while ((at = strstr(text, keys[k]))) {
            char *next =
                xasprintf("%.*s%s%s", (int)(at - text), text, values[k], at + strlen(keys[k]));
            free(text);
            text = next;
        }
    }
    char *path = path_join(dir, text);
    free(text);
    return path;
}

typedef struct Collect {
    RowOutput *out;
    json_t *columns, *rows; /* the first REPORT_ROWS_KEPT rows (arrays), for the summary; NULL:
                               none kept */
    uint64_t count;
} Collect;

static int collect_row(void *ctx, size_t n, const char *const *names, const DbValue *values)
{
    Collect *c = ctx;
    if (!values) { /* the columns */
        for (size_t i = 0; c->columns && i < n; i++)
            json_array_append_new(c->columns, json_string(names[i]));
        return c->out ? row_output_row(c->out, n, names, values) : 0;
    }
    if (c->rows && json_array_size(c->rows) < REPORT_ROWS_KEPT) {
        json_t *row = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(row, row_output_json_value(&values[i]));
        json_array_append_new(c->rows, row);
    }
    c->count++;
    return c->out ? row_output_row(c->out, n, names, values) : 0;
}

/* Runs SQL into PATH (may be NULL) and, with ROWS set, the summary's first rows. */
static int query_out(const ConfigDatabase *db, const RowStoreOps *ops, const char *sql,
                     const char *path, json_t *columns, json_t *rows, uint64_t *count, UkError *err)
{
    Collect c = {.columns = columns, .rows = rows};
    if (path && !(c.out = row_output_open(path, err)))
        return -1;
    int rc = ops->query(db, sql, collect_row, &c, err);
    if (c.out) {
        uint64_t written = 0;
        if (rc == 0 || !err->code) { /* a failed write: the output says what it was */
            int close_rc = row_output_close(c.out, &written, err);
            rc = rc ? rc : close_rc;
        } else {
            row_output_abort(c.out);
        }
    }
    *count = c.count;
    return rc;
}

int task_report(const ConfigJob *job, const char *config_dir, ReportResult *res, UkError *err)
{
    memset(res, 0, sizeof *res);
    res->columns = json_array();
    res->rows = json_array();
    const RowStoreOps *ops = db_row_store(job->database, err);
    if (!ops)
        return -1;
    char *path = job->output ? output_path(config_dir, job->output, NULL) : NULL;
    int rc = query_out(job->database, ops, job->query, path, res->columns, res->rows,
                       &res->row_count, err);
    if (rc == 0 && path)
        snprintf(res->output, sizeof res->output, "%s", path);
    free(path);
    return rc;
}

int task_export(const ConfigJob *job, const char *config_dir, ExportResult *res, UkError *err)
{
    memset(res, 0, sizeof *res);
    res->files = json_array();
    const RowStoreOps *ops = db_row_store(job->database, err);
    if (!ops)
        return -1;
    size_t n = 0;
    char **tables = job->tables ? split_list(job->tables, &n) : NULL;
    int rc = 0;
    for (size_t i = 0; i < (tables ? n : 1) && rc == 0; i++) {
        const char *table = tables ? tables[i] : NULL;
        char *quoted = table ? ops->quote_name(table) : NULL;
        char *sql = table ? xasprintf("SELECT * FROM %s", quoted) : xstrdup(job->query);
        char *path = output_path(config_dir, job->output, table);
        uint64_t count = 0;
        rc = query_out(job->database, ops, sql, path, NULL, NULL, &count, err);
        if (rc == 0) {
            json_array_append_new(res->files, json_pack("{s:s?, s:s, s:I}", "table", table, "path",
                                                        path, "rows", (json_int_t)count));
            res->rows += count;
        }
        free(path);
        free(sql);
        free(quoted);
    }
    free_list(tables, n);
    return rc;
}
