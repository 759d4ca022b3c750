/* upkeep-gendb: generates an application-shaped SQLite database for the demo, the tests and
 * the benchmarks, or changes a share of its rows.
 *
 *   upkeep-gendb PATH [--size-mb N] [--seed S] [--journal wal|delete]
 *   upkeep-gendb PATH --mutate PERCENT [--seed S]
 *
 * Tables: users; forms (soft-deleted rows with deleted_at and attachment_path); audit_logs
 * spread over two years; meta (the fixed "now"). Text comes from a word list, so the data
 * compresses like real application text (about 3x with zstd -3), neither zeros nor noise. */
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t rng_state = 42;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static const char *words[] = {
    "training", "form",     "safety",     "inspection", "completed",   "pending",  "approved",
    "review",   "customer", "invoice",    "voucher",    "company",     "account",  "balance",
    "payment",  "receipt",  "session",    "module",     "feedback",    "teacher",  "student",
    "course",   "lesson",   "assignment", "printer",    "filament",    "upload",   "archive",
    "vehicle",  "repair",   "engine",     "brake",      "the",         "a",        "of",
    "and",      "to",       "in",         "for",        "with",        "on",       "was",
    "is",       "by",       "at",         "from",       "please",      "note",     "updated",
    "created",  "deleted",  "status",     "signed",     "date",        "location", "Berlin",
    "Munich",   "Hamburg",  "north",      "south",      "building",    "room",     "floor",
    "team",     "manager",  "worker",     "supervisor", "certificate", "valid",    "until",
    "renewal",  "required"};

static void text(char *buf, size_t len)
{
    size_t used = 0;
    /* Each step appends at most a 12-letter word and a 6-character number. */
    while (used + 32 < len) {
        const char *w = words[rnd() % (sizeof words / sizeof words[0])];
        int n = snprintf(buf + used, len - used, "%s%s", used ? " " : "", w);
        used += (size_t)n;
        if (rnd() % 9 == 0)
            used += (size_t)snprintf(buf + used, len - used, " %u", (unsigned)(rnd() % 100000));
    }
    buf[used] = '\0';
}

static void die(sqlite3 *db, const char *what)
{
    fprintf(stderr, "upkeep-gendb: %s: %s\n", what, sqlite3_errmsg(db));
    exit(1);
}

static void exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "upkeep-gendb: %s: %s\n", sql, msg);
        exit(1);
    }
}

static int64_t page_bytes(sqlite3 *db)
{
    sqlite3_stmt *s;
    int64_t v = 0;
    sqlite3_prepare_v2(db, "SELECT page_count * page_size FROM pragma_page_count, pragma_page_size",
                       -1, &s, NULL);
    if (sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

static int mutate(sqlite3 *db, double percent)
{
    sqlite3_stmt *count, *update;
    sqlite3_prepare_v2(db, "SELECT max(id) FROM forms", -1, &count, NULL);
    sqlite3_step(count);
    int64_t max_id = sqlite3_column_int64(count, 0);
    sqlite3_finalize(count);
    /* Same-length text keeps rows in place, as an application editing records does. */
    if (sqlite3_prepare_v2(db,
                           "UPDATE forms SET status = ?1, body = substr(?2, 1, length(body))"
                           " WHERE id = ?3",
                           -1, &update, NULL) != SQLITE_OK)
        die(db, "prepare update");
    int64_t n = (int64_t)((double)max_id * percent / 100.0);
    char body[4096];
    exec(db, "BEGIN");
    for (int64_t i = 0; i < n; i++) {
        text(body, sizeof body);
        sqlite3_bind_text(update, 1, rnd() % 2 ? "reviewed" : "archived", -1, SQLITE_STATIC);
        sqlite3_bind_text(update, 2, body, -1, SQLITE_STATIC);
        sqlite3_bind_int64(update, 3, 1 + (int64_t)(rnd() % (uint64_t)max_id));
        if (sqlite3_step(update) != SQLITE_DONE)
            die(db, "update");
        sqlite3_reset(update);
    }
    exec(db, "COMMIT");
    sqlite3_finalize(update);
    printf("changed %lld of %lld forms\n", (long long)n, (long long)max_id);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0) {
        fprintf(stderr, "usage: upkeep-gendb PATH [--size-mb N] [--seed S] [--journal wal|delete]"
                        " [--mutate PERCENT]\n");
        return 2;
    }
    const char *path = argv[1], *journal = "wal";
    double size_mb = 100, mutate_percent = -1;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--size-mb") == 0)
            size_mb = atof(argv[i + 1]);
        else if (strcmp(argv[i], "--seed") == 0)
            rng_state = strtoull(argv[i + 1], NULL, 10) * 2654435761u + 1;
        else if (strcmp(argv[i], "--journal") == 0)
            journal = argv[i + 1];
        else if (strcmp(argv[i], "--mutate") == 0)
            mutate_percent = atof(argv[i + 1]);
        else {
            fprintf(stderr, "upkeep-gendb: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    sqlite3 *db;
    if (sqlite3_open(path, &db) != SQLITE_OK)
        die(db, "open");
    sqlite3_busy_timeout(db, 60000);
    if (mutate_percent >= 0) {
        mutate(db, mutate_percent);
        exec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
        sqlite3_close(db);
        return 0;
    }
    char sql[256];
    snprintf(sql, sizeof sql, "PRAGMA journal_mode=%s", journal);
    exec(db, sql);
    exec(db, "PRAGMA synchronous=OFF");
    exec(db,
         "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);"
         "CREATE TABLE IF NOT EXISTS users(id INTEGER PRIMARY KEY, email TEXT UNIQUE, name TEXT,"
         "  created_at TEXT, last_login TEXT);"
         "CREATE TABLE IF NOT EXISTS forms(id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES "
         "users(id),"
         "  title TEXT, body TEXT, status TEXT, attachment_path TEXT, created_at TEXT,"
         "  deleted_at TEXT);"
         "CREATE INDEX IF NOT EXISTS forms_deleted ON forms(deleted_at);"
         "CREATE TABLE IF NOT EXISTS audit_logs(id INTEGER PRIMARY KEY, user_id INTEGER,"
         "  action TEXT, detail TEXT, created_at TEXT);"
         "CREATE INDEX IF NOT EXISTS audit_created ON audit_logs(created_at);"
         "INSERT OR REPLACE INTO meta VALUES ('now', '2024-06-01T00:00:00Z');");
    sqlite3_stmt *user, *form, *audit;
    sqlite3_prepare_v2(db,
                       "INSERT INTO users(email, name, created_at, last_login) VALUES (?,?,?,?)",
                       -1, &user, NULL);
    sqlite3_prepare_v2(db,
                       "INSERT INTO forms(user_id, title, body, status, attachment_path,"
                       " created_at, deleted_at) VALUES (?,?,?,?,?,?,?)",
                       -1, &form, NULL);
    sqlite3_prepare_v2(db,
                       "INSERT INTO audit_logs(user_id, action, detail, created_at)"
                       " VALUES (?,?,?,?)",
                       -1, &audit, NULL);
    const int64_t now = 1717200000; /* 2024-06-01 */
    const int64_t two_years = 2 * 365 * 86400;
    int64_t target = (int64_t)(size_mb * 1024 * 1024);
    int64_t users = 0, forms = 0;
    char buf[2048], title[128], when[32], deleted[32], attach[128];
    exec(db, "BEGIN");
    int64_t next_checkpoint = 256 << 20;
    while (page_bytes(db) < target) {
        /* A transaction of many GiB would grow the WAL (and the time of every read in it)
         * as large as the database: commit and checkpoint every 256 MiB instead. */
        if (page_bytes(db) >= next_checkpoint) {
            exec(db, "COMMIT");
            if (strcmp(journal, "wal") == 0)
                exec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
            exec(db, "BEGIN");
            next_checkpoint += 256 << 20;
        }
        for (int batch = 0; batch < 500; batch++) {
            if (forms % 33 == 0) {
                users++;
                snprintf(buf, sizeof buf, "user%lld@example.com", (long long)users);
                sqlite3_bind_text(user, 1, buf, -1, SQLITE_TRANSIENT);
                text(title, 40);
                sqlite3_bind_text(user, 2, title, -1, SQLITE_TRANSIENT);
                sqlite3_bind_text(user, 3, "2022-06-01 10:00:00", -1, SQLITE_STATIC);
                sqlite3_bind_text(user, 4, "2024-05-30 09:00:00", -1, SQLITE_STATIC);
                sqlite3_step(user);
                sqlite3_reset(user);
            }
            forms++;
            time_t created = (time_t)(now - (int64_t)(rnd() % (uint64_t)two_years));
            strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", gmtime(&created));
            text(title, 60);
            text(buf, 600 + rnd() % 1300);
            sqlite3_bind_int64(form, 1, 1 + (int64_t)(rnd() % (uint64_t)users));
            sqlite3_bind_text(form, 2, title, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(form, 3, buf, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(form, 4, rnd() % 3 ? "submitted" : "draft", -1, SQLITE_STATIC);
            if (rnd() % 3 == 0) {
                snprintf(attach, sizeof attach, "forms/%lld/attachment.pdf", (long long)forms);
                sqlite3_bind_text(form, 5, attach, -1, SQLITE_TRANSIENT);
            } else {
                sqlite3_bind_null(form, 5);
            }
            sqlite3_bind_text(form, 6, when, -1, SQLITE_TRANSIENT);
            if (rnd() % 10 < 3) {
                time_t del = created + (time_t)(rnd() % (uint64_t)(now - created + 1));
                strftime(deleted, sizeof deleted, "%Y-%m-%d %H:%M:%S", gmtime(&del));
                sqlite3_bind_text(form, 7, deleted, -1, SQLITE_TRANSIENT);
            } else {
                sqlite3_bind_null(form, 7);
            }
            if (sqlite3_step(form) != SQLITE_DONE)
                die(db, "insert form");
            sqlite3_reset(form);
            for (int a = 0; a < 4; a++) {
                time_t t = (time_t)(now - (int64_t)(rnd() % (uint64_t)two_years));
                strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", gmtime(&t));
                sqlite3_bind_int64(audit, 1, 1 + (int64_t)(rnd() % (uint64_t)users));
                sqlite3_bind_text(audit, 2, rnd() % 2 ? "form.update" : "user.login", -1,
                                  SQLITE_STATIC);
                text(buf, 200 + rnd() % 300);
                sqlite3_bind_text(audit, 3, buf, -1, SQLITE_TRANSIENT);
                sqlite3_bind_text(audit, 4, when, -1, SQLITE_TRANSIENT);
                if (sqlite3_step(audit) != SQLITE_DONE)
                    die(db, "insert audit log");
                sqlite3_reset(audit);
            }
        }
    }
    exec(db, "COMMIT");
    sqlite3_finalize(user);
    sqlite3_finalize(form);
    sqlite3_finalize(audit);
    if (strcmp(journal, "wal") == 0)
        exec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
    printf("%s: %lld users, %lld forms, %lld audit logs, %.1f MiB\n", path, (long long)users,
           (long long)forms, (long long)forms * 4, (double)page_bytes(db) / 1048576.0);
    sqlite3_close(db);
    return 0;
}
