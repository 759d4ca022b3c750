#!/bin/bash
# Every command answers --help, the version prints, unknown commands and options are usage
# errors (exit 2).
source "$(dirname "$0")/lib.sh"
# Every command the top-level help lists (so a new one is covered when it is listed).
commands=$("$UPKEEP" --help | awk '/^Commands:/ {f = 1; next} f && /^  [a-z]/ {print $1} f && /^$/ {exit}')
[ "$(wc -w <<< "$commands")" -ge 20 ] || fail "the help lists too few commands: $commands"
for cmd in $commands; do
    expect_status 0 "$UPKEEP" "$cmd" --help
    expect_contains "$OUT" "Usage: upkeep $cmd"
done
pass "--help on every command"
expect_status 0 "$UPKEEP" --help
expect_contains "$OUT" "Commands:"
expect_status 0 "$UPKEEP" --version
expect_contains "$OUT" "upkeep 0."
expect_status 2 "$UPKEEP" frobnicate
expect_contains "$ERR" "unknown command 'frobnicate'"
expect_status 2 "$UPKEEP"
write_config
expect_status 2 "$UPKEEP" backups --bogus
expect_status 2 "$UPKEEP" restore latest --to x.db
expect_contains "$ERR" "--database is required"
expect_status 2 "$UPKEEP" run
expect_contains "$ERR" "name the jobs to run, or --all"
expect_status 2 "$UPKEEP" run no-such-job
expect_contains "$ERR" "no [job no-such-job]"
pass "usage errors exit 2"
expect_status 0 "$UPKEEP" check --keys
expect_contains "$OUT" "keep_within"
# The config is found through $UPKEEP_CONFIG and -c as well as ./upkeep.conf.
mkdir elsewhere && cd elsewhere
expect_status 0 env UPKEEP_CONFIG=../upkeep.conf "$UPKEEP" check
expect_status 0 "$UPKEEP" -c ../upkeep.conf check --json
expect_contains "$OUT" '"valid": true'
pass "config lookup"
