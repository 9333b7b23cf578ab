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

mod timestamp;

pub use timestamp::{Timestamp, TimestampError};

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

/// Validate one STIX object (not a bundle) and return its metadata.
pub fn validate_object(value: &Value) -> Result<ObjectMeta, Vec<ValidationError>> {
    validate::validate_object(value)
}

mod validate;
