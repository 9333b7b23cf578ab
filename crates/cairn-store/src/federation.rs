//! What federation persists: peers (partner nodes, each standing for an organization of the
//! policy model), subscriptions (pull a remote collection into a local one, push a local one to
//! a remote one), the per-subscription sync state (resumable cursor, counters, last outcome,
//! lease) and the provenance of every version received from elsewhere.
//!
//! The invariants the backends keep: a pulled page, its provenance, the cursor that follows it
//! and the counters are committed in one transaction ([`crate::AddRequest::sync`]), so a kill at
//! any moment resumes from the last committed page; at most one holder owns a subscription's
//! lease at a time.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A partner node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Peer {
    pub id: Uuid,
    /// Unique, `[A-Za-z0-9._-]{1,64}`.
    pub name: String,
    /// The remote TAXII discovery URL (`https://host/taxii2/`).
    pub url: String,
    /// The organization that stands for this peer in the policy model (release rules name it;
    /// what arrives from it has it as origin).
    pub org_id: Uuid,
    /// In the community (receives TLP:GREEN), or a partner outside it.
    pub community: bool,
    /// The credential to authenticate to the remote, sealed with the node's peer-secrets key
    /// (never stored in clear).
    pub credential: String,
    /// A PEM CA certificate to trust for this peer only (for partners with their own CA).
    pub ca_cert: Option<String>,
    /// Microseconds since the Unix epoch.
    pub created: i64,
}

/// Pull (remote → local) or push (local → remote).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    Pull,
    Push,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Pull => "pull",
            Direction::Push => "push",
        }
    }

    pub fn parse(s: &str) -> Option<Direction> {
        match s {
            "pull" => Some(Direction::Pull),
            "push" => Some(Direction::Push),
            _ => None,
        }
    }
}

/// Which objects a subscription moves. Empty lists select everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionFilter {
    /// STIX types (`indicator`, `malware`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub types: Vec<String>,
    /// Only versions added after this instant (microseconds; remote `date_added` for a pull,
    /// local for a push).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub added_after: Option<i64>,
    /// Objects carrying one of these `labels`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    /// Objects carrying one of these `object_marking_refs`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub markings: Vec<String>,
}

/// One direction of exchange between a local and a remote collection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    pub id: Uuid,
    pub peer_id: Uuid,
    pub direction: Direction,
    pub local_collection: Uuid,
    /// The remote API root URL (`https://host/api1/`).
    pub remote_api_root: String,
    /// The remote collection id.
    pub remote_collection: String,
    pub filter: SubscriptionFilter,
    /// Seconds between rounds when `cairn serve` runs it.
    pub interval_secs: u64,
    pub enabled: bool,
    pub created: i64,
}

/// Where a subscription stands. Counters only grow.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncState {
    pub subscription: Uuid,
    /// The resume position, as the sync engine writes it (JSON).
    pub cursor: Option<String>,
    pub last_attempt: Option<i64>,
    pub last_success: Option<i64>,
    pub last_error: Option<String>,
    pub last_error_at: Option<i64>,
    /// Failed rounds since the last success (drives the back-off).
    pub failures: u64,
    /// When the last round that reached the end began (lag in time is measured from it).
    pub caught_up_at: Option<i64>,
    /// Versions stored (pull) or accepted by the remote (push).
    pub transferred: u64,
    /// Versions the other side already held.
    pub duplicates: u64,
    /// Versions the release policy kept from leaving (push) or that came from the peer itself.
    pub refused_by_policy: u64,
    /// Versions refused as invalid (pull: by validation here; push: by the remote).
    pub rejected: u64,
    /// Versions the subscription's filter passed over.
    pub skipped: u64,
    /// Versions known to be waiting at the end of the last round (`None`: unknown).
    pub lag_objects: Option<u64>,
    pub lease_holder: Option<String>,
    pub lease_until: Option<i64>,
}

/// Counter increments and the new position, committed together (with a pulled page, or alone).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncProgress {
    pub subscription: Uuid,
    /// The new cursor (`None`: unchanged).
    pub cursor: Option<String>,
    pub transferred: u64,
    pub duplicates: u64,
    pub refused_by_policy: u64,
    pub rejected: u64,
    pub skipped: u64,
}

/// How a round ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncOutcome {
    /// Finished; `caught_up_at` is when the round began, `lag_objects` what is still waiting.
    Success {
        caught_up_at: i64,
        lag_objects: Option<u64>,
    },
    Failure {
        error: String,
    },
}

/// Where a received version came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    pub object_id: String,
    pub version_key: String,
    /// The organization it came from (the peer's, or the posting peer account's).
    pub origin_org: Uuid,
    /// The peer it was pulled from (`None`: posted by a peer account).
    pub peer: Option<Uuid>,
    pub remote_collection: Option<String>,
    /// The remote `date_added` (microseconds), when known.
    pub remote_date_added: Option<i64>,
    /// When it was stored here.
    pub received: i64,
}

/// What an [`crate::AddRequest`] records about where its versions come from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Origin {
    pub org: Uuid,
    pub peer: Option<Uuid>,
    pub remote_collection: Option<String>,
    /// Per version of the request, in the same order (empty: unknown for all).
    pub remote_date_added: Vec<Option<i64>>,
}
