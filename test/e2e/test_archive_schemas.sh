#!/bin/bash
# Archive and purge on schemas as real applications write them: no value or row is ever lost.
# A batch whose delete fails leaves its rows only in the source; CSV and JSON Lines read back
# exactly (REALs to the bit, NULL vs '', quoting, infinities, non-UTF-8 text, NUL bytes,
# blobs); generated columns are archived; a column the application adds is followed; ON
# DELETE CASCADE children are never deleted unarchived by accident; microsecond epochs, a
# column named rowid, names as SQLite spells them, and UTC offsets.
source "$(dirname "$0")/lib.sh"
now=$(date +%s)
old=$((now - 90 * 86400))
conf() { # conf TABLE ARCHIVE_TO [extra lines]
    cat > upkeep.conf <<CONF
[upkeep]
state = state/state.db
[database app]
url = sqlite://app.db
[job archive]
task = archive
database = app
table = $1
age_column = at
older_than = 30d
archive_to = $2
${3:-}
CONF
}
# A foreign key refuses the delete of one row: the batch keeps all its rows in the source, and
# none of them stays in the archive.
sqlite3 app.db "PRAGMA journal_mode=wal;
  CREATE TABLE orders(id INTEGER PRIMARY KEY, at INTEGER);
  CREATE TABLE lines(id INTEGER PRIMARY KEY, order_id INTEGER REFERENCES orders(id) ON DELETE RESTRICT);
  WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 830)
  INSERT INTO orders SELECT i, $old FROM c;
  INSERT INTO lines VALUES (1, 415);" >/dev/null
conf orders sqlite://archive/a.db batch_size=10000
expect_status 1 "$UPKEEP" run archive
expect_contains "$ERR" "FOREIGN KEY constraint failed"
expect_contains "$ERR" "their 830 copies were dropped from the archive"
[ "$(sqlite3 app.db 'SELECT count(*) FROM orders')" = 830 ] || fail "rows left the source"
[ "$(sqlite3 archive/a.db 'SELECT count(*) FROM orders')" = 0 ] || fail "rows are in both places"
pass "a failed batch leaves its rows in one place only"
# ON DELETE CASCADE children: refused unless cascade = yes.
sqlite3 app.db "CREATE TABLE notes(id INTEGER PRIMARY KEY, order_id INTEGER REFERENCES orders(id) ON DELETE CASCADE)"
expect_status 1 "$UPKEEP" run archive
expect_contains "$ERR" "would also delete rows of 'notes' (ON DELETE CASCADE) without archiving them"
pass "archiving a table with ON DELETE CASCADE children is refused unless cascade = yes"
# CSV and JSON Lines read back exactly.
sqlite3 app.db "CREATE TABLE vals(id INTEGER PRIMARY KEY, at INTEGER, r REAL, t TEXT, b BLOB,
    \"odd, name\" TEXT, g INTEGER GENERATED ALWAYS AS (id * 10) VIRTUAL);
  INSERT INTO vals(id, at, r, t, b, \"odd, name\") VALUES
    (1, $old, 1.7976931348623157e308, NULL, x'00ff', 'a'),
    (2, $old, 0.1, '', NULL, 'line1
line2'),
    (3, $old, 1e999, 'say \"hi\", ok', NULL, NULL),
    (4, $old, -1e999, CAST(x'61006263' AS TEXT), NULL, NULL),
    (5, $old, 2.5, CAST(x'c328ff' AS TEXT), NULL, NULL);"
conf vals csv://archive/csv
expect_status 0 "$UPKEEP" run archive
zstd -dc archive/csv/*.csv.zst > vals.csv
python3 - <<'PY' || fail "CSV does not read back: $(cat vals.csv)"
import csv
rows = list(csv.reader(open("vals.csv", newline="", encoding="latin-1")))
assert rows[0] == ["id", "at", "r", "t", "b", "odd, name", "g"], rows[0]
by_id = {r[0]: r for r in rows[1:]}
assert float(by_id["1"][2]) == 1.7976931348623157e308, by_id["1"]
assert by_id["1"][3] == "" and by_id["1"][4] == "\\x00ff" and by_id["1"][6] == "10", by_id["1"]
assert float(by_id["2"][2]) == 0.1 and by_id["2"][5] == "line1\nline2", by_id["2"]
assert by_id["3"][2] == "Infinity" and by_id["3"][3] == 'say "hi", ok', by_id["3"]
assert by_id["4"][2] == "-Infinity", by_id["4"]
PY
grep -q '^2,[0-9]*,0.10000000000000001,"",' vals.csv || fail "the empty string is not \"\": $(grep '^2,' vals.csv)"
grep -q '^1,[0-9]*,1.7976931348623157e+308,,' vals.csv || fail "NULL is not an empty field"
sqlite3 app.db "INSERT INTO vals(id, at, r, t, b) SELECT id, at, r, t, b FROM (SELECT 1 AS id, $old AS at,
  1.7976931348623157e308 AS r, NULL AS t, x'00ff' AS b UNION ALL SELECT 3, $old, 1e999, 'x', NULL
  UNION ALL SELECT 4, $old, -1e999, CAST(x'61006263' AS TEXT), NULL UNION ALL SELECT 5, $old, 2.5,
  CAST(x'c328ff' AS TEXT), NULL)"
conf vals jsonl://archive/jsonl
expect_status 0 "$UPKEEP" run archive
zstd -dc archive/jsonl/*.jsonl.zst > vals.jsonl
python3 - <<'PY' || fail "JSON Lines lose values: $(cat vals.jsonl)"
import json
rows = {r["id"]: r for r in map(json.loads, open("vals.jsonl"))}
assert len(rows) == 4, rows
assert rows[1]["r"] == 1.7976931348623157e308 and rows[1]["t"] is None and rows[1]["b"] == {"hex": "00ff"}
assert rows[1]["g"] == 10, rows[1]
assert rows[3]["r"] == {"real": "Infinity"}, rows[3]
assert rows[4]["r"] == {"real": "-Infinity"} and rows[4]["t"] == "a\x00bc", rows[4]
assert rows[5]["t"] == {"text_hex": "c328ff"}, rows[5]
PY
pass "CSV and JSON Lines keep every value (REALs, NULL vs '', quoting, Inf, NUL, non-UTF-8, blobs, generated columns)"
# The application adds a column: the archive follows (an archive table, JSON keys, CSV header).
sqlite3 app.db "CREATE TABLE logs(id INTEGER PRIMARY KEY, at INTEGER, msg TEXT);
  INSERT INTO logs VALUES (1, $old, 'one')"
conf logs sqlite://archive/logs.db
expect_status 0 "$UPKEEP" run archive
sqlite3 app.db "ALTER TABLE logs ADD COLUMN level TEXT; INSERT INTO logs VALUES (2, $old, 'two', 'warn')"
expect_status 0 "$UPKEEP" run archive
[ "$(sqlite3 archive/logs.db 'SELECT group_concat(id || ":" || coalesce(level, "-")) FROM logs')" = "1:-,2:warn" ] ||
    fail "the archive did not follow the new column"
pass "a column the application adds is added to the archive"
# An existing archive in rollback-journal mode keeps its mode.
sqlite3 archive/keep.db "PRAGMA journal_mode=delete; CREATE TABLE logs(id INTEGER PRIMARY KEY, at INTEGER, msg TEXT, level TEXT)" >/dev/null
sqlite3 app.db "INSERT INTO logs VALUES (3, $old, 'three', NULL)"
conf logs sqlite://archive/keep.db
expect_status 0 "$UPKEEP" run archive
[ "$(sqlite3 archive/keep.db 'PRAGMA journal_mode')" = delete ] || fail "the archive's journal mode was changed"
pass "an existing archive keeps its journal mode"
# Microsecond epochs (Firefox's visit_date), a column named rowid, names spelled as SQLite
# matches them, and quoted names.
sqlite3 app.db "CREATE TABLE moz_visits(id INTEGER PRIMARY KEY, visit_date INTEGER);
  WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 100)
  INSERT INTO moz_visits SELECT i, ($now - i * 86400 - 3600) * 1000000 FROM c;
  CREATE TABLE \"Order Details\"(\"rowid\" TEXT, at INTEGER);
  INSERT INTO \"Order Details\" VALUES ('a', $old), ('b', $now);
  CREATE TABLE Orders2(id INTEGER PRIMARY KEY, At INTEGER); INSERT INTO Orders2 VALUES (1, $old);"
purge() { # purge TABLE AGE_COLUMN
    cat > upkeep.conf <<CONF
[upkeep]
state = state/state.db
[database app]
url = sqlite://app.db
[job purge]
task = purge
database = app
table = $1
age_column = $2
older_than = 30d
CONF
}
purge moz_visits visit_date
expect_status 0 "$UPKEEP" run purge --json
expect_contains "$OUT" '"age_format": "unix_us"'
expect_contains "$OUT" '"rows_deleted": 71'
purge '"Order Details"' at
expect_status 0 "$UPKEEP" run purge --json
expect_contains "$OUT" '"rows_deleted": 1'
[ "$(sqlite3 app.db 'SELECT "rowid" FROM "Order Details"')" = b ] || fail "the wrong row went"
purge orders2 at
expect_status 0 "$UPKEEP" run purge --json
expect_contains "$OUT" '"rows_deleted": 1'
pass "microsecond epochs, a column named rowid, case-insensitive and quoted names"
# Times with UTC offsets are compared as instants; the dry run and the run agree. The cutoff is
# put at 23:00 UTC, so that a time an hour before it, written at +14:00, has the next day's
# date (a comparison of dates as text would miss it).
cutoff=$(( (now - 30 * 86400) / 86400 * 86400 + 23 * 3600 ))
[ "$cutoff" -lt "$now" ] || cutoff=$((cutoff - 86400))
sqlite3 app.db "CREATE TABLE tz(id INTEGER PRIMARY KEY, at TEXT);
  INSERT INTO tz(at) VALUES
    (strftime('%Y-%m-%dT%H:%M:%S', $cutoff - 3600, 'unixepoch', '+2 hours') || '+02:00'),
    (strftime('%Y-%m-%dT%H:%M:%S', $cutoff + 3600, 'unixepoch', '+2 hours') || '+02:00'),
    (strftime('%Y-%m-%dT%H:%M:%S', $cutoff - 3600, 'unixepoch', '-10 hours') || '-10:00'),
    (strftime('%Y-%m-%dT%H:%M:%S', $cutoff + 3600, 'unixepoch', '-10 hours') || '-10:00'),
    (strftime('%Y-%m-%dT%H:%M:%S', $cutoff - 3600, 'unixepoch', '+14 hours') || '+14:00')"
purge tz at
sed -i "s/^older_than = .*/older_than = $((now - cutoff))s/" upkeep.conf
expect_status 0 "$UPKEEP" run purge --dry-run --json
expect_contains "$OUT" '"rows_deleted": 3'
expect_status 0 "$UPKEEP" run purge --json
expect_contains "$OUT" '"rows_deleted": 3'
[ "$(sqlite3 app.db 'SELECT count(*) FROM tz')" = 2 ] || fail "rows with UTC offsets were purged wrongly"
pass "times with UTC offsets are compared as instants; dry run and run agree"
