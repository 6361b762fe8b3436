#!/usr/bin/env bash
# A soak run, not part of CI: thread churn, label churn through an evicting
# family, scrapes (collect + render) and telemetry to a loopback receiver,
# all at once, printing RSS every 10 s and ending with exact totals (exits
# non-zero if what was recorded differs from the final snapshot or the
# telemetry accounting). See bench/src/bin/soak.rs.
#
# Usage: scripts/soak.sh [--duration SECS]   (default 600 s)
set -euo pipefail

cd "$(dirname "$0")/.."

cargo build --release -p hotmetrics-bench --bin soak
target="${CARGO_TARGET_DIR:-target}"
echo "load: $(cat /proc/loadavg)"
"$target/release/soak" "$@"
