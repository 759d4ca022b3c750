#!/bin/bash
# Purge beside a writer at 500 tx/s on data of several shapes, generated here (not by
# upkeep-gendb, whose one shape the pacing was first tuned on): integer and text timestamps,
# narrow and wide rows, candidates scattered through the table or clustered at its start.
# For each shape, side by side on copies of one file: a single DELETE and upkeep purge, with
# the writer's worst commit (its stall) and upkeep's throughput relative to the DELETE. The
# last lines give the worst over all shapes: the promise is a worst commit <= 50 ms and a
# throughput >= 0.75 of the DELETE's on every shape.
# Each upkeep purge runs RUNS times (default 3) on a fresh copy: this machine's disk has
# occasional stalls of its own, so the median shows the design and the maximum the worst.
# Usage: bench/shapes.sh [BUILD]   (SHAPE_MB=256 per database; ONLY=NAME for one shape)
set -euo pipefail
source "$(dirname "$0")/lib.sh" "${1:-build}"
mb=${SHAPE_MB:-256}
now_s=$(date +%s)
shapes=(
    "int-narrow-scattered integer 80 scattered"
    "text-wide-scattered text 1500 scattered"
    "int-wide-clustered integer 1500 clustered"
    "text-narrow-clustered text 80 clustered"
)
make_shape() { # make_shape FILE TYPE ROW_BYTES ORDER
    local file=$1 type=$2 bytes=$3 order=$4
    local rows=$((mb * 1000000 / (bytes + 40)))
    local candidate="abs(random()) % 100 < 8"
    [ "$order" = clustered ] && candidate="i <= $rows * 8 / 100"
    local old="$now_s - (200 + abs(random()) % 300) * 86400" recent="$now_s - abs(random()) % 100 * 86400"
    if [ "$type" = text ]; then
        old="datetime($old, 'unixepoch')"
        recent="datetime($recent, 'unixepoch')"
    fi
    rm -f "$file" "$file-wal" "$file-shm"
    sqlite3 "$file" "PRAGMA journal_mode = wal;
        CREATE TABLE t(id INTEGER PRIMARY KEY, user_id INTEGER, body TEXT, deleted_at ${type^^});
        WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < $rows)
        INSERT INTO t SELECT i, abs(random()) % 5000, substr(hex(randomblob($bytes)), 1, $bytes),
            CASE WHEN $candidate THEN $old WHEN abs(random()) % 3 = 0 THEN $recent END FROM c;
        CREATE INDEX t_deleted ON t(deleted_at);
        PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
}
fresh() { rm -f s.db s.db-wal s.db-shm stop; cp "$1" s.db; sync; cat s.db > /dev/null; }
writer_start() { rm -f stop; "$WRITER" s.db --rate 500 --seconds 600 --stop-file stop > writer.json & wpid=$!; sleep 1; }
writer_stop() { sleep 0.5; touch stop; wait $wpid; rm -f stop; stall=$(sed -n 's/.*"max_ms":\([0-9.]*\).*/\1/p' writer.json); }
cutoff_s=$((now_s - 180 * 86400))
cat > upkeep.conf <<CONF
[upkeep]
state = state-s/state.db
[database app]
url = sqlite://s.db
[job purge]
task = purge
database = app
table = t
age_column = deleted_at
older_than = $(( $(date +%s) - cutoff_s ))s
CONF
worst_stall=0 worst_ratio=99
for spec in "${shapes[@]}"; do
    read -r name type bytes order <<< "$spec"
    [ -n "${ONLY:-}" ] && [ "$ONLY" != "$name" ] && continue
    base=shape-$name-$mb.db
    [ -f "$base" ] || make_shape "$base" "$type" "$bytes" "$order"
    cond="deleted_at < $cutoff_s"
    [ "$type" = text ] && cond="deleted_at < datetime($cutoff_s, 'unixepoch')"
    rows=$(sqlite3 "$base" "SELECT count(*) FROM t WHERE $cond")
    fresh "$base"; writer_start
    t=$(now); sqlite3 s.db ".timeout 60000" "DELETE FROM t WHERE $cond"; single=$(elapsed "$t")
    writer_stop; delete_stall=$stall
    stalls=() times=()
    for run in $(seq 1 "${RUNS:-3}"); do
        fresh "$base"; rm -rf state-s; writer_start
        t=$(now); "$UPKEEP" -q run purge; up=$(elapsed "$t")
        writer_stop
        left=$(sqlite3 s.db "SELECT count(*) FROM t WHERE $cond")
        [ "$left" = 0 ] || echo "  $left candidates LEFT after run $run"
        stalls+=("$stall") times+=("$up")
    done
    median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
    maximum() { printf '%s\n' "$@" | sort -g | tail -1; }
    up=$(median "${times[@]}") stall=$(maximum "${stalls[@]}")
    ratio=$(echo "$single / $up" | bc -l)
    printf '== %-22s %7s candidates, %s MiB: DELETE %5.2f s (stall %6.1f ms) | upkeep %5.2f s (median), %.2fx; stall median %5.1f ms, max %5.1f ms\n' \
        "$name" "$rows" "$mb" "$single" "$delete_stall" "$up" "$ratio" "$(median "${stalls[@]}")" "$stall"
    worst_stall=$(echo "if ($stall > $worst_stall) $stall else $worst_stall" | bc -l)
    worst_ratio=$(echo "if ($ratio < $worst_ratio) $ratio else $worst_ratio" | bc -l)
done
printf 'worst over all shapes: upkeep purge stall %.1f ms (target <= 50), throughput %.2fx one DELETE (target >= 0.75)\n' \
    "$worst_stall" "$worst_ratio"
rm -f s.db s.db-wal s.db-shm writer.json upkeep.conf
rm -rf state-s
