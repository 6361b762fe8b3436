#!/usr/bin/env bash
# The whole test suite: unit, integration and doc tests, then the loom models.
# Usage: scripts/test.sh            (from anywhere in the repository)
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

echo "== cargo test (workspace, all features: unit, integration, doc tests)"
cargo test --workspace --all-features 2>&1 | tee -a "$log"

echo "== loom models"
scripts/loom.sh 2>&1 | tee -a "$log"

# Sum the "test result: ok. N passed; M failed; K ignored" lines (ignored
# tests are reported as skipped).
awk '/^test result:/ { p += $4; f += $6; i += $8 }
     END { printf "summary: %d passed, %d failed, %d skipped\n", p, f, i }' "$log"
