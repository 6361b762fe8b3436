//! This thread's side of the per-thread store: the token it holds, why it
//! holds it, and a small cache of the values it reached.
//!
//! The state sits in a const-initialised `thread_local!` without a
//! destructor: such a slot has no "destroyed" state, so it stays readable
//! while the thread's other thread-locals are dropped, and a destructor that
//! records always finds it. A second `thread_local!`, the guard, has a
//! destructor: it runs when the thread exits and gives up the guard's hold
//! on the token. The token is released (and the cache emptied) when its
//! last hold goes: the guard's, a [`Hold`] of a `local()` handle, or a call
//! in progress. A record made after the guard ran (from another
//! destructor) claims a token for that call only.
//!
//! Beside the values, the state caches *parts* of them: the address of
//! something inside this thread's value (a counter's cell or a histogram's
//! cells in its shard) under a key naming it (the handle's), so that a
//! record reaches its cells with one look-up instead of the value's and
//! then its own walk from the value to the part. Parts are emptied with
//! the values' cache. So are the label sets bound to two parts at once
//! (`bound.rs`).

use super::bound::BoundTable;
use super::tokens::Tokens;
use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;
use std::ptr;

/// Cache entries: one per registry a thread records into, up to this many
/// at once; direct-mapped by the registry's id.
const CACHE: usize = 4;

/// Part cache sets, of two entries each (see [`ThreadState::cached_part`]).
/// Keys are handed out in sequence and a key's set is its low bits, so up
/// to twice this many parts made one after another share no entry.
const PART_SETS: usize = 128;

/// No token (token indices are never this large).
const NO_TOKEN: usize = usize::MAX;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Guard {
    /// Not yet registered: the thread never held a token.
    Unset,
    /// Registered: holds the token until the thread exits.
    Set,
    /// Ran (or could not be registered): the thread is exiting.
    Ran,
}

/// One thread's state (see the module docs). Only its own thread touches it.
pub(super) struct ThreadState {
    token: Cell<usize>,
    /// Reasons the token is held; it is released when this drops to 0.
    holds: Cell<usize>,
    guard: Cell<Guard>,
    /// `(PerThread id, value address)`; id 0 is empty (ids start at 1).
    cache: [Cell<(u64, *const ())>; CACHE],
    /// `(part key, part address)` pairs, two per set, the one filled last
    /// first; key 0 is empty (keys start at 1).
    parts: [[Cell<(u64, *const ())>; 2]; PART_SETS],
    /// Label sets bound to two parts (`bound.rs`), emptied with the caches.
    bound: BoundTable,
}

impl ThreadState {
    #[cfg_attr(all(loom, feature = "loom"), allow(dead_code))]
    const fn new() -> ThreadState {
        ThreadState {
            token: Cell::new(NO_TOKEN),
            holds: Cell::new(0),
            guard: Cell::new(Guard::Unset),
            cache: [const { Cell::new((0, ptr::null())) }; CACHE],
            parts: [const { [const { Cell::new((0, ptr::null())) }; 2] }; PART_SETS],
            bound: BoundTable::new(),
        }
    }

    /// The cached value address of the `PerThread` with id `id`. A hit
    /// means this thread still holds the token the value is filed under:
    /// the cache is emptied before the token is released.
    #[inline(always)]
    fn cached(&self, id: u64) -> Option<*const ()> {
        // `& (CACHE - 1)` keeps the index in bounds (CACHE is a power of 2).
        let (cached_id, addr) = self.cache[id as usize & (CACHE - 1)].get();
        (cached_id == id).then_some(addr)
    }

    fn fill(&self, id: u64, addr: *const ()) {
        self.cache[id as usize & (CACHE - 1)].set((id, addr));
    }

    /// The part address cached under `key`; a hit means, as for
    /// [`cached`](Self::cached), that this thread still holds the token of
    /// the value the part is in.
    ///
    /// Two entries per set: two keys whose handles take turns (a label
    /// set's counter and histogram made far apart, say) both stay cached,
    /// where one entry would have them evict each other on every call.
    #[inline(always)]
    fn cached_part(&self, key: u64) -> Option<*const ()> {
        let set = self.part_set(key);
        let (first, addr) = set[0].get();
        if first == key {
            return Some(addr);
        }
        let (second, addr) = set[1].get();
        (second == key).then_some(addr)
    }

    /// Caches `addr` under `key` first in its set, the set's first entry
    /// moving second (and its second dropped).
    fn fill_part(&self, key: u64, addr: *const ()) {
        let set = self.part_set(key);
        set[1].set(set[0].get());
        set[0].set((key, addr));
    }

    #[inline(always)]
    fn part_set(&self, key: u64) -> &[Cell<(u64, *const ())>; 2] {
        // `& (PART_SETS - 1)` keeps the index in bounds (a power of 2).
        &self.parts[key as usize & (PART_SETS - 1)]
    }

    /// Adds a hold on this thread's token, claiming one if it has none, and
    /// returns the token. The first claim also registers the guard.
    fn hold(&self, tokens: &Tokens) -> usize {
        if self.guard.get() == Guard::Unset {
            // Registered before the claim: if it cannot be (the thread is
            // already tearing its thread-locals down), the thread is exiting
            // and the claim below lasts only as long as its holds.
            if register_guard() {
                self.guard.set(Guard::Set);
                self.holds.set(self.holds.get() + 1);
            } else {
                self.guard.set(Guard::Ran);
            }
        }
        if self.token.get() == NO_TOKEN {
            self.token.set(tokens.claim());
        }
        self.holds.set(self.holds.get() + 1);
        self.token.get()
    }

    /// Gives up one hold; the last one releases the token.
    fn unhold(&self, tokens: &Tokens) {
        let holds = self.holds.get() - 1;
        self.holds.set(holds);
        if holds == 0 {
            // The caches first: no later lookup on this thread may reach a
            // value (or a part of one) filed under a token it no longer
            // holds.
            for entry in self.cache.iter().chain(self.parts.iter().flatten()) {
                entry.set((0, ptr::null()));
            }
            self.bound.clear();
            tokens.release(self.token.replace(NO_TOKEN));
        }
    }

    /// The guard's destructor: the thread is exiting.
    fn guard_ran(&self, tokens: &Tokens) {
        debug_assert_eq!(self.guard.get(), Guard::Set);
        self.guard.set(Guard::Ran);
        self.unhold(tokens);
    }
}

/// A hold on this thread's token, for a handle bound to this thread's
/// value (`local()`) or a call that missed the cache: while it lives the
/// thread keeps its token, even past its guard, so the value keeps a single
/// writer. Dropped on unwind too. `!Send`: it is given back on the thread
/// that took it.
pub(crate) struct Hold {
    _not_send: PhantomData<*const ()>,
}

impl Drop for Hold {
    fn drop(&mut self) {
        with_state(|s| s.unhold(tokens()));
    }
}

impl fmt::Debug for Hold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Hold")
    }
}

/// The value address cached for the `PerThread` with id `id`, if any.
#[inline(always)]
pub(super) fn cached(id: u64) -> Option<*const ()> {
    with_state(|s| s.cached(id))
}

/// Caches `addr` for `id`: the address of the value filed under the token
/// this thread holds (the cache is emptied when the token is released).
pub(super) fn fill(id: u64, addr: *const ()) {
    with_state(|s| s.fill(id, addr));
}

/// The part address cached under `key`, if any.
#[inline(always)]
pub(super) fn cached_part(key: u64) -> Option<*const ()> {
    with_state(|s| s.cached_part(key))
}

/// Caches `addr` under `key`: the address of a part of the value filed
/// under the token this thread holds (emptied when the token is released).
pub(super) fn fill_part(key: u64, addr: *const ()) {
    with_state(|s| s.fill_part(key, addr));
}

/// The parts `owner` bound to `key` on this thread, if any. A hit means, as
/// for [`cached_part`], that this thread still holds the token of the values
/// the parts are in.
#[inline(always)]
pub(super) fn cached_bound<const K: usize, const P: usize>(
    owner: u64,
    key: &[u64; K],
) -> Option<[*const (); P]> {
    let view = with_state(|s| s.bound.view());
    // SAFETY: this thread's table, probed before anything else can fill or
    // empty it (both happen only on this thread, in other calls).
    unsafe { view.find(owner, key) }
}

/// Binds `parts` to `key` for `owner`: addresses of parts of the values
/// filed under the token this thread holds (emptied when it is released).
pub(super) fn fill_bound<const K: usize, const P: usize>(
    owner: u64,
    key: &[u64; K],
    parts: [*const (); P],
) {
    with_state(|s| {
        // Only while a token is held: a binding made without one would
        // outlive every release.
        if s.holds.get() > 0 {
            s.bound.fill(owner, key, parts);
        }
    });
}

/// A hold on this thread's token, and the token.
pub(super) fn hold() -> (Hold, usize) {
    let token = with_state(|s| s.hold(tokens()));
    let hold = Hold {
        _not_send: PhantomData,
    };
    (hold, token)
}

crate::sync::cfg_not_loom! {
    /// The process's tokens.
    fn tokens() -> &'static Tokens {
        static TOKENS: std::sync::LazyLock<Tokens> = std::sync::LazyLock::new(Tokens::new);
        &TOKENS
    }

    thread_local! {
        /// This thread's state: const-initialised and without a destructor,
        /// so it is reachable until the thread is gone (see the module docs).
        static STATE: ThreadState = const { ThreadState::new() };
        /// Registered on a thread's first claim; dropped when it exits.
        static GUARD: ExitGuard = const { ExitGuard };
    }

    #[inline(always)]
    fn with_state<R>(f: impl FnOnce(&ThreadState) -> R) -> R {
        STATE.with(f)
    }

    /// Registers the guard's destructor; false while the thread's
    /// thread-locals are being torn down and it has already run.
    fn register_guard() -> bool {
        GUARD.try_with(|_| ()).is_ok()
    }

    /// Gives up the exiting thread's guard hold.
    struct ExitGuard;

    impl Drop for ExitGuard {
        fn drop(&mut self) {
            // `STATE` has no destructor, so it is still reachable here.
            STATE.with(|s| s.guard_ran(tokens()));
        }
    }
}

crate::sync::cfg_loom! {
    use std::cell::RefCell;
    use std::rc::Rc;
    use std::sync::Arc as StdArc; // shim-exempt: keeps the model's token table alive, see `ExitGuard`

    loom::lazy_static! {
        /// The tokens of one model execution.
        static ref TOKENS: StdArc<Tokens> = StdArc::new(Tokens::new());
    }

    fn tokens() -> &'static Tokens {
        &TOKENS
    }

    loom::thread_local! {
        // loom's thread-locals are all taken away before any of them is
        // dropped, so the guard keeps its own reference to the state.
        static STATE: Rc<ThreadState> = Rc::new(ThreadState::new());
        static GUARD: RefCell<Option<ExitGuard>> = RefCell::new(None);
    }

    fn with_state<R>(f: impl FnOnce(&ThreadState) -> R) -> R {
        STATE.with(|s| f(s))
    }

    fn register_guard() -> bool {
        let guard = ExitGuard {
            state: STATE.with(Rc::clone),
            tokens: StdArc::clone(&TOKENS),
        };
        GUARD.with(|g| *g.borrow_mut() = Some(guard));
        true
    }

    /// Runs this thread's guard now, as its destructor would at exit: what
    /// the thread records afterwards is what a later thread-local
    /// destructor would record.
    #[cfg(test)]
    pub(crate) fn exit_now() {
        drop(GUARD.with(|g| g.borrow_mut().take()));
    }

    /// loom drops the model's main thread's thread-locals after its lazy
    /// statics, so the guard keeps the token table alive itself.
    struct ExitGuard {
        state: Rc<ThreadState>,
        tokens: StdArc<Tokens>,
    }

    impl Drop for ExitGuard {
        fn drop(&mut self) {
            if std::thread::panicking() {
                // A failed model is being torn down outside loom's
                // execution, where loom objects cannot be touched.
                return;
            }
            self.state.guard_ran(&self.tokens);
        }
    }
}
