#!/usr/bin/env bash
# Builds a kernel for the suite (allnoconfig + kernel/hogs.config, + kernel/hogs-SERIES.config
# where one exists, + kernel/flavour-FLAVOUR.config for a flavour) into a cache outside the repo, keyed by source version, config and
# toolchain, so a second run takes seconds. Prints the build directory (usable as KDIR and by
# `vng --run`) on stdout.
#
#   scripts/build-kernel.sh [--quiet] [--patch FILE] [[ARCH/]SERIES[-FLAVOUR]]
#
# --patch FILE: the same kernel with a patch applied (a watchdog bug of tests/kernel-bugs/, for
# red checks), built incrementally in a copy of the clean build; prints that copy instead.
#
# ARCH: x86_64 (default) or arm64 (cross-built with Debian's gcc-aarch64-linux-gnu, plus
# kernel/arch-arm64.config; its release ends in -arm64).
# SERIES: 6.12 (default; Debian's linux-source-6.12, installed by scripts/setup.sh) or 7.3
# (Debian's linux-source-7.3 from trixie-backports, fetched into the cache without touching the
# system's apt sources). FLAVOUR: debug (lockdep and the spinlock, atomic-sleep and preemption
# checks) or voluntary (PREEMPT_VOLUNTARY without PREEMPT_DYNAMIC). Environment: HOGS_CACHE (default ${XDG_CACHE_HOME:-~/.cache}/hogs),
# JOBS (default nproc).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cache=${HOGS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hogs}
jobs=${JOBS:-$(nproc)}
quiet=0
patch=
while :; do
  case "${1:-}" in
    --quiet) quiet=1; shift ;;
    --patch) patch=$(realpath "${2:?--patch needs a file}"); shift 2 ;;
    *) break ;;
  esac
done
kernel=${1:-6.12}
# [ARCH/]SERIES[-FLAVOUR]: a flavour adds kernel/flavour-FLAVOUR.config last (debug, voluntary,
# buddy).
arch=x86_64
case "$kernel" in */*) arch=${kernel%%/*}; kernel=${kernel#*/} ;; esac
series=${kernel%%-*}
flavour=
[ "$series" = "$kernel" ] || flavour=${kernel#*-}

# Debian's rustc has the rust-src the kernel needs; rustup's (first in PATH) has none.
RUSTC=/usr/bin/rustc
export LIBCLANG_PATH=/usr/lib/llvm-19/lib
makeflags=(RUSTC="$RUSTC" RUSTDOC=/usr/bin/rustdoc BINDGEN="$(command -v bindgen || echo bindgen)" LLVM= -j"$jobs")

say() { [ $quiet = 1 ] || printf 'kernel: %s\n' "$*" >&2; }
die() { printf 'kernel: error: %s\n' "$*" >&2; exit 1; }

[ -x "$RUSTC" ] || die "$RUSTC missing: run scripts/setup.sh (Debian package rustc-web)"

# The architecture: what make is told, where the image lands, how the cache names it.
case "$arch" in
  x86_64) image=arch/x86/boot/bzImage; name=$kernel ;;
  arm64)
    command -v aarch64-linux-gnu-gcc >/dev/null ||
      die "aarch64-linux-gnu-gcc missing: run scripts/setup.sh (Debian package gcc-aarch64-linux-gnu)"
    makeflags+=(ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- LOCALVERSION=-arm64)
    image=arch/arm64/boot/Image; name=arm64-$kernel ;;
  *) die "unknown architecture '$arch' (known: x86_64, arm64)" ;;
esac

# Where each series' source tarball comes from.
case "$series" in
  6.12)
    tarball=/usr/src/linux-source-6.12.tar.xz
    [ -r "$tarball" ] || die "$tarball missing: run scripts/setup.sh (Debian package linux-source-6.12)"
    ;;
  7.3)
    debs=$cache/debs
    tarball=$debs/linux-source-7.3.tar.xz
    if [ ! -r "$tarball" ]; then
      say "fetching Debian's linux-source-7.3 from trixie-backports"
      apt_dir=$debs/apt && mkdir -p "$apt_dir/lists/partial" && cd "$debs"
      echo "deb http://deb.debian.org/debian trixie-backports main" >"$apt_dir/sources.list"
      apt=(-q -o Dir::Etc::sourcelist="$apt_dir/sources.list" -o Dir::Etc::sourceparts=-
        -o Dir::State::Lists="$apt_dir/lists" -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
      apt-get "${apt[@]}" update >"$debs/apt.log" 2>&1 || die "apt-get update for trixie-backports failed (log: $debs/apt.log)"
      apt-get "${apt[@]}" download linux-source-7.3 >>"$debs/apt.log" 2>&1 ||
        die "could not download Debian package linux-source-7.3 (log: $debs/apt.log)"
      deb=$(ls -t "$debs"/linux-source-7.3_*_all.deb | head -1)
      dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/src/linux-source-7.3.tar.xz >"$tarball.tmp" ||
        die "could not unpack $deb"
      mv "$tarball.tmp" "$tarball" && rm -f "$deb"
      cd "$here"
    fi
    ;;
  *) die "unknown kernel series '$series' (known: 6.12, 7.3; flavours: $(cd "$here/kernel" && ls flavour-*.config | sed 's/flavour-/SERIES-/; s/.config//' | tr '\n' ' '))" ;;
esac

# The fragments, later lines winning: the suite's, then the series' own differences.
fragments=("$here/kernel/hogs.config")
[ "$arch" = x86_64 ] || fragments+=("$here/kernel/arch-$arch.config")
[ -e "$here/kernel/hogs-$series.config" ] && fragments+=("$here/kernel/hogs-$series.config")
if [ -n "$flavour" ]; then
  [ -e "$here/kernel/flavour-$flavour.config" ] ||
    die "unknown kernel flavour '$flavour' (known: $(cd "$here/kernel" && ls flavour-*.config | sed 's/flavour-//; s/.config//' | tr '\n' ' '))"
  fragments+=("$here/kernel/flavour-$flavour.config")
fi
fragment=$cache/fragment-$name.config
mkdir -p "$cache"
cat "${fragments[@]}" >"$fragment"

src=$cache/src/linux-source-$series
if [ ! -e "$src/.hogs-extracted" ]; then
  say "extracting $tarball"
  rm -rf "$src" && mkdir -p "$cache/src"
  tar -xJf "$tarball" -C "$cache/src" || die "could not extract $tarball"
  touch "$src/.hogs-extracted"
fi
version=$(make -s -C "$src" kernelversion)

# x86_64 keys are those from before arm64 existed, so their cached builds stay valid.
key=$( { cat "$fragment"; echo "$version"; "$RUSTC" --version; bindgen --version 2>/dev/null; gcc --version | head -1
  [ "$arch" = x86_64 ] || { echo "$arch"; aarch64-linux-gnu-gcc --version | head -1; }; } |
  sha256sum | cut -c1-12)
out=$cache/kernels/$version-$key

# The clean build $out with $patch applied, for red checks. Kbuild's commands name the output
# folder, so a build in another folder compiles everything again (7 min); instead the clean
# build is copied aside, the patched kernel is built in its place (only what the patch touches
# is compiled again, about a minute), moved to its own folder, and the clean copy put back. The
# shared source is patched for the build and restored with its old times, so the clean build
# sees no change.
build_patched() {
  [ -r "$patch" ] || die "cannot read patch $patch"
  local bug_out=$out-bug-$(sha256sum "$patch" | cut -c1-8) clean=$out.clean f
  if [ -e "$bug_out/.hogs-built" ] && [ -e "$bug_out/$image" ]; then
    say "Linux $version with $(basename "$patch") up to date in $bug_out"
    echo "$bug_out"
    return
  fi
  local files=()
  mapfile -t files < <(sed -n 's|^+++ b/\([^[:space:]]*\).*|\1|p' "$patch")
  [ ${#files[@]} -gt 0 ] || die "$patch names no file (+++ b/PATH lines)"
  orig=$(mktemp -d)
  for f in "${files[@]}"; do cp -p "$src/$f" "$orig/${f//\//_}"; done
  rm -rf "$clean" && cp -a "$out" "$clean"
  restore() {
    for f in "${files[@]}"; do cp -p "$orig/${f//\//_}" "$src/$f"; done
    if [ -d "$clean" ]; then rm -rf "$out" && mv "$clean" "$out"; fi
    rm -rf "$orig"
  }
  trap restore EXIT INT TERM
  patch -s -p1 -d "$src" <"$patch" || die "$patch does not apply to Linux $version"
  say "building Linux $version with $(basename "$patch") (incrementally, in $out)"
  make -C "$src" O="$out" "${makeflags[@]}" >"$out/build.log" 2>&1 ||
    die "build with $patch failed (log: $out/build.log, kept until the clean build is put back)"
  rm -rf "$bug_out" && mv "$out" "$bug_out"
  # Since 6.13 the folder's Makefile names its output folder (KBUILD_OUTPUT): point it at the
  # patched build's own, or module builds against it land in the wrong place.
  sed -i "s|^export KBUILD_OUTPUT = .*|export KBUILD_OUTPUT = $bug_out|" "$bug_out/Makefile"
  restore
  trap - EXIT INT TERM
  say "built Linux $version with $(basename "$patch") in $bug_out"
  echo "$bug_out"
}

if [ -e "$out/.hogs-built" ] && [ -e "$out/$image" ]; then
  say "Linux $version up to date in $out"
  if [ -n "$patch" ]; then build_patched; else echo "$out"; fi
  exit 0
fi

mkdir -p "$out"
log=$out/build.log
: >"$log"
start=$SECONDS

say "configuring Linux $version (allnoconfig + ${fragments[*]#$here/}) in $out"
make -C "$src" O="$out" "${makeflags[@]}" KCONFIG_ALLCONFIG="$fragment" allnoconfig >>"$log" 2>&1 ||
  die "configuration failed (log: $log)"
# Kconfig silently drops an option whose dependencies are unmet: insist on every line.
dropped=()
declare -A wanted=()
while IFS= read -r line; do
  case "$line" in
    CONFIG_*=*) wanted[${line%%=*}]=$line ;;
    "# CONFIG_"*" is not set") opt=${line#\# }; wanted[${opt%% *}]=$line ;;
  esac
done <"$fragment"
for opt in "${!wanted[@]}"; do
  want=${wanted[$opt]}
  case "$want" in
    \#*) ! grep -q "^$opt=" "$out/.config" || dropped+=("$want") ;;
    *) grep -qxF "$want" "$out/.config" || dropped+=("$want") ;;
  esac
done
if [ ${#dropped[@]} -gt 0 ]; then
  for want in "${dropped[@]}"; do
    opt=${want#\# }; opt=${opt%%[= ]*}
    printf 'kernel:   wanted %s, got %s\n' "$want" "$(grep -E "^(# )?$opt[= ]" "$out/.config" || echo unset)" >&2
  done
  die "${#dropped[@]} option(s) of ${fragments[*]#$here/} did not hold after configuration (unmet dependencies?)"
fi

# Objects of the last successful build give the progress total; the first build estimates.
total=$(cat "$cache/kernels/objects-$name" 2>/dev/null || echo 1650)
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
grep -cE '^  (CC|AS|RUSTC [A-Z]*|AR|LD) ' "$log" >"$cache/kernels/objects-$name" || true
touch "$out/.hogs-built"
# A stable name for the newest kernel of the series, switched atomically once it is complete.
ln -sfn "$out" "$cache/kernel-$name.tmp" && mv -T "$cache/kernel-$name.tmp" "$cache/kernel-$name"
say "built Linux $version in $((SECONDS - start)) s: $out"
if [ -n "$patch" ]; then build_patched; else echo "$out"; fi
