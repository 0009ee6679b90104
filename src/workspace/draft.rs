//! Drafts of a working group, in every language of the draft at once, from first text to two
//! signed originals.
//!
//! A draft is a sequence of **provisions** (preamble paragraphs, articles, and sub-items of
//! articles). Each provision has a stable id and holds its text in every language of the draft
//! (`en` and `ru` by default); no language is the source. When a provision's text changes in one
//! language, the other languages are marked **stale** (since which revision, by whom) until an
//! officer aligns them. Review adds comments, suggestions (which change nothing until accepted)
//! and named versions. The workflow takes a draft through review, approval by each Party (bound
//! to the content hash of every text), and execution: each Party signs the canonical hash, and
//! the draft is frozen.
//!
//! Layout of a draft document's root:
//! - `kind`, `schema`, `uid` (random, bound into the content hash), `group`, `title`,
//!   `title_en`?, `title_ru`? (the title in each language, see [`super::titles`]),
//!   `languages: [code]`, `parties: [party id]` (who must
//!   approve and sign), `phase` (`draft`, `under-review` or `withdrawn`), `rev` (counter);
//! - `order: [provision id]` (moves are a delete and an insert; a duplicate from concurrent moves
//!   is read once, at its first place);
//! - `provisions: {id: {kind, removed?, texts: {lang: text}, stale: {lang: {since, lang, by,
//!   at}}, comments: [{id, author, at, text}]}}`;
//! - `versions: [{name, version, by, at}]`;
//! - `created_by`, `created_at`, `updated_by`, `updated_at`.
//!
//! Each Party's approval, signature, comments, suggestions and decisions are its own record,
//! in its annex of the draft ([`records`]), which only it writes. (Before authentication they
//! were kept in the draft document itself, under `approvals`, `signatures`, `suggestions` and
//! each provision's `comments`; each Party's node copies its own into its annex when it
//! upgrades, and nothing reads them there any more.)

mod contents;
pub mod export;
pub mod pdf;
pub mod provision;
pub mod records;
pub mod refusal;
mod review;
mod structure;
mod text;
mod workflow;

use std::collections::BTreeMap;

use automerge::{Automerge, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value};
use serde::{Deserialize, Serialize};

use super::titles::Titles;
use super::util::{Fields, get_author, get_str, map_maps, req_str};
use super::{Author, ChangeCtx, DocKind, Result, WorkspaceError, change, init_root, touch};

pub use contents::ProvisionContents;
pub use records::{Comment, Records};
pub use refusal::EditRefusal;
pub use review::{Comparison, Suggestion, Version, comment, decide, diff, name_version, suggest, suggestions};
pub use structure::{Place, add_provision, move_provision, remove_provision};
pub use text::{
    align, check_editable, edit_from, set_provision_text, set_text, set_text_from, set_text_lang, set_title, splice,
};
use text::{check_open, write_text};
pub use workflow::{
    Approval, DraftState, Original, Signature, SignatureCheck, Verification, WorkflowRefusal, approve, canonical,
    content_hash, executed, executed_original, fingerprint, fully_signed, review as start_review, sign, state, verify,
    withdraw,
};

/// A version as the API and CLI print it: its change hashes, comma-separated.
pub(crate) fn version_str(heads: &[automerge::ChangeHash]) -> String {
    heads.iter().map(|h| h.to_string()).collect::<Vec<_>>().join(",")
}

/// Largest text of a provision in one language, in bytes.
pub const MAX_TEXT_BYTES: usize = 8 * 1024 * 1024;
/// The languages of a draft unless the workspace says otherwise.
pub const DEFAULT_LANGUAGES: [&str; 2] = ["en", "ru"];
/// Separates provisions in a draft's whole text in one language.
pub const PROVISION_BREAK: &str = "\n\n";

/// What an officer gives to start a draft.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NewDraft {
    /// The working group's document id.
    pub group: String,
    /// Title as first written (may be empty when `titles` gives one).
    #[serde(default)]
    pub title: String,
    /// The title in English and in Russian.
    #[serde(flatten)]
    pub titles: Titles,
    /// The language of `text`.
    #[serde(default = "default_lang")]
    pub lang: String,
    /// Initial text: its paragraphs (separated by a blank line) become the provisions.
    #[serde(default)]
    pub text: String,
    /// The draft's languages (default `en`, `ru`); `lang` is added if missing.
    #[serde(default)]
    pub languages: Vec<String>,
    /// The Parties that must approve and sign (set by the node: its own and the other Party).
    #[serde(default)]
    pub parties: Vec<String>,
}

fn default_lang() -> String {
    "en".into()
}

/// Kinds of provisions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum ProvisionKind {
    /// A preamble paragraph.
    Preamble,
    /// An article.
    Article,
    /// A sub-item of the article before it.
    Item,
}

impl ProvisionKind {
    fn as_str(self) -> &'static str {
        match self {
            ProvisionKind::Preamble => "preamble",
            ProvisionKind::Article => "article",
            ProvisionKind::Item => "item",
        }
    }
    fn parse(s: &str) -> Self {
        match s {
            "article" => ProvisionKind::Article,
            "item" => ProvisionKind::Item,
            _ => ProvisionKind::Preamble,
        }
    }
    /// The kind a paragraph of imported text gets.
    fn guess(text: &str) -> Self {
        let t = text.trim_start().to_lowercase();
        if t.starts_with("article") || t.starts_with("статья") {
            ProvisionKind::Article
        } else {
            ProvisionKind::Preamble
        }
    }
}

/// One splice: at `pos` (in Unicode scalar values), delete `delete` characters and insert
/// `insert`. What an editor sends per keystroke.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Splice {
    /// The provision; without it, `pos` counts in the draft's whole text in `lang`.
    #[serde(default)]
    pub provision: Option<String>,
    /// The language (default: the draft's first).
    #[serde(default)]
    pub lang: Option<String>,
    /// Position in characters.
    pub pos: usize,
    /// Characters to delete.
    #[serde(default)]
    pub delete: usize,
    /// Text to insert.
    #[serde(default)]
    pub insert: String,
}

/// A stale mark: this language may no longer say what another says.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stale {
    /// The draft's revision when the other language changed.
    pub since_rev: i64,
    /// The language that changed.
    pub changed_lang: String,
    /// Who changed it.
    pub by: Option<Author>,
    /// When.
    pub at: String,
}

/// A provision as officers see it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Provision {
    /// Stable id.
    pub id: String,
    /// Kind.
    pub kind: ProvisionKind,
    /// Its label in the draft as it stands: "Article 2", "(b)", "Preamble 1".
    pub label: String,
    /// Text by language.
    pub texts: BTreeMap<String, String>,
    /// Languages marked stale, and why.
    pub stale: BTreeMap<String, Stale>,
    /// Comments.
    pub comments: Vec<Comment>,
}

/// A draft as officers see it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Draft {
    /// Document id.
    pub id: String,
    /// The working group's document id.
    pub group: String,
    /// Title as first written (older nodes know only this one).
    pub title: String,
    /// The title in English and in Russian, where given.
    #[serde(flatten)]
    pub titles: Titles,
    /// The first language (the one `text` is in).
    pub lang: String,
    /// Every language of the draft.
    pub languages: Vec<String>,
    /// The whole text in `lang`: the provisions, separated by a blank line.
    pub text: String,
    /// The provisions, in order.
    pub provisions: Vec<Provision>,
    /// Where it stands.
    pub state: DraftState,
    /// The Parties that approve and sign.
    pub parties: Vec<String>,
    /// The content revision (counts text changes).
    pub rev: i64,
    /// Approvals, by Party, with whether each still holds.
    pub approvals: Vec<Approval>,
    /// Signatures, by Party, with whether each matches the text.
    pub signatures: Vec<Signature>,
    /// Suggestions still open.
    pub open_suggestions: Vec<Suggestion>,
    /// Named versions.
    pub versions: Vec<Version>,
    /// The content hash of every language's text, hex.
    pub content_hash: String,
    /// Who started it.
    pub created_by: Option<Author>,
    /// When.
    pub created_at: Option<String>,
    /// Who changed it last.
    pub updated_by: Option<Author>,
    /// When.
    pub updated_at: Option<String>,
    /// The version shown: the document's heads, comma-separated. Give it back as the base of
    /// an edit made from this text.
    pub version: String,
}

/// Checks a language code: two or three lowercase letters (ISO 639).
pub fn check_lang(lang: &str) -> Result<()> {
    if (2..=3).contains(&lang.len()) && lang.bytes().all(|b| b.is_ascii_lowercase()) {
        Ok(())
    } else {
        Err(WorkspaceError::Invalid {
            field: "lang",
            reason: format!("{lang:?} is not a language code such as \"en\" or \"ru\""),
        })
    }
}

fn check_text(text: &str) -> Result<()> {
    if text.len() > MAX_TEXT_BYTES {
        return Err(WorkspaceError::Invalid {
            field: "text",
            reason: format!("is {} bytes; the limit is {MAX_TEXT_BYTES}", text.len()),
        });
    }
    Ok(())
}

/// Splits a whole text into provision texts (and back with [`PROVISION_BREAK`]; exact inverses).
pub fn split_text(text: &str) -> Vec<String> {
    text.split(PROVISION_BREAK).map(str::to_string).collect()
}

/// Writes a new draft into an empty document.
pub fn create(doc: &mut Automerge, ctx: &ChangeCtx, new: &NewDraft) -> Result<()> {
    let title = new.titles.own_title("title", &new.title)?;
    check_lang(&new.lang)?;
    check_text(&new.text)?;
    let mut languages: Vec<String> = if new.languages.is_empty() {
        DEFAULT_LANGUAGES.iter().map(|s| s.to_string()).collect()
    } else {
        new.languages.clone()
    };
    for l in &languages {
        check_lang(l)?;
    }
    if !languages.contains(&new.lang) {
        languages.insert(0, new.lang.clone());
    } else {
        // The language of the initial text comes first: it is the one `text` shows.
        languages.retain(|l| l != &new.lang);
        languages.insert(0, new.lang.clone());
    }
    languages.dedup();
    let mut parties = new.parties.clone();
    if !parties.contains(&ctx.author.party.to_string()) {
        parties.push(ctx.author.party.to_string());
    }
    parties.sort();
    parties.dedup();
    let paragraphs = if new.text.is_empty() { Vec::new() } else { split_text(&new.text) };
    change(doc, ctx, |tx| {
        init_root(tx, DocKind::Draft, ctx)?;
        tx.put_str(&ROOT, "group", &new.group)?;
        // What approvals and signatures bind to: this draft and no other, whatever its id.
        tx.put_str(&ROOT, "uid", &crate::ids::random_hex(16))?;
        tx.put_str(&ROOT, "title", &title)?;
        new.titles.write_new(tx, &ROOT)?;
        let langs = tx.list(&ROOT, "languages")?;
        for l in &languages {
            tx.push_str(&langs, l)?;
        }
        let ps = tx.list(&ROOT, "parties")?;
        for p in &parties {
            tx.push_str(&ps, p)?;
        }
        tx.put_str(&ROOT, "phase", "draft")?;
        tx.put_counter(&ROOT, "rev")?;
        tx.list(&ROOT, "order")?;
        tx.map(&ROOT, "provisions")?;
        tx.list(&ROOT, "versions")?;
        for p in &paragraphs {
            let id = structure::insert_provision(tx, None, ProvisionKind::guess(p), &languages)?;
            write_text(tx, ctx, &id, &new.lang, p)?;
        }
        touch(tx, ctx)
    })
}

// ---- reading ----

/// The draft's languages.
pub fn languages<R: ReadDoc>(doc: &R) -> Result<Vec<String>> {
    strings(doc, &ROOT, "languages")
}

/// [`strings`], for the test that holds it equal to a `get` per index.
#[cfg(test)]
pub(crate) fn strings_for_tests<R: ReadDoc>(doc: &R, obj: &ObjId, key: &str) -> Result<Vec<String>> {
    strings(doc, obj, key)
}

fn strings<R: ReadDoc>(doc: &R, obj: &ObjId, key: &str) -> Result<Vec<String>> {
    let list = match doc.get(obj, key)? {
        Some((Value::Object(ObjType::List), id)) => id,
        None => return Ok(Vec::new()),
        Some(_) => return Err(WorkspaceError::Malformed(format!("{key}: expected a list"))),
    };
    // One pass over the list: a `get` per index seeks the document's ops from the start each
    // time (0.35 ms for a 200-provision order in a 400,000-change draft, against 0.02).
    Ok(doc
        .list_range(&list, ..)
        .filter_map(|item| match item.value {
            automerge::ValueRef::Scalar(automerge::ScalarValueRef::Str(v)) => Some(v.to_string()),
            _ => None,
        })
        .collect())
}

fn counter<R: ReadDoc>(doc: &R, obj: &ObjId, key: &str) -> Result<i64> {
    Ok(match doc.get(obj, key)? {
        Some((Value::Scalar(s), _)) => match s.as_ref() {
            ScalarValue::Counter(c) => i64::from(c),
            ScalarValue::Int(i) => *i,
            _ => 0,
        },
        _ => 0,
    })
}

/// The provisions in order: ids from `order`, each once (at its first place), skipping removed
/// ones, with their map objects.
pub(crate) fn ordered<R: ReadDoc>(doc: &R) -> Result<Vec<(String, ObjId)>> {
    // One `map_range` per provision reads its `removed` as cheaply as a `get` would.
    Ok(ordered_fields(doc)?.into_iter().map(|(id, obj, _)| (id, obj)).collect())
}

fn is_removed<R: ReadDoc>(doc: &R, provision: &ObjId) -> Result<bool> {
    Ok(
        matches!(doc.get(provision, "removed")?, Some((Value::Scalar(s), _)) if s.as_ref() == &ScalarValue::Boolean(true)),
    )
}

/// Whether `id` is a provision of the draft now (in its order, not removed), without reading
/// the others: what [`ordered`] would list.
pub(crate) fn is_current<R: ReadDoc>(doc: &R, id: &str) -> Result<bool> {
    Ok(current_obj(doc, id)?.is_some())
}

/// The object of provision `id` if it is a provision of the draft now (see [`is_current`]).
pub(crate) fn current_obj<R: ReadDoc>(doc: &R, id: &str) -> Result<Option<ObjId>> {
    let obj = match doc.get(&ROOT, "provisions")? {
        Some((Value::Object(ObjType::Map), m)) => match doc.get(&m, id)? {
            Some((Value::Object(ObjType::Map), p)) => p,
            _ => return Ok(None),
        },
        _ => return Ok(None),
    };
    let current = !is_removed(doc, &obj)? && strings(doc, &ROOT, "order")?.iter().any(|o| o == id);
    Ok(current.then_some(obj))
}

/// The provisions in order (see [`ordered`]), each with its fields, read once.
pub(crate) fn ordered_fields<R: ReadDoc>(doc: &R) -> Result<Vec<(String, ObjId, Fields)>> {
    let provisions: BTreeMap<String, ObjId> = map_maps(doc, &ROOT, "provisions")?.into_iter().collect();
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for id in strings(doc, &ROOT, "order")? {
        if !seen.insert(id.clone()) {
            continue;
        }
        let Some(obj) = provisions.get(&id) else { continue };
        let fields = Fields::of(doc, obj);
        if fields.is_true("removed") {
            continue;
        }
        out.push((id, obj.clone(), fields));
    }
    Ok(out)
}

fn text_of<R: ReadDoc>(doc: &R, provision: &ObjId, lang: &str) -> Result<String> {
    match doc.get(provision, "texts")? {
        Some((Value::Object(ObjType::Map), texts)) => Ok(get_str(doc, &texts, lang)?.unwrap_or_default()),
        _ => Ok(String::new()),
    }
}

/// A provision's texts in `langs` (an absent one is empty), from its fields.
pub(crate) fn texts_in<'l, R: ReadDoc>(
    doc: &R,
    provision: &Fields,
    langs: impl Iterator<Item = &'l String>,
) -> Result<BTreeMap<String, String>> {
    let texts = match provision.get("texts") {
        Some((Value::Object(ObjType::Map), texts)) => Some(Fields::of(doc, texts)),
        _ => None,
    };
    let mut out = BTreeMap::new();
    for l in langs {
        let text = match &texts {
            Some(t) => t.str(doc, l)?.unwrap_or_default(),
            None => String::new(),
        };
        out.insert(l.clone(), text);
    }
    Ok(out)
}

/// The whole text in `lang`.
pub fn whole_text<R: ReadDoc>(doc: &R, lang: &str) -> Result<String> {
    let parts: Vec<String> = ordered(doc)?.iter().map(|(_, p)| text_of(doc, p, lang)).collect::<Result<_>>()?;
    Ok(parts.join(PROVISION_BREAK))
}

/// Reads a draft document alone, without the Parties' records (no approval, signature,
/// comment or suggestion).
pub fn read(doc: &Automerge, id: &str) -> Result<Draft> {
    read_with(doc, &Records::default(), id)
}

/// Reads a draft with both Parties' records on it.
pub fn read_with(doc: &Automerge, recs: &Records, id: &str) -> Result<Draft> {
    Ok(read_kept(doc, recs, id, None)?.0)
}

/// [`read_with`], taking each provision's texts and stale marks from `kept` where it has them
/// (what a read at earlier heads found, less the provisions changed since), and giving what it
/// read for the next read.
pub fn read_kept(
    doc: &Automerge,
    recs: &Records,
    id: &str,
    kept: Option<&ProvisionContents>,
) -> Result<(Draft, ProvisionContents)> {
    let mut held = ProvisionContents::default();
    let all_comments = recs.comments();
    let languages = languages(doc)?;
    let lang = languages.first().cloned().unwrap_or_else(|| "en".into());
    let mut provisions = Vec::new();
    // Each provision's kind as stored, for the content hash.
    let mut kinds = Vec::new();
    let mut labels = Labels::default();
    for (pid, _, p) in ordered_fields(doc)? {
        let stored_kind = p.str(doc, "kind")?.unwrap_or_default();
        let kind = ProvisionKind::parse(&stored_kind);
        let label = labels.next(kind);
        let (texts, stale) = match kept.and_then(|k| k.get(&pid, &languages)) {
            Some(held) => held.clone(),
            None => (texts_in(doc, &p, languages.iter())?, stale_in(doc, &p)?),
        };
        held.put(pid.clone(), (texts.clone(), stale.clone()));
        let comments = all_comments.iter().filter(|c| c.provision == pid).cloned().collect();
        kinds.push(stored_kind);
        provisions.push(Provision { id: pid, kind, label, texts, stale, comments });
    }
    let text = provisions
        .iter()
        .map(|p| p.texts.get(&lang).cloned().unwrap_or_default())
        .collect::<Vec<_>>()
        .join(PROVISION_BREAK);
    let parties = strings(doc, &ROOT, "parties")?;
    let contents = provisions.iter().zip(&kinds).map(|(p, k)| (p.id.as_str(), k.as_str(), &p.texts));
    let hash = workflow::hash_of(&workflow::canonical_of(doc, &languages, contents)?);
    let approvals = workflow::approvals(recs, &hash);
    let signatures = workflow::signatures(recs, &hash);
    let open_suggestions = review::suggestions(doc, recs)?.into_iter().filter(|s| s.state == "open").collect();
    let draft = Draft {
        id: id.to_string(),
        group: req_str(doc, &ROOT, "group")?,
        title: req_str(doc, &ROOT, "title")?,
        titles: Titles::read(doc, &ROOT)?,
        state: workflow::state_of(doc, recs, &provisions, &parties, &approvals, &signatures)?,
        lang,
        languages,
        text,
        provisions,
        parties,
        rev: counter(doc, &ROOT, "rev")?,
        approvals,
        signatures,
        open_suggestions,
        versions: review::versions(doc)?,
        content_hash: hex::encode(hash),
        created_by: get_author(doc, &ROOT, "created_by")?,
        created_at: get_str(doc, &ROOT, "created_at")?,
        updated_by: get_author(doc, &ROOT, "updated_by")?,
        updated_at: get_str(doc, &ROOT, "updated_at")?,
        version: version_of(doc),
    };
    Ok((draft, held))
}

/// The labels provisions get in their order: "Article 2", "Preamble 1", and "(a)", "(b)" for the
/// items of an article.
#[derive(Default)]
pub(crate) struct Labels {
    articles: usize,
    preambles: usize,
    items: usize,
}

impl Labels {
    /// The label of the next provision, of `kind`.
    pub(crate) fn next(&mut self, kind: ProvisionKind) -> String {
        match kind {
            ProvisionKind::Article => {
                self.articles += 1;
                self.items = 0;
                format!("Article {}", self.articles)
            }
            ProvisionKind::Preamble => {
                self.preambles += 1;
                format!("Preamble {}", self.preambles)
            }
            ProvisionKind::Item => {
                self.items += 1;
                format!("({})", item_letter(self.items))
            }
        }
    }
}

/// A provision's stale marks, by the language they mark.
pub(crate) fn stale_in(doc: &Automerge, p: &Fields) -> Result<BTreeMap<String, Stale>> {
    let mut stale = BTreeMap::new();
    let Some(marks) = p.of_map(doc, "stale")? else { return Ok(stale) };
    for (l, v, s) in marks.iter() {
        if !matches!(v, Value::Object(ObjType::Map)) {
            continue;
        }
        let s = Fields::of(doc, s);
        stale.insert(
            l.to_string(),
            Stale {
                since_rev: s.counter("since_rev"),
                changed_lang: s.req_str(doc, "lang")?,
                by: s.author(doc, "by")?,
                at: s.req_str(doc, "at")?,
            },
        );
    }
    Ok(stale)
}

fn item_letter(n: usize) -> String {
    let letters = b"abcdefghijklmnopqrstuvwxyz";
    let mut n = n;
    let mut s = Vec::new();
    while n > 0 {
        n -= 1;
        s.push(letters[n % 26]);
        n /= 26;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

/// The version of a document as officers pass it around.
pub fn version_of(doc: &Automerge) -> String {
    let mut heads: Vec<String> = doc.get_heads().iter().map(|h| h.to_string()).collect();
    heads.sort();
    heads.join(",")
}

/// Parses a version as `draft show` prints it: change hashes in hex, separated by commas.
pub fn parse_version(s: &str) -> Result<Vec<automerge::ChangeHash>> {
    s.split(',')
        .map(|h| {
            h.trim()
                .parse::<automerge::ChangeHash>()
                .map_err(|_| WorkspaceError::from(EditRefusal::VersionUnknown { version: h.trim().to_string() }))
        })
        .collect()
}

// ---- editing ----

/// Shortest id prefix a provision reference may be: shorter references are labels only, so
/// "a1" is always Article 1 and never a provision whose id happens to start with `a1`.
pub const MIN_ID_PREFIX: usize = 4;

/// Resolves a provision reference in the draft as it stands: its id (8 hex digits, which never
/// change) or a unique prefix of at least [`MIN_ID_PREFIX`] of them, or its label in the current
/// numbering, the one `draft show` prints now ("a3", "article 3", "Article 3" or "Статья 3" for
/// the third article, "p1" or "preamble 1" for the first preamble paragraph). A reference that
/// reads both as a label and as an id prefix is refused as ambiguous.
pub fn resolve_provision(doc: &Automerge, reference: &str) -> Result<String> {
    resolve_provision_at(doc, reference, None)
}

/// Like [`resolve_provision`], with a label read in the numbering of version `base` (the one
/// the officer was looking at when they wrote the reference): after a move, "a1" given with the
/// version printed before the move is still the provision that was Article 1 then. An id is the
/// same in every version. The provision must still exist now.
pub fn resolve_provision_at(
    doc: &Automerge,
    reference: &str,
    base: Option<&[automerge::ChangeHash]>,
) -> Result<String> {
    let r = reference.trim().to_lowercase();
    // A provision's whole id, as the editor sends with every keystroke, names it in every
    // version: found without reading the whole draft (its texts, records and content hash).
    if r.len() == 8 && r.bytes().all(|b| b.is_ascii_hexdigit()) && is_current(doc, &r)? {
        return Ok(r);
    }
    let now = read(doc, "")?;
    let label = match base.filter(|b| *b != doc.get_heads().as_slice()) {
        Some(b) => {
            let then = doc.fork_at(b).map_err(|_| EditRefusal::VersionUnknown { version: version_str(b) })?;
            by_label(&read(&then, "")?, &r)
        }
        None => by_label(&now, &r),
    };
    let by_id: Vec<&Provision> = if r.len() >= MIN_ID_PREFIX && r.bytes().all(|b| b.is_ascii_hexdigit()) {
        now.provisions.iter().filter(|p| p.id.starts_with(&r)).collect()
    } else {
        Vec::new()
    };
    match (label, by_id.as_slice()) {
        (Some(l), [p]) if l != p.id => {
            Err(EditRefusal::ProvisionLabelClash { reference: reference.to_string(), id: p.id.clone() }.into())
        }
        (Some(l), _) => {
            if now.provisions.iter().any(|p| p.id == l) {
                Ok(l)
            } else {
                Err(WorkspaceError::NoSuchEntry { what: "provision", id: format!("{reference} ({l}, removed since)") })
            }
        }
        (None, [p]) => Ok(p.id.clone()),
        (None, []) => Err(WorkspaceError::NoSuchEntry { what: "provision", id: reference.to_string() }),
        (None, m) => Err(EditRefusal::ProvisionAmbiguous { reference: reference.to_string(), count: m.len() }.into()),
    }
}

/// The provision a label names in `d`'s numbering: "a3", "article 3", "article-3", "статья 3"
/// (the third article), "p1", "preamble 1" (the first preamble paragraph). `r` is lowercase.
fn by_label(d: &Draft, r: &str) -> Option<String> {
    let nth = |prefix: &str, kind: ProvisionKind| -> Option<String> {
        let rest = r.strip_prefix(prefix)?.trim_start_matches(['-', ' ', '.']);
        let n: usize = rest.trim_end_matches('.').parse().ok()?;
        d.provisions.iter().filter(|p| p.kind == kind).nth(n.checked_sub(1)?).map(|p| p.id.clone())
    };
    [
        ("article", ProvisionKind::Article),
        ("статья", ProvisionKind::Article),
        ("art", ProvisionKind::Article),
        ("a", ProvisionKind::Article),
        ("preamble", ProvisionKind::Preamble),
        ("p", ProvisionKind::Preamble),
    ]
    .into_iter()
    .find_map(|(prefix, kind)| nth(prefix, kind))
}

/// A provision's text without a heading typed into it ("Article 1.", "Статья 2:"): the label
/// is generated from the provision's place, so a typed one would say it twice, and after a move
/// say the wrong number ("Article 1: Article 2. Scope."). Only articles have such a heading;
/// the stored (and signed) text keeps whatever was typed, and every rendering shows this.
pub fn body_text(kind: ProvisionKind, text: &str) -> &str {
    if kind != ProvisionKind::Article {
        return text;
    }
    let t = text.trim_start();
    let lower = t.to_lowercase();
    let Some(word) = ["article", "статья"].into_iter().find(|w| lower.starts_with(w)) else {
        return text;
    };
    // The heading word is ASCII or Cyrillic; lowercasing keeps its length in chars.
    let after_word: String = t.chars().skip(word.chars().count()).collect();
    let rest = after_word.trim_start();
    let digits = rest.chars().take_while(char::is_ascii_digit).count();
    if digits == 0 {
        return text;
    }
    let rest = &rest[digits..];
    // "Article 3 — Scope": the punctuation may stand after a space.
    let punct = ['.', ':', ')', '-', '\u{2013}', '\u{2014}'];
    let Some(rest) = rest.strip_prefix(punct).or_else(|| rest.trim_start().strip_prefix(punct)).or_else(|| {
        // "Article 1 The Parties": a heading too, if a space follows the number.
        rest.starts_with(char::is_whitespace).then_some(rest)
    }) else {
        return if rest.is_empty() { "" } else { text };
    };
    let body = rest.trim_start();
    // Point back into `text` so no copy is made.
    &text[text.len() - body.len()..]
}

/// The object of a provision that exists and is not removed.
pub(crate) fn provision_obj<R: ReadDoc>(doc: &R, id: &str) -> Result<ObjId> {
    current_obj(doc, id)?.ok_or_else(|| WorkspaceError::NoSuchEntry { what: "provision", id: id.to_string() })
}

/// The provisions that have a stale language.
pub fn stale_provisions(d: &Draft) -> Vec<&Provision> {
    d.provisions.iter().filter(|p| !p.stale.is_empty()).collect()
}

#[cfg(test)]
mod tests;
