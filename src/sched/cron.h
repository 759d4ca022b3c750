/* Cron schedules: parsing and the next fire time, daylight saving time included.
 *
 * Expressions: 5 fields (minute hour day-of-month month day-of-week) or 6 with a leading
 * seconds field; lists, ranges, steps, month and weekday names (jan, mon), 7 for Sunday, and
 * @hourly @daily @weekly @monthly @yearly (@annually, @midnight). When both day fields are
 * restricted a day matching either runs (Vixie cron).
 *
 * Daylight saving time, in the schedule's zone:
 *  - a wall-clock time skipped by a spring-forward runs once, at the end of the gap;
 *  - a wall-clock time repeated by a fall-back runs once, at its first occurrence;
 *  - schedules whose hour field is * or a step (hourly and finer) follow real time instead:
 *    skipped times do not run, repeated times run in both passes, so the spacing between
 *    runs stays the same (as Vixie cron does). */
#ifndef UK_CRON_H
#define UK_CRON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

typedef struct CronSpec {
    uint64_t seconds, minutes; /* bit N: second or minute N */
    uint32_t hours;            /* bit N: hour N */
    uint32_t days;             /* bit N: day of month N (1-31) */
    uint16_t months;           /* bit N: month N (1-12) */
    uint8_t weekdays;          /* bit N: weekday N (0 = Sunday) */
    bool day_any, weekday_any; /* the field started with '*' (Vixie's rule for the two) */
    bool real_time;            /* hour field * or a step: real-time spacing across DST */
    bool has_seconds;
} CronSpec;

/* Returns 0, or -1 with a reason in WHY (e.g. "day-of-month: 32 is out of range 1-31",
 * "never fires: no month has day 30 in February"). */
int cron_parse(const char *expr, CronSpec *spec, char *why, size_t why_len);

/* The first fire time strictly after AFTER, in ZONE (NULL: the process's zone). Returns 0, or
 * -1 when there is none within the next ten years. */
int cron_next(const CronSpec *spec, const char *zone, time_t after, time_t *next);

/* The last fire time at or before AT (for "is this job overdue?"). Returns 0, or -1 when there
 * is none within the past ten years. */
int cron_prev(const CronSpec *spec, const char *zone, time_t at, time_t *prev);

/* Writes the schedule as systemd OnCalendar= expressions (one per line, several when a cron
 * day rule needs it), or returns -1 when it cannot be expressed. */
int cron_to_oncalendar(const CronSpec *spec, const char *zone, char *out, size_t len);

#endif
