/* Feeding pg_restore, and its table of contents (see pg_toc.h). */
#include "db/postgresql/pg_toc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "core/log.h"
#include "db/child_stream.h"

#define REPLAY_BYTES (1024 * 1024)

/* While pg_restore --list reads: every piece handed out is kept in the spool too. */
static int recording_next(void *ctx, const unsigned char **data, size_t *len, UkError *err)
{
    PgToc *toc = ctx;
    int got = toc->rest->next(toc->rest->ctx, data, len, err);
    if (got == 1 && fwrite(*data, 1, *len, toc->spool) != *len)
        return uk_error_set(err, UK_E_IO, errno, "unable to keep the start of the backup");
    return got;
}

/* The restore proper: the spool first, then the rest of the stream. */
static int replay_next(void *ctx, const unsigned char **data, size_t *len, UkError *err)
{
    PgToc *toc = ctx;
    if (toc->spool) {
        size_t got = fread(toc->buf, 1, REPLAY_BYTES, toc->spool);
        if (got > 0) {
            *data = toc->buf;
            *len = got;
            return 1;
        }
        if (ferror(toc->spool))
            return uk_error_set(err, UK_E_IO, errno,
                                "unable to read the start of the backup "
                                "again");
        fclose(toc->spool);
        toc->spool = NULL;
    }
    return toc->rest->next(toc->rest->ctx, data, len, err);
}

/* The fields of one list line: "ID; CATALOG OID DESCRIPTION… SCHEMA NAME OWNER". */
static size_t toc_fields(char *line, char **words, size_t max)
{
    size_t n = 0;
    for (char *save = NULL, *w = strtok_r(line, " \n", &save); w && n < max;
         w = strtok_r(NULL, " \n", &save))
        words[n++] = w;
    return n;
}

/* The extension a list line creates (or, *COMMENT set, comments on), or NULL. */
static const char *extension_of(const char *line, char *copy, size_t len, bool *comment)
{
    *comment = false;
    if (line[0] == ';')
        return NULL;
    snprintf(copy, len, "%s", line);
    char *w[8];
    size_t n = toc_fields(copy, w, 8);
    if (n >= 6 && strcmp(w[3], "EXTENSION") == 0 && strcmp(w[4], "-") == 0)
        return w[5];
    *comment = true;
    if (n >= 7 && strcmp(w[3], "COMMENT") == 0 && strcmp(w[4], "-") == 0 &&
        strcmp(w[5], "EXTENSION") == 0)
        return w[6];
    return NULL;
}

static int read_extensions(PgToc *toc, const char *path, UkError *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return uk_error_set(err, UK_E_IO, errno, "unable to read %s", path);
    char line[4096], copy[4096];
    while (fgets(line, sizeof line, f)) {
        bool comment;
        const char *name = extension_of(line, copy, sizeof copy, &comment);
        if (name && !comment) {
            toc->extensions =
                xrealloc(toc->extensions, (toc->n_extensions + 2) * sizeof *toc->extensions);
            toc->extensions[toc->n_extensions++] = xstrdup(name);
            toc->extensions[toc->n_extensions] = NULL;
        }
    }
    fclose(f);
    return 0;
}

int pg_toc_read(PgToc *toc, ImageSource *source, const char *const *env, UkError *err)
{
    memset(toc, 0, sizeof *toc);
    toc->rest = source;
    toc->buf = xmalloc(REPLAY_BYTES);
    toc->replay = (ImageSource){.ctx = toc, .next = replay_next};
    const char *tmp = getenv("TMPDIR");
    snprintf(toc->dir, sizeof toc->dir, "%s/upkeep-restore-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(toc->dir)) {
        int e = errno;
        toc->dir[0] = '\0';
        return uk_error_set(err, UK_E_IO, e,
                            "unable to create a folder for the restore's "
                            "list");
    }
    if (!(toc->spool = tmpfile()))
        return uk_error_set(err, UK_E_IO, errno, "unable to create a spool file");
    char *contents = xasprintf("%s/contents.list", toc->dir);
    const char *argv[] = {"pg_restore", "--list", "--file", contents, NULL};
    ImageSource recording = {.ctx = toc, .next = recording_next};
    Child child;
    int rc = -1;
    if (child_start(&child, argv, env, 1, 0, err) != 0)
        goto out;
    int fed = child_stream_in(&child, &recording, "pg_restore", err);
    if (fed == -1) {
        child_kill(&child);
        goto out;
    }
    if (child_finish(&child, "pg_restore --list", err) != 0) {
        err->code = UK_E_FORMAT;
        goto out;
    }
    long spooled = ftell(toc->spool);
    log_debug("pg_restore --list read the backup's contents in its first %ld bytes", spooled);
    if (fflush(toc->spool) != 0 || fseek(toc->spool, 0, SEEK_SET) != 0) {
        uk_error_set(err, UK_E_IO, errno, "unable to keep the start of the backup");
        goto out;
    }
    rc = read_extensions(toc, contents, err);
out:
    free(contents);
    return rc;
}

int pg_toc_leave_out(PgToc *toc, const char *const *leave_out, UkError *err)
{
    char *contents = xasprintf("%s/contents.list", toc->dir);
    snprintf(toc->list, sizeof toc->list, "%s/restore.list", toc->dir);
    FILE *in = fopen(contents, "r");
    FILE *out = in ? fopen(toc->list, "w") : NULL;
    int rc = 0;
    if (!in || !out) {
        rc =
            uk_error_set(err, UK_E_IO, errno, "unable to write the restore's list in %s", toc->dir);
    } else {
        char line[4096], copy[4096];
        while (fgets(line, sizeof line, in)) {
            bool comment;
            const char *name = extension_of(line, copy, sizeof copy, &comment);
            bool out_of_it = false;
            for (size_t i = 0; name && leave_out[i] && !out_of_it; i++)
                out_of_it = strcmp(name, leave_out[i]) == 0;
            fprintf(out, "%s%s", out_of_it ? ";" : "", line);
        }
        if (ferror(in) || fclose(out) != 0)
            rc = uk_error_set(err, UK_E_IO, errno, "unable to write %s", toc->list);
        out = NULL;
    }
    if (in)
        fclose(in);
    if (out)
        fclose(out);
    free(contents);
    if (rc != 0)
        toc->list[0] = '\0';
    return rc;
}

void pg_toc_free(PgToc *toc)
{
    if (toc->dir[0])
        remove_tree(toc->dir);
    if (toc->spool)
        fclose(toc->spool);
    for (size_t i = 0; i < toc->n_extensions; i++)
        free(toc->extensions[i]);
    free(toc->extensions);
    free(toc->buf);
    memset(toc, 0, sizeof *toc);
}
