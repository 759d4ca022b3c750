/* MariaDB's maintenance and reports (see my_maintain.h).
 *
 * Vacuum. InnoDB frees space inside a table's file as rows go, but gives it back to the file
 * system only when the table is rebuilt: OPTIMIZE TABLE, which for InnoDB is an online
 * ALTER TABLE … FORCE (the application reads and writes meanwhile; it waits only for the
 * metadata lock at the start and the end). A rebuild writes a whole copy of the table first,
 * so a table is rebuilt only when its free space is worth it (min_free_percent of its size)
 * and the server's disk can hold the copy: the free space of the data folder's file system,
 * from information_schema.DISKS when the server has that plugin, else from statvfs when the
 * server runs on this machine. When neither can tell, the rebuild goes ahead with a warning:
 * a rebuild that runs out of space fails and leaves the table as it was.
 *
 * Integrity: CHECK TABLE (QUICK, or EXTENDED for full) on every table, and for foreign_keys
 * the rows a load with foreign_key_checks = 0 left without their parent row.
 *
 * Reports: statements from performance_schema's digest summary (or, with it off, the slow
 * query log when it is kept in a table); indexes never used since the server started
 * (performance_schema) and indexes on the same columns. InnoDB creates an index for every
 * foreign key itself, so none lacks one. */
#include "db/mariadb/my_maintain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "common/util.h"
#include "core/log.h"
#include "db/mariadb/my_conn.h"

/* SQL that quotes the identifier expression X as `X`. */
#define QUOTED(x) "CONCAT('`', REPLACE(" x ", '`', '``'), '`')"

typedef struct Table {
    char name[200];
    uint64_t size;   /* its file */
    uint64_t unused; /* free extents inside it, which a rebuild gives back */
} Table;

/* The base tables of the connection's database; *n of them (caller frees). Sizes are the
 * files' (information_schema.tables' data and index lengths are statistics, stale until the
 * next ANALYZE); a user without the PROCESS privilege gets those estimates instead. Free
 * extents are read from the file as it is. */
static Table *list_tables(MYSQL *conn, size_t *n, UkError *err)
{
    UkError denied = {0};
    MYSQL_RES *res = my_query(conn,
                              "SELECT t.table_name, COALESCE(s.file_size, t.data_length + "
                              "t.index_length + t.data_free, 0), COALESCE(t.data_free, 0) FROM "
                              "information_schema.tables t LEFT JOIN "
                              "information_schema.innodb_sys_tablespaces s ON s.name = "
                              "CONCAT(t.table_schema, '/', t.table_name) WHERE t.table_schema = "
                              "DATABASE() AND t.table_type = 'BASE TABLE' ORDER BY t.table_name",
                              &denied);
    if (!res)
        res = my_query(conn,
                       "SELECT table_name, COALESCE(data_length + index_length + data_free, 0), "
                       "COALESCE(data_free, 0) FROM information_schema.tables WHERE table_schema "
                       "= DATABASE() AND table_type = 'BASE TABLE' ORDER BY table_name",
                       err);
    if (!res)
        return NULL;
    *n = (size_t)my_fn.num_rows(res);
    Table *tables = xcalloc(*n + 1, sizeof *tables);
    MYSQL_ROW row;
    for (size_t i = 0; i < *n && (row = my_fn.fetch_row(res)); i++) {
        snprintf(tables[i].name, sizeof tables[i].name, "%s", row[0]);
        tables[i].size = strtoull(row[1], NULL, 10);
        tables[i].unused = strtoull(row[2], NULL, 10);
        if (tables[i].unused > tables[i].size)
            tables[i].unused = tables[i].size;
    }
    my_fn.free_result(res);
    return tables;
}

static uint64_t total_size(const Table *tables, size_t n)
{
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += tables[i].size;
    return total;
}

static bool runs_here(const ConfigDatabase *db)
{
    MyTarget t;
    UkError ignored = {0};
    if (my_parse_url(db->url, &t, &ignored) != 0)
        return false;
    explicit_bzero(t.password, sizeof t.password);
    return t.socket[0] || !t.host[0] || strcmp(t.host, "localhost") == 0 ||
           strcmp(t.host, "127.0.0.1") == 0 || strcmp(t.host, "::1") == 0;
}

/* Free bytes where the server keeps its data, or -1 when upkeep cannot tell. */
static int64_t server_free_bytes(const ConfigDatabase *db, MYSQL *conn)
{
    UkError ignored = {0};
    int64_t free_bytes = -1;
    MYSQL_RES *res = my_query(conn,
                              "SELECT Available * 1024 FROM information_schema.DISKS WHERE "
                              "@@datadir LIKE CONCAT(Path, '%') ORDER BY LENGTH(Path) DESC LIMIT 1",
                              &ignored);
    MYSQL_ROW row = res ? my_fn.fetch_row(res) : NULL;
    if (row && row[0])
        free_bytes = strtoll(row[0], NULL, 10);
    my_fn.free_result(res);
    if (free_bytes >= 0 || !runs_here(db))
        return free_bytes;
    res = my_query(conn, "SELECT @@datadir", &ignored);
    row = res ? my_fn.fetch_row(res) : NULL;
    struct statvfs vfs;
    if (row && row[0] && statvfs(row[0], &vfs) == 0)
        free_bytes = (int64_t)((uint64_t)vfs.f_bavail * vfs.f_frsize);
    my_fn.free_result(res);
    return free_bytes;
}

/* Runs an admin statement (OPTIMIZE, ANALYZE, CHECK TABLE) on TABLE; PROBLEM gets its first
 * error or warning message ("" when none). */
static int table_statement(MYSQL *conn, const char *statement, const char *table,
                           const char *option, char *problem, size_t len, UkError *err)
{
    char *q = my_quote(table);
    char *sql = xasprintf("%s %s%s", statement, q, option);
    free(q);
    MYSQL_RES *res = my_query(conn, sql, err);
    free(sql);
    if (!res)
        return -1;
    problem[0] = '\0';
    MYSQL_ROW row;
    while ((row = my_fn.fetch_row(res)))
        if (!problem[0] && row[2] &&
            (strcmp(row[2], "error") == 0 || strcmp(row[2], "warning") == 0))
            snprintf(problem, len, "%s %s: %s", statement, table, row[3] ? row[3] : row[2]);
    my_fn.free_result(res);
    return 0;
}

static void append(char *text, size_t len, const char *more)
{
    size_t used = strlen(text);
    snprintf(text + used, len - used, "%s%s", used ? "; " : "", more);
}

int my_maintain(const ConfigDatabase *db, const DbMaintainRequest *req, DbMaintainResult *res,
                UkError *err)
{
    MYSQL *conn = my_connect(db, NULL, err);
    if (!conn)
        return -1;
    res->dead_before = res->dead_after = -1;
    size_t n = 0;
    Table *tables = list_tables(conn, &n, err);
    int rc = tables ? 0 : -1;
    if (tables)
        res->size_before = res->size_after = total_size(tables, n);
    int64_t room = rc == 0 && (req->vacuum || req->reindex) ? server_free_bytes(db, conn) : -1;
    if (rc == 0 && (req->vacuum || req->reindex) && room < 0)
        log_warn("database '%s': the server's free disk space is unknown (it is not on this "
                 "machine and has no information_schema.DISKS); rebuilding without that check",
                 db->name);
    size_t rebuilt = 0, wanted = 0, small = 0;
    char problem[300];
    for (size_t i = 0; rc == 0 && i < n && (req->vacuum || req->reindex); i++) {
        const Table *t = &tables[i];
        uint64_t used = t->size - t->unused;
        bool worth = t->size > 0 && t->unused * 100 >= (uint64_t)req->min_free_percent * t->size;
        if (!req->reindex && !worth) {
            small++;
            continue;
        }
        wanted++;
        if (room >= 0 && used > (uint64_t)room) {
            char why[200];
            snprintf(why, sizeof why,
                     "'%s' not rebuilt: its copy needs %.1f MiB, the disk has %.1f", t->name,
                     (double)used / 1048576.0, (double)room / 1048576.0);
            append(res->skipped, sizeof res->skipped, why);
            continue;
        }
        if (req->dry_run)
            continue;
        rc = table_statement(conn, "OPTIMIZE TABLE", t->name, "", problem, sizeof problem, err);
        if (rc == 0 && problem[0] && !strstr(problem, "doing recreate"))
            rc = uk_error_set(err, UK_E_DB, 0, "%s", problem);
        if (rc == 0)
            rebuilt++;
    }
    if (rc == 0 && small > 0 && wanted == 0) {
        char why[160];
        snprintf(why, sizeof why, "no table has %u%% of its size free", req->min_free_percent);
        append(res->skipped, sizeof res->skipped, why);
    }
    if (req->vacuum || req->reindex)
        snprintf(res->mode, sizeof res->mode, "%s",
                 rebuilt > 0 || (req->dry_run && wanted > 0 && !res->skipped[0]) ? "optimize"
                                                                                 : "skipped");
    res->vacuumed = rebuilt > 0;
    res->reindexed = req->reindex && rebuilt == n && rc == 0 && !req->dry_run;
    for (size_t i = 0; rc == 0 && req->analyze && !req->dry_run && i < n; i++)
        rc = table_statement(conn, "ANALYZE TABLE", tables[i].name, "", problem, sizeof problem,
                             err);
    res->analyzed = rc == 0 && req->analyze && !req->dry_run;
    if (rc == 0 && rebuilt > 0) {
        free(tables);
        tables = list_tables(conn, &n, err);
        rc = tables ? 0 : -1;
        if (tables)
            res->size_after = total_size(tables, n);
    }
    free(tables);
    my_fn.close(conn);
    return rc;
}

/* Rows of a child table that a foreign key says must have a parent, and have none: one
 * "constraint on child: N rows without a parent in parent" per key that has them. */
static int orphans(MYSQL *conn, char *result, size_t len, UkError *err)
{
    MYSQL_RES *res = my_query(conn,
                              "SELECT constraint_name, table_name, column_name, "
                              "referenced_table_schema, referenced_table_name, "
                              "referenced_column_name FROM information_schema.key_column_usage "
                              "WHERE table_schema = DATABASE() AND referenced_table_name IS NOT "
                              "NULL ORDER BY table_name, constraint_name, ordinal_position",
                              err);
    if (!res)
        return -1;
    result[0] = '\0';
    MYSQL_ROW row;
    char *where = NULL, *match = NULL, last[400] = "", child[200] = "", parent[400] = "";
    int rc = 0;
    for (bool more = true; rc == 0 && more;) {
        row = my_fn.fetch_row(res);
        more = row != NULL;
        char key[400] = "";
        if (row)
            snprintf(key, sizeof key, "%s.%s", row[1], row[0]);
        if (where && strcmp(key, last) != 0) { /* one constraint complete: count */
            char *q_child = my_quote(child);
            char *sql = xasprintf("SELECT COUNT(*) FROM %s c WHERE %s AND NOT EXISTS (SELECT 1 "
                                  "FROM %s p WHERE %s)",
                                  q_child, where, parent, match);
            free(q_child);
            MYSQL_RES *count = my_query(conn, sql, err);
            free(sql);
            MYSQL_ROW c = count ? my_fn.fetch_row(count) : NULL;
            if (!count)
                rc = -1;
            else if (c && c[0] && strcmp(c[0], "0") != 0) {
                char finding[600];
                snprintf(finding, sizeof finding, "%s: %s rows without a parent row in %s", last,
                         c[0], parent);
                append(result, len, finding);
            }
            my_fn.free_result(count);
            free(where);
            free(match);
            where = match = NULL;
        }
        if (!row)
            break;
        char *q_col = my_quote(row[2]), *q_ref = my_quote(row[5]);
        char *w =
            xasprintf("%s%sc.%s IS NOT NULL", where ? where : "", where ? " AND " : "", q_col);
        char *m =
            xasprintf("%s%sp.%s = c.%s", match ? match : "", match ? " AND " : "", q_ref, q_col);
        free(where);
        free(match);
        free(q_col);
        free(q_ref);
        where = w, match = m;
        snprintf(last, sizeof last, "%s", key);
        snprintf(child, sizeof child, "%s", row[1]);
        char *q_schema = my_quote(row[3]), *q_parent = my_quote(row[4]);
        snprintf(parent, sizeof parent, "%s.%s", q_schema, q_parent);
        free(q_schema);
        free(q_parent);
    }
    free(where);
    free(match);
    my_fn.free_result(res);
    if (rc == 0 && !result[0])
        snprintf(result, len, "ok");
    return rc;
}

int my_check_live(const ConfigDatabase *db, const char *check, char *result, size_t len,
                  UkError *err)
{
    MYSQL *conn = my_connect(db, NULL, err);
    if (!conn)
        return -1;
    int rc = 0;
    if (strcmp(check, "foreign_keys") == 0) {
        rc = orphans(conn, result, len, err);
    } else {
        size_t n = 0;
        Table *tables = list_tables(conn, &n, err);
        rc = tables ? 0 : -1;
        result[0] = '\0';
        const char *option = strcmp(check, "full") == 0 ? " EXTENDED" : " QUICK";
        for (size_t i = 0; rc == 0 && i < n; i++) {
            char problem[300];
            rc = table_statement(conn, "CHECK TABLE", tables[i].name, option, problem,
                                 sizeof problem, err);
            if (rc == 0 && problem[0])
                append(result, len, problem);
        }
        if (rc == 0 && !result[0])
            snprintf(result, len, "ok (CHECK TABLE%s on %zu table%s)", option, n,
                     n == 1 ? "" : "s");
        free(tables);
    }
    my_fn.close(conn);
    return rc;
}

/* The first value of SQL's first row as a string ("" when none). */
static void first_value(MYSQL *conn, const char *sql, char *out, size_t len)
{
    UkError ignored = {0};
    MYSQL_RES *res = my_query(conn, sql, &ignored);
    MYSQL_ROW row = res ? my_fn.fetch_row(res) : NULL;
    snprintf(out, len, "%s", row && row[0] ? row[0] : "");
    my_fn.free_result(res);
}

int my_slow_queries(const ConfigDatabase *db, double min_mean_ms, size_t top, DbQueryReport *out,
                    UkError *err)
{
    MYSQL *conn = my_connect(db, NULL, err);
    if (!conn)
        return -1;
    if (top > DB_MAX_QUERIES)
        top = DB_MAX_QUERIES;
    char on[8], slow_log[8], output[64];
    first_value(conn, "SELECT @@performance_schema", on, sizeof on);
    first_value(conn, "SELECT @@slow_query_log", slow_log, sizeof slow_log);
    first_value(conn, "SELECT @@log_output", output, sizeof output);
    char *sql = NULL;
    if (strcmp(on, "1") == 0)
        /* Timers are in picoseconds. */
        sql = xasprintf("SELECT COUNT_STAR, SUM_TIMER_WAIT / 1e9, AVG_TIMER_WAIT / 1e9, "
                        "SUM_ROWS_SENT + SUM_ROWS_AFFECTED, COALESCE(DIGEST_TEXT, '') FROM "
                        "performance_schema.events_statements_summary_by_digest WHERE "
                        "SCHEMA_NAME = DATABASE() AND AVG_TIMER_WAIT / 1e9 >= %.17g ORDER BY "
                        "AVG_TIMER_WAIT DESC LIMIT %zu",
                        min_mean_ms, top);
    else if (strcmp(slow_log, "1") == 0 && strstr(output, "TABLE"))
        sql = xasprintf("SELECT COUNT(*), SUM(TIME_TO_SEC(query_time)) * 1000, "
                        "AVG(TIME_TO_SEC(query_time)) * 1000, SUM(rows_sent + rows_affected), "
                        "CONVERT(sql_text USING utf8mb4) FROM mysql.slow_log WHERE db = "
                        "DATABASE() GROUP BY sql_text HAVING AVG(TIME_TO_SEC(query_time)) * 1000 "
                        ">= %.17g ORDER BY 3 DESC LIMIT %zu",
                        min_mean_ms, top);
    int rc = 0;
    if (!sql) {
        snprintf(out->note, sizeof out->note,
                 "performance_schema is off and the slow query log is not kept in a table: "
                 "start the server with performance_schema = ON, or set slow_query_log = ON "
                 "and log_output = TABLE");
        goto out;
    }
    MYSQL_RES *res = my_query(conn, sql, err);
    free(sql);
    if (!res) {
        rc = -1;
        goto out;
    }
    out->available = true;
    MYSQL_ROW row;
    while ((row = my_fn.fetch_row(res)) && out->n < top) {
        DbQuery *q = &out->queries[out->n++];
        q->calls = row[0] ? strtod(row[0], NULL) : 0;
        q->total_ms = row[1] ? strtod(row[1], NULL) : 0;
        q->mean_ms = row[2] ? strtod(row[2], NULL) : 0;
        q->rows = row[3] ? strtod(row[3], NULL) : 0;
        snprintf(q->text, sizeof q->text, "%s", row[4] ? row[4] : "");
    }
    my_fn.free_result(res);
out:
    my_fn.close(conn);
    return rc;
}

/* Each question: object, detail, size in bytes, suggestion. */
static const struct {
    const char *kind;
    const char *sql;
    bool needs_statistics; /* performance_schema */
} index_questions[] = {
    {"unused",
     "SELECT CONCAT(s.OBJECT_NAME, '.', s.INDEX_NAME), CONCAT('on ', s.OBJECT_NAME, ', never used "
     "since the server started (', (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS "
     "WHERE VARIABLE_NAME = 'UPTIME'), ' s ago)'), COALESCE((SELECT x.stat_value * "
     "@@innodb_page_size FROM mysql.innodb_index_stats x WHERE x.database_name = s.OBJECT_SCHEMA "
     "AND x.table_name = s.OBJECT_NAME AND x.index_name = s.INDEX_NAME AND x.stat_name = "
     "'size'), 0), CONCAT('DROP INDEX ', " QUOTED("s.INDEX_NAME") ", ' ON ', " QUOTED(
         "s.OBJECT_NAME") ") FROM performance_schema.table_io_waits_summary_by_index_usage s "
                          "WHERE s.OBJECT_SCHEMA = DATABASE() AND s.INDEX_NAME IS NOT NULL AND "
                          "s.INDEX_NAME <> 'PRIMARY' AND s.COUNT_STAR = 0 AND NOT EXISTS "
                          "(SELECT 1 FROM information_schema.statistics st WHERE st.table_schema "
                          "= s.OBJECT_SCHEMA AND st.table_name = s.OBJECT_NAME AND st.index_name "
                          "= s.INDEX_NAME AND st.non_unique = 0) ORDER BY 3 DESC",
     true},
    {"duplicate",
     "SELECT GROUP_CONCAT(CONCAT(table_name, '.', index_name) ORDER BY index_name SEPARATOR ', "
     "'), CONCAT('the same columns (', cols, ') on ', table_name), 0, 'keep one, DROP INDEX the "
     "others' FROM (SELECT table_name, index_name, GROUP_CONCAT(column_name, COALESCE(CONCAT('(', "
     "sub_part, ')'), '') ORDER BY seq_in_index) AS cols FROM information_schema.statistics "
     "WHERE table_schema = DATABASE() GROUP BY table_name, index_name) i GROUP BY table_name, "
     "cols HAVING COUNT(*) > 1",
     false},
};

int my_analyze_indexes(const ConfigDatabase *db, bool apply, DbIndexReport *out, UkError *err)
{
    (void)apply; /* nothing found here is safe to change unattended: every fix drops an index */
    MYSQL *conn = my_connect(db, NULL, err);
    if (!conn)
        return -1;
    char on[8];
    first_value(conn, "SELECT @@performance_schema", on, sizeof on);
    int rc = 0;
    for (size_t q = 0; q < sizeof index_questions / sizeof index_questions[0] && rc == 0; q++) {
        if (index_questions[q].needs_statistics && strcmp(on, "1") != 0)
            continue;
        MYSQL_RES *res = my_query(conn, index_questions[q].sql, err);
        if (!res) {
            rc = -1;
            break;
        }
        MYSQL_ROW row;
        DbFinding *f;
        while ((row = my_fn.fetch_row(res)) &&
               (f = db_index_finding(out, index_questions[q].kind))) {
            snprintf(f->object, sizeof f->object, "%s", row[0] ? row[0] : "");
            snprintf(f->detail, sizeof f->detail, "%s", row[1] ? row[1] : "");
            f->size_bytes = row[2] ? strtoull(row[2], NULL, 10) : 0;
            snprintf(f->suggestion, sizeof f->suggestion, "%s", row[3] ? row[3] : "");
        }
        my_fn.free_result(res);
    }
    my_fn.close(conn);
    return rc;
}
