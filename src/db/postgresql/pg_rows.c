/* Row tasks on PostgreSQL (db/row_store.h).
 *
 * Rows are named by the table's primary key when it is one integer column; any other key is
 * mapped to numbers in a temporary table (find_key, candidates). Candidates are read
 * through a cursor outside any write transaction (in whatever order the plan gives:
 * an ORDER BY would make the server sort them, or walk the key's index, when sorting in
 * memory here is cheaper). Each batch is one short transaction with one statement,
 * `DELETE … WHERE key = ANY($1) AND <condition> RETURNING key` (UPDATE for update jobs), so a
 * row changed meanwhile is re-checked and left alone, and the keys it returns are the rows
 * that went.
 *
 * Pacing. On PostgreSQL the application's writers never wait for upkeep's transaction as a
 * whole, only for the rows it holds, and those are old rows the application rarely touches.
 * So a batch runs under `lock_timeout` = transaction_budget: when the application holds one
 * of the rows, upkeep gives up its batch (rolled back) rather than make the application
 * queue behind it, and tries again later with fewer rows. A batch also has a statement
 * timeout, so a plan gone wrong cannot hold its rows for long. Batches follow one another
 * without a pause, except while a replica is more than 64 MiB of WAL behind: then upkeep
 * waits for it to catch up.
 *
 * Archive (archive_to = table:SCHEMA.TABLE): a table in the same database, created with the
 * source's columns and primary key if missing. The move is one statement,
 * `WITH moved AS (DELETE … RETURNING *) INSERT INTO archive … ON CONFLICT (key) DO UPDATE`,
 * so each row is in exactly one of the two tables at every instant. To files (jsonl://,
 * csv://): the DELETE returns the rows, which go to the files' staging database before the
 * batch commits (db/row_stage.h). To a table of another database: copied ahead, deleted while
 * each row still hashes as copied (pg_archive_db.h).
 *
 * Age. timestamp, timestamptz and date columns are compared with the cutoff as an instant
 * (a timestamp without time zone is read in the server's TimeZone, as now() writes it);
 * numbers as Unix time (seconds to nanoseconds, told apart by magnitude) or Julian days; text
 * only where it starts like an ISO 8601 date. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "core/log.h"
#include "db/db_driver.h"
#include "db/postgresql/pg_archive_db.h"
#include "db/postgresql/pg_conn.h"
#include "db/row_rules.h"
#include "db/row_stage.h"

#define FETCH_ROWS 10000
#define MAX_REPLICA_LAG (64.0 * 1024 * 1024) /* bytes of WAL a replica may be behind */
#define REPLICA_WAIT_SECONDS 600
#define SQL_LOCK_TIMEOUT "10s" /* sql jobs, like SQLite's busy timeout */
#define RANGE_SPAN 8           /* by range when a batch's keys span at most this many keys a row */

typedef struct PgRows {
    RowStore base;
    const ConfigJob *job;
    const PqLib *pq;
    PGconn *conn;
    char *table;     /* schema-qualified, quoted */
    char *key;       /* the primary key's columns, quoted, comma-separated */
    char *key_name;  /* its first column as it is named */
    char **key_cols; /* its columns, quoted */
    size_t n_key_cols;
    bool mapped;       /* not one integer column: rows are numbered in pg_temp.upkeep_keys */
    char *match;       /* SQL: the rows whose numbers are in $1 */
    char *range_match; /* the same, within a range as well (see range_statement) */
    uint32_t *blocks;  /* mapped: the heap page of each numbered candidate, by number - 1 */
    size_t n_blocks;
    char *numbers;   /* SQL: what RETURNING gives for them */
    char *fill_keys; /* INSERT INTO the mapped keys' table (columns) */
    char *files;     /* files column, quoted (NULL: none) */
    char *condition; /* SQL: age condition plus the job's where */
    char *apply_sql; /* a batch's statement; $1 is the keys ($2 their hashes: to_database) */
    char *range_sql; /* the same for keys close together (NULL: not offered), see apply */
    double t0;       /* when the current batch began */
    RowBatchFigures figures;
    bool to_files; /* archive_to = jsonl:// or csv:// */
    RowStage stage;
    bool to_database; /* archive_to = table:NAME in archive_database */
    PgArchiveDb archive_db;
} PgRows;

#define SELF(s) ((PgRows *)(s))

static char *quote(PgRows *p, const char *name)
{
    char *q = p->pq->escape_identifier(p->conn, name, strlen(name));
    char *copy = xstrdup(q ? q : "\"\"");
    p->pq->freemem(q);
    return copy;
}

/* Runs SQL with text parameters on the job's connection (pg_query_params). */
static PGresult *param_query(PgRows *p, const char *sql, int n, const char *const *values,
                             char sqlstate[6], UkError *err)
{
    return pg_query_params(p->pq, p->conn, sql, n, values, sqlstate, err);
}

/* The first value of a one-parameter query (malloc'd), or NULL when there is no row. */
static char *one_value(PgRows *p, const char *sql, const char *param, int *rc, UkError *err)
{
    PGresult *res = param_query(p, sql, param ? 1 : 0, &param, NULL, err);
    if (!res) {
        *rc = -1;
        return NULL;
    }
    char *value = p->pq->ntuples(res) > 0 && !p->pq->getisnull(res, 0, 0)
                      ? xstrdup(p->pq->getvalue(res, 0, 0))
                      : NULL;
    p->pq->clear(res);
    return value;
}

/* The table's oid and quoted name, [schema.]table as configured. */
static int find_table(PgRows *p, char **oid, UkError *err)
{
    const ConfigJob *job = p->job;
    char *schema = job->table_schema ? quote(p, job->table_schema) : NULL;
    char *name = quote(p, job->table);
    char *wanted = schema ? xasprintf("%s.%s", schema, name) : xstrdup(name);
    free(schema);
    free(name);
    const char *params[] = {wanted};
    PGresult *res = param_query(p,
                                "SELECT c.oid, format('%I.%I', n.nspname, c.relname) FROM "
                                "pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                                "WHERE c.oid = to_regclass($1) AND c.relkind IN ('r', 'p')",
                                1, params, NULL, err);
    free(wanted);
    if (!res)
        return -1;
    int rc = 0;
    if (p->pq->ntuples(res) == 0) {
        rc = uk_error_set(err, UK_E_CONFIG, 0, "job '%s': no table '%s%s%s' in database '%s'",
                          job->name, job->table_schema ? job->table_schema : "",
                          job->table_schema ? "." : "", job->table, job->database->name);
    } else {
        *oid = xstrdup(p->pq->getvalue(res, 0, 0));
        p->table = xstrdup(p->pq->getvalue(res, 0, 1));
    }
    p->pq->clear(res);
    return rc;
}

/* The type category of COLUMN (pg_type.typcategory: D dates, N numbers, S text …), or an
 * error naming the job when the table has no such column. */
static int column_category(PgRows *p, const char *oid, const char *column, char *category,
                           UkError *err)
{
    const char *params[] = {oid, column};
    PGresult *res = param_query(p,
                                "SELECT t.typcategory FROM pg_attribute a JOIN pg_type t ON "
                                "t.oid = a.atttypid WHERE a.attrelid = $1::oid AND a.attname = "
                                "$2 AND a.attnum > 0 AND NOT a.attisdropped",
                                2, params, NULL, err);
    if (!res)
        return -1;
    int rc = 0;
    if (p->pq->ntuples(res) == 0)
        rc = uk_error_set(err, UK_E_CONFIG, 0, "job '%s': table '%s' has no column '%s'",
                          p->job->name, p->job->table, column);
    else
        *category = p->pq->getvalue(res, 0, 0)[0];
    p->pq->clear(res);
    return rc;
}

/* "(Q.a, Q.b) = (u.upkeep_k1, u.upkeep_k2)": the rows of Q (a table or an alias) that are
 * numbered in pg_temp.upkeep_keys u. */
static char *join_on(PgRows *p, const char *q)
{
    char *left = xstrdup(""), *right = xstrdup("");
    for (size_t i = 0; i < p->n_key_cols; i++) {
        char *l = xasprintf("%s%s%s.%s", left, i ? ", " : "", q, p->key_cols[i]);
        char *r = xasprintf("%s%su.upkeep_k%zu", right, i ? ", " : "", i + 1);
        free(left);
        free(right);
        left = l, right = r;
    }
    char *on = xasprintf("(%s) = (%s)", left, right);
    free(left);
    free(right);
    return on;
}

/* The columns of the key qualified by Q: "Q.a, Q.b". */
static char *qualified_key(PgRows *p, const char *q)
{
    char *out = xstrdup("");
    for (size_t i = 0; i < p->n_key_cols; i++) {
        char *more = xasprintf("%s%s%s.%s", out, i ? ", " : "", q, p->key_cols[i]);
        free(out);
        out = more;
    }
    return out;
}

/* The primary key. One integer column names rows directly; any other key (uuid, text,
 * several columns) is mapped: the candidates are numbered in a temporary table on upkeep's
 * connection, and batches name rows by those numbers (see candidates). */
static int find_key(PgRows *p, const char *oid, UkError *err)
{
    const char *params[] = {oid};
    PGresult *res = param_query(
        p,
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod), format_type(a.atttypid, NULL) "
        "FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, "
        "ord) JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
        "WHERE i.indrelid = $1::oid AND i.indisprimary AND k.ord <= i.indnkeyatts ORDER BY k.ord",
        1, params, NULL, err);
    if (!res)
        return -1;
    const PqLib *pq = p->pq;
    int n = pq->ntuples(res);
    if (n == 0) {
        pq->clear(res);
        return uk_error_set(err, UK_E_CONFIG, 0,
                            "job '%s': table '%s' needs a primary key (rows are deleted by key, "
                            "in batches)",
                            p->job->name, p->job->table);
    }
    const char *type = pq->getvalue(res, 0, 2);
    p->mapped = n > 1 || (strcmp(type, "bigint") != 0 && strcmp(type, "integer") != 0 &&
                          strcmp(type, "smallint") != 0);
    p->key = xstrdup("");
    char *defs = xstrdup(""), *temp_cols = xstrdup("");
    p->key_cols = xcalloc((size_t)n, sizeof *p->key_cols);
    for (int i = 0; i < n; i++) {
        char *q = quote(p, pq->getvalue(res, i, 0));
        char *key = xasprintf("%s%s%s", p->key, i ? ", " : "", q);
        char *more_defs = xasprintf("%s, upkeep_k%d %s", defs, i + 1, pq->getvalue(res, i, 1));
        char *more_cols = xasprintf("%s%supkeep_k%d", temp_cols, i ? ", " : "", i + 1);
        free(p->key);
        free(defs);
        free(temp_cols);
        p->key = key, defs = more_defs, temp_cols = more_cols;
        p->key_cols[p->n_key_cols++] = q;
    }
    p->key_name = xstrdup(pq->getvalue(res, 0, 0));
    pq->clear(res);
    int rc = 0;
    if (p->mapped) {
        /* Its key columns are upkeep_k1 … so that none shadows a column the job's condition
         * names. The row's ctid when it was listed leads a batch to its heap tuple (a TID
         * scan, half the cost of looking a uuid up in the key's index); the key must still
         * match, so a row updated since (its ctid moved) is left for the next run. */
        char *on = join_on(p, p->table);
        p->match = xasprintf("u.upkeep_n = ANY($1::bigint[]) AND %s.ctid = u.upkeep_ctid AND %s",
                             p->table, on);
        p->range_match = xasprintf(
            "u.upkeep_n BETWEEN ($1::bigint[])[1] AND ($1::bigint[])[cardinality($1::bigint[])] "
            "AND u.upkeep_n + 0 = ANY($1::bigint[]) AND %s.ctid >= $2::tid AND %s.ctid < $3::tid "
            "AND %s.ctid = u.upkeep_ctid AND %s",
            p->table, p->table, p->table, on);
        p->numbers = xstrdup("u.upkeep_n");
        free(on);
        char *sql = xasprintf(
            "CREATE TEMP TABLE IF NOT EXISTS upkeep_keys (upkeep_n bigserial "
            "PRIMARY KEY, upkeep_ctid tid%s); CREATE INDEX IF NOT EXISTS upkeep_keys_key ON "
            "pg_temp.upkeep_keys (%s)",
            defs, temp_cols);
        p->fill_keys = xasprintf("INSERT INTO pg_temp.upkeep_keys (upkeep_ctid, %s)", temp_cols);
        rc = pg_run(pq, p->conn, sql, err);
        free(sql);
    } else {
        p->match = xasprintf("%s = ANY($1::bigint[])", p->key);
        p->range_match =
            xasprintf("%s BETWEEN ($1::bigint[])[1] AND ($1::bigint[])[cardinality($1::"
                      "bigint[])] AND %s + 0 = ANY($1::bigint[])",
                      p->key, p->key);
        p->numbers = xstrdup(p->key);
    }
    free(defs);
    free(temp_cols);
    return rc;
}

#define ISO_PATTERN "'^[0-9]{4}-[0-9]{2}-[0-9]{2}'"

typedef struct AgeProbe {
    PgRows *p;
    const char *age; /* the column, quoted */
} AgeProbe;

static int age_sample_max(void *ctx, double *max, UkError *err)
{
    AgeProbe *a = ctx;
    char *sql = xasprintf("SELECT max(v) FROM (SELECT %s::float8 AS v FROM %s WHERE %s IS NOT "
                          "NULL LIMIT 200) AS sample",
                          a->age, a->p->table, a->age);
    int rc = 0;
    char *text = one_value(a->p, sql, NULL, &rc, err);
    free(sql);
    *max = text ? atof(text) : 0;
    free(text);
    return rc;
}

static int age_non_date(void *ctx, char **value, UkError *err)
{
    AgeProbe *a = ctx;
    char *sql =
        xasprintf("SELECT %s FROM %s WHERE %s IS NOT NULL AND %s <> '' AND %s !~ %s LIMIT 1",
                  a->age, a->p->table, a->age, a->age, a->age, ISO_PATTERN);
    int rc = 0;
    *value = one_value(a->p, sql, NULL, &rc, err);
    free(sql);
    return rc;
}

/* The age condition for the column's type and format (detected unless age_format says). */
static int age_condition(PgRows *p, const char *oid, char **out, UkError *err)
{
    const ConfigJob *job = p->job;
    char category = 0;
    *out = NULL;
    if (column_category(p, oid, job->age_column, &category, err) != 0)
        return -1;
    char *age = quote(p, job->age_column);
    time_t cutoff = age_cutoff(&job->older_than, time(NULL));
    p->base.cutoff = cutoff;
    AgeProbe a = {p, age};
    RowAgeProbe probe = {&a, age_sample_max, age_non_date};
    RowAgeKind kind = category == 'D'   ? ROW_AGE_DATE
                      : category == 'N' ? ROW_AGE_NUMBER
                      : category == 'S' ? ROW_AGE_TEXT
                                        : ROW_AGE_OTHER;
    char *format = p->base.age_format;
    int rc = row_age_format(job, kind, &probe, format, err);
    if (rc == 0 && strcmp(format, "timestamp") == 0)
        *out = xasprintf("%s < to_timestamp(%lld)", age, (long long)cutoff);
    else if (rc == 0 && strcmp(format, "iso8601") == 0)
        *out = xasprintf("%s ~ %s AND %s::timestamptz < to_timestamp(%lld)", age, ISO_PATTERN, age,
                         (long long)cutoff);
    else if (rc == 0)
        *out = xasprintf("%s < %.17g", age, row_age_cutoff_in(format, cutoff));
    free(age);
    return rc;
}

static int check_cascades(PgRows *p, const char *oid, UkError *err)
{
    int rc = 0;
    char *children = one_value(p,
                               "SELECT string_agg(DISTINCT format('''%s''', conrelid::regclass), "
                               "', ') FROM pg_constraint WHERE confrelid = $1::oid AND contype = "
                               "'f' AND confdeltype = 'c'",
                               oid, &rc, err);
    if (children)
        rc = row_cascade_refused(p->job, children, err);
    free(children);
    return rc;
}

/* The archive table: created like the source (columns, primary key) when missing; columns
 * the application added since are added to it. Returns the INSERT's target and column
 * lists through *target and *columns, *updates for ON CONFLICT. */
static int prepare_archive(PgRows *p, const char *oid, char **target, char **columns,
                           char **updates, UkError *err)
{
    const PqLib *pq = p->pq;
    const char *name = p->job->archive_table;
    const char *dot = strchr(name, '.');
    char *schema = dot ? xasprintf("%.*s", (int)(dot - name), name) : NULL;
    char *q_schema = schema ? quote(p, schema) : NULL;
    char *q_name = quote(p, dot ? dot + 1 : name);
    /* Unqualified: beside the source table. */
    char *src_schema = NULL;
    int rc = 0;
    if (!q_schema) {
        src_schema = one_value(p,
                               "SELECT quote_ident(n.nspname) FROM pg_class c JOIN pg_namespace "
                               "n ON n.oid = c.relnamespace WHERE c.oid = $1::oid",
                               oid, &rc, err);
        q_schema = src_schema ? xstrdup(src_schema) : xstrdup("public");
    }
    *target = xasprintf("%s.%s", q_schema, q_name);
    free(schema);
    free(q_name);
    free(src_schema);
    if (rc != 0)
        goto out;
    char *exists = one_value(p, "SELECT to_regclass($1)::oid", *target, &rc, err);
    if (rc == 0 && exists && strcmp(exists, oid) == 0)
        rc = uk_error_set(err, UK_E_CONFIG, 0, "job '%s': archive_to is the table itself",
                          p->job->name);
    if (rc == 0 && !exists) {
        char *sql = xasprintf("CREATE SCHEMA IF NOT EXISTS %s; CREATE TABLE %s (LIKE %s); ALTER "
                              "TABLE %s ADD PRIMARY KEY (%s)",
                              q_schema, *target, p->table, *target, p->key);
        rc = pg_run(pq, p->conn, sql, err);
        free(sql);
        if (rc == 0)
            log_info("job=%s created the archive table %s", p->job->name, *target);
    }
    free(exists);
    if (rc != 0)
        goto out;
    /* Source columns, and which the archive lacks. */
    char *sql = xasprintf("SELECT quote_ident(a.attname), format_type(a.atttypid, a.atttypmod), "
                          "NOT EXISTS (SELECT 1 FROM pg_attribute b WHERE b.attrelid = "
                          "to_regclass('%s') AND b.attname = a.attname AND NOT b.attisdropped) "
                          "FROM pg_attribute a WHERE a.attrelid = %s AND a.attnum > 0 AND NOT "
                          "a.attisdropped ORDER BY a.attnum",
                          *target, oid);
    PGresult *res = pg_query(pq, p->conn, sql, err);
    free(sql);
    if (!res) {
        rc = -1;
        goto out;
    }
    *columns = xstrdup("");
    *updates = xstrdup("");
    for (int i = 0; i < pq->ntuples(res) && rc == 0; i++) {
        const char *col = pq->getvalue(res, i, 0);
        if (strcmp(pq->getvalue(res, i, 2), "t") == 0) {
            char *alter =
                xasprintf("ALTER TABLE %s ADD COLUMN %s %s", *target, col, pq->getvalue(res, i, 1));
            rc = pg_run(pq, p->conn, alter, err);
            free(alter);
        }
        char *c = xasprintf("%s%s%s", *columns, **columns ? ", " : "", col);
        char *u = xasprintf("%s%s%s = EXCLUDED.%s", *updates, **updates ? ", " : "", col, col);
        free(*columns);
        free(*updates);
        *columns = c;
        *updates = u;
    }
    pq->clear(res);
out:
    free(q_schema);
    return rc;
}

/* Archives to files: the staging table gets the source's columns, and the batch's DELETE
 * returns them (after the key, which says which rows went). */
static int prepare_file_archive(PgRows *p, const char *oid, UkError *err)
{
    if (p->mapped)
        return uk_error_set(err, UK_E_CONFIG, 0,
                            "archives to files need a primary key of one integer column (%s has "
                            "another): archive to a table (archive_to = table:SCHEMA.TABLE)",
                            p->job->table);
    const char *params[] = {oid};
    PGresult *res = param_query(p,
                                "SELECT attname FROM pg_attribute WHERE attrelid = $1::oid AND "
                                "attnum > 0 AND NOT attisdropped ORDER BY attnum",
                                1, params, NULL, err);
    if (!res)
        return -1;
    size_t n = (size_t)p->pq->ntuples(res);
    char **names = xcalloc(n + 1, sizeof *names);
    char *returning = xstrdup(p->key);
    for (size_t i = 0; i < n; i++) {
        names[i] = p->pq->getvalue(res, (int)i, 0);
        char *q = quote(p, names[i]);
        char *longer = xasprintf("%s, %s", returning, q);
        free(returning);
        free(q);
        returning = longer;
    }
    int rc = row_stage_open(&p->stage, p->job, names, n, p->key_name, err);
    if (rc == 0)
        p->apply_sql = xasprintf("DELETE FROM %s WHERE %s AND %s RETURNING %s", p->table, p->match,
                                 p->condition, returning);
    free(returning);
    free(names);
    p->pq->clear(res);
    return rc;
}

/* apply_sql with the rows named by a range as well as by the list. An integer key: KEY
 * BETWEEN the first and the last of $1 (sorted) and KEY + 0 = ANY($1); the planner then reads
 * that stretch of the key's index once, in order, and checks each row against the array as a
 * (hashed) filter, "+ 0" keeping the array from becoming an index condition again, a lookup
 * per row. A mapped key: the heap pages from $2 to before $3 as well, which the candidates
 * were numbered in order of, read by a TID range scan. Without a range, batches looked every
 * row up in the key's index, or scanned all the remaining candidates through the age column's
 * index (7,500 rows: 15.7 ms by integer key, 19.6 by uuid; by range 7.3 and 8.0 ms). */
static char *range_statement(PgRows *p)
{
    const char *at = strstr(p->apply_sql, p->match);
    if (!at)
        return NULL;
    return xasprintf("%.*s%s%s", (int)(at - p->apply_sql), p->apply_sql, p->range_match,
                     at + strlen(p->match));
}

static int prepare(PgRows *p, bool dry_run, UkError *err)
{
    const ConfigJob *job = p->job;
    char *oid = NULL, *age_cond = NULL, *target = NULL, *columns = NULL, *updates = NULL;
    char category;
    int rc = -1;
    if (find_table(p, &oid, err) != 0 || find_key(p, oid, err) != 0)
        goto out;
    if (job->files_column) {
        if (column_category(p, oid, job->files_column, &category, err) != 0)
            goto out;
        p->files = quote(p, job->files_column);
    }
    if (job->age_column && age_condition(p, oid, &age_cond, err) != 0)
        goto out;
    p->condition = row_condition(age_cond, job->where);
    /* The job's `where` is trusted SQL, but it must at least work on its own. */
    char *probe = xasprintf("SELECT 1 FROM %s WHERE %s LIMIT 0", p->table, p->condition);
    PGresult *res = pg_query(p->pq, p->conn, probe, err);
    free(probe);
    p->pq->clear(res);
    if (!res) {
        uk_error_prefix(err, "job '%s': the purge condition does not work: ", job->name);
        err->code = UK_E_CONFIG;
        goto out;
    }
    if (job->kind == TASK_ARCHIVE && !job->cascade && check_cascades(p, oid, err) != 0)
        goto out;
    if (dry_run) {
        rc = 0;
        goto out;
    }
    if (job->kind == TASK_ARCHIVE && job->archive_dir) {
        p->to_files = true;
        if (prepare_file_archive(p, oid, err) != 0) {
            uk_error_prefix(err, "job '%s': archive: ", job->name);
            goto out;
        }
    } else if (job->kind == TASK_ARCHIVE && job->archive_database) {
        if (p->mapped) {
            uk_error_set(err, UK_E_CONFIG, 0,
                         "job '%s': archives to another database need a primary key of one "
                         "integer column (%s has another)",
                         job->name, job->table);
            goto out;
        }
        if (pg_archive_db_open(&p->archive_db, p->conn, job, oid, p->table, p->key, p->condition,
                               err) != 0) {
            uk_error_prefix(err, "job '%s': archive: ", job->name);
            goto out;
        }
        p->to_database = true;
        p->base.stages = true;
        /* A row goes only if it is still what was copied: its hash then. */
        char *row = quote(p, job->table);
        p->apply_sql = xasprintf("DELETE FROM %s WHERE (%s, md5(%s::text)) IN (SELECT * FROM "
                                 "unnest($1::bigint[], $2::text[])) AND %s RETURNING %s",
                                 p->table, p->key, row, p->condition, p->key);
        free(row);
    } else if (job->kind == TASK_ARCHIVE) {
        if (prepare_archive(p, oid, &target, &columns, &updates, err) != 0) {
            uk_error_prefix(err, "job '%s': archive: ", job->name);
            goto out;
        }
        /* A mapped key's numbers come from the inserted rows, in the same WITH: a
         * data-modifying statement cannot nest inside another's. */
        char *returning = qualified_key(p, "a");
        char *insert = xasprintf("INSERT INTO %s AS a (%s) SELECT %s FROM moved ON CONFLICT (%s) "
                                 "DO UPDATE SET %s RETURNING %s",
                                 target, columns, columns, p->key, updates, returning);
        char *moved = xasprintf("WITH moved AS (DELETE FROM %s%s WHERE %s AND %s RETURNING %s.*)",
                                p->table, p->mapped ? " USING pg_temp.upkeep_keys u" : "", p->match,
                                p->condition, p->table);
        char *on = p->mapped ? join_on(p, "inserted") : NULL;
        p->apply_sql = p->mapped ? xasprintf("%s, inserted AS (%s) SELECT u.upkeep_n FROM inserted "
                                             "JOIN pg_temp.upkeep_keys u ON %s",
                                             moved, insert, on)
                                 : xasprintf("%s %s", moved, insert);
        free(on);
        free(returning);
        free(insert);
        free(moved);
    } else if (job->kind == TASK_UPDATE) {
        p->apply_sql = xasprintf("UPDATE %s SET %s%s WHERE %s AND %s RETURNING %s", p->table,
                                 job->set, p->mapped ? " FROM pg_temp.upkeep_keys u" : "", p->match,
                                 p->condition, p->numbers);
    } else {
        p->apply_sql = xasprintf("DELETE FROM %s%s WHERE %s AND %s RETURNING %s", p->table,
                                 p->mapped ? " USING pg_temp.upkeep_keys u" : "", p->match,
                                 p->condition, p->numbers);
    }
    if (!p->to_database)
        p->range_sql = range_statement(p);
    /* The statements must work before the first batch: run them on no rows. */
    if (pg_run(p->pq, p->conn, "BEGIN", err) != 0)
        goto out;
    const char *none[] = {"{}", "{}"}, *no_range[] = {"{}", "(0,0)", "(0,0)"};
    res = param_query(p, p->apply_sql, p->to_database ? 2 : 1, none, NULL, err);
    p->pq->clear(res);
    if (res && p->range_sql) {
        res = param_query(p, p->range_sql, p->mapped ? 3 : 1, no_range, NULL, err);
        p->pq->clear(res);
    }
    pg_run(p->pq, p->conn, "ROLLBACK", NULL);
    if (!res) {
        uk_error_prefix(err, "job '%s': ", job->name);
        goto out;
    }
    rc = 0;
out:
    free(oid);
    free(age_cond);
    free(target);
    free(columns);
    free(updates);
    return rc;
}

static void pg_rows_close(RowStore *s)
{
    PgRows *p = SELF(s);
    if (!p)
        return;
    if (p->conn)
        p->pq->finish(p->conn);
    free(p->table);
    free(p->key);
    free(p->key_name);
    for (size_t i = 0; i < p->n_key_cols; i++)
        free(p->key_cols[i]);
    free(p->key_cols);
    free(p->match);
    free(p->numbers);
    free(p->fill_keys);
    free(p->files);
    row_stage_close(&p->stage);
    pg_archive_db_close(&p->archive_db);
    free(p->condition);
    free(p->apply_sql);
    free(p->range_sql);
    free(p->range_match);
    free(p->blocks);
    free(p);
}

static int pg_rows_open(const ConfigJob *job, bool dry_run, RowStore **out, UkError *err)
{
    *out = NULL;
    PgRows *p = xcalloc(1, sizeof *p);
    p->base.ops = &db_postgresql_rows;
    p->job = job;
    p->figures.aim_ms = job->transaction_budget;
    p->figures.whole = true;
    p->conn = pg_connect(job->database, NULL, &p->pq, err);
    if (!p->conn) {
        uk_error_prefix(err, "database '%s': ", job->database->name);
        pg_rows_close(&p->base);
        return -1;
    }
    if (prepare(p, dry_run, err) != 0) {
        pg_rows_close(&p->base);
        return -1;
    }
    *out = &p->base;
    return 0;
}

/* Runs SELECT through a cursor, FETCH_ROWS at a time, calling visit with each row's first
 * column as the key (when KEYED) and the next as the value. Every row is wanted, so the plan
 * is chosen for all of them (cursor_tuple_fraction = 1), not for a fast first few: that
 * turns a scan of the whole table into one of the age column's index. */
static int each_row(PgRows *p, const char *select, bool keyed, RowVisit visit, void *ctx,
                    UkError *err)
{
    const PqLib *pq = p->pq;
    char *declare =
        xasprintf("BEGIN READ ONLY; SET LOCAL cursor_tuple_fraction = 1; DECLARE upkeep_rows NO "
                  "SCROLL CURSOR FOR %s",
                  select);
    int rc = pg_run(pq, p->conn, declare, err);
    free(declare);
    char fetch[64];
    snprintf(fetch, sizeof fetch, "FETCH %d FROM upkeep_rows", FETCH_ROWS);
    while (rc == 0) {
        PGresult *res = pg_query(pq, p->conn, fetch, err);
        if (!res) {
            rc = -1;
            break;
        }
        int n = pq->ntuples(res);
        for (int i = 0; i < n && rc == 0; i++) {
            int64_t key = keyed ? atoll(pq->getvalue(res, i, 0)) : 0;
            int column = keyed ? 1 : 0;
            const char *value = pq->getisnull(res, i, column) ? NULL : pq->getvalue(res, i, column);
            rc = visit(ctx, key, value);
        }
        pq->clear(res);
        if (n < FETCH_ROWS)
            break;
    }
    pg_run(pq, p->conn, rc == 0 ? "COMMIT" : "ROLLBACK", NULL);
    return rc;
}

typedef struct KeyList {
    int64_t *keys;
    uint32_t **blocks; /* mapped keys: each one's heap page too, from the value */
    size_t n, cap;
} KeyList;

static int add_key(void *ctx, int64_t key, const char *value)
{
    KeyList *list = ctx;
    if (list->n == list->cap) {
        list->cap = list->cap ? 2 * list->cap : 4096;
        list->keys = xrealloc(list->keys, list->cap * sizeof *list->keys);
        if (list->blocks)
            *list->blocks = xrealloc(*list->blocks, list->cap * sizeof **list->blocks);
    }
    if (list->blocks)
        (*list->blocks)[list->n] = value ? (uint32_t)strtoul(value, NULL, 10) : 0;
    list->keys[list->n++] = key;
    return 0;
}

static int pg_rows_candidates(RowStore *s, int64_t **keys, size_t *n, UkError *err)
{
    PgRows *p = SELF(s);
    char *sql;
    if (p->mapped) {
        /* Numbered in key order; analysed, since autovacuum never sees temporary tables. */
        char *fill =
            xasprintf("TRUNCATE pg_temp.upkeep_keys RESTART IDENTITY; %s SELECT ctid, %s FROM %s "
                      "WHERE %s ORDER BY ctid; ANALYZE pg_temp.upkeep_keys",
                      p->fill_keys, p->key, p->table, p->condition);
        int filled = pg_run(p->pq, p->conn, fill, err);
        free(fill);
        if (filled != 0)
            return -1;
        sql = xstrdup("SELECT upkeep_n, (upkeep_ctid::text::point)[0]::bigint FROM "
                      "pg_temp.upkeep_keys ORDER BY upkeep_n");
    } else {
        sql = xasprintf("SELECT %s, NULL FROM %s WHERE %s", p->key, p->table, p->condition);
    }
    KeyList list = {0};
    if (p->mapped) {
        free(p->blocks);
        p->blocks = NULL;
        list.blocks = &p->blocks;
    }
    int rc = each_row(p, sql, true, add_key, &list, err);
    p->n_blocks = p->mapped && rc == 0 ? list.n : 0;
    for (size_t i = 0; i < p->n_blocks; i++)
        if (list.keys[i] != (int64_t)i + 1)
            p->n_blocks = 0; /* not numbered 1, 2, …: no pages by number, no ranges */
    free(sql);
    if (rc != 0) {
        free(list.keys);
        list.keys = NULL;
        list.n = 0;
    } else if (list.n > 1) {
        qsort(list.keys, list.n, sizeof *list.keys, row_keys_compare);
    }
    *keys = list.keys;
    *n = list.n;
    return rc;
}

static int pg_rows_paths(RowStore *s, const int64_t *keys, size_t n, char **paths, UkError *err)
{
    PgRows *p = SELF(s);
    for (size_t i = 0; i < n; i++)
        paths[i] = NULL;
    if (!p->files || n == 0)
        return 0;
    /* In pieces, so that one statement's array stays small. */
    char *on = p->mapped ? join_on(p, "t") : NULL;
    char *sql =
        p->mapped
            ? xasprintf("SELECT u.upkeep_n, t.%s::text FROM pg_temp.upkeep_keys u JOIN %s t ON %s "
                        "WHERE u.upkeep_n = ANY($1::bigint[]) AND t.%s IS NOT NULL AND t.%s::text "
                        "<> ''",
                        p->files, p->table, on, p->files, p->files)
            : xasprintf("SELECT %s, %s::text FROM %s WHERE %s AND %s IS NOT NULL AND %s::text <> "
                        "''",
                        p->key, p->files, p->table, p->match, p->files, p->files);
    free(on);
    int rc = 0;
    for (size_t from = 0; from < n && rc == 0; from += FETCH_ROWS) {
        size_t count = n - from < FETCH_ROWS ? n - from : FETCH_ROWS;
        char *array = pg_key_array(keys + from, count);
        const char *params[] = {array};
        PGresult *res = param_query(p, sql, 1, params, NULL, err);
        free(array);
        if (!res) {
            rc = -1;
            break;
        }
        for (int i = 0; i < p->pq->ntuples(res); i++) {
            int64_t key = atoll(p->pq->getvalue(res, i, 0));
            const int64_t *at = bsearch(&key, keys + from, count, sizeof key, row_keys_compare);
            if (at)
                paths[at - keys] = xstrdup(p->pq->getvalue(res, i, 1));
        }
        p->pq->clear(res);
    }
    free(sql);
    return rc;
}

static int pg_rows_names(RowStore *s, int64_t key, const char *path, bool *exists, UkError *err)
{
    PgRows *p = SELF(s);
    /* A mapped key's number lasts only a run: a journal from an earlier one is judged by
     * whether any row still names the file. */
    char *sql = p->mapped ? xasprintf("SELECT 1 FROM %s WHERE $1::bigint IS NOT NULL AND %s::text "
                                      "= $2 LIMIT 1",
                                      p->table, p->files)
                          : xasprintf("SELECT 1 FROM %s WHERE %s = $1::bigint AND %s::text = $2",
                                      p->table, p->key, p->files);
    char key_text[24];
    snprintf(key_text, sizeof key_text, "%lld", (long long)key);
    const char *params[] = {key_text, path};
    PGresult *res = param_query(p, sql, 2, params, NULL, err);
    free(sql);
    if (!res)
        return -1;
    *exists = p->pq->ntuples(res) > 0;
    p->pq->clear(res);
    return 0;
}

static int pg_rows_scan_files(RowStore *s, RowVisit visit, void *ctx, UkError *err)
{
    PgRows *p = SELF(s);
    char *on = p->mapped ? join_on(p, "t") : NULL;
    char *sql =
        p->mapped
            ? xasprintf("SELECT coalesce(u.upkeep_n, 0), t.%s::text FROM %s t LEFT JOIN "
                        "pg_temp.upkeep_keys u ON %s WHERE t.%s IS NOT NULL AND t.%s::text <> ''",
                        p->files, p->table, on, p->files, p->files)
            : xasprintf("SELECT %s, %s::text FROM %s WHERE %s IS NOT NULL AND %s::text <> ''",
                        p->key, p->files, p->table, p->files, p->files);
    free(on);
    int rc = each_row(p, sql, true, visit, ctx, err);
    free(sql);
    return rc;
}

/* Waits while a replica is more than MAX_REPLICA_LAG behind (monitoring roles see the
 * figure; others see no replicas and do not wait). */
static int wait_for_replicas(PgRows *p, UkError *err)
{
    double started = monotonic_seconds();
    for (;;) {
        int rc = 0;
        char *lag = one_value(p,
                              "SELECT max(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)) "
                              "FROM pg_stat_replication",
                              NULL, &rc, err);
        double bytes = lag ? atof(lag) : 0;
        free(lag);
        if (rc != 0)
            return -1;
        if (bytes <= MAX_REPLICA_LAG)
            return 0;
        if (monotonic_seconds() - started > REPLICA_WAIT_SECONDS)
            return uk_error_set(err, UK_E_DB, 0,
                                "a replica stayed %.0f MiB of WAL behind for %d s; stopped so "
                                "as not to widen the gap",
                                bytes / (1024 * 1024), REPLICA_WAIT_SECONDS);
        log_debug("job=%s waiting for a replica %.0f MiB behind", p->job->name,
                  bytes / (1024 * 1024));
        usleep(100 * 1000);
    }
}

static int pg_rows_begin(RowStore *s, UkError *err)
{
    PgRows *p = SELF(s);
    if (wait_for_replicas(p, err) != 0)
        return -1;
    int budget = p->job->transaction_budget > 0 ? p->job->transaction_budget : 1;
    int statement = budget * 50 > 2000 ? budget * 50 : 2000;
    char *sql = xasprintf("BEGIN; SET LOCAL lock_timeout = '%dms'; SET LOCAL statement_timeout = "
                          "'%dms'; SET LOCAL synchronous_commit = on",
                          budget, statement);
    p->t0 = monotonic_seconds();
    int rc = pg_run(p->pq, p->conn, sql, err);
    free(sql);
    return rc;
}

/* "{h1,h2,…}": the hashes KEYS had when they were copied ("" for a row not copied, which no
 * row's hash matches). */
static char *hash_array(PgRows *p, const int64_t *keys, size_t n)
{
    char *text = xmalloc(3 + n * 35);
    size_t len = 0;
    text[len++] = '{';
    for (size_t i = 0; i < n; i++) {
        const char *hash = pg_archive_db_hash(&p->archive_db, keys[i]);
        len += (size_t)sprintf(text + len, "%s%s", i ? "," : "", *hash ? hash : "\"\"");
    }
    text[len++] = '}';
    text[len] = '\0';
    return text;
}

static int pg_rows_stage(RowStore *s, const int64_t *keys, size_t n, UkError *err)
{
    PgRows *p = SELF(s);
    int rc = pg_archive_db_stage(&p->archive_db, p->conn, keys, n, err);
    if (rc == 0)
        cleanup_crash_point("pg-archive-copied");
    return rc;
}

static int pg_rows_unstage(RowStore *s, const int64_t *keys, size_t n, UkError *err)
{
    PgRows *p = SELF(s);
    return pg_archive_db_unstage(&p->archive_db, keys, n, err);
}

/* Are the batch's rows close enough together to be read as a range (range_statement)? For
 * a mapped key, also the pages to read, as tids: from FIRST up to before END. */
static bool batch_by_range(const PgRows *p, const int64_t *keys, size_t n, char *first, char *end)
{
    if (!p->range_sql || n < 2)
        return false;
    if (!p->mapped) /* few keys of the stretch belong to other rows */
        return (uint64_t)keys[n - 1] - (uint64_t)keys[0] < (uint64_t)RANGE_SPAN * n;
    if (keys[0] < 1 || (uint64_t)keys[n - 1] > p->n_blocks)
        return false;
    uint32_t from = p->blocks[keys[0] - 1], to = p->blocks[keys[n - 1] - 1];
    if (to < from || (uint64_t)(to - from) >= n) /* at most a page a row */
        return false;
    snprintf(first, 32, "(%u,0)", from);
    snprintf(end, 32, "(%llu,0)", (unsigned long long)to + 1);
    return true;
}

/* Type oids of pg_type.h: the values that have an SQLite type of their own. Everything else
 * (numeric, dates and times, json, uuid …) is kept as PostgreSQL writes it, as text. */
#define OID_BOOL 16
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_OID 26
#define OID_FLOAT4 700
#define OID_FLOAT8 701

/* A value of RES as the staging database keeps it; bytea's hex ("\x0a1b…") is decoded into
 * *BYTES (the caller frees it). */
static RowValue stage_value(const PqLib *pq, PGresult *res, int row, int col, unsigned char **bytes)
{
    const char *text = pq->getvalue(res, row, col);
    size_t len = (size_t)pq->getlength(res, row, col);
    RowValue v = {ROW_VALUE_TEXT, text, len};
    if (pq->getisnull(res, row, col))
        v.type = ROW_VALUE_NULL;
    switch (pq->ftype(res, col)) {
    case OID_BOOL:
        v.type = v.type == ROW_VALUE_NULL ? v.type : ROW_VALUE_INTEGER;
        v.data = text[0] == 't' ? "1" : "0";
        break;
    case OID_INT2:
    case OID_INT4:
    case OID_INT8:
    case OID_OID: v.type = v.type == ROW_VALUE_NULL ? v.type : ROW_VALUE_INTEGER; break;
    case OID_FLOAT4:
    case OID_FLOAT8:
        /* NaN has no SQLite value (it would become NULL): it stays text. */
        if (v.type != ROW_VALUE_NULL && strcmp(text, "NaN") != 0)
            v.type = ROW_VALUE_REAL;
        break;
    case OID_BYTEA:
        if (v.type != ROW_VALUE_NULL && len >= 2 && text[0] == '\\' && text[1] == 'x' &&
            (len - 2) % 2 == 0) {
            *bytes = xmalloc(len / 2 + 1);
            if (hex_decode(text + 2, *bytes, (len - 2) / 2) == 0)
                v = (RowValue){ROW_VALUE_BLOB, (const char *)*bytes, (len - 2) / 2};
        }
        break;
    }
    return v;
}

/* The rows a batch's DELETE returned (column 0 the key, then the staged columns) into the
 * staging database, durably. */
static int stage_rows(PgRows *p, PGresult *res, UkError *err)
{
    const PqLib *pq = p->pq;
    int rows = pq->ntuples(res);
    size_t n_columns = p->stage.n_columns;
    if (row_stage_begin(&p->stage, err) != 0)
        return -1;
    RowValue *values = xcalloc(n_columns, sizeof *values);
    unsigned char **bytes = xcalloc(n_columns, sizeof *bytes);
    int rc = 0;
    for (int r = 0; r < rows && rc == 0; r++) {
        for (size_t c = 0; c < n_columns; c++)
            values[c] = stage_value(pq, res, r, (int)c + 1, &bytes[c]);
        rc = row_stage_add(&p->stage, strtoll(pq->getvalue(res, r, 0), NULL, 10), values, err);
        for (size_t c = 0; c < n_columns; c++) {
            free(bytes[c]);
            bytes[c] = NULL;
        }
    }
    free(values);
    free(bytes);
    return rc == 0 ? row_stage_commit(&p->stage, err) : -1;
}

static int pg_rows_apply(RowStore *s, const int64_t *keys, size_t n, bool fixed, size_t *done,
                         bool *gone, UkError *err)
{
    (void)fixed; /* one statement does the whole batch */
    PgRows *p = SELF(s);
    *done = 0;
    char *array = pg_key_array(keys, n);
    char *hashes = p->to_database ? hash_array(p, keys, n) : NULL;
    const char *params[] = {array, hashes};
    char sqlstate[6] = "";
    UkError apply_err = {0};
    /* Keys close together go by range: a stretch of the key's index read once costs less
     * than a lookup per row, as long as the stretch holds few rows besides the batch's. */
    char first_page[32], end_page[32];
    bool by_range = batch_by_range(p, keys, n, first_page, end_page);
    const char *range_params[] = {array, first_page, end_page};
    log_debug("job=%s batch of %zu rows by key %s", p->job->name, n, by_range ? "range" : "list");
    PGresult *res =
        by_range
            ? param_query(p, p->range_sql, p->mapped ? 3 : 1, range_params, sqlstate, &apply_err)
            : param_query(p, p->apply_sql, hashes ? 2 : 1, params, sqlstate, &apply_err);
    free(array);
    free(hashes);
    if (!res) {
        pg_run(p->pq, p->conn, "ROLLBACK", NULL);
        /* Rows locked past lock_timeout, the statement past its timeout, a deadlock: the
         * application comes first; the batch is tried again, smaller. */
        if (strcmp(sqlstate, "55P03") == 0 || strcmp(sqlstate, "57014") == 0 ||
            strcmp(sqlstate, "40P01") == 0) {
            log_debug("job=%s batch of %zu rows gave way: %s", p->job->name, n, apply_err.msg);
            return 1;
        }
        *err = apply_err;
        uk_error_prefix(err, "unable to %s rows of '%s': ",
                        p->job->kind == TASK_UPDATE ? "update" : "delete", p->job->table);
        return -1;
    }
    /* Files: the rows are in the staging database, durably, before the batch commits. */
    if (p->to_files && stage_rows(p, res, err) != 0) {
        p->pq->clear(res);
        pg_run(p->pq, p->conn, "ROLLBACK", NULL);
        uk_error_prefix(err, "job '%s': archive: ", p->job->name);
        return -1;
    }
    if (p->to_files)
        cleanup_crash_point("pg-archive-staged");
    for (size_t i = 0; i < n; i++)
        gone[i] = false;
    for (int i = 0; i < p->pq->ntuples(res); i++) {
        int64_t key = atoll(p->pq->getvalue(res, i, 0));
        const int64_t *at = bsearch(&key, keys, n, sizeof key, row_keys_compare);
        if (at)
            gone[at - keys] = true;
    }
    p->pq->clear(res);
    *done = n;
    return 0;
}

static int pg_rows_commit(RowStore *s, size_t done, UkError *err)
{
    (void)done;
    PgRows *p = SELF(s);
    if (pg_run(p->pq, p->conn, "COMMIT", err) != 0) {
        pg_run(p->pq, p->conn, "ROLLBACK", NULL);
        /* The rows stayed: so must they in the archive's staging, not in both. */
        UkError ignored = {0};
        if (p->to_files && row_stage_forget(&p->stage, &ignored) != 0)
            log_warn("job=%s: %s", p->job->name, ignored.msg);
        return -1;
    }
    row_batch_committed(&p->figures, p->t0);
    return 0;
}

static void pg_rows_rollback(RowStore *s)
{
    pg_run(SELF(s)->pq, SELF(s)->conn, "ROLLBACK", NULL);
}

static int pg_rows_sync(RowStore *s, UkError *err)
{
    (void)s;
    (void)err;
    return 0; /* each batch commits with synchronous_commit = on */
}

static void pg_rows_figures(const RowStore *s, RowBatchFigures *out)
{
    *out = ((const PgRows *)s)->figures;
}

static void pg_rows_finish(RowStore *s)
{
    (void)s;
}

static int pg_rows_sql(const ConfigJob *job, bool dry_run, uint64_t *changed,
                       double *transaction_ms, UkError *err)
{
    const PqLib *pq = NULL;
    PGconn *conn = pg_connect(job->database, NULL, &pq, err);
    if (!conn) {
        uk_error_prefix(err, "database '%s': ", job->database->name);
        return -1;
    }
    double t0 = monotonic_seconds();
    int rc = pg_run(pq, conn, "BEGIN; SET LOCAL lock_timeout = '" SQL_LOCK_TIMEOUT "'", err);
    if (rc == 0 && !pq->send_query(conn, job->sql))
        rc = uk_error_set(err, UK_E_DB, 0, "%s", pq->error_message(conn));
    /* Every statement's result, counting the rows each changed. */
    *changed = 0;
    for (PGresult *res; rc == 0 && (res = pq->get_result(conn));) {
        ExecStatusType st = pq->result_status(res);
        if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
            *changed += strtoull(pq->cmd_tuples(res), NULL, 10);
        } else if (!err->msg[0]) {
            const char *msg = pq->result_error_message(res);
            uk_error_set(err, UK_E_DB, 0, "job '%s': %.*s", job->name, (int)strcspn(msg, "\n"),
                         msg);
        }
        pq->clear(res);
    }
    if (rc == 0 && err->msg[0])
        rc = -1;
    if (rc == 0 && !dry_run)
        rc = pg_run(pq, conn, "COMMIT", err);
    if (rc != 0 || dry_run)
        pg_run(pq, conn, "ROLLBACK", NULL);
    *transaction_ms = (monotonic_seconds() - t0) * 1000;
    pq->finish(conn);
    return rc;
}

/* A connection of its own for a job-less operation (scans, queries, imports). */
static bool connect_db(PgRows *p, const ConfigDatabase *db, UkError *err)
{
    *p = (PgRows){.base.ops = &db_postgresql_rows};
    p->conn = pg_connect(db, NULL, &p->pq, err);
    if (!p->conn)
        uk_error_prefix(err, "database '%s': ", db->name);
    return p->conn != NULL;
}

static int pg_rows_scan_column(const ConfigDatabase *db, const char *table, const char *column,
                               RowVisit visit, void *ctx, UkError *err)
{
    PgRows p;
    if (!connect_db(&p, db, err))
        return -1;
    char *q_table = quote(&p, table);
    char *q_column = quote(&p, column);
    char *sql =
        xasprintf("SELECT %s::text FROM %s WHERE %s IS NOT NULL", q_column, q_table, q_column);
    int rc = each_row(&p, sql, false, visit, ctx, err);
    free(sql);
    free(q_table);
    free(q_column);
    p.pq->finish(p.conn);
    return rc;
}

/* A column's kind from its type's OID (pg_type.h): integers, floating point, booleans (as 1
 * and 0); everything else, NUMERIC too, as the server writes it. */
static DbValueType pg_value_type(Oid type)
{
    switch (type) {
    case 16: /* bool */
    case 20: /* int8 */
    case 21: /* int2 */
    case 23: /* int4 */
    case 26: /* oid */ return DB_INTEGER;
    case 700: /* float4 */
    case 701: /* float8 */ return DB_REAL;
    default: return DB_TEXT;
    }
}

static int pg_rows_query(const ConfigDatabase *db, const char *sql, QueryRow row, void *ctx,
                         UkError *err)
{
    PgRows p;
    if (!connect_db(&p, db, err))
        return -1;
    const PqLib *pq = p.pq;
    char *declare = xasprintf("BEGIN READ ONLY; DECLARE upkeep_query NO SCROLL CURSOR FOR %s", sql);
    int rc = pg_run(pq, p.conn, declare, err);
    free(declare);
    char fetch[64];
    snprintf(fetch, sizeof fetch, "FETCH %d FROM upkeep_query", FETCH_ROWS);
    bool first_fetch = true;
    while (rc == 0) {
        PGresult *res = pg_query(pq, p.conn, fetch, err);
        if (!res) {
            rc = -1;
            break;
        }
        int rows = pq->ntuples(res), n = pq->nfields(res);
        const char **names = xcalloc((size_t)n + 1, sizeof *names);
        DbValue *values = xcalloc((size_t)n + 1, sizeof *values);
        for (int c = 0; c < n; c++)
            names[c] = pq->fname(res, c);
        if (first_fetch)
            rc = row(ctx, (size_t)n, names, NULL);
        first_fetch = false;
        for (int r = 0; r < rows && rc == 0; r++) {
            for (int c = 0; c < n; c++) {
                bool null = pq->getisnull(res, r, c);
                const char *text = null ? NULL : pq->getvalue(res, r, c);
                DbValueType type = null ? DB_NULL : pg_value_type(pq->ftype(res, c));
                if (type == DB_INTEGER && pq->ftype(res, c) == 16)
                    text = text[0] == 't' ? "1" : "0";
                values[c] = (DbValue){.type = type,
                                      .data = text,
                                      .len = text ? strlen(text) : 0,
                                      .real = type == DB_REAL ? strtod(text, NULL) : 0};
            }
            rc = row(ctx, (size_t)n, names, values);
        }
        free(names);
        free(values);
        pq->clear(res);
        if (rows < FETCH_ROWS)
            break;
    }
    pg_run(pq, p.conn, rc == 0 ? "COMMIT" : "ROLLBACK", NULL);
    if (rc != 0 && err->code)
        uk_error_prefix(err, "database '%s': ", db->name);
    pq->finish(p.conn);
    return rc;
}

/* "schema"."table", each part's quotes doubled (what escape_identifier writes, without a
 * connection). */
static char *pg_rows_quote_name(const char *name)
{
    const char *dot = strchr(name, '.');
    size_t n = strlen(name), o = 0;
    char *out = xmalloc(2 * n + 6);
    out[o++] = '"';
    for (const char *p = name; *p; p++) {
        if (p == dot) {
            out[o++] = '"';
            out[o++] = '.';
            out[o++] = '"';
            continue;
        }
        if (*p == '"')
            out[o++] = '"';
        out[o++] = *p;
    }
    out[o++] = '"';
    out[o] = '\0';
    return out;
}

/* A record's value as a text parameter: bytes as bytea's \x hex, infinities by name. */
static char *pg_param(const DbValue *v)
{
    if (v->type == DB_NULL)
        return NULL;
    if (v->type == DB_BLOB) {
        char *hex = xmalloc(2 * v->len + 3);
        memcpy(hex, "\\x", 2);
        hex_encode((const unsigned char *)v->data, v->len, hex + 2);
        return hex;
    }
    if (v->type == DB_REAL && isinf(v->real))
        return xstrdup(v->real > 0 ? "Infinity" : "-Infinity");
    return xasprintf("%.*s", (int)v->len, v->data);
}

static int pg_rows_import(const ConfigDatabase *db, const char *table, bool upsert, ImportNext next,
                          void *ctx, uint64_t *records, UkError *err)
{
    *records = 0;
    PgRows p;
    if (!connect_db(&p, db, err))
        return -1;
    const PqLib *pq = p.pq;
    char *q_table = pg_rows_quote_name(table);
    char **pk = NULL;
    size_t n_pk = 0;
    int rc = pg_run(pq, p.conn, "BEGIN", err);
    if (rc == 0 && upsert) {
        const char *params[] = {q_table};
        PGresult *res = pg_query_params(
            pq, p.conn,
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND "
            "a.attnum = ANY(i.indkey) WHERE i.indrelid = $1::regclass AND i.indisprimary ORDER "
            "BY array_position(i.indkey, a.attnum)",
            1, params, NULL, err);
        if (!res)
            rc = -1;
        for (int i = 0; res && i < pq->ntuples(res); i++) {
            pk = xrealloc(pk, (n_pk + 1) * sizeof *pk);
            pk[n_pk++] = xstrdup(pq->getvalue(res, i, 0));
        }
        pq->clear(res);
        if (rc == 0 && n_pk == 0)
            rc = uk_error_set(err, UK_E_USAGE, 0, "table '%s' has no primary key to upsert by",
                              table);
    }
    size_t n;
    const char *const *names;
    const DbValue *values;
    int got = 0;
    while (rc == 0 && (got = next(ctx, &n, &names, &values, err)) == 1) {
        char **params = xcalloc(n + 1, sizeof *params);
        for (size_t i = 0; i < n; i++)
            params[i] = pg_param(&values[i]);
        char *sql = row_insert_sql(q_table, n, names, true, pk, n_pk);
        PGresult *res =
            pg_query_params(pq, p.conn, sql, (int)n, (const char *const *)params, NULL, err);
        if (res)
            (*records)++;
        else
            rc = -1;
        pq->clear(res);
        for (size_t i = 0; i < n; i++)
            free(params[i]);
        free(params);
        free(sql);
        if (rc != 0)
            uk_error_prefix(err, "record %llu: ", (unsigned long long)*records + 1);
    }
    if (got < 0)
        rc = -1;
    if (rc == 0)
        rc = pg_run(pq, p.conn, "COMMIT", err);
    if (rc != 0) {
        pg_run(pq, p.conn, "ROLLBACK", NULL);
        *records = 0;
    }
    for (size_t i = 0; i < n_pk; i++)
        free(pk[i]);
    free(pk);
    free(q_table);
    pq->finish(p.conn);
    return rc;
}

const RowStoreOps db_postgresql_rows = {
    .open = pg_rows_open,
    .close = pg_rows_close,
    .candidates = pg_rows_candidates,
    .paths = pg_rows_paths,
    .row_names = pg_rows_names,
    .scan_files = pg_rows_scan_files,
    .stage = pg_rows_stage,
    .unstage = pg_rows_unstage,
    .begin = pg_rows_begin,
    .apply = pg_rows_apply,
    .commit = pg_rows_commit,
    .rollback = pg_rows_rollback,
    .sync = pg_rows_sync,
    .figures = pg_rows_figures,
    .finish = pg_rows_finish,
    .sql = pg_rows_sql,
    .scan_column = pg_rows_scan_column,
    .query = pg_rows_query,
    .quote_name = pg_rows_quote_name,
    .import = pg_rows_import,
    .columns_sql = "SELECT CASE WHEN c.table_schema = current_schema() THEN c.table_name ELSE "
                   "c.table_schema || '.' || c.table_name END, c.column_name, c.data_type FROM "
                   "information_schema.columns c JOIN information_schema.tables t USING "
                   "(table_schema, table_name) WHERE t.table_type = 'BASE TABLE' AND "
                   "c.table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, "
                   "c.ordinal_position",
};
