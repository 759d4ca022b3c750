#!/bin/bash
# kill -9 at many points during backup and during prune: no partial backup is listed, every
# listed backup verifies, and the next runs work.
source "$(dirname "$0")/lib.sh"
RETENTION="keep_last = 1" write_config
"$GENDB" app.db --size-mb 40 >/dev/null
for delay in 0.01 0.03 0.05 0.08 0.12 0.17 0.25 0.35; do
    interrupt KILL $delay "$UPKEEP" -q backup app
    "$GENDB" app.db --mutate 0.5 --seed ${delay#0.} >/dev/null
done
# No folder yet when every backup was killed before its first manifest (ls fails, and
# pipefail would end the script silently with ls's status).
listed=$({ ls repo/snapshots 2>/dev/null || true; } | wc -l)
if [ "$listed" -gt 0 ]; then
    expect_status 0 "$UPKEEP" verify --all
fi
pass "after 8 killed backups, $listed listed backups all verify"
expect_status 0 "$UPKEEP" backup app
expect_status 0 "$UPKEEP" backup app
expect_status 0 "$UPKEEP" verify --all
pass "backups after the crashes work"
# Kill prune at several points; then everything still listed verifies and newest survives.
for delay in 0.005 0.02 0.05 0.1; do
    expect_status 0 "$UPKEEP" backup app
    newest=$(ls repo/snapshots | sort | tail -1)
    "$GENDB" app.db --mutate 2 --seed 3 >/dev/null
    interrupt KILL $delay "$UPKEEP" -q prune
    [ -e "repo/snapshots/$newest" ] || fail "the newest backup was removed"
    expect_status 0 "$UPKEEP" verify --all
done
expect_status 0 "$UPKEEP" prune
[ "$(ls repo/snapshots | wc -l)" -eq 1 ] || fail "prune after crashes did not finish the work"
[ -z "$(ls repo/tmp)" ] || fail "prune left temporary files"
expect_status 0 "$UPKEEP" verify --all
pass "killed prunes never remove what a kept backup needs"
# SIGTERM (or Ctrl-C) during restore and verify removes their temporary files.
mkdir -p verify-tmp
for delay in 0.01 0.02 0.035 0.05 0.075 0.1 0.15 0.25; do
    interrupt TERM $delay "$UPKEEP" -q restore latest --database app --to interrupted.db
    [ -z "$(ls -A | grep upkeep-restore || true)" ] || fail "interrupted restore left a temporary file"
    rm -f interrupted.db
    interrupt INT $delay env TMPDIR=$SCRATCH/verify-tmp "$UPKEEP" -q verify latest
    [ -z "$(ls -A verify-tmp)" ] || fail "interrupted verify left its image"
done
pass "interrupted restore and verify leave no temporary files"
