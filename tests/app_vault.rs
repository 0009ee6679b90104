//! The vault's and the accounts' use cases (`liaison::app`), called as the API and the CLI call
//! them but without HTTP: real nodes in one process (real stores, real libp2p on loopback) for
//! the vault, and a node's data dir, stopped and running, for the accounts.

mod inproc;

use std::sync::{Arc, Mutex};

use inproc::{TestNode, eventually, pin_pair};
use liaison::accounts::{Accounts, Role};
use liaison::app::accounts::{self, AccountRefusal, AddAccount, Ctx, Running, Stopped};
use liaison::app::vault::{
    self, AnswerRefusal, DeleteRefusal, GrantConsent, ItemRefusal, RequestConsent, RequestItem, RequestItemRefusal,
    RequestRefusal, RevokeRefusal, ShareItem, ShareRefusal, Who,
};
use liaison::audit::Event;
use liaison::config::PeerRole;
use liaison::engine::EngineHandle;

fn who() -> Who {
    Who { officer: "Anna".into() }
}

fn engine(n: &TestNode) -> &EngineHandle {
    &n.node().engine
}

/// An item's bytes as an upload brings them: in pieces.
fn body(pieces: &[&'static [u8]]) -> impl futures::Stream<Item = Result<&'static [u8], std::io::Error>> + Unpin {
    futures::stream::iter(pieces.iter().map(|p| Ok(*p)).collect::<Vec<_>>())
}

async fn items_of(n: &TestNode) -> Vec<String> {
    engine(n).read(|c| c.item_list()).await.unwrap().into_iter().map(|i| i.id).collect()
}

async fn explain(n: &TestNode, item: &str, to: &TestNode) -> (bool, Option<String>) {
    let (item, to) = (item.to_string(), to.peer_id().to_string());
    let e = engine(n)
        .read(move |c| {
            let id = c.item_resolve(&item)?;
            c.item_explain(id, &to)
        })
        .await
        .unwrap();
    (e.allowed, e.grant)
}

/// Waits until `n` holds the item (or, with `held` false, no longer holds it).
async fn wait_held(what: &str, n: &TestNode, id: &str, held: bool) {
    eventually(what, || async move { (items_of(n).await.iter().any(|i| i == id) == held).then_some(()) }).await;
}

/// Waits until `n` holds a consent request `request`, or one granted with `grant`.
async fn wait_record(what: &str, n: &TestNode, id: &str) {
    eventually(what, || async move {
        let v = engine(n).read(|c| Ok(c.consent_list())).await.unwrap();
        v.iter().any(|v| v.request == id || v.grant.as_deref() == Some(id)).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn share_then_consent_request_grant_deny_and_revoke_through_the_use_cases() {
    let cica = TestNode::new("cica", None).await;
    let rats = TestNode::new("sco-rats", None).await;
    let x = TestNode::new("x-org", None).await;
    pin_pair(&cica, &rats).await;
    cica.pin_node(&x, PeerRole::ThirdParty).await;
    x.pin_node(&cica, PeerRole::Provider).await;
    // The other Party knows the third party's keys too (it checks the records the third party
    // signs, such as its confirmation that it destroyed a revoked item), without dialing it.
    let k = x.keys();
    rats.pin_with_keys(x.peer_id(), "x-org", PeerRole::ThirdParty, Some(k.signing_key), Some(k.sealing_key)).await;

    // Share: the bytes come in pieces; a title that is not one line is refused before any is
    // stored, and so is a marking that is not a TLP label.
    let bad = ShareItem { title: "two\nlines".into(), ..Default::default() };
    let r = vault::share_item(engine(&cica), &who(), bad, body(&[b"x"])).await.unwrap_err();
    assert!(matches!(r, ShareRefusal::Item(ItemRefusal::Label)), "{r:?}");
    assert_eq!(serde_json::to_value(&r).unwrap()["code"], "label");
    let bad = ShareItem { title: "T".into(), marking: Some("TLP:WHITE".into()), ..Default::default() };
    let r = vault::share_item(engine(&cica), &who(), bad, body(&[b"x"])).await.unwrap_err();
    assert!(matches!(r, ShareRefusal::Item(ItemRefusal::Marking(_))), "{r:?}");
    assert!(items_of(&cica).await.is_empty());
    let input = ShareItem { title: "Report".into(), file_name: Some("/tmp/report.pdf".into()), ..Default::default() };
    let item = vault::share_item(engine(&cica), &who(), input, body(&[b"first half, ", b"second half"])).await.unwrap();
    assert_eq!(item.title.as_deref(), Some("Report"));
    assert_eq!(item.file_name.as_deref(), Some("report.pdf"));
    assert_eq!(item.bytes, 23);

    // A third party without consent: the policy does not let the item go to it.
    assert_eq!(explain(&cica, &item.id, &x).await, (false, None));
    // A third party's node provides nothing.
    let r = vault::share_item(engine(&x), &who(), ShareItem { title: "T".into(), ..Default::default() }, body(&[]))
        .await
        .unwrap_err();
    assert!(matches!(r, ShareRefusal::Item(ItemRefusal::ThirdPartyNode)), "{r:?}");

    // Consent requests that are refused.
    let ask = |item: &str, third: &str, purpose: &str| RequestConsent {
        item: item.into(),
        third_party: third.parse().unwrap(),
        purpose: purpose.into(),
    };
    let r = vault::request_consent(engine(&cica), &who(), ask(&item.id, "x-org", "  ")).await.unwrap_err();
    assert!(matches!(r, RequestRefusal::PurposeMissing), "{r:?}");
    let r = vault::request_consent(engine(&cica), &who(), ask(&item.id, "sco-rats", "audit")).await.unwrap_err();
    assert!(matches!(&r, RequestRefusal::ConsentForParty { party } if party.as_str() == "sco-rats"), "{r:?}");
    let r = vault::request_consent(engine(&cica), &who(), ask("ffffffff", "x-org", "audit")).await.unwrap_err();
    assert!(matches!(&r, RequestRefusal::NoItem { id } if id == "ffffffff"), "{r:?}");

    // Request, then grant.
    let request = vault::request_consent(engine(&cica), &who(), ask(&item.id, "x-org", "audit")).await.unwrap().id;
    let grant_of = |expires: Option<&str>| GrantConsent { request: request.clone(), expires: expires.map(Into::into) };
    let r = vault::grant_consent(engine(&cica), &who(), grant_of(Some("soon"))).await.unwrap_err();
    assert!(matches!(&r, AnswerRefusal::ExpiryInvalid { value } if value == "soon"), "{r:?}");
    let r = vault::grant_consent(engine(&cica), &who(), grant_of(Some("2001-01-01T00:00:00Z"))).await.unwrap_err();
    assert!(matches!(r, AnswerRefusal::ExpiryPast { .. }), "{r:?}");

    // The other Party holds the request (replicated) but may not answer it: only the item's
    // provider can, and an item's deletion is its provider's too.
    wait_record("the request reaches SCO RATS", &rats, &request).await;
    let r = vault::grant_consent(engine(&rats), &who(), grant_of(None)).await.unwrap_err();
    assert!(matches!(&r, AnswerRefusal::NotTheProvider { provider, .. } if provider.as_str() == "cica"), "{r:?}");
    let r = vault::deny_consent(engine(&rats), &who(), request.clone()).await.unwrap_err();
    assert!(matches!(r, AnswerRefusal::NotTheProvider { .. }), "{r:?}");
    wait_held("the item reaches SCO RATS", &rats, &item.id, true).await;
    let r = vault::delete_item(engine(&rats), &who(), item.id.clone()).await.unwrap_err();
    assert!(matches!(&r, DeleteRefusal::NotItsProvider { provider, .. } if provider.as_str() == "cica"), "{r:?}");

    let grant = vault::grant_consent(engine(&cica), &who(), grant_of(None)).await.unwrap().id;
    // Answered already: neither granted again nor denied.
    let r = vault::grant_consent(engine(&cica), &who(), grant_of(None)).await.unwrap_err();
    assert!(matches!(&r, AnswerRefusal::Answered { answer, .. } if answer == "granted"), "{r:?}");
    let r = vault::deny_consent(engine(&cica), &who(), request.clone()).await.unwrap_err();
    assert!(matches!(r, AnswerRefusal::Answered { .. }), "{r:?}");
    // A grant is not a request.
    let r = vault::deny_consent(engine(&cica), &who(), grant.clone()).await.unwrap_err();
    assert!(matches!(&r, AnswerRefusal::ConsentWrongKind { expected, .. } if expected == "request"), "{r:?}");

    // Under the grant the item may go to the third party, and it arrives there.
    assert_eq!(explain(&cica, &item.id, &x).await, (true, Some(grant.clone())));
    let asked = vault::request_item(engine(&x), RequestItem { id: item.id.clone() }).await.unwrap();
    assert!(asked.asked <= 1, "{asked:?}");
    let r = vault::request_item(engine(&x), RequestItem { id: "abc".into() }).await.unwrap_err();
    assert!(matches!(r, RequestItemRefusal::NotAnItemId { .. }), "{r:?}");
    wait_held("the granted item reaches the third party", &x, &item.id, true).await;
    // The list works each item out once (signature, title) and keeps it while the envelope, the
    // provider's key and our wrap stay the same: a second list answers the same.
    let listed = || async { engine(&x).read(|c| c.item_list()).await.unwrap() };
    let (first, second) = (listed().await, listed().await);
    let v = first.iter().find(|i| i.id == item.id).expect("listed");
    assert_eq!((v.title.as_deref(), v.readable, v.signature_ok), (Some("Report"), true, true), "{v:?}");
    assert_eq!(v.file_name.as_deref(), Some("report.pdf"), "{v:?}");
    assert_eq!(serde_json::to_value(&first).unwrap(), serde_json::to_value(&second).unwrap());

    // Only the grantor revokes, once; then the third party no longer holds the item.
    wait_record("the grant reaches SCO RATS", &rats, &grant).await;
    let r = vault::revoke_consent(engine(&rats), &who(), grant.clone()).await.unwrap_err();
    assert!(matches!(r, RevokeRefusal::NotTheGrantor { .. }), "{r:?}");
    vault::revoke_consent(engine(&cica), &who(), grant.clone()).await.unwrap();
    let r = vault::revoke_consent(engine(&cica), &who(), grant.clone()).await.unwrap_err();
    assert!(matches!(r, RevokeRefusal::RevokedAlready { .. }), "{r:?}");
    let r = vault::revoke_consent(engine(&cica), &who(), "0000ffff".into()).await.unwrap_err();
    assert!(matches!(r, RevokeRefusal::ConsentUnknown { .. }), "{r:?}");
    assert_eq!(explain(&cica, &item.id, &x).await, (false, None));
    wait_held("the third party destroys the revoked item", &x, &item.id, false).await;

    // A second request, denied: it cannot be granted after.
    let second = vault::request_consent(engine(&cica), &who(), ask(&item.id, "x-org", "again")).await.unwrap().id;
    vault::deny_consent(engine(&cica), &who(), second.clone()).await.unwrap();
    let r =
        vault::grant_consent(engine(&cica), &who(), GrantConsent { request: second, expires: None }).await.unwrap_err();
    assert!(matches!(&r, AnswerRefusal::Answered { answer, .. } if answer == "denied"), "{r:?}");

    // The provider deletes its item: gone here and at the other Party.
    vault::delete_item(engine(&cica), &who(), item.id.clone()).await.unwrap();
    assert!(!items_of(&cica).await.contains(&item.id));
    let r = vault::delete_item(engine(&cica), &who(), item.id.clone()).await.unwrap_err();
    assert!(matches!(r, DeleteRefusal::NoItem { .. }), "{r:?}");
    wait_held("SCO RATS destroys the deleted item", &rats, &item.id, false).await;
}

/// Events a test's admin was asked to audit, and the sessions it ended.
#[derive(Default)]
struct Seen {
    ended: Mutex<Vec<String>>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_changes_are_the_same_function_offline_and_online() {
    // Offline: a node's data dir with the node stopped, as the CLI finds it.
    let stopped = TestNode::new("cica", None).await;
    let mut stopped = stopped;
    stopped.stop().await;
    let dir = stopped.dir.path();
    let store = liaison::store::Store::open(dir).unwrap();
    let admin = Stopped { dir, store: &store };
    let ctx = Ctx { accounts: Arc::new(Accounts::open(dir).unwrap()), name_chars: 16, by: "CLI".into(), admin: &admin };
    let offline = run_changes(&ctx).await;
    let logged: Vec<Event> = store.audit_entries().unwrap().into_iter().map(|e| e.entry.event).collect();
    drop(ctx);
    drop(store);

    // Online: through a running node's engine, its sessions ended in memory.
    let running = TestNode::new("sco-rats", None).await;
    let seen = Seen::default();
    let admin = Running {
        engine: engine(&running).clone(),
        end_sessions: |name: &str| seen.ended.lock().unwrap().push(name.to_string()),
    };
    let other = tempfile::tempdir().unwrap();
    let ctx = Ctx {
        accounts: Arc::new(Accounts::open(other.path()).unwrap()),
        name_chars: 16,
        by: "CLI".into(),
        admin: &admin,
    };
    let online = run_changes(&ctx).await;
    let audited: Vec<Event> =
        engine(&running).read(|c| c.audit_show(None)).await.unwrap().into_iter().map(|e| e.entry.event).collect();
    // Disabling, a new role and a reset end the account's sessions; enabling does not.
    assert_eq!(*seen.ended.lock().unwrap(), vec!["Vera".to_string(), "Vera".into(), "Vera".into()]);

    // The same refusals, and the same events in the same order, by the same function.
    assert_eq!(offline, online);
    let account_events = |events: &[Event]| -> Vec<String> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::AccountAdded { name, role, by } => Some(format!("added {name} {role} by {by}")),
                Event::AccountDisabled { name, by } => Some(format!("disabled {name} by {by}")),
                Event::AccountEnabled { name, by } => Some(format!("enabled {name} by {by}")),
                Event::AccountRoleChanged { name, from, to, by } => Some(format!("{name} {from}->{to} by {by}")),
                Event::PasswordChanged { name, by, reset } => Some(format!("reset {name} {reset} by {by}")),
                _ => None,
            })
            .collect()
    };
    let expected = vec![
        "added Vera viewer by CLI".to_string(),
        "disabled Vera by CLI".into(),
        "enabled Vera by CLI".into(),
        "Vera viewer->member by CLI".into(),
        "reset Vera true by CLI".into(),
    ];
    assert_eq!(account_events(&logged), expected);
    assert_eq!(account_events(&audited), expected);
}

/// The same changes, whatever the admin; answers what each refusal and result was.
async fn run_changes<A: accounts::Admin>(ctx: &Ctx<'_, A>) -> Vec<String> {
    let mut out = Vec::new();
    let code = |r: AccountRefusal| serde_json::to_value(&r).unwrap()["code"].as_str().unwrap().to_string();
    let add = |name: &str| AddAccount { name: name.into(), role: Role::Viewer };
    let made = accounts::add(ctx, add("Vera")).await.unwrap();
    assert!(made.password.len() >= 12, "a one-time password of {} characters", made.password.len());
    out.push(code(accounts::add(ctx, add("Vera")).await.unwrap_err()));
    out.push(code(accounts::add(ctx, add("a name much longer than sixteen")).await.unwrap_err()));
    out.push(code(accounts::add(ctx, add("bad/name")).await.unwrap_err()));
    out.push(code(accounts::disable(ctx, "Nobody".into()).await.unwrap_err()));
    assert!(accounts::disable(ctx, "Vera".into()).await.unwrap().disabled);
    assert!(!accounts::enable(ctx, "Vera".into()).await.unwrap().disabled);
    assert_eq!(accounts::set_role(ctx, "Vera".into(), Role::Member).await.unwrap().role, Role::Member);
    let reset = accounts::reset_password(ctx, "Vera".into()).await.unwrap();
    assert_ne!(reset.password, made.password);
    let list = accounts::list(ctx).await.unwrap();
    out.push(format!("{:?}", list.iter().map(|a| (&a.name, a.role, a.disabled)).collect::<Vec<_>>()));
    assert_eq!(
        out[..4],
        ["account-exists", "account-name-too-long", "bad-account-name", "no-such-account"].map(String::from)
    );
    out
}
