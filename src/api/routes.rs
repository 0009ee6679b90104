//! Routes that state who may call them. Each route of the API is declared in a group with the
//! role the group needs (`api.rs`: `viewer_routes`, `member_routes`, ...), and [`build`] puts a
//! check of that role in front of each handler. There is no second table of paths to keep in step
//! with the routes: a route cannot be added without a role.

use axum::Router;
use axum::extract::Request;
use axum::handler::Handler;
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{MethodFilter, MethodRouter, on};

use super::auth::Caller;
use super::error::AppError;
use crate::accounts::Role;

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anybody: the login itself (the authentication layer lets it through).
    Public,
    /// An authenticated caller with at least this role.
    Role(Role),
}

/// One route: a method on a path and its handler.
pub struct Route<S = super::AppState> {
    /// The method (GET also answers HEAD); read by the tests that hold the routes against the
    /// table of roles.
    #[cfg_attr(not(test), allow(dead_code))]
    pub method: Method,
    /// The path, as axum matches it (`/api/drafts/{id}`).
    pub path: &'static str,
    handler: MethodRouter<S>,
}

impl<S: Clone + Send + Sync + 'static> Route<S> {
    /// `method` on `path`, answered by `handler`. Only the helpers below call it, with the
    /// methods the API uses, which all have a filter.
    fn new<H, T>(method: Method, path: &'static str, handler: H) -> Route<S>
    where
        H: Handler<T, S>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone()).unwrap_or(MethodFilter::GET);
        Route { method, path, handler: on(filter, handler) }
    }

    /// Lifts the body size limit (an item's body streams in with its own limit).
    pub fn unlimited_body(mut self) -> Route<S> {
        self.handler = self.handler.layer(axum::extract::DefaultBodyLimit::disable());
        self
    }
}

/// `GET path` (and HEAD).
pub fn get<S: Clone + Send + Sync + 'static, H: Handler<T, S>, T: 'static>(path: &'static str, h: H) -> Route<S> {
    Route::new(Method::GET, path, h)
}
/// `POST path`.
pub fn post<S: Clone + Send + Sync + 'static, H: Handler<T, S>, T: 'static>(path: &'static str, h: H) -> Route<S> {
    Route::new(Method::POST, path, h)
}
/// `PUT path`.
pub fn put<S: Clone + Send + Sync + 'static, H: Handler<T, S>, T: 'static>(path: &'static str, h: H) -> Route<S> {
    Route::new(Method::PUT, path, h)
}
/// `PATCH path`.
pub fn patch<S: Clone + Send + Sync + 'static, H: Handler<T, S>, T: 'static>(path: &'static str, h: H) -> Route<S> {
    Route::new(Method::PATCH, path, h)
}
/// `DELETE path`.
pub fn delete<S: Clone + Send + Sync + 'static, H: Handler<T, S>, T: 'static>(path: &'static str, h: H) -> Route<S> {
    Route::new(Method::DELETE, path, h)
}

/// A group of routes and who may call them.
pub struct Group<S = super::AppState> {
    /// Who may call every route of the group.
    pub access: Access,
    /// The routes.
    pub routes: Vec<Route<S>>,
}

/// The group of routes `routes`, each needing `role`.
pub fn needs<S>(role: Role, routes: Vec<Route<S>>) -> Group<S> {
    Group { access: Access::Role(role), routes }
}

/// The routes of `groups` in one router, each behind the check of its group's role. Routes of
/// one path in several groups (GET for viewers, POST for members) become one path with a check
/// per method.
pub fn build<S: Clone + Send + Sync + 'static>(groups: Vec<Group<S>>) -> Router<S> {
    let mut router = Router::new();
    for g in groups {
        for r in g.routes {
            let handler = match g.access {
                Access::Public => r.handler,
                Access::Role(need) => {
                    r.handler.route_layer(axum::middleware::from_fn(move |req: Request, next: Next| {
                        require_role(need, req, next)
                    }))
                }
            };
            router = router.route(r.path, handler);
        }
    }
    router
}

/// Every route of `groups` as (method, path, who may call it): what the tests hold against the
/// table of the roles the issue gives.
#[cfg(test)]
pub fn table<S>(groups: &[Group<S>]) -> Vec<(Method, &'static str, Access)> {
    groups.iter().flat_map(|g| g.routes.iter().map(move |r| (r.method.clone(), r.path, g.access))).collect()
}

/// Refuses a caller below `need`. The caller was put in the request by `auth::authenticate`,
/// which runs first for every route but the public ones.
async fn require_role(need: Role, req: Request, next: Next) -> Result<Response, AppError> {
    let Some(c) = req.extensions().get::<Caller>() else {
        return Err(AppError::Unauthorized);
    };
    if let Err(e) = super::auth::require(c, need) {
        let path = req.uri().path();
        tracing::warn!(path = %path, account = ?c.account, role = %c.role, need = %need, "API request refused: role");
        return Err(e);
    }
    Ok(next.run(req).await)
}
