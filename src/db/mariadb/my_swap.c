/* restore --in-place on MariaDB (see my_swap.h).
 *
 * MariaDB cannot rename a database, but one RENAME TABLE statement moves any number of tables
 * between databases atomically: every base table of the live database goes to the database
 * kept aside and every restored table takes its place, in one step, so the name holds all the
 * old tables or all the new ones at every instant (foreign keys follow their tables). What
 * RENAME TABLE cannot move is read first and created again on the other side: triggers (a
 * table with triggers cannot change database), views, stored routines and events, from their
 * SHOW CREATE text, which names objects of its own database unqualified (as mariadb-dump
 * relies on). Each is created again under the sql_mode, character set, collation and time
 * zone it was created with (SHOW CREATE gives them, as mariadb-dump writes them), since they
 * decide what its body means. Events kept aside are disabled, so that the old database does
 * nothing on its own. A swap that fails puts the live database's objects back. */
#include "db/mariadb/my_swap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "core/log.h"
#include "db/mariadb/my_conn.h"

#define NAME_MAX_LEN 64
#define SWAP_LOCK_WAIT_S 10 /* for the tables' metadata locks */

/* The session variables an object's definition depends on, as SHOW CREATE names them. */
static const char *const context_variables[] = {"sql_mode", "character_set_client",
                                                "collation_connection", "time_zone"};
#define N_CONTEXT (sizeof context_variables / sizeof *context_variables)

/* The objects of one database that RENAME TABLE does not move: their CREATE statements, in
 * an order that creates each after what it needs (views on views are retried). */
typedef struct Objects {
    char **tables;   /* base tables, quoted */
    char **drops;    /* DROP statements of the triggers, views, routines, events */
    char **creates;  /* and their CREATE statements */
    char **contexts; /* and the SET SESSION each CREATE runs under (NULL: none) */
    char **events;   /* the events' names, quoted */
    size_t n_tables, n_objects, n_events;
} Objects;

static void push(char ***list, size_t *n, char *item)
{
    *list = xrealloc(*list, (*n + 2) * sizeof **list);
    (*list)[(*n)++] = item;
    (*list)[*n] = NULL;
}

static void add_object(Objects *o, char *create, char *context, char *drop)
{
    o->creates = xrealloc(o->creates, (o->n_objects + 1) * sizeof *o->creates);
    o->contexts = xrealloc(o->contexts, (o->n_objects + 1) * sizeof *o->contexts);
    o->drops = xrealloc(o->drops, (o->n_objects + 1) * sizeof *o->drops);
    o->creates[o->n_objects] = create;
    o->contexts[o->n_objects] = context;
    o->drops[o->n_objects++] = drop;
}

/* "SET SESSION name = 'value', …" for the context variables among NAMES (NAMES[i] holds
 * VALUES[i]); NULL when there are none. */
static char *context_statement(MYSQL *conn, const char *const *names, char *const *values, size_t n)
{
    char *sql = NULL;
    for (size_t i = 0; i < n; i++) {
        bool wanted = false;
        for (size_t k = 0; k < N_CONTEXT && names[i]; k++)
            wanted = wanted || strcmp(names[i], context_variables[k]) == 0;
        if (!wanted || !values[i])
            continue;
        char *literal = my_literal(conn, values[i]);
        char *more =
            xasprintf("%s%s %s = %s", sql ? sql : "SET SESSION", sql ? "," : "", names[i], literal);
        free(literal);
        free(sql);
        sql = more;
    }
    return sql;
}

/* The session's own values of the context variables, to go back to after each CREATE. */
static char *session_context(MYSQL *conn, UkError *err)
{
    MYSQL_RES *res = my_query(conn,
                              "SELECT @@SESSION.sql_mode, @@SESSION.character_set_client, "
                              "@@SESSION.collation_connection, @@SESSION.time_zone",
                              err);
    MYSQL_ROW row = res ? my_fn.fetch_row(res) : NULL;
    char *sql = row ? context_statement(conn, context_variables, row, N_CONTEXT) : NULL;
    if (res && !sql)
        uk_error_set(err, UK_E_DB, 0, "the session's sql_mode and character set were not read");
    my_fn.free_result(res);
    return sql;
}

static void objects_free(Objects *o)
{
    for (size_t i = 0; i < o->n_tables; i++)
        free(o->tables[i]);
    for (size_t i = 0; i < o->n_objects; i++) {
        free(o->drops[i]);
        free(o->creates[i]);
        free(o->contexts[i]);
    }
    for (size_t i = 0; i < o->n_events; i++)
        free(o->events[i]);
    free(o->tables);
    free(o->drops);
    free(o->creates);
    free(o->contexts);
    free(o->events);
    memset(o, 0, sizeof *o);
}

/* Each row of SQL's result (first column a name): with KIND ("TRIGGER", "VIEW" …) its SHOW
 * CREATE statement's column COLUMN, and its DROP. */
static int read_kind(MYSQL *conn, const char *sql, const char *kind, unsigned column, Objects *o,
                     UkError *err)
{
    MYSQL_RES *res = my_query(conn, sql, err);
    if (!res)
        return -1;
    char **names = NULL, **kinds = NULL;
    size_t n = 0, n_kinds = 0;
    MYSQL_ROW row;
    while ((row = my_fn.fetch_row(res))) {
        push(&names, &n, my_quote(row[0]));
        push(&kinds, &n_kinds, xstrdup(row[1] ? row[1] : kind));
    }
    my_fn.free_result(res);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        char *show = xasprintf("SHOW CREATE %s %s", kinds[i], names[i]);
        MYSQL_RES *created = my_query(conn, show, err);
        free(show);
        MYSQL_ROW c = created ? my_fn.fetch_row(created) : NULL;
        if (!created) {
            rc = -1;
        } else if (!c || !c[column]) {
            rc = uk_error_set(err, UK_E_DB, 0,
                              "SHOW CREATE %s %s gave no definition (the user may lack the "
                              "privilege to read it)",
                              kinds[i], names[i]);
        } else {
            unsigned n_fields = my_fn.num_fields(created);
            MYSQL_FIELD *fields = my_fn.fetch_fields(created);
            const char **field_names = xcalloc(n_fields, sizeof *field_names);
            for (unsigned f = 0; f < n_fields; f++)
                field_names[f] = fields[f].name;
            char *context = context_statement(conn, field_names, c, n_fields);
            free(field_names);
            add_object(o, xstrdup(c[column]), context, xasprintf("DROP %s %s", kinds[i], names[i]));
            if (strcmp(kinds[i], "EVENT") == 0)
                push(&o->events, &o->n_events, xstrdup(names[i]));
        }
        my_fn.free_result(created);
    }
    for (size_t i = 0; i < n; i++) {
        free(names[i]);
        free(kinds[i]);
    }
    free(names);
    free(kinds);
    return rc;
}

/* Everything of database NAME that the swap moves or recreates; the connection is left in it. */
static int read_objects(MYSQL *conn, const char *name, Objects *o, UkError *err)
{
    memset(o, 0, sizeof *o);
    char *q = my_quote(name);
    char *use = xasprintf("USE %s", q);
    free(q);
    int rc = my_run(conn, use, err);
    free(use);
    MYSQL_RES *res = rc == 0 ? my_query(conn,
                                        "SELECT table_name FROM information_schema.tables WHERE "
                                        "table_schema = DATABASE() AND table_type = 'BASE TABLE'",
                                        err)
                             : NULL;
    if (rc == 0 && !res)
        rc = -1;
    MYSQL_ROW row;
    while (res && (row = my_fn.fetch_row(res)))
        push(&o->tables, &o->n_tables, my_quote(row[0]));
    my_fn.free_result(res);
    /* Routines first (views and triggers may call them), views, then triggers and events. */
    if (rc == 0)
        rc = read_kind(conn,
                       "SELECT routine_name, routine_type FROM information_schema.routines "
                       "WHERE routine_schema = DATABASE()",
                       "PROCEDURE", 2, o, err);
    if (rc == 0)
        rc = read_kind(conn,
                       "SELECT table_name, 'VIEW' FROM information_schema.views WHERE "
                       "table_schema = DATABASE()",
                       "VIEW", 1, o, err);
    if (rc == 0)
        rc = read_kind(conn,
                       "SELECT trigger_name, 'TRIGGER' FROM information_schema.triggers WHERE "
                       "trigger_schema = DATABASE() ORDER BY event_object_table, action_order",
                       "TRIGGER", 2, o, err);
    if (rc == 0)
        rc = read_kind(conn,
                       "SELECT event_name, 'EVENT' FROM information_schema.events WHERE "
                       "event_schema = DATABASE()",
                       "EVENT", 3, o, err);
    if (rc != 0)
        objects_free(o);
    return rc;
}

/* Runs each of SQL's statements in database NAME, under CONTEXTS[i] when given (then RESET
 * after it); statements that fail (a view on a view not yet made) are tried again while
 * others succeed. */
static int run_in(MYSQL *conn, const char *name, char *const *sql, char *const *contexts,
                  const char *reset, size_t n, UkError *err)
{
    char *q = my_quote(name);
    char *use = xasprintf("USE %s", q);
    free(q);
    int rc = my_run(conn, use, err);
    free(use);
    if (rc != 0 || n == 0)
        return rc;
    bool *done = xcalloc(n, sizeof *done);
    size_t left = n;
    for (bool progress = true; left > 0 && progress;) {
        progress = false;
        for (size_t i = 0; i < n; i++) {
            if (done[i])
                continue;
            UkError one = {0};
            bool in_context = contexts && contexts[i];
            if (in_context && my_run(conn, contexts[i], &one) != 0) {
                *err = one;
                continue;
            }
            if (my_run(conn, sql[i], &one) == 0) {
                done[i] = progress = true;
                left--;
            } else {
                *err = one;
            }
            UkError back = {0};
            if (in_context && my_run(conn, reset, &back) != 0) {
                *err = back;
                free(done);
                return -1;
            }
        }
    }
    free(done);
    return left == 0 ? 0 : -1;
}

/* Sessions of others on database NAME (ended with FORCE). */
static int other_sessions(MYSQL *conn, const char *name, bool force, long *count, UkError *err)
{
    char *literal = my_literal(conn, name);
    char *sql = xasprintf("SELECT id FROM information_schema.processlist WHERE db = %s AND id <> "
                          "CONNECTION_ID()",
                          literal);
    free(literal);
    MYSQL_RES *res = my_query(conn, sql, err);
    free(sql);
    if (!res)
        return -1;
    *count = 0;
    MYSQL_ROW row;
    int rc = 0;
    while ((row = my_fn.fetch_row(res))) {
        (*count)++;
        if (force) {
            char kill[64];
            snprintf(kill, sizeof kill, "KILL CONNECTION %lld", atoll(row[0]));
            UkError gone = {0}; /* it may have ended by itself meanwhile */
            my_run(conn, kill, &gone);
        }
    }
    my_fn.free_result(res);
    return rc;
}

/* The one statement that moves LIVE's tables to KEPT and RESTORED's into LIVE. */
static char *rename_statement(const char *live, const char *restored, const char *kept,
                              const Objects *old, const Objects *new_one)
{
    char *q_live = my_quote(live), *q_restored = my_quote(restored), *q_kept = my_quote(kept);
    char *sql = xstrdup("RENAME TABLE");
    const char *sep = " ";
    for (size_t i = 0; i < old->n_tables; i++, sep = ", ") {
        char *more = xasprintf("%s%s%s.%s TO %s.%s", sql, sep, q_live, old->tables[i], q_kept,
                               old->tables[i]);
        free(sql);
        sql = more;
    }
    for (size_t i = 0; i < new_one->n_tables; i++, sep = ", ") {
        char *more = xasprintf("%s%s%s.%s TO %s.%s", sql, sep, q_restored, new_one->tables[i],
                               q_live, new_one->tables[i]);
        free(sql);
        sql = more;
    }
    free(q_live);
    free(q_restored);
    free(q_kept);
    return sql;
}

/* Drops the objects O lists (in database NAME), latest first. */
static int drop_objects(MYSQL *conn, const char *name, const Objects *o, UkError *err)
{
    char **reversed = xcalloc(o->n_objects + 1, sizeof *reversed);
    for (size_t i = 0; i < o->n_objects; i++)
        reversed[i] = o->drops[o->n_objects - 1 - i];
    int rc = run_in(conn, name, reversed, NULL, NULL, o->n_objects, err);
    free(reversed);
    return rc;
}

int my_swap_in(const ConfigDatabase *db, const char *restored, bool force, char *kept_aside,
               size_t len, UkError *err)
{
    MyTarget t;
    if (my_parse_url(db->url, &t, err) != 0)
        return -1;
    explicit_bzero(t.password, sizeof t.password);
    const char *live = t.database;
    char stamp[32];
    time_t now = time(NULL);
    strftime(stamp, sizeof stamp, "_before_restore_%Y%m%dT%H%M%S", gmtime(&now));
    snprintf(kept_aside, len, "%.*s%s", (int)(NAME_MAX_LEN - strlen(stamp)), live, stamp);
    MYSQL *conn = my_connect(db, "", err);
    if (!conn)
        return -1;
    long sessions = 0;
    int rc = other_sessions(conn, live, force, &sessions, err);
    if (rc == 0 && !force && sessions > 0)
        rc = uk_error_set(err, UK_E_LOCKED, 0,
                          "'%s' has %ld other session%s: stop the application, or give --force "
                          "to end them",
                          live, sessions, sessions == 1 ? "" : "s");
    if (rc == 0 && sessions > 0)
        usleep(100 * 1000); /* killed sessions end a moment later */
    char *q_kept = my_quote(kept_aside);
    Objects old = {0}, new_one = {0};
    char *reset = rc == 0 ? session_context(conn, err) : NULL;
    if (rc == 0 && !reset)
        rc = -1;
    if (rc == 0)
        rc = read_objects(conn, live, &old, err);
    if (rc == 0)
        rc = read_objects(conn, restored, &new_one, err);
    bool kept_made = false;
    if (rc == 0) {
        /* The live database's character set and collation for the one kept aside. */
        char *literal = my_literal(conn, live);
        char *sql = xasprintf("SELECT CONCAT('CREATE DATABASE %s CHARACTER SET ', "
                              "default_character_set_name, ' COLLATE ', default_collation_name) "
                              "FROM information_schema.schemata WHERE schema_name = %s",
                              q_kept, literal);
        free(literal);
        MYSQL_RES *res = my_query(conn, sql, err);
        free(sql);
        MYSQL_ROW row = res ? my_fn.fetch_row(res) : NULL;
        char *create = row && row[0] ? xstrdup(row[0]) : NULL;
        my_fn.free_result(res);
        rc = create ? 0 : -1;
        if (!create && res)
            uk_error_set(err, UK_E_DB, 0, "no database '%s' on the server", live);
        if (create)
            rc = my_run(conn, create, err);
        free(create);
        kept_made = rc == 0;
    }
    char setup[64];
    snprintf(setup, sizeof setup, "SET SESSION lock_wait_timeout = %d", SWAP_LOCK_WAIT_S);
    if (rc == 0)
        rc = my_run(conn, setup, err);
    /* What cannot move goes first, from both sides; then the tables, in one statement. */
    if (rc == 0) {
        rc = drop_objects(conn, live, &old, err);
        if (rc == 0)
            rc = drop_objects(conn, restored, &new_one, err);
        if (rc == 0) {
            char *rename = rename_statement(live, restored, kept_aside, &old, &new_one);
            rc = my_run(conn, rename, err);
            free(rename);
        }
        if (rc != 0) { /* the live database gets back what was dropped */
            UkError back = {0};
            if (run_in(conn, live, old.creates, old.contexts, reset, old.n_objects, &back) != 0)
                log_warn("database '%s': could not recreate all its views, triggers, routines "
                         "and events after the failed swap: %s",
                         live, back.msg);
        }
    }
    if (rc == 0) {
        UkError later = {0};
        if (run_in(conn, live, new_one.creates, new_one.contexts, reset, new_one.n_objects,
                   &later) != 0) {
            *err = later;
            uk_error_prefix(err,
                            "the backup's tables are in '%s', but recreating its views, "
                            "triggers, routines or events failed: ",
                            live);
            rc = -1;
        }
        if (run_in(conn, kept_aside, old.creates, old.contexts, reset, old.n_objects, &later) != 0)
            log_warn("database '%s': the old views, triggers, routines or events were not all "
                     "kept: %s",
                     kept_aside, later.msg);
        for (size_t i = 0; i < old.n_events; i++) {
            char *disable = xasprintf("ALTER EVENT %s.%s DISABLE", q_kept, old.events[i]);
            my_run(conn, disable, &later);
            free(disable);
        }
        char *q_restored = my_quote(restored);
        char *drop = xasprintf("DROP DATABASE %s", q_restored);
        if (my_run(conn, drop, &later) != 0)
            log_warn("database '%s' (empty now) was not dropped: %s", restored, later.msg);
        free(drop);
        free(q_restored);
    } else if (kept_made) {
        char *drop = xasprintf("DROP DATABASE IF EXISTS %s", q_kept);
        UkError ignored = {0};
        my_run(conn, drop, &ignored);
        free(drop);
    }
    free(q_kept);
    free(reset);
    objects_free(&old);
    objects_free(&new_one);
    my_fn.close(conn);
    return rc;
}
