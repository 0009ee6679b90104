//! The tantivy side: one index of [`Part`]s, on disk or in memory.
//!
//! Each part's words are indexed twice, through an English and a Russian analyser (simple
//! tokenizer, lower case, Snowball stemmer), so that "meetings" finds "meeting" and
//! "терроризма" finds "терроризм" whatever language a provision or a query is in; a query
//! searches both fields. The words themselves are stored once, for the snippets.
//!
//! A document changed is not indexed again whole: each part carries a digest of everything it
//! holds, and only the parts whose digests are new go in (and only those gone come out). An
//! officer typing changes one provision of a draft of 400 parts; indexing all of them again,
//! each through two analysers, was the largest transient of a serving node's memory and CPU
//! that both nodes spent every two seconds of typing.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use tantivy::collector::{DocSetCollector, TopDocs};
use tantivy::directory::MmapDirectory;
use tantivy::query::{QueryParser, TermQuery};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TantivyDocument, TextFieldIndexing, TextOptions,
    Value,
};
use tantivy::snippet::{Snippet, SnippetGenerator};
use tantivy::tokenizer::{Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, TextAnalyzer};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, Term};

use super::extract::{Part, PartKind};
use super::{Hit, SearchError, SearchQuery};

/// The layout of the index and its analysers. An index of another version is built again.
/// 2: each part's digest.
const VERSION: u32 = 2;
/// The writer's memory before it flushes a segment (tantivy's minimum is 15 MB per thread).
const WRITER_BYTES: usize = 20_000_000;
/// Characters of text around the words found in a snippet.
const SNIPPET_CHARS: usize = 160;
/// How many more hits than asked for are read, so that hits dropped by the access check do not
/// leave the answer short.
const OVERFETCH: usize = 4;

const EN: &str = "liaison_en";
const RU: &str = "liaison_ru";
/// The digest field's name (read as a fast field).
const DIGEST: &str = "digest";

struct Fields {
    doc: Field,
    /// [`digest`] of the part: found by term to delete it, read as a fast field to compare.
    digest: Field,
    kind: Field,
    title: Field,
    label: Field,
    lang: Field,
    anchor: Field,
    text: Field,
    en: Field,
    ru: Field,
}

/// What the index's commit records: its version and the version of each document it holds.
#[derive(Default, Serialize, Deserialize)]
struct Payload {
    version: u32,
    stamps: BTreeMap<String, String>,
}

/// One index: its reader, its writes one at a time, and the documents' stamps it holds.
pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    /// One batch written at a time. Its writer is made for it and let go after it: a writer holds
    /// its whole memory budget ([`WRITER_BYTES`]) from the start, and the index is written in
    /// short batches, seconds or hours apart. Held, two writers (the workspace's and the items')
    /// were a quarter of the receiving node's heap while it took in a workspace.
    writing: Mutex<()>,
    fields: Fields,
    stamps: Mutex<BTreeMap<String, String>>,
    /// The version the index on disk was written with ([`VERSION`] for a new one).
    version: u32,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let analysed = |name| {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default().set_tokenizer(name).set_index_option(IndexRecordOption::WithFreqsAndPositions),
        )
    };
    let fields = Fields {
        doc: b.add_text_field("doc", STRING | STORED),
        digest: b.add_u64_field(DIGEST, INDEXED | FAST),
        kind: b.add_text_field("kind", STORED),
        title: b.add_text_field("title", STORED),
        label: b.add_text_field("label", STORED),
        lang: b.add_text_field("lang", STORED),
        anchor: b.add_text_field("anchor", STORED),
        text: b.add_text_field("text", STORED),
        en: b.add_text_field("en", analysed(EN)),
        ru: b.add_text_field("ru", analysed(RU)),
    };
    (b.build(), fields)
}

fn analyser(lang: Language) -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(60))
        .filter(LowerCaser)
        .filter(Stemmer::new(lang))
        .build()
}

impl SearchIndex {
    /// Opens the index in `dir`, or builds an empty one there if it is missing, unreadable or
    /// of another version (it holds nothing that cannot be indexed again).
    pub fn open_dir(dir: &Path) -> Result<SearchIndex, SearchError> {
        let io = |e: std::io::Error| SearchError::Index(format!("{}: {e}", dir.display()));
        std::fs::create_dir_all(dir).map_err(io)?;
        match Self::try_open_dir(dir) {
            Ok(ix) if ix.version_ok() => return Ok(ix),
            Ok(_) => tracing::info!(dir = %dir.display(), "the search index is of another version; building it again"),
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "the search index does not open; building it again")
            }
        }
        std::fs::remove_dir_all(dir).map_err(io)?;
        std::fs::create_dir_all(dir).map_err(io)?;
        Self::try_open_dir(dir)
    }

    fn try_open_dir(dir: &Path) -> Result<SearchIndex, SearchError> {
        let mmap = MmapDirectory::open(dir).map_err(|e| SearchError::Index(e.to_string()))?;
        let (schema, fields) = schema();
        Self::with(Index::open_or_create(mmap, schema)?, fields)
    }

    /// An index in memory only (for what must not reach the disk in plaintext).
    pub fn in_memory() -> Result<SearchIndex, SearchError> {
        let (schema, fields) = schema();
        Self::with(Index::create_in_ram(schema), fields)
    }

    fn with(index: Index, fields: Fields) -> Result<SearchIndex, SearchError> {
        index.tokenizers().register(EN, analyser(Language::English));
        index.tokenizers().register(RU, analyser(Language::Russian));
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        let payload: Payload = index
            .load_metas()?
            .payload
            .and_then(|p| serde_json::from_str(&p).ok())
            .unwrap_or(Payload { version: VERSION, stamps: BTreeMap::new() });
        let empty = index.load_metas()?.segments.is_empty() && payload.stamps.is_empty();
        let version = if empty { VERSION } else { payload.version };
        Ok(SearchIndex { index, reader, writing: Mutex::new(()), fields, stamps: Mutex::new(payload.stamps), version })
    }

    fn version_ok(&self) -> bool {
        self.version == VERSION
    }

    /// The version of each document the index holds.
    pub fn stamps(&self) -> BTreeMap<String, String> {
        self.stamps.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Replaces the parts of each document in `units` (only those that changed: see the
    /// module's note), forgets the documents in `removed`, records the new stamps, and commits
    /// (visible to the next search). Answers how many parts went in and came out.
    pub fn apply(
        &self,
        units: Vec<(String, Vec<Part>)>,
        stamps: Vec<(String, String)>,
        removed: Vec<String>,
    ) -> Result<Applied, SearchError> {
        let _one = self.writing.lock().map_err(poisoned)?;
        let mut writer = self.writer()?;
        let mut all = self.stamps.lock().map_err(poisoned)?.clone();
        let mut applied = Applied::default();
        for doc in &removed {
            writer.delete_term(Term::from_field_text(self.fields.doc, doc));
            all.remove(doc);
        }
        // What the index holds is what the last commit made visible: one batch writes at a time,
        // and each reloads the reader when it commits.
        let searcher = self.reader.searcher();
        for (doc, parts) in units {
            let held = self.digests_of(&searcher, &doc)?;
            let mut now: HashMap<u64, Vec<Part>> = HashMap::new();
            for p in parts {
                now.entry(digest(&p)).or_default().push(p);
            }
            // Counted, not only compared: a document may hold two parts alike (two provisions
            // with the same words), and one of them may go.
            for (d, n) in &held {
                if now.get(d).map_or(0, Vec::len) != *n {
                    writer.delete_term(Term::from_field_u64(self.fields.digest, *d));
                    applied.deleted += n;
                }
            }
            for (d, ps) in now {
                if held.get(&d) == Some(&ps.len()) {
                    continue;
                }
                for p in &ps {
                    writer.add_document(self.document(p, d))?;
                    applied.added += 1;
                }
            }
        }
        all.extend(stamps);
        let payload = serde_json::to_string(&Payload { version: VERSION, stamps: all.clone() })
            .map_err(|e| SearchError::Index(e.to_string()))?;
        let mut commit = writer.prepare_commit()?;
        commit.set_payload(&payload);
        commit.commit()?;
        *self.stamps.lock().map_err(poisoned)? = all;
        self.reader.reload()?;
        Self::done(writer)?;
        Ok(applied)
    }

    /// The digests of the parts `doc` has in the index, each with how many parts carry it.
    fn digests_of(&self, searcher: &tantivy::Searcher, doc: &str) -> Result<HashMap<u64, usize>, SearchError> {
        let q = TermQuery::new(Term::from_field_text(self.fields.doc, doc), IndexRecordOption::Basic);
        let mut columns = HashMap::new();
        let mut out = HashMap::new();
        for addr in searcher.search(&q, &DocSetCollector)? {
            let column = match columns.entry(addr.segment_ord) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(searcher.segment_reader(addr.segment_ord).fast_fields().u64(DIGEST)?)
                }
            };
            if let Some(d) = column.first(addr.doc_id) {
                *out.entry(d).or_insert(0) += 1;
            }
        }
        Ok(out)
    }

    /// A writer for one batch. One thread: indexing is a background task on a small machine;
    /// searches stay fast.
    fn writer(&self) -> Result<IndexWriter, SearchError> {
        Ok(self.index.writer_with_num_threads(1, WRITER_BYTES)?)
    }

    /// Lets a batch's writer go once the merges its commit started are done (a writer dropped
    /// at once would cut them short, and the segments would pile up).
    fn done(writer: IndexWriter) -> Result<(), SearchError> {
        writer.wait_merging_threads()?;
        Ok(())
    }

    /// Replaces everything with `parts` (the item titles, rebuilt whole when the vault changes).
    pub fn replace_all(&self, parts: Vec<Part>) -> Result<(), SearchError> {
        let _one = self.writing.lock().map_err(poisoned)?;
        let mut writer = self.writer()?;
        writer.delete_all_documents()?;
        for p in &parts {
            writer.add_document(self.document(p, digest(p)))?;
        }
        writer.commit()?;
        self.reader.reload()?;
        Self::done(writer)
    }

    fn document(&self, p: &Part, digest: u64) -> TantivyDocument {
        let f = &self.fields;
        let mut d = TantivyDocument::default();
        d.add_text(f.doc, &p.doc);
        d.add_u64(f.digest, digest);
        d.add_text(f.kind, p.kind.as_str());
        d.add_text(f.title, &p.title);
        if let Some(l) = &p.label {
            d.add_text(f.label, l);
        }
        if let Some(l) = &p.lang {
            d.add_text(f.lang, l);
        }
        if let Some(a) = &p.anchor {
            d.add_text(f.anchor, a);
        }
        d.add_text(f.text, &p.text);
        d.add_text(f.en, &p.text);
        d.add_text(f.ru, &p.text);
        d
    }

    /// How many parts the index holds.
    pub fn parts(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// The best hits for `q` that `keep` accepts, best first.
    pub fn search(&self, q: &SearchQuery, keep: &dyn Fn(&Hit) -> bool) -> Result<Vec<Hit>, SearchError> {
        let f = &self.fields;
        let searcher = self.reader.searcher();
        let mut parser = QueryParser::for_index(&self.index, vec![f.en, f.ru]);
        // Every word must be there (in either analyser's form): officers narrow by adding words.
        parser.set_conjunction_by_default();
        // A stray quote or colon is searched as words, not refused.
        let (query, _) = parser.parse_query_lenient(&q.text);
        let top = searcher.search(&query, &TopDocs::with_limit(q.limit * OVERFETCH).order_by_score())?;
        let mut gens = Vec::new();
        for field in [f.ru, f.en] {
            let mut g = SnippetGenerator::create(&searcher, &*query, field)?;
            g.set_max_num_chars(SNIPPET_CHARS);
            gens.push(g);
        }
        let mut out = Vec::new();
        for (score, addr) in top {
            let d: TantivyDocument = searcher.doc(addr)?;
            let get = |field| d.get_first(field).and_then(|v| v.as_str()).map(str::to_string);
            let text = get(f.text).unwrap_or_default();
            // The analyser whose stems matched more of the text makes the snippet.
            let snippet = gens.iter().map(|g| g.snippet(&text)).max_by_key(|s| s.highlighted().len());
            let (snippet, highlights) = snippet.map(|s| to_chars(&s)).unwrap_or_default();
            let snippet = if snippet.is_empty() { text.chars().take(SNIPPET_CHARS).collect() } else { snippet };
            let hit = Hit {
                kind: get(f.kind).and_then(|k| PartKind::parse(&k)).unwrap_or(PartKind::Meeting),
                doc: get(f.doc).unwrap_or_default(),
                title: get(f.title).unwrap_or_default(),
                label: get(f.label),
                lang: get(f.lang),
                anchor: get(f.anchor),
                snippet,
                highlights,
                score,
            };
            if keep(&hit) {
                out.push(hit);
                if out.len() == q.limit {
                    break;
                }
            }
        }
        Ok(out)
    }
}

/// What one [`SearchIndex::apply`] changed, in parts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// Parts indexed.
    pub added: usize,
    /// Parts taken out (their documents' other parts stay).
    pub deleted: usize,
}

/// Everything a part holds, hashed: two parts with the same digest are the same hit. The
/// document's id is in it, so a digest deletes only its own document's parts. Each field goes
/// with its length (and whether it is there), so that no two parts hash the same bytes.
fn digest(p: &Part) -> u64 {
    let mut h = blake3::Hasher::new();
    let mut field = |v: Option<&str>| match v {
        None => {
            h.update(&[0]);
        }
        Some(s) => {
            h.update(&[1]);
            h.update(&(s.len() as u64).to_le_bytes());
            h.update(s.as_bytes());
        }
    };
    field(Some(&p.doc));
    field(Some(p.kind.as_str()));
    field(Some(&p.title));
    field(p.label.as_deref());
    field(p.lang.as_deref());
    field(p.anchor.as_deref());
    field(Some(&p.text));
    let mut first = [0u8; 8];
    first.copy_from_slice(&h.finalize().as_bytes()[..8]);
    u64::from_le_bytes(first)
}

/// A snippet's fragment with its highlights in characters, as clients (JavaScript) count.
fn to_chars(s: &Snippet) -> (String, Vec<[usize; 2]>) {
    let frag = s.fragment();
    let chars = |b: usize| frag.get(..b).map_or(0, |p| p.chars().count());
    let hl = s.highlighted().iter().map(|r| [chars(r.start), chars(r.end)]).collect();
    (frag.to_string(), hl)
}

fn poisoned<T>(_: std::sync::PoisonError<T>) -> SearchError {
    SearchError::Index("a search index lock was poisoned by a panic".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(doc: &str, text: &str) -> Part {
        Part {
            doc: doc.into(),
            kind: PartKind::Draft,
            title: "T".into(),
            label: Some("Article 1".into()),
            lang: Some("ru".into()),
            anchor: None,
            text: text.into(),
        }
    }

    fn find(ix: &SearchIndex, q: &str) -> Vec<Hit> {
        ix.search(&SearchQuery::new(q, None).unwrap(), &|_| true).unwrap()
    }

    #[test]
    fn stems_russian_and_english_and_replaces_a_document_whole() {
        let ix = SearchIndex::in_memory().unwrap();
        ix.apply(
            vec![("d1".into(), vec![part("d1", "Борьба с терроризмом"), part("d1", "Joint working meetings")])],
            vec![("d1".into(), "h1".into())],
            vec![],
        )
        .unwrap();
        let hits = find(&ix, "терроризма");
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].snippet, "Борьба с терроризмом");
        assert_eq!(hits[0].highlights, vec![[9, 20]]);
        assert_eq!(find(&ix, "meeting").len(), 1);
        assert_eq!(find(&ix, "Meetings working").len(), 1);
        assert!(find(&ix, "meeting терроризм").is_empty(), "every word must be in one part");
        ix.apply(vec![("d1".into(), vec![part("d1", "Экстремизм")])], vec![("d1".into(), "h2".into())], vec![])
            .unwrap();
        assert!(find(&ix, "терроризм").is_empty());
        assert_eq!(find(&ix, "экстремизма").len(), 1);
        assert_eq!(ix.stamps().get("d1").map(String::as_str), Some("h2"));
        // Query syntax typed by accident is searched as words.
        assert!(find(&ix, "\"unbalanced (").is_empty());
    }

    fn provision(doc: &str, anchor: &str, text: &str) -> Part {
        Part { anchor: Some(anchor.into()), ..part(doc, text) }
    }

    #[test]
    fn only_the_parts_that_changed_go_in_again() {
        let ix = SearchIndex::in_memory().unwrap();
        let draft = |second: &str| {
            vec![
                provision("d1", "p1", "Consultations shall be held"),
                provision("d1", "p2", second),
                provision("d1", "p3", "Совместные рабочие встречи"),
            ]
        };
        let first = ix.apply(vec![("d1".into(), draft("Liaison officers"))], vec![], vec![]).unwrap();
        assert_eq!(first, Applied { added: 3, deleted: 0 });
        ix.apply(vec![("d2".into(), vec![provision("d2", "p2", "Liaison officers")])], vec![], vec![]).unwrap();

        // One provision typed in: one part out, one in; the others and the other draft stay.
        let typed = ix.apply(vec![("d1".into(), draft("Liaison officer's registry"))], vec![], vec![]).unwrap();
        assert_eq!(typed, Applied { added: 1, deleted: 1 });
        assert_eq!(ix.parts(), 4);
        assert_eq!(find(&ix, "registry").len(), 1);
        let officers: Vec<String> = find(&ix, "officers").into_iter().map(|h| h.doc).collect();
        assert_eq!(officers.len(), 2, "d1's new words and d2's own part: {officers:?}");
        assert_eq!(find(&ix, "consultation").len(), 1);
        assert_eq!(find(&ix, "встреча").len(), 1);

        // Nothing changed: nothing goes in or out.
        let same = ix.apply(vec![("d1".into(), draft("Liaison officer's registry"))], vec![], vec![]).unwrap();
        assert_eq!(same, Applied::default());
        assert_eq!(ix.parts(), 4);

        // The same words in another provision are another part (its anchor differs); a part
        // moved to another anchor is taken out and put in.
        let moved = ix
            .apply(
                vec![(
                    "d1".into(),
                    vec![
                        provision("d1", "p1", "Consultations shall be held"),
                        provision("d1", "p9", "Liaison officer's registry"),
                    ],
                )],
                vec![],
                vec![],
            )
            .unwrap();
        assert_eq!(moved, Applied { added: 1, deleted: 2 });
        let hit = find(&ix, "registry");
        assert_eq!(hit.len(), 1);
        assert_eq!(hit[0].anchor.as_deref(), Some("p9"));
        assert!(find(&ix, "встреча").is_empty());
    }

    #[test]
    fn two_parts_alike_are_counted_not_merged() {
        let ix = SearchIndex::in_memory().unwrap();
        let same = || provision("d1", "p1", "Article");
        ix.apply(vec![("d1".into(), vec![same(), same()])], vec![], vec![]).unwrap();
        assert_eq!(find(&ix, "article").len(), 2);
        // One of the two goes: both come out, one goes in again.
        let one = ix.apply(vec![("d1".into(), vec![same()])], vec![], vec![]).unwrap();
        assert_eq!(one, Applied { added: 1, deleted: 2 });
        assert_eq!(find(&ix, "article").len(), 1);
        assert_eq!(ix.parts(), 1);
    }

    #[test]
    fn a_disk_index_keeps_its_stamps_and_a_broken_one_is_built_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("search");
        {
            let ix = SearchIndex::open_dir(&path).unwrap();
            ix.apply(vec![("d1".into(), vec![part("d1", "consultation")])], vec![("d1".into(), "h1".into())], vec![])
                .unwrap();
        }
        let ix = SearchIndex::open_dir(&path).unwrap();
        assert_eq!(ix.stamps().get("d1").map(String::as_str), Some("h1"));
        assert_eq!(find(&ix, "consultations").len(), 1);
        drop(ix);
        std::fs::write(path.join("meta.json"), b"not json").unwrap();
        let ix = SearchIndex::open_dir(&path).unwrap();
        assert!(ix.stamps().is_empty());
        assert!(find(&ix, "consultation").is_empty());
    }

    #[test]
    fn hits_the_check_refuses_are_not_counted() {
        let ix = SearchIndex::in_memory().unwrap();
        let parts = (0..10).map(|i| part(&format!("d{i}"), "secret report")).collect();
        ix.replace_all(parts).unwrap();
        let q = SearchQuery::new("report", Some(3)).unwrap();
        let hits = ix.search(&q, &|h| h.doc != "d0" && h.doc != "d1").unwrap();
        assert_eq!(hits.len(), 3);
        assert!(hits.iter().all(|h| h.doc != "d0" && h.doc != "d1"));
    }
}
