#!/bin/bash
# Bad configs give FILE:LINE: message and exit 2, through the real binary.
source "$(dirname "$0")/lib.sh"
check_bad() { # check_bad EXPECTED_MESSAGE (config on stdin)
    cat > bad.conf
    expect_status 2 "$UPKEEP" -c bad.conf check
    [ "$ERR" = "upkeep: bad.conf:$1" ] || fail "expected 'upkeep: bad.conf:$1', got '$ERR'"
}
printf '[database app]\nurl = sqlite:///x.db\ncolour = blue\n' | check_bad "3: unknown key 'colour' in [database]"
printf '[repository r]\nurl = file:///r\nkeep_within = 6 months\n' |
    check_bad "3: keep_within: invalid duration '6 months' (expected a number with s, m, h, d or w, e.g. 180d)"
printf '[job j]\ntask = backup\ndatabase = app\nrepository = r\n' | check_bad "1: job 'j': no [database app] section"
printf '[database a]\nurl = sqlite:///x\n[database a]\nurl = sqlite:///y\n' |
    check_bad "3: duplicate database 'a' (first defined at line 1)"
printf '[database app]\nurl = sqlite:///x.db\n[job j]\ntask = purge\ndatabase = app\ntable = t\nage_column = at\nolder_than = 30d\nbatch_size = 2000000\n' |
    check_bad "3: job 'j': batch_size is at most 100000 (one batch holds the database for all its rows)"
expect_status 2 "$UPKEEP" -c missing.conf check
expect_contains "$ERR" "unable to open config file 'missing.conf': No such file or directory"
pass "config errors name file and line"
