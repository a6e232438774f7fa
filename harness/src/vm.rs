//! One boot of a kernel in virtme-ng: spawned in its own process group, console read through
//! pipes, killed as a group at its deadline. Measured on these machines (DESIGN.md): vng needs
//! `--disable-kvm` (KVM is unusable here) and `--force-9p`; the console reaches the host only with
//! `-v`, on vng's stderr; vng has no timeout of its own.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

/// What to boot.
#[derive(Debug, Clone)]
pub struct Boot<'a> {
    pub kernel_dir: &'a Path,
    pub cpus: u32,
    pub memory: &'a str,
    pub kernel_args: Vec<String>,
    /// Command run inside the guest by virtme-ng's init.
    pub exec: String,
    pub deadline: Duration,
}

/// Which of vng's pipes a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// The kernel console (vng's stderr with `-v`).
    Console,
    /// The guest command's stdout.
    Stdout,
}

/// How a boot ended.
#[derive(Debug)]
pub struct Ended {
    /// The full console, as bytes (it may hold invalid UTF-8).
    pub console: Vec<u8>,
    /// The guest command's stdout.
    pub stdout: Vec<u8>,
    /// vng's exit code (255 when the guest panicked), None when killed.
    pub exit_code: Option<i32>,
    pub timed_out: bool,
    pub wall: Duration,
    /// Processes of the boot (QEMU...) still alive after the kill: should never happen.
    pub survivors: Vec<u32>,
}

impl Boot<'_> {
    pub fn command(&self) -> Command {
        let mut cmd = Command::new("vng");
        cmd.arg("--run")
            .arg(self.kernel_dir)
            .args(["--disable-kvm", "--force-9p", "-v", "--cpus"])
            .arg(self.cpus.to_string())
            .args(["--memory", self.memory]);
        for arg in &self.kernel_args {
            cmd.args(["--append", arg]);
        }
        cmd.args(["--exec", &self.exec]);
        cmd
    }

    /// Boots, streaming each line to `on_line` as it arrives and the console to `console_log`.
    pub fn run(&self, console_log: &Path, mut on_line: impl FnMut(Stream, &str)) -> Result<Ended> {
        let mut log = File::create(console_log)
            .with_context(|| format!("cannot create {}", console_log.display()))?;
        let start = Instant::now();
        let mut child = self
            .command()
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group, so vng, virtme-run and QEMU die together.
            .process_group(0)
            .spawn()
            .context("cannot start vng (virtme-ng): run scripts/setup.sh")?;
        let pgid = child.id() as libc::pid_t;
        let group = GroupGuard(pgid);

        let (tx, rx) = mpsc::channel::<(Stream, Vec<u8>)>();
        let readers = [
            spawn_reader(
                child.stderr.take().context("no stderr pipe")?,
                Stream::Console,
                tx.clone(),
            ),
            spawn_reader(
                child.stdout.take().context("no stdout pipe")?,
                Stream::Stdout,
                tx,
            ),
        ];

        let mut console = Vec::new();
        let mut stdout = Vec::new();
        let mut timed_out = false;
        let mut exit_code = None;
        let mut exited_at: Option<Instant> = None;
        loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok((stream, line)) => {
                    let text = String::from_utf8_lossy(&line);
                    on_line(stream, text.trim_end_matches(['\n', '\r']));
                    match stream {
                        Stream::Console => {
                            log.write_all(&line)?;
                            console.extend_from_slice(&line);
                        }
                        Stream::Stdout => stdout.extend_from_slice(&line),
                    }
                }
                // Both pipes closed: nothing more will come.
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
            if exited_at.is_none() {
                if let Some(status) = child.try_wait()? {
                    exit_code = status.code();
                    exited_at = Some(Instant::now());
                    // QEMU may outlive vng and hold the pipes open.
                    group.kill();
                }
            }
            if exited_at.is_some_and(|t| t.elapsed() > Duration::from_secs(3)) {
                break;
            }
            if exited_at.is_none() && start.elapsed() > self.deadline {
                timed_out = true;
                group.kill();
                child.wait()?;
                exited_at = Some(Instant::now());
            }
        }
        if exited_at.is_none() {
            exit_code = child.wait()?.code();
        }
        group.kill();
        let survivors = group.survivors(Duration::from_secs(5));
        for reader in readers {
            let _ = reader.join();
        }
        log.flush()?;
        Ok(Ended {
            console,
            stdout,
            exit_code: if timed_out { None } else { exit_code },
            timed_out,
            wall: start.elapsed(),
            survivors,
        })
    }
}

fn spawn_reader(
    pipe: impl Read + Send + 'static,
    stream: Stream,
    tx: mpsc::Sender<(Stream, Vec<u8>)>,
) -> std::thread::JoinHandle<()> {
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
    })
}

/// Kills the boot's whole process group when dropped, so no QEMU outlives the harness.
struct GroupGuard(libc::pid_t);

impl GroupGuard {
    fn kill(&self) {
        // SAFETY: killpg has no memory-safety preconditions; a group that is gone gives ESRCH.
        unsafe {
            libc::killpg(self.0, libc::SIGKILL);
        }
    }
}

impl GroupGuard {
    /// Live (not zombie) processes left in the group, after waiting up to `patience` for them.
    fn survivors(&self, patience: Duration) -> Vec<u32> {
        let start = Instant::now();
        loop {
            let alive = live_members(self.0);
            if alive.is_empty() || start.elapsed() > patience {
                return alive;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Processes in group `pgid` that are not zombies, from /proc/PID/stat
/// (`pid (comm) state ppid pgrp ...`; comm may hold spaces and parentheses).
fn live_members(pgid: libc::pid_t) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            let Some((_, rest)) = stat.rsplit_once(')') else {
                return false;
            };
            let fields: Vec<&str> = rest.split_whitespace().collect();
            fields
                .first()
                .is_some_and(|state| *state != "Z" && *state != "X")
                && fields.get(2).and_then(|g| g.parse::<libc::pid_t>().ok()) == Some(pgid)
        })
        .collect()
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        self.kill();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_has_the_measured_flags() {
        let boot = Boot {
            kernel_dir: Path::new("/k"),
            cpus: 3,
            memory: "1G",
            kernel_args: vec!["nmi_watchdog=1".into(), "watchdog_thresh=2".into()],
            exec: "/bin/true".into(),
            deadline: Duration::from_secs(1),
        };
        let cmd = boot.command();
        let args: Vec<_> = cmd
            .get_args()
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
}
