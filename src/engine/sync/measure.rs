//! How big a peer's automerge bytes are once decompressed and loaded, found without
//! decompressing them into memory or loading them, so that a bound is checked before the work.
//!
//! automerge 0.12 offers no bound on what it decompresses or loads (`LoadOptions` has none, and
//! its chunk parser is private), and its saved format does not say how large a DEFLATE column
//! is once inflated: the column metadata gives each column's stored length only. So this reads
//! the chunks itself, following automerge's binary format
//! (<https://alexjg.github.io/automerge-storage-docs/>):
//!
//! - every chunk: magic, checksum, type, LEB128 length, data;
//! - a document chunk (type 0): actors, heads, change and op column metadata (spec and stored
//!   length of each column; bit 3 of a spec marks a DEFLATE column), the columns, head indexes;
//! - a change chunk (type 1): one change, its op columns uncompressed;
//! - a compressed change chunk (type 2): a change chunk's data under DEFLATE.
//!
//! DEFLATE columns are inflated by streaming (flate2, the library automerge itself uses) into a
//! small buffer and counted, never kept, and stop as soon as the byte budget is spent: a
//! 510 KB bomb costs at most the budget in CPU and a few KiB of memory. Every column's rows are
//! counted from its run-length encoding without expanding it (a run of 2^60 equal values is two
//! numbers), because automerge collects some columns into vectors before it checks their
//! lengths. Bundles (type 3) are refused: liaison never sends one.
//!
//! The counts are upper bounds of what automerge would build; input that does not parse here is
//! refused as malformed (automerge would refuse it too).

use std::cell::Cell;
use std::io::{BufRead, BufReader};

const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
/// Column types of the format (the low three bits of a column spec).
const GROUP: u32 = 0;
const DELTA: u32 = 3;
const BOOLEAN: u32 = 4;
const STRING: u32 = 5;
const VALUE: u32 = 7;
const DEFLATE_BIT: u32 = 0b1000;

/// What one piece of peer bytes may amount to.
#[derive(Clone, Copy, Debug)]
pub struct Bound {
    /// Bytes once decompressed.
    pub bytes: u64,
    /// Changes.
    pub changes: u64,
    /// Ops, and rows of any one column.
    pub ops: u64,
}

/// What it amounts to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Measure {
    /// Bytes once decompressed.
    pub bytes: u64,
    /// Changes (an upper bound).
    pub changes: u64,
    /// Ops (an upper bound).
    pub ops: u64,
}

impl std::ops::AddAssign for Measure {
    fn add_assign(&mut self, o: Measure) {
        self.bytes = self.bytes.saturating_add(o.bytes);
        self.changes = self.changes.saturating_add(o.changes);
        self.ops = self.ops.saturating_add(o.ops);
    }
}

/// Why the bytes were refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Over {
    /// They decompress past the byte bound.
    Bytes(u64),
    /// They hold more changes than the bound.
    Changes(u64),
    /// They hold more ops (or rows in one column) than the bound.
    Ops(u64),
    /// They are not automerge chunks liaison sends.
    Malformed(String),
}

impl std::fmt::Display for Over {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Over::Bytes(b) => write!(f, "decompresses past {b} bytes (limits.peer.doc_bytes)"),
            Over::Changes(c) => write!(f, "holds more than {c} changes (limits.peer.doc_changes)"),
            Over::Ops(o) => write!(f, "holds more than {o} operations (limits.peer.doc_ops)"),
            Over::Malformed(why) => write!(f, "is not a document: {why}"),
        }
    }
}

fn malformed(why: &str) -> Over {
    Over::Malformed(why.into())
}

/// Measures a concatenation of chunks (a saved document, `save_after` output, or a sync
/// message's changes), refusing as soon as any part of `bound` is passed.
pub fn measure(data: &[u8], bound: &Bound) -> Result<Measure, Over> {
    let budget = Cell::new(bound.bytes);
    let mut total = Measure::default();
    let mut rest = data;
    while !rest.is_empty() {
        let (m, after) = chunk(rest, bound, &budget)?;
        total += m;
        if total.changes > bound.changes {
            return Err(Over::Changes(bound.changes));
        }
        if total.ops > bound.ops {
            return Err(Over::Ops(bound.ops));
        }
        rest = after;
    }
    total.bytes = bound.bytes - budget.get();
    Ok(total)
}

/// Charges `n` bytes to the budget.
fn charge(budget: &Cell<u64>, n: u64, bound: &Bound) -> Result<(), Over> {
    let left = budget.get().checked_sub(n).ok_or(Over::Bytes(bound.bytes))?;
    budget.set(left);
    Ok(())
}

fn chunk<'a>(data: &'a [u8], bound: &Bound, budget: &Cell<u64>) -> Result<(Measure, &'a [u8]), Over> {
    let mut s = Slice(data);
    if s.take(4)? != MAGIC {
        return Err(malformed("bad magic bytes"));
    }
    s.take(4)?; // checksum: automerge checks it
    let kind = s.byte()?;
    let len = usize::try_from(s.uleb()?).map_err(|_| malformed("chunk length"))?;
    let header = data.len() - s.0.len();
    let body = s.take(len)?;
    let rest = s.0;
    charge(budget, header as u64, bound)?;
    let m = match kind {
        0 => document(body, bound, budget)?,
        1 => {
            charge(budget, body.len() as u64, bound)?;
            change(&mut Src::new(body, None, bound), bound)?
        }
        2 => {
            let inflate = BufReader::new(flate2::bufread::DeflateDecoder::new(body));
            let mut src = Src::new(inflate, Some(budget), bound);
            let m = change(&mut src, bound)?;
            src.skip_to_end()?;
            m
        }
        3 => return Err(malformed("a bundle chunk (liaison never sends one)")),
        k => return Err(Over::Malformed(format!("unknown chunk type {k}"))),
    };
    Ok((m, rest))
}

/// One column's metadata: its spec and stored length.
type Col = (u32, usize);

fn columns(s: &mut Slice<'_>) -> Result<Vec<Col>, Over> {
    let n = s.uleb()?;
    // Each column takes at least two bytes of metadata: a count past the input is a lie.
    if n > s.0.len() as u64 {
        return Err(malformed("more columns than bytes"));
    }
    let mut out = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let spec = u32::try_from(s.uleb()?).map_err(|_| malformed("column spec"))?;
        let len = usize::try_from(s.uleb()?).map_err(|_| malformed("column length"))?;
        out.push((spec, len));
    }
    Ok(out)
}

/// Skips `count` length-prefixed byte strings (actor ids).
fn skip_prefixed(s: &mut Slice<'_>, count: u64) -> Result<(), Over> {
    for _ in 0..count {
        let n = usize::try_from(s.uleb()?).map_err(|_| malformed("length"))?;
        s.take(n)?;
    }
    Ok(())
}

fn document(body: &[u8], bound: &Bound, budget: &Cell<u64>) -> Result<Measure, Over> {
    let mut s = Slice(body);
    let actors = s.uleb()?;
    skip_prefixed(&mut s, actors)?;
    let heads = s.uleb()?;
    let head_bytes = usize::try_from(heads).ok().and_then(|h| h.checked_mul(32)).ok_or(malformed("heads"))?;
    s.take(head_bytes)?;
    let change_cols = columns(&mut s)?;
    let op_cols = columns(&mut s)?;
    let stored: usize =
        change_cols.iter().chain(&op_cols).try_fold(0usize, |a, (_, l)| a.checked_add(*l)).ok_or(malformed("size"))?;
    let mut data = Slice(s.take(stored)?);
    // Everything that is not a DEFLATE column counts as it is (the columns are all within the
    // body, just checked, so this cannot underflow).
    let deflated: usize = change_cols.iter().chain(&op_cols).filter(|(sp, _)| sp & DEFLATE_BIT != 0).map(|c| c.1).sum();
    charge(budget, (body.len() - deflated) as u64, bound)?;
    let changes = column_rows(&mut data, &change_cols, bound, budget)?;
    if changes > bound.changes {
        return Err(Over::Changes(bound.changes));
    }
    let ops = column_rows(&mut data, &op_cols, bound, budget)?;
    Ok(Measure { bytes: 0, changes, ops })
}

/// Counts the rows of each column in turn; returns the most rows of a column that is not a
/// group's member (the number of changes, or of ops).
fn column_rows(data: &mut Slice<'_>, cols: &[Col], bound: &Bound, budget: &Cell<u64>) -> Result<u64, Over> {
    let mut top = 0;
    let mut group: Option<u32> = None;
    for &(spec, len) in cols {
        let bytes = data.take(len)?;
        let (id, ty) = (spec >> 4, spec & 0b111);
        let rows = if spec & DEFLATE_BIT != 0 {
            let inflate = BufReader::new(flate2::bufread::DeflateDecoder::new(bytes));
            rows(&mut Src::new(inflate, Some(budget), bound), ty, bound)?
        } else {
            rows(&mut Src::new(bytes, None, bound), ty, bound)?
        };
        let member = ty != GROUP && group == Some(id);
        if ty == GROUP {
            group = Some(id);
        } else if group != Some(id) {
            group = None;
        }
        if !member && ty != VALUE {
            top = top.max(rows);
        }
    }
    Ok(top)
}

/// One change (the data of a change chunk): returns one change and its ops.
fn change<R: BufRead>(s: &mut Src<'_, R>, bound: &Bound) -> Result<Measure, Over> {
    let deps = s.uleb()?;
    s.skip(deps.checked_mul(32).ok_or(malformed("deps"))?)?;
    let actor = s.uleb()?;
    s.skip(actor)?;
    s.uleb()?; // seq
    s.uleb()?; // start op
    s.sleb()?; // time
    let message = s.uleb()?;
    s.skip(message)?;
    let others = s.uleb()?;
    for _ in 0..others {
        let n = s.uleb()?;
        s.skip(n)?;
    }
    let ncols = s.uleb()?;
    if ncols > 64 {
        return Err(malformed("too many op columns"));
    }
    let mut cols = Vec::with_capacity(ncols as usize);
    for _ in 0..ncols {
        let spec = u32::try_from(s.uleb()?).map_err(|_| malformed("column spec"))?;
        if spec & DEFLATE_BIT != 0 {
            return Err(malformed("a compressed column in a change"));
        }
        cols.push((spec, s.uleb()?));
    }
    let mut ops = 0;
    let mut group: Option<u32> = None;
    for (spec, len) in cols {
        let (id, ty) = (spec >> 4, spec & 0b111);
        let rows = s.within(len, |c| rows(c, ty, bound))?;
        let member = ty != GROUP && group == Some(id);
        if ty == GROUP {
            group = Some(id);
        } else if group != Some(id) {
            group = None;
        }
        if !member && ty != VALUE {
            ops = ops.max(rows);
        }
    }
    Ok(Measure { bytes: 0, changes: 1, ops })
}

/// Rows of one column of type `ty`, read to the end of `s`.
fn rows<R: BufRead>(s: &mut Src<'_, R>, ty: u32, bound: &Bound) -> Result<u64, Over> {
    let mut rows: u64 = 0;
    let add = |rows: &mut u64, n: u64| -> Result<(), Over> {
        *rows = rows.saturating_add(n);
        if *rows > bound.ops { Err(Over::Ops(bound.ops)) } else { Ok(()) }
    };
    match ty {
        VALUE => s.skip_to_end()?,
        BOOLEAN => {
            while !s.at_end()? {
                let n = s.uleb()?;
                add(&mut rows, n)?;
            }
        }
        _ => {
            // Run-length encoded: a positive count and one value repeated, a negative count and
            // that many literal values, or zero and a count of nulls.
            while !s.at_end()? {
                let count = s.sleb()?;
                if count > 0 {
                    value(s, ty)?;
                    add(&mut rows, count as u64)?;
                } else if count < 0 {
                    let n = count.unsigned_abs();
                    add(&mut rows, n)?;
                    for _ in 0..n {
                        value(s, ty)?;
                    }
                } else {
                    let n = s.uleb()?;
                    add(&mut rows, n)?;
                }
            }
        }
    }
    Ok(rows)
}

fn value<R: BufRead>(s: &mut Src<'_, R>, ty: u32) -> Result<(), Over> {
    match ty {
        DELTA => s.sleb().map(|_| ()),
        STRING => {
            let n = s.uleb()?;
            s.skip(n)
        }
        _ => s.uleb().map(|_| ()),
    }
}

/// A byte slice being parsed.
struct Slice<'a>(&'a [u8]);

impl<'a> Slice<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Over> {
        if n > self.0.len() {
            return Err(malformed("cut short"));
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn byte(&mut self) -> Result<u8, Over> {
        Ok(self.take(1)?[0])
    }
    fn uleb(&mut self) -> Result<u64, Over> {
        uleb(|| self.byte())
    }
}

/// A stream of bytes (a slice, or DEFLATE being inflated) read once, each byte charged to the
/// budget when `budget` is set, and optionally limited to a length (`within`).
struct Src<'b, R: BufRead> {
    r: R,
    budget: Option<&'b Cell<u64>>,
    bound: Bound,
    /// Bytes left in the current `within`, if any.
    limit: Option<u64>,
}

impl<'b, R: BufRead> Src<'b, R> {
    fn new(r: R, budget: Option<&'b Cell<u64>>, bound: &Bound) -> Self {
        Src { r, budget, bound: *bound, limit: None }
    }

    /// The bytes available now (empty at the end), within the current limit.
    fn available(&mut self) -> Result<&[u8], Over> {
        let limit = self.limit;
        let buf = self.r.fill_buf().map_err(|e| Over::Malformed(format!("DEFLATE: {e}")))?;
        let n = limit.map_or(buf.len(), |l| buf.len().min(usize::try_from(l).unwrap_or(usize::MAX)));
        Ok(&buf[..n])
    }

    fn consume(&mut self, n: usize) -> Result<(), Over> {
        if let Some(b) = self.budget {
            charge(b, n as u64, &self.bound)?;
        }
        if let Some(l) = self.limit.as_mut() {
            *l -= n as u64;
        }
        self.r.consume(n);
        Ok(())
    }

    fn at_end(&mut self) -> Result<bool, Over> {
        Ok(self.available()?.is_empty())
    }

    fn byte(&mut self) -> Result<u8, Over> {
        let b = *self.available()?.first().ok_or(malformed("cut short"))?;
        self.consume(1)?;
        Ok(b)
    }

    fn uleb(&mut self) -> Result<u64, Over> {
        uleb(|| self.byte())
    }

    fn sleb(&mut self) -> Result<i64, Over> {
        let mut v: i64 = 0;
        let mut shift = 0;
        loop {
            let b = self.byte()?;
            if shift == 63 && b != 0 && b != 0x7f {
                return Err(malformed("LEB128 overflow"));
            }
            v |= i64::from(b & 0x7f) << shift;
            shift += 7;
            if b & 0x80 == 0 {
                if shift < 64 && b & 0x40 != 0 {
                    v |= -1i64 << shift;
                }
                return Ok(v);
            }
            if shift >= 70 {
                return Err(malformed("LEB128 overflow"));
            }
        }
    }

    fn skip(&mut self, mut n: u64) -> Result<(), Over> {
        while n > 0 {
            let have = self.available()?.len();
            if have == 0 {
                return Err(malformed("cut short"));
            }
            let k = have.min(usize::try_from(n).unwrap_or(usize::MAX));
            self.consume(k)?;
            n -= k as u64;
        }
        Ok(())
    }

    fn skip_to_end(&mut self) -> Result<(), Over> {
        loop {
            let have = self.available()?.len();
            if have == 0 {
                return Ok(());
            }
            self.consume(have)?;
        }
    }

    /// Runs `f` on the next `len` bytes only, which must all be there.
    fn within<T>(&mut self, len: u64, f: impl FnOnce(&mut Self) -> Result<T, Over>) -> Result<T, Over> {
        let outer = self.limit;
        if outer.is_some_and(|o| o < len) {
            return Err(malformed("a column longer than its change"));
        }
        self.limit = Some(len);
        let out = f(self)?;
        if self.limit != Some(0) {
            return Err(malformed("a column cut short"));
        }
        self.limit = outer.map(|o| o - len);
        Ok(out)
    }
}

/// An unsigned LEB128 from a source of bytes, refusing one that overflows 64 bits.
fn uleb(mut byte: impl FnMut() -> Result<u8, Over>) -> Result<u64, Over> {
    let mut v: u64 = 0;
    for shift in (0..70).step_by(7) {
        let b = byte()?;
        if shift == 63 && b > 1 {
            return Err(malformed("LEB128 overflow"));
        }
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(malformed("LEB128 overflow"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::{Automerge, ObjType, ROOT};

    const ROOMY: Bound = Bound { bytes: u64::MAX / 2, changes: u64::MAX / 2, ops: u64::MAX / 2 };

    fn text_doc(changes: usize, per: &str) -> Automerge {
        let mut d = Automerge::new();
        let mut tx = d.transaction();
        let t = tx.put_object(ROOT, "text", ObjType::Text).unwrap();
        tx.commit();
        for i in 0..changes {
            let mut tx = d.transaction();
            tx.splice_text(&t, 0, 0, per).unwrap();
            if i % 3 == 0 {
                tx.splice_text(&t, 1, 1, "").unwrap();
            }
            tx.put(ROOT, format!("k{}", i % 7), i as i64).unwrap();
            tx.commit();
        }
        d
    }

    #[test]
    fn an_honest_document_measures_its_changes_and_at_least_its_ops() {
        let d = text_doc(300, "héllo ");
        let stats = automerge::ReadDoc::stats(&d);
        let saved = d.save();
        let m = measure(&saved, &ROOMY).unwrap();
        assert_eq!(m.changes, stats.num_changes);
        assert!(m.ops >= stats.num_ops, "{m:?} vs {stats:?}");
        assert!(m.bytes >= saved.len() as u64);
        // Inflated is the uncompressed size, but for the LEB128 lengths that say it.
        let plain = measure(&d.save_nocompress(), &ROOMY).unwrap().bytes;
        assert!(m.bytes.abs_diff(plain) < 64, "{} vs {plain}", m.bytes);
        // Incremental saves and sync message payloads: change chunks, one change each.
        let after = d.save_after(&d.get_changes(&[])[100..101].iter().map(|c| c.hash()).collect::<Vec<_>>());
        let m = measure(&after, &ROOMY).unwrap();
        assert_eq!(m.changes, 200);
        // A snapshot followed by chunks, as the store keeps a document.
        let mut both = saved.clone();
        both.extend(&after);
        assert_eq!(measure(&both, &ROOMY).unwrap().changes, stats.num_changes + 200);
    }

    #[test]
    fn a_compressed_change_is_counted_inflated() {
        let mut d = Automerge::new();
        let mut tx = d.transaction();
        tx.put(ROOT, "s", "x".repeat(100_000)).unwrap();
        tx.commit();
        let mut c = d.get_changes(&[]).pop().unwrap().clone();
        let packed = c.bytes().into_owned();
        assert!(packed.len() < 10_000 && packed[8] == 2, "automerge compresses a big change");
        let m = measure(&packed, &ROOMY).unwrap();
        assert_eq!((m.changes, m.ops), (1, 1));
        assert!(m.bytes > 100_000);
        let e = measure(&packed, &Bound { bytes: 50_000, ..ROOMY }).unwrap_err();
        assert_eq!(e, Over::Bytes(50_000));
    }

    /// A document that is one huge string of repeated bytes: tiny saved, huge inflated.
    fn bomb(mib: usize) -> Vec<u8> {
        let mut d = Automerge::new();
        let mut tx = d.transaction();
        tx.put(ROOT, "s", "a".repeat(mib << 20)).unwrap();
        tx.commit();
        d.save()
    }

    #[test]
    fn a_decompression_bomb_is_refused_within_its_budget() {
        let b = bomb(64);
        assert!(b.len() < 200_000, "{}", b.len());
        let bound = Bound { bytes: 1 << 20, changes: 10, ops: 10 };
        assert_eq!(measure(&b, &bound).unwrap_err(), Over::Bytes(1 << 20));
        // Under a bound that fits, the same bytes measure what they are.
        assert!(measure(&b, &Bound { bytes: 65 << 20, ..bound }).unwrap().bytes > 64 << 20);
    }

    #[test]
    fn too_many_changes_or_ops_are_refused_before_loading() {
        let d = text_doc(50, "ab");
        let saved = d.save();
        assert_eq!(measure(&saved, &Bound { changes: 20, ..ROOMY }).unwrap_err(), Over::Changes(20));
        assert_eq!(measure(&saved, &Bound { ops: 20, ..ROOMY }).unwrap_err(), Over::Ops(20));
    }

    #[test]
    fn a_run_claiming_billions_of_rows_costs_nothing_to_measure() {
        // An actor column of one run of 2^40 zeros: three bytes of RLE, which automerge would
        // collect into a vector before it checks any length.
        let mut col = Vec::new();
        leb128_s(&mut col, 1 << 40);
        col.push(0);
        let mut s = Src::new(col.as_slice(), None, &ROOMY);
        assert_eq!(rows(&mut s, 1, &ROOMY).unwrap(), 1 << 40);
        let mut s = Src::new(col.as_slice(), None, &ROOMY);
        assert_eq!(rows(&mut s, 1, &Bound { ops: 1000, ..ROOMY }).unwrap_err(), Over::Ops(1000));
    }

    fn leb128_s(out: &mut Vec<u8>, mut v: i64) {
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            let done = (v == 0 && b & 0x40 == 0) || (v == -1 && b & 0x40 != 0);
            out.push(if done { b } else { b | 0x80 });
            if done {
                break;
            }
        }
    }

    #[test]
    fn garbage_and_bundles_are_malformed_not_panics() {
        for bad in [&b"\x85\x6f\x4a\x83\0\0\0\0\x03\x00"[..], b"\x85\x6f\x4a\x83\0\0\0\0\x00\xff\xff\x03", b"xyz", b""]
        {
            if let Err(e) = measure(bad, &ROOMY) {
                assert!(matches!(e, Over::Malformed(_)), "{e:?}");
            }
        }
        let saved = text_doc(5, "x").save();
        for cut in 0..saved.len() {
            let _ = measure(&saved[..cut], &ROOMY);
        }
        // Every byte of a document and of a change chunk changed in turn: refused or measured,
        // never a panic (the input is a peer's).
        let change = text_doc(3, "yz").get_changes(&[]).pop().unwrap().raw_bytes().to_vec();
        for bytes in [saved, change] {
            for i in 0..bytes.len() {
                for flip in [0x01u8, 0x40, 0x80, 0xff] {
                    let mut b = bytes.clone();
                    b[i] ^= flip;
                    let _ = measure(&b, &ROOMY);
                }
            }
        }
    }
}
