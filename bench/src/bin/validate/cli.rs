//! The command line: options, their defaults and the usage text.

use std::path::PathBuf;

pub const USAGE: &str = "usage: cargo run --release -p hotmetrics-bench --bin validate [-- OPTIONS]
  --quick            a few seconds in all (fewer runs, shorter windows)
  --threads LIST     thread counts for the throughput section, e.g. 1,2,4,10 (default)
  --duration SECS    throughput seconds per thread count (default 10; 0.25 with --quick)
  --out DIR          output directory (default: hotmetrics-report/ in the target
                     directory: $CARGO_TARGET_DIR, else the one this binary was built in)
  --json-only        write report.json only (no report.md, no SVG plots)
  --list-sections    print the sections (key, then title), one a line, and exit
  --help             this text
Exit status: 0 when no section failed (checks within noise do not fail), 1 when a
section failed, 2 for a bad option, 3 when the report could not be written.
Built without the `telemetry` feature (--no-default-features), the telemetry
client section is skipped.";

/// What to do.
pub enum Command {
    Run(Config),
    Help,
    ListSections,
}

/// Parsed command line.
pub struct Config {
    pub quick: bool,
    pub threads: Vec<usize>,
    pub duration: f64,
    pub out: PathBuf,
    pub json_only: bool,
    /// Repeated runs per measurement.
    pub runs: usize,
    pub args: Vec<String>,
}

pub fn parse_args(args: Vec<String>) -> Result<Command, String> {
    let mut quick = false;
    let mut threads = None;
    let mut duration = None;
    let mut out = None;
    let mut json_only = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |flag: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match a.as_str() {
            "--quick" => quick = true,
            "--json-only" => json_only = true,
            "--help" | "-h" => return Ok(Command::Help),
            "--list-sections" => return Ok(Command::ListSections),
            "--threads" => threads = Some(thread_list(&value("--threads")?)?),
            "--duration" => {
                let v = value("--duration")?;
                match v.parse::<f64>() {
                    Ok(d) if d.is_finite() && d > 0.0 && d <= 3600.0 => duration = Some(d),
                    _ => {
                        return Err(format!(
                            "--duration expects seconds, more than 0 and at most 3600, got {v:?}"
                        ))
                    }
                }
            }
            "--out" => out = Some(PathBuf::from(value("--out")?)),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(Command::Run(Config {
        quick,
        threads: threads.unwrap_or_else(|| vec![1, 2, 4, 10]),
        duration: duration.unwrap_or(if quick { 0.25 } else { 10.0 }),
        out: out.unwrap_or_else(default_out),
        json_only,
        runs: if quick { 2 } else { 5 },
        args,
    }))
}

fn thread_list(v: &str) -> Result<Vec<usize>, String> {
    let list: Result<Vec<usize>, _> = v.split(',').map(|s| s.trim().parse()).collect();
    match list {
        Ok(l) if !l.is_empty() && l.iter().all(|&t| (1..=256).contains(&t)) => Ok(l),
        _ => Err(format!(
            "--threads expects a comma-separated list of 1 to 256, got {v:?}"
        )),
    }
}

/// `hotmetrics-report/` in the target directory cargo used: the one named
/// by `CARGO_TARGET_DIR`, else the one holding this binary
/// (`<target>/release/validate`), else the workspace's `target/`.
fn default_out() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(built_in)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target")));
    target.join("hotmetrics-report")
}

/// The target directory this binary sits in, if it sits in a profile
/// directory of one.
fn built_in() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let profile_dir = exe.parent()?;
    let name = profile_dir.file_name()?.to_str()?;
    (name == "release" || name == "debug")
        .then(|| profile_dir.parent().map(PathBuf::from))
        .flatten()
}
