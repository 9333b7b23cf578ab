//! Peers' credentials at rest. A node has to present a partner's token or password, so it
//! cannot keep only a hash of it: the credential is sealed with AES-256-GCM under a key kept
//! outside the database (`<data-dir>/peer-secrets.key`, 32 random bytes, mode 0600), with the
//! peer's name as associated data (a sealed credential copied onto another peer's row does not
//! open). A copy of the database alone reveals no credential.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};

/// The file name of the key in the data directory.
pub const KEY_FILE: &str = "peer-secrets.key";
const PREFIX: &str = "v1:";

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("peer secrets key {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("peer secrets key {0} is not 32 bytes")]
    BadKey(PathBuf),
    #[error("the sealed credential of peer {0:?} does not open with this node's key")]
    Unseal(String),
    #[error("no randomness available")]
    Random,
}

/// How this node authenticates to a peer.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Credential {
    /// `Authorization: Bearer <token>`.
    Token { token: String },
    /// HTTP Basic.
    Basic { user: String, password: String },
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credential::Token { .. } => f.write_str("Credential::Token(***)"),
            Credential::Basic { user, .. } => write!(f, "Credential::Basic({user}, ***)"),
        }
    }
}

impl Credential {
    /// The `Authorization` header value.
    pub fn authorization(&self) -> String {
        match self {
            Credential::Token { token } => format!("Bearer {token}"),
            Credential::Basic { user, password } => {
                format!("Basic {}", B64.encode(format!("{user}:{password}")))
            }
        }
    }

    /// What may be shown of it (never the secret).
    pub fn describe(&self) -> String {
        match self {
            Credential::Token { .. } => "bearer token".to_string(),
            Credential::Basic { user, .. } => format!("basic, user {user}"),
        }
    }
}

/// Seals and opens peers' credentials with this node's key.
pub struct SecretBox {
    key: LessSafeKey,
    rng: SystemRandom,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(***)")
    }
}

impl SecretBox {
    /// The key of the data directory `dir`, created (0600) on first use.
    pub fn open_dir(dir: &Path) -> Result<SecretBox, SecretError> {
        let path = dir.join(KEY_FILE);
        let io = |source| SecretError::Io {
            path: path.clone(),
            source,
        };
        match std::fs::read(&path) {
            Ok(bytes) => SecretBox::from_key(&bytes).ok_or(SecretError::BadKey(path)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                SystemRandom::new()
                    .fill(&mut key)
                    .map_err(|_| SecretError::Random)?;
                std::fs::create_dir_all(dir).map_err(io)?;
                write_private(&path, &key).map_err(io)?;
                // Another process may have won the race: use what is on disk.
                let bytes = std::fs::read(&path).map_err(io)?;
                SecretBox::from_key(&bytes).ok_or(SecretError::BadKey(path))
            }
            Err(e) => Err(io(e)),
        }
    }

    /// A box over 32 key bytes.
    pub fn from_key(bytes: &[u8]) -> Option<SecretBox> {
        let key = UnboundKey::new(&AES_256_GCM, bytes).ok()?;
        Some(SecretBox {
            key: LessSafeKey::new(key),
            rng: SystemRandom::new(),
        })
    }

    /// Seal `cred` for the peer named `peer`.
    pub fn seal(&self, peer: &str, cred: &Credential) -> Result<String, SecretError> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).map_err(|_| SecretError::Random)?;
        let mut data = serde_json::to_vec(cred).expect("a credential serializes");
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(peer.as_bytes()),
                &mut data,
            )
            .map_err(|_| SecretError::Random)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        Ok(format!("{PREFIX}{}", B64.encode(out)))
    }

    /// Open what [`SecretBox::seal`] sealed for `peer`.
    pub fn open(&self, peer: &str, sealed: &str) -> Result<Credential, SecretError> {
        let bad = || SecretError::Unseal(peer.to_string());
        let raw = sealed
            .strip_prefix(PREFIX)
            .and_then(|b| B64.decode(b).ok())
            .ok_or_else(bad)?;
        if raw.len() < NONCE_LEN {
            return Err(bad());
        }
        let (nonce, ct) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| bad())?;
        let mut ct = ct.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(peer.as_bytes()), &mut ct)
            .map_err(|_| bad())?;
        serde_json::from_slice(plain).map_err(|_| bad())
    }
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(mut f) => {
            f.write_all(bytes)?;
            f.sync_all()
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_binding() {
        let dir = tempfile::tempdir().unwrap();
        let sb = SecretBox::open_dir(dir.path()).unwrap();
        let cred = Credential::Basic {
            user: "kr-sync".into(),
            password: "s3cret".into(),
        };
        let sealed = sb.seal("us-cert", &cred).unwrap();
        assert!(!sealed.contains("s3cret"));
        assert_eq!(sb.open("us-cert", &sealed).unwrap(), cred);
        // Bound to the peer name.
        assert!(sb.open("other", &sealed).is_err());
        // The same key after reopening; another key does not open it.
        let again = SecretBox::open_dir(dir.path()).unwrap();
        assert_eq!(again.open("us-cert", &sealed).unwrap(), cred);
        let other = tempfile::tempdir().unwrap();
        assert!(
            SecretBox::open_dir(other.path())
                .unwrap()
                .open("us-cert", &sealed)
                .is_err()
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(!format!("{cred:?}").contains("s3cret"));
    }
}
