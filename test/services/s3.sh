# A throwaway S3 server on loopback ports, for the end-to-end tests and benchmarks: s3rver
# (npm, installed into test/services/node_modules by `make test-deps`) behind s3proxy.js,
# which checks every request's SigV4 signature, honours If-None-Match, counts requests and
# injects faults. Source it, then `s3_up` starts both with a bucket and exports:
#   S3_ENDPOINT    http://127.0.0.1:PORT (the proxy; s3rver's own port is never given out)
#   S3_BUCKET      the bucket (upkeep-test)
#   S3_ACCESS_KEY, S3_SECRET_KEY, S3_REGION   the credentials the proxy accepts
#   s3_fault ARGS  e.g. s3_fault status=503 count=3, s3_fault drop=2, s3_fault delay_ms=500 count=1
#   s3_stats       the proxy's request counts as JSON ({"PUT":…,"GET":…,"LIST":…,"rejected":…})
#   s3_reset       zeroes the counts and clears the faults
# `s3_down` stops both and removes the folder (also on the shell's EXIT trap it adds to).
S3_SERVICES=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

s3_up() {
    local server=$S3_SERVICES/node_modules/s3rver/bin/s3rver.js
    command -v node >/dev/null && [ -f "$server" ] ||
        { echo "s3rver not installed (make test-deps)" >&2; return 1; }
    S3_DIR=$(mktemp -d /tmp/upkeep-s3.XXXXXX)
    mkdir -p "$S3_DIR/data"
    # s3rver knows the access key S3RVER and checks no secret; the proxy checks this one.
    export S3_ACCESS_KEY=S3RVER S3_SECRET_KEY="s3-secret-$RANDOM$RANDOM" S3_REGION=us-east-1
    export S3_BUCKET=upkeep-test
    local tries=0
    while :; do
        S3_RAW_PORT=$((30000 + RANDOM % 20000))
        S3_PORT=$((S3_RAW_PORT + 1))
        # --openssl-legacy-provider: s3rver encrypts ListObjectsV2 continuation tokens with DES.
        node --openssl-legacy-provider "$server" -d "$S3_DIR/data" -a 127.0.0.1 -p "$S3_RAW_PORT" \
            --silent --configure-bucket "$S3_BUCKET" >"$S3_DIR/s3rver.log" 2>&1 &
        S3_SERVER_PID=$!
        node "$S3_SERVICES/s3proxy.js" "$S3_PORT" "$S3_RAW_PORT" >"$S3_DIR/proxy.log" 2>&1 &
        S3_PROXY_PID=$!
        local i
        for i in $(seq 1 100); do
            if grep -q listening "$S3_DIR/proxy.log" &&
                [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$S3_RAW_PORT/")" != 000 ]; then
                break 2
            fi
            kill -0 "$S3_SERVER_PID" 2>/dev/null && kill -0 "$S3_PROXY_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill "$S3_SERVER_PID" "$S3_PROXY_PID" 2>/dev/null || true
        wait "$S3_SERVER_PID" "$S3_PROXY_PID" 2>/dev/null || true
        tries=$((tries + 1))
        if [ "$tries" -ge 5 ]; then
            cat "$S3_DIR/s3rver.log" "$S3_DIR/proxy.log" >&2
            return 1
        fi
    done
    local previous
    previous=$(trap -p EXIT | sed -e "s/^trap -- '//" -e "s/' EXIT\$//")
    trap "s3_down; ${previous:-:}" EXIT
    export S3_ENDPOINT="http://127.0.0.1:$S3_PORT" S3_PROXY_LOG=$S3_DIR/proxy.log
}

s3_fault() { local q; q=$(IFS='&'; echo "$*"); curl -s -X POST "$S3_ENDPOINT/__upkeep/faults?$q" >/dev/null; }
s3_stats() { curl -s "$S3_ENDPOINT/__upkeep/stats"; }
s3_reset() { curl -s -X POST "$S3_ENDPOINT/__upkeep/reset" >/dev/null; }

s3_down() {
    [ -n "${S3_DIR:-}" ] || return 0
    kill "$S3_PROXY_PID" "$S3_SERVER_PID" 2>/dev/null || true
    wait "$S3_PROXY_PID" "$S3_SERVER_PID" 2>/dev/null || true
    rm -rf "$S3_DIR"
    S3_DIR=
}
