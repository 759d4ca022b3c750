/* PostgreSQL rows into a table of another database (see pg_archive_db.h). */
#include "db/postgresql/pg_archive_db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "core/log.h"
#include "db/postgresql/pg_conn.h"

/* The target's name, quoted on the archive's connection: SCHEMA.TABLE as given, or TABLE in
 * the schema the source table is in. */
static char *target_name(PgArchiveDb *a, PGconn *source, const ConfigJob *job, const char *oid,
                         UkError *err)
{
    const PqLib *pq = a->pq;
    const char *name = job->archive_table;
    const char *dot = strchr(name, '.');
    char *schema = NULL;
    if (dot) {
        schema = xasprintf("%.*s", (int)(dot - name), name);
        name = dot + 1;
    } else {
        const char *params[] = {oid};
        PGresult *res =
            pg_query_params(pq, source,
                            "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = "
                            "c.relnamespace WHERE c.oid = $1::oid",
                            1, params, NULL, err);
        if (!res)
            return NULL;
        schema = xstrdup(pq->getvalue(res, 0, 0));
        pq->clear(res);
    }
    char *q_schema = pq->escape_identifier(a->conn, schema, strlen(schema));
    char *q_name = pq->escape_identifier(a->conn, name, strlen(name));
    char *target = xasprintf("%s.%s", q_schema, q_name);
    char *create = xasprintf("CREATE SCHEMA IF NOT EXISTS %s", q_schema);
    int rc = pg_run(pq, a->conn, create, err);
    free(create);
    pq->freemem(q_schema);
    pq->freemem(q_name);
    free(schema);
    if (rc != 0) {
        free(target);
        return NULL;
    }
    return target;
}

/* Creates TARGET with the source's columns and primary key, or adds the columns it lacks;
 * *COLUMNS and *UPDATES get the source's column list and ON CONFLICT's assignments. */
static int shape_target(PgArchiveDb *a, PGconn *source, const char *oid, const char *target,
                        const char *key, char **columns, char **updates, UkError *err)
{
    const PqLib *pq = a->pq;
    const char *params[] = {oid};
    PGresult *src =
        pg_query_params(pq, source,
                        "SELECT quote_ident(attname), format_type(atttypid, atttypmod) FROM "
                        "pg_attribute WHERE attrelid = $1::oid AND attnum > 0 AND NOT "
                        "attisdropped ORDER BY attnum",
                        1, params, NULL, err);
    if (!src)
        return -1;
    const char *target_params[] = {target};
    PGresult *have =
        pg_query_params(pq, a->conn,
                        "SELECT quote_ident(attname) FROM pg_attribute WHERE attrelid = "
                        "to_regclass($1) AND attnum > 0 AND NOT attisdropped",
                        1, target_params, NULL, err);
    int rc = have ? 0 : -1;
    bool exists = have && pq->ntuples(have) > 0;
    char *defs = xstrdup("");
    *columns = xstrdup("");
    *updates = xstrdup("");
    for (int i = 0; rc == 0 && i < pq->ntuples(src); i++) {
        const char *col = pq->getvalue(src, i, 0), *type = pq->getvalue(src, i, 1);
        bool present = false;
        for (int k = 0; exists && k < pq->ntuples(have) && !present; k++)
            present = strcmp(pq->getvalue(have, k, 0), col) == 0;
        if (exists && !present) {
            char *alter = xasprintf("ALTER TABLE %s ADD COLUMN %s %s", target, col, type);
            rc = pg_run(pq, a->conn, alter, err);
            free(alter);
        }
        char *d = xasprintf("%s%s%s %s", defs, i ? ", " : "", col, type);
        char *c = xasprintf("%s%s%s", *columns, i ? ", " : "", col);
        char *u = xasprintf("%s%s%s = EXCLUDED.%s", *updates, i ? ", " : "", col, col);
        free(defs);
        free(*columns);
        free(*updates);
        defs = d, *columns = c, *updates = u;
    }
    if (rc == 0 && !exists) {
        char *create = xasprintf("CREATE TABLE %s (%s, PRIMARY KEY (%s))", target, defs, key);
        rc = pg_run(pq, a->conn, create, err);
        free(create);
        if (rc == 0)
            log_info("created the archive table %s", target);
    }
    free(defs);
    pq->clear(src);
    pq->clear(have);
    return rc;
}

int pg_archive_db_open(PgArchiveDb *a, PGconn *source, const ConfigJob *job, const char *oid,
                       const char *table, const char *key, const char *condition, UkError *err)
{
    memset(a, 0, sizeof *a);
    a->conn = pg_connect(job->archive_database, NULL, &a->pq, err);
    if (!a->conn) {
        uk_error_prefix(err, "archive_database '%s': ", job->archive_database->name);
        return -1;
    }
    char *target = target_name(a, source, job, oid, err);
    char *columns = NULL, *updates = NULL;
    int rc = -1;
    if (!target || shape_target(a, source, oid, target, key, &columns, &updates, err) != 0 ||
        pg_run(a->pq, a->conn, "SET synchronous_commit = on", err) != 0)
        goto out;
    a->read_sql = xasprintf("SELECT coalesce(json_agg(x), '[]')::text, coalesce(array_agg(x.%s), "
                            "'{}')::text, coalesce(array_agg(md5(x::text)), '{}')::text FROM "
                            "(SELECT * FROM %s WHERE %s = ANY($1::bigint[]) AND %s) x",
                            key, table, key, condition);
    a->insert_sql = xasprintf("INSERT INTO %s AS a (%s) SELECT %s FROM json_populate_recordset("
                              "NULL::%s, $1::json) ON CONFLICT (%s) DO UPDATE SET %s",
                              target, columns, columns, target, key, updates);
    a->unstage_sql = xasprintf("DELETE FROM %s WHERE %s = ANY($1::bigint[])", target, key);
    rc = 0;
out:
    free(target);
    free(columns);
    free(updates);
    if (rc != 0)
        pg_archive_db_close(a);
    return rc;
}

static int compare_staged(const void *x, const void *y)
{
    int64_t a = ((const PgStagedRow *)x)->key, b = ((const PgStagedRow *)y)->key;
    return a < b ? -1 : a > b;
}

/* Pairs "{k1,k2}" and "{h1,h2}" (integers, md5 hex: nothing quoted) into a->staged. */
static void remember(PgArchiveDb *a, const char *keys, const char *hashes)
{
    const char *k = keys + 1, *h = hashes + 1;
    while (*k && *k != '}' && *h && *h != '}') {
        if (a->n_staged == a->cap_staged) {
            a->cap_staged = a->cap_staged ? 2 * a->cap_staged : 4096;
            a->staged = xrealloc(a->staged, a->cap_staged * sizeof *a->staged);
        }
        PgStagedRow *row = &a->staged[a->n_staged++];
        char *end;
        row->key = strtoll(k, &end, 10);
        size_t len = strcspn(h, ",}");
        snprintf(row->hash, sizeof row->hash, "%.*s", (int)len, h);
        k = *end == ',' ? end + 1 : end;
        h += len;
        if (*h == ',')
            h++;
    }
    qsort(a->staged, a->n_staged, sizeof *a->staged, compare_staged);
}

int pg_archive_db_stage(PgArchiveDb *a, PGconn *source, const int64_t *keys, size_t n, UkError *err)
{
    char *array = pg_key_array(keys, n);
    const char *params[] = {array};
    PGresult *rows = pg_query_params(a->pq, source, a->read_sql, 1, params, NULL, err);
    free(array);
    if (!rows) {
        uk_error_prefix(err, "reading rows to archive: ");
        return -1;
    }
    const char *json[] = {a->pq->getvalue(rows, 0, 0)};
    PGresult *put = pg_query_params(a->pq, a->conn, a->insert_sql, 1, json, NULL, err);
    if (!put) {
        uk_error_prefix(err, "copying rows to the archive: ");
        a->pq->clear(rows);
        return -1;
    }
    a->pq->clear(put);
    remember(a, a->pq->getvalue(rows, 0, 1), a->pq->getvalue(rows, 0, 2));
    a->pq->clear(rows);
    return 0;
}

const char *pg_archive_db_hash(const PgArchiveDb *a, int64_t key)
{
    PgStagedRow probe = {.key = key};
    const PgStagedRow *row =
        a->n_staged ? bsearch(&probe, a->staged, a->n_staged, sizeof probe, compare_staged) : NULL;
    return row ? row->hash : "";
}

int pg_archive_db_unstage(PgArchiveDb *a, const int64_t *keys, size_t n, UkError *err)
{
    char *array = pg_key_array(keys, n);
    const char *params[] = {array};
    PGresult *res = pg_query_params(a->pq, a->conn, a->unstage_sql, 1, params, NULL, err);
    free(array);
    a->pq->clear(res);
    return res ? 0 : -1;
}

void pg_archive_db_close(PgArchiveDb *a)
{
    if (a->conn)
        a->pq->finish(a->conn);
    free(a->read_sql);
    free(a->insert_sql);
    free(a->unstage_sql);
    free(a->staged);
    memset(a, 0, sizeof *a);
}
