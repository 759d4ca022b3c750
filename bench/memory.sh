#!/bin/bash
# Constant memory: peak RSS and time of backup, a second backup (the chunk index of every
# chunk the first stored, read back), verify and restore of a generated SQLite database of
# SIZE_GB GiB (20 by default), beside the same at 1 GiB. Target: <= 64 MiB at both sizes.
# Needs about 3.5 times SIZE_GB of free disk (the database, its restore, the repository).
# Usage: bench/memory.sh [BUILD]
set -euo pipefail
source "$(dirname "$0")/lib.sh" "${1:-build}"
SIZE_GB=${SIZE_GB:-20}

run() { # run LABEL CMD...: prints LABEL, time and peak RSS
    local label=$1 t rss
    shift
    t=$(now)
    rss=$(peak "$@")
    printf '  %-16s %8.2f s  %6s MiB peak RSS\n' "$label" "$(elapsed "$t")" "$(mib $((rss * 1024)))"
    echo "$rss" >> rss-all.txt
}

rm -f rss-all.txt
for mb in 1024 $((SIZE_GB * 1024)); do
    f=$(db "$mb")
    rm -rf mem-repo state-mem restored-mem.db
    cat > upkeep.conf <<CONF
[upkeep]
state = state-mem/state.db
[database app]
url = sqlite://$work/$f
[repository r]
url = file://$work/mem-repo
CONF
    echo "== $(mib "$(stat -c %s "$f")") MiB database"
    run backup "$UPKEEP" -q backup app
    run "second backup" "$UPKEEP" -q backup app
    run verify "$UPKEEP" -q verify latest
    run restore "$UPKEEP" -q restore latest --database app --to "$work/restored-mem.db"
    # Past the 100-byte header, whose change counters the restore sets anew.
    cmp -s -i 100 "$f" restored-mem.db && echo "  restored pages identical" ||
        { echo "  the restored database differs"; exit 1; }
    printf '  repository: %s MiB\n' "$(mib "$(dirsize mem-repo)")"
    rm -rf mem-repo state-mem restored-mem.db
done
printf '== worst peak RSS: %s MiB (target <= 64)\n' "$(mib $(($(sort -n rss-all.txt | tail -1) * 1024)))"
rm -f rss-all.txt rss.txt upkeep.conf
