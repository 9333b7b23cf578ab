//! Collection grants and collection policy (admin only).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use cairn_policy::{CollectionPolicy, Tlp};
use cairn_store::{Collection, Grant, Grantee, Store};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use super::error::{ApiResult, Fail, Problem};
use super::people::{body_org, member_nation};
use super::{audit, find_collection, require_admin};
use crate::SharedState;
use crate::policy::Caller;

/// A grant of rights on a collection.
#[derive(Debug, Serialize, ToSchema)]
pub struct GrantView {
    /// `org:<uuid>`, `group:<uuid>`, `nation:CC` or `community`.
    pub grantee: String,
    pub read: bool,
    pub write: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct GrantBody {
    /// `org:<uuid>`, `group:<uuid>`, `nation:CC` or `community`.
    pub grantee: String,
    #[serde(default)]
    pub read: bool,
    #[serde(default)]
    pub write: bool,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GranteeParam {
    /// `org:<uuid>`, `group:<uuid>`, `nation:CC` or `community`.
    pub grantee: String,
}

/// A collection's policy.
#[derive(Debug, Serialize, ToSchema)]
pub struct CollectionView {
    pub id: Uuid,
    pub api_root: String,
    pub title: String,
    pub alias: Option<String>,
    /// clear, green, amber, amber+strict, red.
    pub default_tlp: String,
    pub anonymous_read: bool,
}

impl From<Collection> for CollectionView {
    fn from(c: Collection) -> CollectionView {
        CollectionView {
            id: c.id,
            api_root: c.api_root,
            title: c.title,
            alias: c.alias,
            default_tlp: c.default_tlp.as_str().to_string(),
            anonymous_read: c.anonymous_read,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CollectionPatch {
    /// clear, green, amber, amber+strict, red.
    pub default_tlp: Option<String>,
    /// Only for a TLP:CLEAR publishing channel (the default TLP must then be clear).
    pub anonymous_read: Option<bool>,
}

async fn path_collection(store: &dyn Store, id: Uuid) -> ApiResult<Collection> {
    find_collection(store, &id.to_string())
        .await?
        .ok_or_else(|| Fail::not_found(format!("no collection {id}")))
}

/// Parse and check a grantee: the organization or group must exist, the nation be a member.
async fn grantee(store: &dyn Store, key: &str) -> ApiResult<Grantee> {
    let g = Grantee::from_key(key).ok_or_else(|| {
        Fail::unprocessable(format!(
            "grantee {key:?} is not org:<uuid>, group:<uuid>, nation:CC or community"
        ))
    })?;
    Ok(match g {
        Grantee::Organization(id) => Grantee::Organization(body_org(store, id).await?.id),
        Grantee::SharingGroup(id) => {
            store
                .get_group(id)
                .await?
                .ok_or_else(|| Fail::unprocessable(format!("no sharing group {id}")))?;
            Grantee::SharingGroup(id)
        }
        Grantee::Nation(code) => Grantee::Nation(member_nation(store, &code).await?),
        Grantee::Community => Grantee::Community,
    })
}

/// List a collection's grants (admin).
#[utoipa::path(get, path = "/collections/{id}/grants", tag = "collections",
    params(("id" = Uuid, Path, description = "collection id")),
    responses(
        (status = 200, body = [GrantView]),
        (status = 403, body = Problem),
        (status = 404, body = Problem, description = "no such collection"),
    ))]
pub(super) async fn list_grants(
    State(st): State<SharedState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Vec<GrantView>>> {
    require_admin(&c)?;
    let coll = path_collection(st.store.as_ref(), id).await?;
    let grants = st.store.list_grants(coll.id).await?;
    Ok(Json(
        grants
            .into_iter()
            .filter(|g| g.can_read || g.can_write)
            .map(|g| GrantView {
                grantee: g.grantee.key(),
                read: g.can_read,
                write: g.can_write,
            })
            .collect(),
    ))
}

/// Give a grantee read and/or write rights on a collection, replacing its previous grant
/// (admin).
#[utoipa::path(put, path = "/collections/{id}/grants", tag = "collections",
    params(("id" = Uuid, Path, description = "collection id")),
    request_body = GrantBody,
    responses(
        (status = 200, body = GrantView),
        (status = 403, body = Problem),
        (status = 404, body = Problem, description = "no such collection"),
        (status = 422, body = Problem, description = "bad or unknown grantee, or neither read nor write"),
    ))]
pub(super) async fn put_grant(
    State(st): State<SharedState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<Uuid>,
    Json(b): Json<GrantBody>,
) -> ApiResult<Json<GrantView>> {
    let me = require_admin(&c)?;
    let coll = path_collection(st.store.as_ref(), id).await?;
    if !b.read && !b.write {
        return Err(Fail::unprocessable(
            "give read, write or both (DELETE removes a grant)",
        ));
    }
    let to = grantee(st.store.as_ref(), &b.grantee).await?;
    st.store
        .set_grant(&Grant {
            collection: coll.id,
            grantee: to.clone(),
            can_read: b.read,
            can_write: b.write,
        })
        .await?;
    audit(
        st.store.as_ref(),
        me,
        "grant.set",
        coll.id.to_string(),
        json!({"to": to.key(), "read": b.read, "write": b.write}),
    )
    .await?;
    Ok(Json(GrantView {
        grantee: to.key(),
        read: b.read,
        write: b.write,
    }))
}

/// Remove a grantee's rights on a collection (admin).
#[utoipa::path(delete, path = "/collections/{id}/grants", tag = "collections",
    params(("id" = Uuid, Path, description = "collection id"), GranteeParam),
    responses(
        (status = 204, description = "removed"),
        (status = 403, body = Problem),
        (status = 404, body = Problem, description = "no such collection, or the grantee has no grant on it"),
        (status = 422, body = Problem, description = "bad or unknown grantee"),
    ))]
pub(super) async fn delete_grant(
    State(st): State<SharedState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<Uuid>,
    Query(q): Query<GranteeParam>,
) -> ApiResult<StatusCode> {
    let me = require_admin(&c)?;
    let coll = path_collection(st.store.as_ref(), id).await?;
    let to = Grantee::from_key(&q.grantee).ok_or_else(|| {
        Fail::unprocessable(format!(
            "grantee {:?} is not org:<uuid>, group:<uuid>, nation:CC or community",
            q.grantee
        ))
    })?;
    match st.store.get_grant(coll.id, &to).await? {
        Some(g) if g.can_read || g.can_write => {}
        _ => {
            return Err(Fail::not_found(format!(
                "{} has no grant on collection {}",
                to.key(),
                coll.id
            )));
        }
    }
    st.store
        .set_grant(&Grant {
            collection: coll.id,
            grantee: to.clone(),
            can_read: false,
            can_write: false,
        })
        .await?;
    audit(
        st.store.as_ref(),
        me,
        "grant.remove",
        coll.id.to_string(),
        json!({"to": to.key()}),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Set a collection's default TLP and anonymous readability (admin).
#[utoipa::path(patch, path = "/collections/{id}", tag = "collections",
    params(("id" = Uuid, Path, description = "collection id")),
    request_body = CollectionPatch,
    responses(
        (status = 200, body = CollectionView),
        (status = 403, body = Problem),
        (status = 404, body = Problem, description = "no such collection"),
        (status = 422, body = Problem, description = "bad TLP, or anonymous reading without a CLEAR default"),
    ))]
pub(super) async fn update_collection(
    State(st): State<SharedState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<Uuid>,
    Json(b): Json<CollectionPatch>,
) -> ApiResult<Json<CollectionView>> {
    let me = require_admin(&c)?;
    let coll = path_collection(st.store.as_ref(), id).await?;
    let tlp = match &b.default_tlp {
        Some(t) => Tlp::parse(t).map_err(|e| Fail::unprocessable(e.to_string()))?,
        None => coll.default_tlp,
    };
    let anon = b.anonymous_read.unwrap_or(coll.anonymous_read);
    let mut policy = CollectionPolicy::new(coll.id);
    policy.default_tlp = tlp;
    policy.anonymous_read = anon;
    policy
        .validate()
        .map_err(|e| Fail::unprocessable(e.to_string()))?;
    st.store.set_collection_policy(coll.id, tlp, anon).await?;
    audit(
        st.store.as_ref(),
        me,
        "collection.policy",
        coll.id.to_string(),
        json!({"default_tlp": tlp.as_str(), "anonymous_read": anon}),
    )
    .await?;
    let after = path_collection(st.store.as_ref(), id).await?;
    Ok(Json(after.into()))
}
