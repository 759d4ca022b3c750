/* libpq, loaded by the first PostgreSQL connection (common/dynlib.h: libpq brings OpenSSL,
 * Kerberos and LDAP, which the daemon and SQLite-only runs never need): the functions the
 * driver uses, with the prototypes of libpq-fe.h. */
#ifndef UK_PQ_LIB_H
#define UK_PQ_LIB_H

#include <libpq-fe.h>

#include "core/error.h"

typedef struct PqLib {
    PGconn *(*connectdb_params)(const char *const *keywords, const char *const *values,
                                int expand_dbname);
    ConnStatusType (*status)(const PGconn *conn);
    char *(*error_message)(const PGconn *conn);
    void (*finish)(PGconn *conn);
    PGresult *(*exec)(PGconn *conn, const char *query);
    PGresult *(*exec_params)(PGconn *conn, const char *command, int n, const Oid *types,
                             const char *const *values, const int *lengths, const int *formats,
                             int result_format);
    ExecStatusType (*result_status)(const PGresult *res);
    char *(*result_error_message)(const PGresult *res);
    int (*ntuples)(const PGresult *res);
    char *(*getvalue)(const PGresult *res, int row, int column);
    void (*clear)(PGresult *res);
    PQconninfoOption *(*conninfo_parse)(const char *conninfo, char **errmsg);
    void (*conninfo_free)(PQconninfoOption *options);
    char *(*escape_identifier)(PGconn *conn, const char *str, size_t len);
    void (*freemem)(void *ptr);
    char *(*result_error_field)(const PGresult *res, int field);
    char *(*cmd_tuples)(PGresult *res);
    int (*send_query)(PGconn *conn, const char *query);
    PGresult *(*get_result)(PGconn *conn);
    int (*getisnull)(const PGresult *res, int row, int column);
    int (*nfields)(const PGresult *res);
    char *(*fname)(const PGresult *res, int column);
    Oid (*ftype)(const PGresult *res, int column);
    int (*getlength)(const PGresult *res, int row, int column);
} PqLib;

/* The library, loaded on the first call; NULL with err set when it cannot be loaded. */
const PqLib *pq_lib(UkError *err);

#endif
