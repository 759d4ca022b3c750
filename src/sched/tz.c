#include "sched/tz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/util.h"

bool tz_known(const char *name)
{
    if (!name || !*name || name[0] == '/' || strstr(name, ".."))
        return false;
    const char *dir = getenv("TZDIR");
    char *path = xasprintf("%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
    struct stat st;
    bool ok = stat(path, &st) == 0 && S_ISREG(st.st_mode);
    free(path);
    return ok;
}

void tz_enter(TzScope *scope, const char *zone)
{
    memset(scope, 0, sizeof *scope);
    if (!zone)
        return;
    const char *current = getenv("TZ");
    scope->saved = current ? xstrdup(current) : NULL;
    scope->changed = true;
    setenv("TZ", zone, 1);
    tzset();
}

void tz_leave(TzScope *scope)
{
    if (!scope->changed)
        return;
    if (scope->saved)
        setenv("TZ", scope->saved, 1);
    else
        unsetenv("TZ");
    tzset();
    free(scope->saved);
    scope->saved = NULL;
    scope->changed = false;
}

long tz_offset_at(time_t t)
{
    struct tm tm;
    localtime_r(&t, &tm);
    return tm.tm_gmtoff;
}

const char *tz_format(time_t t, char *buf, size_t len)
{
    struct tm tm;
    localtime_r(&t, &tm);
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    long off = tm.tm_gmtoff;
    char sign = off < 0 ? '-' : '+';
    if (off < 0)
        off = -off;
    snprintf(buf, len, "%s%c%02ld:%02ld", base, sign, off / 3600, off / 60 % 60);
    return buf;
}

int tz_parse(const char *text, time_t *out)
{
    if (parse_time_rfc3339(text, out) == 0)
        return 0;
    static const char *const formats[] = {"%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S",
                                          "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d"};
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        struct tm tm = {0};
        const char *rest = strptime(text, formats[i], &tm);
        if (!rest || *rest)
            continue;
        /* The first occurrence: try daylight time first, which comes first in a repeat. */
        struct tm want = tm;
        tm.tm_isdst = 1;
        time_t t = mktime(&tm);
        if (t == -1 || tm.tm_hour != want.tm_hour || tm.tm_min != want.tm_min) {
            tm = want;
            tm.tm_isdst = -1;
            t = mktime(&tm);
        }
        if (t == -1)
            return -1;
        *out = t;
        return 0;
    }
    return -1;
}
