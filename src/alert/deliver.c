#include "alert/deliver.h"

#include "common/curl_lib.h"
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"

static long timeout_ms(const ConfigAlert *a)
{
    return a->timeout > 0 ? (long)a->timeout * 1000 : 10000;
}

/* Loaded on the first delivery (see curl_lib.h); every call below goes through it. */
static const CurlLib *curl;

static CURL *new_handle(const ConfigAlert *a, char *errbuf)
{
    UkError load_err = {0};
    errbuf[0] = '\0';
    if (!curl && !(curl = curl_lib("alerts need libcurl", &load_err))) {
        snprintf(errbuf, CURL_ERROR_SIZE, "%s", load_err.msg);
        return NULL;
    }
    CURL *c = curl->easy_init();
    if (!c)
        return NULL;
    curl->easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl->easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms(a));
    curl->easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms(a));
    curl->easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl->easy_setopt(c, CURLOPT_USERAGENT, "upkeep");
    return c;
}

static size_t discard(char *data, size_t size, size_t n, void *ctx)
{
    (void)data;
    (void)ctx;
    return size * n;
}

/* POSTs BODY to URL; success is a 2xx answer. */
static int post(const ConfigAlert *a, const char *url, const char *type, const char *body,
                UkError *err)
{
    char errbuf[CURL_ERROR_SIZE];
    CURL *c = new_handle(a, errbuf);
    if (!c)
        return uk_error_set(err, UK_E_IO, 0, "unable to start an HTTP request%s%s",
                            errbuf[0] ? ": " : "", errbuf);
    struct curl_slist *headers = NULL;
    char *content_type = xasprintf("Content-Type: %s", type);
    headers = curl->slist_append(headers, content_type);
    curl->easy_setopt(c, CURLOPT_URL, url);
    curl->easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl->easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl->easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    CURLcode rc = curl->easy_perform(c);
    long status = 0;
    curl->easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    int result = 0;
    /* The URL may carry a secret (webhook tokens, ping keys): report only its host. */
    char *host = NULL;
    CURLU *u = curl->url();
    if (u && curl->url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK)
        curl->url_get(u, CURLUPART_HOST, &host, 0);
    if (rc != CURLE_OK)
        result = uk_error_set(err, UK_E_IO, 0, "%s: %s", host ? host : "the server",
                              errbuf[0] ? errbuf : curl->easy_strerror(rc));
    else if (status < 200 || status > 299)
        result = uk_error_set(err, UK_E_IO, 0, "%s answered HTTP %ld", host ? host : "the server",
                              status);
    curl->free(host);
    curl->url_cleanup(u);
    curl->slist_free_all(headers);
    free(content_type);
    curl->easy_cleanup(c);
    return result;
}

static const char *color(const char *event)
{
    return strcmp(event, "recovery") == 0  ? "2EB67D"
           : strcmp(event, "warning") == 0 ? "ECB22E"
                                           : "E01E5A";
}

int deliver_webhook(const ConfigAlert *a, const AlertMessage *m, UkError *err)
{
    char when[32];
    format_time_utc(m->at, when, sizeof when);
    char *title = xasprintf("upkeep on %s: %s %s", m->host, m->event, m->subject);
    json_t *doc =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:[{s:s, s:s}]}",
                  /* Slack (and Mattermost, Rocket.Chat, Discord's /slack endpoint) read "text". */
                  "text", m->text, "alert", m->alert, "event", m->event, "subject", m->subject,
                  "status", m->status, "host", m->host, "at", when,
                  /* Teams incoming webhooks read a MessageCard. */
                  "@type", "MessageCard", "@context", "https://schema.org/extensions", "summary",
                  m->text, "themeColor", color(m->event), "title", title, "sections",
                  "activityTitle", m->subject, "text", m->text);
    char *body = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    free(title);
    int rc = post(a, a->webhook, "application/json", body, err);
    free(body);
    return rc;
}

int deliver_heartbeat(const ConfigAlert *a, const char *suffix, const char *body, UkError *err)
{
    size_t n = strlen(a->heartbeat);
    char *url = xasprintf("%.*s%s", (int)(n && a->heartbeat[n - 1] == '/' ? n - 1 : n),
                          a->heartbeat, suffix);
    int rc = post(a, url, "text/plain", body, err);
    free(url);
    return rc;
}

/* user:password from a file that only its owner may read. */
static int read_credentials(const char *path, char **user, char **password, UkError *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return uk_error_set(err, UK_E_IO, errno, "unable to read smtp_credentials '%s'", path);
    if (st.st_mode & (S_IRWXG | S_IRWXO))
        return uk_error_set(err, UK_E_CONFIG, 0,
                            "smtp_credentials '%s' is readable by group or others (chmod 600)",
                            path);
    unsigned char *data = NULL;
    size_t len = 0;
    if (read_file_all(path, 4096, &data, &len, err) != 0)
        return -1;
    char *text = (char *)data;
    text[strcspn(text, "\r\n")] = '\0';
    char *colon = strchr(text, ':');
    if (!colon) {
        free(data);
        return uk_error_set(err, UK_E_CONFIG, 0, "smtp_credentials '%s': expected user:password",
                            path);
    }
    *colon = '\0';
    *user = xstrdup(text);
    *password = xstrdup(colon + 1);
    explicit_bzero(data, len);
    free(data);
    return 0;
}

typedef struct Upload {
    const char *data;
    size_t len, off;
} Upload;

static size_t upload(char *buf, size_t size, size_t n, void *ctx)
{
    Upload *u = ctx;
    size_t left = u->len - u->off, want = size * n;
    size_t take = left < want ? left : want;
    memcpy(buf, u->data + u->off, take);
    u->off += take;
    return take;
}

int deliver_email(const ConfigAlert *a, const AlertMessage *m, UkError *err)
{
    char *user = NULL, *password = NULL;
    if (a->smtp_credentials && read_credentials(a->smtp_credentials, &user, &password, err) != 0)
        return -1;
    char errbuf[CURL_ERROR_SIZE];
    CURL *c = new_handle(a, errbuf);
    if (!c) {
        free(user);
        free(password);
        return uk_error_set(err, UK_E_IO, 0, "unable to start an SMTP session%s%s",
                            errbuf[0] ? ": " : "", errbuf);
    }
    struct curl_slist *rcpt = NULL;
    char list[1024];
    snprintf(list, sizeof list, "%s", a->email);
    char *save = NULL;
    for (char *addr = strtok_r(list, ", ", &save); addr; addr = strtok_r(NULL, ", ", &save))
        rcpt = curl->slist_append(rcpt, addr);
    char date[64], when[32];
    struct tm tm;
    gmtime_r(&m->at, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    format_time_utc(m->at, when, sizeof when);
    char *message = xasprintf("Date: %s\r\nFrom: %s\r\nTo: %s\r\n"
                              "Subject: [upkeep %s] %s %s\r\n"
                              "Content-Type: text/plain; charset=utf-8\r\n\r\n"
                              "%s\r\n\r\nhost: %s\r\nalert: %s\r\nevent: %s\r\nstatus: %s\r\n"
                              "time: %s\r\n",
                              date, a->smtp_from, a->email, m->host, m->event, m->subject, m->text,
                              m->host, m->alert, m->event, m->status, when);
    Upload up = {message, strlen(message), 0};
    curl->easy_setopt(c, CURLOPT_URL, a->smtp);
    curl->easy_setopt(c, CURLOPT_MAIL_FROM, a->smtp_from);
    curl->easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
    curl->easy_setopt(c, CURLOPT_READFUNCTION, upload);
    curl->easy_setopt(c, CURLOPT_READDATA, &up);
    curl->easy_setopt(c, CURLOPT_UPLOAD, 1L);
    if (strncmp(a->smtp, "smtp://", 7) == 0)
        curl->easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY); /* STARTTLS when offered */
    if (user) {
        curl->easy_setopt(c, CURLOPT_USERNAME, user);
        curl->easy_setopt(c, CURLOPT_PASSWORD, password);
    }
    CURLcode rc = curl->easy_perform(c);
    int result = rc == CURLE_OK ? 0
                                : uk_error_set(err, UK_E_IO, 0, "mail server: %s",
                                               errbuf[0] ? errbuf : curl->easy_strerror(rc));
    curl->slist_free_all(rcpt);
    curl->easy_cleanup(c);
    free(message);
    if (password)
        explicit_bzero(password, strlen(password));
    free(user);
    free(password);
    return result;
}

int deliver_command(const ConfigAlert *a, const AlertMessage *m, UkError *err)
{
    char when[32];
    format_time_utc(m->at, when, sizeof when);
    pid_t pid = fork();
    if (pid < 0)
        return uk_error_set(err, UK_E_IO, errno, "unable to start '%s'", a->command);
    if (pid == 0) {
        setenv("UPKEEP_ALERT", m->alert, 1);
        setenv("UPKEEP_EVENT", m->event, 1);
        setenv("UPKEEP_SUBJECT", m->subject, 1);
        setenv("UPKEEP_STATUS", m->status, 1);
        setenv("UPKEEP_MESSAGE", m->text, 1);
        setenv("UPKEEP_HOST", m->host, 1);
        setenv("UPKEEP_TIME", when, 1);
        execl(a->command, a->command, (char *)NULL);
        _exit(127);
    }
    /* Wait within the timeout, then stop it. */
    double deadline = monotonic_seconds() + (double)timeout_ms(a) / 1000.0;
    int status = 0;
    pid_t done;
    while ((done = waitpid(pid, &status, WNOHANG)) == 0 && monotonic_seconds() < deadline) {
        struct timespec pause = {0, 20 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    if (done == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        return uk_error_set(err, UK_E_IO, 0, "'%s' did not finish within its timeout", a->command);
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return uk_error_set(err, UK_E_IO, 0, "'%s' exited with status %d", a->command,
                            WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    return 0;
}
