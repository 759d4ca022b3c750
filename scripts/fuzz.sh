#!/bin/sh
# Builds the libFuzzer targets (clang, AddressSanitizer and UndefinedBehaviorSanitizer) in
# build-fuzz/ and runs each for SECONDS (default 60) on a copy of its seed corpus, so the
# corpus in the tree stays as committed. Exit status 1 when any target found a crash; its
# reproducer is left in build-fuzz/findings/. See docs/fuzzing.md.
set -eu
cd "$(dirname "$0")/.."
seconds=${1:-60}
build=build-fuzz
if [ ! -f "$build/build.ninja" ]; then
    CC=clang meson setup "$build" -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false \
        -Dbuildtype=debugoptimized -Dc_args=-fsanitize=fuzzer-no-link >/dev/null
fi
targets="config cron manifest pack_index pack_trailer tree_entry"
# shellcheck disable=SC2046 # one argument per target
ninja -C "$build" $(for t in $targets; do echo "test/fuzz/fuzz_$t"; done) >"$build/ninja.log" 2>&1 ||
    { cat "$build/ninja.log"; exit 1; }
mkdir -p "$build/findings"
status=0
for target in $targets; do
    work="$build/corpus/$target"
    rm -rf "$work" && mkdir -p "$work" && cp test/fuzz/corpus/$target/* "$work/"
    if UBSAN_OPTIONS=halt_on_error=1 "$build/test/fuzz/fuzz_$target" "$work" \
        -max_total_time="$seconds" -max_len=65536 -timeout=10 \
        -artifact_prefix="$build/findings/$target-" >"$build/fuzz_$target.log" 2>&1; then
        runs=$(grep -o 'Done [0-9]* runs' "$build/fuzz_$target.log" | awk '{print $2}')
        echo "fuzz $target: ok (${runs:-?} inputs in ${seconds} s)"
    else
        echo "fuzz $target: FAILED (see $build/fuzz_$target.log and $build/findings/)"
        tail -30 "$build/fuzz_$target.log"
        status=1
    fi
done
exit $status
