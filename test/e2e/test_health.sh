#!/bin/bash
# upkeep health: each threshold at each level, the exit codes, the monitoring-plugins first
# line, --json, and on_critical running its job once per transition.
source "$(dirname "$0")/lib.sh"
"$GENDB" app.db --size-mb 2 --seed 1 >/dev/null
health_conf() { # health_conf DATABASE-KEYS UPKEEP-KEYS JOBS
    cat > upkeep.conf <<CONF
[upkeep]
state = state/state.db
$2
[database app]
url = sqlite://app.db
$1
[repository local]
url = file://repo
[job backup]
task = backup
database = app
repository = local
[job check]
task = integrity
database = app
$3
CONF
}
expect_health() { # expect_health EXIT STATUS-WORD [CHECK-STATUS-PAIRS...]
    expect_status "$1" "$UPKEEP" health
    [[ "$(echo "$OUT" | head -1)" =~ ^UPKEEP\ $2\ -\ .*\ \| ]] || fail "first line: $(echo "$OUT" | head -1)"
}
status_of() { # status_of CHECK SUBJECT: from --json
    "$UPKEEP" --json health --no-actions | jq -r ".checks[] | select(.check == \"$1\" and .subject == \"$2\") | .status"
}

# Nothing configured beyond the database: OK, with its figures as performance data.
health_conf "count_tables = users, forms" "" ""
expect_status 0 "$UPKEEP" run check backup
expect_health 0 OK
expect_contains "$OUT" "app_size="
expect_contains "$OUT" "app_users_rows="
[ "$("$UPKEEP" --json health | jq -r .status)" = OK ] || fail "--json status"
[ "$("$UPKEEP" --json health | jq '[.checks[] | select(.check == "rows")] | length')" -eq 2 ] ||
    fail "row counts missing"
pass "all OK: exit 0, plugin line with performance data, --json"

# Size thresholds.
health_conf "size_warning = 1KB" "" ""
expect_health 1 WARNING
expect_contains "$OUT" "(warning above 1000 B)"
health_conf "size_warning = 1KB
size_critical = 2KB" "" ""
expect_health 2 CRITICAL
health_conf "size_warning = 1TB
size_critical = 2TB" "" ""
expect_health 0 OK
pass "size: OK, WARNING, CRITICAL"

# A table that does not exist: UNKNOWN.
health_conf "count_tables = nosuchtable" "" ""
expect_health 3 UNKNOWN
pass "an unknown table: UNKNOWN, exit 3"

# Backup age: newest backup older than backup_max_age is CRITICAL; verify_max_age warns.
health_conf "backup_max_age = 25h" "" ""
expect_health 0 OK
sqlite3 state/state.db "UPDATE backups SET created_at = created_at - 26 * 3600"
expect_health 2 CRITICAL
expect_contains "$OUT" "newest backup of 'app' is 26h old (max 25h)"
health_conf "verify_max_age = 1d" "" ""
expect_health 1 WARNING
expect_contains "$OUT" "no backup of 'app' has been proven restorable"
expect_status 0 "$UPKEEP" verify latest
sqlite3 state/state.db "UPDATE backups SET created_at = strftime('%s', 'now')"
expect_health 0 OK
pass "backup_max_age (CRITICAL) and verify_max_age (WARNING)"

# Integrity: a failed check is CRITICAL, an old one warns.
health_conf "integrity_max_age = 1h" "" ""
expect_health 0 OK
sqlite3 state/state.db "UPDATE runs SET started_at = started_at - 7200 WHERE job = 'check'"
expect_health 1 WARNING
sqlite3 state/state.db "UPDATE runs SET result = 'failed', error = 'row 3 missing from index' WHERE job = 'check'"
[ "$(status_of integrity app)" = CRITICAL ] || fail "a failed integrity check should be CRITICAL"
expect_status 0 "$UPKEEP" run check
pass "integrity: OK, WARNING when old, CRITICAL when failed"

# Disk free space: a size or a percentage.
health_conf "" "disk_paths = ., repo
disk_free_warning = 1B
disk_free_critical = 1B" ""
expect_health 0 OK
[ "$("$UPKEEP" --json health | jq '[.checks[] | select(.check == "disk_free")] | length')" -eq 2 ] ||
    fail "two disk checks expected"
health_conf "" "disk_paths = .
disk_free_warning = 100%" ""
expect_health 1 WARNING
mkdir -p fresh-disk # a path whose check has no recorded status yet
health_conf "" "disk_paths = fresh-disk
disk_free_critical = 100%" ""
expect_health 2 CRITICAL
expect_contains "$OUT" ":;0;" # the plugins' range for "alert below"
health_conf "" "disk_paths = /no/such/place" ""
expect_health 3 UNKNOWN
pass "disk free: OK, WARNING, CRITICAL, UNKNOWN"

# Jobs: a failed last run is CRITICAL; a scheduled job that missed its time is WARNING.
health_conf "" "" "[job yearly]
task = integrity
database = app
schedule = 0 0 1 1 *"
expect_health 1 WARNING
expect_contains "$OUT" "job 'yearly' is overdue"
expect_status 0 "$UPKEEP" run yearly
expect_health 0 OK
health_conf "" "" "[job broken]
task = integrity
database = gone
[database gone]
url = sqlite://missing.db"
expect_status 1 "$UPKEEP" run broken
[ "$(status_of job broken)" = CRITICAL ] || fail "a failed job should be CRITICAL"
[ "$(status_of reachable gone)" = CRITICAL ] || fail "a missing database should be CRITICAL"
pass "jobs: failed is CRITICAL, overdue is WARNING"

# on_critical runs its job when a check turns critical, once per transition.
health_conf "size_critical = 1KB
on_critical = check" "" ""
before=$(sqlite3 state/state.db "SELECT count(*) FROM runs WHERE job = 'check'")
expect_status 2 "$UPKEEP" health
expect_contains "$ERR" "running job 'check' (on_critical)"
expect_status 2 "$UPKEEP" health
[ "$(sqlite3 state/state.db "SELECT count(*) FROM runs WHERE job = 'check' AND trigger = 'health'")" -eq 1 ] ||
    fail "on_critical should run once per transition"
health_conf "size_critical = 1TB
on_critical = check" "" ""
expect_status 0 "$UPKEEP" health
health_conf "size_critical = 1KB
on_critical = check" "" ""
expect_status 2 "$UPKEEP" health
[ "$(sqlite3 state/state.db "SELECT count(*) FROM runs WHERE job = 'check' AND trigger = 'health'")" -eq 2 ] ||
    fail "on_critical should run again after the check recovered and turned critical again"
[ "$(sqlite3 state/state.db "SELECT count(*) FROM runs WHERE job = 'check'")" -eq $((before + 2)) ] ||
    fail "unexpected runs"
pass "on_critical runs once per transition to CRITICAL"

# size_maximum, a third level with its own actions (a job, a command), once per transition;
# the database's on_critical does not run again for it. [upkeep] on_critical for disk checks.
cat > on-max.sh <<'SH'
#!/bin/sh
echo "$UPKEEP_EVENT $UPKEEP_CHECK $UPKEEP_SUBJECT $UPKEEP_VALUE" >> "$(dirname "$0")/on-max.log"
SH
chmod +x on-max.sh
size=$(stat -c %s app.db)
health_conf "size_critical = 1KB
size_maximum = 2KB
on_critical = check
on_maximum = close
on_maximum_command = $SCRATCH/on-max.sh" "" "[job close]
task = sql
database = app
sql = CREATE TABLE IF NOT EXISTS closed(at)"
expect_status 0 "$UPKEEP" check
expect_status 2 "$UPKEEP" health
expect_contains "$ERR" "size_maximum app turned critical: running job 'close' (on_maximum)"
expect_contains "$ERR" "running '$SCRATCH/on-max.sh' (on_maximum_command)"
[ "$(status_of size_maximum app)" = CRITICAL ] || fail "size_maximum should be CRITICAL"
[ "$(cat on-max.log)" = "on_maximum_command size_maximum app $size" ] || fail "on-max.log: $(cat on-max.log)"
[ "$(sqlite3 app.db "SELECT count(*) FROM sqlite_master WHERE name = 'closed'")" = 1 ] ||
    fail "on_maximum did not run its job"
expect_status 2 "$UPKEEP" health
[ "$(wc -l < on-max.log)" = 1 ] || fail "on_maximum_command ran twice without a transition"
[ "$(sqlite3 state/state.db "SELECT count(*) FROM runs WHERE job = 'close'")" = 1 ] ||
    fail "on_maximum ran twice without a transition"
sqlite3 app.db "DROP TABLE closed"
printf '[database app]\nurl = sqlite://app.db\non_maximum = x\n' > bad.conf
expect_status 2 "$UPKEEP" -c bad.conf check
expect_contains "$ERR" "on_maximum: no [job x]"
health_conf "" "disk_paths = .
disk_free_critical = 100%
on_critical = check" ""
before=$(sqlite3 state/state.db "SELECT count(*) FROM runs WHERE job = 'check'")
expect_status 2 "$UPKEEP" health
expect_contains "$ERR" "running job 'check' (on_critical)"
[ "$(sqlite3 state/state.db "SELECT count(*) FROM runs WHERE job = 'check'")" = $((before + 1)) ] ||
    fail "[upkeep] on_critical did not run for the disk check"
pass "size_maximum runs on_maximum and its command once per transition; [upkeep] on_critical for disks"

# A broken config is UNKNOWN for monitors.
echo "nonsense" >> upkeep.conf
expect_status 3 "$UPKEEP" health
expect_contains "$OUT" "UPKEEP UNKNOWN"
pass "an unreadable config: UNKNOWN, exit 3"
