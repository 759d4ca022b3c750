#!/bin/bash
# make bench: upkeep side by side with the obvious alternatives, in one run, on one machine.
#   full backup       upkeep backup        vs  sqlite3 .backup, then zstd -T0 -3
#   second backup     upkeep backup        vs  restic backup (after ~1% of rows changed)
#   live writer       upkeep backup while a writer commits 500 tx/s: the writer's worst stall
#   restore           upkeep restore       vs  zstd -d of the pipeline's output (both fsynced),
#                     with and without the database's quick check
#   memory            peak RSS of backup, verify, restore at 256 MiB and 1 GiB
# Usage: bench/run.sh [BUILD] (SIZE_MB=1024 by default; the databases are cached in bench/work)
set -euo pipefail
source "$(dirname "$0")/lib.sh" "${1:-build}"
export RESTIC_PASSWORD=bench RESTIC_CACHE_DIR=$work/restic-cache

peak_rss_kib() { # peak_rss_kib CMD... : runs CMD, prints its peak RSS in KiB
    /usr/bin/time -f '%M' -o rss.txt "$@" >/dev/null
    cat rss.txt
}

conf() { # conf DB REPO: a config for upkeep
    cat > upkeep.conf <<CONF
[upkeep]
state = state-$2/state.db
[database app]
url = sqlite://$1
[repository r]
url = file://$2
compression = zstd:3
CONF
}

base=$(db "$SIZE_MB")
cp "$base" app.db
rm -rf repo state-repo pipeline.db pipeline.db.zst restic-repo restic-cache restored.db
conf app.db repo
cat app.db > /dev/null # warm cache for both sides alike

echo "== database: $(mib "$(stat -c %s app.db)") MiB, WAL mode, checkpointed"

echo "== full backup"
t=$(now)
sqlite3 app.db ".backup pipeline.db"
zstd -q -T0 -3 pipeline.db -o pipeline.db.zst
sync pipeline.db.zst
pipe_time=$(elapsed "$t")
pipe_size=$(stat -c %s pipeline.db.zst)
t=$(now)
"$UPKEEP" -q backup app
up_time=$(elapsed "$t")
up_size=$(dirsize repo)
printf '  sqlite3 .backup + zstd -T0 -3: %6.2f s  %8s MiB\n' "$pipe_time" "$(mib "$pipe_size")"
printf '  upkeep backup:                 %6.2f s  %8s MiB\n' "$up_time" "$(mib "$up_size")"
printf '  ratio upkeep/pipeline: time %s (target <= 0.60), size %s (target <= 1.05)\n' \
    "$(ratio "$up_time" "$pipe_time")" "$(ratio "$up_size" "$pipe_size")"

echo "== second backup after ~1% of rows changed"
restic init -q --repo restic-repo >/dev/null
restic backup -q --repo restic-repo app.db >/dev/null
restic_before=$(dirsize restic-repo)
up_before=$(dirsize repo)
"$GENDB" app.db --mutate 1 --seed 43
t=$(now)
restic backup -q --repo restic-repo app.db >/dev/null
restic_time=$(elapsed "$t")
restic_added=$(($(dirsize restic-repo) - restic_before))
t=$(now)
"$UPKEEP" -q backup app
up_time=$(elapsed "$t")
up_added=$(($(dirsize repo) - up_before))
printf '  restic backup: %6.2f s  +%8s MiB\n' "$restic_time" "$(mib "$restic_added")"
printf '  upkeep backup: %6.2f s  +%8s MiB\n' "$up_time" "$(mib "$up_added")"
printf '  ratio upkeep/restic: time %s (target <= 0.25); upkeep stored %s MiB (target <= 16)\n' \
    "$(ratio "$up_time" "$restic_time")" "$(mib "$up_added")"

echo "== full backup while the application writes 500 tx/s"
rm -rf repo state-repo
rm -f stop
"$WRITER" app.db --rate 500 --seconds 300 --stop-file stop > writer-idle.json &
wpid=$!
sleep 3
touch stop; wait $wpid
rm -f stop
"$WRITER" app.db --rate 500 --seconds 300 --stop-file stop > writer.json &
wpid=$!
sleep 1
t=$(now)
"$UPKEEP" -q backup app
up_time=$(elapsed "$t")
sleep 0.5
touch stop; wait $wpid
rm -f stop
printf '  upkeep full backup finished in %.2f s with the writer running\n' "$up_time"
printf '  writer alone (3 s):       %s\n' "$(cat writer-idle.json)"
printf '  writer during the backup: %s (target: max <= 100 ms)\n' "$(cat writer.json)"
"$WRITER" app.db --rate 500 --seconds 300 --stop-file stop > /dev/null &
wpid=$!
sleep 1
if timeout 30 sqlite3 app.db ".backup cli.db"; then cli="finished"; else cli="did not finish within 30 s"; fi
touch stop; wait $wpid; rm -f stop cli.db
printf '  sqlite3 .backup with the same writer: %s\n' "$cli"

echo "== restore to a file (durable)"
rm -f restored.db pipeline.restored
sync # each restore starts with no writeback of earlier steps pending
t=$(now)
zstd -q -d pipeline.db.zst -o pipeline.restored
sync pipeline.restored
zstd_time=$(elapsed "$t")
sync
t=$(now)
"$UPKEEP" -q restore latest --database app --to restored.db --no-check
up_time=$(elapsed "$t")
rm -f restored.db
sync
t=$(now)
"$UPKEEP" -q restore latest --database app --to restored.db
checked_time=$(elapsed "$t")
printf '  zstd -d + sync:  %6.2f s\n' "$zstd_time"
printf '  upkeep restore --no-check: %6.2f s (every chunk hash and the image hash checked)\n' "$up_time"
printf '  upkeep restore:  %6.2f s (also PRAGMA quick_check before the file gets its name)\n' "$checked_time"
printf '  ratio upkeep/zstd: %s (target <= 1.2), with the quick check %s\n' \
    "$(ratio "$up_time" "$zstd_time")" "$(ratio "$checked_time" "$zstd_time")"
rm -f pipeline.restored restored.db pipeline.db

echo "== peak RSS (target <= 64 MiB, the same at both sizes)"
for size in 256 "$SIZE_MB"; do
    f=$(db "$size")
    rm -rf rss-repo state-rss-repo rss-restored.db
    conf "$f" rss-repo
    b=$(peak_rss_kib "$UPKEEP" -q backup app)
    v=$(peak_rss_kib "$UPKEEP" -q verify latest)
    r=$(peak_rss_kib "$UPKEEP" -q restore latest --database app --to rss-restored.db)
    printf '  %5s MiB database: backup %6s MiB, verify %6s MiB, restore %6s MiB\n' "$size" \
        "$(echo "scale=1; $b / 1024" | bc)" "$(echo "scale=1; $v / 1024" | bc)" "$(echo "scale=1; $r / 1024" | bc)"
    rm -rf rss-repo state-rss-repo rss-restored.db
done
rm -rf repo state-repo restic-repo restic-cache app.db app.db-wal app.db-shm pipeline.db.zst upkeep.conf rss.txt
