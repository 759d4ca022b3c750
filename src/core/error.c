#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const int exit_status[] = {
#define UK_ERROR(name, status, retry) status,
#include "core/error_codes.def"
#undef UK_ERROR
};

int uk_error_set(UkError *err, int code, int sys_errno, const char *fmt, ...)
{
    if (!err)
        return -1;
    err->code = code;
    err->sys_errno = sys_errno;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    if (sys_errno && n >= 0 && (size_t)n < sizeof err->msg)
        snprintf(err->msg + n, sizeof err->msg - (size_t)n, ": %s", strerror(sys_errno));
    return -1;
}

void uk_error_prefix(UkError *err, const char *fmt, ...)
{
    if (!err)
        return;
    char prefix[256], old[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    snprintf(err->msg, sizeof err->msg, "%s%s", prefix, old);
}

void uk_error_suffix(UkError *err, const char *fmt, ...)
{
    if (!err)
        return;
    size_t used = strlen(err->msg);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg + used, sizeof err->msg - used, fmt, ap);
    va_end(ap);
}

void uk_error_clear(UkError *err)
{
    if (err)
        memset(err, 0, sizeof *err);
}

int uk_error_exit_status(int code)
{
    if (code < 0 || (size_t)code >= sizeof exit_status / sizeof exit_status[0])
        return 1;
    return exit_status[code];
}
