#!/bin/bash
# Two-phase prune on a repository several hosts share: data no backup needs is first marked,
# and deleted by a prune after prune_grace. A backup that began before the mark on another
# host and reused a marked pack publishes its manifest later: the next prune finds the pack
# needed again and unmarks it, so that backup stays whole. A backup that begins after the mark
# never reuses a marked pack. Backups record the host that wrote them; retention applies per
# database and host.
source "$(dirname "$0")/lib.sh"
RETENTION=$'keep_last = 1\nprune_grace = 1h' write_config
"$GENDB" app.db --size-mb 4 --seed 1 >/dev/null
cp app.db first.db
expect_status 0 "$UPKEEP" backup app --json
first=$(jq -r .id <<<"$OUT")
cp "repo/snapshots/$first" first.manifest
sleep 1.1
rm -f app.db*
"$GENDB" app.db --size-mb 4 --seed 2 >/dev/null # nothing in common with the first
expect_status 0 "$UPKEEP" backup app
packs_before=$(ls repo/packs/*/* | wc -l)
expect_status 0 "$UPKEEP" prune --json
[ "$(jq '.[0].removed' <<<"$OUT")" = 1 ] || fail "the first backup was not dropped: $OUT"
marked=$(jq '.[0].packs_marked' <<<"$OUT")
[ "$marked" -ge 1 ] || fail "nothing was marked: $OUT"
[ "$(ls repo/packs/*/* | wc -l)" = "$packs_before" ] || fail "packs were deleted at once"
grep -q '"packs"' repo/gc/marked || fail "no marks were written"
pass "prune marks what no backup needs and deletes nothing before the grace"

# A backup that starts now does not reuse the marked packs: the first database backed up again
# stores its chunks anew (they are in marked packs only).
rm -f app.db*
cp first.db app.db
expect_status 0 "$UPKEEP" backup app --json
again=$(jq -r .id <<<"$OUT")
[ "$(jq -r .chunks_reused <<<"$OUT")" = 0 ] || fail "a new backup reused marked packs: $OUT"
pass "a backup that begins after the mark never reuses a marked pack"

# The first backup's manifest reappears, as another host's backup that reused the marked packs
# before the mark would publish it: the next prune finds them needed and unmarks them.
cp first.manifest "repo/snapshots/$first"
sed -i 's/^keep_last = 1/keep_last = 10/; s/^prune_grace = 1h/prune_grace = 0s/' upkeep.conf
expect_status 0 "$UPKEEP" prune --json
[ "$(jq '.[0].packs_unmarked' <<<"$OUT")" -ge 1 ] || fail "the reused packs were not unmarked: $OUT"
expect_status 0 "$UPKEEP" verify "$first"
expect_status 0 "$UPKEEP" verify "$again"
pass "a pack a late backup reused is unmarked, never deleted: that backup verifies"

# After the grace (0s here), what is still needed by none goes.
sed -i 's/^keep_last = 10/keep_last = 1/' upkeep.conf
expect_status 0 "$UPKEEP" prune --json
[ "$(jq '.[0].packs_removed' <<<"$OUT")" -ge 1 ] || fail "nothing was deleted after the grace: $OUT"
expect_status 0 "$UPKEEP" verify --all
pass "after the grace, packs still needed by none are deleted; the rest verifies"

# Each backup names the host that wrote it, and retention keeps keep_last per database and
# host: another host's backup of the same database is not pushed out by this host's.
expect_status 0 "$UPKEEP" backups --json
[ "$(jq -r '.[0].host' <<<"$OUT")" = "$(hostname)" ] || fail "backups does not show the host: $OUT"
other=$(ls repo/snapshots | tail -1)
python3 - "repo/snapshots/$other" <<'PY'
import hashlib, json, struct, sys
path = sys.argv[1]
data = open(path, "rb").read()
n = struct.unpack("<I", data[8:12])[0]
meta = json.loads(data[12:12 + n])
meta["hostname"] = "web-2"
meta["id"] = meta["id"][:-6] + "0ther0"
body = json.dumps(meta, separators=(",", ":")).encode()
out = data[:8] + struct.pack("<I", len(body)) + body + data[12 + n:-32]
new = path[:path.rindex("/") + 1] + meta["id"]
open(new, "wb").write(out + hashlib.sha256(out).digest())
PY
expect_status 0 "$UPKEEP" backup app --json
expect_status 0 "$UPKEEP" verify "$(jq -r .id <<<"$OUT")" # the newest proven one, too
expect_status 0 "$UPKEEP" prune --json
[ "$(ls repo/snapshots | wc -l)" = 2 ] || fail "retention did not keep one backup per host: $(ls repo/snapshots)"
ls repo/snapshots | grep -q 0ther0 || fail "the other host's backup was removed"
pass "backups show their host; retention applies per database and host"
