#!/bin/bash
# Two upkeep processes at once: backups of two databases into one repository and one state
# database both succeed; prune waits for a backup holding the repository (and says so when
# it gives up); the state database migrates once when two processes open it together.
source "$(dirname "$0")/lib.sh"
cat > upkeep.conf <<CONF
[upkeep]
state = state/state.db
[database one]
url = sqlite://one.db
[database two]
url = sqlite://two.db
[repository local]
url = file://repo
keep_last = 1
CONF
"$GENDB" one.db --size-mb 24 --seed 1 >/dev/null
"$GENDB" two.db --size-mb 24 --seed 2 >/dev/null
"$UPKEEP" -q backup one > one.out 2>&1 &
a=$!
"$UPKEEP" -q backup two > two.out 2>&1 &
b=$!
wait $a || fail "backup one failed: $(cat one.out)"
wait $b || fail "backup two failed: $(cat two.out)"
expect_status 0 "$UPKEEP" backups --json
expect_contains "$OUT" '"database": "one"'
expect_contains "$OUT" '"database": "two"'
expect_status 0 "$UPKEEP" verify --all
[ "$(sqlite3 state/state.db 'PRAGMA user_version')" = 4 ] || fail "state schema version"
pass "two backups at once into one repository and state database"
# Retention is per database: keep_last = 1 keeps one backup of each, and the newest proven
# one of each stays too (the new backup of one has not been verified yet).
expect_status 0 "$UPKEEP" backup one
expect_status 0 "$UPKEEP" backup one
expect_status 0 "$UPKEEP" prune
expect_contains "$OUT" "newest proven"
[ "$(ls repo/snapshots | wc -l)" -eq 3 ] || fail "expected the newest and the newest proven of one, and two's"
pass "retention applies per database, and keeps the newest proven backup"
# A backup holds the repository lock shared; prune needs it exclusively and waits.
exec 9>repo/lock
flock -s 9
expect_status 1 env UPKEEP_LOCK_WAIT=1 "$UPKEEP" prune
expect_contains "$ERR" "is in use by a running backup, verify or restore"
expect_status 0 "$UPKEEP" backup two # shared with shared: fine
exec 9>&-
expect_status 0 "$UPKEEP" prune
pass "prune never runs while a backup holds the repository"
# Two processes creating the same fresh state database.
rm -rf state
"$UPKEEP" status > /dev/null & "$UPKEEP" history > /dev/null & wait
[ "$(sqlite3 state/state.db 'PRAGMA user_version')" = 4 ] || fail "concurrent migration"
pass "concurrent first use migrates the state database once"
