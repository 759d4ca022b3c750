#!/bin/bash
# kill -9 at many points during a purge: the database stays intact, no file is deleted while
# its row still exists, and a re-run finishes the work, files of already-deleted rows included.
source "$(dirname "$0")/lib.sh"
now=$(date +%s)
sqlite3 app.db "PRAGMA journal_mode=wal;
  CREATE TABLE forms(id INTEGER PRIMARY KEY, body TEXT, deleted_at INTEGER, attachment TEXT);
  WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 6000)
  INSERT INTO forms SELECT i, randomblob(300), CASE WHEN i % 4 THEN $now - 400 * 86400 END,
    'f/' || i FROM c;" >/dev/null
mkdir -p uploads/f
(cd uploads/f && seq 1 6000 | xargs touch)
cat > upkeep.conf <<CONF
[upkeep]
state = state/state.db
[database app]
url = sqlite://app.db
[job purge]
task = purge
database = app
table = forms
age_column = deleted_at
older_than = 180d
files_column = attachment
files_root = uploads
transaction_budget = 2ms
pause = 2ms
CONF
check_invariants() {
    [ "$(sqlite3 app.db 'PRAGMA integrity_check')" = ok ] || fail "integrity after kill"
    missing=$(sqlite3 app.db "SELECT id FROM forms" | while read -r id; do
        [ -e "uploads/f/$id" ] || echo "$id"; done | head -3)
    [ -z "$missing" ] || fail "file deleted while its row exists: $missing"
}
for delay in 0.05 0.1 0.15 0.2 0.3 0.4 0.5 0.7; do
    interrupt KILL $delay "$UPKEEP" -q run purge
    check_invariants
done
pass "8 killed purges: database intact, no file deleted before its row"
expect_status 0 "$UPKEEP" run purge
check_invariants
[ "$(sqlite3 app.db 'SELECT count(*) FROM forms WHERE deleted_at IS NOT NULL')" = 0 ] || fail "old rows left"
[ "$(ls uploads/f | wc -l)" = "$(sqlite3 app.db 'SELECT count(*) FROM forms')" ] ||
    fail "files of deleted rows left behind: $(ls uploads/f | wc -l) files, $(sqlite3 app.db 'SELECT count(*) FROM forms') rows"
[ ! -e state/purge/purge.pending ] || fail "journal left behind"
pass "a re-run finishes the work, files of earlier deleted rows included"
# A journal left by a run killed between its commit and its file removals: the file of the
# deleted row is removed, the file of a row that still exists is kept.
touch uploads/f/gone uploads/f/kept
sqlite3 app.db "INSERT INTO forms(id, attachment) VALUES (9000, 'f/kept')"
mkdir -p state/purge
printf '8999 %s\n9000 %s\n' "$(printf 'f/gone' | od -An -tx1 | tr -d ' \n')" \
    "$(printf 'f/kept' | od -An -tx1 | tr -d ' \n')" > state/purge/purge.pending
expect_status 0 "$UPKEEP" run purge --json
expect_contains "$OUT" '"files_recovered": 1'
[ ! -e uploads/f/gone ] || fail "the file of a deleted row was forgotten"
[ -e uploads/f/kept ] || fail "the file of an existing row was deleted"
[ ! -e state/purge/purge.pending ] || fail "journal left behind"
pass "a leftover journal is finished safely"
