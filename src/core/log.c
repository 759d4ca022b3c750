#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>

static LogLevel current_level = LOG_LEVEL_WARN;

void log_set_level(LogLevel level)
{
    current_level = level;
}
void log_msg(LogLevel level, const char *fmt, ...)
{
    static const char *names[] = {"error", "warning", "info", "debug"};
    if (level > current_level)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "upkeep: %s: ", names[level]);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}
