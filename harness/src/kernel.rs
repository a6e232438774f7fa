//! Which kernel the suite runs on: the default one built by `scripts/build-kernel.sh`, or a
//! developer's own tree, validated before anything boots.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

/// A built kernel tree (in-tree or `O=` build directory) the suite can boot and build modules for.
#[derive(Debug, Clone)]
pub struct Kernel {
    pub dir: PathBuf,
    /// `uname -r` of the kernel, from `include/config/kernel.release`.
    pub release: String,
    /// What it was built for, from its `.config`.
    pub arch: Arch,
    config: HashMap<String, String>,
}

/// The architectures the suite boots: everything that differs between them, in one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    /// The host's own; under TCG, no PMU: the buddy hard lockup detector.
    X86_64,
    /// Cross-built and emulated (QEMU's virt machine, GICv3): a PMU, so the perf hard lockup
    /// detector, its overflow delivered as a pseudo-NMI.
    Arm64,
}

impl Arch {
    /// The kernel's name for it (`ARCH=`), as the outputs name it.
    pub fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Arm64 => "arm64",
        }
    }

    /// `x86_64`/`x86-64`/`amd64`, `arm64`/`aarch64`.
    pub fn parse(text: &str) -> Option<Arch> {
        match text {
            "x86_64" | "x86-64" | "amd64" => Some(Arch::X86_64),
            "arm64" | "aarch64" => Some(Arch::Arm64),
            _ => None,
        }
    }

    /// The kernel image `vng --run` boots, relative to the build directory.
    pub fn image(self) -> &'static str {
        match self {
            Arch::X86_64 => "arch/x86/boot/bzImage",
            Arch::Arm64 => "arch/arm64/boot/Image",
        }
    }

    /// What `make` needs to build for it (modules against its tree).
    pub fn make_args(self) -> &'static [&'static str] {
        match self {
            Arch::X86_64 => &[],
            Arch::Arm64 => &["ARCH=arm64", "CROSS_COMPILE=aarch64-linux-gnu-"],
        }
    }

    /// vng's arguments: the emulated machine. arm64: vng's `virt` machine has a GICv2, which has
    /// no pseudo-NMIs; `gic-version=3` merges into it.
    pub fn vng_args(self) -> Vec<String> {
        match self {
            Arch::X86_64 => Vec::new(),
            Arch::Arm64 => vec![
                "--arch".into(),
                "arm64".into(),
                "--qemu-opts=-machine gic-version=3".into(),
            ],
        }
    }

    /// Kernel arguments every boot of this architecture gets, before the scenario's own.
    ///
    /// arm64: pseudo-NMIs, without which the perf detector's PMU interrupt is a normal one that
    /// a CPU with interrupts off never takes; and no automatic lowering of perf's sampling rate
    /// (`perf_cpu_time_max_percent=0`). The perf detector prints its hard lockup report from
    /// its NMI handler, which on an emulated serial console, the host busy, took up to 448 ms
    /// of guest time; perf then cut `perf_event_max_sample_rate` to 250, throttled the
    /// watchdog's own event, and every later hard lockup of the boot went unreported (two
    /// FAILs in a six-kernel run at four boots per CPU). One scenario's report must not decide
    /// the next one's verdict.
    pub fn boot_args(self) -> &'static [&'static str] {
        match self {
            Arch::X86_64 => &[],
            Arch::Arm64 => &[
                "irqchip.gicv3_pseudo_nmi=1",
                "sysctl.kernel.perf_cpu_time_max_percent=0",
            ],
        }
    }

    /// The Rust target of the guest step's binary.
    pub fn rust_target(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64-unknown-linux-gnu",
            Arch::Arm64 => "aarch64-unknown-linux-gnu",
        }
    }

    /// The architecture of the machine the harness runs on.
    pub fn host() -> Option<Arch> {
        Arch::parse(std::env::consts::ARCH)
    }
}

/// The kernel's preemption model, as `/sys/kernel/debug/sched/preempt` or the boot log names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Preempt {
    None,
    Voluntary,
    Full,
    Lazy,
}

impl Preempt {
    pub fn parse(word: &str) -> Option<Preempt> {
        match word.trim().to_ascii_lowercase().as_str() {
            "none" => Some(Preempt::None),
            "voluntary" => Some(Preempt::Voluntary),
            "full" => Some(Preempt::Full),
            "lazy" => Some(Preempt::Lazy),
            _ => None,
        }
    }
}

impl fmt::Display for Preempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Preempt::None => "none",
            Preempt::Voluntary => "voluntary",
            Preempt::Full => "full",
            Preempt::Lazy => "lazy",
        })
    }
}

/// What the suite needs of a kernel, and what goes wrong without it.
const REQUIRED: &[(&str, &str)] = &[
    ("CONFIG_RUST", "the hogs are Rust modules"),
    ("CONFIG_MODULES", "the hogs are loadable modules"),
    (
        "CONFIG_MODULE_UNLOAD",
        "hogs are unloaded between scenarios",
    ),
    (
        "CONFIG_SOFTLOCKUP_DETECTOR",
        "soft lockup scenarios cannot run",
    ),
    (
        "CONFIG_HARDLOCKUP_DETECTOR",
        "hard lockup scenarios cannot run",
    ),
    ("CONFIG_KALLSYMS", "reports would name no functions"),
    ("CONFIG_PRINTK_TIME", "detection latency cannot be measured"),
    (
        "CONFIG_VIRTIO_CONSOLE",
        "virtme-ng cannot talk to the guest",
    ),
    (
        "CONFIG_NET_9P_VIRTIO",
        "virtme-ng cannot share the host's root",
    ),
];

impl Kernel {
    /// Validates a developer's tree; each missing piece is a one-line error naming it.
    pub fn open(dir: &Path) -> Result<Kernel> {
        let shown = dir.display();
        if !dir.is_dir() {
            bail!("kernel at {shown}: no such directory");
        }
        let config_text = std::fs::read_to_string(dir.join(".config"))
            .map_err(|_| anyhow::anyhow!("kernel at {shown} is not configured: no .config"))?;
        let config = parse_config(&config_text);
        let arch = if config.contains_key("CONFIG_X86_64") {
            Arch::X86_64
        } else if config.contains_key("CONFIG_ARM64") {
            Arch::Arm64
        } else {
            bail!("kernel at {shown} is neither x86_64 nor arm64: the suite boots only those");
        };
        if !dir.join(arch.image()).is_file() {
            bail!(
                "kernel at {shown} is not built: no {} (run make)",
                arch.image()
            );
        }
        for (option, consequence) in REQUIRED {
            if config.get(*option).map(String::as_str) != Some("y") {
                bail!("kernel at {shown} lacks {option}: {consequence}");
            }
        }
        if !dir.join("Module.symvers").is_file() {
            bail!("kernel at {shown} has no Module.symvers: its build did not finish (run make)");
        }
        let release = std::fs::read_to_string(dir.join("include/config/kernel.release"))
            .map(|s| s.trim().to_owned())
            .map_err(|_| {
                anyhow::anyhow!("kernel at {shown} has no include/config/kernel.release: run make")
            })?;
        Ok(Kernel {
            dir: dir.to_owned(),
            release,
            arch,
            config,
        })
    }

    /// Builds (or finds in the cache) a Debian kernel series (6.12, 7.3) with the project's script.
    pub fn series_build(root: &Path, series: &str) -> Result<Kernel> {
        let script = root.join("scripts/build-kernel.sh");
        let out = Command::new("bash")
            .arg(&script)
            .arg(series)
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .with_context(|| format!("cannot run {}", script.display()))?;
        if !out.status.success() {
            bail!("building Linux {series} failed (see the messages above)");
        }
        let dir = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        Kernel::open(Path::new(&dir))
    }

    pub fn option(&self, name: &str) -> Option<&str> {
        self.config.get(name).map(String::as_str)
    }

    pub fn image(&self) -> PathBuf {
        self.dir.join(self.arch.image())
    }
}

fn parse_config(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .filter(|(k, _)| k.starts_with("CONFIG_"))
        .map(|(k, v)| (k.to_owned(), v.trim_matches('"').to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(config: &str, bzimage: bool, symvers: bool) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join(".config"), config).unwrap();
        if bzimage {
            std::fs::create_dir_all(d.path().join("arch/x86/boot")).unwrap();
            std::fs::write(d.path().join("arch/x86/boot/bzImage"), "").unwrap();
        }
        if symvers {
            std::fs::write(d.path().join("Module.symvers"), "").unwrap();
            std::fs::create_dir_all(d.path().join("include/config")).unwrap();
            std::fs::write(d.path().join("include/config/kernel.release"), "6.12.117\n").unwrap();
        }
        d
    }

    fn full_config() -> String {
        let mut config: String = REQUIRED.iter().map(|(o, _)| format!("{o}=y\n")).collect();
        config.push_str("CONFIG_X86_64=y\n");
        config
    }

    fn err(d: &tempfile::TempDir) -> String {
        Kernel::open(d.path()).unwrap_err().to_string()
    }

    #[test]
    fn missing_pieces_are_named() {
        let missing = Kernel::open(Path::new("/nonexistent/linux"))
            .unwrap_err()
            .to_string();
        assert_eq!(missing, "kernel at /nonexistent/linux: no such directory");
        let d = tree(&full_config(), false, false);
        assert!(err(&d).ends_with("is not built: no arch/x86/boot/bzImage (run make)"));
        let d = tree(
            &full_config().replace("CONFIG_RUST=y\n", "# CONFIG_RUST is not set\n"),
            true,
            true,
        );
        assert!(
            err(&d).ends_with("lacks CONFIG_RUST: the hogs are Rust modules"),
            "{}",
            err(&d)
        );
        let d = tree(
            &full_config().replace("CONFIG_HARDLOCKUP_DETECTOR=y\n", ""),
            true,
            true,
        );
        assert!(
            err(&d).ends_with("lacks CONFIG_HARDLOCKUP_DETECTOR: hard lockup scenarios cannot run")
        );
        let d = tree(&full_config(), true, false);
        assert!(err(&d).contains("no Module.symvers"));
        let d = tree(&full_config(), true, true);
        let kernel = Kernel::open(d.path()).unwrap();
        assert_eq!(kernel.release, "6.12.117");
        assert_eq!(kernel.arch, Arch::X86_64);
        // An arm64 tree needs its own image; another architecture is refused by name.
        let d = tree(
            &full_config().replace("CONFIG_X86_64", "CONFIG_ARM64"),
            true,
            true,
        );
        assert!(err(&d).ends_with("is not built: no arch/arm64/boot/Image (run make)"));
        let d = tree(
            &full_config().replace("CONFIG_X86_64", "CONFIG_RISCV"),
            true,
            true,
        );
        assert!(err(&d).ends_with("is neither x86_64 nor arm64: the suite boots only those"));
    }
}
