//! The tantivy side: one index of [`Part`]s, on disk or in memory.
//!
//! Each part's words are indexed twice, through an English and a Russian analyser (simple
//! tokenizer, lower case, Snowball stemmer), so that "meetings" finds "meeting" and
//! "терроризма" finds "терроризм" whatever language a provision or a query is in; a query
//! searches both fields. The words themselves are stored once, for the snippets.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use tantivy::collector::TopDocs;
use tantivy::directory::MmapDirectory;
use tantivy::query::QueryParser;
use tantivy::schema::{
    Field, IndexRecordOption, STORED, STRING, Schema, TantivyDocument, TextFieldIndexing, TextOptions, Value,
};
use tantivy::snippet::{Snippet, SnippetGenerator};
use tantivy::tokenizer::{Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, TextAnalyzer};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, Term};

use super::extract::{Part, PartKind};
use super::{Hit, SearchError, SearchQuery};

/// The layout of the index and its analysers. An index of another version is built again.
const VERSION: u32 = 1;
/// The writer's memory before it flushes a segment (tantivy's minimum is 15 MB per thread).
const WRITER_BYTES: usize = 20_000_000;
/// Characters of text around the words found in a snippet.
const SNIPPET_CHARS: usize = 160;
/// How many more hits than asked for are read, so that hits dropped by the access check do not
/// leave the answer short.
const OVERFETCH: usize = 4;

const EN: &str = "liaison_en";
const RU: &str = "liaison_ru";

struct Fields {
    doc: Field,
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

    /// Replaces the parts of each document in `units`, forgets the documents in `removed`,
    /// records the new stamps, and commits (visible to the next search).
    pub fn apply(
        &self,
        units: Vec<(String, Vec<Part>)>,
        stamps: Vec<(String, String)>,
        removed: Vec<String>,
    ) -> Result<(), SearchError> {
        let _one = self.writing.lock().map_err(poisoned)?;
        let mut writer = self.writer()?;
        let mut all = self.stamps.lock().map_err(poisoned)?.clone();
        for doc in &removed {
            writer.delete_term(Term::from_field_text(self.fields.doc, doc));
            all.remove(doc);
        }
        for (doc, parts) in units {
            writer.delete_term(Term::from_field_text(self.fields.doc, &doc));
            for p in parts {
                writer.add_document(self.document(&p))?;
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
        Self::done(writer)
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
            writer.add_document(self.document(p))?;
        }
        writer.commit()?;
        self.reader.reload()?;
        Self::done(writer)
    }

    fn document(&self, p: &Part) -> TantivyDocument {
        let f = &self.fields;
        let mut d = TantivyDocument::default();
        d.add_text(f.doc, &p.doc);
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
