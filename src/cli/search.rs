//! `liaison search`: full-text search over meetings, groups, drafts, messages and the titles
//! of the items this officer may read.

use std::path::Path;

use clap::Args;

use super::output;
use crate::client::{Client, encode};
use crate::search::{Hit, Hits, MAX_LIMIT};

/// Arguments of `liaison search`.
#[derive(Args, Debug)]
pub struct SearchArgs {
    /// The words to find (English and Russian words are found in any inflected form; every
    /// word must be there).
    #[arg(value_name = "QUERY", required = true, num_args = 1..)]
    pub query: Vec<String>,
    /// Most hits to print (1 to 100).
    #[arg(long, value_name = "N", default_value_t = 20, value_parser = clap::value_parser!(u16).range(1..=MAX_LIMIT as i64))]
    pub limit: u16,
    /// Print as JSON (the API's answer: kind, doc, title, label, lang, anchor, snippet and the
    /// highlighted character ranges).
    #[arg(long)]
    pub json: bool,
}

pub async fn run(dir: &Path, a: &SearchArgs, officer: &str) -> anyhow::Result<()> {
    let client = Client::for_data_dir(dir, officer)?;
    let q = a.query.join(" ");
    let hits: Hits = client.get(&format!("/api/search?q={}&limit={}", encode(&q), a.limit)).await?;
    if a.json {
        return output::json(&hits);
    }
    if hits.hits.is_empty() {
        println!("(no hits)");
    }
    for h in &hits.hits {
        println!("{}", line(h));
        println!("    {}", marked(h));
    }
    Ok(())
}

/// `kind id  title · where`.
fn line(h: &Hit) -> String {
    let mut s = format!("{:<8} {}  {}", h.kind.as_str(), output::short(&h.doc), h.title);
    let place: Vec<&str> = [h.label.as_deref(), h.lang.as_deref()].into_iter().flatten().collect();
    if !place.is_empty() {
        s.push_str(&format!(" · {}", place.join(" ")));
    }
    s
}

/// The snippet with the words found in [brackets] (plain text: it may go to a file or a pipe).
fn marked(h: &Hit) -> String {
    let chars: Vec<char> = h.snippet.chars().collect();
    let mut out = String::new();
    let mut at = 0;
    for [start, end] in &h.highlights {
        let (start, end) = ((*start).min(chars.len()), (*end).min(chars.len()));
        if start < at || end < start {
            continue;
        }
        out.extend(&chars[at..start]);
        out.push('[');
        out.extend(&chars[start..end]);
        out.push(']');
        at = end;
    }
    out.extend(&chars[at..]);
    out.replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::PartKind;

    #[test]
    fn marks_the_words_found_by_characters() {
        let h = Hit {
            kind: PartKind::Draft,
            doc: "0123456789abcdef".into(),
            title: "Протокол".into(),
            label: Some("Article 2".into()),
            lang: Some("ru".into()),
            anchor: None,
            snippet: "Борьба с терроризмом\nи экстремизмом".into(),
            highlights: vec![[9, 20]],
            score: 1.0,
        };
        assert_eq!(marked(&h), "Борьба с [терроризмом] и экстремизмом");
        assert_eq!(line(&h), "draft    0123456789ab  Протокол · Article 2 ru");
    }
}
