# Shared by the end-to-end tests: each test script sources this, gets a fresh scratch folder
# and the paths of the binaries, and uses the assertions below. A failed assertion stops the
# script with a message naming the check.
set -euo pipefail
UPKEEP=${UPKEEP:?set by meson}
GENDB=${GENDB:?set by meson}
WRITER=${WRITER:?set by meson}
HELPERS=${HELPERS:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../helpers" && pwd)}
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/upkeep-e2e.XXXXXX")
cleanup_scratch() {
    jobs -p | xargs -r kill 2>/dev/null || true
    [ -n "${KEEP_SCRATCH:-}" ] || rm -rf "$SCRATCH"
}
trap cleanup_scratch EXIT
cd "$SCRATCH"
# Remote repositories' index caches go to the scratch folder, not the home folder.
export UPKEEP_CACHE_DIR="$SCRATCH/cache"

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }

# expect_status N CMD...: runs CMD, stores stdout/stderr in $OUT/$ERR, checks the exit status.
expect_status() {
    local want=$1
    shift
    set +e
    "$@" >"$SCRATCH/.out" 2>"$SCRATCH/.err"
    local got=$?
    set -e
    OUT=$(cat "$SCRATCH/.out")
    ERR=$(cat "$SCRATCH/.err")
    [ "$got" -eq "$want" ] || fail "'$*' exited $got, expected $want. stderr: $ERR stdout: $OUT"
}

# interrupt SIGNAL DELAY CMD...: runs CMD (output discarded), sends SIGNAL after DELAY seconds,
# and waits for it to end: how the crash tests stop a run at a chosen instant.
interrupt() {
    local signal=$1 delay=$2
    shift 2
    "$@" >/dev/null 2>&1 &
    local pid=$!
    sleep "$delay"
    kill "-$signal" "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# free_port [N]: N (default 1) distinct loopback TCP ports nobody listens on now, one a line
# (the kernel's choice, so they do not collide with other tests or with outgoing connections
# the way a random pick can).
free_port() {
    python3 - "${1:-1}" <<'PY'
import socket, sys
held = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in held:
    s.bind(("127.0.0.1", 0))
print("\n".join(str(s.getsockname()[1]) for s in held))
PY
}

expect_contains() { # expect_contains HAYSTACK NEEDLE
    case "$1" in *"$2"*) ;; *) fail "expected to find '$2' in: $1" ;; esac
}

# A config with one SQLite database and one repository in the scratch folder.
write_config() {
    cat > upkeep.conf <<CONF
[upkeep]
state = state/state.db

[database app]
url = sqlite://app.db

[repository local]
url = file://repo
${RETENTION:-}

[job nightly]
task = backup
database = app
repository = local
verify = ${VERIFY:-no}
CONF
}

# wait_for SECONDS CMD...: polls CMD every 0.1 s until it succeeds; fails the test after SECONDS.
wait_for() {
    local limit=$1
    shift
    local deadline=$(($(date +%s) + limit))
    until "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -lt "$deadline" ] || fail "timed out after ${limit}s waiting for: $*"
        sleep 0.1
    done
}
