#!/bin/bash
# vacuum (full, skipped below the threshold, refused without disk space, incremental) and
# integrity (ok, and a damaged database fails the run).
source "$(dirname "$0")/lib.sh"
conf() { # conf DB [extra job lines]
    cat > upkeep.conf <<CONF
[upkeep]
state = state/state.db
[database app]
url = sqlite://$1
[job vacuum]
task = vacuum
database = app
${2:-}
[job check]
task = integrity
database = app
checks = quick, full, foreign_keys
CONF
}
make_db() { # make_db PATH AUTO_VACUUM
    sqlite3 "$1" "PRAGMA auto_vacuum = $2; PRAGMA journal_mode = wal; CREATE TABLE t(x);
      WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 20000)
      INSERT INTO t SELECT randomblob(400) FROM c; DELETE FROM t WHERE rowid <= 12000;
      PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
}
make_db app.db NONE
conf app.db
size_before=$(stat -c %s app.db)
sum=$(sha256sum < app.db)
expect_status 0 "$UPKEEP" run vacuum --dry-run
expect_contains "$OUT" "blocks the application's writers"
[ "$(sha256sum < app.db)" = "$sum" ] || fail "dry run changed the database"
expect_status 0 "$UPKEEP" run vacuum --json
expect_contains "$OUT" '"mode": "full"'
expect_contains "$OUT" '"analyzed": true'
[ "$(stat -c %s app.db)" -lt $((size_before * 7 / 10)) ] || fail "VACUUM did not shrink the file"
[ "$(sqlite3 app.db 'PRAGMA freelist_count')" = 0 ] || fail "free pages left"
expect_status 0 "$UPKEEP" history vacuum
expect_contains "$OUT" "reclaimed"
pass "full VACUUM reports size before, after and % reclaimed"
expect_status 0 "$UPKEEP" run vacuum --json
expect_contains "$OUT" '"mode": "skipped"'
expect_contains "$OUT" "below min_free_percent = 10"
pass "VACUUM is skipped when there is little to reclaim"
# Incremental: needs auto_vacuum = INCREMENTAL, then frees everything in small steps.
make_db inc.db INCREMENTAL
conf inc.db "vacuum = incremental"
expect_status 0 "$UPKEEP" run vacuum --json
expect_contains "$OUT" '"mode": "incremental"'
[ "$(sqlite3 inc.db 'PRAGMA freelist_count')" = 0 ] || fail "incremental vacuum left free pages"
[ "$(sqlite3 inc.db 'PRAGMA integrity_check')" = ok ] || fail "incremental vacuum damaged the database"
conf app.db "vacuum = incremental"
expect_status 1 "$UPKEEP" run vacuum
expect_contains "$ERR" "is not in auto_vacuum = INCREMENTAL mode"
pass "incremental vacuum"
# Integrity: ok, then a damaged page fails the run and the history says so.
conf app.db
expect_status 0 "$UPKEEP" run check --json
expect_contains "$OUT" '"integrity_ok": true'
cp app.db damaged.db
pages=$(sqlite3 damaged.db 'PRAGMA page_count')
dd if=/dev/urandom of=damaged.db bs=4096 seek=$((pages / 2)) count=2 conv=notrunc status=none
conf damaged.db
expect_status 1 "$UPKEEP" run check
expect_contains "$ERR" "has integrity problems"
expect_status 0 "$UPKEEP" history check --json
expect_contains "$OUT" '"result": "failed"'
pass "integrity problems fail the run and are recorded"
# Not enough disk for a full VACUUM: refused before it starts.
mkdir small
if mount -t tmpfs -o size=3m tmpfs small 2>/dev/null; then
    trap 'umount "$SCRATCH/small" 2>/dev/null; cleanup_scratch' EXIT
    sqlite3 small/app.db "PRAGMA journal_mode = OFF; CREATE TABLE t(x);
      WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 5000)
      INSERT INTO t SELECT randomblob(400) FROM c; DELETE FROM t WHERE rowid <= 3000;" >/dev/null
    conf small/app.db
    sum=$(sha256sum < small/app.db)
    expect_status 1 "$UPKEEP" run vacuum
    expect_contains "$ERR" "VACUUM needs about"
    [ "$(sha256sum < small/app.db)" = "$sum" ] || fail "refused VACUUM changed the database"
    pass "VACUUM refused without the disk space for it"
else
    echo "skip: cannot mount a small tmpfs for the disk-space check"
fi
