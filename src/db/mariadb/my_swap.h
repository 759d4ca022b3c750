/* restore --in-place on MariaDB: puts a restored database's tables and objects in the place of
 * the live one's, which are kept aside in a database of their own (db_swap_in in db.h). */
#ifndef UK_MY_SWAP_H
#define UK_MY_SWAP_H

#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"
#include "core/error.h"

int my_swap_in(const ConfigDatabase *db, const char *restored, bool force, char *kept_aside,
               size_t len, UkError *err);

#endif
