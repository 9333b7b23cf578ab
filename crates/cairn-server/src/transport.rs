//! Transport: HTTPS with rustls (ring provider, no OpenSSL), security headers on every response,
//! and the request-body limit of the methods that carry no body.
//!
//! TLS: [`TlsConfig::from_pem_files`] loads a PEM certificate chain and a PEM private key (PKCS#8,
//! PKCS#1 or SEC1) into a rustls server configuration (TLS 1.2 and 1.3, ALPN `http/1.1`).
//! [`crate::serve_tls`] runs the same axum application as [`crate::serve`] behind a listener that
//! accepts TCP connections on its own task and performs each handshake on a task of its own (at
//! most [`MAX_HANDSHAKES`] at a time, each bounded by [`HANDSHAKE_TIMEOUT`]), so a slow or silent
//! client never holds up the accept loop. A plain-HTTP request on the TLS port fails the handshake
//! and the connection is closed.
//!
//! Limits enforced here and by hyper's HTTP/1.1 defaults (axum does not change them):
//! - request line and headers together: at most 100 header fields (more: `431`) and a read
//!   buffer of 417,792 bytes (8 KiB + 100 × 4 KiB; a longer head: `431`);
//! - request target (URI): at most 65,534 bytes (longer: `414`);
//! - request body of `GET`, `HEAD`, `DELETE`, `OPTIONS` and any other method that is not `POST`,
//!   `PUT` or `PATCH`: at most [`BODYLESS_LIMIT`] bytes (more: `413` with a TAXII error message),
//!   checked here; the TAXII `POST` enforces its API root's `max_content_length` itself.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, HttpBody};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::ApiError;

/// Largest request body accepted on a method that carries no meaningful body (`GET`, `DELETE`, ...).
pub const BODYLESS_LIMIT: usize = 64 * 1024;

/// The most of an oversized body-less request's body read (and dropped) before answering 413.
const DRAIN_LIMIT: usize = 1024 * 1024;

/// How long a client may take to complete the TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// TLS handshakes in progress at once; further connections wait in the kernel's backlog.
pub const MAX_HANDSHAKES: usize = 256;

/// The `Strict-Transport-Security` value sent when serving HTTPS (one year).
pub const HSTS: &str = "max-age=31536000";

/// Why a certificate or key could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the TLS {what} file {path}: {source}")]
    Read {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the TLS {what} file {path} is not valid PEM: {detail}")]
    Pem {
        what: &'static str,
        path: PathBuf,
        detail: String,
    },
    #[error("the TLS {what} file {path} holds no {expected}")]
    Missing {
        what: &'static str,
        path: PathBuf,
        expected: &'static str,
    },
    #[error("the TLS certificate and key cannot be used together: {0}")]
    Rustls(#[from] rustls::Error),
}

/// A rustls server configuration built from PEM files; cheap to clone.
#[derive(Clone)]
pub struct TlsConfig(Arc<rustls::ServerConfig>);

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConfig").finish_non_exhaustive()
    }
}

impl TlsConfig {
    /// Load the certificate chain (leaf first) from `cert` and the private key from `key`, both PEM.
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<TlsConfig, TlsError> {
        let read = |what: &'static str, path: &Path| {
            std::fs::read(path).map_err(|source| TlsError::Read {
                what,
                path: path.to_path_buf(),
                source,
            })
        };
        let cert_pem = read("certificate", cert)?;
        let key_pem = read("key", key)?;
        let pem_error =
            |what: &'static str, path: &Path, e: rustls::pki_types::pem::Error| TlsError::Pem {
                what,
                path: path.to_path_buf(),
                detail: e.to_string(),
            };
        let chain = CertificateDer::pem_slice_iter(&cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| pem_error("certificate", cert, e))?;
        if chain.is_empty() {
            return Err(TlsError::Missing {
                what: "certificate",
                path: cert.to_path_buf(),
                expected: "CERTIFICATE section",
            });
        }
        let private_key = match PrivateKeyDer::from_pem_slice(&key_pem) {
            Ok(k) => k,
            Err(rustls::pki_types::pem::Error::NoItemsFound) => {
                return Err(TlsError::Missing {
                    what: "key",
                    path: key.to_path_buf(),
                    expected: "PRIVATE KEY section (PKCS#8, RSA or EC)",
                });
            }
            Err(e) => return Err(pem_error("key", key, e)),
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, private_key)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsConfig(Arc::new(config)))
    }
}

/// Accepted and handshaken TLS connections, for `axum::serve`.
pub(crate) struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
    _acceptor: AbortOnDrop,
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl TlsListener {
    pub(crate) fn new(tcp: TcpListener, config: &TlsConfig) -> std::io::Result<TlsListener> {
        let local = tcp.local_addr()?;
        let (tx, ready) = mpsc::channel(64);
        let acceptor = TlsAcceptor::from(config.0.clone());
        let task = tokio::spawn(accept_loop(tcp, acceptor, tx));
        Ok(TlsListener {
            ready,
            local,
            _acceptor: AbortOnDrop(task),
        })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(conn) => conn,
            // The accept task ended (it only does when this listener is dropped): no more
            // connections will come.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.local)
    }
}

/// Accept TCP connections and hand each to its own handshake task; completed handshakes go to
/// `ready`. Ends when the listener is dropped; dropping the `JoinSet` aborts the handshakes left.
async fn accept_loop(
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    ready: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    let mut handshakes = JoinSet::new();
    loop {
        if handshakes.len() >= MAX_HANDSHAKES {
            handshakes.join_next().await;
            continue;
        }
        tokio::select! {
            _ = ready.closed() => return,
            Some(_) = handshakes.join_next(), if !handshakes.is_empty() => {}
            accepted = tcp.accept() => match accepted {
                Ok((stream, addr)) => {
                    let acceptor = acceptor.clone();
                    let ready = ready.clone();
                    handshakes.spawn(async move {
                        match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                            Ok(Ok(tls)) => {
                                let _ = ready.send((tls, addr)).await;
                            }
                            Ok(Err(error)) => {
                                tracing::debug!(%addr, %error, "TLS handshake failed");
                            }
                            Err(_) => tracing::debug!(%addr, "TLS handshake timed out"),
                        }
                    });
                }
                Err(error) => {
                    use std::io::ErrorKind as K;
                    if !matches!(
                        error.kind(),
                        K::ConnectionRefused | K::ConnectionAborted | K::ConnectionReset
                    ) {
                        // Out of file descriptors and the like: wait for some to be freed.
                        tracing::error!(%error, "accept failed");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            },
        }
    }
}

/// The outermost layer of the application: refuse an oversized body on a method that carries no
/// body, and put the security headers on every response.
pub(crate) async fn harden(req: Request, next: Next) -> Response {
    let mut resp = match limit_bodyless(req).await {
        Ok(req) => next.run(req).await,
        Err(e) => e.into_response(),
    };
    security_headers(resp.headers_mut());
    resp
}

/// Headers sent on every response. `Cache-Control: no-store` unless the handler chose otherwise:
/// responses depend on who asks and on sharing grants that may be revoked at any time.
fn security_headers(h: &mut HeaderMap) {
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
    );
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
}

/// `Strict-Transport-Security` on every response served over TLS.
pub(crate) async fn hsts(mut resp: Response) -> Response {
    resp.headers_mut().insert(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static(HSTS),
    );
    resp
}

/// Refuse a body larger than [`BODYLESS_LIMIT`] on any method but `POST`, `PUT` and `PATCH`
/// (whose handlers set their own limits). A body declared or known to fit passes untouched.
async fn limit_bodyless(req: Request) -> Result<Request, ApiError> {
    if matches!(*req.method(), Method::POST | Method::PUT | Method::PATCH) {
        return Ok(req);
    }
    let too_large = |method: &Method| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Content Too Large",
            format!("a {method} request may carry a body of at most {BODYLESS_LIMIT} bytes"),
        )
    };
    let hint = req.body().size_hint();
    if hint.lower() > DRAIN_LIMIT as u64 {
        return Err(too_large(req.method()));
    }
    if hint.upper().is_some_and(|n| n <= BODYLESS_LIMIT as u64) {
        return Ok(req);
    }
    // Read the body: up to the limit it is kept; past it, up to DRAIN_LIMIT in all is read and
    // dropped so the client, still sending, gets the 413 instead of a reset connection.
    let (parts, mut body) = req.into_parts();
    let mut kept = Vec::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            ApiError::bad_request(format!("the request body could not be read: {e}"))
        })?;
        if let Some(data) = frame.data_ref() {
            seen += data.len();
            if seen > DRAIN_LIMIT {
                break;
            }
            if seen <= BODYLESS_LIMIT {
                kept.extend_from_slice(data);
            }
        }
    }
    if seen > BODYLESS_LIMIT {
        return Err(too_large(&parts.method));
    }
    let bytes = bytes::Bytes::from(kept);
    Ok(Request::from_parts(parts, Body::from(bytes)))
}
