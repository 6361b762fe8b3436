//! `#[track_latency]` misuse is a compile error with a clear message.
//!
//! The expected messages are in `tests/ui/*.stderr`; after changing one on
//! purpose, regenerate them with `TRYBUILD=overwrite cargo test --test
//! compile_fail` and review the diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
