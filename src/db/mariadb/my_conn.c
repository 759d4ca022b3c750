#include "db/mariadb/my_conn.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "db/password.h"

/* Copies LEN bytes of S into OUT (SIZE bytes), %XX decoded; false when it does not fit or a
 * %XX is malformed. */
static bool decode(const char *s, size_t len, char *out, size_t size)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= len || !isxdigit((unsigned char)s[i + 1]) ||
                !isxdigit((unsigned char)s[i + 2]))
                return false;
            char hex[3] = {s[i + 1], s[i + 2], '\0'};
            c = (char)strtol(hex, NULL, 16);
            i += 2;
        }
        if (o + 1 >= size)
            return false;
        out[o++] = c;
    }
    out[o] = '\0';
    return true;
}

static int bad_url(const char *what, UkError *err)
{
    return uk_error_set(err, UK_E_CONFIG, 0,
                        "%s (expected mariadb://USER@HOST:PORT/DATABASE or "
                        "mariadb://USER@localhost/DATABASE?socket=PATH)",
                        what);
}

int my_parse_url(const char *url, MyTarget *out, UkError *err)
{
    memset(out, 0, sizeof *out);
    const char *p = strstr(url, "://");
    if (!p)
        return bad_url("not a url", err);
    p += 3;
    size_t authority = strcspn(p, "/?");
    const char *end = p + authority;
    const char *at = memchr(p, '@', authority);
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        size_t user_len = (size_t)((colon ? colon : at) - p);
        if (!decode(p, user_len, out->user, sizeof out->user))
            return bad_url("the user name is not understood", err);
        if (colon) {
            if (!decode(colon + 1, (size_t)(at - colon - 1), out->password, sizeof out->password))
                return bad_url("the password is not understood", err);
            out->has_password = true;
        }
        p = at + 1;
    }
    /* host, [v6], :port */
    const char *host_end = end;
    if (*p == '[') {
        const char *close = memchr(p, ']', (size_t)(end - p));
        if (!close)
            return bad_url("an IPv6 address without its closing ']'", err);
        if (!decode(p + 1, (size_t)(close - p - 1), out->host, sizeof out->host))
            return bad_url("the host is not understood", err);
        host_end = close + 1;
    } else {
        const char *colon = memchr(p, ':', (size_t)(end - p));
        host_end = colon ? colon : end;
        if (!decode(p, (size_t)(host_end - p), out->host, sizeof out->host))
            return bad_url("the host is not understood", err);
    }
    if (host_end < end) {
        if (*host_end != ':')
            return bad_url("the host is not understood", err);
        char *stop = NULL;
        long port = strtol(host_end + 1, &stop, 10);
        if (stop != end || port < 1 || port > 65535)
            return bad_url("the port is not a number from 1 to 65535", err);
        out->port = (unsigned)port;
    }
    p = end;
    if (*p == '/') {
        size_t len = strcspn(p + 1, "?");
        if (!decode(p + 1, len, out->database, sizeof out->database))
            return bad_url("the database name is not understood", err);
        p += 1 + len;
    }
    if (!out->database[0])
        return bad_url("no database named", err);
    if (*p == '?') {
        for (const char *q = p + 1; *q;) {
            size_t len = strcspn(q, "&");
            const char *eq = memchr(q, '=', len);
            if (eq && (size_t)(eq - q) == 6 && strncmp(q, "socket", 6) == 0) {
                if (!decode(eq + 1, len - 7, out->socket, sizeof out->socket))
                    return bad_url("the socket path is not understood", err);
            } else {
                char *option = xasprintf("unknown url option '%.*s' (known: socket)", (int)len, q);
                int rc = uk_error_set(err, UK_E_CONFIG, 0, "%s", option);
                free(option);
                return rc;
            }
            q += len;
            if (*q == '&')
                q++;
        }
    }
    return 0;
}

/* The password from password_file, else the url's (wiped from T); NULL: the option files'. */
static int url_or_file_password(const ConfigDatabase *db, MyTarget *t, char **out, UkError *err)
{
    int rc = db_password_read(db, out, err);
    if (rc == 0 && !*out && t->has_password)
        *out = xstrdup(t->password);
    explicit_bzero(t->password, sizeof t->password);
    return rc;
}

MYSQL *my_connect(const ConfigDatabase *db, const char *database, UkError *err)
{
    MyTarget t;
    if (my_parse_url(db->url, &t, err) != 0)
        return NULL;
    char *password = NULL;
    if (my_lib_load(err) != 0 || url_or_file_password(db, &t, &password, err) != 0)
        return NULL;
    MYSQL *conn = my_fn.init(NULL);
    if (!conn) {
        db_password_forget(password);
        uk_error_set(err, UK_E_INTERNAL, 0, "out of memory");
        return NULL;
    }
    /* What the url leaves out comes from the option files' [client] group, as for the
     * client programs; a url's host and port mean TCP even for "localhost". */
    my_fn.optionsv(conn, MYSQL_READ_DEFAULT_GROUP, "client");
    unsigned timeout = 10;
    my_fn.optionsv(conn, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    my_fn.optionsv(conn, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    if (t.port && !t.socket[0]) {
        enum mysql_protocol_type tcp = MYSQL_PROTOCOL_TCP;
        my_fn.optionsv(conn, MYSQL_OPT_PROTOCOL, &tcp);
    }
    const char *db_name = database ? database : t.database;
    MYSQL *ok = my_fn.real_connect(conn, t.host[0] ? t.host : NULL, t.user[0] ? t.user : NULL,
                                   password, db_name[0] ? db_name : NULL, t.port,
                                   t.socket[0] ? t.socket : NULL, CLIENT_MULTI_STATEMENTS);
    db_password_forget(password);
    if (!ok) {
        char *shown = redact_url(db->url, true);
        uk_error_set(err, UK_E_DB, 0, "unable to connect to %s: %s", shown, my_fn.error(conn));
        free(shown);
        my_fn.close(conn);
        return NULL;
    }
    return conn;
}

int my_run(MYSQL *conn, const char *sql, UkError *err)
{
    if (my_fn.query(conn, sql) != 0)
        return uk_error_set(err, UK_E_DB, 0, "%s", my_fn.error(conn));
    /* Every statement's result, so that the connection is ready for the next query. */
    int status = 0;
    do {
        MYSQL_RES *res = my_fn.store_result(conn);
        my_fn.free_result(res);
        status = my_fn.next_result(conn);
        if (status > 0)
            return uk_error_set(err, UK_E_DB, 0, "%s", my_fn.error(conn));
    } while (status == 0);
    return 0;
}

MYSQL_RES *my_query(MYSQL *conn, const char *sql, UkError *err)
{
    if (my_fn.query(conn, sql) != 0) {
        uk_error_set(err, UK_E_DB, 0, "%s", my_fn.error(conn));
        return NULL;
    }
    MYSQL_RES *res = my_fn.store_result(conn);
    if (!res)
        uk_error_set(err, UK_E_DB, 0, "%s",
                     my_fn.errno_(conn) ? my_fn.error(conn) : "the statement returned no rows");
    return res;
}

char *my_quote(const char *name)
{
    size_t n = strlen(name), o = 0;
    char *out = xmalloc(2 * n + 3);
    out[o++] = '`';
    for (size_t i = 0; i < n; i++) {
        if (name[i] == '`')
            out[o++] = '`';
        out[o++] = name[i];
    }
    out[o++] = '`';
    out[o] = '\0';
    return out;
}

char *my_literal(MYSQL *conn, const char *text)
{
    size_t n = strlen(text);
    char *out = xmalloc(2 * n + 3);
    out[0] = '\'';
    unsigned long len = my_fn.real_escape_string(conn, out + 1, text, (unsigned long)n);
    out[len + 1] = '\'';
    out[len + 2] = '\0';
    return out;
}

int my_client_args(const ConfigDatabase *db, char ***args, char ***env, UkError *err)
{
    *args = NULL;
    *env = NULL;
    MyTarget t;
    if (my_parse_url(db->url, &t, err) != 0)
        return -1;
    char *password = NULL;
    if (url_or_file_password(db, &t, &password, err) != 0)
        return -1;
    char **a = xcalloc(8, sizeof *a);
    size_t n = 0;
    if (t.host[0])
        a[n++] = xasprintf("--host=%s", t.host);
    if (t.port)
        a[n++] = xasprintf("--port=%u", t.port);
    if (t.user[0])
        a[n++] = xasprintf("--user=%s", t.user);
    if (t.socket[0])
        a[n++] = xasprintf("--socket=%s", t.socket);
    else if (t.port)
        a[n++] = xstrdup("--protocol=TCP");
    char **e = xcalloc(2, sizeof *e);
    if (password)
        e[0] = xasprintf("MYSQL_PWD=%s", password);
    db_password_forget(password);
    *args = a;
    *env = e;
    return 0;
}

void my_client_free(char **args, char **env)
{
    for (size_t i = 0; args && args[i]; i++)
        free(args[i]);
    free(args);
    for (size_t i = 0; env && env[i]; i++)
        db_password_forget(env[i]);
    free(env);
}
