#!/bin/bash
# Purge on PostgreSQL beside a writer at 500 tx/s (upkeep-writer: one INSERT per commit, as a
# web request makes it), on a server this script starts with fsync on, on data of several
# shapes: timestamptz and bigint (Unix seconds) age columns, narrow and wide rows, a uuid key
# (rows numbered in a temporary table) besides bigint ones, candidates scattered through the
# table or clustered at its start; 50,000 candidates each. The comparison itself is
# bench/purge_shapes.sh's; copies of a shape's database are CREATE DATABASE … TEMPLATE.
# Usage: bench/pg_purge.sh [BUILD]   (ONLY=NAME for one shape, RUNS=N upkeep runs a shape)
set -euo pipefail
source "$(dirname "$0")/lib.sh" "${1:-build}"
cleanup_scratch() { :; }
source "$top/test/services/postgresql.sh"
engine=PostgreSQL
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
timestamp_of() { echo "to_timestamp($1)"; }
make_shape() { # make_shape DB TYPE BYTES ROWS ORDER KEY
    local db=$1 type=$2 bytes=$3 rows=$4 order=$5 key=$6
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
sql() { pg_app -d "$1" -tAc "$2"; }
drop_shape() { pg_admin -d postgres -c "DROP DATABASE s WITH (FORCE)" -c "DROP DATABASE $1" >/dev/null; }
writer_url=postgresql://upkeep@127.0.0.1:$PG_PORT/s
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
source "$top/bench/purge_shapes.sh"
