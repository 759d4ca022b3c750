#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

static LogLevel current_level = LOG_LEVEL_WARN;
static bool with_timestamps;
static FILE *mirror;

void log_set_level(LogLevel level)
{
    current_level = level;
}

void log_set_timestamps(bool on)
{
    with_timestamps = on;
}

void log_set_file(FILE *file)
{
    mirror = file;
}

static void write_line(FILE *out, bool stamp, const char *level, const char *fmt, va_list ap)
{
    if (stamp) {
        char when[40];
        time_t now = time(NULL);
        struct tm tm;
        localtime_r(&now, &tm);
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S%z ", &tm);
        fputs(when, out);
    }
    fprintf(out, "upkeep: %s: ", level);
    vfprintf(out, fmt, ap);
    fputc('\n', out);
    fflush(out);
}

void log_msg(LogLevel level, const char *fmt, ...)
{
    static const char *names[] = {"error", "warning", "info", "debug"};
    if (level > current_level)
        return;
    va_list ap;
    va_start(ap, fmt);
    write_line(stderr, with_timestamps, names[level], fmt, ap);
    va_end(ap);
    if (mirror) {
        va_start(ap, fmt);
        write_line(mirror, true, names[level], fmt, ap); /* a file always gets the time */
        va_end(ap);
    }
}
