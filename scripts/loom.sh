#!/usr/bin/env bash
# Runs the loom models in loom-tests/tests/ (see loom-tests/src/lib.rs).
#
# Usage: scripts/loom.sh [extra `cargo test` arguments, e.g. a model name]
#
# LOOM_MAX_PREEMPTIONS (default 2) bounds the preemptions explored per
# execution; raise it for a deeper (much slower) check. Other loom variables
# (LOOM_LOG, LOOM_LOCATION, LOOM_CHECKPOINT_FILE, ...) pass through.
# The build goes to target/loom so that `--cfg loom` does not invalidate the
# normal build.
set -euo pipefail

cd "$(dirname "$0")/.."

export RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }--cfg loom"
export LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-2}"
# Show how many executions each model explored, and how long it took.
export RUST_TEST_NOCAPTURE="${RUST_TEST_NOCAPTURE:-1}"

exec cargo test --release --no-fail-fast -p hotmetrics-loom-tests --target-dir target/loom "$@"
