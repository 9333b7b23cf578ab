//! Errors of the REST API: `{"title","description","http_status"}` with
//! `Content-Type: application/json` (the same fields as a TAXII error message, another media type).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cairn_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ApiError;

/// An error answer of the REST API.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A short, fixed title (the HTTP reason phrase).
    pub title: String,
    /// What went wrong, precisely.
    pub description: String,
    /// The HTTP status code, as a string.
    pub http_status: String,
}

/// A failed API request.
#[derive(Debug)]
pub(crate) struct Fail(pub ApiError);

pub(crate) type ApiResult<T> = Result<T, Fail>;

impl Fail {
    pub fn new(status: StatusCode, d: impl Into<String>) -> Fail {
        Fail(ApiError::new(
            status,
            status.canonical_reason().unwrap_or("Error"),
            d,
        ))
    }
    pub fn unauthorized() -> Fail {
        Fail(ApiError::unauthorized(
            "authentication required: HTTP Basic or an API token (Authorization: Bearer <token>)",
        ))
    }
    pub fn forbidden(d: impl Into<String>) -> Fail {
        Fail::new(StatusCode::FORBIDDEN, d)
    }
    pub fn not_found(d: impl Into<String>) -> Fail {
        Fail::new(StatusCode::NOT_FOUND, d)
    }
    pub fn conflict(d: impl Into<String>) -> Fail {
        Fail::new(StatusCode::CONFLICT, d)
    }
    pub fn unprocessable(d: impl Into<String>) -> Fail {
        Fail::new(StatusCode::UNPROCESSABLE_ENTITY, d)
    }
    pub fn bad_request(d: impl Into<String>) -> Fail {
        Fail::new(StatusCode::BAD_REQUEST, d)
    }
}

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Fail {
        match e {
            StoreError::NotFound(what) => Fail::not_found(format!("not found: {what}")),
            StoreError::Conflict(what) => Fail::conflict(format!("already exists: {what}")),
            StoreError::Invalid(what) => Fail::unprocessable(format!("invalid request: {what}")),
            e @ StoreError::Backend(_) => Fail(ApiError::store(e)),
        }
    }
}

impl IntoResponse for Fail {
    fn into_response(self) -> Response {
        let mut resp = self.0.into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        resp
    }
}

/// Make every error response under `/api/` a JSON [`Problem`]: TAXII error messages (from
/// authentication, which runs before routing) keep their body and get `application/json`;
/// axum's plain-text rejections (bad JSON, bad path parameters, 405) are wrapped.
pub(crate) async fn json_errors(resp: Response) -> Response {
    let status = resp.status();
    if status.as_u16() < 400 {
        return resp;
    }
    let ct = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.as_bytes().to_vec())
        .unwrap_or_default();
    if ct == b"application/json" {
        return resp;
    }
    if ct == crate::TAXII_MEDIA_TYPE.as_bytes() {
        let mut resp = resp;
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
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
    let mut out = Fail::new(status, description).into_response();
    for name in [header::ALLOW, header::WWW_AUTHENTICATE] {
        if let Some(v) = parts.headers.get(&name) {
            out.headers_mut().insert(name, v.clone());
        }
    }
    out
}
