//! The reader's cache, kept pages and histories, over a real store.
use std::sync::atomic::Ordering;

use automerge::ActorId;

use super::*;
use crate::authority::Owner;
use crate::engine::docs::Docs;
use crate::store::Store;
use crate::workspace::testing::ctx;

fn ctx_of() -> ReadCtx {
    ReadCtx {
        party: "cica".parse().unwrap(),
        own_key: [0; 32],
        pinned: Vec::new(),
        node_key: libp2p::identity::Keypair::generate_ed25519().public(),
    }
}

fn new_draft(docs: &mut Docs, store: &Store, text: &str) -> DocId {
    let d = crate::workspace::testing::draft_doc("a", "cica", text);
    let id = DocId::random();
    docs.insert_local(id, DocKind::Draft, Owner::Joint, d);
    commit(docs, store);
    id
}

fn commit(docs: &mut Docs, store: &Store) {
    let (p, _) = store.write(|w| docs.persist(w)).unwrap();
    docs.committed(p);
}

fn append(docs: &mut Docs, store: &Store, id: DocId, s: &str) {
    let doc = docs.get(store, id).unwrap();
    let pos = draft::read(doc, "").unwrap().text.chars().count();
    let sp = draft::Splice { provision: None, lang: None, pos, delete: 0, insert: s.into() };
    draft::splice(doc, &ctx("a", "cica"), &sp).unwrap();
    docs.mark_changed(id);
    commit(docs, store);
}

fn text(r: &Reader, id: DocId) -> String {
    r.view_blocking(|v| {
        let id = v.resolve(DocKind::Draft, &id.to_string()[..8])?;
        v.read_draft(id)
    })
    .unwrap()
    .text
}

#[test]
fn a_document_changed_after_it_was_cached_is_read_at_its_new_heads_from_the_chunks_since() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut docs = Docs::open(&store, 4, ActorId::random()).unwrap();
    // Long and varied enough (it must not compress to nothing) that a few small edits go as
    // chunks, not as a new snapshot.
    let mut seed = 7u32;
    let long: String = (0..4000)
        .map(|_| {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            char::from(b'a' + (seed >> 16) as u8 % 26)
        })
        .collect();
    let id = new_draft(&mut docs, &store, &long);
    let reader = Reader::new(store.reader(), ctx_of());
    assert_eq!(text(&reader, id), long);
    assert_eq!(reader.cache.full_loads.load(Ordering::Relaxed), 1);
    for i in 0..3 {
        let snapshot = docs.meta(id).unwrap().snapshot_bytes;
        append(&mut docs, &store, id, &format!("<{i}>"));
        assert_eq!(docs.meta(id).unwrap().snapshot_bytes, snapshot, "the test meant chunks, not a compaction");
        assert!(text(&reader, id).ends_with(&format!("<{i}>")), "edit {i} not read");
    }
    assert_eq!(reader.cache.caught_up.load(Ordering::Relaxed), 3, "the cached copy took the new chunks");
    assert_eq!(reader.cache.full_loads.load(Ordering::Relaxed), 1, "nothing was loaded whole again");
    // Unchanged: the cached copy serves as it is.
    text(&reader, id);
    assert_eq!(reader.cache.caught_up.load(Ordering::Relaxed) + reader.cache.full_loads.load(Ordering::Relaxed), 4);
}

#[test]
fn reads_at_once_share_one_loaded_copy_and_an_older_read_keeps_its_own_version() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut docs = Docs::open(&store, 4, ActorId::random()).unwrap();
    let id = new_draft(&mut docs, &store, &"words that do not compress away ".repeat(40));
    let reader = Reader::new(store.reader(), ctx_of());
    let loads = || (reader.cache.full_loads.load(Ordering::Relaxed), reader.cache.caught_up.load(Ordering::Relaxed));
    let outer = reader
        .view_blocking(|v| {
            let before = v.read_draft(id)?.text;
            // A second read while the first holds the document: the same copy, not a load.
            assert_eq!(text(&reader, id), before);
            assert_eq!(loads(), (1, 0));
            // An edit commits; a read begun after it sees it, brought up to date from the
            // shared copy (which the first read still holds) with the new chunk.
            append(&mut docs, &store, id, "<new>");
            assert!(text(&reader, id).ends_with("<new>"));
            assert_eq!(loads(), (1, 1));
            // The first read still reads the commit it began at.
            Ok(v.read_draft(id)?.text == before)
        })
        .unwrap();
    assert!(outer, "a read saw a commit made after it began");
    assert!(text(&reader, id).ends_with("<new>"));
    assert_eq!(loads(), (1, 1), "the newer copy stayed kept");
}

#[test]
fn reads_on_many_threads_at_once_load_a_document_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut docs = Docs::open(&store, 4, ActorId::random()).unwrap();
    let body = "a long text read by many at once ".repeat(200);
    let id = new_draft(&mut docs, &store, &body);
    let reader = Reader::new(store.reader(), ctx_of());
    let start = std::sync::Barrier::new(8);
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                start.wait();
                assert_eq!(text(&reader, id), body);
            });
        }
    });
    // Whichever read came first loaded it; the others waited for that load or found it kept.
    assert_eq!(reader.cache.full_loads.load(Ordering::Relaxed), 1);
}

/// A view that keeps no text changes: each history reads them afresh.
struct Fresh<'a, 'r>(&'a mut View<'r>);

impl super::super::history::Source for Fresh<'_, '_> {
    fn annexes(&mut self, id: DocId) -> Result<Vec<DocId>, EngineError> {
        self.0.annexes(id)
    }
    fn kind_owner(&mut self, id: DocId) -> Result<Option<(DocKind, Owner)>, EngineError> {
        self.0.kind_owner(id)
    }
    fn book(&mut self, id: DocId) -> Result<HeadBook, EngineError> {
        self.0.book(id)
    }
    fn certs(&mut self) -> Result<Certs, EngineError> {
        super::super::history::Source::certs(self.0)
    }
    fn doc(&mut self, id: DocId) -> Result<&Automerge, EngineError> {
        View::doc(self.0, id)
    }
}

#[test]
fn a_history_with_kept_text_changes_is_the_history_read_afresh() {
    use super::super::history::entries;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut docs = Docs::open(&store, 4, ActorId::random()).unwrap();
    let id = new_draft(&mut docs, &store, "Article 1. The Parties cooperate.");
    let reader = Reader::new(store.reader(), ctx_of());
    for i in 0..8 {
        append(&mut docs, &store, id, &format!(" w{i}"));
        let (first, kept, fresh) = reader
            .view_blocking(|v| {
                let first = entries(v, id, None, None, 50)?;
                // Read again: every entry's text changes are the kept ones now.
                let kept = entries(v, id, None, None, 50)?;
                Ok((first, kept, entries(&mut Fresh(v), id, None, None, 50)?))
            })
            .unwrap();
        assert!(reader.texts.bytes() > 0, "nothing was kept");
        assert_eq!(first, fresh, "after edit {i}");
        assert_eq!(kept, fresh, "after edit {i}, kept");
        let newest: String = kept.last().unwrap().texts.iter().flat_map(|t| &t.diff).map(|p| p.text.as_str()).collect();
        assert!(newest.contains(&format!("w{i}")), "edit {i} is not in the newest entry's text: {newest}");
    }
}

#[test]
fn a_read_over_many_documents_uses_the_kept_ones_and_keeps_no_others() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut docs = Docs::open(&store, 4, ActorId::random()).unwrap();
    let ids: Vec<DocId> = (0..5).map(|i| new_draft(&mut docs, &store, &format!("draft {i}"))).collect();
    let reader = Reader::new(store.reader(), ctx_of());
    let loads = || reader.cache.full_loads.load(Ordering::Relaxed);
    // A page keeps its draft.
    text(&reader, ids[0]);
    assert_eq!((reader.cache.len(), loads()), (1, 1));
    // A list reads every draft: the kept one as kept, the others loaded and let go.
    let all =
        reader.view_keeping(Keep::Passing, |v| ids.iter().map(|id| v.read_draft(*id)).collect::<Result<Vec<_>, _>>());
    assert_eq!(all.unwrap().len(), 5);
    assert_eq!((reader.cache.len(), loads()), (1, 5), "the list filled the cache");
    // The page's draft changed: the list brings the kept copy up to date, and it stays kept.
    append(&mut docs, &store, ids[0], " more");
    let t = reader.view_keeping(Keep::Passing, |v| Ok(v.read_draft(ids[0])?.text)).unwrap();
    assert!(t.ends_with(" more"), "{t}");
    assert_eq!((reader.cache.len(), loads(), reader.cache.caught_up.load(Ordering::Relaxed)), (1, 5, 1));
}

#[test]
fn a_compacted_document_is_loaded_whole_again_and_read_at_its_new_heads() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut docs = Docs::open(&store, 4, ActorId::random()).unwrap();
    let id = new_draft(&mut docs, &store, "short");
    let reader = Reader::new(store.reader(), ctx_of());
    text(&reader, id);
    let mut compacted = false;
    for i in 0..40 {
        let before = docs.meta(id).unwrap().snapshot_bytes;
        append(&mut docs, &store, id, &format!("[{i}]"));
        compacted |= docs.meta(id).unwrap().snapshot_bytes != before;
        assert!(text(&reader, id).ends_with(&format!("[{i}]")), "edit {i} not read");
    }
    assert!(compacted, "the test meant to see a compaction");
    assert!(reader.cache.full_loads.load(Ordering::Relaxed) > 1);
}

#[test]
fn an_unknown_document_is_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut docs = Docs::open(&store, 4, ActorId::random()).unwrap();
    let id = new_draft(&mut docs, &store, "a");
    let reader = Reader::new(store.reader(), ctx_of());
    let r = reader.view_blocking(|v| v.resolve(DocKind::Draft, "ffffffff"));
    assert!(matches!(r, Err(EngineError::NotFound { .. })), "{r:?}");
    // The right id of the wrong kind is not found either.
    let r = reader.view_blocking(|v| v.resolve(DocKind::Meeting, &id.to_string()));
    assert!(matches!(r, Err(EngineError::NotFound { .. })), "{r:?}");
    let r = reader.view_blocking(|v| v.doc(DocId::random()).map(|_| ()));
    assert!(matches!(r, Err(EngineError::Load(_))), "{r:?}");
}

#[test]
fn the_cache_stays_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut docs = Docs::open(&store, 4, ActorId::random()).unwrap();
    let reader = Reader::new(store.reader(), ctx_of());
    for _ in 0..CACHE_DOCS + 10 {
        let id = new_draft(&mut docs, &store, "a");
        text(&reader, id);
    }
    assert_eq!(reader.cache.len(), CACHE_DOCS);
}
