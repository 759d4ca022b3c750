#include "common/progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"

struct Progress {
    char label[64];
    bool enabled;
    double started, last_draw;
};

Progress *progress_new(const char *label, bool enabled)
{
    Progress *p = xcalloc(1, sizeof *p);
    snprintf(p->label, sizeof p->label, "%s", label);
    p->enabled = enabled && isatty(STDERR_FILENO);
    p->started = monotonic_seconds();
    return p;
}

void progress_update(Progress *p, uint64_t done, uint64_t total)
{
    if (!p || !p->enabled)
        return;
    double now = monotonic_seconds();
    if (now - p->last_draw < 0.1 && done < total)
        return;
    p->last_draw = now;
    char a[32], b[32];
    double rate = now > p->started ? (double)done / (now - p->started) : 0;
    char r[32];
    fprintf(stderr, "\r%s: %3d%%  %s of %s  %s/s   ", p->label,
            total ? (int)(done * 100 / total) : 100, format_size(done, a, sizeof a),
            format_size(total, b, sizeof b), format_size((uint64_t)rate, r, sizeof r));
    fflush(stderr);
}

void progress_end(Progress *p)
{
    if (!p)
        return;
    if (p->enabled && p->last_draw > 0) {
        fprintf(stderr, "\r%*s\r", 72, "");
        fflush(stderr);
    }
    free(p);
}
