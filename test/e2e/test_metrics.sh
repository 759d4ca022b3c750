#!/bin/bash
# upkeep metrics: promtool accepts the exposition; the figures match what the runs did;
# --textfile writes atomically; the daemon rewrites the textfile after every run.
source "$(dirname "$0")/lib.sh"
"$GENDB" app.db --size-mb 2 --seed 1 >/dev/null
cat > upkeep.conf <<'CONF'
[upkeep]
state = state/state.db
disk_paths = .
[database app]
url = sqlite://app.db
count_tables = users, forms
[database gone]
url = sqlite://missing.db
[repository local]
url = file://repo
[job backup]
task = backup
database = app
repository = local
verify = yes
[job purge]
task = purge
database = app
table = forms
age_column = deleted_at
older_than = 180d
[job vacuum]
task = vacuum
database = app
min_free_percent = 0
[job broken]
task = integrity
database = gone
CONF
purgeable=$(sqlite3 app.db "SELECT count(*) FROM forms WHERE deleted_at < datetime('now', '-180 days')")
[ "$purgeable" -gt 0 ] || fail "the generated database has nothing to purge"
expect_status 0 "$UPKEEP" run backup purge vacuum
expect_status 1 "$UPKEEP" run broken
expect_status 1 "$UPKEEP" run broken
expect_status 0 "$UPKEEP" metrics
echo "$OUT" > metrics.txt
promtool check metrics < metrics.txt || fail "promtool rejected the metrics"
value() { grep -F "$1" metrics.txt | awk '{print $NF}'; }
[ "$(value 'upkeep_job_failures_total{job="broken",task="integrity"}')" = 2 ] || fail "failures"
[ "$(value 'upkeep_job_runs_total{job="backup",task="backup",result="success"}')" = 1 ] || fail "runs"
[ "$(value 'upkeep_job_last_run_success{job="broken",task="integrity"}')" = 0 ] || fail "last result"
[ "$(value 'upkeep_rows_total{job="purge",task="purge",action="deleted"}')" = "$purgeable" ] ||
    fail "rows deleted: $(value 'upkeep_rows_total{job="purge"')"
image=$("$UPKEEP" --json backups | jq -r '.[0].image_bytes // .[0].image_size')
[ "$(value 'upkeep_backup_newest_size_bytes{database="app",repository="local"}')" = "$image" ] ||
    fail "backup size $(value 'upkeep_backup_newest_size_bytes') vs $image"
[ "$(value 'upkeep_backup_last_verified_timestamp_seconds{database="app",repository="local"}')" -gt 0 ] ||
    fail "last verified"
[ "$(value 'upkeep_table_rows{table="app.forms"}')" = "$(sqlite3 app.db 'SELECT count(*) FROM forms')" ] ||
    fail "table rows"
[ "$(value 'upkeep_database_size_bytes{database="app"}')" -gt 0 ] || fail "database size"
[ "$(value 'upkeep_health_status{check="reachable",subject="gone"}')" = 2 ] || fail "health status"
grep -q '^upkeep_disk_free_bytes{path="/' metrics.txt || fail "disk free"
grep -q '^upkeep_repository_size_bytes{repository="local"} [1-9]' metrics.txt || fail "repository size"
grep -q '^upkeep_reclaimed_bytes_total{job="vacuum",task="vacuum"} ' metrics.txt || fail "reclaimed"
pass "promtool accepts the metrics; they match the runs"

mkdir -p textfiles
expect_status 0 "$UPKEEP" metrics --textfile textfiles/upkeep.prom
promtool check metrics < textfiles/upkeep.prom || fail "textfile rejected"
[ "$(ls -A textfiles)" = upkeep.prom ] || fail "the textfile write left other files: $(ls -A textfiles)"
pass "--textfile writes the file atomically"

# The daemon rewrites metrics_textfile after every run.
sed -i 's|^disk_paths = .|disk_paths = .\nmetrics_textfile = textfiles/daemon.prom\nlisten = off|' upkeep.conf
sed -i 's|^\[job broken\]|[job tick]\ntask = integrity\ndatabase = app\nschedule = */1 * * * * *\n[job broken]|' upkeep.conf
"$UPKEEP" daemon 2>daemon.log &
dpid=$!
wait_for 15 grep -q 'upkeep_job_runs_total{job="tick",task="integrity",result="success"} [2-9]' textfiles/daemon.prom
kill -TERM $dpid
wait $dpid
promtool check metrics < textfiles/daemon.prom || fail "daemon's textfile rejected"
pass "the daemon rewrites metrics_textfile after every run"
