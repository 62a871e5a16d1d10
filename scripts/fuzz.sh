#!/usr/bin/env bash
# Runs every cargo-fuzz target of tern-wire for a fixed time each, on the stable toolchain.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# SECONDS per target (default 30); TARGETs default to all of `cargo fuzz list`. Builds all
# targets once (release, debug assertions, no sanitizer: `-s none` works on stable), seeds
# fuzz/corpus/<target>/ (hand-made seeds and testdata/golden/*.bgp, via scripts/fuzz_seeds.py),
# runs each target with -max_total_time, prints a summary line per target and exits non-zero
# if any target found a crash or a broken invariant (the input is saved under
# fuzz/artifacts/<target>/; see docs/fuzzing.md to reproduce and minimize it).
set -euo pipefail

secs="${1:-30}"
shift || true
case "$secs" in
'' | *[!0-9]*)
    echo "usage: $0 [SECONDS] [TARGET...]" >&2
    exit 2
    ;;
esac

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
fuzz="$root/fuzz"
export PATH="$HOME/.cargo/bin:$PATH"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi

# Same flags for build and run, so that `run` does not rebuild.
flags=(--sanitizer none --debug-assertions)

cd "$fuzz"
if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi

echo "fuzz: building ${#targets[@]} target(s)" >&2
cargo fuzz build "${flags[@]}"

if command -v python3 >/dev/null 2>&1; then
    python3 "$root/scripts/fuzz_seeds.py" "$fuzz/corpus"
else
    echo "fuzz: python3 not found, running without seeds from testdata/golden" >&2
fi

logs="$fuzz/target/fuzz-logs"
mkdir -p "$logs"
summary=()
failed=0
for t in "${targets[@]}"; do
    mkdir -p "$fuzz/corpus/$t" "$fuzz/artifacts/$t"
    log="$logs/$t.log"
    echo "fuzz: $t for ${secs}s" >&2
    set +e
    cargo fuzz run "${flags[@]}" "$t" -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        >"$log" 2>&1
    rc=$?
    set -e
    runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
    speed="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)"
    cov="$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)"
    corp="$(grep -oE 'corp: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)"
    detail=""
    if [ "$rc" -eq 0 ]; then
        status=ok
    else
        status=FAILED
        failed=1
        artifact="$(grep -oE "Test unit written to [^ ]+" "$log" | tail -1 | sed 's/^Test unit written to //')"
        echo "---- $t failed (exit $rc); from $log:" >&2
        grep -E -A2 "panicked at" "$log" | head -20 >&2 || true
        tail -n 20 "$log" >&2
        detail=" exit=$rc input=${artifact:-?}"
    fi
    summary+=("$(printf '%-12s %-6s runs=%-10s exec/s=%-8s cov=%-6s corpus=%s' \
        "$t" "$status" "${runs:-?}" "${speed:-?}" "${cov:-?}" "${corp:-?}")$detail")
done

echo
echo "fuzz summary (${secs}s per target; logs in $logs):"
printf '  %s\n' "${summary[@]}"
if [ "$failed" -ne 0 ]; then
    echo "fuzz: FAILED; reproduce with: cd fuzz && cargo fuzz run -s none -a TARGET ARTIFACT" >&2
    exit 1
fi
echo "fuzz: all targets clean"
