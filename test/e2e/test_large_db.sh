#!/bin/bash
# A database larger than 1 GiB: SQLite never uses the page holding byte 2^30 (its lock page),
# and the backup must still produce a complete, correct image across it.
source "$(dirname "$0")/lib.sh"
write_config
sqlite3 app.db "PRAGMA page_size=65536; PRAGMA journal_mode=wal;
    CREATE TABLE big(id INTEGER PRIMARY KEY, data BLOB);
    INSERT INTO big(data) VALUES (zeroblob(600000000)), (zeroblob(600000000));
    INSERT INTO big(data) VALUES (randomblob(100000));
    PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
size=$(stat -c %s app.db)
[ "$size" -gt $((1 << 30)) ] || fail "test database is only $size bytes"
expect_status 0 "$UPKEEP" backup app
expect_status 0 "$UPKEEP" restore latest --database app --to restored.db
[ "$(stat -c %s restored.db)" = "$size" ] || fail "restored size differs"
[ "$(sqlite3 restored.db 'PRAGMA quick_check')" = ok ] || fail "restored database is damaged"
[ "$(sqlite3 restored.db 'SELECT hex(data) FROM big WHERE id = 3' | sha256sum)" = \
  "$(sqlite3 app.db 'SELECT hex(data) FROM big WHERE id = 3' | sha256sum)" ] || fail "content differs"
diffs=$({ cmp -l app.db restored.db || true; } | awk '$1 > 100' | wc -l)
[ "$diffs" -eq 0 ] || fail "restored file differs beyond the header in $diffs bytes"
pass "a $((size >> 20)) MiB database backs up and restores across the lock page"
