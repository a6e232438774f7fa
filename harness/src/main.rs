//! `hogs`: the command line of the suite.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};

use hogs::detectors::DETECTORS;
use hogs::guest_root::{self, GuestRoot};
use hogs::kernel::{Arch, Kernel};
use hogs::modules::{Lint, Modules};
use hogs::protocol::{BootFacts, Event};
use hogs::record;
use hogs::results::{self, RunResult};
use hogs::scenario::Scenario;
use hogs::{compare, guest, html, output, report, runner, scenario, signals, vm};

/// The kernel series the suite runs on when none is named.
const DEFAULT_SERIES: &str = "6.12";

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
    /// The VM driver: virtme-ng's `vng`, or a stand-in with the same command line.
    #[arg(
        long,
        env = "HOGS_VNG",
        global = true,
        default_value = "vng",
        value_name = "PATH"
    )]
    vng: PathBuf,
    /// Boot guests with the host's `/` as their root (vng's default) instead of the project's
    /// minimal root: slower (systemd-tmpfiles and udev run in every boot), for comparison.
    #[arg(long, env = "HOGS_HOST_ROOT", global = true)]
    host_root: bool,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(clap::Args)]
struct KernelArgs {
    /// Kernels to run on, repeatable: a Debian series built into the cache (6.12, 7.3), maybe
    /// in a flavour (6.12-debug, 6.12-voluntary, 6.12-buddy) and for an architecture
    /// (arm64/6.12), or the path of your own built tree (or O= folder). Default: 6.12.
    #[arg(long, value_name = "[ARCH/]SERIES[-FLAVOUR]|PATH")]
    kernel: Vec<String>,
    /// Your own built kernel tree (same as --kernel PATH).
    #[arg(long, value_name = "PATH")]
    kdir: Option<PathBuf>,
    /// The architecture of the series named without one (x86_64 or arm64; default: the
    /// host's). `--kernel arm64/6.12-buddy` names it for one kernel.
    #[arg(long, value_name = "ARCH", value_parser = parse_arch)]
    arch: Option<Arch>,
}

/// `hogs run`'s arguments.
#[derive(clap::Args)]
struct RunArgs {
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
    /// Folder for consoles and plans (default: runs/<time> in the project).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Deadline for the whole run, in seconds.
    #[arg(long, default_value_t = 1800)]
    timeout: u64,
    /// Guest memory.
    #[arg(long, default_value = "1G")]
    memory: String,
    /// Boots at a time, across kernels (default: four per host CPU, as far as the host's
    /// available memory holds that many guests).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=64))]
    jobs: Option<u32>,
    /// Run only shard I of N of the boots (1-based), for a CI matrix; `hogs merge` joins the
    /// shards' results. Every shard must get the same other arguments.
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    shard: Option<(usize, usize)>,
    /// One boot per scenario: a verdict must not depend on what shared its boot.
    #[arg(long, conflicts_with = "shuffle")]
    isolate: bool,
    /// Group and order the scenarios at random from this seed (recorded in the results):
    /// a verdict must not depend on its neighbours or its place in a boot.
    #[arg(long, value_name = "SEED")]
    shuffle: Option<u64>,
    /// Exit for `git bisect run`: 0 PASS, 1 FAIL, 125 (skip) when the kernel cannot be used,
    /// its hogs do not build, its guest does not boot or a deadline passed, 129 (stop the
    /// bisect) for a mistake in the command.
    #[arg(long)]
    bisect: bool,
    /// Start each boot's first hog without waiting for the kernel's boot-time work (the
    /// TSC's refinement): only to show the false reports that wait prevents.
    #[arg(long, hide = true)]
    no_settle: bool,
    #[command(flatten)]
    outputs: Outputs,
}

fn parse_arch(text: &str) -> std::result::Result<Arch, String> {
    Arch::parse(text).ok_or_else(|| format!("unknown architecture `{text}` (known: x86_64, arm64)"))
}

#[derive(Subcommand)]
enum Cmd {
    /// List the scenarios with their one-line descriptions.
    List {
        /// The whole scenario reference in Markdown (docs/scenarios.md).
        #[arg(long)]
        markdown: bool,
    },
    /// Boot the kernel, trigger each scenario's lockup and judge the watchdog's reports.
    Run(RunArgs),
    /// Join the results of shards (`hogs run --shard I/N --json FILE`) into whole runs, and write
    /// them as any output `run` writes. Exits 1 unless every scenario passed.
    Merge {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        outputs: Outputs,
    },
    /// Print the JSON Schema of results files (schema/results.schema.json).
    Schema,
    /// One self-contained HTML page of a results file (`hogs run --json`): the matrix of
    /// kernels x scenarios, each cell's reasons, timeline and console.
    Report {
        file: PathBuf,
        /// The page to write.
        #[arg(short, long, value_name = "FILE")]
        output: PathBuf,
    },
    /// Print the lockup reports found in a console log (a file, or - for stdin).
    Check {
        file: PathBuf,
        /// JSON instead of one line per report.
        #[arg(long)]
        json: bool,
    },
    /// Compare two runs (`hogs run --json` files: one with two kernels, or two files): verdicts
    /// and detection latencies side by side. Exits 1 when a verdict changed.
    Compare {
        #[arg(required = true, num_args = 1..=2)]
        files: Vec<PathBuf>,
        /// Compare only this scenario (repeatable); it must be in both runs.
        #[arg(long, value_name = "SCENARIO")]
        only: Vec<String>,
    },
    /// Explain in plain language the reports in a console log (a file, or - for stdin), or what a
    /// scenario proves (its name, see `hogs list`).
    Explain {
        #[arg(value_name = "FILE|SCENARIO")]
        file: PathBuf,
    },
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
    /// Runs the VM driver and kills whatever it leaves behind (the harness starts it per boot).
    #[command(hide = true)]
    BootGuard {
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        command: Vec<std::ffi::OsString>,
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
    // Under `git bisect run` every exit code is a judgement on the commit: a mistake in the
    // command (a misspelt flag, a panic) must stop the bisect, not mark the commit bad.
    let bisect = std::env::args().any(|a| a == "--bisect");
    if bisect {
        std::panic::set_hook(Box::new(|info| {
            eprintln!("hogs: internal error: {info}");
            std::process::exit(results::BISECT_ABORT.into());
        }));
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if bisect && e.use_stderr() => {
            let _ = e.print();
            return ExitCode::from(results::BISECT_ABORT);
        }
        Err(e) => e.exit(),
    };
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("hogs: error: {}", format!("{e:#}").replace('\n', " "));
            let unusable = e.downcast_ref::<UnusableKernel>().is_some();
            ExitCode::from(match (bisect, unusable) {
                (false, _) => 2,
                (true, true) => results::BISECT_SKIP,
                (true, false) => results::BISECT_ABORT,
            })
        }
    }
}

fn dispatch(cli: Cli) -> Result<ExitCode> {
    // The guest sees the project only through the paths in its plan.
    if let Cmd::Guest { plan, boot_check } = &cli.command {
        match (plan, boot_check) {
            (Some(plan), false) => guest::run_plan(plan)?,
            (None, true) => guest::boot_check()?,
            _ => bail!("guest needs exactly one of --plan FILE or --boot-check"),
        }
        return Ok(ExitCode::SUCCESS);
    }
    let project = Project::of(&cli)?;
    if matches!(
        cli.command,
        Cmd::List { .. }
            | Cmd::Check { .. }
            | Cmd::Compare { .. }
            | Cmd::Explain { .. }
            | Cmd::Schema
    ) {
        end_quietly_on_closed_stdout();
    }
    match cli.command {
        Cmd::List { markdown } => list(&project, markdown),
        Cmd::Check { file, json } => check(&file, json),
        Cmd::Compare { files, only } => compare_runs(&files, &only),
        Cmd::Explain { file } => explain(&project, &file),
        Cmd::Kernel { kernel } => {
            println!("{}", resolve_kernel(&project.root, &kernel)?.dir.display());
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Build { kernel, clippy } => build(&project, &kernel, clippy),
        Cmd::BootCheck { kernel } => {
            let kernel = resolve_kernel(&project.root, &kernel)?;
            let (guest_root, guest_exe) =
                guest_side(&project.root, kernel.arch, project.host_root)?;
            boot_check(&project.vng, &kernel, guest_root.as_ref(), &guest_exe)
        }
        Cmd::BootGuard { command } => {
            let (program, args) = command
                .split_first()
                .context("boot-guard needs a command")?;
            vm::guard(&PathBuf::from(program), args)
        }
        Cmd::Guest { .. } => unreachable!("handled before the project folder is needed"),
        Cmd::Run(args) => run(&project, args),
        Cmd::Merge { files, outputs } => merge(&files, &outputs),
        Cmd::Schema => {
            print!("{}", results::schema());
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Report { file, output } => {
            let runs = results::read(&file)?.runs;
            let title = format!("hogs: {}", file.display());
            std::fs::write(&output, html::page(&runs, &title))
                .with_context(|| format!("cannot write {}", output.display()))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// For commands that only print: `hogs list | head` ends them as it ends `ls`, by SIGPIPE,
/// instead of a panic in `println!` (Rust ignores SIGPIPE by default). Not for `run`, whose
/// results must still be written when whatever reads its KTAP goes away.
fn end_quietly_on_closed_stdout() {
    use nix::sys::signal::{signal, SigHandler, Signal};
    // SAFETY: `signal()` is unsafe because a handler must be async-signal-safe; SIG_DFL installs
    // no handler of ours, and no other thread exists yet to race with the change.
    let _ = unsafe { signal(Signal::SIGPIPE, SigHandler::SigDfl) };
}

/// What every subcommand run on the host needs to know of the project and its tools.
struct Project {
    /// Canonical, so paths in messages and results read /x/runs, not /x/harness/../runs.
    root: PathBuf,
    scenario_dir: PathBuf,
    vng: PathBuf,
    host_root: bool,
}

impl Project {
    fn of(cli: &Cli) -> Result<Project> {
        let root = std::fs::canonicalize(&cli.root).with_context(|| {
            format!(
                "project folder {} not found (set HOGS_ROOT)",
                cli.root.display()
            )
        })?;
        let scenario_dir = cli
            .scenario_dir
            .clone()
            .unwrap_or_else(|| root.join("expected"));
        Ok(Project {
            root,
            scenario_dir,
            vng: vm::resolve_driver(&cli.vng),
            host_root: cli.host_root,
        })
    }

    fn scenarios(&self) -> Result<Vec<Scenario>> {
        scenario::load_dir(&self.scenario_dir)
    }
}

/// `hogs list`: a line per scenario, or the whole reference in Markdown.
fn list(project: &Project, markdown: bool) -> Result<ExitCode> {
    let all = project.scenarios()?;
    if markdown {
        print!("{}", scenario::reference(&all));
    } else {
        for s in &all {
            println!("{:<24} {}", s.name, s.summary);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The console text of `file` (or stdin), refused unless it looks like a kernel log.
fn kernel_log(file: &Path, otherwise: &str) -> Result<(Vec<u8>, Vec<report::Report>)> {
    let text = read_input(file)?;
    let reports = report::parse(&text);
    if !report::looks_like_kernel_log(&text, &reports) {
        bail!(
            "{} does not look like a kernel log{otherwise}",
            file.display()
        );
    }
    Ok((text, reports))
}

/// `hogs check`: the hang reports in a console log, a line each or as JSON.
fn check(file: &Path, json: bool) -> Result<ExitCode> {
    let (_, reports) = kernel_log(
        file,
        ": no [seconds] timestamps, no kernel lines, no reports",
    )?;
    if json {
        println!("{}", report::to_json(&reports));
        return Ok(ExitCode::SUCCESS);
    }
    for r in &reports {
        let incomplete = r
            .corrupted
            .as_deref()
            .map_or(String::new(), |why| format!(" (incomplete: {why})"));
        println!(
            "line {}: {} | {}{incomplete}",
            r.line,
            r.title,
            hogs::judge::describe(r)
        );
    }
    if reports.is_empty() {
        println!("no reports");
    }
    Ok(ExitCode::SUCCESS)
}

/// `hogs compare`: two runs side by side; 1 when a verdict changed.
fn compare_runs(files: &[PathBuf], only: &[String]) -> Result<ExitCode> {
    let paths: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let (a, b) = compare::load(&paths)?;
    let (table, changed) = compare::table(&a, &b, only);
    print!("{table}");
    Ok(if changed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `hogs explain`: a scenario by its name, or the reports of a console log.
fn explain(project: &Project, file: &Path) -> Result<ExitCode> {
    let named = file.to_str().filter(|n| !n.contains('/') && !file.exists());
    if let Some(name) = named.filter(|n| *n != "-") {
        let s = scenario::select(project.scenarios()?, &[name.to_owned()])?.remove(0);
        print!("{}", s.explain());
        return Ok(ExitCode::SUCCESS);
    }
    let (_, reports) = kernel_log(file, " (nor is it a scenario: see `hogs list`)")?;
    print!("{}", report::explain(&reports));
    Ok(ExitCode::SUCCESS)
}

/// `hogs build`: the hog modules against one kernel, warning-free (and clippy-clean).
fn build(project: &Project, kernel: &KernelArgs, clippy: bool) -> Result<ExitCode> {
    let kernel = resolve_kernel(&project.root, kernel)?;
    let lint = if clippy { Lint::Clippy } else { Lint::None };
    let modules = Modules::build(&project.root, &kernel, &cache_dir(), lint)?;
    println!(
        "built {} for Linux {}: {}",
        modules.list()?.join(", "),
        kernel.release,
        modules.dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `hogs run`: every selected scenario on every kernel, the results written wherever asked.
fn run(project: &Project, args: RunArgs) -> Result<ExitCode> {
    let selected = scenario::select(project.scenarios()?, &args.scenarios)?;
    if args.live && selected.len() != 1 {
        bail!("--live shows one scenario: name it (see `hogs list`)");
    }
    let kernels = resolve_kernels(&project.root, &args.kernel)?;
    let out_dir = args
        .out
        .clone()
        .unwrap_or_else(|| project.root.join("runs").join(run_stamp()));
    let targets = run_targets(project, &kernels, selected.len(), &out_dir);
    for modules in targets.iter().filter_map(|t| t.modules.as_ref().ok()) {
        modules.check_params(&selected)?;
    }
    std::fs::create_dir_all(&out_dir)
        .with_context(|| format!("cannot create {}", out_dir.display()))?;
    // From here on a signal ends the boot in progress and the results so far are written.
    signals::install()?;
    let opts = run_options(project, &args);
    if let Some(seed) = args.shuffle {
        eprintln!(
            "hogs: scenarios grouped and ordered at random from seed {seed} (--shuffle {seed})"
        );
    }
    let results = runner::run(&targets, &selected, &opts, &|line| eprintln!("{line}"));
    if kernels.len() > 1 {
        for (target, result) in targets.iter().zip(&results) {
            // Each kernel's own results too, e.g. to compare one of them with another run.
            let own = RunResult {
                dir: ".".into(),
                ..result.clone()
            };
            std::fs::write(
                target.out_dir.join("results.json"),
                results::to_json(std::slice::from_ref(&own)),
            )?;
        }
    }
    std::fs::write(out_dir.join("results.json"), results::to_json(&results))?;
    let run_id = out_dir
        .file_name()
        .map_or("run".to_owned(), |n| n.to_string_lossy().into_owned());
    args.outputs.write(&results, &run_id)?;
    for result in &results {
        print_summary(result);
    }
    if let Some(signal) = signals::caught() {
        eprintln!(
            "hogs: interrupted by {}: results so far in {}",
            signals::signal_name(signal),
            out_dir.join("results.json").display()
        );
        return Ok(ExitCode::from(128 + signal as u8));
    }
    if args.bisect {
        return Ok(ExitCode::from(RunResult::bisect_code(&results)));
    }
    Ok(verdict_code(&results))
}

/// Each kernel with its hogs and guest side built, and its own folder for consoles. Hogs or a
/// guest side that cannot be built for one kernel make that kernel's scenarios ERROR.
fn run_targets<'k>(
    project: &Project,
    kernels: &'k [Kernel],
    scenarios: usize,
    out_dir: &Path,
) -> Vec<runner::Target<'k>> {
    let mut targets = Vec::new();
    for (i, kernel) in kernels.iter().enumerate() {
        // One kernel: its consoles in the run folder itself; several: a folder each.
        let dir = if kernels.len() == 1 {
            ".".to_owned()
        } else {
            format!("k{}-{}", i + 1, kernel.release)
        };
        let kernel_dir = if kernels.len() == 1 {
            out_dir.to_path_buf()
        } else {
            out_dir.join(&dir)
        };
        eprintln!(
            "hogs: {scenarios} scenario(s) on Linux {} ({}), consoles in {}",
            kernel.release,
            kernel.dir.display(),
            kernel_dir.display()
        );
        let guest = guest_side(&project.root, kernel.arch, project.host_root);
        let modules = guest
            .as_ref()
            .map_err(|e| anyhow::anyhow!("{e:#}"))
            .and_then(|_| Modules::build(&project.root, kernel, &cache_dir(), Lint::None))
            .map_err(|e| format!("{e:#}").replace('\n', " "));
        let (guest_root, guest_exe) = guest.unwrap_or_default();
        if let Err(e) = &modules {
            eprintln!("hogs: Linux {}: {e}", kernel.release);
        }
        targets.push(runner::Target {
            kernel,
            modules,
            out_dir: kernel_dir,
            dir,
            root: guest_root,
            guest_exe,
        });
    }
    targets
}

/// How the runner goes about a run: boots at a time, deadline, grouping.
fn run_options(project: &Project, args: &RunArgs) -> runner::Options {
    let jobs = args
        .jobs
        .map_or_else(|| default_jobs(&args.memory), |j| j as usize);
    runner::Options {
        append: args.append.clone(),
        live: args.live,
        jobs: if args.live { 1 } else { jobs },
        deadline: Duration::from_secs(args.timeout),
        memory: args.memory.clone(),
        vng: project.vng.clone(),
        shard: args.shard,
        hogs: std::env::current_exe().unwrap_or_else(|_| PathBuf::from("hogs")),
        grouping: match (args.isolate, args.shuffle) {
            (true, _) => runner::Grouping::Isolate,
            (false, Some(seed)) => runner::Grouping::Shuffle(seed),
            (false, None) => runner::Grouping::Shared,
        },
        no_settle: args.no_settle,
    }
}

/// `hogs merge`: shards' results joined into whole runs; 1 unless every scenario passed.
fn merge(files: &[PathBuf], outputs: &Outputs) -> Result<ExitCode> {
    let mut parts = Vec::new();
    for file in files {
        parts.extend(results::read(file)?.runs);
    }
    let merged = results::merge(parts)?;
    outputs.write(&merged, "merged")?;
    for result in &merged {
        print_summary(result);
    }
    Ok(verdict_code(&merged))
}

/// Where the results go besides the run folder (`run` and `merge` write the same outputs).
#[derive(clap::Args)]
struct Outputs {
    /// Write the results as JSON here.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write JUnit XML here.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Write the results as KCIDB v5 JSON (KernelCI) here.
    #[arg(long, value_name = "FILE")]
    kcidb: Option<PathBuf>,
    /// Print KTAP v1 on stdout.
    #[arg(long)]
    ktap: bool,
    /// Write the results as one self-contained HTML page here (as `hogs report` does).
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
}

impl Outputs {
    fn write(&self, runs: &[RunResult], run_id: &str) -> Result<()> {
        let write = |path: &Option<PathBuf>, text: String| -> Result<()> {
            if let Some(path) = path {
                std::fs::write(path, text)
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
            Ok(())
        };
        write(&self.json, results::to_json(runs))?;
        write(&self.junit, output::junit(runs)?)?;
        write(&self.kcidb, output::kcidb(runs, run_id))?;
        write(&self.html, html::page(runs, &format!("hogs: {run_id}")))?;
        if self.ktap {
            print!("{}", output::ktap(runs));
        }
        Ok(())
    }
}

/// A kernel that cannot be used (no such tree, not built, no Rust...): for `--bisect`, a commit
/// to skip rather than a mistake in the command.
#[derive(Debug)]
struct UnusableKernel(String);

impl std::fmt::Display for UnusableKernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UnusableKernel {}

/// 0 when every scenario passed, else 1.
fn verdict_code(runs: &[RunResult]) -> ExitCode {
    if runs.iter().all(|r| r.passed()) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn print_summary(result: &RunResult) {
    let count = |o| result.count(o);
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
        "hogs: {} passed, {} failed, {} timed out, {} errors, {} skipped in {:.0} s (Linux {})",
        count(Pass),
        count(Fail),
        count(Timeout),
        count(Error),
        count(Skip),
        result.wall_secs,
        result.kernel
    );
}

fn boot_check(
    vng: &Path,
    kernel: &Kernel,
    root: Option<&GuestRoot>,
    guest_exe: &Path,
) -> Result<ExitCode> {
    let exe = std::env::current_exe()?;
    let out_dir = std::env::temp_dir().join(format!("hogs-boot-check-{}", std::process::id()));
    std::fs::create_dir_all(&out_dir)?;
    let boot = boot_check_vm(vng, &exe, kernel, root, guest_exe);
    let log = out_dir.join("boot-check.console.log");
    signals::install()?;
    let ended = boot.run(&log, signals::caught, |_, _| {})?;
    if ended.timed_out {
        bail!(
            "boot check: the guest did not finish within 240 s (console: {})",
            log.display()
        );
    }
    let record = record::of_boot(&ended);
    let facts: &BootFacts = record
        .events
        .iter()
        .find_map(|e| match &e.event {
            Event::Facts(facts) => Some(facts),
            _ => None,
        })
        .with_context(|| {
            format!(
                "boot check: the guest printed no facts ({}; console: {})",
                ended.exit,
                log.display()
            )
        })?;
    print_facts(facts, ended.wall.as_secs_f64());
    let problems = facts.problems();
    if problems.is_empty() {
        let hard = if facts.config_perf { "perf" } else { "buddy" };
        let names: Vec<&str> = DETECTORS.iter().map(|d| d.name).collect();
        println!("boot check: ok, active: {} ({hard})", names.join(", "));
        Ok(ExitCode::SUCCESS)
    } else {
        bail!(
            "boot check failed: {} (console: {})",
            problems.join("; "),
            log.display()
        )
    }
}

/// The boot check's VM: two CPUs, the suite's base command line, the guest step in check mode.
fn boot_check_vm<'a>(
    vng: &'a Path,
    exe: &'a Path,
    kernel: &'a Kernel,
    root: Option<&'a GuestRoot>,
    guest_exe: &Path,
) -> vm::Boot<'a> {
    let mut boot = vm::Boot {
        vng,
        hogs: exe,
        kernel_dir: &kernel.dir,
        arch: kernel.arch,
        cpus: 2,
        memory: "1G",
        kernel_args: scenario::BASE_CMDLINE
            .iter()
            .map(|s| s.to_string())
            .chain(vm::platform_args(kernel.arch))
            .collect(),
        root,
        exec: String::new(),
        deadline: Duration::from_secs(240),
    };
    boot.exec = format!("{} guest --boot-check", boot.in_guest(guest_exe).display());
    boot
}

/// The boot check's one line of what the guest showed.
fn print_facts(facts: &BootFacts, wall_secs: f64) {
    let switches: Vec<String> = DETECTORS
        .iter()
        .map(|d| {
            // `kernel.soft_watchdog`, `workqueue.watchdog_thresh`: as sysctl and modules name them.
            let path = d.switch.path;
            let file = path
                .strip_prefix("/proc/sys/")
                .map(|p| p.replace('/', "."))
                .or_else(|| {
                    let (module, param) = path.strip_prefix("/sys/module/")?.split_once('/')?;
                    Some(format!(
                        "{module}.{}",
                        param.trim_start_matches("parameters/")
                    ))
                })
                .unwrap_or_else(|| path.to_owned());
            let value = facts.switches.get(d.switch.path).cloned().flatten();
            format!("{file}={}", value.as_deref().unwrap_or("?"))
        })
        .collect();
    let hard = match (facts.config_perf, facts.config_buddy) {
        (true, _) => "perf",
        (false, true) => "buddy",
        (false, false) => "none",
    };
    println!(
        "boot check: Linux {} booted in {wall_secs:.1} s; kernel.watchdog_thresh={} preempt={} rust={} hard_lockup_detector={hard} {}",
        facts.release,
        facts.watchdog_thresh.as_deref().unwrap_or("?"),
        facts.preempt.as_deref().unwrap_or("?"),
        facts.config_rust,
        switches.join(" "),
    );
}

/// The kernels named by --kernel/--kdir, in order (the default series when none is named).
fn resolve_kernels(root: &Path, args: &KernelArgs) -> Result<Vec<Kernel>> {
    let mut names = args.kernel.clone();
    names.extend(args.kdir.iter().map(|p| p.display().to_string()));
    if names.is_empty() {
        names.push(DEFAULT_SERIES.to_owned());
    }
    names
        .iter()
        .map(|name| {
            if Path::new(name).exists() {
                // A tree that is there but cannot be used (not built at this commit, no Rust):
                // for a bisect, a commit to skip.
                let kernel = Kernel::open(Path::new(name))
                    .map_err(|e| anyhow::Error::new(UnusableKernel(format!("{e:#}"))))?;
                if let Some(arch) = args.arch.filter(|&a| a != kernel.arch) {
                    bail!(
                        "kernel at {name} is built for {}, not {}",
                        kernel.arch.name(),
                        arch.name()
                    );
                }
                return Ok(kernel);
            }
            // [ARCH/]SERIES[-FLAVOUR] (6.12, 6.12-debug, arm64/6.12-buddy); anything else is a
            // built tree that does not exist.
            let (arch, spec) = match name.split_once('/') {
                Some((arch, spec)) if Arch::parse(arch).is_some() => (Arch::parse(arch), spec),
                _ => (args.arch, name.as_str()),
            };
            let series = spec.split_once('-').map_or(spec, |(s, _)| s);
            let is_series = series.split('.').count() == 2
                && series
                    .split('.')
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
            if !is_series {
                return Kernel::open(Path::new(name));
            }
            match arch.filter(|&a| Some(a) != Arch::host()) {
                Some(arch) => Kernel::series_build(root, &format!("{}/{spec}", arch.name())),
                None => Kernel::series_build(root, spec),
            }
        })
        .collect()
}

/// The one kernel a command works on.
fn resolve_kernel(root: &Path, args: &KernelArgs) -> Result<Kernel> {
    let mut kernels = resolve_kernels(root, args)?;
    if kernels.len() != 1 {
        bail!(
            "this command takes one kernel, {} were named",
            kernels.len()
        );
    }
    Ok(kernels.remove(0))
}

/// `I/N` with 1 <= I <= N.
fn parse_shard(text: &str) -> std::result::Result<(usize, usize), String> {
    let parsed = text
        .split_once('/')
        .and_then(|(i, n)| Some((i.parse::<usize>().ok()?, n.parse::<usize>().ok()?)));
    match parsed {
        Some((i, n)) if (1..=n).contains(&i) => Ok((i, n)),
        _ => Err(format!("`{text}` is not a shard I/N with 1 <= I <= N")),
    }
}

/// Four boots per host CPU. Most of a boot's time asks little of the host: hogs with
/// interrupts on halt between ticks, controls wait out their time, and a guest's clocks follow
/// the host's, so even a hog that spins and shares a host CPU holds its guest CPU for as long,
/// and every detector fires on time. Measured on 2 CPUs (6.12 + 7.3 matrix, one run each,
/// every verdict PASS): 139 s at 4 boots (the host 70% busy while the four longest boots ran),
/// 110 s at 6, 98 s at 8. No more guests than the available memory holds, each `memory` plus
/// QEMU's own half a GiB.
fn default_jobs(memory: &str) -> usize {
    let by_cpu = std::thread::available_parallelism().map_or(1, |n| n.get()) * 4;
    let guest = parse_size(memory).map(|m| m + (512 << 20));
    match (guest, available_memory()) {
        (Some(guest), Some(available)) => by_cpu.min((available / guest).max(1) as usize),
        _ => by_cpu,
    }
}

/// Bytes in a QEMU size (`1G`, `512M`, `2048K`, or bytes).
fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let (digits, shift) = match text.chars().last()?.to_ascii_uppercase() {
        'K' => (&text[..text.len() - 1], 10),
        'M' => (&text[..text.len() - 1], 20),
        'G' => (&text[..text.len() - 1], 30),
        'T' => (&text[..text.len() - 1], 40),
        _ => (text, 0),
    };
    digits.parse::<u64>().ok()?.checked_mul(1 << shift)
}

/// The host's `MemAvailable`, in bytes.
fn available_memory() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib << 10)
}

/// What a guest of `arch` runs on: its root (the minimal one, made in the cache on first use,
/// unless `--host-root`) and the `hogs` binary for it (in that root, or this very binary).
fn guest_side(project: &Path, arch: Arch, host_root: bool) -> Result<(Option<GuestRoot>, PathBuf)> {
    match (host_root, Some(arch) == Arch::host()) {
        (true, true) => Ok((
            None,
            std::env::current_exe().context("cannot find the hogs binary")?,
        )),
        (true, false) => bail!(
            "--host-root boots only the host's architecture, not {}",
            arch.name()
        ),
        (false, _) => {
            let root = GuestRoot::prepare(&cache_dir(), arch)?;
            let exe = root.install_guest_step(&guest_root::guest_exe(project, arch)?)?;
            Ok((Some(root), exe))
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qemu_sizes_are_read_and_garbage_is_not() {
        assert_eq!(parse_size("1G"), Some(1 << 30));
        assert_eq!(parse_size("512m"), Some(512 << 20));
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("G"), None);
        assert_eq!(parse_size("lots"), None);
        assert_eq!(parse_size("99999999999T"), None);
    }

    #[test]
    fn default_jobs_is_at_least_one_and_at_most_four_per_cpu() {
        let cpus = std::thread::available_parallelism().unwrap().get();
        assert!((1..=cpus * 4).contains(&default_jobs("1G")));
        assert_eq!(
            default_jobs("1000000G"),
            1,
            "no host holds a petabyte guest"
        );
    }
}
