/* libFuzzer target: cron expressions. A schedule that parses must also answer next and
 * previous fire times without crashing, in a zone with daylight saving. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sched/cron.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *expr = malloc(size + 1);
    memcpy(expr, data, size);
    expr[size] = '\0';
    CronSpec spec;
    char why[200];
    if (cron_parse(expr, &spec, why, sizeof why) == 0) {
        time_t next = 0, prev = 0;
        cron_next(&spec, "Europe/Berlin", 1774745000, &next);
        cron_prev(&spec, "Europe/Berlin", 1774745000, &prev);
        char calendar[256];
        cron_to_oncalendar(&spec, "UTC", calendar, sizeof calendar);
    }
    free(expr);
    return 0;
}
