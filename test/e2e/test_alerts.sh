#!/bin/bash
# Alerts end to end against local receivers: a webhook (payload checked), a failing and a
# hanging receiver that do not fail the job, mail through an SMTP sink (credentials file
# rules), a command with the event in its environment, heartbeat pings, after/repeat/
# recovery, health events, and quiet hours holding then releasing an alert.
helpers=$(cd "$(dirname "$0")/../helpers" && pwd)
source "$(dirname "$0")/lib.sh"
"$GENDB" app.db --size-mb 1 --seed 1 >/dev/null
read -r hook smtp bad slow <<< "$(free_port 4 | tr '\n' ' ')"
python3 "$helpers/receiver.py" $hook hook.log 200 & sleep 0
python3 "$helpers/receiver.py" $bad bad.log 500 &
python3 "$helpers/receiver.py" $slow slow.log hang &
python3 "$helpers/smtp_sink.py" $smtp mail.log &
wait_for 10 curl -s -o /dev/null http://127.0.0.1:$hook/ready
: > hook.log
requests() { [ -f hook.log ] && wc -l < hook.log || echo 0; }
conf() { # conf ALERT-SECTIONS [DATABASE-KEYS]
    cat > upkeep.conf <<CONF
[upkeep]
state = state/state.db
[database app]
url = sqlite://app.db
${2:-}
[database maybe]
url = sqlite://maybe.db
[job flaky]
task = integrity
database = maybe
[job check]
task = integrity
database = app
$1
CONF
}

# Webhook: the payload carries Slack's text and a Teams card; after, repeat, recovery.
conf "[alert ops]
webhook = http://127.0.0.1:$hook/hook
after = 2
repeat = 6h"
expect_status 1 "$UPKEEP" run flaky
[ "$(requests)" -eq 0 ] || fail "after = 2: the first failure must not alert"
expect_status 1 "$UPKEEP" run flaky
[ "$(requests)" -eq 1 ] || fail "the second failure should alert"
line=$(tail -1 hook.log)
[ "$(echo "$line" | jq -r .type)" = application/json ] || fail "content type"
body=$(echo "$line" | jq -r .body)
expect_contains "$(echo "$body" | jq -r .text)" "upkeep job 'flaky' (integrity) failed"
[ "$(echo "$body" | jq -r '."@type"')" = MessageCard ] || fail "no Teams card: $body"
[ "$(echo "$body" | jq -r .event)" = failure ] || fail "event"
expect_status 1 "$UPKEEP" run flaky
[ "$(requests)" -eq 1 ] || fail "repeat = 6h: an open alert must not repeat at once"
"$GENDB" maybe.db --size-mb 1 >/dev/null
expect_status 0 "$UPKEEP" run flaky
[ "$(requests)" -eq 2 ] || fail "a success should send a recovery"
[ "$(tail -1 hook.log | jq -r .body | jq -r .event)" = recovery ] || fail "recovery event"
expect_status 0 "$UPKEEP" run flaky
[ "$(requests)" -eq 2 ] || fail "no recovery without an open alert"
pass "webhook payload; after, repeat and recovery"

# A failing or hanging receiver never fails the job, and is counted.
rm -f maybe.db
conf "[alert broken]
webhook = http://127.0.0.1:$bad/hook
[alert slow]
webhook = http://127.0.0.1:$slow/hook
timeout = 1s
[alert nobody]
webhook = http://127.0.0.1:1/hook"
expect_status 0 "$UPKEEP" run check
t0=$(date +%s)
expect_status 1 "$UPKEEP" run flaky
[ $(( $(date +%s) - t0 )) -le 8 ] || fail "a hanging receiver held the run too long"
expect_contains "$ERR" "alert 'broken': failure could not be sent by webhook: 127.0.0.1 answered HTTP 500"
expect_contains "$ERR" "alert 'slow': failure could not be sent by webhook"
expect_contains "$ERR" "alert 'nobody': failure could not be sent by webhook: 127.0.0.1:"
expect_status 0 "$UPKEEP" metrics
expect_contains "$OUT" 'upkeep_alert_deliveries_total{alert="broken",channel="webhook",result="failed"} 1'
expect_contains "$OUT" 'upkeep_alert_deliveries_total{alert="nobody",channel="webhook",result="failed"} 1'
[ "$(sqlite3 state/state.db "SELECT result FROM runs WHERE job = 'flaky' ORDER BY id DESC LIMIT 1")" = failed ] ||
    fail "the run's own result changed"
pass "failing, hanging and absent receivers do not fail the job and are counted"

# Email through an SMTP sink; the credentials file must be private, and is never printed.
printf 'alerts:p4ss-w0rd\n' > smtp.cred
chmod 644 smtp.cred
conf "[alert mail]
email = ops@example.com, dev@example.com
smtp = smtp://127.0.0.1:$smtp
smtp_from = upkeep@example.com
smtp_credentials = smtp.cred"
expect_status 1 "$UPKEEP" run flaky
expect_contains "$ERR" "smtp_credentials"
expect_contains "$ERR" "is readable by group or others (chmod 600)"
[ ! -s mail.log ] || fail "mail sent with a world-readable credentials file"
chmod 600 smtp.cred
expect_status 1 "$UPKEEP" run flaky
expect_status 1 "$UPKEEP" -v run flaky
! echo "$ERR" | grep -q p4ss-w0rd || fail "the password was printed"
wait_for 10 grep -q "^FROM <upkeep@example.com> TO <ops@example.com>,<dev@example.com> USER alerts" mail.log
grep -q "^Subject: \[upkeep .*\] failure flaky" mail.log || fail "subject: $(cat mail.log)"
grep -q "upkeep job 'flaky' (integrity) failed" mail.log || fail "mail body"
pass "email through SMTP with private credentials"

# A command, with the event in its environment (no shell involved).
cat > notify.sh <<'SH'
#!/bin/sh
env | grep '^UPKEEP_' | sort > "$(dirname "$0")/notified.env"
SH
chmod +x notify.sh
conf "[alert cmd]
command = notify.sh
jobs = flaky"
expect_status 1 "$UPKEEP" run flaky
grep -q '^UPKEEP_EVENT=failure$' notified.env || fail "event: $(cat notified.env)"
grep -q '^UPKEEP_SUBJECT=flaky$' notified.env || fail "subject"
grep -q "^UPKEEP_MESSAGE=upkeep job 'flaky' (integrity) failed" notified.env || fail "message"
rm notified.env
expect_status 0 "$UPKEEP" run check
[ ! -e notified.env ] || fail "jobs = flaky: another job's run must not alert"
pass "command alerts get the event in UPKEEP_* variables; jobs = limits them"

# Heartbeats: /start, then the bare URL on success or /fail on failure.
: > hook.log
conf "[alert ping]
heartbeat = http://127.0.0.1:$hook/ping/abc
jobs = check, flaky"
expect_status 0 "$UPKEEP" run check
expect_status 1 "$UPKEEP" run flaky
[ "$(jq -r .path hook.log | tr '\n' ' ')" = "/ping/abc/start /ping/abc /ping/abc/start /ping/abc/fail " ] ||
    fail "heartbeat pings: $(jq -r .path hook.log | tr '\n' ' ')"
pass "heartbeat pings in the healthchecks.io protocol"

# Health: critical once per transition, recovery when it clears.
"$GENDB" maybe.db --size-mb 1 >/dev/null
expect_status 0 "$UPKEEP" run flaky
: > hook.log
conf "[alert health]
webhook = http://127.0.0.1:$hook/hook
on = critical, recovery" "size_critical = 1KB"
expect_status 2 "$UPKEEP" health
expect_status 2 "$UPKEEP" health
events_for() { jq -r .body hook.log | jq -r "select(.subject == \"$1\") | .event" | tr '\n' ' '; }
[ "$(events_for size:app)" = "critical " ] || fail "critical should be sent once: $(events_for size:app)"
jq -r .body hook.log | head -1 | jq -e '.sections[0].activityTitle == "size:app"' >/dev/null || fail "Teams card sections"
conf "[alert health]
webhook = http://127.0.0.1:$hook/hook
on = critical, recovery" "size_critical = 1TB"
expect_status 0 "$UPKEEP" health
[ "$(events_for size:app)" = "critical recovery " ] || fail "health recovery: $(events_for size:app)"
pass "health: a critical alert once per transition, then a recovery"

# Quiet hours hold a warning until they end.
: > hook.log
now=$(date +%H:%M)
until=$(date -d '+2 hours' +%H:%M)
conf "[alert night]
webhook = http://127.0.0.1:$hook/hook
on = warning
quiet_hours = $now-$until" "size_warning = 1KB"
expect_status 1 "$UPKEEP" health
[ "$(requests)" -eq 0 ] || fail "a warning was sent during quiet hours"
conf "[alert night]
webhook = http://127.0.0.1:$hook/hook
on = warning
quiet_hours = $until-$(date -d '+3 hours' +%H:%M)" "size_warning = 1KB"
expect_status 1 "$UPKEEP" health
[ "$(requests)" -eq 1 ] || fail "the held warning was not sent after the quiet hours"
[ "$(tail -1 hook.log | jq -r .body | jq -r .event)" = warning ] || fail "held event"
pass "quiet hours hold non-critical alerts until they end"
