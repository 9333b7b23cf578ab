//! Adding peers and subscriptions: the one implementation the CLI and the REST API share.
//!
//! A peer stands for an organization of the policy model: an existing one (`org`), or one
//! created for it (named after the peer, with the peer's nation and, when given, the STIX
//! identity the partner uses for itself, so that markings naming it as a recipient on either
//! side mean the same organization).

use cairn_store::federation::{Direction, Peer, Subscription, SubscriptionFilter};
use cairn_store::{NewAuditEntry, Organization, Store, StoreError};
use serde::Serialize;
use uuid::Uuid;

use crate::client::{ClientConfig, TaxiiClient, with_slash};
use crate::secrets::{Credential, SecretBox};
use crate::{SyncError, now_micros};

/// What `peer add` is given.
#[derive(Debug, Clone)]
pub struct NewPeer {
    pub name: String,
    pub url: String,
    pub credential: Credential,
    /// ISO 3166-1 alpha-2 code of the peer's nation (for a new organization).
    pub nation: Option<String>,
    /// An existing organization (name or id) that stands for the peer.
    pub org: Option<String>,
    /// The STIX identity id of the peer's organization (for a new organization).
    pub org_identity: Option<String>,
    /// A community peer (receives TLP:GREEN) or a partner outside it.
    pub community: bool,
    pub ca_cert: Option<String>,
}

fn invalid(msg: impl Into<String>) -> SyncError {
    SyncError::Store(StoreError::Invalid(msg.into()))
}

/// `[A-Za-z0-9._-]{1,64}`.
pub fn check_name(name: &str) -> Result<(), SyncError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(invalid(format!(
            "peer name {name:?}: use 1 to 64 letters, digits, '.', '_' or '-'"
        )))
    }
}

/// An `http(s)://` URL, normalized to end in `/`.
pub fn check_url(url: &str) -> Result<String, SyncError> {
    let parsed = reqwest::Url::parse(url).map_err(|e| invalid(format!("URL {url:?}: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(invalid(format!(
            "URL {url:?}: must be http:// or https:// with a host"
        )));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(invalid(format!(
            "URL {url:?}: put credentials in --token or --user, not in the URL"
        )));
    }
    Ok(with_slash(url))
}

/// Create the peer (and its organization when needed), with its credential sealed.
pub async fn add_peer(
    store: &dyn Store,
    secrets: &SecretBox,
    new: NewPeer,
    actor: &str,
) -> Result<Peer, SyncError> {
    check_name(&new.name)?;
    let url = check_url(&new.url)?;
    if let Some(pem) = &new.ca_cert {
        reqwest::Certificate::from_pem(pem.as_bytes())
            .map_err(|e| invalid(format!("CA certificate: {e}")))?;
    }
    if store.get_peer(&new.name).await?.is_some() {
        return Err(SyncError::Store(StoreError::Conflict(format!(
            "a peer named {:?} exists",
            new.name
        ))));
    }
    let org = match &new.org {
        Some(key) => find_org(store, key).await?,
        None => {
            let nation = match &new.nation {
                None => None,
                Some(code) => {
                    let n = cairn_policy::Nation::parse(code)
                        .map_err(|e| invalid(format!("nation {code:?}: {e}")))?;
                    Some(n.as_str().to_string())
                }
            };
            let identity_id = match &new.org_identity {
                Some(id) => {
                    cairn_policy::IdentityRef::parse(id).map_err(|_| {
                        invalid(format!("{id:?} is not a STIX identity id (identity--UUID)"))
                    })?;
                    id.clone()
                }
                None => format!("identity--{}", Uuid::new_v4()),
            };
            if let Some(o) = store
                .list_orgs()
                .await?
                .into_iter()
                .find(|o| o.identity_id == identity_id)
            {
                o
            } else {
                let o = Organization {
                    id: Uuid::new_v4(),
                    name: new.name.clone(),
                    identity_id,
                    nation,
                    kind: "other".to_string(),
                };
                store.create_org(&o).await?;
                o
            }
        }
    };
    let peer = Peer {
        id: Uuid::new_v4(),
        name: new.name.clone(),
        url,
        org_id: org.id,
        community: new.community,
        credential: secrets.seal(&new.name, &new.credential)?,
        ca_cert: new.ca_cert.clone(),
        created: now_micros(),
    };
    store.create_peer(&peer).await?;
    store
        .append_audit(&[NewAuditEntry::new(
            actor,
            "peer.add",
            Some(peer.name.clone()),
            serde_json::json!({
                "url": peer.url,
                "org": org.id,
                "community": peer.community,
                "credential": new.credential.describe(),
            }),
        )])
        .await?;
    Ok(peer)
}

async fn find_org(store: &dyn Store, key: &str) -> Result<Organization, SyncError> {
    if let Ok(id) = key.parse::<Uuid>()
        && let Some(o) = store.get_org(id).await?
    {
        return Ok(o);
    }
    store
        .list_orgs()
        .await?
        .into_iter()
        .find(|o| o.name == key || o.identity_id == key)
        .ok_or_else(|| SyncError::Store(StoreError::NotFound(format!("organization {key:?}"))))
}

/// What a subscription is given.
#[derive(Debug, Clone)]
pub struct NewSubscription {
    pub direction: Direction,
    pub local_collection: Uuid,
    /// The remote collection: its id (in the peer's default API root, or `remote_api_root`)
    /// or its full URL (`https://host/root/collections/ID/`).
    pub remote: String,
    pub remote_api_root: Option<String>,
    pub filter: SubscriptionFilter,
    pub interval_secs: u64,
}

/// Create a subscription, after checking with the peer that the remote collection exists and
/// allows the direction (read for a pull, write for a push).
pub async fn subscribe(
    store: &dyn Store,
    secrets: &SecretBox,
    peer: &Peer,
    new: NewSubscription,
    actor: &str,
) -> Result<Subscription, SyncError> {
    crate::pull::local_collection(store, new.local_collection).await?;
    let cred = secrets.open(&peer.name, &peer.credential)?;
    let client = TaxiiClient::new(&cred, peer.ca_cert.as_deref(), &ClientConfig::default())?;
    let (api_root, collection) = match new.remote.split_once("/collections/") {
        Some((root, rest)) => (with_slash(root), rest.trim_end_matches('/').to_string()),
        None => {
            let root = match &new.remote_api_root {
                Some(r) => resolve_root(&peer.url, r),
                None => {
                    let d = client.discovery(&peer.url).await?;
                    let root = d
                        .default
                        .or_else(|| d.api_roots.first().cloned())
                        .ok_or_else(|| {
                            invalid(format!(
                                "{} lists no API root: give --remote-api-root",
                                peer.url
                            ))
                        })?;
                    resolve_root(&peer.url, &root)
                }
            };
            (root, new.remote.clone())
        }
    };
    let info = client.collection(&api_root, &collection).await?;
    match new.direction {
        Direction::Pull if !info.can_read => {
            return Err(invalid(format!(
                "the peer does not let this node read collection {collection}"
            )));
        }
        Direction::Push if !info.can_write => {
            return Err(invalid(format!(
                "the peer does not let this node write to collection {collection}"
            )));
        }
        _ => {}
    }
    let sub = Subscription {
        id: Uuid::new_v4(),
        peer_id: peer.id,
        direction: new.direction,
        local_collection: new.local_collection,
        remote_api_root: api_root,
        remote_collection: info.id,
        filter: new.filter,
        interval_secs: new.interval_secs.max(1),
        enabled: true,
        created: now_micros(),
    };
    store.create_subscription(&sub).await?;
    store
        .append_audit(&[NewAuditEntry::new(
            actor,
            "subscription.add",
            Some(sub.id.to_string()),
            serde_json::json!({
                "peer": peer.name,
                "direction": sub.direction.as_str(),
                "local_collection": sub.local_collection,
                "remote_collection": sub.remote_collection,
            }),
        )])
        .await?;
    Ok(sub)
}

/// An API root as discovery lists it (absolute, or relative to the discovery URL's host).
fn resolve_root(discovery: &str, root: &str) -> String {
    match reqwest::Url::parse(discovery).and_then(|d| d.join(root)) {
        Ok(u) => with_slash(u.as_str()),
        Err(_) => with_slash(root),
    }
}

/// A subscription with its state, as the operator sees it.
#[derive(Debug, Clone, Serialize)]
pub struct SubscriptionView {
    #[serde(flatten)]
    pub subscription: Subscription,
    pub state: cairn_store::federation::SyncState,
    /// Microseconds between now and the start of the last round that caught up.
    pub lag_micros: Option<i64>,
}

/// A peer with its subscriptions, never its credential.
#[derive(Debug, Clone, Serialize)]
pub struct PeerView {
    pub id: Uuid,
    pub name: String,
    pub url: String,
    pub org_id: Uuid,
    pub org_name: Option<String>,
    pub community: bool,
    pub has_ca_cert: bool,
    pub created: i64,
    pub subscriptions: Vec<SubscriptionView>,
}

pub async fn peer_view(store: &dyn Store, peer: &Peer) -> Result<PeerView, SyncError> {
    let now = now_micros();
    let mut subscriptions = Vec::new();
    for s in store.list_subscriptions().await? {
        if s.peer_id != peer.id {
            continue;
        }
        let mut state = store.sync_state(s.id).await?;
        state.cursor = None;
        let lag_micros = state.caught_up_at.map(|t| (now - t).max(0));
        subscriptions.push(SubscriptionView {
            subscription: s,
            state,
            lag_micros,
        });
    }
    Ok(PeerView {
        id: peer.id,
        name: peer.name.clone(),
        url: peer.url.clone(),
        org_id: peer.org_id,
        org_name: store.get_org(peer.org_id).await?.map(|o| o.name),
        community: peer.community,
        has_ca_cert: peer.ca_cert.is_some(),
        created: peer.created,
        subscriptions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_urls() {
        assert!(check_name("us-cert.gov_1").is_ok());
        assert!(check_name("").is_err());
        assert!(check_name("a b").is_err());
        assert!(check_name(&"x".repeat(65)).is_err());
        assert_eq!(
            check_url("http://127.0.0.1:8080/taxii2").unwrap(),
            "http://127.0.0.1:8080/taxii2/"
        );
        assert!(check_url("ftp://x/").is_err());
        assert!(check_url("http://u:p@x/").is_err());
        assert!(check_url("not a url").is_err());
        assert_eq!(
            resolve_root("http://h:1/taxii2/", "/api1/"),
            "http://h:1/api1/"
        );
        assert_eq!(
            resolve_root("http://h:1/taxii2/", "https://o/api2/"),
            "https://o/api2/"
        );
    }
}
