//! The telemetry client's section, or, in a build without the `telemetry`
//! feature, the section recorded as skipped (never as failed).

use super::Ctx;
use crate::model::Section;

pub fn run(ctx: &Ctx<'_>) -> Section {
    #[cfg(feature = "telemetry")]
    {
        super::telemetry_client::measure(ctx)
    }
    #[cfg(not(feature = "telemetry"))]
    {
        let mut s = ctx.section("Not measured in this build.".into());
        s.skip(
            "built without the `telemetry` feature (on by default in hotmetrics-bench); run \
             `cargo run --release -p hotmetrics-bench --bin validate`"
                .into(),
        );
        s
    }
}
