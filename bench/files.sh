#!/bin/bash
# Files side by side, on identical trees made fresh for each contender:
#   cleanup  100,000 files in 100 folders, half of them *.tmp older than 7 days:
#            upkeep clean  vs  find -name '*.tmp' -mtime +7 -delete
#   rotation 10,000 logs: upkeep rotate  vs  logrotate (numbered, no compression, create)
# Usage: bench/files.sh [BUILD] (ONLY=rotate for the rotation alone)
set -euo pipefail
source "$(dirname "$0")/lib.sh" "${1:-build}"
rm -rf files-bench && mkdir files-bench && cd files-bench
make_tree() { # make_tree DIR: 100 folders x 1,000 files, every other one an old .tmp
    python3 - "$1" <<'PY'
import os, sys, time
root, old = sys.argv[1], time.time() - 10 * 86400
for d in range(100):
    folder = os.path.join(root, "d%03d" % d)
    os.makedirs(folder)
    for f in range(1000):
        path = os.path.join(folder, "f%04d.%s" % (f, "tmp" if f % 2 else "dat"))
        with open(path, "w") as out:
            out.write("x")
        if f % 2:
            os.utime(path, (old, old))
PY
}
make_logs() { # make_logs DIR: 10,000 small logs
    python3 - "$1" <<'PY'
import os, sys
os.makedirs(sys.argv[1])
for i in range(10000):
    with open(os.path.join(sys.argv[1], "app%05d.log" % i), "w") as out:
        out.write("a line\n")
PY
}
settle() { sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true; }
cat > upkeep.conf <<CONF
[upkeep]
state = state/state.db
[job clean]
task = clean
path = tree
match = *.tmp
older_than = 7d
[job rotate]
task = rotate
files = logs/*.log
keep = 3
compress = none
CONF

if [ "${ONLY:-}" != rotate ]; then
echo "== cleanup of 50,000 old *.tmp among 100,000 files"
make_tree tree; settle
t=$(now); find tree -type f -name '*.tmp' -mtime +7 -delete; find_s=$(elapsed "$t")
left=$(find tree -type f | wc -l); rm -rf tree
make_tree tree; settle
t=$(now); "$UPKEEP" -q run clean; up_s=$(elapsed "$t")
[ "$(find tree -type f | wc -l)" = "$left" ] || echo "  FILE COUNT MISMATCH"
printf '  find -delete   %6.2f s\n  upkeep clean   %6.2f s   ratio %.2f (target <= 1.5)\n' "$find_s" "$up_s" "$(echo "$up_s / $find_s" | bc -l)"
rm -rf tree
fi

echo "== rotation of 10,000 logs"
make_logs logs; settle
printf '%s/logs/*.log {\n rotate 3\n nocompress\n create\n}\n' "$PWD" > lr.conf
t=$(now); logrotate -f -s lr.state lr.conf; lr_s=$(elapsed "$t")
rm -rf logs; make_logs logs; settle
t=$(now); "$UPKEEP" -q run rotate; up_s=$(elapsed "$t")
[ "$(ls logs | wc -l)" = 20000 ] || echo "  FILE COUNT MISMATCH"
printf '  logrotate      %6.2f s\n  upkeep rotate  %6.2f s   ratio %.2f (target < 1)\n' "$lr_s" "$up_s" "$(echo "$up_s / $lr_s" | bc -l)"
