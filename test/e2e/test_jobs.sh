#!/bin/bash
# Jobs: runs are recorded with their summaries; status and history show them; a job never
# runs twice at once; require_env skips and records the skip; verify = yes proves the backup.
source "$(dirname "$0")/lib.sh"
VERIFY=yes write_config
"$GENDB" app.db --size-mb 4 >/dev/null
expect_status 0 "$UPKEEP" run nightly
expect_contains "$OUT" "job 'nightly': success"
expect_status 0 "$UPKEEP" backups --json
expect_contains "$OUT" '"verify_result": "ok"'
expect_status 0 "$UPKEEP" status --json
expect_contains "$OUT" '"result": "success"'
expect_contains "$OUT" '"chunks_new"'
expect_status 0 "$UPKEEP" history nightly
expect_contains "$OUT" "success"
pass "a run is recorded with its summary, and verify = yes proves the backup"
# The job lock: while another process holds it, a second run says so and does not run.
mkdir -p state/locks
exec 9>state/locks/job-nightly.lock
flock 9
runs_before=$(sqlite3 state/state.db 'SELECT count(*) FROM runs')
expect_status 1 "$UPKEEP" run nightly
expect_contains "$ERR" "job 'nightly' is already running"
[ "$(sqlite3 state/state.db 'SELECT count(*) FROM runs')" = "$runs_before" ] || fail "a blocked run was recorded as run"
exec 9>&-
pass "a running job is not started twice"
# require_env
sed -i 's|^state = state/state.db|state = state/state.db\nrequire_env = UPKEEP_TEST_ENV=production|' upkeep.conf
expect_status 1 env -u UPKEEP_TEST_ENV "$UPKEEP" run nightly
expect_contains "$ERR" "upkeep: job 'nightly' skipped: require_env UPKEEP_TEST_ENV=production does not hold"
[ "$(grep -o skipped <<< "$ERR" | wc -l)" = 1 ] || fail "a skip says 'skipped' more than once: $ERR"
expect_status 0 "$UPKEEP" history nightly --json
expect_contains "$OUT" '"result": "skipped"'
expect_status 0 env UPKEEP_TEST_ENV=production "$UPKEEP" run --all
pass "require_env skips and records the skip"
# A run killed with -9 is shown as interrupted, not as running forever.
"$GENDB" app.db --size-mb 40 >/dev/null
# Killed once the run is recorded as running (a fixed delay lost that race on a loaded
# machine under ASan: the process died before it had recorded anything).
env UPKEEP_TEST_ENV=production "$UPKEEP" -q run nightly >/dev/null 2>&1 &
victim=$!
for _ in $(seq 1 2000); do
    [ "$(sqlite3 state/state.db "SELECT count(*) FROM runs WHERE result = 'running'" 2>/dev/null)" = 1 ] && break
    sleep 0.01
done
kill -KILL "$victim" 2>/dev/null || true
wait "$victim" 2>/dev/null || true
expect_status 0 "$UPKEEP" history nightly --limit 1 --json
expect_contains "$OUT" '"result": "interrupted"'
pass "a killed run shows as interrupted"
# --dry-run changes nothing.
n=$(ls repo/snapshots | wc -l)
expect_status 0 env UPKEEP_TEST_ENV=production "$UPKEEP" run nightly --dry-run
expect_contains "$OUT" "would back up 'app' to 'local'"
[ "$(ls repo/snapshots | wc -l)" = "$n" ] || fail "dry run made a backup"
pass "run --dry-run changes nothing"
# task = verify: the newest backup of each database, or a rotating subset N/T of all of them
# (every backup proven once in T/N runs); a backup that does not verify fails the run.
export UPKEEP_TEST_ENV=production
for i in 1 2 3 4 5; do
    sqlite3 app.db "UPDATE users SET name = name || '$i' WHERE id % 7 = $i"
    expect_status 0 "$UPKEEP" -q backup app
done
cat >> upkeep.conf <<'CONF'
[job proof-latest]
task = verify
[job proof-half]
task = verify
repository = local
database = app
backups = subset 1/2
CONF
expect_status 0 "$UPKEEP" check
all=$("$UPKEEP" --json backups | jq -r '.[].id' | sort)
ids_of() { jq -r '.[0].summary.backups[].id' <<< "$1" | sort; }
expect_status 0 "$UPKEEP" --json run proof-half
first=$(ids_of "$OUT")
expect_status 0 "$UPKEEP" --json run proof-half
second=$(ids_of "$OUT")
[ "$(printf '%s\n%s\n' "$first" "$second" | grep . | sort)" = "$all" ] ||
    fail "two runs of subset 1/2 did not prove each backup once: $first / $second / $all"
expect_status 0 "$UPKEEP" run proof-half
expect_contains "$OUT" "(subset 1/2, round 2)"
expect_status 0 "$UPKEEP" --json run proof-half
[ "$(ids_of "$OUT")" = "$second" ] || fail "the fourth run did not repeat the second's part"
expect_status 0 "$UPKEEP" run proof-latest
expect_contains "$OUT" "verified 1 backups, 0 failed"
newest=$("$UPKEEP" --json backups | jq -r '.[-1].id')
cp -a repo pristine-jobs
for pack in repo/packs/*/*; do printf '\x5a\x5a\x5a\x5a' | dd of="$pack" bs=1 seek=100 conv=notrunc status=none; done
expect_status 1 "$UPKEEP" run proof-latest
expect_contains "$ERR" "1 of 1 backups did not verify; the first:"
expect_contains "$ERR" "$newest"
rm -rf repo && mv pristine-jobs repo
printf '[job v]\ntask = verify\nbackups = subset 3/2\n' > bad.conf
expect_status 2 "$UPKEEP" -c bad.conf check
expect_contains "$ERR" "bad.conf:3: backups: invalid backups 'subset 3/2' (expected latest, all or subset N/T, e.g. subset 1/12)"
pass "verify jobs prove the latest backups or a rotating subset, and fail on a damaged one"
