//! The sharing policy at the HTTP edge: every TAXII read goes through here. It turns the
//! authenticated caller into a `cairn_policy::Principal` (organization, nation, sharing groups,
//! role), a collection and its grants into a `CollectionPolicy`, and the two into
//! the rights (`can_read`/`can_write`) and the [`ReadView`] the store applies to every query,
//! so that hidden versions are never returned, counted, paged over or dated in headers. Versions
//! with granular markings are redacted per caller with `cairn_policy::redact`.
//!
//! A `peer` account (the user a partner node pulls with) reads what this node would push to
//! its node: the TAXII read filter intersected with the `federation-push` filter towards its
//! organization (a community peer, or an external one when a peer record of that organization
//! says so; read from the store on every request, since peers are not under the policy epoch),
//! never versions whose provenance names its own organization, and granular markings redacted
//! as both paths require.

use std::borrow::Cow;

use cairn_policy::{
    Access as PolicyAccess, CollectionPolicy, Destination, IdentityRef, ObjectLabels,
    Path as PolicyPath, ReadFilter, Tlp,
};
use cairn_store::{Collection, Record, Role, Store, User, access};
use serde_json::Value;
use uuid::Uuid;

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

    /// The organization of a `peer` account (a partner node's), `None` for everyone else.
    pub fn peer_org(&self) -> Option<Uuid> {
        self.user()
            .filter(|u| u.role == Role::Peer)
            .map(|u| u.org_id)
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

/// What one caller may read of one collection: the filter the store applies in SQL and the
/// origin whose versions it leaves out.
#[derive(Debug, Clone)]
pub(crate) struct ReadView {
    pub filter: ReadFilter,
    /// A peer account's organization: versions that came from it are never served back.
    pub exclude_origin: Option<Uuid>,
    /// For a peer account: whether its node is a community peer (`federation-push` goes to
    /// `Destination::Peer`) or not (`Destination::ExternalPeer`).
    push_to_community: Option<bool>,
}

impl ReadView {
    /// The `federation-push` question towards the caller's node, for a peer account.
    fn push_access<'a>(
        &self,
        c: &'a Caller,
        policy: &'a CollectionPolicy,
    ) -> Option<PolicyAccess<'a>> {
        let community = self.push_to_community?;
        let p = c.principal.as_ref()?;
        Some(PolicyAccess {
            path: PolicyPath::FederationPush,
            to: if community {
                Destination::Peer(p)
            } else {
                Destination::ExternalPeer(p)
            },
            source: policy,
        })
    }
}

/// The view of a TAXII read by `c` of the collection with `policy`: the `taxii-read` filter;
/// for a peer account, intersected with the `federation-push` filter towards its organization's
/// node and leaving out what came from that organization.
pub(crate) async fn read_view(
    store: &dyn Store,
    c: &Caller,
    policy: &CollectionPolicy,
) -> Result<ReadView> {
    let filter = ReadFilter::new(PolicyPath::TaxiiRead, c.destination(), policy)
        .map_err(|e| ApiError::internal(format!("building the read filter: {e}")))?;
    let (Some(org), Some(principal)) = (c.peer_org(), c.principal.as_ref()) else {
        return Ok(ReadView {
            filter,
            exclude_origin: None,
            push_to_community: None,
        });
    };
    // Not cached: the peers table is not under the policy epoch.
    let community = access::org_is_community_peer(store, org)
        .await
        .map_err(ApiError::store)?;
    let push = access::peer_push_filter(principal, community, policy).map_err(ApiError::store)?;
    Ok(ReadView {
        filter: filter.intersect(&push),
        exclude_origin: Some(org),
        push_to_community: Some(community),
    })
}

/// Redact the bodies of records with granular markings for `c`; a record the caller may not
/// receive at all is dropped (the store's filter already kept such versions out, so this only
/// happens when labels and filter disagree, and then the answer is "no"). For a peer account a
/// property goes only where both `taxii-read` and `federation-push` let it
/// ([`peer_labels`]).
pub(crate) fn redact_records(
    c: &Caller,
    view: &ReadView,
    policy: &CollectionPolicy,
    records: &mut Vec<Record>,
) {
    if records.iter().all(|r| r.labels.is_none()) {
        return;
    }
    let read = PolicyAccess {
        path: PolicyPath::TaxiiRead,
        to: c.destination(),
        source: policy,
    };
    let push = view.push_access(c, policy);
    records.retain_mut(|r| {
        let Some(labels) = &r.labels else {
            return true;
        };
        let (labels, access) = match &push {
            None => (Cow::Borrowed(labels), read),
            Some(push) => {
                if !cairn_policy::decide(labels, &read).allowed {
                    return false;
                }
                (Cow::Owned(peer_labels(labels, &read)), *push)
            }
        };
        let Some(body) = &r.body else {
            return cairn_policy::decide(&labels, &access).allowed;
        };
        let Ok(value) = serde_json::from_str::<Value>(body) else {
            return false;
        };
        match cairn_policy::redact(&value, &labels, &access) {
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

/// `labels` with every granular marking that `read` withholds raised to TLP:RED, which
/// `federation-push` never releases: one `redact` towards the peer with these labels removes
/// exactly the union of what either path withholds, in one pass over the original object.
/// (Redacting twice in a row would be wrong: the first pass renumbers list indexes that the
/// second pass's selectors still name by their original positions.)
fn peer_labels(labels: &ObjectLabels, read: &PolicyAccess<'_>) -> ObjectLabels {
    let object_tlp = labels.effective_tlp(read.source.default_tlp);
    let mut out = labels.clone();
    for g in &mut out.granular {
        if g.tlp > object_tlp
            && !cairn_policy::decide_at(g.tlp.max(object_tlp), labels, read).allowed
        {
            g.tlp = Tlp::Red;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use cairn_policy::{Audience, Path, Tlp, rule};

    /// `peer_labels` withholds a property from a peer by raising it to RED: that works only
    /// while RED never leaves on `federation-push`.
    #[test]
    fn red_is_never_pushed() {
        assert_eq!(rule(Tlp::Red, Path::FederationPush), Audience::Nobody);
    }
}
