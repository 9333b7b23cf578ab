//! Content negotiation: `Accept` parsed as RFC 7231 media ranges, `Content-Type` of POST bodies.

use axum::http::{HeaderMap, header};

use crate::error::ApiError;

/// Split a header value on commas that are outside quoted strings.
fn split_list(value: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in value.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&value[start..]);
    out.into_iter()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

/// Whether a parsed media type is TAXII 2.1 (`application/taxii+json`, version absent or 2.1).
fn is_taxii21(m: &mime::Mime) -> bool {
    m.type_() == mime::APPLICATION
        && m.subtype().as_str().eq_ignore_ascii_case("taxii")
        && m.suffix()
            .is_some_and(|s| s.as_str().eq_ignore_ascii_case("json"))
        && m.get_param("version").is_none_or(|v| v.as_str() == "2.1")
}

/// Whether the `Accept` headers admit a TAXII 2.1 answer: no header, `*/*`, `application/*`, or
/// `application/taxii+json` with no version or version 2.1, with a q-value above 0.
pub fn check_accept(headers: &HeaderMap) -> Result<(), ApiError> {
    let mut seen = false;
    let mut offered = Vec::new();
    for value in headers.get_all(header::ACCEPT) {
        let Ok(text) = value.to_str() else {
            return Err(ApiError::not_acceptable(
                "the Accept header is not valid text",
            ));
        };
        for range in split_list(text) {
            seen = true;
            offered.push(range.to_string());
            let Ok(m) = range.parse::<mime::Mime>() else {
                continue;
            };
            let q = m
                .get_param("q")
                .map(|q| q.as_str().parse::<f32>().unwrap_or(0.0))
                .unwrap_or(1.0);
            if q <= 0.0 {
                continue;
            }
            let any = m.type_() == mime::STAR && m.subtype() == mime::STAR;
            let any_app = m.type_() == mime::APPLICATION && m.subtype() == mime::STAR;
            if any || any_app || is_taxii21(&m) {
                return Ok(());
            }
        }
    }
    if !seen {
        return Ok(());
    }
    Err(ApiError::not_acceptable(format!(
        "this server answers with application/taxii+json;version=2.1, which the Accept header ({}) does not admit",
        offered.join(", ")
    )))
}

/// Whether a POST body's `Content-Type` is TAXII 2.1 (`application/taxii+json`, version absent or
/// 2.1, other parameters such as charset tolerated).
pub fn check_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Err(ApiError::unsupported_media_type(
            "a Content-Type of application/taxii+json;version=2.1 is required",
        ));
    };
    let text = value.to_str().unwrap_or("");
    match text.parse::<mime::Mime>() {
        Ok(m) if is_taxii21(&m) => Ok(()),
        _ => Err(ApiError::unsupported_media_type(format!(
            "Content-Type {text:?} is not supported; send application/taxii+json;version=2.1"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn accept(v: &str) -> Result<(), ApiError> {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_str(v).unwrap());
        check_accept(&h)
    }

    #[test]
    fn accept_media_ranges() {
        for ok in [
            "application/taxii+json;version=2.1",
            "application/taxii+json; version=2.1",
            "application/taxii+json",
            "application/TAXII+json;version=2.1",
            "application/stix+json;version=2.1,application/taxii+json;version=2.1",
            "application/taxii+json;version=2.1;q=0.5",
            "application/json, text/plain, */*",
            "*/*",
            "application/*",
        ] {
            assert!(accept(ok).is_ok(), "{ok}");
        }
        for bad in [
            "application/taxii+json;version=2.0",
            "application/json",
            "application/taxii+json;version=2.1;q=0",
            "text/html",
            "garbage",
        ] {
            assert!(accept(bad).is_err(), "{bad}");
        }
        assert!(check_accept(&HeaderMap::new()).is_ok());
    }

    #[test]
    fn content_types() {
        let ct = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_str(v).unwrap());
            check_content_type(&h)
        };
        assert!(ct("application/taxii+json;version=2.1").is_ok());
        assert!(ct("application/taxii+json").is_ok());
        assert!(ct("application/taxii+json;version=2.1;charset=utf-8").is_ok());
        assert!(ct("application/json").is_err());
        assert!(ct("application/taxii+json;version=2.0").is_err());
        assert!(check_content_type(&HeaderMap::new()).is_err());
    }
}
