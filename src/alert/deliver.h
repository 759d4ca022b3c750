/* Alert channels: each delivers one message and reports success, within a time limit. */
#ifndef UK_DELIVER_H
#define UK_DELIVER_H

#include <stdbool.h>
#include <time.h>

#include "core/config.h"
#include "core/error.h"

typedef struct AlertMessage {
    const char *alert;   /* the [alert] name */
    const char *event;   /* failure, recovery, warning, critical, missed */
    const char *subject; /* job, database or path */
    const char *status;  /* the run result or health status */
    const char *text;    /* one line for people */
    const char *host;
    time_t at;
} AlertMessage;

/* JSON POST with a Slack-compatible "text" and a Teams MessageCard. */
int deliver_webhook(const ConfigAlert *a, const AlertMessage *m, UkError *err);
/* Mail through libcurl's SMTP; credentials from a private file, never logged. */
int deliver_email(const ConfigAlert *a, const AlertMessage *m, UkError *err);
/* The program, with UPKEEP_ALERT, UPKEEP_EVENT, UPKEEP_SUBJECT, UPKEEP_STATUS,
 * UPKEEP_MESSAGE, UPKEEP_HOST and UPKEEP_TIME in its environment; no shell. */
int deliver_command(const ConfigAlert *a, const AlertMessage *m, UkError *err);
/* healthchecks.io protocol: SUFFIX is "/start", "" (success) or "/fail". */
int deliver_heartbeat(const ConfigAlert *a, const char *suffix, const char *body, UkError *err);

#endif
