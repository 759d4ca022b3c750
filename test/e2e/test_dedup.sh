#!/bin/bash
# After about 1% of rows change, the second backup stores less than 5% of the first's bytes.
source "$(dirname "$0")/lib.sh"
write_config
"$GENDB" app.db --size-mb 32 >/dev/null
stored() { echo "$1" | sed -n 's/.*"bytes_stored": \([0-9]*\).*/\1/p'; }
expect_status 0 "$UPKEEP" backup app --json
first=$(stored "$OUT")
"$GENDB" app.db --mutate 1 --seed 9 >/dev/null
expect_status 0 "$UPKEEP" backup app --json
second=$(stored "$OUT")
[ -n "$first" ] && [ -n "$second" ] || fail "no byte counts: $OUT"
[ $((second * 100)) -lt $((first * 5)) ] || fail "second backup stored $second bytes, first $first"
pass "second backup stored $second bytes vs $first ($((second * 1000 / first))‰)"
# Both restore correctly.
for id in $(ls repo/snapshots); do
    expect_status 0 "$UPKEEP" verify "$id"
done
pass "both backups verify"
