//! The CLI's words for the refusals of the vault's, consent's and accounts' use cases: the node
//! sends a code with parameters, and here it is said with the commands and flags an officer at
//! a terminal uses. A code not worded here keeps the node's neutral English.

use serde_json::Value;

use crate::client::ClientError;

fn s<'a>(r: &'a Value, key: &str) -> &'a str {
    r.get(key).and_then(Value::as_str).unwrap_or("?")
}

/// The CLI's sentence for a refusal (`{"code": .., ..}`), if it has its own.
pub fn words(r: &Value) -> Option<String> {
    let code = r.get("code")?.as_str()?;
    Some(match code {
        "no-item" => format!("no item {:?} is held here (`liaison item list` shows them)", s(r, "id")),
        "consent-unknown" => format!("no consent record {} (`liaison consent list` shows them)", s(r, "id")),
        "ambiguous" => format!("{:?} matches {} records; give more of the id", s(r, "prefix"), r.get("count")?),
        "purpose-missing" => "--purpose must say what the third party needs the item for".into(),
        "expiry-invalid" => {
            format!("--expires {:?} is not an RFC 3339 time (like 2027-01-31T00:00:00Z)", s(r, "value"))
        }
        "expiry-past" => format!("--expires {} is in the past", s(r, "value")),
        "not-the-provider" => format!(
            "request {} is for {}, the item's provider, to answer (`liaison consent list` shows whose each is)",
            s(r, "request"),
            s(r, "provider")
        ),
        "item-too-large" => format!("--file is too large: items are limited to {} bytes", r.get("max_bytes")?),
        "label" => "--title must be 1 to 1000 bytes and, like the file's name, hold no control character".into(),
        "mandate-required" => format!(
            "this Party's policy (node.toml [policy] require_mandate) requires a mandate for {}: cite one with \
             --mandate REF (record it first with `liaison mandate add`)",
            s(r, "action")
        ),
        "mandate-unknown" => format!(
            "no mandate {:?} of {} is recorded (`liaison mandate list` shows them; `liaison mandate add` records one)",
            s(r, "reference"),
            s(r, "party")
        ),
        "not-an-item-id" => format!("{:?} is not an item id: give all 32 hex digits", s(r, "id")),
        "no-such-account" => format!("no account named {:?} (`liaison account list` lists them)", s(r, "name")),
        "account-name-too-long" => format!(
            "--name: an account name has at most {} characters (limits.api.name_chars in node.toml)",
            r.get("max_chars")?
        ),
        _ => return None,
    })
}

/// A client error whose refusal has the CLI's own words, with them (its status kept, which
/// the exit code follows).
pub fn reword(e: ClientError) -> ClientError {
    match e {
        ClientError::Api { status, message, refusal: Some(r) } => {
            let message = words(&r).unwrap_or(message);
            ClientError::Api { status, message, refusal: Some(r) }
        }
        e => e,
    }
}

/// [`reword`] for a command's error, if a refused API call is what ended it.
pub fn reword_any(e: anyhow::Error) -> anyhow::Error {
    match e.downcast::<ClientError>() {
        Ok(c) => reword(c).into(),
        Err(e) => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_cli_names_its_flags_and_commands() {
        assert!(words(&json!({ "code": "purpose-missing" })).unwrap().contains("--purpose"));
        let w = words(&json!({ "code": "consent-unknown", "id": "abcd" })).unwrap();
        assert!(w.contains("liaison consent list") && w.contains("abcd"), "{w}");
        let w = words(&json!({ "code": "no-such-account", "name": "Nobody" })).unwrap();
        assert!(w.contains("no account named \"Nobody\""), "{w}");
        assert_eq!(words(&json!({ "code": "revoked-already", "grant": "g" })), None);
    }
}
