//! Rounds and the loop that runs them.
//!
//! A round of a subscription runs only under its lease (`Store::acquire_lease`): a second
//! process (or task) asking for the same subscription gets [`SyncError::Busy`] and does
//! nothing, so a sync never runs twice at once. The lease is renewed before every page, so a
//! round that outlives it is not stolen; a holder that was killed is recognised (same host, its
//! pid gone) and its lease taken over at once, else the lease expires after
//! [`EngineConfig::lease`].
//!
//! [`Engine::run_forever`] runs one task per subscription: after a success it waits the
//! subscription's interval; after a failure an exponential back-off with jitter (the remote's
//! `Retry-After` when it asked for longer), capped at [`EngineConfig::max_backoff`]. A failing
//! or hanging peer delays only its own subscriptions.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use cairn_store::federation::{Direction, Peer, Subscription, SyncOutcome, SyncProgress};
use cairn_store::{NewAuditEntry, Store};
use rand::Rng;
use serde::Serialize;
use uuid::Uuid;

use crate::client::{ClientConfig, TaxiiClient};
use crate::secrets::SecretBox;
use crate::{SyncError, now_micros};

/// Knobs of the engine.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Objects per page asked of the remote (pull) or read locally (push).
    pub page_size: usize,
    pub lease: Duration,
    pub min_backoff: Duration,
    pub max_backoff: Duration,
    pub client: ClientConfig,
    /// Ask the remote's manifest for each pulled page's `date_added` (provenance).
    pub remote_dates: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            page_size: 1000,
            lease: Duration::from_secs(120),
            min_backoff: Duration::from_secs(5),
            max_backoff: Duration::from_secs(900),
            client: ClientConfig::default(),
            remote_dates: true,
        }
    }
}

/// What one round did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RoundReport {
    pub subscription: Uuid,
    pub direction: String,
    pub pages: u64,
    pub transferred: u64,
    pub duplicates: u64,
    pub refused_by_policy: u64,
    pub rejected: u64,
    pub skipped: u64,
    #[serde(skip)]
    pub caught_up_at: Option<i64>,
    #[serde(skip)]
    pub lag_objects: Option<u64>,
}

impl RoundReport {
    pub(crate) fn new(sub: &Subscription) -> RoundReport {
        RoundReport {
            subscription: sub.id,
            direction: sub.direction.as_str().to_string(),
            ..RoundReport::default()
        }
    }
}

/// A held lease.
pub(crate) struct Lease<'a> {
    store: &'a dyn Store,
    sub: Uuid,
    holder: &'a str,
    duration: Duration,
}

impl Lease<'_> {
    /// Extend the lease; fails when another holder took it.
    pub(crate) async fn renew(&self) -> Result<(), SyncError> {
        let now = now_micros();
        let until = now + self.duration.as_micros() as i64;
        if self
            .store
            .acquire_lease(self.sub, self.holder, until, now, None)
            .await?
        {
            Ok(())
        } else {
            Err(SyncError::Busy(self.sub))
        }
    }
}

/// What a round works with.
pub(crate) struct Ctx<'a> {
    pub store: &'a dyn Store,
    pub client: &'a TaxiiClient,
    pub peer: &'a Peer,
    pub sub: &'a Subscription,
    pub lease: Lease<'a>,
    pub page_size: usize,
    pub remote_dates: bool,
    /// The audit actor: `sync:<peer>`.
    pub actor: String,
}

/// Runs subscriptions.
pub struct Engine {
    store: Arc<dyn Store>,
    secrets: Arc<SecretBox>,
    holder: String,
    config: EngineConfig,
}

/// `host:pid` of this process.
fn this_holder() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".to_string());
    format!("{host}:{}", std::process::id())
}

/// Is `holder` a process of this host that no longer runs?
fn holder_is_dead(holder: &str) -> bool {
    let Some((host, pid)) = holder.rsplit_once(':') else {
        return false;
    };
    let mine = this_holder();
    let my_host = mine.rsplit_once(':').map(|(h, _)| h).unwrap_or_default();
    if host != my_host {
        return false;
    }
    let Ok(pid) = pid.parse::<u32>() else {
        return false;
    };
    pid != std::process::id() && !std::path::Path::new(&format!("/proc/{pid}")).exists()
}

impl Engine {
    pub fn new(store: Arc<dyn Store>, secrets: Arc<SecretBox>, config: EngineConfig) -> Engine {
        Engine {
            store,
            secrets,
            holder: this_holder(),
            config,
        }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The client for `peer`.
    pub fn client(&self, peer: &Peer) -> Result<TaxiiClient, SyncError> {
        let cred = self.secrets.open(&peer.name, &peer.credential)?;
        Ok(TaxiiClient::new(
            &cred,
            peer.ca_cert.as_deref(),
            &self.config.client,
        )?)
    }

    /// Run one round of `sub` and record its outcome (success, or the error) in its state.
    pub async fn run_round(&self, sub: &Subscription) -> Result<RoundReport, SyncError> {
        let store = self.store.as_ref();
        let now = now_micros();
        let until = now + self.config.lease.as_micros() as i64;
        let current = store.sync_state(sub.id).await?.lease_holder;
        let steal = current.as_deref().filter(|h| holder_is_dead(h));
        if !store
            .acquire_lease(sub.id, &self.holder, until, now, steal)
            .await?
        {
            return Err(SyncError::Busy(sub.id));
        }
        let result = self.round_held(sub).await;
        let outcome = match &result {
            Ok(r) => SyncOutcome::Success {
                caught_up_at: r.caught_up_at.unwrap_or(now),
                lag_objects: r.lag_objects,
            },
            Err(SyncError::Busy(_)) => {
                return result;
            }
            Err(e) => SyncOutcome::Failure {
                error: e.to_string(),
            },
        };
        let peer_name = store
            .get_peer(&sub.peer_id.to_string())
            .await?
            .map(|p| p.name)
            .unwrap_or_default();
        let audit = match &result {
            Err(e) => vec![NewAuditEntry::new(
                &format!("sync:{peer_name}"),
                "sync.failure",
                Some(sub.id.to_string()),
                serde_json::json!({"direction": sub.direction.as_str(), "error": e.to_string()}),
            )],
            Ok(_) => Vec::new(),
        };
        store
            .record_sync(
                &SyncProgress {
                    subscription: sub.id,
                    ..SyncProgress::default()
                },
                Some(&outcome),
                now_micros(),
                &audit,
            )
            .await?;
        store.release_lease(sub.id, &self.holder).await?;
        result
    }

    async fn round_held(&self, sub: &Subscription) -> Result<RoundReport, SyncError> {
        let store = self.store.as_ref();
        let peer = store
            .get_peer(&sub.peer_id.to_string())
            .await?
            .ok_or_else(|| SyncError::Config(format!("peer {} does not exist", sub.peer_id)))?;
        let client = self.client(&peer)?;
        let ctx = Ctx {
            store,
            client: &client,
            peer: &peer,
            sub,
            lease: Lease {
                store,
                sub: sub.id,
                holder: &self.holder,
                duration: self.config.lease,
            },
            page_size: self.config.page_size,
            remote_dates: self.config.remote_dates,
            actor: format!("sync:{}", peer.name),
        };
        match sub.direction {
            Direction::Pull => crate::pull::round(&ctx).await,
            Direction::Push => crate::push::round(&ctx).await,
        }
    }

    /// The enabled subscriptions (of `peer` only, when given): pulls first, then pushes.
    pub async fn subscriptions(&self, peer: Option<&Peer>) -> Result<Vec<Subscription>, SyncError> {
        let mut subs: Vec<Subscription> = self
            .store
            .list_subscriptions()
            .await?
            .into_iter()
            .filter(|s| s.enabled && peer.is_none_or(|p| p.id == s.peer_id))
            .collect();
        subs.sort_by_key(|s| s.direction == Direction::Push);
        Ok(subs)
    }

    /// One round of every enabled subscription (of `peer`, when given): pulls then pushes,
    /// each peer's subscriptions in order, peers concurrently.
    pub async fn run_once(
        self: &Arc<Self>,
        peer: Option<&Peer>,
    ) -> Result<Vec<(Subscription, Result<RoundReport, SyncError>)>, SyncError> {
        let subs = self.subscriptions(peer).await?;
        let mut by_peer: HashMap<Uuid, Vec<Subscription>> = HashMap::new();
        for s in subs {
            by_peer.entry(s.peer_id).or_default().push(s);
        }
        let mut tasks = Vec::new();
        for (_, subs) in by_peer {
            let engine = self.clone();
            tasks.push(tokio::spawn(async move {
                let mut out = Vec::new();
                for s in subs {
                    let r = engine.run_round(&s).await;
                    out.push((s, r));
                }
                out
            }));
        }
        let mut out = Vec::new();
        for t in tasks {
            match t.await {
                Ok(v) => out.extend(v),
                Err(e) => return Err(SyncError::Config(format!("a sync task failed: {e}"))),
            }
        }
        Ok(out)
    }

    /// The wait before the next round after `failures` failures in a row.
    pub fn backoff(&self, failures: u64, retry_after: Option<Duration>) -> Duration {
        let exp = failures.saturating_sub(1).min(20) as u32;
        let base = self
            .config
            .min_backoff
            .saturating_mul(2u32.saturating_pow(exp))
            .min(self.config.max_backoff);
        // Full jitter over the upper half: [base/2, base].
        let half = base / 2;
        let jitter = rand::rng().random_range(0..=half.as_millis().max(1) as u64);
        let d = half + Duration::from_millis(jitter);
        match retry_after {
            // The remote's wish wins, even past the cap.
            Some(r) if r > d => r,
            _ => d,
        }
    }

    /// Run every enabled subscription on its interval until `shutdown` turns true. The set of
    /// subscriptions is read again every `rescan`; a task whose subscription was removed or
    /// disabled stops.
    pub async fn run_forever(
        self: Arc<Self>,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
        rescan: Duration,
    ) {
        let mut running: HashMap<Uuid, tokio::task::JoinHandle<()>> = HashMap::new();
        loop {
            match self.subscriptions(None).await {
                Ok(subs) => {
                    let ids: Vec<Uuid> = subs.iter().map(|s| s.id).collect();
                    running.retain(|id, h| {
                        let keep = ids.contains(id) && !h.is_finished();
                        if !keep {
                            h.abort();
                        }
                        keep
                    });
                    for s in subs {
                        if running.contains_key(&s.id) {
                            continue;
                        }
                        let engine = self.clone();
                        let stop = shutdown.clone();
                        running.insert(s.id, tokio::spawn(engine.subscription_loop(s.id, stop)));
                    }
                }
                Err(e) => tracing::warn!(error = %e, "listing subscriptions"),
            }
            tokio::select! {
                _ = tokio::time::sleep(rescan) => {}
                _ = shutdown.changed() => {}
            }
            if *shutdown.borrow() {
                break;
            }
        }
        for (_, h) in running {
            h.abort();
        }
    }

    async fn subscription_loop(
        self: Arc<Self>,
        id: Uuid,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        loop {
            let Ok(Some(sub)) = self.store.get_subscription(id).await else {
                return;
            };
            if !sub.enabled {
                return;
            }
            let wait = match self.run_round(&sub).await {
                Ok(r) => {
                    tracing::info!(
                        subscription = %id,
                        direction = sub.direction.as_str(),
                        transferred = r.transferred,
                        duplicates = r.duplicates,
                        refused = r.refused_by_policy,
                        "sync round done"
                    );
                    Duration::from_secs(sub.interval_secs.max(1))
                }
                Err(SyncError::Busy(_)) => Duration::from_secs(sub.interval_secs.max(1)),
                Err(e) => {
                    let failures = self
                        .store
                        .sync_state(id)
                        .await
                        .map(|s| s.failures)
                        .unwrap_or(1);
                    let retry = match &e {
                        SyncError::Client(c) => c.retry_after(),
                        _ => None,
                    };
                    let d = self.backoff(failures, retry);
                    tracing::warn!(subscription = %id, error = %e, retry_in = ?d, "sync round failed");
                    d
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => {}
            }
            if *shutdown.borrow() {
                return;
            }
        }
    }
}
