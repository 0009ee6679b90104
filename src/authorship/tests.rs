use automerge::transaction::Transactable;
use automerge::{Automerge, ROOT};
use ed25519_dalek::SigningKey;

use super::*;

struct Node {
    party_key: SigningKey,
    node_key: SigningKey,
    actor: NodeActor,
    cert: ActorCert,
}

fn node(party: &str, seed: u8, party_seed: u8) -> Node {
    let party_key = SigningKey::from_bytes(&[party_seed; 32]);
    let node_key = SigningKey::from_bytes(&[seed; 32]);
    let lp = libp2p::identity::ed25519::PublicKey::try_from_bytes(&node_key.verifying_key().to_bytes()).unwrap();
    let peer = libp2p::PeerId::from_public_key(&libp2p::identity::PublicKey::from(lp)).to_string();
    let actor = NodeActor([seed; 16]);
    let cert =
        ActorCert::issue(&party_key, party.parse().unwrap(), peer, node_key.verifying_key().to_bytes(), actor).unwrap();
    Node { party_key, node_key, actor, cert }
}

fn put(doc: &mut Automerge, key: &str) {
    doc.transact(|tx| tx.put(ROOT, key, 1)).unwrap();
}

fn facts(doc: &Automerge, since: &[automerge::ChangeHash]) -> Vec<ChangeFacts> {
    doc.get_changes_meta(since)
        .into_iter()
        .map(|m| ChangeFacts { hash: m.hash.0, actor: m.actor.to_bytes().to_vec(), seq: m.seq })
        .collect()
}

fn present(doc: &Automerge) -> impl Fn(&[u8; 32]) -> Option<(Vec<u8>, u64)> + '_ {
    move |h| doc.get_change_meta_by_hash(&automerge::ChangeHash(*h)).map(|m| (m.actor.to_bytes().to_vec(), m.seq))
}

fn head_of(n: &Node, doc_id: DocId, doc: &Automerge, level: u64) -> SignedHead {
    let actor = n.actor.actor(level);
    let last = doc.get_changes_meta(&[]).into_iter().filter(|m| *m.actor == actor).max_by_key(|m| m.seq).unwrap();
    SignedHead::sign(&n.node_key, doc_id, actor.to_bytes().to_vec(), last.seq, last.hash.0).unwrap()
}

fn pinned(nodes: &[&Node]) -> impl Fn(&PartyId) -> Option<[u8; 32]> {
    let keys: Vec<(PartyId, [u8; 32])> =
        nodes.iter().map(|n| (n.cert.party.clone(), n.party_key.verifying_key().to_bytes())).collect();
    move |p| keys.iter().find(|(q, _)| q == p).map(|(_, k)| *k)
}

#[test]
fn derived_actors_belong_to_their_node_and_match_automerges_derivation() {
    let a = NodeActor([7; 16]);
    assert_eq!(node_actor_of(a.actor(0).to_bytes()), Some(a));
    for level in [1, 2, 127, 128, 300, 1 << 40] {
        assert_eq!(node_actor_of(a.actor(level).to_bytes()), Some(a), "level {level}");
    }
    assert_eq!(node_actor_of(&[1, 2, 3]), None);
    // automerge's own derivation (an isolated transaction on a busy actor) gives the same ids.
    let mut doc = Automerge::new();
    doc.set_actor(a.actor(0));
    put(&mut doc, "x");
    let base = doc.get_heads();
    put(&mut doc, "y");
    let mut tx = doc.transaction_at(automerge::PatchLog::inactive(), &base).unwrap();
    tx.put(ROOT, "z", 1).unwrap();
    tx.commit();
    let actors: HashSet<Vec<u8>> = doc.get_changes_meta(&[]).iter().map(|m| m.actor.to_bytes().to_vec()).collect();
    assert!(actors.contains(a.actor(1).to_bytes()), "{actors:?}");
}

#[test]
fn certificates_bind_actor_node_and_party() {
    let n = node("cica", 1, 9);
    let key = n.party_key.verifying_key().to_bytes();
    assert!(n.cert.verify(&key).is_ok());
    let other = SigningKey::from_bytes(&[8; 32]).verifying_key().to_bytes();
    assert!(n.cert.verify(&other).is_err(), "another Party's key");
    let mut c = n.cert.clone();
    c.party = "sco-rats".parse().unwrap();
    assert!(c.verify(&key).is_err(), "party changed");
    let mut c = n.cert.clone();
    c.actor = NodeActor([2; 16]);
    assert!(c.verify(&key).is_err(), "actor changed");
    // A certificate whose node is not the node key's is refused even when the Party signed it.
    let wrong =
        ActorCert::issue(&n.party_key, "cica".parse().unwrap(), "12D3KooWxyz".into(), [5; 32], n.actor).unwrap();
    assert!(wrong.verify(&key).is_err());
    // An actor is one node's for good.
    let mut certs = Certs::default();
    assert!(certs.add(n.cert.clone()).unwrap());
    assert!(!certs.add(n.cert.clone()).unwrap());
    let thief = node("sco-rats", 3, 4);
    let stolen = ActorCert::issue(
        &thief.party_key,
        "sco-rats".parse().unwrap(),
        thief.cert.node.clone(),
        thief.cert.node_key,
        n.actor,
    )
    .unwrap();
    assert!(certs.add(stolen).is_err());
}

#[test]
fn changes_are_attributed_only_when_a_signed_head_covers_them() {
    let cica = node("cica", 1, 9);
    let rats = node("sco-rats", 2, 10);
    let mut certs = Certs::default();
    certs.add(cica.cert.clone()).unwrap();
    certs.add(rats.cert.clone()).unwrap();
    let id = DocId([5; 16]);
    let mut doc = Automerge::new();
    doc.set_actor(cica.actor.actor(0));
    put(&mut doc, "a");
    put(&mut doc, "b");
    let mut heads = HeadBook::new();
    let h = head_of(&cica, id, &doc, 0);
    h.verify(&certs, &pinned(&[&cica, &rats])).unwrap();
    heads.keep(h.clone());
    let all = facts(&doc, &[]);
    let who = attribute(id, &all, &heads, &certs, None, &present(&doc)).unwrap();
    assert_eq!(who, vec![Attribution::Node { party: "cica".parse().unwrap(), node: cica.cert.node.clone() }; 2]);

    // A third change, made after the signature: not covered until signed again.
    let before = doc.get_heads();
    put(&mut doc, "c");
    let new = facts(&doc, &before);
    let e = attribute(id, &new, &heads, &certs, None, &present(&doc)).unwrap_err();
    assert!(matches!(e, AuthError::NotCovered { seq: 3, .. }), "{e}");
    // The old signature replayed does not help; a new one does.
    assert!(!heads.keep(h.clone()));
    // A newer head whose change is not here yet does not hide an older one that is.
    let mut ahead = doc.fork();
    put(&mut ahead, "d");
    let mut book = heads.clone();
    book.keep(head_of(&cica, id, &ahead, 0));
    let old = facts(&doc, &[]);
    attribute(id, &old[..2], &book, &certs, None, &present(&doc)).unwrap();
    heads.keep(head_of(&cica, id, &doc, 0));
    attribute(id, &new, &heads, &certs, None, &present(&doc)).unwrap();

    // A signed head for another document is refused where it matters: the hash is not there.
    let mut moved = head_of(&cica, DocId([6; 16]), &doc, 0);
    moved.doc = id;
    assert!(moved.verify(&certs, &pinned(&[&cica])).is_err(), "the document is signed too");
}

#[test]
fn a_change_under_another_nodes_actor_or_an_unknown_actor_is_refused() {
    let cica = node("cica", 1, 9);
    let rats = node("sco-rats", 2, 10);
    let mut certs = Certs::default();
    certs.add(cica.cert.clone()).unwrap();
    certs.add(rats.cert.clone()).unwrap();
    let id = DocId([5; 16]);
    // SCO RATS writes as CICA's actor and signs the head with its own node key.
    let mut doc = Automerge::new();
    doc.set_actor(cica.actor.actor(0));
    put(&mut doc, "forged");
    let last = doc.get_changes_meta(&[]).pop().unwrap();
    let forged =
        SignedHead::sign(&rats.node_key, id, cica.actor.actor(0).to_bytes().to_vec(), last.seq, last.hash.0).unwrap();
    assert!(forged.verify(&certs, &pinned(&[&cica, &rats])).is_err());
    // Without any head, an uncertified actor and an unsigned certified one are both refused.
    let mut stranger = Automerge::new();
    stranger.set_actor(NodeActor([42; 16]).actor(0));
    put(&mut stranger, "x");
    let e = attribute(id, &facts(&stranger, &[]), &HeadBook::new(), &certs, None, &present(&stranger)).unwrap_err();
    assert!(matches!(e, AuthError::Uncertified { .. }), "{e}");
    let e = attribute(id, &facts(&doc, &[]), &HeadBook::new(), &certs, None, &present(&doc)).unwrap_err();
    assert!(matches!(e, AuthError::NotCovered { .. }), "{e}");
    // A legacy seal never displaces the node's own signature of its actor.
    let seal = SignedHead::seal_legacy(
        &rats.party_key,
        "sco-rats".parse().unwrap(),
        id,
        cica.actor.actor(0).to_bytes().to_vec(),
        9,
        last.hash.0,
    )
    .unwrap();
    let mut book = HeadBook::new();
    let real = SignedHead::sign(&cica.node_key, id, cica.actor.actor(0).to_bytes().to_vec(), 1, last.hash.0).unwrap();
    assert!(book.keep(real.clone()));
    assert!(!book.keep(real.clone()), "kept twice");
    book.keep(seal);
    let who = attribute(id, &facts(&doc, &[]), &book, &certs, None, &present(&doc)).unwrap();
    assert!(matches!(&who[0], Attribution::Node { party, .. } if party.as_str() == "cica"), "{who:?}");
}

#[test]
fn genesis_and_legacy_changes_are_told_apart() {
    let cica = node("cica", 1, 9);
    let certs = {
        let mut c = Certs::default();
        c.add(cica.cert.clone()).unwrap();
        c
    };
    let id = DocId([5; 16]);
    let mut doc = Automerge::new();
    doc.set_actor(ActorId::from(GENESIS_ACTOR.as_slice()));
    put(&mut doc, "kind");
    let genesis = doc.get_heads()[0].0;
    doc.set_actor(ActorId::from([77u8; 16].as_slice()));
    put(&mut doc, "old");
    let old = doc.get_changes_meta(&[]).into_iter().find(|m| m.actor.to_bytes() == [77u8; 16]).unwrap();
    let seal =
        SignedHead::seal_legacy(&cica.party_key, "cica".parse().unwrap(), id, vec![77; 16], 1, old.hash.0).unwrap();
    seal.verify(&certs, &pinned(&[&cica])).unwrap();
    let mut heads = HeadBook::new();
    heads.keep(seal);
    let who = attribute(id, &facts(&doc, &[]), &heads, &certs, Some(genesis), &present(&doc)).unwrap();
    assert_eq!(who, vec![Attribution::Genesis, Attribution::Legacy { sealed_by: "cica".parse().unwrap() }]);
    // A genesis change that is not the expected one.
    assert!(matches!(
        attribute(id, &facts(&doc, &[]), &heads, &certs, Some([0; 32]), &present(&doc)),
        Err(AuthError::BadGenesis { .. })
    ));
}

#[test]
fn a_whole_document_is_proven_one_signer_at_a_time() {
    let cica = node("cica", 1, 9);
    let rats = node("sco-rats", 2, 10);
    let mut certs = Certs::default();
    certs.add(cica.cert.clone()).unwrap();
    certs.add(rats.cert.clone()).unwrap();
    let id = DocId([5; 16]);
    let mut doc = Automerge::new();
    doc.set_actor(cica.actor.actor(0));
    put(&mut doc, "a");
    put(&mut doc, "b");
    doc.set_actor(rats.actor.actor(0));
    put(&mut doc, "c");
    let mut book = HeadBook::new();
    book.keep(head_of(&cica, id, &doc, 0));
    // SCO RATS's change has no signature: refused.
    let e = attribute_whole(id, &doc, &book, &certs, None).unwrap_err();
    assert!(matches!(e, AuthError::NotCovered { .. }), "{e}");
    book.keep(head_of(&rats, id, &doc, 0));
    let who = attribute_whole(id, &doc, &book, &certs, None).unwrap();
    assert_eq!(
        who.iter().filter_map(Attribution::party).map(PartyId::as_str).collect::<Vec<_>>(),
        ["cica", "sco-rats"]
    );

    // SCO RATS passes a change off as CICA's actor, after CICA's signed one, and makes its own
    // (signed) change depend on it: covered by SCO RATS's heads, not by CICA's, so refused.
    let mut forged = doc.fork();
    forged.set_actor(cica.actor.actor(0));
    put(&mut forged, "forged");
    forged.set_actor(rats.actor.actor(0));
    put(&mut forged, "after");
    let mut b2 = book.clone();
    b2.keep(head_of(&rats, id, &forged, 0));
    let e = attribute_whole(id, &forged, &b2, &certs, None).unwrap_err();
    assert!(matches!(&e, AuthError::NotCovered { seq: 3, .. }), "{e}");

    // An actor nobody signed for, whose change another signer's head covers: refused.
    let mut stranger = doc.fork();
    stranger.set_actor(NodeActor([42; 16]).actor(0));
    put(&mut stranger, "x");
    stranger.set_actor(rats.actor.actor(0));
    put(&mut stranger, "y");
    let mut b3 = book.clone();
    b3.keep(head_of(&rats, id, &stranger, 0));
    assert!(matches!(attribute_whole(id, &stranger, &b3, &certs, None), Err(AuthError::Uncertified { .. })));

    // An older head alone does not cover the actor's newest change.
    let mut old = HeadBook::new();
    let first = doc.get_changes_meta(&[]).into_iter().find(|m| *m.actor == cica.actor.actor(0) && m.seq == 1).unwrap();
    old.keep(SignedHead::sign(&cica.node_key, id, cica.actor.actor(0).to_bytes().to_vec(), 1, first.hash.0).unwrap());
    old.keep(head_of(&rats, id, &doc, 0));
    assert!(attribute_whole(id, &doc, &old, &certs, None).is_err());
}
