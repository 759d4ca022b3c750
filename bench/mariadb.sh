#!/bin/bash
# MariaDB: upkeep side by side with the obvious alternative, in one run, on a server this
# script starts (test/services/mariadb.sh, log flushed at every commit, a 1 GiB buffer pool
# as a server sized for its data has) with a generated
# database of MY_MB (default 1024) MiB: forms with text payloads and soft deletes, an
# append-only audit log, users.
#   full backup     upkeep backup                vs  mariadb-dump --single-transaction | zstd -T0 -3
#   second backup   upkeep backup after a day's change (~1% of the rows inserted, updated or
#                   deleted): bytes stored against the first's
#   restore         upkeep restore --to-database vs  mariadb < dump.sql
#   memory          peak RSS of upkeep backup, verify and restore
# Usage: bench/mariadb.sh [BUILD]
set -euo pipefail
source "$(dirname "$0")/lib.sh" "${1:-build}"
cleanup_scratch() { :; }
source "$top/test/services/mariadb.sh"
mb=${MY_MB:-1024}
rm -rf my-bench && mkdir my-bench && cd my-bench
MY_FSYNC=on MY_BUFFER_POOL=1G my_up
client=(--no-defaults --protocol=TCP -h 127.0.0.1 -P "$MY_PORT" -u upkeep)
as_app() { MYSQL_PWD=$MY_PASSWORD "$@"; }
# Rows of about 1.3 KB (forms) and 400 B (audit): 70% and 30% of the size.
forms=$((mb * 1048576 * 7 / 10 / 1450)) audit=$((mb * 1048576 * 3 / 10 / 480))
t=$(now)
my_app app -e "CREATE TABLE users(id INT AUTO_INCREMENT PRIMARY KEY, email VARCHAR(100) UNIQUE,
        name VARCHAR(100), last_login DATETIME, disabled BOOL DEFAULT 0);
    CREATE TABLE forms(id BIGINT AUTO_INCREMENT PRIMARY KEY, user_id INT, title VARCHAR(200),
        payload TEXT, attachment_path VARCHAR(200), created_at DATETIME, deleted_at DATETIME,
        KEY(deleted_at));
    CREATE TABLE audit_logs(id BIGINT AUTO_INCREMENT PRIMARY KEY, user_id INT, action VARCHAR(20),
        detail TEXT, created_at DATETIME, KEY(created_at));
    INSERT INTO users(email, name, last_login) SELECT CONCAT('user', seq, '@example.com'),
        CONCAT('User ', seq), NOW() - INTERVAL (seq % 400) DAY FROM seq_1_to_9000;
    INSERT INTO forms(user_id, title, payload, attachment_path, created_at, deleted_at)
        SELECT 1 + seq % 9000, CONCAT('Form ', seq),
            CONCAT_WS(' ', MD5(seq), MD5(seq + 1), MD5(seq + 2), MD5(seq + 3), MD5(seq + 4),
                MD5(seq + 5), MD5(seq + 6), MD5(seq + 7), MD5(seq + 8), MD5(seq + 9), MD5(seq + 10),
                MD5(seq + 11), MD5(seq + 12), MD5(seq + 13), MD5(seq + 14), MD5(seq + 15),
                MD5(seq + 16), MD5(seq + 17), MD5(seq + 18), MD5(seq + 19), MD5(seq + 20),
                MD5(seq + 21), MD5(seq + 22), MD5(seq + 23), CONCAT('field ', seq % 97)),
            IF(seq % 3 = 0, CONCAT('uploads/', seq, '.pdf'), NULL),
            NOW() - INTERVAL (seq % 900) DAY,
            IF(seq % 7 = 0, NOW() - INTERVAL (seq % 600) DAY, NULL)
        FROM seq_1_to_$forms;
    INSERT INTO audit_logs(user_id, action, detail, created_at)
        SELECT 1 + seq % 9000, ELT(1 + seq % 4, 'login', 'view', 'edit', 'export'),
            CONCAT_WS(' ', MD5(seq * 7), MD5(seq * 7 + 1), MD5(seq * 7 + 2), MD5(seq * 7 + 3),
                MD5(seq * 7 + 4), MD5(seq * 7 + 5), MD5(seq * 7 + 6), MD5(seq * 7 + 7),
                MD5(seq * 7 + 8), MD5(seq * 7 + 9)),
            NOW() - INTERVAL (seq % 700) DAY
        FROM seq_1_to_$audit;"
my_app app -e "ANALYZE TABLE users, forms, audit_logs" >/dev/null # the sizes below are InnoDB's estimates
size=$(my_app -N app -e "SELECT SUM(data_length + index_length) FROM information_schema.tables WHERE table_schema = 'app'")
printf '== generated %s MiB (%s forms, %s audit rows) in %.0f s\n' "$(mib "$size")" "$forms" "$audit" "$(elapsed "$t")"
cat > upkeep.conf <<CONF
[upkeep]
state = state/state.db
[database app]
url = $MY_URL
password_file = $MY_PASSFILE
[repository r]
url = file://repo
compression = zstd:3
CONF

echo "== full backup"
sync
t=$(now); as_app mariadb-dump "${client[@]}" --single-transaction app | zstd -q -T0 -3 > app.sql.zst
dump_time=$(elapsed "$t"); sync
dump_size=$(stat -c %s app.sql.zst)
t=$(now); "$UPKEEP" backup app --json > first.json; up_time=$(elapsed "$t")
up_size=$(dirsize repo)
printf '  mariadb-dump | zstd -T0 -3: %6.2f s  %8s MiB\n' "$dump_time" "$(mib "$dump_size")"
printf '  upkeep backup:              %6.2f s  %8s MiB   time %sx, size %sx (targets <= 1.0, <= 1.05)\n' \
    "$up_time" "$(mib "$up_size")" "$(ratio "$up_time" "$dump_time")" "$(ratio "$up_size" "$dump_size")"

echo "== second backup after a day's change (1% of rows)"
changed=$((forms / 100))
my_app app -e "UPDATE forms SET title = CONCAT(title, ' (edited)') WHERE id % 300 = 1;
    UPDATE forms SET deleted_at = NOW() WHERE id % 300 = 2;
    DELETE FROM forms WHERE id % 300 = 3;
    INSERT INTO audit_logs(user_id, action, detail, created_at) SELECT 1, 'edit',
        REPEAT(MD5(seq), 10), NOW() FROM seq_1_to_$changed;
    INSERT INTO forms(user_id, title, payload, created_at) SELECT 1, CONCAT('New ', seq),
        REPEAT(CONCAT(MD5(seq), ' new '), 40), NOW() FROM seq_1_to_$((changed / 3));"
t=$(now); "$UPKEEP" backup app --json > second.json; up2_time=$(elapsed "$t")
up_added=$(jq -r .bytes_stored second.json)
first_stored=$(jq -r .bytes_stored first.json)
printf '  upkeep backup: %6.2f s  +%8s MiB   %s%% of the first backup (target <= 5)\n' \
    "$up2_time" "$(mib "$up_added")" "$(echo "scale=1; 100 * $up_added / $first_stored" | bc)"

echo "== restore (three rounds, alternating; the server's own work is most of it and varies)"
first_id=$(jq -r .id first.json)
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
client_times=() upkeep_times=()
for round in 1 2 3; do
    my_admin -e "DROP DATABASE IF EXISTS by_client; DROP DATABASE IF EXISTS by_upkeep; CREATE DATABASE by_client"
    t=$(now); zstd -dc app.sql.zst | as_app mariadb "${client[@]}" by_client; client_times+=("$(elapsed "$t")")
    t=$(now); "$UPKEEP" -q restore "$first_id" --database app --to-database by_upkeep; upkeep_times+=("$(elapsed "$t")")
done
client_time=$(median "${client_times[@]}") upr_time=$(median "${upkeep_times[@]}")
printf '  mariadb < dump.sql: %6.2f s (median of %s)\n' "$client_time" "${client_times[*]}"
printf '  upkeep restore:     %6.2f s (median of %s)   %sx (target <= 1.2)\n' "$upr_time" "${upkeep_times[*]}" "$(ratio "$upr_time" "$client_time")"

echo "== peak memory (KiB; target <= 65536)"
printf '  backup  %s\n' "$(peak "$UPKEEP" -q backup app)"
printf '  verify  %s\n' "$(peak "$UPKEEP" -q verify "$first_id")"
printf '  restore %s\n' "$(peak "$UPKEEP" -q restore "$first_id" --database app --to-database by_upkeep2)"
my_down
cd .. && rm -rf my-bench
