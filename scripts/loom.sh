#!/usr/bin/env bash
# Runs the loom models: the white-box ones beside the code (`loom_model`
# modules under src/, `cfg(all(test, loom))`), then the end-to-end ones in
# loom-tests/tests/ (see loom-tests/README.md).
#
# Usage: scripts/loom.sh                 both suites
#        scripts/loom.sh lib [FILTER]    the white-box models (FILTER: a test
#                                        name part, e.g. table)
#        scripts/loom.sh e2e [ARGS]      the end-to-end models, with extra
#                                        `cargo test` arguments (e.g.
#                                        `--test histogram`)
#
# LOOM_MAX_PREEMPTIONS (default 2) bounds the preemptions explored per
# execution; raise it for a deeper (much slower) check. Other loom variables
# (LOOM_LOG, LOOM_LOCATION, LOOM_CHECKPOINT_FILE, ...) pass through.
# The build goes to target/loom (or LOOM_TARGET_DIR) so that `--cfg loom`
# does not invalidate the normal build.
set -euo pipefail

cd "$(dirname "$0")/.."

export RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }--cfg loom"
export LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-2}"
# Show how many executions each model explored, and how long it took.
export RUST_TEST_NOCAPTURE="${RUST_TEST_NOCAPTURE:-1}"
target=(--target-dir "${LOOM_TARGET_DIR:-target/loom}")

suite="${1:-all}"
if [ $# -gt 0 ]; then shift; fi

lib() {
    # Only the `loom_model` modules: the crate's other unit tests do not run
    # inside a loom model.
    cargo test --release -p hotmetrics --features loom --lib "${target[@]}" \
        -- "loom_model::${1:-}"
}

e2e() {
    cargo test --release --no-fail-fast -p hotmetrics-loom-tests "${target[@]}" "$@"
}

case "$suite" in
    lib) lib "$@" ;;
    e2e) e2e "$@" ;;
    all)
        status=0
        lib || status=$?
        e2e || status=$?
        exit "$status"
        ;;
    *)
        echo "usage: scripts/loom.sh [lib [FILTER] | e2e [CARGO TEST ARGS]]" >&2
        exit 2
        ;;
esac
