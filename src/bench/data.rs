//! The benchmark's documents, built the way `../shared/peerbench/node/gen.mjs` builds its own:
//! the same PRNG (mulberry32), the same word and typing models, the same number of changes per
//! document, one change per edit, fixed actors and timestamps. The documents are liaison drafts
//! (so the node can serve them as such), whose text is built exactly as the reference's `text`.

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, Automerge, ObjType, ROOT, ReadDoc};

use crate::workspace::{DocKind, SCHEMA};

/// Fixed change time of the reference (Unix seconds).
pub const FIXED_TIME: i64 = 1_700_000_000;

/// mulberry32, bit-identical to `rng32` in the reference's common.mjs.
pub struct Rng(u32);

impl Rng {
    /// A generator with this seed.
    pub fn new(seed: u32) -> Self {
        Rng(seed)
    }
    /// Next float in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x6d2b_79f5);
        let mut t = self.0;
        t = (t ^ (t >> 15)).wrapping_mul(t | 1);
        t ^= t.wrapping_add((t ^ (t >> 7)).wrapping_mul(t | 61));
        f64::from(t ^ (t >> 14)) / 4_294_967_296.0
    }
    /// An integer in [lo, hi], inclusive.
    pub fn int(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next_f64() * ((hi - lo + 1) as f64)).floor() as usize
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| (self.next_f64() * 256.0).floor() as u8).collect()
    }
    fn word(&mut self, lo: usize, hi: usize) -> String {
        let n = self.int(lo, hi);
        (0..n).map(|_| LETTERS[(self.next_f64() * 26.0).floor() as usize] as char).collect()
    }
}

const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyz";

/// The reference's keystroke model (`makeTypist`): the cursor mostly advances, and jumps to a
/// random place every `jump_every` keys.
pub struct Typist {
    rng: Rng,
    len: usize,
    cursor: usize,
    k: usize,
    jump_every: usize,
}

impl Typist {
    /// A typist starting at the end of a text of `start_len` characters.
    pub fn new(seed: u32, start_len: usize, jump_every: usize) -> Self {
        Typist { rng: Rng::new(seed), len: start_len, cursor: start_len, k: 0, jump_every }
    }
    /// The next keystroke: position and character.
    pub fn next_key(&mut self) -> (usize, char) {
        if self.k > 0 && self.k.is_multiple_of(self.jump_every) {
            self.cursor = self.rng.int(0, self.len);
        }
        let r = self.rng.next_f64();
        let ch = if r < 0.16 {
            ' '
        } else if r < 0.17 {
            '\n'
        } else {
            LETTERS[(self.rng.next_f64() * 26.0).floor() as usize] as char
        };
        let pos = self.cursor;
        self.cursor += 1;
        self.len += 1;
        self.k += 1;
        (pos, ch)
    }
}

/// A generated document and its id.
pub struct GenDoc {
    /// Document id (16 bytes from the PRNG, like the reference's document id).
    pub id: [u8; 16],
    /// The document.
    pub doc: Automerge,
}

/// The PRNG's first 32 bytes: the actor, then the document id, as the reference draws them.
fn actor_and_id(rng: &mut Rng) -> (Vec<u8>, [u8; 16]) {
    let actor = rng.bytes(16);
    let id = rng.bytes(16).try_into().unwrap_or([0; 16]);
    (actor, id)
}

/// A draft with one article, in one language: the reference's `text` is that article's text.
fn new_draft(actor: Vec<u8>, id: [u8; 16], title: &str, time: i64) -> GenDoc {
    let mut doc = Automerge::new();
    doc.set_actor(ActorId::from(actor));
    let _ = doc.transact_with(
        |_| CommitOptions::default().with_time(time),
        |tx| {
            tx.put(ROOT, "kind", DocKind::Draft.as_str())?;
            tx.put(ROOT, "schema", SCHEMA)?;
            tx.put(ROOT, "uid", hex::encode(id))?;
            tx.put(ROOT, "group", "bench")?;
            tx.put(ROOT, "title", title)?;
            let langs = tx.put_object(ROOT, "languages", ObjType::List)?;
            tx.insert(&langs, 0, "en")?;
            tx.put_object(ROOT, "parties", ObjType::List)?;
            tx.put(ROOT, "phase", "draft")?;
            tx.put(ROOT, "rev", automerge::ScalarValue::counter(0))?;
            let order = tx.put_object(ROOT, "order", ObjType::List)?;
            tx.insert(&order, 0, "a1")?;
            let provisions = tx.put_object(ROOT, "provisions", ObjType::Map)?;
            let p = tx.put_object(&provisions, "a1", ObjType::Map)?;
            tx.put(&p, "kind", "article")?;
            let texts = tx.put_object(&p, "texts", ObjType::Map)?;
            tx.put_object(&texts, "en", ObjType::Text)?;
            tx.put_object(&p, "stale", ObjType::Map)?;
            tx.put_object(&p, "comments", ObjType::List)?;
            for (k, t) in [
                ("suggestions", ObjType::Map),
                ("versions", ObjType::List),
                ("approvals", ObjType::Map),
                ("signatures", ObjType::Map),
            ] {
                tx.put_object(ROOT, k, t)?;
            }
            Ok::<_, automerge::AutomergeError>(())
        },
    );
    GenDoc { id, doc }
}

/// The text object edits go to.
pub(super) fn text_obj(doc: &Automerge) -> Option<automerge::ObjId> {
    let (_, provisions) = doc.get(ROOT, "provisions").ok()??;
    let (_, p) = doc.get(&provisions, "a1").ok()??;
    let (_, texts) = doc.get(&p, "texts").ok()??;
    let (_, t) = doc.get(&texts, "en").ok()??;
    Some(t)
}

fn splice(doc: &mut Automerge, time: i64, pos: usize, del: usize, ins: &str) {
    let Some(text) = text_obj(doc) else { return };
    let _ = doc.transact_with(
        |_| CommitOptions::default().with_time(time),
        |tx| tx.splice_text(&text, pos, del as isize, ins),
    );
}

/// Workload A and B's document: a note whose text is built by `edits` edits, one change each
/// (a 7 to 13 letter word inserted at a random place; one edit in 8 also deletes 1 to 4
/// characters), as `makeNoteDoc` in the reference.
pub fn note_doc(seed: u32, idx: usize, edits: usize) -> GenDoc {
    note_doc_by(seed, idx, edits, None)
}

/// [`note_doc`] written by `actor` instead of the reference's (a node's own actor, so that the
/// node can sign it as its own); the same text and shape.
pub fn note_doc_by(seed: u32, idx: usize, edits: usize, actor: Option<&[u8]>) -> GenDoc {
    let mut rng = Rng::new(seed);
    let (drawn, id) = actor_and_id(&mut rng);
    let actor = actor.map(<[u8]>::to_vec).unwrap_or(drawn);
    let title = format!("Note {idx}: {} {}", rng.word(4, 9), rng.word(4, 9));
    let mut t = FIXED_TIME;
    let mut g = new_draft(actor, id, &title, t);
    t += 1;
    let mut len = 0usize;
    for _ in 0..edits {
        let pos = rng.int(0, len);
        let del = if len > 8 && rng.next_f64() < 0.125 { rng.int(1, 4).min(len - pos) } else { 0 };
        let ins = format!("{} ", rng.word(7, 13));
        splice(&mut g.doc, t, pos, del, &ins);
        t += 1;
        len = len + ins.len() - del;
    }
    g
}

/// Workload C's document: `keys` single-character insertions, one change each, typed by the
/// reference's typist (`makeTypedDoc`).
pub fn typed_doc(seed: u32, keys: usize) -> GenDoc {
    typed_doc_by(seed, keys, None)
}

/// [`typed_doc`] written by `actor` instead of the reference's.
pub fn typed_doc_by(seed: u32, keys: usize, actor: Option<&[u8]>) -> GenDoc {
    let mut rng = Rng::new(seed);
    let (drawn, id) = actor_and_id(&mut rng);
    let actor = actor.map(<[u8]>::to_vec).unwrap_or(drawn);
    let mut g = new_draft(actor, id, "Large typed document", FIXED_TIME);
    let mut typist = Typist::new(seed + 1, 0, 200);
    for k in 0..keys {
        let (pos, ch) = typist.next_key();
        splice(&mut g.doc, FIXED_TIME + 1 + (k / 5) as i64, pos, 0, ch.encode_utf8(&mut [0; 4]));
    }
    g
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values produced by the reference's common.mjs (`rng32(42)`, `makeTypist(0xb1, 2125, 200)`),
    /// as checked by peerbench's own Rust port.
    #[test]
    fn matches_the_reference_prng_and_typist() {
        let mut r = Rng::new(42);
        assert_eq!(r.next_f64(), 0.6011037519201636);
        assert_eq!(r.next_f64(), 0.44829055899754167);
        let mut t = Typist::new(0xb1, 2125, 200);
        let keys: Vec<(usize, char)> = (0..405).map(|_| t.next_key()).collect();
        assert_eq!(&keys[..5], &[(2125, 'e'), (2126, 's'), (2127, 'n'), (2128, 'l'), (2129, ' ')]);
        assert_eq!(&keys[400..], &[(1169, ' '), (1170, 'v'), (1171, 'j'), (1172, ' '), (1173, 'f')]);
    }

    #[test]
    fn documents_have_the_reference_shapes() {
        let n = note_doc(0xa000, 0, 200);
        assert_eq!(n.doc.get_changes(&[]).len(), 201);
        let text = crate::workspace::draft::read(&n.doc, "").unwrap().text;
        assert!((1500..3000).contains(&text.len()), "{}", text.len());
        let c = typed_doc(0xc000, 2000);
        assert_eq!(c.doc.get_changes(&[]).len(), 2001);
        assert_eq!(c.doc.length(text_obj(&c.doc).unwrap()), 2000);
        // Deterministic: the same seed gives the same document.
        assert_eq!(note_doc(0xa001, 1, 50).doc.get_heads(), note_doc(0xa001, 1, 50).doc.get_heads());
    }
}
