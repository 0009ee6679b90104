//! The provider's consent to pass an item to a third party: asked for by either Party,
//! answered (granted or denied) and revoked only by the item's provider. Each step is a record
//! signed with our Party's key that replicates to the other Party (and, for grants and
//! revocations, to the third party named).

use super::{Made, Who, commit};
use crate::engine::{AnswerRefusal, EngineHandle, RequestRefusal, RevokeRefusal};
use crate::ids::PartyId;

/// Asking the item's provider to let it go to a third party.
#[derive(Clone, Debug)]
pub struct RequestConsent {
    /// The item: its id or a unique prefix.
    pub item: String,
    /// The third party that would receive it.
    pub third_party: PartyId,
    /// What the third party needs it for (required).
    pub purpose: String,
}

/// The provider's grant of a request.
#[derive(Clone, Debug, Default)]
pub struct GrantConsent {
    /// The request: its id or a unique prefix.
    pub request: String,
    /// Until when the grant holds (RFC 3339, in the future); none: until revoked.
    pub expires: Option<String>,
}

/// Asks the provider's consent; answers the request's id.
pub async fn request_consent(engine: &EngineHandle, who: &Who, input: RequestConsent) -> Result<Made, RequestRefusal> {
    let officer = who.officer.clone();
    let id =
        commit(engine, move |c| c.consent_request(&input.item, input.third_party, input.purpose, &officer)).await?;
    Ok(Made { id: id.to_string() })
}

/// As the provider, grants a request: a grant for exactly the content the request named. The
/// holder then transmits the item to the third party's node.
pub async fn grant_consent(engine: &EngineHandle, who: &Who, input: GrantConsent) -> Result<Made, AnswerRefusal> {
    let officer = who.officer.clone();
    let id = commit(engine, move |c| c.consent_grant(&input.request, input.expires, &officer)).await?;
    Ok(Made { id: id.to_string() })
}

/// As the provider, denies a request (id or unique prefix).
pub async fn deny_consent(engine: &EngineHandle, who: &Who, request: String) -> Result<Made, AnswerRefusal> {
    let officer = who.officer.clone();
    let id = commit(engine, move |c| c.consent_deny(&request, &officer)).await?;
    Ok(Made { id: id.to_string() })
}

/// As the provider, revokes a grant (id or unique prefix): the holder transmits no more, and
/// the third party's node destroys the item's key and confirms.
pub async fn revoke_consent(engine: &EngineHandle, who: &Who, grant: String) -> Result<Made, RevokeRefusal> {
    let officer = who.officer.clone();
    let id = commit(engine, move |c| c.consent_revoke(&grant, &officer)).await?;
    Ok(Made { id: id.to_string() })
}
