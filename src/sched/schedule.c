#include "sched/schedule.h"

#include <stdio.h>

#include "sched/cron.h"
#include "sched/tz.h"

const char *schedule_zone(const Config *config, const ConfigJob *job)
{
    return job->timezone ? job->timezone : config->timezone;
}

bool schedule_next(const Config *config, const ConfigJob *job, time_t after, time_t *next)
{
    CronSpec spec;
    char why[200];
    return job->schedule && cron_parse(job->schedule, &spec, why, sizeof why) == 0 &&
           cron_next(&spec, schedule_zone(config, job), after, next) == 0;
}

const char *schedule_next_text(const Config *config, const ConfigJob *job, char *buf, size_t len)
{
    time_t next;
    if (!job->enabled) {
        snprintf(buf, len, "disabled");
        return buf;
    }
    if (!schedule_next(config, job, time(NULL), &next)) {
        snprintf(buf, len, "-");
        return buf;
    }
    TzScope scope;
    tz_enter(&scope, schedule_zone(config, job));
    tz_format(next, buf, len);
    tz_leave(&scope);
    return buf;
}
