//! [`LabelWords`]: a short label set as a few words of fixed size, which a
//! lookup hashes and compares without going back to the bytes.
//!
//! Most label sets are a few values of a few bytes (a route, a method, a
//! status). For those, a series keeps, beside its key bytes, each value's
//! length and the two words the table's hash reads of it
//! ([`short_words`]: the first and last 8 bytes, or 4, or three bytes),
//! which determine a value of up to 16 bytes given its length. A lookup
//! reads the caller's values once into the same form; the hash folds the
//! words ([`LabelHasher::hash_words`](super::label_hash::LabelHasher)),
//! and a candidate series matches when its words equal the caller's: a
//! fixed number of word comparisons instead of a walk through the stored
//! bytes, value by value, with a length check and a separator each.
//!
//! A label set with more than [`WORD_VALUES`] values, or a value longer than
//! 16 bytes, has no words ([`LabelWords::of`] is `None`): its lookups hash
//! and compare the bytes as before. Which form a label set takes depends on
//! the label set alone, so a lookup and the insertion of the same label set
//! always take the same one, and both forms give the same hash.
#![forbid(unsafe_code)]

use super::label_hash::short_words;
use super::labels::{LabelValues, ValueBuf};

/// Values of a label set kept as words (most label sets have fewer).
pub(crate) const WORD_VALUES: usize = 5;

/// A label set of at most [`WORD_VALUES`] values of at most 16 bytes each,
/// as its shape and two words per value (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LabelWords {
    /// The number of values in the low byte, then each value's length, a
    /// byte each; [`NONE`](Self::NONE)'s is `u64::MAX`, which no label set
    /// has.
    shape: u64,
    /// Each value's two words; zeros past the last value.
    words: [[u64; 2]; WORD_VALUES],
}

impl LabelWords {
    /// What a series whose label set has no words keeps: it matches no
    /// label set's words.
    pub(crate) const NONE: LabelWords = LabelWords {
        shape: u64::MAX,
        words: [[0; 2]; WORD_VALUES],
    };

    /// The words of `labels`; `None` for a label set with more than
    /// [`WORD_VALUES`] values or a value longer than 16 bytes.
    #[inline(always)]
    pub(crate) fn of<L: LabelValues + ?Sized>(labels: &L) -> Option<LabelWords> {
        let count = labels.label_count();
        if count > WORD_VALUES {
            return None;
        }
        let mut out = LabelWords {
            shape: count as u64,
            words: [[0; 2]; WORD_VALUES],
        };
        let mut buf = ValueBuf::new();
        for (i, words) in out.words.iter_mut().enumerate().take(count) {
            let v = labels.value_at(i, &mut buf).as_bytes();
            if v.len() > 16 {
                return None;
            }
            out.shape |= (v.len() as u64) << (8 * (i + 1));
            let (a, b) = short_words(v);
            *words = [a, b];
        }
        Some(out)
    }

    /// Whether `other` holds the words of the label set `self` holds: the
    /// shapes and each of `self`'s values' words compared, then one branch
    /// (a lookup that gets here has matched the hash, so it is almost
    /// always a hit, which compares every word anyway). Equal shapes have
    /// equal counts, and the words past the count are zeros in both.
    #[inline(always)]
    pub(crate) fn matches(&self, other: &LabelWords) -> bool {
        let mut differ = self.shape ^ other.shape;
        let count = self.count().min(WORD_VALUES);
        for (a, b) in self.words[..count].iter().zip(&other.words) {
            differ |= (a[0] ^ b[0]) | (a[1] ^ b[1]);
        }
        differ == 0
    }

    /// The number of values.
    #[inline(always)]
    pub(crate) fn count(&self) -> usize {
        (self.shape & 0xff) as usize
    }

    /// Value `i`'s length and two words (`i < count()`).
    #[inline(always)]
    pub(crate) fn value(&self, i: usize) -> (u64, [u64; 2]) {
        ((self.shape >> (8 * (i + 1))) & 0xff, self.words[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(labels: &[&str]) -> LabelWords {
        LabelWords::of(labels).expect("a short label set")
    }

    #[test]
    fn words_tell_every_short_label_set_apart() {
        let abc = words(&["a", "b", "c"]);
        assert!(abc.matches(&words(&["a", "b", "c"])));
        assert_eq!(LabelWords::of(&("a", "b", "c")), Some(abc));
        for other in [
            words(&["a", "bc", ""]),
            words(&["ab", "c", ""]),
            words(&["a", "b"]),
            words(&["a", "b", "c", ""]),
            words(&["a", "b", "d"]),
            words(&["c", "b", "a"]),
            LabelWords::NONE,
        ] {
            assert!(!abc.matches(&other), "{other:?}");
        }
        // Any one byte changed, at every length and position.
        let base = "0123456789abcdef";
        for n in 0..=16 {
            let v = &base[..n];
            for at in 0..n {
                let mut w = v.as_bytes().to_vec();
                w[at] = b'Z';
                let w = std::str::from_utf8(&w).unwrap();
                assert!(!words(&["x", v]).matches(&words(&["x", w])), "{v:?} {w:?}");
            }
        }
    }

    #[test]
    fn long_values_and_many_values_have_no_words() {
        assert!(LabelWords::of(&["0123456789abcdefg"]).is_none());
        assert!(LabelWords::of(&["a"; WORD_VALUES + 1]).is_none());
        assert!(LabelWords::of(&["a"; WORD_VALUES]).is_some());
        assert!(LabelWords::of(&["0123456789abcdef"; WORD_VALUES]).is_some());
        let w = words(&["", "abc", "0123456789abcdef"]);
        let lens: Vec<u64> = (0..w.count()).map(|i| w.value(i).0).collect();
        assert_eq!(lens, [0, 3, 16]);
    }
}
