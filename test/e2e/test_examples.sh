#!/bin/bash
# Every example config is valid and its jobs run end to end against a generated database;
# their monitoring parts (health, metrics, endpoints, alerts) answer as their plans ask.
helpers=$(cd "$(dirname "$0")/../helpers" && pwd)
source "$(dirname "$0")/lib.sh"
EXAMPLES=${EXAMPLES:?}
read -r port hook smtp <<< "$(free_port 3 | tr '\n' ' ')"
python3 "$helpers/receiver.py" $hook "$SCRATCH/hook.log" 200 &
python3 "$helpers/smtp_sink.py" $smtp "$SCRATCH/mail.log" &
n=0
for example in "$EXAMPLES"/*.conf; do
    name=$(basename "$example" .conf)
    mkdir "$name" && cd "$name"
    # Alerts go to local receivers instead of Slack and the mail servers; the endpoint to a
    # free port; quiet hours would hold this test's alerts at night.
    sed -e "s|https://hooks.slack.com/[^ ]*|http://127.0.0.1:$hook/slack|" \
        -e "s|smtps*://mail.example.com:[0-9]*|smtp://127.0.0.1:$smtp|" \
        -e "s|^listen = .*|listen = 127.0.0.1:$port|" -e '/^quiet_hours/d' "$example" > upkeep.conf
    printf 'ops:secret\n' > smtp.credentials
    chmod 600 smtp.credentials
    # Each example has a setup script that makes its sample data (data/, uploads/).
    mkdir -p data
    source "$EXAMPLES/$name.setup.sh"
    expect_status 0 "$UPKEEP" check
    expect_status 0 env FLASK_ENV=production "$UPKEEP" run --all --dry-run
    expect_status 0 env FLASK_ENV=production "$UPKEEP" run --all --json
    summary=$OUT
    for job in $(sed -n 's/^\[job \(.*\)\]$/\1/p' upkeep.conf); do
        expect_contains "$summary" "\"job\": \"$job\""
    done
    case "$summary" in *'"result": "failed"'*) fail "$name: a job failed: $summary" ;; esac
    if grep -q '^task = backup' upkeep.conf; then
        expect_status 0 "$UPKEEP" verify --all
    fi
    # upkeep init proposes a config for the example's database that check accepts and whose
    # jobs run (a dry run).
    url=$(awk '/^\[database /{n++} n == 1 && /^url = /{print substr($0, 7); exit}' upkeep.conf)
    pw=$(awk '/^\[database /{n++} n == 1 && /^password_file = /{print substr($0, 17); exit}' upkeep.conf)
    mkdir -p init-files
    expect_status 0 "$UPKEEP" init --database "$url" ${pw:+--password-file "$pw"} --files init-files --output proposal.conf
    expect_status 2 "$UPKEEP" init --database "$url" ${pw:+--password-file "$pw"} --output proposal.conf
    expect_contains "$ERR" "exists: init never writes over a file"
    sed -i 's|^url = file://backups$|url = file://proposal-backups|' proposal.conf # not the example's
    expect_status 0 "$UPKEEP" -c proposal.conf check
    expect_status 0 "$UPKEEP" -c proposal.conf run --all --dry-run
    grep -q '^\[job nightly-backup\]' proposal.conf || fail "$name: init proposed no backup"
    grep -qx "paths = $PWD/init-files" proposal.conf || fail "$name: the backup leaves out --files"
    # Nothing old that a purge or archive targets is left, and the database is sound.
    for db in $(ls data/*.db 2>/dev/null); do
        [ "$(sqlite3 "$db" 'PRAGMA integrity_check')" = ok ] || fail "$name: $db damaged"
    done
    q() { sqlite3 "$1" "$2"; }
    case $name in
    training-form)
        [ "$(q data/forms.db "SELECT count(*) FROM forms WHERE deleted_at < datetime('now', '-181 days')")" = 0 ] ||
            fail "training-form: old deleted forms left" ;;
    training-form-mariadb)
        [ "$(my_app -N app -e "SELECT COUNT(*) FROM forms WHERE deleted_at < NOW() - INTERVAL 181 DAY")" = 0 ] ||
            fail "training-form-mariadb: old deleted forms left"
        [ "$(my_app -N app -e "SELECT COUNT(*) FROM forms WHERE deleted_at IS NULL")" = 2000 ] ||
            fail "training-form-mariadb: forms not deleted were purged"
        [ ! -e uploads/forms/0/300.pdf ] && [ -e uploads/forms/6/6.pdf ] && [ -e uploads/forms/2/2.pdf ] ||
            fail "training-form-mariadb: attachment files"
        # The dump restores, with the forms as they were before the purge (the backup job
        # comes first at 03:00).
        expect_status 0 "$UPKEEP" restore latest --database forms --to-database forms_restored
        [ "$(my_app -N forms_restored -e "SELECT COUNT(*), COUNT(deleted_at) FROM forms")" = "3000	1000" ] ||
            fail "training-form-mariadb: the restored database differs" ;;
    accounting)
        [ "$(q data/accounting.db "SELECT count(*) FROM logs WHERE created_at < unixepoch() - 91 * 86400")" = 0 ] ||
            fail "accounting: old logs left"
        [ "$(q data/accounting.db "SELECT count(*) FROM logs")" -gt 0 ] || fail "accounting: young logs deleted"
        expect_status 0 "$UPKEEP" run weekly-vacuum # now that the old logs are gone
        expect_contains "$OUT" "reclaimed"
        expect_contains "$OUT" "%" ;;
    print-service)
        [ "$(q data/prints.db "SELECT count(*) FROM print_jobs WHERE status = 'UPLOADED' AND created_at < datetime('now', '-8 days')")" = 0 ] ||
            fail "print-service: stale uploads left"
        [ "$(q data/prints-archive.db "SELECT count(*) FROM print_jobs")" -gt 0 ] || fail "print-service: nothing archived"
        [ -n "$(ls uploads/archive/completed)" ] || fail "print-service: completed files not moved"
        [ "$(ls uploads/printing/*.tmp)" = uploads/printing/slice-now.tmp ] || fail "print-service: *.tmp"
        [ ! -e uploads/uploaded/orphan.stl ] || fail "print-service: orphaned upload left"
        [ -e uploads/uploaded/3.stl ] || fail "print-service: a referenced upload was deleted" ;;
    car-repair)
        [ "$(wc -l < logs/access.log.1)" = 2000 ] && [ ! -s logs/access.log ] ||
            fail "car-repair: access.log not rotated (delay_compress keeps the newest copy plain)"
        [ "$(stat -c '%a %U %G' logs/access.log)" = "640 root adm" ] ||
            fail "car-repair: the new access.log is $(stat -c '%a %U %G' logs/access.log), not create's 0640 root adm"
        [ ! -e logs/mail.log.1 ] || fail "car-repair: an empty log was rotated"
        # The pre-update backup and the rollback restore the config's comments describe.
        expect_status 0 "$UPKEEP" backup shop --tag pre-update
        pg_app -d app -c "UPDATE vehicles SET price = 0" >/dev/null
        expect_status 0 "$UPKEEP" restore latest --tag pre-update --database shop --to-database shop_rollback
        [ "$(pg_app -d shop_rollback -tAc "SELECT count(*) FROM vehicles WHERE price > 0")" = 800 ] ||
            fail "car-repair: the rollback database lacks the prices from before the update"
        # Row jobs: orphaned photos and their files gone (orders 2991-3000 exist), temp data
        # over 30 days and audit entries over 90 days gone (the latter into the archive
        # schema), users idle 90 days disabled.
        [ "$(pg_app -d app -tAc "SELECT min(repair_order), max(repair_order) FROM repair_photos")" = "2991|3000" ] ||
            fail "car-repair: orphaned photos left (or others deleted)"
        [ ! -e photos/orders/3001.jpg ] && [ -e photos/orders/3000.jpg ] || fail "car-repair: photo files"
        [ "$(pg_app -d app -tAc "SELECT count(*) FROM temp_quotes WHERE created_at < now() - interval '30 days'")" = 0 ] ||
            fail "car-repair: old temp data left"
        [ "$(pg_app -d app -tAc "SELECT count(*) FROM audit_log WHERE at < now() - interval '90 days'")" = 0 ] ||
            fail "car-repair: old audit entries left"
        [ "$(pg_app -d app -tAc "SELECT count(*) FROM archive.audit_log")" = 110 ] ||
            fail "car-repair: audit entries not archived"
        [ "$(pg_app -d app -tAc "SELECT count(*) FROM users WHERE NOT active")" = 11 ] ||
            fail "car-repair: inactive users not disabled"
        expect_status 0 "$UPKEEP" indexes --database shop
        expect_status 0 "$UPKEEP" queries --database shop --threshold 1.0 --json
        jq -e 'type == "array" or type == "object"' <<<"$OUT" >/dev/null ||
            fail "car-repair: the slow-query report is not JSON: $OUT"
        # The weekly verified backup holds pg_stat_statements, which only a superuser
        # restores: it is proven in a throwaway cluster.
        expect_status 0 "$UPKEEP" verify latest
        expect_contains "$OUT" "throwaway cluster)" ;;
    feedforward)
        [ "$(q data/feedforward.db "SELECT count(*) FROM audit_logs WHERE created_at < datetime('now', '-91 days') AND detail != 'anonymised'")" = 0 ] ||
            fail "feedforward: audit entries not anonymised"
        # Archived: everything older than six calendar months, nothing younger.
        [ "$(q data/feedforward.db "SELECT count(*) FROM audit_logs WHERE created_at < datetime('now', '-6 months', '-1 day')")" = 0 ] &&
            [ "$(q data/feedforward-archive.db "SELECT count(*) FROM audit_logs WHERE created_at > datetime('now', '-6 months', '+1 day')")" = 0 ] &&
            [ "$(q data/feedforward-archive.db "SELECT count(*) FROM audit_logs")" -gt 0 ] ||
            fail "feedforward: audit entries older than 6mo not archived"
        # The backups are encrypted: the repository holds key objects, and without the key
        # file nothing opens.
        [ -n "$(ls backups/keys)" ] || fail "feedforward: the repository is not encrypted"
        # The uploads and configuration are in the night's backup, without the *.tmp file.
        expect_status 0 "$UPKEEP" restore latest --database feedforward --files --to files-restored
        cmp uploads/2026/11/essay-1.pdf "files-restored$PWD/uploads/2026/11/essay-1.pdf" &&
            cmp config/app.ini "files-restored$PWD/config/app.ini" &&
            [ ! -e "files-restored$PWD/uploads/2026/11/upload.tmp" ] ||
            fail "feedforward: the backup's files"
        mv backup.key backup.key.aside
        expect_status 2 "$UPKEEP" verify latest
        expect_contains "$ERR" "unable to read key file 'backup.key'"
        mv backup.key.aside backup.key
        [ "$(zstd -qdc logs/app.log.1.zst | wc -l)" = 5000 ] && [ ! -s logs/app.log ] ||
            fail "feedforward: app.log not rotated"
        [ ! -e logs/worker.log.1.zst ] || fail "feedforward: a log under min_size was rotated" ;;
    esac
    # Monitoring: health answers (OK, or WARNING where this machine's disk is small), and the
    # metrics pass promtool.
    set +e
    "$UPKEEP" health > health.txt
    health=$?
    set -e
    [ "$health" -le 1 ] || fail "$name: health $(head -1 health.txt)"
    expect_status 0 "$UPKEEP" metrics
    echo "$OUT" | promtool check metrics || fail "$name: metrics rejected by promtool"
    case $name in
    accounting)
        for table in companies vouchers logs; do
            grep -q "^OK *rows *books.$table " health.txt || fail "accounting: no row count of $table"
        done
        grep -q "^OK *pages *books .* pages of 4.0 KiB" health.txt || fail "accounting: pages"
        grep -q "^OK *integrity *books" health.txt || fail "accounting: integrity status" ;;
    print-service)
        [ "$(grep -c '^[A-Z]* *disk_free ' health.txt)" -eq 2 ] || fail "print-service: disk checks"
        for status in UPLOADED COMPLETED; do
            [ "$(grep -c "^upkeep_table_rows_by_value{table=\"prints.print_jobs\",column=\"status\",value=\"$status\"} [1-9]" <<< "$OUT")" = 1 ] ||
                fail "print-service: no $status count in the metrics"
        done
        # The disk alert at 90 % full: pretend the disk needs 100 % free.
        sed -i 's/^disk_free_warning = .*/disk_free_warning = 100%/' upkeep.conf
        expect_status 1 "$UPKEEP" health
        hook_events() { jq -r .body "$SCRATCH/hook.log" | jq -r .event | grep -qx "$1"; }
        wait_for 10 hook_events warning ;;
    feedforward)
        grep -q "^OK *backup_age *feedforward" health.txt || fail "feedforward: backup age"
        grep -q "^OK *verified_backup_age *feedforward" health.txt || fail "feedforward: verified age"
        # The health endpoints, served by the daemon.
        "$UPKEEP" daemon 2>daemon.log & dpid=$!
        wait_for 10 curl -sf -o /dev/null "http://127.0.0.1:$port/health/db"
        curl -sf "http://127.0.0.1:$port/health" | grep -Eq '^(OK|WARNING)$' || fail "feedforward: /health"
        curl -sf "http://127.0.0.1:$port/health?detail=1" | jq -e '.checks | length > 5' >/dev/null ||
            fail "feedforward: /health?detail=1"
        kill -TERM $dpid; wait $dpid
        # A backup missing for more than 25 h is CRITICAL and mailed as "missed".
        sqlite3 state/state.db "UPDATE backups SET created_at = created_at - 26 * 3600"
        expect_status 2 "$UPKEEP" health
        expect_contains "$OUT" "newest backup of 'feedforward' is 26h old (max 25h)"
        wait_for 10 grep -q "Subject: \[upkeep .*\] missed backup_age:feedforward" "$SCRATCH/mail.log"
        grep -q "USER ops" "$SCRATCH/mail.log" || fail "feedforward: mail without credentials" ;;
    esac
    cd ..
    n=$((n + 1))
    pass "example $name"
done
[ "$n" -ge 1 ] || fail "no examples found in $EXAMPLES"
