/* Storage driver for S3-compatible object storage: url = s3://bucket/prefix.
 *
 * Every call is one or a few HTTP requests through libcurl, signed by libcurl's own AWS
 * Signature V4 (CURLOPT_AWS_SIGV4). libcurl 7.88 (Debian 12) signs exactly what it is given,
 * so this driver does the rest S3 needs: it sends x-amz-content-sha256 itself (the body's
 * SHA-256; libcurl would hash an empty body for an upload), writes query strings sorted by
 * name with their values %-encoded and `=` after value-less names, %-encodes keys
 * (everything but A-Za-z0-9-._~ and '/'), and gives the region and service explicitly.
 *
 * Objects are small (indexes, manifests, locks) or packs of about 16 MiB: a stream waits in an
 * unlinked temporary file (temp_file_open; two packs in memory, the one being uploaded and the
 * next, were a third of a backup's memory) and is sent from it in one PUT, or, above
 * PUT_WHOLE_MAX, as a multipart upload in parts of PART_BYTES, aborted when anything fails, so
 * nothing half-written is ever visible. An
 * exclusive put sends If-None-Match: *, which the server answers with 412 when the object
 * exists (AWS since 2024, MinIO, Ceph RGW); storage_has_feature(EXCLUSIVE_PUT) promises that,
 * unless the repository says the server ignores it (conditional_writes = no).
 *
 * Failures that may pass (5xx, 408, 429, a refused, dropped or stalled connection) are tried
 * again after a wait that doubles from 100 ms up to 10 s, each one drawn at random below
 * its bound ("full jitter", so hosts that failed together do not retry together), until
 * retry_for has passed. A retried request can find its own earlier attempt done: an
 * exclusive put that meets 412 after a retry compares what is there with what it sent.
 *
 * Reads of ranges (frames of packs) fetch READ_AHEAD bytes at once and serve the next reads
 * from them: restore and verify read a pack's frames in order, so a pack costs a few GETs.
 *
 * UPKEEP_S3_PUT_WHOLE_MAX (bytes) lowers PUT_WHOLE_MAX, for tests of multipart uploads. */
#include "repo/storage_driver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/curl_lib.h"
#include "common/util.h"
#include "core/log.h"
#include "repo/storage/s3/s3_credentials.h"
#include "repo/storage/s3/s3_xml.h"

#define PUT_WHOLE_MAX (32u * 1024 * 1024)
#define PART_BYTES (16u * 1024 * 1024)
#define READ_AHEAD (4u * 1024 * 1024)
#define GET_MAX ((size_t)1 << 30)
#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 10000
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

typedef struct Buffer {
    unsigned char *data;
    size_t len, cap;
} Buffer;

typedef struct S3Storage {
    const CurlLib *curl;
    CURL *handle;
    char *endpoint; /* scheme://host[:port] */
    char *bucket;
    char *prefix; /* "" or "a/b" */
    bool path_style;
    char *sigv4;   /* "aws:amz:REGION:s3" */
    char *userpwd; /* "ACCESS:SECRET", wiped on free */
    char *token;   /* "x-amz-security-token: …", or NULL */
    double retry_for;
    size_t put_whole_max;
    /* Read-ahead: bytes [cache_offset, cache_offset + cache.len) of cache_key. */
    char *cache_key;
    uint64_t cache_offset;
    Buffer cache;
} S3Storage;

/* One request and its answer. */
typedef struct S3Call {
    const char *method;
    const char *key;           /* the object key (prefix included), or NULL for the bucket */
    const char *query;         /* sorted and encoded, or NULL */
    const unsigned char *body; /* the body in memory, or */
    int body_fd;               /* from a file (when body is NULL and body_len > 0), at */
    uint64_t body_at;
    size_t body_len, body_sent;
    char body_sha256[65];   /* hex, worked out by the first attempt */
    const char *headers[4]; /* extra, NULL-terminated */
    size_t out_max;         /* the longest answer body kept */
    /* answer */
    long status;
    Buffer out;
    char content_range[96];
    char etag[128];
    long long content_length; /* -1: not given */
    int attempts;
} S3Call;

static void buffer_add(Buffer *b, const void *data, size_t len)
{
    if (b->len + len > b->cap) {
        b->cap = b->cap ? b->cap : 4096;
        while (b->len + len > b->cap)
            b->cap *= 2;
        b->data = xrealloc(b->data, b->cap);
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
}

/* %-encoding for paths (KEEP_SLASH) and query values. */
static char *uri_encode(const char *s, bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = xmalloc(3 * n + 1), *p = out;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~' || (keep_slash && c == '/')) {
            *p++ = (char)c;
        } else {
            *p++ = '%';
            *p++ = hex[c >> 4];
            *p++ = hex[c & 15];
        }
    }
    *p = '\0';
    return out;
}

static char *object_key(const S3Storage *s, const char *name)
{
    return *s->prefix ? xasprintf("%s/%s", s->prefix, name) : xstrdup(name);
}

static char *request_url(const S3Storage *s, const char *key, const char *query)
{
    char *path = uri_encode(key ? key : "", true);
    char *url;
    if (s->path_style) {
        url = xasprintf("%s/%s%s%s%s%s", s->endpoint, s->bucket, key ? "/" : "", path,
                        query ? "?" : "", query ? query : "");
    } else {
        const char *host = strstr(s->endpoint, "://") + 3;
        url = xasprintf("%.*s%s.%s/%s%s%s", (int)(host - s->endpoint), s->endpoint, s->bucket, host,
                        path, query ? "?" : "", query ? query : "");
    }
    free(path);
    return url;
}

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
    S3Call *c = ctx;
    size_t len = size * n;
    if (c->out.len + len > c->out_max)
        return 0; /* more than asked for: abort the transfer */
    buffer_add(&c->out, data, len);
    return len;
}

/* The value of header line DATA (LEN bytes) when it is NAME ("etag:"), into OUT. */
static bool header_value(const char *data, size_t len, const char *name, char *out, size_t out_len)
{
    size_t n = strlen(name);
    if (len <= n || strncasecmp(data, name, n) != 0)
        return false;
    size_t start = n, end = len;
    while (start < len && data[start] == ' ')
        start++;
    while (end > start && (data[end - 1] == '\r' || data[end - 1] == '\n' || data[end - 1] == ' '))
        end--;
    snprintf(out, out_len, "%.*s", (int)(end - start), data + start);
    return true;
}

static size_t on_header(char *data, size_t size, size_t n, void *ctx)
{
    S3Call *c = ctx;
    size_t len = size * n;
    char length[32];
    header_value(data, len, "content-range:", c->content_range, sizeof c->content_range);
    header_value(data, len, "etag:", c->etag, sizeof c->etag);
    if (header_value(data, len, "content-length:", length, sizeof length))
        c->content_length = atoll(length);
    return len;
}

static size_t on_read(char *buf, size_t size, size_t n, void *ctx)
{
    S3Call *c = ctx;
    size_t len = size * n, left = c->body_len - c->body_sent;
    if (len > left)
        len = left;
    if (c->body)
        memcpy(buf, c->body + c->body_sent, len);
    else if (pread_all(c->body_fd, buf, len, c->body_at + c->body_sent, "", NULL) != 0)
        return CURL_READFUNC_ABORT; /* the transfer fails, and is not tried again */
    c->body_sent += len;
    return len;
}

/* The body's SHA-256 in hex (x-amz-content-sha256); -1 when its file cannot be read. */
static int body_hash(S3Call *c, UkError *err)
{
    if (c->body_sha256[0])
        return 0;
    unsigned char digest[32];
    if (c->body_len == 0) {
        snprintf(c->body_sha256, sizeof c->body_sha256, "%s", EMPTY_SHA256);
        return 0;
    }
    if (c->body) {
        crypto_sha256(c->body, c->body_len, digest);
    } else {
        CryptoSha256 *h = crypto_sha256_new();
        unsigned char *piece = xmalloc(1 << 20);
        for (size_t done = 0; done < c->body_len;) {
            size_t n = c->body_len - done < (1u << 20) ? c->body_len - done : (1u << 20);
            if (pread_all(c->body_fd, piece, n, c->body_at + done, "an upload's temporary file",
                          err) != 0) {
                free(piece);
                crypto_sha256_free(h);
                return -1;
            }
            crypto_sha256_update(h, piece, n);
            done += n;
        }
        free(piece);
        crypto_sha256_final(h, digest);
    }
    hex_encode(digest, 32, c->body_sha256);
    return 0;
}

static bool retryable_status(long status)
{
    return status >= 500 || status == 408 || status == 429;
}

static bool retryable_curl(CURLcode code)
{
    switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR: return true;
    default: return false;
    }
}

/* One attempt; *curl_code says how the transfer itself went. */
static CURLcode attempt(S3Storage *s, S3Call *c, char *errbuf)
{
    const CurlLib *curl = s->curl;
    CURL *h = s->handle;
    curl->easy_reset(h);
    c->out.len = 0;
    c->body_sent = 0;
    c->status = 0;
    c->content_range[0] = c->etag[0] = '\0';
    c->content_length = -1;
    char hash_header[100];
    snprintf(hash_header, sizeof hash_header, "x-amz-content-sha256: %s", c->body_sha256);
    struct curl_slist *headers = curl->slist_append(NULL, hash_header);
    if (s->token)
        headers = curl->slist_append(headers, s->token);
    for (size_t i = 0; i < sizeof c->headers / sizeof c->headers[0] && c->headers[i]; i++)
        headers = curl->slist_append(headers, c->headers[i]);
    char *url = request_url(s, c->key, c->query);
    curl->easy_setopt(h, CURLOPT_URL, url);
    curl->easy_setopt(h, CURLOPT_AWS_SIGV4, s->sigv4);
    curl->easy_setopt(h, CURLOPT_USERPWD, s->userpwd);
    curl->easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl->easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl->easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
    /* A connection that carries less than 1 KB/s for 30 s is given up (and tried again). */
    curl->easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1024L);
    curl->easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 30L);
    curl->easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl->easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl->easy_setopt(h, CURLOPT_WRITEDATA, c);
    curl->easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl->easy_setopt(h, CURLOPT_HEADERDATA, c);
    if (strcmp(c->method, "PUT") == 0) {
        curl->easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl->easy_setopt(h, CURLOPT_READFUNCTION, on_read);
        curl->easy_setopt(h, CURLOPT_READDATA, c);
        curl->easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)c->body_len);
    } else if (strcmp(c->method, "POST") == 0) {
        curl->easy_setopt(h, CURLOPT_POST, 1L);
        curl->easy_setopt(h, CURLOPT_POSTFIELDS, c->body ? (const char *)c->body : "");
        curl->easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)c->body_len);
    } else if (strcmp(c->method, "HEAD") == 0) {
        curl->easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (strcmp(c->method, "GET") != 0) {
        curl->easy_setopt(h, CURLOPT_CUSTOMREQUEST, c->method);
    }
    errbuf[0] = '\0';
    CURLcode code = curl->easy_perform(h);
    if (code == CURLE_OK)
        curl->easy_getinfo(h, CURLINFO_RESPONSE_CODE, &c->status);
    curl->slist_free_all(headers);
    free(url);
    return code;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* What S3 said, for messages: "403 SignatureDoesNotMatch: The request signature …". */
static void describe_failure(const S3Call *c, char *out, size_t len)
{
    char *code =
        c->out.len ? s3_xml_first((const char *)c->out.data, c->out.len, "Error/Code") : NULL;
    char *message =
        c->out.len ? s3_xml_first((const char *)c->out.data, c->out.len, "Error/Message") : NULL;
    snprintf(out, len, "%ld%s%s%s%s", c->status, code ? " " : "", code ? code : "",
             message ? ": " : "", message ? message : "");
    free(code);
    free(message);
}

/* Runs C, retrying what may pass. 0 when the server answered (any status: the caller decides
 * what it means), -1 with err set when it could not be reached within retry_for or answered
 * with a failure that may pass every time. */
static int perform(S3Storage *s, S3Call *c, UkError *err)
{
    if (body_hash(c, err) != 0)
        return -1;
    double deadline = monotonic_seconds() + s->retry_for;
    char errbuf[CURL_ERROR_SIZE];
    long bound = BACKOFF_FIRST_MS;
    for (c->attempts = 1;; c->attempts++) {
        CURLcode code = attempt(s, c, errbuf);
        bool again = code == CURLE_OK ? retryable_status(c->status) : retryable_curl(code);
        if (!again && code != CURLE_OK)
            return uk_error_set(err, UK_E_IO, 0, "%s %s: %s", c->method, c->key ? c->key : "/",
                                *errbuf ? errbuf : s->curl->easy_strerror(code));
        if (!again)
            return 0;
        unsigned char r[4] = {0};
        crypto_random(r, sizeof r, NULL);
        long wait =
            (long)(((uint32_t)r[0] << 24 | (uint32_t)r[1] << 16 | (uint32_t)r[2] << 8 | r[3]) %
                   (uint32_t)bound);
        if (monotonic_seconds() + wait / 1000.0 > deadline) {
            char what[512];
            if (code == CURLE_OK)
                describe_failure(c, what, sizeof what);
            else
                snprintf(what, sizeof what, "%s", *errbuf ? errbuf : s->curl->easy_strerror(code));
            return uk_error_set(err, UK_E_IO, 0, "%s %s: %s (still failing after %d attempts)",
                                c->method, c->key ? c->key : "/", what, c->attempts);
        }
        log_debug("s3: %s %s: %s, trying again in %ld ms", c->method, c->key ? c->key : "/",
                  code == CURLE_OK ? "server error" : "connection failed", wait);
        sleep_ms(wait);
        bound = bound * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : bound * 2;
    }
}

/* An answer that is not a success: the error for it. */
static int answer_error(const S3Storage *s, const S3Call *c, const char *name, UkError *err)
{
    char what[512];
    describe_failure(c, what, sizeof what);
    int code = c->status == 404 ? UK_E_NOTFOUND : c->status == 412 ? UK_E_EXISTS : UK_E_IO;
    return uk_error_set(err, code, 0, "%s s3://%s/%s%s%s: %s", c->method, s->bucket, s->prefix,
                        *s->prefix ? "/" : "", name, what);
}

/* ---- configuration ---- */

static int s3_configure(ConfigRepository *cfg, const char *config_dir, UkError *err)
{
    (void)config_dir;
    const char *rest = cfg->url + strlen("s3://");
    const char *slash = strchr(rest, '/');
    size_t bucket_len = slash ? (size_t)(slash - rest) : strlen(rest);
    if (bucket_len < 3 || bucket_len > 63)
        return uk_error_set(err, UK_E_CONFIG, 0,
                            "unsupported url '%s' (expected s3://bucket/prefix, the bucket's "
                            "name 3 to 63 characters)",
                            cfg->url);
    for (size_t i = 0; i < bucket_len; i++) {
        char ch = rest[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '.'))
            return uk_error_set(err, UK_E_CONFIG, 0,
                                "unsupported url '%s': a bucket's name has lower-case letters, "
                                "digits, '-' and '.'",
                                cfg->url);
    }
    if (cfg->endpoint && strncmp(cfg->endpoint, "http://", 7) != 0 &&
        strncmp(cfg->endpoint, "https://", 8) != 0)
        return uk_error_set(err, UK_E_CONFIG, 0, "endpoint '%s' is not http(s)://host[:port]",
                            cfg->endpoint);
    return 0;
}

/* Path style (endpoint/bucket/key) unless the endpoint is AWS's and the bucket's name fits
 * a host name (bucket.endpoint/key), as the AWS tools choose with bucket_lookup = auto. */
static bool choose_path_style(const ConfigRepository *cfg, const char *endpoint, const char *bucket)
{
    if (cfg->bucket_lookup && strcmp(cfg->bucket_lookup, "path") == 0)
        return true;
    if (cfg->bucket_lookup && strcmp(cfg->bucket_lookup, "dns") == 0)
        return false;
    const char *host = strstr(endpoint, "://") + 3;
    size_t host_len = strcspn(host, ":/");
    bool aws = host_len > 14 && strncmp(host + host_len - 14, ".amazonaws.com", 14) == 0;
    return !aws || strchr(bucket, '.') != NULL;
}

static void s3_free(void *impl)
{
    S3Storage *s = impl;
    if (!s)
        return;
    if (s->handle)
        s->curl->easy_cleanup(s->handle);
    if (s->userpwd)
        explicit_bzero(s->userpwd, strlen(s->userpwd));
    if (s->token)
        explicit_bzero(s->token, strlen(s->token));
    free(s->userpwd);
    free(s->token);
    free(s->endpoint);
    free(s->bucket);
    free(s->prefix);
    free(s->sigv4);
    free(s->cache_key);
    free(s->cache.data);
    free(s);
}

static void *s3_open(const ConfigRepository *cfg, unsigned *features, UkError *err)
{
    const CurlLib *curl = curl_lib("S3 repositories need libcurl", err);
    if (!curl)
        return NULL;
    S3Credentials creds;
    if (s3_credentials_resolve(cfg, &creds, err) != 0)
        return NULL;
    S3Storage *s = xcalloc(1, sizeof *s);
    s->curl = curl;
    const char *rest = cfg->url + strlen("s3://");
    const char *slash = strchr(rest, '/');
    s->bucket = slash ? xasprintf("%.*s", (int)(slash - rest), rest) : xstrdup(rest);
    const char *prefix = slash ? slash + 1 : "";
    size_t prefix_len = strlen(prefix);
    while (prefix_len > 0 && prefix[prefix_len - 1] == '/')
        prefix_len--;
    s->prefix = xasprintf("%.*s", (int)prefix_len, prefix);
    const char *region = cfg->region ? cfg->region : getenv("AWS_REGION");
    if (!region || !*region)
        region = getenv("AWS_DEFAULT_REGION");
    if (!region || !*region)
        region = "us-east-1";
    s->endpoint =
        cfg->endpoint ? xstrdup(cfg->endpoint) : xasprintf("https://s3.%s.amazonaws.com", region);
    size_t n = strlen(s->endpoint);
    while (n > 0 && s->endpoint[n - 1] == '/')
        s->endpoint[--n] = '\0';
    s->path_style = choose_path_style(cfg, s->endpoint, s->bucket);
    s->sigv4 = xasprintf("aws:amz:%s:s3", region);
    s->userpwd = xasprintf("%s:%s", creds.access_key, creds.secret_key);
    if (creds.session_token[0])
        s->token = xasprintf("x-amz-security-token: %s", creds.session_token);
    log_debug("repository '%s': s3 credentials from %s", cfg->name, creds.source);
    s3_credentials_clear(&creds);
    s->retry_for = cfg->retry_for > 0 ? (double)cfg->retry_for : 120.0;
    if (!cfg->conditional_writes)
        *features &= ~(unsigned)STORAGE_FEAT_EXCLUSIVE_PUT;
    const char *whole = getenv("UPKEEP_S3_PUT_WHOLE_MAX");
    s->put_whole_max = whole && atol(whole) > 0 ? (size_t)atol(whole) : PUT_WHOLE_MAX;
    s->handle = curl->easy_init();
    if (!s->handle) {
        uk_error_set(err, UK_E_IO, 0, "unable to start an HTTP client");
        s3_free(s);
        return NULL;
    }
    return s;
}

static void *s3_clone(void *impl, UkError *err)
{
    const S3Storage *s = impl;
    S3Storage *copy = xcalloc(1, sizeof *copy);
    copy->curl = s->curl;
    copy->endpoint = xstrdup(s->endpoint);
    copy->bucket = xstrdup(s->bucket);
    copy->prefix = xstrdup(s->prefix);
    copy->path_style = s->path_style;
    copy->sigv4 = xstrdup(s->sigv4);
    copy->userpwd = xstrdup(s->userpwd);
    copy->token = s->token ? xstrdup(s->token) : NULL;
    copy->retry_for = s->retry_for;
    copy->put_whole_max = s->put_whole_max;
    copy->handle = s->curl->easy_init();
    if (!copy->handle) {
        uk_error_set(err, UK_E_IO, 0, "unable to start an HTTP client");
        s3_free(copy);
        return NULL;
    }
    return copy;
}

/* ---- objects ---- */

static int s3_get(void *impl, const char *name, unsigned char **data, size_t *len, UkError *err)
{
    S3Storage *s = impl;
    *data = NULL;
    *len = 0;
    char *key = object_key(s, name);
    S3Call c = {.method = "GET", .key = key, .out_max = GET_MAX};
    int rc = perform(s, &c, err);
    if (rc == 0 && c.status != 200)
        rc = answer_error(s, &c, name, err);
    if (rc == 0) {
        buffer_add(&c.out, "", 1); /* room for a terminator, as read_file_all leaves */
        *data = c.out.data;
        *len = c.out.len - 1;
        c.out.data = NULL;
    }
    free(c.out.data);
    free(key);
    return rc;
}

static int head(S3Storage *s, const char *name, long *status, UkError *err)
{
    char *key = object_key(s, name);
    S3Call c = {.method = "HEAD", .key = key, .out_max = 0};
    int rc = perform(s, &c, err);
    *status = c.status;
    if (rc == 0 && c.status != 200 && c.status != 404)
        rc = answer_error(s, &c, name, err);
    free(c.out.data);
    free(key);
    return rc;
}

static int s3_exists(void *impl, const char *name, bool *exists, UkError *err)
{
    long status = 0;
    if (head(impl, name, &status, err) != 0)
        return -1;
    *exists = status == 200;
    return 0;
}

static int s3_size(void *impl, const char *name, uint64_t *size, UkError *err)
{
    S3Storage *s = impl;
    char *key = object_key(s, name);
    S3Call c = {.method = "HEAD", .key = key, .out_max = 0};
    int rc = perform(s, &c, err);
    if (rc == 0 && c.status != 200)
        rc = answer_error(s, &c, name, err);
    if (rc == 0 && c.content_length < 0)
        rc = uk_error_set(err, UK_E_IO, 0, "HEAD %s: no length in the answer", key);
    if (rc == 0)
        *size = (uint64_t)c.content_length;
    free(c.out.data);
    free(key);
    return rc;
}

static int s3_read_range(void *impl, const char *name, uint64_t offset, size_t len, void *buf,
                         UkError *err)
{
    S3Storage *s = impl;
    if (s->cache_key && strcmp(s->cache_key, name) == 0 && offset >= s->cache_offset &&
        offset + len <= s->cache_offset + s->cache.len) {
        memcpy(buf, s->cache.data + (offset - s->cache_offset), len);
        return 0;
    }
    size_t want = len > READ_AHEAD ? len : READ_AHEAD;
    char range[96];
    snprintf(range, sizeof range, "Range: bytes=%llu-%llu", (unsigned long long)offset,
             (unsigned long long)(offset + want - 1));
    char *key = object_key(s, name);
    S3Call c = {.method = "GET", .key = key, .headers = {range}, .out_max = want};
    int rc = perform(s, &c, err);
    if (rc == 0 && c.status != 206 && c.status != 200)
        rc = answer_error(s, &c, name, err);
    if (rc == 0 && c.status == 200) { /* the server ignored the range: the whole object */
        if (offset > c.out.len) {
            c.out.len = 0;
        } else {
            memmove(c.out.data, c.out.data + offset, c.out.len - offset);
            c.out.len -= offset;
        }
    }
    if (rc == 0 && c.out.len < len)
        rc = uk_error_set(err, UK_E_CORRUPT, 0, "s3 object '%s' is shorter than its index says",
                          key);
    if (rc == 0) {
        memcpy(buf, c.out.data, len);
        free(s->cache.data);
        free(s->cache_key);
        s->cache = c.out;
        s->cache_key = xstrdup(name);
        s->cache_offset = offset;
        c.out.data = NULL;
    }
    free(c.out.data);
    free(key);
    return rc;
}

/* Forgets read-ahead bytes of NAME, which is being replaced or removed. */
static void forget(S3Storage *s, const char *name)
{
    if (s->cache_key && strcmp(s->cache_key, name) == 0) {
        free(s->cache_key);
        s->cache_key = NULL;
        s->cache.len = 0;
    }
}

/* A put whose retry met 412: is what is there what this put sent? */
static bool holds(S3Storage *s, const char *name, const void *data, size_t len)
{
    unsigned char *there = NULL;
    size_t there_len = 0;
    UkError ignored = {0};
    bool same = s3_get(s, name, &there, &there_len, &ignored) == 0 && there_len == len &&
                memcmp(there, data, len) == 0;
    free(there);
    return same;
}

/* A PUT of LEN bytes from FD at offset 0 (a streamed write's temporary file). */
static int put_file(S3Storage *s, const char *name, int fd, size_t len, UkError *err)
{
    forget(s, name);
    char *key = object_key(s, name);
    S3Call c = {.method = "PUT", .key = key, .body_fd = fd, .body_len = len, .out_max = 1 << 20};
    int rc = perform(s, &c, err);
    if (rc == 0 && c.status != 200)
        rc = answer_error(s, &c, name, err);
    free(c.out.data);
    free(key);
    return rc;
}

static int put_whole(S3Storage *s, const char *name, const void *data, size_t len, bool exclusive,
                     UkError *err)
{
    forget(s, name);
    char *key = object_key(s, name);
    S3Call c = {.method = "PUT",
                .key = key,
                .body = data,
                .body_len = len,
                .headers = {exclusive ? "If-None-Match: *" : NULL},
                .out_max = 1 << 20};
    int rc = perform(s, &c, err);
    if (rc == 0 && c.status == 412 && c.attempts > 1 && holds(s, name, data, len))
        c.status = 200;
    if (rc == 0 && c.status != 200)
        rc = answer_error(s, &c, name, err);
    free(c.out.data);
    free(key);
    return rc;
}

/* Multipart: Create, UploadPart for each PART_BYTES, Complete; Abort on any failure. */
typedef struct Multipart {
    char *key;
    char *upload_id; /* encoded for the query */
    Buffer parts;    /* the Complete body's <Part> elements */
    int next_part;
} Multipart;

static int multipart_begin(S3Storage *s, const char *name, Multipart *m, UkError *err)
{
    memset(m, 0, sizeof *m);
    m->key = object_key(s, name);
    S3Call c = {.method = "POST", .key = m->key, .query = "uploads=", .out_max = 1 << 20};
    int rc = perform(s, &c, err);
    if (rc == 0 && c.status != 200)
        rc = answer_error(s, &c, name, err);
    char *id = rc == 0 ? s3_xml_first((const char *)c.out.data, c.out.len,
                                      "InitiateMultipartUploadResult/UploadId")
                       : NULL;
    if (rc == 0 && !id)
        rc = uk_error_set(err, UK_E_IO, 0, "POST %s?uploads: no upload id in the answer", m->key);
    if (id) {
        m->upload_id = uri_encode(id, false);
        free(id);
    }
    free(c.out.data);
    m->next_part = 1;
    return rc;
}

/* Uploads the next part, LEN bytes of FD at AT; its number and ETag go into the Complete
 * body. */
static int multipart_part(S3Storage *s, Multipart *m, int fd, uint64_t at, size_t len, UkError *err)
{
    char *query = xasprintf("partNumber=%d&uploadId=%s", m->next_part, m->upload_id);
    S3Call c = {.method = "PUT",
                .key = m->key,
                .query = query,
                .body_fd = fd,
                .body_at = at,
                .body_len = len,
                .out_max = 1 << 20};
    int rc = perform(s, &c, err);
    if (rc == 0 && c.status != 200)
        rc = answer_error(s, &c, m->key, err);
    if (rc == 0 && !c.etag[0])
        rc = uk_error_set(err, UK_E_IO, 0, "PUT %s part %d: no ETag in the answer", m->key,
                          m->next_part);
    if (rc == 0) {
        char *element = xasprintf("<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>",
                                  m->next_part++, c.etag);
        buffer_add(&m->parts, element, strlen(element));
        free(element);
    }
    free(query);
    free(c.out.data);
    return rc;
}

static void multipart_abort(S3Storage *s, Multipart *m)
{
    if (m->upload_id) {
        char *query = xasprintf("uploadId=%s", m->upload_id);
        S3Call c = {.method = "DELETE", .key = m->key, .query = query, .out_max = 1 << 20};
        UkError ignored = {0};
        perform(s, &c, &ignored);
        free(c.out.data);
        free(query);
    }
    free(m->key);
    free(m->upload_id);
    free(m->parts.data);
    memset(m, 0, sizeof *m);
}

static int s3_put(void *impl, const char *name, const void *data, size_t len, bool exclusive,
                  UkError *err)
{
    return put_whole(impl, name, data, len, exclusive, err);
}

static int s3_remove(void *impl, const char *name, UkError *err)
{
    S3Storage *s = impl;
    forget(s, name);
    char *key = object_key(s, name);
    S3Call c = {.method = "DELETE", .key = key, .out_max = 1 << 20};
    int rc = perform(s, &c, err);
    if (rc == 0 && c.status != 204 && c.status != 200 && c.status != 404)
        rc = answer_error(s, &c, name, err);
    free(c.out.data);
    free(key);
    return rc;
}

/* ---- listing ---- */

typedef struct Listing {
    size_t skip; /* the length of the listed prefix, stripped from each name */
    char ***names;
    size_t *n;
    char *next_token;
    bool truncated;
} Listing;

static void add_name(Listing *l, const char *full, bool folder)
{
    if (strlen(full) <= l->skip)
        return;
    const char *name = full + l->skip;
    size_t len = strlen(name);
    if (folder && len > 0 && name[len - 1] == '/')
        len--;
    if (len == 0)
        return;
    *l->names = xrealloc(*l->names, (*l->n + 1) * sizeof **l->names);
    (*l->names)[(*l->n)++] = xasprintf("%.*s", (int)len, name);
}

static void on_listing(void *ctx, const char *path, const char *text)
{
    Listing *l = ctx;
    if (strcmp(path, "ListBucketResult/Contents/Key") == 0) {
        add_name(l, text, false);
    } else if (strcmp(path, "ListBucketResult/CommonPrefixes/Prefix") == 0) {
        add_name(l, text, true);
    } else if (strcmp(path, "ListBucketResult/NextContinuationToken") == 0) {
        free(l->next_token);
        l->next_token = xstrdup(text);
    } else if (strcmp(path, "ListBucketResult/IsTruncated") == 0) {
        l->truncated = strcmp(text, "true") == 0;
    }
}

/* Names directly under PREFIX: objects, and "folders" (common prefixes, as packs/ab). */
static int s3_list(void *impl, const char *prefix, char ***names, size_t *n, UkError *err)
{
    S3Storage *s = impl;
    *names = NULL;
    *n = 0;
    char *folder = *s->prefix ? xasprintf("%s/%s/", s->prefix, prefix) : xasprintf("%s/", prefix);
    char *encoded_folder = uri_encode(folder, false);
    Listing l = {.skip = strlen(folder), .names = names, .n = n};
    int rc = 0;
    do {
        char *token = l.next_token ? uri_encode(l.next_token, false) : NULL;
        /* Sorted by name: continuation-token, delimiter, list-type, prefix. */
        char *query = xasprintf("%s%s%sdelimiter=%%2F&list-type=2&prefix=%s",
                                token ? "continuation-token=" : "", token ? token : "",
                                token ? "&" : "", encoded_folder);
        free(token);
        free(l.next_token);
        l.next_token = NULL;
        l.truncated = false;
        S3Call c = {.method = "GET", .key = NULL, .query = query, .out_max = 64u << 20};
        rc = perform(s, &c, err);
        if (rc == 0 && c.status != 200)
            rc = answer_error(s, &c, prefix, err);
        if (rc == 0 && s3_xml_walk((const char *)c.out.data, c.out.len, on_listing, &l) != 0)
            rc = uk_error_set(err, UK_E_IO, 0, "listing s3://%s/%s: the answer is not XML",
                              s->bucket, folder);
        if (rc == 0 && l.truncated && !l.next_token)
            rc = uk_error_set(err, UK_E_IO, 0,
                              "listing s3://%s/%s: truncated without a continuation token",
                              s->bucket, folder);
        free(c.out.data);
        free(query);
    } while (rc == 0 && l.truncated);
    free(l.next_token);
    free(folder);
    free(encoded_folder);
    if (rc != 0) {
        for (size_t i = 0; i < *n; i++)
            free((*names)[i]);
        free(*names);
        *names = NULL;
        *n = 0;
    }
    return rc;
}

/* ---- streamed writes ---- */

typedef struct S3Write {
    S3Storage *storage;
    char *name;
    int fd; /* the object so far (temp_file_open) */
    uint64_t len;
    Multipart multipart;
} S3Write;

static void *s3_write_begin(void *impl, const char *name, UkError *err)
{
    int fd = temp_file_open(err);
    if (fd < 0)
        return NULL;
    S3Write *w = xcalloc(1, sizeof *w);
    w->storage = impl;
    w->name = xstrdup(name);
    w->fd = fd;
    return w;
}

static int s3_write(void *writer, const void *data, size_t len, UkError *err)
{
    S3Write *w = writer;
    if (pwrite_all(w->fd, data, len, w->len, "an upload's temporary file", err) != 0)
        return -1;
    w->len += len;
    return 0;
}

static void s3_write_abort(void *writer)
{
    S3Write *w = writer;
    if (!w)
        return;
    if (w->multipart.key)
        multipart_abort(w->storage, &w->multipart);
    close(w->fd);
    free(w->name);
    free(w);
}

/* Create, the parts, Complete (any failure aborts the upload, in s3_write_abort). */
static int multipart_upload(S3Write *w, UkError *err)
{
    S3Storage *s = w->storage;
    Multipart *m = &w->multipart;
    if (multipart_begin(s, w->name, m, err) != 0)
        return -1;
    size_t part = s->put_whole_max < PART_BYTES ? s->put_whole_max : PART_BYTES;
    for (uint64_t at = 0; at < w->len;) {
        size_t n = w->len - at < part ? (size_t)(w->len - at) : part;
        if (multipart_part(s, m, w->fd, at, n, err) != 0)
            return -1;
        at += n;
    }
    Buffer body = {0};
    static const char open[] = "<CompleteMultipartUpload>", close[] = "</CompleteMultipartUpload>";
    buffer_add(&body, open, sizeof open - 1);
    buffer_add(&body, m->parts.data, m->parts.len);
    buffer_add(&body, close, sizeof close - 1);
    char *query = xasprintf("uploadId=%s", m->upload_id);
    S3Call c = {.method = "POST",
                .key = m->key,
                .query = query,
                .body = body.data,
                .body_len = body.len,
                .headers = {"Content-Type: application/xml"},
                .out_max = 1 << 20};
    forget(s, w->name);
    int rc = perform(s, &c, err);
    /* S3 can answer 200 with an error in the body once the upload has begun. */
    char *failed = rc == 0 && c.status == 200
                       ? s3_xml_first((const char *)c.out.data, c.out.len, "Error/Code")
                       : NULL;
    if (rc == 0 && (c.status != 200 || failed))
        rc = answer_error(s, &c, w->name, err);
    free(failed);
    free(c.out.data);
    free(query);
    free(body.data);
    if (rc == 0) { /* complete: nothing to abort */
        free(m->key);
        free(m->upload_id);
        free(m->parts.data);
        memset(m, 0, sizeof *m);
    }
    return rc;
}

static int s3_write_commit(void *writer, UkError *err)
{
    S3Write *w = writer;
    int rc = w->len <= w->storage->put_whole_max
                 ? put_file(w->storage, w->name, w->fd, (size_t)w->len, err)
                 : multipart_upload(w, err);
    s3_write_abort(w);
    return rc;
}

static const char *const s3_schemes[] = {"s3", NULL};

const StorageDriver storage_s3_driver = {
    .name = "s3",
    .schemes = s3_schemes,
    .features = STORAGE_FEAT_EXCLUSIVE_PUT | STORAGE_FEAT_REMOTE,
    .configure = s3_configure,
    .open = s3_open,
    .exists = s3_exists,
    .clone = s3_clone,
    .put = s3_put,
    .get = s3_get,
    .read_range = s3_read_range,
    .size = s3_size,
    .list = s3_list,
    .remove = s3_remove,
    .write_begin = s3_write_begin,
    .write = s3_write,
    .write_commit = s3_write_commit,
    .write_abort = s3_write_abort,
    .free = s3_free,
};
