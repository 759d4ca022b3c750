#!/bin/bash
# Encrypted repositories: everything but key objects sealed (no plaintext of the database in
# any object); a wrong key, a flipped byte or a swapped object is a clear error naming the
# object, and nothing is written; key files and passphrases (files or UPKEEP_PASSPHRASE),
# adding and removing keys (never the last); write-only hosts (public-key) that back up but
# cannot read, whose health learns the proofs another host stored; secrets in no log, state or
# process list.
source "$(dirname "$0")/lib.sh"
"$GENDB" app.db --size-mb 4 >/dev/null
sqlite3 app.db "CREATE TABLE secrets(v TEXT); INSERT INTO secrets VALUES ('the-plaintext-marker-$RANDOM$RANDOM')"
marker=$(sqlite3 app.db "SELECT v FROM secrets")
conf() { # conf ENCRYPTION KEY_LINE [REPO]
    cat > upkeep.conf <<CONF
[upkeep]
state = state/state.db
[database app]
url = sqlite://app.db
[repository sealed]
url = file://${3:-repo}
compression = none
encryption = $1
$2
CONF
}

expect_status 0 "$UPKEEP" key generate repo.key
[ "$(stat -c %a repo.key)" = 600 ] && [ "$(stat -c %s repo.key)" = 32 ] || fail "the key file is not 32 bytes, mode 600"
expect_status 1 "$UPKEEP" key generate repo.key
expect_contains "$ERR" "'repo.key' exists already: a key file is never replaced"
conf aes-256 "key_file = repo.key"
expect_status 0 "$UPKEEP" backup app --json
first=$(jq -r .id <<<"$OUT")
expect_status 0 "$UPKEEP" verify "$first"
expect_status 0 "$UPKEEP" restore latest --database app --to restored.db
[ "$(sqlite3 restored.db "SELECT v FROM secrets")" = "$marker" ] || fail "the restore is not the database"
for f in repo/config repo/snapshots/* repo/index/*; do
    [ "$(head -c 7 "$f")" = UKSEAL1 ] || fail "'$f' is not sealed"
done
if grep -rqa -- "$marker" repo; then fail "the database's plaintext is in the repository"; fi
# The same database in a plain repository, uncompressed, shows the marker: the check above
# can fail.
printf '[upkeep]\nstate = plain-state/state.db\n[database app]\nurl = sqlite://app.db\n[repository plain]\nurl = file://plain\ncompression = none\n' > plain.conf
expect_status 0 "$UPKEEP" -c plain.conf backup app
grep -rqa -- "$marker" plain || fail "the control repository does not show the marker"
pass "an aes-256 repository seals every object; nothing of the database is readable in it"

# A wrong key: a clear error, nothing written.
before=$(find repo -type f | sort | md5sum)
"$UPKEEP" key generate other.key >/dev/null
conf aes-256 "key_file = other.key"
expect_status 2 "$UPKEEP" backup app
expect_contains "$ERR" "repository 'sealed': the key file 'other.key' opens none of its 1 keys (wrong key or passphrase)"
[ "$(find repo -type f | sort | md5sum)" = "$before" ] || fail "a refused backup wrote into the repository"
conf aes-256 ""
expect_status 2 "$UPKEEP" backups
expect_contains "$ERR" "repository 'sealed' is encrypted: give key_file or passphrase_file, or set UPKEEP_PASSPHRASE"
conf none "key_file = repo.key"
expect_status 2 "$UPKEEP" backups
expect_contains "$ERR" "repository 'sealed' has encryption aes-256, its section says encryption = none"
chmod 640 repo.key
conf aes-256 "key_file = repo.key"
expect_status 2 "$UPKEEP" backups
expect_contains "$ERR" "key file 'repo.key' is readable by group or others (mode 640): chmod 600 it"
chmod 600 repo.key
pass "a wrong, missing or exposed key is a clear error, and nothing is written"

# Damage: a flipped byte in a pack, a manifest swapped for another's, a flipped byte in a
# manifest: each named, nothing restored.
"$GENDB" app.db --mutate 5 --seed 2 >/dev/null
expect_status 0 "$UPKEEP" backup app --json
second=$(jq -r .id <<<"$OUT")
cp "repo/snapshots/$second" second.manifest
cp "repo/snapshots/$first" "repo/snapshots/$second"
expect_status 1 "$UPKEEP" verify "$second"
expect_contains "$OUT$ERR" "'snapshots/$second' fails authentication (damaged, put there in place of another object, or not this repository's)"
cp second.manifest "repo/snapshots/$second"
printf '\x01' | dd of="repo/snapshots/$second" bs=1 seek=30 conv=notrunc status=none
expect_status 1 "$UPKEEP" verify "$second"
expect_contains "$OUT$ERR" "'snapshots/$second' fails authentication"
cp second.manifest "repo/snapshots/$second"
pack=$(ls -S repo/packs/*/* | head -1)
cp "$pack" pack.saved
size=$(stat -c %s "$pack")
printf '\x01' | dd of="$pack" bs=1 seek=$((size / 2)) conv=notrunc status=none
expect_status 1 "$UPKEEP" verify --all
expect_contains "$OUT$ERR" "fails authentication"
expect_status 1 "$UPKEEP" restore "$first" --database app --to damaged.db
[ ! -e damaged.db ] || fail "a damaged backup was restored"
cp pack.saved "$pack"
expect_status 0 "$UPKEEP" verify --all
pass "a flipped byte or a swapped object is refused and named; nothing is restored"

# Passphrases: a key for a passphrase file, then UPKEEP_PASSPHRASE; the key file's key removed;
# the last full key is never removed.
printf 'correct horse battery staple\n' > pass.txt
chmod 600 pass.txt
expect_status 0 "$UPKEEP" key add --new-passphrase-file pass.txt
expect_status 0 "$UPKEEP" key list --json
[ "$(jq length <<<"$OUT")" = 2 ] || fail "two keys expected: $OUT"
file_key=$(jq -r '.[] | select(.current) | .id' <<<"$OUT")
pass_key=$(jq -r '.[] | select(.current | not) | .id' <<<"$OUT")
conf aes-256 "passphrase_file = pass.txt"
expect_status 0 "$UPKEEP" backups
conf aes-256 ""
UPKEEP_PASSPHRASE='correct horse battery staple' expect_status 0 "$UPKEEP" key remove "$file_key"
UPKEEP_PASSPHRASE='correct horse battery staple' expect_status 2 "$UPKEEP" key remove "$pass_key"
expect_contains "$ERR" "is the last full key of repository 'sealed'"
conf aes-256 "key_file = repo.key"
expect_status 2 "$UPKEEP" backups
expect_contains "$ERR" "opens none of its 1 keys"
conf aes-256 ""
UPKEEP_PASSPHRASE='wrong horse' expect_status 2 "$UPKEEP" backups
expect_contains "$ERR" "the UPKEEP_PASSPHRASE opens none of its 1 keys (wrong key or passphrase)"
UPKEEP_PASSPHRASE='correct horse battery staple' "$UPKEEP" -v backup app > verbose.log 2>&1 ||
    fail "backup with UPKEEP_PASSPHRASE failed: $(cat verbose.log)"
if grep -rqa "correct horse" verbose.log state repo; then fail "the passphrase is logged or stored"; fi
pass "passphrases (file or UPKEEP_PASSPHRASE) rotate by adding and removing keys; the last stays"

# Public-key repositories: an application host with a write-only key writes backups it cannot
# read; the host with the full key verifies them, and the application host's health learns it.
rm -rf pk state
conf public-key "key_file = repo.key" pk
expect_status 0 "$UPKEEP" backup app
"$UPKEEP" key generate app-host.key >/dev/null
expect_status 0 "$UPKEEP" key add --new-key-file app-host.key --write-only
expect_contains "$OUT" "added write-only key"
sed 's|^key_file = repo.key|key_file = app-host.key|; s|state/state.db|app-state/state.db|' upkeep.conf > app-host.conf
"$GENDB" app.db --mutate 5 --seed 3 >/dev/null
expect_status 0 "$UPKEEP" -c app-host.conf backup app --json
written=$(jq -r .id <<<"$OUT")
[ "$(jq -r .chunks_reused <<<"$OUT")" -gt 0 ] || fail "the write-only host does not deduplicate: $OUT"
expect_status 2 "$UPKEEP" -c app-host.conf restore latest --database app --to nope.db
expect_contains "$ERR" "this host's key is write-only: it writes backups but cannot read them"
expect_status 1 "$UPKEEP" -c app-host.conf verify "$written"
expect_contains "$OUT" "this host's key is write-only"
expect_status 2 "$UPKEEP" -c app-host.conf prune
expect_contains "$ERR" "prune where a full key is"
expect_status 2 "$UPKEEP" -c app-host.conf key add --new-key-file app-host.key
expect_contains "$ERR" "a write-only key cannot add keys"
expect_status 0 "$UPKEEP" verify "$written"
expect_status 0 "$UPKEEP" -c app-host.conf backups --json
[ "$(jq -r --arg id "$written" '.[] | select(.id == $id) | .verify_result' <<<"$OUT")" = ok ] ||
    fail "the write-only host does not see the proof: $OUT"
expect_status 0 "$UPKEEP" restore "$written" --database app --to from-app-host.db
[ "$(sqlite3 from-app-host.db 'PRAGMA integrity_check')" = ok ] || fail "the write-only host's backup does not restore"
pass "a write-only host backs up what it cannot read; the full key's host proves it and the proof is shared"

# Copies between repositories with keys of their own: the chunks are named anew.
printf '[repository other]\nurl = file://other\nencryption = aes-256\npassphrase_file = pass.txt\n' >> upkeep.conf
expect_status 0 "$UPKEEP" copy "$written" --from sealed --to other
expect_status 0 "$UPKEEP" verify "$written" --repository other
pass "a backup copies between repositories with different keys"

# Prune on an encrypted repository: retention, marking and deleting, copying the live chunks
# of sparse packs into new sealed packs; what stays verifies.
sed -i 's/^encryption = aes-256$/&\nkeep_last = 1\nprune_grace = 0s/' upkeep.conf
"$GENDB" app.db --mutate 60 --seed 4 >/dev/null
expect_status 0 "$UPKEEP" backup app --repository other --json
expect_status 0 "$UPKEEP" verify "$(jq -r .id <<<"$OUT")" --repository other # the newest proven
expect_status 0 "$UPKEEP" prune --repository other --json
[ "$(jq '.[0].packs_removed + .[0].packs_repacked' <<<"$OUT")" -gt 0 ] || fail "prune collected nothing: $OUT"
expect_status 0 "$UPKEEP" verify --all --repository other
pass "prune collects and repacks in an encrypted repository"
