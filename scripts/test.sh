#!/usr/bin/env bash
# The whole test suite: unit, integration and doc tests, the loom models,
# then Miri and ThreadSanitizer on a pinned nightly (HOTMETRICS_SANITIZERS=0
# leaves those two out).
# Usage: scripts/test.sh            (from anywhere in the repository)
#        scripts/test.sh sanitizers (Miri and ThreadSanitizer only)
# Ends with one line adding up every test binary's result.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
    echo "error: cargo is required (https://rustup.rs)" >&2
    exit 1
fi

# The exposition tests run real tools: promtool and prometheus (Debian's
# `prometheus` package) and the OpenMetrics parser of Python's
# prometheus_client (`python3-prometheus-client`); the remote-write test a
# VictoriaMetrics server (Debian's `victoria-metrics`).
if ! command -v promtool >/dev/null 2>&1 || ! command -v prometheus >/dev/null 2>&1 \
    || ! command -v victoria-metrics >/dev/null 2>&1 \
    || ! /usr/bin/python3 -c 'import prometheus_client' >/dev/null 2>&1; then
    echo "== installing prometheus, promtool, victoria-metrics and python3-prometheus-client"
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq && $sudo apt-get install -y -qq prometheus victoria-metrics python3-prometheus-client >/dev/null \
        || echo "warning: could not install prometheus / victoria-metrics / python3-prometheus-client; their tests will be skipped (and fail under CI)" >&2
fi
echo "== real tools: $(promtool --version 2>&1 | head -1 || echo 'promtool missing')"

log=$(mktemp)
trap 'rm -f "$log"' EXIT

# Miri (Stacked Borrows) on the unit tests of the unsafe and lock-free code,
# then ThreadSanitizer on the concurrency tests, both on the pinned nightly
# the scripts install. Each has a time bound (seconds; a run cut off fails)
# and builds into a directory of its own under the target directory,
# deleted afterwards (disk is short on CI). HOTMETRICS_SANITIZERS=0 skips
# both (see docs/design.md, "Miri and ThreadSanitizer").
sanitizer() {
    local name="$1" limit="$2" dir="$3"
    shift 3
    local start=$SECONDS status=0
    echo "== $name (at most ${limit} s)"
    timeout --kill-after=10 "$limit" "$@" 2>&1 | tee -a "$log" || status=$?
    du -sh "$dir" 2>/dev/null | awk -v n="$name" '{ print "== " n " build directory: " $1 " (deleted)" }'
    rm -rf "$dir"
    echo "== $name: $((SECONDS - start)) s"
    if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
        echo "error: $name did not finish within ${limit} s" >&2
        exit 1
    elif [ "$status" -ne 0 ]; then
        echo "error: $name failed (exit $status): see its report above" >&2
        exit 1
    fi
}
sanitizers() {
    local sanitizers_dir="${CARGO_TARGET_DIR:-target}/sanitizers"
    MIRI_TARGET_DIR="$sanitizers_dir/miri" \
        sanitizer Miri "${MIRI_TIME_LIMIT:-900}" "$sanitizers_dir/miri" scripts/miri.sh
    TSAN_TARGET_DIR="$sanitizers_dir/tsan" \
        sanitizer ThreadSanitizer "${TSAN_TIME_LIMIT:-600}" "$sanitizers_dir/tsan" scripts/tsan.sh
}

if [ "${1:-}" = "sanitizers" ]; then
    # `scripts/test.sh sanitizers`: Miri and ThreadSanitizer only, as CI runs them.
    sanitizers
    exit 0
fi

echo "== cargo test (workspace, all features: unit, integration, doc tests)"
cargo test --workspace --all-features 2>&1 | tee -a "$log"

echo "== loom models"
scripts/loom.sh 2>&1 | tee -a "$log"

if [ "${HOTMETRICS_SANITIZERS:-1}" != 0 ]; then
    sanitizers
fi

# Sum the "test result: ok. N passed; M failed; K ignored" lines (ignored
# tests are reported as skipped).
awk '/^test result:/ { p += $4; f += $6; i += $8 }
     END { printf "summary: %d passed, %d failed, %d skipped\n", p, f, i }' "$log"
