#!/bin/bash
# Backup and restore round-trip, in WAL and rollback-journal mode; restore never overwrites
# by accident; --in-place keeps the old database aside; a missing database is a clear error.
source "$(dirname "$0")/lib.sh"
write_config
for mode in wal delete; do
    rm -rf app.db* repo state restored.db
    "$GENDB" app.db --size-mb 8 --journal $mode >/dev/null
    expect_status 0 "$UPKEEP" backup app --json
    id=$(echo "$OUT" | sed -n 's/.*"id": "\([^"]*\)".*/\1/p')
    [ -n "$id" ] || fail "no backup id in: $OUT"
    expect_status 0 "$UPKEEP" restore "$id" --database app --to restored.db
    # Byte for byte: only page 1's header counters may differ from the source file.
    diffs=$({ cmp -l app.db restored.db || true; } | awk '$1 > 100' | wc -l)
    [ "$diffs" -eq 0 ] || fail "$mode: restored file differs beyond the header in $diffs bytes"
    [ "$(stat -c %s app.db)" -eq "$(stat -c %s restored.db)" ] || fail "$mode: sizes differ"
    [ "$(sqlite3 restored.db 'PRAGMA integrity_check')" = ok ] || fail "$mode: integrity"
    [ "$(sqlite3 restored.db .dump | sha256sum)" = "$(sqlite3 app.db .dump | sha256sum)" ] ||
        fail "$mode: restored content differs"
    [ "$(sqlite3 restored.db 'PRAGMA journal_mode')" = "$mode" ] || fail "$mode: journal mode"
    # A second restore to the same path is refused and leaves the file alone.
    before=$(sha256sum < restored.db)
    expect_status 1 "$UPKEEP" restore latest --database app --to restored.db
    expect_contains "$ERR" "already exists (use --force to replace it)"
    [ "$(sha256sum < restored.db)" = "$before" ] || fail "refused restore changed the file"
    expect_status 0 "$UPKEEP" restore latest --database app --to restored.db --force
    pass "$mode: backup and restore round-trip"
done
# No temporary files are left beside the target.
[ -z "$(ls -A | grep upkeep-restore || true)" ] || fail "temporary restore file left behind"
# In place: the old database (with its -wal/-shm) is kept aside.
sqlite3 app.db "DELETE FROM forms WHERE id < 100"
expect_status 0 "$UPKEEP" restore latest --database app --in-place
expect_contains "$OUT" "kept as"
aside=$(ls app.db.before-restore-* | head -1)
[ -n "$aside" ] || fail "old database not kept aside"
[ "$(sqlite3 app.db 'SELECT count(*) FROM forms WHERE id < 100')" = 99 ] || fail "in-place restore content"
[ "$(sqlite3 "$aside" 'SELECT count(*) FROM forms WHERE id < 100')" = 0 ] || fail "aside copy content"
pass "in-place restore keeps the old database aside"
# The restored database has the owner, group and mode the old file had.
chown nobody:nogroup app.db && chmod 640 app.db
expect_status 0 "$UPKEEP" restore latest --database app --in-place
[ "$(stat -c '%U:%G %a' app.db)" = "nobody:nogroup 640" ] || fail "restored as $(stat -c '%U:%G %a' app.db)"
expect_status 0 "$UPKEEP" restore latest --database app --to other.db
[ "$(stat -c %a other.db)" = 600 ] || fail "a new file is not private: $(stat -c %a other.db)"
pass "a replaced database keeps its owner, group and mode"
# Killed between keeping the old file aside and putting the new one in place: the path still
# holds a database (the old one), and the next restore removes the temporary file left.
sum=$(sha256sum < app.db)
UPKEEP_CRASH_AT=restore-swap expect_status 137 "$UPKEEP" restore latest --database app --in-place
[ -e app.db ] && [ "$(sqlite3 app.db 'PRAGMA quick_check')" = ok ] || fail "no database at the path after a kill"
[ "$(sha256sum < app.db)" = "$sum" ] || fail "the database at the path is neither the old nor the new"
ls -A | grep -q 'upkeep-restore-' || fail "the kill left no temporary file (the test proves nothing)"
expect_status 0 "$UPKEEP" restore latest --database app --in-place
expect_contains "$OUT" "removed 1 temporary files that killed restores had left"
[ -z "$(ls -A | grep upkeep-restore || true)" ] || fail "temporary files of a killed restore stay"
pass "in place, the path always holds the old or the new database; leftovers are removed"
# A tampered but self-consistent manifest (two parts of the image swapped, hashes recomputed): every chunk
# checks out, the database check does not, and nothing is written.
rm -f app.db.before-restore-* other.db
expect_status 0 "$UPKEEP" backup app --tag tamper
id=$(ls repo/snapshots | tail -1)
python3 "$HELPERS/tamper_manifest.py" "repo/snapshots/$id" 1 2
expect_status 1 "$UPKEEP" restore "$id" --database app --to tampered.db
expect_contains "$ERR" "the restored database fails its check"
[ ! -e tampered.db ] || fail "a malformed database was written"
expect_status 0 "$UPKEEP" restore "$id" --database app --to tampered.db --no-check
expect_contains "$OUT" "database check skipped"
rm -f tampered.db
pass "restore checks the database before it gets its name (--no-check skips)"
# A missing database: clear error, exit 1, nothing published.
mv app.db gone.db
rm -f app.db-wal app.db-shm
n_before=$(ls repo/snapshots | wc -l)
expect_status 1 "$UPKEEP" backup app
expect_contains "$ERR" "database 'app': unable to open database file"
[ "$(ls repo/snapshots | wc -l)" -eq "$n_before" ] || fail "a failed backup published a manifest"
pass "missing database is a clear error"
# Restore of an unknown id.
expect_status 1 "$UPKEEP" restore 20200101T000000Z-000000 --database app --to x.db
expect_contains "$ERR" "no backup '20200101T000000Z-000000'"
[ ! -e x.db ] || fail "x.db created"
# An unknown repository format version is refused.
sed -i 's/"version":2/"version":99/' repo/config
expect_status 1 "$UPKEEP" backups
expect_contains "$ERR" "has format version 99; this upkeep reads versions 1 to 2"
pass "unknown repository version refused"
# Progress: drawn on a terminal, absent when output is a pipe or --quiet.
mv gone.db app.db
sed -i 's/"version":99/"version":2/' repo/config
if command -v script >/dev/null; then
    script -qec "'$UPKEEP' backup app" /dev/null > tty.out
    grep -q 'backup app: .*%' tty.out || fail "no progress on a terminal: $(cat tty.out)"
    script -qec "'$UPKEEP' -q backup app" /dev/null > tty-quiet.out
    ! grep -q '%' tty-quiet.out || fail "progress shown despite --quiet"
    expect_status 0 "$UPKEEP" backup app
    case "$ERR" in *%*) fail "progress written to a pipe" ;; esac
    pass "progress only on a terminal"
fi
# Every page size round-trips, including images that end in a partial chunk.
for ps in 512 1024 4096 16384 65536; do
    rm -rf app.db* repo state restored.db
    sqlite3 app.db "PRAGMA page_size=$ps; PRAGMA journal_mode=wal; CREATE TABLE t(x);
        WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 5000)
        INSERT INTO t SELECT randomblob(100) FROM c;" >/dev/null
    expect_status 0 "$UPKEEP" backup app
    expect_status 0 "$UPKEEP" restore latest --database app --to restored.db
    [ "$(sqlite3 restored.db 'PRAGMA integrity_check')" = ok ] || fail "page size $ps: integrity"
    [ "$(sqlite3 restored.db 'SELECT count(*) FROM t')" = 5000 ] || fail "page size $ps: rows"
    [ "$(stat -c %s restored.db)" = "$(stat -c %s app.db)" ] || fail "page size $ps: size"
done
pass "page sizes 512 to 65536 round-trip"
# A hot rollback journal (a writer killed mid-transaction) is named, with what to do.
sqlite3 hot.db "PRAGMA journal_mode=delete; CREATE TABLE t(x); INSERT INTO t VALUES (1)" >/dev/null
(python3 -c "
import os, signal, sqlite3
db = sqlite3.connect('hot.db', isolation_level=None)
db.execute('PRAGMA cache_size=1')
db.execute('BEGIN')
for i in range(3000):
    db.execute('INSERT INTO t VALUES (randomblob(1000))')
os.kill(os.getpid(), signal.SIGKILL)
" || true) 2>/dev/null
[ -s hot.db-journal ] || fail "no hot journal was made (the test proves nothing)"
sed -i 's|url = sqlite://app.db|url = sqlite://hot.db|' upkeep.conf
expect_status 1 "$UPKEEP" backup app
expect_contains "$ERR" "has a hot rollback journal ('hot.db-journal': a writer stopped in the middle of a transaction)"
pass "a hot rollback journal is named, with what to do"

# Rollback to the backup taken before an update: restore latest --tag picks the newest backup
# carrying the tag, not the newest backup.
sed -i 's|url = sqlite://hot.db|url = sqlite://tagged.db|' upkeep.conf
sqlite3 tagged.db "CREATE TABLE prices(v); INSERT INTO prices VALUES (10), (20)"
expect_status 0 "$UPKEEP" backup app --tag pre-update
sqlite3 tagged.db "UPDATE prices SET v = 0"
expect_status 0 "$UPKEEP" backup app
expect_status 0 "$UPKEEP" restore latest --tag pre-update --database app --to rollback.db
[ "$(sqlite3 rollback.db "SELECT sum(v) FROM prices")" = 30 ] || fail "the rollback is not the tagged backup"
expect_status 1 "$UPKEEP" restore latest --tag no-such-tag --database app --to other.db
expect_contains "$ERR" "no backups of database app tagged no-such-tag found"
expect_status 0 "$UPKEEP" --json backups --tag pre-update
[ "$(jq length <<< "$OUT")" = 1 ] && [ "$(jq -r '.[0].tags' <<< "$OUT")" = pre-update ] ||
    fail "backups --tag: $OUT"
expect_status 0 "$UPKEEP" backups --tag pre-update
[ "$(grep -c pre-update <<< "$OUT")" = 1 ] || fail "backups --tag lists: $OUT"
pass "restore latest --tag restores the newest backup carrying the tag"

# A version 1 repository (made by an upkeep before format 2) stays version 1: backups into it
# write version 1 manifests, which it can still read, and everything works on it.
mkdir -p v1repo
printf '{"format":"upkeep-repository","version":1,"id":"0123456789abcdef0123456789abcdef","chunk_hash":"sha256"}\n' > v1repo/config
printf '[repository old]\nurl = file://v1repo\nkeep_last = 1\n' >> upkeep.conf
expect_status 0 "$UPKEEP" backup app --repository old
sqlite3 tagged.db "UPDATE prices SET v = 5"
expect_status 0 "$UPKEEP" backup app --repository old
for m in v1repo/snapshots/*; do [ "$(head -c 8 "$m")" = UKSNAP1 ] || fail "a version 1 repository got a version 2 manifest"; done
grep -q '"version":1' v1repo/config || fail "the repository's version changed"
expect_status 0 "$UPKEEP" verify latest --repository old
expect_status 0 "$UPKEEP" restore latest --database app --repository old --to from-v1.db
[ "$(sqlite3 from-v1.db "SELECT sum(v) FROM prices")" = 10 ] || fail "the restore from the version 1 repository is wrong"
expect_status 0 "$UPKEEP" prune --repository old
[ "$(ls v1repo/snapshots | wc -l)" = 1 ] || fail "prune did not apply keep_last in the version 1 repository"
# and a version 2 repository's manifests are version 2
[ "$(head -c 8 "repo/snapshots/$(ls repo/snapshots | tail -1)")" = UKSNAP2 ] || fail "a new repository does not get version 2 manifests"
pass "a version 1 repository stays version 1 and works; new repositories are version 2"

# A backup records which of the files the database's rows name (files_column of its purge
# jobs) were missing when it was taken; the run's summary and verify say so.
mkdir -p refs/uploads && echo a > refs/uploads/a.pdf && echo c > refs/uploads/c.pdf
sqlite3 refs/app.db "CREATE TABLE docs(id INTEGER PRIMARY KEY, path TEXT, deleted_at TEXT);
    INSERT INTO docs(path) VALUES ('a.pdf'), ('b.pdf'), ('c.pdf'), (NULL)"
(cd refs && write_config)
cat >> refs/upkeep.conf <<'CONF'
[job purge-docs]
task = purge
database = app
table = docs
age_column = deleted_at
older_than = 30d
files_column = path
files_root = uploads
CONF
expect_status 0 "$UPKEEP" -c refs/upkeep.conf run nightly
expect_contains "$OUT" "1 of the files its rows name were missing"
expect_status 0 "$UPKEEP" -c refs/upkeep.conf --json history nightly --limit 1
[ "$(jq -r '.[0].summary.files_checked' <<< "$OUT")" = 3 ] || fail "files checked: $OUT"
expect_status 0 "$UPKEEP" -c refs/upkeep.conf verify latest
expect_contains "$OUT" "1 files its rows name were missing when it was taken (e.g. docs.path: b.pdf)"
expect_status 0 "$UPKEEP" -c refs/upkeep.conf --json verify latest
[ "$(jq -r '.[0].files_missing_at_backup' <<< "$OUT")" = 1 ] || fail "verify --json: $OUT"
pass "a backup records the referenced files that were missing; verify reports them"
