//! Opening a node's data directory and initializing it.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use cairn_store::{ApiRoot, Collection, Grant, Grantee, Organization, Role, Store, User};
use cairn_store_sqlite::SqliteStore;
use uuid::Uuid;

/// The API root every node starts with.
pub const DEFAULT_API_ROOT: &str = "default";
/// Largest POST body the default API root accepts.
pub const DEFAULT_MAX_CONTENT_LENGTH: u64 = 64 * 1024 * 1024;
/// Setting that marks a node as initialized (its value is the admin organization's id).
const INITIALIZED: &str = "node.admin_org";
/// Setting that holds the default collection's id.
const DEFAULT_COLLECTION: &str = "node.default_collection";

/// The database file inside a data directory.
pub fn db_path(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join("cairn.db")
}

/// Open (creating if needed) the store of a data directory.
pub async fn open(data_dir: &Path) -> anyhow::Result<Arc<dyn Store>> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create data directory {}", data_dir.display()))?;
    let store = SqliteStore::open(&db_path(data_dir))
        .await
        .with_context(|| format!("cannot open the database in {}", data_dir.display()))?;
    Ok(Arc::new(store))
}

/// What [`init`] did.
pub struct InitOutcome {
    /// The admin's password when this call created the admin user and chose it.
    pub generated_password: Option<String>,
    /// True when this call initialized the node.
    pub created: bool,
}

/// Initialize an empty node: one organization, an `admin` user, the default API root and one
/// default collection the organization can read and write. Does nothing on an initialized node.
///
/// The admin password is `CAIRN_ADMIN_PASSWORD` when set, otherwise generated.
pub async fn init(store: &dyn Store) -> anyhow::Result<InitOutcome> {
    if store.get_setting(INITIALIZED).await?.is_some() {
        return Ok(InitOutcome {
            generated_password: None,
            created: false,
        });
    }
    let nation = match std::env::var("CAIRN_NATION") {
        Ok(n) if !n.is_empty() => {
            let n = cairn_policy::Nation::parse(&n)
                .map_err(|e| anyhow::anyhow!("CAIRN_NATION: {e}"))?;
            store.add_nation(n.as_str()).await?;
            Some(n.as_str().to_string())
        }
        _ => None,
    };
    let org = Organization {
        id: Uuid::new_v4(),
        name: "Local organization".to_string(),
        identity_id: format!("identity--{}", Uuid::new_v4()),
        nation,
        kind: "other".to_string(),
    };
    store.create_org(&org).await?;
    let (password, generated) = match std::env::var("CAIRN_ADMIN_PASSWORD") {
        Ok(p) if !p.is_empty() => (p, false),
        _ => (cairn_server::auth::generate_password(), true),
    };
    let admin = User {
        id: Uuid::new_v4(),
        name: "admin".to_string(),
        org_id: org.id,
        role: Role::Admin,
        password_hash: Some(cairn_server::auth::hash_password(&password)),
        disabled: false,
        credential_epoch: 0,
    };
    store.create_user(&admin).await?;
    if store.get_api_root(DEFAULT_API_ROOT).await?.is_none() {
        store
            .create_api_root(&ApiRoot {
                name: DEFAULT_API_ROOT.to_string(),
                title: "Cairn".to_string(),
                description: Some("The default API root of this Cairn node".to_string()),
                max_content_length: DEFAULT_MAX_CONTENT_LENGTH,
                is_default: true,
            })
            .await?;
    }
    let collection = new_collection(
        store,
        "Default",
        Some("Shared intelligence of this node"),
        None,
        None,
        org.id,
    )
    .await?;
    store
        .set_setting(DEFAULT_COLLECTION, &collection.id.to_string())
        .await?;
    store.set_setting(INITIALIZED, &org.id.to_string()).await?;
    Ok(InitOutcome {
        generated_password: generated.then_some(password),
        created: true,
    })
}

/// Create a collection in the default API root that `org` can read and write.
pub async fn new_collection(
    store: &dyn Store,
    title: &str,
    description: Option<&str>,
    alias: Option<&str>,
    id: Option<Uuid>,
    org: Uuid,
) -> anyhow::Result<Collection> {
    let collection = Collection::new(
        id.unwrap_or_else(Uuid::new_v4),
        DEFAULT_API_ROOT,
        title,
        description,
        alias,
        now_micros(),
    );
    store.create_collection(&collection).await?;
    store
        .set_grant(&Grant {
            collection: collection.id,
            grantee: Grantee::Organization(org),
            can_read: true,
            can_write: true,
        })
        .await?;
    Ok(collection)
}

/// The admin organization of an initialized node.
pub async fn admin_org(store: &dyn Store) -> anyhow::Result<Uuid> {
    let v = store.get_setting(INITIALIZED).await?.context(
        "this data directory is not initialized: run `cairn init` or `cairn serve` first",
    )?;
    Ok(v.parse()?)
}

/// The collection to use when none is named: the node's default collection.
pub async fn resolve_collection(
    store: &dyn Store,
    given: Option<&str>,
) -> anyhow::Result<Collection> {
    admin_org(store).await?;
    let key = match given {
        Some(g) => g.to_string(),
        None => store
            .get_setting(DEFAULT_COLLECTION)
            .await?
            .context("the node has no default collection")?,
    };
    store
        .get_collection(DEFAULT_API_ROOT, &key)
        .await?
        .with_context(|| format!("no collection {key:?} in API root {DEFAULT_API_ROOT:?}"))
}

/// Microseconds since the Unix epoch, now.
pub fn now_micros() -> i64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}
