//! The HTTP status each refusal of the vault's and the accounts' use cases is answered with;
//! the body carries the refusal's code and parameters (see [`AppError::Refusal`]). A failure of
//! the node (`Failed`) is answered as any engine failure is.

use axum::http::StatusCode;
use serde::Serialize;

use super::AppError;
use crate::app::accounts::AccountRefusal;
use crate::app::vault::{
    AnswerRefusal, DeleteRefusal, ItemRefusal, RequestItemRefusal, RequestRefusal, RevokeRefusal, ShareRefusal,
};

fn refused(status: StatusCode, r: &(impl Serialize + std::fmt::Display)) -> AppError {
    match serde_json::to_value(r) {
        Ok(refusal) => AppError::Refusal { status, error: r.to_string(), refusal },
        Err(e) => AppError::Internal(format!("a refusal does not serialise: {e}")),
    }
}

impl From<RequestRefusal> for AppError {
    fn from(r: RequestRefusal) -> Self {
        use RequestRefusal as R;
        let status = match &r {
            R::Failed(e) => return AppError::Engine(e.clone()),
            R::NoItem { .. } => StatusCode::NOT_FOUND,
            R::Ambiguous { .. } => StatusCode::BAD_REQUEST,
            R::ConsentForParty { .. } | R::PurposeMissing => StatusCode::CONFLICT,
        };
        refused(status, &r)
    }
}

impl From<AnswerRefusal> for AppError {
    fn from(r: AnswerRefusal) -> Self {
        use AnswerRefusal as R;
        let status = match &r {
            R::Failed(e) => return AppError::Engine(e.clone()),
            R::ConsentUnknown { .. } | R::NoItem { .. } => StatusCode::NOT_FOUND,
            R::Ambiguous { .. } => StatusCode::BAD_REQUEST,
            // The state of the request (whose it is, answered already) or what was asked.
            R::ConsentWrongKind { .. }
            | R::NotTheProvider { .. }
            | R::Answered { .. }
            | R::ExpiryInvalid { .. }
            | R::ExpiryPast { .. }
            | R::ContentChanged { .. } => StatusCode::CONFLICT,
        };
        refused(status, &r)
    }
}

fn revoke_status(r: &RevokeRefusal) -> StatusCode {
    use RevokeRefusal as R;
    match r {
        R::ConsentUnknown { .. } => StatusCode::NOT_FOUND,
        R::Ambiguous { .. } => StatusCode::BAD_REQUEST,
        R::Failed(_) => StatusCode::SERVICE_UNAVAILABLE,
        R::ConsentWrongKind { .. } | R::NotTheGrantor { .. } | R::RevokedAlready { .. } => StatusCode::CONFLICT,
    }
}

impl From<RevokeRefusal> for AppError {
    fn from(r: RevokeRefusal) -> Self {
        match r {
            RevokeRefusal::Failed(e) => AppError::Engine(e),
            r => refused(revoke_status(&r), &r),
        }
    }
}

impl From<DeleteRefusal> for AppError {
    fn from(r: DeleteRefusal) -> Self {
        use DeleteRefusal as R;
        let status = match &r {
            R::Failed(e) => return AppError::Engine(e.clone()),
            R::NoItem { .. } => StatusCode::NOT_FOUND,
            R::Ambiguous { .. } => StatusCode::BAD_REQUEST,
            R::NotItsProvider { .. } => StatusCode::CONFLICT,
            R::Revoke(v) => revoke_status(v),
        };
        refused(status, &r)
    }
}

impl From<ShareRefusal> for AppError {
    fn from(r: ShareRefusal) -> Self {
        use ShareRefusal as R;
        let status = match &r {
            R::Failed(e) => return AppError::Engine(e.clone()),
            R::ItemTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            R::UploadBrokeOff { .. } => StatusCode::BAD_REQUEST,
            R::Item(ItemRefusal::ThirdPartyNode) | R::Mandate(_) => StatusCode::FORBIDDEN,
            R::Item(_) => StatusCode::UNPROCESSABLE_ENTITY,
        };
        refused(status, &r)
    }
}

impl From<RequestItemRefusal> for AppError {
    fn from(r: RequestItemRefusal) -> Self {
        match r {
            RequestItemRefusal::Failed(e) => AppError::Engine(e),
            r => refused(StatusCode::BAD_REQUEST, &r),
        }
    }
}

impl From<AccountRefusal> for AppError {
    fn from(r: AccountRefusal) -> Self {
        use AccountRefusal as R;
        let status = match &r {
            R::Failed(e) => return AppError::Internal(e.to_string()),
            R::Audit(_) => return AppError::Internal(r.to_string()),
            R::NoSuchAccount { .. } => StatusCode::NOT_FOUND,
            R::BadAccountName { .. } | R::AccountExists { .. } | R::AccountNameTooLong { .. } => {
                StatusCode::BAD_REQUEST
            }
        };
        refused(status, &r)
    }
}
