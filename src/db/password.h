/* A server database's password, from its password_file: read when a connection or a child
 * (a dump tool) needs it, wiped from memory as soon as that is done. */
#ifndef UK_DB_PASSWORD_H
#define UK_DB_PASSWORD_H

#include "core/config.h"
#include "core/error.h"

/* The password from password_file (its first line), or NULL when there is none; give it
 * back with db_password_forget, which wipes it. */
int db_password_read(const ConfigDatabase *db, char **out, UkError *err);
void db_password_forget(char *secret);
/* Config time: a url with user:password@ and a password_file as well is an error (which one
 * would win is a guess); the message shows the url redacted. */
int db_password_once(const ConfigDatabase *db, UkError *err);

#endif
