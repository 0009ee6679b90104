//! The API's routes and their roles, checked without a node.

use super::routes::{Access, Group, build, table};
use super::*;
use axum::extract::Request;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;

/// Who may call each route, as the issues gave it: reading needs a viewer, except a provided
/// item's content; changing meetings, groups and drafts needs a member; provided information,
/// consent, mandates, the officers' registry and messages need a liaison officer; peers,
/// accounts, reloading and the metrics need an admin; one's own session, password, calendar
/// feed, presence and inbox need only a viewer. A new route must be added here too, with
/// the role it is meant to need.
const EXPECTED: &str = "
    POST   /api/session                      public
    GET    /api/session                      viewer
    DELETE /api/session                      viewer
    POST   /api/session/password             viewer
    POST   /api/presence                     viewer
    GET    /api/status                       viewer
    GET    /api/id                           viewer
    GET    /api/docs                         viewer
    GET    /api/events                       viewer
    GET    /api/meetings                     viewer
    GET    /api/meetings/{id}                viewer
    GET    /api/meetings/{id}/history        viewer
    GET    /api/meetings/{id}/ics            viewer
    GET    /api/meetings/ics                 viewer
    GET    /api/session/calendar             viewer
    POST   /api/session/calendar             viewer
    DELETE /api/session/calendar             viewer
    GET    /api/groups                       viewer
    GET    /api/groups/{id}                  viewer
    GET    /api/groups/{id}/history          viewer
    GET    /api/drafts                       viewer
    GET    /api/drafts/{id}                  viewer
    GET    /api/drafts/{id}/diff             viewer
    GET    /api/drafts/{id}/history          viewer
    GET    /api/drafts/{id}/verify           viewer
    GET    /api/drafts/{id}/export           viewer
    GET    /api/drafts/{id}/original         viewer
    GET    /api/drafts/{id}/provisions/{pid} viewer
    GET    /api/parties                      viewer
    GET    /api/officers                     viewer
    GET    /api/threads                      viewer
    GET    /api/threads/{id}                 viewer
    GET    /api/threads/{id}/history         viewer
    GET    /api/items                        viewer
    GET    /api/items/{id}/explain           viewer
    GET    /api/items/{id}/citations         viewer
    GET    /api/granted                      viewer
    GET    /api/consent                      viewer
    GET    /api/mandates                     viewer
    GET    /api/audit                        viewer
    GET    /api/audit/verify                 viewer
    GET    /api/audit/witnessed              viewer
    GET    /api/inbox                        viewer
    POST   /api/inbox/read                   viewer
    GET    /api/search                       viewer
    GET    /api/{*rest}                      viewer
    POST   /api/meetings                     member
    PATCH  /api/meetings/{id}                member
    POST   /api/groups                       member
    PATCH  /api/groups/{id}                  member
    POST   /api/drafts                       member
    PATCH  /api/drafts/{id}                  member
    PUT    /api/drafts/{id}/text             member
    POST   /api/drafts/{id}/splice           member
    POST   /api/drafts/{id}/actions          member
    POST   /api/suggestions/{id}             member
    POST   /api/backup                       member
    POST   /api/{*rest}                      member
    PUT    /api/{*rest}                      member
    PATCH  /api/{*rest}                      member
    DELETE /api/{*rest}                      member
    POST   /api/officers                     liaison
    POST   /api/officers/{id}/end            liaison
    POST   /api/threads                      liaison
    POST   /api/threads/{id}/messages        liaison
    POST   /api/items                        liaison
    DELETE /api/items/{id}                   liaison
    POST   /api/items/{id}/request           liaison
    GET    /api/items/{id}/content           liaison
    POST   /api/consent                      liaison
    POST   /api/consent/{id}/grant           liaison
    POST   /api/consent/{id}/deny            liaison
    POST   /api/consent/{id}/revoke          liaison
    POST   /api/mandates                     liaison
    POST   /api/mandates/{reference}         liaison
    GET    /api/accounts                     admin
    POST   /api/accounts                     admin
    POST   /api/accounts/{name}/disable      admin
    POST   /api/accounts/{name}/enable       admin
    POST   /api/accounts/{name}/role         admin
    POST   /api/accounts/{name}/reset        admin
    POST   /api/accounts/{name}/calendar     admin
    DELETE /api/accounts/{name}/calendar     admin
    POST   /api/peers                        admin
    DELETE /api/peers/{peer}                 admin
    POST   /api/reload                       admin
    GET    /metrics                          admin
";

fn access(word: &str) -> Access {
    match word {
        "public" => Access::Public,
        "viewer" => Access::Role(Role::Viewer),
        "member" => Access::Role(Role::Member),
        "liaison" => Access::Role(Role::Liaison),
        "admin" => Access::Role(Role::Admin),
        other => panic!("no such access {other:?}"),
    }
}

fn expected() -> Vec<(Method, String, Access)> {
    EXPECTED
        .lines()
        .map(str::split_whitespace)
        .filter_map(|mut w| Some((w.next()?, w.next()?, w.next()?)))
        .map(|(m, p, a)| (m.parse().expect("method"), p.to_string(), access(a)))
        .collect()
}

fn sorted(mut v: Vec<(Method, String, Access)>) -> Vec<(Method, String, Access)> {
    v.sort_by(|a, b| (a.1.as_str(), a.0.as_str()).cmp(&(b.1.as_str(), b.0.as_str())));
    v
}

/// The rule the API applied before routes declared their roles (a table of paths apart
/// from the routes), kept here to show that every route needs what it needed then.
fn rule_before(method: &Method, path: &str) -> Access {
    if path == "/api/session" && *method == Method::POST {
        return Access::Public;
    }
    let under = |p: &str| path == p || path.starts_with(&format!("{p}/"));
    if under("/api/accounts") || under("/api/peers") || path == "/api/reload" || path == "/metrics" {
        return Access::Role(Role::Admin);
    }
    if *method == Method::GET || *method == Method::HEAD {
        let item_content = path.starts_with("/api/items/") && path.ends_with("/content");
        return Access::Role(if item_content { Role::Liaison } else { Role::Viewer });
    }
    if ["/api/inbox/read", "/api/presence", "/api/session", "/api/session/password", "/api/session/calendar"]
        .contains(&path)
    {
        return Access::Role(Role::Viewer);
    }
    if ["/api/items", "/api/consent", "/api/mandates", "/api/officers", "/api/threads"].iter().any(|p| under(p)) {
        return Access::Role(Role::Liaison);
    }
    Access::Role(Role::Member)
}

/// A path of the route, with its parameters filled in.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|seg| match seg {
            "{*rest}" => "unknown/path",
            s if s.starts_with('{') => "abcd1234",
            s => s,
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[test]
fn every_route_declares_the_role_the_table_gives_it() {
    let declared: Vec<(Method, String, Access)> =
        table(&groups()).into_iter().map(|(m, p, a)| (m, p.to_string(), a)).collect();
    assert_eq!(sorted(declared), sorted(expected()));
}

#[test]
fn every_route_needs_what_the_path_table_gave_it_before() {
    for (method, path, access) in table(&groups()) {
        // The unknown paths answer 404 to whoever may ask; under a known prefix the path
        // table asked for that prefix's role, which tells nothing more.
        if path == "/api/{*rest}" {
            continue;
        }
        assert_eq!(access, rule_before(&method, &concrete(path)), "{method} {path}");
    }
}

/// Routes like the API's, each answering 200, for driving the role checks.
fn stub_groups() -> Vec<Group<()>> {
    let mut stubs: Vec<Group<()>> = Vec::new();
    for (method, path, access) in table(&groups()) {
        let route = match method.as_str() {
            "GET" => routes::get(path, || async { "ok" }),
            "POST" => routes::post(path, || async { "ok" }),
            "PUT" => routes::put(path, || async { "ok" }),
            "PATCH" => routes::patch(path, || async { "ok" }),
            "DELETE" => routes::delete(path, || async { "ok" }),
            m => panic!("no helper for {m}"),
        };
        stubs.push(Group { access, routes: vec![route] });
    }
    stubs
}

async fn status(router: &Router<()>, role: Option<Role>, method: Method, path: &str) -> StatusCode {
    let router = router.clone().layer(axum::middleware::from_fn(move |mut req: Request, next: Next| async move {
        if let Some(role) = role {
            req.extensions_mut().insert(Caller { account: None, role });
        }
        next.run(req).await
    }));
    let req = Request::builder().method(method).uri(path).body(axum::body::Body::empty()).expect("request");
    let mut svc = router;
    tower_service::Service::call(&mut svc, req).await.expect("infallible").status()
}

#[tokio::test]
async fn each_route_refuses_a_caller_below_its_role_and_serves_one_at_it() {
    let router = build(stub_groups());
    let roles = [Role::Viewer, Role::Member, Role::Liaison, Role::Admin];
    for (method, path, access) in table(&groups()) {
        let uri = concrete(path);
        // HEAD is served by the GET route, under its role.
        let methods = if method == Method::GET { vec![Method::GET, Method::HEAD] } else { vec![method.clone()] };
        for m in methods {
            match access {
                Access::Public => {
                    assert_eq!(status(&router, None, m.clone(), &uri).await, StatusCode::OK, "{m} {path}");
                }
                Access::Role(need) => {
                    // Without a caller (the authentication layer found none): refused.
                    assert_eq!(status(&router, None, m.clone(), &uri).await, StatusCode::UNAUTHORIZED);
                    for role in roles {
                        let want = if role >= need { StatusCode::OK } else { StatusCode::FORBIDDEN };
                        assert_eq!(status(&router, Some(role), m.clone(), &uri).await, want, "{m} {path} as {role}");
                    }
                }
            }
        }
    }
}
