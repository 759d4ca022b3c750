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
