//! Small typed helpers over automerge, so that the document modules read like the schema they
//! write, and so that reading a malformed document gives an error instead of a panic.

use automerge::transaction::{Transactable, Transaction};
use automerge::{ObjId, ObjType, ReadDoc, ScalarValue, Value};

use super::{Author, Result, WorkspaceError};

/// One open transaction on a document, with typed writes.
pub struct Tx<'a, 'b> {
    tx: &'b mut Transaction<'a>,
}

impl<'a, 'b> Tx<'a, 'b> {
    pub(super) fn new(tx: &'b mut Transaction<'a>) -> Self {
        Tx { tx }
    }

    /// The transaction, for reads.
    pub fn read(&self) -> &Transaction<'a> {
        self.tx
    }

    /// Sets a string scalar: last writer wins, right for short fields like a title.
    pub fn put_str(&mut self, obj: &ObjId, key: &str, value: &str) -> Result<()> {
        Ok(self.tx.put(obj, key, value)?)
    }

    /// Sets an unsigned integer.
    pub fn put_u64(&mut self, obj: &ObjId, key: &str, value: u64) -> Result<()> {
        Ok(self.tx.put(obj, key, value)?)
    }

    /// Sets a signed integer.
    pub fn put_i64(&mut self, obj: &ObjId, key: &str, value: i64) -> Result<()> {
        Ok(self.tx.put(obj, key, value)?)
    }

    /// Puts a counter at `key`, starting at 0. Counters merge concurrent increments by adding.
    pub fn put_counter(&mut self, obj: &ObjId, key: &str) -> Result<()> {
        Ok(self.tx.put(obj, key, ScalarValue::counter(0))?)
    }

    /// Adds 1 to the counter at `key`.
    pub fn increment(&mut self, obj: &ObjId, key: &str) -> Result<()> {
        Ok(self.tx.increment(obj, key, 1)?)
    }

    /// Sets a boolean.
    pub fn put_bool(&mut self, obj: &ObjId, key: &str, value: bool) -> Result<()> {
        Ok(self.tx.put(obj, key, value)?)
    }

    /// Appends a string to a list.
    pub fn push_str(&mut self, list: &ObjId, value: &str) -> Result<()> {
        let len = self.tx.length(list);
        Ok(self.tx.insert(list, len, value)?)
    }

    /// Inserts a string into a list at `index`.
    pub fn insert_str(&mut self, list: &ObjId, index: usize, value: &str) -> Result<()> {
        Ok(self.tx.insert(list, index, value)?)
    }

    /// Deletes the element at `index` of a list.
    pub fn delete_at(&mut self, list: &ObjId, index: usize) -> Result<()> {
        Ok(self.tx.delete(list, index)?)
    }

    /// Deletes a key of a map. A concurrent put to the same key, which this delete did not see,
    /// survives the merge.
    pub fn delete_key(&mut self, map: &ObjId, key: &str) -> Result<()> {
        Ok(self.tx.delete(map, key)?)
    }

    /// Sets or clears an optional string.
    pub fn put_opt_str(&mut self, obj: &ObjId, key: &str, value: Option<&str>) -> Result<()> {
        match value {
            Some(v) if !v.is_empty() => self.put_str(obj, key, v),
            _ => Ok(self.tx.put(obj, key, ScalarValue::Null)?),
        }
    }

    /// Writes an attribution map.
    pub fn put_author(&mut self, obj: &ObjId, key: &str, author: &Author) -> Result<()> {
        let m = self.tx.put_object(obj, key, ObjType::Map)?;
        self.tx.put(&m, "officer", author.officer.as_str())?;
        self.tx.put(&m, "party", author.party.as_str())?;
        Ok(())
    }

    /// Creates a text object holding `text`. Text objects merge concurrent edits character by
    /// character, which is what long texts (minutes, drafts) need.
    pub fn put_text(&mut self, obj: &ObjId, key: &str, text: &str) -> Result<ObjId> {
        let t = self.tx.put_object(obj, key, ObjType::Text)?;
        if !text.is_empty() {
            self.tx.splice_text(&t, 0, 0, text)?;
        }
        Ok(t)
    }

    /// Splices a text object: at `pos` delete `delete` characters and insert `insert`.
    pub fn splice_text(&mut self, text: &ObjId, pos: usize, delete: usize, insert: &str) -> Result<()> {
        let delete = isize::try_from(delete)
            .map_err(|_| WorkspaceError::Invalid { field: "splice", reason: "delete count too large".into() })?;
        Ok(self.tx.splice_text(text, pos, delete, insert)?)
    }

    /// Replaces the content of the text at `key` with `text` through the smallest splices
    /// automerge's diff finds, so that concurrent edits elsewhere in the text survive.
    pub fn update_text(&mut self, obj: &ObjId, key: &str, text: &str) -> Result<()> {
        match self.tx.get(obj, key)? {
            Some((Value::Object(ObjType::Text), id)) => Ok(self.tx.update_text(&id, text)?),
            _ => self.put_text(obj, key, text).map(|_| ()),
        }
    }

    /// The list at `key`, created if missing.
    pub fn list(&mut self, obj: &ObjId, key: &str) -> Result<ObjId> {
        match self.tx.get(obj, key)? {
            Some((Value::Object(ObjType::List), id)) => Ok(id),
            _ => Ok(self.tx.put_object(obj, key, ObjType::List)?),
        }
    }

    /// The map at `key`, created if missing.
    pub fn map(&mut self, obj: &ObjId, key: &str) -> Result<ObjId> {
        match self.tx.get(obj, key)? {
            Some((Value::Object(ObjType::Map), id)) => Ok(id),
            _ => Ok(self.tx.put_object(obj, key, ObjType::Map)?),
        }
    }

    /// Appends a new map to a list and returns it.
    pub fn push_map(&mut self, list: &ObjId) -> Result<ObjId> {
        let len = self.tx.length(list);
        Ok(self.tx.insert_object(list, len, ObjType::Map)?)
    }

    /// Puts a new map under `key` of a map.
    pub fn put_map(&mut self, obj: &ObjId, key: &str) -> Result<ObjId> {
        Ok(self.tx.put_object(obj, key, ObjType::Map)?)
    }

    /// Removes the entry whose `id` field is `id` from a list of maps.
    pub fn remove_by_id(&mut self, list: &ObjId, what: &'static str, id: &str) -> Result<()> {
        let n = self.tx.length(list);
        for i in 0..n {
            if let Some((Value::Object(ObjType::Map), m)) = self.tx.get(list, i)?
                && get_str(self.tx, &m, "id")?.as_deref() == Some(id)
            {
                self.tx.delete(list, i)?;
                return Ok(());
            }
        }
        Err(WorkspaceError::NoSuchEntry { what, id: id.to_string() })
    }
}

/// A string field, whether stored as a scalar or as a text object; `None` if absent or null.
pub fn get_str<R: ReadDoc>(doc: &R, obj: &ObjId, key: &str) -> Result<Option<String>> {
    match doc.get(obj, key)? {
        None => Ok(None),
        Some((Value::Scalar(s), _)) => match s.as_ref() {
            ScalarValue::Str(v) => Ok(Some(v.to_string())),
            ScalarValue::Null => Ok(None),
            other => Err(WorkspaceError::Malformed(format!("{key}: expected text, found {other}"))),
        },
        Some((Value::Object(ObjType::Text), id)) => Ok(Some(doc.text(&id)?)),
        Some((Value::Object(t), _)) => Err(WorkspaceError::Malformed(format!("{key}: expected text, found {t}"))),
    }
}

/// A string field that must be present.
pub fn req_str<R: ReadDoc>(doc: &R, obj: &ObjId, key: &str) -> Result<String> {
    get_str(doc, obj, key)?.ok_or_else(|| WorkspaceError::Malformed(format!("missing {key}")))
}

/// An attribution map.
pub fn get_author<R: ReadDoc>(doc: &R, obj: &ObjId, key: &str) -> Result<Option<Author>> {
    match doc.get(obj, key)? {
        Some((Value::Object(ObjType::Map), m)) => {
            let officer = req_str(doc, &m, "officer")?;
            let party = req_str(doc, &m, "party")?
                .parse()
                .map_err(|e| WorkspaceError::Malformed(format!("{key}.party: {e}")))?;
            Ok(Some(Author { officer, party }))
        }
        None => Ok(None),
        Some(_) => Err(WorkspaceError::Malformed(format!("{key}: expected an author"))),
    }
}

/// The maps of a list, in order; an absent list is empty.
pub fn list_maps<R: ReadDoc>(doc: &R, obj: &ObjId, key: &str) -> Result<Vec<ObjId>> {
    let list = match doc.get(obj, key)? {
        None => return Ok(Vec::new()),
        Some((Value::Object(ObjType::List), id)) => id,
        Some(_) => return Err(WorkspaceError::Malformed(format!("{key}: expected a list"))),
    };
    // One pass (see `draft::strings`): a `get` per index seeks from the list's start each time.
    Ok(doc
        .list_range(&list, ..)
        .filter(|item| matches!(item.value, automerge::ValueRef::Object(ObjType::Map)))
        .map(|item| item.id())
        .collect())
}

/// The entries of a map of maps, sorted by key.
pub fn map_maps<R: ReadDoc>(doc: &R, obj: &ObjId, key: &str) -> Result<Vec<(String, ObjId)>> {
    let map = match doc.get(obj, key)? {
        None => return Ok(Vec::new()),
        Some((Value::Object(ObjType::Map), id)) => id,
        Some(_) => return Err(WorkspaceError::Malformed(format!("{key}: expected a map"))),
    };
    Ok(Fields::of(doc, &map)
        .iter()
        .filter(|(_, v, _)| matches!(v, Value::Object(ObjType::Map)))
        .map(|(k, _, id)| (k.to_string(), id.clone()))
        .collect())
}

/// Every key of a map with its value, read in one pass. automerge looks each key up on its own
/// (a search of the document's ops), and a draft's read asks a dozen keys of each of hundreds of
/// provisions: reading each map once made a 200-provision draft's read about twice as fast.
/// Each key has the value `ReadDoc::get` gives (the winner of concurrent writes).
pub struct Fields(Vec<(String, Value<'static>, ObjId)>);

impl Fields {
    /// The fields of the map `obj`.
    pub fn of<R: ReadDoc>(doc: &R, obj: &ObjId) -> Fields {
        Fields(
            doc.map_range(obj, ..)
                .map(|i| {
                    let id = i.id();
                    (i.key.into_owned(), i.value.into_value(), id)
                })
                .collect(),
        )
    }

    /// The fields of the map at `key`: none if it is absent, an error if it is not a map.
    pub fn of_map<R: ReadDoc>(&self, doc: &R, key: &str) -> Result<Option<Fields>> {
        match self.get(key) {
            None => Ok(None),
            Some((Value::Object(ObjType::Map), id)) => Ok(Some(Fields::of(doc, id))),
            Some(_) => Err(WorkspaceError::Malformed(format!("{key}: expected a map"))),
        }
    }

    pub fn get(&self, key: &str) -> Option<(&Value<'static>, &ObjId)> {
        self.0.iter().find(|(k, _, _)| k == key).map(|(_, v, id)| (v, id))
    }

    /// Each key with its value.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value<'static>, &ObjId)> {
        self.0.iter().map(|(k, v, id)| (k.as_str(), v, id))
    }

    /// As [`get_str`].
    pub fn str<R: ReadDoc>(&self, doc: &R, key: &str) -> Result<Option<String>> {
        match self.get(key) {
            None => Ok(None),
            Some((Value::Scalar(s), _)) => match s.as_ref() {
                ScalarValue::Str(v) => Ok(Some(v.to_string())),
                ScalarValue::Null => Ok(None),
                other => Err(WorkspaceError::Malformed(format!("{key}: expected text, found {other}"))),
            },
            Some((Value::Object(ObjType::Text), id)) => Ok(Some(doc.text(id)?)),
            Some((Value::Object(t), _)) => Err(WorkspaceError::Malformed(format!("{key}: expected text, found {t}"))),
        }
    }

    /// As [`req_str`].
    pub fn req_str<R: ReadDoc>(&self, doc: &R, key: &str) -> Result<String> {
        self.str(doc, key)?.ok_or_else(|| WorkspaceError::Malformed(format!("missing {key}")))
    }

    /// As [`get_author`].
    pub fn author<R: ReadDoc>(&self, doc: &R, key: &str) -> Result<Option<Author>> {
        match self.get(key) {
            Some((Value::Object(ObjType::Map), m)) => {
                let f = Fields::of(doc, m);
                let officer = f.req_str(doc, "officer")?;
                let party = f
                    .req_str(doc, "party")?
                    .parse()
                    .map_err(|e| WorkspaceError::Malformed(format!("{key}.party: {e}")))?;
                Ok(Some(Author { officer, party }))
            }
            None => Ok(None),
            Some(_) => Err(WorkspaceError::Malformed(format!("{key}: expected an author"))),
        }
    }

    /// A counter or integer; 0 if absent or of another type.
    pub fn counter(&self, key: &str) -> i64 {
        match self.get(key) {
            Some((Value::Scalar(s), _)) => match s.as_ref() {
                ScalarValue::Counter(c) => i64::from(c),
                ScalarValue::Int(i) => *i,
                _ => 0,
            },
            _ => 0,
        }
    }

    /// Whether `key` holds the boolean true.
    pub fn is_true(&self, key: &str) -> bool {
        matches!(self.get(key), Some((Value::Scalar(s), _)) if s.as_ref() == &ScalarValue::Boolean(true))
    }
}

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable;
    use automerge::{Automerge, ObjType, ROOT, ReadDoc, ScalarValue, Value};

    /// What a `get` per index gives, the way these lists were read before they were read in one
    /// pass.
    fn by_index(doc: &Automerge, list: &automerge::ObjId) -> Vec<(usize, Value<'static>)> {
        (0..doc.length(list)).filter_map(|i| doc.get(list, i).unwrap().map(|(v, _)| (i, v.into_owned()))).collect()
    }

    #[test]
    fn lists_read_in_one_pass_equal_a_get_per_index_after_deletes_and_merges() {
        let mut a = Automerge::new();
        let mut tx = a.transaction();
        let l = tx.put_object(ROOT, "order", ObjType::List).unwrap();
        let m = tx.put_object(ROOT, "maps", ObjType::List).unwrap();
        for i in 0..12 {
            tx.insert(&l, i, format!("p{i}")).unwrap();
            let o = tx.insert_object(&m, i, ObjType::Map).unwrap();
            tx.put(&o, "n", i as i64).unwrap();
        }
        tx.commit();
        let mut b = a.fork();
        let mut tx = a.transaction();
        tx.delete(&l, 3).unwrap();
        tx.delete(&m, 0).unwrap();
        tx.insert(&l, 5, "p3").unwrap(); // a moved id: it appears twice once merged
        tx.put(&l, 0, 7_i64).unwrap(); // not a string: skipped by `strings`
        tx.commit();
        let mut tx = b.transaction();
        tx.insert(&l, 0, "b0").unwrap();
        tx.put(&l, 1, "b-wins-or-not").unwrap(); // conflicts with nothing, replaces p1
        tx.delete(&m, 4).unwrap();
        tx.insert(&m, 2, ScalarValue::Str("not a map".into())).unwrap();
        tx.commit();
        a.merge(&mut b).unwrap();
        let want_strings: Vec<String> = by_index(&a, &l)
            .into_iter()
            .filter_map(|(_, v)| v.into_scalar().ok().and_then(|s| s.into_string().ok()))
            .collect();
        assert_eq!(crate::workspace::draft::strings_for_tests(&a, &ROOT, "order").unwrap(), want_strings);
        let want_maps: Vec<automerge::ObjId> = (0..a.length(&m))
            .filter_map(|i| match a.get(&m, i).unwrap() {
                Some((Value::Object(ObjType::Map), o)) => Some(o),
                _ => None,
            })
            .collect();
        assert_eq!(super::list_maps(&a, &ROOT, "maps").unwrap(), want_maps);
        assert!(want_maps.len() >= 9 && want_strings.len() >= 12, "the test reads what it built");
    }
}
