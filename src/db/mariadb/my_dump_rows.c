#include "db/mariadb/my_dump_rows.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

enum {
    LINE_START, /* reading a line's first bytes */
    SKIP_LINE,  /* a line that is not one we count */
    NAME,       /* inside `…` after CREATE TABLE or INSERT INTO */
    NAME_TICK,  /* a ` inside the name: the end, or the first of a doubled one */
    AFTER_NAME, /* up to VALUES' first tuple */
    TUPLES,     /* between and inside the tuples */
    STRING,     /* inside '…' */
    ESCAPE,     /* after \ inside a string */
    CAPTURE,    /* the rest of a line the caller wants (a binary log position) */
};

static const char create_prefix[] = "CREATE TABLE `";
static const char insert_prefix[] = "INSERT INTO `";
/* Written by --master-data=2 --gtid as comments: where the snapshot is in the binary log. */
static const char position_prefix[] = "-- CHANGE MASTER TO MASTER_LOG_FILE=";
static const char gtid_prefix[] = "-- SET GLOBAL gtid_slave_pos=";

static const char *const prefixes[] = {create_prefix, insert_prefix, position_prefix, gtid_prefix};

void my_dump_rows_init(MyDumpRows *r)
{
    memset(r, 0, sizeof *r);
}

static MyDumpTable *table(MyDumpRows *r, const char *name)
{
    for (size_t i = r->n; i > 0; i--) /* INSERTs follow their CREATE TABLE */
        if (strcmp(r->tables[i - 1].name, name) == 0)
            return &r->tables[i - 1];
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 64;
        r->tables = xrealloc(r->tables, r->cap * sizeof *r->tables);
    }
    MyDumpTable *t = &r->tables[r->n++];
    memset(t, 0, sizeof *t);
    memcpy(t->name, name, strlen(name) + 1);
    return t;
}

static void name_done(MyDumpRows *r)
{
    r->name[r->name_len] = '\0';
    bool insert = strncmp(r->line, insert_prefix, sizeof insert_prefix - 1) == 0;
    MyDumpTable *t = table(r, r->name);
    r->current = insert ? t : NULL;
    r->state = insert ? AFTER_NAME : SKIP_LINE;
}

/* Where the bytes from FROM on leave a state that only waits for some byte: the next line
 * (SKIP_LINE) or the string's next quote or backslash (STRING), found with memchr, which
 * reads many bytes per step. Most of a dump is string literals, so this is what keeps the
 * count from costing as much as compressing the stream. Returns len when none is there. */
static size_t skip_ahead(int state, const unsigned char *data, size_t from, size_t len)
{
    if (state == SKIP_LINE) {
        const unsigned char *nl = memchr(data + from, '\n', len - from);
        return nl ? (size_t)(nl - data) : len;
    }
    const unsigned char *quote = memchr(data + from, '\'', len - from);
    size_t end = quote ? (size_t)(quote - data) : len;
    const unsigned char *escape = memchr(data + from, '\\', end - from);
    return escape ? (size_t)(escape - data) : end;
}

void my_dump_rows_feed(MyDumpRows *r, const unsigned char *data, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (r->state == SKIP_LINE || r->state == STRING) {
            i = skip_ahead(r->state, data, i, len);
            if (i == len)
                break;
        }
        char c = (char)data[i];
        switch (r->state) {
        case LINE_START: {
            if (c == '\n') {
                r->line_len = 0;
                break;
            }
            r->line[r->line_len++] = c;
            r->line[r->line_len] = '\0';
            bool maybe = false;
            for (size_t p = 0; p < sizeof prefixes / sizeof prefixes[0]; p++) {
                if (strncmp(prefixes[p], r->line, r->line_len) != 0)
                    continue;
                maybe = true;
                if (r->line_len < strlen(prefixes[p]))
                    continue;
                if (p < 2) {
                    r->state = NAME;
                    r->name_len = 0;
                } else {
                    r->state = CAPTURE;
                    r->capture = p == 2 ? r->position : r->gtid;
                    r->capture_len = 0;
                }
            }
            if (!maybe)
                r->state = SKIP_LINE;
            break;
        }
        case SKIP_LINE:
            if (c == '\n') {
                r->state = LINE_START;
                r->line_len = 0;
            }
            break;
        case NAME:
            if (c == '`')
                r->state = NAME_TICK;
            else if (r->name_len + 1 < sizeof r->name)
                r->name[r->name_len++] = c;
            break;
        case NAME_TICK:
            if (c == '`') { /* a doubled backquote: part of the name */
                if (r->name_len + 1 < sizeof r->name)
                    r->name[r->name_len++] = c;
                r->state = NAME;
            } else {
                name_done(r);
                if (r->state == AFTER_NAME && c == '(') { /* the byte after the name */
                    r->state = TUPLES;
                    r->depth = 1;
                    r->current->rows++;
                }
            }
            break;
        case AFTER_NAME:
            if (c == '(') {
                r->state = TUPLES;
                r->depth = 1;
                r->current->rows++;
            } else if (c == ';') { /* VALUES may end its line: tuples follow on others */
                r->state = SKIP_LINE;
            }
            break;
        case TUPLES:
            if (c == '\'')
                r->state = STRING;
            else if (c == '(' && r->depth++ == 0)
                r->current->rows++;
            else if (c == ')')
                r->depth--;
            else if (c == ';' && r->depth == 0)
                r->state = SKIP_LINE;
            break;
        case STRING:
            if (c == '\\')
                r->state = ESCAPE;
            else if (c == '\'')
                r->state = TUPLES;
            break;
        case ESCAPE: r->state = STRING; break;
        case CAPTURE:
            if (c == '\n') {
                r->capture[r->capture_len] = '\0';
                r->state = LINE_START;
                r->line_len = 0;
            } else if (r->capture_len + 1 < sizeof r->position) {
                r->capture[r->capture_len++] = c;
            }
            break;
        }
    }
}

void my_dump_rows_free(MyDumpRows *r)
{
    free(r->tables);
    memset(r, 0, sizeof *r);
}
