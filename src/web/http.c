#include "web/http.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <math.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/crypto.h"
#include "common/util.h"
#include "core/log.h"
#include "health/health.h"
#include "health/metrics.h"
#include "web/page.h"

/* Slow clients. libmicrohttpd's idle timeout restarts with every byte, so a client that
 * trickles its headers a byte at a time holds a connection for ever, and a few dozen such
 * clients take every connection. Each connection therefore gets a deadline for its request
 * line and headers (HEADER_DEADLINE seconds from its start or from its last response); one
 * past it is shut down, whatever it is still sending. One address may hold at most
 * PER_IP_CONNECTIONS of the MAX_CONNECTIONS. */
#define MAX_CONNECTIONS 64
#define PER_IP_CONNECTIONS 16
#define HEADER_DEADLINE 5.0

typedef struct WebConn {
    bool used;
    int fd;
    double waiting_since; /* for a request's headers; < 0 while a request is being served */
} WebConn;

struct WebServer {
    struct MHD_Daemon *mhd;
    Config *const *config;
    State *st;
    WebConn conns[MAX_CONNECTIONS + 8];
};

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    WebServer *web = cls;
    if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        WebConn *c = *socket_context;
        if (c)
            c->used = false;
        return;
    }
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    for (size_t i = 0; i < sizeof web->conns / sizeof web->conns[0]; i++) {
        if (!web->conns[i].used) {
            web->conns[i] = (WebConn){.used = true,
                                      .fd = info ? info->connect_fd : -1,
                                      .waiting_since = monotonic_seconds()};
            *socket_context = &web->conns[i];
            return;
        }
    }
}

static WebConn *conn_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info ? info->socket_context : NULL;
}

/* A response went out: the connection may send its next request, with a new deadline. */
static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode code)
{
    (void)cls;
    (void)con_cls;
    (void)code;
    WebConn *c = conn_of(conn);
    if (c)
        c->waiting_since = monotonic_seconds();
}

/* Shuts down connections past their header deadline; libmicrohttpd then closes them. */
static void enforce_deadlines(WebServer *web)
{
    double now = monotonic_seconds();
    for (size_t i = 0; i < sizeof web->conns / sizeof web->conns[0]; i++) {
        WebConn *c = &web->conns[i];
        if (c->used && c->fd >= 0 && c->waiting_since >= 0 &&
            now - c->waiting_since > HEADER_DEADLINE) {
            shutdown(c->fd, SHUT_RDWR);
            c->waiting_since = -1; /* once */
        }
    }
}

bool web_enabled(const char *listen)
{
    return listen && *listen && strcmp(listen, "off") != 0;
}

/* Splits "host:port" or "[v6]:port" into a resolved address. */
static int parse_listen(const char *listen, struct sockaddr_storage *addr, socklen_t *len,
                        UkError *err)
{
    char host[256], port[16];
    const char *colon = strrchr(listen, ':');
    if (!colon || colon == listen || strlen(colon + 1) == 0 || strlen(colon + 1) >= sizeof port)
        return uk_error_set(err, UK_E_CONFIG, 0, "expected host:port, got '%s'", listen);
    size_t host_len = (size_t)(colon - listen);
    if (listen[0] == '[' && host_len >= 2 && listen[host_len - 1] == ']') {
        listen++;
        host_len -= 2;
    }
    if (host_len >= sizeof host)
        return uk_error_set(err, UK_E_CONFIG, 0, "host too long");
    memcpy(host, listen, host_len);
    host[host_len] = '\0';
    snprintf(port, sizeof port, "%s", colon + 1);
    char *port_end = NULL;
    long port_number = strtol(port, &port_end, 10);
    if (*port_end || port_number < 1 || port_number > 65535)
        return uk_error_set(err, UK_E_CONFIG, 0, "port '%s' is not between 1 and 65535", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0 || !res)
        return uk_error_set(err, UK_E_CONFIG, 0, "'%s' is not a numeric address and port (%s)",
                            listen, gai_strerror(rc));
    memcpy(addr, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

static bool is_loopback(const struct sockaddr_storage *addr)
{
    if (addr->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (addr->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)addr;
        return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
    }
    return false;
}

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned status, const char *type,
                               char *body /* freed here */)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_COPY);
    free(body);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(r, "WWW-Authenticate", "Bearer realm=\"upkeep\"");
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* Authorization: Bearer TOKEN, compared in constant time. */
static bool authorized(struct MHD_Connection *conn, const char *token)
{
    if (!token || !*token)
        return true;
    const char *header = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    if (!header || strncmp(header, "Bearer ", 7) != 0)
        return false;
    const char *given = header + 7;
    size_t n = strlen(token);
    return strlen(given) == n && crypto_equal(given, token, n);
}

/* The report as JSON text; /health/db lists only whether each database answers. */
static char *health_json(const HealthReport *report, bool only_reachable)
{
    json_t *doc = health_report_json(report, only_reachable ? "reachable" : NULL);
    char *text = json_dumps(doc, JSON_INDENT(2));
    json_decref(doc);
    return text;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls)
{
    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    (void)con_cls;
    WebServer *web = cls;
    WebConn *c = conn_of(conn);
    if (c)
        c->waiting_since = -1; /* the headers are in: no deadline while it is served */
    const Config *config = *web->config;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return respond(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", xstrdup("GET only\n"));
    if (!authorized(conn, config->token))
        return respond(conn, MHD_HTTP_UNAUTHORIZED, "text/plain",
                       xstrdup("a bearer token is required\n"));
    /* /health/detailed is /health?detail=1 under the name some monitoring setups use. */
    bool detailed = strcmp(url, "/health/detailed") == 0;
    bool health = detailed || strcmp(url, "/health") == 0, db = strcmp(url, "/health/db") == 0;
    if (!health && !db && strcmp(url, "/metrics") != 0 && strcmp(url, "/") != 0)
        return respond(conn, MHD_HTTP_NOT_FOUND, "text/plain", xstrdup("not found\n"));
    HealthReport report;
    health_evaluate(config, web->st, &report);
    enum MHD_Result ret;
    if (health || db) {
        HealthStatus status = report.overall;
        if (db) { /* only whether each database answers */
            status = HEALTH_OK;
            for (size_t i = 0; i < report.n; i++)
                if (strcmp(report.checks[i].check, "reachable") == 0 &&
                    report.checks[i].status != HEALTH_OK)
                    status = HEALTH_CRITICAL;
        }
        unsigned code = status == HEALTH_CRITICAL ? MHD_HTTP_SERVICE_UNAVAILABLE : MHD_HTTP_OK;
        const char *detail = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "detail");
        if (db || detailed || (detail && strcmp(detail, "0") != 0))
            ret = respond(conn, code, "application/json", health_json(&report, db));
        else
            ret = respond(conn, code, "text/plain", xasprintf("%s\n", health_status_name(status)));
    } else if (strcmp(url, "/metrics") == 0) {
        ret = respond(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
                      metrics_render(config, web->st, &report));
    } else {
        ret = respond(conn, MHD_HTTP_OK, "text/html; charset=utf-8",
                      page_render(config, web->st, &report));
    }
    health_report_clear(&report);
    return ret;
}

int web_parse_listen(const char *listen, bool *loopback, UkError *err)
{
    struct sockaddr_storage addr;
    socklen_t len = 0;
    if (parse_listen(listen, &addr, &len, err) != 0)
        return -1;
    if (loopback)
        *loopback = is_loopback(&addr);
    return 0;
}

WebServer *web_start(Config *const *config, State *st, UkError *err)
{
    const Config *c = *config;
    struct sockaddr_storage addr;
    socklen_t len = 0;
    if (parse_listen(c->listen, &addr, &len, err) != 0) {
        uk_error_prefix(err, "listen: ");
        return NULL;
    }
    if (!is_loopback(&addr) && !(c->token && *c->token)) {
        uk_error_set(err, UK_E_CONFIG, 0,
                     "listen = %s is reachable from other machines: set token = ... (clients "
                     "then send Authorization: Bearer TOKEN), or listen on 127.0.0.1",
                     c->listen);
        return NULL;
    }
    WebServer *web = xcalloc(1, sizeof *web);
    web->config = config;
    web->st = st;
    uint16_t port = ntohs(addr.ss_family == AF_INET ? ((struct sockaddr_in *)&addr)->sin_port
                                                    : ((struct sockaddr_in6 *)&addr)->sin6_port);
    unsigned flags = MHD_USE_EPOLL | (addr.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0);
    web->mhd = MHD_start_daemon(
        flags, port, NULL, NULL, handle, web, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)MAX_CONNECTIONS, MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)PER_IP_CONNECTIONS,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, web, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
        web, MHD_OPTION_END);
    if (!web->mhd) {
        uk_error_set(err, UK_E_IO, 0, "unable to listen on %s (in use, or not an address here)",
                     c->listen);
        free(web);
        return NULL;
    }
    log_info("serving /health, /metrics and the status page on http://%s/", c->listen);
    return web;
}

int web_fd(const WebServer *web)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(web->mhd, MHD_DAEMON_INFO_EPOLL_FD);
    return info ? info->epoll_fd : -1;
}

long web_timeout_ms(WebServer *web)
{
    MHD_UNSIGNED_LONG_LONG ms;
    long timeout = MHD_get_timeout(web->mhd, &ms) == MHD_YES ? (long)ms : -1;
    /* Wake for the next header deadline too. */
    double now = monotonic_seconds();
    for (size_t i = 0; i < sizeof web->conns / sizeof web->conns[0]; i++) {
        const WebConn *c = &web->conns[i];
        if (!c->used || c->waiting_since < 0)
            continue;
        double left = (c->waiting_since + HEADER_DEADLINE - now) * 1000.0 + 10.0;
        long left_ms = left < 0 ? 0 : (long)left;
        if (timeout < 0 || left_ms < timeout)
            timeout = left_ms;
    }
    return timeout;
}

void web_run(WebServer *web)
{
    enforce_deadlines(web);
    MHD_run(web->mhd);
}

void web_stop(WebServer *web)
{
    if (!web)
        return;
    MHD_stop_daemon(web->mhd);
    free(web);
}
