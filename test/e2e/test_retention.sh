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
# With keep_last = 1 and no tag rule, older data is garbage: prune marks it (for prune_grace,
# a day by default) and a prune after the grace deletes it: the repository shrinks.
sed -i '/keep_tag/d; s/keep_last = 2/keep_last = 1/' upkeep.conf
expect_status 0 "$UPKEEP" prune --json
[ "$(jq '.[0].packs_marked' <<<"$OUT")" -gt 0 ] || fail "nothing was marked: $OUT"
[ "$(jq '.[0].packs_removed' <<<"$OUT")" = 0 ] || fail "packs were deleted before their grace: $OUT"
expect_status 0 "$UPKEEP" prune
expect_contains "$OUT" "packs no backup needs are marked; a prune deletes them once they have been marked for 24h00m (prune_grace)"
expect_status 0 "$UPKEEP" verify --all
sed -i 's/^keep_last = 1/&\nprune_grace = 0s/' upkeep.conf
expect_status 0 "$UPKEEP" prune --dry-run --json
packs() { jq '.[0].packs_removed + .[0].packs_repacked' <<<"$OUT"; }
estimate=$(packs)
expect_status 0 "$UPKEEP" prune --json
actual=$(packs)
[ -n "$estimate" ] && [ "$estimate" = "$actual" ] || fail "dry run estimated $estimate packs, prune collected $actual"
[ "$actual" -gt 0 ] || fail "no pack was collected"
after=$(du -sb repo | cut -f1)
[ "$after" -lt "$before" ] || fail "repository did not shrink ($before -> $after)"
[ "$(ls repo/snapshots | wc -l)" -eq 1 ] || fail "expected one backup left"
expect_status 0 "$UPKEEP" verify --all
pass "garbage collection marks, then deletes after the grace: the repository shrinks ($before -> $after bytes)"
