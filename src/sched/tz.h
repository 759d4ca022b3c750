/* Time zones for schedules: named IANA zones from the system's tz database (tzdata), read
 * through the C library (TZ + localtime_r), so every rule the zone ever had is honoured. */
#ifndef UK_TZ_H
#define UK_TZ_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* True when NAME is a zone of the tz database (e.g. Europe/Berlin, UTC). */
bool tz_known(const char *name);

/* Makes ZONE (NULL: the process's own) the zone of localtime_r until tz_leave. Not for use by
 * two threads at once: the scheduler and the CLI call it from the main thread only. */
typedef struct TzScope {
    char *saved; /* the previous TZ, NULL when it was unset */
    bool changed;
} TzScope;
void tz_enter(TzScope *scope, const char *zone);
void tz_leave(TzScope *scope);

/* The UTC offset in seconds at instant T, in the current zone. */
long tz_offset_at(time_t t);

/* T as RFC 3339 local time with its offset in the current zone: 2026-03-29T03:00:00+02:00. */
const char *tz_format(time_t t, char *buf, size_t len);

/* Reads RFC 3339 with an offset, or a wall-clock time "YYYY-MM-DD HH:MM[:SS]" (also with a
 * T) in the current zone (a repeated time means its first occurrence). Returns 0 or -1. */
int tz_parse(const char *text, time_t *out);

#endif
