#include "repo/retention.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "repo/manifest.h"

typedef long (*Bucketer)(time_t t, size_t position);

static long bucket_last(time_t t, size_t position)
{
    (void)t;
    return (long)position;
}

static struct tm local(time_t t)
{
    struct tm tm;
    localtime_r(&t, &tm);
    return tm;
}

static long bucket_hourly(time_t t, size_t p)
{
    (void)p;
    struct tm tm = local(t);
    return (tm.tm_year + 1900L) * 1000000L + (tm.tm_mon + 1) * 10000L + tm.tm_mday * 100L +
           tm.tm_hour;
}

static long bucket_daily(time_t t, size_t p)
{
    (void)p;
    struct tm tm = local(t);
    return (tm.tm_year + 1900L) * 10000L + (tm.tm_mon + 1) * 100L + tm.tm_mday;
}

static long bucket_weekly(time_t t, size_t p)
{
    (void)p;
    struct tm tm = local(t);
    char buf[16];
    strftime(buf, sizeof buf, "%G%V", &tm); /* ISO year and week */
    return atol(buf);
}

static long bucket_monthly(time_t t, size_t p)
{
    (void)p;
    struct tm tm = local(t);
    return (tm.tm_year + 1900L) * 100L + tm.tm_mon + 1;
}

static long bucket_yearly(time_t t, size_t p)
{
    (void)p;
    return local(t).tm_year + 1900L;
}

bool retention_policy_is_empty(const RetentionPolicy *p)
{
    return !p->keep_last && !p->keep_hourly && !p->keep_daily && !p->keep_weekly &&
           !p->keep_monthly && !p->keep_yearly && !p->keep_within && !(p->keep_tag && *p->keep_tag);
}

static void add_reason(RetentionItem *item, const char *reason)
{
    size_t used = strlen(item->reasons);
    snprintf(item->reasons + used, sizeof item->reasons - used, "%s%s", used ? ", " : "", reason);
    item->keep = true;
}

static int newest_first(const void *a, const void *b)
{
    const RetentionItem *x = *(RetentionItem *const *)a, *y = *(RetentionItem *const *)b;
    if (x->time != y->time)
        return x->time > y->time ? -1 : 1;
    return -strcmp(x->id ? x->id : "", y->id ? y->id : "");
}

void retention_apply(const RetentionPolicy *p, RetentionItem *items, size_t n)
{
    if (n == 0)
        return;
    RetentionItem **order = xcalloc(n, sizeof *order);
    for (size_t i = 0; i < n; i++) {
        order[i] = &items[i];
        items[i].keep = false;
        items[i].reasons[0] = '\0';
    }
    qsort(order, n, sizeof *order, newest_first);
    if (retention_policy_is_empty(p)) {
        for (size_t i = 0; i < n; i++)
            add_reason(order[i], "no retention policy");
        free(order);
        return;
    }
    struct {
        const char *name;
        int count;
        Bucketer bucket;
        long last;
        bool started;
    } rules[] = {
        {"last", p->keep_last, bucket_last, 0, false},
        {"hourly", p->keep_hourly, bucket_hourly, 0, false},
        {"daily", p->keep_daily, bucket_daily, 0, false},
        {"weekly", p->keep_weekly, bucket_weekly, 0, false},
        {"monthly", p->keep_monthly, bucket_monthly, 0, false},
        {"yearly", p->keep_yearly, bucket_yearly, 0, false},
    };
    time_t newest = order[0]->time;
    char within[64] = "";
    if (p->keep_within) {
        static const struct {
            int64_t seconds;
            char unit;
        } units[] = {{604800, 'w'}, {86400, 'd'}, {3600, 'h'}, {60, 'm'}, {1, 's'}};
        for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
            if (p->keep_within % units[u].seconds == 0) {
                snprintf(within, sizeof within, "within %lld%c",
                         (long long)(p->keep_within / units[u].seconds), units[u].unit);
                break;
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        RetentionItem *item = order[i];
        if (i == 0)
            add_reason(item, "newest");
        for (size_t r = 0; r < sizeof rules / sizeof rules[0] && !item->broken; r++) {
            if (rules[r].count <= 0)
                continue;
            long key = rules[r].bucket(item->time, i);
            if (!rules[r].started || key != rules[r].last) {
                rules[r].started = true;
                rules[r].last = key;
                rules[r].count--;
                add_reason(item, rules[r].name);
            }
        }
        if (p->keep_within && item->time >= newest - p->keep_within)
            add_reason(item, within);
        if (p->keep_tag && *p->keep_tag) {
            char *copy = xstrdup(p->keep_tag);
            for (char *save = NULL, *t = strtok_r(copy, ", ", &save); t;
                 t = strtok_r(NULL, ", ", &save)) {
                if (item->tags && manifest_has_tag(item->tags, t)) {
                    char reason[80];
                    snprintf(reason, sizeof reason, "tag %s", t);
                    add_reason(item, reason);
                }
            }
            free(copy);
        }
        if (item->broken && item->keep)
            add_reason(item, "verify failed");
        if (!item->keep)
            snprintf(item->reasons, sizeof item->reasons,
                     item->broken ? "verify failed: counts for no rule"
                                  : "not matched by any rule");
    }
    for (size_t i = 0; i < n; i++) {
        if (order[i]->proven) {
            if (!order[i]->keep) {
                order[i]->reasons[0] = '\0';
                add_reason(order[i], "newest proven");
            }
            break;
        }
    }
    free(order);
}
