//! The application layer: each use case is one function with a typed input, a typed result
//! and a typed refusal (a code with parameters, no words), called by the API's handlers, the
//! CLI's offline paths and the tests alike, so that they cannot drift apart.

pub mod accounts;
pub mod vault;
