//! Printing for the CLI: JSON for scripts, aligned columns for people.

use serde::Serialize;

/// Prints `v` as pretty JSON.
pub fn json<T: Serialize>(v: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

/// Prints what a create returned: the new id alone (for `$(...)` in scripts), or JSON.
pub fn created(r: &crate::api::Created, json: bool) -> anyhow::Result<()> {
    if json {
        return self::json(r);
    }
    println!("{}", r.id);
    Ok(())
}

/// Prints a list: as JSON for scripts, or as a table with one row per element.
pub fn list<T: Serialize>(v: &[T], json: bool, header: &[&str], row: impl Fn(&T) -> Vec<String>) -> anyhow::Result<()> {
    if json {
        return self::json(&v);
    }
    table(header, &v.iter().map(row).collect::<Vec<_>>());
    Ok(())
}

/// The line under a page of a list: which entries it shows of how many, and how to get the next
/// page; `None` when it shows them all.
pub fn page_note(noun: &str, offset: usize, shown: usize, total: usize) -> Option<String> {
    if shown == 0 && total > 0 {
        return Some(format!("no {noun} past --offset {offset}: there are {total}"));
    }
    if shown >= total {
        return None;
    }
    let (from, to) = (offset + 1, offset + shown);
    let next = if to < total { format!("; the next with --offset {to}") } else { String::new() };
    Some(format!("{noun} {from}–{to} of {total}{next}"))
}

/// Prints rows as columns under a header, each column as wide as its widest cell.
pub fn table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(c.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(c);
                s.push_str(&" ".repeat(widths[i] - c.chars().count() + 2));
            }
        }
        println!("{}", s.trim_end());
    };
    line(header.to_vec());
    for r in rows {
        line(r.iter().map(String::as_str).collect());
    }
    if rows.is_empty() {
        println!("(none)");
    }
}

/// A short form of a long id for tables; any unique prefix works as an argument.
pub fn short(id: &str) -> String {
    id.chars().take(12).collect()
}

/// An optional value for a table cell.
pub fn opt(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "-".into())
}

/// Prints a history (from `GET /api/.../history`): one line per change or run of like changes,
/// with the Party and node (proven) and the officer (the Party's word).
pub fn history(v: &[crate::engine::HistoryEntry], json: bool) -> anyhow::Result<()> {
    if json {
        return self::json(&v);
    }
    if v.is_empty() {
        println!("(no change)");
    }
    for e in v {
        let when = if e.from == e.to { e.from.clone() } else { format!("{} .. {}", e.from, e.to) };
        let who = match e.proof.as_str() {
            "node" => format!(
                "{} ({}, node {})",
                e.officer.as_deref().unwrap_or("?"),
                e.party.as_deref().unwrap_or("?"),
                short_node(e.node.as_deref().unwrap_or(""))
            ),
            "genesis" => "(the first change every node makes)".into(),
            "before-authentication" => format!(
                "{} (before authentication; sealed by {})",
                e.officer.as_deref().unwrap_or("?"),
                e.sealed_by.as_deref().unwrap_or("?")
            ),
            _ => format!("{} (UNVERIFIED)", e.officer.as_deref().unwrap_or("?")),
        };
        let times = if e.changes > 1 { format!(" ({} changes)", e.changes) } else { String::new() };
        let record = e.record_of.as_ref().map(|p| format!(" [{p}'s record]")).unwrap_or_default();
        println!("{when}  {who}{record}: {}{times}", e.what.join(", "));
        for t in &e.texts {
            let which = t.key.as_ref().map(|k| format!(" {k}")).unwrap_or_default();
            println!("    {}{which}: {}", t.what, word_diff(&t.diff).replace('\n', "\n    "));
        }
    }
    Ok(())
}

/// A word diff as `git diff --word-diff` prints it (`[-old-]{+new+}`), coloured on a terminal
/// unless NO_COLOR is set.
pub fn word_diff(pieces: &[crate::workspace::word_diff::Piece]) -> String {
    let colour = std::io::IsTerminal::is_terminal(&std::io::stdout()) && std::env::var_os("NO_COLOR").is_none();
    crate::workspace::word_diff::render(pieces, colour)
}

fn short_node(node: &str) -> String {
    let n = node.len();
    if n > 12 { format!("…{}", &node[n - 8..]) } else { node.to_string() }
}
