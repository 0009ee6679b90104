//! Export of a draft: every language side by side, aligned provision by provision, with the
//! state, the approvals and, once executed, the signature block with each Party's key
//! fingerprint. HTML is self-contained (no external asset) and printable; all draft text is
//! escaped, so no text can inject markup.

use super::{Draft, DraftState};

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
    a.as_ref().map(|a| format!("{} ({})", a.officer, a.party)).unwrap_or_default()
}

/// Markdown.
pub fn markdown(d: &Draft) -> String {
    let mut s = format!("# {}\n\n", md_cell(&d.title));
    s.push_str(&format!(
        "- State: **{}**\n- Version: `{}`\n- Content hash: `{}`\n- Parties: {}\n\n",
        d.state,
        short(&d.version),
        d.content_hash,
        d.parties.join(", ")
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
    for p in &d.provisions {
        s.push_str(&format!("| {} |", md_cell(&p.label)));
        for l in &d.languages {
            let mut t = md_cell(p.texts.get(l).map(String::as_str).unwrap_or(""));
            if p.stale.contains_key(l) {
                t.push_str(" *(stale)*");
            }
            s.push_str(&format!(" {t} |"));
        }
        s.push('\n');
    }
    s.push_str("\n## Approvals\n\n");
    if d.approvals.is_empty() {
        s.push_str("None yet.\n");
    }
    for a in &d.approvals {
        s.push_str(&format!(
            "- {}: {} at {}{}\n",
            md_cell(&a.party),
            md_cell(&who(&a.officer)),
            a.at,
            if a.valid { "" } else { " (void: the text changed since)" }
        ));
    }
    if d.state == DraftState::Executed {
        s.push_str("\n## Signatures\n\n");
        for g in &d.signatures {
            s.push_str(&format!(
                "- For **{}**: signed by {} at {}; key fingerprint `{}`\n",
                md_cell(&g.party),
                md_cell(&who(&g.officer)),
                g.at,
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
pub fn html(d: &Draft) -> String {
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
    s.push_str(&format!(
        "<p class=\"meta\">State: <b>{}</b> · Version: {} · Content hash: <code>{}</code> · Parties: {}</p>\n",
        esc(&d.state.to_string()),
        esc(&short(&d.version)),
        esc(&d.content_hash),
        esc(&d.parties.join(", "))
    ));
    s.push_str("<table>\n<tr><th class=\"label\"></th>");
    for l in &d.languages {
        s.push_str(&format!("<th lang=\"{0}\">{1}</th>", esc(l), esc(&l.to_uppercase())));
    }
    s.push_str("</tr>\n");
    for p in &d.provisions {
        s.push_str(&format!("<tr><td class=\"label\">{}</td>", esc(&p.label)));
        for l in &d.languages {
            let t = esc(p.texts.get(l).map(String::as_str).unwrap_or(""));
            let stale = if p.stale.contains_key(l) { " <span class=\"stale\">(stale)</span>" } else { "" };
            s.push_str(&format!("<td lang=\"{}\">{t}{stale}</td>", esc(l)));
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</table>\n<h2>Approvals</h2>\n<ul>\n");
    if d.approvals.is_empty() {
        s.push_str("<li>None yet.</li>\n");
    }
    for a in &d.approvals {
        s.push_str(&format!(
            "<li>{}: {} at {}{}</li>\n",
            esc(&a.party),
            esc(&who(&a.officer)),
            esc(&a.at),
            if a.valid { "" } else { " (void: the text changed since)" }
        ));
    }
    s.push_str("</ul>\n");
    if d.state == DraftState::Executed {
        s.push_str("<div class=\"sig\">\n");
        for g in &d.signatures {
            s.push_str(&format!(
                "<div><b>For {}</b><br>{}<br>{}<br><span class=\"meta\">Key fingerprint {}</span></div>\n",
                esc(&g.party),
                esc(&who(&g.officer)),
                esc(&g.at),
                esc(&g.fingerprint)
            ));
        }
        s.push_str("</div>\n");
    }
    s.push_str("</body></html>\n");
    s
}
