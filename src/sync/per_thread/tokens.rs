//! Owner tokens: which thread may write the values filed under an index.
//!
//! Every [`PerThread`](super::PerThread) files a thread's value under the
//! index of the token that thread holds. A thread claims a token when it
//! first needs one and releases it when it no longer may write (its guard
//! ran at exit, and nothing else holds it): so at most one thread at a time
//! writes the values of a token, across every `PerThread` at once, and the
//! release does not need to reach any of them (a registry may be gone by
//! then). A released token, and with it every value filed under it, is
//! handed to the next thread that claims one. Tokens are never freed: there
//! are never more of them than threads that held or were claiming one at
//! the same time (a claim that finds none free makes a new one, and a
//! scanning claim may take that fresh index first, sending its maker on to
//! the next: at most one extra index per claim in progress).

use super::index_array::IndexArray;
use crate::sync::{AtomicUsize, Ordering};
use std::fmt;

const FREE: usize = 0;
const TAKEN: usize = 1;

/// The process's owner tokens (one table, shared by every `PerThread`).
pub(super) struct Tokens {
    /// `FREE` or `TAKEN`, by token index.
    taken: IndexArray<AtomicUsize>,
    /// Indices handed out so far: tokens `0..created` may exist.
    created: AtomicUsize,
}

impl Tokens {
    pub(super) fn new() -> Tokens {
        Tokens {
            taken: IndexArray::new(),
            created: AtomicUsize::new(0),
        }
    }

    /// Claims a free token, the lowest one found, or a new one.
    ///
    /// Everything the token's previous holder did before releasing it
    /// happens-before the caller's next step (the claim is an Acquire that
    /// reads the release's Release store).
    pub(super) fn claim(&self) -> usize {
        // Relaxed: only a bound for the scan; a token created concurrently
        // and missed here is simply not reused by this claim.
        let created = self.created.load(Ordering::Relaxed);
        for token in 0..created {
            // A bucket not yet installed (its creator is still growing it)
            // holds no token to reuse.
            if let Some(flag) = self.taken.get(token) {
                if take(flag) {
                    return token;
                }
            }
        }
        loop {
            // Relaxed: the counter only makes indices unique; the flag's
            // CAS is what claims. A scanning thread may take this fresh
            // index before us (it is below `created` now): then try the next.
            let token = self.created.fetch_add(1, Ordering::Relaxed);
            if take(self.taken.get_or_grow(token)) {
                return token;
            }
        }
    }

    /// Releases `token`, which the caller claimed and no longer uses.
    pub(super) fn release(&self, token: usize) {
        let flag = self
            .taken
            .get(token)
            .expect("a claimed token's bucket exists");
        debug_assert_eq!(flag.load(Ordering::Relaxed), TAKEN);
        // Release: every write the holder made to the values filed under
        // this token happens-before the next claim of it (the Acquire CAS in
        // `take`), so the next holder continues them without losing any.
        flag.store(FREE, Ordering::Release);
    }
}

/// Takes `flag` if it is free.
fn take(flag: &AtomicUsize) -> bool {
    // The Relaxed pre-check keeps a scan from writing the cache lines of
    // tokens that are taken. Acquire on success: pairs with the Release in
    // `release` (see `claim`); the CAS, not a store, makes the claim
    // exclusive when two threads find the same token free.
    flag.load(Ordering::Relaxed) == FREE
        && flag
            .compare_exchange(FREE, TAKEN, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tokens")
            .field("created", &self.created.load(Ordering::Relaxed))
            .finish()
    }
}

#[cfg(all(test, not(all(loom, feature = "loom"))))]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_exclusive_and_reused() {
        let tokens = Tokens::new();
        let (a, b) = (tokens.claim(), tokens.claim());
        assert_eq!((a, b), (0, 1));
        tokens.release(a);
        assert_eq!(tokens.claim(), 0, "the free token is reused");
        assert_eq!(tokens.claim(), 2, "none free: a new one");
    }
}
