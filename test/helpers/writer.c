/* upkeep-writer: an application-like writer for tests and benchmarks. It commits small
 * transactions at a steady rate (open loop) into table seq with ids 1, 2, 3, ... and reports
 * how long its worst transaction waited, which is how long maintenance stalled it.
 *
 *   upkeep-writer PATH [--rate TX_PER_S] [--seconds N] [--stop-file F]
 *
 * On SIGTERM/SIGINT or when the stop file appears it prints one JSON line and exits:
 * {"commits":N,"last_id":N,"max_ms":X,"p99_ms":Y}. With WRITER_SLOW_MS=N set, every commit
 * slower than N ms is also logged to stderr with its start time (CLOCK_MONOTONIC), to line
 * up against `upkeep -v`, which logs each batch's start and lock time.
 *
 * PATH may be a PostgreSQL URL (postgresql://…; the password from PGPASSWORD) or a MariaDB
 * one (mariadb://USER@HOST:PORT/DB; the password from MYSQL_PWD): then each commit is one
 * INSERT in autocommit, as a web application's request would make it. */
#include <libpq-fe.h>
#include <mysql.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* mariadb://USER@HOST:PORT/DB, connected in autocommit with table seq made. */
static MYSQL *my_open(const char *url, long long *max_id)
{
    char user[128], host[128], db[128];
    unsigned port = 3306;
    if (sscanf(url, "mariadb://%127[^@]@%127[^:/]:%u/%127s", user, host, &port, db) != 4) {
        fprintf(stderr, "upkeep-writer: expected mariadb://USER@HOST:PORT/DB\n");
        return NULL;
    }
    MYSQL *conn = mysql_init(NULL);
    if (!mysql_real_connect(conn, host, user, getenv("MYSQL_PWD"), db, port, NULL, 0) ||
        mysql_query(conn, "CREATE TABLE IF NOT EXISTS seq(id BIGINT PRIMARY KEY, payload TEXT)") ||
        mysql_query(conn, "SELECT COALESCE(MAX(id), 0) FROM seq")) {
        fprintf(stderr, "upkeep-writer: %s\n", mysql_error(conn));
        mysql_close(conn);
        return NULL;
    }
    MYSQL_RES *res = mysql_store_result(conn);
    MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
    *max_id = row && row[0] ? atoll(row[0]) : 0;
    mysql_free_result(res);
    return conn;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: upkeep-writer PATH [--rate N] [--seconds N] [--stop-file F]\n");
        return 2;
    }
    double rate = 500, seconds = 1e9;
    const char *stop_file = NULL;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--rate") == 0)
            rate = atof(argv[i + 1]);
        else if (strcmp(argv[i], "--seconds") == 0)
            seconds = atof(argv[i + 1]);
        else if (strcmp(argv[i], "--stop-file") == 0)
            stop_file = argv[i + 1];
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    bool pg = strncmp(argv[1], "postgresql://", 13) == 0;
    bool my = strncmp(argv[1], "mariadb://", 10) == 0;
    sqlite3 *db = NULL;
    sqlite3_stmt *ins = NULL;
    PGconn *conn = NULL;
    MYSQL *my_conn = NULL;
    long long id = 0;
    if (my) {
        if (!(my_conn = my_open(argv[1], &id)))
            return 1;
    } else if (pg) {
        conn = PQconnectdb(argv[1]);
        if (PQstatus(conn) != CONNECTION_OK) {
            fprintf(stderr, "upkeep-writer: %s", PQerrorMessage(conn));
            return 1;
        }
        PQclear(
            PQexec(conn, "CREATE TABLE IF NOT EXISTS seq(id bigint PRIMARY KEY, payload text)"));
        PGresult *res = PQexec(conn, "SELECT coalesce(max(id), 0) FROM seq");
        if (PQresultStatus(res) == PGRES_TUPLES_OK)
            id = atoll(PQgetvalue(res, 0, 0));
        PQclear(res);
    } else {
        if (sqlite3_open(argv[1], &db) != SQLITE_OK)
            return 1;
        sqlite3_busy_timeout(db, 120000);
        sqlite3_exec(db,
                     "PRAGMA synchronous=NORMAL;"
                     "CREATE TABLE IF NOT EXISTS seq(id INTEGER PRIMARY KEY, payload TEXT)",
                     NULL, NULL, NULL);
        sqlite3_prepare_v2(db, "INSERT INTO seq(id, payload) VALUES (?, ?)", -1, &ins, NULL);
        sqlite3_stmt *maxid;
        sqlite3_prepare_v2(db, "SELECT coalesce(max(id), 0) FROM seq", -1, &maxid, NULL);
        if (sqlite3_step(maxid) == SQLITE_ROW)
            id = sqlite3_column_int64(maxid, 0);
        sqlite3_finalize(maxid);
    }
    size_t cap = 1 << 16, n = 0;
    double *lat = malloc(cap * sizeof *lat);
    char payload[400];
    memset(payload, 'x', sizeof payload - 1);
    payload[sizeof payload - 1] = '\0';
    double start = now(), interval = 1.0 / rate;
    int failures = 0;
    for (long long k = 0; !stop && now() - start < seconds; k++) {
        double due = start + (double)k * interval;
        double wait = due - now();
        if (wait > 0)
            usleep((useconds_t)(wait * 1e6));
        if (stop_file && k % 50 == 0 && access(stop_file, F_OK) == 0)
            break;
        double t0 = now();
        int ok;
        if (my) {
            char sql[512];
            snprintf(sql, sizeof sql, "INSERT INTO seq(id, payload) VALUES (%lld, '%s')", id + 1,
                     payload);
            ok = mysql_query(my_conn, sql) == 0;
            if (!ok && failures == 0)
                fprintf(stderr, "upkeep-writer: %s\n", mysql_error(my_conn));
        } else if (pg) {
            char key[24];
            snprintf(key, sizeof key, "%lld", id + 1);
            const char *values[] = {key, payload};
            PGresult *res = PQexecParams(conn, "INSERT INTO seq(id, payload) VALUES ($1, $2)", 2,
                                         NULL, values, NULL, NULL, 0);
            ok = PQresultStatus(res) == PGRES_COMMAND_OK;
            if (!ok && failures == 0)
                fprintf(stderr, "upkeep-writer: %s", PQresultErrorMessage(res));
            PQclear(res);
        } else if ((ok = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK)) {
            sqlite3_bind_int64(ins, 1, id + 1);
            sqlite3_bind_text(ins, 2, payload, -1, SQLITE_STATIC);
            ok = sqlite3_step(ins) == SQLITE_DONE;
            sqlite3_reset(ins);
            ok = sqlite3_exec(db, ok ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL) == SQLITE_OK && ok;
        }
        if (!ok) {
            failures++;
            continue;
        }
        id++;
        double latency = (now() - t0) * 1000.0;
        if (getenv("WRITER_SLOW_MS") && latency > atof(getenv("WRITER_SLOW_MS")))
            fprintf(stderr, "slow commit at %.3f: %.1f ms\n", t0, latency);
        if (n == cap)
            lat = realloc(lat, (cap *= 2) * sizeof *lat);
        lat[n++] = (now() - t0) * 1000.0;
    }
    qsort(lat, n, sizeof *lat, cmp);
    printf("{\"commits\":%zu,\"last_id\":%lld,\"failures\":%d,\"max_ms\":%.1f,\"p99_ms\":%.2f}\n",
           n, id, failures, n ? lat[n - 1] : 0.0, n ? lat[(size_t)((double)(n - 1) * 0.99)] : 0.0);
    fflush(stdout);
    sqlite3_finalize(ins);
    sqlite3_close(db);
    PQfinish(conn);
    if (my_conn)
        mysql_close(my_conn);
    free(lat);
    return failures ? 1 : 0;
}
