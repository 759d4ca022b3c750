/* Prometheus text exposition (version 0.0.4) of the run history, the backup catalogue and a
 * health report. Each family is written whole (HELP, TYPE, samples), as the format requires. */
#include "health/metrics.h"

#include <ftw.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

typedef struct Family {
    const char *name, *type, *help;
} Family;

static void header(FILE *out, const Family *f)
{
    fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name, f->type);
}

/* Label values escape backslash, double quote and newline. */
static void label_value(FILE *out, const char *v)
{
    fputc('"', out);
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            fputc('\\', out);
        if (*v == '\n') {
            fputs("\\n", out);
            continue;
        }
        fputc(*v, out);
    }
    fputc('"', out);
}

/* sample(out, name, value, "label", "value", ..., NULL) */
static void sample(FILE *out, const char *name, double value, ...)
{
    fputs(name, out);
    va_list ap;
    va_start(ap, value);
    const char *label = va_arg(ap, const char *);
    if (label) {
        fputc('{', out);
        for (bool first = true; label; label = va_arg(ap, const char *), first = false) {
            if (!first)
                fputc(',', out);
            fprintf(out, "%s=", label);
            label_value(out, va_arg(ap, const char *));
        }
        fputc('}', out);
    }
    va_end(ap);
    if (isnan(value))
        fputs(" NaN\n", out);
    else if (value == floor(value) && fabs(value) < 1e15)
        fprintf(out, " %.0f\n", value);
    else
        fprintf(out, " %.17g\n", value);
}

typedef struct QueryCtx {
    FILE *out;
    const Family *family;
    const char *label;
} QueryCtx;

static void query_row(void *arg, int n, const char *const *v)
{
    QueryCtx *q = arg;
    if (n < 3 || !v[0] || !v[1] || !v[2])
        return;
    if (q->label && n > 3 && v[3])
        sample(q->out, q->family->name, strtod(v[2], NULL), "job", v[0], "task", v[1], q->label,
               v[3], NULL);
    else
        sample(q->out, q->family->name, strtod(v[2], NULL), "job", v[0], "task", v[1], NULL);
}

/* Runs one aggregate query over the run history; each row is (job, task, value[, label]). */
static void run_query(State *st, FILE *out, const Family *f, const char *sql, const char *label)
{
    header(out, f);
    QueryCtx q = {out, f, label};
    UkError err = {0};
    state_query(st, sql, query_row, &q, &err);
}

static uint64_t tree_bytes;
static int add_file_size(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)path;
    (void)ftw;
    if (flag == FTW_F)
        tree_bytes += (uint64_t)st->st_size;
    return 0;
}

static void job_metrics(const Config *config, State *st, FILE *out)
{
    (void)config;
    static const Family last_run = {"upkeep_job_last_run_timestamp_seconds", "gauge",
                                    "Start of the job's most recent run."};
    run_query(st, out, &last_run,
              "SELECT job, task, max(started_at) FROM runs WHERE result != 'running' GROUP BY job",
              NULL);
    static const Family last_success = {"upkeep_job_last_success_timestamp_seconds", "gauge",
                                        "End of the job's most recent successful run."};
    run_query(st, out, &last_success,
              "SELECT job, task, max(ended_at) FROM runs WHERE result = 'success' GROUP BY job",
              NULL);
    static const Family duration = {"upkeep_job_last_duration_seconds", "gauge",
                                    "Duration of the job's most recent run."};
    run_query(st, out, &duration,
              "SELECT job, task, coalesce(json_extract(summary, '$.seconds'),"
              " ended_at - started_at) FROM runs r WHERE id = (SELECT max(id) FROM runs"
              " WHERE job = r.job AND result != 'running')",
              NULL);
    static const Family success = {"upkeep_job_last_run_success", "gauge",
                                   "1 when the job's most recent run succeeded, else 0."};
    run_query(st, out, &success,
              "SELECT job, task, result = 'success' FROM runs r WHERE id = (SELECT max(id)"
              " FROM runs WHERE job = r.job AND result != 'running')",
              NULL);
    static const Family runs = {"upkeep_job_runs_total", "counter",
                                "Runs of the job by result (success, failed, skipped, "
                                "interrupted)."};
    run_query(st, out, &runs,
              "SELECT job, task, count(*), result FROM runs WHERE result != 'running'"
              " GROUP BY job, result",
              "result");
    static const Family failures = {"upkeep_job_failures_total", "counter",
                                    "Failed runs of the job."};
    run_query(st, out, &failures, "SELECT job, task, sum(result = 'failed') FROM runs GROUP BY job",
              NULL);
    static const Family rows = {"upkeep_rows_total", "counter",
                                "Rows purged, archived or updated by the job, by action."};
    run_query(st, out, &rows,
              "SELECT job, task, sum(v), a FROM (SELECT job, task, 'deleted' a,"
              " json_extract(summary, '$.rows_deleted') v FROM runs WHERE result = 'success'"
              " UNION ALL SELECT job, task, 'archived', json_extract(summary, '$.rows_archived')"
              " FROM runs WHERE result = 'success' UNION ALL SELECT job, task, 'updated',"
              " json_extract(summary, '$.rows_updated') FROM runs WHERE result = 'success')"
              " WHERE v IS NOT NULL GROUP BY job, a",
              "action");
    static const Family files = {"upkeep_files_total", "counter",
                                 "Files deleted, moved or refused by the job's runs."};
    run_query(st, out, &files,
              "SELECT job, task, sum(v), a FROM (SELECT job, task, 'deleted' a,"
              " json_extract(summary, '$.files_deleted') v FROM runs WHERE result = 'success'"
              " UNION ALL SELECT job, task, 'moved', json_extract(summary, '$.files_moved')"
              " FROM runs WHERE result = 'success' UNION ALL SELECT job, task, 'refused',"
              " json_extract(summary, '$.files_refused') FROM runs WHERE result = 'success')"
              " WHERE v IS NOT NULL GROUP BY job, a",
              "action");
    static const Family reclaimed = {"upkeep_reclaimed_bytes_total", "counter",
                                     "Bytes of database file reclaimed by the job's vacuums."};
    run_query(st, out, &reclaimed,
              "SELECT job, task, sum(max(coalesce(json_extract(summary, '$.bytes_reclaimed'),"
              " 0), 0)) FROM runs WHERE task = 'vacuum' AND result = 'success' GROUP BY job",
              NULL);
}

static void backup_metrics(const Config *config, State *st, FILE *out)
{
    BackupRecord *list = NULL;
    size_t n = 0;
    UkError err = {0};
    if (state_backups(st, NULL, &list, &n, &err) != 0)
        n = 0;
    static const Family families[] = {
        {"upkeep_backup_newest_timestamp_seconds", "gauge", "When the newest backup was taken."},
        {"upkeep_backup_newest_size_bytes", "gauge", "Size of the newest backup's image."},
        {"upkeep_backup_newest_stored_bytes", "gauge",
         "Bytes the newest backup added to the repository."},
        {"upkeep_backup_last_verified_timestamp_seconds", "gauge",
         "When a backup was last proven restorable (0: never)."},
        {"upkeep_backups", "gauge", "Backups in the catalogue."},
    };
    for (size_t f = 0; f < sizeof families / sizeof families[0]; f++) {
        header(out, &families[f]);
        for (size_t r = 0; r < config->n_repositories; r++) {
            const char *repo = config->repositories[r]->name;
            for (size_t d = 0; d < config->n_databases; d++) {
                const char *db = config->databases[d]->name;
                const BackupRecord *newest = NULL;
                time_t verified = 0;
                size_t count = 0;
                for (size_t i = 0; i < n; i++) {
                    if (strcmp(list[i].repository, repo) != 0 || strcmp(list[i].database, db) != 0)
                        continue;
                    count++;
                    if (!newest || list[i].created_at >= newest->created_at)
                        newest = &list[i];
                    if (strcmp(list[i].verify_result, "ok") == 0 && list[i].verified_at > verified)
                        verified = list[i].verified_at;
                }
                if (!count)
                    continue;
                double values[] = {(double)newest->created_at, (double)newest->image_size,
                                   (double)newest->stored_bytes, (double)verified, (double)count};
                sample(out, families[f].name, values[f], "database", db, "repository", repo, NULL);
            }
        }
    }
    free(list);
    static const Family size = {"upkeep_repository_size_bytes", "gauge",
                                "Bytes the repository's files take."};
    header(out, &size);
    for (size_t r = 0; r < config->n_repositories; r++) {
        tree_bytes = 0;
        if (nftw(config->repositories[r]->path, add_file_size, 16, FTW_PHYS) == 0)
            sample(out, size.name, (double)tree_bytes, "repository", config->repositories[r]->name,
                   NULL);
    }
}

static void health_metrics(const HealthReport *report, FILE *out)
{
    /* Database and disk figures are read from the report's checks. */
    static const struct {
        const char *check;
        Family family;
        const char *label;
    } figures[] = {
        {"size", {"upkeep_database_size_bytes", "gauge", "Database file(s) size."}, "database"},
        {"wal", {"upkeep_database_wal_bytes", "gauge", "Write-ahead log size."}, "database"},
        {"pages", {"upkeep_database_pages", "gauge", "Pages in the database."}, "database"},
        {"freelist",
         {"upkeep_database_freelist_ratio", "gauge",
          "Share of the database's pages that are free."},
         "database"},
        {"rows", {"upkeep_table_rows", "gauge", "Rows in the table (count_tables)."}, "table"},
        {"dead_rows",
         {"upkeep_table_dead_rows", "gauge",
          "Dead row versions in the table, which its next vacuum reclaims (servers)."},
         "table"},
        {"last_vacuum",
         {"upkeep_table_last_vacuum_timestamp_seconds", "gauge",
          "When a vacuum (or autovacuum) last ran on the table; 0: never (servers)."},
         "table"},
        {"connections",
         {"upkeep_database_connections_ratio", "gauge",
          "Client connections as a share of the server's max_connections."},
         "database"},
        {"xid_age",
         {"upkeep_database_xid_age", "gauge",
          "Oldest transaction-id age of the server's databases (wraparound at 2^31)."},
         "database"},
        {"history_list_length",
         {"upkeep_database_history_list_length", "gauge",
          "InnoDB's history list: undo not yet purged, held by old snapshots (MariaDB)."},
         "database"},
        {"longest_transaction",
         {"upkeep_database_longest_transaction_seconds", "gauge",
          "Age of the oldest open transaction on the server."},
         "database"},
        {"slow_queries",
         {"upkeep_database_slowest_query_mean_seconds", "gauge",
          "Mean time of the slowest statement the server recorded (slow_query_warning)."},
         "database"},
        {"disk_free",
         {"upkeep_disk_free_bytes", "gauge", "Free space on the filesystem of a disk_paths path."},
         "path"},
        {"backup_age",
         {"upkeep_backup_age_seconds", "gauge", "Age of the newest backup of the database."},
         "database"},
    };
    for (size_t f = 0; f < sizeof figures / sizeof figures[0]; f++) {
        header(out, &figures[f].family);
        for (size_t i = 0; i < report->n; i++) {
            const HealthCheck *c = &report->checks[i];
            if (strcmp(c->check, figures[f].check) != 0 || isnan(c->value))
                continue;
            sample(out, figures[f].family.name, c->value, figures[f].label, c->subject, NULL);
        }
    }
    /* count_by: DATABASE.TABLE.COLUMN=VALUE, as labels of their own. */
    static const Family by_value = {"upkeep_table_rows_by_value", "gauge",
                                    "Rows per value of a count_by column (the 50 most common)."};
    header(out, &by_value);
    for (size_t i = 0; i < report->n; i++) {
        const HealthCheck *c = &report->checks[i];
        const char *eq = strchr(c->subject, '=');
        if (strcmp(c->check, "rows_by") != 0 || isnan(c->value) || !eq)
            continue;
        char *where = xasprintf("%.*s", (int)(eq - c->subject), c->subject);
        char *column = strrchr(where, '.');
        *column++ = '\0';
        sample(out, by_value.name, c->value, "table", where, "column", column, "value", eq + 1,
               NULL);
        free(where);
    }
    static const Family status = {"upkeep_health_status", "gauge",
                                  "Health check status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN."};
    header(out, &status);
    for (size_t i = 0; i < report->n; i++)
        sample(out, status.name, (double)report->checks[i].status, "check", report->checks[i].check,
               "subject", report->checks[i].subject, NULL);
    static const Family overall = {"upkeep_health_overall_status", "gauge",
                                   "Worst health check status (0 OK ... 3 UNKNOWN)."};
    header(out, &overall);
    sample(out, overall.name, (double)report->overall, NULL);
}

static void alert_row(void *arg, int n, const char *const *v)
{
    FILE *out = arg;
    if (n == 4 && v[0] && v[1] && v[2] && v[3])
        sample(out, "upkeep_alert_deliveries_total", strtod(v[3], NULL), "alert", v[0], "channel",
               v[1], "result", v[2], NULL);
}

static void alert_metrics(State *st, FILE *out)
{
    static const Family deliveries = {"upkeep_alert_deliveries_total", "counter",
                                      "Alert deliveries by alert, channel and result (sent, "
                                      "failed)."};
    header(out, &deliveries);
    UkError err = {0};
    state_query(st, "SELECT alert, channel, result, count FROM alert_deliveries ORDER BY 1, 2, 3",
                alert_row, out, &err);
}

char *metrics_render(const Config *config, State *st, const HealthReport *report)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    job_metrics(config, st, out);
    backup_metrics(config, st, out);
    health_metrics(report, out);
    alert_metrics(st, out);
    fclose(out);
    return text;
}
