//! The attacks on provided information that the node must refuse, explain and log, losing
//! nothing: forged, tampered, expired and wrongly signed grants, a replayed revocation, an item
//! re-sealed to a key that is not pinned, and a third party asking for an item it was not
//! granted. The attacker is a raw libp2p peer, pinned where the scenario needs it, sending
//! crafted frames of the real protocol to a real node.

mod inproc;

use chrono::{Duration as Days, SecondsFormat, Utc};
use ed25519_dalek::SigningKey;
use inproc::{TestNode, eventually, raw_swarm, send_batch};
use liaison::audit::Event;
use liaison::config::PeerRole;
use liaison::consent::{Grant, Record, Revocation, SignedRecord};
use liaison::ids::{ItemId, PartyId, RecordId};
use liaison::net::protocol::{Batch, Frame, Reply};
use liaison::vault::{self, KeyWrap, Sealer, SignedEnvelope};
use libp2p::identity::Keypair;

/// A fake CICA (the provider, whose keys the test holds) and a fake SCO RATS node (the holder,
/// a raw swarm), and a real third-party node that pins both as providers.
struct Scene {
    third: TestNode,
    cica: SigningKey,
    rats: SigningKey,
    rats_node: Keypair,
    third_sealing: [u8; 32],
}

async fn scene() -> Scene {
    let third = TestNode::new("un-oct", None).await;
    let cica = SigningKey::from_bytes(&[11; 32]);
    let rats = SigningKey::from_bytes(&[12; 32]);
    let rats_node = Keypair::generate_ed25519();
    third
        .pin_with_keys(
            libp2p::PeerId::random(),
            "cica",
            PeerRole::Provider,
            Some(cica.verifying_key().to_bytes()),
            None,
        )
        .await;
    third
        .pin_with_keys(
            rats_node.public().to_peer_id(),
            "sco-rats",
            PeerRole::Provider,
            Some(rats.verifying_key().to_bytes()),
            None,
        )
        .await;
    let third_sealing = third.keys().sealing_key;
    Scene { third, cica, rats, rats_node, third_sealing }
}

struct Item {
    env: SignedEnvelope,
    key: vault::ItemKey,
    ct: Vec<u8>,
}

fn item(cica: &SigningKey, body: &[u8]) -> Item {
    let mut s = Sealer::new(ItemId::random());
    let ct = s.chunk(body.to_vec(), true).unwrap().to_vec();
    let (env, key) = s
        .finish("cica".parse().unwrap(), Utc::now().to_rfc3339(), "RESTRICTED".into(), None, "Attack target", cica)
        .unwrap();
    Item { env, key, ct }
}

fn grant(it: &Item, expires: Option<String>) -> Grant {
    Grant {
        id: RecordId::random(),
        request: RecordId::random(),
        item: it.env.envelope.item,
        content_hash: it.env.content_hash(),
        provider: "cica".parse().unwrap(),
        holder: "sco-rats".parse().unwrap(),
        third_party: "un-oct".parse().unwrap(),
        purpose: "assessment".into(),
        expires,
        at: Utc::now().to_rfc3339(),
        officer: "ana".into(),
    }
}

fn offer(it: &Item, wrap: KeyWrap, g: SignedRecord) -> Batch {
    Batch {
        frames: vec![
            Frame::ItemOffer { envelope: Box::new(it.env.clone()), wraps: vec![wrap], grant: Some(Box::new(g)) },
            Frame::ItemChunk { item: it.env.envelope.item, index: 0, data: it.ct.clone() },
        ],
    }
}

fn wrap_to(it: &Item, to: &[u8; 32]) -> KeyWrap {
    vault::seal_key(&it.key, &it.env, &"un-oct".parse::<PartyId>().unwrap(), to).unwrap()
}

fn refused(r: &Option<Reply>) -> String {
    match r {
        Some(Reply::Refused(reason)) => reason.clone(),
        other => panic!("expected a refusal with its reason, got {other:?}"),
    }
}

async fn items_of(n: &TestNode) -> Vec<String> {
    n.node().engine.read(|c| c.item_list()).await.unwrap().into_iter().map(|i| i.id).collect()
}

async fn audit_events(n: &TestNode) -> Vec<Event> {
    n.node().engine.read(|c| c.audit_show(None)).await.unwrap().into_iter().map(|e| e.entry.event).collect()
}

async fn audit_intact(n: &TestNode) -> u64 {
    n.node().engine.read(|c| c.audit_verify()).await.unwrap().expect("audit log intact")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_third_party_accepts_an_item_only_under_a_valid_grant_for_it() {
    let s = scene().await;
    let to = s.third.peer_id();
    let addr = s.third.addrs()[0].clone();
    let mut attacker = raw_swarm(s.rats_node.clone());

    // The honest case first, so that the refusals below are about what they change.
    let good = item(&s.cica, b"a body the third party may read");
    let g = SignedRecord::sign(Record::Grant(grant(&good, None)), &s.cica).unwrap();
    let r = send_batch(&mut attacker, to, addr.clone(), &offer(&good, wrap_to(&good, &s.third_sealing), g)).await;
    assert!(matches!(r, Some(Reply::Ack)), "{r:?}");
    assert_eq!(items_of(&s.third).await, vec![good.env.envelope.item.to_string()]);

    // A grant tampered with after signing (another purpose).
    let it = item(&s.cica, b"tampered");
    let mut g = SignedRecord::sign(Record::Grant(grant(&it, None)), &s.cica).unwrap();
    if let Record::Grant(x) = &mut g.record {
        x.purpose = "anything at all".into();
    }
    let why =
        refused(&send_batch(&mut attacker, to, addr.clone(), &offer(&it, wrap_to(&it, &s.third_sealing), g)).await);
    assert!(why.contains("forged or tampered grant"), "{why}");

    // A grant that expired.
    let it = item(&s.cica, b"expired");
    let old = (Utc::now() - Days::days(1)).to_rfc3339_opts(SecondsFormat::Secs, true);
    let g = SignedRecord::sign(Record::Grant(grant(&it, Some(old))), &s.cica).unwrap();
    let why =
        refused(&send_batch(&mut attacker, to, addr.clone(), &offer(&it, wrap_to(&it, &s.third_sealing), g)).await);
    assert!(why.contains("expired"), "{why}");

    // A grant signed by the wrong Party: the holder granting itself consent.
    let it = item(&s.cica, b"self-granted");
    let g = SignedRecord::sign(Record::Grant(grant(&it, None)), &s.rats).unwrap();
    let why =
        refused(&send_batch(&mut attacker, to, addr.clone(), &offer(&it, wrap_to(&it, &s.third_sealing), g)).await);
    assert!(why.contains("does not verify with the pinned key of cica"), "{why}");

    // A grant for another content than the item offered.
    let it = item(&s.cica, b"swapped");
    let g = SignedRecord::sign(Record::Grant(grant(&good, None)), &s.cica).unwrap();
    let why =
        refused(&send_batch(&mut attacker, to, addr.clone(), &offer(&it, wrap_to(&it, &s.third_sealing), g)).await);
    assert!(why.contains("other content"), "{why}");

    // An item re-sealed to a key that is not the third party's pinned key.
    let it = item(&s.cica, b"resealed");
    let g = SignedRecord::sign(Record::Grant(grant(&it, None)), &s.cica).unwrap();
    let other = vault::sealing_public(&[77; 32]).unwrap();
    let why = refused(&send_batch(&mut attacker, to, addr.clone(), &offer(&it, wrap_to(&it, &other), g)).await);
    assert!(why.contains("sealed to a key that is not the pinned key"), "{why}");

    // An envelope whose provider signature was forged (the marking changed).
    let mut it = item(&s.cica, b"forged envelope");
    it.env.envelope.marking = "UNCLASSIFIED".into();
    let g = SignedRecord::sign(Record::Grant(grant(&it, None)), &s.cica).unwrap();
    let why =
        refused(&send_batch(&mut attacker, to, addr.clone(), &offer(&it, wrap_to(&it, &s.third_sealing), g)).await);
    assert!(why.contains("forged or tampered envelope"), "{why}");

    // Nothing of the refused items was stored, the good one is intact, every refusal is in the
    // audit log, and the log verifies.
    assert_eq!(items_of(&s.third).await, vec![good.env.envelope.item.to_string()]);
    let refusals =
        audit_events(&s.third).await.into_iter().filter(|e| matches!(e, Event::ReceiveRefused { .. })).count();
    assert_eq!(refusals, 6, "{:?}", audit_events(&s.third).await);
    assert!(audit_intact(&s.third).await >= 7);
    let body = s
        .third
        .node()
        .engine
        .write({
            let id = good.env.envelope.item;
            move |c| {
                let (env, key) = c.item_open(id, "analyst")?;
                Ok(vault::open_chunk(&key, &env.envelope, 0, c.item_chunk(id, 0)?).unwrap())
            }
        })
        .await
        .unwrap();
    assert_eq!(body, b"a body the third party may read");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_destroys_the_key_once_and_a_replay_is_refused() {
    let s = scene().await;
    let to = s.third.peer_id();
    let addr = s.third.addrs()[0].clone();
    let mut attacker = raw_swarm(s.rats_node.clone());
    let keep = item(&s.cica, b"stays");
    let gone = item(&s.cica, b"revoked");
    for it in [&keep, &gone] {
        let g = SignedRecord::sign(Record::Grant(grant(it, None)), &s.cica).unwrap();
        let r = send_batch(&mut attacker, to, addr.clone(), &offer(it, wrap_to(it, &s.third_sealing), g)).await;
        assert!(matches!(r, Some(Reply::Ack)), "{r:?}");
    }
    // The grant the third party holds for `gone` is the one that came with it.
    let id = gone.env.envelope.item;
    let id_s = id.to_string();
    let g_gone = s.third.node().engine.read(move |c| c.audit_show(Some(&id_s))).await.unwrap();
    let grant_id = g_gone
        .iter()
        .find_map(|e| match &e.entry.event {
            Event::ItemReceived { grant, .. } => *grant,
            _ => None,
        })
        .unwrap();
    let rev = Revocation {
        id: RecordId::random(),
        grant: grant_id,
        item: gone.env.envelope.item,
        provider: "cica".parse().unwrap(),
        holder: "sco-rats".parse().unwrap(),
        third_party: "un-oct".parse().unwrap(),
        at: Utc::now().to_rfc3339(),
        officer: "ana".into(),
    };
    // A revocation signed by someone else than the provider is refused.
    let forged = SignedRecord::sign(Record::Revocation(rev.clone()), &s.rats).unwrap();
    let why = refused(
        &send_batch(&mut attacker, to, addr.clone(), &Batch { frames: vec![Frame::Records(vec![forged])] }).await,
    );
    assert!(why.contains("pinned key of cica"), "{why}");
    assert_eq!(items_of(&s.third).await.len(), 2);

    // The real one: the key is destroyed and the third party confirms.
    let real = SignedRecord::sign(Record::Revocation(rev), &s.cica).unwrap();
    let batch = Batch { frames: vec![Frame::Records(vec![real])] };
    assert!(matches!(send_batch(&mut attacker, to, addr.clone(), &batch).await, Some(Reply::Ack)));
    eventually("the revoked item is gone", || async {
        (items_of(&s.third).await == vec![keep.env.envelope.item.to_string()]).then_some(())
    })
    .await;
    let events = audit_events(&s.third).await;
    assert!(events.iter().any(|e| matches!(e, Event::KeyDestroyed { item, .. } if *item == gone.env.envelope.item)));
    assert!(events.iter().any(|e| matches!(e, Event::Consent { kind, .. } if kind == "revocation-ack")));

    // The same revocation again: refused as a replay, audited, nothing else happens.
    assert!(matches!(send_batch(&mut attacker, to, addr.clone(), &batch).await, Some(Reply::Ack)));
    let events = audit_events(&s.third).await;
    let replays = events
        .iter()
        .filter(|e| matches!(e, Event::ReceiveRefused { reason, .. } if reason.contains("replayed revocation")))
        .count();
    assert_eq!(replays, 1, "{events:?}");
    assert_eq!(events.iter().filter(|e| matches!(e, Event::KeyDestroyed { .. })).count(), 1);
    assert_eq!(items_of(&s.third).await, vec![keep.env.envelope.item.to_string()]);
    audit_intact(&s.third).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_third_party_asking_for_an_item_it_was_not_granted_gets_nothing() {
    // A real holder node (here it provides the item itself) and a raw third party pinned by it.
    let holder = TestNode::new("sco-rats", None).await;
    let x = Keypair::generate_ed25519();
    let x_id = x.public().to_peer_id();
    holder
        .pin_with_keys(x_id, "x-org", PeerRole::ThirdParty, None, Some(vault::sealing_public(&[5; 32]).unwrap()))
        .await;
    let id = ItemId::random();
    let view = holder
        .node()
        .engine
        .write(move |c| {
            let mut s = Sealer::new(id);
            let ct = s
                .chunk(b"not for x-org".to_vec(), true)
                .map_err(|e| liaison::engine::EngineError::Vault(std::sync::Arc::new(e)))?;
            c.item_stage_chunk(id, 0, ct);
            c.item_finish(s, "Not granted", "RESTRICTED".into(), None, "officer")
        })
        .await
        .unwrap();
    assert_eq!(view.id, id.to_string());
    let mut asker = raw_swarm(x);
    let addr = holder.addrs()[0].clone();
    // Asking for the real item, and for one that does not exist: the same answer to both, so the
    // asker cannot even learn whether the item exists.
    for wanted in [id, ItemId::random()] {
        let r =
            send_batch(&mut asker, holder.peer_id(), addr.clone(), &Batch { frames: vec![Frame::ItemRequest(wanted)] })
                .await;
        assert!(matches!(r, Some(Reply::Ack)), "{r:?}");
    }
    let refusals: Vec<String> = audit_events(&holder)
        .await
        .into_iter()
        .filter_map(|e| match e {
            Event::TransmissionRefused { to_peer, reason, .. } if to_peer == x_id.to_string() => Some(reason),
            _ => None,
        })
        .collect();
    assert_eq!(refusals.len(), 2, "{refusals:?}");
    assert!(refusals[0].contains("no consent of the provider"), "{refusals:?}");
    // And not a byte went to it.
    let st = holder.status().await;
    let p = st.peers.iter().find(|p| p.peer_id == x_id.to_string()).unwrap();
    assert_eq!(p.traffic.bytes_sent, 0, "{p:?}");
    audit_intact(&holder).await;
}

/// Finding 4 of issue 10: a revocation is tied to the grant it withdraws. A Party whose key is
/// pinned (SCO RATS, the holder) signs a revocation in its own name of CICA's grant: the
/// signature is good, but only the grant's signer may revoke it, so it is refused, audited, and
/// the item stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_grants_signer_can_revoke_it() {
    let s = scene().await;
    let to = s.third.peer_id();
    let addr = s.third.addrs()[0].clone();
    let mut attacker = raw_swarm(s.rats_node.clone());
    let it = item(&s.cica, b"stays readable");
    let g = grant(&it, None);
    let signed = SignedRecord::sign(Record::Grant(g.clone()), &s.cica).unwrap();
    let r = send_batch(&mut attacker, to, addr.clone(), &offer(&it, wrap_to(&it, &s.third_sealing), signed)).await;
    assert!(matches!(r, Some(Reply::Ack)), "{r:?}");
    let rev = |provider: &str, grant_id: RecordId| Revocation {
        id: RecordId::random(),
        grant: grant_id,
        item: it.env.envelope.item,
        provider: provider.parse().unwrap(),
        holder: "sco-rats".parse().unwrap(),
        third_party: "un-oct".parse().unwrap(),
        at: Utc::now().to_rfc3339(),
        officer: "mallory".into(),
    };
    // Signed by SCO RATS in its own name: the signature verifies, the grant is not its own.
    let own_name = SignedRecord::sign(Record::Revocation(rev("sco-rats", g.id)), &s.rats).unwrap();
    let why = refused(
        &send_batch(&mut attacker, to, addr.clone(), &Batch { frames: vec![Frame::Records(vec![own_name])] }).await,
    );
    assert!(why.contains("only the grant's signer can revoke it"), "{why}");
    // A revocation of a grant that does not exist here is refused too.
    let unknown = SignedRecord::sign(Record::Revocation(rev("cica", RecordId::random())), &s.cica).unwrap();
    let why = refused(
        &send_batch(&mut attacker, to, addr.clone(), &Batch { frames: vec![Frame::Records(vec![unknown])] }).await,
    );
    assert!(why.contains("not held here"), "{why}");
    assert_eq!(items_of(&s.third).await, vec![it.env.envelope.item.to_string()], "the item was destroyed");
    let events = audit_events(&s.third).await;
    assert!(!events.iter().any(|e| matches!(e, Event::KeyDestroyed { .. })), "{events:?}");
    let refusals =
        events.iter().filter(|e| matches!(e, Event::ReceiveRefused { what, .. } if what == "revocation")).count();
    assert_eq!(refusals, 2, "{events:?}");
    audit_intact(&s.third).await;
}
