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

log=$(mktemp)
trap 'rm -f "$log"' EXIT

echo "== cargo test (workspace: unit, integration, doc tests)"
cargo test --workspace 2>&1 | tee -a "$log"

echo "== loom models"
scripts/loom.sh 2>&1 | tee -a "$log"

# Sum the "test result: ok. N passed; M failed; K ignored" lines (ignored
# tests are reported as skipped).
awk '/^test result:/ { p += $4; f += $6; i += $8 }
     END { printf "summary: %d passed, %d failed, %d skipped\n", p, f, i }' "$log"
