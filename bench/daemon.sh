#!/bin/bash
# The scheduler's idle cost: what `upkeep daemon` costs while it waits for the next run.
# Reads /proc for its resident memory, CPU time and context switches over an idle period
# (a daemon that polls shows a switch per poll; one that sleeps until the next due time
# shows none). Usage: bench/daemon.sh [BUILD] (IDLE_SECONDS=30 by default)
set -euo pipefail
source "$(dirname "$0")/lib.sh" "${1:-build}"
idle=${IDLE_SECONDS:-30}
rm -rf daemon-bench && mkdir daemon-bench && cd daemon-bench
"$GENDB" app.db --size-mb 4 >/dev/null
cat > upkeep.conf <<CONF
[upkeep]
state = state/state.db
timezone = Europe/Berlin
listen = off
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
field() { awk -v k="$1:" '$1 == k {print $2}' /proc/$pid/status; }
cpu() { awk '{print $14 + $15}' /proc/$pid/stat; }
switches() { echo $(( $(field voluntary_ctxt_switches) + $(field nonvoluntary_ctxt_switches) )); }
cpu0=$(cpu); sw0=$(switches)
sleep "$idle"
cpu1=$(cpu); sw1=$(switches)
rss=$(field VmRSS); hwm=$(field VmHWM)
kill -TERM $pid; wait $pid
echo "== upkeep daemon idle for ${idle}s with 3 scheduled jobs"
printf '  resident memory %s KiB (peak %s KiB; target <= 8192)\n' "$rss" "$hwm"
printf '  CPU time        %s clock ticks\n' "$((cpu1 - cpu0))"
printf '  wake-ups        %s context switches\n' "$((sw1 - sw0))"
