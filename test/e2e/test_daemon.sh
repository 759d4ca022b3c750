#!/bin/bash
# The daemon end to end, with seconds-level schedules: runs happen and are recorded, one
# daemon per state, no overlap, timeout, retries, catch-up after a restart, require_env,
# SIGHUP with a good and a bad config, SIGTERM during a job, and VACUUM waiting its turn.
source "$(dirname "$0")/lib.sh"
"$GENDB" app.db --size-mb 1 --seed 1 >/dev/null
runs() { # runs JOB RESULT: how many scheduled runs of JOB ended with RESULT
    sqlite3 state/state.db "SELECT count(*) FROM runs WHERE job = '$1' AND trigger = 'schedule' AND result = '$2'"
}
at_least() { [ "$(runs "$1" "$2")" -ge "$3" ]; }
start_daemon() {
    "$UPKEEP" daemon >>daemon.log 2>&1 &
    dpid=$!
    local deadline=$(($(date +%s) + 10))
    until grep -q "daemon started" daemon.log; do
        kill -0 "$dpid" 2>/dev/null && [ "$(date +%s)" -lt "$deadline" ] ||
            fail "the daemon did not start: $(tail -5 daemon.log)"
        sleep 0.1
    done
}
stop_daemon() { kill -TERM "$dpid"; wait "$dpid"; }
soon() { echo $(( ($(date +%s) + ${1:-2}) % 60 )); } # a seconds field that comes up in N s
hold_database() { flock -x state/locks/database-app.lock sleep "$1" & holder=$!; sleep 0.3; }
conf() { # conf EXTRA-JOBS: the config with the given [job] sections
    cat > upkeep.conf <<CONF
[upkeep]
state = state/state.db
shutdown_grace = 1s
listen = off
${UPKEEP_EXTRA:-}
[database app]
url = sqlite://app.db
$1
CONF
}
mkdir -p state/locks

# Runs happen on schedule, recorded with trigger 'schedule'; status shows the daemon. A job
# with enabled = no is left out, shown as disabled, and runs by hand only with --force.
conf "[job tick]
task = integrity
database = app
schedule = */1 * * * * *
[job off]
task = integrity
database = app
schedule = */1 * * * * *
enabled = no"
start_daemon
wait_for 15 at_least tick success 2
expect_status 0 "$UPKEEP" status
expect_contains "$OUT" "daemon: running (pid $dpid)"
expect_contains "$OUT" "*/1 * * * * *"
expect_contains "$(grep '^off ' <<< "$OUT")" "disabled"
[ "$(sqlite3 state/state.db "SELECT count(*) FROM runs WHERE job = 'off'")" = 0 ] ||
    fail "the daemon ran a disabled job"
expect_status 0 "$UPKEEP" health
expect_contains "$OUT" "job 'off' is disabled"
expect_status 1 "$UPKEEP" run off
expect_contains "$ERR" "job 'off' is disabled (enabled = no): run it by hand with --force"
expect_status 0 "$UPKEEP" run off --force
[ "$(sqlite3 state/state.db "SELECT result FROM runs WHERE job = 'off'")" = success ] ||
    fail "run --force did not run the disabled job"
pass "a disabled job is not scheduled, shows as disabled, and runs by hand with --force"
expect_status 1 "$UPKEEP" daemon
expect_contains "$ERR" "a daemon is already running for state"
stop_daemon
expect_contains "$(cat daemon.log)" "job 'tick' success in"
expect_status 0 "$UPKEEP" status
expect_contains "$OUT" "daemon: not running"
pass "scheduled runs happen and are recorded; one daemon per state"

# No overlap: while a run waits (the database is held), due ticks are skipped and warned once.
: > daemon.log
hold_database 6
start_daemon
wait_for 10 at_least tick skipped 1
[ "$(sqlite3 state/state.db "SELECT count(*) FROM runs WHERE result = 'running'")" -eq 1 ] ||
    fail "two runs of one job at once"
sleep 1.5
[ "$(runs tick skipped)" -eq 1 ] || fail "a skipped tick should be recorded once per run"
[ "$(grep -c 'previous one is still running' daemon.log)" -eq 1 ] || fail "overlap warned more than once"
wait "$holder"
wait_for 10 grep -q "due runs were skipped while it ran" daemon.log
stop_daemon
pass "a job still running is not started again; the skip is recorded and warned once"

# Timeout: a run past it is stopped and recorded as failed.
conf "[job slow]
task = integrity
database = app
schedule = */1 * * * * *
timeout = 1s"
: > daemon.log
hold_database 8
start_daemon
wait_for 15 at_least slow failed 1
expect_contains "$(sqlite3 state/state.db "SELECT error FROM runs WHERE job = 'slow'")" "stopped after its timeout of 1"
stop_daemon
kill "$holder" 2>/dev/null || true
wait "$holder" 2>/dev/null || true
pass "a run past its timeout is stopped and recorded as failed"

# Retries: a failing job is retried with doubling delays, then left alone.
conf "[database gone]
url = sqlite://missing.db
[job flaky]
task = integrity
database = gone
schedule = $(soon 5) * * * * *
retries = 2
retry_delay = 1s"
: > daemon.log
start_daemon
wait_for 25 at_least flaky failed 3
sleep 2.5
[ "$(runs flaky failed)" -eq 3 ] || fail "expected 1 run + 2 retries, got $(runs flaky failed)"
expect_contains "$(cat daemon.log)" "retry 2 of 2"
stop_daemon
pass "a failed run is retried 'retries' times"

# Catch-up: a tick missed while the daemon was down runs once at start.
conf "[job nightly]
task = integrity
database = app
schedule = $(soon 2) * * * * *"
expect_status 0 "$UPKEEP" run nightly
sleep 3
: > daemon.log
start_daemon
wait_for 10 at_least nightly success 1
sleep 1
[ "$(runs nightly success)" -eq 1 ] || fail "catch-up ran more than once"
expect_contains "$(cat daemon.log)" "catching up the run due at"
stop_daemon
sed -i 's/^schedule = .*/&\ncatch_up = no/' upkeep.conf
sed -i "s/^schedule = .*/schedule = $(soon 2) * * * * */" upkeep.conf
expect_status 0 "$UPKEEP" run nightly
sleep 3
: > daemon.log
start_daemon
sleep 1.5
[ "$(runs nightly success)" -eq 1 ] || fail "catch_up = no still caught up"
stop_daemon
pass "a missed run is caught up once at start (and not with catch_up = no)"

# jitter: each run is planned at a random moment within the jitter after its tick.
UPKEEP_EXTRA="timezone = UTC" conf "[job jittery]
task = integrity
database = app
schedule = 0 3 * * *
jitter = 1h"
: > daemon.log
start_daemon
stop_daemon
planned=$(sed -n "s/.*job 'jittery' (0 3 \* \* \*): next run \(.*\)$/\1/p" daemon.log)
[ -n "$planned" ] || fail "the daemon did not log the next run: $(cat daemon.log)"
day=$(date -u +%F)
[ "$(date -u +%H)" -lt 3 ] || day=$(date -u -d tomorrow +%F)
offset=$(( $(date -u -d "$planned" +%s) - $(date -u -d "$day 03:00" +%s) ))
[ "$offset" -gt 0 ] && [ "$offset" -lt 3600 ] || fail "jitter 1h planned the 03:00 run $offset s after it"
pass "jitter delays each run by a random amount within the limit"

# require_env: scheduled runs are skipped and recorded as skipped.
conf "[job prod-only]
task = integrity
database = app
schedule = */1 * * * * *
require_env = UPKEEP_TEST_ENV=production"
: > daemon.log
start_daemon
wait_for 10 at_least prod-only skipped 1
[ "$(runs prod-only success)" -eq 0 ] || fail "require_env did not hold, yet the job ran"
expect_contains "$(cat daemon.log)" "require_env UPKEEP_TEST_ENV=production does not hold"
stop_daemon
pass "require_env: scheduled runs are skipped and recorded"

# SIGHUP: a good config is taken, a bad one is logged and the old one stays.
conf "[job first]
task = integrity
database = app
schedule = 0 0 1 1 *"
: > daemon.log
start_daemon
conf "[job second]
task = integrity
database = app
schedule = */1 * * * * *"
kill -HUP "$dpid"
wait_for 10 at_least second success 1
echo "this is not a config line" >> upkeep.conf
kill -HUP "$dpid"
wait_for 10 grep -q "config not reloaded, the previous one stays in force: .*upkeep.conf:$(wc -l < upkeep.conf)" daemon.log
n=$(runs second success)
wait_for 10 at_least second success $((n + 2))
stop_daemon
pass "SIGHUP reloads a good config and keeps the old one when the new one is bad"

# SIGTERM during a job: it gets shutdown_grace, then is stopped and recorded as interrupted.
conf "[job busy]
task = integrity
database = app
schedule = */1 * * * * *"
: > daemon.log
hold_database 20
start_daemon
wait_for 10 grep -q "job 'busy' started" daemon.log
t0=$(date +%s)
stop_daemon
[ $(( $(date +%s) - t0 )) -le 5 ] || fail "the daemon took too long to stop"
expect_contains "$(sqlite3 state/state.db "SELECT result, error FROM runs WHERE job = 'busy' ORDER BY id DESC LIMIT 1")" "interrupted|stopped: the daemon was shutting down"
[ "$(sqlite3 state/state.db "SELECT count(*) FROM runs WHERE result = 'running'")" -eq 0 ] ||
    fail "a run was left 'running'"
pass "SIGTERM lets a job finish within the grace period, then stops it safely"

# A daemon killed outright leaves no lock behind, even while a job it started still runs.
: > daemon.log
start_daemon
wait_for 10 grep -q "job 'busy' started" daemon.log
kill -KILL "$dpid"
wait "$dpid" 2>/dev/null || true
expect_status 0 "$UPKEEP" status
expect_contains "$OUT" "daemon: not running"
: > daemon.log
start_daemon
stop_daemon
kill "$holder" 2>/dev/null || true
wait "$holder" 2>/dev/null || true
pass "a killed daemon can be started again while its last job is still running"

# VACUUM needs the database alone: it waits while another job holds it.
conf "[job vac]
task = vacuum
database = app
min_free_percent = 0"
flock -s state/locks/database-app.lock sleep 2 & holder=$!
sleep 0.3
t0=$(date +%s.%N)
expect_status 0 "$UPKEEP" run vac
waited=$(echo "$(date +%s.%N) - $t0" | bc)
[ "$(echo "$waited > 1.2" | bc)" -eq 1 ] || fail "vacuum did not wait for the other job ($waited s)"
expect_contains "$ERR" "waiting for database-app"
wait "$holder"
pass "VACUUM waits for the other jobs on its database"

# The daemon itself never loads libcrypto or libcurl (about 7 MiB resident between them): the
# runs it forks load what they need, and a backup run (hashes) still succeeds.
conf "[repository local]
url = file://backups
[job snap]
task = backup
database = app
repository = local
schedule = */1 * * * * *"
sed -i "s/^listen = off/listen = 127.0.0.1:$(free_port)/" upkeep.conf # the default: on
: > daemon.log
start_daemon
wait_for 15 at_least snap success 1
if grep -E 'libcrypto|libcurl' "/proc/$dpid/maps"; then fail "the daemon process loaded libcrypto or libcurl"; fi
stop_daemon
pass "the daemon loads neither libcrypto nor libcurl; its backup runs do"

# Health actions from the daemon: past size_maximum it runs on_maximum_command and the
# on_maximum job once, and again only after the database was below it in between.
cat > on-max.sh <<'SH'
#!/bin/sh
echo "$UPKEEP_EVENT $UPKEEP_SUBJECT" >> "$(dirname "$0")/on-max.log"
SH
chmod +x on-max.sh
UPKEEP_EXTRA="health_interval = 1s" conf "[job close]
task = sql
database = app
sql = INSERT INTO closed VALUES (1)"
sqlite3 app.db "CREATE TABLE IF NOT EXISTS closed(v)"
sed -i "s|^url = sqlite://app.db|&\nsize_maximum = 1KB\non_maximum = close\non_maximum_command = $SCRATCH/on-max.sh|" upkeep.conf
: > daemon.log
start_daemon
wait_for 15 test -s on-max.log
wait_for 15 grep -q "job 'close' success" daemon.log
sleep 2.5 # two more evaluations, still past the maximum: nothing more runs
stop_daemon
[ "$(cat on-max.log)" = "on_maximum_command app" ] || fail "on_maximum_command ran: $(cat on-max.log)"
[ "$(sqlite3 app.db "SELECT count(*) FROM closed")" = 1 ] || fail "on_maximum ran $(sqlite3 app.db "SELECT count(*) FROM closed") times"
expect_contains "$(cat daemon.log)" "size_maximum app turned critical: running job 'close' (on_maximum)"
pass "the daemon runs on_maximum and on_maximum_command once when the database passes size_maximum"
