/* The MariaDB driver (MySQL too: mysql:// is the same).
 *
 * Backup: mariadb-dump --single-transaction (one consistent InnoDB snapshot, no locks on the
 * application) runs as a child with an argv array; its SQL streams into the repository, where
 * content-defined chunking deduplicates it. Tables that are not InnoDB cannot be read
 * consistently that way: the backup refuses and names them, unless lock_non_innodb = yes,
 * which dumps with the tables locked instead. Row counts come from the dump itself
 * (my_dump_rows.c). Restore and verify load the SQL with the mariadb client into a new
 * database; verify compares the counts and runs CHECK TABLE, then drops it. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/spawn.h"
#include "common/util.h"
#include "core/log.h"
#include "db/child_stream.h"
#include "db/db_driver.h"
#include "db/mariadb/my_conn.h"
#include "db/mariadb/my_dump_rows.h"
#include "db/mariadb/my_maintain.h"
#include "db/mariadb/my_swap.h"
#include "db/password.h"
#include "db/row_counts.h"

#define CONNECTIONS_WARNING 0.8
#define CONNECTIONS_CRITICAL 0.95
/* Undo InnoDB keeps for old snapshots: purge falling this far behind slows every query. */
#define HISTORY_WARNING 100000.0
#define HISTORY_CRITICAL 1000000.0
#define TRANSACTION_WARNING_S 600.0
#define TRANSACTION_CRITICAL_S 3600.0
/* mariadb-dump's SQL text compresses about sixfold: 8 KiB chunks keep the hashes of a chunk
 * small beside its compressed bytes (repo/chunker.h has the figures). */
#define MY_DUMP_CHUNK_BYTES 8192

/* The tables of the connection's database that are not InnoDB ("a (MyISAM), b (Aria)"), or
 * "" when all are; NULL with err set on failure. */
static char *non_innodb_tables(MYSQL *conn, UkError *err)
{
    MYSQL_RES *res = my_query(conn,
                              "SELECT table_name, engine FROM information_schema.tables WHERE "
                              "table_schema = DATABASE() AND table_type = 'BASE TABLE' AND "
                              "engine <> 'InnoDB' ORDER BY table_name",
                              err);
    if (!res)
        return NULL;
    char *list = xstrdup("");
    MYSQL_ROW row;
    while ((row = my_fn.fetch_row(res))) {
        char *longer = xasprintf("%s%s%s (%s)", list, *list ? ", " : "", row[0], row[1]);
        free(list);
        list = longer;
    }
    my_fn.free_result(res);
    return list;
}

/* A sink in front of the repository's that counts the dump's rows on the way. */
typedef struct CountingSink {
    ImageSink *next;
    MyDumpRows rows;
} CountingSink;

static int counting_begin(void *ctx, uint32_t chunk_size, UkError *err)
{
    CountingSink *c = ctx;
    return c->next->begin_stream(c->next->ctx, chunk_size, err);
}

static int counting_write(void *ctx, const void *data, size_t len, UkError *err)
{
    CountingSink *c = ctx;
    my_dump_rows_feed(&c->rows, data, len);
    return c->next->write(c->next->ctx, data, len, err);
}

static void counting_progress(void *ctx, uint64_t done, uint64_t total)
{
    CountingSink *c = ctx;
    if (c->next->progress)
        c->next->progress(c->next->ctx, done, total);
}

/* The binary log file, position and GTID of the dump's snapshot, from its comments. */
static void record_position(json_t *details, const MyDumpRows *rows)
{
    char file[256];
    unsigned long long position;
    if (sscanf(rows->position, "'%255[^']', MASTER_LOG_POS=%llu", file, &position) == 2) {
        json_object_set_new(details, "binlog_file", json_string(file));
        json_object_set_new(details, "binlog_position", json_integer((json_int_t)position));
    }
    char gtid[256];
    if (sscanf(rows->gtid, "'%255[^']'", gtid) == 1)
        json_object_set_new(details, "gtid", json_string(gtid));
}

static int my_snapshot(const ConfigDatabase *db, ImageSink *sink, SnapshotInfo *info, UkError *err)
{
    MYSQL *conn = my_connect(db, NULL, err);
    if (!conn)
        return -1;
    char **args = NULL, **env = NULL;
    char *odd = NULL;
    json_t *details = json_object();
    CountingSink counting = {.next = sink};
    my_dump_rows_init(&counting.rows);
    int rc = -1;
    double started = monotonic_seconds();
    MYSQL_RES *res = my_query(conn,
                              "SELECT VERSION(), DATABASE(), (SELECT COALESCE(SUM(data_length + "
                              "index_length), 0) FROM information_schema.tables WHERE "
                              "table_schema = DATABASE()), @@log_bin",
                              err);
    if (!res)
        goto out;
    MYSQL_ROW row = my_fn.fetch_row(res);
    char database[256];
    snprintf(database, sizeof database, "%s", row && row[1] ? row[1] : "");
    uint64_t size = row && row[2] ? strtoull(row[2], NULL, 10) : 0;
    json_object_set_new(details, "server_version", json_string(row && row[0] ? row[0] : ""));
    json_object_set_new(details, "database", json_string(database));
    json_object_set_new(details, "database_size", json_integer((json_int_t)size));
    json_object_set_new(details, "dump_format", json_string("mariadb-dump SQL"));
    bool binlog = row && row[3] && strcmp(row[3], "1") == 0;
    my_fn.free_result(res);
    if (!(odd = non_innodb_tables(conn, err)))
        goto out;
    const char *consistency = "--single-transaction";
    if (*odd && !db->lock_non_innodb) {
        uk_error_set(err, UK_E_DB, 0,
                     "tables %s are not InnoDB: a dump reads them consistently only with the "
                     "tables locked (writers wait); convert them (ALTER TABLE … ENGINE=InnoDB) "
                     "or set lock_non_innodb = yes",
                     odd);
        goto out;
    }
    if (*odd) {
        log_warn("database '%s': tables %s are not InnoDB: dumping with the tables locked "
                 "(lock_non_innodb = yes)",
                 db->name, odd);
        consistency = "--lock-tables";
    }
    json_object_set_new(details, "consistency", json_string(consistency + 2));
    if (my_client_args(db, &args, &env, err) != 0)
        goto out;
    const char *argv[28];
    size_t n = 0;
    argv[n++] = "mariadb-dump";
    for (size_t i = 0; args[i] && n < 12; i++)
        argv[n++] = args[i];
    argv[n++] = consistency;
    argv[n++] = "--quick";
    argv[n++] = "--order-by-primary";
    argv[n++] = "--skip-dump-date";
    argv[n++] = "--routines";
    argv[n++] = "--events";
    argv[n++] = "--triggers";
    if (binlog) { /* where the snapshot is in the binary log, as comments (no locks) */
        argv[n++] = "--master-data=2";
        argv[n++] = "--gtid";
    }
    argv[n++] = "--";
    argv[n++] = database;
    argv[n] = NULL;
    ImageSink through = {.ctx = &counting,
                         .begin_stream = counting_begin,
                         .write = counting_write,
                         .progress = counting_progress};
    Child child;
    if (through.begin_stream(through.ctx, MY_DUMP_CHUNK_BYTES, err) != 0 ||
        child_start(&child, argv, (const char *const *)env, 0, 1, err) != 0)
        goto out;
    if (child_stream_out(&child, &through, size, "mariadb-dump", err) != 0) {
        child_kill(&child);
        goto out;
    }
    if (child_finish(&child, "mariadb-dump", err) != 0)
        goto out;
    json_t *tables = json_object();
    for (size_t i = 0; i < counting.rows.n; i++)
        json_object_set_new(tables, counting.rows.tables[i].name,
                            json_integer((json_int_t)counting.rows.tables[i].rows));
    json_object_set_new(details, "tables", tables);
    record_position(details, &counting.rows);
    if (binlog && !json_object_get(details, "binlog_file"))
        log_warn("database '%s': binary logging is on, but the user may not read the log's "
                 "position (grant BINLOG MONITOR): the backup does not record it",
                 db->name);
    info->read_seconds = monotonic_seconds() - started;
    info->details = json_dumps(details, JSON_COMPACT | JSON_SORT_KEYS);
    rc = 0;
out:
    free(odd);
    my_client_free(args, env);
    my_dump_rows_free(&counting.rows);
    json_decref(details);
    my_fn.close(conn);
    return rc;
}

static int database_exists(MYSQL *conn, const char *name, bool *exists, UkError *err)
{
    char escaped[520];
    my_fn.real_escape_string(conn, escaped, name, (unsigned long)strnlen(name, 255));
    char *sql =
        xasprintf("SELECT 1 FROM information_schema.schemata WHERE schema_name = '%s'", escaped);
    MYSQL_RES *res = my_query(conn, sql, err);
    free(sql);
    if (!res)
        return -1;
    *exists = my_fn.num_rows(res) > 0;
    my_fn.free_result(res);
    return 0;
}

static int my_drop_database(const ConfigDatabase *db, const char *name, UkError *err)
{
    MYSQL *conn = my_connect(db, "", err);
    if (!conn)
        return -1;
    char *q = my_quote(name);
    char *sql = xasprintf("DROP DATABASE IF EXISTS %s", q);
    int rc = my_run(conn, sql, err);
    free(sql);
    free(q);
    my_fn.close(conn);
    return rc;
}

/* Creates TARGET and loads the stream into it with the mariadb client; a failed load drops
 * it again. *LOAD_FAILED tells a stream the client refused from a failure to start. */
static int load_into(const ConfigDatabase *db, const char *target, ImageSource *source,
                     bool *load_failed, UkError *err)
{
    *load_failed = false;
    MYSQL *conn = my_connect(db, "", err);
    if (!conn)
        return -1;
    bool exists = false;
    int rc = database_exists(conn, target, &exists, err);
    if (rc == 0 && exists)
        rc = uk_error_set(err, UK_E_EXISTS, 0, "database '%s' exists already", target);
    if (rc == 0) {
        char *q = my_quote(target);
        char *sql = xasprintf("CREATE DATABASE %s", q);
        rc = my_run(conn, sql, err);
        free(sql);
        free(q);
    }
    my_fn.close(conn);
    if (rc != 0)
        return -1;
    char **args = NULL, **env = NULL;
    if (my_client_args(db, &args, &env, err) != 0) {
        my_drop_database(db, target, NULL);
        return -1;
    }
    const char *argv[20];
    size_t n = 0;
    argv[n++] = "mariadb";
    for (size_t i = 0; args[i] && n < 12; i++)
        argv[n++] = args[i];
    argv[n++] = "--batch";
    argv[n++] = "--";
    argv[n++] = target;
    argv[n] = NULL;
    Child child;
    rc = child_start(&child, argv, (const char *const *)env, 1, 0, err);
    if (rc == 0) {
        int fed = child_stream_in(&child, source, "mariadb", err);
        if (fed == -1) {
            child_kill(&child);
            rc = -1;
        } else if (child_finish(&child, "mariadb", err) != 0) {
            *load_failed = true;
            rc = -1;
        }
    }
    my_client_free(args, env);
    if (rc != 0) {
        UkError ignored = {0};
        my_drop_database(db, target, &ignored);
    }
    return rc;
}

/* Leaves only TABLES (NULL-terminated) in the restored database TARGET: every other table,
 * view, routine and event goes (triggers with their tables). A name the backup lacks is an
 * error. */
static int keep_only(const ConfigDatabase *db, const char *target, const char *const *tables,
                     UkError *err)
{
    MYSQL *conn = my_connect(db, target, err);
    if (!conn)
        return -1;
    int rc = my_run(conn, "SET SESSION foreign_key_checks = 0", err);
    for (size_t i = 0; rc == 0 && tables[i]; i++) {
        char *literal = my_literal(conn, tables[i]);
        char *sql = xasprintf("SELECT 1 FROM information_schema.tables WHERE table_schema = "
                              "DATABASE() AND table_name = %s AND table_type = 'BASE TABLE'",
                              literal);
        free(literal);
        MYSQL_RES *res = my_query(conn, sql, err);
        free(sql);
        rc = res ? 0 : -1;
        if (res && my_fn.num_rows(res) == 0)
            rc = uk_error_set(err, UK_E_NOTFOUND, 0, "the backup has no table '%s'", tables[i]);
        my_fn.free_result(res);
    }
    MYSQL_RES *res = rc == 0 ? my_query(conn,
                                        "SELECT CONCAT('DROP ', IF(table_type = 'VIEW', 'VIEW ', "
                                        "'TABLE '), '`', REPLACE(table_name, '`', '``'), '`'), "
                                        "table_name, table_type FROM information_schema.tables "
                                        "WHERE table_schema = DATABASE() UNION ALL SELECT "
                                        "CONCAT('DROP ', routine_type, ' `', "
                                        "REPLACE(routine_name, '`', '``'), '`'), NULL, NULL FROM "
                                        "information_schema.routines WHERE routine_schema = "
                                        "DATABASE() UNION ALL SELECT CONCAT('DROP EVENT `', "
                                        "REPLACE(event_name, '`', '``'), '`'), NULL, NULL FROM "
                                        "information_schema.events WHERE event_schema = DATABASE()",
                                        err)
                             : NULL;
    if (rc == 0 && !res)
        rc = -1;
    MYSQL_ROW row;
    char **drops = NULL;
    size_t n = 0;
    while (res && (row = my_fn.fetch_row(res))) {
        bool wanted = false;
        for (size_t i = 0; row[1] && row[2] && strcmp(row[2], "BASE TABLE") == 0 && tables[i]; i++)
            wanted = wanted || strcmp(row[1], tables[i]) == 0;
        if (!wanted) {
            drops = xrealloc(drops, (n + 1) * sizeof *drops);
            drops[n++] = xstrdup(row[0]);
        }
    }
    my_fn.free_result(res);
    for (size_t i = 0; i < n; i++) {
        if (rc == 0)
            rc = my_run(conn, drops[i], err);
        free(drops[i]);
    }
    free(drops);
    my_fn.close(conn);
    return rc;
}

static int my_restore_stream(const ConfigDatabase *db, const char *target, ImageSource *source,
                             const DbRestoreOnly *only, UkError *err)
{
    if (only && only->schemas && only->schemas[0])
        return uk_error_set(err, UK_E_USAGE, 0,
                            "--schema is for PostgreSQL: a MariaDB backup holds one database "
                            "(restore it with --to-database, or tables of it with --table)");
    bool load_failed = false;
    if (load_into(db, target, source, &load_failed, err) != 0)
        return -1;
    /* Tables alone: the dump loads whole (its tables need one another's definitions, its
     * foreign keys their parents), then the rest is dropped. */
    if (only && only->tables && only->tables[0] && keep_only(db, target, only->tables, err) != 0) {
        UkError ignored = {0};
        my_drop_database(db, target, &ignored);
        return -1;
    }
    return 0;
}

/* Row counts of every base table of the connection's database, as {name: rows}. */
static json_t *count_rows(MYSQL *conn, UkError *err)
{
    MYSQL_RES *res = my_query(conn,
                              "SELECT table_name FROM information_schema.tables WHERE "
                              "table_schema = DATABASE() AND table_type = 'BASE TABLE'",
                              err);
    if (!res)
        return NULL;
    json_t *counts = json_object();
    MYSQL_ROW row;
    while ((row = my_fn.fetch_row(res))) {
        char *q = my_quote(row[0]);
        char *sql = xasprintf("SELECT COUNT(*) FROM %s", q);
        MYSQL_RES *count = my_query(conn, sql, err);
        free(sql);
        free(q);
        if (!count) {
            json_decref(counts);
            counts = NULL;
            break;
        }
        MYSQL_ROW c = my_fn.fetch_row(count);
        json_object_set_new(counts, row[0], json_integer(c && c[0] ? atoll(c[0]) : -1));
        my_fn.free_result(count);
    }
    my_fn.free_result(res);
    return counts;
}

/* CHECK TABLE on every table: "" when all are OK, else the first problem. */
static int check_tables(MYSQL *conn, json_t *tables, char *problem, size_t len, UkError *err)
{
    problem[0] = '\0';
    const char *name;
    json_t *value;
    json_object_foreach (tables, name, value) {
        char *q = my_quote(name);
        char *sql = xasprintf("CHECK TABLE %s", q);
        MYSQL_RES *res = my_query(conn, sql, err);
        free(sql);
        free(q);
        if (!res)
            return -1;
        MYSQL_ROW row;
        while ((row = my_fn.fetch_row(res)))
            if (!problem[0] && row[2] && strcmp(row[2], "error") == 0)
                snprintf(problem, len, "CHECK TABLE %s: %s", name, row[3] ? row[3] : "error");
        my_fn.free_result(res);
    }
    return 0;
}

static int my_verify_stream(const ConfigDatabase *db, ImageSource *source, const char *details,
                            char *result, size_t len, UkError *err)
{
    char random_hex[7];
    unsigned char random[3];
    if (crypto_random(random, sizeof random, err) != 0)
        return -1;
    hex_encode(random, sizeof random, random_hex);
    char scratch[64];
    snprintf(scratch, sizeof scratch, "upkeep_verify_%ld_%s", (long)getpid(), random_hex);
    bool load_failed = false;
    UkError load_err = {0};
    if (load_into(db, scratch, source, &load_failed, &load_err) != 0) {
        if (!load_failed) {
            *err = load_err;
            return -1;
        }
        snprintf(result, len, "failed to load: %s", load_err.msg);
        return 0;
    }
    int rc = -1;
    result[0] = '\0';
    MYSQL *conn = my_connect(db, scratch, err);
    json_t *actual = conn ? count_rows(conn, err) : NULL;
    if (actual) {
        long tables = row_counts_compare(details, actual, result, len);
        char problem[300];
        rc = tables < 0 ? 0 : check_tables(conn, actual, problem, sizeof problem, err);
        if (rc == 0 && tables >= 0)
            snprintf(result, len, "%s", problem);
        if (rc == 0 && tables >= 0 && !problem[0])
            snprintf(result, len, "ok (row counts of %ld table%s match; CHECK TABLE ok)", tables,
                     tables == 1 ? "" : "s");
        json_decref(actual);
    }
    if (conn)
        my_fn.close(conn);
    UkError drop_err = {0};
    if (my_drop_database(db, scratch, rc == 0 ? err : &drop_err) != 0)
        rc = -1;
    return rc;
}

static int my_inspect(const ConfigDatabase *db, DbStats *stats, UkError *err)
{
    MYSQL *conn = my_connect(db, NULL, err);
    if (!conn)
        return -1;
    int rc = -1;
    MYSQL_RES *res = my_query(conn,
                              "SELECT (SELECT COALESCE(SUM(data_length + index_length), 0) FROM "
                              "information_schema.tables WHERE table_schema = DATABASE()), "
                              "(SELECT COUNT(*) FROM information_schema.processlist), "
                              "@@max_connections",
                              err);
    if (res) {
        MYSQL_ROW row = my_fn.fetch_row(res);
        stats->size_bytes = row && row[0] ? strtoull(row[0], NULL, 10) : 0;
        double used = row && row[1] ? atof(row[1]) : 0, max = row && row[2] ? atof(row[2]) : 0;
        DbGauge *g = db_stats_gauge(stats, "connections", "ratio", max > 0 ? used / max : 0,
                                    CONNECTIONS_WARNING, CONNECTIONS_CRITICAL);
        snprintf(g->text, sizeof g->text, "%.0f of max_connections %.0f in use", used, max);
        my_fn.free_result(res);
        /* innodb_trx lists every session's transaction only to a user with PROCESS; others
         * see their own, and the figure is a floor. */
        res = my_query(conn,
                       "SELECT (SELECT COALESCE(MAX(count), 0) FROM information_schema."
                       "innodb_metrics WHERE name = 'trx_rseg_history_len'), (SELECT "
                       "COALESCE(MAX(TIMESTAMPDIFF(MICROSECOND, trx_started, NOW(6))), 0) / 1e6 "
                       "FROM information_schema.innodb_trx WHERE trx_mysql_thread_id <> "
                       "CONNECTION_ID())",
                       err);
    }
    if (res) {
        MYSQL_ROW row = my_fn.fetch_row(res);
        double history = row && row[0] ? atof(row[0]) : 0;
        double longest = row && row[1] ? atof(row[1]) : 0;
        DbGauge *g = db_stats_gauge(stats, "history_list_length", "transactions", history,
                                    HISTORY_WARNING, HISTORY_CRITICAL);
        snprintf(g->text, sizeof g->text,
                 "InnoDB history list length %.0f (undo not yet purged, held by old snapshots)",
                 history);
        g = db_stats_gauge(stats, "longest_transaction", "seconds", longest, TRANSACTION_WARNING_S,
                           TRANSACTION_CRITICAL_S);
        snprintf(g->text, sizeof g->text, "longest open transaction %.0f s", longest);
        my_fn.free_result(res);
        rc = 0;
    }
    for (size_t i = 0; rc == 0 && i < stats->n_tables; i++) {
        stats->rows[i] = -1;
        stats->dead_rows[i] = -1;
        stats->last_vacuum[i] = -1;
        char *q = my_quote(stats->tables[i]);
        char *sql = xasprintf("SELECT COUNT(*) FROM %s", q);
        UkError missing = {0};
        MYSQL_RES *count = my_query(conn, sql, &missing); /* a missing table: -1 */
        free(sql);
        free(q);
        if (count) {
            MYSQL_ROW row = my_fn.fetch_row(count);
            stats->rows[i] = row && row[0] ? atoll(row[0]) : -1;
            my_fn.free_result(count);
        }
    }
    my_fn.close(conn);
    return rc;
}

/* GET_LOCK on upkeep's own connection, held while it stays open. */
static int my_cluster_lock(const ConfigDatabase *db, const char *name, void **handle, UkError *err)
{
    MYSQL *conn = my_connect(db, NULL, err);
    if (!conn)
        return -1;
    char lock_name[192], escaped[400];
    snprintf(lock_name, sizeof lock_name, "upkeep:%s", name);
    my_fn.real_escape_string(conn, escaped, lock_name, (unsigned long)strlen(lock_name));
    char *sql = xasprintf("SELECT GET_LOCK('%s', 0)", escaped);
    MYSQL_RES *res = my_query(conn, sql, err);
    free(sql);
    if (!res) {
        my_fn.close(conn);
        return -1;
    }
    MYSQL_ROW row = my_fn.fetch_row(res);
    bool taken = row && row[0] && strcmp(row[0], "1") == 0;
    my_fn.free_result(res);
    if (!taken) {
        my_fn.close(conn);
        return 0;
    }
    *handle = conn;
    return 1;
}

static void my_cluster_unlock(void *handle)
{
    my_fn.close(handle); /* the lock goes with the session */
}

static int my_configure(ConfigDatabase *db, const char *config_dir, UkError *err)
{
    (void)config_dir;
    MyTarget t;
    if (my_parse_url(db->url, &t, err) != 0)
        return -1;
    explicit_bzero(t.password, sizeof t.password);
    if (t.database[0] == '-')
        return uk_error_set(err, UK_E_CONFIG, 0, "database name '%s' starts with '-'", t.database);
    if (db->verify_cluster)
        return uk_error_set(err, UK_E_CONFIG, 0,
                            "verify_cluster is for PostgreSQL: MariaDB backups are verified in a "
                            "scratch database on the server");
    return db_password_once(db, err);
}

static const char *const my_schemes[] = {"mariadb", "mysql", NULL};

const DbDriver db_mariadb_driver = {
    .name = "mariadb",
    .schemes = my_schemes,
    .features = DB_FEAT_ONLINE_BACKUP | DB_FEAT_RESTORE_SERVER | DB_FEAT_CLUSTER_LOCK |
                DB_FEAT_ROW_TASKS | DB_FEAT_ARCHIVE_TABLE | DB_FEAT_MAINTENANCE | DB_FEAT_SWAP_IN,
    .configure = my_configure,
    .snapshot = my_snapshot,
    .restore_stream = my_restore_stream,
    .drop_database = my_drop_database,
    .swap_in = my_swap_in,
    .verify_stream = my_verify_stream,
    .inspect = my_inspect,
    .rows = &db_mariadb_rows,
    .maintain = my_maintain,
    .check_live = my_check_live,
    .slow_queries = my_slow_queries,
    .analyze_indexes = my_analyze_indexes,
    .cluster_lock = my_cluster_lock,
    .cluster_unlock = my_cluster_unlock,
};
