//! End-to-end tests of the originals of an executed draft (`liaison draft original`) and of the
//! references officers give to provisions: the real `liaison` executable, CICA (A) and SCO RATS
//! (B) on loopback, each with its Party's full names in English and Russian in its config.
//!
//! The PDFs are read back with `pdftotext` (Debian's poppler-utils), as an officer's viewer
//! would show them.

mod common;

use std::path::Path;
use std::process::Command;

use common::{Node, eventually, pair_of};
use serde_json::Value;

const CICA_EN: &str = "CICA Secretariat";
const CICA_RU: &str = "Секретариат Совещания по взаимодействию и мерам доверия в Азии (СВМДА)";
const RATS_EN: &str = "SCO RATS Executive Committee";
const RATS_RU: &str = "Исполнительный комитет Региональной антитеррористической структуры Шанхайской организации сотрудничества (ИК РАТС ШОС)";

// Typed with their headings, as officers paste them: the numbering is generated all the same.
const EN: [&str; 3] = [
    "Article 1. The Parties shall exchange information on the financing of terrorism.",
    "Article 2. The Parties shall hold joint consultations at least once a year.",
    "Article 3. Information received shall not be transmitted to third parties without the prior consent of the providing Party.",
];
const RU: [&str; 3] = [
    "Статья 1. Стороны обмениваются информацией о финансировании терроризма.",
    "Статья 2. Стороны проводят совместные консультации не реже одного раза в год.",
    "Статья 3. Полученная информация не передаётся третьим сторонам без предварительного согласия предоставившей её Стороны.",
];

/// A node whose config names its Party in Russian too.
fn init_named(name: &str, id: &str, en: &str, ru: &str) -> Node {
    let n = Node::init(name, id, en);
    let file = n.dir.join("node.toml");
    let toml = std::fs::read_to_string(&file).expect("node.toml");
    let line = format!("name = \"{en}\"\n");
    assert!(toml.contains(&line), "{toml}");
    std::fs::write(&file, toml.replacen(&line, &format!("{line}name_ru = \"{ru}\"\n"), 1)).expect("write node.toml");
    n
}

/// A (CICA) and B (SCO RATS), both named in two languages, pinned and in sync.
fn named_pair() -> (Node, Node) {
    pair_of(init_named("A", "cica", CICA_EN, CICA_RU), init_named("B", "sco-rats", RATS_EN, RATS_RU))
}

fn file(n: &Node, name: &str, text: &str) -> String {
    n.text_file(name, text).to_str().expect("utf-8 path").to_string()
}

fn show(n: &Node, d: &str) -> Value {
    n.json(&["draft", "show", d, "--json"])
}

fn ids(d: &Value) -> Vec<String> {
    d["provisions"].as_array().expect("provisions").iter().map(|p| p["id"].as_str().unwrap().to_string()).collect()
}

fn text_of(d: &Value, id: &str, lang: &str) -> String {
    let p = d["provisions"].as_array().unwrap().iter().find(|p| p["id"] == id).expect("provision");
    p["texts"][lang].as_str().unwrap().to_string()
}

fn same_draft(what: &str, a: &Node, b: &Node, d: &str) -> Value {
    eventually(what, &[a, b], || {
        let va = a.try_json(&["draft", "show", d, "--json"])?;
        let vb = b.try_json(&["draft", "show", d, "--json"])?;
        if va == vb { Ok(va) } else { Err(format!("A has {va}\nB has {vb}")) }
    })
}

/// A group and a draft of `EN` made on A, with B's Russian text aligned, held by both.
fn draft_in_two_languages(a: &Node, b: &Node) -> String {
    let d = a.new_draft(&EN);
    let v = same_draft("B holds the draft", a, b, &d);
    for (i, (p, ru)) in ids(&v).iter().zip(RU).enumerate() {
        let f = file(b, &format!("ru-{i}.txt"), ru);
        b.ok(&["draft", "text", &d, "--provision", p, "--lang", "ru", "--text-file", &f]);
        b.ok(&["draft", "align", &d, "--provision", p]);
    }
    same_draft("both hold the Russian texts", a, b, &d);
    d
}

/// Text of a PDF as `pdftotext` reads it, with every run of white space made one space (lines
/// break wherever the layout put them).
fn pdf_text(pdf: &Path) -> String {
    let out = Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(pdf)
        .arg("-")
        .output()
        .expect("pdftotext (Debian poppler-utils) must be installed");
    assert!(out.status.success(), "pdftotext {}: {}", pdf.display(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8").split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `draft original` on `n` into its scratch dir; returns the file.
fn original(n: &Node, d: &str, lang: &str) -> std::path::PathBuf {
    let out = n.scratch().join(format!("original-{}-{lang}.pdf", n.name));
    let o = n.json(&["draft", "original", d, "--lang", lang, "--output", out.to_str().unwrap(), "--json"]);
    assert_eq!(o["lang"], lang, "{o}");
    let bytes = std::fs::read(&out).expect("the original");
    assert!(bytes.starts_with(b"%PDF-"), "not a PDF");
    assert_eq!(o["bytes"].as_u64(), Some(bytes.len() as u64), "{o}");
    out
}

#[test]
fn each_language_has_its_original_with_full_names_both_signatures_and_the_hash() {
    let (a, b) = named_pair();
    let d = draft_in_two_languages(&a, &b);

    // Not executed yet: refused, and nothing is written.
    let refused_to = a.scratch().join("too-early.pdf");
    let o = a.run(&["draft", "original", &d, "--lang", "en", "--output", refused_to.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("not executed"), "{err}");
    assert!(!refused_to.exists(), "a refused original left a file");

    a.ok(&["draft", "review", &d]);
    same_draft("review on both", &a, &b, &d);
    a.ok(&["draft", "approve", &d]);
    b.ok(&["draft", "approve", &d]);
    eventually("agreed on both", &[&a, &b], || {
        let (va, vb) = (show(&a, &d), show(&b, &d));
        if va == vb && va["state"] == "agreed" { Ok(()) } else { Err(format!("A {va}\nB {vb}")) }
    });
    a.ok(&["draft", "sign", &d]);
    // Signed by one Party only: still no original.
    let o = a.run(&["draft", "original", &d, "--lang", "ru", "--output", refused_to.to_str().unwrap()]);
    assert!(!o.status.success(), "an original of a draft signed by one Party");
    b.ok(&["draft", "sign", &d]);
    let v = eventually("executed on both, each keeping its original", &[&a, &b], || {
        let (va, vb) = (show(&a, &d), show(&b, &d));
        let kept = |n: &Node| n.run(&["draft", "verify", &d]).status.success();
        if va == vb && va["state"] == "executed" && kept(&a) && kept(&b) {
            Ok(va)
        } else {
            Err(format!("A {va}\nB {vb}"))
        }
    });
    let hash = v["content_hash"].as_str().unwrap().to_string();
    let verify = a.json(&["draft", "verify", &d, "--json"]);
    let fingerprints: Vec<String> = verify["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["fingerprint"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(fingerprints.len(), 2, "{verify}");

    // A language the draft does not have.
    let o = a.run(&["draft", "original", &d, "--lang", "fr", "--output", refused_to.to_str().unwrap()]);
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("not a language of this draft"));

    for (lang, names, other_names, texts, words) in [
        ("en", [CICA_EN, RATS_EN], [CICA_RU, RATS_RU], EN, ["Article", "For", "Signed by:"]),
        ("ru", [CICA_RU, RATS_RU], [CICA_EN, RATS_EN], RU, ["Статья", "За", "Подписал(а):"]),
    ] {
        let from_a = original(&a, &d, lang);
        let from_b = original(&b, &d, lang);
        // Made from the signed state alone: either Party's node makes the very same file.
        assert_eq!(std::fs::read(&from_a).unwrap(), std::fs::read(&from_b).unwrap(), "{lang}: A's and B's differ");
        let t = pdf_text(&from_a);
        assert!(t.contains("Joint proposals on CFT"), "{lang}: no title in\n{t}");
        for n in names {
            assert!(t.contains(n), "{lang}: no Party name {n:?} in\n{t}");
            // The signature block names the Party in full.
            assert!(t.contains(&format!("{} {n}", words[1])), "{lang}: no signature block for {n:?} in\n{t}");
        }
        for n in other_names {
            assert!(!t.contains(n), "{lang}: the other language's name {n:?} in\n{t}");
        }
        assert!(!t.contains("For cica") && !t.contains("sco-rats Signed"), "{lang}: a Party by its id:\n{t}");
        for (i, typed) in texts.iter().enumerate() {
            let body = liaison::workspace::draft::body_text(liaison::workspace::draft::ProvisionKind::Article, typed);
            let numbered = format!("{} {} {body}", words[0], i + 1);
            assert!(t.contains(&numbered), "{lang}: no {numbered:?} in\n{t}");
        }
        // The typed heading is never said twice.
        assert!(!t.contains(&format!("{0} 1 {0} 1", words[0])), "{lang}: doubled heading in\n{t}");
        assert!(
            t.contains(&format!("{} officer-a", words[2])) && t.contains(&format!("{} officer-b", words[2])),
            "{lang}: {t}"
        );
        for fp in &fingerprints {
            assert!(t.contains(fp.as_str()), "{lang}: no key fingerprint {fp} in\n{t}");
        }
        assert!(t.contains(&hash), "{lang}: no content hash {hash} in\n{t}");
        assert!(t.contains(&format!("liaison draft verify {d}")), "{lang}: no way to verify in\n{t}");
    }
}

#[test]
fn a_label_is_the_numbering_draft_show_prints_or_that_of_the_version_given() {
    let (a, b) = named_pair();
    let d = draft_in_two_languages(&a, &b);
    let before = show(&a, &d);
    let version = before["version"].as_str().unwrap().to_string();
    let [p1, p2, p3]: [String; 3] = ids(&before).try_into().unwrap();

    a.ok(&["draft", "provision", "move", &d, "--provision", "a2", "--first"]);
    let moved = show(&a, &d);
    assert_eq!(ids(&moved), [p2.clone(), p1.clone(), p3.clone()]);
    // `draft show` prints the numbering labels are read in now, with each stable id.
    let printed = a.ok(&["draft", "show", &d]);
    assert!(
        printed.contains(&format!("Article 1 [{p2}]")) && printed.contains(&format!("Article 2 [{p1}]")),
        "{printed}"
    );

    // With the version the officer read before the move, "a1" is still what was Article 1 then.
    let f = file(&a, "then.txt", "Статья 1. Текст, написанный по старой нумерации.");
    a.ok(&["draft", "text", &d, "--provision", "a1", "--lang", "ru", "--text-file", &f, "--base", &version]);
    let v = show(&a, &d);
    assert_eq!(text_of(&v, &p1, "ru"), "Статья 1. Текст, написанный по старой нумерации.");
    assert_eq!(text_of(&v, &p2, "ru"), RU[1], "the provision that moved was written into");

    // Without a version, "a1" is Article 1 as numbered now: the provision that moved.
    let f = file(&a, "now.txt", "Новый текст первой статьи.");
    a.ok(&["draft", "text", &d, "--provision", "a1", "--lang", "ru", "--text-file", &f]);
    let v = show(&a, &d);
    assert_eq!(text_of(&v, &p2, "ru"), "Новый текст первой статьи.");
    assert_eq!(text_of(&v, &p1, "ru"), "Статья 1. Текст, написанный по старой нумерации.");

    // An id names the same provision whatever moved; a label past the end is refused.
    let f = file(&a, "id.txt", "Третья.");
    a.ok(&["draft", "text", &d, "--provision", &p3, "--lang", "ru", "--text-file", &f, "--base", &version]);
    assert_eq!(text_of(&show(&a, &d), &p3, "ru"), "Третья.");
    let o = a.run(&["draft", "text", &d, "--provision", "a4", "--lang", "ru", "--text-file", &f]);
    assert!(!o.status.success(), "a4 of a three-article draft");

    // A provision removed since the version given is refused, not replaced by its successor.
    a.ok(&["draft", "provision", "remove", &d, "--provision", &p1]);
    let o = a.run(&["draft", "text", &d, "--provision", "a1", "--lang", "ru", "--text-file", &f, "--base", &version]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("removed since"), "{err}");
    assert_eq!(text_of(&show(&a, &d), &p2, "ru"), "Новый текст первой статьи.");
}

#[test]
fn a_typed_article_number_is_not_repeated_in_the_export_even_after_a_move() {
    let (a, b) = named_pair();
    let d = draft_in_two_languages(&a, &b);
    a.ok(&["draft", "provision", "move", &d, "--provision", "a2", "--first"]);
    same_draft("the move on both", &a, &b, &d);
    let md = b.ok(&["draft", "export", &d, "--format", "md"]);
    assert!(
        md.contains(
            "| Article 1 / Статья 1 | The Parties shall hold joint consultations at least once a year. | Стороны проводят совместные консультации не реже одного раза в год. |"
        ),
        "{md}"
    );
    assert!(!md.contains("Article 2. The Parties shall hold") && !md.contains("Статья 2. Стороны"), "{md}");
    // Parties by their full names in both languages, never by id.
    assert!(md.contains(&format!("{CICA_EN} / {CICA_RU}")) && md.contains(&format!("{RATS_EN} / {RATS_RU}")), "{md}");
    assert!(md.contains("State / Состояние: **draft / проект**"), "{md}");
}
