/* Config parsing with inih, driven by one key table.
 *
 * inih's handler does not receive line numbers in Debian's build, so the file is fed
 * through ini_parse_stream() with a reader that counts lines; when the handler runs, the
 * counter holds the line inih just read. Each key is stored through the table's offset into
 * its section's struct, so adding a key is one table row plus the struct field. */
#include "core/config.h"
#include "tree/tree_walk.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/file_owner.h"
#include "common/util.h"
#include "core/env_expand.h"
#include "db/db.h"
#include "repo/storage.h"
#include "sched/cron.h"
#include "sched/tz.h"
#include "task/row_output.h"
#include "web/http.h"

typedef enum {
    SECTION_UPKEEP,
    SECTION_DATABASE,
    SECTION_REPOSITORY,
    SECTION_JOB,
    SECTION_ALERT
} SectionKind;
typedef enum {
    KEY_STRING,
    KEY_DURATION,
    KEY_MILLIS,
    KEY_BOOL,
    KEY_COUNT,
    KEY_COMPRESSION,
    KEY_IDENT,
    KEY_CHOICE,
    KEY_PATH,
    KEY_SCHEDULE,
    KEY_ZONE,
    KEY_SIZE,
    KEY_FREE,
    KEY_AGE
} KeyType;

/* Which job tasks a job key applies to. */
enum {
    FOR_BACKUP = 1,
    FOR_PURGE = 2,
    FOR_VACUUM = 4,
    FOR_INTEGRITY = 8,
    FOR_UPDATE = 16,
    FOR_ARCHIVE = 32,
    FOR_SQL = 64,
    FOR_CLEAN = 128,
    FOR_DISK = 256,
    FOR_ROTATE = 512,
    FOR_VERIFY = 1024,
    FOR_REPORT = 2048,
    FOR_EXPORT = 4096,
    FOR_ALL = 8191,
    FOR_ROWS = FOR_PURGE | FOR_UPDATE | FOR_ARCHIVE
};
/* In TaskKind order (config.h); the "task" key's choices list the same names. */
static const char *task_names[] = {"backup",  "purge",  "vacuum", "integrity", "update",
                                   "archive", "sql",    "clean",  "disk",      "rotate",
                                   "verify",  "report", "export"};
#define N_TASKS (sizeof task_names / sizeof task_names[0])
_Static_assert(N_TASKS == TASK_EXPORT + 1, "task_names must list every TaskKind, in order");

/* Secret values never appear in a message: a secret key's value is shown as <redacted>, a
 * URL's password as "user:***@". Every message about a value goes through shown_value(). */
typedef enum {
    SECRET_NONE,
    SECRET_VALUE,   /* all of it: "<redacted>" */
    SECRET_URL,     /* a URL's password: "postgresql://app:***@db/app" */
    SECRET_ENDPOINT /* a URL whose path is the secret (Slack webhooks): "https://host/…" */
} Secrecy;

typedef struct ConfigKey {
    SectionKind section;
    const char *name;
    KeyType type;
    const char *default_value; /* NULL: no default */
    bool required;
    size_t offset;
    const char *help;
    unsigned tasks;        /* job keys: FOR_* mask of the tasks it applies to */
    unsigned required_for; /* FOR_* mask of the tasks that need it */
    const char *choices;   /* KEY_CHOICE: "a|b|c" */
    Secrecy secret;        /* how the value is shown in messages, logs and output */
} ConfigKey;

#define G(f) offsetof(Config, f)
#define D(f) offsetof(ConfigDatabase, f)
#define R(f) offsetof(ConfigRepository, f)
#define RP(f) (offsetof(ConfigRepository, retention) + offsetof(RetentionPolicy, f))
#define J(f) offsetof(ConfigJob, f)
#define A(f) offsetof(ConfigAlert, f)

static const ConfigKey config_keys[] = {
    {SECTION_UPKEEP, "state", KEY_STRING, "/var/lib/upkeep/state.db", false, G(state),
     "SQLite file holding run history and the backup catalogue (relative paths are relative to "
     "the config file)"},
    {SECTION_UPKEEP, "timezone", KEY_ZONE, NULL, false, G(timezone),
     "time zone for schedules and retention periods, e.g. Europe/Berlin (default: local time)"},
    {SECTION_UPKEEP, "require_env", KEY_STRING, NULL, false, G(require_env),
     "NAME=value that must hold in the environment for jobs to run (e.g. APP_ENV=production); "
     "runs are recorded as skipped otherwise"},
    {SECTION_UPKEEP, "log_file", KEY_PATH, NULL, false, G(log_file),
     "the daemon also appends its log lines here"},
    {SECTION_UPKEEP, "shutdown_grace", KEY_DURATION, "60s", false, G(shutdown_grace),
     "on SIGTERM the daemon lets running jobs finish this long, then stops them safely"},
    {SECTION_UPKEEP, "disk_paths", KEY_STRING, NULL, false, G(disk_paths),
     "comma-separated paths whose filesystems' free space health checks"},
    {SECTION_UPKEEP, "disk_free_warning", KEY_FREE, NULL, false, G(disk_free_warning),
     "health warns when a disk_paths filesystem has less free space than this: a size (10GB) "
     "or a percentage (10%)"},
    {SECTION_UPKEEP, "on_critical", KEY_STRING, NULL, false, G(on_critical),
     "job to run when a disk_paths free-space check turns critical (once per transition), "
     "e.g. one that moves old archives elsewhere"},
    {SECTION_UPKEEP, "disk_free_critical", KEY_FREE, NULL, false, G(disk_free_critical),
     "health is critical below this free space: a size or a percentage"},
    {SECTION_UPKEEP, "listen", KEY_STRING, "127.0.0.1:9187", false, G(listen),
     "address:port of the daemon's HTTP endpoint (/health, /metrics, status page), or off; "
     "anything but loopback needs token"},
    {SECTION_UPKEEP, "token", KEY_STRING, NULL, false, G(token),
     "bearer token the HTTP endpoint requires (Authorization: Bearer TOKEN)", 0, 0, NULL,
     SECRET_VALUE},
    {SECTION_UPKEEP, "metrics_textfile", KEY_PATH, NULL, false, G(metrics_textfile),
     "file the daemon rewrites (atomically) with the metrics after every run, for "
     "node_exporter's textfile collector"},
    {SECTION_UPKEEP, "health_interval", KEY_DURATION, "5m", false, G(health_interval),
     "how often the daemon evaluates health (alerts, on_critical)"},

    {SECTION_DATABASE, "url", KEY_STRING, NULL, true, D(url),
     "where the database is: sqlite:///absolute/path.db, sqlite://relative/path.db, or "
     "postgresql://user@host:port/dbname (libpq's URI: ?sslmode=…, ?service=…; PG* variables "
     "and ~/.pgpass apply)",
     0, 0, NULL, SECRET_URL},
    {SECTION_DATABASE, "password_file", KEY_PATH, NULL, false, D(password_file),
     "servers: file whose first line is the password (readable by its owner only), instead of "
     "one in the url"},
    {SECTION_DATABASE, "size_warning", KEY_SIZE, NULL, false, D(size_warning),
     "health warns when the database (with its WAL) is larger, e.g. 5GB"},
    {SECTION_DATABASE, "size_critical", KEY_SIZE, NULL, false, D(size_critical),
     "health is critical when the database is larger, e.g. 8GB"},
    {SECTION_DATABASE, "size_maximum", KEY_SIZE, NULL, false, D(size_maximum),
     "a third level above size_critical, e.g. 10GB: when the database grows past it, "
     "on_maximum runs (once, until it is below again)"},
    {SECTION_DATABASE, "on_maximum", KEY_STRING, NULL, false, D(on_maximum),
     "job to run when the database grows past size_maximum, e.g. an sql job that closes new "
     "submissions"},
    {SECTION_DATABASE, "on_maximum_command", KEY_STRING, NULL, false, D(on_maximum_command),
     "program and arguments (no shell) run when the database grows past size_maximum, with "
     "the event in UPKEEP_* variables; it has 30 s"},
    {SECTION_DATABASE, "count_tables", KEY_STRING, NULL, false, D(count_tables),
     "comma-separated tables whose row counts health and metrics report"},
    {SECTION_DATABASE, "count_by", KEY_STRING, NULL, false, D(count_by),
     "comma-separated TABLE.COLUMN whose rows health and metrics count per value (the 50 most "
     "common), e.g. print_jobs.status"},
    {SECTION_DATABASE, "backup_max_age", KEY_DURATION, NULL, false, D(backup_max_age),
     "health is critical when the newest backup is older, e.g. 25h"},
    {SECTION_DATABASE, "verify_max_age", KEY_DURATION, NULL, false, D(verify_max_age),
     "health warns when the newest backup proven restorable (verify) is older: the RPO you "
     "really have"},
    {SECTION_DATABASE, "integrity_max_age", KEY_DURATION, NULL, false, D(integrity_max_age),
     "health warns when the last integrity check of the database is older"},
    {SECTION_DATABASE, "slow_query_warning", KEY_MILLIS, NULL, false, D(slow_query_warning),
     "health warns when a statement's mean time is above this, e.g. 1s (servers: "
     "pg_stat_statements), so alerts on warning report slow queries"},
    {SECTION_DATABASE, "verify_cluster", KEY_BOOL, "no", false, D(verify_cluster),
     "servers: verify backups in a throwaway cluster that upkeep starts with initdb (its "
     "superuser restores extensions and runs amcheck) instead of a scratch database on the "
     "server itself"},
    {SECTION_DATABASE, "lock_non_innodb", KEY_BOOL, "no", false, D(lock_non_innodb),
     "MariaDB: back up a database with tables that are not InnoDB (MyISAM, Aria) by dumping "
     "with the tables locked, writers waiting meanwhile; no: such a backup is refused and "
     "names them"},
    {SECTION_DATABASE, "on_critical", KEY_STRING, NULL, false, D(on_critical),
     "job to run when a health check of this database turns critical (once per transition)"},

    {SECTION_REPOSITORY, "url", KEY_STRING, NULL, true, R(url),
     "where backups are stored: file:///absolute/dir, file://relative/dir or "
     "s3://bucket/prefix",
     0, 0, NULL, SECRET_URL},
    {SECTION_REPOSITORY, "endpoint", KEY_STRING, NULL, false, R(endpoint),
     "S3: the server, http(s)://host[:port] (default: AWS's endpoint for the region)"},
    {SECTION_REPOSITORY, "region", KEY_STRING, NULL, false, R(region),
     "S3: the region requests are signed for (default: AWS_REGION, AWS_DEFAULT_REGION, "
     "us-east-1)"},
    {SECTION_REPOSITORY, "bucket_lookup", KEY_CHOICE, "auto", false, R(bucket_lookup),
     "S3: path (endpoint/bucket/key), dns (bucket.endpoint/key) or auto (dns on AWS, path "
     "elsewhere)",
     0, 0, "auto|path|dns"},
    {SECTION_REPOSITORY, "access_key_id", KEY_STRING, NULL, false, R(access_key_id),
     "S3: the access key (default: AWS_ACCESS_KEY_ID, then the shared credentials file)"},
    {SECTION_REPOSITORY, "secret_access_key", KEY_STRING, NULL, false, R(secret_access_key),
     "S3: the secret key that goes with access_key_id", 0, 0, NULL, SECRET_VALUE},
    {SECTION_REPOSITORY, "session_token", KEY_STRING, NULL, false, R(session_token),
     "S3: a temporary session token that goes with the keys", 0, 0, NULL, SECRET_VALUE},
    {SECTION_REPOSITORY, "profile", KEY_STRING, NULL, false, R(profile),
     "S3: the profile of the shared credentials file (default: AWS_PROFILE, then default); "
     "the file is AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials"},
    {SECTION_REPOSITORY, "retry_for", KEY_DURATION, "2m", false, R(retry_for),
     "S3: how long a request that fails in a way that may pass (server errors, throttling, "
     "lost connections) is tried again, with growing waits"},
    {SECTION_REPOSITORY, "conditional_writes", KEY_BOOL, "yes", false, R(conditional_writes),
     "S3: the server honours If-None-Match on uploads, so an object is never replaced where it "
     "must not be; no (a server without it): backups work, prune refuses, since other hosts' "
     "locks cannot be trusted"},
    {SECTION_REPOSITORY, "compression", KEY_COMPRESSION, "zstd:3", false, R(compression),
     "zstd:LEVEL (1-19) or none"},
    {SECTION_REPOSITORY, "keep_last", KEY_COUNT, "0", false, RP(keep_last),
     "keep the N newest backups"},
    {SECTION_REPOSITORY, "keep_hourly", KEY_COUNT, "0", false, RP(keep_hourly),
     "keep the newest backup of each of the last N hours that have one"},
    {SECTION_REPOSITORY, "keep_daily", KEY_COUNT, "0", false, RP(keep_daily),
     "keep the newest backup of each of the last N days that have one"},
    {SECTION_REPOSITORY, "keep_weekly", KEY_COUNT, "0", false, RP(keep_weekly),
     "keep the newest backup of each of the last N ISO weeks that have one"},
    {SECTION_REPOSITORY, "keep_monthly", KEY_COUNT, "0", false, RP(keep_monthly),
     "keep the newest backup of each of the last N months that have one"},
    {SECTION_REPOSITORY, "keep_yearly", KEY_COUNT, "0", false, RP(keep_yearly),
     "keep the newest backup of each of the last N years that have one"},
    {SECTION_REPOSITORY, "keep_within", KEY_DURATION, NULL, false, RP(keep_within),
     "keep every backup younger than this, counted back from the newest backup (e.g. 180d)"},
    {SECTION_REPOSITORY, "keep_tag", KEY_STRING, NULL, false, RP(keep_tag),
     "keep every backup carrying one of these comma-separated tags"},
    {SECTION_REPOSITORY, "encryption", KEY_CHOICE, "none", false, R(encryption),
     "none, aes-256 (everything sealed with AES-256-GCM under keys only key holders have) or "
     "public-key (also: a host with a write-only key writes backups it cannot read); set when "
     "the repository is made",
     0, 0, "none|aes-256|public-key"},
    {SECTION_REPOSITORY, "key_file", KEY_PATH, NULL, false, R(key_file),
     "encrypted repositories: a file of 32 random bytes (upkeep key generate), readable by its "
     "owner only, that opens a key of the repository"},
    {SECTION_REPOSITORY, "passphrase_file", KEY_PATH, NULL, false, R(passphrase_file),
     "encrypted repositories: a file holding a passphrase (owner only) that opens a key of the "
     "repository; without this or key_file, UPKEEP_PASSPHRASE"},
    {SECTION_REPOSITORY, "prune_grace", KEY_DURATION, "1d", false, R(prune_grace),
     "prune first marks the data no backup needs, and deletes it in a prune at least this much "
     "later, so that a backup running on another host meanwhile never loses a chunk it reused; "
     "longer than the longest backup (0s: at once, for a repository one host writes)"},

    {SECTION_JOB, "task", KEY_CHOICE, NULL, true, J(task),
     "what the job does: backup, purge, archive, update, sql, vacuum, integrity, clean, disk, "
     "rotate, verify, report or export",
     FOR_ALL, 0, NULL /* the names of task_names */},
    {SECTION_JOB, "database", KEY_STRING, NULL, false, J(database_name),
     "name of a [database] section (verify: only its backups)", FOR_ALL,
     FOR_ALL & ~FOR_CLEAN & ~FOR_DISK & ~FOR_ROTATE & ~FOR_VERIFY & ~FOR_BACKUP},
    {SECTION_JOB, "schedule", KEY_SCHEDULE, NULL, false, J(schedule),
     "when the daemon runs the job: cron (minute hour day-of-month month day-of-week, optional "
     "seconds first) or @hourly, @daily, @weekly, @monthly, @yearly, e.g. 0 3 * * *",
     FOR_ALL},
    {SECTION_JOB, "timezone", KEY_ZONE, NULL, false, J(timezone),
     "time zone of this job's schedule (default: the [upkeep] timezone)", FOR_ALL},
    {SECTION_JOB, "catch_up", KEY_BOOL, "yes", false, J(catch_up),
     "when the daemon starts, run once a scheduled run missed while it was down", FOR_ALL},
    {SECTION_JOB, "catch_up_window", KEY_DURATION, "1d", false, J(catch_up_window),
     "how old a missed run may be and still be caught up", FOR_ALL},
    {SECTION_JOB, "jitter", KEY_DURATION, "0", false, J(jitter),
     "random delay up to this long before each scheduled run", FOR_ALL},
    {SECTION_JOB, "timeout", KEY_DURATION, "0", false, J(timeout),
     "a scheduled run still going after this long is stopped safely and recorded as failed "
     "(0: no limit)",
     FOR_ALL},
    {SECTION_JOB, "retries", KEY_COUNT, "0", false, J(retries),
     "retry a failed scheduled run up to N times", FOR_ALL},
    {SECTION_JOB, "retry_delay", KEY_DURATION, "1m", false, J(retry_delay),
     "wait before the first retry; each further retry waits twice as long", FOR_ALL},
    {SECTION_JOB, "require_env", KEY_STRING, NULL, false, J(require_env),
     "NAME=value that must hold for this job to run (default: the [upkeep] require_env)", FOR_ALL},
    {SECTION_JOB, "repository", KEY_STRING, NULL, false, J(repository_name),
     "the [repository] sections backups go to, comma-separated: a backup succeeds once the "
     "first has it, then is copied to the others (only the chunks each lacks); verify: the "
     "repositories whose backups it proves (default: all)",
     FOR_BACKUP | FOR_VERIFY, FOR_BACKUP},
    {SECTION_JOB, "enabled", KEY_BOOL, "yes", false, J(enabled),
     "no: the daemon and installed schedules leave the job out, status shows it disabled; "
     "upkeep run JOB --force still runs it",
     FOR_ALL},
    {SECTION_JOB, "cluster_lock", KEY_BOOL, "yes", false, J(cluster_lock),
     "for a database on a server: hold a lock on the server while the job runs, so that when "
     "several hosts run upkeep for one database the job runs on one of them at a time "
     "(PostgreSQL: pg_try_advisory_lock); a host that finds it taken skips the run",
     FOR_ALL},
    {SECTION_JOB, "verify", KEY_BOOL, "no", false, J(verify),
     "after a backup, prove it restorable (rebuild the image, check hashes and integrity)",
     FOR_BACKUP},
    {SECTION_JOB, "tag", KEY_STRING, NULL, false, J(tag), "tag attached to the job's backups",
     FOR_BACKUP},
    {SECTION_JOB, "table", KEY_IDENT, NULL, false, J(table), "table the job works on", FOR_ROWS,
     FOR_ROWS},
    {SECTION_JOB, "age_column", KEY_IDENT, NULL, false, J(age_column),
     "column holding each row's age (ISO-8601 text, Unix seconds or milliseconds, Julian days)",
     FOR_ROWS, FOR_PURGE | FOR_ARCHIVE},
    {SECTION_JOB, "older_than", KEY_AGE, NULL, false, J(older_than),
     "only rows whose age_column is older than this, e.g. 180d, or in calendar months: 6mo, 1y; "
     "for clean, files last modified longer ago",
     FOR_ROWS | FOR_CLEAN, FOR_PURGE | FOR_ARCHIVE},
    {SECTION_JOB, "where", KEY_STRING, NULL, false, J(where),
     "extra SQL condition rows must also meet, e.g. status = 'UPLOADED' (trusted)", FOR_ROWS},
    {SECTION_JOB, "age_format", KEY_CHOICE, "auto", false, J(age_format),
     "how age_column stores time: auto (detected from the data), iso8601, unix, unix_ms, "
     "unix_us, unix_ns, julian",
     FOR_ROWS, 0, "auto|iso8601|unix|unix_ms|unix_us|unix_ns|julian"},
    {SECTION_JOB, "transaction_budget", KEY_MILLIS, "20ms", false, J(transaction_budget),
     "how long a write transaction may hold the database; each batch ends when its time is "
     "up (the longest one is recorded)",
     FOR_ROWS | FOR_VACUUM},
    {SECTION_JOB, "cascade", KEY_BOOL, "no", false, J(cascade),
     "archive a table whose rows other tables reference with ON DELETE CASCADE, accepting that "
     "those children are deleted without being archived (otherwise refused)",
     FOR_ARCHIVE},
    {SECTION_JOB, "batch_size", KEY_COUNT, "0", false, J(batch_size),
     "rows per write transaction instead of transaction_budget (0: as many as fit the budget)",
     FOR_ROWS},
    {SECTION_JOB, "pause", KEY_MILLIS, "15ms", false, J(pause),
     "longest wait between write transactions for the application's writers to get in (the "
     "next one starts once they have committed)",
     FOR_ROWS | FOR_VACUUM},
    {SECTION_JOB, "files_column", KEY_IDENT, NULL, false, J(files_column),
     "column naming a file per row; purge deletes it, archive moves it (needs files_root)",
     FOR_PURGE | FOR_ARCHIVE},
    {SECTION_JOB, "files_root", KEY_PATH, NULL, false, J(files_root),
     "folder the files of files_column are relative to; nothing outside it is ever touched",
     FOR_PURGE | FOR_ARCHIVE},
    {SECTION_JOB, "set", KEY_STRING, NULL, false, J(set),
     "SQL assignments for update, e.g. email = NULL, name = 'anonymous' (trusted)", FOR_UPDATE,
     FOR_UPDATE},
    {SECTION_JOB, "archive_to", KEY_STRING, NULL, false, J(archive_to),
     "where rows are copied before they are deleted: sqlite:///path/archive.db (the table is "
     "created there if missing), or jsonl:///folder or csv:///folder for zstd-compressed files; "
     "on a server, table:SCHEMA.TABLE in the same database (created if missing)",
     FOR_ARCHIVE, FOR_ARCHIVE},
    {SECTION_JOB, "archive_database", KEY_STRING, NULL, false, J(archive_database_name),
     "servers: the [database] section whose database holds archive_to's table, instead of the "
     "job's own (rows are copied there before they are deleted)",
     FOR_ARCHIVE},
    {SECTION_JOB, "files_move_to", KEY_PATH, NULL, false, J(files_move_to),
     "archive moves the rows' files here (keeping their relative paths) instead of deleting them",
     FOR_ARCHIVE},
    {SECTION_JOB, "sql", KEY_STRING, NULL, false, J(sql),
     "statements run as they are, in one transaction (trusted)", FOR_SQL, FOR_SQL},
    {SECTION_JOB, "vacuum", KEY_CHOICE, "full", false, J(vacuum),
     "full (SQLite: rewrites the file, blocks writers for its whole run; PostgreSQL: VACUUM of "
     "every table, which never blocks them, not VACUUM FULL), incremental (SQLite: frees pages "
     "in small steps; needs auto_vacuum = INCREMENTAL) or none",
     FOR_VACUUM, 0, "full|incremental|none"},
    {SECTION_JOB, "min_free_percent", KEY_COUNT, "10", false, J(min_free_percent),
     "skip VACUUM when free pages are less than this percentage of the file", FOR_VACUUM},
    {SECTION_JOB, "analyze", KEY_BOOL, "yes", false, J(analyze), "run ANALYZE", FOR_VACUUM},
    {SECTION_JOB, "optimize", KEY_BOOL, "no", false, J(optimize), "run PRAGMA optimize",
     FOR_VACUUM},
    {SECTION_JOB, "reindex", KEY_BOOL, "no", false, J(reindex),
     "run REINDEX (PostgreSQL: REINDEX DATABASE CONCURRENTLY)", FOR_VACUUM},
    {SECTION_JOB, "checkpoint", KEY_BOOL, "yes", false, J(checkpoint),
     "run PRAGMA wal_checkpoint(TRUNCATE) at the end (WAL databases)", FOR_VACUUM},
    {SECTION_JOB, "checks", KEY_STRING, "quick, foreign_keys", false, J(checks),
     "integrity checks to run: quick, full, foreign_keys (comma-separated)", FOR_INTEGRITY},

    {SECTION_JOB, "path", KEY_PATH, NULL, false, J(path),
     "folder clean works in; it never leaves it, never follows a symlink, never removes it",
     FOR_CLEAN, FOR_CLEAN},
    {SECTION_JOB, "match", KEY_STRING, "*", false, J(match),
     "comma-separated globs on file names (or on paths below path when they hold a /), e.g. "
     "*.tmp, *.part",
     FOR_CLEAN},
    {SECTION_JOB, "larger_than", KEY_SIZE, NULL, false, J(larger_than),
     "only files larger than this, e.g. 100MB", FOR_CLEAN},
    {SECTION_JOB, "action", KEY_CHOICE, "delete", false, J(action),
     "delete the files, or move them to move_to keeping their paths below path", FOR_CLEAN, 0,
     "delete|move"},
    {SECTION_JOB, "move_to", KEY_PATH, NULL, false, J(move_to),
     "folder files are moved to with action = move (an existing file is never replaced)",
     FOR_CLEAN},
    {SECTION_JOB, "remove_empty_dirs", KEY_BOOL, "no", false, J(remove_empty_dirs),
     "remove folders left empty below path", FOR_CLEAN},
    {SECTION_JOB, "unreferenced_by", KEY_STRING, NULL, false, J(unreferenced_by),
     "TABLE.COLUMN of database: only files no row names (orphans); needs older_than as the "
     "grace period for uploads in flight",
     FOR_CLEAN},

    {SECTION_JOB, "paths", KEY_STRING, NULL, false, J(paths),
     "comma-separated; disk: folders whose filesystems, largest folders and big files it "
     "reports; backup: files and folders backed up with the database (or alone)",
     FOR_DISK | FOR_BACKUP, FOR_DISK},
    {SECTION_JOB, "exclude", KEY_STRING, NULL, false, J(exclude),
     "backup: comma-separated patterns left out of paths: *.tmp (a name), cache/ (folders "
     "only), /srv/app/tmp/* (a whole path)",
     FOR_BACKUP},
    {SECTION_JOB, "report_larger_than", KEY_SIZE, NULL, false, J(larger_than),
     "disk lists the files larger than this, e.g. 100MB", FOR_DISK},

    {SECTION_JOB, "files", KEY_STRING, NULL, false, J(files),
     "comma-separated globs of the logs to rotate, e.g. /var/log/app/*.log", FOR_ROTATE,
     FOR_ROTATE},
    {SECTION_JOB, "size", KEY_SIZE, NULL, false, J(size_trigger),
     "rotate a log only once it is at least this big (run the job often, e.g. hourly)", FOR_ROTATE},
    {SECTION_JOB, "interval", KEY_DURATION, NULL, false, J(interval),
     "rotate a log at most this often, e.g. 1d (default: at every run of the job)", FOR_ROTATE},
    {SECTION_JOB, "min_size", KEY_SIZE, NULL, false, J(min_size),
     "rotate a log when its interval has passed and it is at least this big", FOR_ROTATE},
    {SECTION_JOB, "max_size", KEY_SIZE, NULL, false, J(max_size),
     "rotate a log as soon as it is this big, even before its interval has passed", FOR_ROTATE},
    {SECTION_JOB, "keep", KEY_COUNT, "7", false, J(keep), "rotated copies kept per log",
     FOR_ROTATE},
    {SECTION_JOB, "max_age", KEY_DURATION, NULL, false, J(max_age),
     "remove rotated copies last modified longer ago", FOR_ROTATE},
    {SECTION_JOB, "max_total", KEY_SIZE, NULL, false, J(max_total),
     "remove the oldest rotated copies of a log while together they are larger than this",
     FOR_ROTATE},
    {SECTION_JOB, "naming", KEY_CHOICE, "numbered", false, J(naming),
     "numbered (app.log.1, app.log.2 ...) or dated (app.log-20261122, see date_format)", FOR_ROTATE,
     0, "numbered|dated"},
    {SECTION_JOB, "date_format", KEY_STRING, "-%Y%m%d", false, J(date_format),
     "strftime suffix of dated copies; it must sort as the dates do", FOR_ROTATE},
    {SECTION_JOB, "compress", KEY_CHOICE, "zstd", false, J(compress),
     "compression of rotated copies: zstd, gzip (for zcat and older tools) or none", FOR_ROTATE, 0,
     "zstd|gzip|none"},
    {SECTION_JOB, "delay_compress", KEY_BOOL, "no", false, J(delay_compress),
     "leave the newest rotated copy uncompressed until the next rotation", FOR_ROTATE},
    {SECTION_JOB, "not_if_empty", KEY_BOOL, "no", false, J(not_if_empty),
     "do not rotate empty logs", FOR_ROTATE},
    {SECTION_JOB, "missing_ok", KEY_BOOL, "no", false, J(missing_ok),
     "a glob that matches nothing is not an error", FOR_ROTATE},
    {SECTION_JOB, "mode", KEY_CHOICE, "create", false, J(rotate_mode),
     "create (rename, then a new empty log with the same owner and mode; post_command makes "
     "the application reopen) or copytruncate (copy, then truncate: lines written in between "
     "are lost)",
     FOR_ROTATE, 0, "create|copytruncate"},
    {SECTION_JOB, "query", KEY_STRING, NULL, false, J(query),
     "report, export: the SELECT whose rows go out, run in a read-only transaction (trusted)",
     FOR_REPORT | FOR_EXPORT, FOR_REPORT},
    {SECTION_JOB, "tables", KEY_STRING, NULL, false, J(tables),
     "export: tables exported whole (comma-separated), instead of a query", FOR_EXPORT},
    {SECTION_JOB, "output", KEY_STRING, NULL, false, J(output),
     "report, export: the file written; its name gives the format (.jsonl, .json, .csv) and "
     "compression (.zst, .gz); {table} and {date} are filled in, e.g. exports/{table}-{date}"
     ".jsonl.zst",
     FOR_REPORT | FOR_EXPORT, FOR_EXPORT},
    {SECTION_JOB, "backups", KEY_STRING, "latest", false, J(verify_backups),
     "which backups a verify job proves: latest (the newest of each database), all, or subset "
     "N/T (N of T parts each run, rotating, so that every backup is proven once in T/N runs, "
     "e.g. subset 1/12)",
     FOR_VERIFY},
    {SECTION_JOB, "create", KEY_STRING, NULL, false, J(rotate_create),
     "the new log's mode, owner and group as logrotate writes them, e.g. 0640 carapp carapp "
     "(default: the old log's)",
     FOR_ROTATE},
    {SECTION_JOB, "post_command", KEY_STRING, NULL, false, J(post_command),
     "program and arguments run (no shell) after logs were rotated in create mode, e.g. "
     "/usr/bin/systemctl kill -s HUP app.service",
     FOR_ROTATE},

    {SECTION_ALERT, "on", KEY_STRING, "failure, recovery, critical, missed", false, A(on),
     "events that send this alert: failure, recovery, warning, critical, missed "
     "(comma-separated)"},
    {SECTION_ALERT, "jobs", KEY_STRING, NULL, false, A(jobs),
     "only these jobs (comma-separated; default: all)"},
    {SECTION_ALERT, "webhook", KEY_STRING, NULL, false, A(webhook),
     "URL that receives a JSON POST (a Slack-compatible text field and a Teams message card)", 0, 0,
     NULL, SECRET_ENDPOINT},
    {SECTION_ALERT, "email", KEY_STRING, NULL, false, A(email),
     "comma-separated addresses mailed through smtp"},
    {SECTION_ALERT, "smtp", KEY_STRING, NULL, false, A(smtp),
     "mail server: smtp://host:port (STARTTLS when offered) or smtps://host:port", 0, 0, NULL,
     SECRET_URL},
    {SECTION_ALERT, "smtp_from", KEY_STRING, "upkeep@localhost", false, A(smtp_from),
     "sender address of alert mail"},
    {SECTION_ALERT, "smtp_credentials", KEY_PATH, NULL, false, A(smtp_credentials),
     "file holding user:password for the mail server (not readable by group or others)"},
    {SECTION_ALERT, "command", KEY_PATH, NULL, false, A(command),
     "program run with the event in UPKEEP_* environment variables (no shell)"},
    {SECTION_ALERT, "heartbeat", KEY_STRING, NULL, false, A(heartbeat),
     "healthchecks.io-style ping URL: URL/start when a job starts, URL on success, URL/fail "
     "on failure",
     0, 0, NULL, SECRET_ENDPOINT},
    {SECTION_ALERT, "after", KEY_COUNT, "1", false, A(after),
     "alert only after this many consecutive failures"},
    {SECTION_ALERT, "repeat", KEY_DURATION, "6h", false, A(repeat),
     "repeat an unresolved alert at most this often"},
    {SECTION_ALERT, "quiet_hours", KEY_STRING, NULL, false, A(quiet_hours),
     "HH:MM-HH:MM during which only critical alerts are sent; others wait until it ends"},
    {SECTION_ALERT, "timeout", KEY_DURATION, "10s", false, A(timeout),
     "how long one delivery may take"},
};

static const char *section_names[] = {"upkeep", "database", "repository", "job", "alert"};

typedef struct ParseState {
    Config *config;
    const char *path;
    FILE *file;
    int line;
    SectionKind kind;
    void *target; /* the struct of the current section */
    int section_line;
    bool in_section;
    unsigned char seen[sizeof config_keys / sizeof config_keys[0]];
    int seen_line[sizeof config_keys / sizeof config_keys[0]];
    bool failed;
    UkError *err;
    char *raw; /* the whole line the reader read last */
    size_t raw_cap;
    char *long_value; /* that line's value when it was too long for inih's buffer */
    int upkeep_line;  /* where [upkeep] began, to refuse a second one */
    int key_line[sizeof config_keys / sizeof config_keys[0]]; /* [upkeep] keys' lines */
} ParseState;

/* Lines may be this long; inih sees a marker in place of a value longer than its buffer. */
#define CONFIG_MAX_LINE 65536
#define LONG_VALUE_MARKER "\x01upkeep-long-value"

static void fail(ParseState *ps, int line, const char *fmt, const char *a, const char *b);

/* The end of a value as inih finds it: an inline comment starts at a ';' after whitespace. */
static size_t value_length(const char *value)
{
    size_t n = 0;
    for (bool after_space = false; value[n]; n++) {
        if (value[n] == ';' && after_space)
            break;
        after_space = isspace((unsigned char)value[n]);
    }
    while (n > 0 && isspace((unsigned char)value[n - 1]))
        n--;
    return n;
}

/* Debian's inih reads into a 200-byte buffer, which would cut a long value (a `sql =`
 * statement) or turn the rest of a long comment into a line of its own. So the reader reads
 * whole lines itself: one that fits is handed on as it is; a longer one is handed on as
 * "key = <marker>" and its value kept aside, for handle_key to take instead of the marker.
 * A line still too long, or holding a NUL byte, is an error at its number. */
static char *ini_read_line(char *buf, int size, void *stream)
{
    ParseState *ps = stream;
    ssize_t n = getline(&ps->raw, &ps->raw_cap, ps->file);
    if (n < 0)
        return NULL;
    ps->line++;
    free(ps->long_value);
    ps->long_value = NULL;
    char *text = ps->raw;
    if (ps->line == 1 && strncmp(text, "\xEF\xBB\xBF", 3) == 0) { /* UTF-8 byte order mark */
        text += 3;
        n -= 3;
    }
    if (memchr(text, '\0', (size_t)n)) {
        fail(ps, ps->line, "the line holds a NUL byte", NULL, NULL);
        snprintf(buf, (size_t)size, "\n");
        return buf;
    }
    if (n < size) {
        memcpy(buf, text, (size_t)n + 1);
        return buf;
    }
    const char *p = text;
    while (isspace((unsigned char)*p))
        p++;
    size_t key_len = strcspn(p, "=:");
    if (n > CONFIG_MAX_LINE || *p == '[' || !p[key_len] || key_len + 16 > (size_t)size) {
        char limit[32];
        snprintf(limit, sizeof limit, "%d", CONFIG_MAX_LINE);
        if (*p == ';' || *p == '#') { /* a long comment is only a comment */
            if (n <= CONFIG_MAX_LINE) {
                snprintf(buf, (size_t)size, "\n");
                return buf;
            }
        }
        fail(ps, ps->line,
             n > CONFIG_MAX_LINE ? "line is longer than %s bytes"
                                 : "line is too long for a section header or a key name%s",
             n > CONFIG_MAX_LINE ? limit : "", NULL);
        snprintf(buf, (size_t)size, "\n");
        return buf;
    }
    const char *value = p + key_len + 1;
    while (isspace((unsigned char)*value))
        value++;
    ps->long_value = xasprintf("%.*s", (int)value_length(value), value);
    snprintf(buf, (size_t)size, "%.*s= " LONG_VALUE_MARKER "\n", (int)key_len, p);
    return buf;
}

static void fail(ParseState *ps, int line, const char *fmt, const char *a, const char *b)
{
    if (ps->failed)
        return;
    char msg[400];
    snprintf(msg, sizeof msg, fmt, a, b ? b : "");
    uk_error_set(ps->err, UK_E_CONFIG, 0, "%s:%d: %s", ps->path, line, msg);
    ps->failed = true;
}

static bool is_sql_identifier(const char *s)
{
    if (!*s || strlen(s) > 64 || (*s >= '0' && *s <= '9'))
        return false;
    for (; *s; s++)
        if (!(*s == '_' || (*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') ||
              (*s >= 'A' && *s <= 'Z')))
            return false;
    return true;
}

/* SCHEMA.TABLE (both plain names) into job->table_schema and job->table. */
static bool split_qualified(const char *value, ConfigJob *job)
{
    const char *dot = strchr(value, '.');
    if (!job || !dot || dot == value)
        return false;
    char *schema = xasprintf("%.*s", (int)(dot - value), value);
    bool ok = is_sql_identifier(schema) && is_sql_identifier(dot + 1);
    if (ok) {
        free(job->table_schema);
        free(job->table);
        job->table_schema = schema;
        job->table = xstrdup(dot + 1);
    } else {
        free(schema);
    }
    return ok;
}

/* A quoted SQL name, "Order Details" (with "" for a quote inside), as the name itself; NULL
 * when it is not one. Such names are quoted again wherever they go into SQL. */
static char *unquote_identifier(const char *value)
{
    size_t n = strlen(value);
    if (n < 3 || n > 130 || value[0] != '"' || value[n - 1] != '"')
        return NULL;
    char *out = xmalloc(n);
    size_t o = 0;
    for (size_t i = 1; i < n - 1; i++) {
        bool escaped_quote = value[i] == '"' && i + 2 < n && value[i + 1] == '"';
        if ((unsigned char)value[i] < 0x20 || (value[i] == '"' && !escaped_quote)) {
            free(out);
            return NULL;
        }
        i += escaped_quote;
        out[o++] = value[i];
    }
    out[o] = '\0';
    return out;
}

/* A choice key's choices, "a|b|c"; the task key's are task_names. */
static const char *choices_of(const ConfigKey *key)
{
    static char tasks[256];
    if (key->choices)
        return key->choices;
    if (!tasks[0])
        for (size_t i = 0; i < N_TASKS; i++)
            snprintf(tasks + strlen(tasks), sizeof tasks - strlen(tasks), "%s%s", i ? "|" : "",
                     task_names[i]);
    return tasks;
}

static bool is_choice(const char *choices, const char *value)
{
    size_t n = strlen(value);
    for (const char *p = choices; p && *p;) {
        const char *end = strchr(p, '|');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && strncmp(p, value, n) == 0)
            return true;
        p = end ? end + 1 : NULL;
    }
    return false;
}

static bool is_string_type(KeyType t)
{
    return t == KEY_STRING || t == KEY_COMPRESSION || t == KEY_IDENT || t == KEY_CHOICE ||
           t == KEY_PATH || t == KEY_SCHEDULE || t == KEY_ZONE;
}

/* VALUE as a message may show it. Caller frees. */
static char *shown_value(const ConfigKey *key, const char *value)
{
    switch (key->secret) {
    case SECRET_VALUE: return xstrdup("<redacted>");
    case SECRET_URL: return redact_url(value, true);
    case SECRET_ENDPOINT: return redact_url(value, false);
    case SECRET_NONE: break;
    }
    return xstrdup(value);
}

/* MSG with every copy of VALUE replaced by what may be shown of it. */
static void redact_message(char *msg, size_t size, const ConfigKey *key, const char *value)
{
    if (key->secret == SECRET_NONE || !*value)
        return;
    char *shown = shown_value(key, value);
    char out[1024] = "";
    size_t n = strlen(value), o = 0;
    for (const char *p = msg; *p && o + 1 < sizeof out;) {
        if (strncmp(p, value, n) == 0) {
            o += (size_t)snprintf(out + o, sizeof out - o, "%s", shown);
            p += n;
        } else {
            out[o++] = *p++;
        }
    }
    out[o < sizeof out ? o : sizeof out - 1] = '\0';
    snprintf(msg, size, "%s", out);
    free(shown);
}

/* The integrity task's checks: every word one it knows. */
static int check_words(const char *value, UkError *err)
{
    size_t n;
    char **words = split_list(value, &n);
    int rc = n ? 0 : uk_error_set(err, UK_E_CONFIG, 0, "no check named");
    for (size_t i = 0; i < n && rc == 0; i++)
        if (!is_choice("quick|full|foreign_keys", words[i]))
            rc = uk_error_set(err, UK_E_CONFIG, 0,
                              "unknown check '%s' (expected quick, full, foreign_keys)", words[i]);
    free_list(words, n);
    return rc;
}

/* A verify job's backups: latest, all or subset N/T (1 <= N <= T <= 1000). */
static int parse_verify_backups(const char *value, ConfigJob *job, UkError *err)
{
    int n = 0, t = 0, used = 0;
    if (strcmp(value, "latest") == 0 || strcmp(value, "all") == 0)
        return 0;
    if (sscanf(value, "subset %d/%d%n", &n, &t, &used) == 2 && value[used] == '\0' && n >= 1 &&
        n <= t && t <= 1000) {
        job->subset_n = n;
        job->subset_t = t;
        return 0;
    }
    return uk_error_set(err, UK_E_CONFIG, 0,
                        "invalid backups '%s' (expected latest, all or subset N/T, e.g. subset "
                        "1/12)",
                        value);
}

/* A duration, or whole calendar months ("6mo") or years ("1y", twelve months). */
static int parse_age(const char *text, Age *age, UkError *err)
{
    char *end = NULL;
    size_t n = strlen(text);
    bool months = n > 2 && strcmp(text + n - 2, "mo") == 0;
    bool years = !months && n > 1 && text[n - 1] == 'y';
    if (months || years) {
        errno = 0;
        long v = isdigit((unsigned char)text[0]) ? strtol(text, &end, 10) : -1;
        if (v < 1 || errno || end != text + n - (months ? 2 : 1) || v > (months ? 1200 : 100))
            return uk_error_set(err, UK_E_CONFIG, 0,
                                "invalid age '%s' (expected 1mo to 1200mo, or 1y to 100y)", text);
        *age = (Age){.months = (int)v * (years ? 12 : 1)};
        return 0;
    }
    *age = (Age){0};
    return parse_duration(text, &age->seconds, err);
}

time_t age_cutoff(const Age *age, time_t now)
{
    if (!age->months)
        return now - (time_t)age->seconds;
    struct tm tm;
    gmtime_r(&now, &tm);
    int month = tm.tm_year * 12 + tm.tm_mon - age->months;
    tm.tm_year = month / 12;
    tm.tm_mon = month % 12;
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int year = tm.tm_year + 1900;
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    int last = days[tm.tm_mon] + (tm.tm_mon == 1 && leap);
    if (tm.tm_mday > last)
        tm.tm_mday = last;
    return timegm(&tm);
}

static int store_value(ParseState *ps, const ConfigKey *key, const char *value)
{
    char *field = (char *)ps->target + key->offset;
    UkError perr = {0};
    switch (key->type) {
    case KEY_STRING:
    case KEY_SCHEDULE:
    case KEY_ZONE:
    case KEY_COMPRESSION: {
        CronSpec spec;
        char why[200];
        if (key->type == KEY_SCHEDULE && cron_parse(value, &spec, why, sizeof why) != 0) {
            uk_error_set(&perr, UK_E_CONFIG, 0, "'%s': %s", value, why);
            break;
        }
        if (key->type == KEY_ZONE && !tz_known(value)) {
            uk_error_set(&perr, UK_E_CONFIG, 0,
                         "unknown time zone '%s' (a name from the tz database, e.g. "
                         "Europe/Berlin)",
                         value);
            break;
        }
        if (key->type == KEY_COMPRESSION && strcmp(value, "none") != 0) {
            int level = -1;
            char extra;
            if (sscanf(value, "zstd:%d%c", &level, &extra) != 1 || level < 1 || level > 19) {
                if (strcmp(value, "zstd") != 0) {
                    uk_error_set(&perr, UK_E_CONFIG, 0,
                                 "invalid compression '%s' (expected zstd:1 to zstd:19 or none)",
                                 value);
                    break;
                }
            }
        }
        if (strcmp(key->name, "require_env") == 0 && (!strchr(value, '=') || value[0] == '=')) {
            uk_error_set(&perr, UK_E_CONFIG, 0, "expected NAME=value, got '%s'", value);
            break;
        }
        if (strcmp(key->name, "checks") == 0 && check_words(value, &perr) != 0)
            break;
        FileOwner owner;
        if (strcmp(key->name, "create") == 0 && file_owner_parse(value, false, &owner, &perr) != 0)
            break;
        const char *format, *compress;
        if (strcmp(key->name, "output") == 0 &&
            row_output_kind(value, &format, &compress, &perr) != 0)
            break;
        if (strcmp(key->name, "backups") == 0 &&
            parse_verify_backups(value, ps->target, &perr) != 0)
            break;
        if (strcmp(key->name, "listen") == 0 && web_enabled(value) &&
            web_parse_listen(value, NULL, &perr) != 0)
            break;
        char **slot = (char **)field;
        free(*slot);
        *slot = xstrdup(value);
        return 0;
    }
    case KEY_DURATION:
        if (parse_duration(value, (int64_t *)field, &perr) == 0)
            return 0;
        break;
    case KEY_AGE:
        if (parse_age(value, (Age *)field, &perr) == 0)
            return 0;
        break;
    case KEY_MILLIS:
        if (parse_millis(value, (int *)field, &perr) == 0)
            return 0;
        break;
    case KEY_IDENT:
    case KEY_CHOICE:
    case KEY_PATH: {
        char *unquoted = NULL;
        if (key->type == KEY_IDENT && value[0] == '"') {
            unquoted = unquote_identifier(value);
            if (!unquoted) {
                uk_error_set(&perr, UK_E_CONFIG, 0,
                             "invalid quoted name %s (\"…\" with \"\" for a quote, no control "
                             "characters, at most 128 bytes)",
                             value);
                break;
            }
            value = unquoted;
        } else if (key->type == KEY_IDENT && strcmp(key->name, "table") == 0 &&
                   split_qualified(value, key->section == SECTION_JOB ? ps->target : NULL)) {
            return 0; /* schema.table, for servers */
        } else if (key->type == KEY_IDENT && !is_sql_identifier(value)) {
            uk_error_set(&perr, UK_E_CONFIG, 0,
                         "invalid name '%s' (letters, digits and '_' only, not starting with a "
                         "digit; or quoted: \"Order Details\")",
                         value);
            break;
        }
        if (key->type == KEY_CHOICE && !is_choice(choices_of(key), value)) {
            char choices[128];
            snprintf(choices, sizeof choices, "%s", choices_of(key));
            for (char *c = choices; *c; c++)
                if (*c == '|')
                    *c = ',';
            uk_error_set(&perr, UK_E_CONFIG, 0, "invalid value '%s' (expected one of %s)", value,
                         choices);
            break;
        }
        char **slot = (char **)field;
        free(*slot);
        *slot = key->type == KEY_PATH ? path_join(ps->config->dir, value) : xstrdup(value);
        free(unquoted);
        return 0;
    }
    case KEY_BOOL:
        if (parse_bool(value, (bool *)field, &perr) == 0)
            return 0;
        break;
    case KEY_SIZE:
        if (parse_size(value, (uint64_t *)field, &perr) == 0)
            return 0;
        break;
    case KEY_FREE: {
        FreeThreshold *t = (FreeThreshold *)field;
        size_t n = strlen(value);
        if (n > 1 && value[n - 1] == '%') {
            char *end = NULL;
            double pct = strtod(value, &end);
            if (end == value + n - 1 && pct >= 0 && pct <= 100) {
                *t = (FreeThreshold){.set = true, .percent = true, .value = pct};
                return 0;
            }
            uk_error_set(&perr, UK_E_CONFIG, 0, "invalid percentage '%s' (0%% to 100%%)", value);
            break;
        }
        uint64_t bytes;
        if (parse_size(value, &bytes, &perr) == 0) {
            *t = (FreeThreshold){.set = true, .percent = false, .value = (double)bytes};
            return 0;
        }
        break;
    }
    case KEY_COUNT:
        if (parse_uint(value, (int *)field, &perr) == 0)
            return 0;
        break;
    }
    redact_message(perr.msg, sizeof perr.msg, key, value);
    fail(ps, ps->line, "%s: %s", key->name, perr.msg);
    return -1;
}

static const ConfigKey *find_key(SectionKind kind, const char *name)
{
    for (size_t i = 0; i < sizeof config_keys / sizeof config_keys[0]; i++)
        if (config_keys[i].section == kind && strcmp(config_keys[i].name, name) == 0)
            return &config_keys[i];
    return NULL;
}

static bool is_valid_name(const char *name)
{
    if (!*name || strlen(name) > 64)
        return false;
    for (const char *p = name; *p; p++)
        if (!(*p == '-' || *p == '_' || *p == '.' || (*p >= '0' && *p <= '9') ||
              (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
            return false;
    return true;
}

/* A backup job's paths, absolute: relative ones are relative to the config file's folder.
 * Symlinks are left as they are (a path that is one is backed up as one). */
static void resolve_backup_paths(const Config *c, ConfigJob *j)
{
    size_t n = 0;
    char **paths = split_list(j->paths, &n);
    char *dir = realpath(c->dir, NULL), *joined = NULL;
    for (size_t i = 0; i < n; i++) {
        char *abs =
            paths[i][0] == '/' ? xstrdup(paths[i]) : path_join(dir ? dir : c->dir, paths[i]);
        list_appendf(&joined, "%s", abs);
        free(abs);
    }
    free(dir);
    free_list(paths, n);
    free(j->paths);
    j->paths = joined;
}

/* Applies defaults and checks required keys of the section that just ended. */
static int task_kind(const char *task)
{
    for (size_t i = 0; i < N_TASKS; i++)
        if (task && strcmp(task, task_names[i]) == 0)
            return (int)i;
    return -1;
}

/* Job keys apply to some tasks only: a key for another task is an error at its line, a key
 * the task requires is an error at the section's line. */
static void check_job_keys(ParseState *ps)
{
    ConfigJob *job = ps->target;
    int kind = task_kind(job->task);
    if (kind < 0)
        return; /* 'task' itself is missing: reported as a required key */
    job->kind = (TaskKind)kind;
    unsigned bit = 1u << kind;
    for (size_t i = 0; i < sizeof config_keys / sizeof config_keys[0] && !ps->failed; i++) {
        const ConfigKey *key = &config_keys[i];
        if (key->section != SECTION_JOB)
            continue;
        if (ps->seen[i] && !(key->tasks & bit)) {
            char msg[200];
            snprintf(msg, sizeof msg, "key '%s' does not apply to task %s", key->name,
                     task_names[kind]);
            fail(ps, ps->seen_line[i], "%s%s", msg, NULL);
        } else if (!ps->seen[i] && (key->required_for & bit)) {
            char msg[200];
            snprintf(msg, sizeof msg, "job '%s': task %s needs '%s'", job->name, task_names[kind],
                     key->name);
            fail(ps, ps->section_line, "%s%s", msg, NULL);
        }
    }
    if (!ps->failed && job->kind == TASK_BACKUP && !job->database_name && !job->paths)
        fail(ps, ps->section_line, "job '%s': task backup needs 'database', 'paths' or both",
             job->name, NULL);
    if (!ps->failed && job->exclude && !job->paths)
        fail(ps, ps->section_line, "job '%s': exclude needs paths", job->name, NULL);
    if (!ps->failed && job->kind == TASK_BACKUP && job->paths) {
        int line = ps->section_line;
        for (size_t i = 0; i < sizeof config_keys / sizeof config_keys[0]; i++)
            if (config_keys[i].section == SECTION_JOB && strcmp(config_keys[i].name, "paths") == 0)
                line = ps->seen_line[i];
        size_t n = 0;
        char **paths = split_list(job->paths, &n);
        for (size_t i = 0; i < n && !ps->failed; i++) {
            /* Relative paths are relative to the config file's folder (resolved below). */
            char *as_absolute = paths[i][0] == '/' ? xstrdup(paths[i]) : xasprintf("/%s", paths[i]);
            const char *why = tree_walk_path_problem(as_absolute);
            free(as_absolute);
            char msg[1200];
            snprintf(msg, sizeof msg, "path '%s' %s", paths[i], why ? why : "");
            if (why)
                fail(ps, line, "job '%s': %s", job->name, msg);
        }
        free_list(paths, n);
    }
    if (!ps->failed && (job->files_column != NULL) != (job->files_root != NULL))
        fail(ps, ps->section_line, "job '%s': files_column and files_root go together", job->name,
             NULL);
    if (!ps->failed && job->kind == TASK_UPDATE && !job->where && !job->age_column)
        fail(ps, ps->section_line,
             "job '%s': task update needs 'where' or 'age_column' with 'older_than'", job->name,
             NULL);
    if (!ps->failed && job->kind != TASK_CLEAN &&
        (job->age_column != NULL) != age_is_set(&job->older_than))
        fail(ps, ps->section_line, "job '%s': age_column and older_than go together", job->name,
             NULL);
    if (!ps->failed && job->kind == TASK_CLEAN) {
        if (job->action && strcmp(job->action, "move") == 0 && !job->move_to)
            fail(ps, ps->section_line, "job '%s': action = move needs move_to", job->name, NULL);
        else if (job->unreferenced_by && !job->database_name)
            fail(ps, ps->section_line, "job '%s': unreferenced_by needs database", job->name, NULL);
        else if (job->unreferenced_by && !age_is_set(&job->older_than))
            fail(ps, ps->section_line,
                 "job '%s': unreferenced_by needs older_than (a grace period, so files being "
                 "uploaded are never touched)",
                 job->name, NULL);
        else if (job->unreferenced_by) {
            const char *dot = strchr(job->unreferenced_by, '.');
            char table[128] = "";
            if (dot && (size_t)(dot - job->unreferenced_by) < sizeof table)
                memcpy(table, job->unreferenced_by, (size_t)(dot - job->unreferenced_by));
            if (!dot || !is_sql_identifier(table) || !is_sql_identifier(dot + 1))
                fail(ps, ps->section_line, "unreferenced_by: expected TABLE.COLUMN, got '%s'",
                     job->unreferenced_by, NULL);
        }
    }
    if (!ps->failed && job->kind == TASK_EXPORT && (job->query != NULL) == (job->tables != NULL))
        fail(ps, ps->section_line, "job '%s': export takes a query or tables, one of them",
             job->name, NULL);
    if (!ps->failed && job->kind == TASK_EXPORT && job->tables && strchr(job->tables, ',') &&
        !strstr(job->output, "{table}"))
        fail(ps, ps->section_line,
             "job '%s': an export of several tables needs {table} in its output, one file each",
             job->name, NULL);
    if (!ps->failed && job->rotate_create && job->rotate_mode &&
        strcmp(job->rotate_mode, "copytruncate") == 0)
        fail(ps, ps->section_line,
             "job '%s': create sets the new log's owner and mode, which copytruncate keeps "
             "(mode = create)",
             job->name, NULL);
    if (!ps->failed && job->batch_size > 100000)
        fail(ps, ps->section_line,
             "job '%s': batch_size is at most 100000 (one batch holds the database for all "
             "its rows)",
             job->name, NULL);
    if (!ps->failed && job->files_move_to && !job->files_root)
        fail(ps, ps->section_line, "job '%s': files_move_to needs files_column and files_root",
             job->name, NULL);
}

static void finish_section(ParseState *ps)
{
    if (!ps->in_section || ps->failed)
        return;
    if (ps->kind == SECTION_JOB)
        check_job_keys(ps);
    for (size_t i = 0; i < sizeof config_keys / sizeof config_keys[0]; i++) {
        const ConfigKey *key = &config_keys[i];
        if (key->section != ps->kind || ps->seen[i])
            continue;
        if (key->required) {
            fail(ps, ps->section_line, "[%s] is missing the required key '%s'",
                 section_names[ps->kind], key->name);
            return;
        }
        if (key->default_value && store_value(ps, key, key->default_value) != 0)
            return;
    }
    memset(ps->seen, 0, sizeof ps->seen);
    ps->in_section = false;
}

#define APPEND(array, count, item)                                                                 \
    do {                                                                                           \
        (array) = xrealloc((array), ((count) + 1) * sizeof *(array));                              \
        (array)[(count)++] = (item);                                                               \
    } while (0)

static int begin_section(ParseState *ps, const char *header)
{
    finish_section(ps);
    if (ps->failed)
        return 0;
    Config *c = ps->config;
    char kind_name[32] = "";
    const char *name = "";
    const char *space = strchr(header, ' ');
    size_t kind_len = space ? (size_t)(space - header) : strlen(header);
    if (kind_len < sizeof kind_name) {
        memcpy(kind_name, header, kind_len);
        kind_name[kind_len] = '\0';
    }
    if (space) {
        name = space + 1;
        while (*name == ' ')
            name++;
    }
    int kind = -1;
    for (int i = 0; i < (int)(sizeof section_names / sizeof section_names[0]); i++)
        if (strcmp(kind_name, section_names[i]) == 0)
            kind = i;
    if (kind < 0) {
        fail(ps, ps->line,
             "unknown section [%s] (expected [upkeep], [database NAME], [repository NAME], "
             "[job NAME] or [alert NAME])",
             header, NULL);
        return 0;
    }
    ps->kind = (SectionKind)kind;
    ps->section_line = ps->line;
    ps->in_section = true;
    if (kind == SECTION_UPKEEP) {
        if (*name) {
            fail(ps, ps->line, "section [upkeep] takes no name", NULL, NULL);
            return 0;
        }
        if (ps->upkeep_line) {
            char first[32];
            snprintf(first, sizeof first, "%d", ps->upkeep_line);
            fail(ps, ps->line, "duplicate section [upkeep] (first at line %s)", first, NULL);
            return 0;
        }
        ps->upkeep_line = ps->line;
        ps->target = c;
        return 1;
    }
    if (!is_valid_name(name)) {
        fail(ps, ps->line,
             *name ? "invalid %s name '%s' (letters, digits, '-', '_' and '.' only)"
                   : "section [%s] needs a name, e.g. [%s main]",
             kind_name, *name ? name : kind_name);
        return 0;
    }
    int prev_line = 0;
    if (kind == SECTION_DATABASE && config_find_database(c, name))
        prev_line = config_find_database(c, name)->line;
    if (kind == SECTION_REPOSITORY && config_find_repository(c, name))
        prev_line = config_find_repository(c, name)->line;
    if (kind == SECTION_JOB && config_find_job(c, name))
        prev_line = config_find_job(c, name)->line;
    for (size_t i = 0; kind == SECTION_ALERT && i < c->n_alerts; i++)
        if (strcmp(c->alerts[i]->name, name) == 0)
            prev_line = c->alerts[i]->line;
    if (prev_line) {
        char where[32];
        snprintf(where, sizeof where, "%d", prev_line);
        char msg[200];
        snprintf(msg, sizeof msg, "duplicate %s '%s' (first defined at line %s)", kind_name, name,
                 where);
        fail(ps, ps->line, "%s%s", msg, NULL);
        return 0;
    }
    if (kind == SECTION_DATABASE) {
        ConfigDatabase *d = xcalloc(1, sizeof *d);
        d->name = xstrdup(name);
        d->line = ps->line;
        APPEND(c->databases, c->n_databases, d);
        ps->target = d;
    } else if (kind == SECTION_REPOSITORY) {
        ConfigRepository *r = xcalloc(1, sizeof *r);
        r->name = xstrdup(name);
        r->line = ps->line;
        APPEND(c->repositories, c->n_repositories, r);
        ps->target = r;
    } else if (kind == SECTION_ALERT) {
        ConfigAlert *a = xcalloc(1, sizeof *a);
        a->name = xstrdup(name);
        a->line = ps->line;
        APPEND(c->alerts, c->n_alerts, a);
        ps->target = a;
    } else {
        ConfigJob *j = xcalloc(1, sizeof *j);
        j->name = xstrdup(name);
        j->line = ps->line;
        APPEND(c->jobs, c->n_jobs, j);
        ps->target = j;
    }
    return 1;
}

static int handle_key(void *user, const char *section, const char *name, const char *value)
{
    ParseState *ps = user;
    if (ps->failed)
        return 0;
    if (!name) /* inih announces a new section with name == NULL (INI_CALL_HANDLER_ON_NEW_SECTION)
                */
        return 1;
    if (!ps->in_section) {
        fail(ps, ps->line, "key '%s' outside of any section", name, NULL);
        return 0;
    }
    (void)section;
    const ConfigKey *key = find_key(ps->kind, name);
    if (!key) {
        fail(ps, ps->line, "unknown key '%s' in [%s]", name, section_names[ps->kind]);
        return 0;
    }
    size_t idx = (size_t)(key - config_keys);
    if (ps->seen[idx]) {
        char msg[200];
        snprintf(msg, sizeof msg, "duplicate key '%s' (first set at line %d)", name,
                 ps->seen_line[idx]);
        fail(ps, ps->line, "%s%s", msg, NULL);
        return 0;
    }
    ps->seen[idx] = 1;
    ps->seen_line[idx] = ps->line;
    if (ps->kind == SECTION_UPKEEP)
        ps->key_line[idx] = ps->line;
    if (ps->long_value && strcmp(value, LONG_VALUE_MARKER) == 0)
        value = ps->long_value;
    if (!*value) {
        fail(ps, ps->line, "key '%s' has no value", name, NULL);
        return 0;
    }
    char *expanded = NULL, why[300];
    int rc = env_expand(value, &expanded, why, sizeof why);
    if (rc < 0) {
        fail(ps, ps->line, "%s: %s", name, why);
        return 0;
    }
    if (rc > 0) {
        Config *c = ps->config;
        c->expansions = xrealloc(c->expansions, (c->n_expansions + 1) * sizeof *c->expansions);
        c->expansions[c->n_expansions++] = (ConfigExpansion){
            .line = ps->line,
            .key = xstrdup(name),
            .written = xstrdup(value),
            .used = shown_value(key, expanded),
            .secret = key->secret != SECRET_NONE,
        };
        value = expanded;
    }
    if (!*value)
        fail(ps, ps->line, "key '%s' is empty once its variables are expanded", name, NULL);
    else
        rc = store_value(ps, key, value);
    free(expanded);
    return !ps->failed && rc == 0;
}

/* inih reports sections only through the handler's section argument, so section changes
 * are detected by wrapping the reader: a line starting with '[' begins a new section. */
static char *section_aware_reader(char *buf, int size, void *stream)
{
    ParseState *ps = stream;
    char *s = ini_read_line(buf, size, stream);
    if (!s || ps->failed)
        return s;
    const char *p = s;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '[') {
        const char *end = strchr(p, ']');
        if (!end) {
            fail(ps, ps->line, "section header without a closing ']'", NULL, NULL);
            return s;
        }
        char header[256];
        size_t len = (size_t)(end - p - 1);
        if (len >= sizeof header)
            len = sizeof header - 1;
        memcpy(header, p + 1, len);
        header[len] = '\0';
        begin_section(ps, header);
    }
    return s;
}

static int resolve_url(ParseState *ps, const char *scheme, const char *url, int line, char **path)
{
    size_t n = strlen(scheme);
    if (strncmp(url, scheme, n) != 0 || strncmp(url + n, "://", 3) != 0 || !url[n + 3]) {
        char *shown = redact_url(url, true);
        fail(ps, line, "unsupported url '%s' (expected %s:///absolute/path)", shown, scheme);
        free(shown);
        return -1;
    }
    *path = path_join(ps->config->dir, url + n + 3);
    return 0;
}

static void validate(ParseState *ps)
{
    Config *c = ps->config;
    for (size_t i = 0; i < c->n_databases && !ps->failed; i++) {
        ConfigDatabase *d = c->databases[i];
        UkError derr = {0};
        if (db_configure(d, c->dir, &derr) != 0) {
            fail(ps, d->line, "database '%s': %s", d->name, derr.msg);
            break;
        }
        if (d->verify_cluster && !db_has_feature(d->driver, DB_FEAT_RESTORE_SERVER)) {
            fail(ps, d->line,
                 "database '%s': verify_cluster is for servers (%s backups are "
                 "verified by rebuilding the file)",
                 d->name, d->driver);
            break;
        }
    }
    for (size_t i = 0; i < c->n_repositories && !ps->failed; i++) {
        ConfigRepository *r = c->repositories[i];
        UkError serr = {0};
        if (storage_configure(r, c->dir, &serr) != 0) {
            fail(ps, r->line, "%s", serr.msg, NULL);
            break;
        }
        if (strcmp(r->compression, "none") == 0)
            r->compression_level = 0;
        else if (strcmp(r->compression, "zstd") == 0)
            r->compression_level = 3;
        else
            r->compression_level = atoi(r->compression + 5);
    }
    for (size_t i = 0; i < c->n_jobs && !ps->failed; i++) {
        ConfigJob *j = c->jobs[i];
        if (j->kind == TASK_BACKUP && j->paths)
            resolve_backup_paths(c, j);
        j->database = config_find_database(c, j->database_name);
        if (!j->database && j->database_name) {
            fail(ps, j->line, "job '%s': no [database %s] section", j->name, j->database_name);
            break;
        }
        bool row_task = j->kind != TASK_BACKUP && j->kind != TASK_DISK && j->kind != TASK_ROTATE &&
                        j->kind != TASK_VERIFY;
        bool server_vacuum = (j->kind == TASK_VACUUM || j->kind == TASK_INTEGRITY) && j->database &&
                             db_has_feature(j->database->driver, DB_FEAT_MAINTENANCE);
        if (server_vacuum && strcmp(j->vacuum, "incremental") == 0) {
            fail(ps, j->line,
                 "job '%s': vacuum = incremental is for SQLite files (%s runs "
                 "VACUUM without blocking: vacuum = full)",
                 j->name, j->database->driver);
            break;
        }
        if (j->database && row_task && !server_vacuum &&
            !db_has_feature(j->database->driver, DB_FEAT_ROW_TASKS)) {
            char *what = xasprintf("task '%s' is not available for %s databases yet",
                                   task_names[j->kind], j->database->driver);
            fail(ps, j->line, "job '%s': %s", j->name, what);
            free(what);
            break;
        }
        if (j->database && j->table_schema &&
            !db_has_feature(j->database->driver, DB_FEAT_SCHEMAS)) {
            fail(ps, j->line, "job '%s': table = SCHEMA.TABLE is for servers (%s has no schemas)",
                 j->name, j->database->driver);
            break;
        }
        if (j->kind == TASK_ARCHIVE) {
            const char *scheme = strncmp(j->archive_to, "jsonl://", 8) == 0 ? "jsonl"
                                 : strncmp(j->archive_to, "csv://", 6) == 0 ? "csv"
                                 : strncmp(j->archive_to, "table:", 6) == 0 ? "table"
                                                                            : "sqlite";
            j->archive_format = xstrdup(scheme);
            bool in_database = strcmp(scheme, "table") == 0;
            /* jsonl:// and csv:// go through a staging database beside the files: every
             * engine with row tasks has them. */
            int needs = in_database                     ? DB_FEAT_ARCHIVE_TABLE
                        : strcmp(scheme, "sqlite") == 0 ? DB_FEAT_ARCHIVE_SQLITE
                                                        : 0;
            if (needs && !db_has_feature(j->database->driver, needs)) {
                fail(ps, j->line,
                     in_database ? "job '%s': archive_to = table:NAME is for servers; a %s "
                                   "database archives to sqlite://, jsonl:// or csv://"
                                 : "job '%s': a %s database archives to a table of its own "
                                   "(archive_to = table:SCHEMA.TABLE) or to files (jsonl://, "
                                   "csv://)",
                     j->name, j->database->driver);
                break;
            }
            if (in_database) {
                const char *name = j->archive_to + 6;
                const char *dot = strchr(name, '.');
                char *schema = dot ? xasprintf("%.*s", (int)(dot - name), name) : NULL;
                bool valid = dot ? is_sql_identifier(schema) && is_sql_identifier(dot + 1)
                                 : is_sql_identifier(name);
                free(schema);
                if (!valid) {
                    fail(ps, j->line,
                         "archive_to: expected table:SCHEMA.TABLE or table:TABLE, got '%s'",
                         j->archive_to, NULL);
                    break;
                }
                j->archive_table = xstrdup(name);
                if (j->archive_database_name) {
                    j->archive_database = config_find_database(c, j->archive_database_name);
                    if (!j->archive_database) {
                        fail(ps, j->line, "job '%s': archive_database: no [database %s] section",
                             j->name, j->archive_database_name);
                        break;
                    }
                    if (strcmp(j->archive_database->driver, j->database->driver) != 0) {
                        char *what = xasprintf("archive_database '%s' is a %s database; the "
                                               "job's is %s",
                                               j->archive_database_name,
                                               j->archive_database->driver, j->database->driver);
                        fail(ps, j->line, "job '%s': %s", j->name, what);
                        free(what);
                        break;
                    }
                    if (j->archive_database == j->database)
                        j->archive_database = NULL; /* the same database after all */
                }
                continue;
            }
            if (j->archive_database_name) {
                fail(ps, j->line, "job '%s': archive_database is for archive_to = table:NAME",
                     j->name, NULL);
                break;
            }
            if (strcmp(scheme, "sqlite") == 0) {
                if (resolve_url(ps, "sqlite", j->archive_to, j->line, &j->archive_path) != 0)
                    break;
            } else {
                if (resolve_url(ps, scheme, j->archive_to, j->line, &j->archive_dir) != 0)
                    break;
                /* Rows pass through a staging database beside the files (see rows.c). */
                j->archive_path = xasprintf("%s/.upkeep-staging.db", j->archive_dir);
            }
            if (j->database->path && strcmp(j->archive_path, j->database->path) == 0) {
                fail(ps, j->line, "job '%s': archive_to is the database itself", j->name, NULL);
                break;
            }
        }
        if (j->kind != TASK_BACKUP && !(j->kind == TASK_VERIFY && j->repository_name))
            continue;
        char *names = xstrdup(j->repository_name);
        for (char *save = NULL, *name = strtok_r(names, ",", &save); name && !ps->failed;
             name = strtok_r(NULL, ",", &save)) {
            while (*name == ' ' || *name == '\t')
                name++;
            size_t len = strlen(name);
            while (len > 0 && (name[len - 1] == ' ' || name[len - 1] == '\t'))
                name[--len] = '\0';
            ConfigRepository *r = config_find_repository(c, name);
            bool twice = r == j->repository;
            for (size_t k = 0; k < j->n_copy_to && !twice; k++)
                twice = j->copy_to[k] == r;
            if (!r) {
                fail(ps, j->line, "job '%s': no [repository %s] section", j->name, name);
            } else if (twice) {
                fail(ps, j->line, "job '%s': repository '%s' is named twice", j->name, name);
            } else if (!j->repository) {
                j->repository = r;
            } else {
                j->copy_to = xrealloc(j->copy_to, (j->n_copy_to + 1) * sizeof *j->copy_to);
                j->copy_to[j->n_copy_to++] = r;
            }
        }
        free(names);
        if (!ps->failed && !j->repository)
            fail(ps, j->line, "job '%s': repository names no section", j->name, NULL);
        if (ps->failed)
            break;
    }
    for (size_t i = 0; i < c->n_databases && !ps->failed; i++) {
        ConfigDatabase *d = c->databases[i];
        if (d->on_critical && !config_find_job(c, d->on_critical))
            fail(ps, d->line, "on_critical: no [job %s]", d->on_critical, NULL);
        else if (d->on_maximum && !config_find_job(c, d->on_maximum))
            fail(ps, d->line, "on_maximum: no [job %s]", d->on_maximum, NULL);
        else if ((d->on_maximum || d->on_maximum_command) && !d->size_maximum)
            fail(ps, d->line, "database '%s': on_maximum needs size_maximum", d->name, NULL);
        else if (d->size_maximum && d->size_critical && d->size_critical > d->size_maximum)
            fail(ps, d->line, "database '%s': size_critical is above size_maximum", d->name, NULL);
        if (d->size_warning && d->size_critical && d->size_warning > d->size_critical)
            fail(ps, d->line, "database '%s': size_warning is above size_critical", d->name, NULL);
    }
    for (size_t i = 0; i < c->n_alerts && !ps->failed; i++) {
        ConfigAlert *a = c->alerts[i];
        if (!a->webhook && !a->email && !a->command && !a->heartbeat)
            fail(ps, a->line, "alert '%s': give webhook, email, command or heartbeat", a->name,
                 NULL);
        else if (a->email && !a->smtp)
            fail(ps, a->line, "alert '%s': email needs smtp = smtp://host:port", a->name, NULL);
        else if (a->quiet_hours && !config_quiet_hours(a->quiet_hours, NULL, NULL))
            fail(ps, a->line, "quiet_hours: expected HH:MM-HH:MM, got '%s'", a->quiet_hours, NULL);
        char events[256];
        snprintf(events, sizeof events, "%s", a->on);
        char *save_event = NULL;
        for (char *e = strtok_r(events, ", ", &save_event); e && !ps->failed;
             e = strtok_r(NULL, ", ", &save_event))
            if (!is_choice("failure|recovery|warning|critical|missed", e))
                fail(ps, a->line,
                     "on: unknown event '%s' (failure, recovery, warning, critical, missed)", e,
                     NULL);
        char list[1024];
        snprintf(list, sizeof list, "%s", a->jobs ? a->jobs : "");
        char *save = NULL;
        for (char *j = strtok_r(list, ", ", &save); j && !ps->failed;
             j = strtok_r(NULL, ", ", &save))
            if (!config_find_job(c, j))
                fail(ps, a->line, "alert '%s': no [job %s]", a->name, j);
    }
    if (!ps->failed && c->on_critical && !config_find_job(c, c->on_critical)) {
        int idx = (int)(find_key(SECTION_UPKEEP, "on_critical") - config_keys);
        fail(ps, ps->key_line[idx], "on_critical: no [job %s]", c->on_critical, NULL);
    }
    if (!ps->failed && web_enabled(c->listen)) {
        UkError lerr = {0};
        bool loopback = true;
        web_parse_listen(c->listen, &loopback, &lerr);
        if (!loopback && !(c->token && *c->token)) {
            int idx = (int)(find_key(SECTION_UPKEEP, "listen") - config_keys);
            fail(ps, ps->key_line[idx],
                 "listen = %s is reachable from other machines: set token = ... (clients then "
                 "send Authorization: Bearer TOKEN), or listen on 127.0.0.1",
                 c->listen, NULL);
        }
    }
}

const char *config_default_path(const char *explicit_path)
{
    if (explicit_path)
        return explicit_path;
    const char *env = getenv("UPKEEP_CONFIG");
    if (env && *env)
        return env;
    if (path_exists("upkeep.conf"))
        return "upkeep.conf";
    return "/etc/upkeep/upkeep.conf";
}

int config_load(const char *path, Config **out, UkError *err)
{
    *out = NULL;
    FILE *f = fopen(path, "r");
    if (!f)
        return uk_error_set(err, errno == ENOENT ? UK_E_CONFIG : UK_E_IO, errno,
                            "unable to open config file '%s'", path);
    Config *c = xcalloc(1, sizeof *c);
    c->path = xstrdup(path);
    c->dir = path_dirname(path);
    ParseState ps = {.config = c, .path = path, .file = f, .err = err};
    /* [upkeep] defaults apply even when the section is absent. */
    ps.kind = SECTION_UPKEEP;
    ps.target = c;
    ps.in_section = true;
    finish_section(&ps);
    int rc = ini_parse_stream(section_aware_reader, &ps, handle_key, &ps);
    fclose(f);
    free(ps.raw);
    free(ps.long_value);
    if (!ps.failed && rc > 0)
        fail(&ps, rc, "syntax error (expected 'key = value' or '[section]')", NULL, NULL);
    finish_section(&ps);
    if (!ps.failed) {
        char *state = path_join(c->dir, c->state);
        free(c->state);
        c->state = state;
        validate(&ps);
    }
    if (ps.failed) {
        /* Messages about the file as a whole carry no line number. */
        char *zero = xasprintf("%s:0: ", path);
        if (strncmp(err->msg, zero, strlen(zero)) == 0) {
            char rest[sizeof err->msg];
            snprintf(rest, sizeof rest, "%s", err->msg + strlen(zero));
            snprintf(err->msg, sizeof err->msg, "%s: %s", path, rest);
        }
        free(zero);
        config_free(c);
        return -1;
    }
    *out = c;
    return 0;
}

static void free_strings_of(SectionKind kind, void *target)
{
    for (size_t i = 0; i < sizeof config_keys / sizeof config_keys[0]; i++)
        if (config_keys[i].section == kind && is_string_type(config_keys[i].type))
            free(*(char **)((char *)target + config_keys[i].offset));
}

void config_free(Config *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_databases; i++) {
        free_strings_of(SECTION_DATABASE, c->databases[i]);
        free(c->databases[i]->name);
        free(c->databases[i]->driver);
        free(c->databases[i]->path);
        free(c->databases[i]);
    }
    for (size_t i = 0; i < c->n_repositories; i++) {
        free_strings_of(SECTION_REPOSITORY, c->repositories[i]);
        free(c->repositories[i]->name);
        free(c->repositories[i]->path);
        free(c->repositories[i]);
    }
    for (size_t i = 0; i < c->n_jobs; i++) {
        free_strings_of(SECTION_JOB, c->jobs[i]);
        free(c->jobs[i]->archive_path);
        free(c->jobs[i]->table_schema);
        free(c->jobs[i]->archive_table);
        free(c->jobs[i]->archive_dir);
        free(c->jobs[i]->archive_format);
        free(c->jobs[i]->copy_to);
        free(c->jobs[i]->name);
        free(c->jobs[i]);
    }
    for (size_t i = 0; i < c->n_alerts; i++) {
        free_strings_of(SECTION_ALERT, c->alerts[i]);
        free(c->alerts[i]->name);
        free(c->alerts[i]);
    }
    free(c->alerts);
    for (size_t i = 0; i < c->n_expansions; i++) {
        free(c->expansions[i].key);
        free(c->expansions[i].written);
        free(c->expansions[i].used);
    }
    free(c->expansions);
    free_strings_of(SECTION_UPKEEP, c);
    free(c->databases);
    free(c->repositories);
    free(c->jobs);
    free(c->path);
    free(c->dir);
    free(c);
}

ConfigDatabase *config_find_database(const Config *c, const char *name)
{
    for (size_t i = 0; name && i < c->n_databases; i++)
        if (strcmp(c->databases[i]->name, name) == 0)
            return c->databases[i];
    return NULL;
}

ConfigRepository *config_find_repository(const Config *c, const char *name)
{
    for (size_t i = 0; name && i < c->n_repositories; i++)
        if (strcmp(c->repositories[i]->name, name) == 0)
            return c->repositories[i];
    return NULL;
}

ConfigJob *config_find_job(const Config *c, const char *name)
{
    for (size_t i = 0; name && i < c->n_jobs; i++)
        if (strcmp(c->jobs[i]->name, name) == 0)
            return c->jobs[i];
    return NULL;
}

static const char *type_name(KeyType t)
{
    switch (t) {
    case KEY_STRING: return "text";
    case KEY_DURATION: return "duration";
    case KEY_AGE: return "age";
    case KEY_MILLIS: return "duration";
    case KEY_IDENT: return "name";
    case KEY_CHOICE: return "choice";
    case KEY_PATH: return "path";
    case KEY_BOOL: return "yes|no";
    case KEY_COUNT: return "count";
    case KEY_COMPRESSION: return "compression";
    case KEY_SIZE: return "size";
    case KEY_FREE: return "size|percent";
    case KEY_SCHEDULE: return "schedule";
    case KEY_ZONE: return "zone";
    }
    return "?";
}

/* scdoc gives '*' and '_' meaning; escape them in generated text. */
static void print_scdoc_escaped(FILE *out, const char *text)
{
    for (const char *p = text; *p; p++) {
        if (*p == '*' || *p == '_' || *p == '\\')
            fputc('\\', out);
        fputc(*p, out);
    }
}

/* "purge, archive, update" for a job key's task mask ("" for keys of every task). */
static void tasks_of(unsigned mask, char *buf, size_t len)
{
    buf[0] = '\0';
    if (mask == FOR_ALL || mask == 0)
        return;
    for (size_t i = 0; i < N_TASKS; i++)
        if (mask & (1u << i))
            snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", buf[0] ? ", " : "",
                     task_names[i]);
}

static const char *secrecy_note(Secrecy secret)
{
    switch (secret) {
    case SECRET_VALUE: return " [secret: never shown]";
    case SECRET_URL: return " [its password is never shown]";
    case SECRET_ENDPOINT: return " [shown as its host only]";
    case SECRET_NONE: break;
    }
    return "";
}

void config_print_keys(FILE *out, const char *format)
{
    bool scdoc = format && strcmp(format, "scdoc") == 0;
    int last = -1;
    for (size_t i = 0; i < sizeof config_keys / sizeof config_keys[0]; i++) {
        const ConfigKey *k = &config_keys[i];
        if ((int)k->section != last) {
            last = (int)k->section;
            if (scdoc)
                fprintf(out, "\n## [%s%s]\n\n", section_names[last], last ? " NAME" : "");
            else
                fprintf(out, "%s[%s%s]\n", last ? "\n" : "", section_names[last],
                        last ? " NAME" : "");
        }
        if (scdoc) {
            fputc('*', out);
            print_scdoc_escaped(out, k->name);
            fprintf(out, "* = _%s_%s", type_name(k->type), k->required ? " (required)" : "");
            if (k->default_value) {
                fputs(" (default: ", out);
                print_scdoc_escaped(out, k->default_value);
                fputc(')', out);
            }
            fputs("\n\t", out);
            print_scdoc_escaped(out, k->help);
            char tasks[128];
            tasks_of(k->section == SECTION_JOB ? k->tasks : 0, tasks, sizeof tasks);
            if (tasks[0])
                fprintf(out, ". Tasks: %s", tasks);
            if (k->secret != SECRET_NONE)
                fprintf(out, ".%s", secrecy_note(k->secret));
            fputs(".\n\n", out);
        } else {
            char tasks[128];
            tasks_of(k->section == SECTION_JOB ? k->tasks : 0, tasks, sizeof tasks);
            fprintf(out, "  %-18s %-11s %s%s%s%s%s%s%s%s%s\n", k->name, type_name(k->type), k->help,
                    k->required ? " [required]" : "", k->default_value ? " [default: " : "",
                    k->default_value ? k->default_value : "", k->default_value ? "]" : "",
                    tasks[0] ? " [tasks: " : "", tasks, tasks[0] ? "]" : "",
                    secrecy_note(k->secret));
        }
    }
}

bool config_quiet_hours(const char *text, int *start_minute, int *end_minute)
{
    int h1, m1, h2, m2;
    char extra;
    if (!text || sscanf(text, "%d:%d-%d:%d%c", &h1, &m1, &h2, &m2, &extra) != 4 || h1 < 0 ||
        h1 > 23 || h2 < 0 || h2 > 23 || m1 < 0 || m1 > 59 || m2 < 0 || m2 > 59)
        return false;
    if (start_minute)
        *start_minute = h1 * 60 + m1;
    if (end_minute)
        *end_minute = h2 * 60 + m2;
    return true;
}

bool config_env_requirement_holds(const char *require_env)
{
    if (!require_env || !*require_env)
        return true;
    const char *eq = strchr(require_env, '=');
    if (!eq)
        return false;
    char name[128];
    size_t n = (size_t)(eq - require_env);
    if (n >= sizeof name)
        return false;
    memcpy(name, require_env, n);
    name[n] = '\0';
    const char *value = getenv(name);
    return value && strcmp(value, eq + 1) == 0;
}
