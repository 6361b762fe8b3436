//! `PerThread<T>`: one `T` per thread, reachable by its owner without a
//! lock or a shared write, and iterable by anyone.
//!
//! A thread's value is filed under the index of the owner token it holds
//! (`tokens.rs`): a thread claims a token when it first needs one, and
//! releases it when it exits (a thread-local guard) or, if a `local()`
//! handle or a call in progress still holds it then, when that hold goes.
//! The release is a Release store and the next claim an Acquire CAS, so a
//! value has one writer at a time and the next thread handed the token (and
//! with it the value) continues where its previous holder stopped. Values
//! of exited threads are kept for the container's life; there are never
//! more of them than threads that held a token at the same time.
//!
//! The owner finds its value through a const-initialised thread-local cache
//! of (container id, value address), without the `thread_local` crate:
//! container ids are unique and never reused, so an entry of a dropped
//! container is never matched. A miss (the first record, or more
//! containers in use than cache entries) looks the value up by token in
//! the container's [`IndexArray`](index_array::IndexArray). A thread whose
//! guard already ran (a thread-local destructor recording while the thread
//! exits) claims a token for that one call (`thread_state.rs`).
//!
//! The same code runs under loom: only the thread-locals and the global
//! token table are declared through loom there.

mod bound;
mod index_array;
mod thread_state;
mod tokens;

#[cfg(all(test, loom, feature = "loom"))]
mod loom_model;
#[cfg(all(test, not(all(loom, feature = "loom"))))]
mod tests;

use crate::sync::{AtomicPtr, Ordering};
use index_array::IndexArray;
use std::fmt;
use std::marker::PhantomData;
use std::ptr;

pub(crate) use thread_state::Hold;

/// One `T` per thread (see the module docs).
// repr(C), id first: a lookup reads only the id (then the calling
// thread's cache); the values' index array, 512 bytes, comes after it.
#[repr(C)]
pub(crate) struct PerThread<T: Send + Sync> {
    /// Unique among every `PerThread` ever made: what the cache matches.
    id: u64,
    /// Each token's value, created by its first holder.
    values: IndexArray<AtomicPtr<T>>,
    /// Owns the values (auto traits follow `T`'s).
    _owns: PhantomData<Box<T>>,
    /// Under loom only: see [`PerThread::race_point`].
    #[cfg(all(loom, feature = "loom"))]
    race: crate::sync::AtomicUsize,
}

/// The name a part of every thread's value is cached under (see
/// [`PerThread::with_part`]): unique among every key and container id ever
/// made, so a key is never matched by anything but what it was made for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PartKey(u64);

impl PartKey {
    /// A fresh key.
    pub(crate) fn new() -> PartKey {
        PartKey(next_id())
    }
}

/// The `P` parts `owner` bound to the `K`-word `key` on this thread with
/// [`bind`], if it did: one probe of a table only this thread touches. A
/// hit holds what `bind` stored while this thread held the token it still
/// holds (bindings are emptied before the token is released): addresses of
/// parts of this thread's values, or null where the owner bound none.
#[inline(always)]
pub(crate) fn bound<const K: usize, const P: usize>(
    owner: PartKey,
    key: &[u64; K],
) -> Option<[*const (); P]> {
    thread_state::cached_bound(owner.0, key)
}

/// Binds `parts` to `key` under `owner` on this thread (see [`bound`]).
/// An owner always binds keys of `K` words to `P` parts.
///
/// # Safety
///
/// Each part is null or the address of a part of a value this thread
/// reached under the token it holds now (in the `f` of
/// [`PerThread::with_part`] or [`PerThread::with`], or under a [`Hold`]).
pub(crate) unsafe fn bind<const K: usize, const P: usize>(
    owner: PartKey,
    key: &[u64; K],
    parts: [*const (); P],
) {
    thread_state::fill_bound(owner.0, key, parts);
}

/// A fresh container id or part key; never 0 (the caches' empty entry),
/// never reused.
fn next_id() -> u64 {
    // Not modelled under loom: the id only names a container, it orders
    // nothing.
    use std::sync::atomic::{AtomicU64, Ordering}; // shim-exempt: a name source, synchronises nothing
    static NEXT: AtomicU64 = AtomicU64::new(1);
    // Relaxed: uniqueness needs only the RMW's atomicity.
    NEXT.fetch_add(1, Ordering::Relaxed)
}

impl<T: Send + Sync> PerThread<T> {
    pub(crate) fn new() -> Self {
        PerThread {
            id: next_id(),
            values: IndexArray::new(),
            _owns: PhantomData,
            #[cfg(all(loom, feature = "loom"))]
            race: crate::sync::AtomicUsize::new(0),
        }
    }

    /// Under loom, a Relaxed RMW on a counter of its own, made when a value
    /// is created and by every iteration: loom sees them conflict and
    /// explores both orders of each pair. Without it loom 0.7 explores
    /// almost nothing here: every publication is a load followed by a CAS
    /// by the same thread, the pattern it does not backtrack on
    /// (tokio-rs/loom#392). Relaxed, so it orders nothing the models check.
    #[inline(always)]
    fn race_point(&self) {
        #[cfg(all(loom, feature = "loom"))]
        self.race.fetch_add(1, Ordering::Relaxed);
    }

    /// Runs `f` on this thread's value, created by `create` on first use.
    ///
    /// `f` is called from this function on both paths, not handed to the
    /// out-of-line miss: a closure passed to a call has to be built in
    /// memory first, and the compiler built it before the cache check, on
    /// every record.
    #[inline(always)]
    pub(crate) fn with<R>(&self, create: impl FnOnce() -> T, f: impl FnOnce(&T) -> R) -> R {
        if let Some(addr) = thread_state::cached(self.id) {
            // SAFETY: the cache holds, for this container's id, the address
            // of the value `with_slow` or `hold` reached under the token
            // this thread still holds (the cache is emptied before the
            // token is released): a `T` owned by `self.values`, freed only
            // when `self` is dropped, so valid for the borrow of `self`.
            return f(unsafe { &*(addr as *const T) });
        }
        let (hold, value) = self.with_slow(create);
        // SAFETY: `with_slow` returns the pointer of a `Box` published with
        // Release and read with Acquire, which `self` frees only when it is
        // dropped: valid for this call, within `&self`. `hold` keeps the
        // value this thread's until after `f`.
        let result = f(unsafe { &*value });
        drop(hold);
        result
    }

    /// Runs `f` on a part of this thread's value: the one `part` finds in
    /// it given `arg`, cached under `key` so that later calls with `key` go
    /// to it directly (one thread-local look-up instead of the value's and
    /// then `part`'s walk). As [`with`](Self::with) otherwise.
    ///
    /// `part` captures nothing (its type is all there is of it) and gets
    /// what it needs as `arg`, passed to the miss in registers (at most two
    /// words: a larger `arg`, or a closure capturing it, is built in memory
    /// before the cache check, on every call).
    ///
    /// # Safety
    ///
    /// `part` returns a reference into the value it is given (or into
    /// memory the value owns). If what it returns can be freed before
    /// `self` is dropped, no call with `key` is made after it is freed:
    /// a thread's cache may keep the address for as long as it holds its
    /// token, and hands it out to any call with `key` on that thread.
    #[inline(always)]
    pub(crate) unsafe fn with_part<A: Copy, P, R>(
        &self,
        key: PartKey,
        create: impl FnOnce() -> T,
        arg: A,
        part: impl for<'t> FnOnce(&'t T, A) -> &'t P,
        f: impl FnOnce(&P) -> R,
    ) -> R {
        let p = match thread_state::cached_part(key.0) {
            Some(addr) => addr as *const P,
            // A part-cache miss (the first call with `key`, or another key
            // took its entry): the value through the values' cache, inline.
            None => match thread_state::cached(self.id) {
                Some(value) => {
                    // SAFETY: as in `with`: the cached value of this thread,
                    // which holds its token, freed only when `self` is.
                    let p: *const P = part(unsafe { &*(value as *const T) }, arg);
                    // Cached while the token is held (see `cached_part`).
                    thread_state::fill_part(key.0, p.cast());
                    p
                }
                None => {
                    let (hold, value) = self.with_slow(create);
                    // SAFETY: as in `with`; `hold` keeps the value this
                    // thread's until after `f`, and the caches are emptied
                    // when it gives back a token claimed for this call.
                    let p: *const P = part(unsafe { &*value }, arg);
                    thread_state::fill_part(key.0, p.cast());
                    // SAFETY: `p` is part of the value `hold` keeps.
                    let result = f(unsafe { &*p });
                    drop(hold);
                    return result;
                }
            },
        };
        // SAFETY: a hit holds, for `key`, the address this code cached on
        // this thread while it held the token it still holds (both caches
        // are emptied before the token is released): a part of this
        // thread's value, which lives until `self` is dropped and, by our
        // caller's contract, is not freed earlier while calls with `key`
        // still come. A miss has just found `p` the same way.
        f(unsafe { &*p })
    }

    /// A miss: hold a token for the call (claiming one if the thread has
    /// none), find or create its value, cache it while the token is held.
    #[cold]
    #[inline(never)]
    fn with_slow(&self, create: impl FnOnce() -> T) -> (Hold, *const T) {
        let (hold, token) = thread_state::hold();
        let value = self.value_of(token, create);
        // Cached until the token is released (which empties the cache).
        thread_state::fill(self.id, value as *const ());
        (hold, value)
    }

    /// This thread's value, with a hold that keeps it this thread's until
    /// the hold is dropped (also past the thread's exit guard).
    pub(crate) fn hold(&self, create: impl FnOnce() -> T) -> (Hold, &T) {
        let (hold, token) = thread_state::hold();
        let value = self.value_of(token, create);
        // SAFETY: a value pointer from `value_of` points at a `Box` that was
        // published with Release (and read with Acquire there) and is freed
        // only when `self` is dropped: valid for the borrow of `self`.
        (hold, unsafe { &*value })
    }

    /// The value filed under `token`, which this thread holds: the pointer
    /// `install` made with `Box::into_raw` (never derived from a
    /// reference, so every borrow made from it is a fresh child of the box).
    fn value_of(&self, token: usize, create: impl FnOnce() -> T) -> *mut T {
        let slot = self.values.get_or_grow(token);
        // Acquire: pairs with the Release in `install`. (A value made by an
        // earlier holder of the token is also ordered by the token's
        // hand-over.)
        let value = slot.load(Ordering::Acquire);
        if value.is_null() {
            self.race_point();
            install(slot, create)
        } else {
            value
        }
    }

    /// Where the id sits: what a lookup reads of `self`.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn id_address(&self) -> usize {
        &self.id as *const u64 as usize
    }

    /// Every value, including those of threads that exited.
    pub(crate) fn for_each(&self, mut f: impl FnMut(&T)) {
        self.race_point();
        self.values.for_each(|slot| {
            // Acquire: as in `value_of`.
            let value = slot.load(Ordering::Acquire);
            if !value.is_null() {
                // SAFETY: as in `value_of`: a published `Box`, alive while
                // `self` is.
                f(unsafe { &*value });
            }
        });
    }
}

#[cold]
#[inline(never)]
fn install<T: Send + Sync>(slot: &AtomicPtr<T>, create: impl FnOnce() -> T) -> *mut T {
    let fresh = Box::into_raw(Box::new(create()));
    // Release: publishes the new value to `for_each` on other threads. A CAS
    // although only the token's holder installs here: it costs nothing on
    // this cold path and keeps the store sound if that ever changed.
    match slot.compare_exchange(ptr::null_mut(), fresh, Ordering::Release, Ordering::Acquire) {
        Ok(_) => fresh,
        Err(existing) => {
            // SAFETY: `fresh` came from `Box::into_raw` above, never shared.
            drop(unsafe { Box::from_raw(fresh) });
            existing
        }
    }
}

impl<T: Send + Sync> Drop for PerThread<T> {
    fn drop(&mut self) {
        self.values.for_each(|slot| {
            // `&mut self`: no thread reaches the values any more (a cache
            // entry for this id is never matched again).
            let value = slot.load(Ordering::Relaxed);
            if !value.is_null() {
                // SAFETY: from `install`'s `Box::into_raw`, freed once.
                drop(unsafe { Box::from_raw(value) });
            }
        });
    }
}

impl<T: Send + Sync> fmt::Debug for PerThread<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PerThread { .. }")
    }
}
