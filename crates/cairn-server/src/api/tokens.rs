//! API tokens: a user's own, those of an org-admin's organization, or any for an admin.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use cairn_store::{ApiToken, Role, Store, User};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use super::error::{ApiResult, Fail, Problem};
use super::{audit, find_collection, manages, time, user};
use crate::SharedState;
use crate::policy::Caller;

/// An API token (never its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    pub id: Uuid,
    /// The owner's user name.
    pub user: String,
    /// RFC 3339.
    pub created: String,
    /// RFC 3339; absent: never.
    pub expires: Option<String>,
    pub revoked: bool,
    pub read_only: bool,
    /// The only collection the token works on, if any.
    pub collection: Option<Uuid>,
}

fn view(t: &ApiToken, owner: &User) -> TokenView {
    TokenView {
        id: t.id,
        user: owner.name.clone(),
        created: time(t.created),
        expires: t.expires.map(time),
        revoked: t.revoked,
        read_only: t.read_only,
        collection: t.collection,
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct NewToken {
    /// The token may only read.
    #[serde(default)]
    pub read_only: bool,
    /// Days until it expires (1 or more; absent: never).
    pub expires_in_days: Option<u32>,
    /// The token works only on this collection (id or alias).
    pub collection: Option<String>,
}

/// A created token and its secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedToken {
    pub token: TokenView,
    /// Send as `Authorization: Bearer <secret>`.
    pub secret: String,
}

/// `name`'s account, if the caller may manage its tokens (itself, or per [`manages`]).
async fn token_owner(store: &dyn Store, me: &User, name: &str) -> ApiResult<User> {
    if name == me.name {
        return Ok(me.clone());
    }
    if !matches!(me.role, Role::Admin | Role::OrgAdmin) {
        return Err(Fail::forbidden("you may only manage your own tokens"));
    }
    let u = store
        .get_user_by_name(name)
        .await?
        .ok_or_else(|| Fail::not_found(format!("no user named {name:?}")))?;
    if !manages(me, &u) {
        return Err(Fail::forbidden(format!(
            "you may not manage the tokens of {name:?}"
        )));
    }
    Ok(u)
}

/// List a user's tokens.
#[utoipa::path(get, path = "/users/{name}/tokens", tag = "tokens",
    params(("name" = String, Path, description = "user name")),
    responses(
        (status = 200, body = [TokenView]),
        (status = 403, body = Problem),
        (status = 404, body = Problem, description = "no such user"),
    ))]
pub(super) async fn list_tokens(
    State(st): State<SharedState>,
    Extension(c): Extension<Caller>,
    Path(name): Path<String>,
) -> ApiResult<Json<Vec<TokenView>>> {
    let me = user(&c)?;
    let owner = token_owner(st.store.as_ref(), me, &name).await?;
    let tokens = st.store.list_tokens(owner.id).await?;
    Ok(Json(tokens.iter().map(|t| view(t, &owner)).collect()))
}

/// Create a token for a user; the secret is in the answer and nowhere else.
#[utoipa::path(post, path = "/users/{name}/tokens", tag = "tokens",
    params(("name" = String, Path, description = "user name")),
    request_body = NewToken,
    responses(
        (status = 201, body = CreatedToken),
        (status = 403, body = Problem),
        (status = 404, body = Problem, description = "no such user"),
        (status = 422, body = Problem, description = "unknown collection or bad expiry"),
    ))]
pub(super) async fn create_token(
    State(st): State<SharedState>,
    Extension(c): Extension<Caller>,
    Path(name): Path<String>,
    Json(b): Json<NewToken>,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    let me = user(&c)?;
    let owner = token_owner(st.store.as_ref(), me, &name).await?;
    if b.expires_in_days == Some(0) {
        return Err(Fail::unprocessable("expires_in_days must be 1 or more"));
    }
    let scope = match &b.collection {
        Some(key) => Some(
            find_collection(st.store.as_ref(), key)
                .await?
                .ok_or_else(|| Fail::unprocessable(format!("no collection {key:?}")))?
                .id,
        ),
        None => None,
    };
    let (secret, hash) = crate::auth::generate_token();
    let now = crate::now_micros();
    let token = ApiToken {
        id: Uuid::new_v4(),
        user_id: owner.id,
        secret_hash: hash,
        created: now,
        expires: b
            .expires_in_days
            .map(|d| now + i64::from(d) * 86_400_000_000),
        revoked: false,
        read_only: b.read_only,
        collection: scope,
    };
    st.store.create_token(&token).await?;
    audit(
        st.store.as_ref(),
        me,
        "token.create",
        token.id.to_string(),
        json!({
            "user": owner.name,
            "read_only": token.read_only,
            "collection": scope.map(|c| c.to_string()),
            "expires": token.expires,
        }),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            token: view(&token, &owner),
            secret,
        }),
    ))
}

/// Revoke a token; it stops working on the next request.
#[utoipa::path(delete, path = "/tokens/{id}", tag = "tokens",
    params(("id" = Uuid, Path, description = "token id")),
    responses(
        (status = 204, description = "revoked"),
        (status = 404, body = Problem, description = "no such token among those the caller may manage"),
        (status = 409, body = Problem, description = "already revoked"),
    ))]
pub(super) async fn revoke_token(
    State(st): State<SharedState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    let me = user(&c)?;
    // The users whose tokens the caller may see; the token is looked for among theirs only, so
    // a token of someone else is "not found", not "forbidden".
    let candidates: Vec<User> = match me.role {
        Role::Admin | Role::OrgAdmin => st
            .store
            .list_users()
            .await?
            .into_iter()
            .filter(|u| u.id == me.id || manages(me, u))
            .collect(),
        _ => vec![me.clone()],
    };
    let mut found = None;
    for u in candidates {
        if let Some(t) = st
            .store
            .list_tokens(u.id)
            .await?
            .into_iter()
            .find(|t| t.id == id)
        {
            found = Some((t, u));
            break;
        }
    }
    let Some((t, owner)) = found else {
        return Err(Fail::not_found(format!("no token {id}")));
    };
    if t.revoked {
        return Err(Fail::conflict(format!("token {id} is already revoked")));
    }
    st.store.revoke_token(t.id).await?;
    audit(
        st.store.as_ref(),
        me,
        "token.revoke",
        id.to_string(),
        json!({"user": owner.name}),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
