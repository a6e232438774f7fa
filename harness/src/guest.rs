//! The guest step: `hogs guest --plan FILE` runs inside the VM (virtme-ng shares the host's root,
//! so it is this very binary). It loads each scenario's hog, waits, unloads it, and tells the host
//! every step as a [`protocol`] event in the kernel log.

use std::ffi::CString;
use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::detectors::{DETECTORS, WATCHDOG_THRESH};
use crate::kernel::Preempt;
use crate::protocol::{self, BootFacts, Event};
use crate::report::Kind;
use crate::scenario::{Guest, KindPattern, Rule};

/// One scenario's work in the guest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Step {
    pub scenario: String,
    pub module: PathBuf,
    pub params: String,
    /// The longest the hog may run before it is unloaded.
    pub wait_secs: u64,
    /// The scenario's expectations: once every one that applies is met in the kernel log, the
    /// hog is unloaded early (a scenario that expects nothing runs its full `wait_secs`).
    #[serde(default)]
    pub expect: Vec<Rule>,
    /// Run the full `wait_secs` even once the expectations are met: what must not come more
    /// often than a rule's `max` is only known at the end.
    #[serde(default)]
    pub whole_time: bool,
    /// Values to write before the hog is loaded (`at` none) or while it runs; each is written
    /// back after the hog is unloaded.
    #[serde(default)]
    pub writes: Vec<Write>,
    /// The CPUs the hog takes: the step keeps off them ([`keep_off`]).
    #[serde(default)]
    pub hog_cpus: Vec<u32>,
}

/// One value to write (a scenario's `set`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Write {
    /// `kernel.watchdog=0`, as events name it.
    pub label: String,
    /// `kernel.watchdog`: what the write-back's event names.
    pub name: String,
    pub path: PathBuf,
    pub value: String,
    /// Seconds after the hog was loaded; before loading when none.
    pub at: Option<f64>,
}

/// Writes `value` to `path`, returning what was there (trimmed).
fn write_value(path: &Path, value: &str) -> std::result::Result<String, String> {
    let old = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    std::fs::write(path, value)
        .map_err(|e| format!("cannot write {value} to {}: {e}", path.display()))?;
    Ok(old.trim().to_owned())
}

/// The writes done so far for a step, to undo in reverse order.
#[derive(Default)]
struct Undo(Vec<(PathBuf, String, String)>);

impl Undo {
    /// Does one write and tells the host; false when it failed.
    fn write(&mut self, scenario: &str, w: &Write) -> Result<bool> {
        let result = write_value(&w.path, &w.value);
        tell(&Event::Set {
            scenario: scenario.to_owned(),
            label: w.label.clone(),
            error: result.as_ref().err().cloned(),
        })?;
        match result {
            Ok(old) => {
                self.0.push((w.path.clone(), old, w.name.clone()));
                Ok(true)
            }
            Err(_) => Ok(false),
        }
    }

    /// Writes every old value back, once per file (the value it had before the first write);
    /// the first failure is returned (the boot must end then).
    fn restore(self, scenario: &str) -> Result<std::result::Result<(), String>> {
        let mut failed = Ok(());
        let firsts: Vec<(PathBuf, String, String)> = self
            .0
            .iter()
            .enumerate()
            .filter(|(i, (path, _, _))| !self.0[..*i].iter().any(|(p, _, _)| p == path))
            .map(|(_, w)| w.clone())
            .collect();
        for (path, old, name) in firsts.into_iter().rev() {
            let result = write_value(&path, &old).map(|_| ());
            tell(&Event::Set {
                scenario: scenario.to_owned(),
                label: format!("{name}={old} (restored)"),
                error: result.as_ref().err().cloned(),
            })?;
            if let (Err(e), Ok(())) = (result, &failed) {
                failed = Err(format!("could not restore {name}: {e}"));
            }
        }
        Ok(failed)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    pub steps: Vec<Step>,
    /// Start the first hog without waiting for the kernel's boot-time work ([`settle`]): only
    /// to show what that wait prevents (`hogs run --no-settle`).
    #[serde(default)]
    pub no_settle: bool,
}

/// Runs the plan's steps in order, telling the host each step in the kernel log. An unload
/// failure ends the plan: the hog may still be spinning and would spoil every later scenario.
pub fn run_plan(plan_path: &Path) -> Result<()> {
    let plan: Plan = serde_json::from_slice(&std::fs::read(plan_path)?).context("bad plan")?;
    keep_off(&[]);
    tell(&Event::Ready {
        preempt: preempt_model().as_deref().and_then(Preempt::parse),
    })?;
    if !plan.no_settle {
        match settle(BOOT_WORK, SETTLE_PATIENCE) {
            Ok(event) => tell(&event)?,
            Err(reason) => {
                tell(&Event::Aborted {
                    reason: reason.clone(),
                })?;
                bail!("{reason}");
            }
        }
    }
    for step in &plan.steps {
        if let Err(error) = run_step(step)? {
            tell(&Event::Aborted {
                reason: format!("after {}: {error}", step.scenario),
            })?;
            bail!("aborted after {}: {error}", step.scenario);
        }
    }
    tell(&Event::Done)
}

/// Work the kernel does once, soon after boot, that needs every CPU to answer: a hog that takes a
/// CPU first (preemption or interrupts off) keeps it from finishing, and the CPU that waits for
/// it is reported too. A lone boot on an idle host reaches its first step in about 1.8 s, before
/// the work is done; a boot among others reaches it later, so without this wait a verdict would
/// depend on the host's load and on what shared the boot.
struct BootWork {
    /// What the kernel still has to do, as a reason names it.
    what: &'static str,
    /// Whether it is still to come, from the kernel's own state.
    pending: fn() -> bool,
}

/// The boot-time work [`settle`] waits for.
const BOOT_WORK: &[BootWork] = &[BootWork {
    // arch/x86/kernel/tsc.c: a second after the TSC is set up, tsc_refine_calibration_work()
    // registers the `tsc` clocksource and unregisters `tsc-early`; switching clocksources runs
    // stop_machine(), whose stopper on CPU 0 spins until every CPU has joined.
    what: "the TSC's refined calibration and the clocksource switch after it (x86: `tsc-early` is still registered)",
    pending: tsc_early_registered,
}];

/// How long [`settle`] waits: the TSC's refinement is due a second after it was set up, so
/// this is the patience of a heavily loaded host, not a guess of the work's length.
const SETTLE_PATIENCE: Duration = Duration::from_secs(30);

/// Waits until none of `work` ([`BOOT_WORK`]) is pending, polling the kernel's state; the error
/// names what was still pending after `patience`.
fn settle(work: &[BootWork], patience: Duration) -> std::result::Result<Event, String> {
    let start = Instant::now();
    let mut waited_for: Vec<String> = Vec::new();
    loop {
        let pending: Vec<&str> = work
            .iter()
            .filter(|w| (w.pending)())
            .map(|w| w.what)
            .collect();
        for what in &pending {
            if !waited_for.iter().any(|w| w == what) {
                waited_for.push((*what).to_owned());
            }
        }
        if pending.is_empty() {
            return Ok(Event::Settled {
                waited_secs: secs_to_ms(start.elapsed()),
                waited_for,
            });
        }
        if start.elapsed() >= patience {
            return Err(format!(
                "the kernel's boot-time work did not settle within {} s, so no hog was started: {}",
                patience.as_secs(),
                pending.join("; ")
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Seconds to the millisecond, as events carry durations.
fn secs_to_ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0).round() / 1000.0
}

/// Whether the x86 `tsc-early` clocksource is still registered: the TSC's refinement (and the
/// switch of clocksource it ends with) is still to come. False where there is no such file.
fn tsc_early_registered() -> bool {
    std::fs::read_to_string("/sys/devices/system/clocksource/clocksource0/available_clocksource")
        .is_ok_and(|list| list.split_whitespace().any(|c| c == "tsc-early"))
}

/// Keeps the guest step on the first CPU the hog does not take (CPU 0 unless the scenario hogs
/// it), or on CPU 0 when it takes them all. Left to the scheduler it can sit on the hog's CPU:
/// behind a hog with interrupts off it can neither return from loading the module nor read the
/// kernel log, so it could not end the scenario once its reports are in, and the hog would spin
/// its full time. A failure only costs that time.
fn keep_off(hogged: &[u32]) {
    let online = std::fs::read_to_string("/sys/devices/system/cpu/online").unwrap_or_default();
    let cpu = first_cpu_outside(online.trim(), hogged).unwrap_or(0);
    let mut set = nix::sched::CpuSet::new();
    if set.set(cpu as usize).is_ok() {
        let _ = nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set);
    }
}

/// The first CPU of a CPU list (`0-2,4`, as /sys prints it) that is not in `hogged`.
fn first_cpu_outside(list: &str, hogged: &[u32]) -> Option<u32> {
    list.split(',')
        .filter_map(|range| {
            let (first, last) = range.split_once('-').unwrap_or((range, range));
            Some(first.parse::<u32>().ok()?..=last.parse::<u32>().ok()?)
        })
        .flatten()
        .find(|cpu| !hogged.contains(cpu))
}

/// Waits for a full RCU grace period: `membarrier(MEMBARRIER_CMD_GLOBAL)` is `synchronize_rcu()`.
///
/// RCU reads `rcu_cpu_stall_timeout` when a grace period starts, so the grace period running when
/// the step writes it keeps the old timeout; an RCU reader hog that blocks that one stalls only
/// after the old 21 s (seen once in about ten runs of rcu-stall-reader). Once a full grace period
/// has passed, every grace period the hog can block started after the write.
fn wait_for_grace_period() {
    /// `MEMBARRIER_CMD_GLOBAL` of include/uapi/linux/membarrier.h (not in the libc crate).
    const MEMBARRIER_CMD_GLOBAL: libc::c_int = 1;
    // SAFETY: membarrier(2) takes a command, flags and a CPU id, all integers; it reads and
    // writes no memory of this process. An error (no CONFIG_MEMBARRIER) only skips the wait.
    let _ = unsafe { libc::syscall(libc::SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0) };
}

/// Starts a grace period now, for an RCU reader hog to hold up: RCU starts one only when
/// something waits for it, and an idle guest may ask for none while the hog runs (seen: no
/// stall in 14 s on 7.3, in 20 s on 6.12-voluntary and arm64). A thread of its own waits in
/// `synchronize_rcu()` (membarrier, as [`wait_for_grace_period`]) until the reader lets the grace
/// period end; the step goes on meanwhile.
fn start_grace_period() {
    std::thread::spawn(wait_for_grace_period);
}

/// One scenario; `Ok(Err(..))` when its module would not unload.
fn run_step(step: &Step) -> Result<std::result::Result<(), String>> {
    let name = module_name(&step.module)?;
    let scenario = step.scenario.clone();
    keep_off(&step.hog_cpus);
    tell(&Event::Begin {
        scenario: scenario.clone(),
        module: name.clone(),
        params: step.params.clone(),
    })?;
    // Opened before the hog starts, so it sees every line of the scenario and nothing earlier.
    let mut log = KernelLog::open_at_end();
    let mut undo = Undo::default();
    if !write_before_hog(step, &mut undo)? {
        return undo.restore(&scenario);
    }
    tell_counts(&scenario, false)?;
    // The hog's time counts from here: loading returns only once every hogged CPU is free
    // again when the hogs took them all (interrupts off on every CPU).
    let loading = Instant::now();
    if let Err(e) = load_module(&step.module, &step.params) {
        tell(&Event::LoadFailed {
            scenario: scenario.clone(),
            error: e.to_string(),
        })?;
        return undo.restore(&scenario);
    }
    tell(&Event::Loaded {
        scenario: scenario.clone(),
    })?;
    if step
        .expect
        .iter()
        .any(|r| r.kind == KindPattern::Kind(Kind::RcuStall))
    {
        start_grace_period();
    }
    let lag = wait_until_decided(step, running_guest(), loading, log.as_mut(), &mut undo)?;
    tell(&Event::TimerLag {
        scenario: scenario.clone(),
        max_secs: secs_to_ms(lag),
    })?;
    unload(&name, &scenario, undo)
}

/// The step's writes that come before the hog, then a grace period so they take effect; false
/// (the step told LoadFailed) when one could not be made.
fn write_before_hog(step: &Step, undo: &mut Undo) -> Result<bool> {
    for w in step.writes.iter().filter(|w| w.at.is_none()) {
        if !undo.write(&step.scenario, w)? {
            tell(&Event::LoadFailed {
                scenario: step.scenario.clone(),
                error: format!("not loaded: {} could not be set", w.label),
            })?;
            return Ok(false);
        }
    }
    if step.writes.iter().any(|w| w.at.is_none()) {
        wait_for_grace_period();
    }
    Ok(true)
}

/// What the guest knows of its kernel that decides which rules apply. Only that matters here;
/// the detection windows are the host's to judge.
fn running_guest() -> Guest {
    Guest {
        preempt: preempt_model().as_deref().and_then(Preempt::parse),
        version: std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .ok()
            .and_then(|r| crate::report::parse_version(r.trim())),
        ..Guest::default()
    }
}

/// Tells the host what the report counters of the detectors this kernel has read now (a
/// detector not built, its switch file absent, has no counter to miss).
fn tell_counts(scenario: &str, after: bool) -> Result<()> {
    let counts = DETECTORS
        .iter()
        .filter(|d| Path::new(d.switch.path).exists())
        .filter_map(|d| d.counter.as_ref())
        .map(|c| {
            let value = std::fs::read_to_string(c.path)
                .ok()
                .and_then(|v| v.trim().parse().ok());
            (c.path.to_owned(), value)
        })
        .collect();
    tell(&Event::Counts {
        scenario: scenario.to_owned(),
        after,
        counts,
    })
}

/// Unloads the hog and writes back what the step changed; the error when it will not unload.
fn unload(name: &str, scenario: &str, undo: Undo) -> Result<std::result::Result<(), String>> {
    match unload_module(name, Duration::from_secs(30)) {
        Ok(()) => {
            // Read with the hog gone, told inside the scenario's window (which its unload ends).
            tell_counts(scenario, true)?;
            tell(&Event::Unloaded {
                scenario: scenario.to_owned(),
            })?;
            undo.restore(scenario)
        }
        Err(e) => {
            let error = e.to_string();
            tell(&Event::UnloadFailed {
                scenario: scenario.to_owned(),
                error: error.clone(),
            })?;
            Ok(Err(error))
        }
    }
}

/// How long the hog keeps running once its expectations are met: the report's dump and the
/// reports that come with it (another CPU's, a late soft lockup) finish printing.
const GRACE: Duration = Duration::from_millis(500);

/// How long each of the step's sleeps is meant to last while it waits.
const TICK: Duration = Duration::from_millis(100);

/// Waits until `wait_secs` after `loading` began (or after the hog's `hogging CPU` line, when
/// that comes later), doing the step's timed writes on time (counted from now, when the module
/// is loaded), or less: until every expectation of the step that applies to the preemption model
/// is met in the kernel log (and every timed write is done), plus [`GRACE`]. Returns the most any of its sleeps overslept (the guest's timer lag).
fn wait_until_decided(
    step: &Step,
    guest: Guest,
    loading: Instant,
    mut log: Option<&mut KernelLog>,
    undo: &mut Undo,
) -> Result<Duration> {
    let start = Instant::now();
    let wait = Duration::from_secs(step.wait_secs);
    let mut deadline = loading + wait;
    let mut hog_seen = false;
    let mut timed: Vec<&Write> = step.writes.iter().filter(|w| w.at.is_some()).collect();
    let mut lag = Duration::ZERO;
    while Instant::now() < deadline {
        let slept = Instant::now();
        std::thread::sleep(TICK);
        lag = lag.max(slept.elapsed().saturating_sub(TICK));
        let now = start.elapsed().as_secs_f64();
        while let Some(i) = timed.iter().position(|w| w.at.is_some_and(|at| at <= now)) {
            // A failed write is the host's to judge; the hog runs on regardless.
            undo.write(&step.scenario, timed.remove(i))?;
        }
        let Some(log) = log.as_deref_mut() else {
            continue;
        };
        let seen = log.reader.text().len();
        log.read_new();
        // The wait counts from the hog's start, not from loading: on a loaded host a hog's
        // kthread or work item can start seconds after its module loaded (seen: 6.5 s).
        if !hog_seen
            && memchr::memmem::find(&log.reader.text()[seen..], protocol::HOGGING.as_bytes())
                .is_some()
        {
            hog_seen = true;
            deadline = deadline.max(Instant::now() + wait);
        }
        if step.expect.is_empty() || step.whole_time || !timed.is_empty() {
            continue;
        }
        let reports = log.reader.reports();
        if crate::scenario::expectations_met(&step.expect, guest, &reports) {
            std::thread::sleep(GRACE.min(deadline.saturating_duration_since(Instant::now())));
            return Ok(lag);
        }
    }
    Ok(lag)
}

/// The kernel log from `/dev/kmsg`, as console lines (`[   12.345678] message`).
struct KernelLog {
    file: std::fs::File,
    /// The lines read so far, parsed as they come.
    reader: crate::report::Reader,
}

impl KernelLog {
    /// The log from now on; `None` when /dev/kmsg cannot be read (the step then waits its time).
    fn open_at_end() -> Option<KernelLog> {
        use std::io::Seek;
        use std::os::unix::fs::OpenOptionsExt;
        let mut file = OpenOptions::new()
            .read(true)
            .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
            .open("/dev/kmsg")
            .ok()?;
        file.seek(std::io::SeekFrom::End(0)).ok()?;
        Some(KernelLog {
            file,
            reader: crate::report::Reader::default(),
        })
    }

    /// Appends the records logged since the last call.
    fn read_new(&mut self) {
        use std::io::{ErrorKind, Read};
        let mut record = vec![0u8; 8192];
        loop {
            match self.file.read(&mut record) {
                Ok(0) => return,
                Ok(n) => {
                    if let Some(line) = console_line(&record[..n]) {
                        self.reader.push(line.as_bytes());
                    }
                }
                // Overwritten records are gone; the next read goes on after them.
                Err(e) if e.raw_os_error() == Some(nix::errno::Errno::EPIPE as i32) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        }
    }
}

/// A `/dev/kmsg` record (`6,339,5140900,-;message` and ` KEY=value` lines) as the console
/// prints it: `[    5.140900] message`.
fn console_line(record: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(record);
    let first = text.lines().next()?;
    let (header, message) = first.split_once(';')?;
    let usecs: u64 = header.split(',').nth(2)?.parse().ok()?;
    Some(format!(
        "[{:5}.{:06}] {message}\n",
        usecs / 1_000_000,
        usecs % 1_000_000
    ))
}

/// Prints what the boot check needs to know, as one JSON line.
pub fn boot_check() -> Result<()> {
    let read = |p: &str| std::fs::read_to_string(p).ok().map(|s| s.trim().to_owned());
    let config = read_config_gz().unwrap_or_default();
    let has = |opt: &str| config.lines().any(|l| l == format!("{opt}=y"));
    let facts = BootFacts {
        release: read("/proc/sys/kernel/osrelease").unwrap_or_default(),
        watchdog_thresh: read(WATCHDOG_THRESH.path),
        preempt: preempt_model(),
        config_rust: has("CONFIG_RUST"),
        config_buddy: has("CONFIG_HARDLOCKUP_DETECTOR_BUDDY"),
        config_perf: has("CONFIG_HARDLOCKUP_DETECTOR_PERF"),
        switches: DETECTORS
            .iter()
            .map(|d| (d.switch.path.to_owned(), read(d.switch.path)))
            .collect(),
    };
    tell(&Event::Facts(facts))
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
        // A failed mount only means the console will have to tell the model.
        let _ = nix::mount::mount(
            Some("debugfs"),
            "/sys/kernel/debug",
            Some("debugfs"),
            nix::mount::MsFlags::empty(),
            None::<&str>,
        );
    }
    // Only a kernel with PREEMPT_DYNAMIC has the file; elsewhere the model is fixed at build
    // time, and the configuration says which.
    let Ok(text) = std::fs::read_to_string(FILE) else {
        return model_from_config(&read_config_gz()?).map(str::to_owned);
    };
    let start = text.find('(')?;
    let end = text[start..].find(')')? + start;
    Some(text[start + 1..end].to_owned())
}

/// The preemption model a kernel without `PREEMPT_DYNAMIC` was built with, from its `.config`.
fn model_from_config(config: &str) -> Option<&'static str> {
    if config.lines().any(|l| l == "CONFIG_PREEMPT_DYNAMIC=y") {
        return None;
    }
    [
        ("CONFIG_PREEMPT_NONE=y", "none"),
        ("CONFIG_PREEMPT_VOLUNTARY=y", "voluntary"),
        ("CONFIG_PREEMPT=y", "full"),
        ("CONFIG_PREEMPT_LAZY=y", "lazy"),
    ]
    .into_iter()
    .find(|(line, _)| config.lines().any(|l| l == *line))
    .map(|(_, model)| model)
}

/// Tells the host: one event line in the kernel log, so events and reports share one clock and
/// one order.
fn tell(event: &Event) -> Result<()> {
    let message = protocol::encode(event);
    let mut kmsg = OpenOptions::new()
        .write(true)
        .open("/dev/kmsg")
        .context("cannot open /dev/kmsg")?;
    // <5> = KERN_NOTICE: above the default console log level, so the event reaches the console.
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
    nix::kmod::finit_module(&file, &params, nix::kmod::ModuleInitFlags::empty())
        .map_err(|errno| anyhow::anyhow!("finit_module({}): {}", path.display(), io_error(errno)))
}

/// "Operation not permitted (os error 1)", as the kernel's error reads everywhere else.
fn io_error(errno: nix::errno::Errno) -> std::io::Error {
    std::io::Error::from_raw_os_error(errno as i32)
}

/// Unloads a module, retrying while it is busy (its threads may still be finishing).
fn unload_module(name: &str, patience: Duration) -> Result<()> {
    use nix::errno::Errno;
    let cname = CString::new(name)?;
    let start = Instant::now();
    loop {
        match nix::kmod::delete_module(&cname, nix::kmod::DeleteModuleFlags::O_NONBLOCK) {
            Ok(()) => return Ok(()),
            Err(Errno::EBUSY | Errno::EAGAIN) if start.elapsed() <= patience => {
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(errno) => bail!("delete_module({name}): {}", io_error(errno)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kmsg_records_become_console_lines() {
        assert_eq!(
            console_line(b"4,812,5140900,-;watchdog: BUG: soft lockup - CPU#1 stuck for 5s! [hog_busy:80]\n SUBSYSTEM=x\n").as_deref(),
            Some("[    5.140900] watchdog: BUG: soft lockup - CPU#1 stuck for 5s! [hog_busy:80]\n")
        );
        assert_eq!(console_line(b"garbage"), None);
    }

    #[test]
    fn settling_waits_for_pending_boot_work_and_names_what_never_ends() {
        use std::sync::atomic::{AtomicU32, Ordering};
        static POLLS: AtomicU32 = AtomicU32::new(0);
        let done_after_three = || POLLS.fetch_add(1, Ordering::SeqCst) < 3;
        let work = [
            BootWork {
                what: "never pending",
                pending: || false,
            },
            BootWork {
                what: "pending for three polls",
                pending: done_after_three,
            },
        ];
        let Ok(Event::Settled {
            waited_secs,
            waited_for,
        }) = settle(&work, Duration::from_secs(5))
        else {
            panic!("should settle");
        };
        assert_eq!(waited_for, ["pending for three polls"]);
        assert!(waited_secs >= 0.04, "{waited_secs}");
        let stuck = [BootWork {
            what: "the TSC",
            pending: || true,
        }];
        let err = settle(&stuck, Duration::from_millis(50)).unwrap_err();
        assert!(
            err.contains("did not settle") && err.ends_with(": the TSC"),
            "{err}"
        );
        // Nothing pending: no wait at all.
        assert_eq!(
            settle(&work[..1], Duration::ZERO),
            Ok(Event::Settled {
                waited_secs: 0.0,
                waited_for: vec![]
            })
        );
    }

    #[test]
    fn the_step_keeps_to_the_first_cpu_no_hog_takes() {
        assert_eq!(first_cpu_outside("0-2", &[]), Some(0));
        assert_eq!(first_cpu_outside("0-2", &[0]), Some(1));
        assert_eq!(first_cpu_outside("0,2-3", &[0]), Some(2));
        assert_eq!(first_cpu_outside("0-1", &[0, 1]), None);
        assert_eq!(first_cpu_outside("", &[]), None);
    }

    #[test]
    fn a_fixed_preemption_model_is_read_from_the_config() {
        let voluntary =
            "CONFIG_PREEMPT_BUILD=y\nCONFIG_PREEMPT_VOLUNTARY=y\n# CONFIG_PREEMPT is not set\n";
        assert_eq!(model_from_config(voluntary), Some("voluntary"));
        assert_eq!(model_from_config("CONFIG_PREEMPT=y\n"), Some("full"));
        // With PREEMPT_DYNAMIC the build-time choice is only the default: debugfs tells.
        assert_eq!(
            model_from_config("CONFIG_PREEMPT_VOLUNTARY=y\nCONFIG_PREEMPT_DYNAMIC=y\n"),
            None
        );
        assert_eq!(model_from_config("garbage"), None);
    }
}
