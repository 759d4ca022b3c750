#!/usr/bin/env bash
# Files in backups: a job's paths (less its excludes) with or without its database, restored
# under a folder (all or --include), listed (ls), compared (diff), deduplicated, verified,
# pruned, copied, and never restored outside the folder.
source "$(dirname "$0")/lib.sh"

S=$SCRATCH/srv
mkdir -p "$S/uploads/2026/01" "$S/uploads/cache" "$S/uploads/empty" "$S/config" outside
head -c 3000000 /dev/urandom > "$S/uploads/2026/01/video.bin"
head -c 40000 /dev/urandom > "$S/uploads/2026/01/photo.jpg"
echo "draft" > "$S/uploads/2026/01/upload.tmp"
echo "cached" > "$S/uploads/cache/thumb.png"
printf 'SECRET_KEY=abc\n' > "$S/config/.env"
chmod 600 "$S/config/.env"
printf 'debug = false\n' > "$S/config/app.ini"
ln -s /etc/hostname "$S/config/host-link"
ln "$S/uploads/2026/01/photo.jpg" "$S/uploads/photo-hardlink.jpg"
mkfifo "$S/uploads/queue.fifo"
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$S/uploads/app.sock"
touch -d '2020-01-02 03:04:05' "$S/config/app.ini"
owner=$(id -u):$(id -g)
if [ "$(id -u)" = 0 ]; then # root restores owners: give one file another's
    chown -h 1234:2345 "$S/config/app.ini" "$S/config/host-link"
    touch -h -d '2020-01-02 03:04:05' "$S/config/app.ini"
    owner=1234:2345
fi

conf() { # conf [EXTRA JOB LINES]
    cat > upkeep.conf <<CONF
[upkeep]
state = state/state.db

[database app]
url = sqlite://app.db

[repository local]
url = file://repo
${RETENTION:-}

[repository offsite]
url = file://offsite
encryption = aes-256
key_file = offsite.key

[job files]
task = backup
paths = $S/uploads, $S/config
exclude = *.tmp, cache/
repository = local

[job nightly]
task = backup
database = app
paths = $S/uploads
repository = local
${1:-}
CONF
}
"$GENDB" app.db --size-mb 2 >/dev/null
"$UPKEEP" key generate offsite.key >/dev/null
conf

# Config: no ".." in paths; exclude needs paths; a backup needs something to back up;
# relative paths are relative to the config file's folder.
sed 's|^paths = .*/uploads, |paths = srv/../uploads, |' upkeep.conf > bad.conf
expect_status 2 "$UPKEEP" -c bad.conf check
expect_contains "$ERR" "bad.conf:18: job 'files': path 'srv/../uploads' contains '..'"
sed 's|^paths = .*/uploads, |paths = srv/uploads, |' upkeep.conf > relative.conf
expect_status 0 "$UPKEEP" -c relative.conf run files --dry-run
expect_contains "$OUT" "its paths ($S/uploads, $S/config)"
sed '/^\[job nightly\]/,$d; /^paths = /d' upkeep.conf > bad.conf
expect_status 2 "$UPKEEP" -c bad.conf check
expect_contains "$ERR" "job 'files': task backup needs 'database', 'paths' or both"
sed "s|^paths = .*/uploads, |paths = $S/missing, |" upkeep.conf > bad.conf
expect_status 2 "$UPKEEP" -c bad.conf check
expect_contains "$ERR" "path '$S/missing' does not exist"
pass "paths and exclude are checked"

# A backup of files only.
expect_status 0 "$UPKEEP" run files --json
first=$(jq -r '.[0].summary.backup_id' <<<"$OUT")
[ "$(jq -r '.[0].summary.file_entries' <<<"$OUT")" = 12 ] || fail "expected 12 entries: $OUT"
[ "$(jq -r '.[0].summary.special_files_left_out' <<<"$OUT")" = 1 ] || fail "the socket was not left out: $OUT"
expect_status 0 "$UPKEEP" backups
expect_contains "$OUT" "(files)"
expect_status 0 "$UPKEEP" backups --json
[ "$(jq -r '.[0].job' <<<"$OUT")" = files ] || fail "backups --json names the job: $OUT"
pass "a job backs up files without a database"

# ls: every entry, with its type; the excluded ones are not there.
expect_status 0 "$UPKEEP" ls latest --job files
expect_contains "$OUT" "$(printf -- '-rw------- %5u %5u %12s' "$(id -u)" "$(id -g)" 15)"
expect_contains "$OUT" "$S/config/.env"
expect_contains "$OUT" "$S/config/host-link -> /etc/hostname"
expect_contains "$OUT" "$S/uploads/photo-hardlink.jpg => $S/uploads/2026/01/photo.jpg"
expect_contains "$OUT" "prw-r--r--"
case "$OUT" in *upload.tmp* | *thumb.png* | *"/cache"*) fail "excluded entries were backed up: $OUT" ;; esac
expect_status 0 "$UPKEEP" ls "$first" "$S/config" --json
[ "$(jq '.entries | length' <<<"$OUT")" = 4 ] || fail "ls PATH lists what is below PATH: $OUT"
[ "$(jq -r '.entries[] | select(.path | endswith("app.ini")) | .mtime' <<<"$OUT")" = "$(date -u -d '2020-01-02 03:04:05' +%Y-%m-%dT%H:%M:%SZ)" ] ||
    fail "ls --json mtime: $OUT"
expect_status 1 "$UPKEEP" ls "$first" /nowhere
expect_contains "$ERR" "holds nothing at '/nowhere'"
pass "ls lists entries with their metadata"

# Restore everything under a folder: contents, modes, times, links, empty folders.
expect_status 0 "$UPKEEP" restore "$first" --files --to out
R=out$S
cmp "$S/uploads/2026/01/video.bin" "$R/uploads/2026/01/video.bin" || fail "video.bin differs"
cmp "$S/config/.env" "$R/config/.env" || fail ".env differs"
[ "$(stat -c %a "$R/config/.env")" = 600 ] || fail "mode not restored"
[ "$(stat -c %Y "$R/config/app.ini")" = "$(stat -c %Y "$S/config/app.ini")" ] || fail "mtime not restored"
[ "$(readlink "$R/config/host-link")" = /etc/hostname ] || fail "symlink not restored"
[ "$(stat -c %u:%g "$R/config/app.ini")" = "$owner" ] && [ "$(stat -c %u:%g "$R/config/host-link")" = "$owner" ] ||
    fail "owner not restored: $(stat -c %u:%g "$R/config/app.ini" "$R/config/host-link")"
[ "$(stat -c %i "$R/uploads/photo-hardlink.jpg")" = "$(stat -c %i "$R/uploads/2026/01/photo.jpg")" ] ||
    fail "hard link not restored as a link"
[ -d "$R/uploads/empty" ] || fail "empty folder not restored"
[ -p "$R/uploads/queue.fifo" ] || fail "fifo not restored"
[ ! -e "$R/uploads/2026/01/upload.tmp" ] && [ ! -e "$R/uploads/cache" ] || fail "excluded entries restored"
[ "$(stat -c %Y "$R/uploads/2026")" = "$(stat -c %Y "$S/uploads/2026")" ] || fail "folder mtime not restored"
pass "restore --files gives back contents, modes, times, symlinks, hard links, empty folders"

# --include: only what it names.
expect_status 0 "$UPKEEP" restore latest --job files --files --to only --include "$S/config"
[ -f "only$S/config/.env" ] && [ ! -e "only$S/uploads" ] || fail "--include restored more than it names"
expect_status 0 "$UPKEEP" restore latest --job files --files --to only2 --include "$S/uploads/2026/*/*.jpg"
[ -f "only2$S/uploads/2026/01/photo.jpg" ] && [ ! -e "only2$S/uploads/2026/01/video.bin" ] ||
    fail "--include with a pattern"
expect_status 1 "$UPKEEP" restore latest --job files --files --to only3 --include /nothing
expect_contains "$ERR" "holds nothing that --include names"
pass "restore --include restores what it names"

# Never outside the folder: a symlink planted in the target is not followed.
mkdir -p trap
ln -s "$SCRATCH/outside" "trap/${S#/}" 2>/dev/null || { mkdir -p "trap$(dirname "$S")"; ln -s "$SCRATCH/outside" "trap$S"; }
expect_status 1 "$UPKEEP" restore "$first" --files --to trap
[ -z "$(ls -A outside)" ] || fail "restore wrote outside its folder: $(ls -A outside)"
# A symlink where a file goes is replaced, not written through; a folder there is an error.
mkdir -p "replace$S/config" "inway$S/config/app.ini"
echo "untouched" > outside-file
ln -s "$SCRATCH/outside-file" "replace$S/config/.env"
expect_status 0 "$UPKEEP" restore "$first" --files --to replace --include "$S/config"
[ ! -L "replace$S/config/.env" ] && cmp "$S/config/.env" "replace$S/config/.env" &&
    [ "$(cat outside-file)" = untouched ] || fail "a symlink in the way was written through"
expect_status 1 "$UPKEEP" restore "$first" --files --to inway --include "$S/config"
expect_contains "$ERR" "config/app.ini: a folder is in the way"
pass "restore never follows a symlink out of its folder"

# Unchanged files are taken from the last backup without reading them; a file rewritten in
# place with its old size and mtime is still read (its change time moved).
expect_status 0 "$UPKEEP" run files --json
[ "$(jq -r '.[0].summary.files_unchanged' <<<"$OUT")" = 4 ] || fail "unchanged files were read again: $OUT"
[ "$(jq -r '.[0].summary.chunks_new' <<<"$OUT")" = 0 ] || fail "an unchanged tree stored something: $OUT"
before=$(stat -c %Y "$S/config/app.ini")
printf 'debug = true \n' > "$S/config/app.ini"
touch -d "@$before" "$S/config/app.ini"
expect_status 0 "$UPKEEP" run files --json
[ "$(jq -r '.[0].summary.files_unchanged' <<<"$OUT")" = 3 ] || fail "a rewritten file was taken as unchanged: $OUT"
expect_status 0 "$UPKEEP" restore latest --job files --files --to rewritten --include "$S/config/app.ini"
[ "$(cat "rewritten$S/config/app.ini")" = "debug = true " ] || fail "the rewritten file's new bytes were not stored"
printf 'debug = false\n' > "$S/config/app.ini"
touch -d '2020-01-02 03:04:05' "$S/config/app.ini"
expect_status 0 "$UPKEEP" run files --json
pass "unchanged files are not read again; a file rewritten in place is"

# Deduplication: a rename and an append cost only new chunks; diff says what changed.
mv "$S/uploads/2026/01/video.bin" "$S/uploads/2026/01/video-renamed.bin"
printf 'more' >> "$S/config/app.ini"
chmod 640 "$S/config/.env"
head -c 1000 /dev/urandom > "$S/uploads/new.txt"
expect_status 0 "$UPKEEP" run files --json
second=$(jq -r '.[0].summary.backup_id' <<<"$OUT")
stored=$(jq -r '.[0].summary.bytes_stored' <<<"$OUT")
[ "$stored" -lt 100000 ] || fail "a renamed 3 MB file cost $stored bytes"
expect_status 0 "$UPKEEP" diff "$first" "$second"
expect_contains "$OUT" "-  $S/uploads/2026/01/video.bin"
expect_contains "$OUT" "+  $S/uploads/2026/01/video-renamed.bin"
expect_contains "$OUT" "M  $S/config/app.ini"
expect_contains "$OUT" "U  $S/config/.env"
expect_contains "$OUT" "+  $S/uploads/new.txt"
expect_contains "$OUT" "2 added, 1 removed, 1 modified"
expect_status 0 "$UPKEEP" diff "$first" "$second" --json
[ "$(jq -r .counts.added <<<"$OUT")" = 2 ] || fail "diff --json counts: $OUT"
pass "a rename stores $stored bytes; diff lists added, removed, modified and metadata changes"

# The database and its uploads in one backup: one id restores both.
expect_status 0 "$UPKEEP" run nightly --json
both=$(jq -r '.[0].summary.backup_id' <<<"$OUT")
expect_status 0 "$UPKEEP" restore "$both" --database app --to both.db
[ "$(sqlite3 both.db 'PRAGMA quick_check')" = ok ] || fail "database from the combined backup"
expect_status 0 "$UPKEEP" restore "$both" --files --to both
cmp "$S/uploads/2026/01/video-renamed.bin" "both$S/uploads/2026/01/video-renamed.bin" || fail "files from the combined backup"
expect_status 2 "$UPKEEP" restore "$first" --database app --to wrong.db
expect_contains "$ERR" "holds files only (job 'files')"
# An ad-hoc backup finds its repository among jobs that have no database.
expect_status 0 "$UPKEEP" backup app --dry-run
expect_contains "$OUT" "to repository 'local'"
expect_status 0 "$UPKEEP" backup app --repository offsite --json
expect_status 2 "$UPKEEP" ls "$(jq -r .id <<<"$OUT")"
expect_contains "$ERR" "holds no files, only database 'app' (a job with paths makes backups with files: name it with --job)"
expect_status 0 "$UPKEEP" verify "$both"
expect_contains "$OUT" "files: "
pass "one backup holds the database and its files"

# A file that keeps changing while read is marked, not stored torn silently.
head -c 20000000 /dev/zero > "$S/uploads/growing.log"
( while :; do printf 'x' >> "$S/uploads/growing.log"; sleep 0.002; done ) &
grower=$!
expect_status 0 "$UPKEEP" run files --json
kill "$grower"; wait "$grower" 2>/dev/null || true
[ "$(jq -r '.[0].summary.files_changed' <<<"$OUT")" = 1 ] || fail "the changing file was not reported: $OUT"
[ "$(jq -r '.[0].summary.file_changed_first' <<<"$OUT")" = "$S/uploads/growing.log" ] ||
    fail "the summary does not name the changing file: $OUT"
expect_contains "$ERR" "kept changing while it was read"
expect_status 0 "$UPKEEP" history files --limit 1
expect_contains "$OUT" "1 kept changing while read ($S/uploads/growing.log)"
expect_status 0 "$UPKEEP" ls latest --job files "$S/uploads/growing.log"
expect_contains "$OUT" "(changed while read)"
rm "$S/uploads/growing.log"
pass "a file changing while read is reported and marked"

# Verify reads every file back; a damaged pack fails it.
expect_status 0 "$UPKEEP" verify "$second"
expect_contains "$OUT" "files: 13 entries"
# Copy into an encrypted repository (its own chunking), then restore from there.
expect_status 0 "$UPKEEP" copy "$second" --from local --to offsite
expect_status 0 "$UPKEEP" restore "$second" --repository offsite --files --to copied
cmp "$S/uploads/2026/01/video-renamed.bin" "copied$S/uploads/2026/01/video-renamed.bin" || fail "copy lost file data"
pass "copy rewrites the tree for the target's chunks"

# Retention and garbage collection follow the files: after a prune, the kept backup restores.
RETENTION=$'keep_last = 1\nprune_grace = 0s' conf
expect_status 0 "$UPKEEP" prune --repository local
expect_status 0 "$UPKEEP" prune --repository local
expect_status 0 "$UPKEEP" backups --repository local --json
# Each job is a group of its own; the newest proven backup is kept besides the newest one.
[ "$(jq length <<<"$OUT")" = 3 ] || fail "keep_last = 1 of each job and the newest proven: $OUT"
case "$OUT" in *"$first"*) fail "the first files backup was not pruned" ;; esac
expect_status 0 "$UPKEEP" verify --all --repository local
expect_status 0 "$UPKEEP" restore latest --job files --files --to after-prune
cmp "$S/uploads/2026/01/video-renamed.bin" "after-prune$S/uploads/2026/01/video-renamed.bin" || fail "prune removed file data still needed"
pass "prune keeps what the remaining backups' files need"

# An interrupted restore leaves no half-written file behind.
head -c 150000000 /dev/urandom > "$S/uploads/big.bin"
expect_status 0 "$UPKEEP" run files
stopped=0
for delay in 0.05 0.1 0.2 0.4; do
    rm -rf interrupted
    set +e
    timeout -s TERM "$delay" "$UPKEEP" restore latest --job files --files --to interrupted >/dev/null 2>&1
    rc=$?
    set -e
    [ "$rc" = 124 ] || continue # it finished first
    stopped=$((stopped + 1))
    [ -z "$(find interrupted -name '.upkeep-restore-*' 2>/dev/null)" ] || fail "an interrupted restore left a temporary file"
    [ ! -e "interrupted$S/uploads/big.bin" ] || cmp -s "$S/uploads/big.bin" "interrupted$S/uploads/big.bin" ||
        fail "an interrupted restore left a partial file under its name"
done
[ "$stopped" -gt 0 ] || fail "no restore was stopped midway"
rm "$S/uploads/big.bin"
pass "an interrupted restore leaves no partial file"

# Damage: a flipped byte in a pack holding file data fails verify and restore.
pack=$(ls -S repo/packs/*/* | head -1)
python3 - "$pack" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
b[len(b) // 3] ^= 0xFF
open(p, 'wb').write(bytes(b))
PY
expect_status 1 "$UPKEEP" restore latest --job files --files --to damaged
expect_contains "$ERR" "file /"
pass "damaged file data is found"
