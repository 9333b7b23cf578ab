//! `cairn peer ...` and `cairn sync`: partner nodes, their subscriptions, and running rounds.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use cairn_store::Store;
use cairn_store::federation::{Direction, Peer, SubscriptionFilter};
use cairn_sync::engine::EngineConfig;
use cairn_sync::peers::{NewPeer, NewSubscription};
use cairn_sync::{Credential, Engine, SecretBox};
use clap::{Args, Subcommand};

use super::node;

#[derive(Subcommand, Debug)]
pub enum PeerCmd {
    /// Add a partner node (its TAXII discovery URL and how to authenticate to it).
    Add(AddArgs),
    /// List peers.
    List {
        #[arg(long)]
        json: bool,
    },
    /// A peer, its subscriptions and where each stands (last success, last error, lag, counts).
    Show {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Change a peer's URL, credential, community membership or CA.
    Set(SetArgs),
    /// Remove a peer and its subscriptions (what was received from it stays).
    Remove { name: String },
    /// Pull a remote collection into a local one.
    Pull(SubArgs),
    /// Push a local collection to a remote one.
    Push(SubArgs),
    /// Pause a subscription (by id), or every subscription of a peer (by peer name).
    Pause { target: String },
    /// Resume what `pause` paused.
    Resume { target: String },
    /// Delete a subscription (its state goes with it).
    Unsubscribe { subscription: uuid::Uuid },
}

#[derive(Args, Debug)]
pub struct AddArgs {
    /// A name for the peer (letters, digits, '.', '_', '-').
    pub name: String,
    /// The peer's TAXII 2.1 discovery URL (https://host/taxii2/).
    #[arg(long)]
    pub url: String,
    #[command(flatten)]
    pub cred: CredArgs,
    /// The peer's nation (ISO 3166-1 alpha-2), for the organization created for it.
    #[arg(long)]
    pub nation: Option<String>,
    /// The STIX identity id the partner's organization uses (so markings naming it match).
    #[arg(long)]
    pub org_identity: Option<String>,
    /// An existing organization (name, id or identity id) that stands for the peer.
    #[arg(long, conflicts_with_all = ["nation", "org_identity"])]
    pub org: Option<String>,
    /// The peer is outside the community: it never receives TLP:GREEN through community
    /// grants.
    #[arg(long)]
    pub outside_community: bool,
    /// A PEM CA certificate to trust for this peer only.
    #[arg(long)]
    pub ca_cert: Option<PathBuf>,
}

/// How this node authenticates to the peer.
#[derive(Args, Debug)]
pub struct CredArgs {
    /// A bearer token the peer issued to this node (tokens may start with '-').
    #[arg(long, allow_hyphen_values = true, conflicts_with_all = ["user", "password_stdin"])]
    pub token: Option<String>,
    /// A user name on the peer (the password is read from stdin).
    #[arg(long, requires = "password_stdin")]
    pub user: Option<String>,
    /// Read the password of --user from stdin.
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Args, Debug)]
pub struct SetArgs {
    pub name: String,
    #[arg(long)]
    pub url: Option<String>,
    #[command(flatten)]
    pub cred: CredArgs,
    /// `true` or `false`.
    #[arg(long)]
    pub community: Option<bool>,
    #[arg(long)]
    pub ca_cert: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct SubArgs {
    /// The peer.
    pub peer: String,
    /// The remote collection: its id, or its full URL.
    #[arg(long)]
    pub remote: String,
    /// The remote API root URL (default: the peer's default API root).
    #[arg(long)]
    pub remote_api_root: Option<String>,
    /// The local collection (id or alias; default: the node's default collection).
    #[arg(long)]
    pub collection: Option<String>,
    /// Only these STIX types (repeatable, or comma-separated).
    #[arg(long = "type", value_delimiter = ',')]
    pub types: Vec<String>,
    /// Only versions added after this RFC 3339 time.
    #[arg(long)]
    pub added_after: Option<String>,
    /// Only objects with one of these labels.
    #[arg(long = "label", value_delimiter = ',')]
    pub labels: Vec<String>,
    /// Only objects with one of these marking-definition ids.
    #[arg(long = "marking", value_delimiter = ',')]
    pub markings: Vec<String>,
    /// Seconds between rounds under `cairn serve`.
    #[arg(long, default_value_t = 300)]
    pub interval: u64,
}

#[derive(Args, Debug)]
pub struct SyncArgs {
    /// Only this peer's subscriptions.
    #[arg(long)]
    pub peer: Option<String>,
    /// Objects per page.
    #[arg(long, default_value_t = 1000)]
    pub page_size: usize,
    /// Print the round reports as JSON.
    #[arg(long)]
    pub json: bool,
    /// Seconds one request to a peer may take (slow servers answer a first page late).
    #[arg(long, default_value_t = 60)]
    pub timeout: u64,
}

fn secrets(data_dir: &Path) -> anyhow::Result<SecretBox> {
    Ok(SecretBox::open_dir(data_dir)?)
}

fn credential(c: CredArgs) -> anyhow::Result<Option<Credential>> {
    let CredArgs {
        token,
        user,
        password_stdin,
    } = c;
    match (token, user) {
        (Some(token), _) => {
            if token.trim().is_empty() {
                bail!("--token is empty");
            }
            Ok(Some(Credential::Token { token }))
        }
        (None, Some(user)) => {
            if !password_stdin {
                bail!("--user needs --password-stdin");
            }
            let mut pw = String::new();
            std::io::stdin()
                .read_to_string(&mut pw)
                .context("reading the password from stdin")?;
            let password = pw.trim_end_matches(['\n', '\r']).to_string();
            if password.is_empty() {
                bail!("the password read from stdin is empty");
            }
            Ok(Some(Credential::Basic { user, password }))
        }
        (None, None) => Ok(None),
    }
}

async fn get_peer(store: &dyn Store, name: &str) -> anyhow::Result<Peer> {
    store
        .get_peer(name)
        .await?
        .with_context(|| format!("no peer {name:?} (see `cairn peer list`)"))
}

fn when(micros: Option<i64>) -> String {
    micros.map_or_else(|| "never".to_string(), cairn_stix::Timestamp::format_micros)
}

pub async fn run(data_dir: &Path, cmd: PeerCmd) -> anyhow::Result<ExitCode> {
    let store = node::open(data_dir).await?;
    node::admin_org(store.as_ref()).await?;
    let store = store.as_ref();
    match cmd {
        PeerCmd::Add(a) => {
            let cred =
                credential(a.cred)?.context("give --token T, or --user U --password-stdin")?;
            let ca_cert = match &a.ca_cert {
                Some(p) => Some(
                    std::fs::read_to_string(p)
                        .with_context(|| format!("reading {}", p.display()))?,
                ),
                None => None,
            };
            let peer = cairn_sync::peers::add_peer(
                store,
                &secrets(data_dir)?,
                NewPeer {
                    name: a.name,
                    url: a.url,
                    credential: cred,
                    nation: a.nation,
                    org: a.org,
                    org_identity: a.org_identity,
                    community: !a.outside_community,
                    ca_cert,
                },
                "cli",
            )
            .await?;
            let org = store.get_org(peer.org_id).await?;
            eprintln!(
                "added peer {} at {} (organization {:?}, {})",
                peer.name,
                peer.url,
                org.map(|o| o.name).unwrap_or_default(),
                if peer.community {
                    "community"
                } else {
                    "outside the community"
                }
            );
            println!("{}", peer.id);
        }
        PeerCmd::List { json } => {
            let mut views = Vec::new();
            for p in store.list_peers().await? {
                views.push(cairn_sync::peers::peer_view(store, &p).await?);
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&views)?);
            } else {
                for v in views {
                    let failing = v
                        .subscriptions
                        .iter()
                        .filter(|s| s.state.failures > 0)
                        .count();
                    println!(
                        "{}\t{}\t{}\t{} subscription(s){}",
                        v.name,
                        v.url,
                        v.org_name.unwrap_or_default(),
                        v.subscriptions.len(),
                        if failing > 0 {
                            format!(", {failing} failing")
                        } else {
                            String::new()
                        }
                    );
                }
            }
        }
        PeerCmd::Show { name, json } => {
            let peer = get_peer(store, &name).await?;
            let v = cairn_sync::peers::peer_view(store, &peer).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&v)?);
                return Ok(ExitCode::SUCCESS);
            }
            println!("peer {} ({})", v.name, v.id);
            println!("  url:          {}", v.url);
            println!(
                "  organization: {} ({})",
                v.org_name.as_deref().unwrap_or("?"),
                v.org_id
            );
            println!(
                "  community:    {}",
                if v.community {
                    "yes"
                } else {
                    "no (external partner)"
                }
            );
            let cred = secrets(data_dir)?
                .open(&peer.name, &peer.credential)
                .map(|c| c.describe())
                .unwrap_or_else(|e| format!("unreadable: {e}"));
            println!("  credential:   {cred}");
            for s in &v.subscriptions {
                let st = &s.state;
                println!(
                    "  {} {} {} local {} <-> {}collections/{}/{}",
                    s.subscription.id,
                    s.subscription.direction.as_str(),
                    if s.subscription.enabled {
                        "enabled"
                    } else {
                        "paused"
                    },
                    s.subscription.local_collection,
                    s.subscription.remote_api_root,
                    s.subscription.remote_collection,
                    if s.subscription.filter == SubscriptionFilter::default() {
                        String::new()
                    } else {
                        format!(" filter {}", serde_json::to_string(&s.subscription.filter)?)
                    }
                );
                println!(
                    "      last success {}, last error {}{}",
                    when(st.last_success),
                    when(st.last_error_at),
                    st.last_error
                        .as_deref()
                        .filter(|_| st.failures > 0)
                        .map(|e| format!(" ({} in a row: {e})", st.failures))
                        .unwrap_or_default()
                );
                println!(
                    "      {} {}, {} duplicates, {} refused by policy, {} rejected, {} skipped; lag {} objects, {}",
                    st.transferred,
                    if s.subscription.direction == Direction::Pull {
                        "pulled"
                    } else {
                        "pushed"
                    },
                    st.duplicates,
                    st.refused_by_policy,
                    st.rejected,
                    st.skipped,
                    st.lag_objects
                        .map_or_else(|| "?".to_string(), |l| l.to_string()),
                    s.lag_micros.map_or_else(
                        || "not caught up yet".to_string(),
                        |l| format!("{}s since caught up", l / 1_000_000)
                    )
                );
            }
        }
        PeerCmd::Set(a) => {
            let mut peer = get_peer(store, &a.name).await?;
            if let Some(url) = a.url {
                peer.url = cairn_sync::peers::check_url(&url)?;
            }
            if let Some(cred) = credential(a.cred)? {
                peer.credential = secrets(data_dir)?.seal(&peer.name, &cred)?;
            }
            if let Some(c) = a.community {
                peer.community = c;
            }
            if let Some(p) = a.ca_cert {
                peer.ca_cert = Some(std::fs::read_to_string(&p)?);
            }
            store.update_peer(&peer).await?;
            super::sharing::audit(
                store,
                "peer.set",
                peer.name.clone(),
                serde_json::json!({"url": peer.url, "community": peer.community}),
            )
            .await?;
            eprintln!("updated peer {}", peer.name);
        }
        PeerCmd::Remove { name } => {
            let peer = get_peer(store, &name).await?;
            store.delete_peer(peer.id).await?;
            super::sharing::audit(
                store,
                "peer.remove",
                peer.name.clone(),
                serde_json::json!({}),
            )
            .await?;
            eprintln!("removed peer {name}");
        }
        PeerCmd::Pull(a) => subscribe(data_dir, store, Direction::Pull, a).await?,
        PeerCmd::Push(a) => subscribe(data_dir, store, Direction::Push, a).await?,
        PeerCmd::Pause { target } => set_enabled(store, &target, false).await?,
        PeerCmd::Resume { target } => set_enabled(store, &target, true).await?,
        PeerCmd::Unsubscribe { subscription } => {
            store
                .get_subscription(subscription)
                .await?
                .with_context(|| format!("no subscription {subscription}"))?;
            store.delete_subscription(subscription).await?;
            super::sharing::audit(
                store,
                "subscription.remove",
                subscription.to_string(),
                serde_json::json!({}),
            )
            .await?;
            eprintln!("removed subscription {subscription}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn subscribe(
    data_dir: &Path,
    store: &dyn Store,
    direction: Direction,
    a: SubArgs,
) -> anyhow::Result<()> {
    let peer = get_peer(store, &a.peer).await?;
    let local = node::resolve_collection(store, a.collection.as_deref()).await?;
    let added_after = match &a.added_after {
        Some(t) => Some(
            cairn_stix::Timestamp::parse(t)
                .map_err(|e| anyhow::anyhow!("--added-after {t:?}: {e}"))?
                .unix_micros(),
        ),
        None => None,
    };
    let sub = cairn_sync::peers::subscribe(
        store,
        &secrets(data_dir)?,
        &peer,
        NewSubscription {
            direction,
            local_collection: local.id,
            remote: a.remote,
            remote_api_root: a.remote_api_root,
            filter: SubscriptionFilter {
                types: a.types,
                added_after,
                labels: a.labels,
                markings: a.markings,
            },
            interval_secs: a.interval,
        },
        "cli",
    )
    .await?;
    eprintln!(
        "{} {} {}collections/{}/ every {}s",
        direction.as_str(),
        if direction == Direction::Pull {
            "from"
        } else {
            "to"
        },
        sub.remote_api_root,
        sub.remote_collection,
        sub.interval_secs
    );
    println!("{}", sub.id);
    Ok(())
}

async fn set_enabled(store: &dyn Store, target: &str, enabled: bool) -> anyhow::Result<()> {
    let subs = match target.parse::<uuid::Uuid>().ok() {
        Some(id) if store.get_subscription(id).await?.is_some() => {
            vec![store.get_subscription(id).await?.expect("just read")]
        }
        _ => {
            let peer = get_peer(store, target).await?;
            store
                .list_subscriptions()
                .await?
                .into_iter()
                .filter(|s| s.peer_id == peer.id)
                .collect()
        }
    };
    for mut s in subs {
        s.enabled = enabled;
        store.update_subscription(&s).await?;
        eprintln!(
            "{} subscription {}",
            if enabled { "resumed" } else { "paused" },
            s.id
        );
    }
    Ok(())
}

/// `cairn sync`: one round of every enabled subscription (or one peer's), then exit. Exits
/// non-zero when a round failed.
pub async fn sync(data_dir: &Path, a: SyncArgs) -> anyhow::Result<ExitCode> {
    let store = node::open(data_dir).await?;
    node::admin_org(store.as_ref()).await?;
    let peer = match &a.peer {
        Some(name) => Some(get_peer(store.as_ref(), name).await?),
        None => None,
    };
    let engine = Arc::new(Engine::new(
        store.clone(),
        Arc::new(secrets(data_dir)?),
        EngineConfig {
            page_size: a.page_size.max(1),
            ..engine_config(a.timeout)
        },
    ));
    let results = engine.run_once(peer.as_ref()).await?;
    let mut failed = 0;
    for (sub, r) in &results {
        match r {
            Ok(rep) if a.json => println!("{}", serde_json::to_string(rep)?),
            Ok(rep) => println!(
                "{} {}: {} transferred, {} duplicates, {} refused by policy, {} rejected, {} skipped ({} pages)",
                sub.id,
                rep.direction,
                rep.transferred,
                rep.duplicates,
                rep.refused_by_policy,
                rep.rejected,
                rep.skipped,
                rep.pages
            ),
            Err(e) => {
                failed += 1;
                eprintln!("{} {}: failed: {e}", sub.id, sub.direction.as_str());
                if a.json {
                    println!(
                        "{}",
                        serde_json::json!({"subscription": sub.id, "direction": sub.direction.as_str(), "error": e.to_string()})
                    );
                }
            }
        }
    }
    if results.is_empty() {
        eprintln!("no enabled subscriptions");
    }
    Ok(if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The engine's defaults with `timeout_secs` (at least 1) per request to a peer.
fn engine_config(timeout_secs: u64) -> EngineConfig {
    EngineConfig {
        client: cairn_sync::client::ClientConfig {
            timeout: std::time::Duration::from_secs(timeout_secs.max(1)),
            ..Default::default()
        },
        ..EngineConfig::default()
    }
}

/// The background loop `cairn serve` runs, `timeout_secs` per request to a peer.
pub fn start_background(
    data_dir: &Path,
    store: Arc<dyn Store>,
    timeout_secs: u64,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let engine = Arc::new(Engine::new(
        store,
        Arc::new(secrets(data_dir)?),
        engine_config(timeout_secs),
    ));
    Ok(tokio::spawn(
        engine.run_forever(shutdown, std::time::Duration::from_secs(30)),
    ))
}
