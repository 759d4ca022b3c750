/* The configuration: an INI file with [upkeep], [database NAME], [repository NAME] and
 * [job NAME] sections. Every key is declared once in config.c's key table (section, name,
 * type, default, help); parsing, validation, `upkeep check --keys` and the upkeep.conf(5)
 * reference all read that table, so they cannot drift apart.
 *
 * Errors carry "FILE:LINE: message" so a user can jump straight to the bad line. */
#ifndef UK_CONFIG_H
#define UK_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "core/error.h"

/* A free-space threshold: a size ("10GB") or a share of the filesystem ("10%"). */
/* An age limit: SECONDS, or calendar MONTHS ("6mo", "1y") counted back on the calendar. */
typedef struct Age {
    int64_t seconds;
    int months;
} Age;

/* The moment AGE before NOW; months are calendar months in UTC, a day past the end of the
 * shorter month (31 March less one month) clamped to its last day. */
time_t age_cutoff(const Age *age, time_t now);
static inline bool age_is_set(const Age *age)
{
    return age->seconds != 0 || age->months != 0;
}

typedef struct FreeThreshold {
    bool set;
    bool percent;
    double value; /* bytes or percent */
} FreeThreshold;

typedef struct ConfigDatabase {
    char *name;
    int line;
    char *url;
    char *driver;        /* the driver's name: "sqlite", "postgresql" */
    char *path;          /* files (SQLite): resolved against the config file's directory */
    char *password_file; /* servers: a file holding the password (first line) */
    /* health */
    uint64_t size_warning, size_critical;                      /* bytes; 0: no threshold */
    char *count_tables;                                        /* comma-separated */
    int64_t backup_max_age, verify_max_age, integrity_max_age; /* seconds; 0: none */
    int slow_query_warning;   /* ms: health warns when a statement's mean time is above */
    bool verify_cluster;      /* servers: verify in a throwaway cluster upkeep starts itself */
    bool lock_non_innodb;     /* MariaDB: dump non-InnoDB tables with locks instead of refusing */
    char *on_critical;        /* job to run */
    uint64_t size_maximum;    /* bytes; 0: none. Past it on_maximum / on_maximum_command run */
    char *count_by;           /* TABLE.COLUMN, ...: rows per value in health and metrics */
    char *on_maximum;         /* job */
    char *on_maximum_command; /* argv words, no shell */
} ConfigDatabase;

typedef struct RetentionPolicy {
    int keep_last, keep_hourly, keep_daily, keep_weekly, keep_monthly, keep_yearly;
    int64_t keep_within; /* seconds, 0 = unset */
    char *keep_tag;      /* comma-separated tags, NULL = unset */
} RetentionPolicy;

typedef struct ConfigRepository {
    char *name;
    int line;
    char *url;
    char *path;            /* file:// repositories */
    char *compression;     /* "zstd:3" or "none" */
    int compression_level; /* 0 = store uncompressed */
    RetentionPolicy retention;
    int64_t prune_grace;   /* seconds an unneeded pack stays marked before prune deletes it */
    char *encryption;      /* none, aes-256 or public-key (for a new repository) */
    char *key_file;        /* 32 random bytes that open a key of the repository */
    char *passphrase_file; /* or a passphrase (else UPKEEP_PASSPHRASE) */
    /* s3:// repositories (repo/storage/s3/) */
    char *endpoint;          /* http(s)://host[:port]; NULL: AWS's for the region */
    char *region;            /* NULL: AWS_REGION, AWS_DEFAULT_REGION, us-east-1 */
    char *bucket_lookup;     /* auto, path or dns */
    char *access_key_id;     /* NULL: from the environment or the credentials file */
    char *secret_access_key; /* secret */
    char *session_token;     /* secret */
    char *profile;           /* of the shared credentials file */
    int64_t retry_for;       /* seconds a request is tried again for */
    bool conditional_writes; /* the server honours If-None-Match: * */
} ConfigRepository;

typedef enum {
    TASK_BACKUP,
    TASK_PURGE,
    TASK_VACUUM,
    TASK_INTEGRITY,
    TASK_UPDATE,
    TASK_ARCHIVE,
    TASK_SQL,
    TASK_CLEAN,
    TASK_DISK,
    TASK_ROTATE,
    TASK_VERIFY,
    TASK_REPORT,
    TASK_EXPORT
} TaskKind;

typedef struct ConfigJob {
    char *name;
    int line;
    char *task;
    TaskKind kind;
    char *database_name;
    char *repository_name;
    char *schedule;
    char *timezone;          /* NULL: the [upkeep] timezone */
    bool catch_up;           /* run a missed scheduled run once when the daemon starts */
    int64_t catch_up_window; /* seconds */
    int64_t jitter;          /* seconds of random delay before a scheduled run */
    int64_t timeout;         /* seconds; 0: none */
    int retries;
    int64_t retry_delay; /* seconds before the first retry, doubling */
    char *require_env;   /* NULL: the [upkeep] require_env */
    bool verify;
    bool cluster_lock; /* server engines: one host at a time runs the job */
    bool enabled;      /* no: run only by hand, with --force */
    char *tag;
    /* purge */
    char *table;
    char *table_schema; /* servers: the table's schema when given as SCHEMA.TABLE */
    char *age_column;
    Age older_than;
    char *where;            /* extra SQL condition (trusted config) */
    char *age_format;       /* auto, iso8601, unix, unix_ms, unix_us, unix_ns, julian */
    int transaction_budget; /* milliseconds per write transaction */
    int pause;              /* milliseconds between transactions */
    int batch_size;         /* rows per transaction; 0: sized by transaction_budget */
    bool cascade;           /* archive: accept unarchived ON DELETE CASCADE children */
    char *files_column;
    char *files_root; /* resolved against the config file's directory */
    /* update */
    char *set; /* SQL assignments (trusted config) */
    /* archive */
    char *archive_to;                 /* sqlite:// URL of the archive database */
    char *archive_path;               /* the archive database; for files, the staging database */
    char *archive_dir;                /* jsonl:// and csv:// archives: the folder the files go to */
    char *archive_format;             /* "sqlite", "jsonl", "csv" or "table" */
    char *archive_table;              /* table:NAME archives (servers): [SCHEMA.]TABLE */
    char *archive_database_name;      /* table:NAME in another [database] section's database */
    ConfigDatabase *archive_database; /* resolved; NULL: the job's own database */
    char *files_move_to;              /* archive moves files here instead of deleting them */
    /* sql */
    char *sql;
    /* vacuum */
    char *vacuum;         /* full, incremental, none */
    int min_free_percent; /* skip VACUUM below this share of free pages */
    bool analyze, optimize, reindex, checkpoint;
    /* integrity */
    char *checks; /* quick, full, foreign_keys */
    /* clean */
    char *path;  /* the folder */
    char *match; /* comma-separated globs */
    uint64_t larger_than;
    char *action; /* delete, move */
    char *move_to;
    bool remove_empty_dirs;
    char *unreferenced_by; /* TABLE.COLUMN */
    /* rotate */
    char *files; /* comma-separated globs */
    uint64_t size_trigger, min_size, max_size, max_total;
    int64_t interval; /* seconds between rotations of a log; 0: every run */
    int keep;
    int64_t max_age;
    char *naming, *date_format, *compress, *rotate_mode, *post_command;
    char *rotate_create; /* "0640 carapp carapp": the new log's mode, owner, group */
    /* report, export */
    char *query;  /* SQL whose rows go out (trusted config) */
    char *tables; /* export: comma-separated tables, instead of query */
    char *output; /* file path; {table} and {date} filled in */
    /* verify */
    char *verify_backups;   /* latest, all, subset N/T */
    int subset_n, subset_t; /* subset N/T; 0/0 otherwise */
    bool delay_compress, not_if_empty, missing_ok;
    /* disk (report_larger_than is larger_than) */
    char *paths;   /* disk: comma-separated, relative to the config file's folder; backup:
                      absolute files and folders */
    char *exclude; /* backup: comma-separated patterns (tree/tree_walk.h) */
    ConfigDatabase *database;     /* resolved references, owned by Config; NULL for clean
                                     without a database */
    ConfigRepository *repository; /* the first of `repository`: where backups go */
    /* The others: each backup is copied there once the first has it. */
    ConfigRepository **copy_to;
    size_t n_copy_to;
} ConfigJob;

typedef struct ConfigAlert {
    char *name;
    int line;
    char *on;   /* comma-separated events */
    char *jobs; /* comma-separated, NULL: all */
    char *webhook;
    char *email;
    char *smtp;
    char *smtp_from;
    char *smtp_credentials;
    char *command;
    char *heartbeat;
    int after;
    int64_t repeat;
    char *quiet_hours;
    int64_t timeout;
} ConfigAlert;

/* A value that named environment variables, as written and as used (secrets redacted). */
typedef struct ConfigExpansion {
    int line;
    char *key;
    char *written;
    char *used;
    bool secret; /* the key holds a secret: its variables are not written out by install */
} ConfigExpansion;

typedef struct Config {
    char *path;
    char *dir;
    char *state;
    char *timezone;
    char *require_env;
    char *log_file;
    int64_t shutdown_grace; /* seconds */
    char *disk_paths;       /* comma-separated, checked by health */
    FreeThreshold disk_free_warning, disk_free_critical;
    char *on_critical; /* job to run when a disk_free check turns critical */
    char *listen;      /* host:port of the daemon's HTTP endpoint; "" or "off": none */
    char *token;       /* bearer token required by the endpoint */
    char *metrics_textfile;
    int64_t health_interval; /* seconds between the daemon's health evaluations */
    ConfigDatabase **databases;
    size_t n_databases;
    ConfigRepository **repositories;
    size_t n_repositories;
    ConfigJob **jobs;
    size_t n_jobs;
    ConfigAlert **alerts;
    size_t n_alerts;
    ConfigExpansion *expansions;
    size_t n_expansions;
} Config;

/* Loads and validates path. On failure err->msg is "FILE:LINE: message" (or "FILE: message"). */
int config_load(const char *path, Config **out, UkError *err);
void config_free(Config *config);

/* Resolves the config path: explicit, else $UPKEEP_CONFIG, else ./upkeep.conf, else
 * /etc/upkeep/upkeep.conf. Returns a static or borrowed string. */
const char *config_default_path(const char *explicit_path);

ConfigDatabase *config_find_database(const Config *config, const char *name);
ConfigRepository *config_find_repository(const Config *config, const char *name);
ConfigJob *config_find_job(const Config *config, const char *name);

/* Writes the key reference: format "text" (for --keys) or "scdoc" (for upkeep.conf(5)). */
void config_print_keys(FILE *out, const char *format);

/* Reads quiet_hours "HH:MM-HH:MM" as minutes after midnight; false when malformed. */
bool config_quiet_hours(const char *text, int *start_minute, int *end_minute);

/* Does the environment satisfy require_env ("NAME=value")? NULL or "" always holds. */
bool config_env_requirement_holds(const char *require_env);

#endif
