#!/bin/bash
# archive (rows to an archive database, files moved), update and sql; killed archives lose
# and duplicate nothing once run again.
source "$(dirname "$0")/lib.sh"
now=$(date +%s)
sqlite3 app.db "PRAGMA journal_mode=wal;
  CREATE TABLE jobs(id INTEGER PRIMARY KEY, status TEXT, done_at INTEGER, file TEXT, email TEXT);
  WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 100)
  INSERT INTO jobs SELECT i, 'COMPLETED', $now - i * 86400 - 3600, 'completed/' || i || '.gcode',
    'user' || i || '@example.com' FROM c;" >/dev/null
mkdir -p uploads/completed
(cd uploads/completed && seq 1 100 | sed 's/$/.gcode/' | xargs touch)
cat > upkeep.conf <<CONF
[upkeep]
state = state/state.db
[database app]
url = sqlite://app.db
[job archive]
task = archive
database = app
table = jobs
age_column = done_at
older_than = 30d
archive_to = sqlite://archive/jobs-archive.db
files_column = file
files_root = uploads
files_move_to = uploads/archive
[job anonymise]
task = update
database = app
table = jobs
set = email = NULL
age_column = done_at
older_than = 7d
[job fix]
task = sql
database = app
sql = UPDATE jobs SET status = 'DONE' WHERE status = 'COMPLETED'; DELETE FROM jobs WHERE id = 1
CONF
sum=$(sha256sum app.db; find uploads | sort | sha256sum)
expect_status 0 "$UPKEEP" run archive --dry-run --json
expect_contains "$OUT" '"rows_archived": 71'
expect_contains "$OUT" '"files_moved": 71'
[ "$(sha256sum app.db; find uploads | sort | sha256sum)" = "$sum" ] || fail "dry run changed something"
[ ! -e archive/jobs-archive.db ] || [ "$(sqlite3 archive/jobs-archive.db 'SELECT count(*) FROM jobs')" = 0 ] ||
    fail "dry run archived rows"
expect_status 0 "$UPKEEP" run archive --json
expect_contains "$OUT" '"rows_archived": 71'
[ "$(sqlite3 app.db 'SELECT count(*) FROM jobs')" = 29 ] || fail "rows left in the database"
[ "$(sqlite3 archive/jobs-archive.db 'SELECT count(*), min(id), max(id) FROM jobs')" = "71|30|100" ] ||
    fail "archive content"
[ "$(sqlite3 archive/jobs-archive.db "SELECT email FROM jobs WHERE id = 50")" = "user50@example.com" ] ||
    fail "archived row content"
[ -e uploads/archive/completed/50.gcode ] && [ ! -e uploads/completed/50.gcode ] || fail "file not moved"
[ -e uploads/completed/5.gcode ] || fail "file of a young row moved"
expect_status 0 "$UPKEEP" run archive --json
expect_contains "$OUT" '"rows_archived": 0'
[ "$(sqlite3 archive/jobs-archive.db 'SELECT count(*) FROM jobs')" = 71 ] || fail "a re-run duplicated rows"
pass "archive copies, deletes and moves files; a re-run changes nothing"
# Destinations are resolved beneath files_move_to: a symlink there never takes a file out.
# A move killed between its link and its unlink (the file under both names) is finished.
mkdir -p uploads/evil outside-archive; echo x > uploads/evil/e.gcode
ln -s ../../outside-archive uploads/archive/evil
echo y > uploads/completed/linked.gcode; ln uploads/completed/linked.gcode uploads/archive/completed/linked.gcode
sqlite3 app.db "INSERT INTO jobs VALUES (201, 'COMPLETED', $now - 90 * 86400, 'evil/e.gcode', NULL),
  (202, 'COMPLETED', $now - 90 * 86400, 'completed/linked.gcode', NULL)"
expect_status 0 "$UPKEEP" run archive --json
expect_contains "$OUT" '"files_moved": 1'
expect_contains "$OUT" '"files_refused": 1'
[ -z "$(ls outside-archive)" ] || fail "a file was moved through a symlink in files_move_to"
[ -e uploads/evil/e.gcode ] || fail "the file that could not move was lost"
[ ! -e uploads/completed/linked.gcode ] && [ "$(cat uploads/archive/completed/linked.gcode)" = y ] ||
    fail "an interrupted move was not finished"
pass "files_move_to is resolved beneath itself; an interrupted move is finished"
sum=$(sha256sum < app.db)
expect_status 0 "$UPKEEP" run anonymise --dry-run --json
expect_contains "$OUT" '"rows_updated": 23'
[ "$(sha256sum < app.db)" = "$sum" ] || fail "update dry run changed the database"
expect_status 0 "$UPKEEP" run anonymise --json
expect_contains "$OUT" '"rows_updated": 23'
[ "$(sqlite3 app.db 'SELECT count(*) FROM jobs WHERE email IS NULL')" = 23 ] || fail "update"
pass "update rewrites old rows in batches"
expect_status 0 "$UPKEEP" run fix --dry-run --json
expect_contains "$OUT" '"rows_changed": 30'
[ "$(sqlite3 app.db "SELECT count(*) FROM jobs WHERE status = 'DONE'")" = 0 ] || fail "sql dry run changed rows"
expect_status 0 "$UPKEEP" run fix
[ "$(sqlite3 app.db "SELECT count(*) FROM jobs WHERE status = 'DONE'")" = 28 ] || fail "sql"
# A failing statement rolls back the whole job: nothing half-done.
sed -i 's/^sql = .*/sql = UPDATE jobs SET status = '"'"'X'"'"'; UPDATE no_such_table SET a = 1/' upkeep.conf
expect_status 1 "$UPKEEP" run fix
expect_contains "$ERR" "no such table: no_such_table"
[ "$(sqlite3 app.db "SELECT count(*) FROM jobs WHERE status = 'X'")" = 0 ] || fail "a failed sql job left changes"
pass "sql runs as one transaction, dry run rolls back, failure changes nothing"
# Killed archives: no row lost at any instant; after a full run, none duplicated.
rm -rf app.db* archive state uploads
sqlite3 app.db "PRAGMA journal_mode=wal;
  CREATE TABLE jobs(id INTEGER PRIMARY KEY, status TEXT, done_at INTEGER, file TEXT, email TEXT);
  WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 8000)
  INSERT INTO jobs SELECT i, 'COMPLETED', $now - 400 * 86400, NULL, randomblob(200) FROM c;" >/dev/null
mkdir -p uploads
sed -i 's/^\[job archive\]/[job archive]\ntransaction_budget = 2ms\npause = 2ms/' upkeep.conf
# Killed while the archive is made: no archive is left half made, and the next run makes it,
# in WAL mode, with its table.
UPKEEP_CRASH_AT=archive-made expect_status 137 "$UPKEEP" -q run archive
[ ! -e archive/jobs-archive.db ] || fail "an archive was left half made"
[ "$(sqlite3 app.db 'SELECT count(*) FROM jobs')" = 8000 ] || fail "rows went before their archive existed"
for delay in 0.05 0.1 0.2 0.3 0.4 0.6; do
    interrupt KILL $delay "$UPKEEP" -q run archive
    [ "$(sqlite3 app.db 'PRAGMA integrity_check')" = ok ] || fail "integrity after kill"
    if [ -e archive/jobs-archive.db ]; then
        sqlite3 app.db "ATTACH 'archive/jobs-archive.db' AS a;
          SELECT count(*) FROM (SELECT id FROM jobs UNION SELECT id FROM a.jobs)" > union.txt
        [ "$(cat union.txt)" = 8000 ] || fail "rows lost after a kill: $(cat union.txt) of 8000"
    fi
done
expect_status 0 "$UPKEEP" run archive
[ "$(sqlite3 app.db 'SELECT count(*) FROM jobs')" = 0 ] || fail "rows left after the re-run"
[ "$(sqlite3 archive/jobs-archive.db 'SELECT count(*), count(DISTINCT id) FROM jobs')" = "8000|8000" ] ||
    fail "archive is not exactly the 8000 rows"
[ "$(sqlite3 archive/jobs-archive.db 'PRAGMA journal_mode')" = wal ] || fail "the archive is not in WAL mode"
[ -z "$(ls archive | grep '\.new')" ] || fail "temporary archive left: $(ls archive)"
pass "killed archives lose nothing, and a re-run duplicates nothing"
# Archives as files (JSON Lines, CSV): killed at any point and run again, every archived row
# is in exactly one file.
rm -rf app.db* archive state
sqlite3 app.db "PRAGMA journal_mode=wal;
  CREATE TABLE logs(id INTEGER PRIMARY KEY, at INTEGER, message TEXT);
  WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 6000)
  INSERT INTO logs SELECT i, $now - 400 * 86400, 'line, with \"quotes\" ' || i FROM c;" >/dev/null
cat > upkeep.conf <<CONF
[upkeep]
state = state/state.db
[database app]
url = sqlite://app.db
[job to-jsonl]
task = archive
database = app
table = logs
age_column = at
older_than = 30d
archive_to = jsonl://archive/logs
transaction_budget = 2ms
pause = 2ms
CONF
for delay in 0.05 0.1 0.2 0.3 0.5; do
    interrupt KILL $delay "$UPKEEP" -q run to-jsonl
done
expect_status 0 "$UPKEEP" run to-jsonl
[ "$(sqlite3 app.db 'SELECT count(*) FROM logs')" = 0 ] || fail "rows left after archiving to files"
ids=$(zstd -dc archive/logs/*.jsonl.zst | sed -n 's/^{"id":\([0-9]*\),.*/\1/p')
[ "$(echo "$ids" | wc -l)" = 6000 ] || fail "expected 6000 archived lines, got $(echo "$ids" | wc -l)"
[ "$(echo "$ids" | sort -u | wc -l)" = 6000 ] || fail "duplicated rows in the archive files"
zstd -dc archive/logs/*.jsonl.zst > all.jsonl
grep -q '"message":"line, with \\"quotes\\" 17"' all.jsonl || fail "JSON content"
pass "killed archives to JSON Lines files: every row in exactly one file"
sed -i 's|archive_to = jsonl://archive/logs|archive_to = csv://archive/csv|' upkeep.conf
sqlite3 app.db "INSERT INTO logs VALUES (7000, $now - 400 * 86400, 'a, \"b\"')"
expect_status 0 "$UPKEEP" run to-jsonl --json
expect_contains "$OUT" '"archive_files": 1'
[ "$(zstd -dc archive/csv/*.csv.zst)" = $'id,at,message\n7000,'"$((now - 400 * 86400))"',"a, ""b"""' ] ||
    fail "CSV content: $(zstd -dc archive/csv/*.csv.zst)"
pass "archive to CSV files"
# An export recorded but not yet written (killed in between) is written on the next run.
sqlite3 archive/csv/.upkeep-staging.db "INSERT INTO logs(rowid, id, at, message, upkeep_export)
    VALUES (8000, 8000, 1, 'staged', 99); INSERT INTO upkeep_exports VALUES (99, 'logs-x-99.csv.zst');"
expect_status 0 "$UPKEEP" run to-jsonl
[ "$(zstd -dc archive/csv/logs-x-99.csv.zst | tail -1)" = "8000,1,staged" ] || fail "pending export not written"
[ "$(sqlite3 archive/csv/.upkeep-staging.db 'SELECT count(*) FROM logs; SELECT count(*) FROM upkeep_exports')" = $'0\n0' ] ||
    fail "staging not emptied"
pass "a recorded export is completed by the next run"
# The application keeps changing rows while they are archived: a row changed after it was
# copied must not be deleted with its stale copy. Every successful increment must survive,
# in the application's table or (for rows gone from it) in the archive.
sqlite3 app.db "CREATE TABLE counters(id INTEGER PRIMARY KEY, at INTEGER, v INTEGER, pad TEXT);
  WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 20000)
  INSERT INTO counters SELECT i, $now - 400 * 86400, 0, randomblob(300) FROM c;" >/dev/null
cat >> upkeep.conf <<CONF
[job counters]
task = archive
database = app
table = counters
age_column = at
older_than = 30d
archive_to = sqlite://archive/counters.db
transaction_budget = 5ms
pause = 5ms
CONF
touch updating
python3 - app.db > increments <<'PY' &
import random, sqlite3, sys, os
db = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)
done = 0
while os.path.exists("updating"):
    done += db.execute("UPDATE counters SET v = v + 1 WHERE id = ?", (random.randint(1, 20000),)).rowcount
print(done)
PY
updater=$!
sleep 0.2
expect_status 0 "$UPKEEP" run counters
rm updating
wait $updater
survived=$(sqlite3 app.db "ATTACH 'archive/counters.db' AS a;
  SELECT (SELECT coalesce(sum(v), 0) FROM main.counters)
       + (SELECT coalesce(sum(v), 0) FROM a.counters WHERE id NOT IN (SELECT id FROM main.counters))")
[ "$(cat increments)" -gt 0 ] || fail "the updater changed nothing"
[ "$survived" = "$(cat increments)" ] || fail "$(cat increments) increments made, $survived survived"
both=$(sqlite3 app.db "ATTACH 'archive/counters.db' AS a;
  SELECT count(*) FROM a.counters WHERE id IN (SELECT id FROM main.counters)")
[ "$both" = 0 ] || fail "$both rows left both in the table and in the archive"
pass "rows changed while being archived lose no change ($survived increments)"
