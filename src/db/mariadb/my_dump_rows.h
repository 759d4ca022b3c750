/* Row counts of a mariadb-dump stream, read as it passes on its way into the repository.
 *
 * MariaDB cannot hand its snapshot to a second connection, so counts taken beside the dump
 * would see other rows than the dump's transaction did. The dump itself says exactly what a
 * restore will load: every table's CREATE TABLE, and its rows as the tuples of
 * `INSERT INTO `t` VALUES (…),(…);` lines. This counts those tuples, outside string literals
 * (quoted with ', escaped with \), in one pass over the bytes; and where the snapshot is in
 * the binary log, from the comments --master-data=2 --gtid write. */
#ifndef UK_MY_DUMP_ROWS_H
#define UK_MY_DUMP_ROWS_H

#include <stddef.h>
#include <stdint.h>

typedef struct MyDumpTable {
    char name[520]; /* 64 characters of up to 4 bytes, backquotes doubled */
    int64_t rows;
} MyDumpTable;

typedef struct MyDumpRows {
    MyDumpTable *tables;
    size_t n, cap;
    /* With binary logging: the dump's comments on where its snapshot is, as written
     * ("'binlog.000001', MASTER_LOG_POS=1089;" and "'0-1-5';"), or "". */
    char position[256];
    char gtid[256];
    /* the scanner's state */
    int state;
    char line[48]; /* the start of the current line, to recognise the statement */
    size_t line_len;
    char name[520];
    size_t name_len;
    int depth;
    MyDumpTable *current;
    char *capture; /* position or gtid, while CAPTURE */
    size_t capture_len;
} MyDumpRows;

void my_dump_rows_init(MyDumpRows *r);
void my_dump_rows_feed(MyDumpRows *r, const unsigned char *data, size_t len);
void my_dump_rows_free(MyDumpRows *r);

#endif
