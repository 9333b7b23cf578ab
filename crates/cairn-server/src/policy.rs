//! The sharing policy at the HTTP edge: every TAXII read goes through here. It turns the
//! authenticated caller into a `cairn_policy::Principal` (organization, nation, sharing groups,
//! role), a collection and its grants into a `CollectionPolicy`, and the two into
//! the rights (`can_read`/`can_write`) and the `ReadFilter` the store applies to every query,
//! so that hidden versions are never returned, counted, paged over or dated in headers. Versions
//! with granular markings are redacted per caller with `cairn_policy::redact`.

use cairn_policy::{
    Access as PolicyAccess, CollectionPolicy, Destination, GroupRef, IdentityRef, Nation, OrgRef,
    Path as PolicyPath, ReadFilter,
};
use cairn_store::{Collection, Grantee, Record, Store, User};
use serde_json::Value;

use crate::auth::Principal;
use crate::error::ApiError;

type Result<T, E = ApiError> = std::result::Result<T, E>;

/// The caller of one request: how it authenticated, and who it is to the policy (`None` for an
/// anonymous caller).
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub auth: Principal,
    pub principal: Option<cairn_policy::Principal>,
    /// The caller's organization's STIX identity (the creator of what it posts without
    /// `created_by_ref`).
    pub org_identity: Option<IdentityRef>,
}

impl Caller {
    pub fn user(&self) -> Option<&User> {
        self.auth.user.as_ref()
    }

    pub fn destination(&self) -> Destination<'_> {
        self.principal
            .as_ref()
            .map_or(Destination::Anonymous, Destination::User)
    }
}

fn identity(id: &str) -> Result<IdentityRef> {
    IdentityRef::parse(id)
        .map_err(|_| ApiError::internal(format!("stored identity {id:?} is not an identity id")))
}

/// Resolve the caller's organization, nation and groups.
pub(crate) async fn caller(store: &dyn Store, auth: Principal) -> Result<Caller> {
    let Some(user) = &auth.user else {
        return Ok(Caller {
            auth,
            principal: None,
            org_identity: None,
        });
    };
    let org = store
        .get_org(user.org_id)
        .await
        .map_err(ApiError::store)?
        .ok_or_else(|| ApiError::internal("the user's organization is missing"))?;
    let org_identity = identity(&org.identity_id)?;
    let nation = org
        .nation
        .as_deref()
        .and_then(|n| Nation::parse(n).ok())
        .unwrap_or(Nation::UNASSIGNED);
    let mut groups = Vec::new();
    for g in store.groups_of_org(org.id).await.map_err(ApiError::store)? {
        groups.push(GroupRef {
            id: g.id,
            identity: identity(&g.identity_id)?,
        });
    }
    let principal = cairn_policy::Principal {
        org: Some(OrgRef {
            id: org.id,
            identity: org_identity,
        }),
        nation,
        groups,
        role: Some(user.role),
    };
    Ok(Caller {
        auth,
        principal: Some(principal),
        org_identity: Some(org_identity),
    })
}

/// A collection as a channel: default TLP, anonymous readability and grants.
pub(crate) async fn collection_policy(
    store: &dyn Store,
    coll: &Collection,
) -> Result<CollectionPolicy> {
    let mut policy = CollectionPolicy::new(coll.id);
    policy.default_tlp = coll.default_tlp;
    policy.anonymous_read = coll.anonymous_read;
    for g in store.list_grants(coll.id).await.map_err(ApiError::store)? {
        if !g.can_read && !g.can_write {
            continue;
        }
        let to = match &g.grantee {
            Grantee::Organization(id) => {
                let Some(org) = store.get_org(*id).await.map_err(ApiError::store)? else {
                    continue;
                };
                cairn_policy::Grantee::Organization(OrgRef {
                    id: org.id,
                    identity: identity(&org.identity_id)?,
                })
            }
            Grantee::SharingGroup(id) => {
                let Some(group) = store.get_group(*id).await.map_err(ApiError::store)? else {
                    continue;
                };
                cairn_policy::Grantee::SharingGroup(GroupRef {
                    id: group.id,
                    identity: identity(&group.identity_id)?,
                })
            }
            Grantee::Nation(code) => match Nation::parse(code) {
                Ok(n) => cairn_policy::Grantee::Nation(n),
                Err(_) => continue,
            },
            Grantee::Community => cairn_policy::Grantee::Community,
        };
        policy.grants.push(cairn_policy::Grant {
            to,
            read: g.can_read,
            write: g.can_write,
        });
    }
    Ok(policy)
}

/// The caller's (can_read, can_write) on a collection, or `None` when it has no access at all
/// (the collection is then invisible to it).
pub(crate) fn rights(
    c: &Caller,
    coll: &Collection,
    policy: &CollectionPolicy,
) -> Option<(bool, bool)> {
    if c.auth.scope.is_some_and(|s| s != coll.id) {
        return None;
    }
    let (r, w) = match &c.principal {
        None => (policy.anonymous_read, false),
        Some(p) => (
            policy.can_read(p) || policy.anonymous_read,
            policy.can_write(p) && !c.auth.read_only,
        ),
    };
    (r || w).then_some((r, w))
}

/// The filter of a TAXII read by `c` of the collection with `policy`.
pub(crate) fn read_filter(c: &Caller, policy: &CollectionPolicy) -> Result<ReadFilter> {
    ReadFilter::new(PolicyPath::TaxiiRead, c.destination(), policy)
        .map_err(|e| ApiError::internal(format!("building the read filter: {e}")))
}

/// Redact the bodies of records with granular markings for `c`; a record the caller may not
/// receive at all is dropped (the store's filter already kept such versions out, so this only
/// happens when labels and filter disagree, and then the answer is "no").
pub(crate) fn redact_records(c: &Caller, policy: &CollectionPolicy, records: &mut Vec<Record>) {
    if records.iter().all(|r| r.labels.is_none()) {
        return;
    }
    let access = PolicyAccess {
        path: PolicyPath::TaxiiRead,
        to: c.destination(),
        source: policy,
    };
    records.retain_mut(|r| {
        let Some(labels) = &r.labels else {
            return true;
        };
        let Some(body) = &r.body else {
            return cairn_policy::decide(labels, &access).allowed;
        };
        let Ok(value) = serde_json::from_str::<Value>(body) else {
            return false;
        };
        match cairn_policy::redact(&value, labels, &access) {
            None => false,
            Some(out) => {
                if out != value {
                    r.body = Some(out.to_string());
                }
                true
            }
        }
    });
}
