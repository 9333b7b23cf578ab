//! The storage interface of Cairn.
//!
//! [`Store`] is the one trait every backend implements (SQLite is the embedded default; PostgreSQL
//! follows). Callers hold an `Arc<dyn Store>` and never see SQL. The types here are plain data:
//!
//! - [`ApiRoot`], [`Collection`]: TAXII resources.
//! - [`NewVersion`] → [`Store::add_objects`] → [`Status`]: one write, one transaction, durable when it
//!   returns. Versions are keyed by (collection, object id, version); `date_added` is assigned by the
//!   store in microseconds and strictly increases within a collection.
//! - [`ObjectQuery`] → [`Store::query`] → [`Page`]: TAXII filtering (`match[id|type|version|spec_version]`,
//!   `added_after`) with keyset pagination on (`date_added`, id, version).
//! - [`Organization`], [`User`], [`ApiToken`], [`Grant`]: who may use which collection.
//!
//! The behaviour every backend must show lives in [`conformance`]: a backend's test calls
//! [`conformance::run_all`] with a store (it need not be empty), [`conformance::run_shared`] with
//! two stores on one database, and [`conformance::populate_durable`] /
//! [`conformance::verify_durable`] around a reopen.

pub mod access;
pub mod audit;
pub mod conformance;
pub mod federation;
pub mod ingest;

use async_trait::async_trait;
pub use audit::{AuditEntry, AuditQuery, NewAuditEntry};
pub use cairn_policy::{MarkingMeaning, ObjectLabels, ReadFilter, Role, Tlp};
pub use federation::{
    Direction, Origin, Peer, Provenance, Subscription, SubscriptionFilter, SyncOutcome,
    SyncProgress, SyncState,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Errors a backend reports.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found: {0}")]
    NotFound(String),
    #[error("already exists: {0}")]
    Conflict(String),
    #[error("invalid request: {0}")]
    Invalid(String),
    #[error("database error: {0}")]
    Backend(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The message of a [`StatusDetail`] success for a version the collection already held.
pub const ALREADY_PRESENT: &str = "already present";

/// A TAXII API root. `name` is its URL path segment (`/{name}/`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiRoot {
    pub name: String,
    pub title: String,
    pub description: Option<String>,
    /// Largest accepted POST body, in bytes.
    pub max_content_length: u64,
    /// The API root named `default` in discovery.
    pub is_default: bool,
}

/// A TAXII collection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Collection {
    pub id: Uuid,
    pub api_root: String,
    pub title: String,
    pub description: Option<String>,
    /// Unique within its API root when set.
    pub alias: Option<String>,
    pub created: i64,
    /// The TLP of objects that carry none (AMBER unless configured).
    pub default_tlp: Tlp,
    /// Readable without authentication (a TLP:CLEAR publishing channel: only TLP:CLEAR objects
    /// are served to anonymous readers, and the default TLP must be CLEAR).
    pub anonymous_read: bool,
}

impl Collection {
    /// A collection with the AMBER default and no anonymous access.
    pub fn new(
        id: Uuid,
        api_root: &str,
        title: &str,
        description: Option<&str>,
        alias: Option<&str>,
        created: i64,
    ) -> Collection {
        Collection {
            id,
            api_root: api_root.to_string(),
            title: title.to_string(),
            description: description.map(str::to_string),
            alias: alias.map(str::to_string),
            created,
            default_tlp: Tlp::Amber,
            anonymous_read: false,
        }
    }
}

/// A validated object version ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewVersion {
    pub id: String,
    pub type_: String,
    pub spec_version: String,
    /// The TAXII version as written in the object (`modified`, else `created`); `None` when the
    /// object has neither (then the version is the `date_added` of its first addition and a
    /// re-post of the same id is a duplicate).
    pub version: Option<String>,
    /// [`cairn_stix::Timestamp::sort_key`] of `version`, for ordering and exact matching.
    pub version_key: Option<String>,
    /// The object's JSON exactly as received.
    pub body: String,
    /// What the sharing policy needs to know about this version (TLP, creator, recipients,
    /// granular markings), computed once at ingest.
    pub labels: ObjectLabels,
    /// For a marking-definition: what it means to the policy, so that later objects referring
    /// to it resolve (`None` for other objects).
    pub marking: Option<MarkingMeaning>,
}

impl NewVersion {
    /// Build from a validated object and its raw JSON text, with no policy labels (an unmarked
    /// object: the collection's default TLP applies).
    pub fn from_meta(meta: &cairn_stix::ObjectMeta, body: String) -> NewVersion {
        let v = meta.version();
        NewVersion {
            id: meta.id.clone(),
            type_: meta.type_.clone(),
            spec_version: meta.spec_version.clone(),
            version: v.map(|t| t.as_str().to_string()),
            version_key: v.map(|t| t.sort_key()),
            body,
            labels: ObjectLabels::default(),
            marking: None,
        }
    }
}

/// One stored object version as a query returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub id: String,
    pub type_: String,
    pub spec_version: String,
    /// The version string to serve (as stored; for objects without timestamps, the first
    /// `date_added` formatted with 6 fraction digits).
    pub version: String,
    pub version_key: String,
    /// Microseconds since the Unix epoch.
    pub date_added: i64,
    /// The JSON as received; `None` when the query asked for metadata only.
    pub body: Option<String>,
    /// The version's policy labels, returned only for versions with granular markings (the
    /// reader may have to receive them redacted); `None` otherwise.
    pub labels: Option<ObjectLabels>,
    /// The most restrictive TLP among the object's markings (`None`: the collection's default).
    pub tlp: Option<Tlp>,
    /// [`ObjectLabels::floor`].
    pub floor: Option<Tlp>,
}

impl Record {
    /// The object-level TLP in a collection whose default is `default`.
    pub fn effective_tlp(&self, default: Tlp) -> Tlp {
        let t = self.tlp.unwrap_or(default);
        self.floor.map_or(t, |f| t.max(f))
    }
}

impl Record {
    /// The TAXII media type for this record's spec version.
    pub fn media_type(&self) -> String {
        format!("application/stix+json;version={}", self.spec_version)
    }
    /// The keyset position of this record.
    pub fn cursor(&self) -> Cursor {
        Cursor {
            date_added: self.date_added,
            id: self.id.clone(),
            version_key: self.version_key.clone(),
        }
    }
}

/// A keyset position: the last record of a page. The next page starts strictly after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    pub date_added: i64,
    pub id: String,
    pub version_key: String,
}

/// `match[version]`: which versions of each object are eligible. Several may be combined (ORed);
/// the default (all false/empty) means `last`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionFilter {
    pub first: bool,
    pub last: bool,
    pub all: bool,
    /// Exact versions, as [`cairn_stix::Timestamp::sort_key`]s.
    pub exact: Vec<String>,
}

impl VersionFilter {
    pub fn is_default(&self) -> bool {
        *self == VersionFilter::default()
    }
}

/// A TAXII object query over one collection. Fields are ANDed; values within a field are ORed.
///
/// Semantics (in this order): eligible versions are those of `spec_versions` (empty = only the
/// highest spec_version each object has); `versions` then picks among them per object; `ids`,
/// `types`, `object_id` and `added_after` (strictly after) filter; results are ordered by
/// (`date_added`, id, version_key) ascending and start strictly after `after`.
#[derive(Debug, Clone, Default)]
pub struct ObjectQuery {
    pub collection: Uuid,
    /// Restrict to one object (the `objects/{id}/` and `versions/` endpoints).
    pub object_id: Option<String>,
    pub ids: Vec<String>,
    pub types: Vec<String>,
    pub versions: VersionFilter,
    pub spec_versions: Vec<String>,
    /// Microseconds since the Unix epoch.
    pub added_after: Option<i64>,
    pub after: Option<Cursor>,
    /// At most this many records (the store fetches one more to know `more`).
    pub limit: usize,
    /// Load object bodies (objects endpoints) or not (manifest, versions).
    pub with_bodies: bool,
    /// Which versions the reader may see. Versions outside it are not returned, not counted in
    /// `more`, and never move a cursor: a page looks exactly as if they did not exist.
    pub read: ReadAccess,
    /// Leave out versions whose provenance names this organization as their origin (a peer
    /// never receives back what came from it), with the same effect as `read`.
    pub exclude_origin: Option<Uuid>,
}

/// The visibility a query runs under.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ReadAccess {
    /// Every version (the node operator's own tools: export, match, conformance).
    #[default]
    All,
    /// Only versions the sharing policy's filter admits.
    Filter(ReadFilter),
}

/// One page of a query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    pub records: Vec<Record>,
    /// True when more records follow `records.last()`.
    pub more: bool,
}

/// Which versions [`Store::delete_versions`] removes.
#[derive(Debug, Clone, Default)]
pub struct DeleteSpec {
    pub collection: Uuid,
    pub object_id: String,
    /// Default (empty) = every version.
    pub versions: VersionFilter,
    /// Empty = every spec version.
    pub spec_versions: Vec<String>,
    /// An audit entry appended in the same transaction as the delete.
    pub audit: Option<NewAuditEntry>,
}

/// TAXII status of an add request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub id: Uuid,
    pub api_root: String,
    pub complete: bool,
    /// Microseconds since the Unix epoch.
    pub request_timestamp: i64,
    pub total_count: u64,
    pub successes: Vec<StatusDetail>,
    pub failures: Vec<StatusDetail>,
    pub pendings: Vec<StatusDetail>,
    /// The user who made the request; only that user's organization may read the status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusDetail {
    pub id: String,
    pub version: String,
    pub message: Option<String>,
}

/// An add request: the valid versions to store, and the objects already refused by validation
/// (recorded as failures in the status).
#[derive(Debug, Clone)]
pub struct AddRequest {
    pub api_root: String,
    pub collection: Uuid,
    pub status_id: Uuid,
    pub request_timestamp: i64,
    pub versions: Vec<NewVersion>,
    pub rejected: Vec<StatusDetail>,
    /// The user making the request (kept in the status).
    pub owner: Option<Uuid>,
    /// An audit entry appended in the same transaction as the write.
    pub audit: Option<NewAuditEntry>,
    /// Where the versions come from (a peer's pull, or a peer account's post): a provenance
    /// row is recorded for every version stored or found already present.
    pub origin: Option<Origin>,
    /// A pulled page: the subscription's cursor and counters move in the same transaction
    /// (successes count as transferred or duplicates, failures as rejected).
    pub sync: Option<SyncProgress>,
}

/// An organization: the unit access is granted to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    pub id: Uuid,
    pub name: String,
    /// The STIX `identity` id that stands for this organization.
    pub identity_id: String,
    /// ISO 3166-1 alpha-2 code; `None` until set (then no nation grant covers it).
    pub nation: Option<String>,
    /// `cert`, `police`, ... (see `cairn_policy::OrgKind`).
    pub kind: String,
}

/// A named set of organizations, possibly across nations, with an owner organization (a
/// member). Markings name it by its STIX identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharingGroup {
    pub id: Uuid,
    pub name: String,
    pub identity_id: String,
    pub owner: Uuid,
    /// Member organizations, ordered by id; always includes the owner.
    pub members: Vec<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: Uuid,
    pub name: String,
    pub org_id: Uuid,
    pub role: Role,
    /// PHC string (Argon2id).
    pub password_hash: Option<String>,
    pub disabled: bool,
    /// Increases whenever the password changes or credentials are revoked; caches of verified
    /// credentials compare it.
    pub credential_epoch: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiToken {
    pub id: Uuid,
    pub user_id: Uuid,
    /// SHA-256 of the secret, hex.
    pub secret_hash: String,
    pub created: i64,
    pub expires: Option<i64>,
    pub revoked: bool,
    pub read_only: bool,
    /// When set, the token works only on this collection.
    #[serde(default)]
    pub collection: Option<Uuid>,
}

/// Who a collection grant is to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "kebab-case")]
pub enum Grantee {
    Organization(Uuid),
    SharingGroup(Uuid),
    /// An ISO 3166-1 alpha-2 code.
    Nation(String),
    /// Every organization of the community (never an anonymous reader).
    Community,
}

impl Grantee {
    /// `org:<uuid>`, `group:<uuid>`, `nation:KR`, `community`: the stored and printed form.
    pub fn key(&self) -> String {
        match self {
            Grantee::Organization(u) => format!("org:{u}"),
            Grantee::SharingGroup(u) => format!("group:{u}"),
            Grantee::Nation(n) => format!("nation:{n}"),
            Grantee::Community => "community".to_string(),
        }
    }

    /// Parses [`Grantee::key`]'s form.
    pub fn from_key(key: &str) -> Option<Grantee> {
        if key == "community" {
            return Some(Grantee::Community);
        }
        let (kind, rest) = key.split_once(':')?;
        match kind {
            "org" => Uuid::parse_str(rest).ok().map(Grantee::Organization),
            "group" => Uuid::parse_str(rest).ok().map(Grantee::SharingGroup),
            "nation" => Some(Grantee::Nation(rest.to_string())),
            _ => None,
        }
    }
}

/// Read/write rights on a collection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub collection: Uuid,
    pub grantee: Grantee,
    pub can_read: bool,
    pub can_write: bool,
}

/// Everything Cairn persists. Every method is one transaction; a method that returns `Ok` after a
/// write has made it durable.
///
/// Errors, the same in every backend (the conformance suite checks them): creating something whose
/// id or unique name exists → [`StoreError::Conflict`] (API root name; collection id, or alias
/// within its API root; status id within its API root; organization id, name or identity; user
/// id or name; token id or secret hash). Naming something that does not exist →
/// [`StoreError::NotFound`] (the API root of a new collection, the organization of a new user, the
/// user of a new token, the collection or organization of a grant, the user of `set_password`,
/// the token of `revoke_token`, the collection of `add_objects` — also when it is not in
/// `req.api_root` —, `query`, `object_exists`, `delete_versions` and `count_versions`).
/// `get_*` of something absent is `Ok(None)`.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    // --- node settings ---
    /// A value from the node's key/value settings (e.g. the secret that signs `next` tokens).
    async fn get_setting(&self, key: &str) -> Result<Option<String>>;
    async fn set_setting(&self, key: &str, value: &str) -> Result<()>;

    // --- API roots and collections ---
    /// At most one API root is the default: creating one with `is_default` clears the flag on
    /// the others.
    async fn create_api_root(&self, root: &ApiRoot) -> Result<()>;
    /// Ordered by name.
    async fn list_api_roots(&self) -> Result<Vec<ApiRoot>>;
    async fn get_api_root(&self, name: &str) -> Result<Option<ApiRoot>>;
    async fn create_collection(&self, c: &Collection) -> Result<()>;
    /// Collections of an API root, ordered by id.
    async fn list_collections(&self, api_root: &str) -> Result<Vec<Collection>>;
    /// By id (any spelling [`Uuid`] parses) or alias, within one API root.
    async fn get_collection(&self, api_root: &str, id_or_alias: &str)
    -> Result<Option<Collection>>;

    // --- objects ---
    /// Store the versions and the status in one transaction. An identical (id, version) already in
    /// the collection is a success with message [`ALREADY_PRESENT`] and keeps its `date_added`
    /// (also when repeated within one request). Every new version gets its own `date_added`, in
    /// request order. The status is `complete`, `total_count` = versions + rejected, successes in
    /// request order with the version as written (or as assigned, for objects without
    /// timestamps), failures = `req.rejected`.
    async fn add_objects(&self, req: AddRequest) -> Result<Status>;
    /// One page of [`ObjectQuery`]; `more` is true exactly when further records match.
    async fn query(&self, q: &ObjectQuery) -> Result<Page>;
    /// Whether any version of `object_id` exists in the collection.
    async fn object_exists(&self, collection: Uuid, object_id: &str) -> Result<bool>;
    /// Remove the selected versions; returns how many were removed (0 for an unknown object).
    /// `spec_versions` picks the eligible versions first (empty = all), then `versions` picks among
    /// them (default = all of them; `first`/`last` are the first/last eligible version). The
    /// default selection of the remaining versions follows at once.
    async fn delete_versions(&self, d: &DeleteSpec) -> Result<u64>;
    /// A status is found only through the API root it was created in.
    async fn get_status(&self, api_root: &str, id: Uuid) -> Result<Option<Status>>;
    /// Number of stored versions in a collection.
    async fn count_versions(&self, collection: Uuid) -> Result<u64>;

    // --- identities and access ---
    async fn create_org(&self, org: &Organization) -> Result<()>;
    async fn get_org(&self, id: Uuid) -> Result<Option<Organization>>;
    /// Replace name, nation and kind (the id and identity never change).
    async fn update_org(&self, org: &Organization) -> Result<()>;
    /// Ordered by name.
    async fn list_orgs(&self) -> Result<Vec<Organization>>;
    async fn create_user(&self, user: &User) -> Result<()>;
    async fn get_user_by_name(&self, name: &str) -> Result<Option<User>>;
    async fn get_user(&self, id: Uuid) -> Result<Option<User>>;
    /// Ordered by name.
    async fn list_users(&self) -> Result<Vec<User>>;
    /// Change a user's role and/or disabled flag; bumps `credential_epoch` (cached credentials
    /// die).
    async fn update_user(&self, user_id: Uuid, role: Role, disabled: bool) -> Result<()>;
    /// Replace the password hash and bump `credential_epoch`.
    async fn set_password(&self, user_id: Uuid, password_hash: &str) -> Result<()>;
    async fn create_token(&self, token: &ApiToken) -> Result<()>;
    async fn get_token_by_hash(&self, secret_hash: &str) -> Result<Option<ApiToken>>;
    /// Mark the token revoked and bump its user's `credential_epoch`.
    async fn revoke_token(&self, id: Uuid) -> Result<()>;
    /// Ordered by `created`.
    async fn list_tokens(&self, user_id: Uuid) -> Result<Vec<ApiToken>>;
    /// Create or replace the grant of (collection, grantee).
    async fn set_grant(&self, grant: &Grant) -> Result<()>;
    async fn get_grant(&self, collection: Uuid, grantee: &Grantee) -> Result<Option<Grant>>;
    /// Ordered by grantee key.
    async fn list_grants(&self, collection: Uuid) -> Result<Vec<Grant>>;
    /// Set a collection's default TLP and anonymous readability.
    async fn set_collection_policy(
        &self,
        collection: Uuid,
        default_tlp: Tlp,
        anonymous_read: bool,
    ) -> Result<()>;

    // --- nations and sharing groups ---
    /// Register a member nation (ISO 3166-1 alpha-2); registering it again is a no-op.
    async fn add_nation(&self, code: &str) -> Result<()>;
    /// Ordered by code.
    async fn list_nations(&self) -> Result<Vec<String>>;
    /// Create a group; its owner must exist and is made a member.
    async fn create_group(&self, group: &SharingGroup) -> Result<()>;
    async fn get_group(&self, id: Uuid) -> Result<Option<SharingGroup>>;
    /// Ordered by name.
    async fn list_groups(&self) -> Result<Vec<SharingGroup>>;
    /// Add (`member = true`) or remove an organization; the owner cannot be removed.
    async fn set_group_member(&self, group: Uuid, org: Uuid, member: bool) -> Result<()>;
    /// The groups `org` is a member of, ordered by name.
    async fn groups_of_org(&self, org: Uuid) -> Result<Vec<SharingGroup>>;

    // --- marking definitions ---
    /// The meanings of the given marking-definition ids this node has stored (any collection);
    /// unknown ids are left out.
    async fn markings(&self, ids: &[String]) -> Result<Vec<(String, MarkingMeaning)>>;

    // --- audit log ---
    /// Append entries to the hash chain, in order, in one transaction.
    async fn append_audit(&self, entries: &[NewAuditEntry]) -> Result<()>;
    /// Entries matching `q`, oldest first, at most `q.limit` (0 = no limit).
    async fn audit_entries(&self, q: &AuditQuery) -> Result<Vec<AuditEntry>>;

    // --- caching ---
    /// A number that changes with every change to what authentication and the sharing policy
    /// read, whoever makes it (this store, another store or process on the same data): API
    /// roots, collections (all but their `date_added` clock), organizations, users, tokens,
    /// nations, sharing groups and their members, grants. Writing objects, statuses, settings or
    /// the audit log leaves it as it is. While it stays the same, what was resolved from those
    /// (a user, a principal, a collection's channel) may be reused; a reader that sees a new
    /// number resolves again. `None`: the backend keeps no such number and nothing may be
    /// reused (the default).
    async fn policy_epoch(&self) -> Result<Option<i64>> {
        Ok(None)
    }

    // --- federation (see [`federation`]) ---
    /// Conflict when the name is taken.
    async fn create_peer(&self, peer: &Peer) -> Result<()>;
    /// By name or id.
    async fn get_peer(&self, name_or_id: &str) -> Result<Option<Peer>>;
    /// Ordered by name.
    async fn list_peers(&self) -> Result<Vec<Peer>>;
    /// Everything but `id`, `name` and `created`.
    async fn update_peer(&self, peer: &Peer) -> Result<()>;
    /// The peer, its subscriptions and their states; provenance rows stay (they name the
    /// origin organization, which stays).
    async fn delete_peer(&self, id: Uuid) -> Result<()>;
    async fn create_subscription(&self, sub: &Subscription) -> Result<()>;
    async fn get_subscription(&self, id: Uuid) -> Result<Option<Subscription>>;
    /// Ordered by peer name, then creation.
    async fn list_subscriptions(&self) -> Result<Vec<Subscription>>;
    /// `filter`, `interval_secs` and `enabled`.
    async fn update_subscription(&self, sub: &Subscription) -> Result<()>;
    async fn delete_subscription(&self, id: Uuid) -> Result<()>;
    /// The state (all zero before the first round).
    async fn sync_state(&self, sub: Uuid) -> Result<SyncState>;
    /// Counters and cursor move, the round's outcome (if any) is recorded, and the audit
    /// entries are appended, in one transaction.
    async fn record_sync(
        &self,
        progress: &SyncProgress,
        outcome: Option<&SyncOutcome>,
        now: i64,
        audit: &[NewAuditEntry],
    ) -> Result<()>;
    /// Take the subscription's lease for `holder` until `until` (microseconds) when it is free,
    /// expired, already `holder`'s, or held by `steal_from`. True when taken.
    async fn acquire_lease(
        &self,
        sub: Uuid,
        holder: &str,
        until: i64,
        now: i64,
        steal_from: Option<&str>,
    ) -> Result<bool>;
    /// Give the lease up (only when `holder` holds it).
    async fn release_lease(&self, sub: Uuid, holder: &str) -> Result<()>;
    /// Where the versions of `object_id` in the collection came from (none for local ones).
    async fn provenance(&self, collection: Uuid, object_id: &str) -> Result<Vec<Provenance>>;
    /// How many versions match the query (its `limit`, `after` and `with_bodies` ignored).
    async fn count(&self, q: &ObjectQuery) -> Result<u64>;
}
