//! The validation report: measures hotmetrics against stated requirements
//! and against peer crates, and writes `report.md`, `report.json` and SVG
//! plots (by default to `hotmetrics-report/` in the target directory).
//!
//! ```text
//! cargo run --release -p hotmetrics-bench --bin validate [-- OPTIONS]
//! ```
//!
//! The sections, their order and their thresholds are one table
//! (`table.rs`); each section is measured in a file of its own
//! (`sections/`). Options: `cli.rs`. A section that fails makes the process
//! exit with 1; a comparison "within noise" is not a failure.

mod cli;
mod harness;
mod markdown;
mod model;
mod sections;
mod stats;
mod svg;
mod table;

use cli::{Command, Config, USAGE};
use model::{Meta, Report};
use sections::Ctx;
use std::collections::BTreeMap;
use std::time::Instant;
use table::SECTIONS;

/// The memory and telemetry sections count live heap bytes.
#[global_allocator]
static ALLOC: hotmetrics_testkit::CountingAlloc = hotmetrics_testkit::CountingAlloc;

/// Runs every section of the table, in order.
fn measure(cfg: &Config) -> Report {
    let t0 = Instant::now();
    let mut sections = BTreeMap::new();
    let mut order = Vec::new();
    for (i, spec) in SECTIONS.iter().enumerate() {
        let ctx = Ctx {
            cfg,
            spec,
            step: i + 1,
            steps: SECTIONS.len(),
        };
        ctx.progress(&spec.title.to_lowercase());
        order.push(spec.key.to_string());
        sections.insert(spec.key.to_string(), (spec.run)(&ctx));
    }
    Report {
        meta: meta(cfg, t0.elapsed().as_secs_f64()),
        section_order: order,
        sections,
    }
}

fn meta(cfg: &Config, total_seconds: f64) -> Meta {
    let release = !cfg!(debug_assertions);
    let mut command = format!(
        "cargo run{} -p hotmetrics-bench --bin validate{}",
        if release { " --release" } else { "" },
        if cfg!(feature = "telemetry") {
            ""
        } else {
            " --no-default-features"
        }
    );
    if !cfg.args.is_empty() {
        command.push_str(" -- ");
        command.push_str(&cfg.args.join(" "));
    }
    Meta {
        date_utc: harness::now_utc(),
        cpu: harness::cpu_model(),
        cores: harness::cores(),
        profile: if release { "release" } else { "debug" },
        command,
        quick: cfg.quick,
        runs: cfg.runs,
        threads: cfg.threads.clone(),
        duration_per_thread_count_s: cfg.duration,
        total_seconds,
    }
}

fn write(cfg: &Config, report: &Report) -> std::io::Result<()> {
    std::fs::create_dir_all(&cfg.out)?;
    std::fs::write(
        cfg.out.join("report.json"),
        serde_json::to_string_pretty(report).map_err(std::io::Error::other)?,
    )?;
    if cfg.json_only {
        return Ok(());
    }
    std::fs::write(cfg.out.join("report.md"), markdown::markdown(report, true))?;
    for s in report.ordered() {
        for (file, svg) in s.plots.iter().zip(&s.svgs) {
            std::fs::write(cfg.out.join(file), svg)?;
        }
    }
    Ok(())
}

/// The terminal summary: every section's result and what each check
/// compared, then the sections' own tables.
fn summary(cfg: &Config, report: &Report) {
    let m = &report.meta;
    println!(
        "\nhotmetrics validation ({}, {} runs{}, {:.1} s) -> {}",
        m.profile,
        cfg.runs,
        if cfg.quick { ", --quick" } else { "" },
        m.total_seconds,
        cfg.out.display()
    );
    for (i, s) in report.ordered().enumerate() {
        println!("\n{}. {}: {}", i + 1, s.title, markdown::result(s));
        if let Some(why) = &s.skipped {
            println!("   not measured: {why}");
        }
        for c in &s.checks {
            println!("   {:<12} {}: {}", c.result.word(), c.what, c.compared);
        }
    }
    for s in report.ordered().filter(|s| !s.console.is_empty()) {
        println!();
        for line in &s.console {
            println!("{line}");
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cfg = match cli::parse_args(args) {
        Ok(Command::Run(cfg)) => cfg,
        Ok(Command::Help) => {
            println!("{USAGE}");
            return;
        }
        Ok(Command::ListSections) => {
            for spec in &SECTIONS {
                println!("{}\t{}", spec.key, spec.title);
            }
            return;
        }
        Err(e) => {
            eprintln!("error: {e}\n{USAGE}");
            std::process::exit(2);
        }
    };
    let report = measure(&cfg);
    if let Err(e) = write(&cfg, &report) {
        eprintln!("error: writing the report to {}: {e}", cfg.out.display());
        std::process::exit(3);
    }
    summary(&cfg, &report);
    let failed = report.failed();
    if !failed.is_empty() {
        eprintln!(
            "\n{} section{} failed: {}",
            failed.len(),
            if failed.len() == 1 { "" } else { "s" },
            failed.join("; ")
        );
        std::process::exit(1);
    }
}
