//! Handling markings of provided items. A marking is free text ("RESTRICTED", "FOR OFFICIAL USE
//! ONLY"), or one of the five labels of the Traffic Light Protocol 2.0 (FIRST, 2022), which
//! analysts know: `TLP:CLEAR`, `TLP:GREEN`, `TLP:AMBER`, `TLP:AMBER+STRICT`, `TLP:RED`.
//!
//! Whatever starts with `TLP` is taken as meant to be one of those, and refused if it is not
//! (a mistyped `TLP:AMBR`, or TLP 1.0's `TLP:WHITE`): a label that looks official but is not
//! would be worse than free text. A TLP label is kept in its canonical spelling.

use serde::{Deserialize, Serialize};

/// Longest marking, in characters.
pub const MAX_MARKING_CHARS: usize = 100;

/// The marking of an item provided without one.
pub const DEFAULT_MARKING: &str = "RESTRICTED";

/// A Traffic Light Protocol 2.0 label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Tlp {
    /// `TLP:CLEAR`: disclosure is not limited.
    Clear,
    /// `TLP:GREEN`: within the community, not public.
    Green,
    /// `TLP:AMBER`: within the recipient's organisation and its clients, on a need-to-know basis.
    Amber,
    /// `TLP:AMBER+STRICT`: within the recipient's organisation only.
    #[value(name = "amber+strict")]
    #[serde(rename = "amber+strict")]
    AmberStrict,
    /// `TLP:RED`: for the eyes and ears of the individual recipients only.
    Red,
}

impl Tlp {
    /// Every label, in order of restriction.
    pub const ALL: [Tlp; 5] = [Tlp::Clear, Tlp::Green, Tlp::Amber, Tlp::AmberStrict, Tlp::Red];

    /// The canonical label, such as `TLP:AMBER+STRICT`.
    pub fn label(self) -> &'static str {
        match self {
            Tlp::Clear => "TLP:CLEAR",
            Tlp::Green => "TLP:GREEN",
            Tlp::Amber => "TLP:AMBER",
            Tlp::AmberStrict => "TLP:AMBER+STRICT",
            Tlp::Red => "TLP:RED",
        }
    }

    /// The label a marking is, if it is one (any case, `TLP:` or `TLP ` before it).
    pub fn of(marking: &str) -> Option<Tlp> {
        let rest = tlp_rest(marking)?;
        Tlp::ALL.into_iter().find(|t| t.label()[4..].eq_ignore_ascii_case(rest))
    }
}

/// What follows `TLP:` (or `TLP `, `TLP-`) in a marking that starts with it.
fn tlp_rest(marking: &str) -> Option<&str> {
    let m = marking.trim();
    let head = m.get(..3)?;
    if !head.eq_ignore_ascii_case("tlp") {
        return None;
    }
    let rest = &m[3..];
    let rest = rest.strip_prefix([':', ' ', '-']).unwrap_or(rest);
    Some(rest.trim())
}

/// Why a marking is refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(rename_all = "kebab-case", tag = "reason")]
pub enum MarkingError {
    /// Starts with `TLP` but is none of the TLP 2.0 labels.
    #[error(
        "{given:?} is not a TLP 2.0 label: use TLP:CLEAR, TLP:GREEN, TLP:AMBER, TLP:AMBER+STRICT or TLP:RED{}",
        if given.to_ascii_uppercase().contains("WHITE") { " (TLP:WHITE is TLP:CLEAR in TLP 2.0)" } else { "" }
    )]
    NotTlp {
        /// The marking given.
        given: String,
    },
    /// Too long, or holds a control character.
    #[error("a marking is one line of at most {MAX_MARKING_CHARS} characters")]
    Shape,
}

/// Checks a marking and answers it as stored: a TLP label in its canonical spelling, free text
/// trimmed, and [`DEFAULT_MARKING`] for none.
pub fn normalize(marking: Option<&str>) -> Result<String, MarkingError> {
    let m = marking.map(str::trim).unwrap_or("");
    if m.is_empty() {
        return Ok(DEFAULT_MARKING.into());
    }
    if m.chars().count() > MAX_MARKING_CHARS || m.chars().any(char::is_control) {
        return Err(MarkingError::Shape);
    }
    if tlp_rest(m).is_some() {
        return Tlp::of(m).map(|t| t.label().to_string()).ok_or_else(|| MarkingError::NotTlp { given: m.into() });
    }
    Ok(m.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tlp_labels_are_recognised_in_any_spelling_and_stored_canonically() {
        assert_eq!(normalize(Some("tlp:amber+strict")).unwrap(), "TLP:AMBER+STRICT");
        assert_eq!(normalize(Some(" TLP:RED ")).unwrap(), "TLP:RED");
        assert_eq!(normalize(Some("TLP GREEN")).unwrap(), "TLP:GREEN");
        assert_eq!(normalize(Some("TLP:CLEAR")).unwrap(), "TLP:CLEAR");
        assert_eq!(Tlp::of("TLP:AMBER"), Some(Tlp::Amber));
        assert_eq!(Tlp::of("RESTRICTED"), None);
    }

    #[test]
    fn free_text_stays_and_none_is_restricted() {
        assert_eq!(normalize(None).unwrap(), "RESTRICTED");
        assert_eq!(normalize(Some("  ")).unwrap(), "RESTRICTED");
        assert_eq!(normalize(Some("For official use only")).unwrap(), "For official use only");
        // A word that merely starts with the letters is free text only if it is not "TLP…".
        assert_eq!(normalize(Some("Tulip")).unwrap(), "Tulip");
    }

    #[test]
    fn a_label_that_looks_like_tlp_but_is_not_is_refused() {
        let e = normalize(Some("TLP:WHITE")).unwrap_err();
        assert!(e.to_string().contains("TLP:CLEAR in TLP 2.0"), "{e}");
        assert!(matches!(normalize(Some("TLP:AMBR")), Err(MarkingError::NotTlp { .. })));
        assert!(matches!(normalize(Some("TLP:PURPLE")), Err(MarkingError::NotTlp { .. })));
        assert_eq!(normalize(Some("TLPRED")).unwrap(), "TLP:RED", "no separator is still the label");
        assert_eq!(normalize(Some("a\nb")), Err(MarkingError::Shape));
        assert_eq!(normalize(Some(&"x".repeat(101))), Err(MarkingError::Shape));
    }
}
