//! The loom boundary: the one place that names atomics, `Arc`, locks, spin
//! hints and the structures whose synchronisation the loom models check.
//!
//! Every other module imports them from here. Under `--cfg loom` (together
//! with the `loom` feature, which `loom-tests/` and `scripts/loom.sh`
//! enable) they map to loom's modelled types, so the loom models check the
//! very code that ships. Besides the primitives this folder holds:
//!
//! - [`PerThread`] (`per_thread/`): one value per thread, reachable by
//!   its owner without a lock (this crate's own owner tokens and
//!   thread-local cache, the same code under loom);
//! - [`Publish`] (`publish.rs`): the latest `Arc`, swapped atomically
//!   (`arc-swap` in production);
//! - [`Reclaim`] (`reclaim.rs`): when an unlinked value can no longer be
//!   reached by a reader (`crossbeam-epoch` in production);
//! - `Queue` (`queue.rs`): the bounded telemetry queue (`crossbeam-queue`
//!   in production);
//! - [`Table`] (`table.rs`): the lock-free open-addressing table that both
//!   a family's series map and the `metrics` facade's key maps use.
//!
//! The crates named above do not know loom: each is hidden behind a small
//! type of ours with a loom-visible stand-in of the same contract. Each
//! structure's file carries white-box loom models of its own
//! (`cfg(all(test, loom))`); `loom-tests/` holds the end-to-end ones.
//!
//! [`cfg_loom!`] and [`cfg_not_loom!`] spell the loom switch once; use them
//! rather than repeating the `cfg` attribute. `.ci/run` fails if `std::sync::atomic`, `std::sync::Mutex`
//! or `std::sync::Arc` is named anywhere else under `src/`.

/// Keeps the items inside only in the loom build (`--cfg loom` with the
/// `loom` feature). Use it by path: `crate::sync::cfg_loom! { .. }`.
macro_rules! cfg_loom {
    ($($item:item)*) => {
        $( #[cfg(all(loom, feature = "loom"))] $item )*
    };
}

/// Keeps the items inside only outside the loom build: the production
/// variant of what [`cfg_loom!`] replaces, or what loom does not model.
macro_rules! cfg_not_loom {
    ($($item:item)*) => {
        $( #[cfg(not(all(loom, feature = "loom")))] $item )*
    };
}

// Also usable by path elsewhere (`crate::sync::cfg_not_loom! { .. }`).
#[allow(unused_imports)]
pub(crate) use {cfg_loom, cfg_not_loom};

mod per_thread;
mod publish;
#[cfg(any(feature = "telemetry", all(loom, feature = "loom")))]
mod queue;
mod reclaim;
mod table;

pub(crate) use per_thread::{bind, bound, Hold, PartKey, PerThread};
pub(crate) use publish::Publish;
#[cfg(any(feature = "telemetry", all(loom, feature = "loom")))]
pub(crate) use queue::Queue;
pub(crate) use reclaim::{Guard, Reclaim};
pub(crate) use table::{Entry, EntryHash, RetiredSlots, Table, Writer};

cfg_not_loom! {
    pub(crate) use std::sync::atomic::{
        AtomicI64, AtomicPtr, AtomicU32, AtomicU64, AtomicU8, AtomicUsize,
    };
    pub(crate) use std::sync::{Arc, Mutex, MutexGuard};

    /// Called in a spin-retry loop; lets the other party make progress.
    #[inline]
    pub(crate) fn spin_hint(attempt: u32) {
        // Spin briefly first (a writer's critical section is a few ns),
        // then give the core away in case the writer was preempted on it.
        if attempt < 64 {
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }

    /// A hasher seeded per instance, so that keys chosen by an adversary
    /// cannot be aimed at one probe chain of a [`Table`] in advance.
    pub(crate) type RandomState = foldhash::fast::RandomState;
}

cfg_loom! {
    pub(crate) use loom::sync::atomic::{
        AtomicI64, AtomicPtr, AtomicU32, AtomicU64, AtomicU8, AtomicUsize,
    };
    pub(crate) use loom::sync::{Arc, Mutex, MutexGuard};

    /// Under loom a spin loop must yield, or the model never schedules the
    /// thread it is waiting for.
    #[inline]
    pub(crate) fn spin_hint(_attempt: u32) {
        loom::thread::yield_now();
    }

    /// Under loom a fixed seed keeps every execution of a model identical,
    /// as loom requires.
    pub(crate) type RandomState = foldhash::fast::FixedState;
}

pub(crate) use std::sync::atomic::Ordering;

/// `std`'s `Arc` under every cfg, for immutable values (label sets, names)
/// that are built once and only read: nothing about them needs modelling, and
/// unlike loom's `Arc` it holds unsized slices and implements `Hash`/`Ord`.
pub(crate) use std::sync::Arc as FrozenArc;

/// Locks `m`, recovering the data if a previous holder panicked.
///
/// Only registration and collection take locks; none of the state they guard
/// can be left half-updated by a panic (every update is a single push or
/// store), so a poisoned lock is safe to reuse.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

#[cfg(all(test, loom, feature = "loom"))]
mod loom_runner;

/// Runs the white-box loom model `f` (the `loom_model` modules beside the
/// code they check); see `loom_runner.rs`.
#[cfg(all(test, loom, feature = "loom"))]
pub(crate) fn run_model(name: &str, f: impl Fn() + Sync + Send + 'static) {
    loom_runner::run(name, 0, f);
}
