/* Rows from files, the inverse of row_output: JSON Lines, a JSON array or CSV with a header
 * line, plain or compressed (zstd, gzip), chosen by the file's name. Values come back as
 * row_output wrote them: numbers, strings, null; {"hex": …} as bytes, {"text_hex": …} as
 * text, {"real": "Infinity"}; true and false as 1 and 0. In CSV an unquoted empty field is
 * NULL and every other field text (the database converts it by its column's type). JSON Lines
 * and CSV are read as a stream; a JSON array is read whole. */
#ifndef UK_ROW_INPUT_H
#define UK_ROW_INPUT_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "db/row_store.h"

typedef struct RowInput RowInput;

RowInput *row_input_open(const char *path, UkError *err);
/* An ImportNext: 1 with the next record (valid until the next call), 0 at the end, -1 with
 * err naming the file and the record. */
int row_input_next(void *input, size_t *n, const char *const **names, const DbValue **values,
                   UkError *err);
/* Records read so far. */
uint64_t row_input_count(const RowInput *in);
void row_input_close(RowInput *in);

#endif
