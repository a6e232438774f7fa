//! The guest's root file system: a few files of our own instead of the host's `/`.
//!
//! With the host's root, virtme-ng-init runs `systemd-tmpfiles` (it finds `/etc/systemd`) and
//! starts systemd-udevd and waits for its coldplug (it finds `systemd-udevd`): measured here,
//! 4-12 s of every boot under TCG, more than the kernel's own boot, and all of it host CPU that
//! concurrent boots compete for. This root has neither. It holds a static busybox (the shell and
//! `mount` that vng's init line needs before anything is shared), the one thing the guest needs
//! from udev (the `/dev/virtio-ports/NAME` links virtme-ng-init opens for the command's I/O and
//! exit code) made by a stand-in, the guest step's static binary ([`guest_exe`], installed by
//! [`GuestRoot::install_guest_step`]), and the host's `/` read-only at [`HOST_MOUNT`], where
//! the guest reaches the plans and the modules ([`GuestRoot::guest_path`]).
//!
//! The guest's kernel mounts this root with a cache ([`ROOT_FLAGS`]); virtme-ng-init mounts
//! the host's `/` without one.

use std::ffi::OsString;
use std::fs::File;
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
const LAYOUT: u32 = 4;

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

    /// Where the guest sees a host path (made absolute from the current directory): a file of
    /// the root at its place in the root, anything else under [`HOST_MOUNT`].
    pub fn guest_path(&self, host: &Path) -> PathBuf {
        let absolute = std::path::absolute(host).unwrap_or_else(|_| host.to_path_buf());
        match absolute.strip_prefix(&self.dir) {
            Ok(inside) => Path::new("/").join(inside),
            Err(_) => Path::new(HOST_MOUNT).join(absolute.strip_prefix("/").unwrap_or(&absolute)),
        }
    }

    /// Copies the guest step's binary `exe` into the root, named by its content, and returns
    /// where the copy is on the host (the guest reaches it through the cached root mount).
    ///
    /// Written aside and renamed, so that a concurrent run never starts half a binary; copies
    /// not used for a day are removed (a guest that already started one keeps it open).
    pub fn install_guest_step(&self, exe: &Path) -> Result<PathBuf> {
        use std::hash::{Hash, Hasher};
        use std::os::unix::fs::PermissionsExt;
        let bytes = std::fs::read(exe).with_context(|| format!("cannot read {}", exe.display()))?;
        let mut hasher = std::hash::DefaultHasher::new();
        bytes.hash(&mut hasher);
        let dir = self.dir.join(GUEST_STEP_DIR);
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let installed = dir.join(format!("hogs-{:016x}", hasher.finish()));
        if installed.is_file() {
            // Touched, so that pruning counts from the last use.
            let _ = File::options()
                .append(true)
                .open(&installed)
                .and_then(|f| f.set_modified(std::time::SystemTime::now()));
        } else {
            let partial = dir.join(format!(".partial-{}", std::process::id()));
            std::fs::write(&partial, &bytes)
                .and_then(|()| {
                    std::fs::set_permissions(&partial, std::fs::Permissions::from_mode(0o755))
                })
                .and_then(|()| std::fs::rename(&partial, &installed))
                .with_context(|| format!("cannot install the guest step in {}", dir.display()))?;
        }
        prune(&dir, &installed);
        Ok(installed)
    }
}

/// Where the guest step's binaries are kept in the root.
const GUEST_STEP_DIR: &str = "guest-step";

/// Removes the binaries in `dir` other than `keep` that were last used more than a day ago.
fn prune(dir: &Path, keep: &Path) {
    let day = std::time::Duration::from_secs(24 * 3600);
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().is_ok_and(|age| age > day));
        if path != keep && old {
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// The folders of the guest's root (the host's `/` is mounted at [`HOST_MOUNT`] too).
const ROOT_DIRS: &[&str] = &[
    "bin", "sbin", "etc", "proc", "sys", "dev", "run", "tmp", "var", "opt", "srv", "home", "root",
    "mnt", "lib", "usr/lib", "usr/bin", "usr/sbin",
];

/// A `bin/` link to busybox for each applet the host's busybox lists.
fn link_applets(dir: &Path) -> Result<()> {
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
    Ok(())
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
    for sub in ROOT_DIRS
        .iter()
        .chain([&HOST_MOUNT.trim_start_matches('/')])
    {
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
    link_applets(dir)?;
    write_executable(&dir.join("sbin/udevd"), UDEVD)?;
    write_executable(&dir.join("sbin/udevadm"), UDEVADM)?;
    std::fs::write(dir.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n")?;
    std::fs::write(dir.join("etc/group"), "root:x:0:\n")?;
    std::fs::write(dir.join("etc/fstab"), "")?;
    std::fs::write(dir.join(".complete"), format!("layout {LAYOUT}\n"))?;
    Ok(())
}

/// The guest step's binary for `arch`: the project built statically for it, in
/// `target/guest-step` (cargo rebuilds only what changed), to be installed into the root
/// ([`GuestRoot::install_guest_step`]).
///
/// Static, so that it needs no library from the host's `/`, which the guest reaches only
/// through vng's uncached share: started from there, the host's dynamically linked `hogs`
/// took 0.44-0.61 s of guest time to print its version, a static copy in the cached root
/// 0.13-0.19 s (three boots each). For the host's architecture it is built with cargo's own
/// toolchain; for another, with Debian's rustc (`libstd-rust-web-dev:ARCH`) and cross linker.
pub fn guest_exe(project: &Path, arch: Arch) -> Result<PathBuf> {
    let target = arch.rust_target();
    let target_dir = project.join("target/guest-step");
    let exe = target_dir.join(target).join("release/hogs");
    if !exe.exists() {
        eprintln!(
            "hogs: building the guest step for {} (static; once, a few minutes)",
            arch.name()
        );
    }
    let log = target_dir.join(format!("build-{target}.log"));
    std::fs::create_dir_all(&target_dir)?;
    let mut cargo = std::process::Command::new("cargo");
    cargo
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
        .env("RUSTFLAGS", "-C target-feature=+crt-static");
    if Some(arch) != Arch::host() {
        let linker_var = format!(
            "CARGO_TARGET_{}_LINKER",
            target.to_uppercase().replace('-', "_")
        );
        let linker = format!(
            "{}-linux-gnu-gcc",
            target.split('-').next().unwrap_or(target)
        );
        cargo
            .env("RUSTC", "/usr/bin/rustc")
            .env(&linker_var, &linker);
    }
    let out = cargo.output().context("cannot run cargo")?;
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
             the toolchains)",
            arch.name(),
            log.display()
        );
    }
    Ok(exe)
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
    fn host_paths_are_seen_under_the_host_mount_and_the_roots_own_files_in_the_root() {
        let root = GuestRoot {
            dir: PathBuf::from("/cache/guest-root-x86_64-v4"),
        };
        assert_eq!(
            root.guest_path(Path::new("/work/main/runs/run-1/boot-1.plan.json")),
            Path::new("/host/work/main/runs/run-1/boot-1.plan.json")
        );
        let relative = root.guest_path(Path::new("runs/x"));
        assert!(relative.starts_with("/host/"), "{}", relative.display());
        assert!(relative.ends_with("runs/x"));
        assert_eq!(
            root.guest_path(Path::new("/cache/guest-root-x86_64-v4/guest-step/hogs-1")),
            Path::new("/guest-step/hogs-1")
        );
        assert_eq!(
            root.guest_path(Path::new("/cache/guest-root-x86_64-v4-old/x")),
            Path::new("/host/cache/guest-root-x86_64-v4-old/x"),
            "a sibling whose name starts like the root's is not in it"
        );
    }

    #[test]
    fn the_guest_step_is_installed_once_per_content_and_old_copies_are_pruned() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let root = GuestRoot {
            dir: tmp.path().join("root"),
        };
        let exe = tmp.path().join("hogs");
        std::fs::write(&exe, b"one").unwrap();
        let first = root.install_guest_step(&exe).unwrap();
        assert!(first.starts_with(root.dir.join(GUEST_STEP_DIR)));
        assert_eq!(std::fs::read(&first).unwrap(), b"one");
        let mode = std::fs::metadata(&first).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o755);
        assert_eq!(
            root.install_guest_step(&exe).unwrap(),
            first,
            "same content, same copy"
        );

        // A copy last used two days ago goes when another is installed; a recent one stays.
        let two_days_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(172_800);
        File::options()
            .append(true)
            .open(&first)
            .unwrap()
            .set_modified(two_days_ago)
            .unwrap();
        let recent = root.dir.join(GUEST_STEP_DIR).join("hogs-recent");
        std::fs::write(&recent, b"x").unwrap();
        std::fs::write(&exe, b"two").unwrap();
        let second = root.install_guest_step(&exe).unwrap();
        assert_ne!(second, first);
        assert_eq!(std::fs::read(&second).unwrap(), b"two");
        assert!(!first.exists(), "the old copy is pruned");
        assert!(recent.exists(), "a copy used within a day is kept");
        let names: Vec<_> = std::fs::read_dir(root.dir.join(GUEST_STEP_DIR))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "no partial file is left behind: {names:?}");
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
    fn the_root_has_the_shell_and_the_udev_stand_in_and_nothing_of_systemd() {
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
        // The guest step is static: no library of the host's is linked in.
        assert!(!dir.join("lib64").exists());
        // Made once: a second call reuses it.
        let again = GuestRoot::prepare(cache.path(), Arch::X86_64).unwrap();
        assert_eq!(again.dir(), dir);
    }
}
