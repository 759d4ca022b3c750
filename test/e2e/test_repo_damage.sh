#!/bin/bash
# Prune, verify and restore next to damage: a missing or unreadable pack index means
# "unknown", never "unreferenced" (it is rebuilt from the copy each pack carries); a garbage
# file in index/ stops nothing that does not need it; a backup verify found broken does not
# count toward keep_last, and the newest proven backup stays.
source "$(dirname "$0")/lib.sh"
RETENTION="keep_last = 2" write_config
"$GENDB" app.db --size-mb 4 >/dev/null
expect_status 0 "$UPKEEP" backup app
first=$(ls repo/snapshots | head -1)
# A lost index: prune keeps the pack every backup needs and rebuilds the index.
index=$(ls repo/index | head -1)
rm "repo/index/$index"
expect_status 0 "$UPKEEP" prune --json
expect_contains "$OUT" '"indexes_rebuilt": 1'
[ -e "repo/packs/${index:0:2}/$index" ] || fail "prune deleted a pack whose index was missing"
[ -e "repo/index/$index" ] || fail "the index was not rebuilt"
expect_status 0 "$UPKEEP" verify latest
pass "a missing index is rebuilt from its pack, never taken for garbage"
# An unreadable index with no usable copy: verify and restore go on with the other indexes,
# prune keeps the pack and says so.
cp "repo/index/$index" saved-index
head -c 300 /dev/urandom > "repo/index/$index"
pack="repo/packs/${index:0:2}/$index"
cp "$pack" saved-pack
truncate -s -16 "$pack" # drops the trailer: the pack carries no copy any more
expect_status 0 "$UPKEEP" prune --json
expect_contains "$OUT" '"packs_unknown": 1'
[ -e "$pack" ] || fail "prune deleted a pack whose index is unreadable"
expect_status 1 "$UPKEEP" verify latest
expect_contains "$OUT$ERR" "index files are unreadable, e.g. 'index/$index'"
cp saved-index "repo/index/$index"; cp saved-pack "$pack"
# A garbage file in index/ that no backup needs changes nothing for verify, restore or prune.
head -c 100 /dev/urandom > repo/index/0123456789abcdef0123456789abcdef
expect_status 0 "$UPKEEP" verify latest
expect_status 0 "$UPKEEP" restore latest --database app --to restored.db
expect_status 0 "$UPKEEP" prune
pass "an unreadable index stops only what needs it; prune keeps packs it cannot account for"
rm -f repo/index/0123456789abcdef0123456789abcdef
# Broken backups do not count toward keep_last; the newest proven backup stays.
"$GENDB" app.db --mutate 1 --seed 2 >/dev/null
expect_status 0 "$UPKEEP" backup app
"$GENDB" app.db --mutate 1 --seed 3 >/dev/null
expect_status 0 "$UPKEEP" backup app
ids=($(ls repo/snapshots))
sqlite3 state/state.db "UPDATE backups SET verify_result = 'failed', verified_at = strftime('%s') WHERE id IN ('${ids[1]}', '${ids[2]}')"
expect_status 0 "$UPKEEP" verify "${ids[0]}"
expect_status 0 "$UPKEEP" prune --dry-run
expect_contains "$OUT" "keep   ${ids[0]}"
expect_contains "$OUT" "verify failed"
expect_status 0 "$UPKEEP" prune
[ -e "repo/snapshots/${ids[0]}" ] || fail "prune removed the only proven backup"
pass "broken backups count for no rule; the newest proven backup is kept"
# A backup whose chunk list cannot be read (the pack holding its list blocks is gone): which
# chunks it needs is unknown, so prune removes no pack, though the backup it expires shares
# nothing with the others, and says why.
rm -rf repo state app.db*
"$GENDB" app.db --size-mb 2 --seed 7 >/dev/null
expect_status 0 "$UPKEEP" backup app
rm -f app.db*
"$GENDB" app.db --size-mb 2 --seed 8 >/dev/null
expect_status 0 "$UPKEEP" backup app
"$GENDB" app.db --mutate 1 --seed 9 >/dev/null
expect_status 0 "$UPKEEP" backup app
newest=$(ls -t repo/packs/*/* | head -1)
rm "$newest" "repo/index/$(basename "$newest")"
packs=$(ls repo/packs/*/* | wc -l)
expect_status 0 "$UPKEEP" prune --json
expect_contains "$OUT" '"removed": 1'
expect_contains "$OUT" '"lists_unreadable": 1'
expect_contains "$OUT" '"packs_removed": 0'
[ "$(ls repo/packs/*/* | wc -l)" = "$packs" ] || fail "prune removed packs although what a backup needs is unknown"
expect_status 0 "$UPKEEP" prune
expect_contains "$OUT" "removed no packs: the chunk lists of 1 backups cannot be read"
pass "a backup whose chunk list is unreadable keeps every pack"
