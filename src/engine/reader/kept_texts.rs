//! What history entries did to their texts, word by word, kept across reads.
//!
//! An entry's text changes depend only on its document and the heads before and after it, which
//! never change: after an edit, a draft's history of 50 entries has one new or longer entry, and
//! the other 49 compare the same texts as before. Comparing each entry's texts at two points in
//! the history was two thirds of the history's read.

use std::collections::HashMap;
use std::sync::Mutex;

use automerge::ChangeHash;

use crate::engine::history::TextChange;
use crate::ids::DocId;

/// What the kept comparisons may hold, in bytes of their texts.
const KEPT_BYTES: usize = 8 * 1024 * 1024;

/// One entry's comparison: its document, the heads before and after it, what it wrote, and the
/// provision and language the history was asked for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TextsKey {
    pub doc: DocId,
    pub before: Vec<ChangeHash>,
    pub after: Vec<ChangeHash>,
    pub what: Vec<String>,
    pub provision: Option<String>,
    pub lang: Option<String>,
}

#[derive(Default)]
pub(super) struct KeptTexts {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    kept: HashMap<TextsKey, Kept>,
    bytes: usize,
    tick: u64,
}

struct Kept {
    texts: Vec<TextChange>,
    bytes: usize,
    used: u64,
}

fn weight(key: &TextsKey, texts: &[TextChange]) -> usize {
    let pieces: usize = texts.iter().flat_map(|t| &t.diff).map(|p| p.text.len() + 32).sum();
    // Every part of the key counts: `lang` comes from the request as it was sent.
    let asked = key.provision.as_ref().map_or(0, String::len) + key.lang.as_ref().map_or(0, String::len);
    pieces
        + key.what.iter().map(|w| w.len() + 24).sum::<usize>()
        + (key.before.len() + key.after.len()) * 32
        + asked
        + 128
}

impl KeptTexts {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn get(&self, key: &TextsKey) -> Option<Vec<TextChange>> {
        let mut inner = self.lock();
        inner.tick += 1;
        let tick = inner.tick;
        let kept = inner.kept.get_mut(key)?;
        kept.used = tick;
        Some(kept.texts.clone())
    }

    pub fn put(&self, key: TextsKey, texts: &[TextChange]) {
        let bytes = weight(&key, texts);
        if bytes > KEPT_BYTES / 4 {
            return;
        }
        let mut inner = self.lock();
        inner.tick += 1;
        let used = inner.tick;
        if let Some(old) = inner.kept.insert(key, Kept { texts: texts.to_vec(), bytes, used }) {
            inner.bytes -= old.bytes;
        }
        inner.bytes += bytes;
        if inner.bytes > KEPT_BYTES {
            // The least recently used go, down to three quarters, so that evicting is rare.
            let mut by_use: Vec<(u64, TextsKey)> = inner.kept.iter().map(|(k, v)| (v.used, k.clone())).collect();
            by_use.sort_unstable_by_key(|(used, _)| *used);
            for (_, k) in by_use {
                if inner.bytes <= KEPT_BYTES * 3 / 4 {
                    break;
                }
                if let Some(gone) = inner.kept.remove(&k) {
                    inner.bytes -= gone.bytes;
                }
            }
        }
    }

    #[cfg(test)]
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::word_diff;

    fn key(i: usize) -> TextsKey {
        TextsKey {
            doc: DocId::random(),
            before: vec![ChangeHash([i as u8; 32])],
            after: vec![ChangeHash([i as u8 + 1; 32])],
            what: vec!["text of p1 (en)".into()],
            provision: None,
            lang: None,
        }
    }

    #[test]
    fn kept_comparisons_stay_within_their_bytes_and_the_newest_stay() {
        let kept = KeptTexts::default();
        let long = "word ".repeat(20_000);
        let texts = vec![TextChange { what: "text of p1 (en)".into(), key: None, diff: word_diff::words("", &long) }];
        let keys: Vec<TextsKey> = (0..200).map(key).collect();
        for k in &keys {
            kept.put(k.clone(), &texts);
        }
        assert!(kept.bytes() <= KEPT_BYTES, "{} bytes kept", kept.bytes());
        assert_eq!(kept.get(keys.last().unwrap()), Some(texts.clone()), "the newest is kept");
        assert_eq!(kept.get(&keys[0]), None, "the oldest went");
        // A long key counts as long, whatever its texts: a client's `?lang=` cannot fill memory.
        let empty: Vec<TextChange> = Vec::new();
        let before = kept.bytes();
        for i in 0..100 {
            let mut k = key(i);
            k.lang = Some("x".repeat(100_000));
            kept.put(k, &empty);
        }
        assert!(kept.bytes() <= KEPT_BYTES, "{} bytes kept", kept.bytes());
        assert!(kept.bytes() >= before.min(KEPT_BYTES / 2), "the long keys were not counted");
        // A key differing only in its heads is another comparison.
        let mut other = keys.last().unwrap().clone();
        other.after = vec![ChangeHash([9; 32])];
        assert_eq!(kept.get(&other), None);
    }
}
