//! Vouched peers (a Party's primary tells its second node the other Parties' peers): the lists
//! a node takes, and those it refuses. A rogue SCO RATS node, and an impostor pinned as one of
//! CICA's nodes without CICA's Party key, each send lists in the real protocol from a raw
//! libp2p peer; every one is refused, audited, its session dropped, and nothing of it is in
//! effect. The honest primary's list is taken, hand-pinned entries win, and an unpin withdraws.

mod inproc;

use inproc::hostile::Hostile;
use inproc::{TestNode, eventually, raw_swarm, send_batch};
use liaison::audit::Event;
use liaison::config::{self, PeerRole, PinnedPeer};
use liaison::net::protocol::{Batch, Frame, Reply};
use liaison::vouch::VouchedList;
use libp2p::PeerId;
use libp2p::identity::Keypair;

fn party(s: &str) -> liaison::ids::PartyId {
    s.parse().unwrap()
}

/// A peer of `party` that nobody runs, with keys made from `seed`.
fn fake_peer(party_id: &str, seed: u8) -> PinnedPeer {
    PinnedPeer {
        party_id: party(party_id),
        peer_id: Keypair::ed25519_from_bytes([seed; 32]).unwrap().public().to_peer_id(),
        addrs: vec!["/ip4/127.0.0.1/tcp/9".parse().unwrap()],
        role: PeerRole::Party,
        signing_key: Some(ed25519_dalek::SigningKey::from_bytes(&[seed; 32]).verifying_key().to_bytes()),
        sealing_key: Some([seed; 32]),
    }
}

/// Who is in effect at `n` as vouched for, and by whom.
async fn vouched_at(n: &TestNode) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> =
        n.status().await.peers.into_iter().filter_map(|p| p.vouched_by.map(|by| (p.peer_id, by))).collect();
    v.sort();
    v
}

async fn unpin(n: &TestNode, peer: PeerId) {
    config::remove_peer(n.dir.path(), &peer).unwrap();
    n.node().reload().await.unwrap();
}

async fn refusals_from(n: &TestNode, peer: PeerId) -> usize {
    n.node()
        .engine
        .read(|c| c.audit_show(None))
        .await
        .unwrap()
        .into_iter()
        .filter(|e| matches!(&e.entry.event, Event::ReceiveRefused { from_peer, .. } if from_peer.contains(&peer.to_string())))
        .count()
}

/// Sends `list` to `n` from `swarm` (peer `from`) and checks it is refused for `why`, audited,
/// and that nothing is vouched for at `n` afterwards.
async fn refused(swarm: &mut libp2p::Swarm<inproc::Raw>, from: PeerId, n: &TestNode, list: VouchedList, why: &str) {
    let audited = refusals_from(n, from).await;
    let batch = Batch { frames: vec![Frame::Vouched(Box::new(list))] };
    match send_batch(swarm, n.peer_id(), n.addrs()[0].clone(), &batch).await {
        Some(Reply::Refused(reason)) => assert!(reason.contains(why), "refused for {reason:?}, not {why:?}"),
        other => panic!("a list that should be refused for {why:?} got {other:?}"),
    }
    assert_eq!(refusals_from(n, from).await, audited + 1, "the refusal ({why}) is not audited once");
    assert_eq!(vouched_at(n).await, vec![], "a refused list ({why}) is in effect");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_our_own_partys_node_may_vouch_and_only_with_our_party_key() {
    let cica = TestNode::new("cica", None).await;
    let backup = TestNode::new("cica", Some(cica.dir.path())).await;
    let cica_key = liaison::keys::load(cica.dir.path()).unwrap().signing.clone();
    let victim = fake_peer("sco-rats", 40);

    // A rogue SCO RATS node, pinned at the backup as SCO RATS's node.
    let mut h = Hostile::new();
    backup.pin_with_keys(h.peer, "sco-rats", PeerRole::Party, Some(h.party_key.verifying_key().to_bytes()), None).await;
    // Its own Party's list, validly signed by SCO RATS: another Party never vouches here.
    let own = VouchedList::issue(&h.party_key, &party("sco-rats"), h.peer, std::slice::from_ref(&victim), 1).unwrap();
    refused(&mut h.swarm, h.peer, &backup, own, "only our own Party's nodes may vouch").await;
    // A list in CICA's name, signed with CICA's real key (as if it had stolen it): still not
    // from a node of CICA's.
    let stolen = VouchedList::issue(&cica_key, &party("cica"), h.peer, std::slice::from_ref(&victim), 1).unwrap();
    refused(&mut h.swarm, h.peer, &backup, stolen, "only our own Party's nodes may vouch").await;

    // An impostor pinned at the backup as a CICA node, without CICA's Party key.
    let key = Keypair::generate_ed25519();
    let imp = key.public().to_peer_id();
    let mut swarm = raw_swarm(key);
    backup.pin_with_keys(imp, "cica", PeerRole::Party, Some(cica_key.verifying_key().to_bytes()), None).await;
    let forger = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
    let forged = VouchedList::issue(&forger, &party("cica"), imp, std::slice::from_ref(&victim), 1).unwrap();
    refused(&mut swarm, imp, &backup, forged, "signature is wrong").await;
    // Unsigned.
    let mut unsigned = VouchedList::issue(&cica_key, &party("cica"), imp, std::slice::from_ref(&victim), 1).unwrap();
    unsigned.sig = vec![0; 64];
    refused(&mut swarm, imp, &backup, unsigned, "signature is wrong").await;
    // Signed, then a card changed (another Party key slipped in).
    let mut changed = VouchedList::issue(&cica_key, &party("cica"), imp, std::slice::from_ref(&victim), 1).unwrap();
    changed.cards[0].signing_key = Some([66; 32]);
    refused(&mut swarm, imp, &backup, changed, "signature is wrong").await;
    // The primary's real list, replayed by another node.
    let replayed =
        VouchedList::issue(&cica_key, &party("cica"), cica.peer_id(), std::slice::from_ref(&victim), 1).unwrap();
    refused(&mut swarm, imp, &backup, replayed, "issued by").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_primary_vouches_hand_pinned_entries_win_and_an_unpin_withdraws() {
    let mut cica = TestNode::new("cica", None).await;
    let mut backup = TestNode::new("cica", Some(cica.dir.path())).await;
    let sco = TestNode::new("sco-rats", None).await;
    // The backup pins only the primary; the primary pins the backup and SCO RATS.
    inproc::pin_pair(&cica, &backup).await;
    cica.pin_node(&sco, PeerRole::Party).await;
    let (pc, ps) = (cica.peer_id().to_string(), sco.peer_id().to_string());
    eventually("the backup takes the primary's list", || async {
        (vouched_at(&backup).await == vec![(ps.clone(), pc.clone())]).then_some(())
    })
    .await;

    // A peer pinned at the primary later is vouched for too; unpinned, it is withdrawn.
    let k = sco.keys();
    let extra = fake_peer("sco-rats", 41).peer_id;
    cica.pin_with_keys(extra, "sco-rats", PeerRole::Party, Some(k.signing_key), Some(k.sealing_key)).await;
    let mut both = vec![(ps.clone(), pc.clone()), (extra.to_string(), pc.clone())];
    both.sort();
    eventually("the new peer is vouched for", || async { (vouched_at(&backup).await == both).then_some(()) }).await;
    unpin(&cica, extra).await;
    let only_sco = vec![(ps.clone(), pc.clone())];
    eventually("the unpinned peer is withdrawn", || async { (vouched_at(&backup).await == only_sco).then_some(()) })
        .await;

    // The list is kept across a restart of the backup, with the primary gone.
    cica.node.take().unwrap().stop().await;
    backup.restart().await;
    assert_eq!(vouched_at(&backup).await, only_sco, "the vouched peers are forgotten at restart");

    // Pinned by hand at the backup, SCO RATS's node wins over its vouched card.
    backup.pin_node(&sco, PeerRole::Party).await;
    assert_eq!(vouched_at(&backup).await, vec![]);
    let st = backup.status().await;
    assert!(st.peers.iter().any(|p| p.peer_id == ps && p.vouched_by.is_none()), "{st:?}");
}
