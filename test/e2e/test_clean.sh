#!/bin/bash
# clean: globs, age, size, delete and move (never replacing), empty folders, orphans against
# a database column with a grace period for uploads in flight, symlinks and the root never
# followed or removed, --dry-run listing exactly what would go and changing nothing.
source "$(dirname "$0")/lib.sh"
old() { mkdir -p "$(dirname "$1")"; head -c "${2:-100}" /dev/urandom > "$1"; touch -d '10 days ago' "$1"; }
new() { mkdir -p "$(dirname "$1")"; head -c "${2:-100}" /dev/urandom > "$1"; }
tree() { (cd "$1" && find . -printf '%y %p %s\n' | sort); }
clean_conf() { # clean_conf JOB-KEYS
    cat > upkeep.conf <<CONF
[upkeep]
state = state/state.db
[database app]
url = sqlite://app.db
[job clean]
task = clean
path = uploads
$1
CONF
}
sqlite3 app.db "CREATE TABLE uploads(id INTEGER PRIMARY KEY, path TEXT)"
old uploads/a.tmp; old uploads/sub/b.tmp; new uploads/fresh.tmp; old uploads/keep.pdf
old outside/victim.tmp
ln -s ../outside uploads/link-dir
ln -s ../outside/victim.tmp uploads/link.tmp
mkdir -p uploads/empty/deeper

# Dry run: the exact list, and nothing changes.
clean_conf "match = *.tmp
older_than = 7d"
before=$(tree uploads; tree outside)
expect_status 0 "$UPKEEP" run clean --dry-run
expect_contains "$OUT" "would delete 2 files"
expect_contains "$OUT" "a.tmp (100 B): older than the limit"
expect_contains "$OUT" "sub/b.tmp (100 B)"
[ "$(tree uploads; tree outside)" = "$before" ] || fail "--dry-run changed the tree"
expect_status 0 "$UPKEEP" --json run clean --dry-run
[ "$(echo "$OUT" | jq -r '.[0].summary.planned | map(.path) | sort | join(" ")')" = "a.tmp sub/b.tmp" ] ||
    fail "planned: $OUT"
pass "--dry-run lists exactly the files and changes nothing"

# Delete: old *.tmp only; symlinks and what they point to are left alone.
expect_status 0 "$UPKEEP" run clean
[ ! -e uploads/a.tmp ] && [ ! -e uploads/sub/b.tmp ] || fail "old .tmp files left"
[ -e uploads/fresh.tmp ] && [ -e uploads/keep.pdf ] || fail "a young or unmatched file was deleted"
[ -e outside/victim.tmp ] && [ -L uploads/link.tmp ] && [ -L uploads/link-dir ] ||
    fail "a symlink was followed"
[ -d uploads/empty/deeper ] || fail "folders removed without remove_empty_dirs"
pass "old matching files deleted; young, unmatched, symlinks and outside untouched"

# Size limit, and empty folders (never the root).
old uploads/big.bin 2000000; old uploads/small.bin 1000
clean_conf "match = *.bin
older_than = 1d
larger_than = 1MB
remove_empty_dirs = yes"
expect_status 0 "$UPKEEP" run clean
[ ! -e uploads/big.bin ] && [ -e uploads/small.bin ] || fail "larger_than"
[ ! -e uploads/empty ] || fail "empty folders left"
rm -rf uploads/*; mkdir -p uploads/x/y
expect_status 0 "$UPKEEP" run clean
[ -d uploads ] && [ ! -e uploads/x ] || fail "the root must stay, empty folders below it go"
pass "larger_than; remove_empty_dirs removes empty folders but never the root"

# Move keeps relative paths and never replaces a file already there.
old uploads/completed/2024/job1.gcode; old uploads/completed/job2.gcode
mkdir -p archive/completed && echo "already here" > archive/completed/job2.gcode
clean_conf "match = completed/*, completed/*/*
older_than = 7d
action = move
move_to = archive"
expect_status 0 "$UPKEEP" run clean
[ -e archive/completed/2024/job1.gcode ] && [ ! -e uploads/completed/2024/job1.gcode ] || fail "move"
[ "$(cat archive/completed/job2.gcode)" = "already here" ] || fail "an existing file was replaced"
[ -e uploads/completed/job2.gcode ] || fail "a file that could not move was lost"
expect_contains "$ERR" "could not move 'completed/job2.gcode'"
pass "move keeps relative paths and never replaces an existing file"
# A symlink inside move_to never takes a file out of it.
rm -rf archive; mkdir -p archive outside-moves; ln -s ../outside-moves archive/completed
old uploads/completed/job3.gcode
expect_status 0 "$UPKEEP" run clean
[ -z "$(ls outside-moves)" ] || fail "a file was moved through a symlink in move_to"
[ -e uploads/completed/job3.gcode ] || fail "the file that could not move was lost"
pass "move_to is resolved beneath itself"

# Orphans: files no row names, older than the grace period.
rm -rf uploads archive; mkdir uploads
old uploads/referenced.pdf; old uploads/abs-referenced.pdf; old uploads/orphan.pdf
new uploads/in-flight.pdf; old uploads/2024/orphan2.pdf; old uploads/2024/kept.pdf
sqlite3 app.db "INSERT INTO uploads(path) VALUES ('referenced.pdf'), ('$SCRATCH/uploads/abs-referenced.pdf'), ('2024/kept.pdf'), (NULL)"
clean_conf "database = app
unreferenced_by = uploads.path
older_than = 1d"
expect_status 0 "$UPKEEP" run clean
[ ! -e uploads/orphan.pdf ] && [ ! -e uploads/2024/orphan2.pdf ] || fail "orphans left"
for f in referenced.pdf abs-referenced.pdf in-flight.pdf 2024/kept.pdf; do
    [ -e "uploads/$f" ] || fail "$f was deleted"
done
pass "orphans deleted; referenced files and uploads in flight kept"
# Orphan matching normalises both sides: rows that name files through a symlinked root or
# with doubled slashes keep them; a name with ".." keeps every file of that name.
rm -rf uploads real-uploads; mkdir real-uploads; ln -s real-uploads uploads
old real-uploads/a/x.pdf; old real-uploads/via-link.pdf; old real-uploads/b/dotdot.pdf
old real-uploads/orphan.pdf
sqlite3 app.db "DELETE FROM uploads; INSERT INTO uploads(path) VALUES ('a//x.pdf'),
  ('$SCRATCH/uploads/via-link.pdf'), ('c/../b/dotdot.pdf')"
expect_status 0 "$UPKEEP" run clean
[ ! -e real-uploads/orphan.pdf ] || fail "the orphan was kept"
for f in a/x.pdf via-link.pdf b/dotdot.pdf; do
    [ -e "real-uploads/$f" ] || fail "$f was deleted although a row names it"
done
pass "orphan matching normalises names (symlinked root, //, ..)"
rm -rf uploads real-uploads; mkdir uploads

# Config errors name the job and what is missing.
clean_conf "action = move"
expect_status 2 "$UPKEEP" check
expect_contains "$ERR" "action = move needs move_to"
clean_conf "database = app
unreferenced_by = uploads.path"
expect_status 2 "$UPKEEP" check
expect_contains "$ERR" "unreferenced_by needs older_than"
clean_conf "database = app
older_than = 1d
unreferenced_by = uploads;drop"
expect_status 2 "$UPKEEP" check
expect_contains "$ERR" "unreferenced_by: expected TABLE.COLUMN"
clean_conf "unreferenced_by = uploads.path
older_than = 1d"
expect_status 2 "$UPKEEP" check
expect_contains "$ERR" "unreferenced_by needs database"
pass "config errors for clean"

# disk: the filesystem's space, the largest folders, files over a size; no symlink followed.
mkdir -p space/big space/small outside-big
head -c 3000000 /dev/urandom > space/big/large.bin
head -c 1000 /dev/urandom > space/small/x.bin
head -c 4000000 /dev/urandom > outside-big/huge.bin
ln -s ../outside-big space/link
cat > upkeep.conf <<'CONF'
[upkeep]
state = state/state.db
[job report]
task = disk
paths = space
report_larger_than = 1MB
CONF
expect_status 0 "$UPKEEP" --json run report
report=$(echo "$OUT" | jq '.[0].summary.disk[0]')
[ "$(echo "$report" | jq -r '.largest_folders[0].path')" = "$SCRATCH/space/big" ] || fail "largest folder: $report"
[ "$(echo "$report" | jq -r '.files_larger | map(.path) | join(" ")')" = "$SCRATCH/space/big/large.bin" ] ||
    fail "files over 1MB: $report"
[ "$(echo "$report" | jq '.free_bytes > 0 and .used_percent > 0')" = true ] || fail "space figures"
expect_status 0 "$UPKEEP" run report
expect_contains "$OUT" "1 files larger"
sed -i 's/^paths = space$/paths = space, nowhere/' upkeep.conf
expect_status 1 "$UPKEEP" run report
expect_contains "$ERR" "1 of the paths cannot be read"
pass "disk reports space, the largest folders and big files, without following symlinks"
