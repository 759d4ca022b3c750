/* Small helpers every module needs: allocation that never returns NULL, hex, parsing of
 * durations and sizes as the config writes them, time formatting, and durable file writes. */
#ifndef UK_UTIL_H
#define UK_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <time.h>

#include "core/error.h"

/* Allocation: abort with a message on out-of-memory (there is no sensible recovery). */
void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Lowercase hex of len bytes into out (2*len+1 bytes). */
void hex_encode(const unsigned char *in, size_t len, char *out);
/* Returns 0 when `in` is exactly 2*len hex digits. */
int hex_decode(const char *in, unsigned char *out, size_t len);

/* Every duration and size the config takes stays far from overflow in any arithmetic done
 * with it (times in nanoseconds, sums of sizes). */
#define UK_DURATION_MAX 3153600000ULL /* 100 years, in seconds */
#define UK_SIZE_MAX (1ULL << 60)      /* 1 EiB */

/* "90s", "15m", "6h", "180d", "4w" (a bare number means seconds) -> seconds, at most
 * UK_DURATION_MAX. */
int parse_duration(const char *text, int64_t *seconds, UkError *err);
/* "25ms", "2s", "1m" -> milliseconds, at most a day. */
int parse_millis(const char *text, int *millis, UkError *err);
/* "512", "64KB", "10MiB", "5GB" (KB=1000, KiB=1024) -> bytes, at most UK_SIZE_MAX. */
int parse_size(const char *text, uint64_t *bytes, UkError *err);
/* "yes/no/true/false/on/off/1/0". */
int parse_bool(const char *text, bool *value, UkError *err);
/* Non-negative integer that fits in int. */
int parse_uint(const char *text, int *value, UkError *err);

/* Starts asynchronous writeback of what was written since *flushed once 8 MiB have piled
 * up, so the final fsync has little left to do and the writer never stalls on it. */
void start_writeback(int fd, uint64_t *flushed, uint64_t written);

/* Human-friendly size ("316.5 MiB") and duration ("1.23 s") into buf. */
const char *format_size(uint64_t bytes, char *buf, size_t len);
const char *format_duration(double seconds, char *buf, size_t len);
/* RFC 3339 UTC ("2026-11-25T17:35:11Z") and local time with offset. */
const char *format_time_utc(time_t t, char *buf, size_t len);
const char *format_time_local(time_t t, char *buf, size_t len);
/* Parses RFC 3339 ("2026-11-25T17:35:11Z", "+01:00" offsets) into a time_t. */
int parse_time_rfc3339(const char *text, time_t *out);

double monotonic_seconds(void);

/* Durable writes: fsync a directory so a rename inside it survives a crash. */
int fsync_dir(const char *dir, UkError *err);
/* mkdir -p with the given mode for created directories. */
int mkdir_p(const char *path, int mode, UkError *err);
/* Writes data to path via a temporary file in the same directory, fsync, rename, fsync dir.
 * With exclusive, an existing path is an error instead of being replaced. */
int write_file_atomic(const char *path, const void *data, size_t len, bool exclusive, UkError *err);
/* Reads a whole file (max_len guards against runaway sizes). Caller frees *data. */
int read_file_all(const char *path, size_t max_len, unsigned char **data, size_t *len,
                  UkError *err);
/* Writes all of buf, retrying short writes; maps ENOSPC to UK_E_NOSPACE. */
int write_all(int fd, const void *buf, size_t len, const char *what, UkError *err);
/* The same at an offset (pwrite), and its reading counterpart: fewer bytes than asked is an
 * error (UK_E_IO). */
int pwrite_all(int fd, const void *buf, size_t len, uint64_t offset, const char *what,
               UkError *err);
int pread_all(int fd, void *buf, size_t len, uint64_t offset, const char *what, UkError *err);
/* An unnamed scratch file, gone when closed, in $TMPDIR or else /var/tmp (on disk, where /tmp
 * may be memory): for what a run must not hold in memory. */
int temp_file_open(UkError *err);
/* Directory part of a path, copied ("." when none). */
char *path_dirname(const char *path);
/* Joins dir and rel unless rel is absolute. */
char *path_join(const char *dir, const char *rel);
bool path_exists(const char *path);
/* Removes DIR and everything in it, as far as it can (for folders of upkeep's own making). */
void remove_tree(const char *dir);
/* PATH (relative to DIR unless absolute) with symlinks resolved when it exists, so reports
 * name it absolutely; as joined when it does not. Caller frees. */
char *path_resolve(const char *dir, const char *path);

/* URL as it may be shown: the password in its user part replaced ("scheme://user:***@host"),
 * and without keep_path everything after the host too ("https://host/…"). Caller frees. */
char *redact_url(const char *url, bool keep_path);

/* Splits a comma-separated config list ("a, b,c") into trimmed, non-empty items. Caller
 * frees with free_list. */
char **split_list(const char *text, size_t *n);
/* Splits a command line from the config ("/usr/bin/systemctl kill -s HUP app") into the words
 * between blanks, NULL-terminated as an argv: no quoting, no shell. Caller frees with
 * free_list. */
char **split_words(const char *text, size_t *n);
/* Appends an item made from FMT to *LIST, ", " before it unless the list is empty: the
 * column lists and SET clauses SQL is built from. *LIST is malloc'd (NULL: empty). */
void list_appendf(char **list, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void free_list(char **items, size_t n);

#endif
