//! One page of a list in order, without sorting the whole list: the inbox and the meeting list
//! answer twenty or a hundred entries of ten thousand.

use std::cmp::Ordering;

/// The indices (into a list of `len` entries) of the entries `offset..offset + limit` in the
/// order `cmp` gives, which must be total (ties broken, e.g. by id) for pages to follow each
/// other. Selecting the first `offset + limit` is linear, and only those are sorted.
pub fn window(len: usize, offset: usize, limit: usize, mut cmp: impl FnMut(usize, usize) -> Ordering) -> Vec<usize> {
    let start = offset.min(len);
    let end = start.saturating_add(limit).min(len);
    let mut idx: Vec<usize> = (0..len).collect();
    let mut by = |a: &usize, b: &usize| cmp(*a, *b);
    if end < len {
        idx.select_nth_unstable_by(end, &mut by);
        idx.truncate(end);
    }
    idx.sort_unstable_by(by);
    idx.drain(..start);
    idx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_window_is_the_same_slice_of_the_whole_sorted() {
        // Many ties in the first key: the second breaks them, as a list's id does.
        let v: Vec<(u8, u32)> = (0..300u32).map(|i| ((i * 7919 % 13) as u8, i * 104_729 % 1_000)).collect();
        let cmp = |a: usize, b: usize| v[a].cmp(&v[b]);
        let mut whole: Vec<usize> = (0..v.len()).collect();
        whole.sort_by(|a, b| cmp(*a, *b));
        for offset in [0, 1, 17, 100, 299, 300, 1_000] {
            for limit in [0, 1, 20, 100, 300, usize::MAX] {
                let w = window(v.len(), offset, limit, cmp);
                let start = offset.min(v.len());
                let end = start.saturating_add(limit).min(v.len());
                assert_eq!(w, whole[start..end], "offset {offset}, limit {limit}");
            }
        }
        assert!(window(0, 0, 10, |_, _| Ordering::Equal).is_empty());
    }
}
