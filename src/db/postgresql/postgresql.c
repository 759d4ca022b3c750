/* The PostgreSQL driver.
 *
 * Backup: one connection of upkeep's own holds a REPEATABLE READ READ ONLY transaction and
 * exports its snapshot; pg_dump runs as a child (an argv array; the connection settings and
 * any password in its environment, never in argv) with --snapshot, so its dump shows the
 * database as of that transaction, and writes the custom format uncompressed (-Z0) to a pipe.
 * upkeep cuts that stream by content, deduplicates and compresses it: no temporary copy, and
 * compressing after cutting is what lets the next day's dump share most chunks. Once pg_dump
 * is done, the same transaction counts the rows of every table, which verify compares.
 * pg_dump takes only ACCESS SHARE locks: the application keeps reading and writing; only DDL
 * that needs an ACCESS EXCLUSIVE lock waits for the dump.
 *
 * Restore: pg_restore --single-transaction into a database that upkeep creates, fed from the
 * backup through a pipe; a failed load drops that database again.
 *
 * Connection: the url is libpq's own URI (postgresql://user@host:port/db?sslmode=…), so
 * PG* variables, ~/.pgpass and service files work as they do for psql. password_file gives
 * the password instead of the url. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/crypto.h"
#include "common/spawn.h"
#include "common/util.h"
#include "core/log.h"
#include "db/child_stream.h"
#include "db/db_driver.h"
#include "db/postgresql/pg_cluster.h"
#include "db/postgresql/pg_conn.h"
#include "db/postgresql/pg_toc.h"
#include "db/row_counts.h"

#define MAX_ENV 40
/* pg_dump's custom format, cut into 4 KiB chunks on average (repo/chunker.h). */
#define PG_DUMP_CHUNK_BYTES 4096

/* The environment that gives a child (pg_dump, pg_restore) the url's connection settings,
 * each as libpq's variable for it (PGHOST, PGPORT, PGUSER, PGDATABASE, PGSSLMODE …), and the
 * password. Strings are malloc'd; free with free_list. */
static int child_environment(const PqLib *pq, const ConfigDatabase *db, char ***out, size_t *n,
                             UkError *err)
{
    *out = NULL;
    *n = 0;
    char *msg = NULL;
    PQconninfoOption *options = pq->conninfo_parse(db->url, &msg);
    if (!options) {
        char *shown = redact_url(db->url, true);
        uk_error_set(err, UK_E_CONFIG, 0, "url '%s': %s", shown, msg ? msg : "not understood");
        free(shown);
        pq->freemem(msg);
        return -1;
    }
    char *password = NULL;
    if (db_password_read(db, &password, err) != 0) {
        pq->conninfo_free(options);
        return -1;
    }
    char **env = xcalloc(MAX_ENV + 1, sizeof *env);
    size_t count = 0;
    for (PQconninfoOption *o = options; o->keyword && count < MAX_ENV - 2; o++)
        if (o->val && *o->val && o->envvar)
            env[count++] = xasprintf("%s=%s", o->envvar, o->val);
    if (password)
        env[count++] = xasprintf("PGPASSWORD=%s", password);
    env[count++] = xstrdup("PGAPPNAME=upkeep");
    db_password_forget(password);
    pq->conninfo_free(options);
    *out = env;
    *n = count;
    return 0;
}

static void free_environment(char **env, size_t n)
{
    for (size_t i = 0; i < n; i++)
        db_password_forget(env[i]); /* PGPASSWORD is among them */
    free(env);
}

/* Row counts of every table (and partitioned table) outside the system schemas, read in the
 * backup's transaction, into DETAILS' "tables" as "schema.table": count. */
static int count_rows(const PqLib *pq, PGconn *conn, json_t *details, UkError *err)
{
    PGresult *tables =
        pg_query(pq, conn,
                 "SELECT format('%I.%I', n.nspname, c.relname), n.nspname || '.' || c.relname "
                 "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                 "WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', "
                 "'information_schema') AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 2",
                 err);
    if (!tables)
        return -1;
    json_t *counts = json_object();
    int rc = 0;
    for (int i = 0; i < pq->ntuples(tables) && rc == 0; i++) {
        char *sql = xasprintf("SELECT count(*) FROM ONLY %s", pq->getvalue(tables, i, 0));
        PGresult *res = pg_query(pq, conn, sql, err);
        free(sql);
        if (!res) {
            rc = -1;
            break;
        }
        json_object_set_new(counts, pq->getvalue(tables, i, 1),
                            json_integer(strtoll(pq->getvalue(res, 0, 0), NULL, 10)));
        pq->clear(res);
    }
    pq->clear(tables);
    json_object_set_new(details, "tables", counts);
    return rc;
}

/* --dbname for a child: a conninfo naming only the database (a bare name with '=' in it would
 * be read as a conninfo), quoted as libpq wants; the rest comes from the environment. */
static void dbname_argument(const char *name, char *out, size_t len)
{
    size_t n = (size_t)snprintf(out, len, "--dbname=dbname='");
    for (const char *p = name; *p && n + 4 < len; p++) {
        if (*p == '\'' || *p == '\\')
            out[n++] = '\\';
        out[n++] = *p;
    }
    snprintf(out + n, len - n, "'");
}

static int pg_snapshot(const ConfigDatabase *db, ImageSink *sink, SnapshotInfo *info, UkError *err)
{
    const PqLib *pq = NULL;
    PGconn *conn = pg_connect(db, NULL, &pq, err);
    if (!conn)
        return -1;
    char **env = NULL;
    size_t n_env = 0;
    json_t *details = json_object();
    PGresult *res = NULL;
    int rc = -1;
    double started = monotonic_seconds();
    if (child_environment(pq, db, &env, &n_env, err) != 0 ||
        pg_run(pq, conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err) != 0 ||
        !(res = pg_query(pq, conn,
                         "SELECT pg_export_snapshot(), current_setting('server_version'), "
                         "pg_database_size(current_database()), current_database(), "
                         "current_setting('server_encoding')",
                         err)))
        goto out;
    char snapshot_arg[128];
    snprintf(snapshot_arg, sizeof snapshot_arg, "--snapshot=%s", pq->getvalue(res, 0, 0));
    uint64_t db_size = strtoull(pq->getvalue(res, 0, 2), NULL, 10);
    json_object_set_new(details, "server_version", json_string(pq->getvalue(res, 0, 1)));
    json_object_set_new(details, "database_size", json_integer((json_int_t)db_size));
    json_object_set_new(details, "database", json_string(pq->getvalue(res, 0, 3)));
    json_object_set_new(details, "encoding", json_string(pq->getvalue(res, 0, 4)));
    json_object_set_new(details, "dump_format", json_string("pg_dump custom, uncompressed"));
    /* The database by name in argv (not secret); host, user and the rest come from env. */
    char dbname_arg[512];
    dbname_argument(pq->getvalue(res, 0, 3), dbname_arg, sizeof dbname_arg);
    const char *argv[] = {
        "pg_dump", "--format=custom", "--compress=0", "--no-password", snapshot_arg, dbname_arg,
        NULL};
    Child child;
    if (sink->begin_stream(sink->ctx, PG_DUMP_CHUNK_BYTES, err) != 0 ||
        child_start(&child, argv, (const char *const *)env, 0, 1, err) != 0)
        goto out;
    if (child_stream_out(&child, sink, db_size, "pg_dump", err) != 0) {
        child_kill(&child);
        goto out;
    }
    if (child_finish(&child, "pg_dump", err) != 0 || count_rows(pq, conn, details, err) != 0)
        goto out;
    info->read_seconds = monotonic_seconds() - started;
    info->details = json_dumps(details, JSON_COMPACT | JSON_SORT_KEYS);
    rc = 0;
out:
    if (res)
        pq->clear(res);
    json_decref(details);
    free_environment(env, n_env);
    pq->finish(conn); /* ends the read-only transaction */
    return rc;
}

/* pg_restore -n restores what is in a schema, not the schema: it is created first. */
static int create_schemas(const ConfigDatabase *db, const char *target, const DbRestoreOnly *only,
                          UkError *err)
{
    if (!only || !only->schemas || !only->schemas[0])
        return 0;
    const PqLib *pq = NULL;
    PGconn *conn = pg_connect(db, target, &pq, err);
    if (!conn)
        return -1;
    int rc = 0;
    for (size_t i = 0; rc == 0 && only->schemas[i]; i++) {
        char *ident = pq->escape_identifier(conn, only->schemas[i], strlen(only->schemas[i]));
        char *sql = xasprintf("CREATE SCHEMA IF NOT EXISTS %s", ident);
        rc = pg_run(pq, conn, sql, err);
        free(sql);
        pq->freemem(ident);
    }
    pq->finish(conn);
    return rc;
}

/* A role that is not superuser creates only trusted extensions: the others (pg_stat_statements,
 * amcheck) are left out of the restore with a warning rather than failing it. Reads the
 * dump's contents first when that can matter; 1 when TOC's list and replay are to be used. */
static int leave_out_extensions(const PqLib *pq, PGconn *conn, const char *target, PgToc *toc,
                                ImageSource *source, char **env, UkError *err)
{
    PGresult *res =
        pg_query(pq, conn, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user", err);
    if (!res)
        return -1;
    bool superuser = pq->ntuples(res) > 0 && strcmp(pq->getvalue(res, 0, 0), "t") == 0;
    pq->clear(res);
    if (superuser)
        return 0;
    if (pg_toc_read(toc, source, (const char *const *)env, err) != 0)
        return -1;
    const char **leave = xcalloc(toc->n_extensions + 1, sizeof *leave);
    size_t n = 0;
    for (size_t i = 0; i < toc->n_extensions; i++) {
        const char *params[] = {toc->extensions[i]};
        res = pq->exec_params(conn,
                              "SELECT bool_or(trusted) FROM pg_available_extension_versions "
                              "WHERE name = $1",
                              1, NULL, params, NULL, NULL, 0);
        /* Not available at all: kept, so that pg_restore says so. */
        if (pq->result_status(res) == PGRES_TUPLES_OK && pq->ntuples(res) == 1 &&
            strcmp(pq->getvalue(res, 0, 0), "f") == 0) {
            leave[n++] = toc->extensions[i];
            log_warn("extension %s is left out of the restore into '%s': only a superuser can "
                     "create it (CREATE EXTENSION %s there as one)",
                     toc->extensions[i], target, toc->extensions[i]);
        }
        pq->clear(res);
    }
    int rc = n > 0 ? pg_toc_leave_out(toc, leave, err) : 0;
    free(leave);
    return rc < 0 ? -1 : 1;
}

/* Creates TARGET and loads the stream into it; a failed load drops it again. *LOAD_FAILED
 * says the database was created and pg_restore (or the stream) failed: the backup, not the
 * server, is the likely cause. OTHER_CLUSTER: a cluster without the backup's roles, so
 * objects are owned by the connecting role and grants are left out. */
static int load_into(const ConfigDatabase *db, const char *target, ImageSource *source,
                     const DbRestoreOnly *only, bool other_cluster, bool *load_failed, UkError *err)
{
    *load_failed = false;
    const PqLib *pq = NULL;
    PGconn *conn = pg_connect(db, NULL, &pq, err);
    if (!conn)
        return -1;
    char **env = NULL;
    size_t n_env = 0;
    int rc = -1;
    bool created = false;
    PgToc toc = {0};
    char *ident = pq->escape_identifier(conn, target, strlen(target));
    const char *params[] = {target};
    PGresult *exists = pq->exec_params(conn, "SELECT 1 FROM pg_database WHERE datname = $1", 1,
                                       NULL, params, NULL, NULL, 0);
    if (pq->result_status(exists) != PGRES_TUPLES_OK) {
        uk_error_set(err, UK_E_DB, 0, "%s", pq->result_error_message(exists));
    } else if (pq->ntuples(exists) > 0) {
        uk_error_set(err, UK_E_EXISTS, 0,
                     "database '%s' already exists on the server (restore into a new one)", target);
    } else {
        char *sql = xasprintf("CREATE DATABASE %s TEMPLATE template0", ident);
        created = pg_run(pq, conn, sql, err) == 0;
        free(sql);
    }
    pq->clear(exists);
    if (!created || child_environment(pq, db, &env, &n_env, err) != 0 ||
        create_schemas(db, target, only, err) != 0)
        goto out;
    ImageSource *feed = source;
    if (!other_cluster) {
        int left = leave_out_extensions(pq, conn, target, &toc, source, env, err);
        if (left < 0) {
            *load_failed = err->code == UK_E_FORMAT || err->code == UK_E_CORRUPT;
            goto out;
        }
        if (left > 0)
            feed = &toc.replay;
    }
    char dbname_arg[512];
    dbname_argument(target, dbname_arg, sizeof dbname_arg);
    /* --table and --schema become pg_restore's -t and -n, one argument each. */
    size_t n_only = 0;
    for (size_t k = 0; only && only->tables && only->tables[k]; k++)
        n_only++;
    for (size_t k = 0; only && only->schemas && only->schemas[k]; k++)
        n_only++;
    const char **argv = xcalloc(9 + 2 * n_only, sizeof *argv);
    size_t argc = 0;
    argv[argc++] = "pg_restore";
    argv[argc++] = "--single-transaction";
    argv[argc++] = "--exit-on-error";
    argv[argc++] = "--no-password";
    char use_list[640];
    if (toc.list[0]) {
        snprintf(use_list, sizeof use_list, "--use-list=%s", toc.list);
        argv[argc++] = use_list;
    }
    if (other_cluster) {
        argv[argc++] = "--no-owner";
        argv[argc++] = "--no-privileges";
    }
    for (size_t k = 0; only && only->tables && only->tables[k]; k++) {
        argv[argc++] = "--table";
        argv[argc++] = only->tables[k];
    }
    for (size_t k = 0; only && only->schemas && only->schemas[k]; k++) {
        argv[argc++] = "--schema";
        argv[argc++] = only->schemas[k];
    }
    argv[argc++] = dbname_arg;
    Child child;
    int started = child_start(&child, argv, (const char *const *)env, 1, 0, err);
    free(argv);
    if (started != 0)
        goto out;
    int pumped = child_stream_in(&child, feed, "pg_restore", err);
    if (pumped == -2) { /* it ended early: say what it said */
        if (child_finish(&child, "pg_restore", err) == 0) {
            /* With a selection it stops reading once it has what was asked for. */
            if (n_only > 0) {
                rc = 0;
                goto out;
            }
            uk_error_set(err, UK_E_FORMAT, 0, "pg_restore ended before the backup did");
        }
        *load_failed = true;
        goto out;
    }
    if (pumped != 0) {
        child_kill(&child);
        *load_failed = err->code == UK_E_CORRUPT || err->code == UK_E_FORMAT;
        goto out;
    }
    if (child_finish(&child, "pg_restore", err) != 0) {
        *load_failed = true;
        goto out;
    }
    rc = 0;
out:
    if (rc != 0 && created) { /* nothing half-loaded stays behind */
        char *sql = xasprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", ident);
        UkError ignored = {0};
        pg_run(pq, conn, sql, &ignored);
        free(sql);
    }
    pq->freemem(ident);
    pg_toc_free(&toc);
    free_environment(env, n_env);
    pq->finish(conn);
    return rc;
}

static int pg_restore_stream(const ConfigDatabase *db, const char *target, ImageSource *source,
                             const DbRestoreOnly *only, UkError *err)
{
    bool load_failed;
    return load_into(db, target, source, only, false, &load_failed, err);
}

#define SWAP_TRIES 5

/* Other sessions on database NAME (a count), and with END, ends them first. */
static int other_sessions(const PqLib *pq, PGconn *conn, const char *name, bool end, long *count,
                          UkError *err)
{
    const char *params[] = {name};
    PGresult *res = pq->exec_params(
        conn,
        end ? "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1 "
              "AND pid <> pg_backend_pid()"
            : "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> "
              "pg_backend_pid()",
        1, NULL, params, NULL, NULL, 0);
    int rc = 0;
    if (pq->result_status(res) != PGRES_TUPLES_OK) {
        const char *msg = pq->result_error_message(res);
        rc = uk_error_set(err, UK_E_DB, 0, "%.*s", (int)strcspn(msg, "\n"), msg);
    } else {
        *count = atol(pq->getvalue(res, 0, 0));
    }
    pq->clear(res);
    return rc;
}

/* Both renames in one transaction, from a connection to another database (the maintenance
 * database "postgres"): a database is renamed only while nobody is connected to it. With
 * FORCE, the application's sessions are ended right before, again when one reconnected in
 * between. */
static int pg_swap_in(const ConfigDatabase *db, const char *restored, bool force, char *kept_aside,
                      size_t len, UkError *err)
{
    const PqLib *pq = NULL;
    PGconn *conn = pg_connect(db, NULL, &pq, err);
    if (!conn)
        return -1;
    PGresult *res = pg_query(pq, conn, "SELECT current_database()", err);
    char *live = res ? xstrdup(pq->getvalue(res, 0, 0)) : NULL;
    pq->clear(res);
    pq->finish(conn);
    if (!live)
        return -1;
    /* Names are at most 63 bytes: the database's own name gives way to the suffix. */
    char stamp[32];
    time_t now = time(NULL);
    strftime(stamp, sizeof stamp, "_before_restore_%Y%m%dT%H%M%S", gmtime(&now));
    snprintf(kept_aside, len, "%.*s%s", (int)(63 - strlen(stamp)), live, stamp);
    int rc = -1;
    conn = pg_connect(db, "postgres", &pq, err);
    if (!conn)
        goto out;
    char *q_live = pq->escape_identifier(conn, live, strlen(live));
    char *q_restored = pq->escape_identifier(conn, restored, strlen(restored));
    char *q_kept = pq->escape_identifier(conn, kept_aside, strlen(kept_aside));
    char *sql = xasprintf("BEGIN; ALTER DATABASE %s RENAME TO %s; ALTER DATABASE %s RENAME TO %s; "
                          "COMMIT",
                          q_live, q_kept, q_restored, q_live);
    for (int attempt = 1; attempt <= SWAP_TRIES; attempt++) {
        long sessions = 0;
        if (other_sessions(pq, conn, live, force, &sessions, err) != 0)
            break;
        if (!force && sessions > 0) {
            uk_error_set(err, UK_E_LOCKED, 0,
                         "'%s' has %ld other session%s: stop the application, or give --force "
                         "to end them",
                         live, sessions, sessions == 1 ? "" : "s");
            break;
        }
        if (sessions > 0)
            usleep(100 * 1000); /* ended sessions leave pg_stat_activity a moment later */
        UkError swap_err = {0};
        if (pg_run(pq, conn, sql, &swap_err) == 0) {
            rc = 0;
            break;
        }
        pg_run(pq, conn, "ROLLBACK", NULL);
        *err = swap_err;
        if (!force)
            break;
    }
    free(sql);
    pq->freemem(q_live);
    pq->freemem(q_restored);
    pq->freemem(q_kept);
    pq->finish(conn);
out:
    free(live);
    return rc;
}

/* Compares the row counts in SCRATCH with those the backup recorded; amcheck's
 * bt_index_check on every B-tree index when this role may use it. */
static int check_scratch(const PqLib *pq, PGconn *conn, const char *details, char *result,
                         size_t len, UkError *err)
{
    json_t *doc = json_object();
    result[0] = '\0';
    int rc = count_rows(pq, conn, doc, err);
    long tables =
        rc == 0 ? row_counts_compare(details, json_object_get(doc, "tables"), result, len) : 0;
    json_decref(doc);
    if (rc != 0 || tables < 0)
        return rc;
    /* amcheck is not a trusted extension: only a role allowed to create it gets this check. */
    char amcheck[160] = "amcheck not available to this role";
    UkError ignored = {0};
    if (pg_run(pq, conn, "CREATE EXTENSION IF NOT EXISTS amcheck", &ignored) == 0) {
        PGresult *res = pq->exec(
            conn, "SELECT count(bt_index_check(c.oid)) FROM pg_index i "
                  "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam "
                  "WHERE a.amname = 'btree' AND i.indisvalid AND c.relpersistence <> 't'");
        if (pq->result_status(res) != PGRES_TUPLES_OK) {
            const char *msg = pq->result_error_message(res);
            snprintf(result, len, "amcheck: %.*s", (int)strcspn(msg, "\n"), msg);
            pq->clear(res);
            return 0;
        }
        snprintf(amcheck, sizeof amcheck, "amcheck: %s indexes", pq->getvalue(res, 0, 0));
        pq->clear(res);
    }
    snprintf(result, len, "ok (row counts of %ld table%s match; %s)", tables,
             tables == 1 ? "" : "s", amcheck);
    return 0;
}

static int pg_drop_database(const ConfigDatabase *db, const char *name, UkError *err)
{
    const PqLib *pq = NULL;
    PGconn *admin = pg_connect(db, NULL, &pq, err);
    if (!admin)
        return -1;
    char *ident = pq->escape_identifier(admin, name, strlen(name));
    char *sql = xasprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", ident);
    int rc = pg_run(pq, admin, sql, err);
    free(sql);
    pq->freemem(ident);
    pq->finish(admin);
    return rc;
}

/* A string the backup recorded (server_version, encoding), or NULL. */
static char *recorded(const char *details, const char *name)
{
    json_t *doc = json_loads(details ? details : "{}", 0, NULL);
    const char *value = json_string_value(json_object_get(doc, name));
    char *out = value ? xstrdup(value) : NULL;
    json_decref(doc);
    return out;
}

/* Loads the backup into a scratch database (on the server, or in a throwaway cluster with
 * verify_cluster), checks it and drops it. A backup that does not load is a finding in RESULT,
 * not an error. */
static int pg_verify_stream(const ConfigDatabase *db, ImageSource *source, const char *details,
                            char *result, size_t len, UkError *err)
{
    const PqLib *pq = NULL; /* loaded by connect_db */
    PgCluster cluster;
    ConfigDatabase in_cluster;
    const ConfigDatabase *target = db;
    char scratch[64];
    if (db->verify_cluster) {
        char *version = recorded(details, "server_version");
        char *encoding = recorded(details, "encoding");
        int started = pg_cluster_start(&cluster, version, encoding, err);
        free(version);
        free(encoding);
        if (started != 0)
            return -1;
        cleanup_crash_point("verify-cluster-started");
        in_cluster = (ConfigDatabase){.name = db->name, .url = cluster.url, .driver = db->driver};
        target = &in_cluster;
        snprintf(scratch, sizeof scratch, "verify");
    } else {
        char random_hex[7];
        unsigned char random[3];
        if (crypto_random(random, sizeof random, err) != 0)
            return -1;
        hex_encode(random, sizeof random, random_hex);
        snprintf(scratch, sizeof scratch, "upkeep_verify_%ld_%s", (long)getpid(), random_hex);
    }
    bool load_failed = false;
    UkError load_err = {0};
    int rc = -1;
    if (load_into(target, scratch, source, NULL, db->verify_cluster, &load_failed, &load_err) !=
        0) {
        if (load_failed) {
            snprintf(result, len, "failed to load: %s", load_err.msg);
            rc = 0;
        } else {
            *err = load_err;
        }
    } else {
        PGconn *conn = pg_connect(target, scratch, &pq, err);
        if (conn) {
            rc = check_scratch(pq, conn, details, result, len, err);
            pq->finish(conn);
        }
        if (!db->verify_cluster && pg_drop_database(db, scratch, rc == 0 ? err : &load_err) != 0)
            rc = -1;
    }
    if (db->verify_cluster) {
        pg_cluster_stop(&cluster);
        size_t used = strlen(result);
        if (rc == 0 && strncmp(result, "ok (", 4) == 0 && used > 0 && used + 24 < len)
            snprintf(result + used - 1, len - used + 1, "; throwaway cluster)");
    }
    return rc;
}

/* Health's thresholds for a server: connections as a share of max_connections; the oldest
 * transaction-id age of any database (wraparound stops writes at 2^31, about 2.1 billion;
 * autovacuum should keep it near autovacuum_freeze_max_age, 200 million by default); the
 * longest open transaction, which holds back vacuum everywhere. */
#define CONNECTIONS_WARNING 0.80
#define CONNECTIONS_CRITICAL 0.95
#define XID_AGE_WARNING 1.0e9
#define XID_AGE_CRITICAL 1.6e9
#define TRANSACTION_WARNING_S 600.0
#define TRANSACTION_CRITICAL_S 3600.0

/* One row of one value: the figures health reads are single numbers. */
static double number(const PqLib *pq, PGconn *conn, const char *sql, UkError *err, int *rc)
{
    PGresult *res = pg_query(pq, conn, sql, err);
    if (!res) {
        *rc = -1;
        return 0;
    }
    double v = pq->ntuples(res) > 0 ? strtod(pq->getvalue(res, 0, 0), NULL) : 0;
    pq->clear(res);
    return v;
}

static int pg_inspect(const ConfigDatabase *db, DbStats *stats, UkError *err)
{
    const PqLib *pq = NULL;
    PGconn *conn = pg_connect(db, NULL, &pq, err);
    if (!conn)
        return -1;
    int rc = pg_run(pq, conn, "SET default_transaction_read_only = on", err);
    if (rc == 0)
        stats->size_bytes =
            (uint64_t)number(pq, conn, "SELECT pg_database_size(current_database())", err, &rc);
    double used = rc == 0 ? number(pq, conn,
                                   "SELECT count(*) FROM pg_stat_activity "
                                   "WHERE backend_type = 'client backend'",
                                   err, &rc)
                          : 0;
    double max =
        rc == 0 ? number(pq, conn, "SELECT current_setting('max_connections')", err, &rc) : 0;
    double xid_age =
        rc == 0 ? number(pq, conn, "SELECT max(age(datfrozenxid)) FROM pg_database", err, &rc) : 0;
    double longest = rc == 0 ? number(pq, conn,
                                      "SELECT coalesce(max(extract(epoch FROM now() - xact_start)),"
                                      " 0) FROM pg_stat_activity WHERE xact_start IS NOT NULL "
                                      "AND pid <> pg_backend_pid()",
                                      err, &rc)
                             : 0;
    if (rc == 0) {
        DbGauge *g = db_stats_gauge(stats, "connections", "ratio", max > 0 ? used / max : 0,
                                    CONNECTIONS_WARNING, CONNECTIONS_CRITICAL);
        snprintf(g->text, sizeof g->text, "%.0f of max_connections %.0f in use", used, max);
        g = db_stats_gauge(stats, "xid_age", "transactions", xid_age, XID_AGE_WARNING,
                           XID_AGE_CRITICAL);
        snprintf(g->text, sizeof g->text,
                 "oldest transaction-id age %.0f (wraparound at 2147483648; vacuum freezes)",
                 xid_age);
        g = db_stats_gauge(stats, "longest_transaction", "seconds", longest, TRANSACTION_WARNING_S,
                           TRANSACTION_CRITICAL_S);
        snprintf(g->text, sizeof g->text, "longest open transaction %.0f s", longest);
    }
    /* count_tables: "table" or "schema.table" as to_regclass reads it; bound, never spliced. */
    for (size_t i = 0; rc == 0 && i < stats->n_tables; i++) {
        stats->rows[i] = -1;
        stats->dead_rows[i] = -1;
        stats->last_vacuum[i] = -1;
        const char *params[] = {stats->tables[i]};
        PGresult *res = pq->exec_params(
            conn,
            "SELECT to_regclass($1)::text, s.n_dead_tup, coalesce(extract(epoch FROM "
            "greatest(s.last_autovacuum, s.last_vacuum)), 0) FROM (SELECT 1) AS one LEFT JOIN "
            "pg_stat_all_tables s ON s.relid = to_regclass($1)",
            1, NULL, params, NULL, NULL, 0);
        if (pq->result_status(res) == PGRES_TUPLES_OK && pq->ntuples(res) == 1 &&
            *pq->getvalue(res, 0, 0)) {
            char *sql = xasprintf("SELECT count(*) FROM %s", pq->getvalue(res, 0, 0));
            stats->rows[i] = (int64_t)number(pq, conn, sql, err, &rc);
            free(sql);
            if (!pq->getisnull(res, 0, 1)) {
                stats->dead_rows[i] = atoll(pq->getvalue(res, 0, 1));
                stats->last_vacuum[i] = atof(pq->getvalue(res, 0, 2));
            }
        }
        pq->clear(res);
    }
    pq->finish(conn);
    return rc;
}

/* A session-level advisory lock on upkeep's own connection, keyed by a 64-bit hash of
 * "upkeep:NAME": it lasts while the connection does, so a run that dies releases it. */
static int pg_cluster_lock(const ConfigDatabase *db, const char *name, void **handle, UkError *err)
{
    const PqLib *pq = NULL;
    PGconn *conn = pg_connect(db, NULL, &pq, err);
    if (!conn)
        return -1;
    char *key = xasprintf("upkeep:%s", name);
    const char *params[] = {key};
    PGresult *res = pq->exec_params(conn, "SELECT pg_try_advisory_lock(hashtextextended($1, 0))", 1,
                                    NULL, params, NULL, NULL, 0);
    free(key);
    int rc = -1;
    if (pq->result_status(res) != PGRES_TUPLES_OK)
        uk_error_set(err, UK_E_DB, 0, "%s", pq->result_error_message(res));
    else
        rc = strcmp(pq->getvalue(res, 0, 0), "t") == 0;
    pq->clear(res);
    if (rc == 1)
        *handle = conn;
    else
        pq->finish(conn);
    return rc;
}

static void pg_cluster_unlock(void *handle)
{
    UkError err = {0};
    const PqLib *pq = pq_lib(&err);
    if (pq && handle)
        pq->finish(handle); /* the session ends, and its lock with it */
}

static int64_t dead_tuples(const PqLib *pq, PGconn *conn, UkError *err, int *rc)
{
    return (int64_t)number(pq, conn, "SELECT coalesce(sum(n_dead_tup), 0) FROM pg_stat_user_tables",
                           err, rc);
}

static int pg_maintain(const ConfigDatabase *db, const DbMaintainRequest *req,
                       DbMaintainResult *res, UkError *err)
{
    const PqLib *pq = NULL;
    PGconn *conn = pg_connect(db, NULL, &pq, err);
    if (!conn)
        return -1;
    int rc = 0;
    res->size_before =
        (uint64_t)number(pq, conn, "SELECT pg_database_size(current_database())", err, &rc);
    if (rc == 0)
        res->dead_before = dead_tuples(pq, conn, err, &rc);
    const char *sql = req->vacuum && req->analyze ? "VACUUM (ANALYZE)"
                      : req->vacuum               ? "VACUUM"
                      : req->analyze              ? "ANALYZE"
                                                  : NULL;
    if (rc == 0 && sql && !req->dry_run) {
        rc = pg_run(pq, conn, sql, err);
        res->vacuumed = rc == 0 && req->vacuum;
        res->analyzed = rc == 0 && req->analyze;
    }
    if (rc == 0 && req->reindex && !req->dry_run) {
        PGresult *name = pg_query(pq, conn, "SELECT quote_ident(current_database())", err);
        if (!name) {
            rc = -1;
        } else {
            char *reindex = xasprintf("REINDEX DATABASE CONCURRENTLY %s", pq->getvalue(name, 0, 0));
            pq->clear(name);
            rc = pg_run(pq, conn, reindex, err);
            free(reindex);
            res->reindexed = rc == 0;
        }
    }
    if (rc == 0) {
        /* The statistics collector reports what VACUUM did a moment later. */
        pg_run(pq, conn, "SELECT pg_stat_clear_snapshot()", err);
        res->size_after =
            (uint64_t)number(pq, conn, "SELECT pg_database_size(current_database())", err, &rc);
        if (rc == 0)
            res->dead_after = dead_tuples(pq, conn, err, &rc);
    }
    pq->finish(conn);
    return rc;
}

/* The problems a check query lists (one per row, first column), or "ok" when none. */
static int list_problems(const PqLib *pq, PGconn *conn, const char *sql, char *result, size_t len,
                         UkError *err)
{
    PGresult *res = pq->exec(conn, sql);
    if (pq->result_status(res) != PGRES_TUPLES_OK) {
        const char *msg = pq->result_error_message(res);
        /* amcheck reports damage by raising an error: that is the finding. */
        bool damage = strstr(msg, "index") && (strstr(msg, "corrupt") || strstr(msg, "invariant"));
        if (damage)
            snprintf(result, len, "%.*s", (int)strcspn(msg, "\n"), msg);
        else
            uk_error_set(err, UK_E_DB, 0, "%.*s", (int)strcspn(msg, "\n"), msg);
        pq->clear(res);
        return damage ? 0 : -1;
    }
    result[0] = '\0';
    int rows = pq->ntuples(res);
    for (int r = 0; r < rows && r < 10; r++) {
        size_t used = strlen(result);
        snprintf(result + used, len - used, "%s%s", used ? "; " : "", pq->getvalue(res, r, 0));
    }
    if (rows == 0)
        snprintf(result, len, "ok");
    pq->clear(res);
    return 0;
}

static int pg_check_live(const ConfigDatabase *db, const char *check, char *result, size_t len,
                         UkError *err)
{
    const PqLib *pq = NULL;
    PGconn *conn = pg_connect(db, NULL, &pq, err);
    if (!conn)
        return -1;
    int rc = -1;
    if (strcmp(check, "foreign_keys") == 0) {
        rc = list_problems(pq, conn,
                           "SELECT format('%s: foreign key %I is not validated (ALTER TABLE %s "
                           "VALIDATE CONSTRAINT %I)', conrelid::regclass, conname, "
                           "conrelid::regclass, conname) FROM pg_constraint "
                           "WHERE contype = 'f' AND NOT convalidated",
                           result, len, err);
        goto out;
    }
    PGresult *res = pg_query(pq, conn, "SELECT 1 FROM pg_extension WHERE extname = 'amcheck'", err);
    if (!res)
        goto out;
    bool installed = pq->ntuples(res) > 0;
    pq->clear(res);
    if (!installed) {
        uk_error_set(err, UK_E_CONFIG, 0,
                     "the amcheck extension is not installed in this database: CREATE EXTENSION "
                     "amcheck (as a superuser) lets upkeep check its indexes and tables");
        goto out;
    }
    bool full = strcmp(check, "full") == 0;
    /* Each index and table is checked under an ACCESS SHARE lock: the application keeps
     * reading and writing. Damage in an index raises an error naming it. */
    char indexes[64];
    rc = list_problems(pq, conn,
                       full ? "SELECT count(bt_index_check(c.oid, true))::text FROM pg_index i "
                              "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = "
                              "c.relam WHERE a.amname = 'btree' AND i.indisvalid AND "
                              "c.relpersistence <> 't'"
                            : "SELECT count(bt_index_check(c.oid))::text FROM pg_index i "
                              "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = "
                              "c.relam WHERE a.amname = 'btree' AND i.indisvalid AND "
                              "c.relpersistence <> 't'",
                       indexes, sizeof indexes, err);
    if (rc != 0)
        goto out;
    if (strspn(indexes, "0123456789") != strlen(indexes)) { /* a damaged index's message */
        snprintf(result, len, "%s", indexes);
        goto out;
    }
    if (full) {
        rc = list_problems(pq, conn,
                           "SELECT format('%s block %s: %s', c.oid::regclass, v.blkno, v.msg) "
                           "FROM pg_class c CROSS JOIN LATERAL verify_heapam(c.oid) v "
                           "WHERE c.relkind IN ('r', 'm') AND c.relpersistence <> 't'",
                           result, len, err);
        if (rc == 0 && strcmp(result, "ok") == 0)
            snprintf(result, len, "ok (%s indexes and every table checked)", indexes);
    } else {
        snprintf(result, len, "ok (%s indexes checked)", indexes);
    }
out:
    pq->finish(conn);
    return rc;
}

/* pg_stat_statements, when the server loads it and this database has the extension. */
static int pg_slow_queries(const ConfigDatabase *db, double min_mean_ms, size_t top,
                           DbQueryReport *out, UkError *err)
{
    const PqLib *pq = NULL;
    PGconn *conn = pg_connect(db, NULL, &pq, err);
    if (!conn)
        return -1;
    int rc = -1;
    PGresult *res =
        pg_query(pq, conn, "SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'", err);
    if (!res)
        goto out;
    bool installed = pq->ntuples(res) > 0;
    pq->clear(res);
    if (!installed) {
        snprintf(out->note, sizeof out->note,
                 "pg_stat_statements is not installed in this database: add it to "
                 "shared_preload_libraries, restart the server, then CREATE EXTENSION "
                 "pg_stat_statements");
        rc = 0;
        goto out;
    }
    char mean[32], limit[32];
    snprintf(mean, sizeof mean, "%.6f", min_mean_ms);
    snprintf(limit, sizeof limit, "%zu", top);
    const char *params[] = {mean, limit};
    res = pq->exec_params(conn,
                          "SELECT calls, total_exec_time, mean_exec_time, rows, query "
                          "FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database "
                          "WHERE datname = current_database()) AND mean_exec_time >= $1 "
                          "ORDER BY mean_exec_time DESC LIMIT $2",
                          2, NULL, params, NULL, NULL, 0);
    if (pq->result_status(res) != PGRES_TUPLES_OK) {
        /* Installed but not loaded (not in shared_preload_libraries): say so, not fail. */
        const char *msg = pq->result_error_message(res);
        snprintf(out->note, sizeof out->note, "pg_stat_statements: %.*s", (int)strcspn(msg, "\n"),
                 msg);
        pq->clear(res);
        rc = 0;
        goto out;
    }
    out->available = true;
    for (int r = 0; r < pq->ntuples(res) && out->n < DB_MAX_QUERIES; r++) {
        DbQuery *q = &out->queries[out->n++];
        q->calls = strtod(pq->getvalue(res, r, 0), NULL);
        q->total_ms = strtod(pq->getvalue(res, r, 1), NULL);
        q->mean_ms = strtod(pq->getvalue(res, r, 2), NULL);
        q->rows = strtod(pq->getvalue(res, r, 3), NULL);
        snprintf(q->text, sizeof q->text, "%s", pq->getvalue(res, r, 4));
    }
    pq->clear(res);
    rc = 0;
out:
    pq->finish(conn);
    return rc;
}

/* The four questions, each one query over the catalogue and the statistics. */
static const struct {
    const char *kind;
    const char *sql; /* object, detail, size, suggestion */
} index_questions[] = {
    {"unused",
     "SELECT format('%I.%I', s.schemaname, s.indexrelname), 'on ' || format('%I.%I', "
     "s.schemaname, s.relname) || ', never scanned since the statistics were reset ('"
     " || coalesce(d.stats_reset::text, 'never') || ')', pg_relation_size(s.indexrelid), "
     "format('DROP INDEX CONCURRENTLY %I.%I', s.schemaname, s.indexrelname) "
     "FROM pg_stat_user_indexes s JOIN pg_index i ON i.indexrelid = s.indexrelid "
     "CROSS JOIN pg_stat_database d WHERE d.datname = current_database() AND s.idx_scan = 0 "
     "AND NOT i.indisunique AND NOT i.indisprimary ORDER BY 3 DESC"},
    {"duplicate",
     "SELECT string_agg(format('%I.%I', n.nspname, c.relname), ', ' ORDER BY c.relname), "
     "'the same columns, operator classes, expressions and predicate on ' || "
     "min(i.indrelid::regclass::text), sum(pg_relation_size(i.indexrelid)), "
     "'keep one, DROP INDEX CONCURRENTLY the others' FROM pg_index i "
     "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
     "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') "
     "GROUP BY i.indrelid, i.indkey::text, i.indclass::text, coalesce(i.indexprs::text, ''), "
     "coalesce(i.indpred::text, '') HAVING count(*) > 1"},
    {"invalid",
     "SELECT format('%I.%I', n.nspname, c.relname), 'left unusable by a failed build; "
     "queries do not use it but writes still maintain it', pg_relation_size(c.oid), "
     "format('REINDEX INDEX CONCURRENTLY %I.%I', n.nspname, c.relname) FROM pg_index i "
     "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
     "WHERE NOT i.indisvalid"},
    {"fk_without_index",
     "SELECT format('%s (%s)', c.conrelid::regclass, string_agg(quote_ident(a.attname), ', ' "
     "ORDER BY k.ord)), 'foreign key ' || quote_ident(c.conname) || ' references ' || "
     "c.confrelid::regclass || ': a delete or key update there scans this table', "
     "pg_relation_size(c.conrelid), format('CREATE INDEX CONCURRENTLY %s ON %s (%s)', "
     "quote_ident(left((SELECT relname FROM pg_class WHERE oid = c.conrelid) || '_' || "
     "string_agg(a.attname, '_' ORDER BY "
     "k.ord), 54) || '_fk_idx'), c.conrelid::regclass, string_agg(quote_ident(a.attname), ', ' "
     "ORDER BY k.ord)) FROM pg_constraint c CROSS JOIN LATERAL unnest(c.conkey) WITH "
     "ORDINALITY k(attnum, ord) JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = "
     "k.attnum WHERE c.contype = 'f' AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE "
     "i.indrelid = c.conrelid AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] @> c.conkey "
     "AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] <@ c.conkey) "
     "GROUP BY c.oid, c.conname, c.conrelid, c.confrelid"},
};

static int pg_analyze_indexes(const ConfigDatabase *db, bool apply, DbIndexReport *out,
                              UkError *err)
{
    const PqLib *pq = NULL;
    PGconn *conn = pg_connect(db, NULL, &pq, err);
    if (!conn)
        return -1;
    int rc = 0;
    for (size_t q = 0; q < sizeof index_questions / sizeof index_questions[0] && rc == 0; q++) {
        PGresult *res = pg_query(pq, conn, index_questions[q].sql, err);
        if (!res) {
            rc = -1;
            break;
        }
        for (int r = 0; r < pq->ntuples(res); r++) {
            DbFinding *f = db_index_finding(out, index_questions[q].kind);
            if (!f)
                break;
            snprintf(f->object, sizeof f->object, "%s", pq->getvalue(res, r, 0));
            snprintf(f->detail, sizeof f->detail, "%s", pq->getvalue(res, r, 1));
            f->size_bytes = strtoull(pq->getvalue(res, r, 2), NULL, 10);
            snprintf(f->suggestion, sizeof f->suggestion, "%s", pq->getvalue(res, r, 3));
            f->safe = strcmp(f->kind, "fk_without_index") == 0;
        }
        pq->clear(res);
    }
    for (size_t i = 0; rc == 0 && apply && i < out->n; i++) {
        DbFinding *f = &out->findings[i];
        if (!f->safe)
            continue;
        UkError e = {0};
        if (pg_run(pq, conn, f->suggestion, &e) == 0) {
            snprintf(f->applied, sizeof f->applied, "created");
            continue;
        }
        snprintf(f->applied, sizeof f->applied, "failed: %s", e.msg);
        /* A concurrent build that fails leaves an invalid index behind: drop it. */
        const char *name = f->suggestion + strlen("CREATE INDEX CONCURRENTLY ");
        char *drop =
            xasprintf("DROP INDEX CONCURRENTLY IF EXISTS %.*s", (int)strcspn(name, " "), name);
        pg_run(pq, conn, drop, &e);
        free(drop);
    }
    pq->finish(conn);
    return rc;
}

/* The url stays libpq's to interpret (service files, PG* variables); here only what can be
 * known without loading libpq, so that parsing a config costs nothing. */
static int pg_configure(ConfigDatabase *db, const char *config_dir, UkError *err)
{
    (void)config_dir; /* password_file is resolved already, as every path key */
    return db_password_once(db, err);
}

static const char *const pg_schemes[] = {"postgresql", "postgres", NULL};

const DbDriver db_postgresql_driver = {
    .name = "postgresql",
    .schemes = pg_schemes,
    .features = DB_FEAT_ONLINE_BACKUP | DB_FEAT_RESTORE_SERVER | DB_FEAT_CLUSTER_LOCK |
                DB_FEAT_MAINTENANCE | DB_FEAT_ROW_TASKS | DB_FEAT_SCHEMAS | DB_FEAT_ARCHIVE_TABLE |
                DB_FEAT_SWAP_IN,
    .configure = pg_configure,
    .snapshot = pg_snapshot,
    .restore_stream = pg_restore_stream,
    .swap_in = pg_swap_in,
    .drop_database = pg_drop_database,
    .verify_stream = pg_verify_stream,
    .inspect = pg_inspect,
    .cluster_lock = pg_cluster_lock,
    .cluster_unlock = pg_cluster_unlock,
    .maintain = pg_maintain,
    .check_live = pg_check_live,
    .slow_queries = pg_slow_queries,
    .analyze_indexes = pg_analyze_indexes,
    .rows = &db_postgresql_rows,
};
