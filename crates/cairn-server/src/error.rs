//! The error catalog: every failure the server reports, as a TAXII error message.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cairn_store::StoreError;

use crate::TAXII_MEDIA_TYPE;

/// Errors building the server (before any request is served).
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("storage error while starting the server: {0}")]
    Store(#[from] StoreError),
    #[error("the stored node secret {key:?} is not valid hex")]
    BadSecret { key: &'static str },
}

/// A failed request: an HTTP status and the TAXII error message sent with it
/// (`{"title","description","http_status"}`, `Content-Type: application/taxii+json;version=2.1`).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{status} {title}: {description}")]
pub struct ApiError {
    pub status: StatusCode,
    pub title: String,
    pub description: String,
    /// Seconds for a `Retry-After` header (429).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        title: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        ApiError {
            status,
            title: title.into(),
            description: description.into(),
            retry_after: None,
        }
    }
    /// 429 with `Retry-After: secs`.
    pub fn too_many_requests(secs: u64, d: impl Into<String>) -> Self {
        ApiError {
            retry_after: Some(secs),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests", d)
        }
    }
    pub fn bad_request(d: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Bad Request", d)
    }
    pub fn unauthorized(d: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "Unauthorized", d)
    }
    pub fn forbidden(d: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "Forbidden", d)
    }
    pub fn not_found(d: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "Not Found", d)
    }
    pub fn not_acceptable(d: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_ACCEPTABLE, "Not Acceptable", d)
    }
    pub fn unsupported_media_type(d: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported Media Type",
            d,
        )
    }
    pub fn too_large(max: u64) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Content Too Large",
            format!("the request body exceeds max_content_length ({max} bytes)"),
        )
    }
    pub fn unprocessable(d: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "Unprocessable Content", d)
    }
    pub fn internal(d: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal Server Error",
            d,
        )
    }
    /// A storage failure. Its detail is logged, not sent.
    pub fn store(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => Self::not_found(format!("not found: {what}")),
            StoreError::Invalid(what) => Self::bad_request(format!("invalid request: {what}")),
            StoreError::Conflict(what) => Self::new(
                StatusCode::CONFLICT,
                "Conflict",
                format!("conflict: {what}"),
            ),
            StoreError::Backend(detail) => {
                tracing::error!(%detail, "storage failure");
                Self::internal("a storage error occurred; the request was not completed")
            }
        }
    }

    /// The JSON text of the error message.
    pub fn body(&self) -> String {
        serde_json::json!({
            "title": self.title,
            "description": self.description,
            "http_status": self.status.as_u16().to_string(),
        })
        .to_string()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (self.status, self.body()).into_response();
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(TAXII_MEDIA_TYPE),
        );
        if let Some(secs) = self.retry_after {
            h.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            h.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"cairn\""),
            );
        }
        resp
    }
}
