//! `report.md`: the report as a document, sections numbered in the order of
//! the section table.

use crate::model::{Report, Section};
use crate::stats::num;
use std::fmt::Write;

/// A section's result in words: "pass", "pass (2 within noise)", "fail"
/// or "skipped".
pub fn result(s: &Section) -> String {
    match (s.result, s.within_noise()) {
        ("pass", n) if n > 0 => format!("pass ({n} within noise)"),
        (r, _) => r.to_string(),
    }
}

pub fn markdown(report: &Report, plots: bool) -> String {
    let m = &report.meta;
    let mut o = String::new();
    let _ = writeln!(o, "# hotmetrics validation report\n");
    let _ = writeln!(o, "- Date: {}", m.date_utc);
    let _ = writeln!(o, "- Machine: {}, {} cores", m.cpu, m.cores);
    let _ = writeln!(o, "- Build profile: {}", m.profile);
    let _ = writeln!(o, "- Command: `{}`", m.command);
    let _ = writeln!(
        o,
        "- Runs per measurement: {}{}; throughput: {} s per thread count, threads {:?}",
        m.runs,
        if m.quick { " (--quick)" } else { "" },
        num(m.duration_per_thread_count_s),
        m.threads
    );
    let _ = writeln!(o, "- Total time: {:.1} s", m.total_seconds);
    let _ = writeln!(
        o,
        "\nFigures are `median (min–max)` over the runs. Ratios compare figures measured in \
         this same run. A fixed threshold applies to the statistic it names (the median, or \
         every run). A comparison between two contenders passes when every run of ours \
         meets it against every run of theirs, fails when none does, and is \"within \
         noise\" (not a failure) when their min–max ranges overlap. Requirements marked as \
         set for this report are thresholds chosen before measuring, where the project \
         states none.\n"
    );
    let _ = writeln!(o, "## Summary\n\n| # | section | result |\n|---|---|---|");
    for (i, s) in report.ordered().enumerate() {
        let _ = writeln!(o, "| {} | {} | {} |", i + 1, s.title, result(s));
    }
    for (i, s) in report.ordered().enumerate() {
        section(&mut o, i + 1, s, plots);
    }
    o
}

fn section(o: &mut String, number: usize, s: &Section, plots: bool) {
    let _ = writeln!(o, "\n## {number}. {}\n", s.title);
    let _ = writeln!(o, "**Requirement.** {}\n", s.requirement);
    let _ = writeln!(o, "**Method.** {}\n", s.method);
    if let Some(why) = &s.skipped {
        let _ = writeln!(o, "**Result: skipped** — {why}.");
        return;
    }
    let _ = writeln!(
        o,
        "| figure | median | min | max | unit | runs |\n|---|---:|---:|---:|---|---:|"
    );
    for f in &s.figures {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} |",
            f.name.replace('|', "\\|"),
            num(f.median),
            num(f.min),
            num(f.max),
            f.unit,
            f.runs
        );
    }
    let _ = writeln!(o, "\n| check | compared | result |\n|---|---|---|");
    for c in &s.checks {
        let _ = writeln!(
            o,
            "| {} | {} | {} |",
            c.what.replace('|', "\\|"),
            c.compared.replace('|', "\\|"),
            c.result.word()
        );
    }
    let _ = writeln!(o, "\n**Result: {}**", result(s));
    for n in &s.notes {
        let _ = writeln!(o, "\n{n}");
    }
    if plots {
        for p in &s.plots {
            let _ = writeln!(o, "\n![{p}]({p})");
        }
    }
}
