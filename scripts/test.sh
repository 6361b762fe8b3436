#!/usr/bin/env bash
# The whole test suite: unit, integration and doc tests, then the loom models.
# Usage: scripts/test.sh            (from anywhere in the repository)
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
    echo "error: cargo is required (https://rustup.rs)" >&2
    exit 1
fi

echo "== cargo test (workspace: unit, integration, doc tests)"
cargo test --workspace

echo "== loom models"
scripts/loom.sh
