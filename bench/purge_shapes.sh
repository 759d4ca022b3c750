# Shared by the server engines' purge benchmarks (bench/pg_purge.sh, bench/my_purge.sh): for
# each shape of data, side by side on fresh copies of one generated database, a single DELETE
# of the candidates and `upkeep run purge`, each beside upkeep-writer committing 500 tx/s,
# with the writer's worst commit and upkeep's throughput relative to the DELETE. The last
# line gives the worst over all shapes: the promise is a worst commit <= 50 ms and a
# throughput >= 0.75 of the DELETE's on every shape.
# Each upkeep purge runs RUNS times (default 3): the median shows the design, the maximum the
# worst. ONLY=NAME runs one shape.
#
# The engine's script defines, then sources this file:
#   engine               its name, for the last line
#   shapes               "NAME TYPE ROW_BYTES ROWS ORDER [KEY]" lines; TYPE is the engine's
#                        timestamp type or bigint (Unix seconds), ORDER scattered or clustered,
#                        KEY bigint (default) or uuid
#   make_shape BASE TYPE ROW_BYTES ROWS ORDER KEY   database BASE with table t, $candidates
#                        rows older than $cutoff_s, and table seq for the writer
#   fresh BASE           database s: a copy of BASE
#   sql DB QUERY         runs QUERY in DB, prints the values
#   drop_shape BASE      drops s and BASE
#   writer_url           upkeep-writer's URL of database s
# and has written upkeep.conf with job purge on database s.
candidates=50000
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
maximum() { printf '%s\n' "$@" | sort -g | tail -1; }
writer_start() { rm -f stop; "$WRITER" "$writer_url" --rate 500 --seconds 600 --stop-file stop > writer.json & wpid=$!; sleep 1; }
writer_stop() { sleep 0.5; touch stop; wait $wpid; rm -f stop; stall=$(sed -n 's/.*"max_ms":\([0-9.]*\).*/\1/p' writer.json); }
worst_stall=0 worst_ratio=99
for spec in "${shapes[@]}"; do
    read -r name type bytes rows order key <<< "$spec"
    [ -n "${ONLY:-}" ] && [ "$ONLY" != "$name" ] && continue
    base=shape_${name//-/_}
    make_shape "$base" "$type" "$bytes" "$rows" "$order" "${key:-bigint}"
    cond="deleted_at < $cutoff_s"
    [ "$type" != bigint ] && cond="deleted_at < $(timestamp_of "$cutoff_s")"
    count=$(sql "$base" "SELECT count(*) FROM t WHERE $cond")
    fresh "$base"; writer_start
    t=$(now); sql s "DELETE FROM t WHERE $cond" >/dev/null; single=$(elapsed "$t")
    writer_stop; delete_stall=$stall
    stalls=() times=()
    for run in $(seq 1 "${RUNS:-3}"); do
        fresh "$base"; rm -rf state; writer_start
        t=$(now); "$UPKEEP" -q run purge; up=$(elapsed "$t")
        writer_stop
        left=$(sql s "SELECT count(*) FROM t WHERE $cond")
        [ "$left" = 0 ] || echo "  $left candidates LEFT after run $run"
        stalls+=("$stall") times+=("$up")
    done
    up=$(median "${times[@]}") stall=$(maximum "${stalls[@]}")
    ratio=$(echo "$single / $up" | bc -l)
    printf '== %-28s %6s candidates of %6s rows: DELETE %5.2f s (stall %6.1f ms) | upkeep %5.2f s (median), %.2fx; stall median %5.1f ms, max %5.1f ms\n' \
        "$name" "$count" "$rows" "$single" "$delete_stall" "$up" "$ratio" "$(median "${stalls[@]}")" "$stall"
    worst_stall=$(echo "if ($stall > $worst_stall) $stall else $worst_stall" | bc -l)
    worst_ratio=$(echo "if ($ratio < $worst_ratio) $ratio else $worst_ratio" | bc -l)
    drop_shape "$base"
done
printf 'worst over all shapes: upkeep purge on %s: stall %.1f ms (target <= 50), throughput %.2fx one DELETE (target >= 0.75)\n' \
    "$engine" "$worst_stall" "$worst_ratio"
