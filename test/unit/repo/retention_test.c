/* Retention against a table of cases: restic's `forget` semantics, including periods
 * without backups, keep_within measured from the newest backup, tags, and local calendar
 * periods across both daylight-saving changes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "repo/retention.h"

typedef struct Case {
    const char *name;
    RetentionPolicy policy;
    const char *times[16]; /* RFC 3339 */
    const char *tags[16];
    const char *expect; /* one char per time: k = keep, r = remove */
} Case;

static void run_case(const Case *c)
{
    RetentionItem items[16] = {0};
    size_t n = 0;
    for (; c->times[n]; n++) {
        assert_int_equal(parse_time_rfc3339(c->times[n], &items[n].time), 0);
        items[n].tags = c->tags[n] ? c->tags[n] : "";
    }
    retention_apply(&c->policy, items, n);
    char got[17] = {0};
    for (size_t i = 0; i < n; i++)
        got[i] = items[i].keep ? 'k' : 'r';
    if (strcmp(got, c->expect) != 0)
        fail_msg("case '%s': expected %s, got %s", c->name, c->expect, got);
}

static void test_cases_utc(void **state)
{
    (void)state;
    setenv("TZ", "UTC", 1);
    tzset();
    static const Case cases[] = {
        {"keep_last 3",
         {.keep_last = 3},
         {"2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z",
          "2026-01-04T00:00:00Z", "2026-01-05T00:00:00Z"},
         {0},
         "rrkkk"},
        {"keep_daily: newest of each day",
         {.keep_daily = 2},
         {"2026-01-01T10:00:00Z", "2026-01-01T12:00:00Z", "2026-01-02T09:00:00Z",
          "2026-01-02T18:00:00Z", "2026-01-03T08:00:00Z"},
         {0},
         "rrrkk"},
        {"a period counts only if it holds a backup",
         {.keep_daily = 3},
         {"2026-01-01T10:00:00Z", "2026-01-05T10:00:00Z", "2026-01-10T10:00:00Z",
          "2026-01-09T10:00:00Z"},
         {0},
         "rkkk"},
        {"keep_within counts back from the newest backup",
         {.keep_within = 2 * 86400},
         {"2025-01-01T00:00:00Z", "2025-01-03T00:00:00Z", "2025-01-04T00:00:00Z",
          "2025-01-05T00:00:00Z"},
         {0},
         "rkkk"},
        {"keep_tag keeps tagged backups",
         {.keep_last = 1, .keep_tag = "pre-update"},
         {"2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z"},
         {"", "pre-update", ""},
         "rkk"},
        {"rules are OR-ed",
         {.keep_last = 1, .keep_monthly = 2},
         {"2025-11-15T00:00:00Z", "2025-12-10T00:00:00Z", "2025-12-20T00:00:00Z",
          "2026-01-05T00:00:00Z", "2026-01-06T00:00:00Z"},
         {0},
         "rrkrk"},
        {"keep_weekly uses ISO weeks (Monday start)",
         {.keep_weekly = 2},
         {"2026-01-03T12:00:00Z", /* Sat, week 1 */ "2026-01-04T12:00:00Z", /* Sun, week 1 */
          "2026-01-05T12:00:00Z" /* Mon, week 2 */},
         {0},
         "rkk"},
        {"keep_yearly",
         {.keep_yearly = 2},
         {"2024-06-01T00:00:00Z", "2024-12-31T23:00:00Z", "2025-03-01T00:00:00Z",
          "2026-01-01T00:00:00Z"},
         {0},
         "rrkk"},
        {"keep_hourly",
         {.keep_hourly = 2},
         {"2026-01-01T10:05:00Z", "2026-01-01T10:55:00Z", "2026-01-01T11:10:00Z"},
         {0},
         "rkk"},
        {"the newest backup is always kept",
         {.keep_tag = "monthly"},
         {"2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"},
         {0},
         "rk"},
        {"no policy keeps everything",
         {0},
         {"2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"},
         {0},
         "kk"},
        /* restic's documented example: daily backups over several weeks with
         * --keep-daily 7 --keep-weekly 5 --keep-monthly 12 keeps the last 7 days, then one per
         * week (the newest of its week) and one per month. Reduced to 3/2/2 here. */
        {"restic-style daily+weekly+monthly",
         {.keep_daily = 3, .keep_weekly = 2, .keep_monthly = 2},
         {"2026-01-20T10:00:00Z", "2026-01-25T10:00:00Z", "2026-01-31T10:00:00Z",
          "2026-02-01T10:00:00Z", "2026-02-02T10:00:00Z", "2026-02-03T10:00:00Z",
          "2026-02-04T10:00:00Z"},
         {0},
         "rrkkkkk"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_case(&cases[i]);
}

static void test_daylight_saving_week(void **state)
{
    (void)state;
    setenv("TZ", "Europe/Berlin", 1);
    tzset();
    static const Case cases[] = {
        /* Spring forward on 2026-03-29: 23:30 CET on the 28th and 00:30 CET on the 29th are
         * one UTC day (22:30Z and 23:30Z) but two local days: both kept. */
        {"spring forward: local days",
         {.keep_daily = 2},
         {"2026-03-28T20:00:00Z", "2026-03-28T22:30:00Z", "2026-03-28T23:30:00Z"},
         {0},
         "rkk"},
        /* A daily 03:00 local backup across the week of the change keeps one per day. */
        {"spring forward week, daily",
         {.keep_daily = 7},
         {"2026-03-26T02:00:00Z", "2026-03-27T02:00:00Z", "2026-03-28T02:00:00Z",
          "2026-03-29T01:00:00Z", "2026-03-30T01:00:00Z", "2026-03-31T01:00:00Z",
          "2026-04-01T01:00:00Z"},
         {0},
         "kkkkkkk"},
        /* Fall back on 2026-10-25: 02:30 CEST (00:30Z) and 02:30 CET (01:30Z) are the same
         * local hour: only the newer is kept. */
        {"fall back: repeated hour",
         {.keep_hourly = 1},
         {"2026-10-25T00:30:00Z", "2026-10-25T01:30:00Z"},
         {0},
         "rk"},
        /* 00:30 CEST and 23:30 CET on the 25th are 24 hours apart yet one (25-hour) local
         * day: the 24th and the 25th are kept, the earlier backup of the 25th is not. */
        {"fall back: one local day",
         {.keep_daily = 2},
         {"2026-10-24T21:30:00Z", "2026-10-24T22:30:00Z", "2026-10-25T22:30:00Z"},
         {0},
         "krk"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_case(&cases[i]);
}

static void test_reasons(void **state)
{
    (void)state;
    setenv("TZ", "UTC", 1);
    tzset();
    RetentionPolicy p = {.keep_daily = 1, .keep_within = 180 * 86400};
    RetentionItem items[2] = {0};
    parse_time_rfc3339("2026-01-01T00:00:00Z", &items[0].time);
    parse_time_rfc3339("2026-01-02T00:00:00Z", &items[1].time);
    retention_apply(&p, items, 2);
    assert_string_equal(items[1].reasons, "newest, daily, within 180d");
    assert_string_equal(items[0].reasons, "within 180d");
    RetentionPolicy last = {.keep_last = 1};
    retention_apply(&last, items, 2);
    assert_string_equal(items[0].reasons, "not matched by any rule");
    assert_false(items[0].keep);
}

/* Backups verify found broken fill no slot of keep_last; the newest proven one stays even
 * when no rule keeps it. Five backups, oldest first: ok, ok, failed, failed, failed. */
static void test_damage(void **state)
{
    (void)state;
    const char *times[] = {"2026-11-01T03:00:00Z", "2026-11-02T03:00:00Z", "2026-11-03T03:00:00Z",
                           "2026-11-04T03:00:00Z", "2026-11-05T03:00:00Z"};
    RetentionItem items[5] = {0};
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(parse_time_rfc3339(times[i], &items[i].time), 0);
        items[i].tags = "";
        items[i].proven = i < 2;
        items[i].broken = i >= 2;
    }
    RetentionPolicy keep_two = {.keep_last = 2};
    retention_apply(&keep_two, items, 5);
    /* keep_last = 2 counts the two sound ones; the newest (broken) stays as the newest. */
    const bool expect[] = {true, true, false, false, true};
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(items[i].keep, expect[i]);
    assert_string_equal(items[2].reasons, "verify failed: counts for no rule");
    assert_string_equal(items[4].reasons, "newest, verify failed");
    RetentionPolicy keep_one = {.keep_last = 1};
    for (size_t i = 0; i < 5; i++)
        items[i].broken = false; /* not known broken, only not proven */
    items[2].proven = items[3].proven = items[4].proven = false;
    retention_apply(&keep_one, items, 5);
    assert_true(items[1].keep);
    assert_string_equal(items[1].reasons, "newest proven");
    assert_false(items[0].keep);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases_utc), cmocka_unit_test(test_daylight_saving_week),
        cmocka_unit_test(test_reasons), cmocka_unit_test(test_damage)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
