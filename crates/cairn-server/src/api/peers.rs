//! `/peers` and `/subscriptions`: partner nodes and their pull/push subscriptions, the same
//! operations as `cairn peer ...` (both call `cairn_sync::peers`). Admin only. A peer's
//! credential is accepted on creation and never returned.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, response::IntoResponse};
use cairn_store::federation::{Direction, SubscriptionFilter};
use cairn_sync::peers::{NewPeer, NewSubscription, PeerView};
use cairn_sync::{Credential, SyncError};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use uuid::Uuid;

use super::error::{ApiResult, Fail, Problem};
use super::{audit, find_collection, require_admin};
use crate::SharedState;
use crate::policy::Caller;

impl From<SyncError> for Fail {
    fn from(e: SyncError) -> Fail {
        match e {
            SyncError::Store(s) => Fail::from(s),
            SyncError::Client(c) => {
                Fail::new(StatusCode::BAD_GATEWAY, format!("the peer answered: {c}"))
            }
            SyncError::Config(m) => Fail::unprocessable(m),
            SyncError::Busy(id) => Fail::conflict(format!("subscription {id} is syncing")),
            SyncError::Secret(s) => Fail::new(StatusCode::INTERNAL_SERVER_ERROR, s.to_string()),
        }
    }
}

fn secrets(st: &SharedState) -> ApiResult<&cairn_sync::SecretBox> {
    st.config.peer_secrets.as_deref().ok_or_else(|| {
        Fail::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "this server was started without a peer secrets key (federation is off)",
        )
    })
}

fn to_json(v: &impl serde::Serialize) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// A new peer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPeerBody {
    /// Letters, digits, `.`, `_`, `-` (1 to 64).
    pub name: String,
    /// The peer's TAXII 2.1 discovery URL.
    pub url: String,
    /// A bearer token the peer issued to this node (or `user` and `password`).
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    /// The nation of the organization created for the peer.
    #[serde(default)]
    pub nation: Option<String>,
    /// An existing organization (name, id or identity id) standing for the peer.
    #[serde(default)]
    pub org: Option<String>,
    /// The STIX identity id of the peer's organization.
    #[serde(default)]
    pub org_identity: Option<String>,
    /// In the community (receives TLP:GREEN); default true.
    #[serde(default)]
    pub community: Option<bool>,
    /// A PEM CA certificate to trust for this peer only.
    #[serde(default)]
    pub ca_cert: Option<String>,
}

/// A new subscription of a peer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSubscriptionBody {
    /// `pull` or `push`.
    pub direction: String,
    /// The local collection id.
    pub local_collection: String,
    /// The remote collection id, or its full URL.
    pub remote: String,
    #[serde(default)]
    pub remote_api_root: Option<String>,
    #[serde(default)]
    pub types: Vec<String>,
    /// RFC 3339.
    #[serde(default)]
    pub added_after: Option<String>,
    #[serde(default)]
    pub labels: Vec<String>,
    #[serde(default)]
    pub markings: Vec<String>,
    /// Seconds between rounds (default 300).
    #[serde(default)]
    pub interval_secs: Option<u64>,
}

/// A change to a subscription.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionChange {
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub interval_secs: Option<u64>,
}

async fn view(st: &SharedState, name: &str) -> ApiResult<PeerView> {
    let store = st.store.as_ref();
    let peer = store
        .get_peer(name)
        .await?
        .ok_or_else(|| Fail::not_found(format!("no peer {name:?}")))?;
    Ok(cairn_sync::peers::peer_view(store, &peer).await?)
}

/// List peers, with their subscriptions and where each stands.
#[utoipa::path(get, path = "/peers", tag = "federation",
    responses((status = 200, body = Value), (status = 403, body = Problem)))]
pub(super) async fn list_peers(
    State(st): State<SharedState>,
    Extension(c): Extension<Caller>,
) -> ApiResult<Json<Value>> {
    require_admin(&c)?;
    let mut out = Vec::new();
    for p in st.store.list_peers().await? {
        out.push(cairn_sync::peers::peer_view(st.store.as_ref(), &p).await?);
    }
    Ok(Json(to_json(&out)))
}

/// Add a peer; its credential is sealed at rest and never shown again.
#[utoipa::path(post, path = "/peers", tag = "federation", request_body = NewPeerBody,
    responses(
        (status = 201, body = Value),
        (status = 403, body = Problem),
        (status = 409, body = Problem, description = "the name is taken"),
        (status = 422, body = Problem, description = "bad name, URL, credential, nation or CA"),
    ))]
pub(super) async fn create_peer(
    State(st): State<SharedState>,
    Extension(c): Extension<Caller>,
    Json(b): Json<NewPeerBody>,
) -> ApiResult<impl IntoResponse> {
    let me = require_admin(&c)?;
    let credential = match (b.token, b.user, b.password) {
        (Some(token), None, None) if !token.trim().is_empty() => Credential::Token { token },
        (None, Some(user), Some(password)) if !user.is_empty() && !password.is_empty() => {
            Credential::Basic { user, password }
        }
        _ => {
            return Err(Fail::unprocessable(
                "give either a non-empty `token`, or `user` and `password`",
            ));
        }
    };
    let peer = cairn_sync::peers::add_peer(
        st.store.as_ref(),
        secrets(&st)?,
        NewPeer {
            name: b.name,
            url: b.url,
            credential,
            nation: b.nation,
            org: b.org,
            org_identity: b.org_identity,
            community: b.community.unwrap_or(true),
            ca_cert: b.ca_cert,
        },
        &me.name,
    )
    .await?;
    let v = cairn_sync::peers::peer_view(st.store.as_ref(), &peer).await?;
    Ok((StatusCode::CREATED, Json(to_json(&v))))
}

/// A peer, its subscriptions and their state.
#[utoipa::path(get, path = "/peers/{name}", tag = "federation",
    params(("name" = String, Path, description = "peer name or id")),
    responses((status = 200, body = Value), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub(super) async fn get_peer(
    State(st): State<SharedState>,
    Extension(c): Extension<Caller>,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    require_admin(&c)?;
    Ok(Json(to_json(&view(&st, &name).await?)))
}

/// Remove a peer and its subscriptions (what was received from it stays).
#[utoipa::path(delete, path = "/peers/{name}", tag = "federation",
    params(("name" = String, Path, description = "peer name or id")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub(super) async fn delete_peer(
    State(st): State<SharedState>,
    Extension(c): Extension<Caller>,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    let me = require_admin(&c)?;
    let v = view(&st, &name).await?;
    st.store.delete_peer(v.id).await?;
    audit(st.store.as_ref(), me, "peer.remove", v.name, json!({})).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Subscribe: pull a remote collection into a local one, or push a local one to a remote
/// one. The peer is asked first whether the collection exists and allows it.
#[utoipa::path(post, path = "/peers/{name}/subscriptions", tag = "federation",
    params(("name" = String, Path, description = "peer name or id")),
    request_body = NewSubscriptionBody,
    responses(
        (status = 201, body = Value),
        (status = 403, body = Problem),
        (status = 404, body = Problem),
        (status = 409, body = Problem, description = "the same subscription exists"),
        (status = 422, body = Problem, description = "bad direction, collection or filter"),
        (status = 502, body = Problem, description = "the peer refused or did not answer"),
    ))]
pub(super) async fn create_subscription(
    State(st): State<SharedState>,
    Extension(c): Extension<Caller>,
    Path(name): Path<String>,
    Json(b): Json<NewSubscriptionBody>,
) -> ApiResult<impl IntoResponse> {
    let me = require_admin(&c)?;
    let store = st.store.as_ref();
    let peer = store
        .get_peer(&name)
        .await?
        .ok_or_else(|| Fail::not_found(format!("no peer {name:?}")))?;
    let direction = Direction::parse(&b.direction)
        .ok_or_else(|| Fail::unprocessable("direction must be `pull` or `push`"))?;
    let local = find_collection(store, &b.local_collection)
        .await?
        .ok_or_else(|| Fail::unprocessable(format!("no collection {:?}", b.local_collection)))?;
    let added_after = match &b.added_after {
        Some(t) => Some(
            cairn_stix::Timestamp::parse(t)
                .map_err(|e| Fail::unprocessable(format!("added_after {t:?}: {e}")))?
                .unix_micros(),
        ),
        None => None,
    };
    let sub = cairn_sync::peers::subscribe(
        store,
        secrets(&st)?,
        &peer,
        NewSubscription {
            direction,
            local_collection: local.id,
            remote: b.remote,
            remote_api_root: b.remote_api_root,
            filter: SubscriptionFilter {
                types: b.types,
                added_after,
                labels: b.labels,
                markings: b.markings,
            },
            interval_secs: b.interval_secs.unwrap_or(300),
        },
        &me.name,
    )
    .await?;
    let state = store.sync_state(sub.id).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"subscription": sub, "state": state})),
    ))
}

/// Pause, resume or re-time a subscription.
#[utoipa::path(patch, path = "/subscriptions/{id}", tag = "federation",
    params(("id" = Uuid, Path, description = "subscription id")),
    request_body = SubscriptionChange,
    responses((status = 200, body = Value), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub(super) async fn update_subscription(
    State(st): State<SharedState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<Uuid>,
    Json(b): Json<SubscriptionChange>,
) -> ApiResult<Json<Value>> {
    let me = require_admin(&c)?;
    let store = st.store.as_ref();
    let mut sub = store
        .get_subscription(id)
        .await?
        .ok_or_else(|| Fail::not_found(format!("no subscription {id}")))?;
    if let Some(e) = b.enabled {
        sub.enabled = e;
    }
    if let Some(i) = b.interval_secs {
        if i == 0 {
            return Err(Fail::unprocessable("interval_secs must be 1 or more"));
        }
        sub.interval_secs = i;
    }
    store.update_subscription(&sub).await?;
    audit(
        store,
        me,
        "subscription.set",
        id.to_string(),
        json!({"enabled": sub.enabled, "interval_secs": sub.interval_secs}),
    )
    .await?;
    let state = store.sync_state(id).await?;
    Ok(Json(json!({"subscription": sub, "state": state})))
}

/// Delete a subscription and its state.
#[utoipa::path(delete, path = "/subscriptions/{id}", tag = "federation",
    params(("id" = Uuid, Path, description = "subscription id")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub(super) async fn delete_subscription(
    State(st): State<SharedState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    let me = require_admin(&c)?;
    let store = st.store.as_ref();
    store
        .get_subscription(id)
        .await?
        .ok_or_else(|| Fail::not_found(format!("no subscription {id}")))?;
    store.delete_subscription(id).await?;
    audit(store, me, "subscription.remove", id.to_string(), json!({})).await?;
    Ok(StatusCode::NO_CONTENT)
}
