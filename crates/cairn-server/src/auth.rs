//! Credentials: Argon2id password hashes, API tokens, and the request authenticator.
//!
//! HTTP Basic costs one Argon2 verification per (user, password) pair and then rides a short-lived
//! cache keyed by `HMAC(node secret, user:password)` (never the password itself). Each cached entry
//! remembers the user's `credential_epoch`; every request checks it against the user record as of
//! the request's policy epoch (`crate::cache`: re-read from the store whenever anything about
//! users or tokens changed), so a password change, a revocation or a disabled account takes
//! effect on the next request. Unknown users are
//! verified against a dummy hash so that the answer and its cost do not reveal who exists.
//! Bearer (`Authorization: Bearer <secret>` or `Token <secret>`) tokens are looked up by SHA-256
//! (through the same cache) and their expiry and revocation are checked on every request.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use cairn_store::{NewAuditEntry, User};
use hmac::{Hmac, Mac};
use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::audit::AuditSink;
use crate::cache::Lookup;
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

/// Who is making a request, as authentication found it: a user (with the scope of the token
/// used, if any), or nobody (no `Authorization` header).
#[derive(Debug, Clone)]
pub(crate) struct Principal {
    /// `None`: an anonymous request.
    pub user: Option<User>,
    /// Authenticated with a read-only token: no POST, no DELETE.
    pub read_only: bool,
    /// Authenticated with a token restricted to this collection.
    pub scope: Option<Uuid>,
}

impl Principal {
    fn user(user: User) -> Principal {
        Principal {
            user: Some(user),
            read_only: false,
            scope: None,
        }
    }

    /// The anonymous caller.
    pub fn anonymous() -> Principal {
        Principal {
            user: None,
            read_only: true,
            scope: None,
        }
    }
}

/// What failures are counted under: the user name of Basic credentials, `token` for tokens
/// (whether or not the name exists: the answer must not tell).
fn limit_key(header: &[u8]) -> String {
    let text = String::from_utf8_lossy(header);
    let text = text.trim();
    let (scheme, rest) = text.split_once(' ').unwrap_or((text, ""));
    if scheme.eq_ignore_ascii_case("basic")
        && let Some(decoded) = STANDARD
            .decode(rest.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
    {
        let user = decoded.split_once(':').map_or(decoded.as_str(), |(u, _)| u);
        return format!("basic:{user}");
    }
    "token".to_string()
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

/// The window failures are counted in.
const FAILURE_WINDOW: Duration = Duration::from_secs(60);
/// The longest a client is made to wait.
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// Clients tracked at most; the oldest quiet ones are forgotten first.
const FAILURES_MAX: usize = 65_536;
/// How often a token's successful use is written to the audit log, at most.
const TOKEN_AUDIT_EVERY: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    first: Instant,
    blocked_until: Option<Instant>,
}

/// Authenticates requests against the store. Holds the Basic credential cache, the failure
/// counters that slow down guessing (per client address, whatever the user name: the answer is
/// the same for users that exist and users that do not), and writes authentications to the
/// audit log.
pub(crate) struct Authenticator {
    key: Vec<u8>,
    dummy_hash: String,
    cache: Mutex<HashMap<[u8; 32], CacheEntry>>,
    /// Failures per (client, user name or `token`) and per client (key `None`).
    failures: Mutex<HashMap<(IpAddr, Option<String>), Failures>>,
    /// Failures allowed per (client, name) within [`FAILURE_WINDOW`]; ten times as many per
    /// client.
    free_failures: u32,
    token_seen: Mutex<HashMap<Uuid, Instant>>,
    audit: AuditSink,
}

impl Authenticator {
    pub fn new(node_secret: &[u8], audit: AuditSink, free_failures: u32) -> Authenticator {
        Authenticator {
            key: node_secret.to_vec(),
            dummy_hash: hash_password(&generate_password()),
            cache: Mutex::new(HashMap::new()),
            failures: Mutex::new(HashMap::new()),
            free_failures: free_failures.max(1),
            token_seen: Mutex::new(HashMap::new()),
            audit,
        }
    }

    /// 429 while `client` is slowed down, for `name` or altogether.
    fn check_blocked(&self, client: Option<IpAddr>, name: &str) -> Result<(), ApiError> {
        let Some(ip) = client else { return Ok(()) };
        let f = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let until = [(ip, Some(name.to_string())), (ip, None)]
            .iter()
            .filter_map(|k| f.get(k).and_then(|e| e.blocked_until))
            .filter(|u| *u > now)
            .max();
        if let Some(until) = until {
            let secs = (until - now).as_secs().max(1);
            return Err(ApiError::too_many_requests(
                secs,
                format!("too many failed authentications from this client; retry in {secs} s"),
            ));
        }
        Ok(())
    }

    /// Count a failure; past the free ones within a minute, the client waits 1, 2, 4, ...
    /// seconds (at most five minutes) before it may try again.
    fn record_failure(&self, client: Option<IpAddr>, name: &str) {
        let Some(ip) = client else { return };
        let now = Instant::now();
        let mut f = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if f.len() >= FAILURES_MAX {
            f.retain(|_, e| now.duration_since(e.first) < FAILURE_WINDOW);
            if f.len() >= FAILURES_MAX {
                f.clear();
            }
        }
        for (key, free) in [
            ((ip, Some(name.to_string())), self.free_failures),
            ((ip, None), self.free_failures.saturating_mul(10)),
        ] {
            let e = f.entry(key).or_insert(Failures {
                count: 0,
                first: now,
                blocked_until: None,
            });
            if now.duration_since(e.first) > FAILURE_WINDOW
                && e.blocked_until.is_none_or(|u| u < now)
            {
                *e = Failures {
                    count: 0,
                    first: now,
                    blocked_until: None,
                };
            }
            e.count += 1;
            if e.count > free {
                let exp = (e.count - free - 1).min(16);
                let wait = Duration::from_secs(1u64 << exp).min(MAX_BACKOFF);
                e.blocked_until = Some(now + wait);
            }
        }
    }

    fn record_success(&self, client: Option<IpAddr>, name: &str) {
        if let Some(ip) = client {
            self.failures
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&(ip, Some(name.to_string())));
        }
    }

    fn audit_auth(&self, actor: &str, ok: bool, how: &str, client: Option<IpAddr>, why: &str) {
        let action = if ok { "auth.success" } else { "auth.failure" };
        let mut detail = serde_json::json!({ "scheme": how });
        if let Some(ip) = client {
            detail["client"] = serde_json::json!(ip.to_string());
        }
        if !why.is_empty() {
            detail["reason"] = serde_json::json!(why);
        }
        self.audit
            .log(NewAuditEntry::new(actor, action, None, detail));
    }

    /// Authenticate from the `Authorization` header value, for a client at `client`.
    pub async fn authenticate(
        &self,
        look: Lookup<'_>,
        header: Option<&[u8]>,
        client: Option<IpAddr>,
    ) -> Result<Principal, ApiError> {
        let name = header.map_or_else(String::new, limit_key);
        self.check_blocked(client, &name)?;
        let out = self.authenticate_inner(look, header, client).await;
        match &out {
            Ok(_) => self.record_success(client, &name),
            Err(e) if e.status == axum::http::StatusCode::UNAUTHORIZED => {
                self.record_failure(client, &name);
            }
            Err(_) => {}
        }
        out
    }

    async fn authenticate_inner(
        &self,
        look: Lookup<'_>,
        header: Option<&[u8]>,
        client: Option<IpAddr>,
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
            self.basic(look, user, pw, client).await
        } else if scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token") {
            self.token(look, rest, client).await
        } else {
            self.audit_auth("unknown", false, scheme, client, "unsupported scheme");
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

    async fn basic(
        &self,
        look: Lookup<'_>,
        name: &str,
        pw: &str,
        client: Option<IpAddr>,
    ) -> Result<Principal, ApiError> {
        let bad = || ApiError::unauthorized("invalid user name or password");
        let key = self.cache_key(name, pw);
        let cached = {
            let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            cache.get(&key).cloned()
        };
        if let Some(entry) = cached {
            if entry.expires > Instant::now()
                && let Some(user) = look.user(entry.user_id).await?
                && !user.disabled
                && user.credential_epoch == entry.epoch
                && user.name == name
            {
                return Ok(Principal::user(user));
            }
            self.cache
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&key);
        }
        let user = look
            .store
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
                self.audit_auth(&user.name, true, "basic", client, "");
                Ok(Principal::user(user))
            }
            _ => {
                self.audit_auth(
                    name,
                    false,
                    "basic",
                    client,
                    "invalid user name or password",
                );
                Err(bad())
            }
        }
    }

    async fn token(
        &self,
        look: Lookup<'_>,
        secret: &str,
        client: Option<IpAddr>,
    ) -> Result<Principal, ApiError> {
        let bad = |why: &str, who: &str| {
            self.audit_auth(who, false, "token", client, why);
            ApiError::unauthorized("invalid, expired or revoked API token")
        };
        if secret.is_empty() {
            return Err(bad("empty token", "unknown"));
        }
        // Looked up by its SHA-256: the comparison is an index lookup of a hash, which reveals
        // nothing about the secret's bytes.
        let Some(token) = look.token(&hash_token(secret)).await? else {
            return Err(bad("unknown token", "unknown"));
        };
        let owner = token.user_id.to_string();
        if token.revoked {
            return Err(bad("revoked token", &owner));
        }
        if token.expires.is_some_and(|e| e <= crate::now_micros()) {
            return Err(bad("expired token", &owner));
        }
        let Some(user) = look.user(token.user_id).await? else {
            return Err(bad("token of a removed user", &owner));
        };
        if user.disabled {
            return Err(bad("disabled user", &user.name));
        }
        let first_use_in_a_while = {
            let now = Instant::now();
            let mut seen = self.token_seen.lock().unwrap_or_else(|p| p.into_inner());
            if seen.len() >= CACHE_MAX {
                seen.retain(|_, t| now.duration_since(*t) < TOKEN_AUDIT_EVERY);
            }
            match seen.get(&token.id) {
                Some(t) if now.duration_since(*t) < TOKEN_AUDIT_EVERY => false,
                _ => {
                    seen.insert(token.id, now);
                    true
                }
            }
        };
        if first_use_in_a_while {
            self.audit_auth(&user.name, true, "token", client, "");
        }
        Ok(Principal {
            user: Some(user),
            read_only: token.read_only,
            scope: token.collection,
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
