/* Cron parsing and next fire times: fields, names, steps, Vixie's day rule, leap years,
 * month ends, and both daylight-saving directions in three zones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/util.h"
#include "sched/cron.h"
#include "sched/tz.h"

/* Asserts the next COUNT fire times of EXPR after FROM (RFC 3339) in ZONE, given as
 * RFC 3339 strings with offsets, separated by spaces. */
static void expect_times(const char *expr, const char *zone, const char *from, const char *expected)
{
    CronSpec spec;
    char why[200] = "";
    if (cron_parse(expr, &spec, why, sizeof why) != 0)
        fail_msg("'%s' did not parse: %s", expr, why);
    time_t t;
    assert_int_equal(parse_time_rfc3339(from, &t), 0);
    char got[1024] = "";
    size_t len = 0;
    int count = 1;
    for (const char *p = expected; *p; p++)
        count += *p == ' ';
    TzScope scope;
    tz_enter(&scope, zone);
    for (int i = 0; i < count; i++) {
        char buf[64];
        if (cron_next(&spec, zone, t, &t) != 0) {
            len += (size_t)snprintf(got + len, sizeof got - len, "%s(none)", i ? " " : "");
            break;
        }
        len += (size_t)snprintf(got + len, sizeof got - len, "%s%s", i ? " " : "",
                                tz_format(t, buf, sizeof buf));
    }
    tz_leave(&scope);
    if (strcmp(got, expected) != 0)
        fail_msg("%s in %s after %s:\n  expected %s\n  got      %s", expr, zone, from, expected,
                 got);
}

static void expect_parse_error(const char *expr, const char *why_expected)
{
    CronSpec spec;
    char why[200] = "";
    assert_int_equal(cron_parse(expr, &spec, why, sizeof why), -1);
    assert_string_equal(why, why_expected);
}

static void test_parse_errors(void **state)
{
    (void)state;
    expect_parse_error("0 0 30 2 *", "never fires: none of the chosen months has the chosen days");
    expect_parse_error("0 0 31 4,6,9,11 *",
                       "never fires: none of the chosen months has the chosen days");
    expect_parse_error("60 * * * *", "minute: 60 is out of range 0-59");
    expect_parse_error("* 24 * * *", "hour: 24 is out of range 0-23");
    expect_parse_error("* * 0 * *", "day-of-month: 0 is out of range 1-31");
    expect_parse_error("* * * 13 *", "month: 13 is out of range 1-12");
    expect_parse_error("* * * * 8", "day-of-week: 8 is out of range 0-7");
    expect_parse_error("* * * * funday", "day-of-week: unexpected 'funday'");
    expect_parse_error("5-1 * * * *", "minute: range 5-1 runs backwards");
    expect_parse_error("*/0 * * * *", "minute: a step of 0");
    expect_parse_error("* * * *",
                       "expected 5 fields (minute hour day-of-month month day-of-week) or 6 with "
                       "seconds first, found 4");
    expect_parse_error("@fortnightly",
                       "unknown shorthand '@fortnightly' (@hourly, @daily, @weekly, @monthly, "
                       "@yearly)");
    CronSpec spec;
    char why[200];
    assert_int_equal(cron_parse("0 0 29 2 *", &spec, why, sizeof why), 0);   /* leap years */
    assert_int_equal(cron_parse("0 0 30 2 mon", &spec, why, sizeof why), 0); /* Mondays */
}

static void test_fields(void **state)
{
    (void)state;
    expect_times("0 3 * * *", "UTC", "2027-01-30T12:00:00Z",
                 "2027-01-31T03:00:00+00:00 2027-02-01T03:00:00+00:00");
    expect_times("*/20 9-10 * * *", "UTC", "2027-01-01T08:59:00Z",
                 "2027-01-01T09:00:00+00:00 2027-01-01T09:20:00+00:00 2027-01-01T09:40:00+00:00 "
                 "2027-01-01T10:00:00+00:00");
    expect_times("0 0 * * sat,SUN", "UTC", "2027-01-01T00:00:00Z", /* a Friday */
                 "2027-01-02T00:00:00+00:00 2027-01-03T00:00:00+00:00 2027-01-09T00:00:00+00:00");
    expect_times("0 0 * * 7", "UTC", "2027-01-01T00:00:00Z", "2027-01-03T00:00:00+00:00");
    expect_times("0 12 1 jan-mar/2 *", "UTC", "2027-01-01T12:00:00Z",
                 "2027-03-01T12:00:00+00:00 2028-01-01T12:00:00+00:00");
    expect_times("15,45 6 * * *", "UTC", "2027-06-01T06:15:00Z",
                 "2027-06-01T06:45:00+00:00 2027-06-02T06:15:00+00:00");
    expect_times("10/25 * * * *", "UTC", "2027-06-01T06:00:00Z",
                 "2027-06-01T06:10:00+00:00 2027-06-01T06:35:00+00:00 2027-06-01T07:10:00+00:00");
    /* Six fields: seconds first. */
    expect_times("*/15 * * * * *", "UTC", "2027-06-01T06:00:50Z",
                 "2027-06-01T06:01:00+00:00 2027-06-01T06:01:15+00:00");
    /* Shorthands. */
    expect_times("@hourly", "UTC", "2027-06-01T06:00:00Z", "2027-06-01T07:00:00+00:00");
    expect_times("@daily", "UTC", "2027-06-01T06:00:00Z", "2027-06-02T00:00:00+00:00");
    expect_times("@weekly", "UTC", "2027-06-01T06:00:00Z", "2027-06-06T00:00:00+00:00");
    expect_times("@monthly", "UTC", "2027-06-01T06:00:00Z", "2027-07-01T00:00:00+00:00");
    expect_times("@yearly", "UTC", "2027-06-01T06:00:00Z", "2028-01-01T00:00:00+00:00");
}

static void test_days(void **state)
{
    (void)state;
    /* Leap years and month ends. */
    expect_times("0 0 29 2 *", "UTC", "2027-01-01T00:00:00Z",
                 "2028-02-29T00:00:00+00:00 2032-02-29T00:00:00+00:00");
    expect_times("0 0 31 * *", "UTC", "2027-01-31T00:00:00Z",
                 "2027-03-31T00:00:00+00:00 2027-05-31T00:00:00+00:00 2027-07-31T00:00:00+00:00");
    expect_times("0 0 29 2 *", "UTC", "2096-03-01T00:00:00Z", "2104-02-29T00:00:00+00:00");
    /* Both day fields restricted: either matches (Vixie). Friday the 13th style: the 13th
     * or any Friday. */
    expect_times("0 0 13 * fri", "UTC", "2027-08-01T00:00:00Z",
                 "2027-08-06T00:00:00+00:00 2027-08-13T00:00:00+00:00 2027-08-20T00:00:00+00:00");
    /* One of them starting with '*': both must match. */
    expect_times("0 0 */2 * fri", "UTC", "2027-08-01T00:00:00Z", "2027-08-13T00:00:00+00:00");
    /* First of the month (the print-service plan) and a Sunday (accounting). */
    expect_times("0 3 1 * *", "Europe/Berlin", "2027-01-15T00:00:00+01:00",
                 "2027-02-01T03:00:00+01:00 2027-03-01T03:00:00+01:00 2027-04-01T03:00:00+02:00");
    expect_times("0 3 * * sun", "Europe/Berlin", "2027-03-22T00:00:00+01:00",
                 "2027-03-28T03:00:00+02:00 2027-04-04T03:00:00+02:00");
}

/* Europe/Berlin: 2027-03-28 02:00 CET -> 03:00 CEST; 2027-10-31 03:00 CEST -> 02:00 CET. */
static void test_dst_berlin(void **state)
{
    (void)state;
    /* A skipped time runs once, right after the gap. */
    expect_times("30 2 * * *", "Europe/Berlin", "2027-03-27T12:00:00+01:00",
                 "2027-03-28T03:00:00+02:00 2027-03-29T02:30:00+02:00");
    /* Several skipped times still run once. */
    expect_times("*/15 2 * * *", "Europe/Berlin", "2027-03-28T01:00:00+01:00",
                 "2027-03-28T03:00:00+02:00 2027-03-29T02:00:00+02:00");
    /* A repeated time runs once, at its first occurrence. */
    expect_times("30 2 * * *", "Europe/Berlin", "2027-10-30T12:00:00+02:00",
                 "2027-10-31T02:30:00+02:00 2027-11-01T02:30:00+01:00");
    /* Hourly keeps real-time spacing: no 02:00 in spring, both 02:00 in autumn. */
    expect_times("0 * * * *", "Europe/Berlin", "2027-03-28T00:30:00+01:00",
                 "2027-03-28T01:00:00+01:00 2027-03-28T03:00:00+02:00 2027-03-28T04:00:00+02:00");
    expect_times("0 * * * *", "Europe/Berlin", "2027-10-31T00:30:00+02:00",
                 "2027-10-31T01:00:00+02:00 2027-10-31T02:00:00+02:00 2027-10-31T02:00:00+01:00 "
                 "2027-10-31T03:00:00+01:00");
    expect_times("0 */6 * * *", "Europe/Berlin", "2027-03-27T19:00:00+01:00",
                 "2027-03-28T00:00:00+01:00 2027-03-28T06:00:00+02:00");
    /* A daily time outside the change is untouched. */
    expect_times("0 3 * * *", "Europe/Berlin", "2027-10-30T12:00:00+02:00",
                 "2027-10-31T03:00:00+01:00 2027-11-01T03:00:00+01:00");
}

/* America/New_York: 2027-03-14 02:00 EST -> 03:00 EDT; 2027-11-07 02:00 EDT -> 01:00 EST. */
static void test_dst_new_york(void **state)
{
    (void)state;
    expect_times("0 2 * * *", "America/New_York", "2027-03-13T12:00:00-05:00",
                 "2027-03-14T03:00:00-04:00 2027-03-15T02:00:00-04:00");
    expect_times("30 1 * * *", "America/New_York", "2027-11-06T12:00:00-04:00",
                 "2027-11-07T01:30:00-04:00 2027-11-08T01:30:00-05:00");
    /* Starting inside the repeated hour's second pass: the first occurrence is past. */
    expect_times("30 1 * * *", "America/New_York", "2027-11-07T01:10:00-05:00",
                 "2027-11-08T01:30:00-05:00");
    expect_times("*/30 * * * *", "America/New_York", "2027-11-07T00:45:00-04:00",
                 "2027-11-07T01:00:00-04:00 2027-11-07T01:30:00-04:00 2027-11-07T01:00:00-05:00 "
                 "2027-11-07T01:30:00-05:00 2027-11-07T02:00:00-05:00");
    expect_times("*/30 * * * *", "America/New_York", "2027-03-14T01:15:00-05:00",
                 "2027-03-14T01:30:00-05:00 2027-03-14T03:00:00-04:00");
}

/* Australia/Lord_Howe shifts by 30 minutes: 2027-10-03 02:00 -> 02:30 (+10:30 -> +11);
 * 2027-04-04 02:00 -> 01:30 (+11 -> +10:30). */
static void test_dst_lord_howe(void **state)
{
    (void)state;
    expect_times("15 2 * * *", "Australia/Lord_Howe", "2027-10-02T12:00:00+10:30",
                 "2027-10-03T02:30:00+11:00 2027-10-04T02:15:00+11:00");
    expect_times("45 2 * * *", "Australia/Lord_Howe", "2027-10-02T12:00:00+10:30",
                 "2027-10-03T02:45:00+11:00");
    expect_times("45 1 * * *", "Australia/Lord_Howe", "2027-04-03T12:00:00+11:00",
                 "2027-04-04T01:45:00+11:00 2027-04-05T01:45:00+10:30");
    expect_times("*/20 * * * *", "Australia/Lord_Howe", "2027-04-04T01:10:00+11:00",
                 "2027-04-04T01:20:00+11:00 2027-04-04T01:40:00+11:00 2027-04-04T01:40:00+10:30 "
                 "2027-04-04T02:00:00+10:30");
    expect_times("0 * * * *", "Australia/Lord_Howe", "2027-10-03T00:30:00+10:30",
                 "2027-10-03T01:00:00+10:30 2027-10-03T03:00:00+11:00");
}

static void expect_prev(const char *expr, const char *zone, const char *at, const char *expected)
{
    CronSpec spec;
    char why[200], buf[64];
    assert_int_equal(cron_parse(expr, &spec, why, sizeof why), 0);
    time_t t, prev;
    assert_int_equal(parse_time_rfc3339(at, &t), 0);
    assert_int_equal(cron_prev(&spec, zone, t, &prev), 0);
    TzScope scope;
    tz_enter(&scope, zone);
    tz_format(prev, buf, sizeof buf);
    tz_leave(&scope);
    assert_string_equal(buf, expected);
}

static void test_prev(void **state)
{
    (void)state;
    expect_prev("0 3 * * *", "UTC", "2027-06-02T02:59:59Z", "2027-06-01T03:00:00+00:00");
    expect_prev("0 3 * * *", "UTC", "2027-06-02T03:00:00Z", "2027-06-02T03:00:00+00:00");
    expect_prev("0 4 1 * *", "Europe/London", "2027-06-15T00:00:00Z", "2027-06-01T04:00:00+01:00");
    expect_prev("0 0 29 2 *", "UTC", "2027-06-15T00:00:00Z", "2024-02-29T00:00:00+00:00");
    expect_prev("*/5 * * * * *", "UTC", "2027-06-15T00:00:07Z", "2027-06-15T00:00:05+00:00");
}

static void test_oncalendar(void **state)
{
    (void)state;
    CronSpec spec;
    char why[200], out[2048];
    assert_int_equal(cron_parse("0 3 * * *", &spec, why, sizeof why), 0);
    assert_int_equal(cron_to_oncalendar(&spec, "Europe/Berlin", out, sizeof out), 0);
    assert_string_equal(out, "*-*-* 03:00:00 Europe/Berlin\n");
    assert_int_equal(cron_parse("0 3 * * sun", &spec, why, sizeof why), 0);
    assert_int_equal(cron_to_oncalendar(&spec, NULL, out, sizeof out), 0);
    assert_string_equal(out, "Sun *-*-* 03:00:00\n");
    assert_int_equal(cron_parse("0 0 13 * fri", &spec, why, sizeof why), 0);
    assert_int_equal(cron_to_oncalendar(&spec, NULL, out, sizeof out), 0);
    assert_string_equal(out, "*-*-13 00:00:00\nFri *-*-* 00:00:00\n");
    assert_int_equal(cron_parse("0 */6 1 1,7 *", &spec, why, sizeof why), 0);
    assert_int_equal(cron_to_oncalendar(&spec, NULL, out, sizeof out), 0);
    assert_string_equal(out, "*-01,07-01 00,06,12,18:00:00\n");
}

/* Found by the fuzzer: a schedule firing every second of February, asked for its previous
 * fire time in March, walked millions of fire times one by one (minutes; the test's timeout
 * catches that). Now it bisects. */
static void test_prev_dense(void **state)
{
    (void)state;
    CronSpec spec;
    char why[200];
    assert_int_equal(cron_parse("* * * * 2 *", &spec, why, sizeof why), 0);
    time_t at, expected, prev = 0;
    assert_int_equal(parse_time_rfc3339("2026-03-29T01:23:20Z", &at), 0);
    assert_int_equal(parse_time_rfc3339("2026-02-28T23:59:59Z", &expected), 0);
    assert_int_equal(cron_prev(&spec, "UTC", at, &prev), 0);
    assert_int_equal(prev, expected);
    assert_int_equal(cron_parse("0 3 * * *", &spec, why, sizeof why), 0);
    assert_int_equal(parse_time_rfc3339("2026-03-29T01:00:00Z", &expected), 0);
    assert_int_equal(cron_prev(&spec, "Europe/Berlin", at, &prev), 0);
    assert_int_equal(prev, expected); /* 03:00 CEST on the day of the change */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_errors), cmocka_unit_test(test_fields),
        cmocka_unit_test(test_days),         cmocka_unit_test(test_dst_berlin),
        cmocka_unit_test(test_dst_new_york), cmocka_unit_test(test_dst_lord_howe),
        cmocka_unit_test(test_oncalendar),   cmocka_unit_test(test_prev),
        cmocka_unit_test(test_prev_dense),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
