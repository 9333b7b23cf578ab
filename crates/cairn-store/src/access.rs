//! The store's identities and grants as `cairn-policy` sees them: a user's [`Principal`] and a
//! collection's [`CollectionPolicy`]. Every reader of the store (TAXII, the CLI, federation)
//! builds its decisions from these two.

use cairn_policy::{
    CollectionPolicy, GroupRef, IdentityRef, Nation, OrgRef, Principal, ReadFilter,
};

use crate::{Collection, Grantee, Result, Store, StoreError, User};

fn identity(id: &str) -> Result<IdentityRef> {
    IdentityRef::parse(id)
        .map_err(|_| StoreError::Backend(format!("stored identity {id:?} is not an identity id")))
}

/// The policy principal of `user`: its organization (and that organization's STIX identity),
/// nation ([`Nation::UNASSIGNED`] when not set), sharing groups and role.
pub async fn user_principal(store: &dyn Store, user: &User) -> Result<Principal> {
    let mut p = org_principal(store, user.org_id).await?;
    p.role = Some(user.role);
    Ok(p)
}

/// The policy principal of the organization `org_id` with no role: what a peer node standing
/// for that organization is to the policy.
pub async fn org_principal(store: &dyn Store, org_id: uuid::Uuid) -> Result<Principal> {
    let org = store
        .get_org(org_id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("organization {org_id}")))?;
    let nation = org
        .nation
        .as_deref()
        .and_then(|n| Nation::parse(n).ok())
        .unwrap_or(Nation::UNASSIGNED);
    let mut groups = Vec::new();
    for g in store.groups_of_org(org.id).await? {
        groups.push(GroupRef {
            id: g.id,
            identity: identity(&g.identity_id)?,
        });
    }
    Ok(Principal {
        org: Some(OrgRef {
            id: org.id,
            identity: identity(&org.identity_id)?,
        }),
        nation,
        groups,
        role: None,
    })
}

/// Is the node of organization `org_id` a community peer (receives TLP:GREEN)? A peer
/// record for the organization decides; an organization with no peer record (a peer account
/// whose node this one does not subscribe to) is a community peer.
pub async fn org_is_community_peer(store: &dyn Store, org_id: uuid::Uuid) -> Result<bool> {
    Ok(store
        .list_peers()
        .await?
        .iter()
        .filter(|p| p.org_id == org_id)
        .all(|p| p.community))
}

/// The federation-push filter towards the node of `principal` (`community`: a community peer,
/// else an external one) out of the collection with `policy`.
pub fn peer_push_filter(
    principal: &Principal,
    community: bool,
    policy: &CollectionPolicy,
) -> Result<ReadFilter> {
    let to = if community {
        cairn_policy::Destination::Peer(principal)
    } else {
        cairn_policy::Destination::ExternalPeer(principal)
    };
    ReadFilter::new(cairn_policy::Path::FederationPush, to, policy)
        .map_err(|e| StoreError::Invalid(e.to_string()))
}

/// A collection as a channel: default TLP, anonymous readability and its grants (grants that
/// give no right, or name something that no longer exists, are left out).
pub async fn collection_policy(store: &dyn Store, coll: &Collection) -> Result<CollectionPolicy> {
    let mut policy = CollectionPolicy::new(coll.id);
    policy.default_tlp = coll.default_tlp;
    policy.anonymous_read = coll.anonymous_read;
    for g in store.list_grants(coll.id).await? {
        if !g.can_read && !g.can_write {
            continue;
        }
        let to = match &g.grantee {
            Grantee::Organization(id) => {
                let Some(org) = store.get_org(*id).await? else {
                    continue;
                };
                cairn_policy::Grantee::Organization(OrgRef {
                    id: org.id,
                    identity: identity(&org.identity_id)?,
                })
            }
            Grantee::SharingGroup(id) => {
                let Some(group) = store.get_group(*id).await? else {
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

/// The read filter of `user` on `coll` for `path` (TAXII and REST reads, exports).
pub async fn user_filter(
    store: &dyn Store,
    user: &User,
    coll: &Collection,
    path: cairn_policy::Path,
) -> Result<ReadFilter> {
    let principal = user_principal(store, user).await?;
    let policy = collection_policy(store, coll).await?;
    ReadFilter::new(path, cairn_policy::Destination::User(&principal), &policy)
        .map_err(|e| StoreError::Invalid(e.to_string()))
}
