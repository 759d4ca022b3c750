#include "repo/storage/s3/s3_xml.h"

#include <expat.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

#define PATH_MAX_LEN 256
#define TEXT_MAX_LEN 4096 /* keys are at most 1024 bytes; error messages are short */

typedef struct Walk {
    char path[PATH_MAX_LEN];
    size_t path_len;
    char text[TEXT_MAX_LEN];
    size_t text_len;
    void (*visit)(void *ctx, const char *path, const char *text);
    void *ctx;
} Walk;

/* S3 answers in its namespace ("http://s3.amazonaws.com/doc/2006-03-01/"), which the parser
 * is not told about: names arrive as written, without a prefix. */
static void on_start(void *data, const char *name, const char **attrs)
{
    (void)attrs;
    Walk *w = data;
    size_t n = strlen(name);
    if (w->path_len + n + 2 < sizeof w->path) {
        if (w->path_len)
            w->path[w->path_len++] = '/';
        memcpy(w->path + w->path_len, name, n + 1);
        w->path_len += n;
    }
    w->text_len = 0;
    w->text[0] = '\0';
}

static void on_end(void *data, const char *name)
{
    Walk *w = data;
    if (w->text_len > 0)
        w->visit(w->ctx, w->path, w->text);
    w->text_len = 0;
    w->text[0] = '\0';
    size_t n = strlen(name);
    if (w->path_len >= n)
        w->path_len -= n;
    if (w->path_len > 0)
        w->path_len--; /* the separator */
    w->path[w->path_len] = '\0';
}

static void on_text(void *data, const char *s, int len)
{
    Walk *w = data;
    size_t n = (size_t)len;
    if (w->text_len + n >= sizeof w->text)
        n = sizeof w->text - 1 - w->text_len;
    memcpy(w->text + w->text_len, s, n);
    w->text_len += n;
    w->text[w->text_len] = '\0';
}

int s3_xml_walk(const char *xml, size_t len,
                void (*visit)(void *ctx, const char *path, const char *text), void *ctx)
{
    XML_Parser parser = XML_ParserCreate("UTF-8");
    if (!parser)
        return -1;
    Walk *w = xcalloc(1, sizeof *w);
    w->visit = visit;
    w->ctx = ctx;
    XML_SetUserData(parser, w);
    XML_SetElementHandler(parser, on_start, on_end);
    XML_SetCharacterDataHandler(parser, on_text);
    int rc = XML_Parse(parser, xml, (int)len, 1) == XML_STATUS_OK ? 0 : -1;
    XML_ParserFree(parser);
    free(w);
    return rc;
}

typedef struct First {
    const char *path;
    char *text;
} First;

static void keep_first(void *ctx, const char *path, const char *text)
{
    First *f = ctx;
    if (!f->text && strcmp(path, f->path) == 0)
        f->text = xstrdup(text);
}

char *s3_xml_first(const char *xml, size_t len, const char *path)
{
    First f = {path, NULL};
    if (s3_xml_walk(xml, len, keep_first, &f) != 0) {
        free(f.text);
        return NULL;
    }
    return f.text;
}
