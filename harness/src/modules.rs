//! Builds the hog modules against a kernel, in a copy of `Kbuild` + `hogs/` kept per kernel in the
//! cache, so several kernels never share (or clobber) one set of objects.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::kernel::Kernel;
use crate::scenario::Scenario;

/// The built `.ko` files for one kernel.
#[derive(Debug, Clone)]
pub struct Modules {
    pub dir: PathBuf,
}

/// How the modules are built: Debian's rustc (rustup's has no rust-src) and, for the lint pass,
/// its clippy-driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lint {
    None,
    Clippy,
}

/// `make -C KDIR M=DIR` for `kernel`'s architecture: the kernel's build of the hogs in `dir`.
fn kbuild(kernel: &Kernel, dir: &Path) -> Command {
    let mut make = Command::new("make");
    make.arg("-C")
        .arg(&kernel.dir)
        .arg(format!("M={}", dir.display()))
        .args(kernel.arch.make_args());
    make
}

impl Modules {
    /// Builds every hog for `kernel`. Any compiler warning is an error: learners read these files.
    pub fn build(root: &Path, kernel: &Kernel, cache: &Path, lint: Lint) -> Result<Modules> {
        let key = kernel.dir.to_string_lossy().replace('/', "_");
        let dir = cache
            .join("modules")
            .join(format!("{}{}", kernel.release, key));
        sync_tree(&root.join("Kbuild"), &dir.join("Kbuild"))?;
        sync_dir(&root.join("hogs"), &dir.join("hogs"))?;

        let log = dir.join(if lint == Lint::Clippy {
            "build-clippy.log"
        } else {
            "build.log"
        });
        let mut make = kbuild(kernel, &dir);
        // What CONFIG_WERROR adds, so a warning fails on any kernel, WERROR or not.
        make.args([
            "RUSTC=/usr/bin/rustc",
            "LLVM=",
            "KRUSTFLAGS=-Dwarnings",
            "-j2",
        ]);
        if lint == Lint::Clippy {
            // clippy only sees what is compiled: start from a clean tree.
            let _ = kbuild(kernel, &dir).arg("clean").output();
            // rustup's clippy-driver (for another rustc) comes first in PATH.
            make.args(["CLIPPY=1", "CLIPPY_DRIVER=/usr/bin/clippy-driver"]);
        }
        let out = make.output().context("cannot run make")?;
        let text = [out.stdout.as_slice(), out.stderr.as_slice()].concat();
        std::fs::write(&log, &text)?;
        let text = String::from_utf8_lossy(&text);
        if !out.status.success() {
            let first = text
                .lines()
                .find(|l| l.contains("error"))
                .unwrap_or("make failed");
            bail!("building the hogs failed: {first} (log: {})", log.display());
        }
        if let Some(w) = text.lines().find(|l| l.contains("warning")) {
            bail!(
                "building the hogs gave a warning: {} (log: {})",
                w.trim(),
                log.display()
            );
        }
        let modules = Modules { dir };
        let built = modules.list()?;
        if built.is_empty() {
            bail!("building the hogs produced no .ko (log: {})", log.display());
        }
        Ok(modules)
    }

    /// The `.ko` of a module, if it was built.
    pub fn path(&self, module: &str) -> Result<PathBuf> {
        let ko = self.dir.join("hogs").join(format!("{module}.ko"));
        if !ko.is_file() {
            bail!(
                "no module {module}: {} was not built (is it in Kbuild?)",
                ko.display()
            );
        }
        Ok(ko)
    }

    /// The parameters `module` declares, with their types (`secs` -> `uint`), as its
    /// `.modinfo` holds them (`parmtype=secs:uint`, what `modinfo` prints): the hog's own word
    /// on what a scenario may pass it.
    pub fn params(&self, module: &str) -> Result<Vec<(String, String)>> {
        let ko = self.path(module)?;
        let bytes = std::fs::read(&ko).with_context(|| format!("cannot read {}", ko.display()))?;
        Ok(declared_params(&bytes))
    }

    /// Every scenario's parameters are ones its hog declares: a misspelt one is an error naming
    /// the file before anything boots, not an `insmod` failure inside a guest.
    pub fn check_params(&self, scenarios: &[Scenario]) -> Result<()> {
        for s in scenarios {
            let declared = self.params(&s.module)?;
            if let Some(p) = s
                .params
                .keys()
                .find(|p| !declared.iter().any(|(name, _)| name == *p))
            {
                let names: Vec<&str> = declared.iter().map(|(n, _)| n.as_str()).collect();
                bail!(
                    "{}: params.{p} is not a parameter of {} (it has: {})",
                    s.path.display(),
                    s.module,
                    names.join(", ")
                );
            }
        }
        Ok(())
    }

    pub fn list(&self) -> Result<Vec<String>> {
        let mut names: Vec<String> = std::fs::read_dir(self.dir.join("hogs"))?
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                e.file_name()
                    .to_str()?
                    .strip_suffix(".ko")
                    .map(str::to_owned)
            })
            .collect();
        names.sort();
        Ok(names)
    }
}

/// The `parmtype=NAME:TYPE` strings of a module's `.modinfo`, in order.
fn declared_params(ko: &[u8]) -> Vec<(String, String)> {
    const TAG: &[u8] = b"parmtype=";
    memchr::memmem::find_iter(ko, TAG)
        .filter_map(|at| {
            let rest = &ko[at + TAG.len()..];
            let entry = &rest[..memchr::memchr(0, rest)?];
            let (name, kind) = std::str::from_utf8(entry).ok()?.split_once(':')?;
            Some((name.to_owned(), kind.to_owned()))
        })
        .collect()
}

/// Copies a file only when its content changed, so make's timestamps stay meaningful.
fn sync_tree(from: &Path, to: &Path) -> Result<()> {
    let new = std::fs::read(from).with_context(|| format!("cannot read {}", from.display()))?;
    if std::fs::read(to).ok().as_deref() != Some(new.as_slice()) {
        std::fs::create_dir_all(to.parent().context("no parent")?)?;
        std::fs::write(to, new)?;
    }
    Ok(())
}

fn sync_dir(from: &Path, to: &Path) -> Result<()> {
    for entry in
        std::fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))?
    {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            sync_dir(&path, &to.join(entry.file_name()))?;
        } else if path.extension().is_some_and(|x| x == "rs") || entry.file_name() == "Kbuild" {
            sync_tree(&path, &to.join(entry.file_name()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_modules_parameters_come_from_its_modinfo() {
        let ko = b"\x7fELF...license=GPL\0parmtype=secs:uint\0parm=secs:How long\0parmtype=cpu:int\0junk";
        assert_eq!(
            declared_params(ko),
            [("secs".into(), "uint".into()), ("cpu".into(), "int".into())]
        );
        assert!(declared_params(b"no modinfo here").is_empty());
    }
}
