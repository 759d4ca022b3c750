/* Connections to a PostgreSQL server and running SQL on them, for the driver and its row
 * operations. */
#ifndef UK_PG_CONN_H
#define UK_PG_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/error.h"
#include "db/password.h"
#include "db/postgresql/pq_lib.h"

/* Connects to db's server (loading libpq first, handed back in *PQ); DBNAME, when not
 * NULL, replaces the url's database. */
PGconn *pg_connect(const ConfigDatabase *db, const char *dbname, const PqLib **pq, UkError *err);
/* Runs SQL; the result when it succeeded (caller clears it), else NULL with err set to the
 * server's message. */
PGresult *pg_query(const PqLib *pq, PGconn *conn, const char *sql, UkError *err);
/* The same with N text parameters (one statement); *SQLSTATE (when given) gets the error's
 * code. */
PGresult *pg_query_params(const PqLib *pq, PGconn *conn, const char *sql, int n,
                          const char *const *values, char sqlstate[6], UkError *err);
int pg_run(const PqLib *pq, PGconn *conn, const char *sql, UkError *err);
/* "{1,2,3}": keys as a bigint[] parameter (malloc'd). */
char *pg_key_array(const int64_t *keys, size_t n);

#endif
