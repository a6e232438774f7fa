//! `hogs`: the command line of the suite.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};

use hogs::guest::BootFacts;
use hogs::kernel::Kernel;
use hogs::modules::{Lint, Modules};
use hogs::{guest, output, report, runner, scenario, vm};

#[derive(Parser)]
#[command(
    name = "hogs",
    version,
    about = "Provoke Linux soft and hard lockups in virtme-ng guests and check the watchdog's reports"
)]
struct Cli {
    /// The project folder (holds expected/, hogs/, scripts/).
    #[arg(long, env = "HOGS_ROOT", global = true, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/.."))]
    root: PathBuf,
    /// The scenario folder (default: expected/ in the project).
    #[arg(
        long = "scenarios",
        env = "HOGS_SCENARIOS",
        global = true,
        value_name = "DIR"
    )]
    scenario_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(clap::Args)]
struct KernelArgs {
    /// Run on your own built kernel tree (or O= build folder) instead of the default kernel.
    #[arg(long, value_name = "PATH")]
    kdir: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Cmd {
    /// List the scenarios with their one-line descriptions.
    List,
    /// Boot the kernel, trigger each scenario's lockup and judge the watchdog's reports.
    Run {
        /// Scenarios to run (all when none is named).
        scenarios: Vec<String>,
        #[command(flatten)]
        kernel: KernelArgs,
        /// Add a kernel argument to every boot (e.g. `nosoftlockup`: the suite must go red).
        #[arg(long, value_name = "ARG")]
        append: Vec<String>,
        /// Stream the guest console with the watchdog's lines highlighted (for one scenario).
        #[arg(long)]
        live: bool,
        /// Print KTAP v1 on stdout.
        #[arg(long)]
        ktap: bool,
        /// Write JUnit XML here.
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        /// Write the results as JSON here.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
        /// Folder for consoles and plans (default: runs/<time> in the project).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Deadline for the whole run, in seconds.
        #[arg(long, default_value_t = 1800)]
        timeout: u64,
        /// Guest memory.
        #[arg(long, default_value = "1G")]
        memory: String,
    },
    /// Print the lockup reports found in a console log (a file, or - for stdin).
    Check {
        file: PathBuf,
        /// JSON instead of one line per report.
        #[arg(long)]
        json: bool,
    },
    /// Explain the lockup reports in a console log in plain language.
    Explain { file: PathBuf },
    /// Boot the kernel and check the lockup detectors are active (buddy hard lockup detector, Rust).
    BootCheck {
        #[command(flatten)]
        kernel: KernelArgs,
    },
    /// Build (or validate) the kernel and print its folder.
    Kernel {
        #[command(flatten)]
        kernel: KernelArgs,
    },
    /// Build the hog modules against the kernel; any warning fails. `--clippy` adds the lint pass.
    Build {
        #[command(flatten)]
        kernel: KernelArgs,
        #[arg(long)]
        clippy: bool,
    },
    /// The guest side (runs inside the VM).
    #[command(hide = true)]
    Guest {
        #[arg(long)]
        plan: Option<PathBuf>,
        #[arg(long)]
        boot_check: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("hogs: error: {}", format!("{e:#}").replace('\n', " "));
            ExitCode::from(2)
        }
    }
}

fn dispatch(cli: Cli) -> Result<ExitCode> {
    // Canonical, so paths in messages and results read /x/runs, not /x/harness/../runs.
    let root = std::fs::canonicalize(&cli.root).with_context(|| {
        format!(
            "project folder {} not found (set HOGS_ROOT)",
            cli.root.display()
        )
    })?;
    let root = root.as_path();
    let scenario_dir = cli
        .scenario_dir
        .clone()
        .unwrap_or_else(|| root.join("expected"));
    match cli.command {
        Cmd::List => {
            for s in scenario::load_dir(&scenario_dir)? {
                println!("{:<24} {}", s.name, s.summary);
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Check { file, json } => {
            let text = read_input(&file)?;
            let reports = report::parse(&text);
            if json {
                println!("{}", report::to_json(&reports));
            } else {
                for r in &reports {
                    println!("line {}: {}", r.line, hogs::judge::describe(r));
                }
                if reports.is_empty() {
                    println!("no lockup reports");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Explain { file } => {
            let text = read_input(&file)?;
            print!("{}", report::explain(&report::parse(&text)));
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Kernel { kernel } => {
            println!("{}", resolve_kernel(root, &kernel)?.dir.display());
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Build { kernel, clippy } => {
            let kernel = resolve_kernel(root, &kernel)?;
            let lint = if clippy { Lint::Clippy } else { Lint::None };
            let modules = Modules::build(root, &kernel, &cache_dir(), lint)?;
            println!(
                "built {} for Linux {}: {}",
                modules.list()?.join(", "),
                kernel.release,
                modules.dir.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Cmd::BootCheck { kernel } => boot_check(root, &resolve_kernel(root, &kernel)?),
        Cmd::Guest { plan, boot_check } => {
            match (plan, boot_check) {
                (Some(plan), false) => guest::run_plan(&plan)?,
                (None, true) => guest::boot_check()?,
                _ => bail!("guest needs exactly one of --plan FILE or --boot-check"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Run {
            scenarios,
            kernel,
            append,
            live,
            ktap,
            junit,
            json,
            out,
            timeout,
            memory,
        } => {
            let all = scenario::load_dir(&scenario_dir)?;
            let selected = scenario::select(all, &scenarios)?;
            if live && selected.len() != 1 {
                bail!("--live shows one scenario: name it (see `hogs list`)");
            }
            let kernel = resolve_kernel(root, &kernel)?;
            let modules = Modules::build(root, &kernel, &cache_dir(), Lint::None)?;
            let out_dir = out.unwrap_or_else(|| root.join("runs").join(run_stamp()));
            let opts = runner::Options {
                append,
                live,
                out_dir: out_dir.clone(),
                deadline: Duration::from_secs(timeout),
                memory,
            };
            eprintln!(
                "hogs: {} scenario(s) on Linux {} ({}), consoles in {}",
                selected.len(),
                kernel.release,
                kernel.dir.display(),
                out_dir.display()
            );
            let result = runner::run(&kernel, &modules, &selected, &opts, |line| {
                eprintln!("{line}")
            })?;
            let json_text = output::json(&result)?;
            std::fs::write(out_dir.join("results.json"), &json_text)?;
            if let Some(path) = json {
                std::fs::write(&path, &json_text)
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
            if let Some(path) = junit {
                std::fs::write(&path, output::junit(&result)?)
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
            if ktap {
                print!("{}", output::ktap(&result));
            }
            print_summary(&result);
            Ok(if result.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}

fn print_summary(result: &runner::RunResult) {
    let count = |o| result.scenarios.iter().filter(|s| s.outcome == o).count();
    use hogs::judge::Outcome::*;
    for b in &result.boots {
        let boot = b.boot_secs.map_or("guest never started".to_owned(), |s| {
            format!("booted in {s:.1} s")
        });
        eprintln!(
            "boot {}: {boot}, {:.1} s in all, preempt={}",
            b.index,
            b.wall_secs,
            b.preempt.map_or("?".into(), |p| p.to_string())
        );
    }
    eprintln!(
        "hogs: {} passed, {} failed, {} timed out, {} errors in {:.0} s (Linux {})",
        count(Pass),
        count(Fail),
        count(Timeout),
        count(Error),
        result.wall_secs,
        result.kernel
    );
}

fn boot_check(root: &Path, kernel: &Kernel) -> Result<ExitCode> {
    let _ = root;
    let exe = std::env::current_exe()?;
    let out_dir = std::env::temp_dir().join(format!("hogs-boot-check-{}", std::process::id()));
    std::fs::create_dir_all(&out_dir)?;
    let boot = vm::Boot {
        kernel_dir: &kernel.dir,
        cpus: 2,
        memory: "1G",
        kernel_args: scenario::BASE_CMDLINE
            .iter()
            .map(|s| s.to_string())
            .collect(),
        exec: format!("{} guest --boot-check", exe.display()),
        deadline: Duration::from_secs(240),
    };
    let log = out_dir.join("boot-check.console.log");
    let ended = boot.run(&log, |_, _| {})?;
    if ended.timed_out {
        bail!(
            "boot check: the guest did not finish within 240 s (console: {})",
            log.display()
        );
    }
    let stdout = String::from_utf8_lossy(&ended.stdout);
    let facts: BootFacts = stdout
        .lines()
        .find_map(|l| serde_json::from_str(l.trim()).ok())
        .with_context(|| {
            format!(
                "boot check: the guest printed no facts (console: {})",
                log.display()
            )
        })?;
    let mut problems = Vec::new();
    if facts.nmi_watchdog.as_deref() != Some("1") {
        problems.push(format!(
            "/proc/sys/kernel/nmi_watchdog is {:?}, not 1: no hard lockup detector",
            facts.nmi_watchdog
        ));
    }
    if facts.soft_watchdog.as_deref() != Some("1") {
        problems.push(format!(
            "/proc/sys/kernel/soft_watchdog is {:?}, not 1",
            facts.soft_watchdog
        ));
    }
    if !facts.config_rust {
        problems.push("/proc/config.gz lacks CONFIG_RUST=y".into());
    }
    if !facts.config_buddy {
        problems.push(
            "/proc/config.gz lacks CONFIG_HARDLOCKUP_DETECTOR_BUDDY=y: no hard lockups under TCG"
                .into(),
        );
    }
    println!(
        "boot check: Linux {} booted in {:.1} s; nmi_watchdog={} soft_watchdog={} watchdog_thresh={} preempt={} rust={} buddy={}",
        facts.release,
        ended.wall.as_secs_f64(),
        facts.nmi_watchdog.as_deref().unwrap_or("?"),
        facts.soft_watchdog.as_deref().unwrap_or("?"),
        facts.watchdog_thresh.as_deref().unwrap_or("?"),
        facts.preempt.as_deref().unwrap_or("?"),
        facts.config_rust,
        facts.config_buddy
    );
    if problems.is_empty() {
        println!("boot check: ok: the buddy hard lockup detector and the soft lockup detector are active");
        Ok(ExitCode::SUCCESS)
    } else {
        bail!(
            "boot check failed: {} (console: {})",
            problems.join("; "),
            log.display()
        )
    }
}

fn resolve_kernel(root: &Path, args: &KernelArgs) -> Result<Kernel> {
    match &args.kdir {
        Some(dir) => Kernel::open(dir),
        None => Kernel::default_build(root),
    }
}

fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("HOGS_CACHE") {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into())).join(".cache")
        });
    base.join("hogs")
}

fn run_stamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!("run-{secs}")
}

fn read_input(file: &Path) -> Result<Vec<u8>> {
    if file == Path::new("-") {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .context("cannot read stdin")?;
        Ok(buf)
    } else {
        std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))
    }
}
