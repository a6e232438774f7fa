//! The guest step: `hogs guest --plan FILE` runs inside the VM (virtme-ng shares the host's root,
//! so it is this very binary). It marks each scenario in the kernel log, loads the hog, waits,
//! unloads it, and prints one JSON line per step on stdout.

use std::ffi::CString;
use std::fs::OpenOptions;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

/// Marker lines the guest writes to the kernel log; the runner finds them with the parser's
/// line splitter. Kept here so both sides share one spelling.
pub mod mark {
    pub const READY: &str = "hogs: guest ready";
    pub const BEGIN: &str = "hogs: begin ";
    pub const END: &str = "hogs: end ";
    pub const DONE: &str = "hogs: guest done";
    /// The hogs print this when their loop starts (`hog_busy: hogging CPU 1 ...`).
    pub const HOGGING: &str = ": hogging CPU";
}

/// One scenario's work in the guest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Step {
    pub scenario: String,
    pub module: PathBuf,
    pub params: String,
    pub wait_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    pub steps: Vec<Step>,
}

/// What the guest reports of a step on stdout.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StepReport {
    pub scenario: String,
    /// `None` when the module loaded, else the error.
    pub load_error: Option<String>,
    pub unload_error: Option<String>,
}

/// What the boot check reports.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BootFacts {
    pub release: String,
    pub nmi_watchdog: Option<String>,
    pub soft_watchdog: Option<String>,
    pub watchdog_thresh: Option<String>,
    pub preempt: Option<String>,
    pub config_rust: bool,
    pub config_buddy: bool,
}

pub fn run_plan(plan_path: &Path) -> Result<()> {
    let plan: Plan = serde_json::from_slice(&std::fs::read(plan_path)?).context("bad plan")?;
    let preempt = preempt_model().unwrap_or_else(|| "unknown".into());
    kmsg(&format!("{} preempt={preempt}", mark::READY))?;
    for step in &plan.steps {
        let report = run_step(step)?;
        println!("{}", serde_json::to_string(&report)?);
        std::io::stdout().flush()?;
    }
    kmsg(mark::DONE)?;
    Ok(())
}

fn run_step(step: &Step) -> Result<StepReport> {
    let name = module_name(&step.module)?;
    kmsg(&format!(
        "{}{} module={name} params={}",
        mark::BEGIN,
        step.scenario,
        step.params
    ))?;
    let load_error = load_module(&step.module, &step.params)
        .err()
        .map(|e| e.to_string());
    let unload_error = if load_error.is_none() {
        std::thread::sleep(Duration::from_secs(step.wait_secs));
        unload_module(&name, Duration::from_secs(30))
            .err()
            .map(|e| e.to_string())
    } else {
        None
    };
    let status = match (&load_error, &unload_error) {
        (Some(e), _) => format!("load failed: {e}"),
        (None, Some(e)) => format!("unload failed: {e}"),
        (None, None) => "ok".into(),
    };
    kmsg(&format!("{}{} {status}", mark::END, step.scenario))?;
    Ok(StepReport {
        scenario: step.scenario.clone(),
        load_error,
        unload_error,
    })
}

/// Prints what the boot check needs to know, as one JSON line.
pub fn boot_check() -> Result<()> {
    let read = |p: &str| std::fs::read_to_string(p).ok().map(|s| s.trim().to_owned());
    let config = read_config_gz().unwrap_or_default();
    let has = |opt: &str| config.lines().any(|l| l == format!("{opt}=y"));
    let facts = BootFacts {
        release: read("/proc/sys/kernel/osrelease").unwrap_or_default(),
        nmi_watchdog: read("/proc/sys/kernel/nmi_watchdog"),
        soft_watchdog: read("/proc/sys/kernel/soft_watchdog"),
        watchdog_thresh: read("/proc/sys/kernel/watchdog_thresh"),
        preempt: preempt_model(),
        config_rust: has("CONFIG_RUST"),
        config_buddy: has("CONFIG_HARDLOCKUP_DETECTOR_BUDDY"),
    };
    println!("{}", serde_json::to_string(&facts)?);
    Ok(())
}

fn read_config_gz() -> Option<String> {
    use std::io::Read;
    let file = std::fs::File::open("/proc/config.gz").ok()?;
    let mut text = String::new();
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut text)
        .ok()?;
    Some(text)
}

/// The preemption model: debugfs shows it as `none (voluntary) full`.
fn preempt_model() -> Option<String> {
    const FILE: &str = "/sys/kernel/debug/sched/preempt";
    if !Path::new(FILE).exists() {
        let (src, target, fs) = (c"debugfs", c"/sys/kernel/debug", c"debugfs");
        // SAFETY: all pointers are valid NUL-terminated strings; a failed mount is harmless here.
        unsafe {
            libc::mount(
                src.as_ptr(),
                target.as_ptr(),
                fs.as_ptr(),
                0,
                std::ptr::null(),
            );
        }
    }
    let text = std::fs::read_to_string(FILE).ok()?;
    let start = text.find('(')?;
    let end = text[start..].find(')')? + start;
    Some(text[start + 1..end].to_owned())
}

/// Writes a line to the kernel log, so markers and reports share one clock and one order.
fn kmsg(message: &str) -> Result<()> {
    let mut kmsg = OpenOptions::new()
        .write(true)
        .open("/dev/kmsg")
        .context("cannot open /dev/kmsg")?;
    // <5> = KERN_NOTICE: above the default console log level, so the marker reaches the console.
    kmsg.write_all(format!("<5>{message}\n").as_bytes())?;
    Ok(())
}

fn module_name(path: &Path) -> Result<String> {
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .context("bad module path")?;
    Ok(stem.to_owned())
}

fn load_module(path: &Path, params: &str) -> Result<()> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let params = CString::new(params)?;
    // SAFETY: the fd is open for the duration of the call and params is NUL-terminated.
    let rc = unsafe { libc::syscall(libc::SYS_finit_module, file.as_raw_fd(), params.as_ptr(), 0) };
    if rc != 0 {
        let err = std::io::Error::last_os_error();
        bail!("finit_module({}): {err}", path.display());
    }
    Ok(())
}

/// Unloads a module, retrying while it is busy (its threads may still be finishing).
fn unload_module(name: &str, patience: Duration) -> Result<()> {
    let cname = CString::new(name)?;
    let start = Instant::now();
    loop {
        // SAFETY: cname is a valid NUL-terminated string.
        let rc =
            unsafe { libc::syscall(libc::SYS_delete_module, cname.as_ptr(), libc::O_NONBLOCK) };
        if rc == 0 {
            return Ok(());
        }
        let err = std::io::Error::last_os_error();
        let busy = matches!(err.raw_os_error(), Some(libc::EBUSY) | Some(libc::EAGAIN));
        if !busy || start.elapsed() > patience {
            bail!("delete_module({name}): {err}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
