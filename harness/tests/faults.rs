//! Host faults with a stand-in for vng: the VM driver dies, leaves a process behind, hangs, or
//! the harness is interrupted or dies. Each must give the verdict that names the fault, and no
//! process of the boot may survive. These run the real guard (`hogs boot-guard`), the real
//! record reader and the real judge; nothing boots.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hogs::judge::{judge_boot, Outcome, Verdict};
use hogs::protocol::{encode, Event};
use hogs::record;
use hogs::scenario::Scenario;
use hogs::vm::Exit;
use hogs::vm::{Boot, Ended};

const HOGS: &str = env!("CARGO_BIN_EXE_hogs");

/// A scenario the stand-in's console is about.
fn scenario() -> Scenario {
    Scenario::parse(
        Path::new("fake.toml"),
        "summary = \"s\"\ndescription = \"d\"\nmodule = \"hog_polite\"\n\
         params = { secs = 4, cpu = 1 }\ncmdline = [\"watchdog_thresh=2\"]\n",
    )
    .unwrap()
}

/// The console of a guest that started scenario `fake` and whose hog is running.
fn console_so_far() -> String {
    let lines = [
        encode(&Event::Ready {
            preempt: Some(hogs::kernel::Preempt::Voluntary),
        }),
        encode(&Event::Begin {
            scenario: "fake".into(),
            module: "hog_polite".into(),
            params: "cpu=1 secs=4".into(),
        }),
        encode(&Event::Loaded {
            scenario: "fake".into(),
        }),
        "hog_polite: hogging CPU 1 for 4 s but calling cond_resched() every round".into(),
    ];
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| format!("[    {}.000000] {l}\n", i + 1))
        .collect()
}

/// A stand-in for vng: prints `console` on stderr (where vng puts the console), then runs `then`.
fn fake_vng(dir: &Path, console: &str, then: &str) -> PathBuf {
    let console_file = dir.join("console.txt");
    std::fs::write(&console_file, console).unwrap();
    let script = dir.join("vng");
    std::fs::write(
        &script,
        format!("#!/bin/bash\ncat {} >&2\n{then}\n", console_file.display()),
    )
    .unwrap();
    let mut perms = std::fs::metadata(&script).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&script, perms).unwrap();
    script
}

fn boot(dir: &Path, vng: &Path, deadline: Duration, stop: impl Fn() -> Option<i32>) -> Ended {
    let boot = Boot {
        vng,
        hogs: Path::new(HOGS),
        kernel_dir: Path::new("/nonexistent"),
        cpus: 2,
        memory: "1G",
        kernel_args: vec!["watchdog_thresh=2".into()],
        arch: hogs::kernel::Arch::X86_64,
        root: None,
        exec: "true".into(),
        deadline,
    };
    boot.run(&dir.join("console.log"), stop, |_, _| {}).unwrap()
}

fn verdict(ended: &Ended) -> Verdict {
    let record = record::of_boot(ended);
    let s = scenario();
    judge_boot(&[&s], &record).remove(0)
}

/// Live processes whose command line contains `marker`.
fn alive_with(marker: &str) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let zombie = state
                .rsplit_once(") ")
                .is_some_and(|(_, rest)| rest.starts_with('Z'));
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            !zombie && cmdline.contains(marker)
        })
        .collect()
}

/// A number no other test's `sleep` uses, so `alive_with` finds only ours.
fn marker(base: u32) -> String {
    format!("{}", base * 1000 + std::process::id() % 1000)
}

#[test]
fn a_driver_killed_by_a_signal_is_a_host_fault() {
    let dir = tempfile::tempdir().unwrap();
    let vng = fake_vng(dir.path(), &console_so_far(), "kill -9 $$");
    let ended = boot(dir.path(), &vng, Duration::from_secs(60), || None);
    assert_eq!(ended.exit, Exit::Signal(9));
    let v = verdict(&ended);
    assert_eq!(v.outcome, Outcome::Error, "{:?}", v.reasons);
    assert!(
        v.reasons[0].starts_with(
            "host fault: the scenario did not finish: vng was killed by signal 9 (SIGKILL) and the console shows no panic or oops"
        ),
        "{:?}",
        v.reasons
    );
}

#[test]
fn a_process_that_escapes_the_group_is_killed_and_the_verdict_is_error() {
    let dir = tempfile::tempdir().unwrap();
    let m = marker(31);
    let then = format!("setsid sleep {m} </dev/null >/dev/null 2>&1 &\nsleep 0.3\nexit 255");
    let vng = fake_vng(dir.path(), &console_so_far(), &then);
    let ended = boot(dir.path(), &vng, Duration::from_secs(60), || None);
    assert_eq!(ended.exit, Exit::Code(255));
    assert!(ended.survivors.is_empty(), "{:?}", ended.survivors);
    assert_eq!(alive_with(&format!("sleep {m}")), Vec::<u32>::new());
    let v = verdict(&ended);
    assert_eq!(v.outcome, Outcome::Error);
    assert!(
        v.reasons[0].contains("vng exited with status 255 and the console shows no panic or oops"),
        "{:?}",
        v.reasons
    );
}

#[test]
fn a_guest_that_panics_is_a_kernel_failure_not_a_host_fault() {
    let dir = tempfile::tempdir().unwrap();
    let console = format!(
        "{}[    5.000000] Kernel panic - not syncing: Fatal exception\n",
        console_so_far()
    );
    let vng = fake_vng(dir.path(), &console, "exit 255");
    let v = verdict(&boot(dir.path(), &vng, Duration::from_secs(60), || None));
    assert_eq!(v.outcome, Outcome::Fail);
    assert!(
        v.reasons[0].starts_with("the guest died here: panic (Fatal exception)"),
        "{:?}",
        v.reasons
    );
}

#[test]
fn a_hung_driver_is_killed_at_the_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let m = marker(32);
    let vng = fake_vng(dir.path(), &console_so_far(), &format!("sleep {m}"));
    let start = Instant::now();
    let ended = boot(dir.path(), &vng, Duration::from_secs(2), || None);
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "{:?}",
        start.elapsed()
    );
    assert!(ended.timed_out);
    assert!(ended.survivors.is_empty());
    assert_eq!(alive_with(&format!("sleep {m}")), Vec::<u32>::new());
    let v = verdict(&ended);
    assert_eq!(v.outcome, Outcome::Timeout, "{:?}", v.reasons);
}

#[test]
fn an_interruption_kills_the_boot_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let m = marker(33);
    let vng = fake_vng(dir.path(), &console_so_far(), &format!("sleep {m}"));
    let start = Instant::now();
    let ended = boot(dir.path(), &vng, Duration::from_secs(60), || {
        (start.elapsed() > Duration::from_secs(1)).then_some(2)
    });
    assert_eq!(ended.interrupted, Some(2));
    assert!(ended.survivors.is_empty());
    assert_eq!(alive_with(&format!("sleep {m}")), Vec::<u32>::new());
    let v = verdict(&ended);
    assert_eq!(v.outcome, Outcome::Error);
    assert_eq!(
        v.reasons,
        ["the scenario did not finish: interrupted by SIGINT, the boot was killed"]
    );
}

/// The harness dies without a word (SIGKILL): the kernel closes its end of the guard's
/// lifeline, and the guard must take the boot down with it.
#[test]
fn the_guard_takes_the_boot_down_when_the_harness_dies() {
    let dir = tempfile::tempdir().unwrap();
    let m = marker(34);
    let vng = fake_vng(
        dir.path(),
        "",
        &format!("setsid sleep {m} </dev/null >/dev/null 2>&1 &\nsleep {m}"),
    );
    let mut guard = Command::new(HOGS)
        .args(["boot-guard", "--"])
        .arg(&vng)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    // Both sleeps started (a loaded host may take seconds to start a shell).
    let started = Instant::now();
    while alive_with(&format!("sleep {m}")).len() < 2 && started.elapsed() < Duration::from_secs(20)
    {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(alive_with(&format!("sleep {m}")).len(), 2);
    let lifeline = guard.stdin.take().unwrap();
    drop(lifeline);
    let status = guard.wait().unwrap();
    assert_eq!(status.code(), Some(137));
    assert_eq!(alive_with(&format!("sleep {m}")), Vec::<u32>::new());
}

/// The guard ends as the driver did, so the harness can tell a code from a signal.
#[test]
fn the_guard_mirrors_the_driver() {
    let dir = tempfile::tempdir().unwrap();
    for (then, code) in [("exit 3", Some(3)), ("kill -TERM $$", None)] {
        let vng = fake_vng(dir.path(), "", then);
        let mut guard = Command::new(HOGS)
            .args(["boot-guard", "--"])
            .arg(&vng)
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        // Child::wait() would close the lifeline first, which ends the boot by itself.
        let lifeline = guard.stdin.take();
        let status = loop {
            if let Some(status) = guard.try_wait().unwrap() {
                break status;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        drop(lifeline);
        assert_eq!(status.code(), code, "{then}");
        if code.is_none() {
            assert_eq!(
                std::os::unix::process::ExitStatusExt::signal(&status),
                Some(15)
            );
        }
    }
}

/// A kernel tree that passes `Kernel::open` (nothing in it boots: the stand-in vng ignores it),
/// and a module folder with the scenario's hog.
fn fake_target(dir: &Path) -> (hogs::kernel::Kernel, hogs::modules::Modules) {
    let tree = dir.join("linux");
    std::fs::create_dir_all(tree.join("arch/x86/boot")).unwrap();
    std::fs::create_dir_all(tree.join("include/config")).unwrap();
    let config: String = [
        "X86_64",
        "RUST",
        "MODULES",
        "MODULE_UNLOAD",
        "SOFTLOCKUP_DETECTOR",
        "HARDLOCKUP_DETECTOR",
        "KALLSYMS",
        "PRINTK_TIME",
        "VIRTIO_CONSOLE",
        "NET_9P_VIRTIO",
    ]
    .iter()
    .map(|o| format!("CONFIG_{o}=y\n"))
    .collect();
    std::fs::write(tree.join(".config"), config).unwrap();
    std::fs::write(tree.join("arch/x86/boot/bzImage"), "").unwrap();
    std::fs::write(tree.join("Module.symvers"), "").unwrap();
    std::fs::write(tree.join("include/config/kernel.release"), "6.12.0-fake\n").unwrap();
    let modules = dir.join("modules");
    std::fs::create_dir_all(modules.join("hogs")).unwrap();
    std::fs::write(modules.join("hogs/hog_polite.ko"), "").unwrap();
    (
        hogs::kernel::Kernel::open(&tree).unwrap(),
        hogs::modules::Modules { dir: modules },
    )
}

/// Runs the scenario through the real runner with `vng`, and counts the boots it started.
fn run_with(dir: &Path, vng: &Path) -> (hogs::results::RunResult, usize) {
    let (kernel, modules) = fake_target(dir);
    let out = dir.join("run");
    let targets = [hogs::runner::Target {
        kernel: &kernel,
        modules: Ok(modules),
        out_dir: out.clone(),
        dir: ".".into(),
        root: None,
        guest_exe: PathBuf::from(HOGS),
    }];
    let opts = hogs::runner::Options {
        append: Vec::new(),
        live: false,
        jobs: 1,
        deadline: Duration::from_secs(600),
        memory: "1G".into(),
        vng: vng.to_owned(),
        shard: None,
        hogs: PathBuf::from(HOGS),
        grouping: hogs::runner::Grouping::Shared,
        no_settle: false,
    };
    let result = hogs::runner::run(&targets, &[scenario()], &opts, &|_| {}).remove(0);
    let boots = std::fs::read_to_string(dir.join("boots")).unwrap_or_default();
    (result, boots.lines().count())
}

/// A stand-in for vng that counts its boots in `dir/boots` and dies by SIGKILL mid-scenario on
/// the boots `die_on` names (1-based); the others finish the scenario cleanly.
fn flaky_vng(dir: &Path, die_on: &[usize]) -> PathBuf {
    let finish: String = [
        encode(&Event::Unloaded {
            scenario: "fake".into(),
        }),
        encode(&Event::Done),
    ]
    .iter()
    .map(|l| format!("[    9.000000] {l}\n"))
    .collect();
    std::fs::write(dir.join("finish.txt"), finish).unwrap();
    let dies: Vec<String> = die_on.iter().map(|n| n.to_string()).collect();
    let then = format!(
        "echo boot >> {boots}\nn=$(wc -l < {boots})\ncase \" {dies} \" in *\" $n \"*) kill -9 $$;; esac\ncat {finish} >&2\nexit 0",
        boots = dir.join("boots").display(),
        dies = dies.join(" "),
        finish = dir.join("finish.txt").display(),
    );
    fake_vng(dir, &console_so_far(), &then)
}

#[test]
fn a_boot_that_died_of_a_host_fault_runs_once_more() {
    let dir = tempfile::tempdir().unwrap();
    let vng = flaky_vng(dir.path(), &[1]);
    let (result, boots) = run_with(dir.path(), &vng);
    assert_eq!(boots, 2);
    let s = &result.scenarios[0];
    assert_eq!(s.outcome, Outcome::Pass, "{:?}", s.reasons);
    let retried = result.boots[0].retried_after.as_deref().unwrap_or_default();
    assert!(
        retried.starts_with("host fault: the scenario did not finish: vng was killed by signal 9"),
        "{retried:?}"
    );
    assert!(dir
        .path()
        .join("run/boot-1.attempt-1.console.log")
        .is_file());
    assert!(dir.path().join("run/boot-1.console.log").is_file());
}

#[test]
fn a_host_fault_is_retried_only_once() {
    let dir = tempfile::tempdir().unwrap();
    let vng = flaky_vng(dir.path(), &[1, 2]);
    let (result, boots) = run_with(dir.path(), &vng);
    assert_eq!(boots, 2);
    assert_eq!(result.scenarios[0].outcome, Outcome::Error);
    assert!(result.boots[0].retried_after.is_some());
}

#[test]
fn a_kernel_failure_is_never_retried() {
    let dir = tempfile::tempdir().unwrap();
    let console = format!(
        "{}[    5.000000] Kernel panic - not syncing: Fatal exception\n",
        console_so_far()
    );
    let then = format!(
        "echo boot >> {}\nexit 255",
        dir.path().join("boots").display()
    );
    let vng = fake_vng(dir.path(), &console, &then);
    let (result, boots) = run_with(dir.path(), &vng);
    assert_eq!(boots, 1);
    assert_eq!(result.scenarios[0].outcome, Outcome::Fail);
    assert!(result.boots[0].retried_after.is_none());
}
