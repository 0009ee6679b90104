//! What proving who made each change costs, without network, disk or the rest of the node:
//! a fresh node receiving workload C's document (one draft of 100,000 changes) loads it, then
//! checks it whole (one signed head per actor, one ancestry query per signer); a node
//! receiving one keystroke verifies one signed head and attributes one change, and the sender
//! signs one head. Medians of 7 runs; the load is the baseline the check is measured against.
//!
//!     cargo run --release --example auth_cost

use std::time::{Duration, Instant};

use automerge::{Automerge, ChangeHash};
use liaison::authorship::{ActorCert, Certs, ChangeFacts, HeadBook, NodeActor, SignedHead, attribute, attribute_whole};
use liaison::ids::DocId;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let actor = NodeActor([7; 16]);
    let g = liaison::bench::typed_doc_by(0xc000, 100_000, Some(&actor.0));
    let id = DocId(g.id);
    let bytes = g.doc.save();
    let party_key = ed25519_dalek::SigningKey::from_bytes(&[1; 32]);
    let node_key = ed25519_dalek::SigningKey::from_bytes(&[2; 32]);
    let lp = libp2p::identity::ed25519::PublicKey::try_from_bytes(&node_key.verifying_key().to_bytes()).unwrap();
    let peer = libp2p::PeerId::from_public_key(&libp2p::identity::PublicKey::from(lp)).to_string();
    let cert = ActorCert::issue(&party_key, "cica".parse().unwrap(), peer, node_key.verifying_key().to_bytes(), actor)
        .unwrap();
    let mut certs = Certs::default();
    certs.add(cert).unwrap();
    let key_of = |_: &liaison::ids::PartyId| Some(party_key.verifying_key().to_bytes());
    let last = g.doc.get_changes_meta(&[]).into_iter().max_by_key(|m| m.seq).unwrap();
    let head = SignedHead::sign(&node_key, id, actor.actor(0).to_bytes().to_vec(), last.seq, last.hash.0).unwrap();
    let (mut load, mut scan, mut whole) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..7 {
        let t = Instant::now();
        let d = Automerge::load(&bytes).unwrap();
        load.push(t.elapsed());
        // What a check reading every change's metadata would cost (the way not taken).
        let t = Instant::now();
        let n = d.get_changes_meta(&[]).len();
        assert_eq!(n, 100_001);
        scan.push(t.elapsed());
        let t = Instant::now();
        let mut book = HeadBook::new();
        head.verify(&certs, &key_of).unwrap();
        book.keep(head.clone());
        attribute_whole(id, &d, &book, &certs, None).unwrap();
        whole.push(t.elapsed());
    }
    let (l, s, w) = (median(load), median(scan), median(whole));
    let pct = |x: Duration| 100.0 * x.as_secs_f64() / l.as_secs_f64();
    println!("workload C's document, 100,000 changes, one actor (medians of 7):");
    println!("  load (the baseline)                       {l:>9.1?}");
    println!("  checked whole: head verified, proven      {w:>9.1?}  ({:.2} % of the load)", pct(w));
    println!("  (reading every change's metadata instead  {s:>9.1?}  ({:.1} % of the load))", pct(s));

    // One keystroke: the sender signs one head; the receiver verifies it and attributes one change.
    let mut d = g.doc.fork();
    d.set_actor(actor.actor(0));
    let (mut sign, mut check) = (Vec::new(), Vec::new());
    for i in 0..200 {
        let before = d.get_heads();
        let text = liaison::bench::data_text_obj(&d);
        d.transact(|tx| automerge::transaction::Transactable::splice_text(tx, &text, i, 0, "x")).unwrap();
        let t = Instant::now();
        let m = d.get_changes_meta(&before).pop().unwrap();
        let h = SignedHead::sign(&node_key, id, m.actor.to_bytes().to_vec(), m.seq, m.hash.0).unwrap();
        sign.push(t.elapsed());
        let t = Instant::now();
        h.verify(&certs, &key_of).unwrap();
        let mut book = HeadBook::new();
        book.keep(h);
        let facts: Vec<ChangeFacts> = d
            .get_changes_meta(&before)
            .into_iter()
            .map(|m| ChangeFacts { hash: m.hash.0, actor: m.actor.to_bytes().to_vec(), seq: m.seq })
            .collect();
        let present =
            |h: &[u8; 32]| d.get_change_meta_by_hash(&ChangeHash(*h)).map(|m| (m.actor.to_bytes().to_vec(), m.seq));
        attribute(id, &facts, &book, &certs, None, &present).unwrap();
        check.push(t.elapsed());
    }
    println!("one keystroke (medians of 200):");
    println!("  sender signs its head               {:>9.1?}", median(sign));
    println!("  receiver verifies and attributes    {:>9.1?}", median(check));
}
