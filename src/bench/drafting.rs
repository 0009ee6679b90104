//! Workload D: a treaty-sized draft. 200 articles in English and Russian, each language built by
//! 100,000 single-character edits (500 per article, typed by the reference's typist), one
//! change per edit.

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, Automerge, ObjType, ReadDoc, Value};

use super::data::{FIXED_TIME, GenDoc, Typist};
use crate::workspace::draft::{self, NewDraft};
use crate::workspace::{Author, ChangeCtx};

/// Articles in the draft.
pub const ARTICLES: usize = 200;

/// Builds the draft: `edits` single-character edits per language, spread over the articles.
pub fn treaty_doc(edits: usize, actor: Option<&[u8]>) -> anyhow::Result<GenDoc> {
    let mut doc = Automerge::new();
    doc.set_actor(ActorId::from(actor.map(<[u8]>::to_vec).unwrap_or_else(|| b"bench-treaty-cica".to_vec())));
    let ctx = ChangeCtx {
        author: Author { officer: "bench".into(), party: "cica".parse()? },
        now: chrono::DateTime::from_timestamp(FIXED_TIME, 0).unwrap_or_default(),
    };
    let text: Vec<String> = (1..=ARTICLES).map(|i| format!("Article {i}. ")).collect();
    draft::create(
        &mut doc,
        &ctx,
        &NewDraft {
            titles: Default::default(),
            group: "bench".into(),
            title: "Treaty-sized draft".into(),
            lang: "en".into(),
            text: text.join(draft::PROVISION_BREAK),
            languages: vec!["en".into(), "ru".into()],
            parties: vec!["cica".into(), "sco-rats".into()],
        },
    )?;
    let ids: Vec<String> = draft::read(&doc, "")?.provisions.into_iter().map(|p| p.id).collect();
    let per = edits.div_ceil(ids.len().max(1));
    let provisions = match doc.get(automerge::ROOT, "provisions")? {
        Some((Value::Object(ObjType::Map), p)) => p,
        _ => anyhow::bail!("draft without provisions"),
    };
    let mut t = FIXED_TIME + 1;
    let mut done = 0;
    for (n, id) in ids.iter().enumerate() {
        let (_, p) = doc.get(&provisions, id.as_str())?.ok_or_else(|| anyhow::anyhow!("provision"))?;
        let (_, texts) = doc.get(&p, "texts")?.ok_or_else(|| anyhow::anyhow!("texts"))?;
        for (k, lang) in ["en", "ru"].iter().enumerate() {
            let (_, obj) = doc.get(&texts, *lang)?.ok_or_else(|| anyhow::anyhow!("text"))?;
            let start = doc.length(&obj);
            let mut typist = Typist::new(0xd000 + (n * 2 + k) as u32, start, 200);
            for _ in 0..per.min(edits.saturating_sub(done / 2)) {
                let (pos, ch) = typist.next_key();
                let ch = if *lang == "ru" { ru(ch) } else { ch };
                let _ = doc.transact_with(
                    |_| CommitOptions::default().with_time(t),
                    |tx| tx.splice_text(&obj, pos, 0, ch.encode_utf8(&mut [0; 4])),
                );
                t += 1;
            }
        }
        done += per * 2;
    }
    Ok(GenDoc { id: *b"bench-treaty-doc", doc })
}

/// A Cyrillic letter in place of a Latin one, so that the Russian text is Russian-sized.
fn ru(c: char) -> char {
    if c.is_ascii_lowercase() { char::from_u32(0x430 + (c as u32 - 'a' as u32)).unwrap_or(c) } else { c }
}
