#!/bin/bash
# S3 repositories against a real S3 server that checks every request's signature (s3rver
# behind test/services/s3proxy.js): backup, verify, restore and prune through s3://; the
# credentials' order (config, environment, shared credentials file and profile); a wrong
# secret; a server that fails for a while, drops connections or is slow (retried, the
# backup completes), or keeps failing (the backup fails cleanly and no manifest names a
# missing object); multipart uploads; secrets in no log, state or repository.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/../services/s3.sh"
s3_up
"$GENDB" app.db --size-mb 8 >/dev/null
cat > upkeep.conf <<CONF
[upkeep]
state = state/state.db
[database app]
url = sqlite://app.db
[repository offsite]
url = s3://$S3_BUCKET/hosts/app
endpoint = $S3_ENDPOINT
region = $S3_REGION
retry_for = 20s
keep_last = 2
CONF
export AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY
rejections() { jq -r .rejected <<<"$(s3_stats)"; }

expect_status 0 "$UPKEEP" backup app --json
first=$(jq -r .id <<<"$OUT")
expect_status 0 "$UPKEEP" verify "$first"
expect_contains "$OUT" "ok"
expect_status 0 "$UPKEEP" restore latest --database app --to restored.db
[ "$(sqlite3 restored.db 'SELECT count(*) FROM forms')" = "$(sqlite3 app.db 'SELECT count(*) FROM forms')" ] ||
    fail "the restored database differs"
expect_status 0 "$UPKEEP" backups --json
[ "$(jq -r '.[0].repository' <<<"$OUT")" = offsite ] || fail "backups does not list the S3 backup: $OUT"
[ "$(rejections)" = 0 ] || fail "the server rejected $(rejections) requests: $(grep REJECT "$S3_PROXY_LOG" | head -3)"
pass "backup, verify, restore and listing through s3://, every request signed"

# Files go to S3 the same way: a second backup reuses the unchanged ones, restore checks all.
mkdir -p up/sub
head -c 300000 /dev/urandom > up/sub/photo.jpg
echo "KEY=1" > up/.env
sed "s|hosts/app|hosts/files|; s|^keep_last = 2\$||" upkeep.conf > files.conf
printf '[job uploads]\ntask = backup\npaths = %s/up\nrepository = offsite\n' "$SCRATCH" >> files.conf
expect_status 0 "$UPKEEP" -c files.conf run uploads
echo "KEY=2" > up/.env
expect_status 0 "$UPKEEP" -c files.conf run uploads --json
[ "$(jq -r '.[0].summary.files_unchanged' <<<"$OUT")" = 1 ] || fail "files on S3: $OUT"
expect_status 0 "$UPKEEP" -c files.conf restore latest --job uploads --files --to up-restored
cmp up/sub/photo.jpg "up-restored$SCRATCH/up/sub/photo.jpg" && [ "$(cat "up-restored$SCRATCH/up/.env")" = KEY=2 ] ||
    fail "files restored from S3 differ"
[ "$(rejections)" = 0 ] || fail "the server rejected $(rejections) requests"
pass "files back up to and restore from s3://"

# Pack indexes are kept in a local cache: a backup learns what the repository holds from one
# listing, without a GET per pack; a damaged copy is read again; without the cache, the GETs
# come back. (Each backup also reads every manifest's header: one GET more each time.)
gets() { s3_reset; expect_status 0 "$UPKEEP" backup app; jq -r .GET <<<"$(s3_stats)"; }
[ -n "$(ls "$UPKEEP_CACHE_DIR"/*/index)" ] || fail "no index was cached"
before=$(gets)
cached=$(gets)
step=$((cached - before))
first_index=$(ls "$UPKEEP_CACHE_DIR"/*/index/* | head -1)
printf 'not an index' > "$first_index"
damaged=$(gets)
[ "$damaged" = $((cached + step + 1)) ] || fail "a damaged cached index: $damaged GETs, expected $((cached + step + 1))"
rm -rf "$UPKEEP_CACHE_DIR"
uncached=$(gets)
n_indexes=$(ls "$UPKEEP_CACHE_DIR"/*/index | wc -l)
[ "$uncached" = $((cached + 2 * step + n_indexes)) ] ||
    fail "GETs with the cache $cached (then +$step a backup), without $uncached, indexes $n_indexes"
pass "pack indexes come from the local cache (a GET each without it), a damaged copy is read again"

# The secret is in no log, state database or object, and not in upkeep's arguments.
"$UPKEEP" -v backup app >verbose.log 2>&1
grep -q "s3 credentials from the environment" verbose.log || fail "the credentials' source is not logged: $(cat verbose.log)"
if grep -rqa -- "$S3_SECRET_KEY" verbose.log state upkeep.conf; then fail "the secret is stored or logged"; fi
if curl -s "$S3_ENDPOINT/__upkeep/stats" >/dev/null && grep -rqa -- "$S3_SECRET_KEY" "$S3_DIR/data"; then
    fail "the secret is in an object"
fi
pass "the secret appears in no log, state or object"

# The order of credentials: the config's keys first, then the environment, then the shared
# credentials file's profile.
printf 'access_key_id = %s\nsecret_access_key = wrong-secret\n' "$S3_ACCESS_KEY" >> upkeep.conf
expect_status 1 "$UPKEEP" backups
expect_contains "$ERR" "403 SignatureDoesNotMatch"
if grep -q wrong-secret <<<"$ERR$OUT"; then fail "the secret is in the message"; fi
sed -i '/^access_key_id\|^secret_access_key/d' upkeep.conf
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
mkdir -p home/.aws
printf '[default]\naws_access_key_id = nobody\naws_secret_access_key = x\n[backups]\naws_access_key_id = %s\naws_secret_access_key = %s\n' \
    "$S3_ACCESS_KEY" "$S3_SECRET_KEY" > home/.aws/credentials
HOME=$PWD/home expect_status 1 "$UPKEEP" backups
expect_contains "$ERR" "403"
HOME=$PWD/home AWS_PROFILE=backups expect_status 0 "$UPKEEP" backups
printf 'profile = backups\n' >> upkeep.conf
HOME=$PWD/home expect_status 0 "$UPKEEP" backups
HOME=$PWD/nowhere expect_status 2 "$UPKEEP" backups
expect_contains "$ERR" "no S3 credentials: give access_key_id and secret_access_key, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or profile [backups] in '$PWD/nowhere/.aws/credentials' (no such file)"
export AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY
pass "credentials come from the config, the environment, then the credentials file's profile"

# A server that fails for a while (503), drops connections or answers slowly: requests are
# tried again and the backup completes.
"$GENDB" app.db --mutate 2 --seed 3 >/dev/null
s3_fault status=503 count=4
s3_fault drop=2
s3_fault delay_ms=1500 count=2
expect_status 0 "$UPKEEP" backup app --json
faulted=$(jq -r .id <<<"$OUT")
[ "$(jq -r .faults <<<"$(s3_stats)")" -ge 8 ] || fail "the faults were not all met: $(s3_stats)"
expect_status 0 "$UPKEEP" verify "$faulted"
pass "failures that pass are tried again with growing waits: the backup completes"

# A server that keeps failing: the backup fails within retry_for, says why, and the
# repository holds no manifest of it (the backups before it still verify).
sed -i 's/^retry_for = .*/retry_for = 2s/' upkeep.conf
n_before=$("$UPKEEP" backups --json | jq length)
"$GENDB" app.db --mutate 2 --seed 4 >/dev/null
s3_fault status=500 count=100000
expect_status 1 "$UPKEEP" backup app
expect_contains "$ERR" "InternalError"
expect_contains "$ERR" "still failing after"
s3_reset
[ "$("$UPKEEP" backups --json | jq length)" = "$n_before" ] || fail "a failed backup left a manifest"
expect_status 0 "$UPKEEP" verify --all
pass "a server that keeps failing fails the backup cleanly: no manifest, the others verify"

# Large objects go up in parts (here above 1 MiB instead of 32 MiB); a failed part aborts
# the upload and nothing of it is visible.
sed -i 's/^retry_for = .*/retry_for = 20s/' upkeep.conf
"$GENDB" app.db --mutate 30 --seed 5 >/dev/null
UPKEEP_S3_PUT_WHOLE_MAX=1048576 expect_status 0 "$UPKEEP" backup app --json
multi=$(jq -r .id <<<"$OUT")
[ "$(jq -r .POST <<<"$(s3_stats)")" -ge 2 ] || fail "no multipart upload was made: $(s3_stats)"
expect_status 0 "$UPKEEP" verify "$multi"
expect_status 0 "$UPKEEP" restore "$multi" --database app --to multi.db
[ "$(sqlite3 multi.db 'PRAGMA integrity_check')" = ok ] || fail "the multipart backup does not restore"
pass "objects above the limit go up as multipart uploads and restore"

# Prune applies keep_last = 2 on S3 too and deletes what no backup needs.
expect_status 0 "$UPKEEP" prune --json
[ "$(jq -r '.[0].removed' <<<"$OUT")" -ge 1 ] || fail "prune removed nothing: $OUT"
[ "$("$UPKEEP" backups --json | jq length)" = 2 ] || fail "prune did not keep 2"
expect_status 0 "$UPKEEP" verify --all
[ "$(rejections)" = 0 ] || fail "the server rejected requests: $(grep REJECT "$S3_PROXY_LOG" | head -3)"
pass "prune on S3 keeps the newest two and everything they need"

# A job with two repositories: the backup goes to the first, then is copied to the second,
# which stores only the chunks it lacks. A copy that fails fails the run (the backup is kept
# in the first and health names the repository behind); the next run copies what is missing.
cat >> upkeep.conf <<CONF
[repository local]
url = file://local-repo
[job nightly]
task = backup
database = app
repository = local, offsite
CONF
sed -i 's/^retry_for = .*/retry_for = 2s/' upkeep.conf
expect_status 0 "$UPKEEP" run nightly --json
[ "$(jq -r '.[0].summary.copies[0].copied' <<<"$OUT")" = 1 ] || fail "the backup was not copied: $OUT"
id=$(jq -r '.[0].summary.backup_id' <<<"$OUT")
expect_status 0 "$UPKEEP" verify "$id" --repository offsite
"$GENDB" app.db --mutate 1 --seed 6 >/dev/null
s3_fault status=500 count=100000
expect_status 1 "$UPKEEP" run nightly
expect_contains "$OUT$ERR" "is stored in 'local', but copying to 'offsite' failed: "
s3_reset
[ "$(ls local-repo/snapshots | wc -l)" = 2 ] || fail "the backup is not in the first repository"
expect_status 2 "$UPKEEP" health --json
[ "$(jq -r '.checks[] | select(.check == "job" and .subject == "nightly") | .status' <<<"$OUT")" = CRITICAL ] ||
    fail "health does not show the failed copy: $OUT"
[ "$(jq -r '[.checks[] | select(.check == "repository_backup_age")] | length' <<<"$OUT")" = 2 ] ||
    fail "health does not show each repository's newest backup: $OUT"
"$GENDB" app.db --mutate 1 --seed 7 >/dev/null
expect_status 0 "$UPKEEP" run nightly --json
[ "$(jq -r '.[0].summary.copies[0].copied' <<<"$OUT")" = 2 ] || fail "the missed copy was not made: $OUT"
second_copy=$(jq -r '.[0].summary.copies[0].bytes_stored' <<<"$OUT")
image=$(jq -r '.[0].summary.image_bytes' <<<"$OUT")
[ "$second_copy" -lt $((image / 10)) ] || fail "two copies stored $second_copy bytes of a $image-byte image"
expect_status 0 "$UPKEEP" verify --all --repository offsite
pass "a job with two repositories copies each backup, catching up after a failed copy"

# By hand: upkeep copy.
sed -i 's/^\[job nightly\]/[repository other]\nurl = file:\/\/other-repo\n&/' upkeep.conf
expect_status 0 "$UPKEEP" copy latest --from offsite --to other --json
[ "$(jq -r '.[0].copied' <<<"$OUT")" = true ] || fail "copy did not copy: $OUT"
expect_status 0 "$UPKEEP" copy latest --from offsite --to other --json
[ "$(jq -r '.[0].copied' <<<"$OUT")" = false ] || fail "a second copy copied again: $OUT"
expect_status 0 "$UPKEEP" copy --from local --to other
expect_contains "$OUT" "copied 2 backups from 'local' to 'other'"
expect_status 0 "$UPKEEP" verify --all --repository other
pass "upkeep copy copies one backup or every missing one, and never twice"

# An encrypted repository on S3.
printf 'vault-passphrase\n' > vault.pass
chmod 600 vault.pass
sed -i 's/^\[job nightly\]/[repository vault]\nurl = s3:\/\/'"$S3_BUCKET"'\/vault\nendpoint = '"${S3_ENDPOINT//\//\\/}"'\nencryption = aes-256\npassphrase_file = vault.pass\n&/' upkeep.conf
expect_status 0 "$UPKEEP" backup app --repository vault --json
sealed_id=$(jq -r .id <<<"$OUT")
expect_status 0 "$UPKEEP" verify "$sealed_id" --repository vault
expect_status 0 "$UPKEEP" restore "$sealed_id" --database app --repository vault --to vault.db
[ "$(sqlite3 vault.db 'PRAGMA integrity_check')" = ok ] || fail "the encrypted S3 backup does not restore"
[ "$(rejections)" = 0 ] || fail "the server rejected requests: $(grep REJECT "$S3_PROXY_LOG" | head -3)"
pass "an encrypted repository on S3 backs up, verifies and restores"
