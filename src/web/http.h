/* The daemon's HTTP endpoint (libmicrohttpd, driven from the daemon's own poll loop, so no
 * thread runs beside the scheduler): /health (200 when OK or WARNING, 503 when CRITICAL;
 * JSON with ?detail=1), /health/db, /metrics, and / (the status page). */
#ifndef UK_HTTP_H
#define UK_HTTP_H

#include "core/config.h"
#include "core/state.h"

typedef struct WebServer WebServer;

/* Is LISTEN ("host:port", "[v6]:port") set to serve? "off" and "" are not. */
bool web_enabled(const char *listen);

/* Checks LISTEN as the daemon will read it: a numeric address and a port from 1 to 65535.
 * *loopback (when not NULL) tells whether only this machine can reach it. */
int web_parse_listen(const char *listen, bool *loopback, UkError *err);

/* Starts listening on config->listen. CONFIG points at the daemon's current configuration
 * (reloads swap it), so each request sees the newest token and jobs. Refuses an address
 * beyond loopback without a token. */
WebServer *web_start(Config *const *config, State *st, UkError *err);
/* A descriptor to poll for reading, and how long until the server needs to run anyway
 * (milliseconds, -1: no limit). */
int web_fd(const WebServer *web);
long web_timeout_ms(WebServer *web);
/* Handles whatever is ready, without blocking. */
void web_run(WebServer *web);
void web_stop(WebServer *web);

#endif
