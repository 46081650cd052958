//! What the hostile-input tests share.

use proptest::prelude::*;

/// Applies `edits` to `bytes`: each at a place, a value and a kind (overwrite, insert garbage,
/// delete, flip a bit).
pub fn mutate(bytes: &mut Vec<u8>, edits: Vec<(prop::sample::Index, u8, u8)>) {
    for (at, value, kind) in edits {
        if bytes.is_empty() {
            break;
        }
        let i = at.index(bytes.len());
        match kind {
            0 => bytes[i] = value,
            1 => bytes.insert(i, value),
            2 => {
                bytes.remove(i);
            }
            _ => bytes[i] ^= 0x10,
        }
    }
}
