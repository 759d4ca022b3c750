#!/bin/bash
# A full disk gives a clear error, exit 1, and leaves older backups intact.
source "$(dirname "$0")/lib.sh"
mkdir small
if ! mount -t tmpfs -o size=6m tmpfs small 2>/dev/null; then
    echo "skip: cannot mount a small tmpfs here (needs root)"
    exit 77
fi
trap 'umount "$SCRATCH/small" 2>/dev/null; cleanup_scratch' EXIT
write_config
sed -i 's|url = file://repo|url = file://small/repo|' upkeep.conf
"$GENDB" app.db --size-mb 4 >/dev/null
expect_status 0 "$UPKEEP" backup app
first=$(ls small/repo/snapshots)
packs_before=$(find small/repo/packs -type f | sort)
"$GENDB" big.db --size-mb 40 --seed 5 >/dev/null
mv big.db app.db
expect_status 1 "$UPKEEP" backup app
expect_contains "$ERR" "No space left on device"
[ "$(ls small/repo/snapshots)" = "$first" ] || fail "a failed backup was listed"
[ -z "$(ls small/repo/tmp)" ] || fail "temporary files left in the repository"
[ "$(find small/repo/packs -type f | sort)" = "$packs_before" ] ||
    fail "the failed backup left packs behind (the retry would fail on a full disk again)"
expect_status 0 "$UPKEEP" verify "$first"
pass "full disk during backup: clear error, older backup intact"
# Restoring onto a full disk fails cleanly too.
expect_status 0 "$UPKEEP" prune
fill() { dd if=/dev/zero of=small/filler bs=1M count=100 status=none 2>/dev/null || true; }
fill
expect_status 1 "$UPKEEP" restore "$first" --database app --to small/restored.db
expect_contains "$ERR" "No space left on device"
[ ! -e small/restored.db ] || fail "partial restore left at the target"
[ -z "$(ls -A small | grep upkeep-restore || true)" ] || fail "temporary restore file left"
pass "full disk during restore: clear error, nothing left behind"
# What a backup keeps in temporary files rather than memory (its hash list, unpublished pack
# indexes, the chunk index past its limit) on a full TMPDIR: a clear error, no backup.
rm -f small/filler small/restored.db
sed -i 's|url = file://small/repo|url = file://repo|' upkeep.conf
mkdir tiny
mount -t tmpfs -o size=64k tmpfs tiny || fail "cannot mount a second tmpfs"
trap 'umount "$SCRATCH/tiny" "$SCRATCH/small" 2>/dev/null; cleanup_scratch' EXIT
expect_status 1 env TMPDIR="$SCRATCH/tiny" UPKEEP_CHUNK_SET_MEMORY=64 "$UPKEEP" backup app
expect_contains "$ERR" "No space left on device"
expect_status 1 env TMPDIR="$SCRATCH/missing" "$UPKEEP" backup app
expect_contains "$ERR" "unable to create a temporary file in '$SCRATCH/missing'"
[ ! -d repo/snapshots ] || [ -z "$(ls repo/snapshots)" ] || fail "a failed backup was listed"
expect_status 0 env TMPDIR="$SCRATCH/small" UPKEEP_CHUNK_SET_MEMORY=64 "$UPKEEP" backup app
pass "a full or missing TMPDIR: clear error, no backup; with room, the spilled index works"
