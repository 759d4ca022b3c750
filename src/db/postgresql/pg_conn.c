/* Connections to a PostgreSQL server, shared by the driver (postgresql.c) and its row
 * operations (pg_rows.c). */
#include "db/postgresql/pg_conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

/* The password from password_file (its first line), or NULL when there is none. */
/* Connects to db's server (loading libpq first, handed back in *PQ); DBNAME, when not
 * NULL, replaces the url's database. */
PGconn *pg_connect(const ConfigDatabase *db, const char *dbname, const PqLib **pq_out, UkError *err)
{
    const PqLib *pq = *pq_out = pq_lib(err);
    if (!pq)
        return NULL;
    char *password = NULL;
    if (db_password_read(db, &password, err) != 0)
        return NULL;
    const char *keys[5], *values[5];
    int n = 0;
    keys[n] = "dbname", values[n++] = db->url; /* expanded: the url's settings */
    keys[n] = "fallback_application_name", values[n++] = "upkeep";
    if (password)
        keys[n] = "password", values[n++] = password;
    if (dbname)
        keys[n] = "dbname", values[n++] = dbname; /* a later dbname is a plain name */
    keys[n] = values[n] = NULL;
    PGconn *conn = pq->connectdb_params(keys, values, 1);
    db_password_forget(password);
    if (pq->status(conn) != CONNECTION_OK) {
        char *shown = redact_url(db->url, true);
        const char *msg = pq->error_message(conn);
        uk_error_set(err, UK_E_DB, 0, "unable to connect to '%s': %.*s", shown,
                     (int)strcspn(msg, "\n"), msg);
        free(shown);
        pq->finish(conn);
        return NULL;
    }
    /* "already exists, skipping" and the like are not for upkeep's users. */
    PGresult *quiet = pq->exec(conn, "SET client_min_messages = warning");
    pq->clear(quiet);
    return conn;
}

/* RES when it succeeded, else NULL with err set to the server's message (its first line) and
 * *SQLSTATE, when given, to the error's code. */
static PGresult *checked(const PqLib *pq, PGresult *res, char sqlstate[6], UkError *err)
{
    ExecStatusType st = pq->result_status(res);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return res;
    const char *msg = pq->result_error_message(res);
    if (sqlstate) {
        const char *state = pq->result_error_field(res, PG_DIAG_SQLSTATE);
        snprintf(sqlstate, 6, "%s", state ? state : "");
    }
    uk_error_set(err, UK_E_DB, 0, "%.*s", (int)strcspn(msg, "\n"), msg);
    pq->clear(res);
    return NULL;
}

PGresult *pg_query(const PqLib *pq, PGconn *conn, const char *sql, UkError *err)
{
    return checked(pq, pq->exec(conn, sql), NULL, err);
}

PGresult *pg_query_params(const PqLib *pq, PGconn *conn, const char *sql, int n,
                          const char *const *values, char sqlstate[6], UkError *err)
{
    return checked(pq, pq->exec_params(conn, sql, n, NULL, values, NULL, NULL, 0), sqlstate, err);
}

int pg_run(const PqLib *pq, PGconn *conn, const char *sql, UkError *err)
{
    PGresult *res = pg_query(pq, conn, sql, err);
    pq->clear(res);
    return res ? 0 : -1;
}

char *pg_key_array(const int64_t *keys, size_t n)
{
    size_t cap = 2 + n * 21, len = 0;
    char *text = xmalloc(cap + 1);
    text[len++] = '{';
    for (size_t i = 0; i < n; i++)
        len +=
            (size_t)snprintf(text + len, cap + 1 - len, "%s%lld", i ? "," : "", (long long)keys[i]);
    text[len++] = '}';
    text[len] = '\0';
    return text;
}
