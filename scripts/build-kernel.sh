#!/usr/bin/env bash
# Builds the suite's default kernel (Debian's linux-source-6.12, allnoconfig + kernel/hogs.config)
# into a cache outside the repo, keyed by source version, config and toolchain, so a second run
# takes seconds. Prints the build directory (usable as KDIR and by `vng --run`) on stdout.
#
#   scripts/build-kernel.sh [--quiet]
#
# Environment: HOGS_CACHE (default ${XDG_CACHE_HOME:-~/.cache}/hogs), JOBS (default nproc).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
fragment=$here/kernel/hogs.config
cache=${HOGS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hogs}
tarball=/usr/src/linux-source-6.12.tar.xz
jobs=${JOBS:-$(nproc)}
quiet=0
[ "${1:-}" = --quiet ] && quiet=1

# Debian's rustc has the rust-src the kernel needs; rustup's (first in PATH) has none.
RUSTC=/usr/bin/rustc
export LIBCLANG_PATH=/usr/lib/llvm-19/lib
makeflags=(RUSTC="$RUSTC" RUSTDOC=/usr/bin/rustdoc BINDGEN="$(command -v bindgen || echo bindgen)" LLVM= -j"$jobs")

say() { [ $quiet = 1 ] || printf 'kernel: %s\n' "$*" >&2; }
die() { printf 'kernel: error: %s\n' "$*" >&2; exit 1; }

[ -r "$tarball" ] || die "$tarball missing: run scripts/setup.sh (Debian package linux-source-6.12)"
[ -x "$RUSTC" ] || die "$RUSTC missing: run scripts/setup.sh (Debian package rustc-web)"

src=$cache/src/linux-source-6.12
if [ ! -e "$src/.hogs-extracted" ]; then
  say "extracting $tarball"
  rm -rf "$src" && mkdir -p "$cache/src"
  tar -xJf "$tarball" -C "$cache/src" || die "could not extract $tarball"
  touch "$src/.hogs-extracted"
fi
version=$(make -s -C "$src" kernelversion)

key=$( { cat "$fragment"; echo "$version"; "$RUSTC" --version; bindgen --version 2>/dev/null; gcc --version | head -1; } |
  sha256sum | cut -c1-12)
out=$cache/kernels/$version-$key
if [ -e "$out/.hogs-built" ] && [ -e "$out/arch/x86/boot/bzImage" ]; then
  say "Linux $version up to date in $out"
  echo "$out"
  exit 0
fi

mkdir -p "$out"
log=$out/build.log
: >"$log"
start=$SECONDS

say "configuring Linux $version (allnoconfig + kernel/hogs.config) in $out"
make -C "$src" O="$out" "${makeflags[@]}" KCONFIG_ALLCONFIG="$fragment" allnoconfig >>"$log" 2>&1 ||
  die "configuration failed (log: $log)"
# Kconfig silently drops an option whose dependencies are unmet: insist on every line.
dropped=()
while IFS= read -r want; do
  case "$want" in
    CONFIG_*=*) grep -qxF "$want" "$out/.config" || dropped+=("$want") ;;
    "# CONFIG_"*" is not set")
      opt=${want#\# }; opt=${opt%% *}
      ! grep -q "^$opt=" "$out/.config" || dropped+=("$want") ;;
  esac
done <"$fragment"
if [ ${#dropped[@]} -gt 0 ]; then
  for want in "${dropped[@]}"; do
    opt=${want#\# }; opt=${opt%%[= ]*}
    printf 'kernel:   wanted %s, got %s\n' "$want" "$(grep -E "^(# )?$opt[= ]" "$out/.config" || echo unset)" >&2
  done
  die "${#dropped[@]} option(s) of $fragment did not hold after configuration (unmet dependencies?)"
fi

# Objects of the last successful build give the progress total; the first build estimates.
total=$(cat "$cache/kernels/objects" 2>/dev/null || echo 1650)
say "building with $jobs jobs (raw output: $log)"
make -C "$src" O="$out" "${makeflags[@]}" >>"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null' EXIT
while kill -0 $pid 2>/dev/null; do
  sleep 10
  done_objs=$(grep -cE '^  (CC|AS|RUSTC [A-Z]*|AR|LD) ' "$log" || true)
  say "$(printf '%4d/~%d objects, %dm%02ds' "$done_objs" "$total" $(((SECONDS - start) / 60)) $(((SECONDS - start) % 60)))"
done
trap - EXIT
if ! wait $pid; then
  grep -E 'error|Error' "$log" | tail -n 5 >&2 || true
  die "build failed (log: $log)"
fi
grep -cE '^  (CC|AS|RUSTC [A-Z]*|AR|LD) ' "$log" >"$cache/kernels/objects" || true
touch "$out/.hogs-built"
# A stable name for the newest default kernel, switched atomically once it is complete.
ln -sfn "$out" "$cache/kernel-6.12.tmp" && mv -T "$cache/kernel-6.12.tmp" "$cache/kernel-6.12"
say "built Linux $version in $((SECONDS - start)) s: $out"
echo "$out"
