//! Nations, organizations, users and sharing groups.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use cairn_policy::{IdentityRef, Nation, OrgKind, Role};
use cairn_store::{Organization, SharingGroup, Store, User};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use super::error::{ApiResult, Fail, Problem};
use super::{OrgView, audit, manages, require_admin, user};
use crate::SharedState;
use crate::policy::Caller;

// ---------------------------------------------------------------------------------------------
// Validation shared with the grants

fn nation_code(code: &str) -> ApiResult<Nation> {
    Nation::parse(code).map_err(|e| Fail::unprocessable(e.to_string()))
}

/// A registered member nation (422 otherwise).
pub(crate) async fn member_nation(store: &dyn Store, code: &str) -> ApiResult<String> {
    let n = nation_code(code)?;
    if !store.list_nations().await?.iter().any(|c| c == n.as_str()) {
        return Err(Fail::unprocessable(format!(
            "nation {n} is not a member of this community: add it first with POST /api/v1/nations"
        )));
    }
    Ok(n.as_str().to_string())
}

fn kind(k: &str) -> ApiResult<String> {
    Ok(OrgKind::parse(k)
        .map_err(|e| Fail::unprocessable(e.to_string()))?
        .as_str()
        .to_string())
}

fn role(r: &str) -> ApiResult<Role> {
    Role::parse(r).map_err(|e| Fail::unprocessable(e.to_string()))
}

/// An organization named in a request body (422 when unknown).
pub(crate) async fn body_org(store: &dyn Store, id: Uuid) -> ApiResult<Organization> {
    store
        .get_org(id)
        .await?
        .ok_or_else(|| Fail::unprocessable(format!("no organization {id}")))
}

async fn path_user(store: &dyn Store, name: &str) -> ApiResult<User> {
    store
        .get_user_by_name(name)
        .await?
        .ok_or_else(|| Fail::not_found(format!("no user named {name:?}")))
}

// ---------------------------------------------------------------------------------------------
// Nations

/// A member nation.
#[derive(Debug, Serialize, ToSchema)]
pub struct NationView {
    /// ISO 3166-1 alpha-2 code.
    pub code: String,
    pub name: String,
}

fn nation_view(code: &str) -> NationView {
    NationView {
        code: code.to_string(),
        name: Nation::parse(code)
            .map(|n| n.name())
            .unwrap_or("")
            .to_string(),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewNation {
    /// ISO 3166-1 alpha-2 code, e.g. `KR`.
    pub code: String,
}

/// List the member nations (admin).
#[utoipa::path(get, path = "/nations", tag = "nations",
    responses((status = 200, body = [NationView]), (status = 403, body = Problem)))]
pub(super) async fn list_nations(
    State(st): State<SharedState>,
    Extension(c): Extension<Caller>,
) -> ApiResult<Json<Vec<NationView>>> {
    require_admin(&c)?;
    let out = st.store.list_nations().await?;
    Ok(Json(out.iter().map(|c| nation_view(c)).collect()))
}

/// Register a member nation (admin).
#[utoipa::path(post, path = "/nations", tag = "nations", request_body = NewNation,
    responses(
        (status = 201, body = NationView),
        (status = 403, body = Problem),
        (status = 409, body = Problem, description = "already a member"),
        (status = 422, body = Problem, description = "not an ISO 3166-1 alpha-2 code"),
    ))]
pub(super) async fn add_nation(
    State(st): State<SharedState>,
    Extension(c): Extension<Caller>,
    Json(b): Json<NewNation>,
) -> ApiResult<(StatusCode, Json<NationView>)> {
    let me = require_admin(&c)?;
    let n = nation_code(&b.code)?;
    if st
        .store
        .list_nations()
        .await?
        .iter()
        .any(|c| c == n.as_str())
    {
        return Err(Fail::conflict(format!("nation {n} is already a member")));
    }
    st.store.add_nation(n.as_str()).await?;
    audit(st.store.as_ref(), me, "nation.add", n.as_str(), json!({})).await?;
    Ok((StatusCode::CREATED, Json(nation_view(n.as_str()))))
}

// ---------------------------------------------------------------------------------------------
// Organizations

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewOrg {
    pub name: String,
    /// ISO 3166-1 alpha-2 code of a member nation.
    pub nation: String,
    /// Default `other`.
    pub kind: Option<String>,
    /// The STIX identity id that stands for it (default: a new one).
    pub identity: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct OrgPatch {
    pub name: Option<String>,
    pub nation: Option<String>,
    pub kind: Option<String>,
}

/// List organizations (admin).
#[utoipa::path(get, path = "/orgs", tag = "orgs",
    responses((status = 200, body = [OrgView]), (status = 403, body = Problem)))]
pub(super) async fn list_orgs(
    State(st): State<SharedState>,
    Extension(c): Extension<Caller>,
) -> ApiResult<Json<Vec<OrgView>>> {
    require_admin(&c)?;
    let out = st.store.list_orgs().await?;
    Ok(Json(out.into_iter().map(OrgView::from).collect()))
}

/// Create an organization (admin).
#[utoipa::path(post, path = "/orgs", tag = "orgs", request_body = NewOrg,
    responses(
        (status = 201, body = OrgView),
        (status = 403, body = Problem),
        (status = 409, body = Problem, description = "name or identity taken"),
        (status = 422, body = Problem, description = "empty name, unknown nation, bad kind or identity"),
    ))]
pub(super) async fn create_org(
    State(st): State<SharedState>,
    Extension(c): Extension<Caller>,
    Json(b): Json<NewOrg>,
) -> ApiResult<(StatusCode, Json<OrgView>)> {
    let me = require_admin(&c)?;
    if b.name.trim().is_empty() {
        return Err(Fail::unprocessable("name must not be empty"));
    }
    let identity_id = match b.identity {
        Some(i) => {
            IdentityRef::parse(&i).map_err(|e| Fail::unprocessable(e.to_string()))?;
            i
        }
        None => format!("identity--{}", Uuid::new_v4()),
    };
    let nation = member_nation(st.store.as_ref(), &b.nation).await?;
    let kind = kind(b.kind.as_deref().unwrap_or("other"))?;
    let orgs = st.store.list_orgs().await?;
    if let Some(o) = orgs.iter().find(|o| o.name == b.name) {
        return Err(Fail::conflict(format!(
            "an organization named {:?} exists ({})",
            o.name, o.id
        )));
    }
    if let Some(o) = orgs.iter().find(|o| o.identity_id == identity_id) {
        return Err(Fail::conflict(format!(
            "{identity_id} already stands for {:?}",
            o.name
        )));
    }
    let org = Organization {
        id: Uuid::new_v4(),
        name: b.name,
        identity_id,
        nation: Some(nation),
        kind,
    };
    st.store.create_org(&org).await?;
    let detail = serde_json::to_value(&org).unwrap_or_default();
    audit(
        st.store.as_ref(),
        me,
        "org.create",
        org.id.to_string(),
        detail,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(org.into())))
}

/// Change an organization's name, nation or kind (admin).
#[utoipa::path(patch, path = "/orgs/{id}", tag = "orgs", request_body = OrgPatch,
    params(("id" = Uuid, Path, description = "organization id")),
    responses(
        (status = 200, body = OrgView),
        (status = 403, body = Problem),
        (status = 404, body = Problem, description = "no such organization"),
        (status = 409, body = Problem, description = "name taken"),
        (status = 422, body = Problem, description = "empty name, unknown nation or bad kind"),
    ))]
pub(super) async fn update_org(
    State(st): State<SharedState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<Uuid>,
    Json(b): Json<OrgPatch>,
) -> ApiResult<Json<OrgView>> {
    let me = require_admin(&c)?;
    let mut o = st
        .store
        .get_org(id)
        .await?
        .ok_or_else(|| Fail::not_found(format!("no organization {id}")))?;
    if let Some(n) = b.name {
        if n.trim().is_empty() {
            return Err(Fail::unprocessable("name must not be empty"));
        }
        if let Some(other) = st
            .store
            .list_orgs()
            .await?
            .into_iter()
            .find(|x| x.name == n && x.id != o.id)
        {
            return Err(Fail::conflict(format!(
                "an organization named {n:?} exists ({})",
                other.id
            )));
        }
        o.name = n;
    }
    if let Some(n) = b.nation {
        o.nation = Some(member_nation(st.store.as_ref(), &n).await?);
    }
    if let Some(k) = b.kind {
        o.kind = kind(&k)?;
    }
    st.store.update_org(&o).await?;
    let detail = serde_json::to_value(&o).unwrap_or_default();
    audit(
        st.store.as_ref(),
        me,
        "org.update",
        o.id.to_string(),
        detail,
    )
    .await?;
    Ok(Json(o.into()))
}

// ---------------------------------------------------------------------------------------------
// Users

/// A user account (never its password).
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: Uuid,
    pub name: String,
    pub org: Uuid,
    /// reader, analyst, org-admin or admin.
    pub role: String,
    pub disabled: bool,
}

impl From<&User> for UserView {
    fn from(u: &User) -> UserView {
        UserView {
            id: u.id,
            name: u.name.clone(),
            org: u.org_id,
            role: u.role.as_str().to_string(),
            disabled: u.disabled,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewUser {
    /// Unique; must not contain `:`.
    pub name: String,
    /// The user's organization (an org-admin may only give its own).
    pub org: Uuid,
    /// reader (default), analyst, org-admin, admin (only an admin may give admin).
    pub role: Option<String>,
    /// At least 12 characters; when absent one is generated and returned once.
    pub password: Option<String>,
}

/// A created user, with the generated password when none was given.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedUser {
    pub user: UserView,
    /// Shown once.
    pub password: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UserPatch {
    /// reader, analyst, org-admin, admin.
    pub role: Option<String>,
    /// A disabled user's credentials stop working on the next request.
    pub disabled: Option<bool>,
}

/// List users: all for an admin, its own organization's for an org-admin.
#[utoipa::path(get, path = "/users", tag = "users",
    responses((status = 200, body = [UserView]), (status = 403, body = Problem)))]
pub(super) async fn list_users(
    State(st): State<SharedState>,
    Extension(c): Extension<Caller>,
) -> ApiResult<Json<Vec<UserView>>> {
    let me = user(&c)?;
    let all = match me.role {
        Role::Admin => true,
        Role::OrgAdmin => false,
        _ => {
            return Err(Fail::forbidden(
                "listing users needs the org-admin or admin role",
            ));
        }
    };
    let users = st.store.list_users().await?;
    Ok(Json(
        users
            .iter()
            .filter(|u| all || u.org_id == me.org_id)
            .map(UserView::from)
            .collect(),
    ))
}

fn may_give_role(me: &User, r: Role) -> ApiResult<()> {
    if r == Role::Admin && me.role != Role::Admin {
        return Err(Fail::forbidden("only an admin may give the admin role"));
    }
    Ok(())
}

/// Create a user: an admin in any organization, an org-admin in its own.
#[utoipa::path(post, path = "/users", tag = "users", request_body = NewUser,
    responses(
        (status = 201, body = CreatedUser),
        (status = 403, body = Problem),
        (status = 409, body = Problem, description = "name taken"),
        (status = 422, body = Problem, description = "bad name, role or password; unknown organization"),
    ))]
pub(super) async fn create_user(
    State(st): State<SharedState>,
    Extension(c): Extension<Caller>,
    Json(b): Json<NewUser>,
) -> ApiResult<(StatusCode, Json<CreatedUser>)> {
    let me = user(&c)?;
    match me.role {
        Role::Admin => {}
        Role::OrgAdmin if b.org == me.org_id => {}
        Role::OrgAdmin => {
            return Err(Fail::forbidden(
                "an org-admin may only create users of its own organization",
            ));
        }
        _ => {
            return Err(Fail::forbidden(
                "creating users needs the org-admin or admin role",
            ));
        }
    }
    if b.name.trim().is_empty() || b.name.contains(':') {
        return Err(Fail::unprocessable(
            "name must not be empty nor contain ':'",
        ));
    }
    let org = body_org(st.store.as_ref(), b.org).await?;
    let r = role(b.role.as_deref().unwrap_or("reader"))?;
    may_give_role(me, r)?;
    let (password, generated) = match b.password {
        Some(p) if p.chars().count() < 12 => {
            return Err(Fail::unprocessable(
                "the password must have at least 12 characters",
            ));
        }
        Some(p) => (p, false),
        None => (crate::auth::generate_password(), true),
    };
    if st.store.get_user_by_name(&b.name).await?.is_some() {
        return Err(Fail::conflict(format!("a user named {:?} exists", b.name)));
    }
    let hash = tokio::task::spawn_blocking({
        let p = password.clone();
        move || crate::auth::hash_password(&p)
    })
    .await
    .map_err(|_| {
        Fail::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "hashing the password failed",
        )
    })?;
    let u = User {
        id: Uuid::new_v4(),
        name: b.name,
        org_id: org.id,
        role: r,
        password_hash: Some(hash),
        disabled: false,
        credential_epoch: 0,
    };
    st.store.create_user(&u).await?;
    audit(
        st.store.as_ref(),
        me,
        "user.create",
        u.name.clone(),
        json!({"org": org.id.to_string(), "role": r.as_str()}),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedUser {
            user: UserView::from(&u),
            password: generated.then_some(password),
        }),
    ))
}

/// Change a user's role and/or disabled flag (cached credentials die).
#[utoipa::path(patch, path = "/users/{name}", tag = "users", request_body = UserPatch,
    params(("name" = String, Path, description = "user name")),
    responses(
        (status = 200, body = UserView),
        (status = 403, body = Problem),
        (status = 404, body = Problem, description = "no such user"),
        (status = 422, body = Problem, description = "bad role"),
    ))]
pub(super) async fn update_user(
    State(st): State<SharedState>,
    Extension(c): Extension<Caller>,
    Path(name): Path<String>,
    Json(b): Json<UserPatch>,
) -> ApiResult<Json<UserView>> {
    let me = user(&c)?;
    if !matches!(me.role, Role::Admin | Role::OrgAdmin) {
        return Err(Fail::forbidden(
            "changing users needs the org-admin or admin role",
        ));
    }
    let u = path_user(st.store.as_ref(), &name).await?;
    if !manages(me, &u) {
        return Err(Fail::forbidden(format!(
            "you may not change the user {name:?}"
        )));
    }
    let new_role = match &b.role {
        Some(r) => role(r)?,
        None => u.role,
    };
    may_give_role(me, new_role)?;
    let disabled = b.disabled.unwrap_or(u.disabled);
    let mut entries = Vec::new();
    if new_role != u.role {
        entries.push((
            "user.role",
            json!({"from": u.role.as_str(), "to": new_role.as_str()}),
        ));
    }
    if disabled != u.disabled {
        let action = if disabled {
            "user.disable"
        } else {
            "user.enable"
        };
        entries.push((action, json!({})));
    }
    if !entries.is_empty() {
        st.store.update_user(u.id, new_role, disabled).await?;
        for (action, detail) in entries {
            audit(st.store.as_ref(), me, action, u.name.clone(), detail).await?;
        }
    }
    let after = path_user(st.store.as_ref(), &name).await?;
    Ok(Json(UserView::from(&after)))
}

// ---------------------------------------------------------------------------------------------
// Sharing groups

/// A sharing group.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupView {
    pub id: Uuid,
    pub name: String,
    /// The STIX identity markings name the group by.
    pub identity_id: String,
    pub owner: Uuid,
    /// Member organizations (always includes the owner).
    pub members: Vec<Uuid>,
}

impl From<SharingGroup> for GroupView {
    fn from(g: SharingGroup) -> GroupView {
        GroupView {
            id: g.id,
            name: g.name,
            identity_id: g.identity_id,
            owner: g.owner,
            members: g.members,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewGroup {
    pub name: String,
    /// The owner organization (an org-admin may only give its own); it is made a member.
    pub owner: Uuid,
    /// Further member organizations.
    #[serde(default)]
    pub members: Vec<Uuid>,
}

/// May `me` manage group `g`: an admin any, an org-admin those its organization owns.
fn manages_group(me: &User, g: &SharingGroup) -> bool {
    me.role == Role::Admin || (me.role == Role::OrgAdmin && g.owner == me.org_id)
}

/// List sharing groups: all for an admin, those its organization owns for an org-admin.
#[utoipa::path(get, path = "/groups", tag = "groups",
    responses((status = 200, body = [GroupView]), (status = 403, body = Problem)))]
pub(super) async fn list_groups(
    State(st): State<SharedState>,
    Extension(c): Extension<Caller>,
) -> ApiResult<Json<Vec<GroupView>>> {
    let me = user(&c)?;
    if !matches!(me.role, Role::Admin | Role::OrgAdmin) {
        return Err(Fail::forbidden(
            "listing groups needs the org-admin or admin role",
        ));
    }
    let groups = st.store.list_groups().await?;
    Ok(Json(
        groups
            .into_iter()
            .filter(|g| manages_group(me, g))
            .map(GroupView::from)
            .collect(),
    ))
}

/// Create a sharing group: an admin for any owner, an org-admin owned by its organization.
#[utoipa::path(post, path = "/groups", tag = "groups", request_body = NewGroup,
    responses(
        (status = 201, body = GroupView),
        (status = 403, body = Problem),
        (status = 409, body = Problem, description = "name taken"),
        (status = 422, body = Problem, description = "empty name, unknown owner or member"),
    ))]
pub(super) async fn create_group(
    State(st): State<SharedState>,
    Extension(c): Extension<Caller>,
    Json(b): Json<NewGroup>,
) -> ApiResult<(StatusCode, Json<GroupView>)> {
    let me = user(&c)?;
    match me.role {
        Role::Admin => {}
        Role::OrgAdmin if b.owner == me.org_id => {}
        Role::OrgAdmin => {
            return Err(Fail::forbidden(
                "an org-admin may only create groups its own organization owns",
            ));
        }
        _ => {
            return Err(Fail::forbidden(
                "creating groups needs the org-admin or admin role",
            ));
        }
    }
    if b.name.trim().is_empty() {
        return Err(Fail::unprocessable("name must not be empty"));
    }
    let owner = body_org(st.store.as_ref(), b.owner).await?;
    for m in &b.members {
        body_org(st.store.as_ref(), *m).await?;
    }
    if st
        .store
        .list_groups()
        .await?
        .iter()
        .any(|g| g.name == b.name)
    {
        return Err(Fail::conflict(format!(
            "a sharing group named {:?} exists",
            b.name
        )));
    }
    let g = SharingGroup {
        id: Uuid::new_v4(),
        name: b.name,
        identity_id: format!("identity--{}", Uuid::new_v4()),
        owner: owner.id,
        members: b.members,
    };
    st.store.create_group(&g).await?;
    let detail = serde_json::to_value(&g).unwrap_or_default();
    audit(
        st.store.as_ref(),
        me,
        "group.create",
        g.id.to_string(),
        detail,
    )
    .await?;
    let stored = st.store.get_group(g.id).await?.unwrap_or(g);
    Ok((StatusCode::CREATED, Json(stored.into())))
}

/// The group and organization of a membership path, after the authorization check.
async fn membership(
    store: &dyn Store,
    me: &User,
    id: Uuid,
    org: Uuid,
) -> ApiResult<(SharingGroup, Organization)> {
    if !matches!(me.role, Role::Admin | Role::OrgAdmin) {
        return Err(Fail::forbidden(
            "managing groups needs the org-admin or admin role",
        ));
    }
    let g = store
        .get_group(id)
        .await?
        .ok_or_else(|| Fail::not_found(format!("no sharing group {id}")))?;
    if !manages_group(me, &g) {
        return Err(Fail::forbidden(
            "an org-admin may only manage groups its own organization owns",
        ));
    }
    let o = store
        .get_org(org)
        .await?
        .ok_or_else(|| Fail::not_found(format!("no organization {org}")))?;
    Ok((g, o))
}

/// Add an organization to a sharing group.
#[utoipa::path(post, path = "/groups/{id}/members/{org}", tag = "groups",
    params(("id" = Uuid, Path, description = "group id"), ("org" = Uuid, Path, description = "organization id")),
    responses(
        (status = 200, body = GroupView),
        (status = 403, body = Problem),
        (status = 404, body = Problem, description = "no such group or organization"),
        (status = 409, body = Problem, description = "already a member"),
    ))]
pub(super) async fn add_member(
    State(st): State<SharedState>,
    Extension(c): Extension<Caller>,
    Path((id, org)): Path<(Uuid, Uuid)>,
) -> ApiResult<Json<GroupView>> {
    let me = user(&c)?;
    let (g, o) = membership(st.store.as_ref(), me, id, org).await?;
    if g.members.contains(&o.id) {
        return Err(Fail::conflict(format!(
            "{:?} is already a member of {:?}",
            o.name, g.name
        )));
    }
    st.store.set_group_member(g.id, o.id, true).await?;
    audit(
        st.store.as_ref(),
        me,
        "group.add-member",
        g.id.to_string(),
        json!({"org": o.id.to_string()}),
    )
    .await?;
    let after = st.store.get_group(g.id).await?.unwrap_or(g);
    Ok(Json(after.into()))
}

/// Remove an organization from a sharing group (not its owner).
#[utoipa::path(delete, path = "/groups/{id}/members/{org}", tag = "groups",
    params(("id" = Uuid, Path, description = "group id"), ("org" = Uuid, Path, description = "organization id")),
    responses(
        (status = 200, body = GroupView),
        (status = 403, body = Problem),
        (status = 404, body = Problem, description = "no such group or organization, or not a member"),
        (status = 422, body = Problem, description = "the owner cannot be removed"),
    ))]
pub(super) async fn remove_member(
    State(st): State<SharedState>,
    Extension(c): Extension<Caller>,
    Path((id, org)): Path<(Uuid, Uuid)>,
) -> ApiResult<Json<GroupView>> {
    let me = user(&c)?;
    let (g, o) = membership(st.store.as_ref(), me, id, org).await?;
    if g.owner == o.id {
        return Err(Fail::unprocessable(format!(
            "{:?} owns {:?} and cannot be removed from it",
            o.name, g.name
        )));
    }
    if !g.members.contains(&o.id) {
        return Err(Fail::not_found(format!(
            "{:?} is not a member of {:?}",
            o.name, g.name
        )));
    }
    st.store.set_group_member(g.id, o.id, false).await?;
    audit(
        st.store.as_ref(),
        me,
        "group.remove-member",
        g.id.to_string(),
        json!({"org": o.id.to_string()}),
    )
    .await?;
    let after = st.store.get_group(g.id).await?.unwrap_or(g);
    Ok(Json(after.into()))
}
