//! A TAXII 2.1 client for any conformant server (Cairn, medallion, OpenTAXII, ...).
//!
//! Every response body is read with a size bound (a page larger than
//! [`ClientConfig::max_body`] is an error, not a memory spike); every request has a timeout;
//! 429 and 503 become [`ClientError::RetryAfter`] with the server's `Retry-After` (seconds or an
//! HTTP date) so the loop can wait as told; anything that is not the JSON the endpoint promises
//! is [`ClientError::Malformed`]. Object pages keep each object's text as received
//! ([`serde_json::value::RawValue`]): what is stored locally is byte-for-byte what the remote
//! served.

use std::time::Duration;

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::secrets::Credential;

/// The TAXII 2.1 media type.
pub const TAXII_MEDIA_TYPE: &str = "application/taxii+json;version=2.1";

/// Limits of one client.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Whole-request timeout (connect, send, wait, read).
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Largest response body accepted.
    pub max_body: usize,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            max_body: 64 << 20,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{url}: HTTP {status}: {message}")]
    Http {
        url: String,
        status: u16,
        message: String,
    },
    #[error("{url}: HTTP {status}, retry after {}s", after.as_secs())]
    RetryAfter {
        url: String,
        status: u16,
        after: Duration,
    },
    #[error("{url}: {message}")]
    Transport { url: String, message: String },
    #[error("{url}: the response is larger than {limit} bytes")]
    TooLarge { url: String, limit: usize },
    #[error("{url}: malformed response: {reason}")]
    Malformed { url: String, reason: String },
    #[error("{0}")]
    Config(String),
}

impl ClientError {
    /// The wait the server asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ClientError::RetryAfter { after, .. } => Some(*after),
            _ => None,
        }
    }
}

type Result<T, E = ClientError> = std::result::Result<T, E>;

#[derive(Debug, Clone, Deserialize)]
pub struct Discovery {
    pub title: String,
    #[serde(default)]
    pub default: Option<String>,
    #[serde(default)]
    pub api_roots: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ApiRootInfo {
    pub title: String,
    #[serde(default)]
    pub versions: Vec<String>,
    pub max_content_length: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CollectionInfo {
    pub id: String,
    pub title: String,
    pub can_read: bool,
    pub can_write: bool,
}

#[derive(Debug, Deserialize)]
struct Collections {
    #[serde(default)]
    collections: Vec<CollectionInfo>,
}

/// One page of `GET .../objects/`.
#[derive(Debug, Default)]
pub struct ObjectsPage {
    pub objects: Vec<Box<RawValue>>,
    pub more: bool,
    pub next: Option<String>,
    /// `X-TAXII-Date-Added-First` / `-Last`, as sent.
    pub date_added_first: Option<String>,
    pub date_added_last: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Envelope {
    #[serde(default)]
    more: bool,
    #[serde(default)]
    next: Option<String>,
    #[serde(default)]
    objects: Vec<Box<RawValue>>,
}

/// One entry of a manifest page.
#[derive(Debug, Clone, Deserialize)]
pub struct ManifestEntry {
    pub id: String,
    pub date_added: String,
    pub version: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct ManifestPage {
    #[serde(default)]
    pub more: bool,
    #[serde(default)]
    pub next: Option<String>,
    #[serde(default)]
    pub objects: Vec<ManifestEntry>,
}

/// A status resource.
#[derive(Debug, Clone, Deserialize)]
pub struct StatusResource {
    pub id: String,
    pub status: String,
    #[serde(default)]
    pub total_count: u64,
    #[serde(default)]
    pub success_count: u64,
    #[serde(default)]
    pub failure_count: u64,
    #[serde(default)]
    pub pending_count: u64,
    #[serde(default)]
    pub successes: Vec<StatusDetail>,
    #[serde(default)]
    pub failures: Vec<StatusDetail>,
    #[serde(default)]
    pub pendings: Vec<StatusDetail>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StatusDetail {
    pub id: String,
    pub version: String,
    #[serde(default)]
    pub message: Option<String>,
}

/// Query parameters of an objects or manifest request.
#[derive(Debug, Clone, Default)]
pub struct GetParams<'a> {
    pub added_after: Option<&'a str>,
    pub next: Option<&'a str>,
    pub limit: Option<usize>,
    pub types: &'a [String],
    /// `match[version]=all`: every version, not only the latest.
    pub all_versions: bool,
}

/// A client bound to one peer's credential (and CA).
#[derive(Clone)]
pub struct TaxiiClient {
    http: reqwest::Client,
    auth: HeaderValue,
    max_body: usize,
}

impl std::fmt::Debug for TaxiiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TaxiiClient")
    }
}

/// `url` with exactly one trailing slash.
pub fn with_slash(url: &str) -> String {
    format!("{}/", url.trim_end_matches('/'))
}

impl TaxiiClient {
    /// A client authenticating with `cred`, trusting the system roots and `ca_pem` if given.
    pub fn new(cred: &Credential, ca_pem: Option<&str>, cfg: &ClientConfig) -> Result<TaxiiClient> {
        let mut auth = HeaderValue::from_str(&cred.authorization())
            .map_err(|_| ClientError::Config("the credential is not a valid header".into()))?;
        auth.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static(TAXII_MEDIA_TYPE));
        let mut b = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .connect_timeout(cfg.connect_timeout)
            .default_headers(headers)
            .user_agent(concat!("cairn/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none());
        if let Some(pem) = ca_pem {
            let cert = reqwest::Certificate::from_pem(pem.as_bytes())
                .map_err(|e| ClientError::Config(format!("the peer's CA certificate: {e}")))?;
            b = b.add_root_certificate(cert);
        }
        let http = b
            .build()
            .map_err(|e| ClientError::Config(format!("building the HTTP client: {e}")))?;
        Ok(TaxiiClient {
            http,
            auth,
            max_body: cfg.max_body,
        })
    }

    async fn send(
        &self,
        method: Method,
        url: &str,
        query: &[(&str, String)],
        body: Option<Vec<u8>>,
    ) -> Result<(HeaderMap, Vec<u8>)> {
        let mut req = self
            .http
            .request(method, url)
            .header(AUTHORIZATION, self.auth.clone());
        if !query.is_empty() {
            req = req.query(query);
        }
        if let Some(body) = body {
            req = req.header(CONTENT_TYPE, TAXII_MEDIA_TYPE).body(body);
        }
        let transport = |e: reqwest::Error| ClientError::Transport {
            url: url.to_string(),
            message: describe(&e),
        };
        let mut resp = req.send().await.map_err(transport)?;
        let status = resp.status();
        let headers = resp.headers().clone();
        // A busy server's body (often a proxy's HTML page) is not read: only when to come back
        // matters, however large the body.
        if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE {
            let after = headers
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_retry_after)
                .unwrap_or(Duration::from_secs(5));
            return Err(ClientError::RetryAfter {
                url: url.to_string(),
                status: status.as_u16(),
                after,
            });
        }
        if let Some(len) = resp.content_length()
            && len > self.max_body as u64
        {
            return Err(ClientError::TooLarge {
                url: url.to_string(),
                limit: self.max_body,
            });
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(transport)? {
            if bytes.len() + chunk.len() > self.max_body {
                return Err(ClientError::TooLarge {
                    url: url.to_string(),
                    limit: self.max_body,
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        if !status.is_success() {
            return Err(ClientError::Http {
                url: url.to_string(),
                status: status.as_u16(),
                message: error_message(&bytes),
            });
        }
        Ok((headers, bytes))
    }

    async fn get_json<T: for<'de> Deserialize<'de>>(
        &self,
        url: &str,
        query: &[(&str, String)],
    ) -> Result<(HeaderMap, T)> {
        let (headers, bytes) = self.send(Method::GET, url, query, None).await?;
        let value = parse(url, &bytes)?;
        Ok((headers, value))
    }

    pub async fn discovery(&self, url: &str) -> Result<Discovery> {
        Ok(self.get_json(&with_slash(url), &[]).await?.1)
    }

    pub async fn api_root(&self, api_root: &str) -> Result<ApiRootInfo> {
        Ok(self.get_json(&with_slash(api_root), &[]).await?.1)
    }

    pub async fn collections(&self, api_root: &str) -> Result<Vec<CollectionInfo>> {
        let url = format!("{}collections/", with_slash(api_root));
        let c: Collections = self.get_json(&url, &[]).await?.1;
        Ok(c.collections)
    }

    pub async fn collection(&self, api_root: &str, id: &str) -> Result<CollectionInfo> {
        let url = format!("{}collections/{id}/", with_slash(api_root));
        Ok(self.get_json(&url, &[]).await?.1)
    }

    fn query(p: &GetParams<'_>) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        if let Some(a) = p.added_after {
            q.push(("added_after", a.to_string()));
        }
        if let Some(n) = p.next {
            q.push(("next", n.to_string()));
        }
        if let Some(l) = p.limit {
            q.push(("limit", l.to_string()));
        }
        if !p.types.is_empty() {
            q.push(("match[type]", p.types.join(",")));
        }
        if p.all_versions {
            q.push(("match[version]", "all".to_string()));
        }
        q
    }

    /// One page of the collection's objects.
    pub async fn get_objects(
        &self,
        api_root: &str,
        collection: &str,
        p: &GetParams<'_>,
    ) -> Result<ObjectsPage> {
        let url = format!("{}collections/{collection}/objects/", with_slash(api_root));
        let (headers, bytes) = self.send(Method::GET, &url, &Self::query(p), None).await?;
        let env: Envelope = parse(&url, &bytes)?;
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        Ok(ObjectsPage {
            objects: env.objects,
            more: env.more,
            next: env.next.filter(|n| !n.is_empty()),
            date_added_first: header("x-taxii-date-added-first"),
            date_added_last: header("x-taxii-date-added-last"),
        })
    }

    /// One page of the collection's manifest.
    pub async fn manifest(
        &self,
        api_root: &str,
        collection: &str,
        p: &GetParams<'_>,
    ) -> Result<ManifestPage> {
        let url = format!("{}collections/{collection}/manifest/", with_slash(api_root));
        Ok(self.get_json(&url, &Self::query(p)).await?.1)
    }

    /// POST an envelope (already serialized) to the collection.
    pub async fn add_objects(
        &self,
        api_root: &str,
        collection: &str,
        envelope: Vec<u8>,
    ) -> Result<StatusResource> {
        let url = format!("{}collections/{collection}/objects/", with_slash(api_root));
        let (_, bytes) = self.send(Method::POST, &url, &[], Some(envelope)).await?;
        parse(&url, &bytes)
    }

    pub async fn status(&self, api_root: &str, id: &str) -> Result<StatusResource> {
        let url = format!("{}status/{id}/", with_slash(api_root));
        Ok(self.get_json(&url, &[]).await?.1)
    }
}

fn parse<T: for<'de> Deserialize<'de>>(url: &str, bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| ClientError::Malformed {
        url: url.to_string(),
        reason: e.to_string(),
    })
}

/// The TAXII error's title and description, or the start of the body.
fn error_message(bytes: &[u8]) -> String {
    #[derive(Deserialize)]
    struct TaxiiError {
        title: String,
        #[serde(default)]
        description: Option<String>,
    }
    match serde_json::from_slice::<TaxiiError>(bytes) {
        Ok(e) => match e.description {
            Some(d) => format!("{}: {d}", e.title),
            None => e.title,
        },
        Err(_) => {
            let text = String::from_utf8_lossy(&bytes[..bytes.len().min(200)]);
            if text.trim().is_empty() {
                "(no body)".to_string()
            } else {
                text.trim().to_string()
            }
        }
    }
}

fn describe(e: &reqwest::Error) -> String {
    let mut s = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        "cannot connect".to_string()
    } else {
        e.to_string()
    };
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    s
}

/// `Retry-After`: delay-seconds or an HTTP date.
pub fn parse_retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = jiff::fmt::rfc2822::parse(v).ok()?.timestamp();
    let now = jiff::Timestamp::now();
    let d = when.duration_since(now);
    Some(Duration::from_secs(d.as_secs().max(0) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn error_bodies() {
        assert_eq!(
            error_message(br#"{"title":"Not found","description":"no such collection"}"#),
            "Not found: no such collection"
        );
        assert_eq!(error_message(b""), "(no body)");
        assert_eq!(error_message(b"<html>oops</html>"), "<html>oops</html>");
    }
}
