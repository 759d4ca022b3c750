/* Tree entries as JSON Lines: readable by people and other tools, and compact enough once
 * compressed (about 60 bytes an entry). */
#include "tree/tree_entry.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

static const char *type_names[] = {"file", "dir", "symlink", "hardlink", "fifo"};

const char *tree_type_name(TreeType t)
{
    return type_names[t];
}

char *tree_entry_encode(const TreeEntry *e, bool spool)
{
    json_t *doc = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I}", "path", e->path, "type",
                            type_names[e->type], "mode", (json_int_t)e->mode, "uid",
                            (json_int_t)e->uid, "gid", (json_int_t)e->gid, "mtime",
                            (json_int_t)e->mtime_sec, "mtime_ns", (json_int_t)e->mtime_nsec);
    if (e->type == TREE_FILE) {
        json_object_set_new(doc, "size", json_integer((json_int_t)e->size));
        json_object_set_new(doc, "chunks", json_integer((json_int_t)e->chunks));
        json_object_set_new(doc, "ino", json_integer((json_int_t)e->ino));
        json_object_set_new(doc, "ctime", json_integer((json_int_t)e->ctime_sec));
        json_object_set_new(doc, "ctime_ns", json_integer((json_int_t)e->ctime_nsec));
        if (spool) {
            json_object_set_new(doc, "first", json_integer((json_int_t)e->first));
        } else {
            char hex[65];
            hex_encode(e->content, 32, hex);
            json_object_set_new(doc, "content", json_string(hex));
        }
    }
    if (e->target)
        json_object_set_new(doc, "target", json_string(e->target));
    if (e->changed)
        json_object_set_new(doc, "changed", json_true());
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    char *line = xasprintf("%s\n", text);
    free(text);
    return line;
}

bool tree_path_valid(const char *path)
{
    if (!path || !*path || *path == '/')
        return false;
    for (const char *p = path; *p;) {
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == 0 || (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
            return false;
        p += len;
        if (*p == '/' && !*++p)
            return false; /* a trailing '/' */
    }
    return true;
}

int tree_entry_decode(const char *line, size_t len, TreeEntry *e, UkError *err)
{
    memset(e, 0, sizeof *e);
    json_error_t jerr;
    json_t *doc = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return uk_error_set(err, UK_E_CORRUPT, 0, "tree entry is not JSON: %s", jerr.text);
    }
    const char *path = json_string_value(json_object_get(doc, "path"));
    const char *type = json_string_value(json_object_get(doc, "type"));
    const char *target = json_string_value(json_object_get(doc, "target"));
    const char *content = json_string_value(json_object_get(doc, "content"));
    int t = -1;
    for (int i = 0; type && i < (int)(sizeof type_names / sizeof *type_names); i++)
        if (strcmp(type, type_names[i]) == 0)
            t = i;
    int rc = 0;
    if (!tree_path_valid(path) || t < 0 || ((t == TREE_SYMLINK || t == TREE_HARDLINK) && !target) ||
        (t == TREE_HARDLINK && !tree_path_valid(target))) {
        rc = uk_error_set(err, UK_E_CORRUPT, 0, "tree entry '%.200s' is not valid",
                          path ? path : "(no path)");
    } else {
        e->path = xstrdup(path);
        e->type = (TreeType)t;
        e->mode = (uint32_t)json_integer_value(json_object_get(doc, "mode")) & 07777;
        e->uid = (uint32_t)json_integer_value(json_object_get(doc, "uid"));
        e->gid = (uint32_t)json_integer_value(json_object_get(doc, "gid"));
        e->mtime_sec = json_integer_value(json_object_get(doc, "mtime"));
        e->mtime_nsec = (long)json_integer_value(json_object_get(doc, "mtime_ns"));
        bool file = t == TREE_FILE, linked = t == TREE_SYMLINK || t == TREE_HARDLINK;
        e->size = file ? (uint64_t)json_integer_value(json_object_get(doc, "size")) : 0;
        e->chunks = file ? (uint64_t)json_integer_value(json_object_get(doc, "chunks")) : 0;
        e->first = (uint64_t)json_integer_value(json_object_get(doc, "first"));
        e->changed = json_is_true(json_object_get(doc, "changed"));
        e->ino = (uint64_t)json_integer_value(json_object_get(doc, "ino"));
        e->ctime_sec = json_integer_value(json_object_get(doc, "ctime"));
        e->ctime_nsec = (long)json_integer_value(json_object_get(doc, "ctime_ns"));
        e->target = target && linked ? xstrdup(target) : NULL; /* others have none */
        if (content && hex_decode(content, e->content, 32) != 0)
            rc = uk_error_set(err, UK_E_CORRUPT, 0, "tree entry '%.200s' has a bad content hash",
                              path);
        if (e->chunks > e->size || (e->size > 0 && e->chunks == 0))
            rc = uk_error_set(err, UK_E_CORRUPT, 0,
                              "tree entry '%.200s' has %llu chunks for %llu "
                              "bytes",
                              path, (unsigned long long)e->chunks, (unsigned long long)e->size);
    }
    json_decref(doc);
    if (rc != 0)
        tree_entry_clear(e);
    return rc;
}

void tree_entry_clear(TreeEntry *e)
{
    free(e->path);
    free(e->target);
    e->path = e->target = NULL;
}

int tree_path_cmp(const char *a, const char *b)
{
    for (;;) {
        size_t la = strcspn(a, "/"), lb = strcspn(b, "/");
        size_t n = la < lb ? la : lb;
        int c = memcmp(a, b, n);
        if (c != 0)
            return c;
        if (la != lb)
            return la < lb ? -1 : 1;
        a += la;
        b += lb;
        if (!*a || !*b)
            return *a ? 1 : *b ? -1 : 0;
        a++;
        b++;
    }
}

bool tree_path_within(const char *path, const char *folder)
{
    size_t n = strlen(folder);
    return n == 0 || (strncmp(path, folder, n) == 0 && (path[n] == '\0' || path[n] == '/'));
}
