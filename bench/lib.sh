# Shared by the benchmark scripts: paths of the built binaries, the work folder with the
# cached generated databases, and small timing helpers. Usage: source bench/lib.sh BUILD
build=${1:-build}
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
UPKEEP=$top/$build/upkeep
GENDB=$top/$build/test/upkeep-gendb
WRITER=$top/$build/test/upkeep-writer
SIZE_MB=${SIZE_MB:-1024}
work=$top/bench/work
mkdir -p "$work"
cd "$work"

now() { date +%s.%N; }
elapsed() { echo "$(now) - $1" | bc; }
ratio() { echo "scale=2; $1 / $2" | bc; }
mib() { echo "scale=1; $1 / 1048576" | bc; }
dirsize() { du -sb "$1" | cut -f1; }
peak() { /usr/bin/time -f '%M' -o rss.txt "$@" >/dev/null; cat rss.txt; } # peak RSS, KiB

db() { # db SIZE_MB: prints the name of a cached, checkpointed WAL database of that size
    local f=app-$1.db
    if [ ! -f "$f" ]; then
        "$GENDB" "$f.tmp" --size-mb "$1" --seed 42 >/dev/null
        mv "$f.tmp" "$f"
        rm -f "$f.tmp-wal" "$f.tmp-shm"
    fi
    echo "$f"
}
