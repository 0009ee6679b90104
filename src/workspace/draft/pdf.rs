//! The original of an executed draft in one language, as a PDF (`liaison draft original`).
//!
//! The Protocol was executed "in two originals, equally authentic, one kept by each Party": this
//! is that document, one per language: the title, the Parties by their full names in that
//! language, the preamble, the numbered articles (numbers generated from the provisions' places,
//! as everywhere), a signature block for each Party (who signed, when, with which key) and the
//! content hash with how to check it. It is made from the signed state alone, byte for byte the
//! same each time (no date of making, a document id from the hash), so that either Party can
//! make it again and get the same file; the node's kept original (`Original`) is what says
//! which text was signed.
//!
//! Text is set in DejaVu Sans (embedded, subset to the glyphs used; Latin and Cyrillic), with
//! lines broken by the font's own advance widths.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use krilla::Document;
use krilla::geom::Point;
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::text::{Font, TextDirection};
use serde::Serialize;
use skrifa::MetadataProvider;

use super::{Draft, DraftState, ProvisionKind, body_text};

static REGULAR: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");
static BOLD: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans-Bold.ttf");

/// Why no original is made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "code", rename_all = "kebab-case")]
pub enum OriginalRefusal {
    /// Only an executed draft (signed by every Party over the text as it stands) has originals.
    #[error(
        "draft is {state}, not executed: only a draft signed by every Party has originals (the bilingual export shows a draft at any stage)"
    )]
    NotExecuted {
        /// Where the draft stands.
        state: DraftState,
    },
    /// The language is not one of the draft's.
    #[error("{lang:?} is not a language of this draft (it has {languages:?})")]
    NoSuchLanguage {
        /// The language asked for.
        lang: String,
        /// The draft's languages.
        languages: Vec<String>,
    },
    /// The text as stored is not the text this node kept when the draft was executed (see
    /// `liaison draft verify`): no original is made from it.
    #[error(
        "the text as stored (hash {stored}) differs from this node's executed original (hash {kept}); run `draft verify`"
    )]
    DiffersFromKept {
        /// The hash of the text as stored, hex.
        stored: String,
        /// The hash of the original this node kept, hex.
        kept: String,
    },
    /// The PDF library failed (a bug, not the officer's doing).
    #[error("the PDF could not be made: {reason}")]
    Render {
        /// What the library said.
        reason: String,
    },
}

impl OriginalRefusal {
    /// The refusal's code, as the API sends it.
    pub fn code(&self) -> &'static str {
        match self {
            OriginalRefusal::NotExecuted { .. } => "not-executed",
            OriginalRefusal::NoSuchLanguage { .. } => "no-such-language",
            OriginalRefusal::DiffersFromKept { .. } => "differs-from-kept-original",
            OriginalRefusal::Render { .. } => "render-failed",
        }
    }
}

/// The words of the document in one language.
struct Words {
    original: &'static str,
    parties: &'static str,
    article: &'static str,
    signatures: &'static str,
    for_party: &'static str,
    signed_by: &'static str,
    on: &'static str,
    key: &'static str,
    hash: &'static str,
    covers: &'static str,
    verify: &'static str,
    page: &'static str,
    of: &'static str,
    draft: &'static str,
}

const EN: Words = Words {
    original: "Original in English",
    parties: "The Parties",
    article: "Article",
    signatures: "Signatures",
    for_party: "For",
    signed_by: "Signed by",
    on: "on",
    key: "Signing key fingerprint",
    hash: "Content hash (SHA-256)",
    covers: "The hash covers the title and the text of every provision in every language of the draft, in order, as both Parties signed it; each signature is an Ed25519 signature of the Party's key over this hash.",
    verify: "To verify, on either Party's node run:",
    page: "Page",
    of: "of",
    draft: "Draft",
};

const RU: Words = Words {
    original: "Подлинный экземпляр на русском языке",
    parties: "Стороны",
    article: "Статья",
    signatures: "Подписи",
    for_party: "За",
    signed_by: "Подписал(а)",
    on: "",
    key: "Отпечаток ключа подписи",
    hash: "Хеш содержания (SHA-256)",
    covers: "Хеш охватывает название и текст каждого положения на каждом языке проекта, по порядку, в том виде, в каком его подписали обе Стороны; каждая подпись — подпись Ed25519 ключом Стороны над этим хешем.",
    verify: "Для проверки на узле любой из Сторон выполните:",
    page: "Стр.",
    of: "из",
    draft: "Проект",
};

fn words(lang: &str) -> &'static Words {
    if lang == "ru" { &RU } else { &EN }
}

/// "executed in English and Russian, both texts equally authentic", in `lang`.
fn authentic(lang: &str, languages: &[String]) -> String {
    let name = |l: &str| -> String {
        match (lang, l) {
            ("ru", "en") => "английском".into(),
            ("ru", "ru") => "русском".into(),
            (_, "en") => "English".into(),
            (_, "ru") => "Russian".into(),
            (_, other) => other.to_uppercase(),
        }
    };
    let names: Vec<String> = languages.iter().map(|l| name(l)).collect();
    let list = match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => {
            format!("{} {} {last}", rest.join(", "), if lang == "ru" { "и" } else { "and" })
        }
        _ => names.join(""),
    };
    if lang == "ru" {
        format!("Подписан на {list} языках; все тексты имеют одинаковую силу.")
    } else {
        format!("Executed in {list}, each text being equally authentic.")
    }
}

/// A signature time as "2026-05-01 09:30 UTC" (as stored if it does not parse).
fn when(at: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(at)
        .map(|t| t.with_timezone(&chrono::Utc).format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|_| at.to_string())
}

static FONTS: LazyLock<Option<(Font, Font)>> =
    LazyLock::new(|| Some((Font::new(REGULAR.into(), 0)?, Font::new(BOLD.into(), 0)?)));

/// Measures text in a font, by its advance widths (no kerning: lines break a little early).
struct Measure<'a> {
    font: skrifa::FontRef<'a>,
}

impl<'a> Measure<'a> {
    fn new(bytes: &'a [u8]) -> Option<Self> {
        skrifa::FontRef::new(bytes).ok().map(|font| Measure { font })
    }
    fn width(&self, text: &str, size: f32) -> f32 {
        let cmap = self.font.charmap();
        let m = self.font.glyph_metrics(skrifa::instance::Size::new(size), skrifa::instance::LocationRef::default());
        text.chars().map(|c| cmap.map(c).and_then(|g| m.advance_width(g)).unwrap_or(size * 0.6)).sum()
    }
}

/// One line placed on a page.
struct Line {
    x: f32,
    y: f32,
    size: f32,
    bold: bool,
    text: String,
}

const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
const MARGIN: f32 = 64.0;
const BOTTOM: f32 = PAGE_H - 72.0;

/// Lays text out into pages of lines.
struct Layout<'a> {
    regular: Measure<'a>,
    bold: Measure<'a>,
    pages: Vec<Vec<Line>>,
    y: f32,
}

impl Layout<'_> {
    fn line_height(size: f32) -> f32 {
        size * 1.4
    }

    fn space(&mut self, pt: f32) {
        self.y += pt;
    }

    /// Starts a new page if fewer than `need` points are left on this one.
    fn keep(&mut self, need: f32) {
        if self.y + need > BOTTOM {
            self.pages.push(Vec::new());
            self.y = MARGIN;
        }
    }

    /// Breaks `text` into lines at most `width` wide (words longer than a line are cut).
    fn wrap(&self, text: &str, size: f32, bold: bool, width: f32) -> Vec<String> {
        let m = if bold { &self.bold } else { &self.regular };
        let mut out = Vec::new();
        for para in text.split('\n') {
            let mut line = String::new();
            for word in para.split_whitespace() {
                let candidate = if line.is_empty() { word.to_string() } else { format!("{line} {word}") };
                if m.width(&candidate, size) <= width {
                    line = candidate;
                    continue;
                }
                if !line.is_empty() {
                    out.push(std::mem::take(&mut line));
                }
                // A word wider than the line (a hash, a long reference): cut it by characters.
                let mut piece = String::new();
                for c in word.chars() {
                    piece.push(c);
                    if m.width(&piece, size) > width {
                        piece.pop();
                        out.push(std::mem::take(&mut piece));
                        piece.push(c);
                    }
                }
                line = piece;
            }
            out.push(line);
        }
        out
    }

    /// A paragraph at `indent`, lines kept together on a page when it is short.
    fn para(&mut self, text: &str, size: f32, bold: bool, indent: f32) {
        let lines = self.wrap(text, size, bold, PAGE_W - 2.0 * MARGIN - indent);
        let lh = Self::line_height(size);
        if lines.len() <= 4 {
            self.keep(lh * lines.len() as f32);
        }
        for l in lines {
            self.keep(lh);
            self.y += size;
            let y = self.y;
            if let Some(page) = self.pages.last_mut() {
                page.push(Line { x: MARGIN + indent, y, size, bold, text: l });
            }
            self.y += lh - size;
        }
    }

    /// One line centred on the page.
    fn centred(&mut self, text: &str, size: f32, bold: bool) {
        for l in self.wrap(text, size, bold, PAGE_W - 2.0 * MARGIN) {
            let m = if bold { &self.bold } else { &self.regular };
            let x = (PAGE_W - m.width(&l, size)) / 2.0;
            self.keep(Self::line_height(size));
            self.y += size;
            let y = self.y;
            if let Some(page) = self.pages.last_mut() {
                page.push(Line { x: x.max(MARGIN), y, size, bold, text: l });
            }
            self.y += Self::line_height(size) - size;
        }
    }
}

/// The original of `d` in `lang` as PDF bytes. `names` gives each Party's full name in `lang`
/// (by Party id; a Party without one is shown by its id); `kept` is the hash of the original
/// this node kept when the draft was executed. Refused unless `d` is executed and its text is
/// the one kept.
pub fn original(
    d: &Draft,
    lang: &str,
    names: &BTreeMap<String, String>,
    kept: Option<&[u8; 32]>,
) -> Result<Vec<u8>, OriginalRefusal> {
    if d.state != DraftState::Executed {
        return Err(OriginalRefusal::NotExecuted { state: d.state });
    }
    match kept.map(hex::encode) {
        Some(k) if k == d.content_hash => {}
        other => {
            return Err(OriginalRefusal::DiffersFromKept {
                stored: d.content_hash.clone(),
                kept: other.unwrap_or_else(|| "none".into()),
            });
        }
    }
    if !d.languages.iter().any(|l| l == lang) {
        return Err(OriginalRefusal::NoSuchLanguage { lang: lang.to_string(), languages: d.languages.clone() });
    }
    let render = |reason: &str| OriginalRefusal::Render { reason: reason.to_string() };
    let w = words(lang);
    let name = |p: &str| names.get(p).cloned().unwrap_or_else(|| p.to_string());
    let (Some(regular), Some(bold)) = (Measure::new(REGULAR), Measure::new(BOLD)) else {
        return Err(render("the embedded font does not read"));
    };
    let mut l = Layout { regular, bold, pages: vec![Vec::new()], y: MARGIN };

    l.centred(&d.title, 16.0, true);
    l.space(4.0);
    l.centred(w.original, 10.0, false);
    l.centred(&authentic(lang, &d.languages), 9.0, false);
    l.space(14.0);
    l.para(&format!("{}:", w.parties), 11.0, true, 0.0);
    for p in &d.parties {
        l.para(&name(p), 11.0, false, 12.0);
    }
    l.space(12.0);

    let mut article = 0;
    for p in &d.provisions {
        let text = p.texts.get(lang).map(String::as_str).unwrap_or("");
        match p.kind {
            ProvisionKind::Preamble => {
                l.para(text, 11.0, false, 0.0);
                l.space(6.0);
            }
            ProvisionKind::Article => {
                article += 1;
                l.space(6.0);
                // The heading stays with the first lines of its article.
                l.keep(11.0 * 1.4 * 3.0);
                l.para(&format!("{} {article}", w.article), 11.0, true, 0.0);
                l.para(body_text(p.kind, text), 11.0, false, 0.0);
                l.space(4.0);
            }
            // The label as the draft shows it: (a), (b), …
            ProvisionKind::Item => l.para(&format!("{} {}", p.label, text), 11.0, false, 18.0),
        }
    }

    l.space(18.0);
    l.keep(11.0 * 1.4 * 8.0);
    l.para(w.signatures, 12.0, true, 0.0);
    l.space(4.0);
    for party in &d.parties {
        l.keep(11.0 * 1.4 * 5.0);
        l.para(&format!("{} {}", w.for_party, name(party)), 11.0, true, 0.0);
        match d.signatures.iter().find(|s| &s.party == party) {
            Some(s) => {
                let who = s.officer.as_ref().map(|a| a.officer.clone()).unwrap_or_default();
                let on = if w.on.is_empty() { String::new() } else { format!(" {}", w.on) };
                l.para(&format!("{}: {who},{on} {}", w.signed_by, when(&s.at)), 10.0, false, 12.0);
                l.para(&format!("{}: {}", w.key, s.fingerprint), 9.0, false, 12.0);
            }
            None => l.para("—", 10.0, false, 12.0),
        }
        l.space(8.0);
    }

    l.space(10.0);
    l.keep(9.0 * 1.4 * 10.0);
    l.para(&format!("{}:", w.hash), 10.0, true, 0.0);
    l.para(&d.content_hash, 9.0, false, 0.0);
    l.space(4.0);
    l.para(w.covers, 9.0, false, 0.0);
    l.para(w.verify, 9.0, false, 0.0);
    l.para(&format!("liaison draft verify {}", d.id), 9.0, false, 12.0);

    let Some((font, font_bold)) = FONTS.clone() else {
        return Err(render("the embedded font does not read"));
    };
    let mut doc = Document::new();
    doc.set_metadata(
        Metadata::new()
            .title(d.title.clone())
            .language(lang.to_string())
            .creator("liaison".into())
            .document_id(format!("{}/{lang}", d.content_hash)),
    );
    let total = l.pages.len();
    let settings = PageSettings::from_wh(PAGE_W, PAGE_H).ok_or_else(|| render("page size"))?;
    for (i, lines) in l.pages.iter().enumerate() {
        let mut page = doc.start_page_with(settings.clone());
        let mut s = page.surface();
        for line in lines {
            let f = if line.bold { font_bold.clone() } else { font.clone() };
            s.draw_text(Point::from_xy(line.x, line.y), f, line.size, &line.text, false, TextDirection::Auto);
        }
        let footer = format!("{} {} · {} {} {} {}", w.draft, short_id(&d.id), w.page, i + 1, w.of, total);
        s.draw_text(Point::from_xy(MARGIN, PAGE_H - 40.0), font.clone(), 8.0, &footer, false, TextDirection::Auto);
        s.finish();
        page.finish();
    }
    doc.finish().map_err(|e| render(&format!("{e:?}")))
}

fn short_id(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}
