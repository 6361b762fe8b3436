//! The process-wide switch (its own test binary: it affects every registry).

use hotmetrics::Registry;

#[test]
fn global_switch_covers_existing_and_new_registries() {
    let before = Registry::new();
    let c = before.counter("n", "n").unwrap();
    assert!(hotmetrics::is_enabled());
    hotmetrics::set_enabled(false);
    assert!(!hotmetrics::is_enabled());
    let after = Registry::new();
    let d = after.counter("n", "n").unwrap();
    c.inc();
    d.inc();
    hotmetrics::global().counter("g", "g").unwrap().inc();
    // A registry's own switch cannot override the global one.
    after.set_enabled(true);
    d.inc();
    assert_eq!(before.collect().counter("n"), Some(0));
    assert_eq!(after.collect().counter("n"), Some(0));
    assert_eq!(hotmetrics::global().collect().counter("g"), Some(0));

    hotmetrics::set_enabled(true);
    c.inc();
    d.inc();
    // And the global switch does not override a registry switched off.
    before.set_enabled(false);
    c.inc();
    assert_eq!(before.collect().counter("n"), Some(1));
    assert_eq!(after.collect().counter("n"), Some(1));
}
