#!/bin/bash
# Bad configs give FILE:LINE: message and exit 2, through the real binary.
source "$(dirname "$0")/lib.sh"
check_bad() { # check_bad EXPECTED_MESSAGE (config on stdin)
    cat > bad.conf
    expect_status 2 "$UPKEEP" -c bad.conf check
    [ "$ERR" = "upkeep: bad.conf:$1" ] || fail "expected 'upkeep: bad.conf:$1', got '$ERR'"
}
printf '[database app]\nurl = sqlite:///x.db\ncolour = blue\n' | check_bad "3: unknown key 'colour' in [database]"
printf '[repository r]\nurl = file:///r\nkeep_within = 6 months\n' |
    check_bad "3: keep_within: invalid duration '6 months' (expected a number with s, m, h, d or w, e.g. 180d)"
printf '[job j]\ntask = backup\ndatabase = app\nrepository = r\n' | check_bad "1: job 'j': no [database app] section"
printf '[database a]\nurl = sqlite:///x\n[database a]\nurl = sqlite:///y\n' |
    check_bad "3: duplicate database 'a' (first defined at line 1)"
printf '[database app]\nurl = sqlite:///x.db\n[job j]\ntask = purge\ndatabase = app\ntable = t\nage_column = at\nolder_than = 30d\nbatch_size = 2000000\n' |
    check_bad "3: job 'j': batch_size is at most 100000 (one batch holds the database for all its rows)"
# Out of range, refused at its line (these used to crash the run or the daemon).
printf '[database app]\nurl = sqlite:///x.db\n[job j]\ntask = purge\ndatabase = app\ntable = t\nage_column = at\nolder_than = 9223372036854775807s\n' |
    check_bad "8: older_than: duration '9223372036854775807s' is out of range (at most 100 years, 36500d)"
printf '[job j]\ntask = disk\npath = /\njitter = 2305843009213693952s\n' |
    check_bad "4: jitter: duration '2305843009213693952s' is out of range (at most 100 years, 36500d)"
printf '[database app]\nurl = sqlite:///x.db\nsize_warning = 2EiB\n' |
    check_bad "3: size_warning: invalid size '2EiB' (expected a number with B, KB, MB, GB, KiB, MiB or GiB)"
printf '[database app]\nurl = sqlite:///x.db\nsize_warning = 99999999TB\n' |
    check_bad "3: size_warning: size '99999999TB' is out of range (at most 1 EiB)"
# Sections, bytes and words that are refused at their line.
printf '[upkeep]\nstate = s.db\n[upkeep]\n' | check_bad "3: duplicate section [upkeep] (first at line 1)"
printf '[upkeep]\nstate = s\0.db\n' | check_bad "2: the line holds a NUL byte"
printf '[job j]\ntask = disk\npath = /\nschedule = @daily junk\n' |
    check_bad "4: schedule: '@daily junk': unexpected 'junk' after @daily"
printf '[database app]\nurl = sqlite:///x.db\n[job j]\ntask = integrity\ndatabase = app\nchecks = quick, fulll\n' |
    check_bad "6: checks: unknown check 'fulll' (expected quick, full, foreign_keys)"
printf '[upkeep]\nlisten = 127.0.0.1:99999\n' | check_bad "2: listen: port '99999' is not between 1 and 65535"
printf '[upkeep]\nstate = s.db\nlisten = 0.0.0.0:9187\n' |
    check_bad "3: listen = 0.0.0.0:9187 is reachable from other machines: set token = ... (clients then send Authorization: Bearer TOKEN), or listen on 127.0.0.1"
printf '[upkeep]\nstate = s.db\nrequire_env = FLASK_ENV\n' | check_bad "3: require_env: expected NAME=value, got 'FLASK_ENV'"
printf '[job j]\ntask = disk\npath = /\nrequire_env = =x\n' | check_bad "4: require_env: expected NAME=value, got '=x'"
pass "ranges, duplicate [upkeep], NUL bytes, shorthand junk, checks, listen and require_env at their line"
# Long lines: a comment or a value of any length up to 64 KiB is read whole; longer is an error.
long_comment="; $(head -c 500 /dev/zero | tr '\0' c)"
sql="UPDATE t SET v = 1 WHERE $(for i in $(seq 1 60); do printf 'id = %d OR ' "$i"; done)id = 0; DELETE FROM t WHERE id = 99"
printf '\xef\xbb\xbf[upkeep]\nstate = s.db\n%s\n[database app]\nurl = sqlite://app.db\n[job j]\ntask = sql\ndatabase = app\nsql = %s ; why\n' "$long_comment" "$sql" > long.conf
[ "${#sql}" -gt 400 ] || fail "the test statement is too short"
sqlite3 app.db "CREATE TABLE t(id INTEGER PRIMARY KEY, v INTEGER); INSERT INTO t VALUES (1, 0), (99, 0), (100, 0)"
expect_status 0 "$UPKEEP" -c long.conf run j
[ "$(sqlite3 app.db 'SELECT group_concat(id || ":" || v) FROM t')" = "1:1,100:0" ] ||
    fail "the long statement was not run whole: $(sqlite3 app.db 'SELECT * FROM t')"
{ printf '[upkeep]\nstate = s.db\n; '; head -c 70000 /dev/zero | tr '\0' c; printf '\n'; } | check_bad "3: line is longer than 65536 bytes"
pass "long lines are read whole, with a UTF-8 BOM; longer than 64 KiB is an error at its line"
# check also fails on what the run would fail on and can be known without running it.
sqlite3 pf.db "CREATE TABLE forms(id INTEGER PRIMARY KEY, deleted_at TEXT, file TEXT)"
pf() { printf '[database app]\nurl = sqlite://pf.db\n[job j]\ntask = purge\ndatabase = app\n%s\n' "$1" | check_bad "$2"; }
pf $'table = nosuch\nage_column = deleted_at\nolder_than = 1d' "3: job 'j': no table 'nosuch' in database 'app'"
pf $'table = forms\nage_column = gone_at\nolder_than = 1d' "3: job 'j': table 'forms' has no column 'gone_at'"
pf $'table = forms\nage_column = deleted_at\nolder_than = 1d\nfiles_column = attachment\nfiles_root = up' \
    "3: job 'j': table 'forms' has no column 'attachment'"
pf $'table = forms\nage_column = deleted_at\nolder_than = 1d\nfiles_column = file\nfiles_root = up' \
    "3: job 'j': files_root 'up' is not a folder"
ln -s pf.db alias.db
printf '[database app]\nurl = sqlite://pf.db\n[job j]\ntask = archive\ndatabase = app\ntable = forms\nage_column = deleted_at\nolder_than = 1d\narchive_to = sqlite://alias.db\n' |
    check_bad "3: job 'j': archive_to is the database itself ('alias.db')"
echo "u:p" > creds; chmod 644 creds
printf '[alert a]\nemail = x@example.com\nsmtp = smtp://127.0.0.1:25\nsmtp_credentials = creds\n' |
    check_bad "1: alert 'a': smtp_credentials 'creds' is readable by group or others (chmod 600)"
pass "check fails on missing tables, columns and folders, an archive that is the database, open secrets"
# Credentials in URLs never come back in a message.
printf '[database app]\nurl = oracle://app:hunter2@db.example/app\n' |
    check_bad "1: database 'app': unsupported url 'oracle://app:***@db.example/app' (expected sqlite://PATH, postgresql://HOST/DATABASE or mariadb://HOST/DATABASE)"
printf '[database app]\nurl = mariadb://app:hunter2@db.example/app\npassword_file = pw\n' |
    check_bad "1: database 'app': mariadb://app:***@db.example/app has a password and password_file: give one"
printf '[database app]\nurl = postgresql://app:hunter2@db.example/app\npassword_file = pw\n' |
    check_bad "1: database 'app': postgresql://app:***@db.example/app has a password and password_file: give one"
printf '[database app]\nurl = postgresql://app@db.example/app\n[job p]\ntask = archive\ndatabase = app\ntable = t\nage_column = d\nolder_than = 1d\narchive_to = sqlite:///tmp/a.db\n' |
    check_bad "3: job 'p': a postgresql database archives to a table of its own (archive_to = table:SCHEMA.TABLE) or to files (jsonl://, csv://)"
printf '[database app]\nurl = sqlite://app.db\nverify_cluster = yes\n' |
    check_bad "1: database 'app': verify_cluster is for servers (sqlite backups are verified by rebuilding the file)"
printf '[repository r]\nurl = ftp://backup:hunter2@host/x\n' |
    check_bad "1: unsupported url 'ftp://backup:***@host/x' (expected file:///absolute/path or s3://bucket/prefix)"
pass "credentials in URLs are redacted in messages"
# Values from the environment: an unset variable without a default names itself and the line;
# check shows what this environment made of each value.
printf '[database app]\nurl = sqlite://pf.db\n[job j]\ntask = purge\ndatabase = app\ntable = forms\nage_column = deleted_at\nolder_than = ${LOG_RETENTION_DAYS}d\n' |
    check_bad "8: older_than: environment variable LOG_RETENTION_DAYS is not set (give a default: \${LOG_RETENTION_DAYS:-VALUE})"
printf '[database app]\nurl = sqlite://pf.db\n[job j]\ntask = purge\ndatabase = app\ntable = forms\nage_column = deleted_at\nolder_than = ${LOG_RETENTION_DAYS:-90}d\n' > env.conf
expect_status 0 "$UPKEEP" -c env.conf check
expect_contains "$OUT" "line 8: older_than = 90d (written \${LOG_RETENTION_DAYS:-90}d)"
LOG_RETENTION_DAYS=30 expect_status 0 "$UPKEEP" -c env.conf --json check
expect_contains "$OUT" '"used": "30d"'
pass "values take \${NAME:-default} from the environment and check shows what it used"
expect_status 2 "$UPKEEP" -c missing.conf check
expect_contains "$ERR" "unable to open config file 'missing.conf': No such file or directory"
pass "config errors name file and line"
