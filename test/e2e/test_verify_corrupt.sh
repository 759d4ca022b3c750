#!/bin/bash
# A flipped byte anywhere in stored data makes verify fail naming the backup; a missing pack
# too. The catalogue records the failure.
source "$(dirname "$0")/lib.sh"
write_config
"$GENDB" app.db --size-mb 6 >/dev/null
expect_status 0 "$UPKEEP" backup app
id=$(ls repo/snapshots)
expect_status 0 "$UPKEEP" verify "$id"
expect_contains "$OUT" "ok      $id"
cp -a repo pristine
pack=$(find repo/packs -type f | head -1)
size=$(stat -c %s "$pack")
# The pack ends with a copy of its index (its length, then 8 bytes of magic): the frames end
# before it.
index_len=$(tail -c 16 "$pack" | head -c 8 | od -An -tu8 | tr -d ' ')
data_end=$((size - 16 - index_len))
for offset in 8 $((data_end / 3)) $((data_end / 2)) $((data_end - 2)); do
    rm -rf repo && cp -a pristine repo
    printf '\x5a' | dd of="$pack" bs=1 seek=$offset conv=notrunc status=none
    cmp -s "$pack" "pristine/${pack#repo/}" && continue # the byte was already 0x5a
    expect_status 1 "$UPKEEP" verify "$id"
    expect_contains "$OUT" "FAILED  $id"
    pass "flipped byte at $offset of the pack: verify fails naming $id"
done
expect_status 0 "$UPKEEP" backups --json
expect_contains "$OUT" '"verify_result": "failed"'
# A corrupt manifest and a missing pack.
rm -rf repo && cp -a pristine repo
printf '\x00' | dd of="repo/snapshots/$id" bs=1 seek=40 conv=notrunc status=none
expect_status 1 "$UPKEEP" verify "$id"
expect_contains "$OUT$ERR" "$id"
# Listing still works and shows the damaged backup; verify without arguments reports it.
expect_status 0 "$UPKEEP" backups
expect_contains "$OUT" "(damaged)"
expect_status 1 "$UPKEEP" verify
expect_contains "$OUT" "FAILED  $id"
rm -rf repo && cp -a pristine repo
rm -f "$pack"
expect_status 1 "$UPKEEP" verify "$id"
expect_contains "$OUT" "FAILED  $id"
pass "corrupt manifest and missing pack fail verification"
# Restore refuses corrupt data and leaves no file.
rm -rf repo && cp -a pristine repo
printf '\x5a\x5a\x5a' | dd of="$pack" bs=1 seek=$((size / 2)) conv=notrunc status=none
expect_status 1 "$UPKEEP" restore "$id" --database app --to out.db
[ ! -e out.db ] || fail "restore of corrupt data created out.db"
[ -z "$(ls -A | grep upkeep-restore || true)" ] || fail "temporary file left behind"
pass "restore of corrupt data leaves nothing behind"
# A collation the application defines in its own code (Anki's unicase): upkeep has none, yet a
# sound backup verifies, restores and passes the integrity task, saying what it could not judge.
python3 - <<'PY'
import sqlite3
db = sqlite3.connect("anki.db")
db.create_collation("unicase", lambda a, b: (a.casefold() > b.casefold()) - (a.casefold() < b.casefold()))
db.execute("CREATE TABLE notes(id INTEGER PRIMARY KEY, tag TEXT COLLATE unicase)")
db.execute("CREATE INDEX notes_tag ON notes(tag)")
db.executemany("INSERT INTO notes(tag) VALUES (?)", [("Ärger%d" % i if i % 3 else "zebra%d" % i,) for i in range(3000)])
db.commit()
PY
cat > anki.conf <<CONF
[upkeep]
state = state/anki.db
[database anki]
url = sqlite://anki.db
[repository local]
url = file://anki-repo
[job check]
task = integrity
database = anki
checks = quick, full
CONF
expect_status 0 "$UPKEEP" -c anki.conf backup anki
expect_status 0 "$UPKEEP" -c anki.conf verify latest
expect_contains "$OUT" "ok "
expect_status 0 "$UPKEEP" -c anki.conf --json verify latest
expect_contains "$OUT" "collation unicase"
expect_status 0 "$UPKEEP" -c anki.conf restore latest --database anki --to anki-restored.db
expect_status 0 "$UPKEEP" -c anki.conf run check
pass "application-defined collations: a sound backup is never reported broken"
