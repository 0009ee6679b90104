//! The workspace's use cases (`src/app/`) called as the API and the CLI call them, without HTTP:
//! a real engine on a temporary store, one Party's node with no peers. Each test checks what a
//! use case answers and that a refused one changed nothing.

use liaison::accounts::Role;
use liaison::app::drafts::{self, Action, Decision, DraftRefusal, NewText, Retitle, SpliceAt};
use liaison::app::threads::{NewMessage, NewThread};
use liaison::app::{Common, Ctx, groups, meetings, officers, threads};
use liaison::authority::Refusal as Rule;
use liaison::engine::{self, EngineHandle, EngineOptions, Identity, Refusal as EngineRefusal};
use liaison::workspace::DocKind;
use liaison::workspace::draft::{DraftState, EditRefusal, WorkflowRefusal};
use serde_json::json;

/// An engine on a fresh data dir of Party `cica`, its net commands drained.
struct Engine {
    handle: EngineHandle,
    thread: Option<std::thread::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Engine {
    async fn start() -> Engine {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("data");
        liaison::node::init_data_dir(
            &dir,
            &liaison::node::InitOptions {
                party_id: "cica".parse().expect("party id"),
                party_name: "CICA Secretariat".into(),
                listen: vec!["/ip4/127.0.0.1/tcp/0".parse().expect("multiaddr")],
                external_addrs: vec![],
                api: "127.0.0.1:0".parse().expect("addr"),
                party_keys_from: None,
            },
        )
        .expect("init");
        let config = liaison::config::NodeConfig::load(&dir).expect("config");
        let keys = liaison::keys::load(&dir).expect("keys");
        let public = keys.public();
        let store = liaison::store::Store::open_as(&dir, liaison::store::LockRole::Serve).expect("store");
        let opts = EngineOptions {
            identity: Identity { party: config.party.clone(), peer_id: public.peer_id },
            cache_docs: config.store.cache_docs,
            peers: config.peers.clone(),
            crypto: engine::Crypto {
                signing: keys.signing.clone(),
                sealing_public: public.sealing_key,
                sealing_secret: keys.sealing.to_bytes(),
                node_key: keys.node_ed25519.clone(),
            },
            policy: config.policy.clone(),
            limits: config.limits.peer.clone(),
            metrics: std::sync::Arc::new(liaison::metrics::Metrics::new()),
        };
        let inbox = tokio::sync::mpsc::channel(engine::INBOX_CAPACITY);
        let (net_tx, mut net_rx) = tokio::sync::mpsc::channel(engine::INBOX_CAPACITY);
        // No swarm: what the engine would send to peers goes nowhere.
        tokio::spawn(async move { while net_rx.recv().await.is_some() {} });
        let (handle, thread) = engine::spawn(store, opts, inbox, net_tx).expect("engine");
        Engine { handle, thread: Some(thread), _dir: tmp }
    }

    async fn stop(mut self) {
        self.handle.shutdown().await;
        if let Some(t) = self.thread.take() {
            t.join().expect("engine thread");
        }
    }
}

fn officer(role: Role) -> Ctx {
    Ctx::new("Anna", "cica".parse().expect("party"), role)
}

async fn group(e: &Engine) -> String {
    let new = serde_json::from_value(json!({ "name": "Joint working group", "mandate": "Joint proposals" })).unwrap();
    groups::create_group(&e.handle, &officer(Role::Member), new).await.expect("group").id
}

async fn new_draft(e: &Engine, text: &str) -> String {
    let g = group(e).await;
    let new = serde_json::from_value(json!({ "group": g, "title": "Statement", "text": text })).unwrap();
    drafts::create_draft(&e.handle, &officer(Role::Member), new).await.expect("draft").id
}

async fn draft(e: &Engine, id: &str) -> liaison::workspace::draft::Draft {
    let id = id.to_string();
    e.handle.read(move |c| c.read_draft(c.resolve(DocKind::Draft, &id)?)).await.expect("read draft")
}

fn splice_at(pos: usize, delete: usize, insert: &str) -> SpliceAt {
    serde_json::from_value(json!({ "pos": pos, "delete": delete, "insert": insert })).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_draft_is_created_in_an_existing_group_only() {
    let e = Engine::start().await;
    let who = officer(Role::Member);
    let new = serde_json::from_value(json!({ "group": "abcdef01", "title": "Statement" })).unwrap();
    let r = drafts::create_draft(&e.handle, &who, new).await;
    assert_eq!(r, Err(DraftRefusal::Common(Common::NotFound { kind: DocKind::Group, id: "abcdef01".into() })));
    // The refusal is a code with parameters, no words.
    assert_eq!(
        serde_json::to_value(r.unwrap_err()).unwrap(),
        json!({ "code": "not-found", "kind": "group", "id": "abcdef01" })
    );

    let id = new_draft(&e, "The Parties shall cooperate.\n\nArticle 2. They shall meet.").await;
    let d = draft(&e, &id).await;
    assert_eq!((d.state, d.provisions.len()), (DraftState::Draft, 2));
    assert_eq!(d.languages, ["en", "ru"], "the node's languages");
    assert_eq!(d.parties, ["cica"], "our Party, and no other pinned here");
    e.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn edits_out_of_range_or_in_another_language_are_refused_and_change_nothing() {
    let e = Engine::start().await;
    let who = officer(Role::Member);
    let id = new_draft(&e, "Alpha.\n\nBeta.").await;
    let before = draft(&e, &id).await;

    // A splice that reaches beyond the provision's text.
    let r = drafts::splice(&e.handle, &who, id.clone(), splice_at(3, 10, "x")).await;
    assert!(
        matches!(&r, Err(DraftRefusal::Edit(EditRefusal::SpliceOutOfRange { pos: 3, delete: 10, len: 6 }))),
        "{r:?}"
    );
    // A language the draft is not in.
    let text = NewText { text: "Alpha.\n\nBeta.".into(), lang: Some("fr".into()), base: None };
    let r = drafts::set_text(&e.handle, &who, id.clone(), text).await;
    assert_eq!(r.unwrap_err(), DraftRefusal::Edit(EditRefusal::LangNotInDraft { lang: "fr".into() }));
    // A whole text with one paragraph too many.
    let text = NewText { text: "A.\n\nB.\n\nC.".into(), lang: None, base: None };
    let r = drafts::set_text(&e.handle, &who, id.clone(), text).await;
    assert_eq!(r.unwrap_err(), DraftRefusal::Edit(EditRefusal::ParagraphsMismatch { paragraphs: 3, provisions: 2 }));
    // A base that is no version of this draft.
    let mut s = splice_at(0, 0, "x");
    s.base = Some("00".repeat(32));
    let r = drafts::splice(&e.handle, &who, id.clone(), s).await;
    assert!(matches!(&r, Err(DraftRefusal::Edit(EditRefusal::VersionUnknown { .. }))), "{r:?}");
    // Moving a provision after itself.
    let p = before.provisions[0].id.clone();
    let act = Action::MoveProvision { provision: p.clone(), after: Some(p), first: false };
    let r = drafts::act(&e.handle, &who, id.clone(), act).await;
    assert_eq!(r.unwrap_err(), DraftRefusal::Edit(EditRefusal::AfterItself));

    let after = draft(&e, &id).await;
    assert_eq!((after.text, after.rev), (before.text, before.rev), "a refused edit changed the draft");

    // The splice that fits lands, and its answer names the version to edit from next.
    let done = drafts::splice(&e.handle, &who, id.clone(), splice_at(5, 0, " One")).await.expect("splice");
    assert!(!done.version.is_empty() && !done.heads.is_empty());
    assert_eq!(draft(&e, &id).await.provisions[0].texts["en"], "Alpha One.");
    let r = drafts::retitle(
        &e.handle,
        &who,
        id.clone(),
        Retitle { title: Some("Joint statement".into()), titles: Default::default() },
    )
    .await
    .expect("retitle");
    assert_eq!(r.title, "Joint statement");
    e.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_workflow_refuses_steps_out_of_order_and_roles_too_low() {
    let e = Engine::start().await;
    let member = officer(Role::Member);
    let liaison = officer(Role::Liaison);
    let id = new_draft(&e, "Alpha.").await;

    let r = drafts::act(&e.handle, &member, id.clone(), Action::Approve).await;
    assert_eq!(
        r.unwrap_err(),
        DraftRefusal::Workflow(WorkflowRefusal::DraftNotUnderReview { state: DraftState::Draft })
    );
    // The Russian text is stale until an officer says the languages agree.
    let p = draft(&e, &id).await.provisions[0].id.clone();
    drafts::act(&e.handle, &member, id.clone(), Action::Align { provision: p }).await.expect("align");
    drafts::act(&e.handle, &member, id.clone(), Action::Review).await.expect("review");
    let r = drafts::act(&e.handle, &member, id.clone(), Action::Review).await;
    assert!(matches!(&r, Err(DraftRefusal::Workflow(WorkflowRefusal::DraftNotBeingWritten { .. }))), "{r:?}");
    let d = drafts::act(&e.handle, &member, id.clone(), Action::Approve).await.expect("approve");
    assert_eq!(d.state, DraftState::Agreed, "our Party is the only one of this draft");

    // Signing binds the Party: a member may not, and nothing is signed.
    let r = drafts::act(&e.handle, &member, id.clone(), Action::Sign).await;
    assert_eq!(r.unwrap_err(), DraftRefusal::Common(Common::RoleRequired { need: Role::Liaison, role: Role::Member }));
    assert!(draft(&e, &id).await.signatures.is_empty());

    let d = drafts::act(&e.handle, &liaison, id.clone(), Action::Sign).await.expect("sign");
    assert_eq!(d.state, DraftState::Executed);
    // Executed: signing again, editing and withdrawing are refused (the draft and both
    // Parties' records on it are frozen by the rule of who may write what).
    let r = drafts::act(&e.handle, &liaison, id.clone(), Action::Sign).await;
    assert_eq!(r.unwrap_err(), DraftRefusal::Common(Common::Rule(Rule::Frozen)));
    let r = drafts::splice(&e.handle, &member, id.clone(), splice_at(0, 0, "x")).await;
    assert_eq!(r.unwrap_err(), DraftRefusal::Common(Common::Rule(Rule::Frozen)));
    let r = drafts::act(&e.handle, &liaison, id.clone(), Action::Withdraw).await;
    assert_eq!(r.unwrap_err(), DraftRefusal::Common(Common::Rule(Rule::Frozen)));
    assert_eq!(draft(&e, &id).await.provisions[0].texts["en"], "Alpha.");
    e.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_suggestion_is_decided_once() {
    let e = Engine::start().await;
    let who = officer(Role::Member);
    let id = new_draft(&e, "Alpha.").await;
    let unknown = drafts::decide(&e.handle, &who, "feedbeef".into(), Decision { accept: true }).await;
    assert_eq!(
        unknown.unwrap_err(),
        DraftRefusal::Common(Common::NoSuchEntry { what: "suggestion", id: "feedbeef".into() })
    );

    let p = draft(&e, &id).await.provisions[0].id.clone();
    let act = Action::Suggest { provision: p, lang: "en".into(), text: "Alpha and omega.".into() };
    let d = drafts::act(&e.handle, &who, id.clone(), act).await.expect("suggest");
    let sid = d.open_suggestions[0].id.clone();
    let d = drafts::decide(&e.handle, &who, sid.clone(), Decision { accept: true }).await.expect("accept");
    assert_eq!((d.provisions[0].texts["en"].as_str(), d.open_suggestions.len()), ("Alpha and omega.", 0));
    let again = drafts::decide(&e.handle, &who, sid, Decision { accept: false }).await;
    assert_eq!(again.unwrap_err(), DraftRefusal::Edit(EditRefusal::SuggestionDecided { state: "accepted".into() }));
    e.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn officers_groups_meetings_and_threads_refuse_what_is_not_ours_or_not_there() {
    let e = Engine::start().await;
    let liaison = officer(Role::Liaison);
    let member = officer(Role::Member);

    // A Party assigns its own officers only.
    let new = serde_json::from_value(json!({ "name": "Ana", "party": "sco-rats", "contact": "a@x" })).unwrap();
    let r = officers::assign_officer(&e.handle, &liaison, new).await;
    assert!(
        matches!(&r, Err(Common::Rule(Rule::NotItsParty { kind: DocKind::Registry, owner, writer }))
            if owner.as_str() == "sco-rats" && writer.as_str() == "cica"),
        "{r:?}"
    );
    let new = serde_json::from_value(json!({ "name": "Ana", "contact": "a@x" })).unwrap();
    let oid = officers::assign_officer(&e.handle, &liaison, new).await.expect("assign").id;
    let all = officers::end_officer(&e.handle, &liaison, oid.clone()).await.expect("end");
    assert!(all.iter().any(|o| o.id == oid && o.ended_at.is_some()));
    let r = officers::end_officer(&e.handle, &liaison, "00000000".into()).await;
    assert_eq!(r.unwrap_err(), Common::NoSuchEntry { what: "officer", id: "00000000".into() });

    // A mandate cited that is not recorded.
    let new = serde_json::from_value(json!({ "name": "G", "mandate": "m", "mandate_ref": "MS-404" })).unwrap();
    let r = groups::create_group(&e.handle, &member, new).await;
    assert_eq!(
        r.unwrap_err(),
        Common::Engine(EngineRefusal::MandateUnknown { reference: "MS-404".into(), party: "cica".parse().unwrap() })
    );

    // Attaching an item to a meeting needs the role that handles items.
    let new = serde_json::from_value(json!({ "title": "Consultation", "starts": "2030-01-01T10:00:00Z" })).unwrap();
    let mid = meetings::create_meeting(&e.handle, &member, new).await.expect("meeting").id;
    let patch = serde_json::from_value(json!({ "attach": ["abcd1234"] })).unwrap();
    let r = meetings::update_meeting(&e.handle, &member, mid.clone(), patch).await;
    assert_eq!(r.unwrap_err(), Common::RoleRequired { need: Role::Liaison, role: Role::Member });
    let patch = serde_json::from_value(json!({ "attach": ["abcd1234"] })).unwrap();
    let r = meetings::update_meeting(&e.handle, &liaison, mid.clone(), patch).await;
    assert_eq!(r.unwrap_err(), Common::NoItem { id: "abcd1234".into() });
    let patch = serde_json::from_value(json!({ "venue": "Astana" })).unwrap();
    let m = meetings::update_meeting(&e.handle, &member, mid, patch).await.expect("update");
    assert_eq!(m.venue.as_deref(), Some("Astana"));

    // A thread starts with a message that says something.
    let empty = NewThread { subject: "S".into(), titles: Default::default(), text: " ".into(), attach: vec![] };
    let r = threads::start_thread(&e.handle, &liaison, empty).await;
    assert!(matches!(&r, Err(Common::Invalid { field: "text", .. })), "{r:?}");
    let first = NewThread { subject: "S".into(), titles: Default::default(), text: "Hello".into(), attach: vec![] };
    let tid = threads::start_thread(&e.handle, &liaison, first).await.expect("thread").id;
    let reply = NewMessage { text: "Reply".into(), attach: vec![] };
    let t = threads::post_message(&e.handle, &liaison, tid, reply).await.expect("post");
    assert_eq!(t.messages.len(), 2);
    let reply = NewMessage { text: "Reply".into(), attach: vec![] };
    let r = threads::post_message(&e.handle, &liaison, "abcdef01".into(), reply).await;
    assert_eq!(r.unwrap_err(), Common::NotFound { kind: DocKind::Thread, id: "abcdef01".into() });
    e.stop().await;
}
