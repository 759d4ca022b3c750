/* Reading a backup's table of contents before pg_restore loads it, when part of it must be
 * left out.
 *
 * A dump holds CREATE EXTENSION for every extension of its database, and a role that is not
 * superuser may create only trusted ones: pg_stat_statements or amcheck stop the whole
 * restore. pg_toc_read runs `pg_restore --list` on the start of the stream (a dump written
 * to a pipe has its table of contents first), keeping what it read in a spool so the restore
 * proper gets the whole stream again; pg_toc_leave_out writes the list for --use-list with
 * some extensions commented out. */
#ifndef UK_PG_TOC_H
#define UK_PG_TOC_H

#include <stdio.h>

#include "common/spawn.h"
#include "core/error.h"
#include "db/db.h"

typedef struct PgToc {
    char dir[512];     /* a private folder for the lists */
    char list[600];    /* the list for --use-list; "" until pg_toc_leave_out wrote one */
    char **extensions; /* the extensions the dump creates, NULL-terminated */
    size_t n_extensions;
    FILE *spool;        /* the stream's start, as pg_restore --list read it */
    ImageSource *rest;  /* the stream after the spool */
    ImageSource replay; /* the spool, then REST: what the restore proper reads */
    unsigned char *buf;
} PgToc;

/* Lists the dump's contents with pg_restore (ENV: its connection environment); 0, or -1 with
 * err set (UK_E_FORMAT when the stream is not a dump). */
int pg_toc_read(PgToc *toc, ImageSource *source, const char *const *env, UkError *err);
/* Writes toc->list with the extensions named in LEAVE_OUT (NULL-terminated) and their
 * comments commented out. */
int pg_toc_leave_out(PgToc *toc, const char *const *leave_out, UkError *err);
void pg_toc_free(PgToc *toc);

#endif
