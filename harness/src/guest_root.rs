//! The guest's root file system: a few files of our own instead of the host's `/`.
//!
//! With the host's root, virtme-ng-init runs `systemd-tmpfiles` (it finds `/etc/systemd`) and
//! starts systemd-udevd and waits for its coldplug (it finds `systemd-udevd`): measured here,
//! 4-12 s of every boot under TCG, more than the kernel's own boot, and all of it host CPU that
//! concurrent boots compete for. This root has neither. It holds a static busybox (the shell and
//! `mount` that vng's init line needs before anything is shared), the one thing the guest needs
//! from udev (the `/dev/virtio-ports/NAME` links virtme-ng-init opens for the command's I/O and
//! exit code) made by a stand-in, and the host's `/` read-only at [`HOST_MOUNT`], where the
//! guest reaches the `hogs` binary, its plan and the modules ([`guest_path`]).
//! The host's dynamic loader and libraries are linked in from there, so the guest runs the same
//! `hogs` binary as the host.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::kernel::Arch;

/// Where the guest sees the host's `/` (read-only).
pub const HOST_MOUNT: &str = "/host";

/// How the guest's kernel mounts this root: vng's own flags (virtme-ng 1.42) plus
/// `cache=loose`. vng mounts it uncached, so every page of every program the boot runs (busybox
/// for vng's init line and the udev stand-ins, each time one starts) was a 9p request to QEMU;
/// cached, an idle boot reached its command in 1.9-2.1 s instead of 2.7-4.4 s (three boots
/// each, guest clock). Nothing in the root changes while a guest runs (vng writes its init
/// script before QEMU starts), so nothing cached can go stale. The kernel keeps the last
/// `rootflags=` of its command line, and `--append` comes after vng's own.
const ROOT_FLAGS: &str =
    "rootflags=version=9p2000.L,trans=virtio,access=any,msize=524288,cache=loose";

/// Bump when the layout below changes: a root of another layout is never reused.
const LAYOUT: u32 = 3;

/// The host's busybox: the root's user space on the host's architecture, and the list of its
/// applets on every architecture (Debian builds the same version for each).
const BUSYBOX: &str = "/bin/busybox";

/// Where `scripts/setup.sh` unpacks another architecture's static busybox and bash (under the
/// cache). vng starts a foreign guest with its bash `virtme-init`, not virtme-ng-init.
fn userland(cache: &Path, arch: Arch) -> PathBuf {
    cache.join(format!("userland-{}", arch.name()))
}

/// Stand-in for systemd-udevd, run by virtme-ng-init as `udevd --daemon`: makes the links that
/// udev's default rule (`SUBSYSTEM=="virtio-ports", SYMLINK+="virtio-ports/$attr{name}"`) would.
const UDEVD: &str = r#"#!/bin/sh
# hogs guest root: not udev. virtme-ng-init needs only /dev/virtio-ports/NAME.
mkdir -p /dev/virtio-ports
for port in /sys/class/virtio-ports/*; do
  # read, not $(cat): a fork and an exec over 9p per port is measurable under TCG
  read -r name < "$port/name" 2>/dev/null || continue
  [ -n "$name" ] && ln -sf "../${port##*/}" "/dev/virtio-ports/$name"
done
exit 0
"#;

/// Stand-in for `udevadm trigger` and `udevadm settle`: the links exist once `udevd` returned.
const UDEVADM: &str = "#!/bin/sh\nexit 0\n";

/// A prepared guest root.
#[derive(Debug, Clone)]
pub struct GuestRoot {
    dir: PathBuf,
}

impl GuestRoot {
    /// The root for `arch` under `cache`, made on first use.
    pub fn prepare(cache: &Path, arch: Arch) -> Result<GuestRoot> {
        let name = arch.name();
        let dir = cache.join(format!("guest-root-{name}-v{LAYOUT}"));
        if dir.join(".complete").is_file() {
            return Ok(GuestRoot { dir });
        }
        std::fs::create_dir_all(cache)
            .with_context(|| format!("cannot create {}", cache.display()))?;
        // Built aside and renamed, so that concurrent runs never see half a root.
        let partial = cache.join(format!(".guest-root-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&partial);
        build(&partial, arch, cache)
            .with_context(|| format!("cannot make the guest root in {}", partial.display()))?;
        if let Err(e) = std::fs::rename(&partial, &dir) {
            let _ = std::fs::remove_dir_all(&partial);
            // Another run made it first.
            if !dir.join(".complete").is_file() {
                return Err(e).with_context(|| format!("cannot create {}", dir.display()));
            }
        }
        Ok(GuestRoot { dir })
    }

    /// The root's directory on the host.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// vng's arguments that boot with this root, mounted with [`ROOT_FLAGS`], and share the
    /// host's `/` at [`HOST_MOUNT`].
    pub fn vng_args(&self) -> Vec<OsString> {
        vec![
            "--root".into(),
            self.dir.clone().into(),
            "--append".into(),
            ROOT_FLAGS.into(),
            "--rodir".into(),
            format!("{HOST_MOUNT}=/").into(),
        ]
    }
}

/// Where the guest sees a host path (made absolute from the current directory).
pub fn guest_path(host: &Path) -> PathBuf {
    let absolute = std::path::absolute(host).unwrap_or_else(|_| host.to_path_buf());
    let relative = absolute.strip_prefix("/").unwrap_or(&absolute);
    Path::new(HOST_MOUNT).join(relative)
}

fn build(dir: &Path, arch: Arch, cache: &Path) -> Result<()> {
    let native = Some(arch) == Arch::host();
    let foreign = userland(cache, arch);
    let busybox = if native {
        PathBuf::from(BUSYBOX)
    } else {
        foreign.join("bin/busybox")
    };
    if !is_static_elf(Path::new(BUSYBOX))? || !is_static_elf(&busybox)? {
        bail!(
            "{} is not statically linked: install busybox-static (scripts/setup.sh)",
            busybox.display()
        );
    }
    for sub in [
        "bin",
        "sbin",
        "etc",
        "proc",
        "sys",
        "dev",
        "run",
        "tmp",
        "var",
        "opt",
        "srv",
        "home",
        "root",
        "mnt",
        "lib",
        "usr/lib",
        "usr/bin",
        "usr/sbin",
        HOST_MOUNT.trim_start_matches('/'),
    ] {
        std::fs::create_dir_all(dir.join(sub))?;
    }
    std::fs::copy(&busybox, dir.join("bin/busybox"))?;
    if !native {
        let bash = foreign.join("bin/bash-static");
        if !is_static_elf(&bash)? {
            bail!("{} is not statically linked", bash.display());
        }
        std::fs::copy(&bash, dir.join("bin/bash"))?;
    }
    // vng's bash init starts with `#!/usr/bin/env bash`.
    std::os::unix::fs::symlink("../../bin/busybox", dir.join("usr/bin/env"))?;
    let listed = std::process::Command::new(BUSYBOX)
        .arg("--list")
        .output()
        .with_context(|| format!("cannot run {BUSYBOX} --list"))?;
    if !listed.status.success() {
        bail!("{BUSYBOX} --list failed ({})", listed.status);
    }
    for applet in String::from_utf8_lossy(&listed.stdout).lines() {
        let applet = applet.trim();
        let link = dir.join("bin").join(applet);
        // Its list names `busybox` itself; udev's names belong to the stand-ins in sbin.
        if applet.is_empty() || applet.contains('/') || applet.starts_with("udev") || link.exists()
        {
            continue;
        }
        std::os::unix::fs::symlink("busybox", link)?;
    }
    write_executable(&dir.join("sbin/udevd"), UDEVD)?;
    write_executable(&dir.join("sbin/udevadm"), UDEVADM)?;
    std::fs::write(dir.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n")?;
    std::fs::write(dir.join("etc/group"), "root:x:0:\n")?;
    std::fs::write(dir.join("etc/fstab"), "")?;
    if native {
        // The host's loader and libraries, for the host's `hogs` binary (Debian's multiarch
        // layout). A foreign guest runs a static `hogs` ([`guest_exe`]).
        let triplet = format!("{}-linux-gnu", std::env::consts::ARCH);
        let host = |p: &str| Path::new(HOST_MOUNT).join(p);
        std::os::unix::fs::symlink(host("lib64"), dir.join("lib64"))?;
        for lib in ["lib", "usr/lib"] {
            let path = format!("{lib}/{triplet}");
            std::os::unix::fs::symlink(host(&path), dir.join(&path))?;
        }
    }
    std::fs::write(dir.join(".complete"), format!("layout {LAYOUT}\n"))?;
    Ok(())
}

/// The `hogs` binary the guest runs: this one on the host's architecture; for another, the
/// project built for it, statically, with Debian's rustc (`libstd-rust-web-dev:ARCH`) and cross
/// linker, in `target/cross` (cargo rebuilds only what changed).
pub fn guest_exe(project: &Path, arch: Arch) -> Result<PathBuf> {
    if Some(arch) == Arch::host() {
        return std::env::current_exe().context("cannot find the hogs binary");
    }
    let target = arch.rust_target();
    let target_dir = project.join("target/cross");
    let linker_var = format!(
        "CARGO_TARGET_{}_LINKER",
        target.to_uppercase().replace('-', "_")
    );
    let linker = format!(
        "{}-linux-gnu-gcc",
        target.split('-').next().unwrap_or(target)
    );
    let log = target_dir.join(format!("build-{target}.log"));
    std::fs::create_dir_all(&target_dir)?;
    let out = std::process::Command::new("cargo")
        .current_dir(project)
        .args([
            "build",
            "--release",
            "--quiet",
            "--bin",
            "hogs",
            "--target",
            target,
        ])
        .arg("--target-dir")
        .arg(&target_dir)
        .env("RUSTC", "/usr/bin/rustc")
        .env(&linker_var, &linker)
        .env("RUSTFLAGS", "-C target-feature=+crt-static")
        .output()
        .context("cannot run cargo")?;
    std::fs::write(
        &log,
        [out.stdout.as_slice(), out.stderr.as_slice()].concat(),
    )?;
    if !out.status.success() {
        let text = String::from_utf8_lossy(&out.stderr);
        let first = text
            .lines()
            .find(|l| l.starts_with("error"))
            .unwrap_or("cargo failed");
        bail!(
            "building the guest step for {} failed: {first} (log: {}; scripts/setup.sh installs \
             the cross toolchain)",
            arch.name(),
            log.display()
        );
    }
    Ok(target_dir.join(target).join("release/hogs"))
}

fn write_executable(path: &Path, text: &str) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))?;
    Ok(())
}

/// Whether an ELF file has no program interpreter (`PT_INTERP`): it runs before any library is
/// reachable, as vng's init line does.
fn is_static_elf(path: &Path) -> Result<bool> {
    let bytes = std::fs::read(path).with_context(|| {
        format!(
            "no {}: install busybox-static (scripts/setup.sh)",
            path.display()
        )
    })?;
    const PT_INTERP: u32 = 3;
    let word = |at: usize, len: usize| -> Option<u64> {
        let b = bytes.get(at..at + len)?;
        Some(
            b.iter()
                .rev()
                .fold(0u64, |acc, &x| (acc << 8) | u64::from(x)),
        )
    };
    // ELF64, little-endian: the only kind this host runs.
    if bytes.get(..6) != Some(b"\x7fELF\x02\x01".as_slice()) {
        bail!("{} is not a 64-bit little-endian ELF file", path.display());
    }
    let bad = || anyhow::anyhow!("{} is a truncated ELF file", path.display());
    let phoff = word(0x20, 8).ok_or_else(bad)? as usize;
    let phentsize = word(0x36, 2).ok_or_else(bad)? as usize;
    let phnum = word(0x38, 2).ok_or_else(bad)? as usize;
    for i in 0..phnum {
        let kind = word(phoff + i * phentsize, 4).ok_or_else(bad)?;
        if kind == u64::from(PT_INTERP) {
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_paths_are_seen_under_the_host_mount() {
        assert_eq!(
            guest_path(Path::new("/work/main/runs/run-1/boot-1.plan.json")),
            Path::new("/host/work/main/runs/run-1/boot-1.plan.json")
        );
        let relative = guest_path(Path::new("runs/x"));
        assert!(relative.starts_with("/host/"), "{}", relative.display());
        assert!(relative.ends_with("runs/x"));
    }

    #[test]
    fn a_dynamically_linked_program_is_not_taken_for_busybox() {
        // This test's own binary has an interpreter; a shell script is not ELF at all.
        let exe = std::env::current_exe().unwrap();
        assert!(!is_static_elf(&exe).unwrap());
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("sh");
        std::fs::write(&script, "#!/bin/sh\n").unwrap();
        assert!(is_static_elf(&script).is_err());
        assert!(is_static_elf(&dir.path().join("missing")).is_err());
    }

    #[test]
    fn a_foreign_root_needs_the_set_up_s_userland() {
        let cache = tempfile::tempdir().unwrap();
        let err = format!(
            "{:#}",
            GuestRoot::prepare(cache.path(), Arch::Arm64).unwrap_err()
        );
        assert!(err.contains("userland-arm64/bin/busybox"), "{err}");
        assert!(err.contains("scripts/setup.sh"), "{err}");
    }

    #[test]
    fn the_root_has_the_shell_the_udev_stand_in_and_the_host_libraries() {
        assert_eq!(
            Arch::host(),
            Some(Arch::X86_64),
            "the tests run on x86_64 hosts"
        );
        if !Path::new(BUSYBOX).exists() {
            panic!("{BUSYBOX} missing: scripts/setup.sh installs busybox-static");
        }
        let cache = tempfile::tempdir().unwrap();
        let root = GuestRoot::prepare(cache.path(), Arch::X86_64).unwrap();
        let dir = root.dir();
        assert_eq!(
            std::fs::read_link(dir.join("bin/sh")).unwrap(),
            Path::new("busybox")
        );
        assert!(is_static_elf(&dir.join("bin/busybox")).unwrap());
        assert!(std::fs::read_to_string(dir.join("sbin/udevd"))
            .unwrap()
            .contains("/dev/virtio-ports/$name"));
        assert!(dir.join("sbin/udevadm").is_file());
        assert!(!dir.join("bin/udevadm").exists() && !dir.join("bin/udevd").exists());
        // Nothing that would make virtme-ng-init run systemd's tools.
        assert!(!dir.join("etc/systemd").exists());
        assert!(!dir.join("lib/systemd").exists());
        assert_eq!(
            std::fs::read_link(dir.join("lib64")).unwrap(),
            Path::new("/host/lib64")
        );
        // Made once: a second call reuses it.
        let again = GuestRoot::prepare(cache.path(), Arch::X86_64).unwrap();
        assert_eq!(again.dir(), dir);
    }
}
