//! Turning received JSON into [`NewVersion`]s: the one path every writer (TAXII POST, CLI import,
//! federation) takes, so that validation and version keying are the same everywhere.

use cairn_stix::ValidateOptions;
use serde_json::Value;

use crate::{NewVersion, StatusDetail};

/// The validation every writer applies: the STIX 2.1 MUST rules, and STIX patterns of indicators
/// checked by the pattern engine's validator.
pub const VALIDATE_OPTIONS: ValidateOptions = ValidateOptions {
    stix_pattern: Some(check_stix_pattern),
};

fn check_stix_pattern(pattern: &str) -> Result<(), String> {
    cairn_pattern::validate(pattern)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Validate one object given as raw JSON text and prepare it for storage. The text is kept exactly
/// as given. On failure, the returned detail names the object (as far as it can be read) and
/// every broken rule.
pub fn prepare_version(raw: &str) -> Result<NewVersion, StatusDetail> {
    let value: Value = match serde_json::from_str(raw) {
        Ok(v) => v,
        Err(e) => {
            return Err(StatusDetail {
                id: String::new(),
                version: String::new(),
                message: Some(format!("not JSON: {e}")),
            });
        }
    };
    match cairn_stix::validate_object_with(&value, &VALIDATE_OPTIONS) {
        Ok(meta) => Ok(NewVersion::from_meta(&meta, raw.to_string())),
        Err(errors) => {
            let id = value
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let version = ["modified", "created"]
                .iter()
                .find_map(|k| value.get(*k).and_then(Value::as_str))
                .unwrap_or_default()
                .to_string();
            let message = errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ");
            Err(StatusDetail {
                id,
                version,
                message: Some(message),
            })
        }
    }
}
