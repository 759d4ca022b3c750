#include "db/child_stream.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"

#define READ_BYTES (1024 * 1024)

int child_stream_out(Child *child, ImageSink *sink, uint64_t expected, const char *what,
                     UkError *err)
{
    unsigned char *buf = xmalloc(READ_BYTES);
    uint64_t total = 0;
    int rc = 0;
    while (child->out >= 0) {
        if (child_wait(child, child->out, POLLIN, what, err) < 0) {
            rc = -1;
            break;
        }
        ssize_t got = read(child->out, buf, READ_BYTES);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            rc = uk_error_set(err, UK_E_IO, errno, "unable to read %s's output", what);
            break;
        }
        if (got == 0) {
            close(child->out);
            child->out = -1;
            break;
        }
        total += (uint64_t)got;
        if (sink->write(sink->ctx, buf, (size_t)got, err) != 0) {
            rc = -1;
            break;
        }
        if (sink->progress)
            sink->progress(sink->ctx, total, expected > total ? expected : total);
    }
    free(buf);
    return rc;
}

int child_stream_in(Child *child, ImageSource *source, const char *what, UkError *err)
{
    const unsigned char *data = NULL;
    size_t len = 0, done = 0;
    for (;;) {
        if (done == len) {
            int got = source->next(source->ctx, &data, &len, err);
            if (got < 0)
                return -1;
            if (got == 0)
                break;
            done = 0;
        }
        int ready = child_wait(child, child->in, POLLOUT, what, err);
        if (ready < 0)
            return -1;
        if (ready & (POLLERR | POLLHUP))
            return -2;
        ssize_t put = write(child->in, data + done, len - done);
        if (put < 0 && errno == EINTR)
            continue;
        if (put < 0 && errno == EPIPE)
            return -2;
        if (put < 0)
            return uk_error_set(err, UK_E_IO, errno, "unable to write to %s", what);
        done += (size_t)put;
    }
    close(child->in);
    child->in = -1;
    return 0;
}
