/* Logging: one line per event on stderr, key=value context. Library code logs at debug
 * level only; commands and the runner decide what is worth a warning. */
#ifndef UK_LOG_H
#define UK_LOG_H

#include <stdbool.h>
#include <stdio.h>

typedef enum { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG } LogLevel;

void log_set_level(LogLevel level);
/* Prefix stderr lines with the local time (the daemon, unless the journal adds its own). */
void log_set_timestamps(bool on);
/* Also append every line, with its time, to FILE (NULL: stop). */
void log_set_file(FILE *file);
void log_msg(LogLevel level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif
