/* Rows as files a person or another tool reads: JSON Lines, one JSON array, or CSV, plain or
 * compressed (zstd, gzip), chosen by the file's name (forms.jsonl.zst, users.csv, r.json).
 * Values lose nothing: numbers and strings as such; as one-key objects in JSON what JSON
 * cannot hold: {"hex": …} bytes, {"text_hex": …} text that is not UTF-8, {"real": "Infinity"};
 * in CSV NULL is an empty field, the empty string "", bytes \x and hex digits, REALs 17
 * significant digits. A file is written under a temporary name beside it, synced and renamed:
 * it is complete or absent. Reports, exports and file archives share it. */
#ifndef UK_ROW_OUTPUT_H
#define UK_ROW_OUTPUT_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "core/error.h"
#include "db/row_store.h"

typedef struct RowOutput RowOutput;

/* The format (jsonl, json, csv) and compression (none, zstd, gzip) PATH's name asks for; -1
 * with err set when it names none. */
int row_output_kind(const char *path, const char **format, const char **compress, UkError *err);

RowOutput *row_output_open(const char *path, UkError *err);
/* A QueryRow: appends a row (the announced columns are the CSV header). */
int row_output_row(void *output, size_t n, const char *const *names, const DbValue *values);
/* Finishes, syncs and renames the file into place; *rows gets how many it holds. After a
 * failed row_output_row it removes the file and returns that failure. */
int row_output_close(RowOutput *o, uint64_t *rows, UkError *err);
/* Removes what was written (after a failed query). */
void row_output_abort(RowOutput *o);

json_t *row_output_json_value(const DbValue *v);
void row_output_csv_text(FILE *out, const char *text, size_t n, bool force_quotes);
void row_output_csv_field(FILE *out, const DbValue *v);

#endif
