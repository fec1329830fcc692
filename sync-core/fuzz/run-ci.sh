#!/usr/bin/env bash
# The bounded fuzz run of CI: every target of sync-core/fuzz for a fixed
# time, starting from the committed corpus (sync-core/tests/corpus/). Fails if
# any target finds a crash, a timeout or an out-of-memory input, and prints
# where the input is and how to reproduce it (slow inputs under the timeout
# are listed, not failed on). One summary line per target.
#
#   FUZZ_SECONDS   time per target (default 45)
#   FUZZ_TIMEOUT   seconds one input may take before it counts as a finding
#                  (default 60; the slowest known input takes 23 s)
#   FUZZ_TARGETS   targets to run (default: all six)
#
# Long runs: docs/fuzzing.md.
set -uo pipefail
cd "$(dirname "$0")"
export RUSTC_BOOTSTRAP=1 # cargo fuzz needs -Z flags; the machines have stable only
export CARGO_TERM_COLOR=never

SECONDS_PER_TARGET=${FUZZ_SECONDS:-45}
TIMEOUT=${FUZZ_TIMEOUT:-60}
TARGETS=${FUZZ_TARGETS:-"doc_load batch_decode sync_message upload_headers photo_check photo_prepare"}
started=$(date +%s)

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz"
  cargo install cargo-fuzz --locked || exit 1
fi
cargo fuzz --version

# The working corpus (git-ignored) keeps what earlier runs found; the
# committed files are copied over it. slow-* inputs stay out: one takes 23 s
# in this build and would eat the budget of its target (the corpus test
# replays it).
for t in $TARGETS; do
  mkdir -p "corpus/$t" "artifacts/$t"
  find "../tests/corpus/$t" -maxdepth 1 -type f ! -name 'slow-*' -exec cp {} "corpus/$t/" \;
done

build_started=$(date +%s)
# One build of all targets (AddressSanitizer, release, debug assertions);
# `cargo fuzz run` below finds it up to date.
cargo fuzz build || exit 1
echo "build: $(($(date +%s) - build_started)) s"

# The last value of one of libFuzzer's final statistics in a log.
stat() { sed -n "s/^stat::$2: *//p" "$1" | tail -1; }

mkdir -p target/ci-logs
summary=()
failed=0
for t in $TARGETS; do
  log="target/ci-logs/$t.log"
  echo "== $t: ${SECONDS_PER_TARGET} s =="
  cargo fuzz run "$t" "corpus/$t" -- \
    -max_total_time="$SECONDS_PER_TARGET" -timeout="$TIMEOUT" \
    -print_final_stats=1 >"$log" 2>&1
  status=$?
  execs=$(stat "$log" number_of_executed_units)
  rate=$(stat "$log" average_exec_per_sec)
  new=$(stat "$log" new_units_added)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  written=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log")
  # libFuzzer also writes inputs slower than -report_slow_units (10 s) but
  # under the timeout: the known slow Automerge load (docs/fuzzing.md,
  # "a slow input") is found again now and then. Shown, not failed on;
  # an input over the timeout is written as timeout-* and fails.
  slow=$(printf '%s\n' "$written" | grep '/slow-unit-' || true)
  found=$(printf '%s\n' "$written" | grep -v '/slow-unit-' || true)
  crashes=$(printf '%s' "$found" | grep -c . || true)
  line=$(printf '%-15s executions=%s exec/s=%s new_units=%s cov=%s crashes=%s' \
    "$t" "${execs:-?}" "${rate:-?}" "${new:-?}" "${cov:-?}" "$crashes")
  summary+=("$line")
  echo "$line"
  for f in $slow; do
    echo "slow input (under the ${TIMEOUT} s timeout, not a failure): $f"
  done
  if [ "$status" -ne 0 ] || [ "$crashes" -ne 0 ]; then
    failed=1
    grep -E '^==[0-9]+==|ERROR|panicked|SUMMARY|ALARM|out-of-memory' "$log" | head -20
    for f in $found; do
      echo "finding: $f"
      echo "reproduce: cd sync-core/fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run $t $f"
    done
    [ -n "$found" ] || echo "$t exited with $status; log: sync-core/fuzz/$log"
  fi
done

echo
echo "== fuzz summary (${SECONDS_PER_TARGET} s per target, $(($(date +%s) - started)) s in all) =="
printf '%s\n' "${summary[@]}"
if [ "$failed" -ne 0 ]; then
  echo "fuzzing found a problem: keep the input as sync-core/tests/corpus/<target>/crash-<hash>, then fix (docs/fuzzing.md)"
  exit 1
fi
