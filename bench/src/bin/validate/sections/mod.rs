//! The report's sections, one file each, run in the order of the section
//! table (`table::SECTIONS`), which also holds their thresholds.

pub mod export;
pub mod integrity;
pub mod labeled;
mod labeled_cases;
pub mod latency;
pub mod memory;
pub mod overhead;
mod peer_runs;
pub mod peers;
pub mod render;
pub mod telemetry;
#[cfg(feature = "telemetry")]
mod telemetry_client;
pub mod throughput;

use crate::cli::Config;
use crate::model::Section;
use crate::table::Spec;

/// What a section runs with: the options, its own entry of the table, and
/// its place in the run for progress lines.
pub struct Ctx<'a> {
    pub cfg: &'a Config,
    pub spec: &'static Spec,
    /// 1-based position in the table.
    pub step: usize,
    pub steps: usize,
}

impl Ctx<'_> {
    /// A progress line on stderr: `[step/steps] what...`.
    pub fn progress(&self, what: &str) {
        eprintln!("[{}/{}] {what}...", self.step, self.steps);
    }

    /// An empty section of this entry of the table.
    pub fn section(&self, method: String) -> Section {
        Section::new(self.spec, method)
    }
}
