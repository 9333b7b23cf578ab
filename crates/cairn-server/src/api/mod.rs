//! The REST/JSON administration API under `/api/v1`: nations, organizations, users, sharing
//! groups, collection grants and policy, API tokens, the audit log, federation peers and
//! subscriptions (`peers.rs`), and `/me`. It runs behind the
//! same authentication middleware as TAXII; every error is a JSON [`error::Problem`].
//!
//! Who may do what: `admin` everything; `org-admin` the users and tokens of its own organization
//! (never an `admin` account, never the `admin` role) and the sharing groups its organization
//! owns; every user its own tokens and `/me`. Anything else is 403, and an anonymous caller gets
//! 401. A read-only or collection-scoped token may only read. Every change is written to the
//! audit log with the same action names as the CLI and the caller's user name as actor.
//!
//! The OpenAPI 3 document is generated from the handlers' `#[utoipa::path]` annotations
//! ([`openapi`]), served at `/api/v1/openapi.json` and checked in as `docs/openapi.json`.

pub(crate) mod error;
mod grants;
mod peers;
mod people;
mod tokens;

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json, Router};
use cairn_store::{Collection, NewAuditEntry, Role, Store, User};
use serde::Serialize;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::SharedState;
use crate::policy::Caller;
pub use error::Problem;
use error::{ApiResult, Fail};

/// Where the API is mounted.
pub const PREFIX: &str = "/api/v1";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Cairn administration API",
        description = "Nations, organizations, users, sharing groups, collection grants, API tokens and the audit log of a Cairn node. Authenticate with HTTP Basic or `Authorization: Bearer <token>`. Errors are `{\"title\",\"description\",\"http_status\"}`."
    ),
    modifiers(&Security),
    security(("basic" = []), ("bearer" = [])),
    components(schemas(Problem))
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let c = openapi.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "basic",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)),
        );
        c.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(me))
        .routes(routes!(people::list_nations, people::add_nation))
        .routes(routes!(people::list_orgs, people::create_org))
        .routes(routes!(people::update_org))
        .routes(routes!(people::list_users, people::create_user))
        .routes(routes!(people::update_user))
        .routes(routes!(people::list_groups, people::create_group))
        .routes(routes!(people::add_member, people::remove_member))
        .routes(routes!(
            grants::list_grants,
            grants::put_grant,
            grants::delete_grant
        ))
        .routes(routes!(grants::update_collection))
        .routes(routes!(tokens::list_tokens, tokens::create_token))
        .routes(routes!(tokens::revoke_token))
        .routes(routes!(read_audit))
        .routes(routes!(peers::list_peers, peers::create_peer))
        .routes(routes!(peers::get_peer, peers::delete_peer))
        .routes(routes!(peers::create_subscription))
        .routes(routes!(
            peers::update_subscription,
            peers::delete_subscription
        ))
}

/// The OpenAPI 3 document of the API, as generated from the code.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, paths) = routes().split_for_parts();
    let mut doc = ApiDoc::openapi().nest(PREFIX, paths);
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    doc
}

/// [`openapi`] as pretty-printed JSON with a final newline: the form of `docs/openapi.json`.
pub fn openapi_json() -> String {
    let mut s = openapi()
        .to_pretty_json()
        .expect("the OpenAPI document serializes");
    s.push('\n');
    s
}

/// The API's routes, mounted at [`PREFIX`].
pub(crate) fn router() -> Router<SharedState> {
    let (inner, _) = routes().split_for_parts();
    let doc = openapi_json();
    let inner = inner
        .route_layer(middleware::from_fn(guard))
        .route(
            "/openapi.json",
            axum::routing::get(move || async move {
                (
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    doc,
                )
            }),
        )
        .fallback(|c: Option<Extension<Caller>>| async move {
            match c {
                Some(Extension(c)) if c.user().is_some() => {
                    Fail::not_found("no such API endpoint").into_response()
                }
                _ => Fail::unauthorized().into_response(),
            }
        });
    Router::new().nest(PREFIX, inner)
}

/// Anonymous callers get 401; read-only and collection-scoped tokens may only read.
async fn guard(req: Request, next: Next) -> Response {
    let Some(caller) = req.extensions().get::<Caller>() else {
        return Fail::unauthorized().into_response();
    };
    if caller.user().is_none() {
        return Fail::unauthorized().into_response();
    }
    let reading = req.method() == Method::GET || req.method() == Method::HEAD;
    if !reading && caller.auth.read_only {
        return Fail::forbidden("this API token is read-only").into_response();
    }
    if !reading && caller.auth.scope.is_some() {
        return Fail::forbidden(
            "this API token is restricted to one collection and cannot change the node's administration",
        )
        .into_response();
    }
    next.run(req).await
}

// ---------------------------------------------------------------------------------------------
// Shared helpers

/// The authenticated user behind a request (the guard has refused anonymous callers).
pub(crate) fn user(c: &Caller) -> ApiResult<&User> {
    c.user().ok_or_else(Fail::unauthorized)
}

/// 403 unless the caller is an `admin`.
pub(crate) fn require_admin(c: &Caller) -> ApiResult<&User> {
    let u = user(c)?;
    if u.role != Role::Admin {
        return Err(Fail::forbidden("this needs the admin role"));
    }
    Ok(u)
}

/// Whether `actor` may manage `target`'s account and tokens: an admin any user; an org-admin
/// the non-admin users of its own organization; anyone else nobody.
pub(crate) fn manages(actor: &User, target: &User) -> bool {
    match actor.role {
        Role::Admin => true,
        Role::OrgAdmin => target.org_id == actor.org_id && target.role != Role::Admin,
        _ => false,
    }
}

/// Append one entry to the audit log, with the caller as actor.
pub(crate) async fn audit(
    store: &dyn Store,
    actor: &User,
    action: &str,
    object: impl Into<String>,
    detail: serde_json::Value,
) -> ApiResult<()> {
    store
        .append_audit(&[NewAuditEntry::new(
            &actor.name,
            action,
            Some(object.into()),
            detail,
        )])
        .await?;
    Ok(())
}

/// A collection by id, in any API root.
pub(crate) async fn find_collection(store: &dyn Store, id: &str) -> ApiResult<Option<Collection>> {
    for root in store.list_api_roots().await? {
        if let Some(c) = store.get_collection(&root.name, id).await? {
            return Ok(Some(c));
        }
    }
    Ok(None)
}

/// RFC 3339 with 6 fraction digits.
pub(crate) fn time(micros: i64) -> String {
    cairn_stix::Timestamp::format_micros(micros)
}

// ---------------------------------------------------------------------------------------------
// /me and /audit

/// An organization, as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrgView {
    pub id: uuid::Uuid,
    pub name: String,
    /// The STIX identity that stands for the organization.
    pub identity_id: String,
    /// ISO 3166-1 alpha-2 code.
    pub nation: Option<String>,
    /// cert, police, prosecutor, defence, foreign-affairs, ict-ministry, commerce,
    /// intelligence, private-sector, other.
    pub kind: String,
}

impl From<cairn_store::Organization> for OrgView {
    fn from(o: cairn_store::Organization) -> OrgView {
        OrgView {
            id: o.id,
            name: o.name,
            identity_id: o.identity_id,
            nation: o.nation,
            kind: o.kind,
        }
    }
}

/// A sharing group in a [`Me`] answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupRefView {
    pub id: uuid::Uuid,
    pub name: String,
}

/// The authentication in use, when it is an API token.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenScope {
    pub read_only: bool,
    /// The only collection the credential works on, if any.
    pub collection: Option<uuid::Uuid>,
}

/// Who the caller is.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub id: uuid::Uuid,
    pub user: String,
    /// reader, analyst, org-admin or admin.
    pub role: String,
    pub org: OrgView,
    pub nation: Option<String>,
    /// The sharing groups the caller's organization is a member of.
    pub groups: Vec<GroupRefView>,
    /// The restrictions of the credential used for this request.
    pub credential: TokenScope,
}

/// Who am I: user, organization, nation, sharing groups, role.
#[utoipa::path(get, path = "/me", tag = "me",
    responses(
        (status = 200, body = Me),
        (status = 401, body = Problem, description = "anonymous caller or bad credentials"),
    ))]
async fn me(State(st): State<SharedState>, Extension(c): Extension<Caller>) -> ApiResult<Json<Me>> {
    let u = user(&c)?;
    let org = st
        .store
        .get_org(u.org_id)
        .await?
        .ok_or_else(|| Fail::not_found("the caller's organization is missing"))?;
    let groups = st
        .store
        .groups_of_org(org.id)
        .await?
        .into_iter()
        .map(|g| GroupRefView {
            id: g.id,
            name: g.name,
        })
        .collect();
    Ok(Json(Me {
        id: u.id,
        user: u.name.clone(),
        role: u.role.as_str().to_string(),
        nation: org.nation.clone(),
        org: org.into(),
        groups,
        credential: TokenScope {
            read_only: c.auth.read_only,
            collection: c.auth.scope,
        },
    }))
}

/// Filters of `GET /audit`.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Entries at or after this time (RFC 3339).
    pub since: Option<String>,
    /// Entries before this time (RFC 3339).
    pub until: Option<String>,
    /// Entries by this actor (a user name, `cli`, `anonymous`).
    pub actor: Option<String>,
    /// Entries about this object (a collection id, user name, token id, ...).
    pub object: Option<String>,
    /// Entries with a sequence number greater than this (for paging).
    pub after_seq: Option<i64>,
    /// At most this many entries (default 100, at most 1000).
    pub limit: Option<usize>,
}

/// One audit log entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditView {
    pub seq: i64,
    /// RFC 3339.
    pub time: String,
    pub actor: String,
    pub action: String,
    pub object: Option<String>,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
    /// The previous entry's hash.
    pub prev: String,
    /// SHA-256 over `prev` and this entry's content.
    pub hash: String,
}

fn parse_time(name: &str, v: &Option<String>) -> ApiResult<Option<i64>> {
    v.as_deref()
        .map(|s| {
            cairn_stix::Timestamp::parse(s)
                .map(|t| t.unix_micros())
                .map_err(|e| {
                    Fail::bad_request(format!("{name}: {s:?} is not an RFC 3339 timestamp: {e}"))
                })
        })
        .transpose()
}

/// Read the audit log (admin only), oldest first.
#[utoipa::path(get, path = "/audit", tag = "audit", params(AuditParams),
    responses(
        (status = 200, body = [AuditView]),
        (status = 400, body = Problem, description = "a malformed time or limit"),
        (status = 403, body = Problem),
    ))]
async fn read_audit(
    State(st): State<SharedState>,
    Extension(c): Extension<Caller>,
    axum::extract::Query(p): axum::extract::Query<AuditParams>,
) -> ApiResult<Json<Vec<AuditView>>> {
    require_admin(&c)?;
    let limit = p.limit.unwrap_or(100);
    if limit == 0 || limit > 1000 {
        return Err(Fail::bad_request("limit must be between 1 and 1000"));
    }
    let q = cairn_store::AuditQuery {
        after_seq: p.after_seq.unwrap_or(0),
        since: parse_time("since", &p.since)?,
        until: parse_time("until", &p.until)?,
        actor: p.actor,
        object: p.object,
        limit,
    };
    let out = st
        .store
        .audit_entries(&q)
        .await?
        .into_iter()
        .map(|e| AuditView {
            seq: e.seq,
            time: time(e.entry.time),
            actor: e.entry.actor,
            action: e.entry.action,
            object: e.entry.object,
            detail: e.entry.detail,
            prev: e.prev,
            hash: e.hash,
        })
        .collect();
    Ok(Json(out))
}
