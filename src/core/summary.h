#ifndef UK_SUMMARY_H
#define UK_SUMMARY_H

#include <stddef.h>

/* "backup <id>: image 100.4 MiB, stored 1.1 MiB new (318 new chunks, 12538 reused), verified
 * ok", "deleted 120 rows in 3 transactions ...". Empty when the summary says nothing. */
void run_summary_line(const char *summary_json, char *buf, size_t len);

#endif
