#!/bin/bash
# prune: every backup listed as keep or remove with reasons; --dry-run changes nothing; a real
# prune removes the dropped backups and the data only they used; kept backups still verify.
source "$(dirname "$0")/lib.sh"
RETENTION=$'keep_last = 2\nkeep_tag = pre-update' write_config
"$GENDB" app.db --size-mb 6 >/dev/null
expect_status 0 "$UPKEEP" backup app --tag pre-update
tagged=$(ls repo/snapshots)
for seed in 1 2 3; do
    "$GENDB" app.db --mutate 30 --seed $seed >/dev/null
    sleep 1.1 # distinct backup times
    expect_status 0 "$UPKEEP" backup app
done
before=$(du -sb repo | cut -f1)
expect_status 0 "$UPKEEP" prune --dry-run
expect_contains "$OUT" "tag pre-update"
expect_contains "$OUT" "not matched by any rule"
expect_contains "$OUT" "would remove 1 of 4 backups"
[ "$(ls repo/snapshots | wc -l)" -eq 4 ] || fail "dry run removed a backup"
pass "prune --dry-run lists decisions with reasons"
expect_status 0 "$UPKEEP" prune --json
expect_contains "$OUT" '"removed": 1'
[ "$(ls repo/snapshots | wc -l)" -eq 3 ] || fail "prune did not remove the dropped backup"
[ -e "repo/snapshots/$tagged" ] || fail "the tagged backup was removed"
expect_status 0 "$UPKEEP" verify --all
expect_status 0 "$UPKEEP" backups
[ "$(echo "$OUT" | grep -c ' app ')" -eq 3 ] || fail "catalogue does not match the repository: $OUT"
pass "prune removes dropped backups; kept ones verify"
# With keep_last = 1 and no tag rule, older data is garbage-collected: the repository shrinks.
sed -i '/keep_tag/d; s/keep_last = 2/keep_last = 1/' upkeep.conf
expect_status 0 "$UPKEEP" prune --dry-run --json
packs() { echo "$OUT" | sed -n 's/.*"packs_\(removed\|repacked\)": \([0-9]*\).*/\2/p' | paste -sd+ | bc; }
estimate=$(packs)
expect_status 0 "$UPKEEP" prune --json
actual=$(packs)
[ -n "$estimate" ] && [ "$estimate" = "$actual" ] || fail "dry run estimated $estimate packs, prune collected $actual"
[ "$actual" -gt 0 ] || fail "no pack was collected"
after=$(du -sb repo | cut -f1)
[ "$after" -lt "$before" ] || fail "repository did not shrink ($before -> $after)"
[ "$(ls repo/snapshots | wc -l)" -eq 1 ] || fail "expected one backup left"
expect_status 0 "$UPKEEP" verify --all
pass "garbage collection shrinks the repository ($before -> $after bytes)"
