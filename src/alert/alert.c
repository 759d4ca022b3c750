#include "alert/alert.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alert/deliver.h"
#include "core/log.h"

/* Is WORD one of the comma-separated LIST? */
static bool listed(const char *list, const char *word)
{
    if (!list || !word)
        return false;
    size_t n = strlen(word);
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t len = strcspn(p, ", ");
        if (len == n && strncmp(p, word, n) == 0)
            return true;
        p += len;
    }
    return false;
}

static bool in_quiet_hours(const ConfigAlert *a, time_t now)
{
    int start, end;
    if (!a->quiet_hours || !config_quiet_hours(a->quiet_hours, &start, &end))
        return false;
    struct tm tm;
    localtime_r(&now, &tm);
    int minute = tm.tm_hour * 60 + tm.tm_min;
    return start <= end ? minute >= start && minute < end : minute >= start || minute < end;
}

/* Delivers through every channel of A; each failure is logged and counted, nothing more.
 * Returns whether any channel delivered (an alert nobody received stays unsent). */
static bool send(const ConfigAlert *a, State *st, const char *event, const char *subject,
                 const char *status, const char *text)
{
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    AlertMessage m = {.alert = a->name,
                      .event = event,
                      .subject = subject,
                      .status = status,
                      .text = text,
                      .host = host,
                      .at = time(NULL)};
    bool delivered = false;
    struct {
        const char *name;
        bool configured;
        int (*deliver)(const ConfigAlert *, const AlertMessage *, UkError *);
    } channels[] = {{"webhook", a->webhook != NULL, deliver_webhook},
                    {"email", a->email != NULL, deliver_email},
                    {"command", a->command != NULL, deliver_command}};
    for (size_t i = 0; i < sizeof channels / sizeof channels[0]; i++) {
        if (!channels[i].configured)
            continue;
        UkError err = {0};
        bool ok = channels[i].deliver(a, &m, &err) == 0;
        delivered |= ok;
        if (ok)
            log_info("alert '%s': %s sent by %s", a->name, event, channels[i].name);
        else
            log_warn("alert '%s': %s could not be sent by %s: %s", a->name, event, channels[i].name,
                     err.msg);
        UkError ignored = {0};
        if (st)
            state_alert_delivered(st, a->name, channels[i].name, ok, &ignored);
    }
    return delivered;
}

/* The rules for one alert and one subject. Problems (failure, warning, critical, missed)
 * open the alert; RECOVERY closes it. */
static void consider(const ConfigAlert *a, State *st, const char *event, const char *subject,
                     const char *status, const char *text)
{
    AlertState as;
    UkError err = {0};
    if (state_alert_get(st, a->name, subject, &as, &err) != 0)
        return;
    time_t now = time(NULL);
    if (strcmp(event, "recovery") == 0) {
        bool was_open = as.open;
        as.failures = 0;
        as.open = false;
        as.pending_event[0] = '\0';
        state_alert_put(st, a->name, subject, &as, &err);
        if (was_open && listed(a->on, "recovery"))
            send(a, st, "recovery", subject, status, text);
        return;
    }
    if (strcmp(event, "failure") == 0)
        as.failures++;
    bool subscribed = listed(a->on, event);
    bool enough = strcmp(event, "failure") != 0 || as.failures >= (a->after > 0 ? a->after : 1);
    bool repeat_due = !as.open || difftime(now, as.last_sent) >= (double)a->repeat;
    if (subscribed && enough && repeat_due) {
        if (strcmp(event, "critical") != 0 && in_quiet_hours(a, now)) {
            snprintf(as.pending_event, sizeof as.pending_event, "%s", event);
            snprintf(as.pending_message, sizeof as.pending_message, "%s", text);
            log_info("alert '%s': %s held until the quiet hours (%s) end", a->name, event,
                     a->quiet_hours);
        } else if (send(a, st, event, subject, status, text)) {
            as.open = true;
            as.last_sent = now;
            as.pending_event[0] = '\0';
        }
    }
    state_alert_put(st, a->name, subject, &as, &err);
}

void alerts_job_started(const Config *config, const ConfigJob *job)
{
    for (size_t i = 0; i < config->n_alerts; i++) {
        const ConfigAlert *a = config->alerts[i];
        if (!a->heartbeat || (a->jobs && !listed(a->jobs, job->name)))
            continue;
        UkError err = {0};
        if (deliver_heartbeat(a, "/start", job->name, &err) != 0)
            log_warn("alert '%s': heartbeat start: %s", a->name, err.msg);
    }
}

void alerts_job_ended(const Config *config, State *st, const ConfigJob *job, const char *result,
                      const char *error)
{
    bool failed = strcmp(result, "failed") == 0, success = strcmp(result, "success") == 0;
    if (!failed && !success)
        return; /* skipped or interrupted runs neither fail nor recover */
    char text[600];
    if (failed)
        snprintf(text, sizeof text, "upkeep job '%s' (%s) failed: %s", job->name, job->task,
                 error ? error : "see upkeep history");
    else
        snprintf(text, sizeof text, "upkeep job '%s' (%s) succeeded again", job->name, job->task);
    for (size_t i = 0; i < config->n_alerts; i++) {
        const ConfigAlert *a = config->alerts[i];
        if (a->jobs && !listed(a->jobs, job->name))
            continue;
        if (a->heartbeat) {
            UkError err = {0};
            if (deliver_heartbeat(a, failed ? "/fail" : "", text, &err) != 0)
                log_warn("alert '%s': heartbeat: %s", a->name, err.msg);
            UkError ignored = {0};
            state_alert_delivered(st, a->name, "heartbeat", err.code == 0, &ignored);
        }
        consider(a, st, failed ? "failure" : "recovery", job->name, result, text);
    }
}

void alerts_health(const Config *config, State *st, const HealthReport *report,
                   const HealthChange *changes, size_t n_changes)
{
    for (size_t k = 0; k < n_changes; k++) {
        const HealthCheck *c = &report->checks[changes[k].check];
        bool job_check = strcmp(c->check, "job") == 0;
        /* A job's failures are reported by its run; health adds only that it is overdue. */
        bool overdue = job_check && strstr(c->message, "overdue") != NULL;
        if (job_check && !overdue && c->status != HEALTH_OK)
            continue;
        if (job_check && c->status == HEALTH_OK && changes[k].from == HEALTH_CRITICAL)
            continue;
        const char *event = c->status == HEALTH_OK ? "recovery"
                            : overdue              ? "missed"
                            : strcmp(c->check, "backup_age") == 0 && c->status == HEALTH_CRITICAL
                                ? "missed"
                            : c->status == HEALTH_CRITICAL ? "critical"
                            : c->status == HEALTH_WARNING  ? "warning"
                                                           : NULL;
        if (!event)
            continue;
        char subject[200], text[600];
        snprintf(subject, sizeof subject, "%s:%s", c->check, c->subject);
        snprintf(text, sizeof text, "upkeep health %s: %s", health_status_name(c->status),
                 c->message);
        for (size_t i = 0; i < config->n_alerts; i++) {
            const ConfigAlert *a = config->alerts[i];
            if (job_check && a->jobs && !listed(a->jobs, c->subject))
                continue;
            consider(a, st, event, subject, health_status_name(c->status), text);
        }
    }
}

void alerts_flush(const Config *config, State *st)
{
    time_t now = time(NULL);
    for (size_t i = 0; i < config->n_alerts; i++) {
        const ConfigAlert *a = config->alerts[i];
        if (in_quiet_hours(a, now))
            continue;
        char subject[200];
        AlertState as;
        UkError err = {0};
        while (state_alert_next_pending(st, a->name, subject, sizeof subject, &as, &err) == 1) {
            /* Delivered or not, it leaves the queue: the next event sends afresh. */
            if (send(a, st, as.pending_event, subject, "held", as.pending_message)) {
                as.open = true;
                as.last_sent = now;
            }
            as.pending_event[0] = '\0';
            if (state_alert_put(st, a->name, subject, &as, &err) != 0)
                break;
        }
    }
}
