#!/bin/bash
# Every example config is valid and its jobs run end to end against a generated database.
source "$(dirname "$0")/lib.sh"
EXAMPLES=${EXAMPLES:?}
n=0
for example in "$EXAMPLES"/*.conf; do
    name=$(basename "$example" .conf)
    mkdir "$name" && cd "$name"
    cp "$example" upkeep.conf
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
    # Nothing old that a purge or archive targets is left, and the database is sound.
    for db in data/*.db; do
        [ "$(sqlite3 "$db" 'PRAGMA integrity_check')" = ok ] || fail "$name: $db damaged"
    done
    q() { sqlite3 "$1" "$2"; }
    case $name in
    training-form)
        [ "$(q data/forms.db "SELECT count(*) FROM forms WHERE deleted_at < datetime('now', '-181 days')")" = 0 ] ||
            fail "training-form: old deleted forms left" ;;
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
        [ -n "$(ls uploads/archive/completed)" ] || fail "print-service: completed files not moved" ;;
    feedforward)
        [ "$(q data/feedforward.db "SELECT count(*) FROM audit_logs WHERE created_at < datetime('now', '-91 days') AND detail != 'anonymised'")" = 0 ] ||
            fail "feedforward: audit entries not anonymised" ;;
    esac
    cd ..
    n=$((n + 1))
    pass "example $name"
done
[ "$n" -ge 1 ] || fail "no examples found in $EXAMPLES"
