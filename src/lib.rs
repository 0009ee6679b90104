//! # liaison
//!
//! The node each Party runs to cooperate under the Protocol between the CICA Secretariat and
//! the SCO RATS: a replicated shared workspace (automerge) over pinned libp2p peers.
//!
//! # Layout
//!
//! Domain (pure, no I/O):
//! - [`ids`]: document and Party identifiers.
//! - [`workspace`]: the automerge documents (meetings, groups, drafts, registry, threads).
//! - [`marking`]: handling markings of items, free text or TLP 2.0 labels.
//! - [`policy`]: the one function that says what may go to which peer, and why not.
//! - [`authority`]: the one function that says who may write which document (each Party's
//!   records are its own), and why not.
//! - [`authorship`]: who made each change, proven: actor certificates and signed heads.
//! - [`calendar`]: meetings as RFC 5545 calendars (ICS), with their time zones.
//!
//! Adapters:
//! - [`config`]: `node.toml`, parsed and validated once.
//! - [`keys`]: the node's secrets on disk.
//! - [`store`]: the embedded crash-safe store (redb).
//! - [`backup`]: encrypted backups of a node (running or stopped) and their restore.
//! - [`engine`]: the actor that owns the documents and the sync state, on its own thread.
//! - [`app`]: the use cases, one function each (typed input, result and refusal), called by
//!   the API, the CLI's offline paths and the tests alike.
//! - [`inbox`]: what needs an officer, from the engine's reads and the officer's read marks.
//! - [`net`]: the libp2p swarm actor: pinned peers, the sync stream protocol.
//! - [`api`]: the local HTTPS API; [`client`] is its client, used by the CLI.
//! - [`metrics`]: the Prometheus registry the engine and the API count in.
//! - [`node`]: wires the parts together and runs them until shutdown.
//! - [`cli`]: the `liaison` command line.
//! - [`bench`]: the benchmark harness (`liaison bench`).
//! - [`search`]: full-text search (tantivy) over the workspace and readable item titles.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod accounts;
pub mod api;
pub mod app;
pub mod audit;
pub mod authority;
pub mod authorship;
pub mod backup;
pub mod bench;
pub mod calendar;
pub mod cli;
pub mod client;
pub mod config;
pub mod consent;
pub mod engine;
pub mod ids;
pub mod inbox;
pub mod keys;
pub mod marking;
pub mod memtrim;
pub mod metrics;
pub mod net;
pub mod node;
pub mod paging;
pub mod policy;
pub mod sched;
pub mod search;
pub mod signing;
pub mod store;
pub mod vault;
pub mod vouch;
pub mod witness;
pub mod workspace;
