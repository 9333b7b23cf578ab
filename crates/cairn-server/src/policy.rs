//! The sharing policy at the HTTP edge: every TAXII read goes through here. It turns the
//! authenticated caller into a `cairn_policy::Principal` (organization, nation, sharing groups,
//! role), a collection and its grants into a `CollectionPolicy`, and the two into
//! the rights (`can_read`/`can_write`) and the `ReadFilter` the store applies to every query,
//! so that hidden versions are never returned, counted, paged over or dated in headers. Versions
//! with granular markings are redacted per caller with `cairn_policy::redact`.

use cairn_policy::{
    Access as PolicyAccess, CollectionPolicy, Destination, IdentityRef, Path as PolicyPath,
    ReadFilter,
};
use cairn_store::{Collection, Record, User};
use serde_json::Value;

use crate::auth::Principal;
use crate::cache::Lookup;
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
    /// The store's policy epoch as this request read it first: every lookup of the request
    /// uses it (`crate::cache`).
    pub epoch: Option<i64>,
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

/// Resolve the caller's organization, nation and groups.
pub(crate) async fn caller(look: Lookup<'_>, auth: Principal) -> Result<Caller> {
    let Some(user) = &auth.user else {
        return Ok(Caller {
            auth,
            principal: None,
            org_identity: None,
            epoch: look.epoch,
        });
    };
    let principal = look.principal(user).await?;
    let org_identity = principal.org.map(|o| o.identity);
    Ok(Caller {
        auth,
        principal: Some(principal),
        org_identity,
        epoch: look.epoch,
    })
}

/// A collection as a channel: default TLP, anonymous readability and grants.
pub(crate) async fn collection_policy(
    look: Lookup<'_>,
    coll: &Collection,
) -> Result<CollectionPolicy> {
    look.channel(coll).await
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
