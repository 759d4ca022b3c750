/* Each check mirrors what the task does when it starts (rows.c's prepare, clean's root,
 * deliver.c's credentials), with the job's or alert's section line in the message. */
#include "core/preflight.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/file_owner.h"
#include "common/util.h"
#include "db/row_store.h"
#include "db/sqlite/sqlite_ops.h"

static int problem(UkError *err, const Config *c, int line, const char *fmt, const char *a,
                   const char *b, const char *d)
{
    char msg[400];
    snprintf(msg, sizeof msg, fmt, a, b ? b : "", d ? d : "");
    return uk_error_set(err, UK_E_CONFIG, 0, "%s:%d: %s", c->path, line, msg);
}

static bool is_folder(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Does one table and its columns exist? The database is opened read-only. */
static int check_columns(const Config *c, const ConfigJob *job, const char *table,
                         const char *const *columns, size_t n, UkError *err)
{
    sqlite3 *db = NULL;
    int rc = 0;
    if (!path_exists(job->database->path))
        return problem(err, c, job->line, "job '%s': database file '%s' does not exist", job->name,
                       job->database->path, NULL);
    if (sqlite3_open_v2(job->database->path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        rc = problem(err, c, job->line, "job '%s': unable to open database '%s'", job->name,
                     job->database->name, NULL);
        goto out;
    }
    sqlite3_busy_timeout(db, 5000);
    if (!sqlite_ops_has(db, table, NULL)) {
        rc = problem(err, c, job->line, "job '%s': no table '%s' in database '%s'", job->name,
                     table, job->database->name);
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        if (columns[i] && !sqlite_ops_has(db, table, columns[i])) {
            rc = problem(err, c, job->line, "job '%s': table '%s' has no column '%s'", job->name,
                         table, columns[i]);
            goto out;
        }
out:
    sqlite3_close(db);
    return rc;
}

/* Two spellings of one file: the same inode when both exist, else the same real folder and
 * name. */
static bool same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    if (stat(a, &sa) == 0 && stat(b, &sb) == 0)
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    char *ra = realpath(a, NULL), *rb = realpath(b, NULL);
    bool same = ra && rb && strcmp(ra, rb) == 0;
    free(ra);
    free(rb);
    return same;
}

/* A row job on a server: the engine opens it as a dry run would (table, key, columns, the
 * condition) and closes it again. */
static int check_on_server(const Config *c, const ConfigJob *job, UkError *err)
{
    UkError open_err = {0};
    const RowStoreOps *ops = db_row_store(job->database, &open_err);
    RowStore *store = NULL;
    if (ops && ops->open(job, true, &store, &open_err) == 0) {
        ops->close(store);
        return 0;
    }
    return problem(err, c, job->line, "%s", open_err.msg, NULL, NULL);
}

static int check_job(const Config *c, const ConfigJob *job, UkError *err)
{
    bool rows = job->kind == TASK_PURGE || job->kind == TASK_ARCHIVE || job->kind == TASK_UPDATE;
    if (rows && job->database && job->table && !job->database->path)
        return check_on_server(c, job, err);
    if (rows && job->database && job->table) {
        const char *columns[] = {job->age_column, job->files_column};
        if (check_columns(c, job, job->table, columns, 2, err) != 0)
            return -1;
    }
    if (job->files_root && !is_folder(job->files_root))
        return problem(err, c, job->line, "job '%s': files_root '%s' is not a folder", job->name,
                       job->files_root, NULL);
    if (job->kind == TASK_CLEAN && job->path && !is_folder(job->path))
        return problem(err, c, job->line, "job '%s': path '%s' is not a folder", job->name,
                       job->path, NULL);
    if (job->kind == TASK_ARCHIVE && job->archive_path && job->database &&
        same_file(job->archive_path, job->database->path))
        return problem(err, c, job->line, "job '%s': archive_to is the database itself ('%s')",
                       job->name, job->archive_path, NULL);
    if (job->kind == TASK_BACKUP && job->paths) {
        size_t n = 0;
        char **paths = split_list(job->paths, &n);
        const char *missing = NULL;
        for (size_t i = 0; i < n && !missing; i++)
            if (!path_exists(paths[i]))
                missing = paths[i];
        int rc = missing ? problem(err, c, job->line, "job '%s': path '%s' does not exist",
                                   job->name, missing, NULL)
                         : 0;
        free_list(paths, n);
        if (rc != 0)
            return -1;
    }
    FileOwner owner;
    UkError why = {0};
    if (job->kind == TASK_ROTATE && job->rotate_create &&
        file_owner_parse(job->rotate_create, true, &owner, &why) != 0)
        return problem(err, c, job->line, "job '%s': create: %s", job->name, why.msg, NULL);
    if (job->unreferenced_by && job->database && job->database->path) {
        const char *dot = strchr(job->unreferenced_by, '.');
        char *table = xasprintf("%.*s", (int)(dot - job->unreferenced_by), job->unreferenced_by);
        const char *columns[] = {dot + 1};
        int rc = check_columns(c, job, table, columns, 1, err);
        free(table);
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* A file holding a secret (SECTION 'NAME': KEY = PATH) exists and only its owner can read it. */
static int check_secret_file(const Config *c, int line, const char *section, const char *name,
                             const char *key, const char *path, UkError *err)
{
    struct stat st;
    char *where = xasprintf("%s '%s': %s", section, name, key);
    int rc = 0;
    if (stat(path, &st) != 0)
        rc = problem(err, c, line, "%s '%s': %s", where, path, strerror(errno));
    else if (st.st_mode & (S_IRWXG | S_IRWXO))
        rc = problem(err, c, line, "%s '%s' is readable by group or others (chmod 600)", where,
                     path, NULL);
    free(where);
    return rc;
}

int preflight_config(const Config *c, UkError *err)
{
    for (size_t i = 0; i < c->n_jobs; i++)
        if (check_job(c, c->jobs[i], err) != 0)
            return -1;
    for (size_t i = 0; i < c->n_databases; i++) {
        const ConfigDatabase *d = c->databases[i];
        if (d->password_file && check_secret_file(c, d->line, "database", d->name, "password_file",
                                                  d->password_file, err) != 0)
            return -1;
    }
    for (size_t i = 0; i < c->n_alerts; i++) {
        const ConfigAlert *a = c->alerts[i];
        if (a->smtp_credentials &&
            check_secret_file(c, a->line, "alert", a->name, "smtp_credentials", a->smtp_credentials,
                              err) != 0)
            return -1;
    }
    return 0;
}
