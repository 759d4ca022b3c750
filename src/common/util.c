/* Helpers shared by every module. The durable-write helpers follow the classic recipe
 * (write a temporary file, fsync it, rename over the target, fsync the directory) so that
 * after a crash the target is either the old or the new content, never a mix. */
#include "common/util.h"

#include <ctype.h>
#include <errno.h>
#include <ftw.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void uk_oom(size_t n)
{
    fprintf(stderr, "upkeep: out of memory allocating %zu bytes\n", n);
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        uk_oom(n);
    return p;
}

void *xcalloc(size_t count, size_t n)
{
    void *p = calloc(count ? count : 1, n ? n : 1);
    if (!p)
        uk_oom(count * n);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        uk_oom(n);
    return q;
}

char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = xmalloc(n);
    memcpy(p, s, n);
    return p;
}

char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *out = NULL;
    int n = vasprintf(&out, fmt, ap);
    va_end(ap);
    if (n < 0)
        uk_oom(0);
    return out;
}

void hex_encode(const unsigned char *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

static int hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int hex_decode(const char *in, unsigned char *out, size_t len)
{
    if (strlen(in) != 2 * len)
        return -1;
    for (size_t i = 0; i < len; i++) {
        int hi = hex_value(in[2 * i]), lo = hex_value(in[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

/* Parses "<digits><suffix>" where suffix must be one of the given units. */
static int parse_number_unit(const char *text, uint64_t *number, const char **unit)
{
    const char *p = text;
    while (isspace((unsigned char)*p))
        p++;
    if (!isdigit((unsigned char)*p))
        return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(p, &end, 10);
    if (errno)
        return errno == ERANGE ? -2 : -1;
    while (isspace((unsigned char)*end))
        end++;
    *number = v;
    *unit = end;
    return 0;
}

typedef struct Unit {
    const char *name;
    uint64_t multiplier;
} Unit;

/* "<digits> <unit>" with a unit from the table (case-insensitive when asked); 0 on success. */
static int parse_with_units(const char *text, const Unit *units, size_t n_units, bool ignore_case,
                            uint64_t max, uint64_t *out)
{
    uint64_t n;
    const char *unit;
    int rc = parse_number_unit(text, &n, &unit);
    if (rc != 0)
        return rc;
    size_t ulen = strlen(unit);
    while (ulen && isspace((unsigned char)unit[ulen - 1]))
        ulen--;
    for (size_t i = 0; i < n_units; i++) {
        const char *name = units[i].name;
        if (strlen(name) != ulen ||
            (ignore_case ? strncasecmp(unit, name, ulen) : strncmp(unit, name, ulen)) != 0)
            continue;
        if (n > max / units[i].multiplier)
            return -2; /* out of range */
        *out = n * units[i].multiplier;
        return 0;
    }
    return -1;
}

int parse_duration(const char *text, int64_t *seconds, UkError *err)
{
    static const Unit units[] = {{"", 1},     {"s", 1},     {"m", 60},
                                 {"h", 3600}, {"d", 86400}, {"w", 604800}};
    uint64_t v;
    int rc =
        parse_with_units(text, units, sizeof units / sizeof units[0], false, UK_DURATION_MAX, &v);
    if (rc == 0) {
        *seconds = (int64_t)v;
        return 0;
    }
    if (rc == -2)
        return uk_error_set(err, UK_E_CONFIG, 0,
                            "duration '%s' is out of range (at most 100 years, 36500d)", text);
    return uk_error_set(err, UK_E_CONFIG, 0,
                        "invalid duration '%s' (expected a number with s, m, h, d or w, e.g. 180d)",
                        text);
}

int parse_millis(const char *text, int *millis, UkError *err)
{
    static const Unit units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}};
    uint64_t v;
    int rc = parse_with_units(text, units, sizeof units / sizeof units[0], false, 86400000, &v);
    if (rc == 0) {
        *millis = (int)v;
        return 0;
    }
    if (rc == -2)
        return uk_error_set(err, UK_E_CONFIG, 0, "duration '%s' is out of range (at most 1 day)",
                            text);
    return uk_error_set(err, UK_E_CONFIG, 0,
                        "invalid duration '%s' (expected a number with ms, s or m, e.g. 25ms)",
                        text);
}

int parse_size(const char *text, uint64_t *bytes, UkError *err)
{
    static const Unit units[] = {{"", 1},
                                 {"B", 1},
                                 {"KB", 1000ULL},
                                 {"MB", 1000000ULL},
                                 {"GB", 1000000000ULL},
                                 {"TB", 1000000000000ULL},
                                 {"KiB", 1ULL << 10},
                                 {"MiB", 1ULL << 20},
                                 {"GiB", 1ULL << 30},
                                 {"TiB", 1ULL << 40}};
    int rc =
        parse_with_units(text, units, sizeof units / sizeof units[0], true, UK_SIZE_MAX, bytes);
    if (rc == 0)
        return 0;
    if (rc == -2)
        return uk_error_set(err, UK_E_CONFIG, 0, "size '%s' is out of range (at most 1 EiB)", text);
    return uk_error_set(err, UK_E_CONFIG, 0,
                        "invalid size '%s' (expected a number with B, KB, MB, GB, KiB, MiB or GiB)",
                        text);
}

int parse_bool(const char *text, bool *value, UkError *err)
{
    static const char *yes[] = {"yes", "true", "on", "1"}, *no[] = {"no", "false", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(text, yes[i]) == 0) {
            *value = true;
            return 0;
        }
        if (strcasecmp(text, no[i]) == 0) {
            *value = false;
            return 0;
        }
    }
    return uk_error_set(err, UK_E_CONFIG, 0, "invalid boolean '%s' (expected yes or no)", text);
}

int parse_uint(const char *text, int *value, UkError *err)
{
    uint64_t n;
    const char *unit;
    if (parse_number_unit(text, &n, &unit) == 0 && *unit == '\0' && n <= 0x7fffffff) {
        *value = (int)n;
        return 0;
    }
    return uk_error_set(err, UK_E_CONFIG, 0, "invalid number '%s' (expected a whole number >= 0)",
                        text);
}

const char *format_size(uint64_t bytes, char *buf, size_t len)
{
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)bytes;
    size_t u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, len, "%" PRIu64 " B", bytes);
    else
        snprintf(buf, len, "%.1f %s", v, units[u]);
    return buf;
}

const char *format_duration(double seconds, char *buf, size_t len)
{
    if (seconds < 60)
        snprintf(buf, len, "%.2f s", seconds);
    else if (seconds < 3600)
        snprintf(buf, len, "%dm%02ds", (int)seconds / 60, (int)seconds % 60);
    else
        snprintf(buf, len, "%dh%02dm", (int)seconds / 3600, ((int)seconds % 3600) / 60);
    return buf;
}

const char *format_time_utc(time_t t, char *buf, size_t len)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

const char *format_time_local(time_t t, char *buf, size_t len)
{
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
    return buf;
}

int parse_time_rfc3339(const char *text, time_t *out)
{
    struct tm tm = {0};
    const char *rest = strptime(text, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!rest)
        rest = strptime(text, "%Y-%m-%d %H:%M:%S", &tm);
    if (!rest)
        return -1;
    long offset = 0;
    if (*rest == '.')
        for (rest++; isdigit((unsigned char)*rest); rest++)
            ;
    if (*rest == 'Z' || *rest == 'z') {
        rest++;
    } else if (*rest == '+' || *rest == '-') {
        int hh, mm;
        if (sscanf(rest + 1, "%2d:%2d", &hh, &mm) != 2)
            return -1;
        offset = (hh * 3600L + mm * 60L) * (*rest == '-' ? -1 : 1);
        rest += 6;
    } else {
        return -1;
    }
    if (*rest)
        return -1;
    *out = timegm(&tm) - offset;
    return 0;
}

double monotonic_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int fsync_dir(const char *dir, UkError *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return uk_error_set(err, UK_E_IO, errno, "unable to open directory '%s'", dir);
    int rc = 0;
    if (fsync(fd) != 0)
        rc = uk_error_set(err, UK_E_IO, errno, "unable to sync directory '%s'", dir);
    close(fd);
    return rc;
}

int mkdir_p(const char *path, int mode, UkError *err)
{
    char *copy = xstrdup(path);
    int rc = 0;
    for (char *p = copy + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char saved = *p;
            *p = '\0';
            if (mkdir(copy, (mode_t)mode) != 0 && errno != EEXIST) {
                rc = uk_error_set(err, errno == ENOSPC ? UK_E_NOSPACE : UK_E_IO, errno,
                                  "unable to create directory '%s'", copy);
                break;
            }
            *p = saved;
            if (saved == '\0')
                break;
        }
    }
    free(copy);
    return rc;
}

int write_all(int fd, const void *buf, size_t len, const char *what, UkError *err)
{
    const unsigned char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return uk_error_set(err, errno == ENOSPC || errno == EDQUOT ? UK_E_NOSPACE : UK_E_IO,
                                errno, "unable to write '%s'", what);
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int pwrite_all(int fd, const void *buf, size_t len, uint64_t offset, const char *what, UkError *err)
{
    const unsigned char *p = buf;
    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, (off_t)offset);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return uk_error_set(err, errno == ENOSPC || errno == EDQUOT ? UK_E_NOSPACE : UK_E_IO,
                                errno, "unable to write %s", what);
        }
        p += n;
        len -= (size_t)n;
        offset += (uint64_t)n;
    }
    return 0;
}

int pread_all(int fd, void *buf, size_t len, uint64_t offset, const char *what, UkError *err)
{
    unsigned char *p = buf;
    while (len > 0) {
        ssize_t n = pread(fd, p, len, (off_t)offset);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return uk_error_set(err, UK_E_IO, n < 0 ? errno : 0, "unable to read %s%s", what,
                                n == 0 ? " (it is shorter than written)" : "");
        p += n;
        len -= (size_t)n;
        offset += (uint64_t)n;
    }
    return 0;
}

int temp_file_open(UkError *err)
{
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir)
        dir = "/var/tmp";
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0)
        return fd;
    char *path = xasprintf("%s/upkeep-XXXXXX", dir); /* file systems without O_TMPFILE */
    fd = mkstemp(path);
    if (fd >= 0)
        unlink(path);
    else
        uk_error_set(err, errno == ENOSPC ? UK_E_NOSPACE : UK_E_IO, errno,
                     "unable to create a temporary file in '%s'", dir);
    free(path);
    return fd;
}

void start_writeback(int fd, uint64_t *flushed, uint64_t written)
{
    const uint64_t step = 8u << 20;
    if (written - *flushed < step)
        return;
    sync_file_range(fd, (off_t)*flushed, (off_t)(written - *flushed), SYNC_FILE_RANGE_WRITE);
    *flushed = written;
}

char *path_dirname(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return xstrdup(".");
    if (slash == path)
        return xstrdup("/");
    char *dir = xmalloc((size_t)(slash - path) + 1);
    memcpy(dir, path, (size_t)(slash - path));
    dir[slash - path] = '\0';
    return dir;
}

char *path_join(const char *dir, const char *rel)
{
    if (rel[0] == '/' || !dir || !*dir || strcmp(dir, ".") == 0)
        return xstrdup(rel);
    return xasprintf("%s/%s", dir, rel);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

void remove_tree(const char *dir)
{
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

bool path_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

int write_file_atomic(const char *path, const void *data, size_t len, bool exclusive, UkError *err)
{
    char *dir = path_dirname(path);
    char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
    int rc = -1;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        uk_error_set(err, errno == ENOSPC ? UK_E_NOSPACE : UK_E_IO, errno,
                     "unable to create file '%s'", tmp);
        goto out;
    }
    if (write_all(fd, data, len, tmp, err) != 0)
        goto out;
    if (fsync(fd) != 0) {
        uk_error_set(err, errno == ENOSPC ? UK_E_NOSPACE : UK_E_IO, errno,
                     "unable to sync file '%s'", tmp);
        goto out;
    }
    close(fd);
    fd = -1;
    if (exclusive) {
        /* link() fails with EEXIST instead of replacing: publish-once semantics. */
        if (link(tmp, path) != 0) {
            uk_error_set(err, errno == EEXIST ? UK_E_EXISTS : UK_E_IO, errno,
                         "unable to publish file '%s'", path);
            goto out;
        }
        unlink(tmp);
    } else if (rename(tmp, path) != 0) {
        uk_error_set(err, UK_E_IO, errno, "unable to rename '%s' to '%s'", tmp, path);
        goto out;
    }
    rc = fsync_dir(dir, err);
out:
    if (fd >= 0)
        close(fd);
    if (rc != 0)
        unlink(tmp);
    free(tmp);
    free(dir);
    return rc;
}

int read_file_all(const char *path, size_t max_len, unsigned char **data, size_t *len, UkError *err)
{
    *data = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return uk_error_set(err, errno == ENOENT ? UK_E_NOTFOUND : UK_E_IO, errno,
                            "unable to open file '%s' for read", path);
    struct stat st;
    if (fstat(fd, &st) != 0 || (uint64_t)st.st_size > max_len) {
        close(fd);
        return uk_error_set(err, UK_E_FORMAT, 0, "file '%s' is larger than expected", path);
    }
    size_t size = (size_t)st.st_size, got = 0;
    unsigned char *buf = xmalloc(size + 1);
    while (got < size) {
        ssize_t n = read(fd, buf + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = n < 0 ? errno : 0;
            free(buf);
            close(fd);
            return uk_error_set(err, UK_E_IO, e, "unable to read file '%s'", path);
        }
        got += (size_t)n;
    }
    close(fd);
    buf[size] = '\0';
    *data = buf;
    *len = size;
    return 0;
}

char *path_resolve(const char *dir, const char *path)
{
    char *joined = path_join(dir, path);
    char *real = realpath(joined, NULL);
    if (!real)
        return joined;
    free(joined);
    return real;
}

char *redact_url(const char *url, bool keep_path)
{
    const char *scheme_end = strstr(url, "://");
    if (!scheme_end)
        return xstrdup(keep_path && !strchr(url, '@') ? url : "<redacted>");
    int prefix_len = (int)(scheme_end + 3 - url); /* "scheme://" */
    const char *authority = scheme_end + 3;
    size_t authority_len = strcspn(authority, "/?#");
    const char *rest = authority + authority_len;
    const char *at = memrchr(authority, '@', authority_len);
    char *user = xstrdup("");
    const char *host = authority;
    if (at) {
        size_t user_len = strcspn(authority, ":@");
        free(user);
        user =
            xasprintf("%.*s%s@", (int)user_len, authority, authority + user_len < at ? ":***" : "");
        host = at + 1;
    }
    char *out = xasprintf("%.*s%s%.*s%s", prefix_len, url, user, (int)(rest - host), host,
                          keep_path ? rest : (*rest ? "/…" : ""));
    free(user);
    return out;
}

char **split_list(const char *text, size_t *n)
{
    char **items = NULL;
    *n = 0;
    for (const char *p = text ? text : ""; *p;) {
        size_t len = strcspn(p, ",");
        const char *start = p, *end = p + len;
        while (start < end && isspace((unsigned char)*start))
            start++;
        while (end > start && isspace((unsigned char)end[-1]))
            end--;
        if (end > start) {
            items = xrealloc(items, (*n + 1) * sizeof *items);
            items[(*n)++] = xasprintf("%.*s", (int)(end - start), start);
        }
        p += len + (p[len] == ',');
    }
    return items;
}

void list_appendf(char **list, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *item = NULL;
    if (vasprintf(&item, fmt, ap) < 0)
        uk_oom(0);
    va_end(ap);
    char *more = xasprintf("%s%s%s", *list ? *list : "", *list && **list ? ", " : "", item);
    free(item);
    free(*list);
    *list = more;
}

char **split_words(const char *text, size_t *n)
{
    char **words = xcalloc(1, sizeof *words);
    *n = 0;
    for (const char *p = text ? text : ""; *p;) {
        p += strspn(p, " \t");
        size_t len = strcspn(p, " \t");
        if (len > 0) {
            words = xrealloc(words, (*n + 2) * sizeof *words);
            words[(*n)++] = xasprintf("%.*s", (int)len, p);
            words[*n] = NULL;
        }
        p += len;
    }
    return words;
}

void free_list(char **items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(items[i]);
    free(items);
}
