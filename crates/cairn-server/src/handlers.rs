//! The TAXII 2.1 endpoints. Each handler checks, in this order: API root and collection exist and
//! are visible (404), `Accept` (406), `Content-Type` (415), permission (403), body size (413), then
//! parameters and body (400/422).
//!
//! Reads (objects, object, manifest, versions) and deletes run under the caller's
//! `policy::ReadView`: for a `peer` account, what this node would push to its node, without the
//! versions its own organization supplied; the exclusion is bound into `next` tokens. What a
//! peer account posts is stored with its organization as origin (a provenance row per version).

use axum::Extension;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use cairn_policy::CollectionPolicy;
use cairn_stix::Timestamp;
use cairn_store::{
    AddRequest, ApiRoot, Collection, DeleteSpec, NewVersion, ObjectQuery, Origin, Page, ReadAccess,
    Status, StatusDetail, VersionFilter,
};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::error::ApiError;
use crate::negotiate::{check_accept, check_content_type};
use crate::params::{Endpoint, Filters};
use crate::policy::{self, Caller};
use crate::{SharedState, TAXII_MEDIA_TYPE, now_micros, taxii_content_type};

type Result<T, E = ApiError> = std::result::Result<T, E>;

const MEDIA_TYPES: [&str; 2] = [
    "application/stix+json;version=2.1",
    "application/stix+json;version=2.0",
];
const DATE_ADDED_FIRST: HeaderName = HeaderName::from_static("x-taxii-date-added-first");
const DATE_ADDED_LAST: HeaderName = HeaderName::from_static("x-taxii-date-added-last");

fn taxii_response(status: StatusCode, body: impl Into<Body>) -> Response {
    let mut resp = (status, body.into()).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, taxii_content_type());
    resp
}

fn json_ok(v: &Value) -> Response {
    taxii_response(StatusCode::OK, v.to_string())
}

/// Requests to a path the server does not define. A path without its trailing slash is
/// redirected (308) to the same path with one; anything else is 404.
pub async fn fallback(caller: Option<Extension<Caller>>, uri: Uri) -> Response {
    if caller.is_none_or(|Extension(c)| c.user().is_none()) {
        return hidden_anonymous();
    }
    let path = uri.path();
    if !path.ends_with('/') {
        let location = match uri.query() {
            Some(q) => format!("{path}/?{q}"),
            None => format!("{path}/"),
        };
        if let Ok(loc) = HeaderValue::from_str(&location) {
            let mut resp = StatusCode::PERMANENT_REDIRECT.into_response();
            resp.headers_mut().insert(header::LOCATION, loc);
            return resp;
        }
    }
    ApiError::not_found(format!("no TAXII endpoint at {path}")).into_response()
}

// ---------------------------------------------------------------------------------------------
// Access

/// A collection as the requesting client sees it.
struct Access {
    root: ApiRoot,
    coll: Collection,
    policy: CollectionPolicy,
    can_read: bool,
    can_write: bool,
}

async fn api_root_named(st: &SharedState, p: &Caller, name: &str) -> Result<ApiRoot> {
    st.lookup(p.epoch)
        .api_root(name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no API root named {name:?}")))
}

fn hidden_anonymous() -> Response {
    ApiError::unauthorized(
        "authentication required: HTTP Basic or an API token (Authorization: Bearer <token>)",
    )
    .into_response()
}

/// An anonymous caller is told to authenticate, not that something does not exist.
fn hidden(p: &Caller, not_found: ApiError) -> ApiError {
    if p.user().is_none() {
        ApiError::unauthorized(
            "authentication required: HTTP Basic or an API token (Authorization: Bearer <token>)",
        )
    } else {
        not_found
    }
}

/// Does any collection of `root` (any root when `None`) accept anonymous readers?
async fn anonymous_collections(st: &SharedState, root: Option<&str>) -> Result<bool> {
    let roots = match root {
        Some(r) => vec![r.to_string()],
        None => st
            .store
            .list_api_roots()
            .await
            .map_err(ApiError::store)?
            .into_iter()
            .map(|r| r.name)
            .collect(),
    };
    for r in roots {
        let colls = st
            .store
            .list_collections(&r)
            .await
            .map_err(ApiError::store)?;
        if colls.iter().any(|c| c.anonymous_read) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Anonymous callers reach discovery, API roots and collection lists only where something is
/// published anonymously.
async fn require_identity_or_public(
    st: &SharedState,
    p: &Caller,
    root: Option<&str>,
) -> Result<()> {
    if p.user().is_some() || anonymous_collections(st, root).await? {
        Ok(())
    } else {
        Err(hidden(p, ApiError::not_found("")))
    }
}

async fn access(st: &SharedState, p: &Caller, root: &str, coll: &str) -> Result<Access> {
    let look = st.lookup(p.epoch);
    let root = match api_root_named(st, p, root).await {
        Ok(r) => r,
        Err(e) => return Err(hidden(p, e)),
    };
    let not_found = || {
        hidden(
            p,
            ApiError::not_found(format!(
                "no collection {coll:?} in API root {:?}",
                root.name
            )),
        )
    };
    let c = look
        .collection(&root.name, coll)
        .await?
        .ok_or_else(not_found)?;
    let policy = policy::collection_policy(look, &c).await?;
    let (can_read, can_write) = policy::rights(p, &c, &policy).ok_or_else(not_found)?;
    Ok(Access {
        root,
        coll: c,
        policy,
        can_read,
        can_write,
    })
}

fn require_read(a: &Access) -> Result<()> {
    if a.can_read {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "you may not read collection {}",
            a.coll.id
        )))
    }
}

fn collection_json(c: &Collection, can_read: bool, can_write: bool) -> Value {
    let mut v = json!({
        "id": c.id.to_string(),
        "title": c.title,
    });
    let m = v.as_object_mut().expect("object literal");
    if let Some(d) = &c.description {
        m.insert("description".into(), json!(d));
    }
    if let Some(a) = &c.alias {
        m.insert("alias".into(), json!(a));
    }
    m.insert("can_read".into(), json!(can_read));
    m.insert("can_write".into(), json!(can_write));
    m.insert("media_types".into(), json!(MEDIA_TYPES));
    v
}

// ---------------------------------------------------------------------------------------------
// Discovery, API root, status, collections

pub async fn discovery(
    State(st): State<SharedState>,
    Extension(p): Extension<Caller>,
    headers: HeaderMap,
) -> Result<Response> {
    require_identity_or_public(&st, &p, None).await?;
    check_accept(&headers)?;
    let roots = st.store.list_api_roots().await.map_err(ApiError::store)?;
    let mut v = json!({ "title": st.config.title });
    let m = v.as_object_mut().expect("object literal");
    if let Some(d) = &st.config.description {
        m.insert("description".into(), json!(d));
    }
    if let Some(r) = roots.iter().find(|r| r.is_default) {
        m.insert("default".into(), json!(format!("/taxii2/{}/", r.name)));
    }
    if !roots.is_empty() {
        let urls: Vec<String> = roots
            .iter()
            .map(|r| format!("/taxii2/{}/", r.name))
            .collect();
        m.insert("api_roots".into(), json!(urls));
    }
    Ok(json_ok(&v))
}

pub async fn api_root(
    State(st): State<SharedState>,
    Extension(p): Extension<Caller>,
    Path(root): Path<String>,
    headers: HeaderMap,
) -> Result<Response> {
    require_identity_or_public(&st, &p, Some(&root)).await?;
    let r = api_root_named(&st, &p, &root).await?;
    check_accept(&headers)?;
    let mut v = json!({
        "title": r.title,
        "versions": [TAXII_MEDIA_TYPE],
        "max_content_length": r.max_content_length,
    });
    if let Some(d) = &r.description {
        v.as_object_mut()
            .expect("object literal")
            .insert("description".into(), json!(d));
    }
    Ok(json_ok(&v))
}

#[derive(Serialize)]
struct DetailJson<'a> {
    id: &'a str,
    version: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
}

fn details(list: &[StatusDetail]) -> Option<Vec<DetailJson<'_>>> {
    (!list.is_empty()).then(|| {
        list.iter()
            .map(|d| DetailJson {
                id: &d.id,
                version: &d.version,
                message: d.message.as_deref(),
            })
            .collect()
    })
}

#[derive(Serialize)]
struct StatusJson<'a> {
    id: String,
    status: &'static str,
    request_timestamp: String,
    total_count: u64,
    success_count: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    successes: Option<Vec<DetailJson<'a>>>,
    failure_count: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    failures: Option<Vec<DetailJson<'a>>>,
    pending_count: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pendings: Option<Vec<DetailJson<'a>>>,
}

fn status_body(s: &Status) -> String {
    let j = StatusJson {
        id: s.id.to_string(),
        status: if s.complete { "complete" } else { "pending" },
        request_timestamp: Timestamp::format_micros(s.request_timestamp),
        total_count: s.total_count,
        success_count: s.successes.len() as u64,
        successes: details(&s.successes),
        failure_count: s.failures.len() as u64,
        failures: details(&s.failures),
        pending_count: s.pendings.len() as u64,
        pendings: details(&s.pendings),
    };
    serde_json::to_string(&j).expect("plain struct")
}

pub async fn status(
    State(st): State<SharedState>,
    Extension(p): Extension<Caller>,
    Path((root, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response> {
    let Some(me) = p.user() else {
        return Err(hidden(&p, ApiError::not_found("")));
    };
    let r = api_root_named(&st, &p, &root).await?;
    let not_found = || ApiError::not_found(format!("no status {id:?} in API root {:?}", r.name));
    let uuid = Uuid::parse_str(&id).map_err(|_| not_found())?;
    let s = st
        .store
        .get_status(&r.name, uuid)
        .await
        .map_err(ApiError::store)?
        .ok_or_else(not_found)?;
    // A status names the objects of a request: only the requester's organization reads it.
    if let Some(owner) = s.owner {
        let owner_org = st
            .store
            .get_user(owner)
            .await
            .map_err(ApiError::store)?
            .map(|u| u.org_id);
        if owner_org != Some(me.org_id) {
            return Err(not_found());
        }
    }
    check_accept(&headers)?;
    Ok(taxii_response(StatusCode::OK, status_body(&s)))
}

pub async fn collections(
    State(st): State<SharedState>,
    Extension(p): Extension<Caller>,
    Path(root): Path<String>,
    headers: HeaderMap,
) -> Result<Response> {
    require_identity_or_public(&st, &p, Some(&root)).await?;
    let r = api_root_named(&st, &p, &root).await?;
    check_accept(&headers)?;
    let all = st
        .store
        .list_collections(&r.name)
        .await
        .map_err(ApiError::store)?;
    let mut out = Vec::new();
    for c in &all {
        let policy = policy::collection_policy(st.lookup(p.epoch), c).await?;
        if let Some((cr, cw)) = policy::rights(&p, c, &policy) {
            out.push(collection_json(c, cr, cw));
        }
    }
    let v = if out.is_empty() {
        json!({})
    } else {
        json!({ "collections": out })
    };
    Ok(json_ok(&v))
}

pub async fn collection(
    State(st): State<SharedState>,
    Extension(p): Extension<Caller>,
    Path((root, coll)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response> {
    let a = access(&st, &p, &root, &coll).await?;
    check_accept(&headers)?;
    Ok(json_ok(&collection_json(&a.coll, a.can_read, a.can_write)))
}

// ---------------------------------------------------------------------------------------------
// Reading objects, manifest, versions

struct PageOut {
    page: Page,
    next: Option<String>,
}

/// What a read request addresses: API root, collection, and (endpoints 9, 11) one object.
struct Target<'a> {
    root: &'a str,
    coll: &'a str,
    object: Option<&'a str>,
}

/// The common read path of endpoints 6, 7, 9 and 11: access, negotiation, parameters, the
/// `next` token (verified against these very filters), the query, and the next token to send.
async fn read_page(
    st: &SharedState,
    p: &Caller,
    target: Target<'_>,
    endpoint: Endpoint,
    headers: &HeaderMap,
    uri: &Uri,
) -> Result<PageOut> {
    let object = target.object;
    let a = access(st, p, target.root, target.coll).await?;
    check_accept(headers)?;
    require_read(&a)?;
    let f = Filters::parse(uri.query(), endpoint)?;
    let view = policy::read_view(st.store.as_ref(), p, &a.policy).await?;
    let coll_key = format!("{}/{}", a.root.name, a.coll.id);
    let fingerprint = f.fingerprint(endpoint, &coll_key, object, view.exclude_origin);
    let after = match &f.next {
        Some(t) => Some(st.tokens.decode(t, &fingerprint)?),
        None => None,
    };
    let read = ReadAccess::Filter(view.filter.clone());
    if let Some(oid) = object {
        // Exists for this caller: some version it may see.
        let probe = ObjectQuery {
            collection: a.coll.id,
            object_id: Some(oid.to_string()),
            versions: VersionFilter {
                all: true,
                ..VersionFilter::default()
            },
            spec_versions: vec!["2.0".into(), "2.1".into()],
            limit: 1,
            read: read.clone(),
            exclude_origin: view.exclude_origin,
            ..ObjectQuery::default()
        };
        let exists = !st
            .store
            .query(&probe)
            .await
            .map_err(ApiError::store)?
            .records
            .is_empty();
        if !exists {
            return Err(ApiError::not_found(format!(
                "no object {oid:?} in collection {}",
                a.coll.id
            )));
        }
    }
    let limit = f
        .limit
        .unwrap_or(st.config.default_page_size)
        .min(st.config.max_page_size);
    let versions = if endpoint == Endpoint::Versions {
        VersionFilter {
            all: true,
            ..VersionFilter::default()
        }
    } else {
        f.versions.clone()
    };
    let q = ObjectQuery {
        collection: a.coll.id,
        object_id: object.map(str::to_string),
        ids: f.ids.clone(),
        types: f.types.clone(),
        versions,
        spec_versions: f.spec_versions.clone(),
        added_after: f.added_after,
        after,
        limit,
        with_bodies: matches!(endpoint, Endpoint::Objects | Endpoint::Object),
        read: read.clone(),
        exclude_origin: view.exclude_origin,
    };
    let mut page = st.store.query(&q).await.map_err(ApiError::store)?;
    if page.records.is_empty() && endpoint == Endpoint::Object && f.exact_versions_only() {
        // 404 when none of the versions asked for exists at all (whatever the other filters).
        let mut spec_versions: Vec<String> = vec!["2.0".into(), "2.1".into()];
        spec_versions.extend(f.spec_versions.iter().cloned());
        let probe = ObjectQuery {
            collection: a.coll.id,
            object_id: object.map(str::to_string),
            versions: f.versions.clone(),
            spec_versions,
            limit: 1,
            read,
            exclude_origin: view.exclude_origin,
            ..ObjectQuery::default()
        };
        let any = st.store.query(&probe).await.map_err(ApiError::store)?;
        if any.records.is_empty() {
            return Err(ApiError::not_found(
                "none of the requested versions of the object exists",
            ));
        }
    }
    let next = match (page.more, page.records.last()) {
        (true, Some(last)) => Some(st.tokens.encode(&last.cursor(), &fingerprint)),
        _ => None,
    };
    policy::redact_records(p, &view, &a.policy, &mut page.records);
    audit_reads(st, p, &a, endpoint, &page);
    Ok(PageOut { page, next })
}

/// Reads of TLP:AMBER, AMBER+STRICT and RED versions go to the audit log.
fn audit_reads(st: &SharedState, p: &Caller, a: &Access, endpoint: Endpoint, page: &Page) {
    let read: Vec<Value> = page
        .records
        .iter()
        .filter_map(|r| {
            let tlp = r.effective_tlp(a.coll.default_tlp);
            (tlp >= cairn_store::Tlp::Amber)
                .then(|| json!({"id": r.id, "version": r.version, "tlp": tlp.as_str()}))
        })
        .collect();
    if read.is_empty() {
        return;
    }
    st.audit.log(cairn_store::NewAuditEntry::new(
        actor(p),
        "objects.read",
        Some(a.coll.id.to_string()),
        json!({"endpoint": format!("{endpoint:?}").to_lowercase(), "objects": read}),
    ));
}

/// The audit log's name for the caller.
fn actor(p: &Caller) -> &str {
    p.user().map_or("anonymous", |u| u.name.as_str())
}

/// `{"more":..,"next":..,"<key>":[` … `]}` around already-serialized items; `{}` when empty.
fn envelope<I, S>(key: &str, out: &PageOut, items: I, cap: usize) -> Response
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut buf = String::with_capacity(cap + 256);
    if out.page.records.is_empty() {
        buf.push_str("{}");
    } else {
        buf.push_str("{\"more\":");
        buf.push_str(if out.page.more { "true" } else { "false" });
        if let Some(n) = &out.next {
            buf.push_str(",\"next\":");
            buf.push_str(&serde_json::to_string(n).expect("string"));
        }
        buf.push_str(",\"");
        buf.push_str(key);
        buf.push_str("\":[");
        for (i, item) in items.into_iter().enumerate() {
            if i > 0 {
                buf.push(',');
            }
            buf.push_str(item.as_ref());
        }
        buf.push_str("]}");
    }
    let mut resp = taxii_response(StatusCode::OK, buf);
    if let (Some(first), Some(last)) = (out.page.records.first(), out.page.records.last()) {
        let h = resp.headers_mut();
        for (name, micros) in [
            (DATE_ADDED_FIRST, first.date_added),
            (DATE_ADDED_LAST, last.date_added),
        ] {
            if let Ok(v) = HeaderValue::from_str(&Timestamp::format_micros(micros)) {
                h.insert(name, v);
            }
        }
    }
    resp
}

fn objects_response(out: PageOut) -> Result<Response> {
    let mut cap = 0;
    for r in &out.page.records {
        match &r.body {
            Some(b) => cap += b.len() + 1,
            None => {
                return Err(ApiError::internal(format!(
                    "the store returned no body for {} version {}",
                    r.id, r.version
                )));
            }
        }
    }
    // The stored bodies are the JSON texts as received: written as they are, never re-parsed.
    let bodies = out
        .page
        .records
        .iter()
        .map(|r| r.body.as_deref().unwrap_or("null"));
    Ok(envelope("objects", &out, bodies, cap))
}

pub async fn get_objects(
    State(st): State<SharedState>,
    Extension(p): Extension<Caller>,
    Path((root, coll)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response> {
    let out = read_page(
        &st,
        &p,
        Target {
            root: &root,
            coll: &coll,
            object: None,
        },
        Endpoint::Objects,
        &headers,
        &uri,
    )
    .await?;
    objects_response(out)
}

pub async fn get_object(
    State(st): State<SharedState>,
    Extension(p): Extension<Caller>,
    Path((root, coll, oid)): Path<(String, String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response> {
    let out = read_page(
        &st,
        &p,
        Target {
            root: &root,
            coll: &coll,
            object: Some(&oid),
        },
        Endpoint::Object,
        &headers,
        &uri,
    )
    .await?;
    objects_response(out)
}

#[derive(Serialize)]
struct ManifestRecord<'a> {
    id: &'a str,
    date_added: String,
    version: &'a str,
    media_type: String,
}

pub async fn manifest(
    State(st): State<SharedState>,
    Extension(p): Extension<Caller>,
    Path((root, coll)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response> {
    let out = read_page(
        &st,
        &p,
        Target {
            root: &root,
            coll: &coll,
            object: None,
        },
        Endpoint::Manifest,
        &headers,
        &uri,
    )
    .await?;
    let items: Vec<String> = out
        .page
        .records
        .iter()
        .map(|r| {
            serde_json::to_string(&ManifestRecord {
                id: &r.id,
                date_added: Timestamp::format_micros(r.date_added),
                version: &r.version,
                media_type: r.media_type(),
            })
            .expect("plain struct")
        })
        .collect();
    let cap = items.iter().map(|s| s.len() + 1).sum();
    Ok(envelope("objects", &out, items, cap))
}

pub async fn versions(
    State(st): State<SharedState>,
    Extension(p): Extension<Caller>,
    Path((root, coll, oid)): Path<(String, String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response> {
    let out = read_page(
        &st,
        &p,
        Target {
            root: &root,
            coll: &coll,
            object: Some(&oid),
        },
        Endpoint::Versions,
        &headers,
        &uri,
    )
    .await?;
    let items: Vec<String> = out
        .page
        .records
        .iter()
        .map(|r| serde_json::to_string(&r.version).expect("string"))
        .collect();
    let cap = items.iter().map(|s| s.len() + 1).sum();
    Ok(envelope("versions", &out, items, cap))
}

// ---------------------------------------------------------------------------------------------
// Writing

pub async fn delete_object(
    State(st): State<SharedState>,
    Extension(p): Extension<Caller>,
    Path((root, coll, oid)): Path<(String, String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response> {
    let a = access(&st, &p, &root, &coll).await?;
    check_accept(&headers)?;
    if !(a.can_read && a.can_write) {
        return Err(ApiError::forbidden(format!(
            "deleting from collection {} needs both read and write access",
            a.coll.id
        )));
    }
    let f = Filters::parse(uri.query(), Endpoint::Delete)?;
    // Every version of the object, and those this caller may see (a peer account: what it
    // may pull, as for its reads).
    let view = policy::read_view(st.store.as_ref(), &p, &a.policy).await?;
    let all_versions = |read: ReadAccess, exclude_origin: Option<Uuid>| ObjectQuery {
        collection: a.coll.id,
        object_id: Some(oid.clone()),
        versions: VersionFilter {
            all: true,
            ..VersionFilter::default()
        },
        spec_versions: vec!["2.0".into(), "2.1".into()],
        limit: 100_000,
        read,
        exclude_origin,
        ..ObjectQuery::default()
    };
    let filter = ReadAccess::Filter(view.filter);
    let visible = st
        .store
        .query(&all_versions(filter, view.exclude_origin))
        .await
        .map_err(ApiError::store)?
        .records;
    if visible.is_empty() {
        return Err(ApiError::not_found(format!(
            "no object {oid:?} in collection {}",
            a.coll.id
        )));
    }
    let stored = st
        .store
        .query(&all_versions(ReadAccess::All, None))
        .await
        .map_err(ApiError::store)?
        .records;
    if stored.len() != visible.len() {
        // Never remove what the caller may not see.
        return Err(ApiError::forbidden(format!(
            "object {oid:?} has versions you may not see; only someone who sees every version \
             may delete it"
        )));
    }
    let removed = st
        .store
        .delete_versions(&DeleteSpec {
            collection: a.coll.id,
            object_id: oid.clone(),
            versions: f.versions,
            spec_versions: f.spec_versions,
            audit: Some(cairn_store::NewAuditEntry::new(
                actor(&p),
                "objects.delete",
                Some(oid.clone()),
                json!({"collection": a.coll.id.to_string(), "query": uri.query()}),
            )),
        })
        .await
        .map_err(ApiError::store)?;
    if removed == 0 {
        return Err(ApiError::not_found(format!(
            "no version of object {oid:?} matches the filters"
        )));
    }
    Ok(taxii_response(StatusCode::OK, Body::empty()))
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    objects: Option<Vec<&'a RawValue>>,
}

/// Parse an envelope (or a bundle, read the same way) and validate each object. Objects that
/// fail validation become failures; the rest become versions to store.
fn prepare(body: &[u8]) -> Result<(Vec<NewVersion>, Vec<StatusDetail>)> {
    let text = std::str::from_utf8(body)
        .map_err(|e| ApiError::bad_request(format!("the request body is not UTF-8: {e}")))?;
    // One pass over a well-formed body; only a body the envelope shape refuses is read again, to
    // tell text that is not JSON (400) from JSON of the wrong shape (422).
    let env: Envelope<'_> = match serde_json::from_str(text) {
        Ok(env) => env,
        Err(e) => {
            serde_json::from_str::<&RawValue>(text)
                .map_err(|e| ApiError::bad_request(format!("the request body is not JSON: {e}")))?;
            return Err(ApiError::unprocessable(format!(
                "the request body must be a JSON object with an \"objects\" list: {e}"
            )));
        }
    };
    let objects = env
        .objects
        .ok_or_else(|| ApiError::unprocessable("the request body has no \"objects\" list"))?;
    if objects.is_empty() {
        return Err(ApiError::unprocessable(
            "the \"objects\" list is empty; send at least one object",
        ));
    }
    Ok(prepare_objects(&objects))
}

/// Objects a validation thread gets at least: below twice this a request is validated on the
/// calling thread alone.
const OBJECTS_PER_THREAD: usize = 128;

/// Validate `objects`, split into contiguous runs over up to one thread per core; the results
/// keep the order of `objects` (versions and failures alike), as a single pass would.
fn prepare_objects(objects: &[&RawValue]) -> (Vec<NewVersion>, Vec<StatusDetail>) {
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(objects.len() / OBJECTS_PER_THREAD)
        .max(1);
    if threads == 1 {
        return prepare_run(objects);
    }
    let run = objects.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let others: Vec<_> = objects
            .chunks(run)
            .skip(1)
            .map(|c| scope.spawn(move || prepare_run(c)))
            .collect();
        let (mut versions, mut rejected) = prepare_run(&objects[..run]);
        for h in others {
            let (v, r) = h
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            versions.extend(v);
            rejected.extend(r);
        }
        (versions, rejected)
    })
}

fn prepare_run(objects: &[&RawValue]) -> (Vec<NewVersion>, Vec<StatusDetail>) {
    let mut versions = Vec::with_capacity(objects.len());
    let mut rejected = Vec::new();
    for raw in objects {
        match cairn_store::ingest::prepare_version(raw.get()) {
            Ok(v) => versions.push(v),
            Err(detail) => rejected.push(detail),
        }
    }
    (versions, rejected)
}

pub async fn add_objects(
    State(st): State<SharedState>,
    Extension(p): Extension<Caller>,
    Path((root, coll)): Path<(String, String)>,
    req: Request,
) -> Result<Response> {
    let request_timestamp = now_micros();
    let a = access(&st, &p, &root, &coll).await?;
    let headers = req.headers();
    check_accept(headers)?;
    check_content_type(headers)?;
    if !a.can_write {
        return Err(ApiError::forbidden(format!(
            "you may not add objects to collection {}",
            a.coll.id
        )));
    }
    let max = a.root.max_content_length;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max) {
        return Err(ApiError::too_large(max));
    }
    let limit = usize::try_from(max).unwrap_or(usize::MAX);
    let body = Limited::new(req.into_body(), limit)
        .collect()
        .await
        .map_err(|e| {
            if e.downcast_ref::<LengthLimitError>().is_some() {
                ApiError::too_large(max)
            } else {
                ApiError::bad_request(format!("the request body could not be read: {e}"))
            }
        })?
        .to_bytes();
    let (mut versions, rejected) = tokio::task::spawn_blocking(move || prepare(&body))
        .await
        .map_err(|_| ApiError::internal("validating the request failed"))??;
    cairn_store::ingest::resolve_markings(st.store.as_ref(), &mut versions)
        .await
        .map_err(ApiError::store)?;
    // What a member posts without `created_by_ref` is its organization's (for the policy only:
    // the object's text is stored as received).
    if let Some(org) = p.org_identity {
        for v in &mut versions {
            if v.labels.creator.is_none() {
                v.labels.creator = Some(org);
            }
        }
    }
    // What a peer account posts has its organization as origin: provenance is recorded and
    // those versions are never served back to it.
    let origin = p.peer_org().map(|org| Origin {
        org,
        peer: None,
        remote_collection: None,
        remote_date_added: vec![],
    });
    let status_id = Uuid::new_v4();
    let audit = cairn_store::NewAuditEntry::new(
        actor(&p),
        "objects.add",
        Some(a.coll.id.to_string()),
        json!({
            "status": status_id.to_string(),
            "objects": versions.iter().map(|v| json!({"id": v.id, "version": v.version})).collect::<Vec<_>>(),
            "rejected": rejected.len(),
        }),
    );
    let status = st
        .store
        .add_objects(AddRequest {
            api_root: a.root.name.clone(),
            collection: a.coll.id,
            status_id,
            request_timestamp,
            versions,
            rejected,
            owner: p.user().map(|u| u.id),
            audit: Some(audit),
            origin,
            sync: None,
        })
        .await
        .map_err(ApiError::store)?;
    Ok(taxii_response(StatusCode::ACCEPTED, status_body(&status)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Identities, every seventh one missing its required name.
    fn objects(n: usize) -> Vec<String> {
        (0..n)
            .map(|i| {
                let name = if i % 7 == 3 {
                    String::new()
                } else {
                    format!(r#","name":"org {i}""#)
                };
                format!(
                    r#"{{"type":"identity","spec_version":"2.1","id":"identity--00000000-0000-4000-8000-{i:012x}","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z"{name}}}"#,
                )
            })
            .collect()
    }

    #[test]
    fn split_validation_keeps_the_order_of_a_single_pass() {
        for n in [
            1,
            OBJECTS_PER_THREAD * 2 - 1,
            OBJECTS_PER_THREAD * 2 + 5,
            1001,
        ] {
            let texts = objects(n);
            let raws: Vec<&RawValue> = texts
                .iter()
                .map(|t| serde_json::from_str(t).expect("valid JSON"))
                .collect();
            let (v1, r1) = prepare_run(&raws);
            let (v2, r2) = prepare_objects(&raws);
            assert_eq!(v1.len() + r1.len(), n);
            assert_eq!(r1.len(), (0..n).filter(|i| i % 7 == 3).count());
            let ids = |v: &[NewVersion]| v.iter().map(|x| x.id.clone()).collect::<Vec<_>>();
            assert_eq!(ids(&v1), ids(&v2), "versions of {n} objects");
            let bodies = |v: &[NewVersion]| v.iter().map(|x| x.body.clone()).collect::<Vec<_>>();
            assert_eq!(bodies(&v1), bodies(&v2));
            let fails = |r: &[StatusDetail]| r.iter().map(|x| x.id.clone()).collect::<Vec<_>>();
            assert_eq!(fails(&r1), fails(&r2), "failures of {n} objects");
        }
    }
}
