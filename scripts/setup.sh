#!/usr/bin/env bash
# Installs everything the suite needs on a fresh Debian 12 machine: Debian packages, bindgen-cli
# and virtme-ng at pinned versions. Idempotent: a second run checks and says there is nothing to do.
set -euo pipefail

BINDGEN_VERSION=0.73.2
VIRTME_NG_VERSION=1.42
# The readers the test command checks our outputs with (KernelCI's validator, a JSON Schema
# validator, an independent JUnit reader).
PYTHON_CHECKERS=(kcidb-io==141 jsonschema==4.26.0 junitparser==5.0.3)

# Why each package is here (../shared/DESIGN.md has the measurements behind these choices):
DEBIAN_PACKAGES=(
  rustc-web rust-web-src rust-web-clippy   # /usr/bin/rustc with rust-src (rustup's has none); CLIPPY=1
  libclang-19-dev               # bindgen needs libclang >= 17 for newer kernels; 14 is Debian's default
  linux-source-6.12             # the default kernel's source
  bc bison flex libelf-dev libssl-dev cpio xz-utils kmod make gcc   # kernel build
  patch                         # red checks: tests/kernel-bugs/ built into a cached kernel
  qemu-system-x86 udev busybox-static                               # virtme-ng guests
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-system-arm   # arm64: cross builds, emulated guests
  libstd-rust-web-dev:arm64     # arm64: Rust's std for the guest step, for /usr/bin/rustc
)
# Only the test command needs these (`setup.sh --test`): a real browser opens `hogs report`'s page.
if [ "${1:-}" = --test ]; then
  DEBIAN_PACKAGES+=(chromium)
fi
# arm64 guests' user space, unpacked into the cache (not installed: the host's own
# busybox-static is the amd64 one). Both are static, as vng's init line needs.
ARM64_USERLAND=(busybox-static bash-static)
cache=${HOGS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hogs}

say() { printf 'setup: %s\n' "$*" >&2; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (it installs Debian packages)"
command -v apt-get >/dev/null || die "apt-get not found: this set-up is for Debian 12"

changed=0

# libstd-rust-web-dev:arm64 is a package of a foreign architecture.
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  say "[1/5] adding Debian's arm64 architecture (for arm64 packages)"
  dpkg --add-architecture arm64 || die "dpkg --add-architecture arm64 failed"
  apt-get update -q >/dev/null || die "apt-get update failed"
fi

missing=()
for p in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "[1/5] installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null || die "apt-get update failed"
  if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/hogs-setup-apt.log 2>&1; then
    # Find the package that failed so the message can name it.
    for p in "${missing[@]}"; do
      apt-get install -y -q --no-install-recommends "$p" >>/tmp/hogs-setup-apt.log 2>&1 ||
        die "could not install Debian package '$p' (log: /tmp/hogs-setup-apt.log)"
    done
  fi
  changed=1
else
  say "[1/5] Debian packages: all ${#DEBIAN_PACKAGES[@]} present"
fi

if [ "$(bindgen --version 2>/dev/null)" != "bindgen $BINDGEN_VERSION" ]; then
  say "[2/5] installing bindgen-cli $BINDGEN_VERSION with cargo (a few minutes)"
  cargo install --locked --quiet bindgen-cli --version "$BINDGEN_VERSION" ||
    die "could not install crate 'bindgen-cli' $BINDGEN_VERSION"
  changed=1
else
  say "[2/5] bindgen-cli $BINDGEN_VERSION present"
fi

if [ "$(pip3 show virtme-ng 2>/dev/null | sed -n 's/^Version: //p')" != "$VIRTME_NG_VERSION" ]; then
  say "[3/5] installing virtme-ng $VIRTME_NG_VERSION with pip"
  pip3 install --quiet --disable-pip-version-check "virtme-ng==$VIRTME_NG_VERSION" >/tmp/hogs-setup-pip.log 2>&1 ||
    die "could not install PyPI package 'virtme-ng' $VIRTME_NG_VERSION (log: /tmp/hogs-setup-pip.log)"
  hash -r
  changed=1
else
  say "[3/5] virtme-ng $VIRTME_NG_VERSION present"
fi

command -v vng >/dev/null || die "virtme-ng is installed but 'vng' is not on PATH"

missing=()
for spec in "${PYTHON_CHECKERS[@]}"; do
  [ "$(pip3 show "${spec%%==*}" 2>/dev/null | sed -n 's/^Version: //p')" = "${spec##*==}" ] || missing+=("$spec")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "[4/5] installing the output checkers with pip: ${missing[*]}"
  pip3 install --quiet --disable-pip-version-check "${missing[@]}" >>/tmp/hogs-setup-pip.log 2>&1 ||
    die "could not install ${missing[*]} from PyPI (log: /tmp/hogs-setup-pip.log)"
  changed=1
else
  say "[4/5] output checkers present (${PYTHON_CHECKERS[*]})"
fi

userland=$cache/userland-arm64
if [ ! -e "$userland/.complete" ]; then
  say "[5/5] unpacking arm64 ${ARM64_USERLAND[*]} into $userland"
  rm -rf "$userland" && mkdir -p "$userland/debs"
  (cd "$userland/debs" && apt-get download -q "${ARM64_USERLAND[@]/%/:arm64}" >/tmp/hogs-setup-apt.log 2>&1) ||
    die "could not download arm64 ${ARM64_USERLAND[*]} (log: /tmp/hogs-setup-apt.log)"
  for deb in "$userland"/debs/*.deb; do
    dpkg-deb -x "$deb" "$userland" || die "could not unpack $deb"
  done
  rm -rf "$userland/debs" && touch "$userland/.complete"
  changed=1
else
  say "[5/5] arm64 guest user space present ($userland)"
fi

if [ $changed = 0 ]; then
  say "nothing to do: everything is already installed"
else
  say "done"
fi
