#!/bin/bash
# A backup taken while an application commits 500 small transactions per second finishes,
# and restores to a database that passes integrity_check and holds exactly ids 1..k.
source "$(dirname "$0")/lib.sh"
write_config
for mode in wal delete; do
    rm -rf app.db* repo state restored.db stop
    "$GENDB" app.db --size-mb 48 --journal $mode >/dev/null
    "$WRITER" app.db --rate 500 --seconds 120 --stop-file stop > writer.json &
    writer_pid=$!
    sleep 1
    expect_status 0 timeout 60 "$UPKEEP" backup app
    sleep 0.5
    touch stop
    wait $writer_pid || fail "$mode: writer failed: $(cat writer.json)"
    expect_status 0 "$UPKEEP" restore latest --database app --to restored.db
    [ "$(sqlite3 restored.db 'PRAGMA integrity_check')" = ok ] || fail "$mode: integrity"
    read -r k max_id <<<"$(sqlite3 -separator ' ' restored.db 'SELECT count(*), max(id) FROM seq')"
    [ "$k" -gt 0 ] || fail "$mode: the snapshot holds no writer rows"
    [ "$k" = "$max_id" ] || fail "$mode: ids are not exactly 1..k (count $k, max $max_id)"
    last=$(sed -n 's/.*"last_id":\([0-9]*\).*/\1/p' writer.json)
    [ "$k" -lt "$last" ] || fail "$mode: snapshot ($k) should predate the writer's end ($last)"
    pass "$mode: consistent snapshot under a 500 tx/s writer (ids 1..$k of $last; writer $(cat writer.json))"
done
