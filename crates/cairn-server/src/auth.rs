//! Credentials: Argon2id password hashes, API tokens, and the request authenticator.
//!
//! HTTP Basic costs one Argon2 verification per (user, password) pair and then rides a short-lived
//! cache keyed by `HMAC(node secret, user:password)` (never the password itself). Each cached entry
//! remembers the user's `credential_epoch`; every request re-reads the user record, so a password
//! change, a revocation or a disabled account takes effect on the next request. Unknown users are
//! verified against a dummy hash so that the answer and its cost do not reveal who exists.
//! Bearer (`Authorization: Bearer <secret>` or `Token <secret>`) tokens are looked up by SHA-256
//! and their expiry and revocation are checked on every request.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use cairn_store::{Store, User};
use hmac::{Hmac, Mac};
use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::ApiError;

/// Hash a password as an Argon2id PHC string (default parameters, random 16-byte salt).
pub fn hash_password(pw: &str) -> String {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).expect("16 bytes is a valid salt length");
    Argon2::default()
        .hash_password(pw.as_bytes(), &salt)
        .expect("Argon2 with default parameters cannot fail on a valid salt")
        .to_string()
}

/// Whether `pw` matches the PHC string `phc`. A malformed PHC string never matches.
pub fn verify_password(pw: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default()
            .verify_password(pw.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A new API token: `(secret, sha256_hex)`. The secret (32 random bytes, base64url) is shown to
/// its owner once; only the hash is stored.
pub fn generate_token() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret = URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash_token(&secret);
    (secret, hash)
}

/// SHA-256 of a token secret, lowercase hex: the form tokens are stored and looked up in.
pub fn hash_token(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// A random 24-character alphanumeric password.
pub fn generate_password() -> String {
    rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(24)
        .map(char::from)
        .collect()
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Who is making a request.
#[derive(Debug, Clone)]
pub(crate) struct Principal {
    pub user: User,
    /// Authenticated with a read-only token: no POST, no DELETE.
    pub read_only: bool,
}

/// How long a verified Basic credential is trusted without a new Argon2 verification.
const CACHE_TTL: Duration = Duration::from_secs(300);
/// Upper bound on cached credentials; expired entries are swept when it is reached.
const CACHE_MAX: usize = 4096;

#[derive(Debug, Clone)]
struct CacheEntry {
    user_id: Uuid,
    epoch: i64,
    expires: Instant,
}

/// Authenticates requests against the store. Holds the Basic credential cache.
pub(crate) struct Authenticator {
    key: Vec<u8>,
    dummy_hash: String,
    cache: Mutex<HashMap<[u8; 32], CacheEntry>>,
}

impl Authenticator {
    pub fn new(node_secret: &[u8]) -> Authenticator {
        Authenticator {
            key: node_secret.to_vec(),
            dummy_hash: hash_password(&generate_password()),
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Authenticate from the `Authorization` header value.
    pub async fn authenticate(
        &self,
        store: &dyn Store,
        header: Option<&[u8]>,
    ) -> Result<Principal, ApiError> {
        let Some(raw) = header else {
            return Err(ApiError::unauthorized(
                "authentication required: HTTP Basic or an API token (Authorization: Bearer <token>)",
            ));
        };
        let value = std::str::from_utf8(raw)
            .map_err(|_| ApiError::unauthorized("the Authorization header is not valid text"))?
            .trim();
        let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
        let rest = rest.trim();
        if scheme.eq_ignore_ascii_case("basic") {
            let decoded = STANDARD
                .decode(rest)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| {
                    ApiError::unauthorized(
                        "malformed Basic credentials (expected base64 of user:password)",
                    )
                })?;
            let (user, pw) = decoded.split_once(':').ok_or_else(|| {
                ApiError::unauthorized(
                    "malformed Basic credentials (expected base64 of user:password)",
                )
            })?;
            self.basic(store, user, pw).await
        } else if scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token") {
            self.token(store, rest).await
        } else {
            Err(ApiError::unauthorized(
                "unsupported authorization scheme (use Basic, Bearer or Token)",
            ))
        }
    }

    fn cache_key(&self, user: &str, pw: &str) -> [u8; 32] {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC accepts any key length");
        mac.update(b"basic-credential\0");
        mac.update(user.as_bytes());
        mac.update(b":");
        mac.update(pw.as_bytes());
        mac.finalize().into_bytes().into()
    }

    async fn basic(&self, store: &dyn Store, name: &str, pw: &str) -> Result<Principal, ApiError> {
        let bad = || ApiError::unauthorized("invalid user name or password");
        let key = self.cache_key(name, pw);
        let cached = {
            let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            cache.get(&key).cloned()
        };
        if let Some(entry) = cached {
            if entry.expires > Instant::now()
                && let Some(user) = store
                    .get_user(entry.user_id)
                    .await
                    .map_err(ApiError::store)?
                && !user.disabled
                && user.credential_epoch == entry.epoch
                && user.name == name
            {
                return Ok(Principal {
                    user,
                    read_only: false,
                });
            }
            self.cache
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&key);
        }
        let user = store
            .get_user_by_name(name)
            .await
            .map_err(ApiError::store)?;
        let (phc, usable) = match &user {
            Some(u) if !u.disabled && u.password_hash.is_some() => {
                (u.password_hash.clone().unwrap_or_default(), true)
            }
            _ => (self.dummy_hash.clone(), false),
        };
        let pw_owned = pw.to_string();
        let ok = tokio::task::spawn_blocking(move || verify_password(&pw_owned, &phc))
            .await
            .unwrap_or(false);
        match user {
            Some(user) if ok && usable => {
                let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
                if cache.len() >= CACHE_MAX {
                    let now = Instant::now();
                    cache.retain(|_, e| e.expires > now);
                    if cache.len() >= CACHE_MAX {
                        cache.clear();
                    }
                }
                cache.insert(
                    key,
                    CacheEntry {
                        user_id: user.id,
                        epoch: user.credential_epoch,
                        expires: Instant::now() + CACHE_TTL,
                    },
                );
                drop(cache);
                Ok(Principal {
                    user,
                    read_only: false,
                })
            }
            _ => Err(bad()),
        }
    }

    async fn token(&self, store: &dyn Store, secret: &str) -> Result<Principal, ApiError> {
        let bad = || ApiError::unauthorized("invalid, expired or revoked API token");
        if secret.is_empty() {
            return Err(bad());
        }
        let token = store
            .get_token_by_hash(&hash_token(secret))
            .await
            .map_err(ApiError::store)?
            .ok_or_else(bad)?;
        if token.revoked || token.expires.is_some_and(|e| e <= crate::now_micros()) {
            return Err(bad());
        }
        let user = store
            .get_user(token.user_id)
            .await
            .map_err(ApiError::store)?
            .ok_or_else(bad)?;
        if user.disabled {
            return Err(bad());
        }
        Ok(Principal {
            user,
            read_only: token.read_only,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_round_trip() {
        let phc = hash_password("correct horse");
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &phc));
        assert!(!verify_password("wrong", &phc));
        assert!(!verify_password("x", "not a phc string"));
    }

    #[test]
    fn tokens_hash_to_stored_form() {
        let (secret, hash) = generate_token();
        assert_eq!(secret.len(), 43);
        assert_eq!(hash, hash_token(&secret));
        assert_eq!(hash.len(), 64);
        assert_ne!(generate_token().0, secret);
        assert_eq!(generate_password().len(), 24);
    }
}
