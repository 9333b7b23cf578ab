//! URL query parameters of the TAXII endpoints: `limit`, `next`, `added_after` and
//! `match[id|type|version|spec_version]`, validated into a [`Filters`] value, and the stateless,
//! signed `next` token.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cairn_stix::Timestamp;
use cairn_store::{Cursor, VersionFilter};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::ApiError;

/// Which endpoint the parameters are for; decides which `match[...]` fields apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Objects,
    Manifest,
    Object,
    Versions,
    Delete,
}

impl Endpoint {
    fn name(self) -> &'static str {
        match self {
            Endpoint::Objects => "objects",
            Endpoint::Manifest => "manifest",
            Endpoint::Object => "object",
            Endpoint::Versions => "versions",
            Endpoint::Delete => "delete",
        }
    }
    fn allows(self, field: &str) -> bool {
        match self {
            Endpoint::Objects | Endpoint::Manifest => {
                matches!(field, "id" | "type" | "version" | "spec_version")
            }
            Endpoint::Object | Endpoint::Delete => matches!(field, "version" | "spec_version"),
            Endpoint::Versions => field == "spec_version",
        }
    }
    fn pages(self) -> bool {
        self != Endpoint::Delete
    }
}

/// The validated parameters of one request.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    pub ids: Vec<String>,
    pub types: Vec<String>,
    pub versions: VersionFilter,
    pub spec_versions: Vec<String>,
    /// Microseconds since the Unix epoch (truncated; "strictly after" stays exact).
    pub added_after: Option<i64>,
    pub limit: Option<usize>,
    pub next: Option<String>,
}

impl Filters {
    /// Parse a raw query string for `endpoint`. Unknown parameters and `match[...]` fields the
    /// endpoint does not define are ignored; a parameter given twice is an error.
    pub fn parse(query: Option<&str>, endpoint: Endpoint) -> Result<Filters, ApiError> {
        let mut seen: HashMap<String, ()> = HashMap::new();
        let mut f = Filters::default();
        for (key, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            if seen.insert(key.to_string(), ()).is_some() {
                return Err(ApiError::bad_request(format!(
                    "query parameter {key:?} is given more than once; give it once with comma-separated values"
                )));
            }
            let field = key.strip_prefix("match[").and_then(|k| k.strip_suffix(']'));
            match (key.as_ref(), field) {
                ("limit", _) if endpoint.pages() => {
                    f.limit = Some(match value.parse::<usize>() {
                        Ok(n) if n > 0 => n,
                        _ => {
                            return Err(ApiError::bad_request(format!(
                                "limit must be a positive integer, not {value:?}"
                            )));
                        }
                    })
                }
                ("next", _) if endpoint.pages() => {
                    if value.is_empty() {
                        return Err(ApiError::bad_request("next must not be empty"));
                    }
                    f.next = Some(value.to_string());
                }
                ("added_after", _) if endpoint.pages() => {
                    f.added_after = Some(parse_added_after(&value)?);
                }
                (_, Some(field)) if endpoint.allows(field) => match field {
                    "id" => f.ids = list(field, &value)?,
                    "type" => f.types = list(field, &value)?,
                    "version" => f.versions = parse_versions(&value)?,
                    "spec_version" => {
                        f.spec_versions = list(field, &value)?;
                        for v in &f.spec_versions {
                            let ok = v.split_once('.').is_some_and(|(a, b)| {
                                !a.is_empty()
                                    && !b.is_empty()
                                    && a.bytes().chain(b.bytes()).all(|c| c.is_ascii_digit())
                            });
                            if !ok {
                                return Err(ApiError::bad_request(format!(
                                    "match[spec_version]: {v:?} is not a STIX spec version such as 2.1"
                                )));
                            }
                        }
                    }
                    _ => {}
                },
                _ => {}
            }
        }
        Ok(f)
    }

    /// A digest of everything that selects records (not `limit` or `next`), bound into `next`
    /// tokens so that a token only continues the query it came from. `exclude_origin` (a peer
    /// account's organization, whose versions the query leaves out) is part of it, so a token
    /// issued under the exclusion never continues a query without it; without one the digest
    /// is the same as before the exclusion existed.
    pub fn fingerprint(
        &self,
        endpoint: Endpoint,
        collection: &str,
        object: Option<&str>,
        exclude_origin: Option<Uuid>,
    ) -> [u8; 16] {
        let sorted = |v: &[String]| {
            let mut v = v.to_vec();
            v.sort();
            v.dedup();
            v.join(",")
        };
        let mut exact = self.versions.exact.clone();
        exact.sort();
        exact.dedup();
        let mut canon = format!(
            "{}\n{}\n{}\nid={}\ntype={}\nversion={}{}{}:{}\nspec={}\nafter={:?}",
            endpoint.name(),
            collection,
            object.unwrap_or(""),
            sorted(&self.ids),
            sorted(&self.types),
            u8::from(self.versions.first),
            u8::from(self.versions.last),
            u8::from(self.versions.all),
            exact.join(","),
            sorted(&self.spec_versions),
            self.added_after,
        );
        if let Some(org) = exclude_origin {
            canon.push_str(&format!("\nexclude_origin={org}"));
        }
        let digest = Sha256::digest(canon.as_bytes());
        let mut out = [0u8; 16];
        out.copy_from_slice(&digest[..16]);
        out
    }

    /// Whether the version filter names only exact timestamps.
    pub fn exact_versions_only(&self) -> bool {
        let v = &self.versions;
        !v.exact.is_empty() && !v.first && !v.last && !v.all
    }
}

fn list(field: &str, value: &str) -> Result<Vec<String>, ApiError> {
    let items: Vec<String> = value.split(',').map(|s| s.trim().to_string()).collect();
    if items.iter().any(String::is_empty) {
        return Err(ApiError::bad_request(format!(
            "match[{field}] has an empty value"
        )));
    }
    Ok(items)
}

fn parse_versions(value: &str) -> Result<VersionFilter, ApiError> {
    let mut v = VersionFilter::default();
    for item in list("version", value)? {
        match item.as_str() {
            "first" => v.first = true,
            "last" => v.last = true,
            "all" => v.all = true,
            ts => {
                let t = Timestamp::parse(ts).map_err(|e| {
                    ApiError::bad_request(format!(
                        "match[version]: {ts:?} is not first, last, all or a STIX timestamp ({})",
                        e.reason
                    ))
                })?;
                v.exact.push(t.sort_key());
            }
        }
    }
    if v.all && (v.first || v.last || !v.exact.is_empty()) {
        return Err(ApiError::bad_request(
            "match[version]=all cannot be combined with other values",
        ));
    }
    Ok(v)
}

/// `added_after`: an RFC 3339 UTC timestamp, 0-9 fraction digits, `Z` or `+00:00`.
pub fn parse_added_after(value: &str) -> Result<i64, ApiError> {
    let bad = |why: &str| {
        ApiError::bad_request(format!(
            "added_after {value:?} is not a UTC timestamp such as 2024-01-31T12:00:00.000000Z ({why})"
        ))
    };
    let normalized = match value.strip_suffix("+00:00") {
        Some(head) => format!("{head}Z"),
        None => value.to_string(),
    };
    if let Some((_, frac)) = normalized.split_once('.')
        && frac.len().saturating_sub(1) > 9
    {
        return Err(bad("at most 9 fraction digits"));
    }
    Timestamp::parse(&normalized)
        .map(|t| t.unix_micros())
        .map_err(|e| bad(&e.reason))
}

#[derive(Serialize, Deserialize)]
struct TokenBody {
    d: i64,
    i: String,
    v: String,
    f: String,
}

/// Signs and checks `next` tokens: base64url(cursor + filter fingerprint) "." base64url(HMAC-SHA256).
pub struct TokenSigner {
    key: Vec<u8>,
}

impl TokenSigner {
    pub fn new(key: &[u8]) -> TokenSigner {
        TokenSigner { key: key.to_vec() }
    }

    fn mac(&self) -> Hmac<Sha256> {
        let mut m = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC accepts any key length");
        m.update(b"taxii-next\0");
        m
    }

    pub fn encode(&self, cursor: &Cursor, fingerprint: &[u8; 16]) -> String {
        let body = TokenBody {
            d: cursor.date_added,
            i: cursor.id.clone(),
            v: cursor.version_key.clone(),
            f: crate::auth::hex(fingerprint),
        };
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&body).expect("plain struct"));
        let mut m = self.mac();
        m.update(payload.as_bytes());
        let sig = URL_SAFE_NO_PAD.encode(m.finalize().into_bytes());
        format!("{payload}.{sig}")
    }

    /// The cursor in `token`, if the signature is good and it was issued for the same filters.
    pub fn decode(&self, token: &str, fingerprint: &[u8; 16]) -> Result<Cursor, ApiError> {
        let bad = || ApiError::bad_request("the next token is not valid");
        let (payload, sig) = token.split_once('.').ok_or_else(bad)?;
        let sig = URL_SAFE_NO_PAD.decode(sig).map_err(|_| bad())?;
        let mut m = self.mac();
        m.update(payload.as_bytes());
        m.verify_slice(&sig).map_err(|_| bad())?;
        let raw = URL_SAFE_NO_PAD.decode(payload).map_err(|_| bad())?;
        let body: TokenBody = serde_json::from_slice(&raw).map_err(|_| bad())?;
        if body.f != crate::auth::hex(fingerprint) {
            return Err(ApiError::bad_request(
                "the next token belongs to a request with different filters; repeat the original filters with it",
            ));
        }
        Ok(Cursor {
            date_added: body.d,
            id: body.i,
            version_key: body.v,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn added_after_forms() {
        let z = parse_added_after("2024-01-01T00:00:00Z").unwrap();
        assert_eq!(parse_added_after("2024-01-01T00:00:00+00:00").unwrap(), z);
        assert_eq!(
            parse_added_after("2024-01-01T00:00:00.1Z").unwrap(),
            z + 100_000
        );
        assert_eq!(
            parse_added_after("2024-01-01T00:00:00.123456789Z").unwrap(),
            z + 123_456
        );
        assert!(parse_added_after("2024-01-01T00:00:00.1234567891Z").is_err());
        assert!(parse_added_after("yesterday").is_err());
    }

    #[test]
    fn duplicates_and_bad_values() {
        for q in [
            "limit=0",
            "limit=-1",
            "limit=abc",
            "added_after=yesterday",
            "match[version]=notatime",
            "match[version]=all,first",
            "added_after=2024-01-01T00:00:00Z&added_after=2024-01-01T00:00:00Z",
            "match[type]=a&match[type]=b",
            "match[spec_version]=abc",
            "match[id]=",
        ] {
            assert!(Filters::parse(Some(q), Endpoint::Objects).is_err(), "{q}");
        }
        let f = Filters::parse(
            Some("match[foo]=x&match%5Btype%5D=indicator,malware"),
            Endpoint::Objects,
        )
        .unwrap();
        assert_eq!(f.types, vec!["indicator", "malware"]);
    }

    #[test]
    fn the_origin_exclusion_is_part_of_the_fingerprint() {
        let f = Filters::parse(Some("match[type]=indicator"), Endpoint::Objects).unwrap();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let fp = |x| f.fingerprint(Endpoint::Objects, "default/c", None, x);
        assert_ne!(fp(None), fp(Some(a)));
        assert_ne!(fp(Some(a)), fp(Some(b)));
        assert_eq!(fp(Some(a)), fp(Some(a)));
    }

    #[test]
    fn token_round_trip_and_binding() {
        let s = TokenSigner::new(b"k");
        let c = Cursor {
            date_added: 5,
            id: "indicator--x".into(),
            version_key: "v".into(),
        };
        let fp = [1u8; 16];
        let t = s.encode(&c, &fp);
        assert_eq!(s.decode(&t, &fp).unwrap(), c);
        assert!(s.decode(&t, &[2u8; 16]).is_err());
        assert!(TokenSigner::new(b"other").decode(&t, &fp).is_err());
        let mut tampered = t.clone();
        tampered.replace_range(0..1, if t.starts_with('e') { "f" } else { "e" });
        assert!(s.decode(&tampered, &fp).is_err());
        assert!(s.decode("garbage", &fp).is_err());
    }
}
