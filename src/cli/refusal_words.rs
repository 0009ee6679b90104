//! The CLI's words for the node's refusals, by code: they name the CLI's own commands and
//! flags, which neither the node nor the web app ever says. The node sends each refusal as
//! `{"error": <neutral English>, "refusal": {"code": .., ..}}`; the CLI prints these words for a
//! code it knows, and the node's `error` for any other.

use serde_json::Value;

/// The CLI's words for a refusal, if it has some for its code.
pub fn words(refusal: &Value) -> Option<String> {
    let p = |k: &str| -> String {
        match refusal.get(k) {
            Some(Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
            None => String::new(),
        }
    };
    let code = refusal.get("code")?.as_str()?;
    Some(match code {
        "not-found" => {
            let kind = p("kind");
            format!("no {kind} with id {:?} (`liaison {kind} list` shows them)", p("id"))
        }
        "no-such-entry" => match p("what").as_str() {
            "provision" => {
                format!("no provision {:?} in this draft (`liaison draft show ID` lists them with their ids)", p("id"))
            }
            "suggestion" => {
                format!("no suggestion {:?} (`liaison draft show ID` lists a draft's suggestions)", p("id"))
            }
            "officer" => format!("no officer {:?} (`liaison officer list` shows them)", p("id")),
            what => format!("no {what} with id {:?} in this document", p("id")),
        },
        "ambiguous" => format!("{:?} matches {} documents; give more of the id", p("prefix"), p("count")),
        "no-item" => format!("no item {:?} is held here (`liaison item list` shows them)", p("id")),
        // The API names the caller (`who`); a use case refused in process does not.
        "role-required" => match refusal.get("who").and_then(|w| w.as_str()) {
            Some(who) => format!(
                "this needs the {} role; {who} has the {} role (an admin changes it with `liaison account set-role`)",
                p("need"),
                p("role")
            ),
            None => format!(
                "this needs the {} role; yours is {} (an admin changes it with `liaison account set-role`)",
                p("need"),
                p("role")
            ),
        },
        // Drafts.
        "draft-withdrawn" => "the draft was withdrawn: nothing of it changes any more".into(),
        "text-signed" => format!(
            "{} signed this text on {}; it can no longer change it (the other Party's signature completes the execution)",
            p("party"),
            p("on")
        ),
        "lang-not-in-draft" => {
            format!("{:?} is not a language of this draft (`liaison draft show ID` shows its languages)", p("lang"))
        }
        "paragraphs-mismatch" => format!(
            "the text has {} paragraphs but the draft has {} provisions; change the structure with `liaison draft provision add|move|remove`, or edit one provision with `liaison draft text`",
            p("paragraphs"),
            p("provisions")
        ),
        "version-unknown" => format!(
            "{:?} is not a version of this draft (`liaison draft show ID` prints the current one and the named ones)",
            p("version")
        ),
        "splice-outside-provision" => format!("position {} is not inside a provision", p("pos")),
        "splice-out-of-range" => {
            format!("position {} + {} deleted is beyond the provision's {} characters", p("pos"), p("delete"), p("len"))
        }
        "provision-label-clash" => format!(
            "--provision {:?} is both a label and the start of provision {}'s id; give the whole id",
            p("reference"),
            p("id")
        ),
        "provision-ambiguous" => {
            format!("--provision {:?} matches {} provisions; give more of the id", p("reference"), p("count"))
        }
        "after-itself" => "--after names the provision being moved: a provision cannot go after itself".into(),
        "suggestion-decided" => format!("the suggestion was already {}", p("state")),
        "version-name-taken" => {
            format!("a version is already named {:?}; choose another --name", p("name"))
        }
        "draft-not-under-review" => {
            format!("draft: it is {}; put it to review first (`liaison draft review ID`)", p("state"))
        }
        "draft-empty" => "draft: it has no provision yet (add one with `liaison draft provision add`)".into(),
        // Mandates.
        "mandate-required" => {
            let action = p("action");
            let flag = if action == "group-create" { "--mandate-ref" } else { "--mandate" };
            format!(
                "this Party's policy (node.toml [policy] require_mandate) requires a mandate for {action}: cite one with {flag} REF (record it first with `liaison mandate add`)"
            )
        }
        "mandate-unknown" => format!(
            "no mandate {:?} of {} is recorded (`liaison mandate list` shows them; `liaison mandate add` records one)",
            p("reference"),
            p("party")
        ),
        // Consent (the engine's refusals that name the CLI's flags).
        "consent-unknown" => format!("no consent record {} (`liaison consent list` shows them)", p("id")),
        "purpose-missing" => "--purpose must say what the third party needs the item for".into(),
        "expiry-invalid" => {
            format!("--expires {:?} is not an RFC 3339 time (like 2027-01-31T00:00:00Z)", p("value"))
        }
        "expiry-past" => format!("--expires {} is in the past", p("value")),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_cli_names_its_own_commands_and_flags() {
        let w = words(&json!({ "code": "mandate-required", "action": "group-create" })).unwrap();
        assert!(w.contains("--mandate-ref REF"), "{w}");
        let w = words(&json!({ "code": "not-found", "kind": "draft", "id": "ab12" })).unwrap();
        assert!(w.contains("`liaison draft list`"), "{w}");
        // A code it has no words for: the node's own sentence is printed instead.
        assert_eq!(words(&json!({ "code": "frozen" })), None);
        assert_eq!(words(&json!({})), None);
    }
}
