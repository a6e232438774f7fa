#!/usr/bin/env bash
# One step of `git bisect run` over a kernel tree: builds the tree as it is checked out (in
# place, with its own .config brought up to date), then runs the named scenarios on it.
#
#   cd ~/linux && git bisect start BAD GOOD
#   git bisect run /path/to/hogs/scripts/bisect.sh . nopreempt-loop repeat-reports
#
# Exit, as `git bisect run` reads it: 0 every scenario passed, 1 one failed, 125 (skip this
# commit) when the tree does not build, the hogs do not build against it, its guest does not boot
# or a deadline passes, 129 (stop the bisect) for a mistake in the command.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
if [ $# -lt 2 ]; then
  echo "usage: scripts/bisect.sh KDIR SCENARIO..." >&2
  exit 129
fi
kdir=$(cd "$1" 2>/dev/null && pwd) || { echo "bisect: no kernel tree at $1" >&2; exit 129; }
shift
log="$kdir/.hogs-bisect-build.log"
makeflags=(RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc LLVM= -j"$(nproc)")
if ! { make -C "$kdir" "${makeflags[@]}" olddefconfig && make -C "$kdir" "${makeflags[@]}"; } >"$log" 2>&1; then
  echo "bisect: the tree does not build at $(git -C "$kdir" rev-parse --short HEAD 2>/dev/null): skip (log: $log)" >&2
  exit 125
fi
if [ ! -x "$here/target/release/hogs" ]; then
  cargo build --release --quiet --manifest-path "$here/Cargo.toml" -p hogs-harness || exit 129
fi
exec "$here/target/release/hogs" run --bisect --kdir "$kdir" "$@"
