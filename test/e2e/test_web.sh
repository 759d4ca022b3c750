#!/bin/bash
# The daemon's HTTP endpoint: /health (200/503, ?detail=1), /health/db, /metrics (promtool),
# the status page (checked in headless Chromium, screenshot kept in $ARTIFACTS), errors, and
# token enforcement, including the refusal to listen beyond loopback without one.
source "$(dirname "$0")/lib.sh"
"$GENDB" app.db --size-mb 2 --seed 1 >/dev/null
port=$(free_port)
web_conf() { # web_conf UPKEEP-KEYS DATABASE-KEYS
    cat > upkeep.conf <<CONF
[upkeep]
state = state/state.db
listen = 127.0.0.1:$port
$1
[database app]
url = sqlite://app.db
count_tables = users, forms
$2
[repository local]
url = file://repo
[job nightly-backup]
task = backup
database = app
repository = local
schedule = 0 3 * * *
[job weekly-check]
task = integrity
database = app
schedule = 0 4 * * sun
CONF
}
start_daemon() { : > daemon.log; "$UPKEEP" daemon 2>>daemon.log & dpid=$!; wait_for 10 grep -q "daemon started" daemon.log; }
stop_daemon() { kill -TERM "$dpid"; wait "$dpid"; }
get() { curl -s -o body -w '%{http_code}' "$@"; } # get ARGS...: prints the status; body in ./body
url=http://127.0.0.1:$port

web_conf "" ""
expect_status 0 "$UPKEEP" run nightly-backup
expect_status 0 "$UPKEEP" run nightly-backup
expect_status 0 "$UPKEEP" run weekly-check
start_daemon
expect_contains "$(cat daemon.log)" "serving /health, /metrics and the status page on http://127.0.0.1:$port/"
[ "$(get $url/health)" = 200 ] || fail "/health"
[ "$(cat body)" = OK ] || fail "/health body: $(cat body)"
[ "$(get "$url/health?detail=1")" = 200 ] || fail "/health?detail=1"
[ "$(jq -r .status body)" = OK ] || fail "detail status"
[ "$(jq '[.checks[] | select(.check == "rows")] | length' body)" -eq 2 ] || fail "detail checks"
cp body detail-1.json
[ "$(get $url/health/detailed)" = 200 ] || fail "/health/detailed"
[ "$(jq -c '[.status, [.checks[].check]]' body)" = "$(jq -c '[.status, [.checks[].check]]' detail-1.json)" ] ||
    fail "/health/detailed differs from ?detail=1: $(cat body)"
[ "$(get $url/health/db)" = 200 ] || fail "/health/db"
[ "$(jq -r '.checks[0].check' body)" = reachable ] || fail "/health/db checks"
[ "$(get $url/metrics)" = 200 ] || fail "/metrics"
promtool check metrics < body || fail "promtool rejected /metrics"
grep -q '^upkeep_job_runs_total{job="nightly-backup",task="backup",result="success"} 2' body || fail "metrics content"
[ "$(get $url/nowhere)" = 404 ] || fail "unknown path"
[ "$(get -X POST $url/health)" = 405 ] || fail "POST"
pass "/health, /health/detailed, /health/db, /metrics; 404 and 405"

# The status page, as a browser shows it.
[ "$(get $url/)" = 200 ] || fail "/"
for text in nightly-backup weekly-check '<svg' 'Recent runs' 'size at each backup'; do
    grep -qF "$text" body || fail "status page lacks '$text'"
done
mkdir -p "$ARTIFACTS"
browser() { timeout 60 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --user-data-dir="$SCRATCH/chromium" "$@" 2>/dev/null; }
browser --dump-dom "$url/" > dom.html
grep -q '<h1>upkeep on' dom.html || fail "the browser did not render the page"
grep -q '<polyline' dom.html && grep -q '<rect' dom.html || fail "charts missing in the rendered page"
[ "$(grep -o 'class="b ok"' dom.html | wc -l)" -ge 5 ] || fail "status badges missing"
browser --window-size=1200,1600 --screenshot="$ARTIFACTS/status-page.png" "$url/"
[ -s "$ARTIFACTS/status-page.png" ] || fail "no screenshot"
pass "the status page renders in Chromium (screenshot in $ARTIFACTS/status-page.png)"

# CRITICAL turns /health into 503.
web_conf "" "size_critical = 1KB"
kill -HUP "$dpid"
wait_for 10 grep -q "config reloaded" daemon.log
[ "$(get $url/health)" = 503 ] || fail "/health should be 503 when CRITICAL"
[ "$(cat body)" = CRITICAL ] || fail "503 body: $(cat body)"
[ "$(get $url/health/db)" = 200 ] || fail "/health/db only asks whether the database answers"
stop_daemon
pass "/health answers 503 when a check is CRITICAL"

# A token, when set, is required.
web_conf "token = s3cret-token" ""
start_daemon
[ "$(get $url/health)" = 401 ] || fail "no token should be 401"
[ "$(get -H 'Authorization: Bearer wrong' $url/metrics)" = 401 ] || fail "a wrong token should be 401"
[ "$(get -H 'Authorization: Bearer s3cret-token' $url/metrics)" = 200 ] || fail "the token should pass"
stop_daemon
! grep -q s3cret-token daemon.log || fail "the token appeared in the log"
pass "the token is enforced and never logged"

# Sixty clients trickling their headers a byte at a time cannot keep /health from answering:
# each connection has a deadline for its headers, and one address holds only some of them.
web_conf "" ""
start_daemon
python3 - "$port" <<'PY' & trickler=$!
import socket, sys, time
socks = []
for _ in range(60):
    try:
        s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        socks.append(s)
    except OSError:
        pass
end = time.time() + 25
while time.time() < end:
    for s in socks:
        try:
            s.send(b"X")
        except OSError:
            pass
    time.sleep(0.5)
PY
sleep 2
answered=""
for _ in $(seq 1 30); do
    if [ "$(curl -s -o body -w '%{http_code}' --max-time 2 $url/health)" = 200 ]; then answered=yes; break; fi
    sleep 0.5
done
kill $trickler 2>/dev/null; wait $trickler 2>/dev/null || true
[ -n "$answered" ] || fail "/health did not answer while slow clients held connections"
stop_daemon
pass "slow clients trickling headers do not keep /health from answering"

# Beyond loopback without a token: the daemon refuses to start; a port in use is a clear error.
sed -i "s/^listen = .*/listen = 0.0.0.0:$port/" upkeep.conf
sed -i '/^token = /d' upkeep.conf
expect_status 2 timeout 20 "$UPKEEP" daemon
expect_contains "$ERR" "is reachable from other machines: set token"
sed -i "s/^listen = .*/listen = 127.0.0.1:$port/" upkeep.conf
python3 -c "import socket,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $port)); s.listen(); time.sleep(5)" & holder=$!
sleep 0.5
expect_status 1 timeout 20 "$UPKEEP" daemon
expect_contains "$ERR" "unable to listen on 127.0.0.1:$port"
kill $holder; wait $holder 2>/dev/null || true
pass "listening beyond loopback needs a token; a busy port is reported"
