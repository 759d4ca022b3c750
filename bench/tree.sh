#!/bin/bash
# Files in backups, side by side with restic on the same trees (both to a local folder, both
# zstd-compressing, the page cache warm for both):
#   uploads   ~20,000 files, 1 GiB: photos (random bytes), PDFs and JSON (compressible), in
#             60 folders by year and month; then 1% of the files rewritten and 100 moved to another
#             folder
#   large     16 files of 64 MiB (videos, dumps); then 4 of them appended to and 4 edited in
#             the middle, and 2 renamed
#   tiny      100,000 files of 100 B to 4 KiB (a cache of thumbnails and sessions); then 1%
#             rewritten and 100 renamed
# For each: the full backup's time and repository size, the second backup's time and what
# it added. Targets (uploads): time <= 1.0x restic, growth <= 1.05x restic's.
# Usage: bench/tree.sh [BUILD] (SHAPES="uploads large tiny" by default)
set -euo pipefail
source "$(dirname "$0")/lib.sh" "${1:-build}"
export RESTIC_PASSWORD=bench RESTIC_CACHE_DIR=$work/tree-restic-cache
rm -rf tree-bench && mkdir tree-bench && cd tree-bench

make_tree() { # make_tree SHAPE DIR
    python3 - "$1" "$2" <<'PY'
import os, random, sys
shape, root = sys.argv[1], sys.argv[2]
rnd = random.Random(42)
words = b"invoice customer order shipped total amount tax address street city "
def text(n):
    out = bytearray()
    while len(out) < n:
        out += rnd.choice(words.split()) + b" " + str(rnd.randrange(10**6)).encode() + b"\n"
    return bytes(out[:n])
def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
if shape == "uploads":
    total, i = 0, 0
    while total < 1 << 30:
        folder = "%d/%02d/%s" % (2015 + i % 10, 1 + i % 12, "abcdefghij"[i % 2])
        kind = rnd.random()
        if kind < 0.6:
            n = int(rnd.lognormvariate(10.6, 0.9)); data = os.urandom(n); ext = "jpg"
        elif kind < 0.9:
            n = int(rnd.lognormvariate(10.2, 1.0)); data = text(n); ext = "pdf"
        else:
            n = int(rnd.lognormvariate(8.0, 1.0)); data = text(n); ext = "json"
        write(os.path.join(root, folder, "upload-%06d.%s" % (i, ext)), data)
        total += n; i += 1
elif shape == "large":
    for i in range(16):
        data = os.urandom(48 << 20) + text(16 << 20)
        write(os.path.join(root, "media", "file-%02d.bin" % i), data)
else:
    for i in range(100000):
        n = rnd.randrange(100, 4096)
        write(os.path.join(root, "c%02d" % (i % 100), "t%06d" % i), os.urandom(n // 2) + text(n - n // 2))
PY
}

change_tree() { # change_tree SHAPE DIR: the day's changes
    python3 - "$1" "$2" <<'PY'
import os, random, sys
shape, root = sys.argv[1], sys.argv[2]
rnd = random.Random(43)
files = sorted(os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs)
if shape == "large":
    for p in files[:4]:
        with open(p, "ab") as f:
            f.write(os.urandom(1 << 20))
    for p in files[4:8]:
        with open(p, "r+b") as f:
            f.seek(20 << 20); f.write(os.urandom(64 << 10))
    for p in files[8:10]:
        os.rename(p, p + ".old")
    sys.exit(0)
picked = rnd.sample(files, len(files) // 100 + 100)
for p in picked[:len(files) // 100]:
    n = os.path.getsize(p)
    with open(p, "wb") as f:
        f.write(os.urandom(n))
for k, p in enumerate(picked[len(files) // 100:]):
    dest = os.path.join(root, "moved", "%03d-%s" % (k, os.path.basename(p)))
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    os.rename(p, dest)
PY
}

conf() {
    cat > upkeep.conf <<CONF
[upkeep]
state = state/state.db
[repository r]
url = file://repo
compression = zstd:3
[job files]
task = backup
paths = $PWD/tree
repository = r
CONF
}

worst_time=0 worst_growth=0
for shape in ${SHAPES:-uploads large tiny}; do
    rm -rf tree repo state restic-repo "$RESTIC_CACHE_DIR"
    make_tree "$shape" tree
    conf
    n=$(find tree -type f | wc -l)
    echo "== $shape: $n files, $(mib "$(du -sb tree | cut -f1)") MiB"
    tar cf - tree > /dev/null # warm cache for both sides alike
    restic init -q --repo restic-repo > /dev/null
    t=$(now); restic backup -q --repo restic-repo tree > /dev/null; r1=$(elapsed "$t")
    t=$(now); "$UPKEEP" -q run files > /dev/null; u1=$(elapsed "$t")
    rs1=$(dirsize restic-repo) us1=$(dirsize repo)
    change_tree "$shape" tree
    tar cf - tree > /dev/null
    t=$(now); restic backup -q --repo restic-repo tree > /dev/null; r2=$(elapsed "$t")
    t=$(now); "$UPKEEP" -q run files > /dev/null; u2=$(elapsed "$t")
    rg=$(($(dirsize restic-repo) - rs1)) ug=$(($(dirsize repo) - us1))
    printf '  full backup:   restic %6.2f s %8s MiB   upkeep %6.2f s %8s MiB   time %sx, size %sx\n' \
        "$r1" "$(mib "$rs1")" "$u1" "$(mib "$us1")" "$(ratio "$u1" "$r1")" "$(ratio "$us1" "$rs1")"
    printf '  second backup: restic %6.2f s +%7s MiB   upkeep %6.2f s +%7s MiB   time %sx, growth %sx\n' \
        "$r2" "$(mib "$rg")" "$u2" "$(mib "$ug")" "$(ratio "$u2" "$r2")" "$(ratio "$ug" "$rg")"
    for v in "$(ratio "$u1" "$r1")" "$(ratio "$u2" "$r2")"; do
        [ "$(echo "$v > $worst_time" | bc)" = 1 ] && worst_time=$v
    done
    [ "$(echo "$(ratio "$ug" "$rg") > $worst_growth" | bc)" = 1 ] && worst_growth=$(ratio "$ug" "$rg")
    t=$(now); "$UPKEEP" -q restore latest --job files --files --to restored > /dev/null; ur=$(elapsed "$t")
    t=$(now); restic restore -q --repo restic-repo latest --target restic-restored > /dev/null; rr=$(elapsed "$t")
    diff -r tree "restored$PWD/tree" > /dev/null || { echo "restored tree differs" >&2; exit 1; }
    printf '  restore:       restic %6.2f s            upkeep %6.2f s            time %sx\n' \
        "$rr" "$ur" "$(ratio "$ur" "$rr")"
    rm -rf restored restic-restored
done
echo "== worst: time ${worst_time}x restic (target <= 1.0), growth ${worst_growth}x (target <= 1.05)"
