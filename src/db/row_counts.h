/* The row counts a server backup records ("tables": {name: rows} in its details) against
 * those of a database it was loaded into, for verify. */
#ifndef UK_ROW_COUNTS_H
#define UK_ROW_COUNTS_H

#include <jansson.h>
#include <stddef.h>

/* Compares every table DETAILS recorded with ACTUAL ({name: rows}); at the first that differs
 * (or is missing) writes why into RESULT and returns -1, else returns how many matched. */
long row_counts_compare(const char *details, json_t *actual, char *result, size_t len);

#endif
