#!/bin/bash
# Reports and exports on SQLite: a query's rows in the run's summary (in column order), its
# output file in the format its name gives (CSV, JSON Lines, JSON; zstd, gzip), every value
# read back as it was stored; export of whole tables with {table}; count_by in health and
# metrics. A failed query leaves no file.
source "$(dirname "$0")/lib.sh"
sqlite3 app.db "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, score REAL, data BLOB, note TEXT);
INSERT INTO t VALUES (1, 'plain', 1.5, x'00ff', NULL), (2, 'comma, \"quote\"', 0.1, NULL, ''),
    (3, 'line
break', 1e300, x'', 'x'), (4, 'big', 9007199254740993, NULL, NULL);
CREATE TABLE jobs(id INTEGER PRIMARY KEY, status TEXT);
INSERT INTO jobs(status) VALUES ('done'), ('done'), ('done'), ('failed'), (NULL);"
cat > upkeep.conf <<'CONF'
[upkeep]
state = state/state.db
[database app]
url = sqlite://app.db
count_by = jobs.status
[job scores]
task = report
database = app
query = SELECT id, name, score, data, note FROM t ORDER BY id
output = out/scores-{date}.csv
[job all-json]
task = report
database = app
query = SELECT * FROM t ORDER BY id
output = out/t.json.gz
[job dump]
task = export
database = app
tables = t, jobs
output = out/{table}.jsonl.zst
[job broken]
task = report
database = app
query = SELECT nosuch FROM t
output = out/broken.csv
CONF
mkdir out
expect_status 0 "$UPKEEP" check
expect_status 0 "$UPKEEP" run scores
expect_contains "$OUT" "report: 4 rows, written to"
expect_contains "$OUT" "$(printf 'id\tname\tscore\tdata\tnote')"
csv=$(ls out/scores-*.csv)
[ "$csv" = "out/scores-$(date +%Y-%m-%d).csv" ] || fail "{date}: $csv"
# Python's csv module reads every field back; REALs have 17 digits, bytes \x and hex.
python3 - "$csv" <<'PY' || fail "the CSV does not read back: $(cat "$csv")"
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline='')))
assert rows[0] == ['id', 'name', 'score', 'data', 'note'], rows[0]
assert rows[2][1] == 'comma, "quote"' and rows[3][1] == 'line\nbreak', rows
assert float(rows[1][2]) == 1.5 and float(rows[2][2]) == 0.1 and float(rows[3][2]) == 1e300, rows
assert rows[1][3] == '\\x00ff' and rows[3][3] == '\\x' and rows[1][4] == '' and rows[2][4] == '', rows
PY
expect_status 0 "$UPKEEP" --json run scores
[ "$(jq -c '.[0].summary.columns' <<< "$OUT")" = '["id","name","score","data","note"]' ] ||
    fail "summary columns: $OUT"
[ "$(jq -c '.[0].summary.rows[0]' <<< "$OUT")" = '[1,"plain",1.5,{"hex":"00ff"},null]' ] ||
    fail "summary row: $(jq -c '.[0].summary.rows[0]' <<< "$OUT")"
expect_status 0 "$UPKEEP" run all-json
gzip -dc out/t.json.gz | jq -e '.[3] == {"id": 4, "name": "big", "score": 9007199254740992, "data": null, "note": null}
    and .[2].score == 1e300 and .[2].data == {"hex": ""}' >/dev/null || fail "JSON array: $(gzip -dc out/t.json.gz)"
[ "$(gzip -dc out/t.json.gz | jq length)" = 4 ] || fail "the JSON array holds $(gzip -dc out/t.json.gz | jq length) rows"
pass "report: rows in the summary in column order, CSV and gzip'd JSON files that read back"

expect_status 0 "$UPKEEP" run dump
expect_contains "$OUT" "exported 9 rows to 2 files"
[ "$(zstd -qdc out/t.jsonl.zst | wc -l)" = 4 ] && [ "$(zstd -qdc out/jobs.jsonl.zst | wc -l)" = 5 ] ||
    fail "export files"
[ "$(zstd -qdc out/t.jsonl.zst | sed -n 2p | jq -r .name)" = 'comma, "quote"' ] || fail "export values"
pass "export: each table to its own file, JSON Lines compressed with zstd"

expect_status 0 "$UPKEEP" --json health
[ "$(jq -r '.checks[] | select(.check == "rows_by" and .subject == "app.jobs.status=done") | .value' <<< "$OUT")" = 3 ] ||
    fail "count_by in health: $OUT"
expect_status 0 "$UPKEEP" metrics
expect_contains "$OUT" 'upkeep_table_rows_by_value{table="app.jobs",column="status",value="done"} 3'
expect_contains "$OUT" 'upkeep_table_rows_by_value{table="app.jobs",column="status",value="NULL"} 1'
promtool check metrics <<< "$OUT" || fail "promtool rejected the metrics"
pass "count_by: rows per value in health and metrics"

expect_status 1 "$UPKEEP" run broken
expect_contains "$ERR" "no such column: nosuch"
[ ! -e out/broken.csv ] && [ -z "$(ls -A out | grep upkeep)" ] || fail "a failed report left a file: $(ls -A out)"
pass "a failed query leaves no file"


# upkeep import reads back what export and report write: every value as it was, into a table
# of the same shape; a refused record (a NOT NULL, a duplicate key) imports nothing and says
# which record; --upsert updates rows by primary key.
sqlite3 app.db "CREATE TABLE t2(id INTEGER PRIMARY KEY, name TEXT NOT NULL, score REAL, data BLOB, note TEXT)"
expect_status 0 "$UPKEEP" run dump
expect_status 0 "$UPKEEP" import t2 out/t.jsonl.zst
expect_contains "$OUT" "imported 4 records from 'out/t.jsonl.zst' into t2 (app)"
[ "$(sqlite3 app.db "SELECT quote(id), quote(name), quote(score), quote(data), quote(note) FROM t ORDER BY id")" = \
  "$(sqlite3 app.db "SELECT quote(id), quote(name), quote(score), quote(data), quote(note) FROM t2 ORDER BY id")" ] ||
    fail "the JSON Lines import differs: $(sqlite3 app.db 'SELECT * FROM t2')"
sqlite3 app.db "DELETE FROM t2"
expect_status 0 "$UPKEEP" import t2 "$csv"
[ "$(sqlite3 app.db "SELECT quote(name), quote(note) FROM t2 ORDER BY id")" = \
  "$(sqlite3 app.db "SELECT quote(name), quote(note) FROM t ORDER BY id")" ] ||
    fail "the CSV import differs: $(sqlite3 app.db 'SELECT quote(name), quote(note) FROM t2')"
gzip -dc out/t.json.gz > out/t.json
expect_status 1 "$UPKEEP" import t2 out/t.json
expect_contains "$ERR" "'out/t.json' into t2: nothing imported: record 1: UNIQUE constraint failed: t2.id"
[ "$(sqlite3 app.db "SELECT count(*) FROM t2")" = 4 ] || fail "a refused import changed the table"
printf '{"id": 7, "name": "new"}\n{"id": 8, "name": null}\n' > out/bad.jsonl
expect_status 1 "$UPKEEP" import t2 out/bad.jsonl
expect_contains "$ERR" "record 2: NOT NULL constraint failed: t2.name"
[ "$(sqlite3 app.db "SELECT count(*) FROM t2 WHERE id = 7")" = 0 ] || fail "record 1 of a refused file stayed"
printf '{"id": 1, "name": "renamed"}\n{"id": 9, "name": "added"}\n' > out/up.jsonl
expect_status 0 "$UPKEEP" import t2 out/up.jsonl --upsert
[ "$(sqlite3 app.db "SELECT name, score FROM t2 WHERE id = 1")" = "renamed|1.5" ] &&
    [ "$(sqlite3 app.db "SELECT name FROM t2 WHERE id = 9")" = added ] || fail "upsert: $(sqlite3 app.db 'SELECT * FROM t2')"
printf 'id,name\n10,"broken\n' > out/broken.csv
expect_status 1 "$UPKEEP" import t2 out/broken.csv
expect_contains "$ERR" "record 1: a quoted field never ends"
expect_status 1 "$UPKEEP" import t2 out/missing.jsonl
[ "$ERR" = "upkeep: unable to read 'out/missing.jsonl': No such file or directory" ] ||
    fail "a missing file: $ERR"
expect_status 2 "$UPKEEP" import t2 out/t.txt
expect_contains "$ERR" "the name says no format"
pass "import: export's files back, all or nothing per file with the record named, --upsert by key"
