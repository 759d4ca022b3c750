#!/bin/bash
# Off-site and encrypted backups, side by side in one run on the SIZE_MB database (1 GiB):
#   S3 vs local     upkeep backup to s3:// on loopback  vs  the same to a local folder
#   S3 vs restic    upkeep backup to s3://              vs  restic backup to the same server
#   requests        PUT/GET/HEAD/LIST/DELETE of a second backup after ~1% of rows changed,
#                   upkeep and restic (what S3 bills)
#   encryption      upkeep backup into an aes-256 repository vs a plain one (median of 5)
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

# upkeep's index cache starts empty, like restic's: the first backup pays for both.
export UPKEEP_CACHE_DIR=$work/s3-upkeep-cache
clean() { rm -rf s3-local s3-plain s3-aes state-s3 s3-restic-cache s3-upkeep-cache s3.key app-s3.db*; }
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
# measured CMD...: runs CMD; sets T (seconds), CPU (its user + system seconds) and SERVER_CPU
# (the S3 server's and proxy's, which share this machine's cores)
measured() {
    local before after
    before=$(server_ticks)
    /usr/bin/time -f '%e %U %S' -o time.txt "$@" >/dev/null
    after=$(server_ticks)
    read -r T u s < time.txt
    CPU=$(echo "$u + $s" | bc)
    SERVER_CPU=$(echo "scale=2; ($after - $before) / $(getconf CLK_TCK)" | bc)
}
server_ticks() { echo $(($(awk '{print $14 + $15}' "/proc/$S3_SERVER_PID/stat") + $(awk '{print $14 + $15}' "/proc/$S3_PROXY_PID/stat"))); }
requests() { # the proxy's counts as "PUT n, GET n, ..."
    jq -r '"PUT \(.PUT), GET \(.GET), HEAD \(.HEAD), LIST \(.LIST), DELETE \(.DELETE), POST \(.POST)"' <<<"$(s3_stats)"
}
total_requests() { jq -r '.PUT + .GET + .HEAD + .LIST + .DELETE + .POST' <<<"$(s3_stats)"; }
bucket_size() { dirsize "$S3_DIR/data/$S3_BUCKET/$1"; }

echo "== database: $(mib "$(stat -c %s app-s3.db)") MiB"
echo "== full backup (time; CPU of the backup itself; CPU of the S3 server and proxy meanwhile)"
measured "$UPKEEP" -q backup app --repository local
local_time=$T local_cpu=$CPU
s3_reset
measured "$UPKEEP" -q backup app --repository s3
s3_time=$T s3_cpu=$CPU s3_server=$SERVER_CPU
s3_first=$(requests)
restic -q -r "$restic_repo" init >/dev/null
measured restic -q -r "$restic_repo" backup app-s3.db
restic_time=$T restic_cpu=$CPU restic_server=$SERVER_CPU
printf '  upkeep to a local folder: %6.2f s  CPU %5.2f s                 %8s MiB\n' "$local_time" "$local_cpu" "$(mib "$(dirsize s3-local)")"
printf '  upkeep to S3:             %6.2f s  CPU %5.2f s  server %5.2f s  %8s MiB  (%s)\n' "$s3_time" "$s3_cpu" "$s3_server" "$(mib "$(bucket_size upkeep)")" "$s3_first"
printf '  restic to S3:             %6.2f s  CPU %5.2f s  server %5.2f s  %8s MiB\n' "$restic_time" "$restic_cpu" "$restic_server" "$(mib "$(bucket_size restic)")"
printf '  ratio S3/local: time %s (target <= 1.2), CPU %s\n' "$(ratio "$s3_time" "$local_time")" "$(ratio "$s3_cpu" "$local_cpu")"
printf '  ratio upkeep/restic: time %s (target <= 0.5), CPU %s\n' "$(ratio "$s3_time" "$restic_time")" "$(ratio "$s3_cpu" "$restic_cpu")"
printf '  (%s cores; the server and proxy run on the same ones)\n' "$(nproc)"

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

echo "== encryption: aes-256 vs plain, local folder, median of 5 alternating full backups"
plain=() aes=() plain_cpu=() aes_cpu=()
for i in 1 2 3 4 5; do
    rm -rf s3-plain s3-aes
    measured "$UPKEEP" -q backup app --repository plain
    plain+=("$T") plain_cpu+=("$CPU")
    measured "$UPKEEP" -q backup app --repository aes
    aes+=("$T") aes_cpu+=("$CPU")
done
median() { printf '%s\n' "$@" | sort -n | sed -n 3p; }
p=$(median "${plain[@]}") a=$(median "${aes[@]}")
pc=$(median "${plain_cpu[@]}") ac=$(median "${aes_cpu[@]}")
printf '  plain: %6.2f s  CPU %5.2f s  %8s MiB   (runs: %s)\n' "$p" "$pc" "$(mib "$(dirsize s3-plain)")" "${plain[*]}"
printf '  aes:   %6.2f s  CPU %5.2f s  %8s MiB   (runs: %s)\n' "$a" "$ac" "$(mib "$(dirsize s3-aes)")" "${aes[*]}"
printf '  ratio aes/plain: time %s (target <= 1.05), CPU %s\n' "$(ratio "$a" "$p")" "$(ratio "$ac" "$pc")"
grep -q aes /proc/cpuinfo && echo "  (this CPU has AES-NI)" || echo "  (this CPU has no AES-NI)"
clean
rm -f upkeep.conf time.txt
