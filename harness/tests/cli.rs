//! Bad input gets a one-line error and a non-zero exit, never a panic or a silent pass.
//! These run the real binary; none of them boots a VM.

use std::path::Path;
use std::process::{Command, Output, Stdio};

fn hogs(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hogs"))
        .args(args)
        .env_remove("HOGS_SCENARIOS")
        .stdin(Stdio::null())
        .output()
        .expect("run hogs")
}

fn hogs_stdin(args: &[&str], input: &[u8]) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_hogs"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run hogs");
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

/// Exit code 2 and exactly one line on stderr, starting with `hogs: error: `.
fn assert_one_line_error(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "not one line: {stderr}");
    assert!(stderr.starts_with("hogs: error: "), "{stderr}");
    assert!(stderr.contains(needle), "{stderr} lacks {needle}");
}

#[test]
fn unknown_scenario() {
    let out = hogs(&["run", "no-such-scenario"]);
    assert_one_line_error(&out, "unknown scenario `no-such-scenario` (known: ");
}

#[test]
fn a_scenario_named_twice() {
    let out = hogs(&["run", "busy-loop", "busy-loop"]);
    assert_one_line_error(&out, "scenario `busy-loop` is named twice");
}

#[test]
fn missing_and_unbuilt_kernels() {
    let out = hogs(&["run", "busy-loop", "--kdir", "/nonexistent/linux"]);
    assert_one_line_error(&out, "kernel at /nonexistent/linux: no such directory");
    let dir = tempfile::tempdir().unwrap();
    let out = hogs(&["boot-check", "--kdir", dir.path().to_str().unwrap()]);
    assert_one_line_error(&out, "is not configured: no .config");
    std::fs::write(
        dir.path().join(".config"),
        "CONFIG_X86_64=y\nCONFIG_MODULES=y\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("arch/x86/boot")).unwrap();
    std::fs::write(dir.path().join("arch/x86/boot/bzImage"), "").unwrap();
    let out = hogs(&["run", "--kdir", dir.path().to_str().unwrap()]);
    assert_one_line_error(&out, "lacks CONFIG_RUST: the hogs are Rust modules");
    // A tree of another architecture than --arch asks for, and an unknown architecture.
    let out = hogs(&["run", "--arch", "riscv", "--kernel", "6.12"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown architecture `riscv`"));
    std::fs::write(dir.path().join(".config"), "CONFIG_MODULES=y\n").unwrap();
    let out = hogs(&["run", "--kdir", dir.path().to_str().unwrap()]);
    assert_one_line_error(&out, "is neither x86_64 nor arm64");
}

#[test]
fn malformed_scenario_file_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.toml"),
        "summary = \"s\"\ndescription = \"d\"\nmodule = \"hog_busy\"\ncmdline = [\"watchdog_thresh=2\"]\n\n[[expect]]\nkind = \"soft_lockup\"\nkolour = 1\n",
    )
    .unwrap();
    let out = hogs(&["--scenarios", dir.path().to_str().unwrap(), "list"]);
    assert_one_line_error(&out, "bad.toml:8: unknown field `kolour`");
    std::fs::write(dir.path().join("bad.toml"), "summary = [\n").unwrap();
    let out = hogs(&["--scenarios", dir.path().to_str().unwrap(), "run"]);
    assert_one_line_error(&out, "bad.toml:");
    std::fs::write(
        dir.path().join("bad.toml"),
        "summary = \"s\"\ndescription = \"d\"\nmodule = \"hog_busy\"\ncmdline = []\n",
    )
    .unwrap();
    let out = hogs(&["--scenarios", dir.path().to_str().unwrap(), "list"]);
    assert_one_line_error(&out, "set kernel.watchdog_thresh before the hog");
}

#[test]
fn list_shows_every_scenario_file() {
    let out = hogs(&["list"]);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../expected");
    let files = std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "toml")
        })
        .count();
    assert!(
        files >= 12,
        "the suite has at least the DESIGN table's scenarios"
    );
    assert_eq!(stdout.lines().count(), files);
    assert!(
        stdout.lines().any(|l| l.starts_with("busy-loop ")),
        "{stdout}"
    );
}

#[test]
fn live_needs_exactly_one_scenario() {
    let out = hogs(&["run", "--live"]);
    assert_one_line_error(&out, "--live shows one scenario");
}

#[test]
fn check_refuses_garbage_and_reads_a_quiet_log() {
    let garbage: Vec<u8> = (0..20_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let out = hogs_stdin(&["check", "-"], &garbage);
    assert_one_line_error(&out, "- does not look like a kernel log");
    let out = hogs_stdin(&["check", "--json", "-"], b"");
    assert_one_line_error(&out, "does not look like a kernel log");
    let quiet =
        b"[    0.000000] Linux version 6.12.117\n[    1.000000] Run /init as init process\n";
    let out = hogs_stdin(&["check", "-"], quiet);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "no reports");
    let out = hogs_stdin(&["check", "--json", "-"], quiet);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["reports"].as_array().map(Vec::len), Some(0));
}

#[test]
fn check_finds_a_report_on_stdin() {
    let log = b"[  355.900698] NMI watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [hog:6885]\n";
    let out = hogs_stdin(&["check", "--json", "-"], log);
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["reports"][0]["kind"], "soft_lockup");
    assert_eq!(json["reports"][0]["cpu"], 0);
    assert_eq!(json["reports"][0]["stuck_secs"], 22);
    assert_eq!(json["reports"][0]["line"], 1);
    assert_eq!(json["reports"][0]["title"], "soft lockup (no culprit)");
    assert_eq!(
        json["reports"][0]["corrupted"],
        "the log ends before its call trace"
    );
    let out = hogs_stdin(&["check", "-"], log);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "line 1: soft lockup (no culprit) | soft_lockup on CPU 0 [hog] (incomplete: the log ends before its call trace)"
    );
}

#[test]
fn check_of_a_missing_file_is_an_io_error() {
    let out = hogs(&["check", "/nonexistent/console.log"]);
    assert_one_line_error(&out, "cannot read /nonexistent/console.log");
}

#[test]
fn a_reader_that_goes_away_ends_a_listing_without_a_panic() {
    use std::os::unix::process::ExitStatusExt;
    // Its stdout's reader closed before it writes: `hogs list | head -0`.
    let mut child = Command::new(env!("CARGO_BIN_EXE_hogs"))
        .arg("list")
        .env_remove("HOGS_SCENARIOS")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run hogs");
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        out.status.signal(),
        Some(13),
        "ended by SIGPIPE, as `ls` would: {stderr}"
    );
}

#[test]
fn a_bisect_step_skips_an_unusable_kernel_and_stops_on_a_mistake() {
    // `git bisect run`: 125 skips the commit, above 127 stops the bisect.
    let out = hogs(&[
        "run",
        "--bisect",
        "--kdir",
        "/nonexistent/linux",
        "busy-loop",
    ]);
    assert_eq!(
        out.status.code(),
        Some(129),
        "no tree at all is a mistake in the command"
    );
    let out = hogs(&["run", "--bisect", "--kernel", "6.x", "busy-loop"]);
    assert_eq!(
        out.status.code(),
        Some(129),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = hogs(&["run", "--bisect", "--no-such-flag", "busy-loop"]);
    assert_eq!(
        out.status.code(),
        Some(129),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".config"), "CONFIG_MODULES=y\n").unwrap();
    let out = hogs(&[
        "run",
        "--bisect",
        "--kdir",
        dir.path().to_str().unwrap(),
        "busy-loop",
    ]);
    assert_eq!(
        out.status.code(),
        Some(125),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = hogs(&["run", "--bisect", "no-such-scenario"]);
    assert_eq!(out.status.code(), Some(129));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown scenario `no-such-scenario`"));
}
