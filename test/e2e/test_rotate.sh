#!/bin/bash
# rotate: the same results as Debian's logrotate for the same settings (file names and
# contents compared after several rounds), then what logrotate lacks: max_total, zstd, size
# triggers, --dry-run, post_command, symlinks left alone, and kill -9 during a rotation.
source "$(dirname "$0")/lib.sh"
contents() { # contents DIR: each file's name and its (decompressed) content, sorted by name
    (cd "$1" && for f in $(ls | sort); do
        case $f in *.gz) printf '%s\n%s\n' "${f%.gz}" "$(zcat "$f")" ;; *.zst) printf '%s\n%s\n' "${f%.zst}" "$(zstd -qdc "$f")" ;;
        *) printf '%s\n%s\n' "$f" "$(cat "$f")" ;; esac
    done)
}
compare() { # compare LOGROTATE-OPTIONS UPKEEP-KEYS ROUNDS [EMPTY-ROUND] [LOGROTATE-MAY-FAIL]
    rm -rf lr up; mkdir lr up
    printf '%s/lr/app.log {\n%s\n}\n' "$SCRATCH" "$1" > lr.conf
    cat > upkeep.conf <<CONF
[upkeep]
state = state/state.db
[job rot]
task = rotate
files = up/app.log
$2
CONF
    for round in $(seq 1 "$3"); do
        [ "$round" = "${4:-}" ] || { echo "line of round $round" >> lr/app.log; echo "line of round $round" >> up/app.log; }
        logrotate -f -s lr.state lr.conf 2>/dev/null || [ -n "${5:-}" ] || fail "logrotate failed"
        expect_status 0 "$UPKEEP" run rot
        [ "$(cd lr && ls | sort)" = "$(cd up && ls | sort)" ] ||
            fail "round $round: logrotate made $(cd lr && ls | sort | tr '\n' ' ') but upkeep $(cd up && ls | sort | tr '\n' ' ')"
    done
    [ "$(contents lr)" = "$(contents up)" ] || fail "contents differ: $(diff <(contents lr) <(contents up))"
}

compare "rotate 3
compress
delaycompress
create" "keep = 3
compress = gzip
delay_compress = yes
mode = create" 6
pass "numbered, gzip, delaycompress, create: same as logrotate over 6 rounds"
compare "rotate 2
copytruncate
notifempty" "keep = 2
compress = none
mode = copytruncate
not_if_empty = yes" 5 3
pass "copytruncate, notifempty, no compression: same as logrotate"
compare "rotate 4
compress
create
dateext
dateformat -%Y%m%d" "keep = 4
compress = gzip
naming = dated
date_format = -%Y%m%d" 2 "" may-fail
pass "dated names (one copy a day; logrotate calls the second an error, upkeep skips it): same files as logrotate"

# create = MODE OWNER GROUP as logrotate writes it: the new log gets them, as logrotate's does.
compare "rotate 2
create 0640 www-data backup" "keep = 2
compress = none
create = 0640 www-data backup" 3
[ "$(stat -c '%a %U %G' up/app.log)" = "640 www-data backup" ] &&
    [ "$(stat -c '%a %U %G' up/app.log)" = "$(stat -c '%a %U %G' lr/app.log)" ] ||
    fail "create: upkeep's new log is $(stat -c '%a %U %G' up/app.log), logrotate's $(stat -c '%a %U %G' lr/app.log)"
pass "create = 0640 www-data backup: the new log's mode and owner, as logrotate sets them"
# A name this host lacks is a config error with its line; so are create with copytruncate and
# a malformed value.
printf '[job rot]\ntask = rotate\nfiles = up/app.log\ncreate = 0640 nosuchuser adm\n' > bad.conf
expect_status 2 "$UPKEEP" -c bad.conf check
expect_contains "$ERR" "bad.conf:1: job 'rot': create: no user 'nosuchuser' on this system"
printf '[job rot]\ntask = rotate\nfiles = up/app.log\nmode = copytruncate\ncreate = 0640\n' > bad.conf
expect_status 2 "$UPKEEP" -c bad.conf check
expect_contains "$ERR" "create sets the new log's owner and mode, which copytruncate keeps"
printf '[job rot]\ntask = rotate\nfiles = up/app.log\ncreate = 0999 a b\n' > bad.conf
expect_status 2 "$UPKEEP" -c bad.conf check
expect_contains "$ERR" "bad.conf:4: create: invalid create '0999 a b'"
# Someone who may not give files away: refused before anything is renamed.
rm -rf own; mkdir -p own/state; echo "kept" > own/app.log
printf '[upkeep]\nstate = state/state.db\n[job rot]\ntask = rotate\nfiles = app.log\ncreate = 0640 root root\n' > own/upkeep.conf
chown -R nobody:nogroup own
chmod o+x "$SCRATCH" # so that nobody reaches own/
expect_status 1 setpriv --reuid=nobody --regid=nogroup --clear-groups "$UPKEEP" -c own/upkeep.conf run rot
expect_contains "$ERR" "unable to give the new 'own/app.log' the owner create asks for: Operation not permitted"
[ "$(ls -A own | sort | tr '\n' ' ')" = "app.log state upkeep.conf " ] && [ "$(cat own/app.log)" = kept ] ||
    fail "a refused create changed the folder: $(ls -A own)"
pass "create: unknown names, copytruncate and bad values are config errors; a refused owner changes nothing"

# max_total caps the rotated copies together; zstd copies read back with zstd -d.
rm -rf up; mkdir up
cat > upkeep.conf <<'CONF'
[upkeep]
state = state/state.db
[job rot]
task = rotate
files = up/*.log
keep = 10
max_total = 3000
compress = none
CONF
for i in 1 2 3 4 5; do head -c 1000 /dev/urandom | base64 -w0 > up/a.log; expect_status 0 "$UPKEEP" run rot; done
total=$(cat up/a.log.* | wc -c)
[ "$total" -le 3000 ] || fail "max_total: $total bytes kept"
[ -e up/a.log.1 ] || fail "the newest copy must stay"
sed -i 's/^compress = none/compress = zstd/; s/^max_total = 3000//' upkeep.conf
echo "zstd line" > up/a.log
expect_status 0 "$UPKEEP" run rot
[ "$(zstd -qdc up/a.log.1.zst)" = "zstd line" ] || fail "zstd copy"
pass "max_total caps the copies; zstd copies decompress"

# Triggers, dry run, post_command, symlinks, missing files.
rm -rf up; mkdir up; echo small > up/s.log; head -c 5000 /dev/zero > up/big.log; ln -s s.log up/link.log
cat > upkeep.conf <<'CONF'
[upkeep]
state = state/state.db
[job rot]
task = rotate
files = up/*.log
size = 1KB
compress = none
post_command = /bin/sh -c "touch reopened"
CONF
sed -i 's|^post_command = .*|post_command = /usr/bin/touch reopened|' upkeep.conf
before=$(ls up | sort)
expect_status 0 "$UPKEEP" run rot --dry-run
expect_contains "$OUT" "would rotate 1 of 2 logs"
[ "$(ls up | sort)" = "$before" ] || fail "--dry-run changed files"
[ ! -e reopened ] || fail "--dry-run ran post_command"
expect_status 0 "$UPKEEP" run rot
[ -e up/big.log.1 ] && [ ! -e up/s.log.1 ] || fail "size trigger: $(ls up)"
[ -L up/link.log ] && [ ! -e up/link.log.1 ] || fail "a symlink was rotated"
[ -e reopened ] || fail "post_command did not run"
sed -i 's|^files = .*|files = up/none-*.log|' upkeep.conf
expect_status 1 "$UPKEEP" run rot
expect_contains "$ERR" "no file matches"
echo "missing_ok = yes" >> upkeep.conf
expect_status 0 "$UPKEEP" run rot
pass "size trigger, --dry-run, post_command, symlinks skipped, missing_ok"
# Logs are found beneath the folder before the pattern's first wildcard, never through a
# symlinked folder (one swapped in for a log folder would lead rotation anywhere).
rm -rf logs outside-logs; mkdir -p logs/a outside-logs
head -c 5000 /dev/zero > logs/a/app.log; head -c 5000 /dev/zero > outside-logs/app.log
ln -s ../outside-logs logs/b
cat > upkeep.conf <<'CONF'
[upkeep]
state = state/state.db
[job rot]
task = rotate
files = logs/*/app.log
compress = none
CONF
expect_status 0 "$UPKEEP" run rot
[ -e logs/a/app.log.1 ] || fail "the log in a real folder was not rotated"
[ ! -e outside-logs/app.log.1 ] && [ -s outside-logs/app.log ] || fail "a log was rotated through a symlinked folder"
pass "rotation never follows a symlinked folder"

# kill -9 at many points of a rotation: every line is still there, once.
rm -rf up; mkdir up
cat > upkeep.conf <<'CONF'
[upkeep]
state = state/state.db
[job rot]
task = rotate
files = up/app.log
keep = 50
compress = gzip
CONF
seq 1 400000 > up/app.log
expected=$(seq 1 400000 | md5sum)
for delay in 0.01 0.03 0.06 0.1 0.2; do
    interrupt KILL $delay "$UPKEEP" run rot
done
expect_status 0 "$UPKEEP" run rot
got=$( (for f in $(ls up | grep -v upkeep-tmp | sort -t. -k3 -rn); do case $f in *.gz) zcat "up/$f" ;; *) cat "up/$f" ;; esac; done) | sort -n | md5sum)
[ "$got" = "$expected" ] || fail "lines lost or doubled after kill -9: $(ls up)"
pass "kill -9 during rotation loses no line"

# interval, min_size and max_size; losing the state database never stops rotation.
rm -rf up state; mkdir up
cat > upkeep.conf <<'CONF'
[upkeep]
state = state/state.db
[job rot]
task = rotate
files = up/app.log
interval = 1h
max_size = 10KB
compress = none
keep = 20
CONF
echo one > up/app.log
expect_status 0 "$UPKEEP" run rot
[ -e up/app.log.1 ] || fail "a first rotation is due"
echo two > up/app.log
expect_status 0 "$UPKEEP" run rot
[ ! -e up/app.log.2 ] || fail "rotated again within its interval"
head -c 20000 /dev/zero > up/app.log
expect_status 0 "$UPKEEP" run rot
[ -e up/app.log.2 ] || fail "max_size should rotate before the interval passed"
echo three > up/app.log
rm -rf state
expect_status 0 "$UPKEEP" run rot
[ -e up/app.log.3 ] || fail "a lost state database must not stop rotation"
sed -i 's/^max_size = .*/min_size = 1KB/' upkeep.conf
sqlite3 state/state.db "UPDATE rotations SET rotated_at = rotated_at - 7200"
echo small > up/app.log
expect_status 0 "$UPKEEP" run rot
[ ! -e up/app.log.4 ] || fail "min_size: a small log was rotated"
head -c 2000 /dev/zero > up/app.log
expect_status 0 "$UPKEEP" run rot
[ -e up/app.log.4 ] || fail "min_size: a due, big enough log was not rotated"
pass "interval with min_size and max_size; a lost state database does not stop rotation"
