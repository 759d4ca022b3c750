#!/bin/bash
# PostgreSQL end to end on a real server started here: a consistent online backup while a
# writer commits (pg_dump under upkeep's exported snapshot, streamed and cut by content), the
# password kept out of argv, manifests and state, restore into a new database with an
# identical dump, a second backup that stores little, and the errors a user meets.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/../services/postgresql.sh"
pg_up
pg_app -d app -c "CREATE TABLE customers(id serial PRIMARY KEY, name text NOT NULL, note text);
    CREATE SCHEMA shop;
    CREATE TABLE shop.orders(id bigserial PRIMARY KEY, customer int REFERENCES customers(id),
        amount numeric(12,2), placed timestamptz DEFAULT now(), items jsonb);
    CREATE INDEX ON shop.orders(customer);
    CREATE TABLE events(id bigint PRIMARY KEY, at timestamptz DEFAULT now());
    CREATE SCHEMA stats;
    CREATE TABLE stats.daily(day date PRIMARY KEY, visits int);
    INSERT INTO stats.daily SELECT current_date - i, i FROM generate_series(1, 30) i;
    INSERT INTO customers(name, note) SELECT 'customer ' || i, repeat(md5(i::text), 4)
        FROM generate_series(1, 20000) i;
    INSERT INTO shop.orders(customer, amount, items) SELECT 1 + i % 20000, i * 1.25,
        jsonb_build_object('sku', i, 'qty', i % 7) FROM generate_series(1, 60000) i;"
cat > upkeep.conf <<CONF
[upkeep]
state = state/state.db
[database shop]
url = $PG_URL
password_file = $PG_PASSFILE
[repository local]
url = file://repo
[job nightly]
task = backup
database = shop
repository = local
CONF

# A writer appends events 1, 2, 3 … in their own transactions throughout the backup.
(i=0; while [ ! -f stop ]; do i=$((i + 1)); pg_app -d app -c "INSERT INTO events(id) VALUES ($i)"; done) &
writer=$!
sleep 0.5
expect_status 0 "$UPKEEP" backup shop --json
first=$OUT
touch stop; wait "$writer"; rm -f stop
id=$(jq -r .id <<<"$first")
[ "$(jq -r .image_bytes <<<"$first")" -gt 1000000 ] || fail "the dump is too small: $first"
expect_status 0 "$UPKEEP" backups --json
[ "$(jq -r '.[0].database' <<<"$OUT")" = shop ] || fail "backups does not list it: $OUT"
pass "online backup of PostgreSQL while a writer commits"

if grep -rqa -- "$PG_PASSWORD" repo state; then fail "the password is stored in the repository or state"; fi
pass "the password is in neither the repository nor the state"

expect_status 0 "$UPKEEP" restore "$id" --database shop --to-database restored
expect_contains "$OUT" "restored backup $id to 'restored'"
# The snapshot is one instant: the writer's events are 1..N without a gap.
read -r n max < <(pg_app -d restored -tAc "SELECT count(*), coalesce(max(id), 0) FROM events" | tr '|' ' ')
[ "$n" = "$max" ] || fail "restored events are not one instant: $n rows, highest $max"
[ "$n" -gt 0 ] || fail "no writer commit came before the backup"
# What did not change since is identical, table for table, schema included.
# (pg_dump's \restrict lines carry a random key each time.)
dump_table() { PGPASSWORD=$PG_PASSWORD pg_dump -h 127.0.0.1 -p "$PG_PORT" -U upkeep -d "$1" -t "$2" | grep -v '^\\\(un\)\?restrict '; }
for t in customers shop.orders; do
    dump_table app "$t" > a.sql
    dump_table restored "$t" > b.sql
    cmp -s a.sql b.sql || fail "table $t differs after the restore: $(diff a.sql b.sql | head -5)"
done
pass "restore into a new database: one instant, tables identical to the source"

expect_status 1 "$UPKEEP" restore "$id" --database shop --to-database restored
expect_contains "$ERR" "database 'restored' already exists on the server"
expect_status 2 "$UPKEEP" restore "$id" --database shop --to x.db
expect_contains "$ERR" "is on a server: use --to-database NAME"
pass "restore refuses an existing database and a file target"

# Verify loads the backup into a scratch database on the server, compares the recorded row
# counts, runs amcheck when the role may, and drops it again.
scratch_left() { pg_admin -d postgres -tAc "SELECT count(*) FROM pg_database WHERE datname LIKE 'upkeep_verify_%'"; }
expect_status 0 "$UPKEEP" verify "$id"
expect_contains "$OUT" "row counts of 4 tables match; amcheck not available to this role"
[ "$(scratch_left)" = 0 ] || fail "verify left its scratch database"
pg_admin -d postgres -c "ALTER ROLE upkeep SUPERUSER"
expect_status 0 "$UPKEEP" verify "$id" --json
expect_contains "$OUT" "amcheck: "
pg_admin -d postgres -c "ALTER ROLE upkeep NOSUPERUSER"
pass "verify proves a PostgreSQL backup on a scratch database, then drops it"
cp "repo/snapshots/$id" manifest.good
python3 "$HELPERS/tamper_manifest.py" "repo/snapshots/$id" rows public.customers 19999
expect_status 1 "$UPKEEP" verify "$id"
expect_contains "$OUT" "table public.customers has 20000 rows, the backup recorded 19999"
python3 "$HELPERS/tamper_manifest.py" "repo/snapshots/$id" 1 2
expect_status 1 "$UPKEEP" verify "$id"
expect_contains "$OUT" "failed to load: pg_restore failed"
[ "$(scratch_left)" = 0 ] || fail "a failed verify left its scratch database"
expect_status 0 "$UPKEEP" backups --json
[ "$(jq -r --arg id "$id" '.[] | select(.id == $id) | .verify_result' <<<"$OUT")" = failed ] ||
    fail "the failed verify is not recorded: $OUT"
cp manifest.good "repo/snapshots/$id"
pass "verify fails a backup whose rows or bytes are not what was recorded, and records it"

# A small change: 4 rows updated, 300 orders added. The second backup stores the chunks
# around them (each scattered change costs about one 4 KiB chunk), not the dump again. (The
# new orders are wide: PostgreSQL puts a row that fits into the free bytes of an old page, so
# narrow ones would land all over the table, as a real day's inserts do.)
pg_app -d app -c "UPDATE customers SET note = 'changed' WHERE id % 5000 = 0;
    INSERT INTO shop.orders(customer, amount, items) SELECT 1, 1,
        jsonb_build_object('note', repeat('x', 400)) FROM generate_series(1, 300);"
expect_status 0 "$UPKEEP" backup shop --json
stored=$(jq -r .bytes_stored <<<"$OUT")
first_stored=$(jq -r .bytes_stored <<<"$first")
[ "$stored" -lt $((first_stored / 5)) ] || fail "second backup stored $stored bytes of $first_stored"
pass "a second backup after small changes stores $stored of $first_stored bytes"

# Several hosts, one database: a job runs where its cluster lock is free, and is skipped
# (recorded, no failure alert) where another session holds it.
pg_app -d app -c "SELECT pg_advisory_lock(hashtextextended('upkeep:nightly', 0)); SELECT pg_sleep(3)" >/dev/null &
holder=$!
sleep 1
expect_status 1 "$UPKEEP" run nightly
expect_contains "$ERR" "job 'nightly' skipped: another host is running it (its cluster lock on database 'shop' is taken)"
[ "$(sqlite3 state/state.db "SELECT result FROM runs WHERE job = 'nightly' ORDER BY id DESC LIMIT 1")" = skipped ] ||
    fail "the skipped run is not recorded"
wait "$holder"
expect_status 0 "$UPKEEP" run nightly
printf 'cluster_lock = no\n' >> upkeep.conf
pg_app -d app -c "SELECT pg_advisory_lock(hashtextextended('upkeep:nightly', 0)); SELECT pg_sleep(2)" >/dev/null &
holder=$!
sleep 1
expect_status 0 "$UPKEEP" run nightly
wait "$holder"
sed -i '$d' upkeep.conf
pass "a job runs on one host at a time (cluster_lock), and cluster_lock = no turns it off"

# Health and metrics of the server: reachable, size, connections, transaction-id age, the
# longest open transaction (one held open here), row counts; a warning past a threshold.
sed -i "s|^password_file = .*|&\ncount_tables = customers, shop.orders, missing\nsize_warning = 1KB|" upkeep.conf
pg_app -d app -c "BEGIN; SELECT txid_current(); SELECT pg_sleep(3); COMMIT" >/dev/null &
holder=$!
sleep 1
expect_status 1 "$UPKEEP" --json health --no-actions
check() { jq -r --arg c "$1" --arg s "$2" '.checks[] | select(.check == $c and .subject == $s) | "\(.status) \(.value)"' <<<"$OUT"; }
[ "$(check reachable shop)" = "OK 1" ] || fail "reachable: $(check reachable shop)"
expect_contains "$(check size shop)" "WARNING"
expect_contains "$(check connections shop)" "OK 0.0"
[ "$(jq -r '[.checks[] | select(.subject == "shop") | .unit] | join(",")' <<<"$OUT")" = \
    ",bytes,ratio,transactions,seconds,seconds" ] || fail "units: $(jq -c '[.checks[] | .unit]' <<<"$OUT")"
expect_contains "$(check xid_age shop)" "OK "
[ "$(check longest_transaction shop | awk '{print ($2 >= 0.5)}')" = 1 ] ||
    fail "the open transaction is not seen: $(check longest_transaction shop)"
[ "$(check rows shop.customers)" = "OK 20000" ] || fail "rows: $(check rows shop.customers)"
[ "$(check rows shop.shop.orders)" = "OK 60300" ] || fail "rows: $(check rows shop.shop.orders)"
expect_contains "$(check rows shop.missing)" "UNKNOWN"
wait "$holder"
# Dead row versions and the last vacuum, per counted table: 15,000 of 20,000 customers
# rewritten and not yet vacuumed is a warning; after a VACUUM it is fine and dated.
pg_app -d app -c "UPDATE customers SET note = note || '' WHERE id <= 15000" >/dev/null
sleep 1.5 # the server publishes its table statistics about once a second
expect_status 1 "$UPKEEP" --json health --no-actions
[ "$(check dead_rows shop.customers | cut -d' ' -f1)" = WARNING ] || fail "dead rows: $(check dead_rows shop.customers)"
[ "$(check dead_rows shop.customers | cut -d' ' -f2)" -ge 15000 ] || fail "dead rows: $(check dead_rows shop.customers)"
expect_contains "$OUT" "last vacuumed never"
pg_admin -d app -c "VACUUM customers" >/dev/null
sleep 1.5
expect_status 1 "$UPKEEP" --json health --no-actions
[ "$(check dead_rows shop.customers)" = "OK 0" ] || fail "dead rows after VACUUM: $(check dead_rows shop.customers)"
[ "$(check last_vacuum shop.customers | awk '{print ($2 > 1700000000)}')" = 1 ] ||
    fail "last vacuum: $(check last_vacuum shop.customers)"
expect_status 0 "$UPKEEP" metrics
expect_contains "$OUT" 'upkeep_table_dead_rows{table="shop.customers"} 0'
expect_contains "$OUT" 'upkeep_table_last_vacuum_timestamp_seconds{table="shop.customers"} 1'
expect_contains "$OUT" 'upkeep_database_xid_age{database="shop"}'
expect_contains "$OUT" 'upkeep_database_connections_ratio{database="shop"}'
expect_contains "$OUT" 'upkeep_table_rows{table="shop.shop.orders"} 60300'
promtool check metrics <<<"$OUT" >/dev/null 2>&1 || fail "metrics rejected by promtool: $(promtool check metrics <<<"$OUT" 2>&1 | head -3)"
pass "health and metrics of a PostgreSQL server, dead rows and the last vacuum per table included"

# The slow-query report, from pg_stat_statements: said clearly while it is off, then the
# slow statement with its mean time.
expect_status 1 "$UPKEEP" queries --database shop
expect_contains "$ERR" "pg_stat_statements is not installed in this database"
pg_admin -d app -c "CREATE EXTENSION pg_stat_statements" -c "SELECT pg_stat_statements_reset()" >/dev/null
pg_app -d app -c "SELECT pg_sleep(0.3)" -c "SELECT pg_sleep(0.3)" -c "SELECT count(*) FROM customers" >/dev/null
expect_status 0 "$UPKEEP" --json queries --database shop --threshold 0.2
[ "$(jq -r '.queries | length' <<<"$OUT")" = 1 ] || fail "queries: $OUT"
expect_contains "$(jq -r '.queries[0].query' <<<"$OUT")" "pg_sleep"
[ "$(jq -r '.queries[0].calls' <<<"$OUT")" = 2 ] || fail "queries calls: $OUT"
[ "$(jq -r '.queries[0].mean_seconds >= 0.29' <<<"$OUT")" = true ] || fail "queries mean: $OUT"
expect_status 0 "$UPKEEP" queries --database shop --threshold 0.2
expect_contains "$OUT" "SELECT pg_sleep("
# As a health check (and so an alert on warning): slow_query_warning on the database.
sed -i "s|^password_file = .*|&\nslow_query_warning = 200ms|" upkeep.conf
expect_status 1 "$UPKEEP" --json health --no-actions
[ "$(check slow_queries shop | cut -d' ' -f1)" = WARNING ] || fail "slow_queries: $(check slow_queries shop)"
expect_contains "$(jq -r '.checks[] | select(.check == "slow_queries") | .message' <<<"$OUT")" "pg_sleep"
expect_status 0 "$UPKEEP" metrics
expect_contains "$OUT" 'upkeep_database_slowest_query_mean_seconds{database="shop"} 0.3'
sed -i '/^slow_query_warning/d' upkeep.conf
pass "the slow-query report lists what is slow, says how to turn it on, and warns in health"

# Index analysis: an unused index, a duplicate, a foreign key without an index; --apply
# creates only the foreign-key index, concurrently.
pg_app -d app -c "CREATE TABLE repairs(id serial PRIMARY KEY, customer int REFERENCES customers(id), cost int);
    INSERT INTO repairs(customer, cost) SELECT 1 + i % 20000, i FROM generate_series(1, 5000) i;
    CREATE INDEX repairs_cost ON repairs(cost); CREATE INDEX repairs_cost_again ON repairs(cost);" >/dev/null
pg_admin -d app -c "SELECT pg_stat_reset()" >/dev/null
expect_status 0 "$UPKEEP" --json indexes --database shop
kinds() { jq -r '[.findings[] | select(.object | test("repairs")) | .kind] | sort | join(",")' <<<"$OUT"; }
[ "$(kinds)" = "duplicate,fk_without_index,unused,unused" ] || fail "index findings: $(kinds) in $OUT"
expect_contains "$OUT" "CREATE INDEX CONCURRENTLY repairs_customer_fk_idx ON repairs (customer)"
expect_status 0 "$UPKEEP" indexes --database shop --apply
expect_contains "$OUT" "--apply: created"
pg_app -d app -tAc "SELECT indisvalid FROM pg_index WHERE indexrelid = 'repairs_customer_fk_idx'::regclass" | grep -qx t ||
    fail "the foreign-key index was not created"
pg_app -d app -tAc "SELECT count(*) FROM pg_indexes WHERE tablename = 'repairs'" | grep -qx 4 ||
    fail "--apply dropped or added other indexes"
expect_status 0 "$UPKEEP" --json indexes --database shop
[ "$(kinds)" = "duplicate,unused,unused,unused" ] || fail "after --apply: $(kinds)"
pass "index analysis finds unused and duplicate indexes and unindexed foreign keys; --apply adds only those"

# Maintenance: VACUUM (ANALYZE) and REINDEX DATABASE CONCURRENTLY, with the size and the
# dead row versions before and after; vacuum = incremental is refused for a server.
cat >> upkeep.conf <<CONF
[job maintenance]
task = vacuum
database = shop
reindex = yes
CONF
pg_app -d app -c "UPDATE repairs SET cost = cost + 1" -c "SELECT pg_stat_force_next_flush()" >/dev/null
sleep 1
expect_status 0 "$UPKEEP" --json run maintenance
expect_contains "$OUT" '"mode": "vacuum"'
expect_contains "$OUT" '"analyzed": true'
expect_contains "$OUT" '"reindexed": true'
before=$(grep -o '"dead_tuples_before": [0-9]*' <<<"$OUT" | grep -o '[0-9]*$')
after=$(grep -o '"dead_tuples_after": [0-9]*' <<<"$OUT" | grep -o '[0-9]*$')
[ "${before:-0}" -ge 5000 ] && [ "${after:-1}" -lt "$before" ] ||
    fail "dead tuples before $before, after $after: $OUT"
sed -i 's/^reindex = yes$/reindex = yes\nvacuum = incremental/' upkeep.conf
expect_status 2 "$UPKEEP" check
expect_contains "$ERR" "vacuum = incremental is for SQLite files"
sed -i '/^vacuum = incremental$/d' upkeep.conf
pass "vacuum jobs run VACUUM (ANALYZE) and REINDEX CONCURRENTLY on PostgreSQL, with dead rows before and after"

# Errors a user meets: a wrong password, a server that is not there.
# upkeep check: the password file must be the owner's alone.
expect_status 0 "$UPKEEP" check
chmod 644 "$PG_PASSFILE"
expect_status 2 "$UPKEEP" check
expect_contains "$ERR" "database 'shop': password_file '$PG_PASSFILE' is readable by group or others (chmod 600)"
chmod 600 "$PG_PASSFILE"
pass "check refuses a password file others can read"

expect_status 0 "$UPKEEP" backups --json
listed=$(jq length <<<"$OUT")
echo wrong > badpass; chmod 600 badpass
sed "s|^password_file = .*|password_file = badpass|" upkeep.conf > bad.conf
expect_status 1 "$UPKEEP" -c bad.conf backup shop
expect_contains "$ERR" "unable to connect to 'postgresql://upkeep@127.0.0.1:$PG_PORT/app'"
expect_contains "$ERR" "password authentication failed"
sed "s|^url = postgresql://.*|url = postgresql://upkeep@127.0.0.1:1/app|" upkeep.conf > gone.conf
expect_status 1 "$UPKEEP" -c gone.conf backup shop
expect_contains "$ERR" "unable to connect"
expect_status 0 "$UPKEEP" backups --json
[ "$(jq length <<<"$OUT")" = "$listed" ] || fail "a failed backup is listed: $OUT"
pass "a wrong password or an absent server is a clear error and lists no backup"

# Integrity on the live database: amcheck on every index (and, with full, every table) under
# ACCESS SHARE locks, and foreign keys left unvalidated; without amcheck, a clear error.
cat >> upkeep.conf <<CONF
[job integrity]
task = integrity
database = shop
checks = quick, full, foreign_keys
CONF
expect_status 1 "$UPKEEP" run integrity
expect_contains "$ERR" "the amcheck extension is not installed in this database: CREATE EXTENSION amcheck"
pg_admin -d app -c "CREATE EXTENSION amcheck" -c "ALTER ROLE upkeep SUPERUSER" >/dev/null
expect_status 0 "$UPKEEP" --json run integrity
expect_contains "$OUT" '"quick_check": "ok ('
expect_contains "$OUT" 'indexes and every table checked)'
pg_app -d app -c "ALTER TABLE repairs ADD CONSTRAINT repairs_customer_again FOREIGN KEY (customer) REFERENCES customers(id) NOT VALID" >/dev/null
expect_status 1 "$UPKEEP" run integrity
expect_contains "$ERR" "foreign key repairs_customer_again is not validated"
pg_admin -d postgres -c "ALTER ROLE upkeep NOSUPERUSER" >/dev/null
pass "integrity jobs check a live PostgreSQL database with amcheck and its foreign keys"

# A backup holding extensions only a superuser may create (amcheck just above, and
# pg_stat_statements for the slow-query report) restores for a plain role without them, with a warning that names
# them; everything else is there. verify_cluster = yes verifies it in a throwaway cluster
# (initdb, a unix socket in a private folder; as the postgres user when root), whose
# superuser restores the extensions and runs amcheck; nothing of it is left.
expect_status 0 "$UPKEEP" backup shop --json
ext_id=$(jq -r .id <<<"$OUT")
expect_status 0 "$UPKEEP" restore "$ext_id" --database shop --to-database without_ext
expect_contains "$ERR" "extension amcheck is left out of the restore into 'without_ext': only a superuser can create it"
expect_contains "$ERR" "extension pg_stat_statements is left out"
[ "$(pg_app -d without_ext -tAc "SELECT count(*) FROM pg_extension WHERE extname IN ('amcheck', 'pg_stat_statements')")" = 0 ] ||
    fail "the superuser's extensions were restored by a plain role?"
dump_table app customers > a.sql
dump_table without_ext customers > b.sql
cmp -s a.sql b.sql || fail "a restore without the extensions differs: $(diff a.sql b.sql | head -5)"
expect_status 0 "$UPKEEP" verify "$ext_id"
expect_contains "$OUT" "amcheck not available to this role"
[ "$(scratch_left)" = 0 ] || fail "verify left its scratch database"
verify_tmp=$(mktemp -d /tmp/upkeep-verify-tmp.XXXXXX)
chmod 755 "$verify_tmp"
sed -i "s|^password_file = .*|&\nverify_cluster = yes|" upkeep.conf
# What a verify killed mid-way left (its upkeep is gone) is removed, its server stopped; a
# live upkeep's folder is not.
TMPDIR=$verify_tmp UPKEEP_CRASH_AT=verify-cluster-started expect_status 137 "$UPKEEP" verify "$ext_id"
pgrep -f "$verify_tmp/upkeep-verify-" >/dev/null || fail "the killed verify left no server to clean up"
dead=99999
while kill -0 "$dead" 2>/dev/null; do dead=$((dead + 1)); done
mkdir -p "$verify_tmp/upkeep-verify-$dead-Ab12Cd/data" "$verify_tmp/upkeep-verify-$$-Ef34Gh"
echo "$$" > "$verify_tmp/upkeep-verify-$dead-Ab12Cd/data/postmaster.pid" # not its server
TMPDIR=$verify_tmp expect_status 0 "$UPKEEP" verify "$ext_id"
expect_contains "$OUT" "amcheck: "
expect_contains "$OUT" "; throwaway cluster)"
[ ! -e "$verify_tmp/upkeep-verify-$dead-Ab12Cd" ] || fail "a dead verify's folder was left"
[ -d "$verify_tmp/upkeep-verify-$$-Ef34Gh" ] || fail "a live upkeep's folder was removed"
rmdir "$verify_tmp/upkeep-verify-$$-Ef34Gh"
[ -z "$(ls -A "$verify_tmp")" ] || fail "verify left its cluster behind: $(ls -A "$verify_tmp")"
if pgrep -f "$verify_tmp/upkeep-verify-" >/dev/null; then fail "a verify server is still running"; fi
# A damaged backup fails there too, and is recorded as failed.
cp "repo/snapshots/$ext_id" manifest.good
python3 "$HELPERS/tamper_manifest.py" "repo/snapshots/$ext_id" rows public.customers 19999
TMPDIR=$verify_tmp expect_status 1 "$UPKEEP" verify "$ext_id"
expect_contains "$OUT" "table public.customers has 20000 rows, the backup recorded 19999"
[ -z "$(ls -A "$verify_tmp")" ] || fail "a failed verify left its cluster behind"
cp manifest.good "repo/snapshots/$ext_id"
sed -i "/^verify_cluster = yes/d" upkeep.conf
rm -rf "$verify_tmp"
pass "a plain role restores a backup without a superuser's extensions; verify_cluster proves it with them"

# Restore in place: the backup is loaded under a name of its own, then swapped in while the
# old database is renamed aside, in one transaction. Refused while the application is
# connected (nothing changes, nothing is left behind); with --force its sessions are ended.
before=$(pg_app -d app -tAc "SELECT count(*) FROM events")
pg_app -d app -c "SELECT pg_sleep(30)" >/dev/null 2>&1 &
sleeper=$!
sleep 0.5
expect_status 1 "$UPKEEP" restore "$id" --database shop --in-place
expect_contains "$ERR" "'app' has 1 other session: stop the application, or give --force to end them"
[ "$(pg_app -d app -tAc "SELECT count(*) FROM events")" = "$before" ] || fail "the refused restore changed app"
others() { pg_admin -d postgres -tAc "SELECT string_agg(datname, ' ' ORDER BY datname) FROM pg_database WHERE datname LIKE 'upkeep_restore_%' OR datname LIKE 'app_before_restore_%'"; }
[ -z "$(others)" ] || fail "the refused restore left databases: $(others)"
expect_status 0 "$UPKEEP" restore "$id" --database shop --in-place --force --json
wait "$sleeper" 2>/dev/null || true
kept=$(jq -r .kept_aside <<<"$OUT")
[[ "$kept" == app_before_restore_* ]] || fail "kept aside as: $OUT"
[ "$(others)" = "$kept" ] || fail "databases left: $(others)"
[ "$(pg_app -d app -tAc "SELECT count(*) FROM events")" = "$n" ] || fail "app is not the backup"
[ "$(pg_app -d "$kept" -tAc "SELECT count(*) FROM events")" = "$before" ] || fail "the old database was not kept"
pass "restore in place swaps the backup in and keeps the old database aside; refused while in use without --force"

# Tables or schemas alone, into a new database.
expect_status 0 "$UPKEEP" restore "$id" --database shop --to-database only_customers --table customers
[ "$(pg_app -d only_customers -tAc "SELECT count(*) FROM customers")" = 20000 ] || fail "customers not restored"
[ "$(pg_app -d only_customers -tAc "SELECT to_regclass('shop.orders') IS NULL")" = t ] || fail "more than the table was restored"
expect_status 0 "$UPKEEP" restore "$id" --database shop --to-database only_stats --schema stats
[ "$(pg_app -d only_stats -tAc "SELECT count(*) FROM stats.daily")" = 30 ] || fail "schema stats not restored"
[ "$(pg_app -d only_stats -tAc "SELECT to_regclass('public.customers') IS NULL")" = t ] || fail "more than the schema was restored"
# A schema whose foreign keys point outside it cannot stand alone: pg_restore says so, and the
# half-made database is dropped.
expect_status 1 "$UPKEEP" restore "$id" --database shop --to-database only_shop --schema shop
expect_contains "$ERR" 'relation "public.customers" does not exist'
[ "$(pg_admin -d postgres -tAc "SELECT count(*) FROM pg_database WHERE datname = 'only_shop'")" = 0 ] ||
    fail "a failed partial restore left its database"
expect_status 2 "$UPKEEP" restore "$id" --database shop --in-place --table customers
expect_contains "$ERR" "--table and --schema restore into a new database"
pass "restore of one table or one schema into a new database"
