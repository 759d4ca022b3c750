/* Connections to a MariaDB (or MySQL) server, for the driver, and the same settings for the
 * client programs it runs (mariadb-dump, mariadb).
 *
 * The url is mariadb://[USER@]HOST[:PORT]/DATABASE (mysql:// is the same), with
 * ?socket=PATH for a unix socket. What it leaves out comes from the client's own option files
 * (~/.my.cnf and the others, [client] group), as for mariadb-dump; the password from
 * password_file, else from those files. */
#ifndef UK_MY_CONN_H
#define UK_MY_CONN_H

#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"
#include "core/error.h"
#include "db/mariadb/my_lib.h"

typedef struct MyTarget {
    char user[128];
    char password[256]; /* from the url's user:password@ (password_file is better) */
    bool has_password;
    char host[256];
    unsigned port; /* 0: the client's default */
    char socket[512];
    char database[256];
} MyTarget;

/* Parses db->url; a message without the config line on error. Wipe out->password after. */
int my_parse_url(const char *url, MyTarget *out, UkError *err);
/* Connects to db's server; DATABASE, when not NULL, replaces the url's ("" for none). */
MYSQL *my_connect(const ConfigDatabase *db, const char *database, UkError *err);
/* Runs SQL (one or more statements, results discarded); 0, or -1 with the server's message. */
int my_run(MYSQL *conn, const char *sql, UkError *err);
/* The first row of a query's result (values NULL for NULL); the result to free, or NULL with
 * err set. */
MYSQL_RES *my_query(MYSQL *conn, const char *sql, UkError *err);
/* `name` with embedded backquotes doubled, quoted: safe in SQL. Caller frees. */
char *my_quote(const char *name);
/* TEXT as an SQL string literal for CONN ('…', escaped). Caller frees. */
char *my_literal(MYSQL *conn, const char *text);

/* The client programs' connection options for db (argv entries, malloc'd, NULL-terminated,
 * to put after the program's name) and, when there is a password, its environment
 * (MYSQL_PWD=…, never in argv where ps shows it). Free both with my_client_free. */
int my_client_args(const ConfigDatabase *db, char ***args, char ***env, UkError *err);
void my_client_free(char **args, char **env);

#endif
