//! Federation: partner nodes exchange intelligence over TAXII 2.1, each under its own release
//! policy.
//!
//! - [`secrets`]: peers' credentials, sealed at rest with a key kept outside the database.
//! - [`client`]: a TAXII 2.1 client for any conformant server (bounded bodies, timeouts,
//!   `Retry-After` on 429/503, a per-peer CA).
//! - [`pull`]: one pull round: pages of the remote collection stored with their provenance and
//!   the resume cursor in one transaction each, so a kill at any moment resumes without loss
//!   or duplicates.
//! - [`push`]: one push round: only what the release policy lets leave to the peer's
//!   organization, never what came from it, in envelopes within the remote's
//!   `max_content_length`, retrying only the objects the remote failed.
//! - [`engine`]: rounds under a per-subscription lease (never twice at once), back-off with
//!   jitter after failures, one task per subscription so a failing peer blocks no other.

pub mod client;
pub mod engine;
pub mod peers;
pub mod pull;
pub mod push;
pub mod secrets;

pub use client::{ClientError, TaxiiClient};
pub use engine::{Engine, RoundReport};
pub use secrets::{Credential, SecretBox, SecretError};

/// Microseconds since the Unix epoch, now.
pub fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Why a round failed.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("store: {0}")]
    Store(#[from] cairn_store::StoreError),
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error("{0}")]
    Config(String),
    #[error("another process holds the lease of subscription {0}")]
    Busy(uuid::Uuid),
}
