/* One error type for the whole program: a code from error_codes.def, the errno captured
 * where the failure happened, and a message in the form "unable to <verb> <object> '<name>'".
 * Functions that can fail return 0 on success and -1 on failure, with UkError *err last. */
#ifndef UK_ERROR_H
#define UK_ERROR_H

enum {
#define UK_ERROR(name, status, retry) name,
#include "core/error_codes.def"
#undef UK_ERROR
};

typedef struct UkError {
    int code;
    int sys_errno;
    char msg[512];
} UkError;

/* Fills err (when not NULL) and returns -1, so callers can `return uk_error_set(...)`. */
int uk_error_set(UkError *err, int code, int sys_errno, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Prepends context to an existing message: "backup 'nightly': " + old message. */
void uk_error_prefix(UkError *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Adds context after the message: "…; the rows stay in 'orders'". */
void uk_error_suffix(UkError *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void uk_error_clear(UkError *err);
int uk_error_exit_status(int code);

#endif
