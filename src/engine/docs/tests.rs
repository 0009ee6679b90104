use super::*;
use crate::workspace::{draft, testing::ctx};

/// A store in a fresh directory (kept while the test runs) and its documents, `cap` of them loaded.
fn open(cap: usize) -> (tempfile::TempDir, Store, Docs) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let docs = Docs::open(&store, cap, ActorId::random()).unwrap();
    (dir, store, docs)
}

#[test]
fn changes_are_chunked_then_compacted_and_reload_equal() {
    let (_dir, store, mut docs) = open(1);
    let id = DocId::random();
    let d = crate::workspace::testing::draft_doc("a", "cica", &"x".repeat(200));
    docs.insert_local(id, DocKind::Draft, Owner::Joint, d);
    let (p, changed) = store.write(|w| docs.persist(w)).unwrap();
    assert_eq!(changed, vec![id]);
    docs.committed(p);
    let snap = docs.meta(id).unwrap().snapshot_bytes;
    assert!(snap > 0);
    let mut saw_chunk = false;
    let mut saw_compaction = false;
    for i in 0..60 {
        let doc = docs.get(&store, id).unwrap();
        draft::splice(
            doc,
            &ctx("a", "cica"),
            &draft::Splice { provision: None, lang: None, pos: i, delete: 0, insert: "yz".into() },
        )
        .unwrap();
        docs.mark_changed(id);
        let before = docs.meta(id).unwrap().clone();
        let (p, _) = store.write(|w| docs.persist(w)).unwrap();
        docs.committed(p);
        let after = docs.meta(id).unwrap();
        saw_chunk |= after.next_chunk > before.next_chunk;
        saw_compaction |= after.next_chunk == 0 && before.next_chunk > 0;
        assert!(after.chunk_bytes <= after.snapshot_bytes, "increments outgrew the snapshot");
    }
    assert!(saw_chunk && saw_compaction);
    let want = draft::read(docs.get(&store, id).unwrap(), "").unwrap().text;
    assert_eq!(want.chars().filter(|c| *c == 'y').count(), 60);
    drop(docs);
    let mut again = Docs::open(&store, 1, ActorId::random()).unwrap();
    assert_eq!(draft::read(again.get(&store, id).unwrap(), "").unwrap().text, want);
}

#[test]
fn changes_noted_in_a_round_are_written_as_save_after_would_write_them() {
    let (_dir, store, mut docs) = open(4);
    let id = DocId::random();
    let mut theirs = crate::workspace::testing::draft_doc("b", "sco-rats", "Article 1. One.");
    docs.insert_local(id, DocKind::Draft, Owner::Joint, theirs.clone());
    let (p, _) = store.write(|w| docs.persist(w)).unwrap();
    docs.committed(p);
    let old = docs.get(&store, id).unwrap().get_heads();
    // Two messages of a peer in one round, each noted as it is checked; then an edit here,
    // which is not noted.
    for (i, lang_pos) in [0usize, 3].into_iter().enumerate() {
        let before = theirs.get_heads();
        let splice = draft::Splice { provision: None, lang: None, pos: lang_pos, delete: 0, insert: "»".into() };
        draft::splice(&mut theirs, &ctx("b", "sco-rats"), &splice).unwrap();
        let doc = docs.get(&store, id).unwrap();
        let here = doc.get_heads();
        doc.apply_changes(theirs.get_changes(&before)).unwrap();
        let collected = doc.get_changes(&here);
        assert_eq!(collected.len(), 1, "message {i}");
        docs.mark_changed(id);
        docs.note_changes(id, &here, collected);
    }
    let mid = docs.get(&store, id).unwrap().get_heads();
    assert_eq!(docs.collected.get(id, &old, &mid).map(<[Change]>::len), Some(2), "the two messages chain");
    let splice = draft::Splice { provision: None, lang: None, pos: 1, delete: 0, insert: "é".into() };
    draft::splice(docs.get(&store, id).unwrap(), &ctx("a", "cica"), &splice).unwrap();
    let now = docs.get(&store, id).unwrap().get_heads();
    let text = draft::read(docs.get(&store, id).unwrap(), "").unwrap().text;
    // The local edit was not noted: the span noted no longer reaches the heads, and the
    // commit collects the changes again.
    assert!(docs.collected.get(id, &old, &now).is_none());
    let (p, _) = store.write(|w| docs.persist(w)).unwrap();
    docs.committed(p);
    drop(docs);
    let mut again = Docs::open(&store, 4, ActorId::random()).unwrap();
    assert_eq!(again.get(&store, id).unwrap().get_heads(), now);
    assert_eq!(draft::read(again.get(&store, id).unwrap(), "").unwrap().text, text);
    assert_eq!(text.matches('»').count(), 2);
}

#[test]
fn a_noted_span_is_what_the_commit_writes() {
    let (_dir, store, mut docs) = open(4);
    let id = DocId::random();
    let mut theirs = crate::workspace::testing::draft_doc("b", "sco-rats", &"Article 1. One. ".repeat(20));
    docs.insert_local(id, DocKind::Draft, Owner::Joint, theirs.clone());
    let (p, _) = store.write(|w| docs.persist(w)).unwrap();
    docs.committed(p);
    let snapshot = store.doc_bytes(id).unwrap().unwrap();
    let old = docs.get(&store, id).unwrap().get_heads();
    let splice = draft::Splice { provision: None, lang: None, pos: 2, delete: 0, insert: "»".into() };
    draft::splice(&mut theirs, &ctx("b", "sco-rats"), &splice).unwrap();
    let doc = docs.get(&store, id).unwrap();
    doc.apply_changes(theirs.get_changes(&old)).unwrap();
    let (now, want) = (doc.get_heads(), doc.save_after(&old));
    let collected = doc.get_changes(&old);
    docs.mark_changed(id);
    docs.note_changes(id, &old, collected);
    let (p, changed) = store.write(|w| docs.persist(w)).unwrap();
    assert_eq!(changed, vec![id]);
    // The chunk written is byte for byte what `save_after` gives.
    assert_eq!(store.doc_bytes(id).unwrap(), Some([snapshot, want].concat()));
    docs.committed(p);
    assert!(docs.collected.get(id, &old, &now).is_none(), "a commit forgets the round's changes");
}

#[test]
fn a_document_received_whole_and_changed_in_the_same_round_is_stored_with_the_change() {
    let (_dir, store, mut docs) = open(4);
    let theirs = crate::workspace::testing::draft_doc("b", "sco-rats", "Article 1. One.");
    let bytes = theirs.save();
    let (id, untouched) = (DocId::random(), DocId::random());
    let loaded = |b: &[u8]| Box::new(Automerge::load(b).unwrap());
    docs.insert_received(id, DocKind::Draft, Owner::Joint, loaded(&bytes), bytes.clone(), 0);
    docs.insert_received(untouched, DocKind::Draft, Owner::Joint, loaded(&bytes), bytes.clone(), 0);
    // In the same round, before the commit: an edit here (or another peer's changes).
    let d = docs.get(&store, id).unwrap();
    draft::splice(
        d,
        &ctx("a", "cica"),
        &draft::Splice { provision: None, lang: None, pos: 0, delete: 0, insert: "§".into() },
    )
    .unwrap();
    docs.mark_changed(id);
    let heads = docs.get(&store, id).unwrap().get_heads();
    let (p, _) = store.write(|w| docs.persist(w)).unwrap();
    docs.committed(p);
    // The received bytes are stored as they came where nothing changed them.
    assert_eq!(store.doc_bytes(untouched).unwrap().unwrap(), bytes);
    // What the store holds for the changed one has the edit, at the heads its metadata says.
    let stored = Automerge::load(&store.doc_bytes(id).unwrap().unwrap()).unwrap();
    assert_eq!(stored.get_heads(), heads);
    assert_eq!(
        docs.meta(id).unwrap().heads,
        heads.iter().map(|h| h.0).collect::<Vec<_>>(),
        "the metadata's heads are those of the stored bytes"
    );
    drop(docs);
    let mut again = Docs::open(&store, 4, ActorId::random()).unwrap();
    assert!(draft::read(again.get(&store, id).unwrap(), "").unwrap().text.starts_with("§Article 1."));
}

#[test]
fn ids_are_found_by_their_whole_id_or_a_hex_prefix() {
    let (_dir, _store, mut docs) = open(4);
    let a: DocId = "ab120000000000000000000000000001".parse().unwrap();
    let b: DocId = "ab1f0000000000000000000000000002".parse().unwrap();
    let c: DocId = "0b120000000000000000000000000003".parse().unwrap();
    for id in [a, b, c] {
        docs.insert_local(id, DocKind::Meeting, Owner::Joint, Automerge::new());
    }
    assert_eq!(docs.ids_with_prefix(&a.to_string()), vec![a]);
    assert_eq!(docs.ids_with_prefix("ab1"), vec![a, b]);
    assert_eq!(docs.ids_with_prefix("ab12"), vec![a]);
    assert_eq!(docs.ids_with_prefix("b12"), Vec::<DocId>::new(), "a prefix matches from the start only");
    assert_eq!(docs.ids_with_prefix("0b1"), vec![c]);
    // Not in the workspace, not hex, or longer than an id: nothing.
    assert!(docs.ids_with_prefix("ab120000000000000000000000000009").is_empty());
    assert!(docs.ids_with_prefix("ab1g").is_empty());
    assert!(docs.ids_with_prefix(&format!("{a}0")).is_empty());
    // What formatting each id would have found, for every prefix of each.
    for id in [a, b, c] {
        let hex = id.to_string();
        for n in 1..=hex.len() {
            let want: Vec<DocId> = {
                let mut v: Vec<DocId> =
                    [a, b, c].into_iter().filter(|d| d.to_string().starts_with(&hex[..n])).collect();
                v.sort();
                v
            };
            assert_eq!(docs.ids_with_prefix(&hex[..n]), want, "prefix {}", &hex[..n]);
        }
    }
}

#[test]
fn the_cache_stays_bounded() {
    let (_dir, store, mut docs) = open(2);
    for _ in 0..5 {
        let d = crate::workspace::testing::draft_doc("a", "cica", "");
        docs.insert_local(DocId::random(), DocKind::Draft, Owner::Joint, d);
    }
    let (p, _) = store.write(|w| docs.persist(w)).unwrap();
    docs.committed(p);
    assert_eq!(docs.loaded, 2);
    for id in docs.ids_of(DocKind::Draft) {
        docs.get(&store, id).unwrap();
    }
    assert_eq!(docs.len(), 5);
}

#[test]
fn reads_do_not_keep_every_document_and_uncommitted_ones_stay() {
    let (_dir, store, mut docs) = open(1000);
    for _ in 0..40 {
        let d = crate::workspace::testing::draft_doc("a", "cica", &"x".repeat(2_000));
        docs.insert_local(DocId::random(), DocKind::Draft, Owner::Joint, d);
    }
    docs.budget = 4096;
    let (p, _) = store.write(|w| docs.persist(w)).unwrap();
    docs.committed(p);
    assert!(docs.loaded_bytes <= docs.budget, "committed documents beyond the bound stay loaded");
    let ids = docs.ids_of(DocKind::Draft);
    let total: u64 = ids.iter().map(|id| stored(docs.meta(*id).unwrap())).sum();
    assert!(total > docs.budget, "the test's documents must outweigh the bound ({total})");
    // A change not yet committed is never unloaded, however far over the bound.
    let first = ids[0];
    draft::splice(
        docs.get(&store, first).unwrap(),
        &ctx("a", "cica"),
        &draft::Splice { provision: None, lang: None, pos: 0, delete: 0, insert: "KEEP".into() },
    )
    .unwrap();
    docs.mark_changed(first);
    for id in &ids {
        docs.get(&store, *id).unwrap();
        docs.trim();
        assert!(docs.loaded_bytes <= docs.budget + stored(docs.meta(first).unwrap()));
    }
    assert!(docs.loaded < ids.len());
    let (p, _) = store.write(|w| docs.persist(w)).unwrap();
    docs.committed(p);
    drop(docs);
    let mut again = Docs::open(&store, 1, ActorId::random()).unwrap();
    assert!(draft::read(again.get(&store, first).unwrap(), "").unwrap().text.starts_with("KEEP"));
}

#[test]
fn documents_received_whole_are_let_go_after_their_round_and_load_again() {
    let (_dir, store, mut docs) = open(100);
    let theirs = crate::workspace::testing::draft_doc("b", "sco-rats", "Article 1. One.");
    let bytes = theirs.save();
    let received: Vec<DocId> = (0..3).map(|_| DocId::random()).collect();
    for id in &received {
        docs.insert_received(
            *id,
            DocKind::Draft,
            Owner::Joint,
            Box::new(Automerge::load(&bytes).unwrap()),
            bytes.clone(),
            0,
        );
    }
    let ours = DocId::random();
    docs.insert_local(ours, DocKind::Draft, Owner::Joint, crate::workspace::testing::draft_doc("a", "cica", "Mine."));
    let (p, _) = store.write(|w| docs.persist(w)).unwrap();
    docs.committed(p);
    // Until the round is done, they stay: the commit's events and messages use them.
    assert_eq!(docs.loaded, 4);
    docs.let_go_arrived();
    assert_eq!(docs.loaded, 1, "only the document made here stays loaded");
    assert!(docs.slots[&ours].doc.is_some());
    assert!(received.iter().all(|id| docs.slots[id].doc.is_none()));
    assert_eq!(docs.loaded_bytes, stored(docs.meta(ours).unwrap()));
    // A later round that uses one loads it from the store, as it came.
    assert_eq!(docs.get(&store, received[0]).unwrap().get_heads(), theirs.get_heads());
    // And one received and then edited in a later round stays until that edit is written.
    docs.mark_changed(received[0]);
    docs.let_go_arrived();
    assert!(docs.slots[&received[0]].doc.is_some());
}

#[test]
fn past_the_bound_documents_received_whole_go_before_those_used_here() {
    let (_dir, store, mut docs) = open(2);
    let ours = DocId::random();
    docs.insert_local(ours, DocKind::Draft, Owner::Joint, crate::workspace::testing::draft_doc("a", "cica", "Mine."));
    let (p, _) = store.write(|w| docs.persist(w)).unwrap();
    docs.committed(p);
    // A batch of three arrives in a later round: the cache holds two.
    let bytes = crate::workspace::testing::draft_doc("b", "sco-rats", "Theirs.").save();
    for _ in 0..3 {
        docs.insert_received(
            DocId::random(),
            DocKind::Draft,
            Owner::Joint,
            Box::new(Automerge::load(&bytes).unwrap()),
            bytes.clone(),
            0,
        );
    }
    let (p, _) = store.write(|w| docs.persist(w)).unwrap();
    docs.committed(p);
    assert_eq!(docs.loaded, 2);
    assert!(docs.slots[&ours].doc.is_some(), "the document used here was unloaded for ones that came whole");
}
