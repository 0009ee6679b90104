//! How the API answers a use case's refusal (`src/app/`): its class gives the status, its code
//! and parameters go under `refusal` for the web app to say in the officer's language, and
//! `error` is a neutral English sentence for scripts and logs, made here. The CLI says the code
//! in its own words (`src/cli/refusal_words.rs`) and prints `error` only for a code it does not
//! know.

use axum::http::StatusCode;

use super::AppError;
use crate::app::drafts::DraftRefusal;
use crate::app::{Class, Common};

/// The status of each class of refusal.
fn status(c: Class) -> StatusCode {
    match c {
        Class::NotFound => StatusCode::NOT_FOUND,
        Class::BadRequest => StatusCode::BAD_REQUEST,
        Class::Forbidden => StatusCode::FORBIDDEN,
        Class::Conflict => StatusCode::CONFLICT,
        Class::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
        Class::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Class::Failed => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// A common refusal in plain English.
fn common_words(r: &Common) -> String {
    match r {
        Common::NotFound { kind, id } => format!("no {kind} with id {id:?}"),
        Common::NoSuchEntry { what, id } => format!("no {what} with id {id:?} in this document"),
        Common::Ambiguous { prefix, count } => format!("{prefix:?} matches {count} documents; give more of the id"),
        Common::RoleRequired { need, role } => format!("this needs the {need} role; the caller has the {role} role"),
        Common::Invalid { field, reason } => format!("{field}: {reason}"),
        Common::NoItem { id } => format!("no item {id:?} is held here"),
        Common::StoreFailed { detail } => format!("the store failed, nothing was saved: {detail}"),
        Common::Stopped => "the node is shutting down".into(),
        Common::Refused { detail } => detail.clone(),
        Common::Failed { detail } => format!("internal error: {detail}"),
        Common::Rule(r) => r.to_string(),
        Common::Engine(r) => r.to_string(),
        Common::Item(r) => r.to_string(),
    }
}

fn answer(class: Class, error: String, refusal: serde_json::Value) -> AppError {
    AppError::Refusal { status: status(class), error, refusal }
}

impl From<Common> for AppError {
    fn from(r: Common) -> Self {
        answer(r.class(), common_words(&r), serde_json::to_value(&r).unwrap_or_default())
    }
}

impl From<DraftRefusal> for AppError {
    fn from(r: DraftRefusal) -> Self {
        let words = match &r {
            DraftRefusal::Edit(e) => e.to_string(),
            DraftRefusal::Workflow(w) => w.to_string(),
            DraftRefusal::Common(c) => common_words(c),
        };
        answer(r.class(), words, serde_json::to_value(&r).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::draft::EditRefusal;

    #[test]
    fn a_refusal_answers_with_its_status_code_and_neutral_words() {
        let AppError::Refusal { status, error, refusal } =
            AppError::from(DraftRefusal::Edit(EditRefusal::SpliceOutOfRange { pos: 5, delete: 1, len: 3 }))
        else {
            panic!("not a refusal")
        };
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(refusal["code"], "splice-out-of-range");
        assert!(!error.contains("liaison") && !error.contains("--"), "{error}");
        let AppError::Refusal { status, .. } =
            AppError::from(Common::NotFound { kind: crate::workspace::DocKind::Group, id: "ab".into() })
        else {
            panic!("not a refusal")
        };
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}
