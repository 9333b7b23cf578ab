//! Cairn's HTTP surface: the TAXII 2.1 server.
//!
//! [`router`] builds an axum [`Router`] over an `Arc<dyn cairn_store::Store>` and a [`ServerConfig`];
//! [`serve`] runs it until a shutdown future completes. Layout: discovery at `/taxii2/`, API roots
//! at `/taxii2/{root}/`, all 11 TAXII endpoints beneath them.
//!
//! Main pieces:
//! - [`auth`]: Argon2id passwords, API tokens, and the authenticator (HTTP Basic with a keyed cache
//!   of verified credentials, `Bearer`/`Token` API tokens).
//! - [`ApiError`]: the error catalog. Every failure, including axum's own rejections (405, bad
//!   path) and panics, is answered with a TAXII error message and
//!   `Content-Type: application/taxii+json;version=2.1`.
//! - `params`: query parameters (`match[...]`, `added_after`, `limit`, `next`) and the stateless
//!   `next` token: the keyset [`cairn_store::Cursor`] plus a fingerprint of the filters, signed with
//!   HMAC-SHA256 under the node secret kept in the store settings. Tokens are replayable, survive
//!   restarts and never continue a different query.
//! - `handlers`: the endpoints. Object pages are written by concatenating the stored JSON texts,
//!   never re-parsing them.
//! - [`api`]: the REST/JSON administration API under `/api/v1` (JSON errors, OpenAPI document).
//! - `metrics`: `/metrics` for `admin` users, the Prometheus text exposition of per-route HTTP
//!   counters and durations (recorded by the outermost layer) and of every subscription's sync
//!   state (read from the store at scrape time).
//! - `policy`: the caller and the collection for `cairn-policy`; a `peer` account reads what
//!   this node would push to its node, never what its organization supplied.
//! - [`transport`]: HTTPS with rustls ([`serve_tls`], [`TlsConfig`]), the security headers put on
//!   every response, the body limit of `GET`/`DELETE`/... requests, and hyper's header and URI
//!   limits.

pub mod api;
mod audit;
pub mod auth;
mod cache;
mod error;
mod handlers;
mod metrics;
mod negotiate;
mod params;
mod policy;
pub mod transport;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use cairn_store::Store;
use rand::RngCore;

pub use error::{ApiError, ServerError};
pub use transport::{TlsConfig, TlsError};

/// The TAXII 2.1 media type, sent on every response that has a body.
pub const TAXII_MEDIA_TYPE: &str = "application/taxii+json;version=2.1";

/// The store setting that holds this node's secret (hex): it signs `next` tokens and keys the
/// cache of verified credentials.
pub const NODE_SECRET_SETTING: &str = "server.node_secret";

/// Server settings.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The discovery title.
    pub title: String,
    /// The discovery description.
    pub description: Option<String>,
    /// Page size when a request gives no `limit`.
    pub default_page_size: usize,
    /// Largest page served; a larger `limit` is clamped to it.
    pub max_page_size: usize,
    /// Failed authentications one client address may make for one user name (or token) within
    /// a minute before it is answered 429 with `Retry-After` (1 s, doubling, at most 5 min);
    /// ten times as many over all names.
    pub auth_failures: u32,
    /// The key that seals peers' credentials (`/api/v1/peers`); `None`: federation
    /// administration over the API answers 503.
    pub peer_secrets: Option<std::sync::Arc<cairn_sync::SecretBox>>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            title: "Cairn TAXII 2.1".to_string(),
            description: None,
            default_page_size: 100,
            max_page_size: 1000,
            auth_failures: 5,
            peer_secrets: None,
        }
    }
}

/// What every request handler shares.
pub(crate) struct AppState {
    pub store: Arc<dyn Store>,
    pub config: ServerConfig,
    pub auth: auth::Authenticator,
    pub tokens: params::TokenSigner,
    pub audit: audit::AuditSink,
    /// Users, tokens, principals, API roots, collections and channels under the store's policy
    /// epoch.
    pub cache: cache::PolicyCache,
    /// Per-route HTTP counters and durations.
    pub metrics: metrics::HttpMetrics,
}

impl AppState {
    /// The lookups of a request that read `epoch` first.
    pub(crate) fn lookup(&self, epoch: Option<i64>) -> cache::Lookup<'_> {
        cache::Lookup {
            store: self.store.as_ref(),
            cache: &self.cache,
            epoch,
        }
    }
}

pub(crate) type SharedState = Arc<AppState>;

/// Microseconds since the Unix epoch, now.
pub(crate) fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Read this node's secret from the store settings, creating it on first use.
async fn node_secret(store: &dyn Store) -> Result<Vec<u8>, ServerError> {
    let decode = |hex: &str| -> Result<Vec<u8>, ServerError> {
        if hex.len() < 32 || !hex.len().is_multiple_of(2) {
            return Err(ServerError::BadSecret {
                key: NODE_SECRET_SETTING,
            });
        }
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16))
            .collect::<Result<Vec<u8>, _>>()
            .map_err(|_| ServerError::BadSecret {
                key: NODE_SECRET_SETTING,
            })
    };
    if let Some(hex) = store.get_setting(NODE_SECRET_SETTING).await? {
        return decode(&hex);
    }
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    store
        .set_setting(NODE_SECRET_SETTING, &auth::hex(&bytes))
        .await?;
    // Read back: if another server sharing the store wrote first, use its value.
    let stored = store
        .get_setting(NODE_SECRET_SETTING)
        .await?
        .unwrap_or_else(|| auth::hex(&bytes));
    decode(&stored)
}

/// Build the TAXII 2.1 application. Reads (or creates) the node secret in the store settings.
pub async fn router(store: Arc<dyn Store>, config: ServerConfig) -> Result<Router, ServerError> {
    let secret = node_secret(store.as_ref()).await?;
    let mut config = config;
    config.max_page_size = config.max_page_size.max(1);
    config.default_page_size = config.default_page_size.clamp(1, config.max_page_size);
    let audit = audit::AuditSink::start(store.clone());
    let auth = auth::Authenticator::new(&secret, audit.clone(), config.auth_failures);
    let state: SharedState = Arc::new(AppState {
        store,
        config,
        auth,
        tokens: params::TokenSigner::new(&secret),
        audit,
        cache: cache::PolicyCache::new(),
        metrics: metrics::HttpMetrics::new(),
    });
    use handlers as h;
    let app = Router::new()
        .route("/taxii2/", get(h::discovery))
        .route("/taxii2/{root}/", get(h::api_root))
        .route("/taxii2/{root}/status/{status}/", get(h::status))
        .route("/taxii2/{root}/collections/", get(h::collections))
        .route("/taxii2/{root}/collections/{coll}/", get(h::collection))
        .route(
            "/taxii2/{root}/collections/{coll}/manifest/",
            get(h::manifest),
        )
        .route(
            "/taxii2/{root}/collections/{coll}/objects/",
            get(h::get_objects).post(h::add_objects),
        )
        .route(
            "/taxii2/{root}/collections/{coll}/objects/{oid}/",
            get(h::get_object).delete(h::delete_object),
        )
        .route(
            "/taxii2/{root}/collections/{coll}/objects/{oid}/versions/",
            get(h::versions),
        )
        .route("/metrics", get(metrics::scrape))
        .merge(api::router())
        .fallback(h::fallback)
        .layer(middleware::from_fn_with_state(state.clone(), authenticate))
        .layer(middleware::map_response(taxii_errors))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            |_: Box<dyn std::any::Any + Send>| {
                ApiError::internal("the server failed while handling the request").into_response()
            },
        ))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .layer(middleware::from_fn(transport::harden))
        // Outermost (layers run after routing, so the matched route is known): every response
        // is counted, whatever answered it.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::record,
        ))
        .with_state(state);
    Ok(app)
}

/// Serve `app` on `listener` until `shutdown` completes, then finish the requests in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// Serve `app` over HTTPS on `listener` until `shutdown` completes, then finish the requests in
/// flight. Every response also carries `Strict-Transport-Security`. See [`transport`].
pub async fn serve_tls(
    listener: tokio::net::TcpListener,
    tls: TlsConfig,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    let app = app.layer(middleware::map_response(transport::hsts));
    // `tap_io` (a no-op here) gives the listener axum's `Connected` impl for its `SocketAddr`,
    // so `ConnectInfo<SocketAddr>` reaches the handlers as with plain HTTP.
    let listener = transport::TlsListener::new(listener, &tls)?.tap_io(|_| {});
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// Authenticate every request and resolve the caller for the sharing policy; the
/// `policy::Caller` goes into the request extensions. A request without an `Authorization`
/// header is anonymous: it reaches only what is published anonymously (401 elsewhere). The
/// store's policy epoch is read first, once per request: every lookup of the request is made
/// as of it (`cache`).
async fn authenticate(State(state): State<SharedState>, mut req: Request, next: Next) -> Response {
    let epoch = match state.store.policy_epoch().await {
        Ok(e) => e,
        Err(e) => return ApiError::store(e).into_response(),
    };
    let look = state.lookup(epoch);
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.as_bytes().to_vec());
    let client = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    let auth = match header {
        None => auth::Principal::anonymous(),
        Some(h) => match state.auth.authenticate(look, Some(&h), client).await {
            Ok(p) => p,
            Err(e) => return e.into_response(),
        },
    };
    match policy::caller(look, auth).await {
        Ok(caller) => {
            req.extensions_mut().insert(caller);
            next.run(req).await
        }
        Err(e) => e.into_response(),
    }
}

/// Turn any error response that is not already a TAXII error message (axum's rejections:
/// 405 Method Not Allowed, bad path parameters, ...) into one, keeping `Allow` and
/// `WWW-Authenticate`. Responses under `/api/` are the REST API's and get its JSON errors instead.
async fn taxii_errors(uri: axum::http::Uri, resp: Response) -> Response {
    if uri.path().starts_with("/api/") {
        return api::error::json_errors(resp).await;
    }
    let status = resp.status();
    let is_taxii = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == TAXII_MEDIA_TYPE.as_bytes());
    if status.as_u16() < 400 || is_taxii {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let mut description = String::from_utf8_lossy(&text).trim().to_string();
    if description.is_empty() {
        description = match status {
            StatusCode::METHOD_NOT_ALLOWED => "this method is not defined for this endpoint".into(),
            _ => status.canonical_reason().unwrap_or("error").to_string(),
        };
    }
    let title = status.canonical_reason().unwrap_or("Error");
    let mut out = ApiError::new(status, title, description).into_response();
    for name in [header::ALLOW, header::WWW_AUTHENTICATE] {
        if let Some(v) = parts.headers.get(&name) {
            out.headers_mut().insert(name, v.clone());
        }
    }
    out
}

/// The `Content-Type` header value of TAXII responses.
pub(crate) fn taxii_content_type() -> HeaderValue {
    HeaderValue::from_static(TAXII_MEDIA_TYPE)
}
