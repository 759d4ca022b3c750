/* A backup stream to or from a helper program: what a dump tool (pg_dump, mariadb-dump)
 * writes goes into the repository's sink; a stored stream goes into a load tool's stdin
 * (pg_restore, mariadb). Both collect the child's stderr meanwhile, so that it never blocks
 * on a full pipe. */
#ifndef UK_CHILD_STREAM_H
#define UK_CHILD_STREAM_H

#include <stdint.h>

#include "common/spawn.h"
#include "core/error.h"
#include "db/db.h"

/* Feeds CHILD's stdout into SINK until it ends, reporting progress against EXPECTED bytes
 * (an estimate; 0: unknown). WHAT names the child in messages. */
int child_stream_out(Child *child, ImageSink *sink, uint64_t expected, const char *what,
                     UkError *err);
/* Writes SOURCE into CHILD's stdin until the stream or the child ends, then closes it.
 * -2 when the child stopped reading (it ended: its exit status says why). */
int child_stream_in(Child *child, ImageSource *source, const char *what, UkError *err);

#endif
