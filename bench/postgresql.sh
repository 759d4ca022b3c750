#!/bin/bash
# PostgreSQL: upkeep side by side with the obvious alternatives, in one run, on a server this
# script starts (test/services/postgresql.sh) with a generated database of PG_MB (default 1024)
# MiB: forms with text payloads and soft deletes, an append-only audit log, users.
#   full backup     upkeep backup              vs  pg_dump -Fc to a file
#   second backup   upkeep backup              vs  restic backup --stdin of pg_dump -Fc -Z0
#                   (after a day's change: ~1% of the rows inserted, updated or deleted)
#   restore         upkeep restore --to-database  vs  pg_restore -j 2 of the -Fc file
#   memory          peak RSS of upkeep backup, verify and restore
# Usage: bench/postgresql.sh [BUILD]
set -euo pipefail
source "$(dirname "$0")/lib.sh" "${1:-build}"
cleanup_scratch() { :; }
source "$top/test/services/postgresql.sh"
export RESTIC_PASSWORD=bench RESTIC_CACHE_DIR=$work/restic-cache
mb=${PG_MB:-1024}
rm -rf pg-bench && mkdir pg-bench && cd pg-bench
pg_up
export PGPASSWORD=$PG_PASSWORD PGHOST=127.0.0.1 PGPORT=$PG_PORT PGUSER=upkeep
# Rows of about 1.3 KB (forms) and 400 B (audit): 70% and 30% of the size.
forms=$((mb * 1048576 * 7 / 10 / 1450)) audit=$((mb * 1048576 * 3 / 10 / 480))
t=$(now)
pg_app -d app -c "CREATE TABLE users(id serial PRIMARY KEY, email text UNIQUE, name text,
        last_login timestamptz, disabled boolean DEFAULT false);
    CREATE TABLE forms(id bigserial PRIMARY KEY, user_id int REFERENCES users(id),
        title text, payload text, attachment_path text, created_at timestamptz,
        deleted_at timestamptz);
    CREATE TABLE audit_logs(id bigserial PRIMARY KEY, user_id int, action text, detail text,
        created_at timestamptz);
    INSERT INTO users(email, name, last_login) SELECT 'user' || i || '@example.com',
        'User ' || i, now() - (i % 400) * interval '1 day' FROM generate_series(1, 9000) i;
    INSERT INTO forms(user_id, title, payload, attachment_path, created_at, deleted_at)
        SELECT 1 + i % 9000, 'Form ' || i,
            (SELECT string_agg(md5((i * 31 + k)::text) || ' field ' || (i % 97), ' ')
             FROM generate_series(1, 24) k),
            CASE WHEN i % 3 = 0 THEN 'uploads/' || i || '.pdf' END,
            now() - (i % 900) * interval '1 day',
            CASE WHEN i % 7 = 0 THEN now() - (i % 600) * interval '1 day' END
        FROM generate_series(1, $forms) i;
    INSERT INTO audit_logs(user_id, action, detail, created_at)
        SELECT 1 + i % 9000, (ARRAY['login', 'view', 'edit', 'export'])[1 + i % 4],
            (SELECT string_agg(md5((i * 7 + k)::text), ' ') FROM generate_series(1, 10) k),
            now() - (i % 700) * interval '1 day'
        FROM generate_series(1, $audit) i;
    CREATE INDEX ON forms(deleted_at); CREATE INDEX ON audit_logs(created_at);" >/dev/null
pg_admin -d app -c "VACUUM ANALYZE" >/dev/null
size=$(pg_app -d app -tAc "SELECT pg_database_size('app')")
printf '== generated %s MiB (%s forms, %s audit rows) in %.0f s\n' "$(mib "$size")" "$forms" "$audit" "$(elapsed "$t")"
cat > upkeep.conf <<CONF
[upkeep]
state = state/state.db
[database app]
url = $PG_URL
password_file = $PG_PASSFILE
[repository r]
url = file://repo
compression = zstd:3
CONF

echo "== full backup"
sync
t=$(now); pg_dump -Fc -d app -f app.dump; dump_time=$(elapsed "$t"); sync
dump_size=$(stat -c %s app.dump)
t=$(now); "$UPKEEP" backup app --json > first.json; up_time=$(elapsed "$t")
up_size=$(dirsize repo)
printf '  pg_dump -Fc:   %6.2f s  %8s MiB\n' "$dump_time" "$(mib "$dump_size")"
printf '  upkeep backup: %6.2f s  %8s MiB   time %sx, size %sx (targets <= 0.7, <= 1.1)\n' \
    "$up_time" "$(mib "$up_size")" "$(ratio "$up_time" "$dump_time")" "$(ratio "$up_size" "$dump_size")"

echo "== second backup after a day's change (1% of rows)"
restic init -q --repo restic-repo >/dev/null
pg_dump -Fc -Z0 -d app | restic backup -q --repo restic-repo --stdin --stdin-filename app.dump >/dev/null
restic_before=$(dirsize restic-repo)
changed=$((forms / 100))
pg_app -d app -c "UPDATE forms SET title = title || ' (edited)' WHERE id % 300 = 1;
    UPDATE forms SET deleted_at = now() WHERE id % 300 = 2;
    DELETE FROM forms WHERE id % 300 = 3;
    INSERT INTO audit_logs(user_id, action, detail, created_at) SELECT 1, 'edit',
        repeat(md5(i::text), 10), now() FROM generate_series(1, $changed) i;
    INSERT INTO forms(user_id, title, payload, created_at) SELECT 1, 'New ' || i,
        repeat(md5(i::text) || ' new ', 40), now() FROM generate_series(1, $((changed / 3))) i;" >/dev/null
sync
t=$(now)
pg_dump -Fc -Z0 -d app | restic backup -q --repo restic-repo --stdin --stdin-filename app.dump >/dev/null
restic_time=$(elapsed "$t")
restic_added=$(($(dirsize restic-repo) - restic_before))
t=$(now); "$UPKEEP" backup app --json > second.json; up2_time=$(elapsed "$t")
up_added=$(jq -r .bytes_stored second.json)
first_stored=$(jq -r .bytes_stored first.json)
printf '  restic --stdin: %6.2f s  +%8s MiB\n' "$restic_time" "$(mib "$restic_added")"
printf '  upkeep backup:  %6.2f s  +%8s MiB   %s%% of the first backup (target <= 5), time %sx restic (target <= 0.5)\n' \
    "$up2_time" "$(mib "$up_added")" "$(echo "scale=1; 100 * $up_added / $first_stored" | bc)" \
    "$(ratio "$up2_time" "$restic_time")"

echo "== restore"
pg_admin -d postgres -c "CREATE DATABASE by_pg_restore OWNER upkeep" >/dev/null
t=$(now); pg_restore -j 2 -d by_pg_restore app.dump; pgr_time=$(elapsed "$t")
first_id=$(jq -r .id first.json)
t=$(now); "$UPKEEP" -q restore "$first_id" --database app --to-database by_upkeep
upr_time=$(elapsed "$t")
printf '  pg_restore -j 2: %6.2f s\n' "$pgr_time"
printf '  upkeep restore:  %6.2f s   %sx (target <= 1.2)\n' "$upr_time" "$(ratio "$upr_time" "$pgr_time")"

echo "== peak memory (KiB; target <= 65536)"
printf '  backup  %s\n' "$(peak "$UPKEEP" -q backup app)"
printf '  verify  %s\n' "$(peak "$UPKEEP" -q verify "$first_id")"
printf '  restore %s\n' "$(peak "$UPKEEP" -q restore "$first_id" --database app --to-database by_upkeep2)"
pg_down
cd .. && rm -rf pg-bench
