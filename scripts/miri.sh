#!/usr/bin/env bash
# Runs the per-thread store's tests under Miri, with Stacked Borrows (Miri's
# default) and with Tree Borrows, on a pinned nightly (the newest one found
# here with a Miri component; installs it on first use).
#
# Usage: scripts/miri.sh [EXTRA CARGO TEST ARGS]
set -euo pipefail

cd "$(dirname "$0")/.."

toolchain="${MIRI_TOOLCHAIN:-nightly-2026-10-01}"
if ! rustup run "$toolchain" cargo miri --version >/dev/null 2>&1; then
    rustup toolchain install "$toolchain" --profile minimal --component miri,rust-src
fi
target=(--target-dir "${MIRI_TARGET_DIR:-target/miri}")

# The unit tests of src/sync/per_thread/ (threads recording, containers
# beyond the cache, holds) and of src/storage/. Not the integration tests:
# `Registry::new` starts the clock, and quanta's calibration runs `cpuid`
# (inline assembly, which Miri does not support).
run() {
    cargo "+$toolchain" miri test -p hotmetrics "${target[@]}" --lib "$@" -- sync::per_thread storage::
}

echo "== Stacked Borrows"
MIRIFLAGS="${MIRIFLAGS:-}" run "$@"
echo "== Tree Borrows"
MIRIFLAGS="${MIRIFLAGS:+$MIRIFLAGS }-Zmiri-tree-borrows" run "$@"
