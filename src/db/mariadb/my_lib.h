/* libmariadb (Connector/C), loaded by the first MariaDB connection (common/dynlib.h: it
 * brings OpenSSL, which the daemon and runs on other engines never need): the functions the
 * driver uses, with the prototypes of mysql.h. my_connect loads it; every other call comes
 * after a connection, through my_fn. */
#ifndef UK_MY_LIB_H
#define UK_MY_LIB_H

#include <mysql.h>

#include "core/error.h"

typedef struct MyLib {
    MYSQL *(*init)(MYSQL *conn);
    int (*optionsv)(MYSQL *conn, enum mysql_option option, ...);
    MYSQL *(*real_connect)(MYSQL *conn, const char *host, const char *user, const char *password,
                           const char *db, unsigned int port, const char *socket,
                           unsigned long flags);
    const char *(*error)(MYSQL *conn);
    unsigned int (*errno_)(MYSQL *conn);
    void (*close)(MYSQL *conn);
    int (*query)(MYSQL *conn, const char *sql);
    MYSQL_RES *(*store_result)(MYSQL *conn);
    void (*free_result)(MYSQL_RES *res);
    int (*next_result)(MYSQL *conn);
    MYSQL_ROW (*fetch_row)(MYSQL_RES *res);
    my_ulonglong (*num_rows)(MYSQL_RES *res);
    unsigned long (*real_escape_string)(MYSQL *conn, char *to, const char *from,
                                        unsigned long length);
    MYSQL_RES *(*use_result)(MYSQL *conn);
    unsigned long *(*fetch_lengths)(MYSQL_RES *res);
    MYSQL_FIELD *(*fetch_fields)(MYSQL_RES *res);
    unsigned int (*num_fields)(MYSQL_RES *res);
    unsigned int (*field_count)(MYSQL *conn);
    my_ulonglong (*affected_rows)(MYSQL *conn);
    void (*data_seek)(MYSQL_RES *res, my_ulonglong offset);
} MyLib;

extern MyLib my_fn;

/* Loads the library on the first call; 0, or -1 with err set when it cannot be loaded. */
int my_lib_load(UkError *err);

#endif
