#include "core/env_expand.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

typedef struct {
    char *data;
    size_t len, cap;
} Text;

static void append(Text *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        t->cap = (t->len + n + 1) * 2;
        t->data = xrealloc(t->data, t->cap);
    }
    memcpy(t->data + t->len, s, n);
    t->len += n;
    t->data[t->len] = '\0';
}

static bool is_name(const char *s, size_t n)
{
    if (n == 0 || isdigit((unsigned char)s[0]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_')
            return false;
    return true;
}

void env_names(const char *text, void (*fn)(const char *name, void *arg), void *arg)
{
    for (const char *p = text; (p = strstr(p, "${")) != NULL;) {
        if (p > text && p[-1] == '$') { /* $${: a literal */
            p += 2;
            continue;
        }
        const char *start = p + 2, *close = strchr(start, '}');
        if (!close)
            return;
        const char *sep = strstr(start, ":-");
        size_t n = (size_t)((sep && sep < close ? sep : close) - start);
        char name[256];
        if (is_name(start, n) && n < sizeof name) {
            memcpy(name, start, n);
            name[n] = '\0';
            fn(name, arg);
        }
        p = close + 1;
    }
}

int env_expand(const char *text, char **out, char *why, size_t why_size)
{
    *out = NULL;
    if (!strchr(text, '$'))
        return 0;
    Text b = {0};
    int expanded = 0;
    for (const char *p = text; *p;) {
        if (p[0] == '$' && p[1] == '$' && p[2] == '{') {
            append(&b, "${", 2);
            p += 3;
            expanded = 1;
            continue;
        }
        if (p[0] != '$' || p[1] != '{') {
            append(&b, p, 1);
            p++;
            continue;
        }
        const char *start = p + 2, *close = strchr(start, '}');
        if (!close) {
            snprintf(why, why_size, "'${' without its closing '}'");
            free(b.data);
            return -1;
        }
        const char *sep = strstr(start, ":-");
        bool has_default = sep && sep < close;
        size_t name_len = (size_t)((has_default ? sep : close) - start);
        if (!is_name(start, name_len)) {
            snprintf(why, why_size,
                     "invalid variable '${%.*s}' (expected ${NAME} or ${NAME:-default})",
                     (int)(close - start), start);
            free(b.data);
            return -1;
        }
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)name_len, start);
        const char *value = getenv(name);
        if (value && *value) {
            append(&b, value, strlen(value));
        } else if (has_default) {
            append(&b, sep + 2, (size_t)(close - (sep + 2)));
        } else {
            snprintf(why, why_size,
                     "environment variable %s is not set (give a default: ${%s:-VALUE})", name,
                     name);
            free(b.data);
            return -1;
        }
        expanded = 1;
        p = close + 1;
    }
    append(&b, "", 0);
    *out = b.data;
    return expanded;
}
