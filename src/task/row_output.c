#include "task/row_output.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "filter/compress_file.h"

struct RowOutput {
    char *path, *dir, *tmp_name; /* tmp_name: in DIR */
    const char *format, *compress;
    FILE *out;
    uint64_t rows;
    bool failed;
    UkError error;
};

static bool ends_with(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

int row_output_kind(const char *path, const char **format, const char **compress, UkError *err)
{
    size_t n = strlen(path);
    *compress = "none";
    if (ends_with(path, n, ".zst")) {
        *compress = "zstd";
        n -= 4;
    } else if (ends_with(path, n, ".gz")) {
        *compress = "gzip";
        n -= 3;
    }
    *format = ends_with(path, n, ".jsonl")  ? "jsonl"
              : ends_with(path, n, ".json") ? "json"
              : ends_with(path, n, ".csv")  ? "csv"
                                            : NULL;
    if (!*format)
        return uk_error_set(err, UK_E_CONFIG, 0,
                            "'%s': the name says no format (end it in .jsonl, .json or .csv, "
                            "and .zst or .gz to compress)",
                            path);
    return 0;
}

static json_t *hex_object(const char *key, const void *data, size_t n)
{
    char *hex = xmalloc(2 * n + 1);
    hex_encode((const unsigned char *)data, n, hex);
    json_t *v = json_pack("{s:s}", key, hex);
    free(hex);
    return v;
}

json_t *row_output_json_value(const DbValue *v)
{
    switch (v->type) {
    case DB_NULL: return json_null();
    case DB_INTEGER: {
        char *end = NULL;
        errno = 0;
        long long i = strtoll(v->data, &end, 10);
        if (errno == 0 && end == v->data + v->len)
            return json_integer(i);
        return json_stringn(v->data, v->len); /* beyond 64 bits: its digits */
    }
    case DB_REAL:
        if (isinf(v->real))
            return json_pack("{s:s}", "real", v->real > 0 ? "Infinity" : "-Infinity");
        if (isnan(v->real))
            return json_pack("{s:s}", "real", "NaN");
        return json_real(v->real);
    case DB_TEXT: {
        json_t *s = json_stringn(v->data, v->len);
        return s ? s : hex_object("text_hex", v->data, v->len);
    }
    case DB_BLOB: return hex_object("hex", v->data, v->len);
    }
    return json_null();
}

/* RFC 4180: a field with a comma, quote, CR or LF is quoted, quotes doubled. */
void row_output_csv_text(FILE *out, const char *text, size_t n, bool force_quotes)
{
    bool quote = force_quotes;
    for (size_t i = 0; i < n && !quote; i++)
        quote = text[i] == ',' || text[i] == '"' || text[i] == '\r' || text[i] == '\n';
    if (quote)
        fputc('"', out);
    for (size_t i = 0; i < n; i++) {
        if (text[i] == '"')
            fputc('"', out);
        fputc(text[i], out);
    }
    if (quote)
        fputc('"', out);
}

void row_output_csv_field(FILE *out, const DbValue *v)
{
    switch (v->type) {
    case DB_NULL: return;
    case DB_REAL:
        if (isinf(v->real))
            fputs(v->real > 0 ? "Infinity" : "-Infinity", out);
        else
            fprintf(out, "%.17g", v->real);
        return;
    case DB_BLOB: {
        char *hex = xmalloc(2 * v->len + 1);
        hex_encode((const unsigned char *)v->data, v->len, hex);
        fprintf(out, "\\x%s", hex);
        free(hex);
        return;
    }
    case DB_INTEGER:
    case DB_TEXT: row_output_csv_text(out, v->data, v->len, v->type == DB_TEXT && v->len == 0);
    }
}

RowOutput *row_output_open(const char *path, UkError *err)
{
    const char *format, *compress;
    if (row_output_kind(path, &format, &compress, err) != 0)
        return NULL;
    char *dir = path_dirname(path);
    if (mkdir_p(dir, 0755, err) != 0) { /* reports/ for reports/x.csv, made on first use */
        free(dir);
        return NULL;
    }
    RowOutput *o = xcalloc(1, sizeof *o);
    o->path = xstrdup(path);
    o->dir = dir;
    o->format = format;
    o->compress = compress;
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    o->tmp_name = xasprintf(".%s.upkeep-%ld", base, (long)getpid());
    char *tmp = path_join(o->dir, o->tmp_name);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    free(tmp);
    if (fd < 0 || !(o->out = fdopen(fd, "w"))) {
        uk_error_set(err, UK_E_IO, errno, "unable to write '%s'", path);
        if (fd >= 0)
            close(fd);
        free(o->path);
        free(o->dir);
        free(o->tmp_name);
        free(o);
        return NULL;
    }
    if (strcmp(format, "json") == 0)
        fputc('[', o->out);
    return o;
}

int row_output_row(void *output, size_t n, const char *const *names, const DbValue *values)
{
    RowOutput *o = output;
    if (!values) { /* the columns: CSV's header */
        if (strcmp(o->format, "csv") == 0) {
            for (size_t i = 0; i < n; i++) {
                if (i)
                    fputc(',', o->out);
                row_output_csv_text(o->out, names[i], strlen(names[i]), false);
            }
            fputc('\n', o->out);
        }
        return 0;
    }
    if (strcmp(o->format, "csv") == 0) {
        for (size_t i = 0; i < n; i++) {
            if (i)
                fputc(',', o->out);
            row_output_csv_field(o->out, &values[i]);
        }
        fputc('\n', o->out);
    } else {
        json_t *row = json_object();
        for (size_t i = 0; i < n; i++)
            json_object_set_new(row, names[i], row_output_json_value(&values[i]));
        char *line = json_dumps(row, JSON_COMPACT | JSON_PRESERVE_ORDER);
        bool array = strcmp(o->format, "json") == 0;
        fprintf(o->out, "%s%s%s", array && o->rows ? "," : "", array ? "\n" : "", line);
        if (!array)
            fputc('\n', o->out);
        free(line);
        json_decref(row);
    }
    o->rows++;
    if (ferror(o->out)) {
        o->failed = true;
        return uk_error_set(&o->error, UK_E_IO, errno, "unable to write '%s'", o->path);
    }
    return 0;
}

static void discard(RowOutput *o)
{
    char *tmp = path_join(o->dir, o->tmp_name);
    unlink(tmp);
    free(tmp);
    free(o->path);
    free(o->dir);
    free(o->tmp_name);
    free(o);
}

void row_output_abort(RowOutput *o)
{
    if (!o)
        return;
    fclose(o->out);
    discard(o);
}

int row_output_close(RowOutput *o, uint64_t *rows, UkError *err)
{
    if (strcmp(o->format, "json") == 0)
        fputs(o->rows ? "\n]\n" : "]\n", o->out);
    bool ok = !o->failed && fflush(o->out) == 0 && fsync(fileno(o->out)) == 0;
    /* A row that could not be written leaves its error here for the caller. */
    int e = errno;
    if (fclose(o->out) != 0 && ok) {
        ok = false;
        e = errno;
    }
    o->out = NULL;
    if (!ok) {
        if (o->failed)
            *err = o->error;
        else
            uk_error_set(err, UK_E_IO, e, "unable to write '%s'", o->path);
        discard(o);
        return -1;
    }
    int dirfd = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    char *ready = xstrdup(o->tmp_name);
    int rc = dirfd < 0 ? uk_error_set(err, UK_E_IO, errno, "unable to open '%s'", o->dir) : 0;
    if (rc == 0 && strcmp(o->compress, "none") != 0) {
        /* compress_file writes NAME.SUFFIX beside NAME, synced, and removes NAME. */
        rc = compress_file(dirfd, o->tmp_name, o->compress, err);
        free(ready);
        ready = xasprintf("%s%s", o->tmp_name, compress_file_suffix(o->compress));
    }
    const char *base = strrchr(o->path, '/') ? strrchr(o->path, '/') + 1 : o->path;
    if (rc == 0 && renameat(dirfd, ready, dirfd, base) != 0)
        rc = uk_error_set(err, UK_E_IO, errno, "unable to rename into '%s'", o->path);
    if (rc == 0)
        fsync(dirfd);
    else
        unlinkat(dirfd, ready, 0);
    if (dirfd >= 0)
        close(dirfd);
    free(ready);
    *rows = o->rows;
    discard(o);
    return rc;
}
