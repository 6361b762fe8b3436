//! A `Dyn` family that refuses a label set where no `Result` can say so
//! (`inc`, `record`, `set` with the wrong number of values) warns once,
//! through the `log` facade, besides counting every refusal.
//! (Its own test binary: a process has one logger.)

use hotmetrics::{Options, Registry};
use std::sync::Mutex;

/// Keeps the warnings logged through the `log` facade.
struct Warnings(Mutex<Vec<String>>);

impl log::Log for Warnings {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.level() <= log::Level::Warn
    }
    fn log(&self, r: &log::Record<'_>) {
        if self.enabled(r.metadata()) {
            self.0.lock().unwrap().push(r.args().to_string());
        }
    }
    fn flush(&self) {}
}

static WARNINGS: Warnings = Warnings(Mutex::new(Vec::new()));

#[test]
fn a_refused_label_set_is_logged_once_per_family() {
    log::set_logger(&WARNINGS).unwrap();
    log::set_max_level(log::LevelFilter::Warn);
    let reg = Registry::new();
    let names = vec![String::from("queue"), String::from("priority")];
    let jobs = reg
        .counter_family_with(Options::new("jobs", "Jobs").labels(&names))
        .unwrap();
    let depth = reg
        .gauge_family_with(Options::new("depth", "Queue depth").labels(&names))
        .unwrap();
    jobs.inc(&["mail", "high"]);
    for _ in 0..3 {
        jobs.inc(&["mail"]);
        depth.set(&vec!["mail", "high", "extra"], 4);
    }
    let warnings = WARNINGS.0.lock().unwrap().clone();
    assert_eq!(warnings.len(), 2, "{warnings:#?}");
    assert!(
        warnings[0].contains("\"jobs\" takes 2 label values, 1 given")
            && warnings[0].contains("hotmetrics_label_arity_errors_total{metric=\"jobs\"}"),
        "{}",
        warnings[0]
    );
    assert!(warnings[1].contains("\"depth\" takes 2 label values, 3 given"));
    let snap = reg.collect();
    let errors = |m| snap.counter_with("hotmetrics_label_arity_errors", &[("metric", m)]);
    assert_eq!((errors("jobs"), errors("depth")), (Some(3), Some(3)));
}
