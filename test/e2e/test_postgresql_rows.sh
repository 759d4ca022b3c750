#!/bin/bash
# Row tasks on a real PostgreSQL server: purge by primary key while a writer commits, with
# the files of purged rows; each age column type; giving way to rows the application holds
# locked; update; archive into a table of another schema; sql jobs; clean's orphans; dry
# runs; and the errors a user meets.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/../services/postgresql.sh"
pg_up
now=$(date +%s)
# Row i is i days and an hour old: rows 30-100 (71 of them) are older than 30 days (users and
# audit entries are an hour younger than i days: 91-120 and 31-100).
pg_app -d app -c "CREATE TABLE sessions(id bigserial PRIMARY KEY, created bigint NOT NULL);
    CREATE TABLE notes(id int PRIMARY KEY, written text);
    CREATE TABLE visits(id smallint PRIMARY KEY, day date);
    CREATE TABLE repairs(id bigint PRIMARY KEY, closed_at timestamptz, photo text);
    CREATE TABLE users(id int PRIMARY KEY, last_login timestamp, active bool DEFAULT true,
        email text);
    CREATE TABLE audit_log(id bigint PRIMARY KEY, at timestamptz, action text);
    CREATE TABLE keyless(at timestamptz);
    INSERT INTO sessions SELECT i, $now - i * 86400 - 3600 FROM generate_series(1, 100) i;
    INSERT INTO notes SELECT i, to_char(to_timestamp($now - i * 86400 - 3600) AT TIME ZONE 'UTC',
        'YYYY-MM-DD HH24:MI:SS') FROM generate_series(1, 100) i;
    INSERT INTO visits SELECT i, current_date - i FROM generate_series(1, 100) i;
    INSERT INTO repairs SELECT i, to_timestamp($now - i * 86400 - 3600), 'photos/' || i || '.jpg'
        FROM generate_series(1, 100) i;
    UPDATE repairs SET photo = 'photos/shared.jpg' WHERE id IN (50, 5);
    INSERT INTO users SELECT i, now() - i * interval '1 day' + interval '1 hour', true, 'user' || i || '@example.com'
        FROM generate_series(1, 120) i;
    INSERT INTO audit_log SELECT i, now() - i * interval '1 day' + interval '1 hour', 'action ' || i
        FROM generate_series(1, 100) i;" >/dev/null
conf() { # conf JOB-LINES…
    {
        printf '[upkeep]\nstate = state/state.db\n[database app]\nurl = %s\npassword_file = %s\n' \
            "$PG_URL" "$PG_PASSFILE"
        printf '%s\n' "$@"
    } > upkeep.conf
}
count() { pg_app -d app -tAc "SELECT count(*) FROM $1"; }

# Every age column type: bigint Unix seconds, ISO text, date, timestamptz; 71 rows each.
for spec in sessions:created:unix notes:written:iso8601 visits:day:timestamp repairs:closed_at:timestamp; do
    IFS=: read -r table column format <<<"$spec"
    conf "[job purge]" "task = purge" "database = app" "table = $table" "age_column = $column" "older_than = 30d"
    expect_status 0 "$UPKEEP" run purge --dry-run --json
    expect_contains "$OUT" '"rows_deleted": 71'
    [ "$(count "$table")" = 100 ] || fail "$table: the dry run deleted rows"
    expect_status 0 "$UPKEEP" run purge --json
    expect_contains "$OUT" "\"age_format\": \"$format\""
    expect_contains "$OUT" '"rows_deleted": 71'
    [ "$(pg_app -d app -tAc "SELECT count(*), min(id), max(id) FROM $table")" = "29|1|29" ] ||
        fail "$table: wrong rows left: $(pg_app -d app -tAc "SELECT count(*), min(id), max(id) FROM $table")"
done
pass "purge on PostgreSQL: Unix seconds, ISO text, date and timestamptz columns; dry run changes nothing"

# Purge with files: a purged row's photo goes, one a staying row still names stays; batches
# of 10 are 8 transactions, each recorded.
pg_app -d app -c "TRUNCATE repairs; INSERT INTO repairs SELECT i, to_timestamp($now - i * 86400 - 3600),
    'photos/' || i || '.jpg' FROM generate_series(1, 100) i;
    UPDATE repairs SET photo = 'photos/shared.jpg' WHERE id IN (50, 5)" >/dev/null
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
# 1-29, 50.jpg (its row named shared.jpg) and shared.jpg
[ "$(ls files/photos | wc -l)" = 31 ] || fail "wrong files left: $(ls files/photos | wc -l)"
pass "purge on PostgreSQL deletes the files of purged rows and keeps those still named"

# A writer commits new sessions throughout a purge of 30,000 old ones: none of its rows is
# touched, every old row goes, the batches are short.
pg_app -d app -c "TRUNCATE sessions; INSERT INTO sessions(created) SELECT $now - 40 * 86400
    FROM generate_series(1, 30000)" >/dev/null
(i=0; while [ ! -f stop ]; do i=$((i + 1)); pg_app -d app -c "INSERT INTO sessions(created) VALUES ($now)"; done) &
writer=$!
sleep 0.3
conf "[job purge]" "task = purge" "database = app" "table = sessions" "age_column = created" "older_than = 30d"
expect_status 0 "$UPKEEP" run purge --json
result=$OUT
touch stop; wait "$writer"; rm -f stop
expect_contains "$result" '"rows_deleted": 30000'
[ "$(pg_app -d app -tAc "SELECT count(*) FROM sessions WHERE created < $now - 86400")" = 0 ] ||
    fail "old sessions left"
written=$(count sessions)
[ "$written" -gt 0 ] || fail "the writer committed nothing"
[ "$(jq '.[0].summary | .batches > 1 and .longest_transaction_ms < 2000' <<<"$result")" = true ] ||
    fail "purge ran as one long transaction: $result"
pass "purge on PostgreSQL in short batches while a writer commits ($written rows kept)"

# Batches whose keys lie close together name their rows by a range of the key as well as
# the list; scattered keys by the list alone. Either way exactly the old rows go: the young
# rows between them stay.
pg_app -d app -c "TRUNCATE sessions; INSERT INTO sessions(id, created)
    SELECT i, CASE WHEN i % 3 = 0 THEN $now ELSE $now - 40 * 86400 END FROM generate_series(1, 3000) i;
    INSERT INTO sessions(id, created) SELECT 1000000 + i * 100000,
    CASE WHEN i % 3 = 0 THEN $now ELSE $now - 40 * 86400 END FROM generate_series(1, 3000) i" >/dev/null
expect_status 0 "$UPKEEP" -v run purge --json
expect_contains "$OUT" '"rows_deleted": 4000'
expect_contains "$ERR" "rows by key range"
expect_contains "$ERR" "rows by key list"
[ "$(pg_app -d app -tAc "SELECT count(*), count(*) FILTER (WHERE created = $now) FROM sessions")" = "2000|2000" ] ||
    fail "purge by key range: wrong rows left: $(pg_app -d app -tAc 'SELECT count(*) FROM sessions')"
pass "batches by key range and by key list purge exactly the old rows"
# The application holds one old row locked for 1.5 s: upkeep's batch gives way (lock_timeout)
# and tries again, smaller, and the job finishes once the lock is gone.
pg_app -d app -c "INSERT INTO sessions(created) SELECT $now - 40 * 86400 FROM generate_series(1, 500)" >/dev/null
locked=$(pg_app -d app -tAc "SELECT min(id) FROM sessions WHERE created < $now - 86400")
pg_app -d app -c "BEGIN; SELECT 1 FROM sessions WHERE id = $locked FOR UPDATE; SELECT pg_sleep(1.5); COMMIT" >/dev/null &
holder=$!
sleep 0.3
expect_status 0 "$UPKEEP" run purge --json --verbose
wait "$holder" || fail "the application's transaction failed"
expect_contains "$OUT" '"rows_deleted": 500'
expect_contains "$ERR" "gave way"
[ "$(pg_app -d app -tAc "SELECT count(*) FROM sessions WHERE created < $now - 86400")" = 0 ] ||
    fail "old sessions left"
pass "a batch gives way to rows the application holds locked, and the job still finishes"

# update: users inactive 90 days are disabled and their email removed.
conf "[job disable-inactive]" "task = update" "database = app" "table = users" \
    "age_column = last_login" "older_than = 90d" "where = active" "set = active = false, email = NULL"
expect_status 0 "$UPKEEP" run disable-inactive --json
expect_contains "$OUT" '"rows_updated": 30'
[ "$(pg_app -d app -tAc "SELECT count(*) FROM users WHERE NOT active AND email IS NULL")" = 30 ] ||
    fail "inactive users not disabled"
[ "$(pg_app -d app -tAc "SELECT count(*) FROM users WHERE active AND email IS NOT NULL")" = 90 ] ||
    fail "active users changed"
expect_status 0 "$UPKEEP" run disable-inactive --json
expect_contains "$OUT" '"rows_updated": 0'
pass "update on PostgreSQL disables users inactive 90 days, once"

# archive into a table of another schema (created with the source's columns and key), in one
# statement per batch: every row is in exactly one of the two tables. A column the
# application adds later reaches the archive too.
conf "[job audit]" "task = archive" "database = app" "table = audit_log" "age_column = at" \
    "older_than = 30d" "archive_to = table:archive.audit_log"
sum() { pg_app -d app -tAc "SELECT count(*), sum(id) FROM $1"; }
expect_status 0 "$UPKEEP" run audit --json
expect_contains "$OUT" '"rows_archived": 70'
[ "$(sum audit_log)" = "30|465" ] || fail "source: $(sum audit_log)"
[ "$(sum archive.audit_log)" = "70|4585" ] || fail "archive: $(sum archive.audit_log)"
[ "$(pg_app -d app -tAc "SELECT action FROM archive.audit_log WHERE id = 77")" = "action 77" ] ||
    fail "archived row differs"
pg_app -d app -c "ALTER TABLE audit_log ADD COLUMN actor text;
    INSERT INTO audit_log VALUES (500, now() - interval '60 days', 'late', 'mechanic')" >/dev/null
expect_status 0 "$UPKEEP" run audit --json
expect_contains "$OUT" '"rows_archived": 1'
[ "$(pg_app -d app -tAc "SELECT actor FROM archive.audit_log WHERE id = 500")" = mechanic ] ||
    fail "the new column was not archived"
pg_app -d app -c "CREATE TABLE audit_detail(id int PRIMARY KEY,
    log bigint REFERENCES audit_log(id) ON DELETE CASCADE)" >/dev/null
expect_status 1 "$UPKEEP" run audit
expect_contains "$ERR" "would also delete rows of 'audit_detail' (ON DELETE CASCADE)"
pass "archive on PostgreSQL moves rows into another schema's table, new columns included"

# archive to JSON Lines and CSV files: the rows each batch deletes are copied to the
# files' staging database before the batch commits, then written out as zstd files. Types
# keep their value: integers and floats as numbers, booleans 1/0, bytea as bytes (hex),
# numeric, timestamps, json and uuid as PostgreSQL writes them.
pg_app -d app -c "CREATE TABLE readings(id bigint PRIMARY KEY, at timestamptz, ok boolean,
        amount numeric(12, 4), ratio double precision, raw bytea, meta jsonb, tag uuid, note text);
    INSERT INTO readings SELECT i, now() - i * interval '1 day' + interval '1 hour', i % 2 = 0, i * 1.0625, i / 4.0,
        decode(lpad(to_hex(i), 4, '0'), 'hex'), jsonb_build_object('n', i),
        ('00000000-0000-0000-0000-' || lpad(i::text, 12, '0'))::uuid, CASE WHEN i % 3 = 0 THEN NULL
        ELSE 'line ' || i || E'\n, \"quoted\"' END FROM generate_series(1, 100) i" >/dev/null
mkdir -p exports
for format in jsonl csv; do
    conf "[job export]" "task = archive" "database = app" "table = readings" "age_column = at" \
        "older_than = 90d" "archive_to = $format://exports" "batch_size = 4"
    if [ $format = jsonl ]; then
        # Killed after a batch's rows reached the staging database, before it committed: the
        # rows are still in the table, and the next run archives each of them once.
        UPKEEP_CRASH_AT=pg-archive-staged expect_status 137 "$UPKEEP" run export
        [ "$(count readings)" = 100 ] || fail "a batch killed before its commit deleted rows"
        [ "$(sqlite3 exports/.upkeep-staging.db "SELECT count(*) FROM readings")" -gt 0 ] ||
            fail "the killed batch staged nothing"
    fi
    expect_status 0 "$UPKEEP" run export --json
    expect_contains "$OUT" "\"rows_archived\": $([ $format = jsonl ] && echo 10 || echo 5)"
    pg_app -d app -c "INSERT INTO readings SELECT i + 1000, now() - interval '200 days', true,
        NULL, NULL, NULL, NULL, NULL, 'again' FROM generate_series(1, 5) i" >/dev/null
done
[ "$(count readings)" = 95 ] || fail "archive to files: $(count readings) rows left"
ls exports/readings-*.jsonl.zst exports/readings-*.csv.zst >/dev/null || fail "no files: $(ls exports)"
zstd -qdc exports/readings-*.jsonl.zst > rows.jsonl
[ "$(wc -l < rows.jsonl)" = 10 ] || fail "jsonl rows: $(wc -l < rows.jsonl)"
row=$(jq -c 'select(.id == 92)' rows.jsonl)
[ "$(jq -r '[.ok, .amount, .ratio, .meta, .tag] | @json' <<<"$row")" = \
    '[1,"97.7500",23,"{\"n\": 92}","00000000-0000-0000-0000-000000000092"]' ] ||
    fail "jsonl values: $row"
[ "$(jq -r '.raw.hex' <<<"$row")" = 005c ] || fail "bytea: $row"
[ "$(jq -r '.note' <<<"$row")" = "line 92"$'\n'', "quoted"' ] || fail "text: $row"
[ "$(jq -r 'select(.id == 93) | .note' rows.jsonl)" = null ] || fail "NULL: $(grep 93 rows.jsonl)"
zstd -qdc exports/readings-*.csv.zst > rows.csv
[ "$(head -1 rows.csv)" = "id,at,ok,amount,ratio,raw,meta,tag,note" ] || fail "csv header: $(head -1 rows.csv)"
grep -q '^1001,' rows.csv || fail "csv rows: $(head -3 rows.csv)"
[ "$(grep -c '^100[1-5],' rows.csv)" = 5 ] || fail "csv: the second run's rows"
grep -q '^1001,[^,]*,1,,,,,,again$' rows.csv || fail "csv NULLs and booleans: $(grep '^1001,' rows.csv)"
[ ! -e exports/.upkeep-staging.db ] || [ "$(sqlite3 exports/.upkeep-staging.db "SELECT count(*) FROM readings")" = 0 ] ||
    fail "rows left in the staging database"
[ "$(jq -r .id rows.jsonl | sort -u | wc -l)" = 10 ] || fail "a row was archived twice: $(jq -r .id rows.jsonl | sort | uniq -d)"
pass "archive on PostgreSQL to JSON Lines and CSV files, every type kept, each row once after a crash"

# archive into a table of another database (archive_database names its [database]
# section): rows are copied there first, and deleted only while they still hash as copied.
# Killed between the copy and the deletes, the next run copies them again (replacing, not
# duplicating) and deletes them.
pg_admin -d postgres -c "CREATE DATABASE history OWNER upkeep" >/dev/null
pg_app -d app -c "CREATE TABLE invoices(id bigint PRIMARY KEY, issued timestamptz, total numeric(10, 2),
        lines jsonb, pdf bytea, tags text[]);
    INSERT INTO invoices SELECT i, now() - i * interval '1 day' + interval '1 hour', i * 9.99,
        jsonb_build_array(i, 'x'), decode(lpad(to_hex(i), 4, '0'), 'hex'), ARRAY['t' || i, 'z']
        FROM generate_series(1, 400) i" >/dev/null
before=$(pg_app -d app -tAc "SELECT string_agg(md5(invoices::text), ',' ORDER BY id) FROM invoices WHERE id > 365")
conf "[database history]" "url = ${PG_URL%/app}/history" "password_file = $PG_PASSFILE" \
    "[job invoices]" "task = archive" "database = app" "table = invoices" "age_column = issued" \
    "older_than = 365d" "archive_to = table:ledger.invoices" "archive_database = history" "batch_size = 10"
UPKEEP_CRASH_AT=pg-archive-copied expect_status 137 "$UPKEEP" run invoices
[ "$(count invoices)" = 400 ] || fail "rows were deleted before their copy was complete"
[ "$(pg_app -d history -tAc "SELECT count(*) FROM ledger.invoices")" = 35 ] || fail "the copy is incomplete"
expect_status 0 "$UPKEEP" run invoices --json
expect_contains "$OUT" '"rows_archived": 35'
[ "$(count invoices)" = 365 ] || fail "cross-database archive left $(count invoices)"
after=$(pg_app -d history -tAc "SELECT string_agg(md5(invoices::text), ',' ORDER BY id) FROM ledger.invoices")
[ "$before" = "$after" ] || fail "the archived rows differ from the originals"
expect_status 0 "$UPKEEP" run invoices --json
expect_contains "$OUT" '"rows_archived": 0'
conf "[job invoices]" "task = archive" "database = app" "table = invoices" "age_column = issued" \
    "older_than = 365d" "archive_to = table:ledger.invoices" "archive_database = nowhere"
expect_status 2 "$UPKEEP" check
expect_contains "$ERR" "archive_database: no [database nowhere] section"
pass "archive on PostgreSQL into a table of another database, each row once after a crash"

# Keys that are not one integer column: a uuid, and two columns. The candidates are numbered
# in a temporary table on upkeep's connection, in heap order, and batches name rows through
# it (and the heap pages they were listed on), so purge (with files), update and archive work
# as with integer keys.
pg_app -d app -c "CREATE TABLE uploads(id uuid PRIMARY KEY, at timestamptz, file text);
    INSERT INTO uploads SELECT ('00000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid,
        now() - i * interval '1 day' + interval '1 hour', 'u' || i || '.bin' FROM generate_series(1, 60) i;
    CREATE TABLE stock_moves(shop text, seq int, at timestamptz, qty int, PRIMARY KEY (shop, seq));
    INSERT INTO stock_moves SELECT s, i, now() - i * interval '1 day' + interval '1 hour', i
        FROM generate_series(1, 50) i, unnest(ARRAY['berlin', 'hamburg']) s" >/dev/null
mkdir -p blobs
for i in $(seq 1 60); do echo "$i" > "blobs/u$i.bin"; done
conf "[job uploads]" "task = purge" "database = app" "table = uploads" "age_column = at" \
    "older_than = 30d" "files_column = file" "files_root = blobs" "batch_size = 7"
expect_status 0 "$UPKEEP" -v run uploads --json
expect_contains "$OUT" '"rows_deleted": 30'
expect_contains "$ERR" "rows by key range" # all 60 rows on one heap page
[ "$(count uploads)" = 30 ] || fail "uuid purge left $(count uploads)"
[ "$(ls blobs | wc -l)" = 30 ] && [ -e blobs/u30.bin ] && [ ! -e blobs/u31.bin ] || fail "uuid purge files: $(ls blobs | wc -l)"
conf "[job old-moves]" "task = update" "database = app" "table = stock_moves" "age_column = at" \
    "older_than = 40d" "set = qty = 0"
expect_status 0 "$UPKEEP" run old-moves --json
expect_contains "$OUT" '"rows_updated": 20'
conf "[job moves]" "task = archive" "database = app" "table = stock_moves" "age_column = at" \
    "older_than = 30d" "archive_to = table:archive.stock_moves" "batch_size = 9"
expect_status 0 "$UPKEEP" run moves --json
expect_contains "$OUT" '"rows_archived": 40'
[ "$(count stock_moves)" = 60 ] || fail "composite archive left $(count stock_moves)"
[ "$(pg_app -d app -tAc "SELECT count(*), sum(seq), sum(qty) FROM archive.stock_moves")" = "40|1620|710" ] ||
    fail "composite archive: $(pg_app -d app -tAc "SELECT count(*), sum(seq), sum(qty) FROM archive.stock_moves")"
conf "[job uploads-out]" "task = archive" "database = app" "table = uploads" "age_column = at" \
    "older_than = 1d" "archive_to = jsonl://exports"
expect_status 1 "$UPKEEP" run uploads-out
expect_contains "$ERR" "archives to files need a primary key of one integer column"
pass "uuid and two-column keys: purge with files, update and archive"

# sql: statements in one transaction, rows changed counted; a dry run rolls back.
conf "[job temp]" "task = sql" "database = app" \
    "sql = DELETE FROM users WHERE NOT active; UPDATE users SET email = lower(email) WHERE id < 5"
expect_status 0 "$UPKEEP" run temp --dry-run --json
expect_contains "$OUT" '"rows_changed": 34'
[ "$(count users)" = 120 ] || fail "the dry run deleted users"
expect_status 0 "$UPKEEP" run temp --json
expect_contains "$OUT" '"rows_changed": 34'
[ "$(count users)" = 90 ] || fail "sql job did not run"
conf "[job temp]" "task = sql" "database = app" "sql = DELETE FROM users; SELECT 1/0"
expect_status 1 "$UPKEEP" run temp
expect_contains "$ERR" "division by zero"
[ "$(count users)" = 90 ] || fail "a failed sql job changed rows"
pass "sql jobs on PostgreSQL: one transaction, rows counted, dry run and failure roll back"

# clean: files no row names (orphans) go; named files stay.
mkdir -p uploads
touch -d '3 days ago' uploads/orphan.jpg uploads/photos-30.jpg
pg_app -d app -c "UPDATE repairs SET photo = 'photos-30.jpg' WHERE id = 1" >/dev/null
conf "[job orphans]" "task = clean" "path = uploads" "database = app" \
    "unreferenced_by = repairs.photo" "older_than = 1d"
expect_status 0 "$UPKEEP" run orphans
[ ! -e uploads/orphan.jpg ] && [ -e uploads/photos-30.jpg ] || fail "orphans: $(ls uploads)"
pass "clean deletes files no PostgreSQL row names"

# Errors a user meets.
conf "[job purge]" "task = purge" "database = app" "table = keyless" "age_column = at" "older_than = 30d"
expect_status 1 "$UPKEEP" run purge
expect_contains "$ERR" "table 'keyless' needs a primary key (rows are deleted by key, in batches)"
expect_status 2 "$UPKEEP" check
expect_contains "$ERR" "table 'keyless' needs a primary key (rows are deleted by key, in batches)"
conf "[job purge]" "task = purge" "database = app" "table = public.sessions" "age_column = created" "older_than = 30d"
expect_status 0 "$UPKEEP" check
conf "[job purge]" "task = purge" "database = app" "table = shop.missing" "age_column = at" "older_than = 30d"
expect_status 1 "$UPKEEP" run purge
expect_contains "$ERR" "no table 'shop.missing' in database 'app'"
conf "[job purge]" "task = purge" "database = app" "table = sessions" "age_column = nope" "older_than = 30d"
expect_status 1 "$UPKEEP" run purge
expect_contains "$ERR" "table 'sessions' has no column 'nope'"
conf "[job purge]" "task = purge" "database = app" "table = sessions" "age_column = created" \
    "older_than = 30d" "where = no_such_column > 1"
expect_status 1 "$UPKEEP" run purge
expect_contains "$ERR" "the purge condition does not work"
conf "[job audit]" "task = archive" "database = app" "table = audit_log" "age_column = at" \
    "older_than = 30d" "archive_to = sqlite:///tmp/archive.db"
expect_status 2 "$UPKEEP" check
expect_contains "$ERR" "archives to a table of its own (archive_to = table:SCHEMA.TABLE) or to files (jsonl://, csv://)"
cat > upkeep.conf <<CONF
[database app]
url = sqlite://app.db
[job purge]
task = purge
database = app
table = main.t
age_column = at
older_than = 1d
CONF
expect_status 2 "$UPKEEP" check
expect_contains "$ERR" "table = SCHEMA.TABLE is for servers"
pass "row task errors on PostgreSQL name the job, the table and the column"

# Reports and exports read every kind of value as it is: numeric exact (as text), booleans as
# 1 and 0, floats to the last digit, bytea as PostgreSQL writes it; whole tables by name,
# SCHEMA.TABLE too; count_by groups in health.
pg_app -d app -c "CREATE TABLE kinds(id int8 PRIMARY KEY, price numeric(20,4), ok bool,
        ratio float8, raw bytea, label text);
    INSERT INTO kinds VALUES (1, 12345678901234.5678, true, 0.1, '\x00ff', 'a,b'),
        (2, NULL, false, 'Infinity', NULL, '')" >/dev/null
conf 'count_by = users.active' '[job kinds]' 'task = report' 'database = app' \
    'query = SELECT * FROM kinds ORDER BY id' 'output = kinds.jsonl' \
    '[job dump]' 'task = export' 'database = app' 'tables = kinds, public.users' 'output = dump-{table}.csv.gz'
expect_status 0 "$UPKEEP" run kinds dump
jq -e '.id == 1 and .price == "12345678901234.5678" and .ok == 1 and .ratio == 0.1 and .raw == "\\x00ff" and .label == "a,b"' <<< "$(sed -n 1p kinds.jsonl)" >/dev/null ||
    fail "report row: $(sed -n 1p kinds.jsonl)"
jq -e '.ratio == {"real": "Infinity"} and .ok == 0 and .price == null and .label == ""' <<< "$(sed -n 2p kinds.jsonl)" >/dev/null ||
    fail "report row 2: $(sed -n 2p kinds.jsonl)"
[ "$(gzip -dc dump-public.users.csv.gz | wc -l)" = "$(( $(count users) + 1 ))" ] || fail "export of public.users"
[ "$(gzip -dc dump-kinds.csv.gz | sed -n 1p)" = "id,price,ok,ratio,raw,label" ] || fail "CSV header"
expect_status 0 "$UPKEEP" --json health --no-actions
[ "$(jq -r '.checks[] | select(.subject == "app.users.active=1") | .value' <<< "$OUT")" = "$(count users)" ] ||
    fail "count_by on PostgreSQL: $(jq -c '[.checks[] | select(.check == "rows_by")]' <<< "$OUT")"
pass "reports and exports on PostgreSQL keep every value; count_by groups"
# upkeep import puts them back as they were; a value of the wrong type names its record and
# imports nothing; --upsert by the primary key.
pg_app -d app -c "CREATE TABLE kinds2 (LIKE kinds INCLUDING ALL)" >/dev/null
expect_status 0 "$UPKEEP" import kinds2 kinds.jsonl
[ "$(pg_app -d app -tAc "SELECT count(*) FROM ((TABLE kinds EXCEPT TABLE kinds2) UNION ALL (TABLE kinds2 EXCEPT TABLE kinds)) d")" = 0 ] ||
    fail "import differs: $(pg_app -d app -tAc 'TABLE kinds2')"
printf '{"id": 5, "price": 1}\n{"id": 6, "price": "lots"}\n' > bad.jsonl
expect_status 1 "$UPKEEP" import kinds2 bad.jsonl
expect_contains "$ERR" "record 2: "
expect_contains "$ERR" "invalid input syntax for type numeric"
[ "$(pg_app -d app -tAc "SELECT count(*) FROM kinds2")" = 2 ] || fail "a refused import changed the table"
printf '{"id": 1, "label": "renamed"}\n' > up.jsonl
expect_status 0 "$UPKEEP" import kinds2 up.jsonl --upsert
[ "$(pg_app -d app -tAc "SELECT label, price FROM kinds2 WHERE id = 1")" = "renamed|12345678901234.5678" ] ||
    fail "upsert: $(pg_app -d app -tAc 'TABLE kinds2')"
pass "import on PostgreSQL: values back as they were, all or nothing, --upsert"
