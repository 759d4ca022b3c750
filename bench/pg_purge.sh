#!/bin/bash
# Purge on PostgreSQL beside a writer at 500 tx/s (upkeep-writer: one INSERT per commit, as a
# web request makes it), on a server this script starts with fsync on, on data of several
# shapes: timestamptz and bigint (Unix seconds) age columns, narrow and wide rows, a uuid key
# (rows numbered in a temporary table) besides bigint ones, candidates
# scattered through the table or clustered at its start; 50,000 candidates each. For each
# shape, side by side on copies of one database (CREATE DATABASE … TEMPLATE): a single DELETE
# and upkeep purge, with the writer's worst commit and upkeep's throughput relative to the
# DELETE. The last line gives the worst over all shapes: the promise is a worst commit
# <= 50 ms and a throughput >= 0.75 of the DELETE's on every shape.
# Each upkeep purge runs RUNS times (default 3): the median shows the design, the maximum the
# worst.
# Usage: bench/pg_purge.sh [BUILD]   (ONLY=NAME for one shape)
set -euo pipefail
source "$(dirname "$0")/lib.sh" "${1:-build}"
cleanup_scratch() { :; }
source "$top/test/services/postgresql.sh"
candidates=50000
shapes=(
    "timestamptz-narrow-scattered timestamptz 80 250000 scattered"
    "bigint-wide-scattered bigint 1500 150000 scattered"
    "timestamptz-wide-clustered timestamptz 1500 150000 clustered"
    "bigint-narrow-clustered bigint 80 250000 clustered"
    "uuid-key-narrow-scattered timestamptz 80 250000 scattered uuid"
)
rm -rf pg-purge && mkdir pg-purge && cd pg-purge
PG_FSYNC=on pg_up
export PGPASSWORD=$PG_PASSWORD PGHOST=127.0.0.1 PGPORT=$PG_PORT PGUSER=upkeep
now_s=$(date +%s)
cutoff_s=$((now_s - 180 * 86400))
make_shape() { # make_shape DB TYPE ROW_BYTES ROWS ORDER [KEY]
    local db=$1 type=$2 bytes=$3 rows=$4 order=$5 key=${6:-bigint}
    local id=i
    [ "$key" = uuid ] && id="md5(i::text)::uuid"
    local candidate="random() < $candidates.0 / $rows"
    [ "$order" = clustered ] && candidate="i <= $candidates"
    local old="$now_s - (200 + floor(random() * 300)) * 86400"
    local recent="$now_s - floor(random() * 100) * 86400"
    if [ "$type" = timestamptz ]; then
        old="to_timestamp($old)"
        recent="to_timestamp($recent)"
    fi
    pg_app -d postgres -c "CREATE DATABASE $db" >/dev/null
    pg_app -d "$db" -c "CREATE TABLE t(id $key PRIMARY KEY, user_id int, body text,
            deleted_at $type);
        INSERT INTO t SELECT $id, floor(random() * 5000), substr(repeat(md5(i::text), $((bytes / 32 + 1))), 1, $bytes),
            CASE WHEN $candidate THEN $old WHEN random() < 0.33 THEN $recent END
        FROM generate_series(1, $rows) i;
        CREATE INDEX t_deleted ON t(deleted_at);
        CREATE TABLE seq(id bigint PRIMARY KEY, payload text);" >/dev/null
    pg_admin -d "$db" -c "VACUUM ANALYZE" >/dev/null
}
fresh() { # a copy of the shape's database, as s
    pg_admin -d postgres -c "DROP DATABASE IF EXISTS s WITH (FORCE)" -c "CREATE DATABASE s TEMPLATE $1 OWNER upkeep" >/dev/null
    pg_admin -d postgres -c "CHECKPOINT" >/dev/null
}
writer_start() { rm -f stop; "$WRITER" "postgresql://upkeep@127.0.0.1:$PG_PORT/s" --rate 500 --seconds 600 --stop-file stop > writer.json & wpid=$!; sleep 1; }
writer_stop() { sleep 0.5; touch stop; wait $wpid; rm -f stop; stall=$(sed -n 's/.*"max_ms":\([0-9.]*\).*/\1/p' writer.json); }
cat > upkeep.conf <<CONF
[upkeep]
state = state/state.db
[database app]
url = postgresql://upkeep@127.0.0.1:$PG_PORT/s
password_file = $PG_PASSFILE
[job purge]
task = purge
database = app
table = t
age_column = deleted_at
older_than = $(( now_s - cutoff_s ))s
CONF
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
maximum() { printf '%s\n' "$@" | sort -g | tail -1; }
worst_stall=0 worst_ratio=99
for spec in "${shapes[@]}"; do
    read -r name type bytes rows order key <<< "$spec"
    [ -n "${ONLY:-}" ] && [ "$ONLY" != "$name" ] && continue
    base=shape_${name//-/_}
    make_shape "$base" "$type" "$bytes" "$rows" "$order" "$key"
    cond="deleted_at < $cutoff_s"
    [ "$type" = timestamptz ] && cond="deleted_at < to_timestamp($cutoff_s)"
    count=$(pg_app -d "$base" -tAc "SELECT count(*) FROM t WHERE $cond")
    fresh "$base"; writer_start
    t=$(now); pg_app -d s -c "DELETE FROM t WHERE $cond" >/dev/null; single=$(elapsed "$t")
    writer_stop; delete_stall=$stall
    stalls=() times=()
    for run in $(seq 1 "${RUNS:-3}"); do
        fresh "$base"; rm -rf state; writer_start
        t=$(now); "$UPKEEP" -q run purge; up=$(elapsed "$t")
        writer_stop
        left=$(pg_app -d s -tAc "SELECT count(*) FROM t WHERE $cond")
        [ "$left" = 0 ] || echo "  $left candidates LEFT after run $run"
        stalls+=("$stall") times+=("$up")
    done
    up=$(median "${times[@]}") stall=$(maximum "${stalls[@]}")
    ratio=$(echo "$single / $up" | bc -l)
    printf '== %-28s %6s candidates of %6s rows: DELETE %5.2f s (stall %6.1f ms) | upkeep %5.2f s (median), %.2fx; stall median %5.1f ms, max %5.1f ms\n' \
        "$name" "$count" "$rows" "$single" "$delete_stall" "$up" "$ratio" "$(median "${stalls[@]}")" "$stall"
    worst_stall=$(echo "if ($stall > $worst_stall) $stall else $worst_stall" | bc -l)
    worst_ratio=$(echo "if ($ratio < $worst_ratio) $ratio else $worst_ratio" | bc -l)
    pg_admin -d postgres -c "DROP DATABASE s WITH (FORCE)" -c "DROP DATABASE $base" >/dev/null
done
printf 'worst over all shapes: upkeep purge on PostgreSQL: stall %.1f ms (target <= 50), throughput %.2fx one DELETE (target >= 0.75)\n' \
    "$worst_stall" "$worst_ratio"
