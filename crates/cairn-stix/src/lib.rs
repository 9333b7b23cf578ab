//! STIX 2.1 model, validation and deterministic identifiers.
//!
//! No IO and no async: everything here is a function of its input.
//!
//! Main types:
//! - [`Timestamp`]: a STIX timestamp that keeps its text exactly as given and compares as an instant.
//! - [`ObjectMeta`]: what the store and the TAXII server need to know about a validated object
//!   (id, type, spec_version, created, modified).
//! - [`validate_object`]: checks one object against the MUST rules of STIX 2.1 and returns its
//!   [`ObjectMeta`], or every [`ValidationError`] found (each names the object id, property and rule).
//! - [`validate_bundle`]: checks a bundle envelope and each of its objects.
//! - [`ValidateOptions`]: checks other crates plug in ([`validate_object_with`],
//!   [`validate_bundle_with`]), such as parsing STIX patterns with cairn-pattern.
//! - [`sco_id`]: the deterministic UUIDv5 identifier of a cyber-observable object, built from the
//!   [`canonical_json`] of its ID-contributing properties.
//! - [`Category`]: SDO, SRO, SCO, meta object, bundle or custom, per type name ([`category`]).
//!
//! The validator only reads: an object's JSON is stored and served exactly as received.
//! STIX 2.0 objects (SDOs/SROs without `spec_version`) are accepted with lenient checks
//! (id, type, created, modified) because TAXII servers keep 2.0 versions too.

mod ids;
mod timestamp;
mod vocab;

pub use ids::{SCO_ID_NAMESPACE, canonical_json, id_contributing_properties, sco_id};
pub use timestamp::{Timestamp, TimestampError};
pub use vocab::{Category, META_TYPES, SCO_TYPES, SDO_TYPES, SRO_TYPES, category};

use serde_json::Value;

/// One violated rule of the STIX 2.1 specification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{object_id}: property '{property}': {rule}")]
pub struct ValidationError {
    /// The object's `id` as given (or `<no id>`).
    pub object_id: String,
    /// The property path, e.g. `created`, `external_references[0].source_name`.
    pub property: String,
    /// The rule that was broken, in words.
    pub rule: String,
}

/// The facts about an object that storage and TAXII need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    pub id: String,
    pub type_: String,
    /// `spec_version` as given; "2.1" for SCOs and objects without the property when the
    /// object is otherwise 2.1 (see [`validate_object`]); "2.0" for STIX 2.0 SDOs/SROs.
    pub spec_version: String,
    pub created: Option<Timestamp>,
    pub modified: Option<Timestamp>,
}

impl ObjectMeta {
    /// The TAXII version of this object: `modified`, else `created`, else `None`.
    pub fn version(&self) -> Option<&Timestamp> {
        self.modified.as_ref().or(self.created.as_ref())
    }
}

/// A pattern checker: `Err` holds the reason the pattern is not valid.
pub type PatternCheck = fn(&str) -> Result<(), String>;

/// Checks a caller may plug into validation. They live in other crates (cairn-stix does not
/// depend on them).
#[derive(Debug, Clone, Copy, Default)]
pub struct ValidateOptions {
    /// Checks the `pattern` of indicators whose `pattern_type` is "stix"; `Err` holds the reason.
    /// `None`: patterns are not parsed.
    pub stix_pattern: Option<PatternCheck>,
}

/// Validate one STIX object (not a bundle) and return its metadata.
pub fn validate_object(value: &Value) -> Result<ObjectMeta, Vec<ValidationError>> {
    validate::validate_object(value, ValidateOptions::default())
}

/// [`validate_object`] with the extra checks of `options`.
pub fn validate_object_with(
    value: &Value,
    options: &ValidateOptions,
) -> Result<ObjectMeta, Vec<ValidationError>> {
    validate::validate_object(value, *options)
}

/// The result of validating one object of a bundle.
pub type ObjectResult = Result<ObjectMeta, Vec<ValidationError>>;

/// Validate a bundle: its envelope (`type` "bundle", `id` `bundle--<UUID>`, `objects` a list) and
/// then every object in it, in order. `Err` holds the envelope's errors (objects are then not
/// examined); `Ok` holds one result per object.
pub fn validate_bundle(value: &Value) -> Result<Vec<ObjectResult>, Vec<ValidationError>> {
    validate::validate_bundle(value, ValidateOptions::default())
}

/// [`validate_bundle`] with the extra checks of `options`.
pub fn validate_bundle_with(
    value: &Value,
    options: &ValidateOptions,
) -> Result<Vec<ObjectResult>, Vec<ValidationError>> {
    validate::validate_bundle(value, *options)
}

mod validate;
