#!/bin/bash
# Row tasks on a real MariaDB server: purge by primary key while a writer commits, with the
# files of purged rows; each age column type; giving way to rows the application holds
# locked (innodb_lock_wait_timeout); update; archive into a table of another database on the
# same server; archive to JSON Lines and CSV; keys that are not one integer column; sql
# jobs; clean's orphans; and the errors a user meets.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/../services/mariadb.sh"
my_up
now=$(date +%s)
# Row i is i days and an hour old: rows 30-100 (71 of them) are older than 30 days (users and
# audit entries are an hour younger than i days: 91-120 and 31-100).
my_app app -e "CREATE TABLE sessions(id BIGINT AUTO_INCREMENT PRIMARY KEY, created BIGINT NOT NULL);
    CREATE TABLE notes(id INT PRIMARY KEY, written VARCHAR(40));
    CREATE TABLE visits(id SMALLINT PRIMARY KEY, day DATE);
    CREATE TABLE repairs(id BIGINT PRIMARY KEY, closed_at DATETIME, photo VARCHAR(200));
    CREATE TABLE users(id INT PRIMARY KEY, last_login TIMESTAMP NULL, active BOOL DEFAULT TRUE,
        email VARCHAR(100));
    CREATE TABLE audit_log(id BIGINT PRIMARY KEY, at DATETIME(6), action TEXT);
    CREATE TABLE keyless(at DATETIME);
    CREATE TABLE legacy(id INT PRIMARY KEY, at DATETIME) ENGINE=MyISAM;
    INSERT INTO sessions SELECT seq, $now - seq * 86400 - 3600 FROM seq_1_to_100;
    INSERT INTO notes SELECT seq, DATE_FORMAT(FROM_UNIXTIME($now - seq * 86400 - 3600),
        IF(seq % 2, '%Y-%m-%dT%H:%i:%sZ', '%Y-%m-%d %H:%i:%s')) FROM seq_1_to_100;
    INSERT INTO visits SELECT seq, CURDATE() - INTERVAL seq DAY FROM seq_1_to_100;
    INSERT INTO repairs SELECT seq, FROM_UNIXTIME($now - seq * 86400 - 3600), CONCAT('photos/', seq, '.jpg')
        FROM seq_1_to_100;
    INSERT INTO users SELECT seq, NOW() - INTERVAL seq DAY + INTERVAL 1 HOUR, TRUE,
        CONCAT('User', seq, '@example.com') FROM seq_1_to_120;
    INSERT INTO audit_log SELECT seq, NOW(6) - INTERVAL seq DAY + INTERVAL 1 HOUR, CONCAT('action ', seq)
        FROM seq_1_to_100;"
conf() { # conf JOB-LINES…
    {
        printf '[upkeep]\nstate = state/state.db\n[database app]\nurl = %s\npassword_file = %s\n' \
            "$MY_URL" "$MY_PASSFILE"
        printf '%s\n' "$@"
    } > upkeep.conf
}
q() { my_app app -N -e "$1"; }
count() { q "SELECT COUNT(*) FROM $1"; }

# Every age column type: BIGINT Unix seconds, ISO text (with T and Z, or a space), DATE,
# DATETIME; 71 rows each.
for spec in sessions:created:unix notes:written:iso8601 visits:day:timestamp repairs:closed_at:timestamp; do
    IFS=: read -r table column format <<<"$spec"
    conf "[job purge]" "task = purge" "database = app" "table = $table" "age_column = $column" "older_than = 30d"
    expect_status 0 "$UPKEEP" run purge --dry-run --json
    expect_contains "$OUT" '"rows_deleted": 71'
    [ "$(count "$table")" = 100 ] || fail "$table: the dry run deleted rows"
    expect_status 0 "$UPKEEP" run purge --json
    expect_contains "$OUT" "\"age_format\": \"$format\""
    expect_contains "$OUT" '"rows_deleted": 71'
    [ "$(q "SELECT CONCAT_WS('|', COUNT(*), MIN(id), MAX(id)) FROM $table")" = "29|1|29" ] ||
        fail "$table: wrong rows left: $(q "SELECT COUNT(*), MIN(id), MAX(id) FROM $table")"
done
pass "purge on MariaDB: Unix seconds, ISO text, DATE and DATETIME columns; dry run changes nothing"

# Purge with files: a purged row's photo goes, one a staying row still names stays; batches
# of 10 are 8 transactions.
q "DELETE FROM repairs; INSERT INTO repairs SELECT seq, FROM_UNIXTIME($now - seq * 86400 - 3600),
    CONCAT('photos/', seq, '.jpg') FROM seq_1_to_100;
    UPDATE repairs SET photo = 'photos/shared.jpg' WHERE id IN (50, 5)"
mkdir -p files/photos
for i in $(seq 1 100) shared; do echo "$i" > "files/photos/$i.jpg"; done
conf "[job purge]" "task = purge" "database = app" "table = repairs" "age_column = closed_at" \
    "older_than = 30d" "files_column = photo" "files_root = files" "batch_size = 10"
expect_status 0 "$UPKEEP" run purge --json
expect_contains "$OUT" '"rows_deleted": 71'
expect_contains "$OUT" '"batches": 8'
expect_contains "$OUT" '"files_deleted": 70'
expect_contains "$OUT" '"files_kept": 1'
[ ! -e files/photos/30.jpg ] && [ ! -e files/photos/100.jpg ] || fail "purged rows' files left"
[ -e files/photos/29.jpg ] && [ -e files/photos/shared.jpg ] || fail "a staying row's file went"
[ "$(ls files/photos | wc -l)" = 31 ] || fail "wrong files left: $(ls files/photos | wc -l)"
pass "purge on MariaDB deletes the files of purged rows and keeps those still named"

# A writer commits new sessions throughout a purge of 30,000 old ones: none of its rows is
# touched, every old row goes, the batches are short.
q "DELETE FROM sessions; INSERT INTO sessions(created) SELECT $now - 40 * 86400 FROM seq_1_to_30000"
(while [ ! -f stop ]; do my_app app -e "INSERT INTO sessions(created) VALUES ($now)"; done) &
writer=$!
sleep 0.3
conf "[job purge]" "task = purge" "database = app" "table = sessions" "age_column = created" "older_than = 30d"
expect_status 0 "$UPKEEP" run purge --json
result=$OUT
touch stop; wait "$writer"; rm -f stop
expect_contains "$result" '"rows_deleted": 30000'
[ "$(q "SELECT COUNT(*) FROM sessions WHERE created < $now - 86400")" = 0 ] || fail "old sessions left"
written=$(count sessions)
[ "$written" -gt 0 ] || fail "the writer committed nothing"
[ "$(jq '.[0].summary | .batches > 1 and .longest_transaction_ms < 2000' <<<"$result")" = true ] ||
    fail "purge ran as one long transaction: $result"
pass "purge on MariaDB in short batches while a writer commits ($written rows kept)"

# The application holds one old row locked for 1.5 s: upkeep's batch gives way at once
# (innodb_lock_wait_timeout) and tries again, smaller; the job finishes once the lock is gone.
q "INSERT INTO sessions(created) SELECT $now - 40 * 86400 FROM seq_1_to_500"
locked=$(q "SELECT MIN(id) FROM sessions WHERE created < $now - 86400")
my_app app -e "START TRANSACTION; SELECT 1 FROM sessions WHERE id = $locked FOR UPDATE; SELECT SLEEP(1.5); COMMIT" >/dev/null &
holder=$!
sleep 0.3
expect_status 0 "$UPKEEP" run purge --json --verbose
wait "$holder" || fail "the application's transaction failed"
expect_contains "$OUT" '"rows_deleted": 500'
expect_contains "$ERR" "gave way"
[ "$(q "SELECT COUNT(*) FROM sessions WHERE created < $now - 86400")" = 0 ] || fail "old sessions left"
pass "a batch gives way to rows the application holds locked, and the job still finishes"

# update: users inactive 90 days are disabled and their email removed, once.
conf "[job disable-inactive]" "task = update" "database = app" "table = users" \
    "age_column = last_login" "older_than = 90d" "where = active" "set = active = FALSE, email = NULL"
expect_status 0 "$UPKEEP" run disable-inactive --json
expect_contains "$OUT" '"rows_updated": 30'
[ "$(q "SELECT COUNT(*) FROM users WHERE NOT active AND email IS NULL")" = 30 ] || fail "inactive users not disabled"
[ "$(q "SELECT COUNT(*) FROM users WHERE active AND email IS NOT NULL")" = 90 ] || fail "active users changed"
expect_status 0 "$UPKEEP" run disable-inactive --json
expect_contains "$OUT" '"rows_updated": 0'
pass "update on MariaDB disables users inactive 90 days, once"

# archive into a table of another database on the same server (created like the source),
# moved in the batch's transaction: every row is in exactly one of the two tables. A column
# the application adds later reaches the archive too; an ON DELETE CASCADE child is refused.
conf "[job audit]" "task = archive" "database = app" "table = audit_log" "age_column = at" \
    "older_than = 30d" "archive_to = table:history.audit_log" "batch_size = 16"
sum() { q "SELECT CONCAT_WS('|', COUNT(*), SUM(id)) FROM $1"; }
expect_status 0 "$UPKEEP" run audit --json
expect_contains "$OUT" '"rows_archived": 70'
[ "$(sum audit_log)" = "30|465" ] || fail "source: $(sum audit_log)"
[ "$(sum history.audit_log)" = "70|4585" ] || fail "archive: $(sum history.audit_log)"
[ "$(q "SELECT action FROM history.audit_log WHERE id = 77")" = "action 77" ] || fail "archived row differs"
q "ALTER TABLE audit_log ADD COLUMN actor VARCHAR(40);
    INSERT INTO audit_log VALUES (500, NOW() - INTERVAL 60 DAY, 'late', 'mechanic')"
expect_status 0 "$UPKEEP" run audit --json
expect_contains "$OUT" '"rows_archived": 1'
[ "$(q "SELECT actor FROM history.audit_log WHERE id = 500")" = mechanic ] || fail "the new column was not archived"
# The same through archive_database, a [database] section on the same server.
conf "[database history]" "url = ${MY_URL%/app}/history" "password_file = $MY_PASSFILE" \
    "[job audit]" "task = archive" "database = app" "table = audit_log" "age_column = at" \
    "older_than = 20d" "archive_to = table:audit_log" "archive_database = history"
expect_status 0 "$UPKEEP" run audit --json
expect_contains "$OUT" '"rows_archived": 10'
[ "$(sum history.audit_log)" = "81|5340" ] || fail "archive_database: $(sum history.audit_log)"
sed "s|^url = mariadb://upkeep@127.0.0.1:$MY_PORT/history|url = mariadb://upkeep@localhost:1/history|" upkeep.conf > elsewhere.conf
expect_status 1 "$UPKEEP" -c elsewhere.conf run audit
expect_contains "$ERR" "archive_database 'history' is on another server"
q "CREATE TABLE audit_detail(id INT PRIMARY KEY, log BIGINT, FOREIGN KEY (log) REFERENCES audit_log(id) ON DELETE CASCADE)"
expect_status 1 "$UPKEEP" run audit
expect_contains "$ERR" "would also delete rows of 'audit_detail' (ON DELETE CASCADE)"
pass "archive on MariaDB moves rows into another database's table in one transaction, new columns included"

# archive to JSON Lines and CSV files: each batch's DELETE … RETURNING hands its rows to the
# files' staging database before the batch commits. Types keep their value: integers and
# floats as numbers, booleans 1/0, bytes as bytes, decimals, dates and json as MariaDB writes them.
q "CREATE TABLE readings(id BIGINT PRIMARY KEY, at DATETIME, ok BOOL, amount DECIMAL(12, 4),
        ratio DOUBLE, raw VARBINARY(8), meta JSON, note TEXT);
    INSERT INTO readings SELECT seq, NOW() - INTERVAL seq DAY + INTERVAL 1 HOUR, seq % 2 = 0, seq * 1.0625,
        seq / 4.0, UNHEX(LPAD(HEX(seq), 4, '0')), JSON_OBJECT('n', seq),
        IF(seq % 3 = 0, NULL, CONCAT('line ', seq, '\n, \"quoted\"')) FROM seq_1_to_100"
mkdir -p exports
for format in jsonl csv; do
    conf "[job export]" "task = archive" "database = app" "table = readings" "age_column = at" \
        "older_than = 90d" "archive_to = $format://exports" "batch_size = 4"
    if [ $format = jsonl ]; then
        # Killed after a batch's rows reached the staging database, before it committed: the
        # rows are still in the table, and the next run archives each of them once.
        UPKEEP_CRASH_AT=my-archive-staged expect_status 137 "$UPKEEP" run export
        [ "$(count readings)" = 100 ] || fail "a batch killed before its commit deleted rows"
        [ "$(sqlite3 exports/.upkeep-staging.db "SELECT count(*) FROM readings")" -gt 0 ] ||
            fail "the killed batch staged nothing"
    fi
    expect_status 0 "$UPKEEP" run export --json
    expect_contains "$OUT" "\"rows_archived\": $([ $format = jsonl ] && echo 10 || echo 5)"
    q "INSERT INTO readings SELECT seq + 1000, NOW() - INTERVAL 200 DAY, TRUE, NULL, NULL, NULL, NULL,
        'again' FROM seq_1_to_5"
done
[ "$(count readings)" = 95 ] || fail "archive to files: $(count readings) rows left"
zstd -qdc exports/readings-*.jsonl.zst > rows.jsonl
[ "$(wc -l < rows.jsonl)" = 10 ] || fail "jsonl rows: $(wc -l < rows.jsonl)"
row=$(jq -c 'select(.id == 92)' rows.jsonl)
[ "$(jq -r '[.ok, .amount, .ratio, .meta] | @json' <<<"$row")" = '[1,"97.7500",23,"{\"n\": 92}"]' ] ||
    fail "jsonl values: $row"
[ "$(jq -r '.raw.hex' <<<"$row")" = 005c ] || fail "bytes: $row"
[ "$(jq -r '.note' <<<"$row")" = "line 92"$'\n'', "quoted"' ] || fail "text: $row"
[ "$(jq -r 'select(.id == 93) | .note' rows.jsonl)" = null ] || fail "NULL: $(grep 93 rows.jsonl)"
zstd -qdc exports/readings-*.csv.zst > rows.csv
[ "$(head -1 rows.csv)" = "id,at,ok,amount,ratio,raw,meta,note" ] || fail "csv header: $(head -1 rows.csv)"
grep -q '^1001,[^,]*,1,,,,,again$' rows.csv || fail "csv NULLs and booleans: $(grep '^1001,' rows.csv)"
[ "$(jq -r .id rows.jsonl | sort -u | wc -l)" = 10 ] || fail "a row was archived twice"
pass "archive on MariaDB to JSON Lines and CSV files, every type kept, each row once after a crash"

# Keys that are not one integer column: a CHAR(36) uuid and two columns. The candidates are
# numbered in a temporary table on upkeep's connection and batches join through it.
q "CREATE TABLE uploads(id CHAR(36) PRIMARY KEY, at DATETIME, file VARCHAR(100));
    INSERT INTO uploads SELECT CONCAT('00000000-0000-4000-8000-', LPAD(seq, 12, '0')),
        NOW() - INTERVAL seq DAY + INTERVAL 1 HOUR, CONCAT('u', seq, '.bin') FROM seq_1_to_60;
    CREATE TABLE stock_moves(shop VARCHAR(20), seq INT, at DATETIME, qty INT, PRIMARY KEY (shop, seq));
    INSERT INTO stock_moves SELECT s.shop, seq, NOW() - INTERVAL seq DAY + INTERVAL 1 HOUR, seq
        FROM seq_1_to_50, (SELECT 'berlin' AS shop UNION ALL SELECT 'hamburg') s"
mkdir -p blobs
for i in $(seq 1 60); do echo "$i" > "blobs/u$i.bin"; done
conf "[job uploads]" "task = purge" "database = app" "table = uploads" "age_column = at" \
    "older_than = 30d" "files_column = file" "files_root = blobs" "batch_size = 7"
expect_status 0 "$UPKEEP" run uploads --json
expect_contains "$OUT" '"rows_deleted": 30'
[ "$(count uploads)" = 30 ] || fail "uuid purge left $(count uploads)"
[ "$(ls blobs | wc -l)" = 30 ] && [ -e blobs/u30.bin ] && [ ! -e blobs/u31.bin ] || fail "uuid purge files: $(ls blobs | wc -l)"
conf "[job old-moves]" "task = update" "database = app" "table = stock_moves" "age_column = at" \
    "older_than = 40d" "set = qty = 0"
expect_status 0 "$UPKEEP" run old-moves --json
expect_contains "$OUT" '"rows_updated": 20'
conf "[job moves]" "task = archive" "database = app" "table = stock_moves" "age_column = at" \
    "older_than = 30d" "archive_to = table:history.stock_moves" "batch_size = 9"
expect_status 0 "$UPKEEP" run moves --json
expect_contains "$OUT" '"rows_archived": 40'
[ "$(count stock_moves)" = 60 ] || fail "composite archive left $(count stock_moves)"
[ "$(q "SELECT CONCAT_WS('|', COUNT(*), SUM(seq), SUM(qty)) FROM history.stock_moves")" = "40|1620|710" ] ||
    fail "composite archive: $(q "SELECT COUNT(*), SUM(seq), SUM(qty) FROM history.stock_moves")"
conf "[job uploads-out]" "task = archive" "database = app" "table = uploads" "age_column = at" \
    "older_than = 1d" "archive_to = jsonl://exports"
expect_status 1 "$UPKEEP" run uploads-out
expect_contains "$ERR" "archives to files need a primary key of one integer column"
pass "uuid and two-column keys: purge with files, update and archive"

# sql: statements in one transaction, rows changed counted; a dry run rolls back.
conf "[job temp]" "task = sql" "database = app" \
    "sql = DELETE FROM users WHERE NOT active; UPDATE users SET email = LOWER(email) WHERE id < 5"
expect_status 0 "$UPKEEP" run temp --dry-run --json
expect_contains "$OUT" '"rows_changed": 34'
[ "$(count users)" = 120 ] || fail "the dry run deleted users"
expect_status 0 "$UPKEEP" run temp --json
expect_contains "$OUT" '"rows_changed": 34'
[ "$(count users)" = 90 ] || fail "sql job did not run"
conf "[job temp]" "task = sql" "database = app" "sql = DELETE FROM users; SELECT no_such_column FROM users"
expect_status 1 "$UPKEEP" run temp
expect_contains "$ERR" "Unknown column 'no_such_column'"
[ "$(count users)" = 90 ] || fail "a failed sql job changed rows"
pass "sql jobs on MariaDB: one transaction, rows counted, dry run and failure roll back"

# clean: files no row names (orphans) go; named files stay.
mkdir -p uploads
touch -d '3 days ago' uploads/orphan.jpg uploads/photos-30.jpg
q "UPDATE repairs SET photo = 'photos-30.jpg' WHERE id = 1"
conf "[job orphans]" "task = clean" "path = uploads" "database = app" \
    "unreferenced_by = repairs.photo" "older_than = 1d"
expect_status 0 "$UPKEEP" run orphans
[ ! -e uploads/orphan.jpg ] && [ -e uploads/photos-30.jpg ] || fail "orphans: $(ls uploads)"
pass "clean deletes files no MariaDB row names"

# Errors a user meets.
conf "[job purge]" "task = purge" "database = app" "table = keyless" "age_column = at" "older_than = 30d"
expect_status 1 "$UPKEEP" run purge
expect_contains "$ERR" "table 'keyless' needs a primary key (rows are deleted by key, in batches)"
expect_status 2 "$UPKEEP" check
expect_contains "$ERR" "table 'keyless' needs a primary key"
conf "[job purge]" "task = purge" "database = app" "table = legacy" "age_column = at" "older_than = 30d"
expect_status 1 "$UPKEEP" run purge
expect_contains "$ERR" "table 'legacy' is MyISAM, which has no transactions"
conf "[job purge]" "task = purge" "database = app" "table = missing" "age_column = at" "older_than = 30d"
expect_status 1 "$UPKEEP" run purge
expect_contains "$ERR" "no table 'missing' in database 'app'"
conf "[job purge]" "task = purge" "database = app" "table = sessions" "age_column = nope" "older_than = 30d"
expect_status 1 "$UPKEEP" run purge
expect_contains "$ERR" "table 'sessions' has no column 'nope'"
conf "[job purge]" "task = purge" "database = app" "table = sessions" "age_column = created" \
    "older_than = 30d" "where = no_such_column > 1"
expect_status 1 "$UPKEEP" run purge
expect_contains "$ERR" "the purge condition does not work"
conf "[job purge]" "task = purge" "database = app" "table = app.sessions" "age_column = created" "older_than = 30d"
expect_status 2 "$UPKEEP" check
expect_contains "$ERR" "table = SCHEMA.TABLE is for servers (mariadb has no schemas)"
pass "row task errors on MariaDB name the job, the table and the column"

# Reports and exports read every kind of value as it is: DECIMAL exact (as text), BOOL as a
# number, doubles to the last digit, binary strings as bytes; count_by groups in health.
my_app app -e "CREATE TABLE kinds(id BIGINT PRIMARY KEY, price DECIMAL(20,4), ok BOOL,
        ratio DOUBLE, raw VARBINARY(10), label VARCHAR(10));
    INSERT INTO kinds VALUES (1, 12345678901234.5678, TRUE, 0.1, x'00ff', 'a,b'),
        (2, NULL, FALSE, 1e300, NULL, '')"
conf 'count_by = users.active' '[job kinds]' 'task = report' 'database = app' \
    'query = SELECT * FROM kinds ORDER BY id' 'output = kinds.jsonl' \
    '[job dump]' 'task = export' 'database = app' 'tables = kinds, users' 'output = dump-{table}.csv.zst'
expect_status 0 "$UPKEEP" run kinds dump
jq -e '.price == "12345678901234.5678" and .ok == 1 and .ratio == 0.1 and .raw == {"hex": "00ff"} and .label == "a,b"' \
    <<< "$(sed -n 1p kinds.jsonl)" >/dev/null || fail "report row: $(sed -n 1p kinds.jsonl)"
jq -e '.ratio == 1e300 and .ok == 0 and .price == null and .label == ""' <<< "$(sed -n 2p kinds.jsonl)" >/dev/null ||
    fail "report row 2: $(sed -n 2p kinds.jsonl)"
[ "$(zstd -qdc dump-users.csv.zst | wc -l)" = "$(( $(my_app -N app -e 'SELECT COUNT(*) FROM users') + 1 ))" ] ||
    fail "export of users"
expect_status 0 "$UPKEEP" --json health --no-actions
[ "$(jq -r '.checks[] | select(.subject == "app.users.active=1") | .value' <<< "$OUT")" = "$(my_app -N app -e 'SELECT COUNT(*) FROM users WHERE active')" ] ||
    fail "count_by on MariaDB: $(jq -c '[.checks[] | select(.check == "rows_by")]' <<< "$OUT")"
pass "reports and exports on MariaDB keep every value; count_by groups"
# upkeep import puts them back as they were; a value of the wrong type names its record and
# imports nothing; --upsert by the primary key.
my_app app -e "CREATE TABLE kinds2 LIKE kinds"
expect_status 0 "$UPKEEP" import kinds2 kinds.jsonl
[ "$(q "SELECT COUNT(*) FROM kinds k JOIN kinds2 c USING (id) WHERE k.price <=> c.price AND k.ok <=> c.ok AND k.ratio <=> c.ratio AND k.raw <=> c.raw AND k.label <=> c.label")" = 2 ] ||
    fail "import differs: $(q 'SELECT * FROM kinds2')"
printf '{"id": 5, "price": 1}\n{"id": 6, "price": "lots"}\n' > bad.jsonl
expect_status 1 "$UPKEEP" import kinds2 bad.jsonl
expect_contains "$ERR" "record 2: "
[ "$(q "SELECT COUNT(*) FROM kinds2")" = 2 ] || fail "a refused import changed the table"
printf '{"id": 1, "label": "renamed"}\n' > up.jsonl
expect_status 0 "$UPKEEP" import kinds2 up.jsonl --upsert
[ "$(q "SELECT label, price FROM kinds2 WHERE id = 1")" = "renamed	12345678901234.5678" ] ||
    fail "upsert: $(q 'SELECT * FROM kinds2')"
pass "import on MariaDB: values back as they were, all or nothing, --upsert"
