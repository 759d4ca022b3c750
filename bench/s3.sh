#!/bin/bash
# Off-site and encrypted backups, side by side in one run on the SIZE_MB database (1 GiB):
#   S3 vs local     upkeep backup to s3:// on loopback  vs  the same to a local folder
#   S3 vs restic    upkeep backup to s3://              vs  restic backup to the same server
#   requests        PUT/GET/HEAD/LIST/DELETE of a second backup after ~1% of rows changed,
#                   upkeep and restic (what S3 bills)
#   encryption      upkeep backup into an aes-256 repository vs a plain one (median of 3)
# The S3 server is the tests' own: s3rver behind test/services/s3proxy.js, which checks every
# request's signature and counts requests.
# Usage: bench/s3.sh [BUILD]
set -euo pipefail
source "$(dirname "$0")/lib.sh" "${1:-build}"
source "$top/test/services/s3.sh"
s3_up
export AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY
export RESTIC_PASSWORD=bench RESTIC_CACHE_DIR=$work/s3-restic-cache
restic_repo=s3:$S3_ENDPOINT/$S3_BUCKET/restic

clean() { rm -rf s3-local s3-plain s3-aes state-s3 s3-restic-cache s3.key app-s3.db*; }
clean
cp "$(db "$SIZE_MB")" app-s3.db
cat app-s3.db >/dev/null
head -c 32 /dev/urandom > s3.key && chmod 600 s3.key
cat > upkeep.conf <<CONF
[upkeep]
state = state-s3/state.db
[database app]
url = sqlite://$work/app-s3.db
[repository local]
url = file://$work/s3-local
[repository s3]
url = s3://$S3_BUCKET/upkeep
endpoint = $S3_ENDPOINT
region = $S3_REGION
[repository plain]
url = file://$work/s3-plain
[repository aes]
url = file://$work/s3-aes
encryption = aes-256
key_file = $work/s3.key
CONF

timed() { local t; t=$(now); "$@" >/dev/null; elapsed "$t"; }
requests() { # the proxy's counts as "PUT n, GET n, ..."
    jq -r '"PUT \(.PUT), GET \(.GET), HEAD \(.HEAD), LIST \(.LIST), DELETE \(.DELETE), POST \(.POST)"' <<<"$(s3_stats)"
}
total_requests() { jq -r '.PUT + .GET + .HEAD + .LIST + .DELETE + .POST' <<<"$(s3_stats)"; }
bucket_size() { dirsize "$S3_DIR/data/$S3_BUCKET/$1"; }

echo "== database: $(mib "$(stat -c %s app-s3.db)") MiB"
echo "== full backup"
local_time=$(timed "$UPKEEP" -q backup app --repository local)
s3_reset
s3_time=$(timed "$UPKEEP" -q backup app --repository s3)
s3_first=$(requests)
restic_time=$(timed restic -q -r "$restic_repo" init)
restic_time=$(timed restic -q -r "$restic_repo" backup app-s3.db)
printf '  upkeep to a local folder: %6.2f s  %8s MiB\n' "$local_time" "$(mib "$(dirsize s3-local)")"
printf '  upkeep to S3:             %6.2f s  %8s MiB  (%s)\n' "$s3_time" "$(mib "$(bucket_size upkeep)")" "$s3_first"
printf '  restic to S3:             %6.2f s  %8s MiB\n' "$restic_time" "$(mib "$(bucket_size restic)")"
printf '  ratio S3/local %s (target <= 1.2), upkeep/restic %s (target <= 0.5)\n' \
    "$(ratio "$s3_time" "$local_time")" "$(ratio "$s3_time" "$restic_time")"

echo "== second backup after ~1% of rows changed: requests"
"$GENDB" app-s3.db --mutate 1 --seed 43 >/dev/null
s3_reset
up2_time=$(timed "$UPKEEP" -q backup app --repository s3)
up2=$(requests)
up2_total=$(total_requests)
s3_reset
restic2_time=$(timed restic -q -r "$restic_repo" backup app-s3.db)
restic2=$(requests)
restic2_total=$(total_requests)
printf '  upkeep: %6.2f s  %4s requests (%s)\n' "$up2_time" "$up2_total" "$up2"
printf '  restic: %6.2f s  %4s requests (%s)\n' "$restic2_time" "$restic2_total" "$restic2"

echo "== encryption: aes-256 vs plain, local folder, median of 3 full backups"
plain=() aes=()
for i in 1 2 3; do
    rm -rf s3-plain s3-aes
    plain+=("$(timed "$UPKEEP" -q backup app --repository plain)")
    aes+=("$(timed "$UPKEEP" -q backup app --repository aes)")
done
median() { printf '%s\n' "$@" | sort -n | sed -n 2p; }
p=$(median "${plain[@]}") a=$(median "${aes[@]}")
printf '  plain: %6.2f s  %8s MiB   (runs: %s)\n' "$p" "$(mib "$(dirsize s3-plain)")" "${plain[*]}"
printf '  aes:   %6.2f s  %8s MiB   (runs: %s)\n' "$a" "$(mib "$(dirsize s3-aes)")" "${aes[*]}"
printf '  ratio aes/plain %s (target <= 1.05)\n' "$(ratio "$a" "$p")"
grep -q aes /proc/cpuinfo && echo "  (this CPU has AES-NI)" || echo "  (this CPU has no AES-NI)"
clean
rm -f upkeep.conf
