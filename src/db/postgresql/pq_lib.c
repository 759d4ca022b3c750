#include "db/postgresql/pq_lib.h"

#include <stdbool.h>

#include "common/dynlib.h"

#define PQ_SONAME "libpq.so.5"

static PqLib lib;
static bool loaded;

static const DynSymbol symbols[] = {
    {(void **)&lib.connectdb_params, "PQconnectdbParams"},
    {(void **)&lib.status, "PQstatus"},
    {(void **)&lib.error_message, "PQerrorMessage"},
    {(void **)&lib.finish, "PQfinish"},
    {(void **)&lib.exec, "PQexec"},
    {(void **)&lib.exec_params, "PQexecParams"},
    {(void **)&lib.result_status, "PQresultStatus"},
    {(void **)&lib.result_error_message, "PQresultErrorMessage"},
    {(void **)&lib.ntuples, "PQntuples"},
    {(void **)&lib.getvalue, "PQgetvalue"},
    {(void **)&lib.clear, "PQclear"},
    {(void **)&lib.conninfo_parse, "PQconninfoParse"},
    {(void **)&lib.conninfo_free, "PQconninfoFree"},
    {(void **)&lib.escape_identifier, "PQescapeIdentifier"},
    {(void **)&lib.freemem, "PQfreemem"},
    {(void **)&lib.result_error_field, "PQresultErrorField"},
    {(void **)&lib.cmd_tuples, "PQcmdTuples"},
    {(void **)&lib.send_query, "PQsendQuery"},
    {(void **)&lib.get_result, "PQgetResult"},
    {(void **)&lib.getisnull, "PQgetisnull"},
    {(void **)&lib.nfields, "PQnfields"},
    {(void **)&lib.fname, "PQfname"},
    {(void **)&lib.ftype, "PQftype"},
    {(void **)&lib.getlength, "PQgetlength"},
};

const PqLib *pq_lib(UkError *err)
{
    if (loaded)
        return &lib;
    if (dynlib_load(PQ_SONAME, symbols, sizeof symbols / sizeof symbols[0],
                    "PostgreSQL databases need libpq", err) != 0)
        return NULL;
    loaded = true;
    return &lib;
}
