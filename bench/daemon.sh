#!/bin/bash
# The scheduler's idle cost: what `upkeep daemon` costs while it waits for the next run, as
# users get it by default (the HTTP endpoint on, scraped) and with listen = off. Reads /proc
# for its resident memory, CPU time and context switches over an idle period (a daemon that
# polls shows a switch per poll; one that sleeps until the next due time shows none).
# Usage: bench/daemon.sh [BUILD] (IDLE_SECONDS=30 by default)
set -euo pipefail
source "$(dirname "$0")/lib.sh" "${1:-build}"
idle=${IDLE_SECONDS:-30}
rm -rf daemon-bench && mkdir daemon-bench && cd daemon-bench
"$GENDB" app.db --size-mb 4 >/dev/null
port=$((20000 + RANDOM % 20000))
measure() { # measure LISTEN
    cat > upkeep.conf <<CONF
[upkeep]
state = state/state.db
timezone = Europe/Berlin
listen = $1
[database app]
url = sqlite://app.db
[job nightly]
task = integrity
database = app
schedule = 0 3 * * *
[job weekly]
task = vacuum
database = app
schedule = 0 3 * * sun
[job monthly]
task = integrity
database = app
schedule = 0 4 1 * *
CONF
    "$UPKEEP" daemon 2>daemon.log &
    pid=$!
    sleep 1
    local scrapes=0
    if [ "$1" != off ]; then # what a monitoring system does: health, metrics, the page
        for path in health health?detail=1 metrics ""; do
            curl -s -o /dev/null "http://$1/$path" && scrapes=$((scrapes + 1))
        done
    fi
    field() { awk -v k="$1:" '$1 == k {print $2}' /proc/$pid/status; }
    cpu() { awk '{print $14 + $15}' /proc/$pid/stat; }
    switches() { echo $(( $(field voluntary_ctxt_switches) + $(field nonvoluntary_ctxt_switches) )); }
    local cpu0 sw0 cpu1 sw1 rss hwm
    cpu0=$(cpu); sw0=$(switches)
    sleep "$idle"
    cpu1=$(cpu); sw1=$(switches)
    rss=$(field VmRSS); hwm=$(field VmHWM)
    kill -TERM $pid; wait $pid
    echo "== upkeep daemon, listen = $1, idle for ${idle}s with 3 scheduled jobs${scrapes:+ after $scrapes requests}"
    printf '  resident memory %s KiB (peak %s KiB; target <= 8192)\n' "$rss" "$hwm"
    printf '  CPU time        %s clock ticks\n' "$((cpu1 - cpu0))"
    printf '  wake-ups        %s context switches\n' "$((sw1 - sw0))"
}
measure "127.0.0.1:$port"
measure off
