//! Turning received JSON into [`NewVersion`]s: the one path every writer (TAXII POST, CLI import,
//! federation) takes, so that validation and version keying are the same everywhere.

use cairn_policy::{MarkingMeaning, MarkingRegistry, ObjectLabels};
use cairn_stix::ValidateOptions;
use serde_json::Value;

use crate::{NewVersion, StatusDetail, Store};

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
        Ok(meta) => {
            let mut nv = NewVersion::from_meta(&meta, raw.to_string());
            nv.labels = ObjectLabels::from_object(&value);
            if nv.type_ == "marking-definition" {
                // A definition Cairn cannot interpret restricts nothing; it is still stored.
                nv.marking =
                    Some(MarkingMeaning::from_definition(&value).unwrap_or(MarkingMeaning::Other));
            }
            Ok(nv)
        }
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

/// Resolve the custom markings [`prepare_version`] could not: marking definitions in the same
/// batch and those the store already holds. Only versions that refer to a marking outside the
/// standard TLP set are re-read. Markings still unknown afterwards stay in
/// [`ObjectLabels::unresolved`] and restrict nothing beyond the collection's default TLP (an
/// unknown recipients marking releases to nobody).
pub async fn resolve_markings(store: &dyn Store, versions: &mut [NewVersion]) -> crate::Result<()> {
    if versions.iter().all(|v| v.labels.unresolved.is_empty()) {
        return Ok(());
    }
    let mut registry = MarkingRegistry::standard();
    for v in versions.iter() {
        if let Some(m) = &v.marking {
            registry.insert(&v.id, m.clone());
        }
    }
    let mut missing: Vec<String> = versions
        .iter()
        .flat_map(|v| v.labels.unresolved.iter())
        .filter(|id| !registry.knows(id))
        .cloned()
        .collect();
    missing.sort();
    missing.dedup();
    if !missing.is_empty() {
        for (id, meaning) in store.markings(&missing).await? {
            registry.insert(&id, meaning);
        }
    }
    for v in versions.iter_mut() {
        if v.labels.unresolved.iter().any(|id| registry.knows(id))
            && let Ok(value) = serde_json::from_str::<Value>(&v.body)
        {
            v.labels = ObjectLabels::from_object_in(&value, &registry);
        }
    }
    Ok(())
}
