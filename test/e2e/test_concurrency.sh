#!/bin/bash
# Two upkeep processes at once: backups of two databases into one repository and one state
# database both succeed; prune waits for a backup holding the repository (and says who holds
# it when it gives up), on this host or another; stale locks are ignored; the state database
# migrates once when two processes open it together.
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
[ "$(sqlite3 state/state.db 'PRAGMA user_version')" = 5 ] || fail "state schema version"
pass "two backups at once into one repository and state database"
# Retention is per database: keep_last = 1 keeps one backup of each, and the newest proven
# one of each stays too (the new backup of one has not been verified yet).
expect_status 0 "$UPKEEP" backup one
expect_status 0 "$UPKEEP" backup one
expect_status 0 "$UPKEEP" prune
expect_contains "$OUT" "newest proven"
[ "$(ls repo/snapshots | wc -l)" -eq 3 ] || fail "expected the newest and the newest proven of one, and two's"
pass "retention applies per database, and keeps the newest proven backup"
# Another host's backup holds the repository (its lock object, refreshed just now): prune
# waits for it, then says who holds it; a backup on this host shares it.
lock_object() { # lock_object HOST PID EXCLUSIVE REFRESHED: a lock as another process writes it
    printf '{"host":"%s","pid":%s,"command":"backup","exclusive":%s,"time":%s,"refreshed":%s}' \
        "$1" "$2" "$3" "$4" "$4" > repo/locks/0123456789abcdef0123456789abcdef
}
now=$(date +%s)
lock_object web-2 4242 false "$now"
expect_status 1 env UPKEEP_LOCK_WAIT=1 "$UPKEEP" prune
expect_contains "$ERR" "repository 'local' is in use: backup holds it shared (host 'web-2', pid 4242, since"
expect_status 0 "$UPKEEP" backup two # shared with shared: fine
lock_object web-2 4242 true "$now"
expect_status 1 env UPKEEP_LOCK_WAIT=1 "$UPKEEP" backup two
expect_contains "$ERR" "holds it exclusively (host 'web-2'"
pass "prune never runs while another host's backup holds the repository, nor a backup beside a prune"
# A lock not refreshed for 30 minutes is stale, and so is one of this host whose process is
# gone: prune goes ahead and removes them.
lock_object web-2 4242 false $((now - 1900))
expect_status 0 env UPKEEP_LOCK_WAIT=1 "$UPKEEP" prune
[ -z "$(ls repo/locks)" ] || fail "the stale lock stayed: $(ls repo/locks)"
sleep 0 & gone=$!
wait $gone
lock_object "$(hostname)" "$gone" false "$now"
expect_status 0 env UPKEEP_LOCK_WAIT=1 "$UPKEEP" prune
[ -z "$(ls repo/locks)" ] || fail "a dead process's lock stayed"
# A real backup running holds its lock until it ends.
"$GENDB" big.db --size-mb 64 --seed 5 >/dev/null
sed -i 's|^url = sqlite://two.db|url = sqlite://big.db|' upkeep.conf
"$UPKEEP" -q backup two > big.out 2>&1 &
big=$!
for _ in $(seq 1 100); do [ -n "$(ls repo/locks 2>/dev/null)" ] && break; sleep 0.05; done
expect_status 1 env UPKEEP_LOCK_WAIT=0 "$UPKEEP" prune
expect_contains "$ERR" "backup holds it shared (host '$(hostname)', pid $big"
wait $big || fail "the backup failed: $(cat big.out)"
[ -z "$(ls repo/locks)" ] || fail "the backup left its lock"
expect_status 0 "$UPKEEP" prune
pass "stale locks (not refreshed, or of a process gone) are ignored and removed"
# Two processes creating the same fresh state database.
rm -rf state
"$UPKEEP" status > /dev/null & "$UPKEEP" history > /dev/null & wait
[ "$(sqlite3 state/state.db 'PRAGMA user_version')" = 5 ] || fail "concurrent migration"
pass "concurrent first use migrates the state database once"
