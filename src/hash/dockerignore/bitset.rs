//! Sets of small numbers as bits in `u64` words: the live states of a glob, and the rules that
//! matched an ancestor during a walk. Small sets stay on the stack.

/// Lends `f` a zeroed bit buffer of `words` words, on the stack when it is small.
pub(super) fn with_words<R>(words: usize, f: impl FnOnce(&mut [u64]) -> R) -> R {
    const INLINE_WORDS: usize = 8;
    if words <= INLINE_WORDS {
        f(&mut [0; INLINE_WORDS][..words])
    } else {
        f(&mut vec![0; words])
    }
}

pub(super) fn bit(bits: &[u64], index: usize) -> bool {
    bits[index / 64] & (1 << (index % 64)) != 0
}

pub(super) fn set_bit(bits: &mut [u64], index: usize) {
    bits[index / 64] |= 1 << (index % 64);
}
