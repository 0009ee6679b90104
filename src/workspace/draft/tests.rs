use automerge::Automerge;
use ed25519_dalek::SigningKey;

use super::*;
use crate::workspace::WorkspaceError;
use crate::workspace::testing::{ctx, sync_pair};

fn cica() -> ChangeCtx {
    ctx("ana", "cica")
}

fn rats() -> ChangeCtx {
    ctx("ivan", "sco-rats")
}

const TEXT: &str = "Preamble: the Parties, recalling the Protocol,\n\nArticle 1. The Parties cooperate.\n\nArticle 2. Information is exchanged.\n\nArticle 3. Meetings are held.";

fn new_draft() -> Automerge {
    let mut d = Automerge::new();
    create(
        &mut d,
        &cica(),
        &NewDraft {
            titles: Default::default(),
            group: "g".into(),
            title: "Joint proposals".into(),
            lang: "en".into(),
            text: TEXT.into(),
            languages: vec![],
            parties: vec!["cica".into(), "sco-rats".into()],
        },
    )
    .unwrap();
    d
}

fn fork(d: &Automerge) -> Automerge {
    d.fork()
}

fn art(d: &Automerge, n: usize) -> String {
    read(d, "").unwrap().provisions.iter().filter(|p| p.kind == ProvisionKind::Article).nth(n - 1).unwrap().id.clone()
}

#[test]
fn paragraphs_become_provisions_and_the_whole_text_round_trips() {
    let d = new_draft();
    let v = read(&d, "x").unwrap();
    assert_eq!(v.languages, ["en", "ru"]);
    assert_eq!(v.provisions.len(), 4);
    assert_eq!(v.provisions[0].kind, ProvisionKind::Preamble);
    assert_eq!(
        v.provisions.iter().map(|p| p.label.as_str()).collect::<Vec<_>>(),
        ["Preamble 1", "Article 1", "Article 2", "Article 3"]
    );
    assert_eq!(v.text, TEXT);
    assert_eq!(whole_text(&d, "ru").unwrap(), "\n\n\n\n\n\n");
    // The Russian texts are to be written: stale, since the English came first.
    assert!(v.provisions.iter().all(|p| p.stale.contains_key("ru")));
    assert_eq!(v.state, DraftState::Draft);
}

#[test]
fn an_edit_in_one_language_marks_the_others_stale_until_aligned() {
    let mut d = new_draft();
    let a1 = art(&d, 1);
    for p in read(&d, "").unwrap().provisions {
        align(&mut d, &cica(), &p.id).unwrap();
    }
    set_provision_text(&mut d, &rats(), &a1, "ru", "Статья 1. Стороны сотрудничают.").unwrap();
    let v = read(&d, "").unwrap();
    let p = v.provisions.iter().find(|p| p.id == a1).unwrap();
    let stale = p.stale.get("en").expect("English marked stale");
    assert_eq!((stale.changed_lang.as_str(), stale.by.as_ref().unwrap().officer.as_str()), ("ru", "ivan"));
    assert!(stale.since_rev > 0);
    assert!(!p.stale.contains_key("ru"));
    // Bringing English in line marks nothing new; the officer then clears the mark.
    set_provision_text(&mut d, &cica(), &a1, "en", "Article 1. The Parties shall cooperate.").unwrap();
    assert!(!read(&d, "").unwrap().provisions.iter().find(|p| p.id == a1).unwrap().stale.contains_key("ru"));
    align(&mut d, &cica(), &a1).unwrap();
    assert!(read(&d, "").unwrap().provisions.iter().find(|p| p.id == a1).unwrap().stale.is_empty());
}

#[test]
fn concurrent_edits_of_the_same_provision_in_the_same_language_both_survive() {
    let mut a = new_draft();
    let mut b = fork(&a);
    let a2 = art(&a, 2);
    set_provision_text(&mut a, &cica(), &a2, "en", "Article 2. Information is promptly exchanged.").unwrap();
    set_provision_text(&mut b, &rats(), &a2, "en", "Article 2. Information is exchanged in writing.").unwrap();
    sync_pair(&mut a, &mut b);
    let ta = read(&a, "").unwrap();
    assert_eq!(ta, read(&b, "").unwrap());
    let t = &ta.provisions.iter().find(|p| p.id == a2).unwrap().texts["en"];
    assert!(t.contains("promptly") && t.contains("in writing"), "{t}");
}

#[test]
fn concurrent_moves_resolve_the_same_on_both_nodes() {
    let mut a = new_draft();
    let mut b = fork(&a);
    let (a1, a2, a3) = (art(&a, 1), art(&a, 2), art(&a, 3));
    // Both move Article 3, to different places; B also moves Article 1 to the end.
    move_provision(&mut a, &cica(), &a3, &Place::First).unwrap();
    move_provision(&mut b, &rats(), &a3, &Place::After(a1.clone())).unwrap();
    move_provision(&mut b, &rats(), &a1, &Place::Last).unwrap();
    sync_pair(&mut a, &mut b);
    let va = read(&a, "").unwrap();
    assert_eq!(va, read(&b, "").unwrap());
    let ids: Vec<&str> = va.provisions.iter().map(|p| p.id.as_str()).collect();
    // Every provision exactly once, whatever the order the merge settled on.
    assert_eq!(ids.len(), 4);
    for id in [&a1, &a2, &a3] {
        assert_eq!(ids.iter().filter(|x| **x == id.as_str()).count(), 1);
    }
}

#[test]
fn a_move_concurrent_with_a_removal_does_not_revive_the_provision() {
    let mut a = new_draft();
    let mut b = fork(&a);
    let a2 = art(&a, 2);
    move_provision(&mut a, &cica(), &a2, &Place::First).unwrap();
    remove_provision(&mut b, &rats(), &a2).unwrap();
    sync_pair(&mut a, &mut b);
    assert!(read(&a, "").unwrap().provisions.iter().all(|p| p.id != a2));
    assert_eq!(read(&a, "").unwrap(), read(&b, "").unwrap());
}

fn ready_for_approval(d: &mut Automerge) {
    for p in read(d, "").unwrap().provisions {
        set_provision_text(d, &rats(), &p.id, "ru", &format!("Русский текст {}", p.label)).unwrap();
        align(d, &cica(), &p.id).unwrap();
    }
    start_review(d, &Records::default(), &cica()).unwrap();
}

const DRAFT: crate::ids::DocId = crate::ids::DocId([8; 16]);

fn keys() -> (SigningKey, SigningKey) {
    (SigningKey::from_bytes(&[1; 32]), SigningKey::from_bytes(&[2; 32]))
}

fn pinned(p: &crate::ids::PartyId) -> Option<[u8; 32]> {
    let (kc, kr) = keys();
    match p.as_str() {
        "cica" => Some(kc.verifying_key().to_bytes()),
        "sco-rats" => Some(kr.verifying_key().to_bytes()),
        _ => None,
    }
}

/// A draft with each Party's annex, as two nodes hold them.
struct Desk {
    doc: Automerge,
    cica: Automerge,
    rats: Automerge,
}

impl Desk {
    fn new(doc: Automerge) -> Desk {
        let annex = |p: &str| {
            let mut a = crate::workspace::party_docs::PartyDoc::Annex(DRAFT).genesis(&p.parse().unwrap()).unwrap();
            a.set_actor(automerge::ActorId::random());
            a
        };
        Desk { doc, cica: annex("cica"), rats: annex("sco-rats") }
    }
    fn recs(&self) -> Records {
        Records::read(&[&self.cica, &self.rats], &pinned).unwrap()
    }
    fn read(&self) -> Draft {
        read_with(&self.doc, &self.recs(), "x").unwrap()
    }
    fn state(&self) -> DraftState {
        self.read().state
    }
    fn approve(&mut self, ctx: &ChangeCtx) -> Result<()> {
        let recs = self.recs();
        let annex = if ctx.author.party.as_str() == "cica" { &mut self.cica } else { &mut self.rats };
        approve(annex, &self.doc, &recs, ctx, "x")
    }
    fn sign(&mut self, ctx: &ChangeCtx, key: &SigningKey) -> Result<()> {
        let recs = self.recs();
        let annex = if ctx.author.party.as_str() == "cica" { &mut self.cica } else { &mut self.rats };
        sign(annex, &self.doc, &recs, ctx, "x", key)
    }
    fn fork(&self) -> Desk {
        Desk { doc: self.doc.fork(), cica: self.cica.fork(), rats: self.rats.fork() }
    }
    fn sync(&mut self, other: &mut Desk) {
        sync_pair(&mut self.doc, &mut other.doc);
        sync_pair(&mut self.cica, &mut other.cica);
        sync_pair(&mut self.rats, &mut other.rats);
    }
}

#[test]
fn agreement_needs_no_stale_no_open_suggestion_and_both_approvals_and_an_edit_voids_them() {
    let mut d = Desk::new(new_draft());
    ready_for_approval(&mut d.doc);
    d.approve(&cica()).unwrap();
    assert_eq!(d.state(), DraftState::UnderReview);
    d.approve(&rats()).unwrap();
    assert_eq!(d.state(), DraftState::Agreed);
    // An open suggestion holds it back, until decided.
    let a1 = art(&d.doc, 1);
    let s =
        suggest(&mut d.rats, &d.doc, &rats(), &a1, "en", "Article 1. The Parties shall cooperate closely.").unwrap();
    assert_eq!(d.state(), DraftState::UnderReview);
    assert_eq!(
        d.read().provisions.iter().find(|p| p.id == a1).unwrap().texts["en"],
        "Article 1. The Parties cooperate."
    );
    let sd = suggestions(&d.doc, &d.recs()).unwrap().remove(0).diff;
    assert_eq!(
        crate::workspace::word_diff::render(&sd, false),
        "Article 1. The Parties {+shall +}cooperate{+ closely+}."
    );
    // A Party cannot suggest, or decide, in the other's annex.
    assert!(suggest(&mut d.cica, &d.doc, &rats(), &a1, "en", "x").is_err());
    let recs = d.recs();
    decide(&mut d.doc, &mut d.cica, &recs, &cica(), &s, false).unwrap();
    assert_eq!(d.state(), DraftState::Agreed);
    let recs = d.recs();
    assert!(decide(&mut d.doc, &mut d.cica, &recs, &cica(), &s, true).is_err(), "decided already");
    // Any later edit voids both approvals.
    set_provision_text(&mut d.doc, &cica(), &a1, "en", "Article 1. The Parties cooperate fully.").unwrap();
    let v = d.read();
    assert!(v.approvals.iter().all(|a| !a.valid));
    assert_eq!(v.state, DraftState::UnderReview);
}

#[test]
fn an_accepted_suggestion_goes_into_the_text_and_either_party_may_accept() {
    let mut d = Desk::new(new_draft());
    let a1 = art(&d.doc, 1);
    let s = suggest(&mut d.cica, &d.doc, &cica(), &a1, "en", "Article 1. The Parties cooperate closely.").unwrap();
    let recs = d.recs();
    decide(&mut d.doc, &mut d.rats, &recs, &rats(), &s, true).unwrap();
    let v = d.read();
    assert!(v.open_suggestions.is_empty());
    assert!(v.text.contains("cooperate closely"));
    assert_eq!(suggestions(&d.doc, &d.recs()).unwrap()[0].decided_by.as_ref().unwrap().party.as_str(), "sco-rats");
}

#[test]
fn approval_concurrent_with_an_edit_is_void_on_both_nodes() {
    let mut a = Desk::new(new_draft());
    ready_for_approval(&mut a.doc);
    a.approve(&rats()).unwrap();
    let mut b = a.fork();
    a.approve(&cica()).unwrap();
    let p2 = art(&b.doc, 2);
    set_provision_text(&mut b.doc, &rats(), &p2, "en", "Article 2. Changed.").unwrap();
    a.sync(&mut b);
    for d in [&a, &b] {
        let v = d.read();
        assert_ne!(v.state, DraftState::Agreed);
        assert!(v.approvals.iter().all(|x| !x.valid));
    }
}

#[test]
fn both_parties_signing_at_once_executes_it_and_freezes_it() {
    let (kc, kr) = keys();
    let mut a = Desk::new(new_draft());
    ready_for_approval(&mut a.doc);
    a.approve(&cica()).unwrap();
    a.approve(&rats()).unwrap();
    let mut b = a.fork();
    // A draft that is not agreed cannot be signed, and says why.
    let mut c = Desk::new(new_draft());
    let e = c.sign(&cica(), &kc).unwrap_err().to_string();
    assert!(e.contains("not agreed"), "{e}");
    a.sign(&cica(), &kc).unwrap();
    // The signing Party can no longer change the text it signed; the other Party could.
    let p1 = art(&a.doc, 1);
    let e = check_editable(&a.doc, &a.recs(), "cica").unwrap_err().to_string();
    assert!(e.contains("signed this text"), "{e}");
    assert!(check_editable(&a.doc, &a.recs(), "sco-rats").is_ok());
    b.sign(&rats(), &kr).unwrap();
    a.sync(&mut b);
    assert_eq!(a.state(), DraftState::Executed);
    assert_eq!(a.read(), b.read());
    for p in ["cica", "sco-rats"] {
        let e = check_editable(&a.doc, &a.recs(), p).unwrap_err();
        assert!(matches!(e, WorkspaceError::Refused(crate::authority::Refusal::Frozen)), "{e}");
    }
    assert!(executed(&a.doc, &a.recs()).unwrap());
    let _ = p1;
    // Verification against the pinned keys and this node's original.
    let original = executed_original(&a.doc, &a.recs(), "x").unwrap().unwrap();
    assert!(verify(&a.doc, &a.recs(), "x", &pinned, Some(&original)).unwrap().ok);
    // A stored text tampered with afterwards (a change made behind the node's back) fails.
    let mut tampered = a.doc.fork();
    {
        use automerge::transaction::Transactable;
        let p = provision_obj(&tampered, &art(&tampered, 2)).unwrap();
        let texts = match tampered.get(&p, "texts").unwrap() {
            Some((automerge::Value::Object(automerge::ObjType::Map), t)) => t,
            _ => panic!(),
        };
        let t = match tampered.get(&texts, "ru").unwrap() {
            Some((_, t)) => t,
            None => panic!(),
        };
        let mut tx = tampered.transaction();
        tx.splice_text(&t, 0, 0, "НЕ ").unwrap();
        tx.commit();
    }
    let v = verify(&tampered, &a.recs(), "x", &pinned, Some(&original)).unwrap();
    assert!(!v.ok);
    assert!(v.problems.iter().any(|p| p.contains("does not verify")), "{:?}", v.problems);
    assert!(v.problems.iter().any(|p| p.contains("differs from this node's executed original")), "{:?}", v.problems);
    // A signature by a key other than the pinned one does not count: the draft is not executed.
    let wrong = |p: &crate::ids::PartyId| if p.as_str() == "cica" { Some([9; 32]) } else { pinned(p) };
    let recs_wrong = Records::read(&[&a.cica, &a.rats], &wrong).unwrap();
    assert!(!executed(&a.doc, &recs_wrong).unwrap());
    assert!(!verify(&a.doc, &recs_wrong, "x", &wrong, Some(&original)).unwrap().ok);
}

#[test]
fn garbage_signatures_do_not_execute_a_draft() {
    let (kc, _) = keys();
    let mut a = Desk::new(new_draft());
    ready_for_approval(&mut a.doc);
    a.approve(&cica()).unwrap();
    a.approve(&rats()).unwrap();
    a.sign(&cica(), &kc).unwrap();
    // The other Party's annex holds a signature that is not one (its own word, and worthless).
    let hash = hex::encode(content_hash(&a.doc).unwrap());
    records::put_signature(&mut a.rats, &rats(), &hash, &"00".repeat(64), &hex::encode([7u8; 32]), "").unwrap();
    assert_ne!(a.state(), DraftState::Executed);
    assert!(!executed(&a.doc, &a.recs()).unwrap());
    assert!(check_editable(&a.doc, &a.recs(), "sco-rats").is_ok());
}

#[test]
fn an_edit_from_an_old_version_keeps_what_others_changed_since() {
    let mut a = new_draft();
    let base = parse_version(&read(&a, "").unwrap().version).unwrap();
    let edited = TEXT.replace("Article 1. The Parties cooperate.", "Article 1. The Parties cooperate closely.");
    set_text(&mut a, &rats(), &edited).unwrap();
    let mine = TEXT.replace("Article 3. Meetings are held.", "Article 3. Meetings are held twice a year.");
    set_text_from(&mut a, &cica(), Some(&base), &mine).unwrap();
    let t = read(&a, "").unwrap().text;
    assert!(t.contains("closely") && t.contains("twice a year"), "{t}");
    let e = set_text(&mut a, &cica(), "only one paragraph").unwrap_err().to_string();
    assert!(e.contains("provision"), "{e}");
}

#[test]
fn named_versions_and_diffs() {
    let mut d = new_draft();
    name_version(&mut d, &cica(), "first reading").unwrap();
    let p3 = art(&d, 3);
    set_provision_text(&mut d, &cica(), &p3, "en", "Article 3. Meetings are held yearly.").unwrap();
    let out = diff(&d, Some("en"), None, None).unwrap();
    let text = crate::workspace::word_diff::render(&out.diff, false);
    assert!(text.contains("Article 3. Meetings are held{+ yearly+}."), "{text}");
    assert_eq!(out.from, "first reading");
    assert!(!text.contains("No newline"), "{text}");
    assert!(diff(&d, Some("en"), Some("no such"), None).is_err());
    assert!(name_version(&mut d, &cica(), "first reading").is_err());
}

#[test]
fn splices_count_characters_and_stay_inside_one_provision() {
    let mut d = new_draft();
    let a1 = art(&d, 1);
    splice(
        &mut d,
        &cica(),
        &Splice {
            provision: Some(a1.clone()), lang: Some("ru".into()), pos: 0, delete: 0, insert: "Статья".into()
        },
    )
    .unwrap();
    splice(
        &mut d,
        &cica(),
        &Splice { provision: Some(a1.clone()), lang: Some("ru".into()), pos: 6, delete: 0, insert: " 1".into() },
    )
    .unwrap();
    assert_eq!(read(&d, "").unwrap().provisions[1].texts["ru"], "Статья 1");
    assert!(
        splice(
            &mut d,
            &cica(),
            &Splice { provision: Some(a1), lang: Some("ru".into()), pos: 9, delete: 0, insert: "x".into() }
        )
        .is_err()
    );
    // Without a provision, positions count in the whole text.
    let start = TEXT.find("Article 2").unwrap();
    splice(&mut d, &cica(), &Splice { provision: None, lang: None, pos: start, delete: 0, insert: ">".into() })
        .unwrap();
    assert!(read(&d, "").unwrap().text.contains(">Article 2"));
}

#[test]
fn export_shows_both_languages_side_by_side_and_escapes_text() {
    let mut d = new_draft();
    let p1 = art(&d, 1);
    set_provision_text(&mut d, &cica(), &p1, "ru", "<script>alert(1)</script> Статья 1").unwrap();
    let v = read(&d, "x").unwrap();
    let h = export::html(&v, &|p, _| p.to_string());
    assert!(!h.contains("<script>alert"));
    assert!(h.contains("&lt;script&gt;") && h.contains("Статья 1"));
    // The label is generated, in both languages; the typed "Article 2." is not said again.
    assert!(
        h.contains("<td class=\"label\">Article 2 / Статья 2</td><td lang=\"en\">Information is exchanged.</td>"),
        "{h}"
    );
    assert!(!h.contains("Article 2. Information"), "{h}");
    let m = export::markdown(&v, &|p, _| p.to_string());
    assert!(m.contains("| EN | RU |") && m.contains("| Article 1 / Статья 1 | The Parties cooperate."), "{m}");
    // Markdown viewers render HTML: the text's markup is escaped there too.
    assert!(!m.contains("<script>") && m.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{m}");
}

#[test]
fn a_typed_article_heading_is_not_said_twice() {
    let a = ProvisionKind::Article;
    for (typed, body) in [
        ("Article 1. Scope.", "Scope."),
        ("  article 12: Scope", "Scope"),
        ("Статья 2. Сфера применения.", "Сфера применения."),
        ("СТАТЬЯ 3 — Сфера", "Сфера"),
        ("Article 4 The Parties", "The Parties"),
        ("Article 5.", ""),
        // Not a heading: the text stays as it is.
        ("Articles 1 to 3 apply.", "Articles 1 to 3 apply."),
        ("Article 12a. Scope", "Article 12a. Scope"),
        ("The Parties, Article 1.", "The Parties, Article 1."),
    ] {
        assert_eq!(body_text(a, typed), body, "{typed:?}");
    }
    // A preamble paragraph keeps its words, whatever they are.
    assert_eq!(body_text(ProvisionKind::Preamble, "Article 1. x"), "Article 1. x");
}

#[test]
fn a_label_names_the_current_numbering_or_that_of_the_version_given() {
    let mut d = new_draft();
    let before = version_of(&d);
    let old1 = art(&d, 1);
    let old2 = art(&d, 2);
    assert_eq!(resolve_provision(&d, "a1").unwrap(), old1);
    assert_eq!(resolve_provision(&d, "Article 2").unwrap(), old2);
    assert_eq!(resolve_provision(&d, "статья 2").unwrap(), old2);
    move_provision(&mut d, &cica(), &old2, &Place::First).unwrap();
    // Now: "a1" is the provision that moved (as `draft show` prints it now)...
    assert_eq!(resolve_provision(&d, "a1").unwrap(), old2);
    // ...but read in the version the officer saw, it is still the one that was Article 1.
    let base = parse_version(&before).unwrap();
    assert_eq!(resolve_provision_at(&d, "a1", Some(&base)).unwrap(), old1);
    // Ids are the same in every version, and a prefix of at least 4 hex digits will do.
    assert_eq!(resolve_provision_at(&d, &old1, Some(&base)).unwrap(), old1);
    assert_eq!(resolve_provision(&d, &old1[..4]).unwrap(), old1);
    // Fewer than 4 characters is never an id prefix.
    assert!(matches!(resolve_provision(&d, &old1[..3]), Err(WorkspaceError::NoSuchEntry { .. }) | Ok(_)));
    assert!(resolve_provision(&d, "a9").is_err());
    // A provision removed since the version given is not written into.
    remove_provision(&mut d, &cica(), &old1).unwrap();
    assert!(matches!(resolve_provision_at(&d, "a1", Some(&base)), Err(WorkspaceError::NoSuchEntry { .. })));
}

#[test]
fn the_original_is_refused_before_execution_and_the_same_every_time_after() {
    let (kc, kr) = keys();
    let names: std::collections::BTreeMap<String, String> =
        [("cica", "Секретариат СВМДА"), ("sco-rats", "ИК РАТС ШОС")]
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .into();
    let mut d = Desk::new(new_draft());
    assert_eq!(
        pdf::original(&d.read(), "ru", &names, None).unwrap_err(),
        pdf::OriginalRefusal::NotExecuted { state: DraftState::Draft }
    );
    ready_for_approval(&mut d.doc);
    d.approve(&cica()).unwrap();
    d.approve(&rats()).unwrap();
    d.sign(&cica(), &kc).unwrap();
    assert!(matches!(pdf::original(&d.read(), "ru", &names, None), Err(pdf::OriginalRefusal::NotExecuted { .. })));
    d.sign(&rats(), &kr).unwrap();
    let v = d.read();
    let kept = content_hash(&d.doc).unwrap();
    let a = pdf::original(&v, "ru", &names, Some(&kept)).unwrap();
    assert!(a.starts_with(b"%PDF-"));
    // Made again from the same signed state: the same bytes.
    assert_eq!(a, pdf::original(&v, "ru", &names, Some(&kept)).unwrap());
    assert_ne!(a, pdf::original(&v, "en", &names, Some(&kept)).unwrap());
    // Not a language of the draft; not the text this node kept.
    assert!(matches!(pdf::original(&v, "fr", &names, Some(&kept)), Err(pdf::OriginalRefusal::NoSuchLanguage { .. })));
    assert!(matches!(
        pdf::original(&v, "ru", &names, Some(&[0; 32])),
        Err(pdf::OriginalRefusal::DiffersFromKept { .. })
    ));
    assert!(matches!(pdf::original(&v, "ru", &names, None), Err(pdf::OriginalRefusal::DiffersFromKept { .. })));
}

#[test]
fn a_draft_read_names_the_same_content_hash_as_the_canonical_form() {
    let mut d = new_draft();
    let ru = |last: &str| ["Преамбула.", "Статья 1. Стороны сотрудничают.", "Статья 2. Обмен.", last].join("\n\n");
    set_text_lang(&mut d, &rats(), Some("ru"), &ru("Статья 3. Встречи.")).unwrap();
    let read = read(&d, "").unwrap();
    assert!(read.languages.len() == 2 && read.provisions.len() > 2, "{:?}", read.languages);
    // `read_with` hashes the texts it read; the hash signed and checked reads them again.
    assert_eq!(read.content_hash, hex::encode(content_hash(&d).unwrap()));
    set_text_lang(&mut d, &rats(), Some("ru"), &ru("Статья 3. Встречи проводятся.")).unwrap();
    let changed = super::read(&d, "").unwrap();
    assert_ne!(changed.content_hash, read.content_hash, "a text in the second language is content");
    assert_eq!(changed.content_hash, hex::encode(content_hash(&d).unwrap()));
}

#[test]
fn a_whole_provision_id_resolves_only_while_the_provision_is_in_the_draft() {
    let mut d = new_draft();
    let ids: Vec<String> = read(&d, "").unwrap().provisions.iter().map(|p| p.id.clone()).collect();
    assert_eq!(resolve_provision(&d, &ids[1]).unwrap(), ids[1]);
    assert_eq!(resolve_provision(&d, &ids[1].to_uppercase()).unwrap(), ids[1], "ids are read in any case");
    remove_provision(&mut d, &cica(), &ids[1]).unwrap();
    assert!(resolve_provision(&d, &ids[1]).is_err(), "a removed provision's id still resolved");
    assert!(resolve_provision(&d, "0123abcd").is_err(), "an unknown id resolved");
    assert_eq!(resolve_provision(&d, &ids[2]).unwrap(), ids[2]);
}
