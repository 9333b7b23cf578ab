//! `cairn init`, `cairn token ...` and `cairn collection ...`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use cairn_store::ApiToken;
use clap::{Args, Subcommand};
use uuid::Uuid;

use super::node;

#[derive(Subcommand, Debug)]
pub enum TokenCmd {
    /// Create an API token for a user; prints it once, as the last line.
    Create {
        #[arg(long)]
        user: String,
        /// Days until the token expires (default: never).
        #[arg(long)]
        expires_in_days: Option<u32>,
        /// The token may only read.
        #[arg(long)]
        read_only: bool,
        /// The token works only on this collection (id or alias).
        #[arg(long)]
        collection: Option<String>,
    },
    /// List a user's tokens (ids, never secrets).
    List {
        #[arg(long)]
        user: String,
    },
    /// Revoke a token by id; effective on the next request.
    Revoke { id: Uuid },
}

#[derive(Subcommand, Debug)]
pub enum CollectionCmd {
    /// Create a collection the admin's organization can read and write; prints its id last.
    Create(CollectionCreate),
    /// List the collections of the default API root.
    List,
    /// Set a collection's default TLP (for objects without one) and anonymous readability
    /// (TLP:CLEAR publishing only: the default TLP must then be clear).
    Set {
        /// Collection id or alias.
        collection: String,
        /// clear, green, amber, amber+strict, red.
        #[arg(long)]
        default_tlp: Option<String>,
        #[arg(long)]
        anonymous_read: Option<bool>,
    },
}

#[derive(Args, Debug)]
pub struct CollectionCreate {
    #[arg(long)]
    pub title: String,
    #[arg(long)]
    pub id: Option<Uuid>,
    #[arg(long)]
    pub description: Option<String>,
    /// A short name usable in place of the id in URLs.
    #[arg(long)]
    pub alias: Option<String>,
}

pub async fn init(data_dir: &Path) -> anyhow::Result<ExitCode> {
    let store = node::open(data_dir).await?;
    let outcome = node::init(store.as_ref()).await?;
    if outcome.created {
        println!("initialized {}", data_dir.display());
        if let Some(pw) = outcome.generated_password {
            println!("admin password: {pw}");
        }
    } else {
        println!("{} is already initialized", data_dir.display());
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn token(data_dir: &Path, cmd: TokenCmd) -> anyhow::Result<ExitCode> {
    let store = node::open(data_dir).await?;
    node::admin_org(store.as_ref()).await?;
    let user_named = |name: String| {
        let store = store.clone();
        async move {
            store
                .get_user_by_name(&name)
                .await?
                .with_context(|| format!("no user named {name:?}"))
        }
    };
    match cmd {
        TokenCmd::Create {
            user,
            expires_in_days,
            read_only,
            collection,
        } => {
            let user = user_named(user).await?;
            let scope = match collection {
                Some(c) => Some(node::resolve_collection(store.as_ref(), Some(&c)).await?.id),
                None => None,
            };
            let (secret, hash) = cairn_server::auth::generate_token();
            let now = node::now_micros();
            let token = ApiToken {
                id: Uuid::new_v4(),
                user_id: user.id,
                secret_hash: hash,
                created: now,
                expires: expires_in_days.map(|d| now + i64::from(d) * 86_400_000_000),
                revoked: false,
                read_only,
                collection: scope,
            };
            store.create_token(&token).await?;
            super::sharing::audit(
                store.as_ref(),
                "token.create",
                token.id.to_string(),
                serde_json::json!({
                    "user": user.name,
                    "read_only": read_only,
                    "collection": scope.map(|c| c.to_string()),
                    "expires": token.expires,
                }),
            )
            .await?;
            eprintln!(
                "token {} for {} (shown once; store it now)",
                token.id, user.name
            );
            println!("{secret}");
        }
        TokenCmd::List { user } => {
            let user = user_named(user).await?;
            for t in store.list_tokens(user.id).await? {
                let expires = t
                    .expires
                    .map(cairn_stix::Timestamp::format_micros)
                    .unwrap_or_else(|| "never".into());
                let state = if t.revoked { "revoked" } else { "active" };
                let scope = if t.read_only {
                    "read-only"
                } else {
                    "read-write"
                };
                let coll = t.collection.map_or_else(
                    || "all collections".to_string(),
                    |c| format!("collection {c}"),
                );
                println!(
                    "{}  {state}  {scope}  {coll}  created {}  expires {expires}",
                    t.id,
                    cairn_stix::Timestamp::format_micros(t.created)
                );
            }
        }
        TokenCmd::Revoke { id } => {
            store.revoke_token(id).await?;
            super::sharing::audit(
                store.as_ref(),
                "token.revoke",
                id.to_string(),
                serde_json::json!({}),
            )
            .await?;
            println!("revoked {id}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn collection(data_dir: &Path, cmd: CollectionCmd) -> anyhow::Result<ExitCode> {
    let store = node::open(data_dir).await?;
    let org = node::admin_org(store.as_ref()).await?;
    match cmd {
        CollectionCmd::Create(c) => {
            if c.title.trim().is_empty() {
                bail!("--title must not be empty");
            }
            if let Some(id) = c.id
                && store
                    .get_collection(node::DEFAULT_API_ROOT, &id.to_string())
                    .await?
                    .is_some()
            {
                bail!("a collection with id {id} already exists");
            }
            if let Some(alias) = &c.alias
                && store
                    .get_collection(node::DEFAULT_API_ROOT, alias)
                    .await?
                    .is_some()
            {
                bail!("the alias {alias:?} is already taken");
            }
            let col = node::new_collection(
                store.as_ref(),
                &c.title,
                c.description.as_deref(),
                c.alias.as_deref(),
                c.id,
                org,
            )
            .await?;
            eprintln!("created collection {:?}", col.title);
            println!("{}", col.id);
        }
        CollectionCmd::List => {
            for c in store.list_collections(node::DEFAULT_API_ROOT).await? {
                let n = store.count_versions(c.id).await?;
                let anon = if c.anonymous_read { "  anonymous" } else { "" };
                println!(
                    "{}  {:<24}  {n} versions  default {}{anon}  {}",
                    c.id,
                    c.title,
                    c.default_tlp.label(),
                    c.alias.as_deref().unwrap_or("")
                );
            }
        }
        CollectionCmd::Set {
            collection,
            default_tlp,
            anonymous_read,
        } => {
            super::sharing::set_collection_policy(
                store.as_ref(),
                &collection,
                default_tlp.as_deref(),
                anonymous_read,
            )
            .await?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
