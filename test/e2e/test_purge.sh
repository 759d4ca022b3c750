#!/bin/bash
# purge: each timestamp format, the extra where, cascades and a blocking foreign key, files
# inside and outside files_root, dry run, identifier injection.
source "$(dirname "$0")/lib.sh"
job() { # job TABLE AGE_COLUMN [extra lines]
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
${3:-}
CONF
}
now=$(date +%s)
# One table per timestamp format; row i is i days and an hour old: ids 30-100 (71 rows) are
# older than 30 days.
sqlite3 app.db "PRAGMA journal_mode=wal;
  CREATE TABLE t_iso(id INTEGER PRIMARY KEY, at TEXT);
  CREATE TABLE t_isoz(id INTEGER PRIMARY KEY, at TEXT);
  CREATE TABLE t_unix(id INTEGER PRIMARY KEY, at INTEGER);
  CREATE TABLE t_ms(id INTEGER PRIMARY KEY, at INTEGER);
  CREATE TABLE t_julian(id INTEGER PRIMARY KEY, at REAL);
  WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 100)
  INSERT INTO t_iso SELECT i, datetime($now - i * 86400 - 3600, 'unixepoch') FROM c;
  INSERT INTO t_isoz SELECT id, strftime('%Y-%m-%dT%H:%M:%SZ', at) FROM t_iso;
  INSERT INTO t_unix SELECT id, $now - id * 86400 - 3600 FROM t_iso;
  INSERT INTO t_ms SELECT id, ($now - id * 86400 - 3600) * 1000 FROM t_iso;
  INSERT INTO t_julian SELECT id, julianday(at) FROM t_iso;" >/dev/null
for spec in t_iso:iso8601 t_isoz:iso8601 t_unix:unix t_ms:unix_ms t_julian:julian; do
    table=${spec%%:*}
    job "$table" at
    expect_status 0 "$UPKEEP" run purge --json
    expect_contains "$OUT" "\"age_format\": \"${spec#*:}\""
    expect_contains "$OUT" '"rows_deleted": 71'
    [ "$(sqlite3 app.db "SELECT count(*), min(id), max(id) FROM $table")" = "29|1|29" ] ||
        fail "$table: wrong rows left"
done
pass "every timestamp format is detected and purged exactly"
# batch_size fixes the rows per transaction: 71 rows in batches of 10 are 8 transactions.
sqlite3 app.db "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 71)
  INSERT INTO t_unix SELECT 2000 + i, $now - 40 * 86400 FROM c"
job t_unix at "batch_size = 10"
expect_status 0 "$UPKEEP" run purge --json
expect_contains "$OUT" '"rows_deleted": 71'
expect_contains "$OUT" '"batches": 8'
pass "batch_size sets the rows per transaction"
# A number in a date column is never compared as a date: mixed columns need age_format, and
# a number stored as text (TEXT affinity) is not a date.
sqlite3 app.db "INSERT INTO t_iso VALUES (1000, 12345); INSERT INTO t_unix VALUES (1000, 'soon')"
job t_iso at
expect_status 1 "$UPKEEP" run purge
expect_contains "$ERR" "holds text that is not a date: '12345'"
job t_unix at
expect_status 1 "$UPKEEP" run purge
expect_contains "$ERR" "holds text that is not a date: 'soon'"
sqlite3 app.db "UPDATE t_unix SET at = '2020-01-01' WHERE id = 1000"
expect_status 1 "$UPKEEP" run purge
expect_contains "$ERR" "holds both text and numbers; set age_format"
job t_iso at "age_format = iso8601"
expect_status 0 "$UPKEEP" run purge
[ "$(sqlite3 app.db 'SELECT count(*) FROM t_iso WHERE id = 1000')" = 1 ] || fail "number compared as a date"
pass "numbers and text are never compared by accident"
# The extra where condition.
aged() { # aged TABLE EXTRA_COLUMNS SELECT_EXTRA: 100 rows, row i aged i days and an hour
    sqlite3 app.db "CREATE TABLE $1(id INTEGER PRIMARY KEY, at INTEGER$2);
      WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 100)
      INSERT INTO $1 SELECT i, $now - i * 86400 - 3600$3 FROM c;"
}
aged uploads ", status TEXT" ", CASE WHEN i % 2 THEN 'UPLOADED' ELSE 'PRINTED' END"
job uploads at "where = status = 'UPLOADED'"
expect_status 0 "$UPKEEP" run purge
[ "$(sqlite3 app.db "SELECT count(*) FROM uploads WHERE status = 'UPLOADED'")" = 15 ] ||
    fail "where: old UPLOADED rows left"
[ "$(sqlite3 app.db "SELECT count(*) FROM uploads WHERE status = 'PRINTED'")" = 50 ] || fail "where: PRINTED rows touched"
pass "where narrows the purge"
# Cascades run; a RESTRICT foreign key stops the job cleanly with nothing half-done.
aged parent "" ""
sqlite3 app.db "CREATE TABLE child(id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id) ON DELETE CASCADE);
  CREATE TABLE pinned(id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id) ON DELETE RESTRICT);
  INSERT INTO child SELECT id, id FROM parent;"
job parent at
expect_status 0 "$UPKEEP" run purge
[ "$(sqlite3 app.db 'SELECT count(*) FROM child')" = 29 ] || fail "cascade did not run"
sqlite3 app.db "INSERT INTO parent VALUES (500, $now - 90 * 86400); INSERT INTO pinned VALUES (1, 500);"
before=$(sqlite3 app.db 'SELECT count(*) FROM parent')
expect_status 1 "$UPKEEP" run purge
expect_contains "$ERR" "FOREIGN KEY constraint failed"
[ "$(sqlite3 app.db 'SELECT count(*) FROM parent')" = "$before" ] || fail "a failed batch was half-applied"
[ "$(sqlite3 app.db 'PRAGMA foreign_key_check')" = "" ] || fail "foreign keys broken"
pass "cascades run; a violation stops the job cleanly"
# Files: deleted after their rows, only inside files_root.
mkdir -p root/forms outside
echo keep > outside/secret.txt
ln -s ../outside/secret.txt root/forms/link-out.pdf
echo in > root/forms/target.pdf
ln -s target.pdf root/forms/link-in.pdf
mkdir root/forms/folder.pdf
sqlite3 app.db "CREATE TABLE forms(id INTEGER PRIMARY KEY, deleted_at TEXT, attachment TEXT);"
add() { sqlite3 app.db "INSERT INTO forms(deleted_at, attachment) VALUES (datetime($now - 90 * 86400, 'unixepoch'), '$1')"; }
for i in 1 2 3 4 5; do echo "file $i" > root/forms/$i.pdf; add "forms/$i.pdf"; done
add "../outside/secret.txt"
add "$SCRATCH/outside/secret.txt"
add "forms/link-out.pdf"
add "forms/link-in.pdf"
add "forms/folder.pdf"
add "forms/missing.pdf"
add "$SCRATCH/root/forms/target.pdf"
sqlite3 app.db "INSERT INTO forms(deleted_at, attachment) VALUES (datetime($now, 'unixepoch'), 'forms/young.pdf')"
echo young > root/forms/young.pdf
job forms deleted_at $'files_column = attachment\nfiles_root = root'
sum_before=$(sha256sum app.db; find root outside | sort | sha256sum)
expect_status 0 "$UPKEEP" run purge --dry-run --json
expect_contains "$OUT" '"rows_deleted": 12'
expect_contains "$OUT" '"files_deleted": 7'
expect_contains "$OUT" '"files_refused": 4'
expect_contains "$OUT" '"files_missing": 1'
[ "$(sha256sum app.db; find root outside | sort | sha256sum)" = "$sum_before" ] || fail "dry run changed something"
pass "dry run reports exactly and changes nothing"
expect_status 0 "$UPKEEP" run purge --json
expect_contains "$OUT" '"files_deleted": 7'
expect_contains "$OUT" '"files_refused": 4'
[ "$(cat outside/secret.txt)" = keep ] || fail "a file outside files_root was deleted"
[ -L root/forms/link-out.pdf ] || fail "a symlink leading out was deleted"
[ -d root/forms/folder.pdf ] || fail "a folder was deleted"
[ -e root/forms/young.pdf ] || fail "the file of a young row was deleted"
[ ! -e root/forms/1.pdf ] && [ ! -e root/forms/target.pdf ] || fail "files inside the root were not deleted"
[ "$(sqlite3 app.db 'SELECT count(*) FROM forms')" = 1 ] || fail "rows left"
pass "files go with their rows, and only inside files_root"
# A file another row still names stays, however either row spells it; the file of two going
# rows goes once both are gone.
rm -rf root outside; mkdir -p root/forms outside
sqlite3 app.db "DROP TABLE forms; CREATE TABLE forms(id INTEGER PRIMARY KEY, deleted_at TEXT, attachment TEXT);"
for f in shared both own; do echo "$f" > "root/forms/$f.pdf"; done
add forms/shared.pdf; add forms/both.pdf; add ./forms//both.pdf; add "$SCRATCH/root/forms/own.pdf"
sqlite3 app.db "INSERT INTO forms(deleted_at, attachment) VALUES (NULL, './forms//shared.pdf')"
job forms deleted_at $'files_column = attachment\nfiles_root = root'
expect_status 0 "$UPKEEP" run purge --dry-run --json
expect_contains "$OUT" '"files_kept": 1'
expect_contains "$OUT" '"files_deleted": 2'
expect_status 0 "$UPKEEP" run purge
expect_contains "$OUT" "files: 2 deleted"
expect_contains "$OUT" "1 kept (still referenced)"
expect_contains "$ERR" "keeping 'forms/shared.pdf': still referenced by another row"
[ -e root/forms/shared.pdf ] || fail "a file another row names was deleted"
[ ! -e root/forms/both.pdf ] && [ ! -e root/forms/own.pdf ] || fail "files no row names any more were kept"
pass "files other rows still name are kept"
# A folder inside files_root that is a symlink (to the outside, or even inside) is never
# followed: the row's file is refused, the outside file stays.
mkdir -p root/real; echo keep > outside/victim.pdf; echo in > root/real/in.pdf
ln -s ../outside root/out; ln -s real root/alias
add out/victim.pdf; add alias/in.pdf
expect_status 0 "$UPKEEP" run purge --json
expect_contains "$OUT" '"files_refused": 2'
[ -e outside/victim.pdf ] && [ -e root/real/in.pdf ] || fail "a file was reached through a symlinked folder"
pass "symlinked folders on the way are refused"
# Names from the config are identifiers, not SQL; unknown names are clear errors.
job "forms; DROP TABLE forms" deleted_at
expect_status 2 "$UPKEEP" run purge
expect_contains "$ERR" "invalid name 'forms; DROP TABLE forms'"
job nosuch deleted_at
expect_status 1 "$UPKEEP" run purge
expect_contains "$ERR" "no table 'nosuch'"
job forms nosuch
expect_status 1 "$UPKEEP" run purge
expect_contains "$ERR" "table 'forms' has no column 'nosuch'"
pass "identifiers are validated"
# An application that commits back to back holds the write lock almost all the time, freeing
# it for microseconds between commits: the purge still gets its turns and finishes.
sqlite3 app.db "CREATE TABLE busy(id INTEGER PRIMARY KEY, at INTEGER, v INTEGER);
  WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 2000)
  INSERT INTO busy SELECT i, $now - 400 * 86400, 0 FROM c;
  INSERT INTO busy VALUES (5000, $now, 0);" >/dev/null
touch writing
python3 - app.db > commits <<'PY' &
import os, sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], timeout=60, isolation_level=None)
done = 0
while os.path.exists("writing"):
    db.execute("BEGIN IMMEDIATE")
    db.execute("UPDATE busy SET v = v + 1 WHERE id = 5000")
    time.sleep(0.005)
    db.execute("COMMIT")
    done += 1
print(done)
PY
writer=$!
sleep 0.3
job busy at 'transaction_budget = 5ms'
expect_status 0 "$UPKEEP" run purge --json
rm writing
wait $writer
expect_contains "$OUT" '"rows_deleted": 2000'
[ "$(sqlite3 app.db 'SELECT v FROM busy')" = "$(cat commits)" ] || fail "the writer's commits were not all kept"
[ "$(cat commits)" -gt 10 ] || fail "the writer hardly ran: $(cat commits) commits"
pass "a writer committing back to back does not starve the purge ($(cat commits) commits meanwhile)"
