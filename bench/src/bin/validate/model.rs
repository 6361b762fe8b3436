//! What the report is made of: sections of figures and checks, and the
//! run's metadata; serialised as `report.json`.

use crate::stats::{num, Figure};
use crate::table::{Rule, Spec, Stat};
use serde::Serialize;

/// The outcome of one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Verdict {
    #[serde(rename = "pass")]
    Pass,
    #[serde(rename = "fail")]
    Fail,
    /// Two contenders' min–max ranges overlap: neither is shown better.
    /// Not a failure.
    #[serde(rename = "within noise")]
    WithinNoise,
}

impl Verdict {
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::WithinNoise => "within noise",
        }
    }
}

/// One check of a section.
#[derive(Debug, Serialize)]
pub struct Check {
    /// The requirement, e.g. "export p99: median < 50 ms".
    pub what: String,
    /// What was compared, with the measured figures.
    pub compared: String,
    pub result: Verdict,
    /// `false` only for a failed check ("within noise" is not a failure).
    pub pass: bool,
}

/// One section of the report.
#[derive(Debug, Serialize)]
pub struct Section {
    /// Where this section's requirement and thresholds are stated.
    #[serde(skip)]
    pub spec: &'static Spec,
    pub title: &'static str,
    pub requirement: String,
    pub method: String,
    pub figures: Vec<Figure>,
    /// No check failed (checks "within noise" included).
    pub pass: bool,
    /// "pass", "fail" or "skipped".
    pub result: &'static str,
    /// Why the section was not measured (then it passes and has no
    /// figures); absent when it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    pub checks: Vec<Check>,
    pub notes: Vec<String>,
    /// The SVG files this section drew, next to `report.md`.
    pub plots: Vec<String>,
    /// Their contents, written by `main` unless `--json-only`.
    #[serde(skip)]
    pub svgs: Vec<String>,
    /// Lines for the terminal summary beyond the checks (tables of
    /// contenders).
    #[serde(skip)]
    pub console: Vec<String>,
}

impl Section {
    /// An empty section of `spec`, measured as `method` says.
    pub fn new(spec: &'static Spec, method: String) -> Section {
        Section {
            spec,
            title: spec.title,
            requirement: spec.requirement_text(),
            method,
            figures: Vec::new(),
            pass: true,
            result: "pass",
            skipped: None,
            checks: Vec::new(),
            notes: Vec::new(),
            plots: Vec::new(),
            svgs: Vec::new(),
            console: Vec::new(),
        }
    }

    /// Records `f` among the section's figures and hands it back.
    pub fn fig(&mut self, f: Figure) -> Figure {
        self.figures.push(f.clone());
        f
    }

    /// Adds a plot, `file` (e.g. `latency.svg`) holding `svg`.
    pub fn plot(&mut self, file: &str, svg: String) {
        self.plots.push(file.to_string());
        self.svgs.push(svg);
    }

    fn push(&mut self, what: String, compared: String, result: Verdict) {
        let pass = result != Verdict::Fail;
        self.pass &= pass;
        self.result = if self.pass { "pass" } else { "fail" };
        self.checks.push(Check {
            what,
            compared,
            result,
            pass,
        });
    }

    /// Checks figure `f` against the fixed bound `id` of the table.
    pub fn bound(&mut self, id: &str, f: &Figure) {
        self.bound_if(id, f, true);
    }

    /// As [`bound`](Self::bound), failing whatever the figure if
    /// `measured` is false (the figure would pass vacuously).
    pub fn bound_if(&mut self, id: &str, f: &Figure, measured: bool) {
        let t = self.spec.threshold(id);
        let Rule::Bound {
            stat,
            cmp,
            value,
            unit,
        } = t.rule
        else {
            panic!("threshold {id} is not a fixed bound");
        };
        let x = match stat {
            Stat::Median => f.median,
            Stat::Max if cmp == crate::table::Cmp::Ge => f.min,
            Stat::Max => f.max,
        };
        let ok = measured && cmp.holds(x, value);
        let what = format!(
            "{}: {} {} {} {unit}",
            f.name,
            stat.name(),
            cmp.sign(),
            num(value)
        );
        let compared = if measured {
            f.show()
        } else {
            format!("not measured: {}", f.show())
        };
        self.push(
            what,
            compared,
            if ok { Verdict::Pass } else { Verdict::Fail },
        );
    }

    /// Checks `ours` against `theirs` (named `theirs_name` in the check)
    /// by the table's rule `id`, on their min–max ranges: pass if every run
    /// of ours meets the rule against every run of theirs, fail if none
    /// does, within noise otherwise.
    pub fn versus(&mut self, id: &str, ours: &Figure, theirs: &Figure, theirs_name: &str) {
        let t = self.spec.threshold(id);
        let Rule::Versus {
            cmp, factor, slack, ..
        } = t.rule
        else {
            panic!("threshold {id} is not a comparison");
        };
        let scaled = |x: f64| x * factor + slack;
        let corners = [
            (ours.min, theirs.min),
            (ours.min, theirs.max),
            (ours.max, theirs.min),
            (ours.max, theirs.max),
        ];
        let holds = corners.map(|(a, b)| cmp.holds(a, scaled(b)));
        let result = if holds.iter().all(|&h| h) {
            Verdict::Pass
        } else if holds.iter().all(|&h| !h) {
            Verdict::Fail
        } else {
            Verdict::WithinNoise
        };
        let mut what = format!("{} {} {theirs_name}", t.what, cmp.sign());
        if factor != 1.0 {
            what.push_str(&format!(" × {}", num(factor)));
        }
        if slack != 0.0 {
            what.push_str(&format!(" + {} {}", num(slack), theirs.unit));
        }
        let compared = format!(
            "{} {} vs {} {}",
            ours.name,
            ours.show(),
            theirs.name,
            theirs.show()
        );
        self.push(what, compared, result);
    }

    /// Records whether the table's exact property `id` held; `detail`
    /// (what exactly was compared) replaces the table's words when given.
    pub fn exact(&mut self, id: &str, detail: Option<String>, ok: bool) {
        let t = self.spec.threshold(id);
        debug_assert!(matches!(t.rule, Rule::Exact), "threshold {id} is not exact");
        let what = detail.unwrap_or_else(|| t.what.to_string());
        let compared = if ok { "held" } else { "did not hold" }.to_string();
        self.push(
            what,
            compared,
            if ok { Verdict::Pass } else { Verdict::Fail },
        );
    }

    /// Marks the section as not measured, for `why`.
    #[cfg_attr(feature = "telemetry", allow(dead_code))]
    pub fn skip(&mut self, why: String) {
        self.skipped = Some(why);
        self.result = "skipped";
    }

    /// How many checks were within noise.
    pub fn within_noise(&self) -> usize {
        self.checks
            .iter()
            .filter(|c| c.result == Verdict::WithinNoise)
            .count()
    }
}

/// The run's circumstances.
#[derive(Debug, Serialize)]
pub struct Meta {
    pub date_utc: String,
    pub cpu: String,
    pub cores: usize,
    pub profile: &'static str,
    pub command: String,
    pub quick: bool,
    pub runs: usize,
    pub threads: Vec<usize>,
    pub duration_per_thread_count_s: f64,
    pub total_seconds: f64,
}

/// The whole report, as `report.json`.
#[derive(Debug, Serialize)]
pub struct Report {
    pub meta: Meta,
    /// Section keys in run order (the order of the section table).
    pub section_order: Vec<String>,
    pub sections: std::collections::BTreeMap<String, Section>,
}

impl Report {
    /// The sections in run order.
    pub fn ordered(&self) -> impl Iterator<Item = &Section> {
        self.section_order.iter().map(|k| &self.sections[k])
    }

    /// The titles of the sections that failed.
    pub fn failed(&self) -> Vec<&'static str> {
        self.ordered()
            .filter(|s| s.result == "fail")
            .map(|s| s.title)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::SECTIONS;

    fn spec(key: &str) -> &'static Spec {
        SECTIONS.iter().find(|s| s.key == key).unwrap()
    }

    fn fig(name: &str, values: &[f64]) -> Figure {
        Figure::of(name, "µs", values)
    }

    #[test]
    fn a_comparison_is_within_noise_where_the_ranges_overlap() {
        let mut s = Section::new(spec("render"), String::new());
        let ours = fig("hotmetrics", &[180.0, 187.0, 190.0]);
        s.versus("peer", &ours, &fig("a", &[200.0, 210.0]), "a");
        s.versus("peer", &ours, &fig("b", &[184.0, 186.0]), "b");
        s.versus("peer", &ours, &fig("c", &[100.0, 170.0]), "c");
        let results: Vec<Verdict> = s.checks.iter().map(|c| c.result).collect();
        assert_eq!(
            results,
            [Verdict::Pass, Verdict::WithinNoise, Verdict::Fail]
        );
        assert!(s.checks[1]
            .compared
            .contains("hotmetrics 187 (180–190) µs vs b 185"));
        assert!(!s.pass);
        assert_eq!(s.result, "fail");
    }

    #[test]
    fn within_noise_is_not_a_failure() {
        let mut s = Section::new(spec("render"), String::new());
        s.versus(
            "peer",
            &fig("ours", &[1.0, 3.0]),
            &fig("theirs", &[2.0, 4.0]),
            "x",
        );
        assert!(s.pass);
        assert_eq!((s.result, s.within_noise()), ("pass", 1));
    }

    #[test]
    fn a_bound_reads_the_statistic_the_table_names() {
        // memory: every run (the largest) ≤ 64 KiB.
        let mut s = Section::new(spec("memory"), String::new());
        s.bound("ops", &Figure::of("ops", "KiB", &[10.0, 70.0, 12.0]));
        assert_eq!(s.checks[0].result, Verdict::Fail);
        assert_eq!(s.checks[0].what, "ops: every run ≤ 64 KiB");
        // throughput: the median ≥ 1,000,000 ops/s.
        let mut s = Section::new(spec("throughput"), String::new());
        s.bound("ops", &Figure::of("1 thread", "ops/s", &[5e5, 2e6, 3e6]));
        assert_eq!(s.checks[0].result, Verdict::Pass);
    }

    #[test]
    fn every_threshold_is_in_its_section_requirement() {
        for spec in &SECTIONS {
            let text = spec.requirement_text();
            for t in spec.thresholds {
                assert!(text.contains(&t.text()), "{}: {}", spec.key, t.text());
            }
        }
    }
}
