//! Export of a draft: every language side by side, aligned provision by provision, with the
//! state, the approvals and, once executed, the signature block with each Party's key
//! fingerprint. HTML is self-contained (no external asset) and printable; all draft text is
//! escaped, so no text can inject markup.
//!
//! The export is bilingual, so are its words: each label is given in every language of the
//! draft that has words here (English and Russian), "Article 1 / Статья 1"; Parties are named
//! by their full names in each language. A heading typed into an article's text ("Article 1.")
//! is not repeated after the generated label (see [`super::body_text`]).

use super::{Draft, DraftState, Provision, ProvisionKind, body_text};

/// A Party's full name in a language: `(party id, lang) -> name`.
pub type PartyName<'a> = &'a dyn Fn(&str, &str) -> String;

/// The export's words in one language.
struct Words {
    article: &'static str,
    preamble: &'static str,
    state: &'static str,
    version: &'static str,
    hash: &'static str,
    parties: &'static str,
    approvals: &'static str,
    none_yet: &'static str,
    void: &'static str,
    signatures: &'static str,
    for_party: &'static str,
    key: &'static str,
    stale: &'static str,
}

const EN: Words = Words {
    article: "Article",
    preamble: "Preamble",
    state: "State",
    version: "Version",
    hash: "Content hash",
    parties: "Parties",
    approvals: "Approvals",
    none_yet: "None yet.",
    void: "void: the text changed since",
    signatures: "Signatures",
    for_party: "For",
    key: "Key fingerprint",
    stale: "stale",
};

const RU: Words = Words {
    article: "Статья",
    preamble: "Преамбула",
    state: "Состояние",
    version: "Версия",
    hash: "Хеш содержания",
    parties: "Стороны",
    approvals: "Одобрения",
    none_yet: "Пока нет.",
    void: "недействительно: текст изменён после одобрения",
    signatures: "Подписи",
    for_party: "За",
    key: "Отпечаток ключа",
    stale: "требует сверки",
};

fn state_in(lang: &str, s: DraftState) -> String {
    if lang != "ru" {
        return s.to_string();
    }
    match s {
        DraftState::Draft => "проект",
        DraftState::UnderReview => "на рассмотрении",
        DraftState::Agreed => "согласован",
        DraftState::Executed => "подписан",
        DraftState::Withdrawn => "отозван",
    }
    .into()
}

/// The languages the export's words are given in: the draft's own that have words here, in the
/// draft's order (English alone when none has).
fn word_langs(d: &Draft) -> Vec<&'static str> {
    let v: Vec<&'static str> = d
        .languages
        .iter()
        .filter_map(|l| match l.as_str() {
            "en" => Some("en"),
            "ru" => Some("ru"),
            _ => None,
        })
        .collect();
    if v.is_empty() { vec!["en"] } else { v }
}

fn words(lang: &str) -> &'static Words {
    if lang == "ru" { &RU } else { &EN }
}

/// `f` in every word language, joined with " / ".
fn both(d: &Draft, f: impl Fn(&'static str, &'static Words) -> String) -> String {
    word_langs(d).into_iter().map(|l| f(l, words(l))).collect::<Vec<_>>().join(" / ")
}

/// A provision's label in every word language ("Article 2 / Статья 2"); items keep "(b)".
fn label(d: &Draft, p: &Provision, n: usize) -> String {
    match p.kind {
        ProvisionKind::Article => both(d, |_, w| format!("{} {n}", w.article)),
        ProvisionKind::Preamble => both(d, |_, w| format!("{} {n}", w.preamble)),
        ProvisionKind::Item => p.label.clone(),
    }
}

/// Each provision with its number among those of its kind (for the labels).
fn numbered(d: &Draft) -> Vec<(&Provision, usize)> {
    let (mut a, mut pr) = (0, 0);
    d.provisions
        .iter()
        .map(|p| {
            let n = match p.kind {
                ProvisionKind::Article => {
                    a += 1;
                    a
                }
                ProvisionKind::Preamble => {
                    pr += 1;
                    pr
                }
                ProvisionKind::Item => 0,
            };
            (p, n)
        })
        .collect()
}

/// Every Party of the draft by its full names, "CICA Secretariat / Секретариат СВМДА".
fn party(d: &Draft, names: PartyName<'_>, id: &str) -> String {
    let mut v: Vec<String> = word_langs(d).into_iter().map(|l| names(id, l)).collect();
    v.dedup();
    v.join(" / ")
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// Markdown renderers pass HTML through, so the text's own `&`, `<` and `>` are escaped as
/// entities (the other Party's text must not become markup in anyone's viewer).
fn md_cell(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('\n', "<br>")
}

fn who(a: &Option<crate::workspace::Author>) -> String {
    a.as_ref().map(|a| a.officer.clone()).unwrap_or_default()
}

/// Markdown.
pub fn markdown(d: &Draft, names: PartyName<'_>) -> String {
    let mut s = format!("# {}\n\n", md_cell(&d.title));
    let parties: Vec<String> = d.parties.iter().map(|p| md_cell(&party(d, names, p))).collect();
    s.push_str(&format!(
        "- {}: **{}**\n- {}: `{}`\n- {}: `{}`\n- {}: {}\n\n",
        both(d, |_, w| w.state.to_string()),
        both(d, |l, _| state_in(l, d.state)),
        both(d, |_, w| w.version.to_string()),
        short(&d.version),
        both(d, |_, w| w.hash.to_string()),
        d.content_hash,
        both(d, |_, w| w.parties.to_string()),
        parties.join("; ")
    ));
    s.push_str("| |");
    for l in &d.languages {
        s.push_str(&format!(" {} |", l.to_uppercase()));
    }
    s.push_str("\n|---|");
    for _ in &d.languages {
        s.push_str("---|");
    }
    s.push('\n');
    for (p, n) in numbered(d) {
        s.push_str(&format!("| {} |", md_cell(&label(d, p, n))));
        for l in &d.languages {
            let mut t = md_cell(body_text(p.kind, p.texts.get(l).map(String::as_str).unwrap_or("")));
            if p.stale.contains_key(l) {
                t.push_str(&format!(" *({})*", words(l).stale));
            }
            s.push_str(&format!(" {t} |"));
        }
        s.push('\n');
    }
    s.push_str(&format!("\n## {}\n\n", both(d, |_, w| w.approvals.to_string())));
    if d.approvals.is_empty() {
        s.push_str(&format!("{}\n", both(d, |_, w| w.none_yet.to_string())));
    }
    for a in &d.approvals {
        s.push_str(&format!(
            "- {}: {}, {}{}\n",
            md_cell(&party(d, names, &a.party)),
            md_cell(&who(&a.officer)),
            a.at,
            if a.valid { String::new() } else { format!(" ({})", both(d, |_, w| w.void.to_string())) }
        ));
    }
    if d.state == DraftState::Executed {
        s.push_str(&format!("\n## {}\n\n", both(d, |_, w| w.signatures.to_string())));
        for g in &d.signatures {
            s.push_str(&format!(
                "- **{}**: {}, {}; {} `{}`\n",
                md_cell(&both(d, |l, w| format!("{} {}", w.for_party, names(&g.party, l)))),
                md_cell(&who(&g.officer)),
                g.at,
                both(d, |_, w| w.key.to_string()),
                g.fingerprint
            ));
        }
    }
    s
}

fn short(v: &str) -> String {
    v.split(',').map(|h| h.chars().take(12).collect::<String>()).collect::<Vec<_>>().join(",")
}

/// HTML, printable on A4 landscape.
pub fn html(d: &Draft, names: PartyName<'_>) -> String {
    let mut s = String::from("<!doctype html>\n<html><head><meta charset=\"utf-8\">\n<title>");
    s.push_str(&esc(&d.title));
    s.push_str(
        "</title>\n<style>\n\
         @page { size: A4 landscape; margin: 15mm; }\n\
         body { font-family: 'Times New Roman', serif; font-size: 11pt; color: #000; }\n\
         h1 { font-size: 16pt; text-align: center; }\n\
         table { width: 100%; border-collapse: collapse; }\n\
         th, td { border: 1px solid #888; padding: 4pt 6pt; vertical-align: top; white-space: pre-wrap; }\n\
         th { background: #eee; }\n\
         tr { page-break-inside: avoid; }\n\
         .label { width: 9%; font-weight: bold; }\n\
         .stale { color: #a00; font-style: italic; }\n\
         .meta { font-size: 9pt; color: #333; }\n\
         .sig { margin-top: 18pt; display: flex; gap: 24pt; }\n\
         .sig div { flex: 1; border-top: 1px solid #000; padding-top: 6pt; }\n\
         </style></head><body>\n",
    );
    s.push_str(&format!("<h1>{}</h1>\n", esc(&d.title)));
    let parties: Vec<String> = d.parties.iter().map(|p| party(d, names, p)).collect();
    s.push_str(&format!(
        "<p class=\"meta\">{}: <b>{}</b> · {}: {} · {}: <code>{}</code> · {}: {}</p>\n",
        esc(&both(d, |_, w| w.state.to_string())),
        esc(&both(d, |l, _| state_in(l, d.state))),
        esc(&both(d, |_, w| w.version.to_string())),
        esc(&short(&d.version)),
        esc(&both(d, |_, w| w.hash.to_string())),
        esc(&d.content_hash),
        esc(&both(d, |_, w| w.parties.to_string())),
        esc(&parties.join("; "))
    ));
    s.push_str("<table>\n<tr><th class=\"label\"></th>");
    for l in &d.languages {
        s.push_str(&format!("<th lang=\"{0}\">{1}</th>", esc(l), esc(&l.to_uppercase())));
    }
    s.push_str("</tr>\n");
    for (p, n) in numbered(d) {
        s.push_str(&format!("<tr><td class=\"label\">{}</td>", esc(&label(d, p, n))));
        for l in &d.languages {
            let t = esc(body_text(p.kind, p.texts.get(l).map(String::as_str).unwrap_or("")));
            let stale = if p.stale.contains_key(l) {
                format!(" <span class=\"stale\">({})</span>", esc(words(l).stale))
            } else {
                String::new()
            };
            s.push_str(&format!("<td lang=\"{}\">{t}{stale}</td>", esc(l)));
        }
        s.push_str("</tr>\n");
    }
    s.push_str(&format!("</table>\n<h2>{}</h2>\n<ul>\n", esc(&both(d, |_, w| w.approvals.to_string()))));
    if d.approvals.is_empty() {
        s.push_str(&format!("<li>{}</li>\n", esc(&both(d, |_, w| w.none_yet.to_string()))));
    }
    for a in &d.approvals {
        s.push_str(&format!(
            "<li>{}: {}, {}{}</li>\n",
            esc(&party(d, names, &a.party)),
            esc(&who(&a.officer)),
            esc(&a.at),
            if a.valid { String::new() } else { esc(&format!(" ({})", both(d, |_, w| w.void.to_string()))) }
        ));
    }
    s.push_str("</ul>\n");
    if d.state == DraftState::Executed {
        s.push_str("<div class=\"sig\">\n");
        for g in &d.signatures {
            s.push_str(&format!(
                "<div><b>{}</b><br>{}<br>{}<br><span class=\"meta\">{} {}</span></div>\n",
                esc(&both(d, |l, w| format!("{} {}", w.for_party, names(&g.party, l)))),
                esc(&who(&g.officer)),
                esc(&g.at),
                esc(&both(d, |_, w| w.key.to_string())),
                esc(&g.fingerprint)
            ));
        }
        s.push_str("</div>\n");
    }
    s.push_str("</body></html>\n");
    s
}
