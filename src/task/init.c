/* upkeep init: a commented upkeep.conf proposed from a database's schema. It reads the
 * tables and their columns (the engine's columns_sql), counts rows, and proposes: a nightly
 * verified backup with retention and a weekly proof; purges of soft-deleted rows (deleted_at,
 * is_deleted, a status of 'deleted'), with their files when a column holds paths; retention
 * for log, audit and session tables by their time column; vacuum and integrity; health
 * thresholds from today's size. Each proposal states its evidence (the column, the rows, the
 * age range); what it cannot be sure of stays commented out. The file is meant to be read. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/util.h"
#include "db/db.h"
#include "db/row_store.h"
#include "task/task.h"

typedef struct Column {
    char *name, *type;
} Column;

typedef struct Table {
    char *name;
    Column *columns;
    size_t n_columns;
    int64_t rows;
} Table;

typedef struct Schema {
    Table *tables;
    size_t n;
} Schema;

static int add_column(void *ctx, size_t n, const char *const *names, const DbValue *values)
{
    (void)names;
    Schema *s = ctx;
    if (!values || n < 3 || values[0].type == DB_NULL || values[1].type == DB_NULL)
        return 0;
    if (!s->n || strcmp(s->tables[s->n - 1].name, values[0].data) != 0) {
        s->tables = xrealloc(s->tables, (s->n + 1) * sizeof *s->tables);
        s->tables[s->n++] = (Table){.name = xstrdup(values[0].data), .rows = -1};
    }
    Table *t = &s->tables[s->n - 1];
    t->columns = xrealloc(t->columns, (t->n_columns + 1) * sizeof *t->columns);
    t->columns[t->n_columns++] =
        (Column){.name = xstrdup(values[1].data),
                 .type = xstrdup(values[2].type == DB_NULL ? "" : values[2].data)};
    return 0;
}

/* The first row's values of a query, as text (NULL for SQL NULL). */
typedef struct FirstRow {
    char *values[4];
    bool seen;
} FirstRow;

static int first_row(void *ctx, size_t n, const char *const *names, const DbValue *values)
{
    (void)names;
    FirstRow *f = ctx;
    if (!values || f->seen)
        return 0;
    f->seen = true;
    for (size_t i = 0; i < n && i < 4; i++)
        f->values[i] = values[i].type == DB_NULL
                           ? NULL
                           : xasprintf("%.*s", (int)values[i].len, values[i].data);
    return 0;
}

static void first_row_free(FirstRow *f)
{
    for (size_t i = 0; i < 4; i++)
        free(f->values[i]);
}

static int ask(const ConfigDatabase *db, const RowStoreOps *ops, const char *sql, FirstRow *out)
{
    memset(out, 0, sizeof *out);
    UkError err = {0};
    return ops->query(db, sql, first_row, out, &err);
}

static bool lower_equals(const char *a, const char *b)
{
    return strcasecmp(a, b) == 0;
}

static bool contains_word(const char *name, const char *const *words)
{
    char copy[256];
    snprintf(copy, sizeof copy, "%s", name);
    for (char *save = NULL, *w = strtok_r(copy, "_.-", &save); w; w = strtok_r(NULL, "_.-", &save))
        for (const char *const *k = words; *k; k++)
            if (lower_equals(w, *k))
                return true;
    return false;
}

static bool type_has(const char *type, const char *word)
{
    return strcasestr(type, word) != NULL;
}

/* A column holding a moment: by its type, or by a name such as created_at or logged. */
static bool is_time(const Column *c)
{
    static const char *const names[] = {"at",     "on",      "time",    "timestamp",
                                        "date",   "created", "updated", "deleted",
                                        "logged", "when",    NULL};
    if (type_has(c->type, "date") || type_has(c->type, "time"))
        return true;
    bool numeric_or_text = !*c->type || type_has(c->type, "int") || type_has(c->type, "text") ||
                           type_has(c->type, "char") || type_has(c->type, "real");
    return numeric_or_text && contains_word(c->name, names);
}

static const Column *find_column(const Table *t, const char *const *names)
{
    for (const char *const *n = names; *n; n++)
        for (size_t i = 0; i < t->n_columns; i++)
            if (lower_equals(t->columns[i].name, *n))
                return &t->columns[i];
    return NULL;
}

/* The column a table's rows age by: the usual names first, else any time column. */
static const Column *age_column(const Table *t)
{
    static const char *const usual[] = {"created_at",  "created", "logged_at",   "at",
                                        "timestamp",   "time",    "occurred_at", "updated_at",
                                        "last_update", NULL};
    const Column *c = find_column(t, usual);
    if (c && is_time(c))
        return c;
    for (size_t i = 0; i < t->n_columns; i++)
        if (is_time(&t->columns[i]))
            return &t->columns[i];
    return NULL;
}

/* A column that may hold file paths: by its name and a text type. */
static const Column *files_column(const Table *t)
{
    static const char *const words[] = {"path",  "file",   "filename", "attachment", "photo",
                                        "image", "upload", "document", NULL};
    for (size_t i = 0; i < t->n_columns; i++) {
        const Column *c = &t->columns[i];
        bool text = !*c->type || type_has(c->type, "char") || type_has(c->type, "text");
        if (text && contains_word(c->name, words))
            return c;
    }
    return NULL;
}

/* A job name from a table's: letters, digits and '-' '_' '.' only. */
static char *job_name(const char *prefix, const char *table)
{
    char *name = xasprintf("%s-%s", prefix, table);
    for (char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.')
            *p = '_';
    if (strlen(name) > 64)
        name[64] = '\0';
    return name;
}

/* "1,000 rows set, 2022-06-01 .. 2024-05-31" for TABLE.COLUMN. */
static char *evidence(const ConfigDatabase *db, const RowStoreOps *ops, const char *q_table,
                      const Column *c, const char *where)
{
    char *q = ops->quote_name(c->name);
    char *sql = xasprintf("SELECT count(%s), min(%s), max(%s) FROM %s%s%s", q, q, q, q_table,
                          where ? " WHERE " : "", where ? where : "");
    FirstRow f;
    char *text;
    if (ask(db, ops, sql, &f) == 0 && f.seen)
        text = xasprintf("%s rows with %s set, %s .. %s", f.values[0] ? f.values[0] : "0", c->name,
                         f.values[1] ? f.values[1] : "-", f.values[2] ? f.values[2] : "-");
    else
        text = xstrdup("(its values could not be read)");
    first_row_free(&f);
    free(sql);
    free(q);
    return text;
}

/* files_column and files_root for the purge just written (commented out when it is, or when
 * the folder is not known). */
static void files_lines(FILE *out, const ConfigDatabase *db, const RowStoreOps *ops,
                        const char *q_table, const Table *t, const char *files_dir, bool commented)
{
    const Column *f = files_column(t);
    if (!f)
        return;
    char *q = ops->quote_name(f->name);
    char *sql =
        xasprintf("SELECT %s FROM %s WHERE %s IS NOT NULL AND %s <> '' LIMIT 1", q, q_table, q, q);
    FirstRow sample;
    ask(db, ops, sql, &sample);
    fprintf(out, "# %s.%s may name files%s%s%s: with files_column the purge deletes them too\n",
            t->name, f->name, sample.values[0] ? " (e.g. '" : "",
            sample.values[0] ? sample.values[0] : "", sample.values[0] ? "')" : "");
    const char *c = files_dir && !commented ? "" : "#";
    fprintf(out, "%sfiles_column = %s\n%sfiles_root = %s\n", c, f->name, c,
            files_dir ? files_dir : "FOLDER-THE-PATHS-ARE-RELATIVE-TO");
    first_row_free(&sample);
    free(sql);
    free(q);
}

/* A purge job, commented out when UNSURE. */
static void purge_job(FILE *out, const char *name, const Table *t, const Column *age,
                      const char *older_than, const char *where, const char *why,
                      const char *schedule, bool unsure)
{
    const char *c = unsure ? "#" : "";
    fprintf(out, "\n# %s\n", why);
    if (unsure)
        fprintf(out, "# (left commented out: check the condition, then remove the #s)\n");
    fprintf(out, "%s[job %s]\n%stask = purge\n%sdatabase = app\n%stable = %s\n", c, name, c, c, c,
            t->name);
    fprintf(out, "%sage_column = %s\n%solder_than = %s\n", c, age->name, c, older_than);
    if (where)
        fprintf(out, "%swhere = %s\n", c, where);
    fprintf(out, "%sschedule = %s\n", c, schedule);
}

/* TEXT as an SQL string literal (quotes doubled). */
static char *literal(const char *text)
{
    char *out = xmalloc(2 * strlen(text) + 3), *o = out;
    *o++ = '\'';
    for (const char *p = text; *p; p++) {
        if (*p == '\'')
            *o++ = '\'';
        *o++ = *p;
    }
    *o++ = '\'';
    *o = '\0';
    return out;
}

/* Row tasks on a server delete by primary key: does TABLE have one? (SQLite's rowid is
 * always there.) */
static bool has_primary_key(const ConfigDatabase *db, const RowStoreOps *ops, const Table *t)
{
    char *sql = NULL;
    if (strcmp(db->driver, "postgresql") == 0) {
        char *q = ops->quote_name(t->name), *lit = literal(q);
        sql = xasprintf("SELECT count(*) FROM pg_index WHERE indrelid = %s::regclass AND "
                        "indisprimary",
                        lit);
        free(q);
        free(lit);
    } else if (strcmp(db->driver, "mariadb") == 0) {
        char *lit = literal(t->name);
        sql = xasprintf("SELECT count(*) FROM information_schema.table_constraints WHERE "
                        "table_schema = DATABASE() AND table_name = %s AND constraint_type = "
                        "'PRIMARY KEY'",
                        lit);
        free(lit);
    } else {
        return true;
    }
    FirstRow f;
    bool yes = ask(db, ops, sql, &f) == 0 && f.values[0] && atoll(f.values[0]) > 0;
    first_row_free(&f);
    free(sql);
    return yes;
}

static void free_schema(Schema *s)
{
    for (size_t i = 0; i < s->n; i++) {
        for (size_t k = 0; k < s->tables[i].n_columns; k++) {
            free(s->tables[i].columns[k].name);
            free(s->tables[i].columns[k].type);
        }
        free(s->tables[i].columns);
        free(s->tables[i].name);
    }
    free(s->tables);
}

int task_init(const InitRequest *req, char **text, UkError *err)
{
    *text = NULL;
    const ConfigDatabase *db = req->database;
    const RowStoreOps *ops = db_row_store(db, err);
    if (!ops)
        return -1;
    Schema s = {0};
    if (ops->query(db, ops->columns_sql, add_column, &s, err) != 0) {
        free_schema(&s);
        return -1;
    }
    DbStats stats;
    UkError serr = {0};
    uint64_t size = db_inspect(db, NULL, &stats, &serr) == 0 ? stats.size_bytes : 0;
    size_t len = 0;
    FILE *out = open_memstream(text, &len);
    char today[16], a[32];
    time_t now = time(NULL);
    strftime(today, sizeof today, "%Y-%m-%d", localtime(&now));
    fprintf(out,
            "# upkeep.conf proposed by 'upkeep init' on %s for %s (%zu tables).\n"
            "# Every proposal says what it is based on; those it cannot be sure of are commented\n"
            "# out. Read it, then: upkeep check && upkeep run --all --dry-run\n\n"
            "[upkeep]\nstate = state/state.db\n\n[database app]\nurl = %s\n",
            today, req->url, s.n, req->url);
    if (req->password_file)
        fprintf(out, "password_file = %s\n", req->password_file);
    /* Thresholds: growth to 4x and 8x today's size is worth hearing about. */
    uint64_t base = size > (64ull << 20) ? size : (64ull << 20);
    fprintf(out, "# %s today: warn at 4x, critical at 8x (at least 64 MiB counted)\n",
            size ? format_size(size, a, sizeof a) : "size unknown");
    fprintf(out, "size_warning = %lluMiB\nsize_critical = %lluMiB\n",
            (unsigned long long)((base * 4) >> 20), (unsigned long long)((base * 8) >> 20));
    /* Row counts of the largest tables. */
    for (size_t i = 0; i < s.n; i++) {
        char *q = ops->quote_name(s.tables[i].name), *sql = xasprintf("SELECT count(*) FROM %s", q);
        FirstRow f;
        if (ask(db, ops, sql, &f) == 0 && f.values[0])
            s.tables[i].rows = atoll(f.values[0]);
        first_row_free(&f);
        free(sql);
        free(q);
    }
    /* The five largest, largest first. */
    char *counted = NULL;
    bool *picked = xcalloc(s.n + 1, sizeof *picked);
    for (size_t k = 0; k < 5 && k < s.n; k++) {
        size_t best = s.n;
        for (size_t i = 0; i < s.n; i++)
            if (s.tables[i].rows >= 0 && !picked[i] &&
                (best == s.n || s.tables[i].rows > s.tables[best].rows))
                best = i;
        if (best == s.n)
            break;
        picked[best] = true;
        list_appendf(&counted, "%s", s.tables[best].name);
    }
    free(picked);
    if (counted)
        fprintf(out, "# the largest tables, counted in health and metrics\ncount_tables = %s\n",
                counted);
    free(counted);
    fprintf(out, "backup_max_age = 25h\nverify_max_age = 8d\nintegrity_max_age = 8d\n");
    fprintf(out, "\n[repository local]\nurl = file://backups\ncompression = zstd:3\n"
                 "keep_daily = 7\nkeep_weekly = 4\nkeep_monthly = 12\nkeep_tag = pre-update\n");
    fprintf(out, "\n# Every night, proven restorable right after; each Sunday the newest again.\n"
                 "[job nightly-backup]\ntask = backup\ndatabase = app\n");
    if (req->files_dir) { /* the files the rows name, in the same backup */
        char *abs = realpath(req->files_dir, NULL);
        fprintf(out,
                "# %s: the application's files, which the purges below delete with their rows:\n"
                "# backed up with the database, so that one backup restores both as of one night.\n"
                "paths = %s\n",
                req->files_dir, abs ? abs : req->files_dir);
        free(abs);
    }
    fprintf(out, "repository = local\n"
                 "schedule = 0 3 * * *\nverify = yes\n"
                 "\n[job weekly-proof]\ntask = verify\nrepository = local\nbackups = latest\n"
                 "schedule = 0 5 * * sun\n");
    static const char *const deleted_at[] = {"deleted_at", "deleted_on", "removed_at",
                                             "trashed_at", "deleted",    NULL};
    static const char *const deleted_flag[] = {"is_deleted", "deleted", "is_removed", NULL};
    static const char *const status_names[] = {"status", "state", NULL};
    static const char *const archive_words[] = {"archive", "archives", "archived", NULL};
    static const char *const log_words[] = {"log",      "logs",     "audit",  "audits",  "session",
                                            "sessions", "event",    "events", "history", "token",
                                            "tokens",   "activity", NULL};
    for (size_t i = 0; i < s.n; i++) {
        const Table *t = &s.tables[i];
        char *q_table = ops->quote_name(t->name);
        const Column *age = age_column(t);
        const Column *del = find_column(t, deleted_at);
        const Column *flag = del && is_time(del) ? NULL : find_column(t, deleted_flag);
        if (del && !is_time(del))
            del = NULL;
        const Column *status = find_column(t, status_names);
        char *why = NULL, *name = job_name("purge", t->name);
        bool keyed = has_primary_key(db, ops, t);
        const char *no_key = keyed ? "" : " [no primary key: row tasks on a server need one]";
        if (del) {
            char *ev = evidence(db, ops, q_table, del, NULL);
            why = xasprintf("%s.%s marks soft-deleted rows (%lld rows; %s): purged 180 days "
                            "after%s",
                            t->name, del->name, (long long)t->rows, ev, no_key);
            purge_job(out, name, t, del, "180d", NULL, why, "30 2 * * *", !keyed);
            files_lines(out, db, ops, q_table, t, req->files_dir, !keyed);
            free(ev);
        } else if (flag && age) {
            char *q_flag = ops->quote_name(flag->name), *where = xasprintf("%s = 1", q_flag);
            char *ev = evidence(db, ops, q_table, age, where);
            why = xasprintf("%s.%s flags deleted rows (%s): purged once %s is 180 days old%s",
                            t->name, flag->name, ev, age->name, no_key);
            purge_job(out, name, t, age, "180d", where, why, "30 2 * * *", true);
            files_lines(out, db, ops, q_table, t, req->files_dir, true);
            free(ev);
            free(where);
            free(q_flag);
        } else if (status && age) {
            char *q_status = ops->quote_name(status->name);
            char *where = xasprintf("%s = 'deleted'", q_status);
            char *sql = xasprintf("SELECT count(*) FROM %s WHERE %s", q_table, where);
            FirstRow f;
            if (ask(db, ops, sql, &f) == 0 && f.values[0] && atoll(f.values[0]) > 0) {
                why = xasprintf("%s.%s = 'deleted' on %s of %lld rows: purged once %s is 180 "
                                "days old",
                                t->name, status->name, f.values[0], (long long)t->rows, age->name);
                purge_job(out, name, t, age, "180d", where, why, "30 2 * * *", true);
            }
            first_row_free(&f);
            free(sql);
            free(where);
            free(q_status);
        } else if (age && contains_word(t->name, log_words) &&
                   !contains_word(t->name, archive_words)) { /* an archive is kept on purpose */
            free(name);
            name = job_name("trim", t->name);
            char *ev = evidence(db, ops, q_table, age, NULL);
            why = xasprintf("%s looks like a log (its name): rows older than 90 days by %s go "
                            "(%lld rows; %s)%s",
                            t->name, age->name, (long long)t->rows, ev, no_key);
            purge_job(out, name, t, age, "90d", NULL, why, "0 2 * * *", !keyed);
            free(ev);
        }
        free(why);
        free(name);
        free(q_table);
    }
    if (db_has_feature(db->driver, DB_FEAT_PAGE_IMAGE))
        fprintf(out, "\n# SQLite: reclaim free pages when they are 10%% of the file; check it.\n"
                     "[job weekly-vacuum]\ntask = vacuum\ndatabase = app\nvacuum = full\n"
                     "min_free_percent = 10\nanalyze = yes\nschedule = 0 4 * * sun\n");
    else
        fprintf(out, "\n# VACUUM / OPTIMIZE and fresh statistics, weekly.\n"
                     "[job weekly-vacuum]\ntask = vacuum\ndatabase = app\nanalyze = yes\n"
                     "schedule = 0 4 * * sun\n");
    /* PostgreSQL's checks are amcheck's, an extension a superuser installs per database. */
    FirstRow amcheck = {0};
    bool unchecked =
        strcmp(db->driver, "postgresql") == 0 &&
        (ask(db, ops, "SELECT 1 FROM pg_extension WHERE extname = 'amcheck'", &amcheck) != 0 ||
         !amcheck.seen);
    first_row_free(&amcheck);
    const char *c = unchecked ? "#" : "";
    if (unchecked)
        fprintf(out, "\n# The integrity checks need amcheck in this database: CREATE EXTENSION "
                     "amcheck (as a superuser), then remove the #s.");
    fprintf(out,
            "\n%s[job weekly-integrity]\n%stask = integrity\n%sdatabase = app\n"
            "%sschedule = 30 4 * * sun\n",
            c, c, c, c);
    fclose(out);
    free_schema(&s);
    return 0;
}
