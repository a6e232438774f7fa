//! One boot of a kernel in virtme-ng, whose processes never outlive it.
//!
//! Measured on these machines (`../shared/DESIGN.md`, beside the project): vng needs
//! `--disable-kvm` (KVM is unusable here) and `--force-9p`; the console reaches the host only with `-v`, on vng's stderr; vng has no
//! timeout of its own, and QEMU may outlive it.
//!
//! The harness does not start vng itself: it starts `hogs boot-guard -- vng ...` ([`guard`]) in a
//! process group of its own, with a pipe on the guard's stdin that only the harness holds. The
//! guard is a child subreaper, so every process vng leaves behind (QEMU, or anything that
//! escaped the group with `setsid`) becomes its child. When vng ends, or the pipe closes (the
//! harness is done with the boot, or died, even by SIGKILL), the guard kills all its
//! descendants, reaps them, and ends as vng did.

use std::ffi::OsString;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

use crate::guest_root::GuestRoot;
use crate::kernel::Arch;
use crate::signals::signal_name;

/// What to boot.
#[derive(Debug, Clone)]
pub struct Boot<'a> {
    /// The VM driver: `vng`, or a stand-in with the same command line (tests).
    pub vng: &'a Path,
    /// This very binary, which runs the guard.
    pub hogs: &'a Path,
    pub kernel_dir: &'a Path,
    pub arch: Arch,
    pub cpus: u32,
    pub memory: &'a str,
    pub kernel_args: Vec<String>,
    /// The guest's root file system; `None` boots with the host's `/` (vng's default).
    pub root: Option<&'a GuestRoot>,
    /// Command run inside the guest by virtme-ng's init, with paths as the guest sees them
    /// ([`Boot::in_guest`]).
    pub exec: String,
    pub deadline: Duration,
}

/// Kernel arguments the emulated platform needs beside the scenario's: on x86, the TSC's
/// frequency, which under TCG is the host's. Left to calibrate against the PIT while the host is
/// loaded, guests took a 2.4 GHz TSC for 155-764 MHz (5 of 84 boots of one six-kernel suite), and
/// the refinement a second later refuses to move it by more than 1%, so every guest clock ran 3
/// to 15 times too fast. Where the host's TSC is constant its `cpu MHz` is that frequency; the
/// guest still refines it against its HPET.
pub fn platform_args(arch: Arch) -> Vec<String> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    match (arch, tsc_khz(&cpuinfo)) {
        (Arch::X86_64, Some(khz)) => vec![format!("tsc_early_khz={khz}")],
        _ => Vec::new(),
    }
}

/// The TSC's frequency in kHz from the host's /proc/cpuinfo, when its TSC is constant.
fn tsc_khz(cpuinfo: &str) -> Option<u64> {
    let constant = cpuinfo
        .lines()
        .find(|l| l.starts_with("flags"))?
        .split_whitespace()
        .any(|f| f == "constant_tsc");
    let mhz: f64 = cpuinfo
        .lines()
        .find(|l| l.starts_with("cpu MHz"))?
        .split(':')
        .nth(1)?
        .trim()
        .parse()
        .ok()?;
    (constant && mhz > 0.0).then(|| (mhz * 1000.0).round() as u64)
}

/// The VM driver to run: `vng` itself rather than a pyenv shim for it.
///
/// A pyenv shim is a bash script that runs about twenty processes (`pyenv exec`, its version
/// look-ups and hooks) before vng starts, about 0.2 s of host CPU in every boot, and vng's own
/// `virtme-run` goes through a second shim unless the real directory comes first in `PATH`
/// (the boot's command puts it there: [`Boot::run`]). Anything else is returned as it is.
pub fn resolve_driver(vng: &Path) -> PathBuf {
    resolve_driver_with(vng, std::env::var_os("PATH"), Path::new("pyenv"))
}

/// [`resolve_driver`] with the `PATH` and the `pyenv` command given.
fn resolve_driver_with(vng: &Path, path: Option<OsString>, pyenv: &Path) -> PathBuf {
    let found = if vng.components().count() == 1 {
        path.and_then(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join(vng))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| vng.to_path_buf())
    } else {
        vng.to_path_buf()
    };
    let is_pyenv_shim = found.parent().and_then(Path::file_name) == Some("shims".as_ref())
        && std::fs::read_to_string(&found).is_ok_and(|s| s.contains("pyenv"));
    if !is_pyenv_shim {
        return vng.to_path_buf();
    }
    let real = Command::new(pyenv)
        .arg("which")
        .arg(found.file_name().unwrap_or_default())
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    match real {
        Some(real) if real.is_absolute() && real.is_file() => real,
        _ => vng.to_path_buf(),
    }
}

/// Which of vng's pipes a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// The kernel console (vng's stderr with `-v`).
    Console,
    /// The guest command's stdout.
    Stdout,
}

/// How the boot's VM driver ended, from the host's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// vng returned this code (255 when the guest panicked or QEMU died).
    Code(i32),
    /// vng was killed by this signal.
    Signal(i32),
    /// The harness killed the boot (deadline or interruption) before vng ended by itself.
    Killed,
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exit::Code(c) => write!(f, "vng exited with status {c}"),
            Exit::Signal(s) => write!(f, "vng was killed by signal {s} ({})", signal_name(*s)),
            Exit::Killed => f.write_str("the harness killed the boot"),
        }
    }
}

/// How a boot ended.
#[derive(Debug)]
pub struct Ended {
    /// The full console, as bytes (it may hold invalid UTF-8).
    pub console: Vec<u8>,
    pub exit: Exit,
    pub timed_out: bool,
    /// The harness was asked to stop (SIGINT/SIGTERM) and killed the boot.
    pub interrupted: Option<i32>,
    pub wall: Duration,
    /// Processes of the boot still alive after it was killed: should never happen.
    pub survivors: Vec<u32>,
    /// The guest's clock against the host's over the guest step ([`ClockRate`]).
    pub clock_rate: Option<f64>,
}

/// How fast the guest's console clock ran against the host's, from the timestamps of the guest
/// step's event lines and when the host read them: guest seconds per host second. Under TCG the
/// guest's clocks follow the host's (about 1); a TSC calibrated while the host was loaded
/// (`tsc: Detected 468.394 MHz processor` for a 2.4 GHz one) makes every guest clock run several
/// times too fast, and the detectors' timeouts with them.
#[derive(Default)]
struct ClockRate {
    /// (host seconds since the boot started, guest timestamp) of the first and the last event.
    first: Option<(f64, f64)>,
    last: Option<(f64, f64)>,
}

impl ClockRate {
    /// Host and guest spans shorter than this say too little (the console's own delays).
    const MIN_SPAN_SECS: f64 = 2.0;

    fn line(&mut self, host_secs: f64, line: &str) {
        if !line.contains(crate::protocol::TAG) {
            return;
        }
        let Some(guest) = crate::report::lines(line.as_bytes())
            .next()
            .and_then(|l| l.time)
        else {
            return;
        };
        self.first.get_or_insert((host_secs, guest));
        self.last = Some((host_secs, guest));
    }

    fn rate(&self) -> Option<f64> {
        let ((h0, g0), (h1, g1)) = (self.first?, self.last?);
        (h1 - h0 >= Self::MIN_SPAN_SECS).then(|| (g1 - g0) / (h1 - h0))
    }
}

/// How long the guard may take to kill and reap a boot's processes before the harness kills
/// the whole group itself.
const GUARD_PATIENCE: Duration = Duration::from_secs(5);
/// How long the console may keep flowing after vng ended (QEMU's last writes).
const DRAIN: Duration = Duration::from_secs(3);

impl Boot<'_> {
    /// vng's arguments.
    pub fn vng_args(&self) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec!["--run".into(), self.kernel_dir.into()];
        args.extend(
            ["--disable-kvm", "--force-9p", "-v", "--cpus"]
                .iter()
                .map(OsString::from),
        );
        args.push(self.cpus.to_string().into());
        args.extend(["--memory".into(), self.memory.into()]);
        args.extend(self.arch.vng_args().into_iter().map(OsString::from));
        if let Some(root) = self.root {
            args.extend(root.vng_args());
        }
        let arch_args = self.arch.boot_args().iter().map(|a| a.to_string());
        for arg in arch_args.chain(self.kernel_args.iter().cloned()) {
            args.extend(["--append".into(), arg.into()]);
        }
        args.extend(["--exec".into(), self.exec.clone().into()]);
        args
    }

    /// Where the guest sees a host path.
    pub fn in_guest(&self, host: &Path) -> PathBuf {
        match self.root {
            Some(root) => root.guest_path(host),
            None => host.to_path_buf(),
        }
    }

    /// Boots, streaming each line to `on_line` as it arrives and the console to `console_log`.
    /// `stop` is asked every 100 ms whether a signal asks the run to stop.
    pub fn run(
        &self,
        console_log: &Path,
        stop: impl Fn() -> Option<i32>,
        mut on_line: impl FnMut(Stream, &str),
    ) -> Result<Ended> {
        let mut log = File::create(console_log)
            .with_context(|| format!("cannot create {}", console_log.display()))?;
        let start = Instant::now();
        let mut running = self.spawn_guard()?;
        let mut console = Vec::new();
        let mut clock = ClockRate::default();
        let watched = running.watch(start, self.deadline, stop, |stream, line| {
            let text = String::from_utf8_lossy(line);
            let text = text.trim_end_matches(['\n', '\r']);
            if stream == Stream::Console {
                clock.line(start.elapsed().as_secs_f64(), text);
            }
            on_line(stream, text);
            if stream == Stream::Console {
                log.write_all(line)?;
                console.extend_from_slice(line);
            }
            Ok(())
        })?;
        // The guard killed everything it knew of; the group is the last net.
        let _ = killpg(running.group, Signal::SIGKILL);
        let survivors = survivors(running.group, Duration::from_secs(5));
        log.flush()?;
        let exit = if watched.timed_out || watched.interrupted.is_some() {
            Exit::Killed
        } else {
            exit_of(watched.status)
        };
        Ok(Ended {
            console,
            exit,
            timed_out: watched.timed_out,
            interrupted: watched.interrupted,
            wall: start.elapsed(),
            survivors,
            clock_rate: clock.rate(),
        })
    }

    /// Starts `hogs boot-guard -- vng ...` in a process group of its own, its output read by
    /// two threads into one channel.
    fn spawn_guard(&self) -> Result<Running> {
        let mut command = Command::new(self.hogs);
        // vng runs `virtme-run` through PATH: from vng's own directory, not another shim.
        if let (true, Some(dir), Some(path)) = (
            self.vng.is_absolute(),
            self.vng.parent(),
            std::env::var_os("PATH"),
        ) {
            let dirs = std::iter::once(dir.to_path_buf()).chain(std::env::split_paths(&path));
            command.env("PATH", std::env::join_paths(dirs)?);
        }
        let mut child = command
            .arg("boot-guard")
            .arg("--")
            .arg(self.vng)
            .args(self.vng_args())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group: a terminal's Ctrl-C reaches only the harness, which decides.
            .process_group(0)
            .spawn()
            .with_context(|| format!("cannot start {}", self.hogs.display()))?;
        let group = Pid::from_raw(child.id() as i32);
        let lifeline = child.stdin.take();
        let (tx, lines) = mpsc::channel::<(Stream, Vec<u8>)>();
        spawn_reader(
            child.stderr.take().context("no stderr pipe")?,
            Stream::Console,
            tx.clone(),
        );
        spawn_reader(
            child.stdout.take().context("no stdout pipe")?,
            Stream::Stdout,
            tx,
        );
        Ok(Running {
            child,
            group,
            lifeline,
            lines,
        })
    }
}

/// A boot under its guard, as the harness holds it.
struct Running {
    child: Child,
    /// The guard's process group (its pid).
    group: Pid,
    /// The guard's stdin: closing it tells the guard to kill everything.
    lifeline: Option<ChildStdin>,
    lines: mpsc::Receiver<(Stream, Vec<u8>)>,
}

/// How the watch over a boot ended.
struct Watched {
    status: ExitStatus,
    timed_out: bool,
    interrupted: Option<i32>,
}

impl Running {
    /// Hands every line to `each` until the guard ends and its pipes drain ([`DRAIN`]), and
    /// ends the boot itself when `stop` names a signal or the deadline passes.
    fn watch(
        &mut self,
        start: Instant,
        deadline: Duration,
        stop: impl Fn() -> Option<i32>,
        mut each: impl FnMut(Stream, &[u8]) -> Result<()>,
    ) -> Result<Watched> {
        let mut timed_out = false;
        let mut interrupted = None;
        let mut status = None;
        let mut ended_at: Option<Instant> = None;
        loop {
            match self.lines.recv_timeout(Duration::from_millis(100)) {
                Ok((stream, line)) => each(stream, &line)?,
                // Both pipes closed: nothing more will come.
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
            if let Some(at) = ended_at {
                if at.elapsed() > DRAIN {
                    break;
                }
                continue;
            }
            if let Some(s) = self.child.try_wait()? {
                status = Some(s);
            } else if let Some(signal) = stop() {
                interrupted = Some(signal);
                status = Some(end_boot(&mut self.child, &mut self.lifeline, self.group)?);
            } else if start.elapsed() > deadline {
                timed_out = true;
                status = Some(end_boot(&mut self.child, &mut self.lifeline, self.group)?);
            }
            if status.is_some() {
                ended_at = Some(Instant::now());
            }
        }
        let status = match status {
            Some(s) => s,
            None => end_boot(&mut self.child, &mut self.lifeline, self.group)?,
        };
        Ok(Watched {
            status,
            timed_out,
            interrupted,
        })
    }
}

/// Ends a boot that is still running: closes the guard's lifeline so it kills everything, then
/// kills the group if the guard takes too long.
fn end_boot(
    child: &mut Child,
    lifeline: &mut Option<ChildStdin>,
    group: Pid,
) -> Result<ExitStatus> {
    drop(lifeline.take());
    let start = Instant::now();
    while start.elapsed() < GUARD_PATIENCE {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = killpg(group, Signal::SIGKILL);
    Ok(child.wait()?)
}

fn exit_of(status: ExitStatus) -> Exit {
    match (status.code(), status.signal()) {
        (Some(code), _) => Exit::Code(code),
        (None, Some(signal)) => Exit::Signal(signal),
        (None, None) => Exit::Killed,
    }
}

/// Reads lines from a pipe into the channel until the pipe closes. Never joined: a process that
/// escaped every kill could hold the pipe open, and the harness must not wait for it.
fn spawn_reader(
    pipe: impl Read + Send + 'static,
    stream: Stream,
    tx: mpsc::Sender<(Stream, Vec<u8>)>,
) {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(pipe);
        loop {
            let mut line = Vec::new();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if tx.send((stream, line)).is_err() {
                        break;
                    }
                }
            }
        }
    });
}

/// Live (not zombie) processes left in group `group`, after waiting up to `patience` for them.
fn survivors(group: Pid, patience: Duration) -> Vec<u32> {
    let start = Instant::now();
    loop {
        let alive: Vec<u32> = processes()
            .into_iter()
            .filter(|p| p.alive && p.group == group.as_raw())
            .map(|p| p.pid)
            .collect();
        if alive.is_empty() || start.elapsed() > patience {
            return alive;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// One line of `/proc/PID/stat`, as far as process control needs it.
#[derive(Debug, Clone, Copy)]
struct Proc {
    pid: u32,
    parent: i32,
    group: i32,
    alive: bool,
}

/// Every process, from /proc/PID/stat (`pid (comm) state ppid pgrp ...`; comm may hold spaces
/// and parentheses).
fn processes() -> Vec<Proc> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let (_, rest) = stat.rsplit_once(')')?;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            Some(Proc {
                pid,
                alive: !matches!(*fields.first()?, "Z" | "X"),
                parent: fields.get(1)?.parse().ok()?,
                group: fields.get(2)?.parse().ok()?,
            })
        })
        .collect()
}

/// Every live descendant of `root`.
fn descendants(root: u32) -> Vec<u32> {
    let all = processes();
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i] as i32;
        let children: Vec<u32> = all
            .iter()
            .filter(|p| p.parent == parent && !found.contains(&p.pid))
            .map(|p| p.pid)
            .collect();
        found.extend(children);
        i += 1;
    }
    found.remove(0);
    found
        .into_iter()
        .filter(|pid| all.iter().any(|p| p.pid == *pid && p.alive))
        .collect()
}

/// `hogs boot-guard -- PROGRAM ARGS...`: runs the VM driver and makes sure nothing it started
/// outlives the boot (see the module documentation). Never returns.
pub fn guard(program: &PathBuf, args: &[OsString]) -> ! {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

    if let Err(e) = nix::sys::prctl::set_child_subreaper(true) {
        eprintln!("hogs boot-guard: cannot become a subreaper: {e}");
        std::process::exit(125);
    }
    let mut child = match Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .spawn()
    {
        Ok(child) => child,
        Err(e) => {
            eprintln!("hogs boot-guard: cannot start {}: {e}", program.display());
            std::process::exit(127);
        }
    };
    let stdin = std::io::stdin();
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            kill_descendants();
            mirror(status);
        }
        let mut fds = [PollFd::new(stdin.as_fd(), PollFlags::POLLIN)];
        let ready = poll(&mut fds, PollTimeout::from(200u16)).unwrap_or(0);
        let hung_up = fds[0].revents().is_some_and(|r| {
            r.intersects(PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR)
        });
        if ready > 0 && hung_up {
            // The harness closed the lifeline (or died): the boot is over.
            kill_descendants();
            std::process::exit(137);
        }
    }
}

/// Kills and reaps every descendant; orphans come to us as the subreaper.
fn kill_descendants() {
    use nix::sys::wait::{waitpid, WaitPidFlag};
    let me = std::process::id();
    let start = Instant::now();
    loop {
        let left = descendants(me);
        for pid in &left {
            let _ = nix::sys::signal::kill(Pid::from_raw(*pid as i32), Signal::SIGKILL);
        }
        while let Ok(status) = waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            if status == nix::sys::wait::WaitStatus::StillAlive {
                break;
            }
        }
        if left.is_empty() || start.elapsed() > GUARD_PATIENCE {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Ends the guard as the VM driver ended: the same code, or the same signal.
fn mirror(status: ExitStatus) -> ! {
    if let Some(code) = status.code() {
        std::process::exit(code);
    }
    if let Some(signal) = status.signal().and_then(|s| Signal::try_from(s).ok()) {
        // SAFETY: SIG_DFL installs no handler of ours, so no code of this process runs in
        // signal context (the hazard `signal()` is unsafe for).
        let _ = unsafe { nix::sys::signal::signal(signal, nix::sys::signal::SigHandler::SigDfl) };
        let _ = nix::sys::signal::raise(signal);
    }
    std::process::exit(128 + status.signal().unwrap_or(0));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tsc_frequency_comes_from_a_constant_host_tsc() {
        let host =
            "processor\t: 0\ncpu MHz\t\t: 2445.428\nflags\t\t: fpu tsc constant_tsc nonstop_tsc\n";
        assert_eq!(tsc_khz(host), Some(2_445_428));
        assert_eq!(tsc_khz(&host.replace(" constant_tsc", "")), None);
        assert_eq!(tsc_khz("garbage"), None);
    }

    #[test]
    fn the_guest_clock_rate_comes_from_its_event_lines() {
        let mut clock = ClockRate::default();
        clock.line(0.5, "[    9.000000] hog_busy: hogging CPU 1");
        clock.line(
            1.0,
            r#"[   10.000000] hogs-event v1 {"event":"ready","preempt":null}"#,
        );
        assert_eq!(clock.rate(), None, "one event says nothing");
        clock.line(2.0, r#"[   15.000000] hogs-event v1 {"event":"done"}"#);
        assert_eq!(
            clock.rate(),
            None,
            "a second of host time is too short to tell"
        );
        clock.line(5.0, r#"[   30.000000] hogs-event v1 {"event":"done"}"#);
        assert_eq!(clock.rate(), Some(5.0));
    }

    #[test]
    fn command_line_has_the_measured_flags() {
        let boot = Boot {
            vng: Path::new("vng"),
            hogs: Path::new("hogs"),
            kernel_dir: Path::new("/k"),
            cpus: 3,
            memory: "1G",
            kernel_args: vec!["nmi_watchdog=1".into(), "watchdog_thresh=2".into()],
            arch: Arch::X86_64,
            root: None,
            exec: "/bin/true".into(),
            deadline: Duration::from_secs(1),
        };
        let args: Vec<String> = boot
            .vng_args()
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args,
            [
                "--run",
                "/k",
                "--disable-kvm",
                "--force-9p",
                "-v",
                "--cpus",
                "3",
                "--memory",
                "1G",
                "--append",
                "nmi_watchdog=1",
                "--append",
                "watchdog_thresh=2",
                "--exec",
                "/bin/true"
            ]
        );
    }

    #[test]
    fn a_pyenv_shim_is_resolved_to_the_real_driver() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let script = |path: &Path, body: &str| {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
        };
        let shim = dir.path().join("shims/vng");
        let real = dir.path().join("versions/3.11/bin/vng");
        let pyenv = dir.path().join("pyenv");
        script(&shim, "exec pyenv exec vng \"$@\"");
        script(&real, "echo vng");
        script(
            &pyenv,
            &format!("[ \"$1 $2\" = 'which vng' ] && echo {}", real.display()),
        );
        let path = Some(dir.path().join("shims").into_os_string());
        let vng = Path::new("vng");
        assert_eq!(resolve_driver_with(vng, path.clone(), &pyenv), real);
        // Not a shim: kept as given, and so is a name PATH does not have.
        let bin = Some(dir.path().join("versions/3.11/bin").into_os_string());
        assert_eq!(resolve_driver_with(vng, bin, &pyenv), vng);
        assert_eq!(resolve_driver_with(vng, None, &pyenv), vng);
        // A shim pyenv cannot resolve: kept as given.
        let broken = dir.path().join("broken-pyenv");
        script(&broken, "exit 1");
        assert_eq!(resolve_driver_with(vng, path, &broken), vng);
    }

    #[test]
    fn descendants_follow_parents() {
        let mut child = Command::new("sh")
            .args(["-c", "sleep 30 & wait"])
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(300));
        assert!(descendants(std::process::id()).contains(&child.id()));
        let grandchildren = descendants(child.id());
        assert_eq!(grandchildren.len(), 1, "sh's sleep: {grandchildren:?}");
        for pid in grandchildren {
            let _ = nix::sys::signal::kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
        }
        let _ = child.wait();
    }
}
