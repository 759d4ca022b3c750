#!/bin/bash
# Purge on MariaDB beside a writer at 500 tx/s (upkeep-writer: one INSERT per commit, as a
# web request makes it), on a server this script starts with the log flushed at every commit,
# on data of several shapes: datetime and bigint (Unix seconds) age columns, narrow and wide
# rows, a uuid key (rows numbered in a temporary table) besides bigint ones, candidates
# scattered through the table or clustered at its start; 50,000 candidates each. The
# comparison itself is bench/purge_shapes.sh's; a copy of a shape's table is CREATE TABLE …
# LIKE and INSERT … SELECT.
# Usage: bench/my_purge.sh [BUILD]   (ONLY=NAME for one shape, RUNS=N upkeep runs a shape)
set -euo pipefail
source "$(dirname "$0")/lib.sh" "${1:-build}"
cleanup_scratch() { :; }
source "$top/test/services/mariadb.sh"
engine=MariaDB
shapes=(
    "datetime-narrow-scattered datetime 80 250000 scattered"
    "bigint-wide-scattered bigint 1500 150000 scattered"
    "datetime-wide-clustered datetime 1500 150000 clustered"
    "bigint-narrow-clustered bigint 80 250000 clustered"
    "uuid-key-narrow-scattered datetime 80 250000 scattered uuid"
)
rm -rf my-purge && mkdir my-purge && cd my-purge
MY_FSYNC=on MY_BUFFER_POOL=1G my_up
now_s=$(date +%s)
cutoff_s=$((now_s - 180 * 86400))
timestamp_of() { echo "FROM_UNIXTIME($1)"; }
make_shape() { # make_shape DB TYPE BYTES ROWS ORDER KEY
    local db=$1 type=$2 bytes=$3 rows=$4 order=$5 key=$6
    local id=seq key_type=BIGINT
    [ "$key" = uuid ] && id="UUID()" key_type=UUID
    local candidate="RAND() < $candidates / $rows"
    [ "$order" = clustered ] && candidate="seq <= $candidates"
    local old="$now_s - (200 + FLOOR(RAND() * 300)) * 86400"
    local recent="$now_s - FLOOR(RAND() * 100) * 86400"
    if [ "$type" = datetime ]; then
        old="FROM_UNIXTIME($old)"
        recent="FROM_UNIXTIME($recent)"
    fi
    my_app -e "CREATE DATABASE $db"
    my_app "$db" -e "CREATE TABLE t(id $key_type PRIMARY KEY, user_id INT, body TEXT,
            deleted_at $type, KEY t_deleted(deleted_at));
        INSERT INTO t SELECT $id, FLOOR(RAND() * 5000), SUBSTR(REPEAT(MD5(seq), $((bytes / 32 + 1))), 1, $bytes),
            CASE WHEN $candidate THEN $old WHEN RAND() < 0.33 THEN $recent END
        FROM seq_1_to_$rows;
        CREATE TABLE seq(id BIGINT PRIMARY KEY, payload TEXT);
        ANALYZE TABLE t;" >/dev/null
}
fresh() { # a copy of the shape's database, as s
    my_app -e "DROP DATABASE IF EXISTS s; CREATE DATABASE s; CREATE TABLE s.t LIKE $1.t;
        INSERT INTO s.t SELECT * FROM $1.t; CREATE TABLE s.seq LIKE $1.seq; ANALYZE TABLE s.t" >/dev/null
}
sql() { my_app -N "$1" -e "$2"; }
drop_shape() { my_app -e "DROP DATABASE s; DROP DATABASE $1"; }
writer_url=mariadb://upkeep@127.0.0.1:$MY_PORT/s
export MYSQL_PWD=$MY_PASSWORD # the writer's
cat > upkeep.conf <<CONF
[upkeep]
state = state/state.db
[database app]
url = mariadb://upkeep@127.0.0.1:$MY_PORT/s
password_file = $MY_PASSFILE
[job purge]
task = purge
database = app
table = t
age_column = deleted_at
older_than = $(( now_s - cutoff_s ))s
CONF
source "$top/bench/purge_shapes.sh"
