//! A Party's node gone rogue (SCO RATS): its real node key, its real Party key and an actor the
//! Party certified, speaking the sync protocol through a raw swarm. Each test file adds the
//! methods its attacks need.

use ed25519_dalek::SigningKey;
use liaison::authorship::{ActorCert, NodeActor};
use liaison::node::{InitOptions, init_data_dir};
use libp2p::{PeerId, Swarm};

use super::{Raw, raw_swarm};

/// SCO RATS's node, gone rogue.
pub struct Hostile {
    pub swarm: Swarm<Raw>,
    pub peer: PeerId,
    pub node_key: SigningKey,
    pub party_key: SigningKey,
    pub actor: NodeActor,
    pub cert: ActorCert,
    /// Its data dir (keys, config).
    pub dir: tempfile::TempDir,
}

impl Hostile {
    /// A fresh SCO RATS node's keys (made by `init`), and a certificate of actor `5c…`.
    pub fn new() -> Hostile {
        let dir = tempfile::tempdir().expect("tempdir");
        init_data_dir(
            dir.path(),
            &InitOptions {
                party_id: "sco-rats".parse().expect("party id"),
                party_name: "SCO RATS".into(),
                listen: vec!["/ip4/127.0.0.1/tcp/0".parse().expect("multiaddr")],
                external_addrs: Vec::new(),
                api: "127.0.0.1:0".parse().expect("address"),
                party_keys_from: None,
            },
        )
        .expect("init");
        let keys = liaison::keys::load(dir.path()).expect("keys");
        let node_key = SigningKey::from_bytes(&keys.node_ed25519.secret().as_ref().try_into().expect("32 bytes"));
        let actor = NodeActor([0x5c; 16]);
        let peer = keys.node.public().to_peer_id();
        let cert = ActorCert::issue(
            &keys.signing,
            "sco-rats".parse().expect("party id"),
            peer.to_string(),
            node_key.verifying_key().to_bytes(),
            actor,
        )
        .expect("certificate");
        Hostile {
            swarm: raw_swarm(keys.node.clone()),
            peer,
            node_key,
            party_key: keys.signing.clone(),
            actor,
            cert,
            dir,
        }
    }
}
