//! What authentication and the sharing policy read from the store, kept between requests while
//! the store's policy epoch ([`Store::policy_epoch`]) stays the same.
//!
//! Each request reads the epoch once, first (the authentication middleware), and every lookup of
//! the request goes through [`Lookup`] with that epoch: a user by id, a token by hash, a user's
//! policy principal, an API root, a collection, a collection's channel. An entry is used only
//! by a request that read the very epoch the entry was stored under, so a change committed
//! before a request began (a grant removed, a group member removed, an organization moved to
//! another nation, a token revoked, a password changed, a user disabled — through this server,
//! another server on the same file, or the CLI) moves the epoch that request reads, and the
//! request resolves from the store again: the change takes effect on the very next request.
//! An entry may have been loaded after the epoch it is stored under was read (a change
//! committed meanwhile), so it is never older than its epoch; a request that read an older epoch
//! than the cache holds loads from the store and stores nothing. A store without an epoch
//! (`None`) is never cached from.
//!
//! Only what exists is kept (a user, token or collection not found is asked again each time),
//! and each map is emptied when it reaches [`MAX_ENTRIES`].

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

use cairn_policy::{CollectionPolicy, Principal};
use cairn_store::{ApiRoot, ApiToken, Collection, Store, User, access};
use uuid::Uuid;

use crate::error::ApiError;

/// Entries one map keeps at most.
const MAX_ENTRIES: usize = 4096;

/// Values of one kind by key, all stored under one epoch.
struct Memo<K, V> {
    inner: Mutex<(Option<i64>, HashMap<K, V>)>,
}

impl<K: Hash + Eq, V: Clone> Memo<K, V> {
    fn new() -> Memo<K, V> {
        Memo {
            inner: Mutex::new((None, HashMap::new())),
        }
    }

    fn get<Q>(&self, epoch: Option<i64>, key: &Q) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let epoch = epoch?;
        let m = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if m.0 == Some(epoch) {
            m.1.get(key).cloned()
        } else {
            None
        }
    }

    fn put(&self, epoch: Option<i64>, key: K, value: V) {
        let Some(epoch) = epoch else { return };
        let mut m = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        match m.0 {
            Some(held) if held > epoch => return,
            Some(held) if held == epoch => {}
            _ => {
                m.0 = Some(epoch);
                m.1.clear();
            }
        }
        if m.1.len() >= MAX_ENTRIES {
            m.1.clear();
        }
        m.1.insert(key, value);
    }
}

/// The server's cache (one per router).
pub(crate) struct PolicyCache {
    users: Memo<Uuid, User>,
    tokens: Memo<String, ApiToken>,
    principals: Memo<Uuid, Principal>,
    roots: Memo<String, ApiRoot>,
    collections: Memo<(String, String), Collection>,
    channels: Memo<Uuid, CollectionPolicy>,
}

impl PolicyCache {
    pub fn new() -> PolicyCache {
        PolicyCache {
            users: Memo::new(),
            tokens: Memo::new(),
            principals: Memo::new(),
            roots: Memo::new(),
            collections: Memo::new(),
            channels: Memo::new(),
        }
    }
}

/// The lookups of one request: the store, the cache and the epoch the request read.
#[derive(Clone, Copy)]
pub(crate) struct Lookup<'a> {
    pub store: &'a dyn Store,
    pub cache: &'a PolicyCache,
    pub epoch: Option<i64>,
}

type Result<T, E = ApiError> = std::result::Result<T, E>;

impl Lookup<'_> {
    pub async fn user(&self, id: Uuid) -> Result<Option<User>> {
        if let Some(u) = self.cache.users.get(self.epoch, &id) {
            return Ok(Some(u));
        }
        let u = self.store.get_user(id).await.map_err(ApiError::store)?;
        if let Some(u) = &u {
            self.cache.users.put(self.epoch, id, u.clone());
        }
        Ok(u)
    }

    /// A token by the SHA-256 of its secret (revoked and expired ones too: the caller checks).
    pub async fn token(&self, secret_hash: &str) -> Result<Option<ApiToken>> {
        if let Some(t) = self.cache.tokens.get(self.epoch, secret_hash) {
            return Ok(Some(t));
        }
        let t = self
            .store
            .get_token_by_hash(secret_hash)
            .await
            .map_err(ApiError::store)?;
        if let Some(t) = &t {
            self.cache
                .tokens
                .put(self.epoch, secret_hash.to_string(), t.clone());
        }
        Ok(t)
    }

    /// The policy principal of `user` (organization, nation, groups, role).
    pub async fn principal(&self, user: &User) -> Result<Principal> {
        if let Some(p) = self.cache.principals.get(self.epoch, &user.id)
            && p.role == Some(user.role)
        {
            return Ok(p);
        }
        let p = access::user_principal(self.store, user)
            .await
            .map_err(ApiError::store)?;
        self.cache.principals.put(self.epoch, user.id, p.clone());
        Ok(p)
    }

    pub async fn api_root(&self, name: &str) -> Result<Option<ApiRoot>> {
        if let Some(r) = self.cache.roots.get(self.epoch, name) {
            return Ok(Some(r));
        }
        let r = self
            .store
            .get_api_root(name)
            .await
            .map_err(ApiError::store)?;
        if let Some(r) = &r {
            self.cache
                .roots
                .put(self.epoch, name.to_string(), r.clone());
        }
        Ok(r)
    }

    /// A collection of `root` by id or alias, as the request spelled it.
    pub async fn collection(&self, root: &str, id_or_alias: &str) -> Result<Option<Collection>> {
        let key = (root.to_string(), id_or_alias.to_string());
        if let Some(c) = self.cache.collections.get(self.epoch, &key) {
            return Ok(Some(c));
        }
        let c = self
            .store
            .get_collection(root, id_or_alias)
            .await
            .map_err(ApiError::store)?;
        if let Some(c) = &c {
            self.cache.collections.put(self.epoch, key, c.clone());
        }
        Ok(c)
    }

    /// `coll` as a channel (default TLP, anonymous readability, grants).
    pub async fn channel(&self, coll: &Collection) -> Result<CollectionPolicy> {
        if let Some(p) = self.cache.channels.get(self.epoch, &coll.id)
            && p.default_tlp == coll.default_tlp
            && p.anonymous_read == coll.anonymous_read
        {
            return Ok(p);
        }
        let p = access::collection_policy(self.store, coll)
            .await
            .map_err(ApiError::store)?;
        self.cache.channels.put(self.epoch, coll.id, p.clone());
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::Memo;

    #[test]
    fn an_entry_serves_only_its_own_epoch() {
        let m: Memo<u32, &str> = Memo::new();
        m.put(Some(5), 1, "five");
        assert_eq!(m.get(Some(5), &1), Some("five"));
        assert_eq!(m.get(Some(6), &1), None, "a newer epoch misses");
        assert_eq!(m.get(Some(4), &1), None, "an older epoch misses");
        assert_eq!(m.get(None, &1), None, "no epoch, no cache");
        m.put(Some(4), 2, "four");
        assert_eq!(m.get(Some(4), &2), None, "an older epoch stores nothing");
        assert_eq!(m.get(Some(5), &1), Some("five"));
        m.put(Some(6), 3, "six");
        assert_eq!(m.get(Some(6), &1), None, "a newer epoch empties the map");
        assert_eq!(m.get(Some(6), &3), Some("six"));
        m.put(None, 4, "none");
        assert_eq!(m.get(None, &4), None);
    }
}
