//! A counting global allocator: the system allocator, plus counts of what
//! passes through it.
//!
//! A test binary, bench or the report installs it once:
//!
//! ```
//! #[global_allocator]
//! static ALLOC: hotmetrics_testkit::CountingAlloc = hotmetrics_testkit::CountingAlloc;
//! ```
//!
//! and reads [`thread_allocations`] (this thread's allocations, for "the
//! recording path allocates nothing"), [`allocations`] and [`live_bytes`]
//! (process-wide), or [`peak_bytes`] between [`track_peak`]`(true)` and
//! `track_peak(false)`. Threads that call [`not_counted`] (a local HTTP
//! receiver's, which keeps its buffers to itself) are left out of every
//! count. Without the allocator installed every count stays 0.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering::Relaxed};

/// The system allocator, counting allocations and live bytes.
///
/// Counting costs a few relaxed atomic operations and thread-local reads
/// per call; it never allocates itself, so it also works while a thread is
/// being torn down.
#[derive(Debug, Clone, Copy, Default)]
pub struct CountingAlloc;

/// Live bytes of the counted threads (can go negative for a while when a
/// counted thread frees what an uncounted one allocated; nothing here does).
static LIVE: AtomicI64 = AtomicI64::new(0);
/// The highest `LIVE` since [`track_peak`]`(true)`.
static PEAK: AtomicI64 = AtomicI64::new(0);
static TRACKING: AtomicBool = AtomicBool::new(false);
/// Allocations (`alloc`, `alloc_zeroed`, `realloc`) of the counted threads.
static ALLOCS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    // Const-initialised and without a destructor: reading or setting them
    // never allocates, and `try_with` still works during thread teardown.
    static NOT_COUNTED: Cell<bool> = const { Cell::new(false) };
    static THREAD_ALLOCS: Cell<u64> = const { Cell::new(0) };
}

fn counted() -> bool {
    !NOT_COUNTED.try_with(Cell::get).unwrap_or(false)
}

/// Books one allocation (or reallocation) that changed the live bytes by
/// `delta`.
fn allocated(delta: i64) {
    if !counted() {
        return;
    }
    let _ = THREAD_ALLOCS.try_with(|n| n.set(n.get() + 1));
    ALLOCS.fetch_add(1, Relaxed);
    changed(delta);
}

fn changed(delta: i64) {
    let now = LIVE.fetch_add(delta, Relaxed) + delta;
    if delta > 0 && TRACKING.load(Relaxed) {
        PEAK.fetch_max(now, Relaxed);
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged and returns its result, so `System`'s guarantees are ours; the
// counting around it uses only atomics and const thread-local `Cell`s,
// which neither allocate nor unwind.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract for
        // `layout` (non-zero size), which is `System.alloc`'s.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            allocated(layout.size() as i64);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `alloc_zeroed`'s contract for
        // `layout`, which is `System.alloc_zeroed`'s.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            allocated(layout.size() as i64);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller guarantees `ptr` came from this allocator
        // (hence from `System`, which every method forwards to) with
        // `layout`.
        unsafe { System.dealloc(ptr, layout) };
        // Memory is freed by a thread of the kind (counted or not) that
        // allocated it in every user of this crate: the receivers marked
        // not counted keep their buffers to themselves.
        if counted() {
            changed(-(layout.size() as i64));
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees `ptr` came from `System` (through
        // us) with `layout`, and that `new_size` is valid for its
        // alignment: `System.realloc`'s contract.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            allocated(new_size as i64 - layout.size() as i64);
        }
        p
    }
}

/// Live heap bytes of the process right now (threads marked
/// [`not_counted`] excepted).
pub fn live_bytes() -> i64 {
    LIVE.load(Relaxed)
}

/// Allocations made so far by every counted thread.
pub fn allocations() -> u64 {
    ALLOCS.load(Relaxed)
}

/// Allocations made so far by the calling thread (0 on a thread marked
/// [`not_counted`]).
pub fn thread_allocations() -> u64 {
    THREAD_ALLOCS.with(Cell::get)
}

/// Leaves the calling thread's allocations out of every count from now on.
pub fn not_counted() {
    NOT_COUNTED.with(|c| c.set(true));
}

/// Starts keeping the peak of the live bytes, from their current value
/// (`true`), or stops (`false`).
pub fn track_peak(on: bool) {
    if on {
        PEAK.store(LIVE.load(Relaxed), Relaxed);
    }
    TRACKING.store(on, Relaxed);
}

/// The highest live byte count since [`track_peak`]`(true)`.
pub fn peak_bytes() -> i64 {
    PEAK.load(Relaxed)
}
