//! A scripted TAXII 2.1 server on 127.0.0.1:0: discovery, one API root, one collection (objects
//! GET and POST, manifest) and status resources. What it does on each request is read from a
//! shared [`Script`] the test changes between (or during) rounds: how it pages, which fault it
//! injects into the objects requests, how it answers POSTs. Every request is logged.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use cairn_stix::Timestamp;
use serde::Deserialize;
use serde_json::{Value, json};

pub const TAXII: &str = "application/taxii+json;version=2.1";
/// The bearer token the remote accepts (sealed in the local peer record).
pub const TOKEN: &str = "scripted-token";
pub const API_ROOT: &str = "api1";
pub const COLLECTION: &str = "91a7b528-80eb-42ed-a74d-c6fbd5a26116";
/// 2026-01-01T00:00:00Z: the remote's first date_added (then one second per version).
const FIRST_DATE: i64 = 1_767_225_600_000_000;
/// The most a page holds whatever `limit` asks.
const SERVER_PAGE_MAX: usize = 100;

/// How the remote pages `GET objects`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Paging {
    /// `limit` honoured, `more` + `next` tokens.
    #[default]
    Next,
    /// `limit` honoured, `more` without `next`: the client must follow
    /// `X-TAXII-Date-Added-Last` with `added_after`.
    MoreWithoutNext,
    /// `limit` ignored: everything at once.
    IgnoreLimit,
}

/// A fault injected into objects GETs.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Fault {
    /// This HTTP status (with `Retry-After` when given) and a TAXII error body, or `padding`
    /// bytes of other text instead (a proxy's page).
    Status {
        code: u16,
        #[serde(default)]
        retry_after: Option<String>,
        #[serde(default)]
        padding: Option<usize>,
    },
    /// Answer only after this long.
    Slow { millis: u64 },
    /// Headers and half the body at once, the rest after this long.
    Stall { millis: u64 },
    /// 200 with a truncated JSON body.
    Malformed,
    /// A valid page padded to `bytes` more (with Content-Length).
    Oversized { bytes: usize },
    /// The same, streamed in chunks without Content-Length.
    OversizedChunked { bytes: usize },
    /// Half the body, then the connection is dropped.
    Drop,
}

#[derive(Debug, Clone)]
pub struct RemoteObject {
    pub date_added: i64,
    pub id: String,
    /// `modified` (else `created`) as written.
    pub version: String,
    /// The JSON text served (and compared byte for byte with what the client stores).
    pub body: String,
}

/// One request as the remote saw it.
#[derive(Debug, Clone)]
pub struct Logged {
    pub method: &'static str,
    /// `objects`, `manifest`, `status`, `api-root`, `discovery`, `collection`.
    pub endpoint: &'static str,
    pub query: HashMap<String, String>,
    /// The response status.
    pub status: u16,
    /// POST body size.
    pub body_len: usize,
    /// Object ids of a POST envelope, in order.
    pub ids: Vec<String>,
}

/// What the remote holds and how it behaves.
#[derive(Debug, Default)]
pub struct Script {
    pub objects: Vec<RemoteObject>,
    pub paging: Paging,
    pub max_content_length: u64,
    fault: Option<Fault>,
    /// The objects GET (counted from 1 since the server started) from which the fault applies.
    fault_from: usize,
    objects_gets: usize,
    pub manifest_fails: bool,
    pub log: Vec<Logged>,
    /// POSTed objects failed the first time they arrive (then accepted).
    pub fail_once: HashSet<String>,
    /// POSTed objects always failed.
    pub fail_always: HashSet<String>,
    /// POST bodies larger than this get 413 (below `max_content_length`: a proxy in front).
    pub reject_over: Option<usize>,
    /// POSTs answer a pending status; the status resource is complete when polled.
    pub pending_first: bool,
    /// POSTs (counted from 1 since the server started) from this one on get a 500.
    pub fail_posts_from: Option<usize>,
    posts: usize,
    statuses: HashMap<String, Value>,
    next_date: i64,
}

impl Script {
    /// Store `body` as a new version (date_added one second after the previous one).
    pub fn add(&mut self, body: &Value) -> RemoteObject {
        let text = serde_json::to_string(body).expect("serializes");
        self.add_text(text)
    }

    fn add_text(&mut self, body: String) -> RemoteObject {
        let v: Value = serde_json::from_str(&body).expect("JSON");
        let id = v["id"].as_str().unwrap_or_default().to_string();
        let version = v
            .get("modified")
            .or_else(|| v.get("created"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if self.next_date == 0 {
            self.next_date = FIRST_DATE;
        }
        let o = RemoteObject {
            date_added: self.next_date,
            id,
            version,
            body,
        };
        self.next_date += 1_000_000;
        self.objects.push(o.clone());
        o
    }

    /// Objects GETs from the next one to fail with `fault`, starting with the `page`-th
    /// (1 = the next request).
    pub fn fail_from(&mut self, page: usize, fault: Fault) {
        self.fault = Some(fault);
        self.fault_from = self.objects_gets + page;
    }

    pub fn clear_fault(&mut self) {
        self.fault = None;
    }

    pub fn requests(&self, endpoint: &str) -> Vec<Logged> {
        self.log
            .iter()
            .filter(|l| l.endpoint == endpoint)
            .cloned()
            .collect()
    }

    /// POSTs the remote accepted (answered with a status).
    pub fn accepted_posts(&self) -> Vec<Logged> {
        self.log
            .iter()
            .filter(|l| l.method == "POST" && l.status == 202)
            .cloned()
            .collect()
    }

    /// Objects the remote received and stored, by id, in order of arrival.
    pub fn received_ids(&self) -> Vec<String> {
        self.accepted_posts()
            .into_iter()
            .flat_map(|l| l.ids)
            .collect()
    }

    /// The page of the query: (objects, more, next).
    fn select(&self, q: &HashMap<String, String>) -> (Vec<RemoteObject>, bool, Option<String>) {
        let after = q
            .get("added_after")
            .map(|a| Timestamp::parse(a).expect("added_after").unix_micros());
        let types: Option<Vec<&str>> = q.get("match[type]").map(|t| t.split(',').collect());
        let all: Vec<RemoteObject> = self
            .objects
            .iter()
            .filter(|o| after.is_none_or(|a| o.date_added > a))
            .filter(|o| {
                types
                    .as_ref()
                    .is_none_or(|t| t.iter().any(|t| o.id.starts_with(&format!("{t}--"))))
            })
            .cloned()
            .collect();
        if self.paging == Paging::IgnoreLimit {
            return (all, false, None);
        }
        let start = q
            .get("next")
            .map(|n| {
                n.strip_prefix('p')
                    .and_then(|n| n.parse::<usize>().ok())
                    .expect("a token of ours")
            })
            .unwrap_or(0)
            .min(all.len());
        let limit = q
            .get("limit")
            .and_then(|l| l.parse::<usize>().ok())
            .unwrap_or(SERVER_PAGE_MAX)
            .clamp(1, SERVER_PAGE_MAX);
        let end = (start + limit).min(all.len());
        let more = end < all.len();
        let next = (more && self.paging == Paging::Next).then(|| format!("p{end}"));
        (all[start..end].to_vec(), more, next)
    }
}

type Shared = Arc<Mutex<Script>>;

/// The running server.
pub struct Remote {
    pub addr: SocketAddr,
    script: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Remote {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Remote {
    pub async fn start() -> Remote {
        let script = Arc::new(Mutex::new(Script {
            max_content_length: 10 << 20,
            ..Script::default()
        }));
        let app = Router::new()
            .route("/taxii2/", get(discovery))
            .route("/{root}/", get(api_root))
            .route("/{root}/collections/", get(collections))
            .route("/{root}/collections/{id}/", get(collection))
            .route(
                "/{root}/collections/{id}/objects/",
                get(get_objects).post(post_objects),
            )
            .route("/{root}/collections/{id}/manifest/", get(manifest))
            .route("/{root}/status/{id}/", get(status))
            .with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Remote { addr, script, task }
    }

    /// A remote holding `objects`, in this order of date_added.
    pub async fn with_objects(objects: &[Value]) -> Remote {
        let r = Remote::start().await;
        for o in objects {
            r.script().add(o);
        }
        r
    }

    pub fn script(&self) -> MutexGuard<'_, Script> {
        self.script.lock().unwrap()
    }

    pub fn discovery_url(&self) -> String {
        format!("http://{}/taxii2/", self.addr)
    }

    pub fn api_root_url(&self) -> String {
        format!("http://{}/{API_ROOT}/", self.addr)
    }
}

fn taxii(status: StatusCode, body: impl Into<Body>) -> Response {
    let mut r = Response::new(body.into());
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(TAXII));
    r
}

fn error(status: StatusCode, title: &str) -> Response {
    taxii(status, json!({"title": title}).to_string())
}

/// A 401 unless the request carries the peer's token.
fn unauthorized(headers: &HeaderMap) -> Option<Response> {
    let want = format!("Bearer {TOKEN}");
    if headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        == Some(want.as_str())
    {
        None
    } else {
        Some(error(StatusCode::UNAUTHORIZED, "unauthenticated"))
    }
}

fn log(
    s: &Shared,
    method: &'static str,
    endpoint: &'static str,
    q: &HashMap<String, String>,
    status: u16,
) {
    s.lock().unwrap().log.push(Logged {
        method,
        endpoint,
        query: q.clone(),
        status,
        body_len: 0,
        ids: Vec::new(),
    });
}

async fn discovery(State(s): State<Shared>, headers: HeaderMap) -> Response {
    if let Some(r) = unauthorized(&headers) {
        return r;
    }
    log(&s, "GET", "discovery", &HashMap::new(), 200);
    taxii(
        StatusCode::OK,
        json!({"title": "Scripted", "default": format!("/{API_ROOT}/"), "api_roots": [format!("/{API_ROOT}/")]})
            .to_string(),
    )
}

async fn api_root(
    State(s): State<Shared>,
    Path(root): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = unauthorized(&headers) {
        return r;
    }
    if root != API_ROOT {
        return error(StatusCode::NOT_FOUND, "no such API root");
    }
    let max = s.lock().unwrap().max_content_length;
    log(&s, "GET", "api-root", &HashMap::new(), 200);
    taxii(
        StatusCode::OK,
        json!({"title": "Scripted root", "versions": [TAXII], "max_content_length": max})
            .to_string(),
    )
}

fn collection_info() -> Value {
    json!({
        "id": COLLECTION,
        "title": "Remote collection",
        "can_read": true,
        "can_write": true,
        "media_types": ["application/stix+json;version=2.1"]
    })
}

async fn collections(headers: HeaderMap) -> Response {
    if let Some(r) = unauthorized(&headers) {
        return r;
    }
    taxii(
        StatusCode::OK,
        json!({"collections": [collection_info()]}).to_string(),
    )
}

async fn collection(Path((_, id)): Path<(String, String)>, headers: HeaderMap) -> Response {
    if let Some(r) = unauthorized(&headers) {
        return r;
    }
    if id != COLLECTION {
        return error(StatusCode::NOT_FOUND, "no such collection");
    }
    taxii(StatusCode::OK, collection_info().to_string())
}

/// Two halves of `body`, split at a char boundary.
fn halves(body: &str) -> (Bytes, Bytes) {
    let mut mid = body.len() / 2;
    while !body.is_char_boundary(mid) {
        mid += 1;
    }
    (
        Bytes::copy_from_slice(&body.as_bytes()[..mid]),
        Bytes::copy_from_slice(&body.as_bytes()[mid..]),
    )
}

async fn get_objects(
    State(s): State<Shared>,
    Path((_, id)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = unauthorized(&headers) {
        return r;
    }
    if id != COLLECTION {
        return error(StatusCode::NOT_FOUND, "no such collection");
    }
    let (page, more, next, fault) = {
        let mut sc = s.lock().unwrap();
        sc.objects_gets += 1;
        let fault = sc
            .fault
            .clone()
            .filter(|_| sc.objects_gets >= sc.fault_from);
        let (page, more, next) = sc.select(&q);
        (page, more, next, fault)
    };
    let mut body = format!("{{\"more\":{more},");
    if let Some(n) = &next {
        body.push_str(&format!("\"next\":{},", json!(n)));
    }
    body.push_str("\"objects\":[");
    for (i, o) in page.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&o.body);
    }
    body.push_str("]}");
    let mut ok = taxii(StatusCode::OK, Body::empty());
    if let (Some(first), Some(last)) = (page.first(), page.last()) {
        let h = ok.headers_mut();
        h.insert(
            "x-taxii-date-added-first",
            HeaderValue::from_str(&Timestamp::format_micros(first.date_added)).unwrap(),
        );
        h.insert(
            "x-taxii-date-added-last",
            HeaderValue::from_str(&Timestamp::format_micros(last.date_added)).unwrap(),
        );
    }
    let (status, out) = match fault {
        None => {
            *ok.body_mut() = Body::from(body);
            (200, ok)
        }
        Some(Fault::Status {
            code,
            retry_after,
            padding,
        }) => {
            let code = StatusCode::from_u16(code).unwrap();
            let mut r = error(code, "scripted failure");
            if let Some(n) = padding {
                *r.body_mut() = Body::from(vec![b' '; n]);
            }
            if let Some(after) = retry_after {
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_str(&after).unwrap());
            }
            (code.as_u16(), r)
        }
        Some(Fault::Slow { millis }) => {
            tokio::time::sleep(Duration::from_millis(millis)).await;
            *ok.body_mut() = Body::from(body);
            (200, ok)
        }
        Some(Fault::Stall { millis }) => {
            let (a, b) = halves(&body);
            let stream = futures_util::stream::unfold(0u8, move |step| {
                let (a, b) = (a.clone(), b.clone());
                async move {
                    match step {
                        0 => Some((Ok::<_, std::io::Error>(a), 1)),
                        1 => {
                            tokio::time::sleep(Duration::from_millis(millis)).await;
                            Some((Ok(b), 2))
                        }
                        _ => None,
                    }
                }
            });
            *ok.body_mut() = Body::from_stream(stream);
            (200, ok)
        }
        Some(Fault::Malformed) => {
            let (a, _) = halves(&body);
            *ok.body_mut() = Body::from(a);
            (200, ok)
        }
        Some(Fault::Oversized { bytes }) => {
            body.push_str(&" ".repeat(bytes));
            *ok.body_mut() = Body::from(body);
            (200, ok)
        }
        Some(Fault::OversizedChunked { bytes }) => {
            body.push_str(&" ".repeat(bytes));
            let chunks: Vec<Result<Bytes, std::io::Error>> = body
                .as_bytes()
                .chunks(8192)
                .map(|c| Ok(Bytes::copy_from_slice(c)))
                .collect();
            *ok.body_mut() = Body::from_stream(futures_util::stream::iter(chunks));
            (200, ok)
        }
        Some(Fault::Drop) => {
            let (a, _) = halves(&body);
            let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
                Ok(a),
                Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "scripted drop",
                )),
            ];
            *ok.body_mut() = Body::from_stream(futures_util::stream::iter(chunks));
            (200, ok)
        }
    };
    log(&s, "GET", "objects", &q, status);
    out
}

async fn manifest(
    State(s): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = unauthorized(&headers) {
        return r;
    }
    let (page, more, next, fails) = {
        let sc = s.lock().unwrap();
        let (page, more, next) = sc.select(&q);
        (page, more, next, sc.manifest_fails)
    };
    if fails {
        log(&s, "GET", "manifest", &q, 500);
        return error(StatusCode::INTERNAL_SERVER_ERROR, "no manifest today");
    }
    log(&s, "GET", "manifest", &q, 200);
    let objects: Vec<Value> = page
        .iter()
        .map(|o| {
            json!({
                "id": o.id,
                "date_added": Timestamp::format_micros(o.date_added),
                "version": o.version,
                "media_type": "application/stix+json;version=2.1",
            })
        })
        .collect();
    let mut out = json!({"more": more, "objects": objects});
    if let Some(n) = next {
        out["next"] = json!(n);
    }
    taxii(StatusCode::OK, out.to_string())
}

async fn post_objects(
    State(s): State<Shared>,
    Path((_, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(r) = unauthorized(&headers) {
        return r;
    }
    if id != COLLECTION {
        return error(StatusCode::NOT_FOUND, "no such collection");
    }
    let mut sc = s.lock().unwrap();
    let mut logged = Logged {
        method: "POST",
        endpoint: "objects",
        query: HashMap::new(),
        status: 0,
        body_len: body.len(),
        ids: Vec::new(),
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    if content_type != Some(TAXII) {
        logged.status = 415;
        sc.log.push(logged);
        return error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "not TAXII");
    }
    sc.posts += 1;
    if sc.fail_posts_from.is_some_and(|n| sc.posts >= n) {
        logged.status = 500;
        sc.log.push(logged);
        return error(StatusCode::INTERNAL_SERVER_ERROR, "scripted failure");
    }
    if body.len() as u64 > sc.max_content_length || sc.reject_over.is_some_and(|m| body.len() > m) {
        logged.status = 413;
        sc.log.push(logged);
        return error(StatusCode::PAYLOAD_TOO_LARGE, "too large");
    }
    #[derive(Deserialize)]
    struct Envelope {
        objects: Vec<Box<serde_json::value::RawValue>>,
    }
    let Ok(env) = serde_json::from_slice::<Envelope>(&body) else {
        logged.status = 400;
        sc.log.push(logged);
        return error(StatusCode::BAD_REQUEST, "not an envelope");
    };
    let mut successes = Vec::new();
    let mut failures = Vec::new();
    for raw in env.objects {
        let v: Value = serde_json::from_str(raw.get()).unwrap();
        let id = v["id"].as_str().unwrap_or_default().to_string();
        let version = v["modified"].as_str().unwrap_or_default().to_string();
        logged.ids.push(id.clone());
        if sc.fail_always.contains(&id) || sc.fail_once.remove(&id) {
            failures.push(json!({"id": id, "version": version, "message": "scripted failure"}));
            continue;
        }
        let present = sc
            .objects
            .iter()
            .any(|o| o.id == id && o.version == version);
        if present {
            successes.push(
                json!({"id": id, "version": version, "message": cairn_store::ALREADY_PRESENT}),
            );
        } else {
            sc.add_text(raw.get().to_string());
            successes.push(json!({"id": id, "version": version}));
        }
    }
    let status_id = uuid::Uuid::new_v4().to_string();
    let complete = json!({
        "id": status_id,
        "status": "complete",
        "total_count": successes.len() + failures.len(),
        "success_count": successes.len(),
        "failure_count": failures.len(),
        "pending_count": 0,
        "successes": successes,
        "failures": failures,
    });
    let answer = if sc.pending_first {
        let pendings: Vec<Value> = logged
            .ids
            .iter()
            .map(|id| json!({"id": id, "version": ""}))
            .collect();
        json!({
            "id": status_id,
            "status": "pending",
            "total_count": pendings.len(),
            "success_count": 0,
            "failure_count": 0,
            "pending_count": pendings.len(),
            "pendings": pendings,
        })
    } else {
        complete.clone()
    };
    sc.statuses.insert(status_id, complete);
    logged.status = 202;
    sc.log.push(logged);
    taxii(StatusCode::ACCEPTED, answer.to_string())
}

async fn status(
    State(s): State<Shared>,
    Path((_, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = unauthorized(&headers) {
        return r;
    }
    let found = s.lock().unwrap().statuses.get(&id).cloned();
    match found {
        Some(st) => {
            log(&s, "GET", "status", &HashMap::new(), 200);
            taxii(StatusCode::OK, st.to_string())
        }
        None => error(StatusCode::NOT_FOUND, "no such status"),
    }
}
