#!/usr/bin/env bash
# Runs the whole suite on the default kernel, setting up whatever is missing first (Debian
# packages, bindgen, virtme-ng, the kernel build, the hog modules). Arguments go to `hogs run`,
# e.g. `scripts/suite.sh busy-loop --live` or `scripts/suite.sh --kdir ~/linux`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release --quiet -p hogs-harness
exec target/release/hogs run "$@"
