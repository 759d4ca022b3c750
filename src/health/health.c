#include "health/health.h"

#include <math.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "common/spawn.h"
#include "common/util.h"
#include "db/db.h"
#include "db/row_store.h"
#include "sched/cron.h"

/* A scheduled job counts as overdue once its last due time is this far past without a run. */
#define OVERDUE_GRACE 300

const char *health_status_name(HealthStatus s)
{
    static const char *names[] = {"OK", "WARNING", "CRITICAL", "UNKNOWN"};
    return names[s];
}

static int severity(HealthStatus s)
{
    static const int rank[] = {0, 2, 3, 1}; /* OK < UNKNOWN < WARNING < CRITICAL */
    return rank[s];
}

static HealthCheck *add(HealthReport *r, const char *check, const char *subject, const char *unit)
{
    r->checks = xrealloc(r->checks, (r->n + 1) * sizeof *r->checks);
    HealthCheck *c = &r->checks[r->n++];
    memset(c, 0, sizeof *c);
    snprintf(c->check, sizeof c->check, "%s", check);
    snprintf(c->subject, sizeof c->subject, "%s", subject);
    c->unit = unit;
    c->value = c->warning = c->critical = NAN;
    return c;
}

static void say(HealthCheck *c, HealthStatus status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void say(HealthCheck *c, HealthStatus status, const char *fmt, ...)
{
    c->status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->message, sizeof c->message, fmt, ap);
    va_end(ap);
}

/* "30h", "2d 4h": ages for people. */
static const char *age_text(double seconds, char *buf, size_t len)
{
    long s = (long)seconds;
    if (s < 120)
        snprintf(buf, len, "%lds", s);
    else if (s < 7200)
        snprintf(buf, len, "%ldm", s / 60);
    else if (s < 3 * 86400)
        snprintf(buf, len, "%ldh", s / 3600);
    else
        snprintf(buf, len, "%ldd", s / 86400);
    return buf;
}

/* Dead row versions are what a table's next vacuum reclaims; a warning when they are over a
 * fifth of the table (autovacuum's own trigger is a fifth, plus 50 rows) and many, which
 * means autovacuum is not keeping up (or is held back by a long transaction). */
#define DEAD_WARNING_SHARE 0.2
#define DEAD_WARNING_ROWS 10000

static void check_dead_rows(HealthReport *r, const char *subject, const char *table, int64_t live,
                            int64_t dead, double last_vacuum)
{
    char ago[32];
    HealthCheck *c = add(r, "dead_rows", subject, "rows");
    c->value = (double)dead;
    double share = live + dead > 0 ? (double)dead / (double)(live + dead) : 0;
    const char *when = last_vacuum > 0
                           ? age_text(difftime(time(NULL), (time_t)last_vacuum), ago, sizeof ago)
                           : "never (since the statistics were reset)";
    say(c, share > DEAD_WARNING_SHARE && dead > DEAD_WARNING_ROWS ? HEALTH_WARNING : HEALTH_OK,
        "%lld dead row versions in %s (%.0f%% of it); last vacuumed %s%s", (long long)dead, table,
        100 * share, when, last_vacuum > 0 ? " ago" : "");
    c = add(r, "last_vacuum", subject, "seconds");
    c->value = last_vacuum;
    say(c, HEALTH_OK, "%s last vacuumed %s%s", table, when, last_vacuum > 0 ? " ago" : "");
}

/* slow_query_warning: the slowest statement by mean time, a warning above the threshold. */
static void check_slow_queries(const ConfigDatabase *db, HealthReport *r)
{
    DbQueryReport *report = xcalloc(1, sizeof *report);
    UkError err = {0};
    HealthCheck *c = add(r, "slow_queries", db->name, "seconds");
    c->warning = db->slow_query_warning / 1000.0;
    if (db_slow_queries(db, 0, 1, report, &err) != 0) {
        say(c, HEALTH_UNKNOWN, "%s", err.msg);
    } else if (!report->available) {
        say(c, HEALTH_UNKNOWN, "%s", report->note);
    } else if (report->n == 0) {
        c->value = 0;
        say(c, HEALTH_OK, "no statements recorded yet");
    } else {
        const DbQuery *q = &report->queries[0];
        c->value = q->mean_ms / 1000.0;
        say(c, c->value > c->warning ? HEALTH_WARNING : HEALTH_OK,
            "slowest statement %.1f ms on average over %.0f calls (warning above %d ms): %.120s",
            q->mean_ms, q->calls, db->slow_query_warning, q->text);
    }
    free(report);
}

typedef struct GroupCounts {
    HealthReport *report;
    const char *subject; /* DATABASE.TABLE.COLUMN */
} GroupCounts;

static int add_group(void *ctx, size_t n, const char *const *names, const DbValue *values)
{
    (void)names;
    GroupCounts *g = ctx;
    if (!values || n < 2)
        return 0;
    char subject[400];
    snprintf(subject, sizeof subject, "%s=%.*s", g->subject,
             values[0].type == DB_NULL ? 4 : (int)values[0].len,
             values[0].type == DB_NULL ? "NULL" : values[0].data);
    HealthCheck *c = add(g->report, "rows_by", subject, "rows");
    c->value = strtod(values[1].data, NULL);
    const char *column = strrchr(g->subject, '.') + 1;
    say(c, HEALTH_OK, "%.0f rows with %s%s", c->value, column, subject + strlen(g->subject));
    return 0;
}

/* count_by: rows per value of each TABLE.COLUMN, the most common first. */
static void check_groups(const ConfigDatabase *db, HealthReport *r)
{
    size_t n = 0;
    char **specs = split_list(db->count_by, &n);
    UkError err = {0};
    const RowStoreOps *ops = n ? db_row_store(db, &err) : NULL;
    for (size_t i = 0; ops && i < n; i++) {
        char *dot = strrchr(specs[i], '.');
        char subject[300];
        snprintf(subject, sizeof subject, "%s.%s", db->name, specs[i]);
        if (!dot) {
            say(add(r, "rows_by", subject, "rows"), HEALTH_UNKNOWN,
                "count_by '%s': expected TABLE.COLUMN", specs[i]);
            continue;
        }
        *dot = '\0';
        char *table = ops->quote_name(specs[i]), *column = ops->quote_name(dot + 1);
        char *sql = xasprintf("SELECT %s, count(*) FROM %s GROUP BY %s ORDER BY 2 DESC LIMIT 50",
                              column, table, column);
        GroupCounts g = {.report = r, .subject = subject};
        uk_error_clear(&err);
        if (ops->query(db, sql, add_group, &g, &err) != 0)
            say(add(r, "rows_by", subject, "rows"), HEALTH_UNKNOWN, "count_by: %s", err.msg);
        free(sql);
        free(table);
        free(column);
    }
    free_list(specs, n);
}

static void check_database(const ConfigDatabase *db, HealthReport *r)
{
    DbStats stats;
    UkError err = {0};
    HealthCheck *c = add(r, "reachable", db->name, "");
    if (db_inspect(db, db->count_tables, &stats, &err) != 0) {
        c->value = 0;
        say(c, HEALTH_CRITICAL, "%s", err.msg);
        return;
    }
    c->value = 1;
    say(c, HEALTH_OK, "database '%s' opens and reads", db->name);

    char a[32], b[32];
    c = add(r, "size", db->name, "bytes");
    c->value = (double)(stats.size_bytes + stats.wal_bytes);
    if (db->size_warning)
        c->warning = (double)db->size_warning;
    if (db->size_critical)
        c->critical = (double)db->size_critical;
    format_size(stats.size_bytes + stats.wal_bytes, a, sizeof a);
    if (db->size_critical && c->value > c->critical)
        say(c, HEALTH_CRITICAL, "database '%s' is %s (critical above %s)", db->name, a,
            format_size(db->size_critical, b, sizeof b));
    else if (db->size_warning && c->value > c->warning)
        say(c, HEALTH_WARNING, "database '%s' is %s (warning above %s)", db->name, a,
            format_size(db->size_warning, b, sizeof b));
    else
        say(c, HEALTH_OK, "database '%s' is %s", db->name, a);
    if (db->size_maximum) { /* its own check: passing it is a transition of its own */
        double size = c->value;
        HealthCheck *m = add(r, "size_maximum", db->name, "bytes"); /* C may move */
        m->value = size;
        m->critical = (double)db->size_maximum;
        if (m->value > m->critical)
            say(m, HEALTH_CRITICAL, "database '%s' is %s, past its maximum %s", db->name, a,
                format_size(db->size_maximum, b, sizeof b));
        else
            say(m, HEALTH_OK, "database '%s' is %s, below its maximum %s", db->name, a,
                format_size(db->size_maximum, b, sizeof b));
    }

    if (stats.has_pages) {
        c = add(r, "pages", db->name, "pages");
        c->value = (double)stats.page_count;
        say(c, HEALTH_OK, "%llu pages of %s", (unsigned long long)stats.page_count,
            format_size(stats.page_size, a, sizeof a));
        c = add(r, "freelist", db->name, "ratio");
        c->value = stats.page_count ? (double)stats.freelist_pages / (double)stats.page_count : 0;
        say(c, HEALTH_OK, "%llu free pages (%.1f%%)", (unsigned long long)stats.freelist_pages,
            100 * c->value);
        c = add(r, "wal", db->name, "bytes");
        c->value = (double)stats.wal_bytes;
        say(c, HEALTH_OK, "write-ahead log %s", format_size(stats.wal_bytes, a, sizeof a));
    }
    for (size_t i = 0; i < stats.n_gauges; i++) {
        const DbGauge *g = &stats.gauges[i];
        c = add(r, g->name, db->name, g->unit);
        c->value = g->value;
        if (g->warning > 0)
            c->warning = g->warning;
        if (g->critical > 0)
            c->critical = g->critical;
        HealthStatus status = g->critical > 0 && g->value > g->critical ? HEALTH_CRITICAL
                              : g->warning > 0 && g->value > g->warning ? HEALTH_WARNING
                                                                        : HEALTH_OK;
        say(c, status, "%s", g->text);
    }
    for (size_t i = 0; i < stats.n_tables; i++) {
        char subject[300];
        snprintf(subject, sizeof subject, "%s.%s", db->name, stats.tables[i]);
        c = add(r, "rows", subject, "rows");
        if (stats.rows[i] < 0) {
            say(c, HEALTH_UNKNOWN, "no table '%s' in database '%s'", stats.tables[i], db->name);
        } else {
            c->value = (double)stats.rows[i];
            say(c, HEALTH_OK, "%lld rows in %s", (long long)stats.rows[i], stats.tables[i]);
        }
        if (stats.dead_rows[i] >= 0)
            check_dead_rows(r, subject, stats.tables[i], stats.rows[i], stats.dead_rows[i],
                            stats.last_vacuum[i]);
    }
    if (db->slow_query_warning)
        check_slow_queries(db, r);
}

/* A database backed up into several repositories: each repository's newest backup of it, so
 * that copies that keep failing show (backup_max_age applies to each). */
static void check_repository_copies(const Config *config, const ConfigDatabase *db,
                                    const BackupRecord *list, size_t n, time_t now, HealthReport *r)
{
    for (size_t j = 0; j < config->n_jobs; j++) {
        const ConfigJob *job = config->jobs[j];
        if (job->kind != TASK_BACKUP || job->database != db || job->n_copy_to == 0)
            continue;
        for (size_t k = 0; k <= job->n_copy_to; k++) {
            const ConfigRepository *repo = k == 0 ? job->repository : job->copy_to[k - 1];
            time_t newest = 0;
            for (size_t i = 0; i < n; i++)
                if (strcmp(list[i].database, db->name) == 0 &&
                    strcmp(list[i].repository, repo->name) == 0 && list[i].created_at > newest)
                    newest = list[i].created_at;
            char subject[300], a[32], b[32];
            snprintf(subject, sizeof subject, "%s in %s", db->name, repo->name);
            HealthCheck *c = add(r, "repository_backup_age", subject, "seconds");
            if (db->backup_max_age)
                c->critical = (double)db->backup_max_age;
            if (!newest) {
                say(c, db->backup_max_age ? HEALTH_CRITICAL : HEALTH_WARNING,
                    "no backup of '%s' in repository '%s'", db->name, repo->name);
                continue;
            }
            c->value = difftime(now, newest);
            if (db->backup_max_age && c->value > c->critical)
                say(c, HEALTH_CRITICAL, "newest backup of '%s' in '%s' is %s old (max %s)",
                    db->name, repo->name, age_text(c->value, a, sizeof a),
                    age_text(c->critical, b, sizeof b));
            else
                say(c, HEALTH_OK, "newest backup of '%s' in '%s' is %s old", db->name, repo->name,
                    age_text(c->value, a, sizeof a));
        }
    }
}

static void check_backups(const Config *config, State *st, const ConfigDatabase *db, time_t now,
                          HealthReport *r)
{
    bool backed_up = false; /* does any job back this database up? */
    for (size_t i = 0; i < config->n_jobs; i++)
        backed_up |= config->jobs[i]->kind == TASK_BACKUP && config->jobs[i]->database == db;
    BackupRecord *list = NULL;
    size_t n = 0;
    UkError err = {0};
    if (state_backups(st, NULL, &list, &n, &err) != 0)
        n = 0;
    check_repository_copies(config, db, list, n, now, r);
    time_t newest = 0, newest_verified = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(list[i].database, db->name) != 0)
            continue;
        if (list[i].created_at > newest)
            newest = list[i].created_at;
        if (strcmp(list[i].verify_result, "ok") == 0 && list[i].created_at > newest_verified)
            newest_verified = list[i].created_at;
    }
    free(list);
    char a[32], b[32];
    if (backed_up || db->backup_max_age || newest) {
        HealthCheck *c = add(r, "backup_age", db->name, "seconds");
        if (db->backup_max_age)
            c->critical = (double)db->backup_max_age;
        if (!newest) {
            say(c, db->backup_max_age ? HEALTH_CRITICAL : HEALTH_WARNING,
                "no backup of database '%s'", db->name);
        } else {
            c->value = difftime(now, newest);
            if (db->backup_max_age && c->value > c->critical)
                say(c, HEALTH_CRITICAL, "newest backup of '%s' is %s old (max %s)", db->name,
                    age_text(c->value, a, sizeof a), age_text(c->critical, b, sizeof b));
            else
                say(c, HEALTH_OK, "newest backup of '%s' is %s old", db->name,
                    age_text(c->value, a, sizeof a));
        }
    }
    if (db->verify_max_age || newest_verified) {
        HealthCheck *c = add(r, "verified_backup_age", db->name, "seconds");
        if (db->verify_max_age)
            c->warning = (double)db->verify_max_age;
        if (!newest_verified) {
            say(c, HEALTH_WARNING, "no backup of '%s' has been proven restorable", db->name);
        } else {
            c->value = difftime(now, newest_verified);
            if (db->verify_max_age && c->value > c->warning)
                say(c, HEALTH_WARNING, "newest proven backup of '%s' is %s old (max %s)", db->name,
                    age_text(c->value, a, sizeof a), age_text(c->warning, b, sizeof b));
            else
                say(c, HEALTH_OK, "newest proven backup of '%s' is %s old", db->name,
                    age_text(c->value, a, sizeof a));
        }
    }
}

static void check_integrity(const Config *config, State *st, const ConfigDatabase *db, time_t now,
                            HealthReport *r)
{
    RunRecord newest = {0};
    bool found = false, has_job = false;
    for (size_t i = 0; i < config->n_jobs; i++) {
        const ConfigJob *job = config->jobs[i];
        if (job->kind != TASK_INTEGRITY || job->database != db)
            continue;
        has_job = true;
        RunRecord run;
        UkError err = {0};
        if (state_last_run(st, job->name, &run, &err) != 1)
            continue;
        if (!found || run.started_at > newest.started_at) {
            free(newest.summary);
            free(newest.error);
            newest = run;
            found = true;
        } else {
            free(run.summary);
            free(run.error);
        }
    }
    if (!has_job && !db->integrity_max_age)
        return;
    HealthCheck *c = add(r, "integrity", db->name, "seconds");
    if (db->integrity_max_age)
        c->warning = (double)db->integrity_max_age;
    char a[32], b[32];
    if (!found) {
        say(c, db->integrity_max_age ? HEALTH_WARNING : HEALTH_OK,
            "no integrity check of '%s' has run yet", db->name);
        return;
    }
    c->value = difftime(now, newest.started_at);
    if (strcmp(newest.result, "failed") == 0)
        say(c, HEALTH_CRITICAL, "integrity check of '%s' failed %s ago: %s", db->name,
            age_text(c->value, a, sizeof a), newest.error ? newest.error : "");
    else if (db->integrity_max_age && c->value > c->warning)
        say(c, HEALTH_WARNING, "last integrity check of '%s' is %s old (max %s)", db->name,
            age_text(c->value, a, sizeof a), age_text(c->warning, b, sizeof b));
    else
        say(c, HEALTH_OK, "integrity of '%s': %s %s ago", db->name, newest.result,
            age_text(c->value, a, sizeof a));
    free(newest.summary);
    free(newest.error);
}

static double threshold_bytes(const FreeThreshold *t, double total)
{
    return !t->set ? NAN : t->percent ? total * t->value / 100.0 : t->value;
}

static void check_disks(const Config *config, HealthReport *r)
{
    size_t n = 0;
    char **paths = split_list(config->disk_paths, &n);
    for (size_t i = 0; i < n; i++) {
        char *path = path_resolve(config->dir, paths[i]);
        HealthCheck *c = add(r, "disk_free", path, "bytes");
        struct statvfs vfs;
        if (statvfs(path, &vfs) != 0) {
            say(c, HEALTH_UNKNOWN, "cannot read the free space of '%s'", path);
            free(path);
            continue;
        }
        double total = (double)vfs.f_blocks * (double)vfs.f_frsize;
        c->value = (double)vfs.f_bavail * (double)vfs.f_frsize;
        c->warning = threshold_bytes(&config->disk_free_warning, total);
        c->critical = threshold_bytes(&config->disk_free_critical, total);
        char a[32], b[32];
        double pct = total > 0 ? 100.0 * c->value / total : 0;
        format_size((uint64_t)c->value, a, sizeof a);
        if (!isnan(c->critical) && c->value < c->critical)
            say(c, HEALTH_CRITICAL, "%s free on '%s' (%.1f%%), below %s", a, path, pct,
                format_size((uint64_t)c->critical, b, sizeof b));
        else if (!isnan(c->warning) && c->value < c->warning)
            say(c, HEALTH_WARNING, "%s free on '%s' (%.1f%%), below %s", a, path, pct,
                format_size((uint64_t)c->warning, b, sizeof b));
        else
            say(c, HEALTH_OK, "%s free on '%s' (%.1f%%)", a, path, pct);
        free(path);
    }
    free_list(paths, n);
}

static void check_jobs(const Config *config, State *st, time_t now, HealthReport *r)
{
    for (size_t i = 0; i < config->n_jobs; i++) {
        const ConfigJob *job = config->jobs[i];
        RunRecord last;
        UkError err = {0};
        int found = state_last_run(st, job->name, &last, &err);
        HealthCheck *c = add(r, "job", job->name, "seconds");
        char a[32];
        time_t due = 0;
        CronSpec spec;
        char why[200];
        if (job->schedule && cron_parse(job->schedule, &spec, why, sizeof why) == 0)
            cron_prev(&spec, job->timezone ? job->timezone : config->timezone, now, &due);
        bool overdue = due && difftime(now, due) > (double)(OVERDUE_GRACE + job->jitter) &&
                       (found != 1 || last.started_at < due);
        if (found == 1)
            c->value = difftime(now, last.started_at);
        if (!job->enabled) /* turned off on purpose: neither overdue nor still failing */
            say(c, HEALTH_OK, "job '%s' is disabled", job->name);
        else if (found == 1 && strcmp(last.result, "failed") == 0)
            say(c, HEALTH_CRITICAL, "job '%s' failed %s ago: %s", job->name,
                age_text(c->value, a, sizeof a), last.error ? last.error : "");
        else if (overdue)
            say(c, HEALTH_WARNING, "job '%s' is overdue: due %s ago, %s", job->name,
                age_text(difftime(now, due), a, sizeof a),
                found == 1 ? "last run before that" : "never run");
        else if (found == 1 && strcmp(last.result, "interrupted") == 0)
            say(c, HEALTH_WARNING, "job '%s' was interrupted %s ago", job->name,
                age_text(c->value, a, sizeof a));
        else if (found == 1)
            say(c, HEALTH_OK, "job '%s': %s %s ago", job->name, last.result,
                age_text(c->value, a, sizeof a));
        else
            say(c, HEALTH_OK, "job '%s' has not run yet", job->name);
        if (found == 1) {
            free(last.summary);
            free(last.error);
        }
    }
}

void health_evaluate(const Config *config, State *st, HealthReport *r)
{
    memset(r, 0, sizeof *r);
    r->at = time(NULL);
    for (size_t i = 0; i < config->n_databases; i++) {
        const ConfigDatabase *db = config->databases[i];
        check_database(db, r);
        check_groups(db, r);
        check_integrity(config, st, db, r->at, r);
        check_backups(config, st, db, r->at, r);
    }
    check_disks(config, r);
    check_jobs(config, st, r->at, r);
    r->overall = HEALTH_OK;
    for (size_t i = 0; i < r->n; i++)
        if (severity(r->checks[i].status) > severity(r->overall))
            r->overall = r->checks[i].status;
}

/* Does check C concern database DB (its own checks and its tables' row counts)? */
static bool concerns(const HealthCheck *c, const ConfigDatabase *db)
{
    size_t n = strlen(db->name);
    return strcmp(c->check, "job") != 0 && strcmp(c->check, "disk_free") != 0 &&
           strncmp(c->subject, db->name, n) == 0 && (c->subject[n] == '\0' || c->subject[n] == '.');
}

static HealthStatus status_from_name(const char *name)
{
    for (int s = HEALTH_OK; s <= HEALTH_UNKNOWN; s++)
        if (strcmp(name, health_status_name((HealthStatus)s)) == 0)
            return (HealthStatus)s;
    return HEALTH_OK;
}

static void add_action(HealthAction **actions, size_t *n, const ConfigJob *job, const char *command,
                       const char *key, size_t check)
{
    for (size_t k = 0; job && k < *n; k++)
        if ((*actions)[k].job == job)
            return;
    *actions = xrealloc(*actions, (*n + 1) * sizeof **actions);
    (*actions)[(*n)++] = (HealthAction){.job = job, .command = command, .key = key, .check = check};
}

/* What check C, just turned critical, sets off. */
static void actions_of(const Config *config, const HealthCheck *c, size_t check,
                       HealthAction **actions, size_t *n)
{
    if (strcmp(c->check, "disk_free") == 0 && config->on_critical) {
        add_action(actions, n, config_find_job(config, config->on_critical), NULL, "on_critical",
                   check);
        return;
    }
    for (size_t d = 0; d < config->n_databases; d++) {
        const ConfigDatabase *db = config->databases[d];
        if (!concerns(c, db))
            continue;
        if (strcmp(c->check, "size_maximum") == 0) {
            if (db->on_maximum)
                add_action(actions, n, config_find_job(config, db->on_maximum), NULL, "on_maximum",
                           check);
            if (db->on_maximum_command)
                add_action(actions, n, NULL, db->on_maximum_command, "on_maximum_command", check);
        } else if (db->on_critical) {
            add_action(actions, n, config_find_job(config, db->on_critical), NULL, "on_critical",
                       check);
        }
    }
}

int health_run_command(const HealthReport *r, const HealthAction *a, UkError *err)
{
    const HealthCheck *c = &r->checks[a->check];
    size_t n = 0;
    char **words = split_words(a->command, &n);
    char *env[] = {
        xasprintf("UPKEEP_EVENT=%s", a->key),       xasprintf("UPKEEP_CHECK=%s", c->check),
        xasprintf("UPKEEP_SUBJECT=%s", c->subject), xasprintf("UPKEEP_VALUE=%.0f", c->value),
        xasprintf("UPKEEP_MESSAGE=%s", c->message), NULL};
    char *what = xasprintf("%s '%s'", a->key, a->command);
    int rc = n ? child_run((const char *const *)words, (const char *const *)env, 30, what, err) : 0;
    free(what);
    for (size_t i = 0; env[i]; i++)
        free(env[i]);
    free_list(words, n);
    return rc;
}

void health_record(const Config *config, State *st, const HealthReport *r, HealthAction **actions,
                   size_t *n_actions, HealthChange **changes, size_t *n_changes)
{
    *actions = NULL;
    *n_actions = 0;
    *changes = NULL;
    *n_changes = 0;
    for (size_t i = 0; i < r->n; i++) {
        const HealthCheck *c = &r->checks[i];
        char key[200], previous[16];
        snprintf(key, sizeof key, "%s:%s", c->check, c->subject);
        UkError err = {0};
        if (state_health_set(st, key, health_status_name(c->status), c->value, c->message, previous,
                             sizeof previous, &err) != 0)
            continue;
        HealthStatus from = status_from_name(previous);
        if (from != c->status) {
            *changes = xrealloc(*changes, (*n_changes + 1) * sizeof **changes);
            (*changes)[(*n_changes)++] = (HealthChange){.check = i, .from = from};
        }
        if (c->status == HEALTH_CRITICAL && strcmp(previous, "CRITICAL") != 0)
            actions_of(config, c, i, actions, n_actions);
    }
}

static json_t *number_or_null(double v)
{
    return isnan(v) ? json_null() : json_real(v);
}

json_t *health_report_json(const HealthReport *r, const char *only_check)
{
    json_t *checks = json_array();
    for (size_t i = 0; i < r->n; i++) {
        const HealthCheck *c = &r->checks[i];
        if (only_check && strcmp(c->check, only_check) != 0)
            continue;
        json_array_append_new(
            checks, json_pack("{s:s, s:s, s:s, s:o, s:s, s:o, s:o, s:s}", "check", c->check,
                              "subject", c->subject, "status", health_status_name(c->status),
                              "value", number_or_null(c->value), "unit", c->unit, "warning",
                              number_or_null(c->warning), "critical", number_or_null(c->critical),
                              "message", c->message));
    }
    return json_pack("{s:s, s:o}", "status", health_status_name(r->overall), "checks", checks);
}

void health_report_clear(HealthReport *r)
{
    free(r->checks);
    memset(r, 0, sizeof *r);
}

/* Perfdata labels: letters, digits and '_' only, so no quoting rule of any monitor bites. */
static void perf_label(const HealthCheck *c, char *buf, size_t len)
{
    snprintf(buf, len, "%s_%s", c->subject, c->check);
    for (char *p = buf; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
            *p = '_';
}

static void append(char *buf, size_t len, size_t *used, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void append(char *buf, size_t len, size_t *used, const char *fmt, ...)
{
    if (*used >= len)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *used, len - *used, fmt, ap);
    va_end(ap);
    if (n > 0)
        *used += (size_t)n < len - *used ? (size_t)n : len - *used - 1;
}

void health_plugin_line(const HealthReport *r, char *buf, size_t len)
{
    size_t used = 0;
    append(buf, len, &used, "UPKEEP %s - ", health_status_name(r->overall));
    size_t problems = 0;
    for (size_t i = 0; i < r->n; i++) {
        if (r->checks[i].status == HEALTH_OK)
            continue;
        if (problems < 3)
            append(buf, len, &used, "%s%s", problems ? "; " : "", r->checks[i].message);
        problems++;
    }
    if (problems > 3)
        append(buf, len, &used, "; and %zu more", problems - 3);
    if (problems == 0)
        append(buf, len, &used, "%zu checks ok", r->n);
    append(buf, len, &used, " |");
    for (size_t i = 0; i < r->n; i++) {
        const HealthCheck *c = &r->checks[i];
        if (isnan(c->value) || strcmp(c->check, "reachable") == 0)
            continue;
        char label[200];
        perf_label(c, label, sizeof label);
        const char *uom = strcmp(c->unit, "bytes") == 0     ? "B"
                          : strcmp(c->unit, "seconds") == 0 ? "s"
                                                            : "";
        /* Free space alerts below its thresholds: "N:" is the plugins' range for that. */
        const char *lower = strcmp(c->check, "disk_free") == 0 ? ":" : "";
        append(buf, len, &used, strcmp(c->unit, "ratio") == 0 ? " %s=%.4f%s;" : " %s=%.0f%s;",
               label, c->value, uom);
        if (!isnan(c->warning))
            append(buf, len, &used, "%.0f%s", c->warning, lower);
        append(buf, len, &used, ";");
        if (!isnan(c->critical))
            append(buf, len, &used, "%.0f%s", c->critical, lower);
        append(buf, len, &used, ";0;");
    }
}
