#!/bin/bash
# A schema and workload nobody here wrote: pgbench's (PostgreSQL's own TPC-B-like benchmark:
# branches, tellers, accounts, history, with its foreign keys). pgbench commits transactions
# throughout the backup; each moves the same amount into an account, its teller and its
# branch and logs it in history, so a backup of one instant has equal sums in all four
# tables. The backup verifies; once pgbench has stopped, a second backup restores to a
# database whose pg_dump has the source's schema line for line and the same rows.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/../services/postgresql.sh"
pg_up
bench() { PGPASSWORD=$PG_PASSWORD pgbench -h 127.0.0.1 -p "$PG_PORT" -U upkeep "$@"; }
bench -i -q -s 4 --foreign-keys app >/dev/null 2>bench-init.err ||
    fail "pgbench -i failed: $(cat bench-init.err)"
cat > upkeep.conf <<CONF
[upkeep]
state = state/state.db
[database bank]
url = $PG_URL
password_file = $PG_PASSFILE
count_tables = pgbench_accounts, pgbench_history
[repository local]
url = file://repo
CONF

bench -n -c 2 -T 5 app >bench.out 2>&1 &
writer=$!
sleep 1
expect_status 0 "$UPKEEP" backup bank --json
during=$(jq -r .id <<<"$OUT")
wait "$writer" || fail "pgbench failed: $(tail -3 bench.out)"
expect_status 0 "$UPKEEP" verify "$during"
expect_contains "$OUT" "row counts of 4 tables match"
expect_status 0 "$UPKEEP" restore "$during" --database bank --to-database during
sums() {
    pg_app -d "$1" -tAc "SELECT (SELECT sum(abalance) FROM pgbench_accounts) || ' ' ||
        (SELECT sum(tbalance) FROM pgbench_tellers) || ' ' ||
        (SELECT sum(bbalance) FROM pgbench_branches) || ' ' ||
        (SELECT coalesce(sum(delta), 0) FROM pgbench_history)"
}
read -r accounts tellers branches history < <(sums during)
[ "$accounts" = "$tellers" ] && [ "$tellers" = "$branches" ] && [ "$branches" = "$history" ] ||
    fail "the backup taken under pgbench is not one instant: sums $accounts $tellers $branches $history"
in_backup=$(pg_app -d during -tAc "SELECT count(*) FROM pgbench_history")
[ "$in_backup" -gt 0 ] || fail "no pgbench transaction came before the backup"
[ "$in_backup" -lt "$(pg_app -d app -tAc "SELECT count(*) FROM pgbench_history")" ] ||
    fail "no pgbench transaction came after the backup began: it did not run under load"
pass "a backup under pgbench's workload verifies and restores to one instant (balances agree)"

# At rest: the whole database, schema, data and constraints, comes back identical.
expect_status 0 "$UPKEEP" backup bank --json
rest=$(jq -r .id <<<"$OUT")
expect_status 0 "$UPKEEP" restore "$rest" --database bank --to-database at_rest
# The schema exactly; the rows as sets (updated rows sit elsewhere on disk in the source, so
# COPY lists them in another order).
whole_dump() { PGPASSWORD=$PG_PASSWORD pg_dump -h 127.0.0.1 -p "$PG_PORT" -U upkeep -d "$1" "${@:2}" | grep -v '^\\\(un\)\?restrict '; }
whole_dump app --schema-only > source.sql
whole_dump at_rest --schema-only > restored.sql
[ "$(grep -c 'FOREIGN KEY' source.sql)" -ge 4 ] || fail "pgbench's foreign keys are missing from the source"
cmp -s source.sql restored.sql || fail "the restored schema differs: $(diff source.sql restored.sql | head -5)"
whole_dump app --data-only | sort > source.rows
whole_dump at_rest --data-only | sort > restored.rows
[ "$(wc -l < source.rows)" -gt 400000 ] || fail "the source dump lacks pgbench's rows"
cmp -s source.rows restored.rows || fail "the restored rows differ: $(diff source.rows restored.rows | head -5)"
pass "pgbench's database round-trips with an identical pg_dump"

# upkeep init on pgbench's schema: its history table is a log by name (mtime its time).
expect_status 0 "$UPKEEP" init --database "$PG_URL" --password-file "$PG_PASSFILE" --output proposal.conf
expect_status 0 "$UPKEEP" -c proposal.conf check
expect_contains "$(cat proposal.conf)" "[job trim-pgbench_history]"
expect_contains "$(cat proposal.conf)" "age_column = mtime"
expect_status 0 "$UPKEEP" -c proposal.conf run --all --dry-run
pass "upkeep init on pgbench's schema proposes a config check accepts and runs dry"
