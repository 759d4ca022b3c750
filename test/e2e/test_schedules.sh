#!/bin/bash
# Schedules as users see them: upkeep calendar, the files of upkeep install (checked by
# systemd-analyze, and its OnCalendar= agreeing with upkeep calendar), the cron file's quoting
# run through /bin/sh, and the schedules of the five example plans.
source "$(dirname "$0")/lib.sh"

# calendar: output, --json, errors.
expect_status 0 "$UPKEEP" calendar '0 3 * * *' --tz Europe/Berlin --from 2027-03-27T12:00:00+01:00 --count 2
expect_contains "$OUT" "2027-03-28T03:00:00+02:00"
expect_contains "$OUT" "2027-03-29T03:00:00+02:00"
expect_status 0 "$UPKEEP" calendar '30 2 * * *' --tz Europe/Berlin --from '2027-03-28 00:00' --count 1
expect_contains "$OUT" "2027-03-28T03:00:00+02:00" # skipped by the change: right after the gap
expect_status 0 "$UPKEEP" --json calendar '@daily' --tz UTC --from 2027-01-01T10:00:00Z --count 2
[ "$(echo "$OUT" | jq -r '.next | join(" ")')" = "2027-01-02T00:00:00+00:00 2027-01-03T00:00:00+00:00" ] ||
    fail "calendar --json: $OUT"
expect_status 2 "$UPKEEP" calendar '0 0 30 2 *'
expect_contains "$ERR" "never fires"
expect_status 2 "$UPKEEP" calendar '0 3 * * *' --tz Mars/Olympus
expect_contains "$ERR" "unknown time zone 'Mars/Olympus'"
expect_status 2 "$UPKEEP" calendar
expect_status 0 "$UPKEEP" calendar --help
pass "upkeep calendar prints fire times with offsets and rejects bad input"

# install systemd --timers: units systemd accepts, whose calendars agree with upkeep's.
"$GENDB" app.db --size-mb 1 >/dev/null
cdir="it's 100% conf" # a folder name that needs quoting for systemd and for /bin/sh
mkdir -p "$cdir"
exprs=('0 3 * * *' '0 3 * * sun' '0 */6 * * *' '0 0 1 * *' '0 0 13 * fri' '*/15 9-17 * * mon-fri'
       '30 4 1,15 * *' '@monthly' '0 12 * jan,jul *')
{
    printf '[upkeep]\nstate = state/state.db\ntimezone = Europe/Berlin\n[database app]\nurl = sqlite://../app.db\n'
    i=0
    for e in "${exprs[@]}"; do
        printf '[job j%d]\ntask = integrity\ndatabase = app\nschedule = %s\n' $i "$e"
        i=$((i + 1))
    done
    printf "[job in.utc-5]\ntask = integrity\ndatabase = app\nschedule = 0 5 * * *\ntimezone = UTC\n"
} > "$cdir/upkeep.conf"
expect_status 0 "$UPKEEP" -c "$cdir/upkeep.conf" install systemd --timers --dir units
[ -f units/upkeep-j0.timer ] && [ -f units/upkeep-j0.service ] || fail "no units written"
systemd-analyze verify --man=no units/*.timer units/*.service || fail "systemd-analyze rejected the units"
base=1800000000 # 2027-01-15T08:00:00Z, far from a daylight-saving change
from=$(date -u -d @$base +%Y-%m-%dT%H:%M:%SZ)
i=0
for e in "${exprs[@]}"; do
    mapfile -t calendars < <(sed -n 's/^OnCalendar=//p' units/upkeep-j$i.timer)
    ours=$("$UPKEEP" --json calendar "$e" --tz Europe/Berlin --from "$from" --count 6 |
        jq -r '.next[]' | while read -r t; do date -u -d "$t" +%s; done)
    theirs=$(TZ=UTC systemd-analyze calendar --iterations=6 --base-time=@$base "${calendars[@]}" |
        sed -n 's/^.*\(Next elapse\|Iter\. #[0-9]*\): //p' | while read -r t; do date -u -d "$t" +%s; done |
        sort -n | uniq | head -6)
    [ "$ours" = "$theirs" ] || fail "'$e': OnCalendar=${calendars[*]} disagrees with upkeep calendar"
    i=$((i + 1))
done
expect_status 0 "$UPKEEP" -c "$cdir/upkeep.conf" install systemd --dir units
grep -qF "ExecStart=\"$UPKEEP\" -c \"$SCRATCH/it's 100%% conf/upkeep.conf\" daemon" units/upkeep.service ||
    fail "service unit: $(cat units/upkeep.service)"
grep -q '^KillMode=mixed' units/upkeep.service || fail "the service must let the daemon stop its jobs"
systemd-analyze verify --man=no units/upkeep.service || fail "systemd-analyze rejected upkeep.service"
pass "install systemd writes units systemd accepts, and OnCalendar= agrees with upkeep calendar"

# install cron: run each line's command through /bin/sh, as cron would.
expect_status 0 "$UPKEEP" -c "$cdir/upkeep.conf" install cron --file cron.d/upkeep
grep -q '^CRON_TZ=Europe/Berlin' cron.d/upkeep || fail "no CRON_TZ"
line=$(grep "run 'in.utc-5'" cron.d/upkeep) || fail "no line for the job: $(cat cron.d/upkeep)"
expect_contains "$line" "0 5 * * * root "
command=${line#0 5 \* \* \* root }
command=${command//\\%/%} # cron turns \% back into %
sh -c "$command" || fail "the cron command did not run: $command"
[ "$(sqlite3 "$cdir/state/state.db" "SELECT result FROM runs WHERE job = 'in.utc-5'")" = success ] ||
    fail "the cron command did not run the job"
expect_status 0 "$UPKEEP" -c "$cdir/upkeep.conf" install cron --dry-run
expect_contains "$OUT" "# /etc/cron.d/upkeep"
! grep -qsF "$cdir" /etc/cron.d/upkeep || fail "--dry-run wrote the file"
pass "install cron writes lines /bin/sh runs as written"

# Installed schedules keep the environment the plan needs: require_env and the variables the
# config's values name; a disabled job gets no timer and no cron line.
mkdir envconf
cat > envconf/upkeep.conf <<CONF
[upkeep]
state = state/state.db
require_env = FLASK_ENV=production
[database app]
url = sqlite://../app.db
[job trim]
task = purge
database = app
table = audit_logs
age_column = created_at
older_than = \${LOG_DAYS:-90}d
schedule = 0 1 * * *
[job off]
task = integrity
database = app
schedule = 0 2 * * *
enabled = no
CONF
LOG_DAYS=30 expect_status 0 env -u FLASK_ENV "$UPKEEP" -c envconf/upkeep.conf install systemd --timers --dir envunits
grep -qx 'Environment="FLASK_ENV=production"' envunits/upkeep-trim.service &&
    grep -qx 'Environment="LOG_DAYS=30"' envunits/upkeep-trim.service ||
    fail "the timer's service lacks the environment: $(cat envunits/upkeep-trim.service)"
[ ! -e envunits/upkeep-off.timer ] || fail "a disabled job got a timer"
expect_contains "$OUT$ERR" "job 'off' is disabled (enabled = no): no timer"
expect_contains "$OUT$ERR" "FLASK_ENV is not set here"
systemd-analyze verify --man=no envunits/*.timer envunits/*.service || fail "systemd-analyze rejected the units"
LOG_DAYS=30 expect_status 0 "$UPKEEP" -c envconf/upkeep.conf install systemd --dir envunits
grep -qx 'Environment="LOG_DAYS=30"' envunits/upkeep.service || fail "the daemon's unit lacks LOG_DAYS"
grep -qx 'CacheDirectory=upkeep' envunits/upkeep.service || fail "the daemon's unit has no cache folder"
LOG_DAYS=30 expect_status 0 env -u FLASK_ENV "$UPKEEP" -c envconf/upkeep.conf install cron --file envcron
grep -qx 'FLASK_ENV="production"' envcron && grep -qx 'LOG_DAYS="30"' envcron ||
    fail "the cron file lacks the environment: $(cat envcron)"
! grep -q "run 'off'" envcron || fail "a disabled job got a cron line"
# The job runs, not skips, with only what the cron file gives it (as cron would run it).
line=$(grep "run 'trim'" envcron)
command=${line#0 1 \* \* \* root }
mapfile -t assignments < <(sed -n 's/^\([A-Z_]*\)="\(.*\)"$/\1=\2/p' envcron)
env -i PATH="$PATH" "${assignments[@]}" sh -c "$command" || fail "the installed job did not run: $command"
[ "$(sqlite3 envconf/state/state.db "SELECT result FROM runs WHERE job = 'trim'")" = success ] ||
    fail "the installed job was skipped"
pass "installed schedules carry require_env and the config's variables; disabled jobs are left out"

# The five plans' schedules (the car-repair plan needs PostgreSQL: its schedules only).
for conf in "$EXAMPLES"/*.conf; do
    sed -n 's/^schedule = //p' "$conf" | while read -r e; do
        "$UPKEEP" calendar "$e" --count 3 >/dev/null || fail "$(basename "$conf"): '$e'"
    done
done
expect_status 0 "$UPKEEP" calendar '0 3 * * 0' --tz Europe/Berlin --from 2027-01-15T00:00:00+01:00 --count 2
expect_contains "$OUT" "2027-01-17T03:00:00+01:00" # accounting: Sunday 03:00
expect_status 0 "$UPKEEP" calendar '0 4 1 * *' --tz Europe/London --from 2027-01-15T00:00:00Z --count 2
expect_contains "$OUT" "2027-02-01T04:00:00+00:00" # feedforward: monthly, the 1st
expect_contains "$OUT" "2027-03-01T04:00:00+00:00"
expect_status 0 "$UPKEEP" calendar '0 */6 * * *' --tz UTC --from 2027-01-15T07:00:00Z --count 3
expect_contains "$OUT" "2027-01-15T12:00:00+00:00" # print service: disk check every 6 h
expect_contains "$OUT" "2027-01-15T18:00:00+00:00"
for e in '0 2 * * *' '0 3 * * 0' '0 4 1 * *'; do # car repair: daily, weekly, monthly backups
    expect_status 0 "$UPKEEP" calendar "$e" --count 2
done
pass "the example plans' schedules fire when their plans say"
