#!/bin/bash
# A schema nobody here wrote, on a real MariaDB server: Sakila (test/data/sakila, unchanged)
# with generated rows: foreign keys in a cycle (store <-> staff), triggers that fill film_text,
# views (one on explicitly qualified tables), procedures and functions, a FULLTEXT index,
# ENUM, SET, YEAR, DECIMAL and MEDIUMBLOB columns. Backed up, verified, restored into a new
# database and in place: every dump of the result is identical to the original's, and the
# routines, triggers and views still work.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/../services/mariadb.sh"
DATA=$(cd "$(dirname "$0")/../data/sakila" && pwd)
my_up
my_admin < "$DATA/schema.sql"
# Rows: the sizes of the original sample data, made up from MariaDB's sequence tables.
my_admin sakila -e "SET FOREIGN_KEY_CHECKS = 0;
    INSERT INTO language(name) VALUES ('English'), ('Italian'), ('Japanese'), ('Mandarin'), ('French'), ('German');
    INSERT INTO country(country) SELECT CONCAT('Country ', seq) FROM seq_1_to_109;
    INSERT INTO city(city, country_id) SELECT CONCAT('City ', seq, ' ü'), 1 + seq % 109 FROM seq_1_to_600;
    INSERT INTO address(address, address2, district, city_id, postal_code, phone)
        SELECT CONCAT(seq, ' Main Street'), IF(seq % 3 = 0, NULL, ''), 'District', 1 + seq % 600,
               LPAD(seq, 5, '0'), CONCAT('555-', seq) FROM seq_1_to_603;
    INSERT INTO staff(first_name, last_name, address_id, picture, email, store_id, username, password)
        VALUES ('Mike', 'Hillyer', 3, UNHEX(REPEAT('00FF89504E47', 400)), 'mike@example.org', 1, 'Mike', SHA1('pw1')),
               ('Jon', 'Stephens', 4, NULL, 'jon@example.org', 2, 'Jon', NULL);
    INSERT INTO store(manager_staff_id, address_id) VALUES (1, 1), (2, 2);
    INSERT INTO actor(first_name, last_name) SELECT CONCAT('FIRST', seq), CONCAT('LAST', seq % 121) FROM seq_1_to_200;
    INSERT INTO category(name) SELECT CONCAT('Category ', seq) FROM seq_1_to_16;
    INSERT INTO film(title, description, release_year, language_id, original_language_id, rental_duration,
                     rental_rate, length, replacement_cost, rating, special_features)
        SELECT CONCAT('FILM TITLE ', seq), CONCAT('A ', ELT(1 + seq % 4, 'Thoughtful', 'Epic', 'Fanciful', 'Boring'),
               ' story of a ', MD5(seq), ' who must meet a ', SHA1(seq)), 2006, 1 + seq % 6,
               IF(seq % 7 = 0, 2, NULL), 3 + seq % 5, 0.99 + (seq % 3) * 2, 46 + seq % 140,
               9.99 + seq % 21, ELT(1 + seq % 5, 'G', 'PG', 'PG-13', 'R', 'NC-17'),
               ELT(1 + seq % 4, 'Trailers', 'Commentaries,Deleted Scenes', NULL, 'Behind the Scenes')
        FROM seq_1_to_1000;
    INSERT INTO film_actor(actor_id, film_id) SELECT 1 + seq % 200, 1 + (seq * 7) % 1000 FROM seq_1_to_5462
        ON DUPLICATE KEY UPDATE actor_id = actor_id;
    INSERT INTO film_category(film_id, category_id) SELECT seq, 1 + seq % 16 FROM seq_1_to_1000;
    INSERT INTO inventory(film_id, store_id) SELECT 1 + seq % 1000, 1 + seq % 2 FROM seq_1_to_4581;
    INSERT INTO customer(store_id, first_name, last_name, email, address_id, active, create_date)
        SELECT 1 + seq % 2, CONCAT('NAME', seq), CONCAT('SURNAME', seq), CONCAT('c', seq, '@example.org'),
               5 + seq % 599, seq % 40 <> 0, '2006-02-14 22:04:36' FROM seq_1_to_599;
    INSERT INTO rental(rental_date, inventory_id, customer_id, return_date, staff_id)
        SELECT '2005-05-24 22:53:30' + INTERVAL seq MINUTE, 1 + seq % 4581, 1 + seq % 599,
               IF(seq % 90 = 0, NULL, '2005-05-26 22:04:30' + INTERVAL seq MINUTE), 1 + seq % 2
        FROM seq_1_to_16044;
    INSERT INTO payment(customer_id, staff_id, rental_id, amount, payment_date)
        SELECT 1 + seq % 599, 1 + seq % 2, IF(seq % 500 = 0, NULL, seq), 0.99 + (seq % 11), '2005-05-25 11:30:37' + INTERVAL seq MINUTE
        FROM seq_1_to_16049;
    SET FOREIGN_KEY_CHECKS = 1"
[ "$(my_admin -N sakila -e "SELECT COUNT(*) FROM film_text")" = 1000 ] || fail "the insert trigger did not fill film_text"

url=${MY_URL%/app}/sakila
cat > upkeep.conf <<CONF
[upkeep]
state = state/state.db
[database sakila]
url = $url
password_file = $MY_PASSFILE
[repository local]
url = file://repo
CONF

# Everything mariadb-dump can tell about a database, less its name and the server's comments.
dump() {
    MYSQL_PWD=$MY_PASSWORD mariadb-dump --no-defaults --protocol=TCP -h 127.0.0.1 -P "$MY_PORT" -u upkeep \
        --skip-dump-date --skip-comments --order-by-primary --routines --events --triggers "$1"
}
dump sakila > original.sql
[ "$(grep -c '^INSERT INTO' original.sql)" -ge 16 ] || fail "the dump of the original has too few tables"

expect_status 0 "$UPKEEP" backup sakila --tag pre-update --json
id=$(jq -r .id <<<"$OUT")
expect_status 0 "$UPKEEP" verify "$id"
expect_contains "$OUT" "ok (row counts of 16 tables match; CHECK TABLE ok)"
pass "Sakila backs up and verifies (16 tables, row counts from the dump)"

expect_status 0 "$UPKEEP" restore "$id" --database sakila --to-database sakila_copy
dump sakila_copy > copy.sql
diff original.sql copy.sql > copy.diff || fail "the restored copy's dump differs: $(head -20 copy.diff)"
[ "$(my_app -N sakila_copy -e "SELECT get_customer_balance(1, NOW()) IS NOT NULL, inventory_in_stock(1)" | tr '\t' ' ')" = "1 1" ] ||
    fail "the copy's functions do not run"
pass "a restore into a new database dumps identically, routines included"

# An update goes wrong: rows change and go, a trigger and a view are dropped. The pre-update
# backup is put back in place while the broken database is kept aside.
my_app sakila -e "UPDATE film SET title = CONCAT(title, ' (broken)') WHERE film_id <= 100;
    DELETE FROM payment WHERE payment_id > 16000;
    DROP TRIGGER upd_film; DROP VIEW sales_by_store; DROP PROCEDURE rewards_report"
expect_status 0 "$UPKEEP" restore latest --tag pre-update --database sakila --in-place --json
kept=$(jq -r .kept_aside <<<"$OUT")
dump sakila > in-place.sql
diff original.sql in-place.sql > in-place.diff || fail "the database restored in place dumps differently: $(head -20 in-place.diff)"
[ "$(my_app -N "$kept" -e "SELECT COUNT(*) FROM film WHERE title LIKE '%(broken)'; SELECT COUNT(*) FROM payment" | tr '\n' ' ')" = "100 16000 " ] ||
    fail "the database kept aside is not the broken one"
my_app sakila -e "UPDATE film SET title = 'RENAMED' WHERE film_id = 5"
[ "$(my_app -N sakila -e "SELECT title FROM film_text WHERE film_id = 5")" = RENAMED ] || fail "the restored trigger does not fire"
my_app -N sakila -e "CALL rewards_report(1, 1.00, @count); SELECT @count" >/dev/null || fail "the restored procedure does not run"
[ "$(my_app -N sakila -e "SELECT COUNT(*) FROM sales_by_store")" = 2 ] || fail "the restored view does not answer"
pass "the pre-update backup restored in place dumps identically; the broken database is kept aside"

# upkeep init on a schema nobody here wrote: a proposal check accepts, naming Sakila's tables.
expect_status 0 "$UPKEEP" init --database "$url" --password-file "$MY_PASSFILE" --output sakila.conf
expect_status 0 "$UPKEEP" -c sakila.conf check
expect_contains "$(cat sakila.conf)" "count_tables = payment, rental"
# Its jobs run; the integrity job finds the 5 payments the generator gave rentals that do not
# exist (rental_id 16045-16049, written with foreign key checks off).
expect_status 1 "$UPKEEP" -c sakila.conf run --all --dry-run
expect_contains "$ERR" "job 'weekly-integrity' failed: database 'app' has integrity problems"
expect_contains "$ERR" "has integrity problems: payment.fk_payment_rental: 5 rows without a parent row"
[ "$(grep -c failed <<< "$ERR")" = 1 ] || fail "another proposed job failed: $ERR"
pass "upkeep init on Sakila proposes a config check accepts; its integrity job finds the orphans"
