#include "task/row_input.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "common/util.h"
#include "task/row_output.h"

#define IN_CHUNK (128 * 1024)

struct RowInput {
    char *path;
    const char *format;
    /* The bytes: gzread reads plain files and gzip alike; zstd through its stream. */
    gzFile gz;
    FILE *file;
    ZSTD_DStream *zstd;
    ZSTD_inBuffer zin;
    unsigned char *zin_buf;
    char *buf; /* decoded bytes not yet consumed: [pos, len) */
    size_t pos, len, cap;
    bool eof;
    /* The current record. */
    char **names;
    size_t n_names;
    DbValue *values;
    char **owned; /* the values' bytes */
    size_t n, cap_values;
    json_t *array; /* a .json file, read whole */
    size_t array_pos;
    uint64_t count;
};

/* Appends more decoded bytes to the buffer; 0 at the end of the file. */
static int fill(RowInput *in, UkError *err)
{
    if (in->eof)
        return 0;
    if (in->pos > 0) { /* keep the unread tail at the front */
        memmove(in->buf, in->buf + in->pos, in->len - in->pos);
        in->len -= in->pos;
        in->pos = 0;
    }
    if (in->cap - in->len < IN_CHUNK) {
        in->cap = in->cap * 2 + IN_CHUNK;
        in->buf = xrealloc(in->buf, in->cap + 1);
    }
    if (in->gz) {
        int n = gzread(in->gz, in->buf + in->len, IN_CHUNK);
        if (n < 0) {
            int code;
            return uk_error_set(err, UK_E_CORRUPT, 0, "'%s': %s", in->path, gzerror(in->gz, &code));
        }
        in->len += (size_t)n;
        in->eof = n == 0;
        return n > 0;
    }
    size_t before = in->len;
    while (in->len == before) {
        if (in->zin.pos == in->zin.size) {
            in->zin.size = fread(in->zin_buf, 1, IN_CHUNK, in->file);
            in->zin.pos = 0;
            if (in->zin.size == 0) {
                in->eof = true;
                return 0;
            }
        }
        ZSTD_outBuffer out = {in->buf + in->len, in->cap - in->len, 0};
        size_t r = ZSTD_decompressStream(in->zstd, &out, &in->zin);
        if (ZSTD_isError(r))
            return uk_error_set(err, UK_E_CORRUPT, 0, "'%s': %s", in->path, ZSTD_getErrorName(r));
        in->len += out.pos;
    }
    return 1;
}

RowInput *row_input_open(const char *path, UkError *err)
{
    const char *format, *compress;
    if (row_output_kind(path, &format, &compress, err) != 0)
        return NULL;
    RowInput *in = xcalloc(1, sizeof *in);
    in->path = xstrdup(path);
    in->format = format;
    if (strcmp(compress, "zstd") == 0) {
        in->file = fopen(path, "rb");
        in->zstd = ZSTD_createDStream();
        in->zin_buf = xmalloc(IN_CHUNK);
        in->zin = (ZSTD_inBuffer){in->zin_buf, 0, 0};
    } else {
        in->gz = gzopen(path, "rb");
    }
    if (!in->gz && !in->file) {
        uk_error_set(err, UK_E_NOTFOUND, errno, "unable to read '%s'", path);
        row_input_close(in);
        return NULL;
    }
    return in;
}

uint64_t row_input_count(const RowInput *in)
{
    return in->count;
}

static void clear_record(RowInput *in)
{
    for (size_t i = 0; i < in->n; i++)
        free(in->owned[i]);
    in->n = 0;
}

static void add_value(RowInput *in, DbValueType type, char *bytes, size_t len, double real)
{
    if (in->n == in->cap_values) {
        in->cap_values = in->cap_values * 2 + 16;
        in->values = xrealloc(in->values, in->cap_values * sizeof *in->values);
        in->owned = xrealloc(in->owned, in->cap_values * sizeof *in->owned);
    }
    in->owned[in->n] = bytes;
    in->values[in->n++] =
        (DbValue){.type = type, .data = type == DB_NULL ? NULL : bytes, .len = len, .real = real};
}

static char *hex_bytes(const char *hex, size_t *len)
{
    size_t n = strlen(hex) / 2;
    char *out = xmalloc(n + 1);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1) {
            free(out);
            return NULL;
        }
        out[i] = (char)v;
    }
    out[n] = '\0';
    *len = n;
    return out;
}

/* One JSON value as row_output wrote it. */
static int json_to_value(RowInput *in, json_t *v, UkError *err)
{
    char num[64];
    if (json_is_null(v)) {
        add_value(in, DB_NULL, NULL, 0, 0);
    } else if (json_is_boolean(v)) {
        add_value(in, DB_INTEGER, xstrdup(json_is_true(v) ? "1" : "0"), 1, 0);
    } else if (json_is_integer(v)) {
        snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
        add_value(in, DB_INTEGER, xstrdup(num), strlen(num), 0);
    } else if (json_is_real(v)) {
        snprintf(num, sizeof num, "%.17g", json_real_value(v));
        add_value(in, DB_REAL, xstrdup(num), strlen(num), json_real_value(v));
    } else if (json_is_string(v)) {
        size_t len = json_string_length(v);
        char *s = xmalloc(len + 1);
        memcpy(s, json_string_value(v), len + 1);
        add_value(in, DB_TEXT, s, len, 0);
    } else if (json_is_object(v) && json_object_size(v) == 1) {
        const char *key = json_object_iter_key(json_object_iter(v));
        const char *text = json_string_value(json_object_iter_value(json_object_iter(v)));
        size_t len = 0;
        char *bytes = NULL;
        if (text && (strcmp(key, "hex") == 0 || strcmp(key, "text_hex") == 0) &&
            (bytes = hex_bytes(text, &len))) {
            add_value(in, key[0] == 'h' ? DB_BLOB : DB_TEXT, bytes, len, 0);
        } else if (text && strcmp(key, "real") == 0) {
            double real = strcmp(text, "Infinity") == 0    ? INFINITY
                          : strcmp(text, "-Infinity") == 0 ? -INFINITY
                                                           : NAN;
            add_value(in, DB_REAL, xstrdup(text), strlen(text), real);
        } else {
            return uk_error_set(err, UK_E_FORMAT, 0,
                                "'%s', record %llu: an object value that is neither {\"hex\": "
                                "…}, {\"text_hex\": …} nor {\"real\": …}",
                                in->path, (unsigned long long)in->count + 1);
        }
    } else {
        return uk_error_set(err, UK_E_FORMAT, 0,
                            "'%s', record %llu: arrays and objects are not column values", in->path,
                            (unsigned long long)in->count + 1);
    }
    return 0;
}

static int json_record(RowInput *in, json_t *obj, UkError *err)
{
    if (!json_is_object(obj))
        return uk_error_set(err, UK_E_FORMAT, 0, "'%s', record %llu: not a JSON object", in->path,
                            (unsigned long long)in->count + 1);
    for (size_t i = 0; i < in->n_names; i++)
        free(in->names[i]);
    in->n_names = 0;
    in->names = xrealloc(in->names, (json_object_size(obj) + 1) * sizeof *in->names);
    const char *key;
    json_t *value;
    json_object_foreach (obj, key, value) {
        in->names[in->n_names++] = xstrdup(key);
        if (json_to_value(in, value, err) != 0)
            return -1;
    }
    return 0;
}

/* The next line, without its end; NULL at the end of the file. */
static char *next_line(RowInput *in, size_t *len, UkError *err)
{
    for (;;) {
        char *start = in->buf + in->pos;
        char *nl = in->pos < in->len ? memchr(start, '\n', in->len - in->pos) : NULL;
        if (nl) {
            *len = (size_t)(nl - start);
            in->pos += *len + 1;
            return start;
        }
        int rc = fill(in, err);
        if (rc < 0)
            return NULL;
        if (rc == 0) {
            if (in->pos == in->len)
                return NULL;
            start = in->buf + in->pos; /* a last line without its end */
            *len = in->len - in->pos;
            in->pos = in->len;
            return start;
        }
    }
}

/* One CSV record (RFC 4180: quoted fields may hold commas, quotes doubled and line breaks)
 * into the record's values; 0 at the end. */
static int csv_record(RowInput *in, UkError *err)
{
    size_t len = 0;
    char *line = next_line(in, &len, err);
    if (!line)
        return err->code ? -1 : 0;
    char *field = NULL;
    size_t flen = 0, fcap = 0;
    bool quoted = false, in_quotes = false;
    for (size_t i = 0;; i++) {
        if (i == len && in_quotes) { /* a line break inside quotes: the record goes on */
            if (flen + 1 >= fcap)
                field = xrealloc(field, fcap = fcap * 2 + 64);
            field[flen++] = '\n';
            line = next_line(in, &len, err);
            if (!line) {
                free(field);
                return err->code ? -1
                                 : uk_error_set(err, UK_E_FORMAT, 0,
                                                "'%s', record %llu: a quoted field never ends",
                                                in->path, (unsigned long long)in->count + 1);
            }
            i = (size_t)-1;
            continue;
        }
        char c = i < len ? line[i] : ',';
        bool end = i == len;
        if (in_quotes) {
            if (c == '"' && i + 1 < len && line[i + 1] == '"') {
                c = '"';
                i++;
            } else if (c == '"') {
                in_quotes = false;
                continue;
            }
        } else if (c == '"' && flen == 0 && !quoted) {
            in_quotes = quoted = true;
            continue;
        } else if (c == '\r' && i + 1 == len) {
            continue;
        } else if (c == ',') {
            if (!field)
                field = xmalloc(1);
            field[flen] = '\0';
            if (flen == 0 && !quoted) {
                free(field);
                add_value(in, DB_NULL, NULL, 0, 0);
            } else {
                add_value(in, DB_TEXT, field, flen, 0);
            }
            field = NULL;
            flen = fcap = 0;
            quoted = false;
            if (end)
                break;
            continue;
        }
        if (flen + 1 >= fcap)
            field = xrealloc(field, fcap = fcap * 2 + 64);
        field[flen++] = c;
    }
    return 1;
}

int row_input_next(void *input, size_t *n, const char *const **names, const DbValue **values,
                   UkError *err)
{
    RowInput *in = input;
    clear_record(in);
    int rc;
    if (strcmp(in->format, "csv") == 0) {
        if (in->count == 0 && in->n_names == 0) { /* the header */
            if ((rc = csv_record(in, err)) <= 0)
                return rc;
            in->names = xcalloc(in->n + 1, sizeof *in->names);
            for (size_t i = 0; i < in->n; i++)
                in->names[i] = xstrdup(in->values[i].data ? in->values[i].data : "");
            in->n_names = in->n;
            clear_record(in);
        }
        if ((rc = csv_record(in, err)) <= 0)
            return rc;
        if (in->n != in->n_names)
            return uk_error_set(err, UK_E_FORMAT, 0,
                                "'%s', record %llu: %zu fields where the header has %zu", in->path,
                                (unsigned long long)in->count + 1, in->n, in->n_names);
    } else if (strcmp(in->format, "jsonl") == 0) {
        size_t len = 0;
        char *line;
        do
            line = next_line(in, &len, err);
        while (line && len == 0); /* blank lines */
        if (!line)
            return err->code ? -1 : 0;
        json_error_t jerr;
        json_t *obj = json_loadb(line, len, 0, &jerr);
        if (!obj)
            return uk_error_set(err, UK_E_FORMAT, 0, "'%s', record %llu: %s", in->path,
                                (unsigned long long)in->count + 1, jerr.text);
        rc = json_record(in, obj, err);
        json_decref(obj);
        if (rc != 0)
            return -1;
    } else {
        if (!in->array) {
            while ((rc = fill(in, err)) > 0)
                ;
            if (rc < 0)
                return -1;
            json_error_t jerr;
            in->array = json_loadb(in->buf, in->len, 0, &jerr);
            if (!json_is_array(in->array))
                return uk_error_set(err, UK_E_FORMAT, 0, "'%s': not a JSON array%s%s", in->path,
                                    in->array ? "" : ": ", in->array ? "" : jerr.text);
        }
        if (in->array_pos == json_array_size(in->array))
            return 0;
        if (json_record(in, json_array_get(in->array, in->array_pos++), err) != 0)
            return -1;
    }
    in->count++;
    *n = in->n;
    *names = (const char *const *)in->names;
    *values = in->values;
    return 1;
}

void row_input_close(RowInput *in)
{
    if (!in)
        return;
    clear_record(in);
    for (size_t i = 0; i < in->n_names; i++)
        free(in->names[i]);
    free(in->names);
    free(in->values);
    free(in->owned);
    if (in->gz)
        gzclose(in->gz);
    if (in->file)
        fclose(in->file);
    ZSTD_freeDStream(in->zstd);
    free(in->zin_buf);
    free(in->buf);
    json_decref(in->array);
    free(in->path);
    free(in);
}
