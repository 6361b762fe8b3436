//! The one place that names atomics, `Arc`, locks and spin hints.
//!
//! Every other module imports them from here. Under `--cfg loom` (together with
//! the `loom` feature, which `loom-tests/` enables) they map to loom's modelled
//! types, so the loom models check the very code that ships. The two crates that
//! do not know loom, `thread_local` and `arc-swap`, are hidden behind
//! [`crate::storage::PerThread`] and [`crate::snapshot::Publish`], which have a
//! loom-visible variant of their own.
//!
//! `.ci/run` fails if `std::sync::atomic`, `std::sync::Mutex` or `std::sync::Arc`
//! is named anywhere else under `src/`.

#[cfg(not(all(loom, feature = "loom")))]
mod imp {
    pub(crate) use std::sync::atomic::{AtomicI64, AtomicPtr, AtomicU64, AtomicU8, AtomicUsize};
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
}

#[cfg(all(loom, feature = "loom"))]
mod imp {
    pub(crate) use loom::sync::atomic::{AtomicI64, AtomicPtr, AtomicU64, AtomicU8, AtomicUsize};
    pub(crate) use loom::sync::{Arc, Mutex, MutexGuard};

    /// Under loom a spin loop must yield, or the model never schedules the
    /// thread it is waiting for.
    #[inline]
    pub(crate) fn spin_hint(_attempt: u32) {
        loom::thread::yield_now();
    }
}

pub(crate) use imp::*;
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
