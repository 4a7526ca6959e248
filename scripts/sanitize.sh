#!/usr/bin/env bash
# The core under sanitizers: its GoogleTest suites built with clang,
# AddressSanitizer and UndefinedBehaviorSanitizer (CTest), then each libFuzzer
# target (tests/fuzz) for FUZZ_SECONDS seconds (default 60), both at once,
# from its committed seed corpus. Prints one JSON line per target on stdout
# (everything else goes to stderr) and fails on a failing test, a sanitizer
# finding or a crash; a crashing input is kept in build-sanitize/fuzz-artifacts.
set -euo pipefail
cd "$(dirname "$0")/.."
# clang with its sanitizer and libFuzzer runtimes; llvm for llvm-symbolizer.
scripts/deps.sh clang-14 libclang-rt-14-dev llvm-14 >&2

seconds=${FUZZ_SECONDS:-60}
build=build-sanitize  # one build for both: the core is instrumented once
export ASAN_SYMBOLIZER_PATH=/usr/bin/llvm-symbolizer-14
export UBSAN_OPTIONS=print_stacktrace=1

echo "== core tests under ASan + UBSan" >&2
cmake -S . -B "$build" -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRECSYS_FUZZ=ON >/dev/null
cmake --build "$build" -j2 >/dev/null
(cd "$build" && ctest --output-on-failure -j2) >&2

echo "== fuzzing, ${seconds} s per target" >&2
artifacts=$build/fuzz-artifacts
rm -rf "$artifacts"
# Runs one target; new inputs go to a scratch corpus, the committed seeds
# stay as they are.
fuzz() {
    local target=$1
    shift
    local scratch=$build/fuzz-corpus/$target
    mkdir -p "$scratch" "$artifacts/$target"
    "$build/fuzz_$target" -max_total_time="$seconds" -timeout=60 -print_final_stats=1 \
        -artifact_prefix="$artifacts/$target/" "$@" "$scratch" "tests/fuzz/corpus/$target" \
        >"$build/fuzz_$target.log" 2>&1
}
fuzz model -max_len=4096 &
model=$!
fuzz params -max_len=1024 -dict=tests/fuzz/params.dict &
params=$!
status=0
for target in model params; do
    rc=0
    wait "${!target}" || rc=$?
    log=$build/fuzz_$target.log
    inputs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    crashes=$(find "$artifacts/$target" -type f | wc -l)
    echo "{\"target\": \"fuzz_$target\", \"seconds\": $seconds, \"inputs\": ${inputs:-0}, \"crashes\": $crashes}"
    if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ] || [ -z "$inputs" ]; then
        status=1
        tail -n 60 "$log" >&2
        echo "fuzz_$target failed: see $log and $artifacts/$target" >&2
    fi
done
exit $status
