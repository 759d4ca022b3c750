/* Next fire times are found by walking wall-clock times that match the fields (held as
 * seconds since the epoch as if the zone were UTC, so calendar arithmetic is timegm()), and
 * resolving each to the instants it names in the zone: none (a spring-forward gap), one, or
 * two (a fall-back repeat). The DST policy in cron.h decides which instants fire. */
#include "sched/cron.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sched/tz.h"

#define DAY 86400
#define TEN_YEARS (3660L * DAY)

typedef struct Field {
    const char *name;
    int min, max;
    const char *const *names; /* names[i] is value min + i */
} Field;

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun", "jul",
                                          "aug", "sep", "oct", "nov", "dec", NULL};
static const char *const weekday_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL};

static const Field fields[] = {
    {"second", 0, 59, NULL},       {"minute", 0, 59, NULL},
    {"hour", 0, 23, NULL},         {"day-of-month", 1, 31, NULL},
    {"month", 1, 12, month_names}, {"day-of-week", 0, 7, weekday_names},
};

static int parse_value(const Field *f, const char **s, int *out, char *why, size_t why_len)
{
    const char *p = *s;
    if (isdigit((unsigned char)*p)) {
        long v = 0;
        while (isdigit((unsigned char)*p) && v < 1000)
            v = v * 10 + (*p++ - '0');
        if (v < f->min || v > f->max) {
            snprintf(why, why_len, "%s: %ld is out of range %d-%d", f->name, v, f->min, f->max);
            return -1;
        }
        *out = (int)v;
        *s = p;
        return 0;
    }
    for (int i = 0; f->names && f->names[i]; i++) {
        if (strncasecmp(p, f->names[i], 3) == 0 && !isalpha((unsigned char)p[3])) {
            *out = f->min + i;
            *s = p + 3;
            return 0;
        }
    }
    snprintf(why, why_len, "%s: unexpected '%.*s'", f->name, (int)strcspn(p, ",-/"), p);
    return -1;
}

/* One field: a comma list of *, N, N-M, each optionally /STEP. Sets bits and reports whether
 * the field started with '*' and whether it used a step. */
static int parse_field(const Field *f, const char *text, uint64_t *bits, bool *starts_with_star,
                       bool *stepped, char *why, size_t why_len)
{
    *bits = 0;
    *starts_with_star = text[0] == '*';
    *stepped = false;
    const char *p = text;
    for (;;) {
        int lo, hi;
        bool single = false;
        if (*p == '*') {
            lo = f->min;
            hi = f->max == 7 ? 6 : f->max;
            p++;
        } else {
            if (parse_value(f, &p, &lo, why, why_len) != 0)
                return -1;
            hi = lo;
            single = *p != '-';
            if (*p == '-') {
                p++;
                if (parse_value(f, &p, &hi, why, why_len) != 0)
                    return -1;
                if (hi < lo) {
                    snprintf(why, why_len, "%s: range %d-%d runs backwards", f->name, lo, hi);
                    return -1;
                }
            }
        }
        int step = 1;
        if (*p == '/') {
            p++;
            if (!isdigit((unsigned char)*p)) {
                snprintf(why, why_len, "%s: a step needs a number", f->name);
                return -1;
            }
            step = 0;
            while (isdigit((unsigned char)*p) && step < 1000)
                step = step * 10 + (*p++ - '0');
            if (step == 0) {
                snprintf(why, why_len, "%s: a step of 0", f->name);
                return -1;
            }
            if (single) /* N/STEP means N-max/STEP */
                hi = f->max == 7 ? 6 : f->max;
            *stepped = true;
        }
        for (int v = lo; v <= hi; v += step)
            *bits |= 1ull << (f->max == 7 && v == 7 ? 0 : v);
        if (*p == '\0')
            return 0;
        if (*p != ',') {
            snprintf(why, why_len, "%s: unexpected '%s'", f->name, p);
            return -1;
        }
        p++;
    }
}

static const struct {
    const char *name, *expr;
} macros[] = {
    {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
};

static int days_in_month(int month, int year) /* year 0: any year (February has 29) */
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month != 2)
        return days[month - 1];
    return year == 0 || (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)) ? 29 : 28;
}

int cron_parse(const char *expr, CronSpec *spec, char *why, size_t why_len)
{
    memset(spec, 0, sizeof *spec);
    while (isspace((unsigned char)*expr))
        expr++;
    if (expr[0] == '@') {
        for (size_t i = 0; i < sizeof macros / sizeof macros[0]; i++) {
            size_t n = strlen(macros[i].name);
            if (strncasecmp(expr, macros[i].name, n) == 0 &&
                (expr[n] == '\0' || isspace((unsigned char)expr[n]))) {
                const char *rest = expr + n;
                while (isspace((unsigned char)*rest))
                    rest++;
                if (*rest) {
                    snprintf(why, why_len, "unexpected '%s' after %s", rest, macros[i].name);
                    return -1;
                }
                return cron_parse(macros[i].expr, spec, why, why_len);
            }
        }
        snprintf(why, why_len,
                 "unknown shorthand '%s' (@hourly, @daily, @weekly, @monthly, "
                 "@yearly)",
                 expr);
        return -1;
    }
    char copy[256];
    if (strlen(expr) >= sizeof copy) {
        snprintf(why, why_len, "expression too long");
        return -1;
    }
    snprintf(copy, sizeof copy, "%s", expr);
    char *parts[7];
    int n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(copy, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
        if (n == 7)
            break;
        parts[n++] = tok;
    }
    if (n != 5 && n != 6) {
        snprintf(why, why_len,
                 "expected 5 fields (minute hour day-of-month month day-of-week) or 6 with "
                 "seconds first, found %d",
                 n);
        return -1;
    }
    spec->has_seconds = n == 6;
    uint64_t bits[6];
    bool star[6] = {false}, step[6] = {false};
    bits[0] = 1; /* second 0 when there is no seconds field */
    for (int i = spec->has_seconds ? 0 : 1, k = 0; i < 6; i++, k++)
        if (parse_field(&fields[i], parts[k], &bits[i], &star[i], &step[i], why, why_len) != 0)
            return -1;
    spec->seconds = bits[0];
    spec->minutes = bits[1];
    spec->hours = (uint32_t)bits[2];
    spec->days = (uint32_t)bits[3];
    spec->months = (uint16_t)bits[4];
    spec->weekdays = (uint8_t)bits[5];
    spec->day_any = star[3];
    spec->weekday_any = star[5];
    spec->real_time = star[2] || step[2];
    /* With a restricted day of month and any weekday, some chosen month must have the day. */
    if (!spec->day_any && spec->weekday_any) {
        bool possible = false;
        for (int m = 1; m <= 12 && !possible; m++)
            for (int d = 1; d <= days_in_month(m, 0) && !possible; d++)
                possible = (spec->months >> m & 1) && (spec->days >> d & 1);
        if (!possible) {
            snprintf(why, why_len, "never fires: none of the chosen months has the chosen days");
            return -1;
        }
    }
    return 0;
}

static bool day_matches(const CronSpec *spec, const struct tm *tm)
{
    bool dom = spec->days >> tm->tm_mday & 1, dow = spec->weekdays >> tm->tm_wday & 1;
    if (spec->day_any || spec->weekday_any)
        return dom && dow;
    return dom || dow;
}

/* The lowest set bit of MASK at or above V, or -1. */
static int next_bit(uint64_t mask, int v, int max)
{
    for (; v <= max; v++)
        if (mask >> v & 1)
            return v;
    return -1;
}

/* The first wall-clock time at or after W that matches every field, or -1 past LIMIT. */
static time_t next_wall_match(const CronSpec *spec, time_t w, time_t limit)
{
    while (w <= limit) {
        struct tm tm;
        gmtime_r(&w, &tm);
        if (!(spec->months >> (tm.tm_mon + 1) & 1)) {
            tm.tm_mon++;
            tm.tm_mday = 1;
            tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
        } else if (!day_matches(spec, &tm)) {
            tm.tm_mday++;
            tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
        } else if (!(spec->hours >> tm.tm_hour & 1)) {
            int h = next_bit(spec->hours, tm.tm_hour, 23);
            tm.tm_hour = h < 0 ? 24 : h;
            tm.tm_min = tm.tm_sec = 0;
        } else if (!(spec->minutes >> tm.tm_min & 1)) {
            int m = next_bit(spec->minutes, tm.tm_min, 59);
            tm.tm_min = m < 0 ? 60 : m;
            tm.tm_sec = 0;
        } else if (!(spec->seconds >> tm.tm_sec & 1)) {
            int s = next_bit(spec->seconds, tm.tm_sec, 59);
            tm.tm_sec = s < 0 ? 60 : s;
        } else {
            return w;
        }
        w = timegm(&tm);
    }
    return -1;
}

static long min_long(long a, long b)
{
    return a < b ? a : b;
}
static long max_long(long a, long b)
{
    return a > b ? a : b;
}

/* The instants wall-clock time W names: returns how many (0 in a gap, 2 in a repeat) and
 * fills OUT ascending; in a gap, *GAP_END is the first instant after it. */
static int resolve_wall(time_t w, time_t out[2], time_t *gap_end)
{
    long before = tz_offset_at(w - DAY), after = tz_offset_at(w + DAY);
    int n = 0;
    long offsets[2] = {min_long(before, after), max_long(before, after)};
    for (int i = 0; i < 2; i++) {
        if (i == 1 && offsets[1] == offsets[0])
            break;
        time_t t = w - offsets[1 - i]; /* the larger offset gives the earlier instant */
        if (tz_offset_at(t) == offsets[1 - i])
            out[n++] = t;
    }
    if (n == 0) {
        /* The transition lies between the two candidate instants: find it. */
        time_t lo = w - offsets[1], hi = w - offsets[0];
        long at_lo = tz_offset_at(lo);
        while (hi - lo > 1) {
            time_t mid = lo + (hi - lo) / 2;
            if (tz_offset_at(mid) == at_lo)
                lo = mid;
            else
                hi = mid;
        }
        *gap_end = hi;
    }
    return n;
}

static long nearby_offset(time_t t, bool largest)
{
    long a = tz_offset_at(t - DAY), b = tz_offset_at(t), c = tz_offset_at(t + DAY);
    return largest ? max_long(a, max_long(b, c)) : min_long(a, min_long(b, c));
}

int cron_next(const CronSpec *spec, const char *zone, time_t after, time_t *next)
{
    TzScope scope;
    tz_enter(&scope, zone);
    /* An instant t fires for the wall time t + offset(t): start at the smallest wall time
     * that can name an instant after AFTER, and stop once no later one can beat the best. */
    time_t w = after + 1 + nearby_offset(after, false);
    time_t limit = w + TEN_YEARS;
    time_t best = -1, stop = -1;
    while ((w = next_wall_match(spec, w, limit)) != -1) {
        if (best != -1 && w > stop)
            break;
        time_t instants[2], gap_end = -1;
        int n = resolve_wall(w, instants, &gap_end);
        if (!spec->real_time) {
            /* Fixed times: the first occurrence of a repeated time, the gap's end for a
             * skipped one. */
            instants[0] = n > 0 ? instants[0] : gap_end;
            n = 1;
        }
        for (int i = 0; i < n; i++) {
            if (instants[i] > after && (best == -1 || instants[i] < best)) {
                best = instants[i];
                stop = best + nearby_offset(best, true);
            }
        }
        w += 1;
    }
    tz_leave(&scope);
    if (best == -1)
        return -1;
    *next = best;
    return 0;
}

int cron_prev(const CronSpec *spec, const char *zone, time_t at, time_t *prev)
{
    /* Widen the window until it holds a fire time, then bisect for the last one: the latest
     * LO whose next fire time is still at or before AT. Walking fire times one by one instead
     * takes millions of steps for a schedule that fires every second of one month. */
    for (long window = 60; window <= TEN_YEARS; window *= 4) {
        time_t t;
        if (cron_next(spec, zone, at - window, &t) != 0 || t > at)
            continue;
        time_t lo = at - window, hi = at; /* next(lo) <= at; next(hi) > at */
        while (hi - lo > 1) {
            time_t mid = lo + (hi - lo) / 2;
            if (cron_next(spec, zone, mid, &t) == 0 && t <= at)
                lo = mid;
            else
                hi = mid;
        }
        return cron_next(spec, zone, lo, prev);
    }
    return -1;
}

/* Bits LO..HI of MASK as a comma list ("*" when all are set), values printed with FORMAT. */
static void append_list(char **out, size_t *len, uint64_t mask, int lo, int hi, const char *format,
                        const char *const *names)
{
    bool all = true;
    for (int v = lo; v <= hi; v++)
        all = all && (mask >> v & 1);
    int written = 0;
    if (all && !names) {
        written = snprintf(*out, *len, "*");
    } else {
        bool first = true;
        for (int v = lo; v <= hi; v++) {
            if (!(mask >> v & 1))
                continue;
            int w = names ? snprintf(*out + written, *len - (size_t)written, "%s%s",
                                     first ? "" : ",", names[v])
                          : snprintf(*out + written, *len - (size_t)written, first ? "" : ",");
            if (w < 0 || (size_t)(written + w) >= *len)
                return;
            written += w;
            if (!names) {
                w = snprintf(*out + written, *len - (size_t)written, format, v);
                if (w < 0 || (size_t)(written + w) >= *len)
                    return;
                written += w;
            }
            first = false;
        }
    }
    if (written < 0 || (size_t)written >= *len)
        written = (int)*len - 1;
    *out += written;
    *len -= (size_t)written;
}

static void append_text(char **out, size_t *len, const char *text)
{
    int w = snprintf(*out, *len, "%s", text);
    if (w < 0 || (size_t)w >= *len)
        w = (int)*len - 1;
    *out += w;
    *len -= (size_t)w;
}

static void oncalendar_line(const CronSpec *spec, const char *zone, bool with_days,
                            bool with_weekdays, char **out, size_t *len)
{
    static const char *const systemd_days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    if (with_weekdays && spec->weekdays != 0x7f) {
        append_list(out, len, spec->weekdays, 0, 6, NULL, systemd_days);
        append_text(out, len, " ");
    }
    append_text(out, len, "*-");
    append_list(out, len, spec->months, 1, 12, "%02d", NULL);
    append_text(out, len, "-");
    append_list(out, len, with_days ? spec->days : 0xfffffffeu, 1, 31, "%02d", NULL);
    append_text(out, len, " ");
    append_list(out, len, spec->hours, 0, 23, "%02d", NULL);
    append_text(out, len, ":");
    append_list(out, len, spec->minutes, 0, 59, "%02d", NULL);
    append_text(out, len, ":");
    append_list(out, len, spec->seconds, 0, 59, "%02d", NULL);
    if (zone) {
        append_text(out, len, " ");
        append_text(out, len, zone);
    }
    append_text(out, len, "\n");
}

int cron_to_oncalendar(const CronSpec *spec, const char *zone, char *out, size_t len)
{
    if (len < 2)
        return -1;
    out[0] = '\0';
    char *p = out;
    size_t left = len;
    if (spec->day_any || spec->weekday_any) {
        oncalendar_line(spec, zone, true, true, &p, &left);
    } else { /* either day rule: systemd ANDs them, so one line for each */
        oncalendar_line(spec, zone, true, false, &p, &left);
        oncalendar_line(spec, zone, false, true, &p, &left);
    }
    return left > 1 ? 0 : -1;
}
