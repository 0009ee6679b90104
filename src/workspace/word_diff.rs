//! What changed between two texts, word by word, as track changes show it: the one diff the
//! history, suggestions and version comparisons all use (the web app draws it with `<ins>` and
//! `<del>`, the CLI as `[-old-]{+new+}`).
//!
//! A unified diff is for programmers: it works by lines, shows a one-line paragraph as a
//! deleted and an added line, and says "\ No newline at end of file". Officers compare words. The
//! texts are cut into words (letters and digits of any script, so Cyrillic too), runs of spaces,
//! line breaks and single punctuation marks; CRLF and CR count as one line break, so a text
//! typed on Windows does not differ everywhere from the same text typed elsewhere.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use similar::{Algorithm, DiffOp};

/// How long one diff may take: past it, the rest is shown as deleted and inserted whole (still
/// right, only coarser), so that comparing two very different long texts cannot stall a reader.
const DEADLINE: Duration = Duration::from_millis(500);

/// What a piece of a diff is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    /// In both texts.
    Equal,
    /// Only in the new text.
    Insert,
    /// Only in the old text.
    Delete,
}

/// One run of text of a diff; concatenating the `equal` and `delete` pieces gives the old text,
/// the `equal` and `insert` ones the new text (line breaks as `\n`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Piece {
    /// Equal, inserted or deleted.
    pub op: Op,
    /// The text.
    pub text: String,
}

/// The texts' line breaks as `\n`.
fn normalise(s: &str) -> String {
    s.replace("\r\n", "\n").replace('\r', "\n")
}

/// Words, runs of spaces, single line breaks and single other characters (punctuation).
fn tokens(s: &str) -> Vec<&str> {
    #[derive(PartialEq)]
    enum Class {
        Word,
        Space,
        Other,
    }
    let class = |c: char| {
        if c.is_alphanumeric() || c == '_' {
            Class::Word
        } else if c.is_whitespace() && c != '\n' {
            Class::Space
        } else {
            Class::Other
        }
    };
    let mut out = Vec::new();
    let mut start = 0;
    let mut prev: Option<Class> = None;
    for (i, c) in s.char_indices() {
        let k = class(c);
        let joins = matches!((&prev, &k), (Some(Class::Word), Class::Word) | (Some(Class::Space), Class::Space));
        if !joins && i > start {
            out.push(&s[start..i]);
            start = i;
        }
        prev = Some(k);
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

/// The word-level difference from `old` to `new`.
pub fn words(old: &str, new: &str) -> Vec<Piece> {
    let (old, new) = (normalise(old), normalise(new));
    let (a, b) = (tokens(&old), tokens(&new));
    let ops = similar::capture_diff_slices_deadline(Algorithm::Myers, &a, &b, Some(Instant::now() + DEADLINE));
    let mut raw: Vec<Piece> = Vec::new();
    for op in ops {
        let (kind, text) = match op {
            DiffOp::Equal { old_index, len, .. } => (Op::Equal, a[old_index..old_index + len].concat()),
            DiffOp::Delete { old_index, old_len, .. } => (Op::Delete, a[old_index..old_index + old_len].concat()),
            DiffOp::Insert { new_index, new_len, .. } => (Op::Insert, b[new_index..new_index + new_len].concat()),
            DiffOp::Replace { old_index, old_len, new_index, new_len } => {
                push(&mut raw, Op::Delete, a[old_index..old_index + old_len].concat());
                (Op::Insert, b[new_index..new_index + new_len].concat())
            }
        };
        push(&mut raw, kind, text);
    }
    tidy(raw)
}

fn push(out: &mut Vec<Piece>, op: Op, text: String) {
    if text.is_empty() {
        return;
    }
    match out.last_mut() {
        Some(p) if p.op == op => p.text.push_str(&text),
        _ => out.push(Piece { op, text }),
    }
}

/// Reads like an editor's track changes: a space left standing between two changed words joins
/// the change ("[-a b-]{+c d+}", not "[-a-]{+c+} [-b-]{+d+}"), and each changed run says what
/// went, then what came. A line break stays, so that paragraphs stay apart.
fn tidy(raw: Vec<Piece>) -> Vec<Piece> {
    let changed = |p: Option<&Piece>| p.is_some_and(|p| p.op != Op::Equal);
    let mut out: Vec<Piece> = Vec::new();
    let mut del = String::new();
    let mut ins = String::new();
    let flush = |out: &mut Vec<Piece>, del: &mut String, ins: &mut String| {
        push(out, Op::Delete, std::mem::take(del));
        push(out, Op::Insert, std::mem::take(ins));
    };
    for (i, p) in raw.iter().enumerate() {
        match p.op {
            Op::Delete => del.push_str(&p.text),
            Op::Insert => ins.push_str(&p.text),
            Op::Equal => {
                let glue = p.text.trim().is_empty()
                    && !p.text.contains('\n')
                    && changed(i.checked_sub(1).and_then(|j| raw.get(j)))
                    && changed(raw.get(i + 1));
                if glue {
                    del.push_str(&p.text);
                    ins.push_str(&p.text);
                } else {
                    flush(&mut out, &mut del, &mut ins);
                    push(&mut out, Op::Equal, p.text.clone());
                }
            }
        }
    }
    flush(&mut out, &mut del, &mut ins);
    slide(&mut out);
    // A piece the sliding emptied goes, and equal neighbours join.
    let mut joined = Vec::with_capacity(out.len());
    for p in out {
        push(&mut joined, p.op, p.text);
    }
    joined
}

/// A lone insertion or deletion that starts with a space the text after it also starts with
/// is moved one space on ("hold {+regular +}joint", not "hold{+ regular+} joint"): the diff
/// algorithm may give either, and a reader (or a test) should always see the same.
fn slide(pieces: &mut [Piece]) {
    for i in 1..pieces.len().saturating_sub(1) {
        if pieces[i].op == Op::Equal || pieces[i - 1].op != Op::Equal || pieces[i + 1].op != Op::Equal {
            continue;
        }
        while let Some(c) = pieces[i].text.chars().next()
            && c.is_whitespace()
            && pieces[i + 1].text.starts_with(c)
        {
            pieces[i - 1].text.push(c);
            pieces[i].text.remove(0);
            pieces[i].text.push(c);
            pieces[i + 1].text.remove(0);
        }
    }
}

/// Whether the two texts differ at all (by the diff's own measure: line breaks normalised).
pub fn changed(pieces: &[Piece]) -> bool {
    pieces.iter().any(|p| p.op != Op::Equal)
}

/// A diff as text, the way `git diff --word-diff` writes it: `[-deleted-]{+inserted+}`; with
/// `colour`, deletions red and insertions green (ANSI), for a terminal.
pub fn render(pieces: &[Piece], colour: bool) -> String {
    let mut s = String::new();
    for p in pieces {
        match (p.op, colour) {
            (Op::Equal, _) => s.push_str(&p.text),
            (Op::Delete, false) => s.push_str(&format!("[-{}-]", p.text)),
            (Op::Insert, false) => s.push_str(&format!("{{+{}+}}", p.text)),
            (Op::Delete, true) => s.push_str(&format!("\x1b[31m[-{}-]\x1b[0m", p.text)),
            (Op::Insert, true) => s.push_str(&format!("\x1b[32m{{+{}+}}\x1b[0m", p.text)),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn side(p: &[Piece], keep: Op) -> String {
        p.iter().filter(|p| p.op == Op::Equal || p.op == keep).map(|p| p.text.as_str()).collect()
    }

    #[test]
    fn the_pieces_give_back_both_texts() {
        let (a, b) =
            ("Article 1. The Parties shall exchange information.", "Article 1. The Parties may exchange data.");
        let d = words(a, b);
        assert_eq!(side(&d, Op::Delete), a);
        assert_eq!(side(&d, Op::Insert), b);
        assert_eq!(render(&d, false), "Article 1. The Parties [-shall-]{+may+} exchange [-information-]{+data+}.");
    }

    #[test]
    fn cyrillic_words_are_words() {
        let d = words("Статья 2. Стороны могут проводить встречи.", "Статья 2. Стороны проводят совместные встречи.");
        assert_eq!(render(&d, false), "Статья 2. Стороны [-могут проводить-]{+проводят совместные+} встречи.");
        // One changed letter changes the word, not a byte of it.
        let d = words("мандат", "мандаты");
        assert_eq!(
            d,
            vec![Piece { op: Op::Delete, text: "мандат".into() }, Piece { op: Op::Insert, text: "мандаты".into() }]
        );
    }

    #[test]
    fn crlf_is_a_line_break_like_any_other() {
        let d = words("First line.\r\nSecond line.", "First line.\nSecond line.");
        assert!(!changed(&d), "{d:?}");
        let d = words("First.\r\nSecond.\r\n", "First.\nSecond, amended.\n");
        assert_eq!(render(&d, false), "First.\nSecond{+, amended+}.\n");
        assert!(d.iter().all(|p| !p.text.contains('\r')));
    }

    #[test]
    fn punctuation_is_its_own_token() {
        let d = words("information, as agreed.", "information as agreed;");
        assert_eq!(render(&d, false), "information[-,-] as agreed[-.-]{+;+}");
    }

    #[test]
    fn empty_texts_and_no_newline_remarks() {
        assert!(words("", "").is_empty());
        assert_eq!(words("", "New text"), vec![Piece { op: Op::Insert, text: "New text".into() }]);
        assert_eq!(words("Old text", ""), vec![Piece { op: Op::Delete, text: "Old text".into() }]);
        let d = words("no newline at the end", "no newline at the end\n");
        assert_eq!(render(&d, false), "no newline at the end{+\n+}");
        assert!(!render(&d, false).contains("No newline"));
    }

    #[test]
    fn paragraphs_stay_apart_and_colour_is_for_terminals() {
        let d = words("A b.\n\nC d.", "A x.\n\nC y.");
        assert_eq!(render(&d, false), "A [-b-]{+x+}.\n\nC [-d-]{+y+}.");
        assert_eq!(render(&words("a", "b"), true), "\x1b[31m[-a-]\x1b[0m\x1b[32m{+b+}\x1b[0m");
    }

    #[test]
    fn an_insertion_between_words_ends_with_its_space() {
        assert_eq!(render(&words("hold joint", "hold regular joint"), false), "hold {+regular +}joint");
        assert_eq!(render(&words("hold regular joint", "hold joint"), false), "hold [-regular -]joint");
        assert_eq!(
            render(&words("may hold meetings.", "may hold joint working meetings."), false),
            "may hold {+joint working +}meetings."
        );
    }

    #[test]
    fn serialises_as_op_and_text() {
        let v = serde_json::to_value(words("a", "a b")).unwrap();
        assert_eq!(v, serde_json::json!([{"op": "equal", "text": "a"}, {"op": "insert", "text": " b"}]));
    }
}
