#!/bin/bash
# Row maintenance while the application writes 500 tx/s, side by side on copies of the same
# 1 GiB database (bench/work, made by bench/run.sh):
#   purge of old soft-deleted forms:  one DELETE  vs  plain 5,000-row batches  vs  upkeep purge
#   archive of audit logs older than one year to an archive database (upkeep)
#   incremental vacuum (upkeep, auto_vacuum = INCREMENTAL)
# For each: wall time, rows/s and the writer's worst commit latency (its stall).
set -euo pipefail
source "$(dirname "$0")/lib.sh" "${1:-build}"
base=$(db "$SIZE_MB")
cutoff="2023-12-04 00:00:00" # BASELINES.md: meta.purge_cutoff = 1701648000
purge_age=$(( $(date +%s) - 1701648000 ))   # seconds: the same cutoff exactly
archive_age=$(( $(date +%s) - 1685577600 )) # 2023-06-01

fresh() { rm -f m.db m.db-wal m.db-shm archive.db stop; cp "$base" m.db; sync; cat m.db > /dev/null; }
writer_start() { rm -f stop; "$WRITER" m.db --rate 500 --seconds 600 --stop-file stop > writer.json & wpid=$!; sleep 1; }
writer_stop() { # sets $stall: the writer's worst commit latency in ms
    sleep 0.5; touch stop; wait $wpid; rm -f stop
    stall=$(sed -n 's/.*"max_ms":\([0-9.]*\).*/\1/p' writer.json)
}
report() { # report NAME ROWS SECONDS STALL
    printf '  %-34s %7s rows  %6.2f s  %8.0f rows/s  writer max stall %6.1f ms\n' "$1" "$2" "$3" \
        "$(echo "$2 / $3" | bc -l)" "$4"
}
cat > upkeep.conf <<CONF
[upkeep]
state = state-m/state.db
[database app]
url = sqlite://m.db
[job purge]
task = purge
database = app
table = forms
age_column = deleted_at
older_than = ${purge_age}s
[job archive]
task = archive
database = app
table = audit_logs
age_column = created_at
older_than = ${archive_age}s
archive_to = sqlite://archive.db
[job vacuum]
task = vacuum
database = app
vacuum = incremental
analyze = no
CONF

echo "== purge of soft-deleted forms older than $cutoff, writer at 500 tx/s"
fresh
rows=$(sqlite3 m.db "SELECT count(*) FROM forms WHERE deleted_at < '$cutoff'")
writer_start
t=$(now); sqlite3 m.db ".timeout 60000" "DELETE FROM forms WHERE deleted_at < '$cutoff'"; single=$(elapsed "$t")
writer_stop
report "one DELETE" "$rows" "$single" "$stall"
fresh
writer_start
t=$(now)
while [ "$(sqlite3 m.db ".timeout 60000" "DELETE FROM forms WHERE rowid IN (SELECT rowid FROM forms WHERE deleted_at < '$cutoff' LIMIT 5000); SELECT changes();" | tail -1)" -gt 0 ]; do :; done
batched=$(elapsed "$t")
writer_stop
report "5,000-row batches" "$rows" "$batched" "$stall"
fresh
writer_start
t=$(now); "$UPKEEP" -q run purge; up=$(elapsed "$t")
writer_stop
report "upkeep purge" "$rows" "$up" "$stall"
printf '  upkeep throughput vs one DELETE: %.2f (target >= 0.75); longest transaction %s ms\n' \
    "$(echo "$single / $up" | bc -l)" "$(sqlite3 state-m/state.db "SELECT json_extract(summary, '\$.longest_transaction_ms') FROM runs WHERE job = 'purge' ORDER BY id DESC LIMIT 1")"

[ "${ONLY:-}" = purge ] && exit 0
echo "== archive of audit logs older than one year (before 2023-06-01) to archive.db"
fresh
rows=$(sqlite3 m.db "SELECT count(*) FROM audit_logs WHERE created_at < '2023-06-01'")
writer_start
t=$(now); "$UPKEEP" -q run archive; up=$(elapsed "$t")
writer_stop
report "upkeep archive" "$rows" "$up" "$stall"
[ "$(sqlite3 archive.db 'SELECT count(*) FROM audit_logs')" = "$rows" ] || echo "  ARCHIVE COUNT MISMATCH"

echo "== incremental vacuum after deleting the old audit logs"
fresh
sqlite3 m.db "PRAGMA auto_vacuum = INCREMENTAL; VACUUM; DELETE FROM audit_logs WHERE created_at < '2023-06-01'; PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
sync # let the rewrite reach the disk before measuring
free_pages=$(sqlite3 m.db "PRAGMA freelist_count")
writer_start
t=$(now); "$UPKEEP" -q run vacuum; up=$(elapsed "$t")
writer_stop
report "upkeep incremental vacuum (pages)" "$free_pages" "$up" "$stall"
rm -f m.db m.db-wal m.db-shm archive.db writer.json upkeep.conf
rm -rf state-m
