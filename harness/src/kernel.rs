//! Which kernel the suite runs on: the default one built by `scripts/build-kernel.sh`, or a
//! developer's own tree, validated before anything boots.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

/// A built kernel tree (in-tree or `O=` build directory) the suite can boot and build modules for.
#[derive(Debug, Clone)]
pub struct Kernel {
    pub dir: PathBuf,
    /// `uname -r` of the kernel, from `include/config/kernel.release`.
    pub release: String,
    config: HashMap<String, String>,
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
        if !dir.join("arch/x86/boot/bzImage").is_file() {
            bail!("kernel at {shown} is not built: no arch/x86/boot/bzImage (run make)");
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

    pub fn bzimage(&self) -> PathBuf {
        self.dir.join("arch/x86/boot/bzImage")
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
        REQUIRED.iter().map(|(o, _)| format!("{o}=y\n")).collect()
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
        assert_eq!(Kernel::open(d.path()).unwrap().release, "6.12.117");
    }
}
