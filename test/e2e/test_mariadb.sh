#!/bin/bash
# MariaDB end to end on a real server started here: a consistent online backup while a
# writer commits (mariadb-dump --single-transaction, streamed and cut by content, rows counted
# from the dump), the password kept out of the repository and the state, verify in a scratch
# database, restore into a new database with an identical dump, tables that are not InnoDB
# refused or dumped locked, and the errors a user meets.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/../services/mariadb.sh"
my_up
my_app app -e "CREATE TABLE customers(id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(80) NOT NULL,
        note TEXT, photo BLOB);
    CREATE TABLE events(id BIGINT PRIMARY KEY, at TIMESTAMP DEFAULT CURRENT_TIMESTAMP);
    CREATE TABLE empty_one(id INT PRIMARY KEY);
    CREATE TABLE \`odd \`\` name\`(id INT PRIMARY KEY, v VARCHAR(20));
    INSERT INTO \`odd \`\` name\` VALUES (1, 'x');
    INSERT INTO customers(name, note, photo) VALUES
        ('quote '' and ), (', 'semi; colon\\\\ back\\\\slash', 0x00FF28292C27),
        ('new\nline', NULL, NULL);
    INSERT INTO customers(name, note) SELECT CONCAT('customer ', seq), REPEAT(MD5(seq), 4)
        FROM seq_1_to_20000;"
cat > upkeep.conf <<CONF
[upkeep]
state = state/state.db
[database shop]
url = $MY_URL
password_file = $MY_PASSFILE
[repository local]
url = file://repo
[job nightly]
task = backup
database = shop
repository = local
CONF

# A writer appends events 1, 2, 3 … in their own transactions throughout the backup.
(i=0; while [ ! -f stop ]; do i=$((i + 1)); my_app app -e "INSERT INTO events(id) VALUES ($i)"; done) &
writer=$!
sleep 0.5
expect_status 0 "$UPKEEP" backup shop --json
first=$OUT
touch stop; wait "$writer"; rm -f stop
id=$(jq -r .id <<<"$first")
[ "$(jq -r .image_bytes <<<"$first")" -gt 1000000 ] || fail "the dump is too small: $first"
expect_status 0 "$UPKEEP" backups --json
[ "$(jq -r '.[0].database' <<<"$OUT")" = shop ] || fail "backups does not list it: $OUT"
# Binary logging is on: the backup records where its snapshot is in the log.
grep -rqa '"binlog_file":"binlog.0000' repo || fail "no binary log position recorded"
grep -rqa '"gtid":"0-1-' repo || fail "no GTID recorded"
# A user with no binlog privileges gets the position too (from the snapshot's own status).
my_admin -e "CREATE USER 'reader'@'%' IDENTIFIED BY 'reader-pw';
    GRANT SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES ON app.* TO 'reader'@'%'"
echo reader-pw > reader-pass
sed "0,/^url = /s|^url = .*|url = mariadb://reader@127.0.0.1:$MY_PORT/app|; s|^password_file = .*|password_file = $PWD/reader-pass|" upkeep.conf > reader.conf
expect_status 0 "$UPKEEP" -c reader.conf backup shop --json
grep -qa '"binlog_file":"binlog.0000' "repo/snapshots/$(jq -r .id <<<"$OUT")" ||
    fail "no binary log position recorded for a user without binlog privileges"
pass "online backup of MariaDB while a writer commits"

if grep -rqa -- "$MY_PASSWORD" repo state; then fail "the password is stored in the repository or state"; fi
pass "the password is in neither the repository nor the state"

expect_status 0 "$UPKEEP" verify "$id" --json
expect_contains "$OUT" 'ok (row counts of 4 tables match; CHECK TABLE ok)'
[ -z "$(my_admin -N -e "SHOW DATABASES LIKE 'upkeep_verify%'")" ] || fail "verify left its scratch database"
pass "verify loads the dump into a scratch database, compares row counts, CHECK TABLE, drops it"

expect_status 0 "$UPKEEP" restore "$id" --database shop --to-database restored
expect_contains "$OUT" "restored backup $id to 'restored'"
# The snapshot is one instant: the writer's events are 1..N without a gap.
read -r n max < <(my_app -N restored -e "SELECT COUNT(*), COALESCE(MAX(id), 0) FROM events")
[ "$n" = "$max" ] || fail "restored events are not one instant: $n rows, highest $max"
[ "$n" -gt 0 ] || fail "no writer commit came before the backup"
dump() { MYSQL_PWD=$MY_PASSWORD mariadb-dump --no-defaults --protocol=TCP -h 127.0.0.1 -P "$MY_PORT" -u upkeep \
    --skip-dump-date --order-by-primary "$1" customers empty_one 'odd ` name' | grep -av '^-- Host: '; }
[ "$(dump app | md5sum)" = "$(dump restored | md5sum)" ] || fail "the restored tables differ from the original"
expect_status 1 "$UPKEEP" restore "$id" --database shop --to-database restored
expect_contains "$ERR" "database 'restored' exists already"
pass "restore into a new database gives an identical dump; an existing database is refused"

# Restore in place: the backup is loaded under a name of its own, then its tables replace the
# live ones in one RENAME TABLE while those move to a database kept aside; views, triggers,
# routines and events are recreated on both sides. Refused while the application is
# connected (nothing changes, nothing is left behind); with --force its sessions are ended.
my_app app -e "CREATE TABLE audit(id INT AUTO_INCREMENT PRIMARY KEY, customer INT);
    CREATE TRIGGER customers_audit AFTER UPDATE ON customers FOR EACH ROW INSERT INTO audit(customer) VALUES (NEW.id);
    CREATE VIEW named AS SELECT id, name FROM customers WHERE id <= 10;
    CREATE VIEW named_few AS SELECT id FROM named WHERE id <= 5;
    CREATE FUNCTION twice(x INT) RETURNS INT DETERMINISTIC RETURN 2 * x;
    CREATE EVENT tidy ON SCHEDULE EVERY 1 DAY DISABLE DO DELETE FROM audit"
expect_status 0 "$UPKEEP" backup shop --json
tagged=$(jq -r .id <<<"$OUT")
my_app app -e "UPDATE customers SET name = 'changed after' WHERE id = 1; DROP VIEW named_few"
my_app app -e "SELECT SLEEP(30)" >/dev/null 2>&1 &
sleeper=$!
sleep 0.5
expect_status 1 "$UPKEEP" restore "$tagged" --database shop --in-place
expect_contains "$ERR" "'app' has 1 other session: stop the application, or give --force to end them"
[ "$(my_app -N app -e "SELECT name FROM customers WHERE id = 1")" = "changed after" ] || fail "the refused restore changed app"
others() { my_admin -N -e "SELECT GROUP_CONCAT(schema_name) FROM information_schema.schemata WHERE schema_name LIKE 'upkeep_restore%' OR schema_name LIKE 'app_before_restore_%'"; }
[ "$(others)" = NULL ] || fail "the refused restore left databases: $(others)"
expect_status 0 "$UPKEEP" restore "$tagged" --database shop --in-place --force --json
wait "$sleeper" 2>/dev/null || true
kept=$(jq -r .kept_aside <<<"$OUT")
[[ "$kept" == app_before_restore_* ]] || fail "kept aside as: $OUT"
[ "$(others)" = "$kept" ] || fail "databases left: $(others)"
[ "$(my_app -N app -e "SELECT name FROM customers WHERE id = 1")" != "changed after" ] || fail "app is not the backup"
[ "$(my_app -N "$kept" -e "SELECT name FROM customers WHERE id = 1")" = "changed after" ] || fail "the old database was not kept"
[ "$(my_app -N app -e "SELECT COUNT(*) FROM named_few; SELECT twice(21)" | tr '\n' ' ')" = "5 42 " ] ||
    fail "views or routines not restored"
my_app app -e "UPDATE customers SET note = 'x' WHERE id = 2"
[ "$(my_app -N app -e "SELECT COUNT(*) FROM audit WHERE customer = 2")" = 1 ] || fail "the trigger does not fire in app"
[ "$(my_app -N "$kept" -e "SELECT COUNT(*) FROM named; SELECT status FROM information_schema.events WHERE event_schema = '$kept'" | tr '\n' ' ')" = "10 DISABLED " ] ||
    fail "the kept database lacks its views or its event is enabled"
pass "restore in place swaps the backup's tables in, keeps the old ones aside with their views, triggers, routines and events"

# A swap that cannot finish (a transaction of another database holds a table of app past the
# swap's lock wait) leaves app as it was, with its views, triggers, routines and events.
my_app app -e "UPDATE customers SET name = 'before failed swap' WHERE id = 1"
my_app information_schema -e "START TRANSACTION; SELECT COUNT(*) FROM app.events; SELECT SLEEP(25)" >/dev/null 2>&1 &
holder=$!
sleep 0.5
expect_status 1 "$UPKEEP" restore "$tagged" --database shop --in-place
kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null || true
expect_contains "$ERR" "Lock wait timeout exceeded"
[ "$(my_app -N app -e "SELECT name FROM customers WHERE id = 1")" = "before failed swap" ] || fail "the failed swap changed app"
[ "$(my_app -N app -e "SELECT COUNT(*) FROM named_few; SELECT twice(21); SELECT COUNT(*) FROM information_schema.events WHERE event_schema = 'app'" | tr '\n' ' ')" = "5 42 1 " ] ||
    fail "the failed swap lost views, routines or events"
my_app app -e "UPDATE customers SET note = 'y' WHERE id = 3"
[ "$(my_app -N app -e "SELECT COUNT(*) FROM audit WHERE customer = 3")" = 1 ] || fail "the failed swap lost the trigger"
[ "$(others)" = "$kept" ] || fail "the failed swap left databases: $(others)"
pass "a swap that cannot take the tables' locks leaves the live database whole"

# Tables alone, into a new database: the rest of the dump is dropped; --schema is PostgreSQL's.
expect_status 0 "$UPKEEP" restore "$tagged" --database shop --to-database only_customers --table customers
[ "$(my_app -N only_customers -e "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'only_customers'")" = 1 ] ||
    fail "more than the table was restored"
[ "$(my_app -N only_customers -e "SELECT COUNT(*) FROM customers")" = 20002 ] || fail "customers not restored"
expect_status 1 "$UPKEEP" restore "$tagged" --database shop --to-database only_missing --table missing
expect_contains "$ERR" "the backup has no table 'missing'"
[ "$(my_admin -N -e "SHOW DATABASES LIKE 'only_missing'")" = "" ] || fail "a failed table restore left its database"
expect_status 2 "$UPKEEP" restore "$tagged" --database shop --to-database only_schema --schema app
expect_contains "$ERR" "--schema is for PostgreSQL"
pass "restore of tables alone into a new database"

# A small change: 4 rows updated. The second backup stores the chunks around them, not the
# dump again.
my_app app -e "UPDATE customers SET note = 'changed' WHERE id % 5000 = 0"
expect_status 0 "$UPKEEP" backup shop --json
stored=$(jq -r .bytes_stored <<<"$OUT")
first_stored=$(jq -r .bytes_stored <<<"$first")
[ "$stored" -lt $((first_stored / 10)) ] || fail "second backup stored $stored bytes of $first_stored"
pass "a second backup after small changes stores $stored of $first_stored bytes"

# Health: reachable, size, connections, InnoDB's history list, the longest open transaction
# (the application's, held open here), and counted tables.
sed -i 's/^password_file = .*/&\ncount_tables = customers, missing/' upkeep.conf
my_app app -e "START TRANSACTION; SELECT COUNT(*) FROM customers; SELECT SLEEP(3); COMMIT" >/dev/null &
holder=$!
sleep 1
expect_status 3 "$UPKEEP" --json health --no-actions # 3: a counted table is missing (UNKNOWN)
check() { jq -r --arg c "$1" --arg s "$2" '.checks[] | select(.check == $c and .subject == $s) | "\(.status) \(.value)"' <<<"$OUT"; }
[ "$(check reachable shop)" = "OK 1" ] || fail "reachable: $(check reachable shop)"
expect_contains "$(check connections shop)" "OK 0.0"
expect_contains "$(check history_list_length shop)" "OK "
[ "$(check longest_transaction shop | awk '{print ($2 >= 0.5)}')" = 1 ] ||
    fail "the open transaction is not seen: $(check longest_transaction shop)"
[ "$(check rows shop.customers)" = "OK 20002" ] || fail "rows: $(check rows shop.customers)"
expect_contains "$(check rows shop.missing)" "UNKNOWN"
wait $holder
expect_status 0 "$UPKEEP" metrics
expect_contains "$OUT" 'upkeep_database_history_list_length{database="shop"}'
pass "health on MariaDB: reachable, connections, history list, longest transaction, counted rows"

# Maintenance: OPTIMIZE TABLE rebuilds (online) only the tables whose free space is worth
# it, with the files' size before and after; ANALYZE TABLE on every table.
my_app app -e "CREATE TABLE history(id INT AUTO_INCREMENT PRIMARY KEY, pad VARCHAR(400));
    INSERT INTO history(pad) SELECT REPEAT('h', 400) FROM seq_1_to_60000;
    DELETE FROM history WHERE id <= 50000"
cat >> upkeep.conf <<CONF
[job maintenance]
task = vacuum
database = shop
[job checks]
task = integrity
database = shop
checks = quick, full, foreign_keys
CONF
for i in $(seq 1 50); do # InnoDB's purge thread frees the deleted rows' pages shortly after
    [ "$(my_app -N app -e "SELECT data_free > 10 * 1048576 FROM information_schema.tables WHERE table_schema = 'app' AND table_name = 'history'")" = 1 ] && break
    sleep 0.2
done
expect_status 0 "$UPKEEP" --json run maintenance --dry-run
expect_contains "$OUT" '"mode": "optimize"'
file_size() { my_admin -N -e "SELECT file_size FROM information_schema.innodb_sys_tablespaces WHERE name = 'app/history'"; }
before=$(file_size)
expect_status 0 "$UPKEEP" --json run maintenance
expect_contains "$OUT" '"mode": "optimize"'
expect_contains "$OUT" '"analyzed": true'
[ "$(file_size)" -lt $((before / 2)) ] || fail "OPTIMIZE did not shrink the table: $before -> $(file_size)"
[ "$(jq '.[0].summary | .size_after < .size_before' <<<"$OUT")" = true ] || fail "sizes: $OUT"
[ "$(my_app -N app -e "SELECT COUNT(*) FROM history")" = 10000 ] || fail "OPTIMIZE lost rows"
expect_status 0 "$UPKEEP" --json run maintenance
expect_contains "$OUT" '"mode": "skipped"'
expect_contains "$OUT" "no table has 10% of its size free"
pass "vacuum on MariaDB: OPTIMIZE TABLE where the free space is worth it, sizes before and after"

# Integrity: CHECK TABLE on every table, and rows a load with foreign_key_checks = 0 left
# without their parent.
expect_status 0 "$UPKEEP" --json run checks
expect_contains "$OUT" "ok (CHECK TABLE QUICK on"
expect_contains "$OUT" "ok (CHECK TABLE EXTENDED on"
my_app app -e "CREATE TABLE shops(id INT PRIMARY KEY); CREATE TABLE tills(id INT PRIMARY KEY, shop INT,
        FOREIGN KEY (shop) REFERENCES shops(id));
    INSERT INTO shops VALUES (1); SET foreign_key_checks = 0;
    INSERT INTO tills VALUES (1, 1), (2, 7), (3, NULL), (4, 9)"
expect_status 1 "$UPKEEP" --json run checks
expect_contains "$OUT" 'tills.tills_ibfk_1: 2 rows without a parent row in `app`.`shops`'
my_app app -e "DELETE FROM tills WHERE shop > 1"
expect_status 0 "$UPKEEP" run checks
pass "integrity on MariaDB: CHECK TABLE QUICK and EXTENDED, and rows without their parent"

# The slow-query report from performance_schema's digests, and as a health check.
my_app app -e "SELECT SLEEP(0.3); SELECT SLEEP(0.3); SELECT COUNT(*) FROM customers" >/dev/null
expect_status 0 "$UPKEEP" --json queries --database shop --threshold 0.2
[ "$(jq -r '[.queries[] | select(.query | test("SLEEP"))] | length' <<<"$OUT")" = 1 ] || fail "queries: $OUT"
[ "$(jq -r '.queries[] | select(.query | test("SLEEP")) | .calls >= 2 and .mean_seconds >= 0.29' <<<"$OUT")" = true ] ||
    fail "queries figures: $OUT"
sed -i "0,/^password_file = .*/s||&\nslow_query_warning = 200ms|" upkeep.conf
expect_status 1 "$UPKEEP" --json health --no-actions
[ "$(check slow_queries shop | cut -d' ' -f1)" = WARNING ] || fail "slow_queries: $(check slow_queries shop)"
sed -i '/^slow_query_warning/d' upkeep.conf
pass "the slow-query report on MariaDB lists what is slow, and warns in health"

# Index analysis: an index never used since the server started, and two on the same columns.
my_app app -e "CREATE INDEX history_pad ON history(pad(20)); CREATE INDEX history_pad_again ON history(pad(20));
    SELECT COUNT(*) FROM history WHERE id > 55000" >/dev/null
expect_status 0 "$UPKEEP" --json indexes --database shop
kinds() { jq -r '[.findings[] | select(.object | test("history")) | .kind] | sort | join(",")' <<<"$OUT"; }
[ "$(kinds)" = "duplicate,unused,unused" ] || fail "index findings: $(kinds) in $OUT"
expect_contains "$OUT" 'DROP INDEX `history_pad` ON `history`'
pass "index analysis on MariaDB finds unused and duplicate indexes"

# Tables that are not InnoDB: refused and named, or dumped with locks when allowed.
my_app app -e "CREATE TABLE legacy(id INT PRIMARY KEY) ENGINE=MyISAM; INSERT INTO legacy VALUES (1), (2)"
expect_status 1 "$UPKEEP" backup shop
expect_contains "$ERR" "tables legacy (MyISAM) are not InnoDB"
sed -i 's/^password_file = .*/&\nlock_non_innodb = yes/' upkeep.conf
expect_status 0 "$UPKEEP" backup shop --json
expect_contains "$ERR" "dumping with the tables locked"
expect_status 0 "$UPKEEP" verify "$(jq -r .id <<<"$OUT")"
expect_contains "$OUT" "ok (row counts of 9 tables match"
pass "tables that are not InnoDB are refused, or dumped with the tables locked (lock_non_innodb)"

# Errors a user meets: a wrong password names the server, never the password.
echo wrong > wrong-pass
sed "s|^password_file = .*|password_file = $PWD/wrong-pass|" upkeep.conf > wrong.conf
expect_status 1 "$UPKEEP" -c wrong.conf backup shop
expect_contains "$ERR" "Access denied for user 'upkeep'"
sed "s|^url = .*|url = mariadb://upkeep:secret@127.0.0.1:$MY_PORT/app|" upkeep.conf > both.conf
expect_status 2 "$UPKEEP" -c both.conf backups
expect_contains "$ERR" "has a password and password_file"
if grep -q secret <<<"$ERR"; then fail "the url's password is shown: $ERR"; fi
sed "s|^url = .*|url = mysql://upkeep@127.0.0.1:$MY_PORT/app?sslmode=on|" upkeep.conf > option.conf
expect_status 2 "$UPKEEP" -c option.conf backups
expect_contains "$ERR" "unknown url option 'sslmode=on'"
pass "a wrong password, a password given twice and an unknown url option are clear errors"
