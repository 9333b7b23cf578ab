//! `/metrics`: the Prometheus text exposition (version 0.0.4, `prometheus-client`), readable by
//! `admin` users only (Basic or a token not scoped to a collection; anonymous: 401 as for every
//! path, anyone else: 403).
//!
//! - HTTP, recorded by [`record`] (the outermost layer, after routing: it sees every response,
//!   401s, 404s and caught panics included): `cairn_http_requests_total{method,route,status}`
//!   and `cairn_http_request_duration_seconds{method,route}` (until the response head). `route`
//!   is axum's matched route template (`/taxii2/{root}/collections/{coll}/objects/`), or
//!   `unmatched`; `method` is one of the standard methods or `other`, so that no label takes
//!   values a client chooses.
//! - Federation, read from the store at scrape time, one series per subscription with labels
//!   `{peer, direction, subscription}`: `cairn_sync_transferred_total`,
//!   `cairn_sync_duplicates_total`, `cairn_sync_refused_by_policy_total`,
//!   `cairn_sync_rejected_total`, `cairn_sync_skipped_total`, `cairn_sync_failures`
//!   (consecutive failed rounds), `cairn_sync_last_success_timestamp_seconds`,
//!   `cairn_sync_last_error_timestamp_seconds`, and when known `cairn_sync_lag_objects` and
//!   `cairn_sync_lag_seconds` (now − the start of the last round that caught up).

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::time::Instant;

use axum::Extension;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use cairn_store::{Role, Store, StoreError};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use uuid::Uuid;

use crate::error::ApiError;
use crate::policy::Caller;
use crate::{SharedState, now_micros};

/// Upper bounds (seconds) of the request duration buckets.
const DURATION_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: &'static str,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SyncLabels {
    peer: String,
    direction: &'static str,
    subscription: String,
}

type DurationFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

/// The HTTP metrics of one router.
pub(crate) struct HttpMetrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    duration: DurationFamily,
}

impl HttpMetrics {
    pub fn new() -> HttpMetrics {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        let duration: DurationFamily =
            Family::new_with_constructor(|| Histogram::new(DURATION_BUCKETS));
        registry.register(
            "cairn_http_requests",
            "HTTP requests answered, by method, matched route and status",
            requests.clone(),
        );
        registry.register(
            "cairn_http_request_duration_seconds",
            "Time to answer an HTTP request (until the response head), by method and matched route",
            duration.clone(),
        );
        HttpMetrics {
            registry,
            requests,
            duration,
        }
    }

    fn observe(&self, method: &'static str, route: String, status: StatusCode, secs: f64) {
        self.requests
            .get_or_create(&RequestLabels {
                method,
                route: route.clone(),
                status: status.as_u16(),
            })
            .inc();
        self.duration
            .get_or_create(&RouteLabels { method, route })
            .observe(secs);
    }
}

/// A method as a label value: the standard ones by name, anything else `other`.
fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

/// The middleware that counts and times every request.
pub(crate) async fn record(State(st): State<SharedState>, req: Request, next: Next) -> Response {
    let method = method_label(req.method());
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let start = Instant::now();
    let resp = next.run(req).await;
    st.metrics
        .observe(method, route, resp.status(), start.elapsed().as_secs_f64());
    resp
}

/// `GET /metrics`.
pub(crate) async fn scrape(
    State(st): State<SharedState>,
    Extension(p): Extension<Caller>,
) -> Result<Response, ApiError> {
    let Some(user) = p.user() else {
        return Err(ApiError::unauthorized(
            "authentication required: HTTP Basic or an API token (Authorization: Bearer <token>)",
        ));
    };
    if user.role != Role::Admin || p.auth.scope.is_some() {
        return Err(ApiError::forbidden(
            "the metrics are for admin users (with a token not scoped to a collection)",
        ));
    }
    let sync = sync_registry(st.store.as_ref(), now_micros())
        .await
        .map_err(ApiError::store)?;
    let mut body = String::with_capacity(8192);
    prometheus_text::encode(&mut body, &st.metrics.registry)
        .and_then(|()| prometheus_text::encode(&mut body, &sync))
        .map_err(|_| ApiError::internal("encoding the metrics failed"))?;
    let mut resp = (StatusCode::OK, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(prometheus_text::CONTENT_TYPE),
    );
    Ok(resp)
}

/// The federation metrics as the store holds them at `now` (microseconds).
async fn sync_registry(store: &dyn Store, now: i64) -> Result<Registry, StoreError> {
    let mut r = Registry::default();
    let counter = |r: &mut Registry, name: &str, help: &str| {
        let f = Family::<SyncLabels, Counter>::default();
        r.register(name, help, f.clone());
        f
    };
    let transferred = counter(
        &mut r,
        "cairn_sync_transferred",
        "Versions stored (pull) or accepted by the remote (push)",
    );
    let duplicates = counter(
        &mut r,
        "cairn_sync_duplicates",
        "Versions the other side already held",
    );
    let refused = counter(
        &mut r,
        "cairn_sync_refused_by_policy",
        "Versions the release policy kept from leaving (push) or that came from the peer itself",
    );
    let rejected = counter(
        &mut r,
        "cairn_sync_rejected",
        "Versions refused as invalid (pull: by validation here; push: by the remote)",
    );
    let skipped = counter(
        &mut r,
        "cairn_sync_skipped",
        "Versions the subscription's filter passed over",
    );
    let failures = Family::<SyncLabels, Gauge>::default();
    r.register(
        "cairn_sync_failures",
        "Failed rounds since the last success",
        failures.clone(),
    );
    let seconds = |r: &mut Registry, name: &str, help: &str| {
        let f = Family::<SyncLabels, Gauge<f64, AtomicU64>>::default();
        r.register(name, help, f.clone());
        f
    };
    let last_success = seconds(
        &mut r,
        "cairn_sync_last_success_timestamp_seconds",
        "When the last successful round ended (Unix time)",
    );
    let last_error = seconds(
        &mut r,
        "cairn_sync_last_error_timestamp_seconds",
        "When the last failed round ended (Unix time)",
    );
    let lag_objects = Family::<SyncLabels, Gauge>::default();
    r.register(
        "cairn_sync_lag_objects",
        "Versions known to be waiting at the end of the last round",
        lag_objects.clone(),
    );
    let lag_seconds = seconds(
        &mut r,
        "cairn_sync_lag_seconds",
        "Seconds since the start of the last round that caught up",
    );

    let mut peers: HashMap<Uuid, String> = HashMap::new();
    for sub in store.list_subscriptions().await? {
        let peer = match peers.get(&sub.peer_id) {
            Some(name) => name.clone(),
            None => {
                let name = store
                    .get_peer(&sub.peer_id.to_string())
                    .await?
                    .map_or_else(|| sub.peer_id.to_string(), |p| p.name);
                peers.insert(sub.peer_id, name.clone());
                name
            }
        };
        let s = store.sync_state(sub.id).await?;
        let l = SyncLabels {
            peer,
            direction: sub.direction.as_str(),
            subscription: sub.id.to_string(),
        };
        for (f, n) in [
            (&transferred, s.transferred),
            (&duplicates, s.duplicates),
            (&refused, s.refused_by_policy),
            (&rejected, s.rejected),
            (&skipped, s.skipped),
        ] {
            f.get_or_create(&l).inc_by(n);
        }
        failures
            .get_or_create(&l)
            .set(i64::try_from(s.failures).unwrap_or(i64::MAX));
        let secs = |micros: i64| micros as f64 / 1e6;
        if let Some(t) = s.last_success {
            last_success.get_or_create(&l).set(secs(t));
        }
        if let Some(t) = s.last_error_at {
            last_error.get_or_create(&l).set(secs(t));
        }
        if let Some(n) = s.lag_objects {
            lag_objects
                .get_or_create(&l)
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
        if let Some(t) = s.caught_up_at {
            lag_seconds
                .get_or_create(&l)
                .set(secs(now.saturating_sub(t)).max(0.0));
        }
    }
    Ok(r)
}
