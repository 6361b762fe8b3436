#!/usr/bin/env bash
# Runs the concurrency tests under ThreadSanitizer: tests/churn.rs (gauges
# set while the collector evicts), tests/exact_counts.rs (many threads,
# short-lived threads), tests/thread_exit_tls.rs (destructors that record)
# and tests/consistency.rs (snapshots under writers), compiled into one
# binary by tsan-tests/ with the standard library rebuilt instrumented
# (`-Zsanitizer=thread -Zbuild-std`), on a pinned nightly (installed on
# first use). Any report fails the run (non-zero exit).
#
# Usage: scripts/tsan.sh [EXTRA TEST BINARY ARGS]   e.g. scripts/tsan.sh churn::
# TSAN_TARGET_DIR (default target/tsan) holds the instrumented build;
# SANITIZER_TOOLCHAIN overrides the nightly.
set -euo pipefail

cd "$(dirname "$0")/.."

toolchain="${SANITIZER_TOOLCHAIN:-nightly-2026-10-01}"
if ! rustup run "$toolchain" rustc --version >/dev/null 2>&1 \
    || ! rustup component list --toolchain "$toolchain" --installed 2>/dev/null | grep -q '^rust-src'; then
    rustup toolchain install "$toolchain" --profile minimal --component rust-src
fi

host="$(rustup run "$toolchain" rustc -vV | sed -n 's/^host: //p')"
# `--cfg hotmetrics_tsan` turns the tests on (tsan-tests/tests/tsan.rs) and
# selects their smaller iteration counts.
export RUSTFLAGS="-Zsanitizer=thread --cfg hotmetrics_tsan"
export RUSTDOCFLAGS="$RUSTFLAGS"
# Stop at the first report with a non-zero exit code (the test binary's own
# failures exit 101), and run every test in the binary before that.
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1 suppressions=$PWD/tsan-tests/suppressions.txt ${TSAN_OPTIONS:-}"

cargo "+$toolchain" test -Zbuild-std --target "$host" \
    --target-dir "${TSAN_TARGET_DIR:-target/tsan}" \
    -p hotmetrics-tsan-tests --test tsan -- "$@"
